#!/usr/bin/env bash
# A/B comparison on a busy machine: builds git revision A (default HEAD~1) beside the working
# tree's build (B), then alternates short runs A, B, A, B … of the same scenarios, so load noise
# from other processes falls on both alike. Compare the per-round figures, not one pair.
#
# usage: scripts/bench/ab.sh [rev-A] [rounds]
#   env as for npm run bench (BENCH_SCENARIOS, BENCH_BACKENDS, BENCH_DURATION, …); defaults here:
#   BENCH_SCENARIOS=retrieve, BENCH_BACKENDS=postgres, BENCH_DURATION=3, BENCH_WARMUP=1.
set -euo pipefail
cd "$(dirname "$0")/../.."
rev="${1:-HEAD~1}"
rounds="${2:-3}"
a="bench-output/ab-a"
rm -rf "$a" && mkdir -p "$a"
git archive "$rev" src tsconfig.json tsconfig.build.json | tar -x -C "$a"
npx tsc -p "$a/tsconfig.build.json"
npm run -s build
export BENCH_SCENARIOS="${BENCH_SCENARIOS:-retrieve}" BENCH_BACKENDS="${BENCH_BACKENDS:-postgres}"
export BENCH_DURATION="${BENCH_DURATION:-3}" BENCH_WARMUP="${BENCH_WARMUP:-1}" BENCH_NO_BUILD=1 BENCH_CEILING=0
for i in $(seq "$rounds"); do
  for side in A B; do
    if [ "$side" = A ]; then entry="$a/dist/server.js"; else entry="dist/server.js"; fi
    BENCH_SERVER="$entry" npx tsx scripts/bench/run.ts | grep -E '^  [a-z].* req/s' | sed "s/^/round $i $side /"
  done
done
