#!/usr/bin/env bash
# Benchmark (not a test): erasure across a network (docs/data-model.md, "Erasure").
#   - a city of N practices on a line of 10 nodes; one practice names a person (a canary);
#   - the 10th node is stopped; `agora erase --all-versions` on the city's node: the time
#     until the 9 running nodes hold the erasure (and answer 410 for the record);
#   - the 10th node started again: the time until it holds the erasure;
#   - every node stopped, compacted and grepped for the canary (raw bytes; the record's
#     bodies are short enough to be stored raw); verify on every node.
#
#   bash bench/erasure.sh [N]      (default: 10000)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-10000}
agora=$PWD/build/agora
[ -x "$agora" ] || bash scripts/build.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-erasurebench.XXXXXX")
declare -A pid
cleanup() { for p in "${pid[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
input=$(workload "$n")
now() { date +%s.%N; }
serve() {  # serve NAME PORT
  : > "$work/$1.out"
  $agora serve --data "$work/$1" --listen "127.0.0.1:$2" --http 127.0.0.1:0 > "$work/$1.out" 2> "$work/$1.err" &
  pid[$1]=$!
  for _ in $(seq 1 100); do grep -q '^http ' "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
}
stop() { kill "${pid[$1]}" 2>/dev/null; wait "${pid[$1]}" 2>/dev/null || true; unset "pid[$1]"; }
head_of() {  # head_of NAME ORIGIN
  $agora status --json --data "$work/$1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s).origins.find(o=>o.origin===process.argv[1]);console.log(o?o.seq:0)})' "$2"
}
names=(n0 n1 n2 n3 n4 n5 n6 n7 n8 n9)
base=$((20000 + RANDOM % 20000))
for i in "${!names[@]}"; do $agora init --data "$work/${names[$i]}" --city "City$i" --country FR > /dev/null 2>&1; done
ids=(); for name in "${names[@]}"; do ids+=("$($agora id --data "$work/$name")"); done
for i in $(seq 0 8); do  # a line: n0 - n1 - ... - n9
  a=${names[$i]}; b=${names[$((i + 1))]}
  $agora peer add "ws://127.0.0.1:$((base + i + 1))/sync" --key "${ids[$((i + 1))]}" --data "$work/$a" > /dev/null
  $agora peer add "ws://127.0.0.1:$((base + i))/sync" --key "${ids[$i]}" --data "$work/$b" > /dev/null
done
$agora import --data "$work/n0" "$input" > /dev/null 2>&1
canary="Zq7Canary$RANDOM$RANDOM"
echo "{\"kind\":\"practice\",\"id\":\"named\",\"title\":\"Mentoring\",\"summary\":\"Ask $canary.\",\"language\":\"en\",\"themes\":[\"employment\"]}" |
  $agora publish - --data "$work/n0" > /dev/null
for i in "${!names[@]}"; do serve "${names[$i]}" $((base + i)); done
city=${ids[0]}
target=$(head_of n0 "$city")
t0=$(now)
until [ "$(head_of n9 "$city")" = "$target" ]; do sleep 0.5; done
echo "erasure.n$n.line_of_10_full_sync_s $(echo "$(now) - $t0" | bc)"

stop n9
t0=$(now)
$agora erase named --all-versions --reason "names a person" --data "$work/n0" > /dev/null
target=$(head_of n0 "$city")
for name in n1 n2 n3 n4 n5 n6 n7 n8; do
  until [ "$(head_of "$name" "$city")" = "$target" ]; do sleep 0.02; done
done
echo "erasure.n$n.erasure_on_9_running_nodes_s $(echo "$(now) - $t0" | bc)"
t0=$(now)
serve n9 $((base + 9))
until [ "$(head_of n9 "$city")" = "$target" ]; do sleep 0.02; done
echo "erasure.n$n.stopped_node_after_restart_s $(echo "$(now) - $t0" | bc)"
found=0
for name in "${names[@]}"; do
  stop "$name"
  $agora verify --data "$work/$name" > /dev/null 2>&1 || { echo "bench/erasure.sh: verify failed on $name" >&2; exit 1; }
  $agora compact --data "$work/$name" > /dev/null
  if grep -rqai "$canary" "$work/$name"; then found=$((found + 1)); fi
done
echo "erasure.n$n.nodes_with_canary_after_compact $found"
