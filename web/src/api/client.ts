// The one place that talks HTTP: base path, bearer token, error body.

export const API_BASE = "/api/v1";
const TOKEN_KEY = "scheduler.token";

/** An error answered by the API (`{"error":{"code","message"}}`) or a network failure. */
export class ApiError extends Error {
  constructor(
    /** HTTP status; 0 when the server could not be reached. */
    readonly status: number,
    /** The API's snake_case error code (docs/reference/api.md#errors), e.g. `validation_failed`. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = "ApiError";
  }

  /** For `validation_failed`, the field named by a `"<field>: <rule>"` message. */
  get field(): string | null {
    return this.code === "validation_failed" ? splitFieldMessage(this.message)?.field ?? null : null;
  }
}

/**
 * Splits a `validation_failed` message `"<field>: <rule>"` into its parts;
 * `null` when the message does not start with a field name.
 */
export function splitFieldMessage(message: string): { field: string; rule: string } | null {
  const m = /^([A-Za-z_][A-Za-z0-9_]*)(?:[.[][^:]*)?:\s*(.+)$/s.exec(message);
  if (!m || !m[1] || !m[2]) return null;
  return { field: m[1], rule: m[2] };
}

// ---- token (kept for the browser session only) -------------------------------

export function getToken(): string | null {
  try {
    return sessionStorage.getItem(TOKEN_KEY);
  } catch {
    return null;
  }
}

export function setToken(token: string): void {
  sessionStorage.setItem(TOKEN_KEY, token);
}

export function clearToken(): void {
  sessionStorage.removeItem(TOKEN_KEY);
}

type UnauthorizedListener = () => void;
const unauthorizedListeners = new Set<UnauthorizedListener>();

/** Calls `listener` whenever a request is answered 401; returns the unsubscribe function. */
export function onUnauthorized(listener: UnauthorizedListener): () => void {
  unauthorizedListeners.add(listener);
  return () => unauthorizedListeners.delete(listener);
}

// ---- requests ----------------------------------------------------------------

export type Query = Record<string, string | number | boolean | null | undefined>;

/** `?a=1&b=x`, leaving out empty values (the server rejects unknown or empty filters). */
export function queryString(query: Query | undefined): string {
  if (!query) return "";
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined || value === null || value === "") continue;
    params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : "";
}

export interface RequestOptions {
  query?: Query;
  body?: unknown;
  signal?: AbortSignal;
  /** Token to send instead of the stored one (sign-in checks a token before keeping it). */
  token?: string;
}

export async function request<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  const token = options.token ?? getToken();
  if (token) headers.Authorization = `Bearer ${token}`;
  let body: string | undefined;
  // Every state-changing request says it is JSON, even with no body: a server
  // running without authentication refuses it otherwise (a cross-site page
  // cannot send that header without the server's consent).
  if (options.body !== undefined || (method !== "GET" && method !== "HEAD")) {
    headers["Content-Type"] = "application/json";
  }
  if (options.body !== undefined) {
    body = JSON.stringify(options.body);
  }

  let response: Response;
  try {
    response = await fetch(API_BASE + path + queryString(options.query), {
      method,
      headers,
      body,
      signal: options.signal,
      cache: "no-store",
    });
  } catch (e) {
    if (e instanceof DOMException && e.name === "AbortError") throw e;
    throw new ApiError(0, "network", "Cannot reach the scheduler server. Is it running?");
  }

  if (response.status === 401 && options.token === undefined) {
    unauthorizedListeners.forEach((l) => l());
  }
  if (response.status === 204) return undefined as T;

  const text = await response.text();
  let json: unknown = undefined;
  if (text) {
    try {
      json = JSON.parse(text);
    } catch {
      json = undefined;
    }
  }
  if (!response.ok) {
    const err = (json as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
    const code = typeof err?.code === "string" ? err.code : `http_${response.status}`;
    const message =
      typeof err?.message === "string" ? err.message : `${response.status} ${response.statusText || "error"}`.trim();
    throw new ApiError(response.status, code, message);
  }
  if (json === undefined) {
    throw new ApiError(response.status, "bad_response", "The server answered with something that is not JSON.");
  }
  return json as T;
}
