#!/usr/bin/env bash
# Benchmark (not a test): the HTTP API under wrk (2 threads, 64 connections, loopback) on
# N practices of the ../shared/peers workload: GET one practice, a filtered list (city +
# theme, 20 results) and a full-text search, each repeated; plus the same list and search
# once each uncached (first request after start). Prints medians over RUNS.
#
#   bash bench/http.sh [N] [RUNS] [SECONDS]     (defaults: 100000, 3, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-3}
secs=${3:-10}
agora=$PWD/build/agora
command -v wrk >/dev/null || { echo "bench/http.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$agora" ] || bash scripts/build.sh
input=bench/data/practices-$n.ndjson
[ -f "$input" ] || node bench/prepare-workload.js --n "$n" --seed 1 --out "$input"
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-httpbench.XXXXXX")
pid=""
cleanup() { [ -n "$pid" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
$agora init --data "$work/n" --city Lyon --country FR >/dev/null
$agora import --data "$work/n" "$input" >/dev/null 2>&1
$agora serve --data "$work/n" --listen 127.0.0.1:0 --http 127.0.0.1:0 > "$work/out" 2> "$work/err" &
pid=$!
for _ in $(seq 1 100); do grep -q '^http ' "$work/out" 2>/dev/null && break; sleep 0.05; done
url=$(awk '/^http /{print $2}' "$work/out")
start=$(date +%s.%N)
until curl -sf "${url}api/v1/practices?limit=1" >/dev/null; do sleep 0.2; done  # the first index build
echo "agora.n$n.search_index.build_s $(echo "$(date +%s.%N) - $start" | bc)"
id=$(head -1 "$input" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).id))')
node_id=$($agora id --data "$work/n")
one="${url}api/v1/practices/$node_id/$id"
list="${url}api/v1/practices?city=Lyon&theme=housing&limit=20"
search="${url}api/v1/practices?q=housing+employment&limit=20"
ms() { curl -s -o /dev/null -w '%{time_total}' "$1" | awk '{print $1 * 1000}'; }
echo "agora.n$n.list.uncached_ms $(ms "$list")"
echo "agora.n$n.search.uncached_ms $(ms "$search")"
median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else {sub(/s$/,"",v); print v*1000}}'; }
for name in one list search; do
  : > "$work/$name.rps"; : > "$work/$name.p99"; : > "$work/$name.p50"
  for _ in $(seq 1 "$runs"); do
    wrk -t2 -c64 -d"${secs}s" --latency "${!name}" > "$work/wrk"
    awk '/Requests\/sec/ {print $2}' "$work/wrk" >> "$work/$name.rps"
    awk '$1 == "99%" {print $2}' "$work/wrk" | to_ms >> "$work/$name.p99"
    awk '$1 == "50%" {print $2}' "$work/wrk" | to_ms >> "$work/$name.p50"
  done
  echo "agora.n$n.$name.req_per_s $(median < "$work/$name.rps")"
  echo "agora.n$n.$name.latency_ms_p50 $(median < "$work/$name.p50")"
  echo "agora.n$n.$name.latency_ms_p99 $(median < "$work/$name.p99")"
done
