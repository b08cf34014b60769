// Page filters kept in the URL, so a reload or a shared link shows the same view.

import { useCallback, useMemo } from "react";
import { useSearchParams } from "react-router";

export function useQueryState<K extends string>(
  defaults: Record<K, string>,
): [Record<K, string>, (patch: Partial<Record<K, string>>) => void] {
  const [params, setParams] = useSearchParams();
  const values = useMemo(() => {
    const v = { ...defaults };
    for (const key of Object.keys(defaults) as K[]) {
      const got = params.get(key);
      if (got !== null) v[key] = got;
    }
    return v;
  }, [params]);
  const update = useCallback(
    (patch: Partial<Record<K, string>>) => {
      setParams(
        (prev) => {
          const next = new URLSearchParams(prev);
          for (const [key, value] of Object.entries(patch) as [K, string | undefined][]) {
            if (value === undefined || value === "" || value === defaults[key]) next.delete(key);
            else next.set(key, value);
          }
          return next;
        },
        { replace: true },
      );
    },
    [setParams],
  );
  return [values, update];
}

/** A positive integer from the URL, or `fallback`. */
export function intParam(value: string, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}
