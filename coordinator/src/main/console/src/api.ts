// The admin API, with the bearer token held in this module's memory only (never in storage or cookies).

let token = "";

export function setToken(value: string): void {
  token = value;
}

export class ApiError extends Error {
  constructor(readonly status: number, readonly code: string, message: string) {
    super(message);
  }
}

async function request<T>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (token) headers["Authorization"] = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const response = await fetch(`/admin/api/${path}`, {
    method,
    headers,
    body: body === undefined ? undefined : JSON.stringify(body),
    cache: "no-store",
    credentials: "omit",
  });
  const json = await response.json().catch(() => ({ error: "invalid_response", message: response.statusText }));
  if (!response.ok) throw new ApiError(response.status, json.error ?? "error", json.message ?? response.statusText);
  return json as T;
}

export const get = <T>(path: string) => request<T>("GET", path);
export const post = <T>(path: string, body: unknown) => request<T>("POST", path, body);

export interface Session { auth: "required" | "none"; subject?: string; tenant?: string; roles?: string[] }

export interface Overview {
  version: string; started_at: string; uptime_seconds: number; interval_seconds: number;
  active_calls: number; sidecars: number; sidecars_available: number; route_version: number;
  now: Record<string, number | null>;
  series: Record<string, (number | null)[]>;
}

export interface SidecarInfo {
  addr: string; healthy: boolean; reason: string; ejected: boolean; ejected_until: string; draining: boolean;
  inflight: number; max_inflight: number; calls_per_second: number;
}
export interface Backend { id: string; queue_depth: number; queue_wait_p50_ms: number; sidecars: SidecarInfo[] }
export interface Sidecars { backends: Backend[] }

export interface Target { backend: string; model: string; weight: number }
export interface Alias { alias: string; targets: Target[]; degrade: { mode: string; fallback: Target[] } }
export interface RouteVersion { version: number; created: string; active: boolean; aliases: Alias[] }
export interface Routes {
  version: number; created: string; sticky_key: string; aliases: Alias[]; balance: Record<string, string>;
  history: RouteVersion[];
}

export interface Tenant {
  tenant: string; policy: string; limits: Record<string, string>; usage: Record<string, string>;
  refusals: Record<string, number>;
}
export interface Tenants { truncated: boolean; tenants: Tenant[] }

export interface Call {
  time: string; trace_id: string; kind: string; api: string; tenant: string; model: string; alias: string;
  backend: string; sidecar: string; status: string; message: string; duration_ms: number | null;
  ttft_ms: number | null; chunks: number;
}
export interface Calls { source: string; calls: Call[] }

export interface CommandAnswer { command: string; status: string; message: string; trace_id: string; payload: Record<string, string> }
