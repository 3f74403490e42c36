#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/slurm/explore.sh on a real single-node Slurm cluster started here (slurm_local.sh): a
# 4-task job array and its dependent merge job give the unsharded explore's bytes, report and
# JSON. Exit 77 (skipped) when Slurm cannot start here, saying why.
#   slurm_explore_test.sh TLBSIM SOURCE_DIR
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
for _ in $(seq 240); do
  [ -z "$(timeout 5 squeue -h 2>/dev/null || echo busy)" ] && break
  sleep 0.5
done
[ -z "$(timeout 5 squeue -h 2>/dev/null || echo busy)" ] || { echo "FAIL: jobs still queued after 120 s"; timeout 5 squeue; exit 1; }
cmp "$work/whole.txt" "$work/shards/report.txt" || { echo "FAIL: merged report differs"; cat "$work/shards/merge.err" || true; exit 1; }
cmp "$work/whole.json" "$work/merged.json" || { echo "FAIL: merged JSON differs"; exit 1; }
echo "ok: 4-task array and its merge job give the unsharded bytes"
