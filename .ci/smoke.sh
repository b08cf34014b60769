#!/usr/bin/env bash
# The README's "run" command as a new user would try it: start the server
# (in-memory store), start the standard-library Python executor from
# docs/executor/, create a task that fires every second and wait for
# successful executions, stop a long manual run, check metrics, OpenAPI and
# the dashboard; then SIGTERM the server and expect exit code 0.
set -euo pipefail
cd "$(dirname "$0")/.."

BIN="${CARGO_TARGET_DIR:-target}/debug/scheduler-server"
cargo build -q -p scheduler-server
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
EPORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
URL="http://127.0.0.1:$PORT"
LOG=$(mktemp)
"$BIN" --port "$PORT" >"$LOG" 2>&1 &
SERVER=$!
EXECUTOR=""
cleanup() { [ -n "$EXECUTOR" ] && kill "$EXECUTOR" 2>/dev/null || true; kill "$SERVER" 2>/dev/null || true; }
trap cleanup EXIT
for _ in $(seq 1 100); do curl -fsS "$URL/healthz" >/dev/null 2>&1 && break; sleep 0.1; done
grep -qi "memory" "$LOG" || { echo "the log does not say the store is in memory:"; cat "$LOG"; exit 1; }

python3 docs/executor/executor.py --scheduler "$URL" --port "$EPORT" &
EXECUTOR=$!
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }
TASK=$(curl -fsS -X POST "$URL/api/v1/tasks" -H 'Content-Type: application/json' \
  -d '{"name": "smoke", "cron_expression": "* * * * * *", "parameters": {"who": "world"}}' | json 'd["id"]')
ok=0
for _ in $(seq 1 100); do
  n=$(curl -fsS "$URL/api/v1/executions?task_id=$TASK&status=success" | json 'd["total"]')
  [ "$n" -ge 3 ] && { ok=1; break; }
  sleep 0.2
done
[ "$ok" = 1 ] || { echo "no successful executions through the Python executor"; cat "$LOG"; exit 1; }
curl -fsS -X POST "$URL/api/v1/tasks/$TASK/pause" -H 'Content-Type: application/json' >/dev/null
EXEC=$(curl -fsS -X POST "$URL/api/v1/tasks/$TASK/trigger" -H 'Content-Type: application/json' \
  -d '{"parameters": {"seconds": 30}}' | json 'd["id"]')
for _ in $(seq 1 50); do
  s=$(curl -fsS "$URL/api/v1/executions/$EXEC" | json 'd["status"]')
  [ "$s" = running ] && break
  sleep 0.1
done
s=$(curl -fsS -X POST "$URL/api/v1/executions/$EXEC/stop" -H 'Content-Type: application/json' | json 'd["status"]')
[ "$s" = cancelled ] || { echo "stop gave $s"; exit 1; }
curl -fsS "$URL/api/v1/tasks/$TASK/stats" | json 'd["24h"]["success"]' >/dev/null
curl -fsS "$URL/metrics" | grep '^chronoflow_fires_total' >/dev/null || { echo "no fire metric"; exit 1; }
curl -fsS "$URL/api/v1/openapi.json" | json 'd["openapi"]' | grep '^3' >/dev/null || { echo "no OpenAPI 3 document"; exit 1; }
curl -fsS "$URL/" | grep 'id="root"' >/dev/null || { echo "no dashboard at /"; exit 1; }
kill -TERM "$SERVER"
code=0; wait "$SERVER" || code=$?
[ "$code" = 0 ] || { echo "server exited $code on SIGTERM"; cat "$LOG"; exit 1; }
echo "smoke: server, Python executor, fires, stop, stats, metrics, OpenAPI, dashboard, clean exit: ok"
