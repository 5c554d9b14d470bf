#!/usr/bin/env bash
# Benchmark (not a test): Agora's peer sync side by side with the peer systems of
# ../shared/peers (Hypercore, PouchDB) on the same workload (seed 1), in one run, so the
# ratios compare figures taken under the same machine load.
#
#   bash bench/compare.sh            N=100000 RUNS=3 POUCH_RUNS=1 by default (~20 min)
#
# stdout: every system's `key value` lines, then ratio.* lines.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
runs=${RUNS:-3}
pouch_runs=${POUCH_RUNS:-1}
peers=$(cd ../shared/peers && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-compare.XXXXXX")
trap 'rm -rf "$work"' EXIT
[ -d "$peers/node_modules" ] || (cd "$peers" && npm ci --no-audit --no-fund >&2)

echo "compare: hypercore n=$n runs=$runs" >&2
(cd "$peers" && node bench-hypercore.js --n "$n" --runs "$runs" --seed 1 --max-seconds 1500) | tee "$work/hypercore"
echo "compare: pouchdb n=$n runs=$pouch_runs" >&2
(cd "$peers" && node bench-pouchdb.js --n "$n" --runs "$pouch_runs" --seed 1 --max-seconds 1500) | tee "$work/pouchdb"
echo "compare: agora n=$n runs=$runs" >&2
bash bench/sync.sh "$n" "$runs" | tee "$work/agora"

get() { awk -v k="$2" '$1 == k {print $2}' "$work/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
agora_full=$(get agora "agora.n$n.full_sync.records_per_s")
agora_live=$(get agora "agora.n$n.live.latency_ms_median")
hyper_full=$(get hypercore "hypercore.n$n.initial_sync.blocks_per_s")
hyper_live=$(get hypercore "hypercore.n$n.incremental.latency_ms_median")
pouch_full=$(get pouchdb "pouchdb.n$n.initial_sync.docs_per_s")
pouch_live=$(get pouchdb "pouchdb.n$n.incremental.latency_ms_median")
echo "ratio.full_sync.agora_vs_hypercore $(ratio "$agora_full" "$hyper_full")"
echo "ratio.full_sync.agora_vs_pouchdb $(ratio "$agora_full" "$pouch_full")"
echo "ratio.live_latency_median.hypercore_vs_agora $(ratio "$hyper_live" "$agora_live")"
echo "ratio.live_latency_median.pouchdb_vs_agora $(ratio "$pouch_live" "$agora_live")"
