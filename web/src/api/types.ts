// JSON shapes of the REST API (docs/reference/api.md). Timestamps are RFC 3339
// strings in UTC with milliseconds, e.g. "2026-11-24T10:00:00.000Z".

export type Timestamp = string;
export type JsonObject = Record<string, unknown>;

export const TASK_STATUSES = ["active", "paused", "deleted"] as const;
export type TaskStatus = (typeof TASK_STATUSES)[number];

export const EXECUTION_MODES = ["parallel", "sequential", "skip"] as const;
export const STRATEGIES = [
  "round_robin",
  "weighted_round_robin",
  "random",
  "sticky",
  "least_loaded",
] as const;
export const MISFIRE_POLICIES = ["fire_once", "skip"] as const;
export type MisfirePolicy = (typeof MISFIRE_POLICIES)[number];

export const EXECUTOR_STATUSES = ["online", "offline", "maintenance"] as const;
export type ExecutorStatus = (typeof EXECUTOR_STATUSES)[number];

export const EXECUTION_STATUSES = [
  "pending",
  "running",
  "success",
  "failed",
  "timeout",
  "skipped",
  "cancelled",
] as const;
export type ExecutionStatus = (typeof EXECUTION_STATUSES)[number];

/** Statuses an execution can still leave (and so can be stopped). */
export function isLive(status: ExecutionStatus): boolean {
  return status === "pending" || status === "running";
}

export interface Page<T> {
  items: T[];
  total: number;
  page: number;
  page_size: number;
}

/**
 * A page of GET /executions: asked by `page` or by the previous page's
 * `next_cursor`. Past 10 000 matches the server stops counting: `total` is
 * then 10 000 and `total_is_lower_bound` is true.
 */
export interface ExecutionPage {
  items: ExecutionSummary[];
  total: number;
  total_is_lower_bound: boolean;
  /** Null when the page was asked by cursor. */
  page: number | null;
  page_size: number;
  /** The `cursor` of the next page; null on the last page. */
  next_cursor: string | null;
}

export interface Task {
  id: string;
  name: string;
  cron_expression: string;
  timezone: string;
  parameters: JsonObject | null;
  /** A built-in mode or one registered by the embedding program. */
  execution_mode: string;
  /** A built-in strategy or one registered by the embedding program. */
  load_balance_strategy: string;
  max_retry: number;
  timeout_seconds: number;
  misfire_policy: MisfirePolicy;
  status: TaskStatus;
  next_run_time: Timestamp | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

/** Body of POST /tasks and PUT /tasks/{id} (PUT: only the fields given change). */
export interface TaskInput {
  name: string;
  cron_expression: string;
  timezone: string;
  parameters: JsonObject | null;
  execution_mode: string;
  load_balance_strategy: string;
  max_retry: number;
  timeout_seconds: number;
  misfire_policy: MisfirePolicy;
  status?: "active" | "paused";
}

export interface Assignment {
  executor_id: string;
  weight: number;
  priority: number;
}

export interface Executor {
  id: string;
  name: string;
  instance_id: string;
  base_url: string;
  health_check_url: string | null;
  status: ExecutorStatus;
  is_healthy: boolean;
  last_health_check: Timestamp | null;
  health_check_failures: number;
  metadata: JsonObject | null;
  created_at: Timestamp;
  updated_at: Timestamp;
}

export interface Execution {
  id: string;
  task_id: string;
  executor_id: string | null;
  trigger_type: "schedule" | "manual" | "retry";
  scheduled_time: Timestamp;
  start_time: Timestamp | null;
  end_time: Timestamp | null;
  status: ExecutionStatus;
  parameters: unknown;
  result: unknown;
  logs: string | null;
  retry_count: number;
  created_at: Timestamp;
}

/** An execution as GET /executions lists it: `logs` and `result` only come with GET /executions/{id}. */
export type ExecutionSummary = Omit<Execution, "logs" | "result"> & { logs: null; result: null };

export interface WindowStats {
  total: number;
  success: number;
  failed: number;
  timeout: number;
  skipped: number;
  cancelled: number;
  success_rate: number | null;
  timeout_rate: number | null;
  avg_duration_ms: number | null;
}

export interface DailyStats {
  date: string;
  total: number;
  success: number;
  failed: number;
  timeout: number;
  success_rate: number | null;
}

export interface TaskStats {
  "24h": WindowStats;
  "7d": WindowStats;
  "90d": WindowStats;
  health_score: number | null;
  daily: DailyStats[];
}

export interface Instance {
  instance_id: string;
  hostname?: string;
  is_leader: boolean;
  alive?: boolean;
  started_at?: Timestamp;
  last_heartbeat?: Timestamp;
}

export interface SystemStatus {
  scheduler: { instance_id: string; leader: boolean; instances: Instance[] };
  executors: {
    total: number;
    online: number;
    offline: number;
    maintenance: number;
    healthy: number;
    unhealthy: number;
  };
  tasks: { active: number; paused: number };
  executions: { pending: number; running: number };
}

/** The events an alert can be about. */
export type AlertEvent =
  | "execution_failed"
  | "execution_timeout"
  | "executor_unhealthy"
  | "executor_recovered"
  | "leader_changed"
  | "misfire";

/** One alert of GET /alerts: an event sent (or being sent) to a webhook. */
export interface Alert {
  id: string;
  event: AlertEvent;
  at: Timestamp;
  subject: {
    task_id?: string;
    task_name?: string;
    execution_id?: string;
    executor_id?: string;
    instance_id?: string;
  };
  message: string;
  suppressed: number;
  delivered: boolean;
  attempts: number;
}
