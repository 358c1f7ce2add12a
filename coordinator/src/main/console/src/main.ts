import "./style.css";
import { ApiError, get, post, setToken } from "./api";
import type { Calls, CommandAnswer, Overview, Routes, Session, Sidecars, Target, Tenants } from "./api";
import { Charts } from "./charts";
import { byId, duration, fixed, h, table } from "./dom";

const REFRESH_MS = 5000;
let charts: Charts | null = null;
let timer: number | undefined;
let filters = new URLSearchParams();

function status(text: string, error = false): void {
  const element = byId("status");
  element.textContent = text;
  element.className = error ? "error" : "";
}

async function boot(): Promise<void> {
  byId<HTMLFormElement>("login").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = byId<HTMLInputElement>("token");
    setToken(input.value.trim());
    input.value = "";
    await open();
  });
  byId<HTMLFormElement>("calls-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    const form = new FormData(event.target as HTMLFormElement);
    filters = new URLSearchParams();
    for (const [name, value] of form.entries()) if (String(value).trim()) filters.set(name, String(value).trim());
    void refreshCalls();
  });
  await open();
}

/** Opens the console if the API lets this page in (no token with auth.mode: none), else asks for a token. */
async function open(): Promise<void> {
  try {
    const session = await get<Session>("session");
    byId("login").hidden = true;
    byId("console").hidden = false;
    byId("who").textContent = session.auth === "none" ? "authentication off"
      : `${session.subject} (tenant ${session.tenant})`;
    charts ??= new Charts(byId("chart-calls"), byId("chart-latency"), byId("chart-tokens"));
    await refresh();
  } catch (e) {
    byId("console").hidden = true;
    byId("login").hidden = false;
    const error = e instanceof ApiError ? e : null;
    byId("login-error").textContent = error && (error.status === 401 || error.status === 403)
      ? `Refused (${error.status}): ${error.message}` : (error && e instanceof Error ? e.message : "");
    byId<HTMLInputElement>("token").focus();
  }
}

async function refresh(): Promise<void> {
  window.clearTimeout(timer);
  try {
    await Promise.all([refreshOverview(), refreshSidecars(), refreshRoutes(), refreshTenants(), refreshCalls()]);
    status(`updated ${new Date().toLocaleTimeString()}`);
  } catch (e) {
    if (e instanceof ApiError && (e.status === 401 || e.status === 403)) {
      await open();
      return;
    }
    status(e instanceof Error ? e.message : String(e), true);
  }
  timer = window.setTimeout(() => void refresh(), REFRESH_MS);
}

async function refreshOverview(): Promise<void> {
  const o = await get<Overview>("overview");
  const figures: [string, string, string][] = [
    ["version", "Version", o.version],
    ["uptime", "Uptime", duration(o.uptime_seconds)],
    ["calls", "Calls/s", fixed(o.now.calls_per_second, 2)],
    ["errors", "Errors/s", fixed(o.now.errors_per_second, 2)],
    ["ttft-p50", "TTFT p50 (ms)", fixed(o.now.ttft_p50_ms)],
    ["ttft-p99", "TTFT p99 (ms)", fixed(o.now.ttft_p99_ms)],
    ["latency-p50", "Latency p50 (ms)", fixed(o.now.latency_p50_ms)],
    ["latency-p99", "Latency p99 (ms)", fixed(o.now.latency_p99_ms)],
    ["tokens", "Tokens/s", fixed(o.now.tokens_per_second, 1)],
    ["active", "Calls in flight", String(o.active_calls)],
    ["available", "Sidecars available", `${o.sidecars_available} of ${o.sidecars}`],
    ["route-version", "Routes version", String(o.route_version)],
  ];
  byId("overview-figures").replaceChildren(...figures.map(([key, title, value]) =>
    h("div", { "data-figure": key }, h("dt", {}, title), h("dd", {}, value))));
  charts?.update(o);
}

async function refreshSidecars(): Promise<void> {
  const data = await get<Sidecars>("sidecars");
  byId("sidecars-body").replaceChildren(...data.backends.map((backend) => h("div", { class: "backend" },
    h("h3", {}, `Backend ${backend.id}`, h("small", {}, ` queue ${backend.queue_depth}, wait p50 ${backend.queue_wait_p50_ms} ms`)),
    table(["Address", "Health", "Reason", "Ejected", "Draining", "In flight", "Calls/s", ""],
      backend.sidecars.map((s) => [
        s.addr,
        h("span", { class: s.healthy ? "ok" : "bad" }, s.healthy ? "healthy" : "unhealthy"),
        s.reason || "–",
        s.ejected ? `until ${s.ejected_until}` : "no",
        h("span", { class: s.draining ? "warn" : "" }, s.draining ? "draining" : "no"),
        s.max_inflight > 0 ? `${s.inflight} / ${s.max_inflight}` : String(s.inflight),
        fixed(s.calls_per_second, 2),
        actionButton(s.draining ? "Undrain" : "Drain", s.draining ? "sidecars/undrain" : "sidecars/drain",
          { addr: s.addr }, null),
      ]), { "data-backend": backend.id }))));
}

function targets(list: Target[]): string {
  if (list.length === 0) return "–";
  const total = list.reduce((sum, t) => sum + t.weight, 0);
  return list.map((t) => list.length > 1 ? `${t.backend}/${t.model} (${Math.round((100 * t.weight) / total)}%)`
    : `${t.backend}/${t.model}`).join(", ");
}

async function refreshRoutes(): Promise<void> {
  const r = await get<Routes>("routes");
  const previous = r.history.find((v) => v.version < r.version);
  byId("routes-body").replaceChildren(
    h("p", {}, "Active version ", h("strong", { id: "routes-version" }, String(r.version)),
      ` since ${new Date(r.created).toLocaleString()}; sticky key ${r.sticky_key}; balance `,
      Object.entries(r.balance).map(([b, p]) => `${b}: ${p}`).join(", ") || "–"),
    table(["Alias", "Targets", "Degrade", "Fallback"], r.aliases.map((a) => [
      a.alias, targets(a.targets), a.degrade.mode, targets(a.degrade.fallback),
    ]), { id: "routes-aliases" }),
    h("h3", {}, "Versions kept"),
    table(["Version", "Created", "Aliases", ""], r.history.map((v) => [
      v.active ? h("strong", {}, `${v.version} (active)`) : String(v.version),
      new Date(v.created).toLocaleString(),
      v.aliases.map((a) => `${a.alias} → ${targets(a.targets)}`).join("; "),
      v.active ? "" : actionButton(`Roll back to ${v.version}`, "routes/rollback", { version: String(v.version) },
        `Make routes version ${v.version} active again? New calls use it at once.`),
    ]), { id: "routes-history" }),
    previous ? actionButton("Roll back to the previous version", "routes/rollback", {},
      `Roll the routes back from version ${r.version} to version ${previous.version}? New calls use it at once.`,
      "rollback") : h("span", {}),
  );
}

async function refreshTenants(): Promise<void> {
  const t = await get<Tenants>("tenants");
  const used = (usage: string | undefined, limit: string | undefined) =>
    `${usage ?? "–"} / ${limit === undefined || limit === "unlimited" ? "∞" : limit}`;
  byId("tenants-body").replaceChildren(
    t.tenants.length === 0 ? h("p", {}, "No tenant has called yet.") :
      table(["Tenant", "Policy", "Requests (window / burst)", "Concurrent", "Tokens per minute", "Tokens per day",
        "Admitted", "Refusals by reason"], t.tenants.map((x) => [
        x.tenant, x.policy,
        used(x.usage.requests_in_window, x.limits.burst),
        used(x.usage.inflight, x.limits.concurrent),
        used(x.usage.tokens_in_minute_window, x.limits.tokens_per_minute),
        used(x.usage.tokens_in_day_window, x.limits.tokens_per_day),
        x.usage.admitted ?? "0",
        Object.entries(x.refusals).filter(([, n]) => n > 0).map(([reason, n]) => `${reason}: ${n}`).join(", ") || "none",
      ]), { id: "tenants-table" }),
    t.truncated ? h("p", { class: "hint" }, "More tenants than shown.") : h("span", {}));
}

async function refreshCalls(): Promise<void> {
  const query = filters.toString();
  const c = await get<Calls>(`calls${query ? `?${query}` : ""}`);
  byId("calls-source").textContent = c.source === "audit" ? "from the audit log" : "from memory (no audit database)";
  byId("calls-body").replaceChildren(c.calls.length === 0 ? h("p", {}, "No calls.") :
    table(["Ended", "Trace id", "Tenant", "Model", "Backend", "Status", "TTFT (ms)", "Duration (ms)", "Tokens"],
      c.calls.map((x) => [
        new Date(x.time).toLocaleTimeString(),
        h("code", {}, x.trace_id),
        x.tenant || "–",
        x.alias && x.alias !== x.model ? `${x.model} (${x.alias})` : x.model || "–",
        x.backend || "–",
        h("span", { class: x.status === "OK" ? "ok" : "bad", title: x.message }, x.kind === "rejected" ? `${x.status} (refused)` : x.status),
        fixed(x.ttft_ms), fixed(x.duration_ms), String(x.chunks),
      ]), { id: "calls-table" }));
}

function actionButton(label: string, path: string, body: Record<string, string>, confirmText: string | null,
                      id?: string): HTMLButtonElement {
  const button = h("button", { type: "button", ...(id ? { id } : {}) }, label);
  button.addEventListener("click", async () => {
    if (confirmText !== null && !window.confirm(confirmText)) return;
    button.disabled = true;
    try {
      const answer = await post<CommandAnswer>(path, body);
      status(answer.message);
    } catch (e) {
      status(e instanceof Error ? e.message : String(e), true);
    }
    await Promise.all([refreshSidecars(), refreshRoutes(), refreshOverview()]).catch(() => undefined);
  });
  return button;
}

void boot();
