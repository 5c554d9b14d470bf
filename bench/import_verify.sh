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
mkdir -p bench/data
input=bench/data/practices-$n.ndjson
[ -f "$input" ] || node bench/prepare-workload.js --n "$n" --seed 1 --out "$input"
input_bytes=$(stat -c %s "$input")

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }

cores=$(nproc)
# One core's Ed25519 sign and verify rates (openssl speed runs single-threaded), measured
# right before each import and each verify so every ratio pairs figures taken together.
openssl_rate() {  # prints "sign verify" per second
  openssl speed -seconds 2 ed25519 2>/dev/null | awk '/Ed25519/ {print $(NF-1), $NF}'
}

: > "$work/import" ; : > "$work/verify"; : > "$work/import_rss"; : > "$work/verify_rss"; : > "$work/disk"
: > "$work/sign_rate"; : > "$work/verify_rate"; : > "$work/import_ratio"; : > "$work/verify_ratio"
for run in $(seq 1 "$runs"); do
  data="$work/node-$run"
  $agora init --data "$data" --city "Malmö" --country SE >/dev/null
  read -r sign_rate _ <<< "$(openssl_rate)"
  /usr/bin/time -f "%e %M" -o "$work/t" $agora import --data "$data" "$input" >/dev/null 2>&1
  read -r secs rss < "$work/t"
  rate=$(echo "$n $secs" | awk '{print $1/$2}')
  echo "$rate" >> "$work/import"
  echo "$sign_rate" >> "$work/sign_rate"
  echo "$rate $sign_rate" | awk '{print $1/$2}' >> "$work/import_ratio"
  echo "$rss" | awk '{print $1/1024}' >> "$work/import_rss"
  du -sb "$data" | awk '{print $1}' >> "$work/disk"
  read -r _ verify_rate <<< "$(openssl_rate)"
  /usr/bin/time -f "%e %M" -o "$work/t" $agora verify --data "$data" >/dev/null
  read -r secs rss < "$work/t"
  rate=$(echo "$n $secs" | awk '{print ($1+1)/$2}')
  echo "$rate" >> "$work/verify"
  echo "$verify_rate" >> "$work/verify_rate"
  echo "$rate $verify_rate $cores" | awk '{print $1/($2*$3)}' >> "$work/verify_ratio"
  echo "$rss" | awk '{print $1/1024}' >> "$work/verify_rss"
  rm -rf "$data"
  echo "run $run done" >&2
done

disk=$(median < "$work/disk")
echo "machine.ed25519_sign_per_s_1core $(median < "$work/sign_rate")"
echo "machine.ed25519_verify_per_s_1core $(median < "$work/verify_rate")"
echo "machine.cores $cores"
echo "agora.n$n.import.records_per_s $(median < "$work/import")"
echo "agora.n$n.import.peak_rss_mib $(median < "$work/import_rss")"
echo "agora.n$n.verify.records_per_s $(median < "$work/verify")"
echo "agora.n$n.verify.peak_rss_mib $(median < "$work/verify_rss")"
echo "agora.n$n.data_dir_bytes $disk"
echo "agora.n$n.input_bytes $input_bytes"
echo "ratio.import_vs_1core_sign $(median < "$work/import_ratio") (median of per-run ratios; target >= 0.65)"
echo "ratio.verify_vs_${cores}core_verify $(median < "$work/verify_ratio") (median of per-run ratios; target >= 0.75)"
echo "$disk $input_bytes" | awk '{printf "ratio.data_dir_vs_input %.3f (target <= 1.5)\n", $1/$2}'
