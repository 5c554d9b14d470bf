#!/usr/bin/env bash
# Benchmark (not a test): the HTTP API under wrk (2 threads, 64 connections, loopback) on
# N practices of the ../shared/peers workload, side by side in one run with
#  - a minimal Boost.Beast server answering a fixed 2 KB body (build/agora_fixed_http:
#    the practical limit of one io thread on this machine), and
#  - pouchdb-server's GET by id and Mango _find (../shared/peers/bench-pouchdb.js, same
#    workload, same wrk settings) unless POUCH=0.
# Agora figures: GET one practice (a fixed id, as the peers harness does: served from the
# record cache after the first request), GET random practices over all N (mostly cache
# misses), a filtered list (city + theme, 20 results), a full-text search, each repeated;
# the list and search once uncached; 40,000 distinct searches with filters, none repeated
# (no cache hits); the export of everything (time); the node's peak RSS and peak RssAnon.
# Prints `key value` lines (medians over RUNS), then ratio.* lines.
#
#   bash bench/http.sh [N] [RUNS] [SECONDS]     (defaults: 100000, 3, 10; POUCH=1)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-100000}
runs=${2:-3}
secs=${3:-10}
pouch=${POUCH:-1}
agora=$PWD/build/agora
fixed=$PWD/build/agora_fixed_http
command -v wrk >/dev/null || { echo "bench/http.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$agora" ] && [ -x "$fixed" ] || bash scripts/build.sh
input=$(workload "$n")
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-httpbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT

{
  # The practical limit: one io thread, like the node's.
  "$fixed" 1 > "$work/fixed.out" & pids+=($!)
  for _ in $(seq 1 100); do grep -q '^http ' "$work/fixed.out" 2>/dev/null && break; sleep 0.05; done
  wrk_median "beast_fixed_2kb" "$(awk '/^http /{print $2}' "$work/fixed.out")"
  kill "${pids[-1]}"

  $agora init --data "$work/n" --city Lyon --country FR >/dev/null
  $agora import --data "$work/n" "$input" >/dev/null 2>&1
  $agora serve --data "$work/n" --listen 127.0.0.1:0 --http 127.0.0.1:0 > "$work/out" 2> "$work/err" & pids+=($!)
  pid=${pids[-1]}
  anon_peak "$pid" "$work/anon_peak"; pids+=($!)
  for _ in $(seq 1 100); do grep -q '^http ' "$work/out" 2>/dev/null && break; sleep 0.05; done
  url=$(awk '/^http /{print $2}' "$work/out")
  start=$(date +%s.%N)
  # The first index build (lists answer from LMDB meanwhile; q= searches once it is ready).
  until curl -sf "${url}health" | grep -q '"behind":0,[^}]*"state":"ready"'; do sleep 0.2; done
  build_s=$(echo "$(date +%s.%N) - $start" | bc)
  echo "agora.n$n.search_index.build_s $build_s"
  echo "agora.n$n.search_index.build_records_per_s $(awk -v n="$n" -v t="$build_s" 'BEGIN {printf "%.0f", n / t}')"
  node_id=$($agora id --data "$work/n")
  node -e 'const fs=require("fs");const rl=require("readline").createInterface({input:fs.createReadStream(process.argv[1])});
    const out=fs.createWriteStream(process.argv[2]);rl.on("line",l=>out.write("/api/v1/practices/"+process.argv[3]+"/"+JSON.parse(l).id+"\n"));
    rl.on("close",()=>out.end());' "$input" "$work/paths" "$node_id"
  # 40,000 distinct searches (two title words each and, for two in three, a theme, a
  # language or a year range; seeded), asked in order without repeats: none can come from
  # the answer cache, every one is computed with its facets.
  node -e 'const fs=require("fs");const rl=require("readline").createInterface({input:fs.createReadStream(process.argv[1])});
    const words=new Set();let n=0;rl.on("line",l=>{if(n++<3000)for(const w of JSON.parse(l).title.split(/\s+/))if(w.length>3)words.add(w)});
    rl.on("close",()=>{const w=[...words];let s=7;
      const r=(m)=>{s=(s+0x6D2B79F5)|0;let t=Math.imul(s^(s>>>15),1|s);t=(t+Math.imul(t^(t>>>7),61|t))^t;return ((t^(t>>>14))>>>0)%m};
      const themes=["employment","housing","education","health","participation","language"],langs=["en","fr","de","sv","es"];
      const seen=new Set();const out=[];
      while(out.length<40000){let t="/api/v1/practices?q="+encodeURIComponent(w[r(w.length)]+" "+w[r(w.length)]);
        const f=r(6);if(f==0||f==1)t+="&theme="+themes[r(6)];else if(f==2)t+="&language="+langs[r(5)];
        else if(f==3){const y=2005+r(15);t+="&year_from="+y+"&year_to="+(y+r(5))}
        t+="&limit=20";if(!seen.has(t)){seen.add(t);out.push(t)}}
      fs.writeFileSync(process.argv[2],out.join("\n")+"\n")});' "$input" "$work/searches"
  one="${url}api/v1/practices/$node_id/$(head -1 "$work/paths" | awk -F/ '{print $NF}')"
  list="${url}api/v1/practices?city=Lyon&theme=housing&limit=20"
  search="${url}api/v1/practices?q=housing+employment&limit=20"
  ms() { curl -s -o /dev/null -w '%{time_total}' "$1" | awk '{print $1 * 1000}'; }
  # Uncached: five first-time targets each (limit 20..16), median; the very first request
  # after the index build also opens the index files, so it is left out.
  ms "${list}&facets=false" >/dev/null
  for l in 20 19 18 17 16; do ms "${list/limit=20/limit=$l}"; done | median | sed "s/^/agora.n$n.list.uncached_ms /"
  for l in 20 19 18 17 16; do ms "${search/limit=20/limit=$l}"; done | median | sed "s/^/agora.n$n.search.uncached_ms /"
  wrk_median "agora.n$n.get_one" "$one"
  wrk_median "agora.n$n.get_random" "$url" -s bench/random_get.lua -- "$work/paths"
  wrk_median "agora.n$n.list" "$list"
  wrk_median "agora.n$n.search" "$search"
  wrk_median "agora.n$n.search_distinct" "$url" -s bench/sequential_get.lua -- "$work/searches"
  for format in ndjson csv jsonld; do
    t=$(curl -s -o "$work/export" -w '%{time_total}' "${url}api/v1/export?format=$format")
    echo "agora.n$n.export_$format.records_per_s $(awk -v t="$t" -v n="$n" 'BEGIN {printf "%.0f", (n + 2) / t}')"
    echo "agora.n$n.export_$format.mib $(du -m "$work/export" | cut -f1)"
    rm -f "$work/export"
  done
  echo "agora.n$n.node.peak_rss_mib $(awk '/VmHWM/ {printf "%.0f", $2 / 1024}' /proc/$pid/status)"
  echo "agora.n$n.node.peak_rss_anon_mib $(awk '{printf "%.0f", $1 / 1024}' "$work/anon_peak")"
} | tee "$work/agora"

if [ "$pouch" = 1 ]; then
  peers=$(cd ../shared/peers && pwd)
  [ -d "$peers/node_modules" ] || (cd "$peers" && npm ci --no-audit --no-fund >&2)
  (cd "$peers" && node bench-pouchdb.js --n "$n" --runs 1 --seed 1 --wrk-seconds "$secs" --wrk-connections 64 \
     --max-seconds 1500) | tee "$work/pouchdb"
fi
get() { [ -f "$work/$1" ] && awk -v k="$2" '$1 == k {print $2}' "$work/$1"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "n/a"; else printf "%.2f\n", a / b }'; }
echo "ratio.get_one.agora_vs_beast_fixed $(ratio "$(get agora "agora.n$n.get_one.req_per_s")" "$(get agora beast_fixed_2kb.req_per_s)")"
echo "ratio.get_random.agora_vs_beast_fixed $(ratio "$(get agora "agora.n$n.get_random.req_per_s")" "$(get agora beast_fixed_2kb.req_per_s)") (target >= 0.5)"
echo "ratio.get_one.agora_vs_pouchdb $(ratio "$(get agora "agora.n$n.get_one.req_per_s")" "$(get pouchdb "pouchdb.n$n.http_get_by_id.req_per_s")")"
echo "ratio.get_random.agora_vs_pouchdb $(ratio "$(get agora "agora.n$n.get_random.req_per_s")" "$(get pouchdb "pouchdb.n$n.http_get_by_id.req_per_s")")"
echo "ratio.list_p99.pouchdb_find_vs_agora $(ratio "$(get pouchdb "pouchdb.n$n.http_find_city.p99_ms")" "$(get agora "agora.n$n.list.latency_ms_p99")")"
