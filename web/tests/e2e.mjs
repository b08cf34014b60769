// Browser tests of the dashboard against real scheduler-server processes.
// Started by tests/run.sh, which builds and starts the servers and passes:
//   SCHEDULER_URL       an open server (in-memory store), e.g. http://127.0.0.1:41234
//   SCHEDULER_INSTANCE  its --instance-id
//   AUTH_SCHEDULER_URL  a server with auth.jwt_secret set
//   AUTH_TOKEN          a token minted for it
//   CHROMIUM            the browser binary (default /usr/bin/chromium)
//   ARTIFACTS           where screenshots go (default tests/artifacts)
// Prints one line per test and, last, "N passed, M failed"; exits 1 on any failure.

import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";
import { startFakeExecutor } from "./lib/fake-executor.mjs";
import { startStaticProxy } from "./lib/static-proxy.mjs";

const here = path.dirname(fileURLToPath(import.meta.url));
const DIST = path.resolve(here, "../../scheduler-server/dashboard");
const ARTIFACTS = path.resolve(process.env.ARTIFACTS ?? path.join(here, "artifacts"));
const SERVER = required("SCHEDULER_URL");
const INSTANCE = process.env.SCHEDULER_INSTANCE ?? "";
const AUTH_SERVER = required("AUTH_SCHEDULER_URL");
const AUTH_TOKEN = required("AUTH_TOKEN");
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const WAIT = 20_000;

function required(name) {
  const v = process.env[name];
  if (!v) {
    console.error(`e2e: ${name} is not set (run tests/run.sh)`);
    process.exit(2);
  }
  return v.replace(/\/$/, "");
}

// ---- tiny harness --------------------------------------------------------------

const results = [];
const pageErrors = [];
let page;

async function test(name, fn) {
  const started = Date.now();
  try {
    await fn();
    results.push({ name, ok: true });
    console.log(`ok   ${name} (${((Date.now() - started) / 1000).toFixed(1)} s)`);
  } catch (e) {
    results.push({ name, ok: false });
    console.log(`FAIL ${name}\n     ${String(e?.stack ?? e).split("\n").slice(0, 4).join("\n     ")}`);
    if (page) {
      const file = `failed-${results.length}-${name.replace(/[^a-z0-9]+/gi, "-").toLowerCase()}.png`;
      await page.screenshot({ path: path.join(ARTIFACTS, file), fullPage: true }).catch(() => undefined);
      console.log(`     screenshot: ${path.join(ARTIFACTS, file)}`);
    }
  }
}

function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

async function waitFor(what, fn, timeout = WAIT) {
  const deadline = Date.now() + timeout;
  let last;
  for (;;) {
    try {
      const v = await fn();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}${last ? `: ${last.message}` : ""}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

async function waitText(locator, pattern, what) {
  return waitFor(what ?? `text ${pattern}`, async () => {
    const t = (await locator.first().textContent({ timeout: 1000 })) ?? "";
    return pattern.test(t) ? t : false;
  });
}

async function shot(name, fullPage = true) {
  await page.waitForTimeout(150);
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage });
}

async function api(base, method, p, body, token) {
  const headers = { Accept: "application/json" };
  // A server without authentication wants JSON declared on every state change.
  if (body !== undefined || method !== "GET") headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = `Bearer ${token}`;
  const r = await fetch(`${base}/api/v1${p}`, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  const text = await r.text();
  const json = text ? JSON.parse(text) : undefined;
  if (!r.ok) throw new Error(`${method} ${p}: ${r.status} ${text}`);
  return json;
}

/** The dashboard's address for a server: the server itself once it serves the SPA, else a local stand-in. */
async function uiFor(server) {
  try {
    const r = await fetch(`${server}/`);
    const html = await r.text();
    if (r.ok && html.includes('id="root"')) return { url: server, close: async () => undefined, served: "server" };
  } catch {
    // fall through
  }
  if (process.env.CI) throw new Error(`${server}/ does not serve the dashboard (CI requires the server itself to)`);
  const proxy = await startStaticProxy(DIST, server);
  return { ...proxy, served: "static proxy" };
}

// ---- the run ---------------------------------------------------------------------

fs.mkdirSync(ARTIFACTS, { recursive: true });
const instant = await startFakeExecutor("instant");
const callback = await startFakeExecutor("callback");
const hold = await startFakeExecutor("hold");
const ui = await uiFor(SERVER);
const authUi = await uiFor(AUTH_SERVER);
console.log(`dashboard: ${ui.url} (${ui.served}); auth dashboard: ${authUi.url} (${authUi.served})`);

const browser = await chromium.launch({
  executablePath: CHROMIUM,
  headless: true,
  args: [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
  ],
});
const context = await browser.newContext({ viewport: { width: 1440, height: 900 }, timezoneId: "Europe/Paris" });
page = await context.newPage();
page.on("pageerror", (e) => pageErrors.push(String(e)));
page.setDefaultTimeout(WAIT);

const ex = {};
const ids = {};

try {
  await test("register three fake executors through the API", async () => {
    for (const [key, fake] of [
      ["instant", instant],
      ["callback", callback],
      ["hold", hold],
    ]) {
      const e = await api(SERVER, "POST", "/executors/register", {
        name: `${key}-worker`,
        instance_id: `${key}-1`,
        base_url: fake.url,
        metadata: { fake: true, mode: key },
      });
      ex[key] = e;
    }
    assert(Object.keys(ex).length === 3, "three executors");
  });

  await test("dashboard shows the leader, instances and live counts", async () => {
    await page.goto(`${ui.url}/`);
    const leader = await waitText(page.getByTestId("leader"), /\S/, "a leader");
    if (INSTANCE) assert(leader.includes(INSTANCE), `leader is ${INSTANCE}, got ${leader}`);
    await waitText(page.getByTestId("stat-online"), /^3/, "3 executors online");
    await page.getByTestId("instances").waitFor();
    await page.getByTestId("updated-at").waitFor();
    await shot("dashboard-empty");
  });

  await test("task form: errors next to fields (client and server) and the next-runs preview", async () => {
    await page.getByRole("link", { name: "Tasks", exact: true }).click();
    await page.getByText("No tasks yet").waitFor();
    await shot("tasks-empty");
    await page.getByRole("link", { name: "+ New task" }).click();
    await page.getByTestId("task-form").waitFor();
    await page.getByLabel("Name", { exact: true }).fill("every-second");
    await page.getByLabel("Initial status").selectOption("paused");
    await page.getByLabel("Cron expression").fill("every now and then");
    await waitText(page.getByTestId("preview-error"), /cron_expression/, "the preview's error");
    await page.getByLabel("Max retries").fill("500");
    await page.getByLabel("Parameters (JSON object)").fill("[1, 2]");
    await page.getByRole("button", { name: "Create task" }).click();
    await waitText(page.getByTestId("error-max_retry"), /between 0 and 100/, "the max_retry error");
    await waitText(page.getByTestId("error-parameters"), /JSON object/, "the parameters error");
    // Fixed on the client; the cron is left for the server to refuse.
    await page.getByLabel("Max retries").fill("2");
    await page.getByLabel("Parameters (JSON object)").fill('{"greeting": "hello"}');
    await page.getByRole("button", { name: "Create task" }).click();
    await waitText(page.getByTestId("error-cron_expression"), /\S/, "the server's cron error on the field");
    await shot("task-form-errors");
    await page.getByLabel("Cron expression").fill("* * * * * *");
    await page.getByLabel("Time zone").fill("Europe/Paris");
    await waitFor("five preview times", async () => (await page.getByTestId("preview-list").locator("li").count()) === 5);
    // The browser runs in Europe/Paris: the text is Paris time, the tooltip UTC.
    const first = page.getByTestId("preview-list").locator("time").first();
    const title = (await first.getAttribute("title")) ?? "";
    const shown = (await first.textContent()) ?? "";
    const utc = /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d)\.\d{3} UTC$/.exec(title);
    assert(utc, `UTC time in the title attribute, got ${title}`);
    const paris = new Intl.DateTimeFormat("sv-SE", {
      timeZone: "Europe/Paris",
      year: "numeric",
      month: "2-digit",
      day: "2-digit",
      hour: "2-digit",
      minute: "2-digit",
      second: "2-digit",
    }).format(new Date(`${utc[1]}T${utc[2]}Z`));
    assert(shown === paris, `local time shown: expected ${paris}, got ${shown}`);
    await shot("task-form");
    await page.getByRole("button", { name: "Create task" }).click();
    await page.waitForURL((u) => /^\/tasks\/[^/]+$/.test(u.pathname) && u.pathname !== "/tasks/new");
    ids.everySecond = decodeURIComponent(page.url().split("/").pop());
    const t = await api(SERVER, "GET", `/tasks/${ids.everySecond}`);
    assert(t.status === "paused" && t.max_retry === 2 && t.parameters.greeting === "hello", "task saved as typed");
  });

  await test("assign an executor with weight and priority", async () => {
    await page.getByRole("button", { name: "Edit assignment" }).click();
    await page.getByRole("button", { name: "+ Add executor" }).click();
    const editor = page.getByTestId("assignments-editor");
    await editor.getByLabel("Executor").selectOption(ex.instant.id);
    await editor.getByLabel("Weight").fill("0");
    await page.getByRole("button", { name: "Save assignment" }).click();
    await waitText(editor, /1 to 1000/, "the weight error");
    await editor.getByLabel("Weight").fill("5");
    await editor.getByLabel("Priority").fill("1");
    await page.getByRole("button", { name: "Save assignment" }).click();
    await waitText(page.getByTestId("assignments-table"), /instant-worker/, "the assigned executor");
    const a = await api(SERVER, "GET", `/tasks/${ids.everySecond}/executors`);
    assert(a.items.length === 1 && a.items[0].weight === 5 && a.items[0].priority === 1, JSON.stringify(a));
  });

  await test("resume: executions appear every second and succeed", async () => {
    await page.getByRole("button", { name: "Resume", exact: true }).click();
    await waitText(page.locator("h1 [data-status]"), /active/, "status active");
    await waitFor("3 successful executions in the table", async () => {
      return (await page.getByTestId("task-executions").locator('[data-status="success"]').count()) >= 3;
    });
    await shot("task-detail");
  });

  await test("stats: three windows, health score and the daily trend chart", async () => {
    await waitFor("24h success count > 0", async () => {
      const cell = page.locator('[data-window="24h"][data-metric="Success"]');
      return Number(await cell.textContent()) > 0;
    });
    await waitText(page.getByTestId("health-score"), /\d+\s*Health score/, "a health score");
    await page.getByTestId("trend-chart").locator("canvas").waitFor();
    for (const w of ["24h", "7d", "90d"]) {
      await page.locator(`[data-window="${w}"][data-metric="Success rate"]`).waitFor();
    }
    await page.getByTestId("stats").scrollIntoViewIfNeeded();
    await shot("task-stats");
  });

  await test("pause the task, then list tasks with status and name filters", async () => {
    await page.getByRole("button", { name: "Pause", exact: true }).click();
    await waitText(page.locator("h1 [data-status]"), /paused/, "status paused");
    await page.goto(`${ui.url}/tasks?status=paused`);
    await page.getByTestId("task-row-every-second").waitFor();
    await shot("tasks");
    await page.getByLabel("Name contains").fill("no-such-task");
    await page.getByText("No task matches these filters").waitFor();
    await page.getByLabel("Name contains").fill("every");
    await page.getByTestId("task-row-every-second").waitFor();
    await page.getByLabel("Status").selectOption("active");
    await page.getByText("No task matches these filters").waitFor();
  });

  await test("trigger with a parameter override; JSON is checked before sending", async () => {
    const t = await api(SERVER, "POST", "/tasks", {
      name: "hold-task",
      cron_expression: "0 0 0 1 1 *",
      parameters: { base: true, x: 1 },
      timeout_seconds: 3600,
      status: "paused",
      executors: [{ executor_id: ex.hold.id, weight: 1, priority: 0 }],
    });
    ids.hold = t.id;
    await page.goto(`${ui.url}/tasks/${t.id}`);
    await page.getByRole("button", { name: "Trigger…" }).click();
    const box = page.getByLabel("Parameters (JSON object)");
    await box.fill('{"x": 42,');
    await waitText(page.getByTestId("error-trigger-parameters"), /not valid JSON/, "the JSON error");
    await shot("trigger-dialog", false);
    assert(await page.getByRole("button", { name: "Trigger", exact: true }).isDisabled(), "Trigger disabled on bad JSON");
    await box.fill('{"x": 42}');
    await page.getByRole("button", { name: "Trigger", exact: true }).click();
    await page.getByRole("dialog").waitFor({ state: "detached" });
    await waitFor("the running execution", async () => {
      return (await page.getByTestId("task-executions").locator('[data-status="running"]').count()) === 1;
    });
    const got = hold.state.executed.at(-1);
    assert(got && got.parameters.x === 42 && got.parameters.base === true, `merged parameters: ${JSON.stringify(got?.parameters)}`);
    ids.holdExecution = got.execution_id;
  });

  await test("executions list: filters by task, status and time range", async () => {
    await page.goto(`${ui.url}/executions`);
    await page.getByTestId("executions-table").waitFor();
    await page.getByLabel("Task").selectOption(ids.hold);
    await page.getByTestId(`execution-row-${ids.holdExecution}`).waitFor();
    await page.getByLabel("Status").selectOption("running");
    await page.getByTestId(`execution-row-${ids.holdExecution}`).waitFor();
    await shot("executions");
    await page.getByLabel("Scheduled from (local time)").fill("2099-01-01T00:00");
    await page.getByText("No execution matches these filters").waitFor();
    // Typed in Paris time, sent as UTC.
    const from = new URL(page.url()).searchParams.get("from");
    assert(from === "2098-12-31T23:00:00.000Z", `from in the URL as UTC: ${page.url()}`);
    await page.getByRole("button", { name: "Clear filters" }).click();
    await page.getByTestId("executions-table").waitFor();
  });

  await test("stop a running execution from its page", async () => {
    await page.goto(`${ui.url}/executions/${ids.holdExecution}`);
    await waitText(page.locator("h1 [data-status]"), /running/, "running");
    await waitText(page.getByTestId("execution-parameters"), /"x": 42/, "the parameters");
    await shot("execution-running");
    await page.getByRole("button", { name: "Stop", exact: true }).click();
    await page.getByRole("button", { name: "Stop execution" }).click();
    await waitText(page.locator("h1 [data-status]"), /cancelled/, "cancelled");
    await waitFor("the executor asked to stop", async () => hold.state.stopped.includes(ids.holdExecution), 10_000);
  });

  await test("an executor's callback finishes an execution; a failure shows on the dashboard", async () => {
    const cb = await api(SERVER, "POST", "/tasks", {
      name: "callback-task",
      cron_expression: "0 0 0 1 1 *",
      status: "paused",
      executors: [{ executor_id: ex.callback.id, weight: 1, priority: 0 }],
    });
    const e = await api(SERVER, "POST", `/tasks/${cb.id}/trigger`, {});
    await page.goto(`${ui.url}/executions/${e.id}`);
    await waitText(page.locator("h1 [data-status]"), /success/, "success by callback");
    await waitText(page.getByTestId("execution-result"), /"via": "callback"/, "the callback's result");
    await shot("execution-detail");
    const failing = await api(SERVER, "POST", "/tasks", {
      name: "failing-task",
      cron_expression: "0 0 0 1 1 *",
      status: "paused",
      max_retry: 0,
      executors: [{ executor_id: ex.instant.id, weight: 1, priority: 0 }],
    });
    await api(SERVER, "POST", `/tasks/${failing.id}/trigger`, { parameters: { fail: true } });
    await page.goto(`${ui.url}/`);
    await waitText(page.getByTestId("recent-failures"), /failing-task/, "the failure on the dashboard");
    // The list has no logs; the row fetches the execution for its last line.
    await waitText(page.getByTestId("recent-failures"), /asked to fail/, "the failure's last log line");
    await shot("dashboard");
  });

  await test("executions list: Next and Previous walk the pages by cursor", async () => {
    const t = await api(SERVER, "POST", "/tasks", {
      name: "paging-task",
      cron_expression: "0 0 0 1 1 *",
      status: "paused",
      execution_mode: "parallel",
      executors: [{ executor_id: ex.instant.id, weight: 1, priority: 0 }],
    });
    ids.paging = t.id;
    for (let i = 0; i < 45; i++) await api(SERVER, "POST", `/tasks/${t.id}/trigger`, {});
    const asked = [];
    const onRequest = (r) => {
      const u = new URL(r.url());
      if (u.pathname === "/api/v1/executions") asked.push(u.searchParams);
    };
    page.on("request", onRequest);
    try {
      await page.goto(`${ui.url}/executions?task_id=${encodeURIComponent(t.id)}`);
      const range = page.getByTestId("pagination-range");
      const previous = page.getByRole("button", { name: "‹ Previous" });
      const next = page.getByRole("button", { name: "Next ›" });
      const rowIds = async () =>
        page
          .getByTestId("executions-table")
          .locator("tbody tr")
          .evaluateAll((rows) => rows.map((r) => r.getAttribute("data-testid")));

      await waitText(range, /^1–20 of 45$/, "page 1 of 45");
      assert(await previous.isDisabled(), "Previous disabled on the first page");
      const page1 = await rowIds();
      assert(page1.length === 20, `20 rows, got ${page1.length}`);

      await next.click();
      await waitText(range, /^21–40 of 45$/, "page 2");
      await waitText(page.getByTestId("pagination-page"), /^Page 2 of 3$/, "Page 2 of 3");
      const page2 = await rowIds();
      assert(page2.length === 20 && page2.every((r) => !page1.includes(r)), "page 2 has other rows than page 1");
      const byCursor = asked.at(-1);
      assert(byCursor.get("cursor") && !byCursor.has("page"), `page 2 asked by cursor: ${byCursor}`);

      await next.click();
      await waitText(range, /^41–45 of 45$/, "the last page");
      const page3 = await rowIds();
      assert(page3.length === 5 && page3.every((r) => !page1.includes(r) && !page2.includes(r)), "5 new rows");
      assert(await next.isDisabled(), "Next disabled on the last page");
      await shot("executions-last-page");

      await previous.click();
      await waitText(range, /^21–40 of 45$/, "back on page 2");
      assert(JSON.stringify(await rowIds()) === JSON.stringify(page2), "page 2 again, the same rows");
      // Every state the list passes through on the way back is recorded: page
      // 2's rows must never show under page 1's range while page 1 loads.
      await page.evaluate(() => {
        const seen = [];
        const observer = new MutationObserver(() => {
          const range = document.querySelector('[data-testid="pagination-range"]');
          const rows = document.querySelectorAll('[data-testid="executions-table"] tbody tr');
          seen.push({ range: range ? range.textContent : null, rows: [...rows].map((r) => r.getAttribute("data-testid")) });
        });
        observer.observe(document.body, { subtree: true, childList: true, characterData: true });
        window.__pagingSeen = { seen, observer };
      });
      await previous.click();
      await waitText(range, /^1–20 of 45$/, "back on page 1");
      const states = await page.evaluate(() => {
        window.__pagingSeen.observer.disconnect();
        return window.__pagingSeen.seen;
      });
      const stale = states.filter((s) => s.range === "1–20 of 45" && s.rows.some((r) => page2.includes(r)));
      assert(stale.length === 0, `page 2's rows shown under page 1's range: ${JSON.stringify(stale[0])}`);
      assert(JSON.stringify(await rowIds()) === JSON.stringify(page1), "page 1 again, the same rows");
      assert(!asked.at(-1).has("cursor"), "the first page is asked without a cursor");

      // Another filter starts again from the first page.
      await next.click();
      await waitText(range, /^21–40 of 45$/, "page 2 before filtering");
      await page.getByLabel("Rows").selectOption("50");
      await waitText(range, /^1–45 of 45$/, "all 45 on one page of 50");
      assert(await next.isDisabled() && (await previous.isDisabled()), "a single page");
    } finally {
      page.off("request", onRequest);
    }
  });

  await test("executions list: a total the server stopped counting shows as 10,000+", async () => {
    // Interception, for this case only: 10 001 executions are too many to make
    // in a browser test. The answer is the server's own, with just the two
    // count fields set the way the server sets them past 10 000 matches.
    const pattern = "**/api/v1/executions?**";
    await page.route(pattern, async (route) => {
      const response = await route.fetch();
      const body = await response.json();
      await route.fulfill({ response, json: { ...body, total: 10_000, total_is_lower_bound: true } });
    });
    try {
      await page.goto(`${ui.url}/executions?task_id=${encodeURIComponent(ids.paging)}`);
      await waitText(page.getByTestId("pagination-range"), /^1–20 of 10,000\+$/, "1–20 of 10,000+");
      await waitText(page.getByTestId("pagination-page"), /^Page 1 of 500\+$/, "Page 1 of 500+");
      await shot("executions-capped-total", false);
    } finally {
      await page.unroute(pattern);
    }
    await waitText(page.getByTestId("pagination-range"), /^1–20 of 45$/, "the exact total again");
  });

  await test("recent alerts: the failure and the leader's start, undelivered, newest first", async () => {
    // The open server's webhook points at a closed port: alerts stay undelivered.
    const list = await waitFor("the failure's alert in GET /alerts", async () => {
      const l = await api(SERVER, "GET", "/alerts?page_size=50");
      return l.items.some((a) => a.event === "execution_failed" && a.subject.task_name === "failing-task") ? l : null;
    });
    const newest = list.items[0];
    if (list.items.some((a) => a.delivered)) throw new Error("an alert to a closed port was delivered");
    await page.goto(`${ui.url}/`);
    const panel = page.getByTestId("recent-alerts");
    await waitText(panel, /execution failed/, "the failure alert on the dashboard");
    await waitText(panel, /failing-task/, "its message naming the task");
    await waitText(panel, /leader changed/, "the leader's start");
    await waitText(panel.locator(`tr[data-alert-id="${newest.id}"]`), /not yet/, "the newest alert, undelivered");
    await shot("dashboard-alerts");
  });

  await test("executors: filters, and a status change with a reason", async () => {
    await page.goto(`${ui.url}/executors`);
    await page.getByTestId("executor-row-callback-1").waitFor();
    await page.getByLabel("Health").selectOption("false");
    await page.getByText("No executor matches these filters").waitFor();
    await page.getByLabel("Health").selectOption("");
    await page.getByTestId("executor-row-callback-1").waitFor();
    await shot("executors");
    await page.getByTestId("executor-row-callback-1").getByRole("button", { name: "Change status…" }).click();
    await page.locator('input[name="executor-status"][value="maintenance"]').check();
    await page.getByLabel("Reason").fill("kernel upgrade");
    await page.getByRole("button", { name: "Change status", exact: true }).click();
    await waitText(page.getByTestId("executor-row-callback-1").locator("[data-status]").first(), /maintenance/, "maintenance");
    const got = await api(SERVER, "GET", `/executors/${ex.callback.id}`);
    assert(got.status === "maintenance", `status is ${got.status}`);
    await page.getByTestId("executor-row-callback-1").getByRole("link", { name: "callback-worker" }).click();
    await page.getByText("Recent executions on this executor").waitFor();
    await page.getByTestId("executions-table").waitFor();
    await shot("executor-detail");
  });

  await test("loading, error and not-found states", async () => {
    let release;
    const gate = new Promise((r) => (release = r));
    await page.route("**/api/v1/executors?**", async (route) => {
      await gate;
      await route.abort("connectionrefused");
    });
    await page.goto(`${ui.url}/executors`);
    await page.getByText("Loading executors…").waitFor();
    await shot("state-loading");
    release();
    await page.getByText("Could not load this").waitFor();
    await page.getByText("Cannot reach the scheduler server").waitFor();
    await shot("state-error");
    await page.unroute("**/api/v1/executors?**");
    await page.getByRole("button", { name: "Try again" }).click();
    await page.getByTestId("executors-table").waitFor();
    await page.goto(`${ui.url}/executions/no-such-execution`);
    await page.getByText("Not found", { exact: true }).waitFor();
    await page.goto(`${ui.url}/no/such/page`);
    await page.getByText("Page not found").waitFor();
  });

  await test("edit a task: field checks, then the saved values", async () => {
    await page.goto(`${ui.url}/tasks/${ids.everySecond}/edit`);
    await page.getByLabel("Timeout (seconds)").fill("0");
    await page.getByRole("button", { name: "Save changes" }).click();
    await waitText(page.getByTestId("error-timeout_seconds"), /between 1 and 604800/, "the timeout error");
    await page.getByLabel("Timeout (seconds)").fill("120");
    await page.getByRole("button", { name: "Save changes" }).click();
    await page.waitForURL(/\/tasks\/[^/]+$/);
    const t = await api(SERVER, "GET", `/tasks/${ids.everySecond}`);
    assert(t.timeout_seconds === 120 && t.status === "paused", JSON.stringify(t));
  });

  await test("delete a task after confirmation", async () => {
    await page.goto(`${ui.url}/tasks/${ids.everySecond}`);
    await page.getByRole("button", { name: "Delete…" }).click();
    await page.getByRole("dialog").getByText("cannot be undone").waitFor();
    await shot("delete-confirm", false);
    await page.getByRole("button", { name: "Delete task" }).click();
    await page.waitForURL(/\/tasks$/);
    const t = await api(SERVER, "GET", `/tasks/${ids.everySecond}`);
    assert(t.status === "deleted", `status is ${t.status}`);
  });

  await test("auth: sign-in screen, refused token, session token, and back to sign-in on 401", async () => {
    const authContext = await browser.newContext({ viewport: { width: 1440, height: 900 } });
    const p = await authContext.newPage();
    p.on("pageerror", (e) => pageErrors.push(String(e)));
    p.setDefaultTimeout(WAIT);
    const previous = page;
    page = p;
    try {
      await p.goto(`${authUi.url}/tasks`);
      await p.getByTestId("sign-in").waitFor();
      await shot("sign-in");
      await p.getByLabel("API token").fill("not-a-token");
      await p.getByRole("button", { name: "Sign in" }).click();
      await waitText(p.getByTestId("error-token"), /refused/, "the refusal");
      await p.getByLabel("API token").fill(AUTH_TOKEN);
      await p.getByRole("button", { name: "Sign in" }).click();
      await p.getByText("No tasks yet").waitFor();
      assert(new URL(p.url()).pathname === "/tasks", `stayed on /tasks: ${p.url()}`);
      const stored = await p.evaluate(() => sessionStorage.getItem("scheduler.token"));
      assert(stored === AUTH_TOKEN, "token kept in sessionStorage");
      await p.reload();
      await p.getByText("No tasks yet").waitFor();
      await p.evaluate(() => sessionStorage.setItem("scheduler.token", "expired.or.bad"));
      await p.getByRole("link", { name: "Dashboard" }).click();
      await p.getByTestId("sign-in").waitFor();
      await p.getByText("Your session has ended").waitFor();
    } catch (e) {
      await shot("failed-auth");
      throw e;
    } finally {
      page = previous;
      await authContext.close();
    }
  });

  await test("no uncaught errors in the pages", async () => {
    assert(pageErrors.length === 0, pageErrors.join("\n"));
  });
} finally {
  await browser.close().catch(() => undefined);
  await Promise.all([instant.close(), callback.close(), hold.close(), ui.close(), authUi.close()]);
}

const passed = results.filter((r) => r.ok).length;
const failed = results.length - passed;
console.log(`screenshots: ${ARTIFACTS}`);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed === 0 ? 0 : 1);
