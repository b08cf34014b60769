import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import { TASK_STATUSES, type Task, type TaskStatus } from "../api/types";
import { Badge } from "../components/Badge";
import { PageHeader } from "../components/Layout";
import { Pagination } from "../components/Pagination";
import { Empty, Loadable } from "../components/States";
import { Time } from "../components/Time";
import { rememberTask } from "../lib/names";
import { useApi, useDebounced } from "../lib/useApi";
import { intParam, useQueryState } from "../lib/useQueryState";
import { PauseResumeButton, TriggerButton } from "./TaskActions";

export function Tasks() {
  const [q, setQ] = useQueryState({ status: "", name: "", page: "1", page_size: "20" });
  const page = intParam(q.page, 1);
  const pageSize = intParam(q.page_size, 20);
  const [nameInput, setNameInput] = useState(q.name);
  const name = useDebounced(nameInput.trim(), 300);
  useEffect(() => {
    if (name !== q.name) setQ({ name, page: "1" });
    // Only a settled name changes the URL; the URL itself is not a trigger.
  }, [name]);

  const tasks = useApi(
    async (signal) => {
      const p = await api.listTasks(
        { status: q.status as TaskStatus | "", name: q.name, page, page_size: pageSize },
        { signal },
      );
      p.items.forEach(rememberTask);
      return p;
    },
    [q.status, q.name, page, pageSize],
    5000,
  );
  const filtered = q.status !== "" || q.name !== "";

  return (
    <>
      <PageHeader
        title="Tasks"
        subtitle="Cron-scheduled jobs and how they are dispatched"
        actions={
          <Link to="/tasks/new" className="btn btn-primary">
            + New task
          </Link>
        }
      />
      <section className="card">
        <div className="filters">
          <div className="field">
            <label htmlFor="f-status">Status</label>
            <select
              id="f-status"
              className="select"
              value={q.status}
              onChange={(e) => setQ({ status: e.target.value, page: "1" })}
            >
              <option value="">Active and paused</option>
              {TASK_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s[0]!.toUpperCase() + s.slice(1)}
                </option>
              ))}
            </select>
          </div>
          <div className="field wide">
            <label htmlFor="f-name">Name contains</label>
            <input
              id="f-name"
              className="input"
              type="search"
              placeholder="Search by name"
              value={nameInput}
              onChange={(e) => setNameInput(e.target.value)}
            />
          </div>
        </div>
        <Loadable state={tasks} loadingLabel="Loading tasks…">
          {(p) =>
            p.items.length === 0 ? (
              filtered ? (
                <Empty title="No task matches these filters">Clear the filters to see every task.</Empty>
              ) : (
                <Empty title="No tasks yet">
                  <Link to="/tasks/new">Create the first task</Link> to start scheduling.
                </Empty>
              )
            ) : (
              <>
                <div className="table-wrap">
                  <table className="table" data-testid="tasks-table">
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Status</th>
                        <th>Schedule</th>
                        <th>Next run</th>
                        <th>Mode</th>
                        <th>Strategy</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {p.items.map((t) => (
                        <TaskRow key={t.id} task={t} onChanged={tasks.reload} />
                      ))}
                    </tbody>
                  </table>
                </div>
                <Pagination
                  page={p.page}
                  pageSize={p.page_size}
                  total={p.total}
                  onPage={(n) => setQ({ page: String(n) })}
                  onPageSize={(n) => setQ({ page_size: String(n), page: "1" })}
                />
              </>
            )
          }
        </Loadable>
      </section>
    </>
  );
}

function TaskRow({ task: t, onChanged }: { task: Task; onChanged: () => void }) {
  return (
    <tr data-testid={`task-row-${t.name}`}>
      <td>
        <Link to={`/tasks/${encodeURIComponent(t.id)}`} style={{ fontWeight: 500 }}>
          {t.name}
        </Link>
      </td>
      <td>
        <Badge status={t.status} />
      </td>
      <td>
        <code>{t.cron_expression}</code> <span className="muted">{t.timezone}</span>
      </td>
      <td>
        <Time value={t.next_run_time} relative />
      </td>
      <td>{t.execution_mode}</td>
      <td>{t.load_balance_strategy.replace(/_/g, " ")}</td>
      <td className="actions">
        {t.status !== "deleted" && (
          <>
            <PauseResumeButton task={t} onDone={onChanged} small />
            <TriggerButton task={t} onDone={onChanged} small />
            <Link className="btn btn-sm" to={`/tasks/${encodeURIComponent(t.id)}/edit`}>
              Edit
            </Link>
          </>
        )}
      </td>
    </tr>
  );
}
