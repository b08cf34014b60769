import { useState } from "react";
import { api } from "../api/endpoints";
import type { Execution } from "../api/types";
import { shortId } from "../lib/names";
import { ConfirmDialog } from "./Modal";
import { useToast } from "./Toast";

/** "Stop" with a confirmation, for a pending or running execution. */
export function StopButton({
  execution,
  onStopped,
  small = true,
}: {
  /** A list item is enough: only the id and status are used. */
  execution: Pick<Execution, "id" | "status">;
  onStopped: (e: Execution) => void;
  small?: boolean;
}) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toast = useToast();
  const stop = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const e = await api.stopExecution(execution.id);
      setOpen(false);
      toast(`Execution ${shortId(execution.id)} stopped`);
      onStopped(e);
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <button
        type="button"
        className={`btn btn-ghost-danger ${small ? "btn-sm" : ""}`}
        onClick={() => {
          setError(undefined);
          setOpen(true);
        }}
      >
        Stop
      </button>
      {open && (
        <ConfirmDialog
          title="Stop execution?"
          confirmLabel="Stop execution"
          busy={busy}
          error={error}
          onConfirm={stop}
          onClose={() => setOpen(false)}
        >
          <p style={{ margin: 0 }}>
            Execution <code>{execution.id}</code> is <strong>{execution.status}</strong>. Stopping it marks it
            cancelled and asks its executor to stop; it is not retried.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
