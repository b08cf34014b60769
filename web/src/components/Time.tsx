import { formatLocal, formatRelative, formatUtc } from "../lib/time";

/** A timestamp in the browser's zone, with the UTC instant on hover. */
export function Time({ value, relative = false }: { value: string | null | undefined; relative?: boolean }) {
  if (!value) return <span className="muted">—</span>;
  return (
    <time dateTime={value} title={formatUtc(value)}>
      {formatLocal(value)}
      {relative && <span className="muted"> ({formatRelative(value)})</span>}
    </time>
  );
}
