#!/usr/bin/env bash
# Benchmark (not a test): search through translations (issue 19). N practices of the
# ../shared/peers workload and T Portuguese translations of the first T of them, each with
# two words of a 400-word vocabulary no practice uses; then, under wrk (2 threads, 64
# connections): the distinct searches of each translation's two words (only translations
# match them: every answer finds its records through a translation and says matched_in), the same
# search repeated, and GETs of random translated practices with ?lang=pt.
# Prints `key value` lines (medians over RUNS).
#
#   bash bench/translations.sh [N] [T] [RUNS] [SECONDS]   (defaults: 100000, 20000, 3, 10)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-100000}
translated=${2:-20000}
runs=${3:-3}
secs=${4:-10}
agora=$PWD/build/agora
command -v wrk >/dev/null || { echo "bench/translations.sh: needs wrk (apt-get install wrk)" >&2; exit 1; }
[ -x "$agora" ] || bash scripts/build.sh
input=$(workload "$n")
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-trbench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; [ -n "${KEEP:-}" ] || rm -rf "$work"; }
trap cleanup EXIT

$agora init --data "$work/n" --city Lisboa --country PT >/dev/null
$agora import --data "$work/n" "$input" >/dev/null 2>&1
node_id=$($agora id --data "$work/n")
# The translations, the searches and the paths, from a seeded generator.
node -e '
  const fs=require("fs"),[input,out,searches,paths,node,count]=process.argv.slice(1);
  let s=11;const r=(m)=>{s=(s+0x6D2B79F5)|0;let t=Math.imul(s^(s>>>15),1|s);t=(t+Math.imul(t^(t>>>7),61|t))^t;return ((t^(t>>>14))>>>0)%m};
  const syl=["ba","ce","di","fo","gu","la","me","ni","po","ru","sa","te","vi","zo","qua","lhe","nha","ção"];
  const words=new Set();while(words.size<400)words.add(syl[r(18)]+syl[r(18)]+syl[r(18)]+"ária");
  const w=[...words];const lines=fs.readFileSync(input,"utf8").split("\n").filter(Boolean).slice(0,+count);
  const o=[],p=[],q=new Set();
  for(const l of lines){const id=JSON.parse(l).id;const a=w[r(400)],b=w[r(400)];
    q.add("/api/v1/practices?q="+encodeURIComponent(a+" "+b)+"&limit=20");
    o.push(JSON.stringify({kind:"translation",of:node+"/"+id,of_version:1,language:"pt",
      title:"Prática "+a,summary:"Tradução da prática, com "+a+" e "+b+"."}));
    p.push("/api/v1/practices/"+node+"/"+id+"?lang=pt");}
  fs.writeFileSync(out,o.join("\n")+"\n");fs.writeFileSync(paths,p.join("\n")+"\n");
  fs.writeFileSync(searches,[...q].join("\n")+"\n");  // each a translation'"'"'s two words: distinct, never cached
  ' "$input" "$work/translations.ndjson" "$work/searches" "$work/paths" "$node_id" "$translated"
start=$(date +%s.%N)
$agora import --data "$work/n" "$work/translations.ndjson" >/dev/null 2>&1
import_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "translations.t$translated.import_records_per_s $(awk -v n="$translated" -v t="$import_s" 'BEGIN {printf "%.0f", n / t}')"
$agora serve --data "$work/n" --listen 127.0.0.1:0 --http 127.0.0.1:0 > "$work/out" 2> "$work/err" & pids+=($!)
pid=${pids[-1]}
anon_peak "$pid" "$work/anon_peak"; pids+=($!)
for _ in $(seq 1 100); do grep -q '^http ' "$work/out" 2>/dev/null && break; sleep 0.05; done
url=$(awk '/^http /{print $2}' "$work/out")
start=$(date +%s.%N)
until curl -sf "${url}health" | grep -q '"behind":0,[^}]*"state":"ready"'; do sleep 0.2; done
build_s=$(echo "$(date +%s.%N) - $start" | bc)
echo "translations.n$n.t$translated.index_build_s $build_s"
first=$(head -1 "$work/searches")
curl -s "${url}${first#/}" | grep -q '"matched_in":"pt"' || { echo "bench/translations.sh: $first did not match through a translation" >&2; exit 1; }
wrk_median "translations.t$translated.search_distinct" "$url" -s bench/sequential_get.lua -- "$work/searches"
wrk_median "translations.t$translated.search_repeated" "${url}${first#/}"
wrk_median "translations.t$translated.get_lang" "$url" -s bench/random_get.lua -- "$work/paths"
echo "translations.n$n.node.peak_rss_anon_mib $(awk '{printf "%.0f", $1 / 1024}' "$work/anon_peak")"
