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
out="bench-output/ab.txt"
: >"$out"
for i in $(seq "$rounds"); do
  for side in A B; do
    if [ "$side" = A ]; then entry="$a/dist/server.js"; else entry="dist/server.js"; fi
    BENCH_SERVER="$entry" npx tsx scripts/bench/run.ts | grep -E '^  [a-z].* req/s' | sed "s/^/round $i $side /" |
      tee -a "$out"
  done
done
# Medians per scenario, backend and side: req/s, and the server's CPU µs per request, which moves
# far less with other load on the machine than req/s does.
echo "medians (A = $rev, B = working tree):"
sed -E 's/^round [0-9]+ ([AB]) +([a-z].*[a-z=0-9)]) +(sqlite|postgres) +([0-9]+) req\/s.*CPU ([0-9]+) µs\/req.*/\1|\2|\3|\4|\5/' "$out" |
  sort -t'|' -k2,2 -k3,3 -k1,1 |
  awk -F'|' '
    function median(list,   n, v, i, j, t) {
      n = split(list, v, " ")
      for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (v[j] + 0 < v[i] + 0) { t = v[i]; v[i] = v[j]; v[j] = t }
      return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
    }
    { key = $2 " " $3 " " $1; rps[key] = rps[key] " " $4; cpu[key] = cpu[key] " " $5; if (!(key in seen)) { seen[key] = 1; order[++n] = key } }
    END { for (i = 1; i <= n; i++) printf "  %-40s %8.0f req/s %6.0f CPU µs/req   (req/s:%s; CPU:%s)\n", order[i], median(rps[order[i]]), median(cpu[order[i]]), rps[order[i]], cpu[order[i]] }'
