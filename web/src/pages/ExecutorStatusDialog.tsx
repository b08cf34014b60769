import { useState } from "react";
import { api } from "../api/endpoints";
import { EXECUTOR_STATUSES, type Executor, type ExecutorStatus } from "../api/types";
import { Field } from "../components/Field";
import { Modal } from "../components/Modal";
import { useToast } from "../components/Toast";

const HELP: Record<ExecutorStatus, string> = {
  online: "Takes dispatches while healthy.",
  offline: "Takes no dispatches.",
  maintenance: "Takes no dispatches; kept when the executor re-registers.",
};

/** "Change status…" for one executor: online / offline / maintenance with a reason. */
export function ExecutorStatusButton({
  executor,
  onDone,
  small,
}: {
  executor: Executor;
  onDone: (e: Executor) => void;
  small?: boolean;
}) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className={`btn ${small ? "btn-sm" : ""}`} onClick={() => setOpen(true)}>
        Change status…
      </button>
      {open && (
        <StatusDialog
          executor={executor}
          onClose={() => setOpen(false)}
          onDone={(e) => {
            setOpen(false);
            onDone(e);
          }}
        />
      )}
    </>
  );
}

function StatusDialog({
  executor,
  onClose,
  onDone,
}: {
  executor: Executor;
  onClose: () => void;
  onDone: (e: Executor) => void;
}) {
  const [status, setStatus] = useState<ExecutorStatus>(executor.status);
  const [reason, setReason] = useState("");
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const toast = useToast();
  const unchanged = status === executor.status;

  const submit = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const e = await api.setExecutorStatus(executor.id, status, reason.trim());
      toast(`${e.name} (${e.instance_id}) is now ${e.status}`);
      onDone(e);
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };

  return (
    <Modal
      title={`Status of ${executor.name}`}
      onClose={onClose}
      footer={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" onClick={submit} disabled={busy || unchanged}>
            {busy ? "Saving…" : "Change status"}
          </button>
        </>
      }
    >
      <div className="muted">
        Instance <span className="mono">{executor.instance_id}</span>, now <strong>{executor.status}</strong>.
      </div>
      <fieldset style={{ border: 0, padding: 0, margin: 0, display: "flex", flexDirection: "column", gap: 8 }}>
        <legend style={{ fontWeight: 500, marginBottom: 6 }}>New status</legend>
        {EXECUTOR_STATUSES.map((s) => (
          <label key={s} style={{ display: "flex", gap: 8, alignItems: "baseline", cursor: "pointer" }}>
            <input
              type="radio"
              name="executor-status"
              value={s}
              checked={status === s}
              onChange={() => setStatus(s)}
            />
            <span>
              <strong style={{ textTransform: "capitalize" }}>{s}</strong> <span className="muted">— {HELP[s]}</span>
            </span>
          </label>
        ))}
      </fieldset>
      <Field label="Reason" name="reason" hint="Recorded with the change, e.g. “kernel upgrade”.">
        <textarea
          className="textarea"
          style={{ minHeight: 70, fontFamily: "inherit", fontSize: 14 }}
          value={reason}
          onChange={(e) => setReason(e.target.value)}
        />
      </Field>
      {error && <div className="alert alert-error">{error}</div>}
    </Modal>
  );
}
