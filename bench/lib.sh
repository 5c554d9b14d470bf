# Shared by the benchmark scripts (sourced, from the repository's root).

# The peer harness's workload of N practices (seed 1), generated once into bench/data/;
# prints its path.
workload() {
  mkdir -p bench/data
  local input=bench/data/practices-$1.ndjson
  [ -f "$input" ] || node bench/prepare-workload.js --n "$1" --seed 1 --out "$input" >&2
  echo "$input"
}

# Samples a process's RssAnon (KiB; its heap, not LMDB's mapped file pages) every 0.2 s
# while it runs and keeps the peak in FILE; in the background ($! is the sampler). It does
# not hold the caller's stdout: a pipe reading the caller would otherwise never end.
anon_peak() {  # anon_peak PID FILE
  echo 0 > "$2"
  (peak=0; while kill -0 "$1" 2>/dev/null; do
     v=$(awk '/RssAnon/ {print $2}' "/proc/$1/status" 2>/dev/null || echo 0)
     [ "${v:-0}" -gt "$peak" ] && peak=$v && echo "$peak" > "$2"
     sleep 0.2
   done) >/dev/null 2>&1 &
}

median() { sort -g | awk '{a[NR]=$1} END {print (NR%2) ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2}'; }
# wrk's latencies (850us, 1.2ms, 2s) in milliseconds.
to_ms() { awk '{v=$1; if (v ~ /us$/) {sub(/us$/,"",v); print v/1000} else if (v ~ /ms$/) {sub(/ms$/,"",v); print v} else {sub(/s$/,"",v); print v*1000}}'; }

# wrk_median PREFIX URL [wrk args...]: RUNS runs of SECS seconds (wrk -t2 -c64 after a 2 s
# warm-up), printing the median req/s, p50 and p99; uses the caller's $work, $runs, $secs.
wrk_median() {
  local prefix=$1 url=$2; shift 2
  : > "$work/rps"; : > "$work/p99"; : > "$work/p50"
  wrk -t2 -c64 -d2s "$url" "$@" > /dev/null  # warm-up
  for _ in $(seq 1 "$runs"); do
    wrk -t2 -c64 -d"${secs}s" --latency "$url" "$@" > "$work/wrk"
    if grep -q "Non-2xx" "$work/wrk"; then echo "bench: non-2xx answers from $url" >&2; cat "$work/wrk" >&2; exit 1; fi
    awk '/Requests\/sec/ {print $2}' "$work/wrk" >> "$work/rps"
    awk '$1 == "99%" {print $2}' "$work/wrk" | to_ms >> "$work/p99"
    awk '$1 == "50%" {print $2}' "$work/wrk" | to_ms >> "$work/p50"
  done
  echo "$prefix.req_per_s $(median < "$work/rps")"
  echo "$prefix.latency_ms_p50 $(median < "$work/p50")"
  echo "$prefix.latency_ms_p99 $(median < "$work/p99")"
}
