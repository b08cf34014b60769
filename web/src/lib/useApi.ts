// Loading state for one API call, optionally refreshed by polling.

import { useCallback, useEffect, useRef, useState } from "react";

export interface ApiState<T> {
  data: T | undefined;
  error: Error | undefined;
  /** True until the first answer (success or error) arrives. */
  loading: boolean;
  /** When the data was last fetched successfully. */
  updatedAt: Date | undefined;
  /** Fetches again now. */
  reload: () => void;
}

/** The last answer, and the `deps` it was fetched for. */
interface Answer<T> {
  deps: unknown[];
  data?: T;
  error?: Error;
  updatedAt?: Date;
}

function sameDeps(a: unknown[], b: unknown[]): boolean {
  return a.length === b.length && a.every((v, i) => Object.is(v, b[i]));
}

/**
 * Runs `load` when `deps` change and every `pollMs` milliseconds while the tab
 * is visible. Data from the last success stays while a refresh is in flight
 * or fails, so a page does not flicker on every poll. An answer counts only
 * for the `deps` it was fetched for: from the render in which `deps` change
 * until the new answer arrives, the state is loading with no data, so a page
 * never shows the previous rows under the new page's heading.
 */
export function useApi<T>(
  load: (signal: AbortSignal) => Promise<T>,
  deps: unknown[],
  pollMs?: number,
): ApiState<T> {
  const [answer, setAnswer] = useState<Answer<T> | undefined>();
  const [tick, setTick] = useState(0);
  // Callers pass an inline `load`; `deps` say when it fetches something else.
  const loadRef = useRef(load);
  loadRef.current = load;

  const reload = useCallback(() => setTick((t) => t + 1), []);

  useEffect(() => {
    const controller = new AbortController();
    const fetchedFor = deps;
    loadRef
      .current(controller.signal)
      .then((data) => {
        if (controller.signal.aborted) return;
        setAnswer({ deps: fetchedFor, data, updatedAt: new Date() });
      })
      .catch((e: unknown) => {
        if (controller.signal.aborted) return;
        const error = e instanceof Error ? e : new Error(String(e));
        // A failed refresh keeps the data it could not replace.
        setAnswer((last) =>
          last && sameDeps(last.deps, fetchedFor) ? { ...last, error } : { deps: fetchedFor, error },
        );
      });
    return () => controller.abort();
  }, [...deps, tick]);

  useEffect(() => {
    if (!pollMs) return;
    const id = window.setInterval(() => {
      if (document.visibilityState === "visible") reload();
    }, pollMs);
    return () => window.clearInterval(id);
  }, [pollMs, reload]);

  const current = answer && sameDeps(answer.deps, deps) ? answer : undefined;
  return {
    data: current?.data,
    error: current?.error,
    loading: current === undefined,
    updatedAt: current?.updatedAt,
    reload,
  };
}

/** `value`, but only after it stopped changing for `ms` milliseconds. */
export function useDebounced<T>(value: T, ms: number): T {
  const [debounced, setDebounced] = useState(value);
  useEffect(() => {
    const id = window.setTimeout(() => setDebounced(value), ms);
    return () => window.clearTimeout(id);
  }, [value, ms]);
  return debounced;
}
