// Names of tasks and executors for ids shown in tables, fetched once per id
// and remembered for the session (lists feed the cache as they load).

import { useEffect, useState } from "react";
import { api } from "../api/endpoints";

const taskNames = new Map<string, string>();
const executorNames = new Map<string, string>();
const inflight = new Map<string, Promise<void>>();

export function rememberTask(t: { id: string; name: string }): void {
  taskNames.set(t.id, t.name);
}

export function rememberExecutor(e: { id: string; name: string; instance_id?: string }): void {
  executorNames.set(e.id, e.instance_id && e.instance_id !== e.name ? `${e.name} · ${e.instance_id}` : e.name);
}

function useName(kind: "task" | "executor", id: string | null): string | undefined {
  const names = kind === "task" ? taskNames : executorNames;
  const [name, setName] = useState(id ? names.get(id) : undefined);
  useEffect(() => {
    if (!id) return;
    const known = names.get(id);
    if (known !== undefined) {
      setName(known);
      return;
    }
    let live = true;
    const key = `${kind}:${id}`;
    let p = inflight.get(key);
    if (!p) {
      p = (kind === "task"
        ? api.getTask(id).then(rememberTask)
        : api.getExecutor(id).then(rememberExecutor)
      )
        .catch(() => undefined)
        .finally(() => inflight.delete(key));
      inflight.set(key, p);
    }
    void p.then(() => live && setName(names.get(id)));
    return () => {
      live = false;
    };
  }, [kind, id, names]);
  return name;
}

export const useTaskName = (id: string | null) => useName("task", id);
export const useExecutorName = (id: string | null) => useName("executor", id);

/**
 * The last 8 characters of a long id, for tight columns. (UUID v7 ids start
 * with a timestamp, so ids made close together share their first characters.)
 */
export function shortId(id: string): string {
  return id.length > 12 ? "…" + id.slice(-8) : id;
}
