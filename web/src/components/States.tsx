import type { ReactNode } from "react";
import { ApiError } from "../api/client";
import type { ApiState } from "../lib/useApi";
import styles from "./States.module.css";

export function Loading({ label = "Loading…" }: { label?: string }) {
  return (
    <div className={styles.state} role="status" aria-live="polite">
      <span className={styles.spinner} aria-hidden="true" />
      <span className="muted">{label}</span>
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className={styles.state} data-testid="empty">
      <div className={styles.emptyIcon} aria-hidden="true">
        ∅
      </div>
      <div className={styles.title}>{title}</div>
      {children && <div className="muted">{children}</div>}
    </div>
  );
}

export function ErrorState({ error, onRetry }: { error: Error; onRetry?: () => void }) {
  const code = error instanceof ApiError ? error.code : undefined;
  return (
    <div className={styles.state} role="alert">
      <div className={styles.errorIcon} aria-hidden="true">
        !
      </div>
      <div className={styles.title}>{code === "not_found" ? "Not found" : "Could not load this"}</div>
      <div className="muted">{error.message}</div>
      {onRetry && (
        <button type="button" className="btn btn-sm" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/**
 * Renders `children(data)` once `state` has data; a spinner before the first
 * answer, and an error with a retry button when there is no data to show.
 */
export function Loadable<T>({
  state,
  children,
  loadingLabel,
}: {
  state: ApiState<T>;
  children: (data: T) => ReactNode;
  loadingLabel?: string;
}) {
  if (state.data !== undefined) return <>{children(state.data)}</>;
  if (state.error) return <ErrorState error={state.error} onRetry={state.reload} />;
  return <Loading label={loadingLabel} />;
}
