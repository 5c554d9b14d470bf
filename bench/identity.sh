#!/usr/bin/env bash
# Benchmark (not a test): delegated keys (docs/identity.md).
#   - verify: `agora verify` of N practices signed by the city's root key beside N signed by
#     a delegated publisher key (envelope 2: every record's authority checked), medians of
#     RUNS, and their ratio;
#   - rotation: a city of N records synced to 4 more nodes (5 in all, a line); then `agora
#     key rotate` on its node: the records the rotation signs, and the time until every
#     node holds them; then a restart of the city's node, so that every connection proves
#     the city through the new node key, and a record published after it reaching the
#     farthest node.
#
#   bash bench/identity.sh [N] [RUNS]      (defaults: 100000, 3)
set -euo pipefail
cd "$(dirname "$0")/.."
. bench/lib.sh
n=${1:-100000}
runs=${2:-3}
agora=$PWD/build/agora
[ -x "$agora" ] || bash scripts/build.sh
work=$(mktemp -d "${TMPDIR:-/tmp}/agora-identitybench.XXXXXX")
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; rm -rf "$work"; }
trap cleanup EXIT
input=$(workload "$n")
now() { date +%s.%N; }

# ---- verify: root-signed beside delegated-key-signed ----
$agora init --data "$work/root" --city Lyon --country FR > /dev/null
$agora --key "$work/root/root.key" import --data "$work/root" "$input" > /dev/null 2>&1  # envelope 1, as before 0.2
$agora init --data "$work/staff" --city Lyon --country FR > /dev/null
$agora key add "Ana" --role publisher --out "$work/ana.key" --data "$work/staff" > /dev/null
$agora --key "$work/ana.key" import --data "$work/staff" "$input" > /dev/null 2>&1
: > "$work/v_root"; : > "$work/v_staff"
for _ in $(seq 1 "$runs"); do
  for kind in root staff; do
    t0=$(now)
    $agora verify --data "$work/$kind" > /dev/null
    echo "$(now) - $t0" | bc >> "$work/v_$kind"
  done
done
vr=$(median < "$work/v_root"); vs=$(median < "$work/v_staff")
echo "identity.n$n.verify_root_signed_s $vr"
echo "identity.n$n.verify_delegated_key_s $vs"
echo "identity.n$n.verify_delegated_over_root $(echo "scale=3; $vs / $vr" | bc)"

# ---- rotation through a line of 5 nodes ----
serve() {  # serve NAME PORT
  $agora serve --data "$work/$1" --listen "127.0.0.1:$2" --http 127.0.0.1:0 > "$work/$1.out" 2> "$work/$1.err" &
  pids+=($!)
  for _ in $(seq 1 100); do grep -q '^http ' "$work/$1.out" 2>/dev/null && break; sleep 0.05; done
}
head_of() {  # head_of NAME ORIGIN
  $agora status --json --data "$work/$1" |
    node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>{const o=JSON.parse(s).origins.find(o=>o.origin===process.argv[1]);console.log(o?o.seq:0)})' "$2"
}
base=$((20000 + RANDOM % 20000))
names=(root n1 n2 n3 n4)
for i in 1 2 3 4; do $agora init --data "$work/n$i" --city "City$i" --country NL > /dev/null 2>&1; done
ids=(); for name in "${names[@]}"; do ids+=("$($agora id --data "$work/$name")"); done
for i in 0 1 2 3; do  # a line: root - n1 - n2 - n3 - n4
  a=${names[$i]}; b=${names[$((i + 1))]}
  $agora peer add "ws://127.0.0.1:$((base + i + 1))/sync" --key "${ids[$((i + 1))]}" --data "$work/$a" > /dev/null
  $agora peer add "ws://127.0.0.1:$((base + i))/sync" --key "${ids[$i]}" --data "$work/$b" > /dev/null
done
for i in 0 1 2 3 4; do serve "${names[$i]}" $((base + i)); done
city=${ids[0]}
target=$(head_of root "$city")
t0=$(now)
until [ "$(head_of n4 "$city")" = "$target" ]; do sleep 0.5; done
echo "identity.n$n.line_of_5_full_sync_s $(echo "$(now) - $t0" | bc)"
before=$target
t0=$(now)
$agora key rotate --data "$work/root" > /dev/null
target=$(head_of root "$city")
echo "identity.n$n.rotation_records_signed $((target - before))"
until [ "$(head_of n4 "$city")" = "$target" ] && [ "$(head_of n1 "$city")" = "$target" ] &&
  [ "$(head_of n2 "$city")" = "$target" ] && [ "$(head_of n3 "$city")" = "$target" ]; do sleep 0.05; done
echo "identity.n$n.rotation_on_all_5_nodes_s $(echo "$(now) - $t0" | bc)"
kill "${pids[0]}" 2>/dev/null; wait "${pids[0]}" 2>/dev/null || true  # the city's node: new connections from here
serve root "$base"
echo '{"kind":"practice","id":"after-rotation","title":"After the rotation","summary":"Signed by the new node key.","language":"en","themes":["employment"]}' |
  $agora publish - --data "$work/root" > /dev/null
target=$(head_of root "$city")
t0=$(now)
until [ "$(head_of n4 "$city")" = "$target" ]; do sleep 0.05; done
echo "identity.n$n.after_restart_record_to_farthest_node_s $(echo "$(now) - $t0" | bc)"
for name in "${names[@]}"; do
  $agora verify --data "$work/$name" > /dev/null 2>&1 || { echo "bench/identity.sh: verify failed on $name" >&2; exit 1; }
done
