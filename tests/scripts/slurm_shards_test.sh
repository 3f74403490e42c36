#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/slurm/explore.sh and sweep.sh on a real single-node Slurm cluster started here
# (slurm_local.sh): a 4-task job array and its dependent merge job give the unsharded explore's
# bytes, report and JSON, and a 3-task sweep array the unsharded table, CSV and SVG. Exit 77
# (skipped) when Slurm cannot start here, saying why.
#   slurm_shards_test.sh TLBSIM SOURCE_DIR
set -euo pipefail
tlbsim="$1"
src="$2"
work="$(mktemp -d)"
chmod 0755 "$work"  # the munge user reaches its socket below it
cluster="$work/cluster"
cleanup() { "$src/tests/scripts/slurm_local.sh" stop "$cluster" || true; rm -rf "$work"; }
trap cleanup EXIT
"$src/tests/scripts/slurm_local.sh" start "$cluster" || exit $?
export SLURM_CONF="$cluster/slurm.conf"
args=("$src/scenarios.json" --policy old,fixed --preemptions 1 --split-depth 2)
"$tlbsim" explore "${args[@]}" --json "$work/whole.json" > "$work/whole.txt"
TLBSIM="$tlbsim" "$src/scripts/slurm/explore.sh" -n 4 -d "$work/shards" -J "$work/merged.json" -- "${args[@]}"
sweep_args=(--sizes 1,16,64,512 --workload fork --vmas 5)
"$tlbsim" sweep "${sweep_args[@]}" --csv "$work/whole.csv" --svg "$work/whole.svg" > "$work/whole-sweep.txt"
TLBSIM="$tlbsim" "$src/scripts/slurm/sweep.sh" -n 3 -d "$work/sweep" -C "$work/merged.csv" -V "$work/merged.svg" -- "${sweep_args[@]}"
for _ in $(seq 240); do
  [ -z "$(timeout 5 squeue -h 2>/dev/null || echo busy)" ] && break
  sleep 0.5
done
[ -z "$(timeout 5 squeue -h 2>/dev/null || echo busy)" ] || { echo "FAIL: jobs still queued after 120 s"; timeout 5 squeue; exit 1; }
cmp "$work/whole.txt" "$work/shards/report.txt" || { echo "FAIL: merged report differs"; cat "$work/shards/merge.err" || true; exit 1; }
cmp "$work/whole.json" "$work/merged.json" || { echo "FAIL: merged JSON differs"; exit 1; }
echo "ok: 4-task array and its merge job give the unsharded bytes"
grep -q "^shard 2/4, .*of the estimated work" "$work/shards/shard-2.out" || { echo "FAIL: no progress line in shard-2.out"; cat "$work/shards/shard-2.out"; exit 1; }
grep -q "^merge: 4 shards, executions per shard" "$work/shards/merge.err" || { echo "FAIL: merge.err states no balance"; cat "$work/shards/merge.err"; exit 1; }
echo "ok: each shard's log ends with its progress, merge.err states the balance"
cmp "$work/whole-sweep.txt" "$work/sweep/report.txt" || { echo "FAIL: merged sweep table differs"; cat "$work/sweep/merge.err" || true; exit 1; }
cmp "$work/whole.csv" "$work/merged.csv" || { echo "FAIL: merged CSV differs"; exit 1; }
cmp "$work/whole.svg" "$work/merged.svg" || { echo "FAIL: merged SVG differs"; exit 1; }
echo "ok: 3-task sweep array and its merge job give the unsharded table, CSV and SVG"
