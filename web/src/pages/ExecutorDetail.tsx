import { useEffect } from "react";
import { Link, useParams } from "react-router";
import { api } from "../api/endpoints";
import { Badge, HealthBadge } from "../components/Badge";
import { JsonBlock } from "../components/JsonBlock";
import { PageHeader } from "../components/Layout";
import { Loadable } from "../components/States";
import { Time } from "../components/Time";
import { rememberExecutor } from "../lib/names";
import { useApi } from "../lib/useApi";
import { ExecutionsTable } from "./Executions";
import { ExecutorStatusButton } from "./ExecutorStatusDialog";

export function ExecutorDetail() {
  const { id = "" } = useParams();
  const executor = useApi(
    async (signal) => {
      const e = await api.getExecutor(id, { signal });
      rememberExecutor(e);
      return e;
    },
    [id],
    5000,
  );
  const executions = useApi(
    (signal) => api.listExecutions({ executor_id: id, page_size: 10 }, { signal }),
    [id],
    5000,
  );
  useEffect(() => {
    if (executor.data) document.title = `${executor.data.name} · Scheduler`;
  }, [executor.data]);

  return (
    <Loadable state={executor} loadingLabel="Loading executor…">
      {(e) => (
        <>
          <PageHeader
            back={<Link to="/executors">‹ Executors</Link>}
            title={
              <span style={{ display: "inline-flex", alignItems: "center", gap: 10 }}>
                {e.name} <Badge status={e.status} /> <HealthBadge healthy={e.is_healthy} failures={e.health_check_failures} />
              </span>
            }
            subtitle={<span className="mono">{e.id}</span>}
            actions={<ExecutorStatusButton executor={e} onDone={executor.reload} />}
          />
          <div className="grid grid-2">
            <section className="card">
              <div className="card-header">
                <h2>Registration</h2>
              </div>
              <div className="card-body">
                <dl className="props">
                  <dt>Instance</dt>
                  <dd className="mono">{e.instance_id}</dd>
                  <dt>Base URL</dt>
                  <dd className="mono">{e.base_url}</dd>
                  <dt>Registered</dt>
                  <dd>
                    <Time value={e.created_at} />
                  </dd>
                  <dt>Updated</dt>
                  <dd>
                    <Time value={e.updated_at} />
                  </dd>
                  <dt>Metadata</dt>
                  <dd>
                    <JsonBlock value={e.metadata} />
                  </dd>
                </dl>
              </div>
            </section>
            <section className="card">
              <div className="card-header">
                <h2>Health</h2>
              </div>
              <div className="card-body">
                <dl className="props">
                  <dt>State</dt>
                  <dd>
                    <HealthBadge healthy={e.is_healthy} failures={e.health_check_failures} />
                  </dd>
                  <dt>Health URL</dt>
                  <dd className="mono">{e.health_check_url ?? `${e.base_url.replace(/\/$/, "")}/health`}</dd>
                  <dt>Last check</dt>
                  <dd>
                    <Time value={e.last_health_check} relative />
                  </dd>
                  <dt>Consecutive failures</dt>
                  <dd>{e.health_check_failures}</dd>
                </dl>
                <p className="muted" style={{ marginBottom: 0 }}>
                  Tasks assigned to this executor are listed on each task's page, under Executors.
                </p>
              </div>
            </section>
          </div>
          <section className="card">
            <div className="card-header">
              <h2>Recent executions on this executor</h2>
              <Link to={`/executions?executor_id=${encodeURIComponent(e.id)}`}>All</Link>
            </div>
            <Loadable state={executions}>
              {(p) => <ExecutionsTable items={p.items} onChanged={executions.reload} hideExecutor />}
            </Loadable>
          </section>
        </>
      )}
    </Loadable>
  );
}
