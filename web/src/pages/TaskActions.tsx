// Buttons that act on one task: pause/resume, trigger (with a parameter
// override), delete. Used on the task list and the task page.

import { useState } from "react";
import { Link, useNavigate } from "react-router";
import { api } from "../api/endpoints";
import type { Task } from "../api/types";
import { Field } from "../components/Field";
import { ConfirmDialog, Modal } from "../components/Modal";
import { useToast } from "../components/Toast";
import { parseJsonObject, pretty } from "../lib/json";
import { shortId } from "../lib/names";

export function PauseResumeButton({ task, onDone, small }: { task: Task; onDone: (t: Task) => void; small?: boolean }) {
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const paused = task.status === "paused";
  const run = async () => {
    setBusy(true);
    try {
      const t = paused ? await api.resumeTask(task.id) : await api.pauseTask(task.id);
      toast(`Task “${t.name}” ${paused ? "resumed" : "paused"}`);
      onDone(t);
    } catch (e) {
      toast((e as Error).message, "error");
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" className={`btn ${small ? "btn-sm" : ""}`} disabled={busy} onClick={run}>
      {paused ? "Resume" : "Pause"}
    </button>
  );
}

export function TriggerButton({ task, onDone, small }: { task: Task; onDone: () => void; small?: boolean }) {
  const [open, setOpen] = useState(false);
  return (
    <>
      <button type="button" className={`btn ${small ? "btn-sm" : ""}`} onClick={() => setOpen(true)}>
        Trigger…
      </button>
      {open && (
        <TriggerDialog
          task={task}
          onClose={() => setOpen(false)}
          onDone={() => {
            setOpen(false);
            onDone();
          }}
        />
      )}
    </>
  );
}

function TriggerDialog({ task, onClose, onDone }: { task: Task; onClose: () => void; onDone: () => void }) {
  const [text, setText] = useState(task.parameters ? pretty(task.parameters) : "{}");
  const [busy, setBusy] = useState(false);
  const [serverError, setServerError] = useState<string>();
  const toast = useToast();
  const parsed = parseJsonObject(text);
  const jsonError = parsed.ok ? undefined : parsed.error;

  const submit = async () => {
    if (!parsed.ok) return;
    setBusy(true);
    setServerError(undefined);
    try {
      const params = parsed.value && Object.keys(parsed.value).length > 0 ? parsed.value : undefined;
      const e = await api.triggerTask(task.id, params);
      toast(
        <>
          Triggered “{task.name}”:{" "}
          <Link to={`/executions/${encodeURIComponent(e.id)}`}>execution {shortId(e.id)}</Link>
        </>,
      );
      onDone();
    } catch (e) {
      setServerError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal
      title={`Trigger “${task.name}” now`}
      onClose={onClose}
      wide
      footer={
        <>
          <button type="button" className="btn" onClick={onClose} disabled={busy}>
            Cancel
          </button>
          <button type="button" className="btn btn-primary" onClick={submit} disabled={busy || !parsed.ok}>
            {busy ? "Triggering…" : "Trigger"}
          </button>
        </>
      }
    >
      <p className="muted" style={{ margin: 0 }}>
        Starts one execution now, whatever the execution mode{task.status === "paused" ? " (also while paused)" : ""}.
        These parameters are merged over the task's own, key by key.
      </p>
      <Field label="Parameters (JSON object)" error={jsonError} name="trigger-parameters" hint="Leave {} to run with the task's parameters.">
        <textarea
          className="textarea"
          rows={10}
          spellCheck={false}
          value={text}
          onChange={(e) => setText(e.target.value)}
        />
      </Field>
      {serverError && <div className="alert alert-error">{serverError}</div>}
    </Modal>
  );
}

export function DeleteButton({ task }: { task: Task }) {
  const [open, setOpen] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string>();
  const navigate = useNavigate();
  const toast = useToast();
  const run = async () => {
    setBusy(true);
    setError(undefined);
    try {
      await api.deleteTask(task.id);
      toast(`Task “${task.name}” deleted`);
      navigate("/tasks");
    } catch (e) {
      setError((e as Error).message);
      setBusy(false);
    }
  };
  return (
    <>
      <button type="button" className="btn btn-ghost-danger" onClick={() => setOpen(true)}>
        Delete…
      </button>
      {open && (
        <ConfirmDialog
          title="Delete task?"
          confirmLabel="Delete task"
          busy={busy}
          error={error}
          onConfirm={run}
          onClose={() => setOpen(false)}
        >
          <p style={{ margin: 0 }}>
            <strong>{task.name}</strong> stops firing at once. Its execution history is kept, and its name can be reused.
            This cannot be undone.
          </p>
        </ConfirmDialog>
      )}
    </>
  );
}
