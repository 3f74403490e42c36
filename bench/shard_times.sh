#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The time N shards of a search or sweep take side by side on N machines like this one,
# measured: runs every shard K/N here, one after another (each alone on the machine), timing
# each process, then merges them (timed) and checks the merge against nothing but its own exit
# status. Prints each shard's time sorted, and the projection: the slowest shard plus the merge
# (docs/scale-out.md, "Projections").
#
#   bench/shard_times.sh N DIR explore|sweep ARGS...
#
# DIR keeps the shard files and times.txt. TLBSIM names the binary (default: build/src/cli/tlbsim).
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
n="$1"
dir="$2"
command="$3"
shift 3
tlbsim="${TLBSIM:-$root/build/src/cli/tlbsim}"
mkdir -p "$dir"
now() { date +%s.%N; }
minus() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.3f", a - b }'; }
: > "$dir/times.txt"
files=()
for k in $(seq 1 "$n"); do
  t0="$(now)"
  "$tlbsim" "$command" "$@" --shard "$k/$n" --json "$dir/shard-$k.json" > /dev/null
  t1="$(now)"
  echo "$k $(minus "$t1" "$t0")" >> "$dir/times.txt"
  files+=("$dir/shard-$k.json")
done
t0="$(now)"
"$tlbsim" merge "${files[@]}" > "$dir/report.txt" 2> "$dir/merge.err" || [ $? -eq 1 ]
t1="$(now)"
merge_s="$(minus "$t1" "$t0")"
sort -k2 -g "$dir/times.txt" | awk -v merge="$merge_s" -v n="$n" '
  { t[NR] = $2; sum += $2 }
  END {
    printf "%d shards: sum %.2f s, fastest %.2f s, median %.2f s, slowest %.2f s; merge %.2f s\n", n, sum, t[1], t[int((NR + 1) / 2)], t[NR], merge
    printf "side by side on %d machines like this one: about %.2f s (slowest shard + merge)\n", n, t[NR] + merge
  }'
cat "$dir/merge.err"
