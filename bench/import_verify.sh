#!/usr/bin/env bash
# Benchmark (not a test): import 100,000 practices of the peer harness's workload (seed 1)
# into an empty node, then verify them; compared with this machine's Ed25519 limits
# measured in the same run by `openssl speed ed25519`.
#
#   bash bench/import_verify.sh [N] [RUNS]      (defaults: 100000, 3)
#
# Prints `key value` lines (medians over RUNS) and the ratios to the targets.
set -euo pipefail
cd "$(dirname "$0")/.."
n=${1:-100000}
runs=${2:-3}
agora=build/agora
[ -x "$agora" ] || bash scripts/build.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-bench.XXXXXX")
trap 'rm -rf "$work"' EXIT
input=bench/data/practices-$n.ndjson
[ -f "$input" ] || node bench/prepare-workload.js --n "$n" --seed 1 --out "$input"
input_bytes=$(stat -c %s "$input")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

# One core's sign rate and one core's verify rate (openssl speed runs single-threaded).
speed=$(openssl speed -seconds 3 ed25519 2>/dev/null | awk '/Ed25519/ {print $(NF-1), $NF}')
sign_rate=${speed% *}
verify_rate=${speed#* }
cores=$(nproc)

: > "$work/import" ; : > "$work/verify"; : > "$work/import_rss"; : > "$work/verify_rss"; : > "$work/disk"
for run in $(seq 1 "$runs"); do
  data="$work/node-$run"
  $agora init --data "$data" --city "Malmö" --country SE >/dev/null
  /usr/bin/time -f "%e %M" -o "$work/t" $agora import --data "$data" "$input" >/dev/null 2>&1
  read -r secs rss < "$work/t"
  echo "$n $secs" | awk '{print $1/$2}' >> "$work/import"
  echo "$rss" | awk '{print $1/1024}' >> "$work/import_rss"
  du -sb "$data" | awk '{print $1}' >> "$work/disk"
  /usr/bin/time -f "%e %M" -o "$work/t" $agora verify --data "$data" >/dev/null
  read -r secs rss < "$work/t"
  echo "$n $secs" | awk '{print ($1+1)/$2}' >> "$work/verify"
  echo "$rss" | awk '{print $1/1024}' >> "$work/verify_rss"
  rm -rf "$data"
  echo "run $run done" >&2
done

import=$(median < "$work/import")
verify=$(median < "$work/verify")
disk=$(median < "$work/disk")
echo "machine.ed25519_sign_per_s_1core $sign_rate"
echo "machine.ed25519_verify_per_s_1core $verify_rate"
echo "machine.cores $cores"
echo "agora.n$n.import.records_per_s $import"
echo "agora.n$n.import.peak_rss_mib $(median < "$work/import_rss")"
echo "agora.n$n.verify.records_per_s $verify"
echo "agora.n$n.verify.peak_rss_mib $(median < "$work/verify_rss")"
echo "agora.n$n.data_dir_bytes $disk"
echo "agora.n$n.input_bytes $input_bytes"
awk -v i="$import" -v s="$sign_rate" -v v="$verify" -v vr="$verify_rate" -v c="$cores" -v d="$disk" -v b="$input_bytes" 'BEGIN {
  printf "ratio.import_vs_1core_sign %.3f (target >= 0.65)\n", i / s;
  printf "ratio.verify_vs_%dcore_verify %.3f (target >= 0.75)\n", c, v / (vr * c);
  printf "ratio.data_dir_vs_input %.3f (target <= 1.5)\n", d / b;
}'
