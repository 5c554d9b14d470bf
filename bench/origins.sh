#!/usr/bin/env bash
# Benchmark (not a test): heads at scale. Node A holds N origins with one record each (a
# network of N cities); an empty node B syncs them all from A. Then B restarts and
# reconnects with nothing new (the reconciliation alone), and again after 10 new origins
# reached A. Prints the times and what B received on each reconnection.
#
#   bash bench/origins.sh [N]      (default: 100000)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
agora=$PWD/build/agora
probe=$PWD/build/agora_sync_probe
[ -x "$agora" ] && [ -x "$probe" ] || bash scripts/build.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-origins.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

a=$work/a b=$work/b
$agora init --data "$a" --city Lyon --country FR >/dev/null
$agora init --data "$b" --city "Malmö" --country SE >/dev/null
t0=$(date +%s%N)
$probe seed-origins --data "$a" --count "$n" >/dev/null
echo "seed: $n origins stored in A in $(( ($(date +%s%N) - t0) / 1000000 )) ms"
ida=$($agora id --data "$a") idb=$($agora id --data "$b")
$agora peer add --data "$a" - --key "$idb" >/dev/null

$agora serve --data "$a" --listen 127.0.0.1:0 --http 127.0.0.1:0 > "$work/a.out" 2> "$work/a.err" &
pids+=($!); pid_a=$!
for _ in $(seq 1 200); do grep -q '^http ' "$work/a.out" 2>/dev/null && break; sleep 0.05; done
$agora peer add --data "$b" "$(awk '/^sync /{print $2}' "$work/a.out")" --key "$ida" >/dev/null

start_b="$agora serve --data $b --listen 127.0.0.1:0 --http 127.0.0.1:0 --max-new-origins $((n + 100)) \
  > $work/b.out 2>> $work/b.err & echo \$! > $work/b.pid"
stop_b() { kill -TERM "$(cat "$work/b.pid")"; while kill -0 "$(cat "$work/b.pid")" 2>/dev/null; do sleep 0.05; done; }
bytes_in() {  # what B has received from A, as B's peer list says
  $agora peer list --data "$b" --json | node -e \
    'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).peers[0].bytes_in))'
}

total=$((n + 2))  # A's origins, A itself and B itself
ms=$($probe wait-origins --data "$b" --count "$total" -- bash -c "$start_b")
pids+=("$(cat "$work/b.pid")")
echo "full sync: $n origins (one record each) from A to an empty B in $ms ms ($(node -e "console.log(Math.round($n/($ms/1000)))") origins/s)"
echo "agora.origins$n.full_sync.origins_per_s $(node -e "console.log(Math.round($n/($ms/1000)))")"
stop_b
before=$(bytes_in)
bash -c "$start_b"; pids+=("$(cat "$work/b.pid")")
sleep 3
stop_b
after=$(bytes_in)
echo "reconnect with nothing new: B received $((after - before)) bytes"
echo "agora.origins$n.reconnect_nothing_new.bytes $((after - before))"

$probe seed-origins --data "$a" --count 10 >/dev/null
before=$after
ms=$($probe wait-origins --data "$b" --count $((total + 10)) -- bash -c "$start_b")
pids+=("$(cat "$work/b.pid")")
sleep 1
stop_b
after=$(bytes_in)
echo "reconnect after 10 new origins on A: synced in $ms ms; B received $((after - before)) bytes (10 records included)"
echo "agora.origins$n.reconnect_10_new.ms $ms"
echo "agora.origins$n.reconnect_10_new.bytes $((after - before))"
grep -E "error|bad-message" "$work/a.err" "$work/b.err" | head -5 || true
