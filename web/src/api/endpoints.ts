// One function per API operation used by the dashboard.

import { request, type RequestOptions } from "./client";
import type {
  Assignment,
  Execution,
  ExecutionPage,
  ExecutionStatus,
  Executor,
  ExecutorStatus,
  JsonObject,
  Page,
  SystemStatus,
  Task,
  TaskInput,
  TaskStats,
  TaskStatus,
} from "./types";

type Opts = Pick<RequestOptions, "signal">;
const enc = encodeURIComponent;

export interface TaskFilter {
  status?: TaskStatus | "";
  name?: string;
  page?: number;
  page_size?: number;
}

export interface ExecutorFilter {
  status?: ExecutorStatus | "";
  name?: string;
  healthy?: "true" | "false" | "";
  page?: number;
  page_size?: number;
}

export interface ExecutionFilter {
  task_id?: string;
  executor_id?: string;
  status?: ExecutionStatus | "";
  from?: string;
  to?: string;
  /** The previous page's `next_cursor`; absent for the first page. */
  cursor?: string;
  page_size?: number;
}

export const api = {
  systemStatus: (o?: Opts) => request<SystemStatus>("GET", "/system/status", o),
  schedulePreview: (cron_expression: string, timezone: string, o?: Opts) =>
    request<{ items: string[] }>("GET", "/schedule/preview", {
      ...o,
      query: { cron_expression, timezone, count: 5 },
    }),

  listTasks: (f: TaskFilter, o?: Opts) => request<Page<Task>>("GET", "/tasks", { ...o, query: { ...f } }),
  getTask: (id: string, o?: Opts) => request<Task>("GET", `/tasks/${enc(id)}`, o),
  createTask: (t: TaskInput) => request<Task>("POST", "/tasks", { body: t }),
  updateTask: (id: string, t: Partial<TaskInput>) => request<Task>("PUT", `/tasks/${enc(id)}`, { body: t }),
  deleteTask: (id: string) => request<void>("DELETE", `/tasks/${enc(id)}`),
  pauseTask: (id: string) => request<Task>("POST", `/tasks/${enc(id)}/pause`),
  resumeTask: (id: string) => request<Task>("POST", `/tasks/${enc(id)}/resume`),
  triggerTask: (id: string, parameters?: JsonObject) =>
    request<Execution>("POST", `/tasks/${enc(id)}/trigger`, { body: parameters ? { parameters } : {} }),
  taskStats: (id: string, o?: Opts) => request<TaskStats>("GET", `/tasks/${enc(id)}/stats`, o),
  taskExecutors: (id: string, o?: Opts) =>
    request<{ items: Assignment[] }>("GET", `/tasks/${enc(id)}/executors`, o),
  setTaskExecutors: (id: string, executors: Assignment[]) =>
    request<{ items: Assignment[] }>("PUT", `/tasks/${enc(id)}/executors`, { body: { executors } }),

  listExecutors: (f: ExecutorFilter, o?: Opts) =>
    request<Page<Executor>>("GET", "/executors", { ...o, query: { ...f } }),
  getExecutor: (id: string, o?: Opts) => request<Executor>("GET", `/executors/${enc(id)}`, o),
  setExecutorStatus: (id: string, status: ExecutorStatus, reason: string) =>
    request<Executor>("PUT", `/executors/${enc(id)}/status`, { body: { status, reason } }),

  listExecutions: (f: ExecutionFilter, o?: Opts) =>
    request<ExecutionPage>("GET", "/executions", { ...o, query: { ...f } }),
  getExecution: (id: string, o?: Opts) => request<Execution>("GET", `/executions/${enc(id)}`, o),
  stopExecution: (id: string) => request<Execution>("POST", `/executions/${enc(id)}/stop`),
};
