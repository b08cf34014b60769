#!/usr/bin/env bash
# Rebuilds the dashboard from source into a temporary folder and fails if the
# result differs from the committed web/dist (a source change without a
# rebuild, or a build that is not deterministic). Needs Node.js and npm.
set -euo pipefail

WEB="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$WEB"

npm ci --no-audit --no-fund --loglevel=error
OUT="$(mktemp -d)"
trap 'rm -rf "$OUT"' EXIT

npx tsc --noEmit
npx vite build --outDir "$OUT/dist" --emptyOutDir --logLevel warn

if ! diff -r "$OUT/dist" "$WEB/dist"; then
  echo "web/dist differs from a fresh build of web/src: run 'npm run build' in web/ and commit web/dist" >&2
  exit 1
fi
echo "web/dist matches a fresh build ($(find "$WEB/dist" -type f | wc -l) files)"
