#!/usr/bin/env bash
# Browser tests of the dashboard (scheduler-server/dashboard) against real scheduler-server
# processes: installs Debian's chromium if missing, npm ci, builds the server,
# starts an open server and one with auth.jwt_secret on free ports (in-memory
# store), then runs tests/e2e.mjs. Screenshots go to web/tests/artifacts/.
# Honours CARGO_TARGET_DIR (default: the workspace's target/).
set -euo pipefail

WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ROOT="$(dirname "$WEB")"
TARGET="${CARGO_TARGET_DIR:-$ROOT/target}"
ARTIFACTS="$WEB/tests/artifacts"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
mkdir -p "$ARTIFACTS"

if [ ! -x "$CHROMIUM" ]; then
  echo "== installing chromium (Debian)"
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium chromium-driver >/dev/null
fi

echo "== npm ci"
(cd "$WEB" && npm ci --no-audit --no-fund --loglevel=error)
if [ ! -f "$WEB/../scheduler-server/dashboard/index.html" ]; then
  echo "== scheduler-server/dashboard missing: building it"
  (cd "$WEB" && npm run build)
fi

echo "== cargo build -p scheduler-server (target: $TARGET)"
(cd "$ROOT" && CARGO_TARGET_DIR="$TARGET" cargo build -q -p scheduler-server)
BIN="$TARGET/debug/scheduler-server"

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
  for pid in "${PIDS[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

free_port() {
  node -e 'const s=require("net").createServer();s.listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'
}

wait_ready() { # url log
  for _ in $(seq 1 100); do
    if curl -fsS "$1/healthz" >/dev/null 2>&1; then return 0; fi
    sleep 0.1
  done
  echo "server at $1 did not start; its log:" >&2
  cat "$2" >&2
  return 1
}

# Configuration from the caller's environment must not leak into the servers.
unset $(env | grep -o '^SCHEDULER_[A-Z0-9_]*__[A-Z0-9_]*' || true)

echo "== starting servers"
OPEN_PORT="$(free_port)"
# Alerts go to a webhook nobody listens on (port 9, discard): they are
# recorded and retried, so the dashboard's alert panel has something to show.
cat >"$WORK/open.yaml" <<YAML
alerts:
  webhooks:
    - url: "http://127.0.0.1:9/hook"
      min_interval: 0s
YAML
# WEB_TEST_DATABASE_URL: run the open server on MySQL/MariaDB instead of memory.
"$BIN" --config "$WORK/open.yaml" --port "$OPEN_PORT" --instance-id web-test-open \
  ${WEB_TEST_DATABASE_URL:+--database-url "$WEB_TEST_DATABASE_URL"} >"$ARTIFACTS/server-open.log" 2>&1 &
PIDS+=($!)
cat >"$WORK/auth.yaml" <<YAML
auth:
  jwt_secret: "web-tests-secret-$(date +%s%N)"
YAML
AUTH_PORT="$(free_port)"
"$BIN" --config "$WORK/auth.yaml" --port "$AUTH_PORT" --instance-id web-test-auth >"$ARTIFACTS/server-auth.log" 2>&1 &
PIDS+=($!)
wait_ready "http://127.0.0.1:$OPEN_PORT" "$ARTIFACTS/server-open.log"
wait_ready "http://127.0.0.1:$AUTH_PORT" "$ARTIFACTS/server-auth.log"
TOKEN="$("$BIN" token --subject test --ttl 1h --config "$WORK/auth.yaml")"

echo "== browser tests"
cd "$WEB"
SCHEDULER_URL="http://127.0.0.1:$OPEN_PORT" \
SCHEDULER_INSTANCE="web-test-open" \
AUTH_SCHEDULER_URL="http://127.0.0.1:$AUTH_PORT" \
AUTH_TOKEN="$TOKEN" \
CHROMIUM="$CHROMIUM" \
ARTIFACTS="$ARTIFACTS" \
  node tests/e2e.mjs
