#!/usr/bin/env bash
# Rebuilds the dashboard from source into a temporary folder and fails if the
# result differs from the committed scheduler-server/dashboard (a source change without a
# rebuild, or a build that is not deterministic). Needs Node.js and npm.
set -euo pipefail

WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DIST="$WEB/../scheduler-server/dashboard"
cd "$WEB"

npm ci --no-audit --no-fund --loglevel=error
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

npx tsc --noEmit
npx vite build --outDir "$OUT/dist" --emptyOutDir --logLevel warn

if ! diff -r "$OUT/dist" "$DIST"; then
  echo "scheduler-server/dashboard differs from a fresh build of web/src: run 'npm run build' in web/ and commit scheduler-server/dashboard" >&2
  exit 1
fi
echo "scheduler-server/dashboard matches a fresh build ($(find "$DIST" -type f | wc -l) files)"
