import { pretty } from "../lib/json";

/** Pretty-printed JSON, or a dash for null. */
export function JsonBlock({ value, testId }: { value: unknown; testId?: string }) {
  if (value === null || value === undefined) return <span className="muted">—</span>;
  return <pre data-testid={testId}>{pretty(value)}</pre>;
}
