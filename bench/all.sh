#!/usr/bin/env bash
# Every benchmark, on a fresh clone as well (it creates what it needs: bench/data, the
# build, the peer harness's node_modules), and one table: each figure beside the last
# recorded one (bench/baseline.txt), with the change and a mark where it got worse by more
# than the noise (15 %). RECORD=1 makes this run the new baseline and adds its table to
# docs/performance.md's history.
#
#   bash bench/all.sh        N=100000 RUNS=3 ORIGINS=100000 PEERS=1 POUCH=1 RECORD=0
#
# About 40 minutes on 2 cores at the defaults (PEERS=0 leaves out Hypercore and PouchDB).
set -euo pipefail
cd "$(dirname "$0")/.."
n=${N:-100000}
runs=${RUNS:-3}
origins=${ORIGINS:-100000}
peers=${PEERS:-1}
mkdir -p bench/data bench/results
[ -x build/agora ] && [ -x build/agora_sync_probe ] && [ -x build/agora_fixed_http ] || bash scripts/build.sh
stamp=$(date -u +%Y-%m-%dT%H:%MZ)
out=bench/results/$(date -u +%Y%m%dT%H%M%SZ)
mkdir -p "$out"
commit=$(git rev-parse --short HEAD 2>/dev/null || echo unknown)
echo "bench/all.sh: N=$n RUNS=$runs ORIGINS=$origins PEERS=$peers at $commit; results in $out" >&2

step() {  # step NAME COMMAND...: its key-value lines into $out/NAME.txt, its log beside them
  local name=$1; shift
  echo "bench/all.sh: $name ..." >&2
  local t0=$SECONDS
  "$@" > "$out/$name.txt" 2> "$out/$name.log" || { echo "bench/all.sh: $name failed (see $out/$name.log)" >&2; return 1; }
  echo "bench/all.sh: $name done in $((SECONDS - t0)) s" >&2
}
step import_verify bash bench/import_verify.sh "$n" "$runs"
if [ "$peers" = 1 ]; then
  step sync env N="$n" RUNS="$runs" bash bench/compare.sh
else
  step sync bash bench/sync.sh "$n" "$runs"
fi
step http env POUCH="${POUCH:-$peers}" bash bench/http.sh "$n" "$runs"
step origins bash bench/origins.sh "$origins"
step identity bash bench/identity.sh "$n" "$runs"
step erasure bash bench/erasure.sh "$(( n / 10 ))"
step translations bash bench/translations.sh "$n" "$(( n / 5 ))" "$runs"

# Every `key value` line (values numeric) of every step.
cat "$out"/*.txt | awk 'NF >= 2 && $2 ~ /^-?[0-9.]+$/ {print $1, $2}' | sort -u -k1,1 > "$out/all.txt"

# Lower is better for times, sizes and memory; higher for rates and ratios.
# Ratios (ratio.*) are peer-over-Agora or Agora-over-limit figures, higher is better, but
# for the data dir's size over its input's.
lower_is_better() {
  [[ $1 == ratio.data_dir_vs_input ]] && return 0
  [[ ! $1 =~ ^ratio\. ]] && [[ $1 =~ (_ms|_s|_mib|bytes|latency|p50|p99|p90|median)(\.|$)|\.ms$ ]] && [[ ! $1 =~ _per_s ]]
}
baseline=bench/baseline.txt
table=$out/table.md
{
  echo "| figure | this run | last recorded | change |"
  echo "| --- | ---: | ---: | --- |"
  worse=0
  while read -r key value; do
    last=$( [ -f "$baseline" ] && awk -v k="$key" '$1 == k {print $2}' "$baseline" || true)
    change=""
    if [ -n "$last" ] && awk -v l="$last" 'BEGIN {exit !(l != 0)}'; then
      pct=$(awk -v a="$value" -v b="$last" 'BEGIN {printf "%+.0f%%", (a - b) / b * 100}')
      if lower_is_better "$key"; then bad=$(awk -v a="$value" -v b="$last" 'BEGIN {print (a > b * 1.15)}')
      else bad=$(awk -v a="$value" -v b="$last" 'BEGIN {print (a < b * 0.85)}'); fi
      case $key in machine.*|*.input_bytes|*loadavg*) bad=0 ;; esac  # the machine's own figures: context, not ours
      change=$pct
      [ "$bad" = 1 ] && change="$pct **worse**" && worse=$((worse + 1))
    fi
    echo "| $key | $value | ${last:-} | $change |"
  done < "$out/all.txt"
  echo
  echo "$worse figure(s) worse than the last recorded by more than 15 %."
} > "$table"
cat "$table"

if [ "${RECORD:-0}" = 1 ]; then
  cp "$out/all.txt" "$baseline"
  {
    echo
    echo "### $stamp — $commit (N=$n, runs=$runs, $(nproc) cores, $(uname -r))"
    echo
    echo "| figure | value |"
    echo "| --- | ---: |"
    awk '{print "| " $1 " | " $2 " |"}' "$out/all.txt"
  } >> docs/performance.md
  echo "bench/all.sh: recorded as the baseline (bench/baseline.txt) and in docs/performance.md" >&2
fi
