#!/usr/bin/env python3
"""A complete minimal executor for the scheduler, standard library only.

Run with: python3 docs/executor/executor.py --scheduler http://127.0.0.1:8080 --port 9100

It registers itself, serves POST /execute, POST /stop and GET /health, runs
each execution in a thread (here: sleeps `parameters.seconds`, default 0, and
echoes the parameters back), and reports the result to `callback_url` with
the `X-Callback-Token` it was given, retrying with backoff for a minute when
the scheduler does not answer or answers 5xx.
"""
import argparse
import json
import threading
import time
import urllib.error
import urllib.request
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

RUNNING = {}  # execution_id -> threading.Event (set = stop requested)
LOCK = threading.Lock()


def post_json(url, body, headers=None, timeout=10):
    data = json.dumps(body).encode()
    req = urllib.request.Request(url, data=data, method="POST")
    req.add_header("Content-Type", "application/json")
    for k, v in (headers or {}).items():
        req.add_header(k, v)
    with urllib.request.urlopen(req, timeout=timeout) as resp:
        return resp.status, json.loads(resp.read() or b"null")


def report(job, status, result=None, logs=None):
    """Calls back, retrying for at least a minute on no answer or 5xx."""
    body = {"status": status, "result": result, "logs": logs}
    headers = {"X-Callback-Token": job["callback_token"]}
    delay, deadline = 0.5, time.time() + 60
    while True:
        try:
            post_json(job["callback_url"], body, headers)
            return
        except urllib.error.HTTPError as e:
            if e.code < 500:  # 401 wrong token, 409 already final: do not retry
                return
        except OSError:
            pass
        if time.time() > deadline:
            return
        time.sleep(delay)
        delay = min(delay * 2, 10)


def run(job, stop):
    params = job.get("parameters") or {}
    try:
        if stop.wait(float(params.get("seconds", 0))):
            return  # stopped: the scheduler already recorded it
        report(job, "success", result={"echo": params, "attempt": job["retry_count"]})
    except Exception as e:  # noqa: BLE001 - any failure of the job is reported
        report(job, "failed", logs=f"{type(e).__name__}: {e}")
    finally:
        with LOCK:
            RUNNING.pop(job["execution_id"], None)


class Handler(BaseHTTPRequestHandler):
    def _body(self):
        length = int(self.headers.get("Content-Length") or 0)
        return json.loads(self.rfile.read(length) or b"{}")

    def _send(self, code, body=None):
        data = json.dumps(body if body is not None else {}).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_GET(self):
        self._send(200 if self.path == "/health" else 404, {"status": "ok"})

    def do_POST(self):
        if self.path == "/execute":
            job = self._body()
            stop = threading.Event()
            with LOCK:
                if job["execution_id"] in RUNNING:  # idempotent on execution_id
                    return self._send(200, {"accepted": True})
                RUNNING[job["execution_id"]] = stop
            threading.Thread(target=run, args=(job, stop), daemon=True).start()
            return self._send(200, {"accepted": True})  # no "status": running, report later
        if self.path == "/stop":
            with LOCK:
                stop = RUNNING.get(self._body().get("execution_id"))
            if stop:
                stop.set()
            return self._send(200, {"stopped": bool(stop)})
        self._send(404)

    def log_message(self, *args):
        pass


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--scheduler", default="http://127.0.0.1:8080")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9100)
    p.add_argument("--name", default="python-executor")
    p.add_argument("--token", help="JWT for the scheduler's API, when it has auth")
    args = p.parse_args()
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    base_url = f"http://{args.host}:{server.server_address[1]}"
    headers = {"Authorization": f"Bearer {args.token}"} if args.token else {}
    status, executor = post_json(
        f"{args.scheduler}/api/v1/executors/register",
        {"name": args.name, "instance_id": f"{args.name}@{base_url}", "base_url": base_url},
        headers,
    )
    print(f"registered as {executor['id']} ({'new' if status == 201 else 'updated'}), serving {base_url}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
