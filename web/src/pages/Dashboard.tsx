import { Link } from "react-router";
import { api } from "../api/endpoints";
import { Badge } from "../components/Badge";
import { PageHeader } from "../components/Layout";
import { ExecutionLink, ExecutorLink, TaskLink } from "../components/Links";
import { Empty, Loadable } from "../components/States";
import { Time } from "../components/Time";
import { useApi } from "../lib/useApi";
import { formatLocal } from "../lib/time";
import styles from "./Dashboard.module.css";

const POLL_MS = 3000;

function Stat({ label, value, to, tone }: { label: string; value: number; to?: string; tone?: string }) {
  const body = (
    <>
      <span className={styles.statValue} data-tone={tone}>
        {value}
      </span>
      <span className={styles.statLabel}>{label}</span>
    </>
  );
  return to ? (
    <Link to={to} className={styles.stat} data-testid={`stat-${label.toLowerCase()}`}>
      {body}
    </Link>
  ) : (
    <div className={styles.stat} data-testid={`stat-${label.toLowerCase()}`}>
      {body}
    </div>
  );
}

export function Dashboard() {
  const status = useApi((signal) => api.systemStatus({ signal }), [], POLL_MS);
  const failures = useApi(
    (signal) => api.listExecutions({ status: "failed", page_size: 10 }, { signal }),
    [],
    POLL_MS,
  );

  return (
    <>
      <PageHeader
        title="Dashboard"
        subtitle={
          status.updatedAt ? (
            <span data-testid="updated-at">
              <span className={styles.live} aria-hidden="true" /> Live · updated{" "}
              {formatLocal(status.updatedAt.toISOString()).slice(11)}
            </span>
          ) : (
            "Live overview"
          )
        }
      />
      <Loadable state={status} loadingLabel="Loading system status…">
        {(s) => (
          <>
            {status.error && <div className="alert alert-error">Refresh failed: {status.error.message}</div>}
            <div className="grid grid-4">
              <section className="card">
                <div className="card-header">
                  <h2>Executors</h2>
                  <span className="muted">{s.executors.total} registered</span>
                </div>
                <div className={styles.stats}>
                  <Stat label="Online" value={s.executors.online} to="/executors?status=online" tone="green" />
                  <Stat label="Offline" value={s.executors.offline} to="/executors?status=offline" tone="gray" />
                  <Stat
                    label="Maintenance"
                    value={s.executors.maintenance}
                    to="/executors?status=maintenance"
                    tone="amber"
                  />
                </div>
                <div className={styles.stats}>
                  <Stat label="Healthy" value={s.executors.healthy} to="/executors?healthy=true" tone="green" />
                  <Stat label="Unhealthy" value={s.executors.unhealthy} to="/executors?healthy=false" tone="red" />
                </div>
              </section>
              <section className="card">
                <div className="card-header">
                  <h2>Tasks</h2>
                  <Link to="/tasks">All tasks</Link>
                </div>
                <div className={styles.stats}>
                  <Stat label="Active" value={s.tasks.active} to="/tasks?status=active" tone="green" />
                  <Stat label="Paused" value={s.tasks.paused} to="/tasks?status=paused" tone="amber" />
                </div>
              </section>
              <section className="card">
                <div className="card-header">
                  <h2>Executions</h2>
                  <Link to="/executions">All executions</Link>
                </div>
                <div className={styles.stats}>
                  <Stat label="Pending" value={s.executions.pending} to="/executions?status=pending" tone="slate" />
                  <Stat label="Running" value={s.executions.running} to="/executions?status=running" tone="blue" />
                </div>
              </section>
              <section className="card">
                <div className="card-header">
                  <h2>Scheduler</h2>
                  <span className="muted">{s.scheduler.instances.length} instance(s)</span>
                </div>
                <div className="card-body">
                  <dl className="props">
                    <dt>Leader</dt>
                    <dd data-testid="leader">
                      {s.scheduler.instances.find((i) => i.is_leader)?.instance_id ?? (
                        <span className="muted">none elected</span>
                      )}
                    </dd>
                    <dt>This instance</dt>
                    <dd>
                      <span className="mono">{s.scheduler.instance_id}</span>{" "}
                      {s.scheduler.leader && <Badge status="leader" />}
                    </dd>
                  </dl>
                </div>
              </section>
            </div>

            <section className="card">
              <div className="card-header">
                <h2>Scheduler instances</h2>
              </div>
              {s.scheduler.instances.length === 0 ? (
                <Empty title="No instances registered" />
              ) : (
                <div className="table-wrap">
                  <table className="table" data-testid="instances">
                    <thead>
                      <tr>
                        <th>Instance</th>
                        <th>Host</th>
                        <th>Role</th>
                        <th>State</th>
                        <th>Started</th>
                        <th>Last heartbeat</th>
                      </tr>
                    </thead>
                    <tbody>
                      {s.scheduler.instances.map((i) => (
                        <tr key={i.instance_id}>
                          <td className="mono">{i.instance_id}</td>
                          <td>{i.hostname ?? "—"}</td>
                          <td>
                            <Badge status={i.is_leader ? "leader" : "follower"} />
                          </td>
                          <td>
                            {i.alive === undefined ? (
                              "—"
                            ) : (
                              <Badge status={i.alive ? "online" : "offline"} label={i.alive ? "alive" : "gone"} />
                            )}
                          </td>
                          <td>
                            <Time value={i.started_at} />
                          </td>
                          <td>
                            <Time value={i.last_heartbeat} relative />
                          </td>
                        </tr>
                      ))}
                    </tbody>
                  </table>
                </div>
              )}
            </section>
          </>
        )}
      </Loadable>

      <section className="card" style={{ marginTop: 16 }}>
        <div className="card-header">
          <h2>Recent failures</h2>
          <Link to="/executions?status=failed">All failures</Link>
        </div>
        <Loadable state={failures}>
          {(page) =>
            page.items.length === 0 ? (
              <Empty title="No failed executions">Failures show up here as soon as they happen.</Empty>
            ) : (
              <div className="table-wrap">
                <table className="table" data-testid="recent-failures">
                  <thead>
                    <tr>
                      <th>Execution</th>
                      <th>Task</th>
                      <th>Executor</th>
                      <th>Scheduled</th>
                      <th>Ended</th>
                      <th className="num">Retries</th>
                      <th>Last log line</th>
                    </tr>
                  </thead>
                  <tbody>
                    {page.items.map((e) => (
                      <tr key={e.id}>
                        <td>
                          <ExecutionLink id={e.id} />
                        </td>
                        <td>
                          <TaskLink id={e.task_id} />
                        </td>
                        <td>
                          <ExecutorLink id={e.executor_id} />
                        </td>
                        <td>
                          <Time value={e.scheduled_time} />
                        </td>
                        <td>
                          <Time value={e.end_time} />
                        </td>
                        <td className="num">{e.retry_count}</td>
                        <td className={`wrap ${styles.log}`}>
                          <LastLogLine id={e.id} />
                        </td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            )
          }
        </Loadable>
      </section>
    </>
  );
}

/**
 * The list leaves logs out (they can be large), so each row asks for its
 * execution once; a failed execution's logs no longer change.
 */
function LastLogLine({ id }: { id: string }) {
  const detail = useApi((signal) => api.getExecution(id, { signal }), [id]);
  if (detail.data) return <span data-testid={`last-log-${id}`}>{lastLine(detail.data.logs)}</span>;
  return <span className="muted">{detail.error ? "—" : "…"}</span>;
}

function lastLine(logs: string | null): string {
  if (!logs) return "—";
  const lines = logs.trim().split("\n");
  return lines[lines.length - 1] ?? "—";
}
