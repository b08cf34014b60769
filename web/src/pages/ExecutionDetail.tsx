import { Link, useParams } from "react-router";
import { api } from "../api/endpoints";
import { isLive } from "../api/types";
import { Badge } from "../components/Badge";
import { JsonBlock } from "../components/JsonBlock";
import { PageHeader } from "../components/Layout";
import { ExecutorLink, TaskLink } from "../components/Links";
import { Loadable } from "../components/States";
import { StopButton } from "../components/StopButton";
import { Time } from "../components/Time";
import { shortId } from "../lib/names";
import { durationBetween, formatDuration } from "../lib/time";
import { useApi } from "../lib/useApi";

export function ExecutionDetail() {
  const { id = "" } = useParams();
  const execution = useApi((signal) => api.getExecution(id, { signal }), [id], 2000);

  return (
    <Loadable state={execution} loadingLabel="Loading execution…">
      {(e) => (
        <>
          <PageHeader
            back={<Link to="/executions">‹ Executions</Link>}
            title={
              <span style={{ display: "inline-flex", alignItems: "center", gap: 10 }}>
                Execution {shortId(e.id)} <Badge status={e.status} />
              </span>
            }
            subtitle={<span className="mono">{e.id}</span>}
            actions={isLive(e.status) && <StopButton execution={e} onStopped={execution.reload} small={false} />}
          />
          <div className="grid grid-2">
            <section className="card">
              <div className="card-header">
                <h2>Run</h2>
              </div>
              <div className="card-body">
                <dl className="props" data-testid="execution-props">
                  <dt>Status</dt>
                  <dd>
                    <Badge status={e.status} />
                  </dd>
                  <dt>Task</dt>
                  <dd>
                    <TaskLink id={e.task_id} />
                  </dd>
                  <dt>Executor</dt>
                  <dd>
                    <ExecutorLink id={e.executor_id} />
                  </dd>
                  <dt>Trigger</dt>
                  <dd>{e.trigger_type}</dd>
                  <dt>Retry count</dt>
                  <dd>{e.retry_count}</dd>
                </dl>
              </div>
            </section>
            <section className="card">
              <div className="card-header">
                <h2>Timing</h2>
              </div>
              <div className="card-body">
                <dl className="props">
                  <dt>Scheduled</dt>
                  <dd>
                    <Time value={e.scheduled_time} />
                  </dd>
                  <dt>Started</dt>
                  <dd>
                    <Time value={e.start_time} />
                  </dd>
                  <dt>Ended</dt>
                  <dd>
                    <Time value={e.end_time} />
                  </dd>
                  <dt>Duration</dt>
                  <dd>
                    {e.start_time && !e.end_time && isLive(e.status) ? (
                      <span className="muted">running for {formatDuration(Date.now() - Date.parse(e.start_time))}</span>
                    ) : (
                      formatDuration(durationBetween(e.start_time, e.end_time))
                    )}
                  </dd>
                  <dt>Recorded</dt>
                  <dd>
                    <Time value={e.created_at} />
                  </dd>
                </dl>
              </div>
            </section>
          </div>
          <div className="grid grid-2">
            <section className="card">
              <div className="card-header">
                <h2>Parameters</h2>
              </div>
              <div className="card-body">
                <JsonBlock value={e.parameters} testId="execution-parameters" />
              </div>
            </section>
            <section className="card">
              <div className="card-header">
                <h2>Result</h2>
              </div>
              <div className="card-body">
                <JsonBlock value={e.result} testId="execution-result" />
              </div>
            </section>
          </div>
          <section className="card">
            <div className="card-header">
              <h2>Logs</h2>
            </div>
            <div className="card-body">
              {e.logs ? <pre data-testid="execution-logs">{e.logs}</pre> : <span className="muted">No logs.</span>}
            </div>
          </section>
        </>
      )}
    </Loadable>
  );
}
