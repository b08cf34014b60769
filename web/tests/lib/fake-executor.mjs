// A tiny HTTP executor speaking the scheduler's executor protocol
// (docs/executor-protocol.md), for the browser tests.
//
//   mode "instant"  : POST /execute answers 200 {"status":"success","result":{"ok":true}}
//                     (or {"status":"failed"} when the parameters say {"fail": true})
//   mode "callback" : accepts (202), then calls back callback_url with X-Callback-Token
//   mode "hold"     : accepts (202) and never finishes, so the execution stays running
//
// Every mode answers GET /health 200 and POST /stop 200, and records what it got.

import http from "node:http";

function readJson(req) {
  return new Promise((resolve) => {
    let body = "";
    req.on("data", (c) => (body += c));
    req.on("end", () => {
      try {
        resolve(body ? JSON.parse(body) : {});
      } catch {
        resolve({});
      }
    });
  });
}

function send(res, status, body) {
  const text = JSON.stringify(body);
  res.writeHead(status, { "Content-Type": "application/json", "Content-Length": Buffer.byteLength(text) });
  res.end(text);
}

async function callBack(job, attempt = 0) {
  try {
    const r = await fetch(job.callback_url, {
      method: "POST",
      headers: { "Content-Type": "application/json", "X-Callback-Token": job.callback_token },
      body: JSON.stringify({
        status: "success",
        result: { ok: true, via: "callback", execution_id: job.execution_id },
        logs: "finished by the fake executor's callback",
      }),
    });
    if (r.status >= 500 && attempt < 5) setTimeout(() => callBack(job, attempt + 1), 500);
    return r.status;
  } catch {
    if (attempt < 5) setTimeout(() => callBack(job, attempt + 1), 500);
    return 0;
  }
}

/** Starts one fake executor on a free loopback port. */
export async function startFakeExecutor(mode) {
  const state = { mode, executed: [], stopped: [], health: 0, callbacks: [] };
  const server = http.createServer(async (req, res) => {
    const path = (req.url ?? "/").split("?")[0];
    if (req.method === "GET" && path === "/health") {
      state.health += 1;
      return send(res, 200, { status: "ok" });
    }
    if (req.method === "POST" && path === "/stop") {
      const body = await readJson(req);
      state.stopped.push(body.execution_id);
      return send(res, 200, { stopped: true });
    }
    if (req.method === "POST" && path === "/execute") {
      const job = await readJson(req);
      state.executed.push(job);
      if (mode === "instant") {
        if (job.parameters && job.parameters.fail === true) {
          return send(res, 200, { status: "failed", logs: "the fake executor was asked to fail" });
        }
        return send(res, 200, { status: "success", result: { ok: true } });
      }
      send(res, 202, { status: "accepted" });
      if (mode === "callback") {
        setTimeout(async () => state.callbacks.push(await callBack(job)), 300);
      }
      return;
    }
    send(res, 404, { error: "not found" });
  });
  await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = server.address().port;
  return {
    state,
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections?.();
        server.close(() => resolve());
      }),
  };
}
