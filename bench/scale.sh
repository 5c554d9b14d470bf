#!/usr/bin/env bash
# Benchmark (not a test): a network's worth of records. N practices of the peer harness's
# workload (seed 1) published by C cities (each its own key and chain, as a network of
# hundreds of cities is, not one city), gathered on node A, then:
#   - import rate (all cities' `agora import`, summed time) against the 1-core sign rate,
#   - `agora verify` on A against the all-core verify rate,
#   - full sync of everything from A to an empty node B (indexing on), B's peak RssAnon,
#   - B's first search-index build (from the end of the sync to /health ready),
#   - on B under wrk (64 connections): GET one record, a filtered list (city + theme),
#     distinct searches with filters; the export of everything; disk per record,
#   - a fixed-body Beast server in the same run for the HTTP ratio.
# Prints `key value` lines, then ratio.* lines.
#
#   bash bench/scale.sh [N] [CITIES] [SECONDS]     (defaults: 1000000, 300, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-1000000}
cities=${2:-300}
secs=${3:-10}
agora=$PWD/build/agora
probe=$PWD/build/agora_sync_probe
fixed=$PWD/build/agora_fixed_http
command -v wrk >/dev/null || { echo "bench/scale.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$agora" ] && [ -x "$probe" ] && [ -x "$fixed" ] || bash scripts/build.sh
input=$(workload "$n")
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-scale.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
now() { date +%s.%N; }
since() { echo "$(now) - $1" | bc; }
cores=$(nproc)
out() { echo "$@" | tee -a "$work/lines"; }  # a result line, kept for the ratios

# The machine's limits, in this run.
read -r sign_1core _ <<< "$(openssl speed -seconds 2 ed25519 2>/dev/null | awk '/Ed25519/ {print $(NF-1), $NF}')"
read -r _ verify_all <<< "$(openssl speed -multi "$cores" -seconds 2 ed25519 2>/dev/null | awk '/^ *253 bits EdDSA/ {print $(NF-1), $NF}')"
out "machine.ed25519_sign_per_s_1core $sign_1core"
out "machine.ed25519_verify_per_s_${cores}core $verify_all"

# C cities, each importing its share (line i goes to city i mod C).
split_dir=$work/split
mkdir -p "$split_dir"
awk -v c="$cities" -v d="$split_dir" '{print > (d "/" (NR - 1) % c ".ndjson")}' "$input"
import_s=0
dirs=()
codes=(FR DE SE DK NL BE ES PT IT FI NO GB IE AT CH PL CZ HU RO GR TR ZA KE NG BR AR MX CA US JP)
for i in $(seq 0 $((cities - 1))); do
  d=$work/city-$i
  $agora init --data "$d" --city "City $i" --country "${codes[$((i % 30))]}" >/dev/null
  t=$(now)
  $agora import --data "$d" "$split_dir/$i.ndjson" >/dev/null 2>&1
  import_s=$(echo "$import_s + $(since "$t")" | bc)
  dirs+=("$d")
done
rm -rf "$split_dir"
out "agora.scale.n$n.cities $cities"
out "agora.scale.n$n.import.records_per_s $(awk -v n="$n" -v t="$import_s" 'BEGIN {printf "%.0f", n / t}')"

a=$work/a
$agora init --data "$a" --city Lyon --country FR >/dev/null
$probe merge --into "$a" --from "${dirs[@]}" >/dev/null
rm -rf "${dirs[@]}"
t=$(now)
$agora verify --data "$a" >/dev/null
verify_s=$(since "$t")
out "agora.scale.n$n.verify.records_per_s $(awk -v n="$n" -v t="$verify_s" 'BEGIN {printf "%.0f", n / t}')"
out "agora.scale.n$n.disk_bytes_per_record $(du -sb "$a/store" | awk -v n="$n" '{printf "%.0f", $1 / n}')"

# The full sync to an empty node B, which indexes as it goes (at background priority).
b=$work/b
$agora init --data "$b" --city "Malmö" --country SE >/dev/null
ida=$($agora id --data "$a") idb=$($agora id --data "$b")
$agora peer add --data "$a" - --key "$idb" >/dev/null
$agora serve --data "$a" --listen 127.0.0.1:0 --http 127.0.0.1:0 --no-index > "$work/a.out" 2> "$work/a.err" &
pids+=($!)
for _ in $(seq 1 200); do grep -q '^http ' "$work/a.out" 2>/dev/null && break; sleep 0.05; done
$agora serve --data "$b" --listen 127.0.0.1:0 --http 127.0.0.1:0 --max-new-origins $((cities + 10)) \
  > "$work/b.out" 2> "$work/b.err" &
pids+=($!); pid_b=$!
for _ in $(seq 1 200); do grep -q '^http ' "$work/b.out" 2>/dev/null && break; sleep 0.05; done
url_b=$(awk '/^http /{print $2}' "$work/b.out")
anon_peak "$pid_b" "$work/anon"; pids+=($!)
total=$($agora status --data "$a" --json | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).log_length))')
t=$(now)
$agora peer add --data "$b" "$(awk '/^sync /{print $2}' "$work/a.out")" --key "$ida" >/dev/null
until [ "$(curl -s "${url_b}health" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{try{console.log(JSON.parse(s).search_index.of)}catch(e){console.log(0)}})')" -ge "$((total + 2))" ]; do sleep 0.5; done
sync_s=$(since "$t")
out "agora.scale.n$n.full_sync.records_per_s $(awk -v n="$total" -v t="$sync_s" 'BEGIN {printf "%.0f", n / t}')"
out "agora.scale.n$n.full_sync.rss_anon_peak_mib $(awk '{printf "%.0f", $1 / 1024}' "$work/anon")"
t=$(now)
until curl -s "${url_b}health" | grep -q '"behind":0,[^}]*"state":"ready"'; do sleep 0.5; done
out "agora.scale.n$n.index_after_sync.s $(since "$t")"
out "agora.scale.n$n.index.rss_anon_peak_mib $(awk '{printf "%.0f", $1 / 1024}' "$work/anon")"

# HTTP on B, beside the fixed-body server.
wrk_line() {  # wrk_line PREFIX URL [args]
  local prefix=$1 url=$2; shift 2
  wrk -t2 -c64 -d"${secs}s" --latency "$url" "$@" > "$work/wrk"
  if grep -q "Non-2xx" "$work/wrk"; then echo "bench/scale.sh: non-2xx answers from $url" >&2; cat "$work/wrk" >&2; exit 1; fi
  out "$prefix.req_per_s $(awk '/Requests\/sec/ {print $2}' "$work/wrk")"
  out "$prefix.latency_ms_p99 $(awk '$1 == "99%" {print $2}' "$work/wrk" | to_ms)"
}
"$fixed" 1 > "$work/fixed.out" & pids+=($!)
for _ in $(seq 1 100); do grep -q '^http ' "$work/fixed.out" 2>/dev/null && break; sleep 0.05; done
wrk_line beast_fixed_2kb "$(awk '/^http /{print $2}' "$work/fixed.out")"
kill "${pids[-1]}"
one=$(curl -s "${url_b}api/v1/practices?limit=1&facets=false" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const i=JSON.parse(s).items[0];console.log(i.origin+"/"+i.id)})')
wrk_line "agora.scale.n$n.get_one" "${url_b}api/v1/practices/$one"
wrk_line "agora.scale.n$n.list_city_theme" "${url_b}api/v1/practices?city=City%207&theme=housing&limit=20"
node -e 'let s=7;const r=(m)=>{s=(s+0x6D2B79F5)|0;let t=Math.imul(s^(s>>>15),1|s);t=(t+Math.imul(t^(t>>>7),61|t))^t;return ((t^(t>>>14))>>>0)%m};
  const w=["migrant","workers","housing","language","civic","council","inclusive","women","youth","families","mentoring","digital","pilot","programme","network","employment","training","refugees","newcomers","health"];
  const themes=["employment","housing","education","health","participation","language"];const seen=new Set();const out=[];
  while(out.length<40000){let t="/api/v1/practices?q="+w[r(w.length)]+"+"+w[r(w.length)];const f=r(4);
    if(f==0)t+="&theme="+themes[r(6)];else if(f==1)t+="&city=City%20"+r(300);else if(f==2)t+="&year_from="+(2005+r(15));
    t+="&limit="+(10+r(11));if(!seen.has(t)){seen.add(t);out.push(t)}}
  require("fs").writeFileSync(process.argv[1],out.join("\n")+"\n")' "$work/searches"
wrk_line "agora.scale.n$n.search_distinct" "$url_b" -s bench/sequential_get.lua -- "$work/searches"
t=$(curl -s -o "$work/export" -w '%{time_total}' "${url_b}api/v1/export?format=ndjson")
out "agora.scale.n$n.export_ndjson.records_per_s $(awk -v t="$t" -v n="$n" 'BEGIN {printf "%.0f", n / t}')"
rm -f "$work/export"
out "agora.scale.n$n.node_b.rss_anon_peak_mib $(awk '{printf "%.0f", $1 / 1024}' "$work/anon")"
get() { awk -v k="$1" '$1 == k {print $2}' "$work/lines"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
echo "ratio.import_vs_1core_sign $(ratio "$(get "agora.scale.n$n.import.records_per_s")" "$sign_1core")"
echo "ratio.verify_vs_${cores}core_verify $(ratio "$(get "agora.scale.n$n.verify.records_per_s")" "$verify_all")"
echo "ratio.full_sync_vs_${cores}core_verify $(ratio "$(get "agora.scale.n$n.full_sync.records_per_s")" "$verify_all")"
echo "ratio.get_one_vs_beast_fixed $(ratio "$(get "agora.scale.n$n.get_one.req_per_s")" "$(get beast_fixed_2kb.req_per_s)")"
