import styles from "./Badge.module.css";

/** Colour family of a status word. */
const TONES: Record<string, keyof typeof styles> = {
  active: "green",
  online: "green",
  success: "green",
  healthy: "green",
  leader: "blue",
  running: "blue",
  pending: "slate",
  paused: "amber",
  maintenance: "amber",
  timeout: "orange",
  failed: "red",
  unhealthy: "red",
  offline: "gray",
  deleted: "gray",
  skipped: "gray",
  cancelled: "purple",
  follower: "gray",
};

/** A coloured pill for a status word (`active`, `running`, `failed`, ...). */
export function Badge({ status, label, title }: { status: string; label?: string; title?: string }) {
  const tone = TONES[status] ?? "gray";
  return (
    <span className={`${styles.badge} ${styles[tone]}`} title={title} data-status={status}>
      <span className={styles.dot} aria-hidden="true" />
      {label ?? status.replace(/_/g, " ")}
    </span>
  );
}

/** `healthy` / `unhealthy`, with the failure count in the tooltip. */
export function HealthBadge({ healthy, failures }: { healthy: boolean; failures?: number }) {
  return (
    <Badge
      status={healthy ? "healthy" : "unhealthy"}
      title={failures !== undefined ? `${failures} consecutive failed health check(s)` : undefined}
    />
  );
}
