import { api } from "../api/endpoints";
import { useState } from "react";
import { EXECUTION_STATUSES, isLive, type ExecutionStatus, type ExecutionSummary } from "../api/types";
import { Badge } from "../components/Badge";
import { PageHeader } from "../components/Layout";
import { ExecutionLink, ExecutorLink, TaskLink } from "../components/Links";
import { CursorPagination } from "../components/Pagination";
import { Empty, Loadable } from "../components/States";
import { StopButton } from "../components/StopButton";
import { Time } from "../components/Time";
import { rememberExecutor, rememberTask } from "../lib/names";
import { durationBetween, formatDuration, localInputToRfc3339, rfc3339ToLocalInput } from "../lib/time";
import { useApi } from "../lib/useApi";
import { intParam, useQueryState } from "../lib/useQueryState";

export function Executions() {
  const [q, setQ] = useQueryState({
    task_id: "",
    executor_id: "",
    status: "",
    from: "",
    to: "",
    page_size: "20",
  });
  const pageSize = intParam(q.page_size, 20);

  // The list is walked by cursor: `cursors` holds the `next_cursor` that led
  // to each page after the first, so Previous drops the last one. Other
  // filters (or another page size) start again from the first page.
  const listKey = JSON.stringify([q.task_id, q.executor_id, q.status, q.from, q.to, pageSize]);
  const [trail, setTrail] = useState<{ key: string; cursors: string[] }>({ key: listKey, cursors: [] });
  const cursors = trail.key === listKey ? trail.cursors : [];
  const cursor = cursors[cursors.length - 1];

  // Choices for the task and executor filters.
  const tasks = useApi(
    async (signal) => {
      const p = await api.listTasks({ page_size: 200 }, { signal });
      p.items.forEach(rememberTask);
      return p.items;
    },
    [],
  );
  const executors = useApi(
    async (signal) => {
      const p = await api.listExecutors({ page_size: 200 }, { signal });
      p.items.forEach(rememberExecutor);
      return p.items;
    },
    [],
  );

  const executions = useApi(
    (signal) =>
      api.listExecutions(
        {
          task_id: q.task_id,
          executor_id: q.executor_id,
          status: q.status as ExecutionStatus | "",
          from: q.from,
          to: q.to,
          cursor,
          page_size: pageSize,
        },
        { signal },
      ),
    [listKey, cursor],
    3000,
  );
  const filtered = [q.task_id, q.executor_id, q.status, q.from, q.to].some((v) => v !== "");
  const taskChoices = tasks.data ?? [];
  const executorChoices = executors.data ?? [];

  return (
    <>
      <PageHeader title="Executions" subtitle="Every run of every task, newest scheduled time first" />
      <section className="card">
        <div className="filters">
          <div className="field wide">
            <label htmlFor="f-task">Task</label>
            <select
              id="f-task"
              className="select"
              value={q.task_id}
              onChange={(e) => setQ({ task_id: e.target.value })}
            >
              <option value="">All tasks</option>
              {q.task_id && !taskChoices.some((t) => t.id === q.task_id) && (
                <option value={q.task_id}>{q.task_id}</option>
              )}
              {taskChoices.map((t) => (
                <option key={t.id} value={t.id}>
                  {t.name}
                </option>
              ))}
            </select>
          </div>
          <div className="field wide">
            <label htmlFor="f-executor">Executor</label>
            <select
              id="f-executor"
              className="select"
              value={q.executor_id}
              onChange={(e) => setQ({ executor_id: e.target.value })}
            >
              <option value="">All executors</option>
              {q.executor_id && !executorChoices.some((x) => x.id === q.executor_id) && (
                <option value={q.executor_id}>{q.executor_id}</option>
              )}
              {executorChoices.map((x) => (
                <option key={x.id} value={x.id}>
                  {x.name} · {x.instance_id}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-status">Status</label>
            <select
              id="f-status"
              className="select"
              value={q.status}
              onChange={(e) => setQ({ status: e.target.value })}
            >
              <option value="">Any status</option>
              {EXECUTION_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s[0]!.toUpperCase() + s.slice(1)}
                </option>
              ))}
            </select>
          </div>
          <div className="field date">
            <label htmlFor="f-from">Scheduled from (local time)</label>
            <input
              id="f-from"
              className="input"
              type="datetime-local"
              value={rfc3339ToLocalInput(q.from)}
              onChange={(e) => setQ({ from: localInputToRfc3339(e.target.value) })}
            />
          </div>
          <div className="field date">
            <label htmlFor="f-to">Scheduled to (local time)</label>
            <input
              id="f-to"
              className="input"
              type="datetime-local"
              value={rfc3339ToLocalInput(q.to)}
              onChange={(e) => setQ({ to: localInputToRfc3339(e.target.value) })}
            />
          </div>
          {filtered && (
            <button
              type="button"
              className="btn"
              onClick={() => setQ({ task_id: "", executor_id: "", status: "", from: "", to: "" })}
            >
              Clear filters
            </button>
          )}
        </div>
        <Loadable state={executions} loadingLabel="Loading executions…">
          {(p) =>
            p.items.length === 0 && cursors.length === 0 ? (
              <Empty title={filtered ? "No execution matches these filters" : "No executions yet"}>
                {filtered ? "Widen the time range or clear the filters." : "Executions appear here when tasks fire."}
              </Empty>
            ) : (
              <>
                {executions.error && (
                  <div className="alert alert-error" style={{ margin: 12 }}>
                    Refresh failed: {executions.error.message}
                  </div>
                )}
                <ExecutionsTable items={p.items} onChanged={executions.reload} />
                <CursorPagination
                  page={cursors.length + 1}
                  pageSize={p.page_size}
                  shown={p.items.length}
                  total={p.total}
                  totalIsLowerBound={p.total_is_lower_bound}
                  hasNext={p.next_cursor !== null}
                  onPrevious={() => setTrail({ key: listKey, cursors: cursors.slice(0, -1) })}
                  onNext={() => p.next_cursor && setTrail({ key: listKey, cursors: [...cursors, p.next_cursor] })}
                  onPageSize={(n) => setQ({ page_size: String(n) })}
                />
              </>
            )
          }
        </Loadable>
      </section>
    </>
  );
}

/** Executions as rows, with a Stop button on pending and running ones. */
export function ExecutionsTable({
  items,
  onChanged,
  hideExecutor = false,
}: {
  items: ExecutionSummary[];
  onChanged: () => void;
  hideExecutor?: boolean;
}) {
  if (items.length === 0) return <Empty title="No executions" />;
  return (
    <div className="table-wrap">
      <table className="table" data-testid="executions-table">
        <thead>
          <tr>
            <th>Execution</th>
            <th>Task</th>
            {!hideExecutor && <th>Executor</th>}
            <th>Status</th>
            <th>Trigger</th>
            <th>Scheduled</th>
            <th className="num">Duration</th>
            <th className="num">Retries</th>
            <th />
          </tr>
        </thead>
        <tbody>
          {items.map((e) => (
            <tr key={e.id} data-testid={`execution-row-${e.id}`}>
              <td>
                <ExecutionLink id={e.id} />
              </td>
              <td>
                <TaskLink id={e.task_id} />
              </td>
              {!hideExecutor && (
                <td>
                  <ExecutorLink id={e.executor_id} />
                </td>
              )}
              <td>
                <Badge status={e.status} />
              </td>
              <td>{e.trigger_type}</td>
              <td>
                <Time value={e.scheduled_time} />
              </td>
              <td className="num">{formatDuration(durationBetween(e.start_time, e.end_time))}</td>
              <td className="num">{e.retry_count}</td>
              <td className="actions">{isLive(e.status) && <StopButton execution={e} onStopped={onChanged} />}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}
