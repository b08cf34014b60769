import { useEffect, useState } from "react";
import { Link } from "react-router";
import { api } from "../api/endpoints";
import { EXECUTOR_STATUSES, type ExecutorStatus } from "../api/types";
import { Badge, HealthBadge } from "../components/Badge";
import { PageHeader } from "../components/Layout";
import { Pagination } from "../components/Pagination";
import { Empty, Loadable } from "../components/States";
import { Time } from "../components/Time";
import { rememberExecutor } from "../lib/names";
import { useApi, useDebounced } from "../lib/useApi";
import { intParam, useQueryState } from "../lib/useQueryState";
import { ExecutorStatusButton } from "./ExecutorStatusDialog";

export function Executors() {
  const [q, setQ] = useQueryState({ status: "", name: "", healthy: "", page: "1", page_size: "20" });
  const page = intParam(q.page, 1);
  const pageSize = intParam(q.page_size, 20);
  const [nameInput, setNameInput] = useState(q.name);
  const name = useDebounced(nameInput.trim(), 300);
  useEffect(() => {
    if (name !== q.name) setQ({ name, page: "1" });
    // Only a settled name changes the URL; the URL itself is not a trigger.
  }, [name]);

  const executors = useApi(
    async (signal) => {
      const p = await api.listExecutors(
        {
          status: q.status as ExecutorStatus | "",
          name: q.name,
          healthy: q.healthy as "true" | "false" | "",
          page,
          page_size: pageSize,
        },
        { signal },
      );
      p.items.forEach(rememberExecutor);
      return p;
    },
    [q.status, q.name, q.healthy, page, pageSize],
    5000,
  );
  const filtered = q.status !== "" || q.name !== "" || q.healthy !== "";

  return (
    <>
      <PageHeader title="Executors" subtitle="HTTP workers that run executions; they register themselves through the API" />
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
              <option value="">Any status</option>
              {EXECUTOR_STATUSES.map((s) => (
                <option key={s} value={s}>
                  {s[0]!.toUpperCase() + s.slice(1)}
                </option>
              ))}
            </select>
          </div>
          <div className="field">
            <label htmlFor="f-healthy">Health</label>
            <select
              id="f-healthy"
              className="select"
              value={q.healthy}
              onChange={(e) => setQ({ healthy: e.target.value, page: "1" })}
            >
              <option value="">Any health</option>
              <option value="true">Healthy</option>
              <option value="false">Unhealthy</option>
            </select>
          </div>
          <div className="field wide">
            <label htmlFor="f-name">Name</label>
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
        <Loadable state={executors} loadingLabel="Loading executors…">
          {(p) =>
            p.items.length === 0 ? (
              filtered ? (
                <Empty title="No executor matches these filters" />
              ) : (
                <Empty title="No executors registered">
                  Executors register with <code>POST /api/v1/executors/register</code> when they start.
                </Empty>
              )
            ) : (
              <>
                <div className="table-wrap">
                  <table className="table" data-testid="executors-table">
                    <thead>
                      <tr>
                        <th>Name</th>
                        <th>Instance</th>
                        <th>Base URL</th>
                        <th>Status</th>
                        <th>Health</th>
                        <th>Last check</th>
                        <th />
                      </tr>
                    </thead>
                    <tbody>
                      {p.items.map((e) => (
                        <tr key={e.id} data-testid={`executor-row-${e.instance_id}`}>
                          <td>
                            <Link to={`/executors/${encodeURIComponent(e.id)}`} style={{ fontWeight: 500 }}>
                              {e.name}
                            </Link>
                          </td>
                          <td className="mono">{e.instance_id}</td>
                          <td className="mono">{e.base_url}</td>
                          <td>
                            <Badge status={e.status} />
                          </td>
                          <td>
                            <HealthBadge healthy={e.is_healthy} failures={e.health_check_failures} />
                            {e.health_check_failures > 0 && (
                              <span className="muted"> {e.health_check_failures} failed</span>
                            )}
                          </td>
                          <td>
                            <Time value={e.last_health_check} relative />
                          </td>
                          <td className="actions">
                            <ExecutorStatusButton executor={e} onDone={executors.reload} small />
                          </td>
                        </tr>
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
