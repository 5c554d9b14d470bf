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
