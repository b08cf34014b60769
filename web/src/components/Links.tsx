import { Link } from "react-router";
import { shortId, useExecutorName, useTaskName } from "../lib/names";

/** A link to a task page labelled with the task's name. */
export function TaskLink({ id }: { id: string }) {
  const name = useTaskName(id);
  return (
    <Link to={`/tasks/${encodeURIComponent(id)}`} title={id}>
      {name ?? shortId(id)}
    </Link>
  );
}

/** A link to an executor page labelled with its name; a dash for none. */
export function ExecutorLink({ id }: { id: string | null }) {
  const name = useExecutorName(id);
  if (!id) return <span className="muted">—</span>;
  return (
    <Link to={`/executors/${encodeURIComponent(id)}`} title={id}>
      {name ?? shortId(id)}
    </Link>
  );
}

/** A link to an execution page labelled with its short id. */
export function ExecutionLink({ id }: { id: string }) {
  return (
    <Link to={`/executions/${encodeURIComponent(id)}`} title={id} className="mono">
      {shortId(id)}
    </Link>
  );
}
