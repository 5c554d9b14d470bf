#!/usr/bin/env bash
# Benchmark (not a test): peer sync between two `agora serve` processes on loopback, on the
# peer harness's workload (../shared/peers, seed 1):
#   - full sync of N practices from node A to an empty node B,
#   - incremental sync of 100 new records afterwards,
#   - live push latency over 200 records (publish on A -> durably stored on B),
#   - peak RSS of both nodes (VmHWM) and the receiving node's peak anonymous memory
#     (RssAnon sampled every 0.2 s: LMDB's file pages, which mmap counts in RSS, left out),
#   - the same full sync to a node run with --no-index, for the ratio indexing on / off,
# with this machine's 2-core Ed25519 verify rate (`openssl speed ed25519`) measured in the
# same run for the ratio.
#
#   bash bench/sync.sh [N] [RUNS]      (defaults: 100000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-100000}
runs=${2:-3}
agora=$PWD/build/agora
probe=$PWD/build/agora_sync_probe
[ -x "$agora" ] && [ -x "$probe" ] || bash scripts/build.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-syncbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
input=$(workload "$n")
extra=$work/extra-100.ndjson
node bench/prepare-workload.js --n 100 --seed 2 --out /dev/stdout | sed 's/"id":"/"id":"inc-/' > "$extra"

cores=$(nproc)

# Node A holds the workload once; every run syncs it to a fresh node B.
a=$work/a
$agora init --data "$a" --city Lyon --country FR >/dev/null
$agora import --data "$a" "$input" >/dev/null
ida=$($agora id --data "$a")

serve() {  # serve DATA OUT -> pid in $served_pid; URL in $served_url
  rm -f "$2"  # never read the previous run's address lines
  $agora serve --data "$1" --listen 127.0.0.1:0 --http 127.0.0.1:0 > "$2" 2>"$2.err" &
  served_pid=$!
  pids+=("$served_pid")
  for _ in $(seq 1 100); do grep -q '^http ' "$2" 2>/dev/null && break; sleep 0.05; done
  served_url=$(awk '/^sync /{print $2}' "$2")
}
hwm() { awk '/VmHWM/ {print $2/1024}' "/proc/$1/status"; }
stop() { kill -TERM "$1"; wait "$1" 2>/dev/null || true; }

for f in full_rate full_ratio full_ratio_speed verify_rate verify_rate_2 inc_ms live_median live_p90 live_p99 rss_a rss_b anon_b noindex_rate; do : > "$work/$f"; done
for run in $(seq 1 "$runs"); do
  b=$work/b-$run
  $agora init --data "$b" --city "Malmö" --country SE >/dev/null
  idb=$($agora id --data "$b")
  $agora peer add --data "$a" - --key "$idb" >/dev/null
  read -r _ verify_1core <<< "$(openssl speed -seconds 2 ed25519 2>/dev/null | awk '/Ed25519/ {print $(NF-1), $NF}')"
  echo "$verify_1core" >> "$work/verify_rate"
  read -r _ verify_all <<< "$(openssl speed -multi "$cores" -seconds 2 ed25519 2>/dev/null | awk '/^ *253 bits EdDSA/ {print $(NF-1), $NF}')"
  echo "$verify_all" >> "$work/verify_rate_2"
  serve "$a" "$work/a.out"; pid_a=$served_pid; url_a=$served_url
  # The same full sync to a node without the search index first: the ratio of the two says
  # what indexing costs the sync (it runs at background priority, behind the store).
  c=$work/c-$run
  $agora init --data "$c" --city "Torino" --country IT >/dev/null
  idc=$($agora id --data "$c")
  $agora peer add --data "$a" - --key "$idc" >/dev/null
  rm -f "$work/c.out"
  $agora serve --data "$c" --listen 127.0.0.1:0 --http 127.0.0.1:0 --no-index > "$work/c.out" 2>"$work/c.out.err" &
  pid_c=$!; pids+=("$pid_c")
  for _ in $(seq 1 100); do grep -q '^http ' "$work/c.out" 2>/dev/null && break; sleep 0.05; done
  head=$((n + 2))  # A's city profile and node key, then the workload
  ms=$($probe wait --data "$c" --origin "$ida" --seq "$head" -- $agora peer add --data "$c" "$url_a" --key "$ida")
  echo "$n $ms" | awk '{print $1/($2/1000)}' >> "$work/noindex_rate"
  stop "$pid_c"; $agora peer remove --data "$a" "$idc" >/dev/null; rm -rf "$c"
  serve "$b" "$work/b.out"; pid_b=$served_pid
  anon_peak "$pid_b" "$work/anon_b.run"; pids+=($!)
  ms=$($probe wait --data "$b" --origin "$ida" --seq "$head" -- $agora peer add --data "$b" "$url_a" --key "$ida")
  echo "$n $ms" | awk '{print $1/($2/1000)}' >> "$work/full_rate"
  echo "$n $ms $verify_all" | awk '{print ($1/($2/1000))/$3}' >> "$work/full_ratio"
  echo "$n $ms $verify_1core" | awk '{print ($1/($2/1000))/$3}' >> "$work/full_ratio_speed"
  ms=$($probe wait --data "$b" --origin "$ida" --seq $((head + 100)) -- $agora import --data "$a" "$extra")
  echo "$ms" >> "$work/inc_ms"
  $probe live --data "$a" --watch "$b" --count 200 > "$work/live"
  awk '/latency_ms_median/ {print $2}' "$work/live" >> "$work/live_median"
  awk '/latency_ms_p90/ {print $2}' "$work/live" >> "$work/live_p90"
  awk '/latency_ms_p99/ {print $2}' "$work/live" >> "$work/live_p99"
  hwm "$pid_a" >> "$work/rss_a"
  hwm "$pid_b" >> "$work/rss_b"
  stop "$pid_a"; stop "$pid_b"
  awk '{print $1/1024}' "$work/anon_b.run" >> "$work/anon_b"
  $agora peer remove --data "$a" "$idb" >/dev/null
  # Back to N records on A for the next run: re-create it only if runs remain.
  if [ "$run" -lt "$runs" ]; then
    rm -rf "$a"
    $agora init --data "$a" --city Lyon --country FR >/dev/null
    $agora import --data "$a" "$input" >/dev/null
    ida=$($agora id --data "$a")
  fi
  rm -rf "$b"
  echo "run $run done: full $(tail -1 "$work/full_rate") rec/s (no index: $(tail -1 "$work/noindex_rate")), incremental $(tail -1 "$work/inc_ms") ms, live median $(tail -1 "$work/live_median") ms" >&2
done

echo "machine.ed25519_verify_per_s_1core $(median < "$work/verify_rate")"
echo "machine.ed25519_verify_per_s_${cores}core $(median < "$work/verify_rate_2")"
echo "machine.cores $cores"
echo "agora.n$n.full_sync.records_per_s $(median < "$work/full_rate")"
echo "agora.n$n.incremental_100.ms $(median < "$work/inc_ms")"
echo "agora.n$n.live.latency_ms_median $(median < "$work/live_median")"
echo "agora.n$n.live.latency_ms_p90 $(median < "$work/live_p90")"
echo "agora.n$n.live.latency_ms_p99 $(median < "$work/live_p99")"
echo "agora.n$n.node_a.peak_rss_mib $(median < "$work/rss_a")"
echo "agora.n$n.node_b.peak_rss_mib $(median < "$work/rss_b")"
echo "agora.n$n.node_b.peak_rss_anon_mib $(median < "$work/anon_b")"
echo "agora.n$n.full_sync_no_index.records_per_s $(median < "$work/noindex_rate")"
echo "ratio.full_sync.index_on_vs_off $(awk -v a="$(median < "$work/full_rate")" -v b="$(median < "$work/noindex_rate")" 'BEGIN {printf "%.2f", a / b}')"
echo "ratio.full_sync_vs_${cores}core_verify $(median < "$work/full_ratio") (openssl speed -multi $cores; median of per-run ratios)"
echo "ratio.full_sync_vs_openssl_speed $(median < "$work/full_ratio_speed") (plain \`openssl speed ed25519\`, the figure the issue cites as ~9,000/s)"
