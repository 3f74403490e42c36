#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# scripts/parallel/explore.sh as a user runs it: GNU parallel runs the shards on this machine,
# locally and through parallel's --sshlogin path (":" is this machine), and the merged report
# and JSON are the bytes of the unsharded explore. Exit 77 (skipped) without GNU parallel.
#   parallel_explore_test.sh TLBSIM SOURCE_DIR
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
check "3 shards, 2 at once" -n 3 -P 2
check "4 shards through --sshlogin 2/:" -n 4 -S 2/:
# A shard that cannot run: exit 2, nothing merged.
if TLBSIM="$tlbsim" "$src/scripts/parallel/explore.sh" -n 2 -- "$src/scenarios.json" > "$work/out.txt" 2> "$work/err.txt"; then
  echo "FAIL: a search without --preemptions was sharded"; exit 1
fi
grep -q "a shard failed; nothing merged" "$work/err.txt" || { echo "FAIL: no message for the failed shard"; cat "$work/err.txt"; exit 1; }
[ ! -s "$work/out.txt" ] || { echo "FAIL: a report was printed after a shard failed"; exit 1; }
echo "ok: a failed shard stops the merge"
