import { useEffect, useMemo, useState, type FormEvent } from "react";
import { Link, useNavigate, useParams } from "react-router";
import { api } from "../api/endpoints";
import { EXECUTION_MODES, MISFIRE_POLICIES, STRATEGIES, type Task } from "../api/types";
import { Field } from "../components/Field";
import { PageHeader } from "../components/Layout";
import { Loadable } from "../components/States";
import { useToast } from "../components/Toast";
import { rememberTask } from "../lib/names";
import {
  emptyForm,
  formFromTask,
  placeServerError,
  validateTaskForm,
  type FieldErrors,
  type TaskFormValues,
} from "../lib/taskForm";
import { useApi } from "../lib/useApi";
import { SchedulePreview } from "./SchedulePreview";
import styles from "./TaskForm.module.css";

/** `/tasks/new` and `/tasks/:id/edit`. */
export function TaskFormPage() {
  const { id } = useParams();
  const task = useApi((signal) => (id ? api.getTask(id, { signal }) : Promise.resolve(null)), [id]);
  return (
    <Loadable state={task} loadingLabel="Loading task…">
      {(t) => <TaskForm key={t?.id ?? "new"} task={t} />}
    </Loadable>
  );
}

function timezones(): string[] {
  try {
    const zones = (Intl as unknown as { supportedValuesOf?: (k: string) => string[] }).supportedValuesOf?.("timeZone");
    if (zones && zones.length) return zones.includes("UTC") ? zones : ["UTC", ...zones];
  } catch {
    // Older browsers: the field still takes any IANA name.
  }
  return ["UTC"];
}

function label(v: string): string {
  return v.replace(/_/g, " ");
}

function TaskForm({ task }: { task: Task | null }) {
  const editing = task !== null;
  const [values, setValues] = useState<TaskFormValues>(() => (task ? formFromTask(task) : emptyForm()));
  const [errors, setErrors] = useState<FieldErrors>({});
  const [formError, setFormError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const navigate = useNavigate();
  const toast = useToast();
  const zones = useMemo(timezones, []);

  useEffect(() => {
    document.title = editing ? `Edit ${task.name} · Scheduler` : "New task · Scheduler";
  }, [editing, task]);

  const set = <K extends keyof TaskFormValues>(key: K, value: TaskFormValues[K]) => {
    setValues((v) => ({ ...v, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = async (ev: FormEvent) => {
    ev.preventDefault();
    setFormError(undefined);
    const checked = validateTaskForm(values);
    if (!checked.ok) {
      setErrors(checked.errors);
      return;
    }
    setErrors({});
    setBusy(true);
    try {
      let saved: Task;
      if (task) {
        // Status changes go through pause/resume, not PUT.
        const { status: _status, ...changes } = checked.input;
        saved = await api.updateTask(task.id, changes);
      } else {
        saved = await api.createTask(checked.input);
      }
      rememberTask(saved);
      toast(`Task “${saved.name}” ${task ? "saved" : "created"}`);
      navigate(`/tasks/${encodeURIComponent(saved.id)}`);
    } catch (e) {
      const placed = placeServerError(e);
      if (placed.field) setErrors({ [placed.field]: placed.message });
      else setFormError(placed.message);
      setBusy(false);
    }
  };

  const err = (k: keyof TaskFormValues) => errors[k];

  return (
    <form onSubmit={submit} noValidate data-testid="task-form">
      <PageHeader
        back={
          task ? (
            <Link to={`/tasks/${encodeURIComponent(task.id)}`}>‹ {task.name}</Link>
          ) : (
            <Link to="/tasks">‹ Tasks</Link>
          )
        }
        title={task ? `Edit ${task.name}` : "New task"}
        actions={
          <>
            <Link to={task ? `/tasks/${encodeURIComponent(task.id)}` : "/tasks"} className="btn">
              Cancel
            </Link>
            <button type="submit" className="btn btn-primary" disabled={busy}>
              {busy ? "Saving…" : task ? "Save changes" : "Create task"}
            </button>
          </>
        }
      />
      {formError && (
        <div className="alert alert-error" role="alert" data-testid="form-error" style={{ marginBottom: 16 }}>
          {formError}
        </div>
      )}

      <section className="card">
        <div className="card-header">
          <h2>General</h2>
        </div>
        <div className="card-body form-grid">
          <Field label="Name" error={err("name")} name="name" hint="Unique among tasks that are not deleted.">
            <input
              className="input"
              value={values.name}
              maxLength={255}
              autoFocus={!editing}
              onChange={(e) => set("name", e.target.value)}
            />
          </Field>
          {!editing && (
            <Field label="Initial status" error={err("status")} name="status">
              <select
                className="select"
                value={values.status}
                onChange={(e) => set("status", e.target.value as TaskFormValues["status"])}
              >
                <option value="active">Active: fires on its schedule</option>
                <option value="paused">Paused: only manual triggers</option>
              </select>
            </Field>
          )}
        </div>
      </section>

      <section className="card">
        <div className="card-header">
          <h2>Schedule</h2>
        </div>
        <div className={`card-body ${styles.schedule}`}>
          <div className={styles.scheduleFields}>
            <Field
              label="Cron expression"
              error={err("cron_expression")}
              name="cron_expression"
              hint={
                <>
                  6 fields <code>sec min hour day month weekday</code>, 5 fields (at second 0), or <code>@daily</code>{" "}
                  etc.
                </>
              }
            >
              <input
                className="input mono"
                value={values.cron_expression}
                spellCheck={false}
                onChange={(e) => set("cron_expression", e.target.value)}
              />
            </Field>
            <Field label="Time zone" error={err("timezone")} name="timezone" hint="IANA name; the cron is evaluated there.">
              <input
                className="input"
                list="timezones"
                value={values.timezone}
                spellCheck={false}
                onChange={(e) => set("timezone", e.target.value)}
              />
            </Field>
            <datalist id="timezones">
              {zones.map((z) => (
                <option key={z} value={z} />
              ))}
            </datalist>
            <Field label="Misfire policy" error={err("misfire_policy")} name="misfire_policy" hint="When fires were missed while the scheduler was down.">
              <select
                className="select"
                value={values.misfire_policy}
                onChange={(e) => set("misfire_policy", e.target.value as TaskFormValues["misfire_policy"])}
              >
                {MISFIRE_POLICIES.map((m) => (
                  <option key={m} value={m}>
                    {m === "fire_once" ? "fire once (for the latest missed instant)" : "skip (wait for the next one)"}
                  </option>
                ))}
              </select>
            </Field>
          </div>
          <SchedulePreview cron={values.cron_expression} timezone={values.timezone} />
        </div>
      </section>

      <section className="card">
        <div className="card-header">
          <h2>Execution</h2>
        </div>
        <div className="card-body form-grid">
          <Field label="Execution mode" error={err("execution_mode")} name="execution_mode" hint={modeHint(values.execution_mode)}>
            <select className="select" value={values.execution_mode} onChange={(e) => set("execution_mode", e.target.value)}>
              {withCurrent(EXECUTION_MODES, values.execution_mode).map((m) => (
                <option key={m} value={m}>
                  {label(m)}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Load balancing" error={err("load_balance_strategy")} name="load_balance_strategy">
            <select
              className="select"
              value={values.load_balance_strategy}
              onChange={(e) => set("load_balance_strategy", e.target.value)}
            >
              {withCurrent(STRATEGIES, values.load_balance_strategy).map((s) => (
                <option key={s} value={s}>
                  {label(s)}
                </option>
              ))}
            </select>
          </Field>
          <Field label="Max retries" error={err("max_retry")} name="max_retry" hint="0 to 100 attempts after the first.">
            <input
              className="input"
              type="number"
              inputMode="numeric"
              min={0}
              max={100}
              value={values.max_retry}
              onChange={(e) => set("max_retry", e.target.value)}
            />
          </Field>
          <Field label="Timeout (seconds)" error={err("timeout_seconds")} name="timeout_seconds" hint="1 to 604800 (7 days) per attempt.">
            <input
              className="input"
              type="number"
              inputMode="numeric"
              min={1}
              max={604800}
              value={values.timeout_seconds}
              onChange={(e) => set("timeout_seconds", e.target.value)}
            />
          </Field>
        </div>
      </section>

      <section className="card">
        <div className="card-header">
          <h2>Parameters</h2>
          <span className="muted">Sent to the executor with every execution</span>
        </div>
        <div className="card-body">
          <Field label="Parameters (JSON object)" error={err("parameters")} name="parameters" hint="Leave empty for none. At most 64 KiB.">
            <textarea
              className="textarea"
              rows={8}
              spellCheck={false}
              placeholder={'{\n  "key": "value"\n}'}
              value={values.parameters}
              onChange={(e) => set("parameters", e.target.value)}
            />
          </Field>
        </div>
      </section>
    </form>
  );
}

function withCurrent(known: readonly string[], current: string): string[] {
  return known.includes(current) ? [...known] : [...known, current];
}

function modeHint(mode: string): string {
  switch (mode) {
    case "parallel":
      return "Every fire is dispatched, even while earlier ones run.";
    case "sequential":
      return "A fire is dropped while an execution is pending or running.";
    case "skip":
      return "A fire is recorded as skipped while an execution is running.";
    default:
      return "A mode registered by the embedding program.";
  }
}
