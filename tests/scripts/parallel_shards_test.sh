#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/parallel/explore.sh and sweep.sh as a user runs them: GNU parallel runs the shards on
# this machine, locally and through parallel's --sshlogin path (":" is this machine), and the
# merged report and JSON (sweep: table, CSV and SVG) are the bytes of the unsharded command.
# Exit 77 (skipped) without GNU parallel.
#   parallel_shards_test.sh TLBSIM SOURCE_DIR
set -euo pipefail
tlbsim="$1"
src="$2"
command -v parallel >/dev/null || { echo "SKIP: GNU parallel is missing (scripts/deps.sh installs it)" >&2; exit 77; }
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
args=("$src/scenarios.json" --policy old,fixed --preemptions 1 --split-depth 2)
"$tlbsim" explore "${args[@]}" --json "$work/whole.json" > "$work/whole.txt"
check() {
  local what="$1"; shift
  TLBSIM="$tlbsim" "$src/scripts/parallel/explore.sh" "$@" -J "$work/merged.json" -- "${args[@]}" > "$work/merged.txt" 2> "$work/err.txt" ||
    { echo "FAIL ($what): explore.sh exited $?"; cat "$work/err.txt"; exit 1; }
  cmp "$work/whole.txt" "$work/merged.txt" || { echo "FAIL ($what): report differs"; exit 1; }
  cmp "$work/whole.json" "$work/merged.json" || { echo "FAIL ($what): JSON differs"; exit 1; }
  echo "ok: $what"
}
check "3 shards, 2 at once" -n 3 -P 2 -p 30
grep -q "^shard 3/3, .*of the estimated work" "$work/err.txt" || { echo "FAIL: no progress line from shard 3"; cat "$work/err.txt"; exit 1; }
grep -q "^merge: 3 shards, executions per shard" "$work/err.txt" || { echo "FAIL: merge states no balance"; cat "$work/err.txt"; exit 1; }
echo "ok: -p gives each shard's progress, merge the balance"
check "4 shards through --sshlogin 2/:" -n 4 -S 2/:
# A shard that cannot run: exit 2, nothing merged.
if TLBSIM="$tlbsim" "$src/scripts/parallel/explore.sh" -n 2 -- "$src/scenarios.json" > "$work/out.txt" 2> "$work/err.txt"; then
  echo "FAIL: a search without --preemptions was sharded"; exit 1
fi
grep -q "a shard failed; nothing merged" "$work/err.txt" || { echo "FAIL: no message for the failed shard"; cat "$work/err.txt"; exit 1; }
[ ! -s "$work/out.txt" ] || { echo "FAIL: a report was printed after a shard failed"; exit 1; }
echo "ok: a failed shard stops the merge"

# sweep.sh: the table, CSV and SVG of the unsharded sweep.
sweep_args=(--sizes 1,16,64,512 --workload madv-dontneed)
"$tlbsim" sweep "${sweep_args[@]}" --csv "$work/whole.csv" --svg "$work/whole.svg" > "$work/whole-sweep.txt"
TLBSIM="$tlbsim" "$src/scripts/parallel/sweep.sh" -n 3 -S 2/: -C "$work/merged.csv" -V "$work/merged.svg" -- "${sweep_args[@]}" \
  > "$work/merged-sweep.txt" 2> "$work/err.txt" || { echo "FAIL (sweep): sweep.sh exited $?"; cat "$work/err.txt"; exit 1; }
cmp "$work/whole-sweep.txt" "$work/merged-sweep.txt" || { echo "FAIL (sweep): table differs"; exit 1; }
cmp "$work/whole.csv" "$work/merged.csv" || { echo "FAIL (sweep): CSV differs"; exit 1; }
cmp "$work/whole.svg" "$work/merged.svg" || { echo "FAIL (sweep): SVG differs"; exit 1; }
echo "ok: sweep in 3 shards through --sshlogin 2/:"
