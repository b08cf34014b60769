import { api } from "../api/endpoints";
import { Time } from "../components/Time";
import { useApi, useDebounced } from "../lib/useApi";
import { formatRelative } from "../lib/time";
import styles from "./SchedulePreview.module.css";

/** The next five fire times of a cron expression in a time zone, as the server computes them. */
export function SchedulePreview({ cron, timezone }: { cron: string; timezone: string }) {
  const c = useDebounced(cron.trim(), 350);
  const tz = useDebounced(timezone.trim() || "UTC", 350);
  const preview = useApi(
    (signal) => (c ? api.schedulePreview(c, tz, { signal }) : Promise.resolve(null)),
    [c, tz],
  );

  let body;
  if (!c) body = <div className="muted">Enter a cron expression to see when it fires.</div>;
  else if (preview.error)
    body = (
      <div className="field-error" data-testid="preview-error">
        {preview.error.message}
      </div>
    );
  else if (preview.loading || !preview.data) body = <div className="muted">Computing…</div>;
  else if (preview.data.items.length === 0) body = <div className="muted">This expression never fires.</div>;
  else
    body = (
      <ol className={styles.list} data-testid="preview-list">
        {preview.data.items.map((t) => (
          <li key={t}>
            <Time value={t} /> <span className="muted">{formatRelative(t)}</span>
          </li>
        ))}
      </ol>
    );

  return (
    <aside className={styles.box} aria-live="polite">
      <div className={styles.title}>Next runs</div>
      <div className="muted" style={{ fontSize: 12 }}>
        Shown in your local time; hover for UTC.
      </div>
      {body}
    </aside>
  );
}
