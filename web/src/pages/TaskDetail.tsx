import { useEffect } from "react";
import { Link, useParams } from "react-router";
import { api } from "../api/endpoints";
import { isLive, type Task, type TaskStats, type WindowStats } from "../api/types";
import { Badge } from "../components/Badge";
import { JsonBlock } from "../components/JsonBlock";
import { PageHeader } from "../components/Layout";
import { ExecutionLink, ExecutorLink } from "../components/Links";
import { Empty, Loadable } from "../components/States";
import { StopButton } from "../components/StopButton";
import { Time } from "../components/Time";
import { TrendChart } from "../components/TrendChart";
import { rememberTask } from "../lib/names";
import { durationBetween, formatDuration } from "../lib/time";
import { useApi } from "../lib/useApi";
import { Assignments } from "./Assignments";
import { DeleteButton, PauseResumeButton, TriggerButton } from "./TaskActions";
import styles from "./TaskDetail.module.css";

export function TaskDetail() {
  const { id = "" } = useParams();
  const task = useApi(
    async (signal) => {
      const t = await api.getTask(id, { signal });
      rememberTask(t);
      return t;
    },
    [id],
    10000,
  );
  const stats = useApi((signal) => api.taskStats(id, { signal }), [id], 5000);
  const executions = useApi((signal) => api.listExecutions({ task_id: id, page_size: 10 }, { signal }), [id], 3000);

  useEffect(() => {
    if (task.data) document.title = `${task.data.name} · Scheduler`;
  }, [task.data]);

  const refreshAll = () => {
    task.reload();
    stats.reload();
    executions.reload();
  };

  return (
    <Loadable state={task} loadingLabel="Loading task…">
      {(t) => (
        <>
          <PageHeader
            back={<Link to="/tasks">‹ Tasks</Link>}
            title={
              <span className={styles.title}>
                {t.name} <Badge status={t.status} />
              </span>
            }
            subtitle={<span className="mono">{t.id}</span>}
            actions={
              t.status !== "deleted" && (
                <>
                  <TriggerButton task={t} onDone={refreshAll} />
                  <PauseResumeButton task={t} onDone={refreshAll} />
                  <Link className="btn" to={`/tasks/${encodeURIComponent(t.id)}/edit`}>
                    Edit
                  </Link>
                  <DeleteButton task={t} />
                </>
              )
            }
          />
          {t.status === "deleted" && (
            <div className="alert alert-info" style={{ marginBottom: 16 }}>
              This task was deleted. Its history is kept below; it no longer fires.
            </div>
          )}

          <div className="grid grid-2">
            <Configuration task={t} />
            <section className="card" data-testid="stats">
              <div className="card-header">
                <h2>Statistics</h2>
                <span className="muted">by scheduled time</span>
              </div>
              <Loadable state={stats} loadingLabel="Loading statistics…">
                {(s) => <StatsPanel stats={s} />}
              </Loadable>
            </section>
          </div>

          <section className="card">
            <div className="card-header">
              <h2>Daily trend</h2>
              <span className="muted">last 30 days, UTC days</span>
            </div>
            <div className="card-body">
              <Loadable state={stats}>
                {(s) =>
                  s.daily.length === 0 ? (
                    <Empty title="No daily data" />
                  ) : (
                    <>
                      <TrendChart daily={s.daily.slice(-30)} />
                      {s.daily.every((d) => d.total === 0) && (
                        <div className="muted" style={{ textAlign: "center", marginTop: 6 }}>
                          No executions in the last 30 days.
                        </div>
                      )}
                    </>
                  )
                }
              </Loadable>
            </div>
          </section>

          <Assignments task={t} />

          <section className="card">
            <div className="card-header">
              <h2>Recent executions</h2>
              <Link to={`/executions?task_id=${encodeURIComponent(t.id)}`}>All executions of this task</Link>
            </div>
            <Loadable state={executions}>
              {(p) =>
                p.items.length === 0 ? (
                  <Empty title="No executions yet">
                    {t.status === "active" && t.next_run_time ? (
                      <>
                        Next run <Time value={t.next_run_time} relative />.
                      </>
                    ) : (
                      "Trigger the task to run it now."
                    )}
                  </Empty>
                ) : (
                  <div className="table-wrap">
                    <table className="table" data-testid="task-executions">
                      <thead>
                        <tr>
                          <th>Execution</th>
                          <th>Status</th>
                          <th>Trigger</th>
                          <th>Scheduled</th>
                          <th>Executor</th>
                          <th className="num">Duration</th>
                          <th className="num">Retries</th>
                          <th />
                        </tr>
                      </thead>
                      <tbody>
                        {p.items.map((e) => (
                          <tr key={e.id}>
                            <td>
                              <ExecutionLink id={e.id} />
                            </td>
                            <td>
                              <Badge status={e.status} />
                            </td>
                            <td>{e.trigger_type}</td>
                            <td>
                              <Time value={e.scheduled_time} />
                            </td>
                            <td>
                              <ExecutorLink id={e.executor_id} />
                            </td>
                            <td className="num">{formatDuration(durationBetween(e.start_time, e.end_time))}</td>
                            <td className="num">{e.retry_count}</td>
                            <td className="actions">
                              {isLive(e.status) && <StopButton execution={e} onStopped={executions.reload} />}
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
      )}
    </Loadable>
  );
}

function Configuration({ task: t }: { task: Task }) {
  return (
    <section className="card">
      <div className="card-header">
        <h2>Configuration</h2>
      </div>
      <div className="card-body">
        <dl className="props">
          <dt>Schedule</dt>
          <dd>
            <code>{t.cron_expression}</code> <span className="muted">in {t.timezone}</span>
          </dd>
          <dt>Next run</dt>
          <dd data-testid="next-run">
            <Time value={t.next_run_time} relative />
          </dd>
          <dt>Execution mode</dt>
          <dd>{t.execution_mode}</dd>
          <dt>Load balancing</dt>
          <dd>{t.load_balance_strategy.replace(/_/g, " ")}</dd>
          <dt>Retries</dt>
          <dd>up to {t.max_retry}</dd>
          <dt>Timeout</dt>
          <dd>{formatDuration(t.timeout_seconds * 1000)}</dd>
          <dt>Misfire policy</dt>
          <dd>{t.misfire_policy.replace(/_/g, " ")}</dd>
          <dt>Created</dt>
          <dd>
            <Time value={t.created_at} />
          </dd>
          <dt>Updated</dt>
          <dd>
            <Time value={t.updated_at} />
          </dd>
          <dt>Parameters</dt>
          <dd>
            <JsonBlock value={t.parameters} />
          </dd>
        </dl>
      </div>
    </section>
  );
}

const WINDOWS = ["24h", "7d", "90d"] as const;

function pct(rate: number | null): string {
  return rate === null ? "—" : `${(rate * 100).toFixed(rate === 1 || rate === 0 ? 0 : 1)}%`;
}

function scoreTone(score: number): string {
  return score >= 90 ? "good" : score >= 70 ? "fair" : "poor";
}

function StatsPanel({ stats }: { stats: TaskStats }) {
  const score = stats.health_score;
  const rows: { label: string; get: (w: WindowStats) => string | number; cls?: string }[] = [
    { label: "Total", get: (w) => w.total },
    { label: "Success", get: (w) => w.success, cls: styles.success },
    { label: "Failed", get: (w) => w.failed, cls: styles.failed },
    { label: "Timeout", get: (w) => w.timeout, cls: styles.timeout },
    { label: "Skipped", get: (w) => w.skipped },
    { label: "Cancelled", get: (w) => w.cancelled },
    { label: "Success rate", get: (w) => pct(w.success_rate) },
    { label: "Timeout rate", get: (w) => pct(w.timeout_rate) },
    { label: "Avg duration", get: (w) => formatDuration(w.avg_duration_ms) },
  ];
  return (
    <div className={styles.statsBody}>
      <div className={styles.score} data-tone={score === null ? "none" : scoreTone(score)} data-testid="health-score">
        <div className={styles.scoreValue}>{score ?? "—"}</div>
        <div className={styles.scoreLabel}>Health score</div>
        <div className={styles.scoreHint}>{score === null ? "no finished run in 7 days" : "over 7 days"}</div>
      </div>
      <div className="table-wrap" style={{ flex: 1 }}>
        <table className="table" data-testid="stats-table">
          <thead>
            <tr>
              <th />
              {WINDOWS.map((w) => (
                <th key={w} className="num">
                  {w}
                </th>
              ))}
            </tr>
          </thead>
          <tbody>
            {rows.map((r) => (
              <tr key={r.label}>
                <td className={r.cls}>{r.label}</td>
                {WINDOWS.map((w) => (
                  <td key={w} className="num" data-window={w} data-metric={r.label}>
                    {r.get(stats[w])}
                  </td>
                ))}
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}

