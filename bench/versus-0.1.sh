#!/usr/bin/env bash
# `npm run bench:versus-0.1`: this export against version 0.1 (commit a578721, the last before
# the one-way redesign), interleaved, against one sandbox, in the same minutes. Figures taken on
# different days on a shared host differ by 25% or more; an interleaved A/B is what can say
# "within 20% of 0.1". Version 0.1 runs as it shipped: its decoder thread and its V8 flags.
#
#   bench/versus-0.1.sh [rounds=5] [latency ms=20] [eSIMs=100000]
#
# Prints each run, then the medians. Needs `npm run bench` to have built bench/out first.
set -euo pipefail
rounds=${1:-5}
latency=${2:-20}
size=${3:-100000}
root=$(cd "$(dirname "$0")/.." && pwd)
old=$(mktemp -d)
scratch=${TMPDIR:-/tmp}
[ -d /dev/shm ] && scratch=/dev/shm
out=$(mktemp -d "$scratch/esim-versus-XXXXXX")
cleanup() { kill "${sandbox:-}" 2>/dev/null || true; git -C "$root" worktree remove --force "$old" >/dev/null 2>&1 || true; rm -rf "$old" "$out"; }
trap cleanup EXIT

git -C "$root" worktree add --detach --force "$old" a578721 >/dev/null 2>&1
ln -s "$root/node_modules" "$old/node_modules"
(cd "$old" && npx esbuild export-once=bench/export-once.ts page-decoder-thread=lambda/core/page-decoder-thread.ts \
  --bundle --platform=node --target=node20 --format=cjs --outdir=bench/out --log-level=warning)
v01_flags=(--max-old-space-size=128 --initial-old-space-size=64 --max-semi-space-size=2 --single-threaded-gc)

node "$root/bench/out/sandbox.js" --port 0 --size "$size" --latency "$latency" --cache-pages >"$out/sandbox.log" 2>&1 &
sandbox=$!
until grep -q 'Sandbox API at' "$out/sandbox.log"; do sleep 0.2; done
api=$(grep -o 'http://[^ ]*' "$out/sandbox.log" | head -1)

once() { # label, node args...
  local label=$1; shift
  node "$@" | tail -1 | node -e '
    const r = JSON.parse(require("fs").readFileSync(0, "utf8"));
    console.log([process.argv[1], (r.wallMs / 1000).toFixed(2), (r.cpuMs / 1000).toFixed(2), r.maxRssMb.toFixed(0), r.requests].join("\t"));' "$label"
}
input() { echo "{\"apiBaseUrl\":\"$api\",\"out\":\"$out/$1\"$2}"; }
once warm-up "$root/bench/out/export-once.js" "$(input warm '')" >/dev/null

echo -e "export\twall s\tCPU s\tpeak RSS MB\trequests"
for _ in $(seq "$rounds"); do
  once "0.1 (ndjson, csv)" "${v01_flags[@]}" "$old/bench/out/export-once.js" "$(input old '')"
  once "now: ndjson, csv, page 100" "$root/bench/out/export-once.js" "$(input a ',"formats":["ndjson","csv"]')"
  once "now: + parquet, page 100" "$root/bench/out/export-once.js" "$(input b '')"
  once "now: all defaults (auto)" "$root/bench/out/export-once.js" "$(input c ',"pageSize":"auto"')"
done | tee "$out/runs.tsv"
echo
echo "Medians of $rounds rounds, $size eSIMs at $latency ms per request (floor at 100 a page, concurrency 8: $(node -e "console.log(($size / 100 * $latency / 8 / 1000).toFixed(2))") s):"
node -e '
  const rows = require("fs").readFileSync(process.argv[1], "utf8").trim().split("\n").map((l) => l.split("\t"));
  const median = (xs) => xs.sort((a, b) => a - b)[xs.length >> 1];
  const labels = [...new Set(rows.map((r) => r[0]))];
  const wall = (label) => median(rows.filter((r) => r[0] === label).map((r) => Number(r[1])));
  const base = wall(labels[0]);
  for (const label of labels) {
    const mine = rows.filter((r) => r[0] === label);
    console.log(`${label.padEnd(28)} wall ${wall(label).toFixed(2)} s (${(wall(label) / base).toFixed(2)}× 0.1)  CPU ${median(mine.map((r) => Number(r[2]))).toFixed(2)} s  peak RSS ${median(mine.map((r) => Number(r[3])))} MB`);
  }' "$out/runs.tsv"
