// Which executors a task may run on, with weight and priority
// (GET/PUT /tasks/{id}/executors).

import { useState } from "react";
import { api } from "../api/endpoints";
import type { Assignment, Executor, Task } from "../api/types";
import { Badge, HealthBadge } from "../components/Badge";
import { ExecutorLink } from "../components/Links";
import { Empty, Loadable } from "../components/States";
import { useToast } from "../components/Toast";
import { rememberExecutor } from "../lib/names";
import { useApi } from "../lib/useApi";

interface Row {
  executor_id: string;
  weight: string;
  priority: string;
}

type RowErrors = Partial<Record<keyof Row, string>>;

function checkRow(r: Row, seen: Set<string>): RowErrors {
  const e: RowErrors = {};
  if (!r.executor_id) e.executor_id = "choose an executor";
  else if (seen.has(r.executor_id)) e.executor_id = "already in the list";
  seen.add(r.executor_id);
  const w = r.weight.trim();
  if (!/^\d+$/.test(w) || Number(w) < 1 || Number(w) > 1000) e.weight = "1 to 1000";
  if (!/^-?\d+$/.test(r.priority.trim())) e.priority = "a whole number";
  return e;
}

export function Assignments({ task }: { task: Task }) {
  const assignments = useApi((signal) => api.taskExecutors(task.id, { signal }), [task.id]);
  const executors = useApi(
    async (signal) => {
      const p = await api.listExecutors({ page_size: 200 }, { signal });
      p.items.forEach(rememberExecutor);
      return p.items;
    },
    [],
    10000,
  );
  const [rows, setRows] = useState<Row[] | null>(null);
  const [rowErrors, setRowErrors] = useState<RowErrors[]>([]);
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const toast = useToast();
  const editing = rows !== null;
  const byId = new Map((executors.data ?? []).map((e) => [e.id, e] as const));

  const startEdit = (current: Assignment[]) => {
    setRows(current.map((a) => ({ executor_id: a.executor_id, weight: String(a.weight), priority: String(a.priority) })));
    setRowErrors([]);
    setError(undefined);
  };
  const update = (i: number, patch: Partial<Row>) => {
    setRows((rs) => rs && rs.map((r, j) => (j === i ? { ...r, ...patch } : r)));
    setRowErrors((es) => es.map((e, j) => (j === i ? {} : e)));
  };
  const save = async () => {
    if (!rows) return;
    const seen = new Set<string>();
    const errs = rows.map((r) => checkRow(r, seen));
    setRowErrors(errs);
    if (errs.some((e) => Object.keys(e).length > 0)) return;
    setBusy(true);
    setError(undefined);
    try {
      await api.setTaskExecutors(
        task.id,
        rows.map((r) => ({ executor_id: r.executor_id, weight: Number(r.weight), priority: Number(r.priority) })),
      );
      toast("Executor assignment saved");
      setRows(null);
      assignments.reload();
    } catch (e) {
      setError((e as Error).message);
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="card" data-testid="assignments">
      <div className="card-header">
        <h2>Executors</h2>
        {task.status !== "deleted" && assignments.data && !editing && (
          <button type="button" className="btn btn-sm" onClick={() => startEdit(assignments.data!.items)}>
            Edit assignment
          </button>
        )}
        {editing && (
          <div className="btn-row">
            <button type="button" className="btn btn-sm" onClick={() => setRows(null)} disabled={busy}>
              Cancel
            </button>
            <button type="button" className="btn btn-sm btn-primary" onClick={save} disabled={busy}>
              {busy ? "Saving…" : "Save assignment"}
            </button>
          </div>
        )}
      </div>
      {editing ? (
        <Editor
          rows={rows}
          errors={rowErrors}
          executors={executors.data ?? []}
          onChange={update}
          onAdd={() => {
            const used = new Set(rows.map((r) => r.executor_id));
            const next = (executors.data ?? []).find((e) => !used.has(e.id));
            setRows([...rows, { executor_id: next?.id ?? "", weight: "1", priority: "0" }]);
          }}
          onRemove={(i) => {
            setRows(rows.filter((_, j) => j !== i));
            setRowErrors(rowErrors.filter((_, j) => j !== i));
          }}
          error={error}
        />
      ) : (
        <Loadable state={assignments}>
          {({ items }) =>
            items.length === 0 ? (
              <Empty title="No executors assigned">
                This task may run on every executor that is online and healthy.
              </Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="assignments-table">
                  <thead>
                    <tr>
                      <th>Executor</th>
                      <th>Status</th>
                      <th>Health</th>
                      <th className="num">Weight</th>
                      <th className="num">Priority</th>
                    </tr>
                  </thead>
                  <tbody>
                    {items.map((a) => {
                      const ex = byId.get(a.executor_id);
                      return (
                        <tr key={a.executor_id}>
                          <td>
                            <ExecutorLink id={a.executor_id} />
                          </td>
                          <td>{ex ? <Badge status={ex.status} /> : "—"}</td>
                          <td>{ex ? <HealthBadge healthy={ex.is_healthy} failures={ex.health_check_failures} /> : "—"}</td>
                          <td className="num">{a.weight}</td>
                          <td className="num">{a.priority}</td>
                        </tr>
                      );
                    })}
                  </tbody>
                </table>
                <div className="muted" style={{ padding: "8px 16px 12px", fontSize: 12.5 }}>
                  Only executors with the lowest priority number among those online and healthy are candidates; weight is
                  used by weighted round robin.
                </div>
              </div>
            )
          }
        </Loadable>
      )}
    </section>
  );
}

function Editor({
  rows,
  errors,
  executors,
  onChange,
  onAdd,
  onRemove,
  error,
}: {
  rows: Row[];
  errors: RowErrors[];
  executors: Executor[];
  onChange: (i: number, patch: Partial<Row>) => void;
  onAdd: () => void;
  onRemove: (i: number) => void;
  error?: string;
}) {
  return (
    <div className="card-body">
      {rows.length === 0 ? (
        <p className="muted" style={{ marginTop: 0 }}>
          No executors: the task may run on every online, healthy executor. Add one to restrict it.
        </p>
      ) : (
        <table className="table" data-testid="assignments-editor">
          <thead>
            <tr>
              <th>Executor</th>
              <th style={{ width: 140 }}>Weight (1–1000)</th>
              <th style={{ width: 140 }}>Priority (lower first)</th>
              <th style={{ width: 80 }} />
            </tr>
          </thead>
          <tbody>
            {rows.map((r, i) => {
              const e = errors[i] ?? {};
              const known = executors.some((x) => x.id === r.executor_id);
              return (
                <tr key={i}>
                  <td>
                    <select
                      className="select"
                      aria-label="Executor"
                      aria-invalid={e.executor_id ? true : undefined}
                      value={r.executor_id}
                      onChange={(ev) => onChange(i, { executor_id: ev.target.value })}
                    >
                      <option value="">Choose an executor…</option>
                      {!known && r.executor_id && <option value={r.executor_id}>{r.executor_id}</option>}
                      {executors.map((x) => (
                        <option key={x.id} value={x.id}>
                          {x.name} · {x.instance_id} ({x.status}
                          {x.is_healthy ? "" : ", unhealthy"})
                        </option>
                      ))}
                    </select>
                    {e.executor_id && <div className="field-error">{e.executor_id}</div>}
                  </td>
                  <td>
                    <input
                      className="input"
                      type="number"
                      aria-label="Weight"
                      min={1}
                      max={1000}
                      aria-invalid={e.weight ? true : undefined}
                      value={r.weight}
                      onChange={(ev) => onChange(i, { weight: ev.target.value })}
                    />
                    {e.weight && <div className="field-error">{e.weight}</div>}
                  </td>
                  <td>
                    <input
                      className="input"
                      type="number"
                      aria-label="Priority"
                      aria-invalid={e.priority ? true : undefined}
                      value={r.priority}
                      onChange={(ev) => onChange(i, { priority: ev.target.value })}
                    />
                    {e.priority && <div className="field-error">{e.priority}</div>}
                  </td>
                  <td className="actions">
                    <button type="button" className="btn btn-sm btn-ghost-danger" onClick={() => onRemove(i)}>
                      Remove
                    </button>
                  </td>
                </tr>
              );
            })}
          </tbody>
        </table>
      )}
      <div className="btn-row" style={{ marginTop: 12 }}>
        <button type="button" className="btn btn-sm" onClick={onAdd} disabled={executors.length === 0}>
          + Add executor
        </button>
        {executors.length === 0 && <span className="muted">No executor is registered yet.</span>}
      </div>
      {error && <div className="alert alert-error">{error}</div>}
    </div>
  );
}
