// The task form's values, their client-side checks (the task rules of
// docs/reference/semantics.md#tasks) and
// the mapping of the server's `"<field>: <rule>"` messages onto fields.

import { ApiError, splitFieldMessage } from "../api/client";
import type { MisfirePolicy, Task, TaskInput } from "../api/types";
import { parseJsonObject, pretty } from "./json";

/** The form as typed: every field is text until it is checked. */
export interface TaskFormValues {
  name: string;
  cron_expression: string;
  timezone: string;
  parameters: string;
  execution_mode: string;
  load_balance_strategy: string;
  max_retry: string;
  timeout_seconds: string;
  misfire_policy: MisfirePolicy;
  status: "active" | "paused";
}

export type FieldErrors = Partial<Record<keyof TaskFormValues, string>>;

export const FORM_FIELDS: (keyof TaskFormValues)[] = [
  "name",
  "cron_expression",
  "timezone",
  "parameters",
  "execution_mode",
  "load_balance_strategy",
  "max_retry",
  "timeout_seconds",
  "misfire_policy",
  "status",
];

export const MAX_PARAMETERS_BYTES = 64 * 1024;

export function emptyForm(): TaskFormValues {
  return {
    name: "",
    cron_expression: "0 */5 * * * *",
    timezone: "UTC",
    parameters: "",
    execution_mode: "parallel",
    load_balance_strategy: "round_robin",
    max_retry: "3",
    timeout_seconds: "300",
    misfire_policy: "fire_once",
    status: "active",
  };
}

export function formFromTask(t: Task): TaskFormValues {
  return {
    name: t.name,
    cron_expression: t.cron_expression,
    timezone: t.timezone,
    parameters: pretty(t.parameters),
    execution_mode: t.execution_mode,
    load_balance_strategy: t.load_balance_strategy,
    max_retry: String(t.max_retry),
    timeout_seconds: String(t.timeout_seconds),
    misfire_policy: t.misfire_policy,
    status: t.status === "paused" ? "paused" : "active",
  };
}

function intIn(text: string, min: number, max: number): number | string {
  const t = text.trim();
  if (!/^-?\d+$/.test(t)) return "must be a whole number";
  const n = Number(t);
  if (n < min || n > max) return `must be between ${min} and ${max}`;
  return n;
}

/**
 * Checks the form against the API's task rules. Returns the request body, or
 * the errors by field. Cron and time zone are only checked for presence: the
 * server is the judge of those (and the preview shows its verdict).
 */
export function validateTaskForm(v: TaskFormValues): { ok: true; input: TaskInput } | { ok: false; errors: FieldErrors } {
  const errors: FieldErrors = {};
  const name = v.name.trim();
  if (!name) errors.name = "is required";
  else if ([...name].length > 255) errors.name = "must be at most 255 characters";
  const cron = v.cron_expression.trim();
  if (!cron) errors.cron_expression = "is required";
  const timezone = v.timezone.trim();
  if (!timezone) errors.timezone = "is required";

  const params = parseJsonObject(v.parameters);
  if (!params.ok) errors.parameters = params.error;
  else if (params.value && new TextEncoder().encode(JSON.stringify(params.value)).length > MAX_PARAMETERS_BYTES)
    errors.parameters = "must be at most 64 KiB serialized";

  const maxRetry = intIn(v.max_retry, 0, 100);
  if (typeof maxRetry === "string") errors.max_retry = maxRetry;
  const timeout = intIn(v.timeout_seconds, 1, 604800);
  if (typeof timeout === "string") errors.timeout_seconds = timeout;

  if (Object.keys(errors).length > 0) return { ok: false, errors };
  return {
    ok: true,
    input: {
      name,
      cron_expression: cron,
      timezone,
      parameters: params.ok ? params.value : null,
      execution_mode: v.execution_mode,
      load_balance_strategy: v.load_balance_strategy,
      max_retry: maxRetry as number,
      timeout_seconds: timeout as number,
      misfire_policy: v.misfire_policy,
      status: v.status,
    },
  };
}

/**
 * Where to show a server error: on the field its message names (`field`,
 * with the rule as the text), or above the form (`field: null`).
 */
export function placeServerError(e: unknown): { field: keyof TaskFormValues | null; message: string } {
  if (e instanceof ApiError) {
    if (e.code === "validation_failed") {
      const split = splitFieldMessage(e.message);
      if (split && (FORM_FIELDS as string[]).includes(split.field)) {
        return { field: split.field as keyof TaskFormValues, message: split.rule };
      }
    }
    if (e.code === "conflict" && /name/i.test(e.message)) {
      return { field: "name", message: e.message };
    }
    return { field: null, message: e.message };
  }
  return { field: null, message: e instanceof Error ? e.message : String(e) };
}
