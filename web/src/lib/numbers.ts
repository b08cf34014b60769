// Counts as the dashboard shows them.

/** `1234` → "1,234": thousands grouped the same way in every locale, like the rest of the UI's English. */
export function formatCount(n: number): string {
  return n.toLocaleString("en-US");
}

/** A list's total; "10,000+" when the server stopped counting there. */
export function formatTotal(total: number, isLowerBound = false): string {
  return isLowerBound ? `${formatCount(total)}+` : formatCount(total);
}
