// The dashboard's "Recent alerts" panel: the newest alerts of GET /alerts.

import { api } from "../api/endpoints";
import { Badge } from "../components/Badge";
import { ExecutionLink, ExecutorLink, TaskLink } from "../components/Links";
import { Empty, Loadable } from "../components/States";
import { Time } from "../components/Time";
import { useApi } from "../lib/useApi";

const POLL_MS = 3000;

export function RecentAlerts() {
  const alerts = useApi((signal) => api.listAlerts({ page_size: 10 }, { signal }), [], POLL_MS);
  return (
    <section className="card" style={{ marginTop: 16 }}>
      <div className="card-header">
        <h2>Recent alerts</h2>
        {alerts.data && <span className="muted">{alerts.data.total} in the last 7 days</span>}
      </div>
      <Loadable state={alerts}>
        {(page) =>
          page.items.length === 0 ? (
            <Empty title="No alerts">
              Alerts appear here once webhooks are configured (alerts.webhooks) and an event happens.
            </Empty>
          ) : (
            <div className="table-wrap">
              <table className="table" data-testid="recent-alerts">
                <thead>
                  <tr>
                    <th>When</th>
                    <th>Event</th>
                    <th>About</th>
                    <th>Message</th>
                    <th className="num">Held back</th>
                    <th>Delivery</th>
                  </tr>
                </thead>
                <tbody>
                  {page.items.map((a) => (
                    <tr key={a.id} data-alert-id={a.id}>
                      <td>
                        <Time value={a.at} />
                      </td>
                      <td>
                        <Badge status={a.event.includes("recovered") ? "healthy" : "failed"} label={a.event.replace(/_/g, " ")} />
                      </td>
                      <td>
                        {a.subject.execution_id ? (
                          <ExecutionLink id={a.subject.execution_id} />
                        ) : a.subject.task_id ? (
                          <TaskLink id={a.subject.task_id} />
                        ) : a.subject.executor_id ? (
                          <ExecutorLink id={a.subject.executor_id} />
                        ) : (
                          <span className="mono">{a.subject.instance_id ?? "—"}</span>
                        )}
                      </td>
                      <td className="wrap">{a.message}</td>
                      <td className="num">{a.suppressed}</td>
                      <td data-testid="alert-delivery">
                        {a.delivered ? (
                          <Badge status="success" label="delivered" />
                        ) : (
                          <Badge status="pending" label={`not yet (${a.attempts} attempts)`} />
                        )}
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
  );
}
