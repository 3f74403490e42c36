#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlbsim explore or sweep in N shards run by GNU parallel, on this machine or over ssh, merged
# into the output the unsharded command prints (docs/scale-out.md). scripts/parallel/explore.sh
# and sweep.sh name the command.
#
#   scripts/parallel/shards.sh explore|sweep [-n SHARDS] [-P JOBS] [-S LOGINS] [-d DIR] [-J JSON] [-C CSV] [-V SVG] [-p SECONDS] -- ARGS...
#
#   -n SHARDS   shards to split each search or sweep into (default: this machine's cores)
#   -P JOBS     shards running at once per machine (default: SHARDS locally, parallel's own with -S)
#   -S LOGINS   run shards on these machines (GNU parallel's --sshlogin, e.g. "4/host1,:"); they must
#               see this directory, tlbsim and the scenario files at the same paths (a shared file
#               system); ":" is this machine
#   -d DIR      keep the shard files in DIR (default: a temporary directory, removed at the end)
#   -J FILE     explore: also write the merged JSON report to FILE (what explore --json writes)
#   -C FILE     sweep: write the merged table as CSV to FILE (what sweep --csv writes)
#   -V FILE     sweep: write the merged plot as SVG to FILE (what sweep --svg writes)
#   -p SECONDS  each shard prints a progress line on stderr every SECONDS (default: none)
#
# ARGS are the command's options (and explore's scenario files), without --shard and --json;
# exhaustive exploration needs --preemptions. TLBSIM names the binary (default:
# build/src/cli/tlbsim of this checkout, else tlbsim on PATH). Exit status: merge's (0; 1 when a
# stated verdict disagrees; 2 for bad input), or 2 when a shard failed.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib/shards.sh
. "$root/scripts/lib/shards.sh"
command="${1:-}"
shard_command "$command"
shift
prog="parallel/$command.sh"
shards="$(nproc)"
jobs=""
logins=""
dir=""
merge_outputs=()
progress_args=()
usage() { sed -n '7,23p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:P:S:d:J:C:V:p:h" opt; do
  case "$opt" in
    n) shards="$OPTARG" ;;
    P) jobs="$OPTARG" ;;
    S) logins="$OPTARG" ;;
    d) dir="$OPTARG" ;;
    J) merge_outputs+=(--json "$OPTARG") ;;
    C) merge_outputs+=(--csv "$OPTARG") ;;
    V) merge_outputs+=(--svg "$OPTARG") ;;
    p) progress_args=(--progress "$OPTARG") ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
check_shard_count "$prog" "$shards"
command -v parallel >/dev/null || { echo "$prog: GNU parallel is missing: scripts/deps.sh parallel installs it" >&2; exit 2; }
tlbsim="$(tlbsim_binary "$prog" "$root")"

if [ -z "$dir" ]; then
  dir="$(mktemp -d)"
  trap 'rm -rf "$dir"' EXIT
fi
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"

popts=(--halt now,fail=1 --line-buffer)
if [ -n "$logins" ]; then
  popts+=(--sshlogin "$logins" --workdir "$PWD")
  [ -n "$jobs" ] && popts+=(-j "$jobs")
else
  popts+=(-j "${jobs:-$shards}")
fi
# Each shard prints what it ran (explore: a line per scenario and policy) to stderr, so that
# stdout is the merged output alone.
# parallel hands the joined words to a shell: quote each one here ({} is parallel's shard number).
command_line="$(printf '%q ' "$tlbsim" "$command" "$@" "${progress_args[@]}") --shard {}/$shards --json $(printf '%q' "$dir")/shard-{}.json 1>&2"
if ! parallel "${popts[@]}" "$command_line" ::: $(seq 1 "$shards"); then
  echo "$prog: a shard failed; nothing merged" >&2
  exit 2
fi
files=()
for k in $(seq 1 "$shards"); do files+=("$dir/shard-$k.json"); done
merge=("$tlbsim" merge "${files[@]}" "${merge_outputs[@]}")
status=0
"${merge[@]}" || status=$?
exit "$status"
