#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlbsim explore or sweep in N shards as a Slurm job array (scripts/slurm/explore.sbatch or
# sweep.sbatch), and a merge job that runs once every shard succeeded (docs/scale-out.md).
# scripts/slurm/explore.sh and sweep.sh name the command.
#
#   scripts/slurm/shards.sh explore|sweep -n SHARDS -d DIR [-J JSON] [-C CSV] [-V SVG] [-s "SBATCH OPTIONS"] [-p SECONDS] -- ARGS...
#
#   -n SHARDS   array tasks, one shard each
#   -d DIR      shard files and the merged report (DIR/report.txt); on a file system every node sees
#   -J FILE     explore: also write the merged JSON report to FILE
#   -C FILE     sweep: write the merged table as CSV to FILE
#   -V FILE     sweep: write the merged plot as SVG to FILE
#   -s OPTS     more sbatch options for both jobs (partition, account, time limit, ...)
#   -p SECONDS  a progress line in each shard's DIR/shard-K.out every SECONDS (default 60; 0: none)
#
# ARGS are the command's options (and explore's scenario files), without --shard and --json;
# exhaustive exploration needs --preemptions. Paths in them must be valid on the nodes. TLBSIM
# names the binary (default: build/src/cli/tlbsim of this checkout, else tlbsim on PATH). Prints
# the array's and the merge's job ids; DIR/report.txt holds the unsharded output once the merge
# ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib/shards.sh
. "$root/scripts/lib/shards.sh"
command="${1:-}"
shard_command "$command"
shift
prog="slurm/$command.sh"
shards=""
dir=""
merge_outputs=()
extra=""
progress=60
usage() { sed -n '7,21p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:d:J:C:V:s:p:h" opt; do
  case "$opt" in
    n) shards="$OPTARG" ;;
    d) dir="$OPTARG" ;;
    J) merge_outputs+=(--json "$OPTARG") ;;
    C) merge_outputs+=(--csv "$OPTARG") ;;
    V) merge_outputs+=(--svg "$OPTARG") ;;
    s) extra="$OPTARG" ;;
    p) progress="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
check_shard_count "$prog" "$shards"
[ -n "$dir" ] || { echo "$prog: -d DIR is needed (shard files and the report go there)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "$prog: sbatch is missing (scripts/deps.sh slurm installs Slurm's clients)" >&2; exit 2; }
tlbsim="$(tlbsim_binary "$prog" "$root")"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
read -r -a sbatch_extra <<< "$extra"
progress_args=()
[ "$progress" != 0 ] && progress_args=(--progress "$progress")

array="$(TLBSIM="$tlbsim" TLBSIM_SHARDS="$shards" TLBSIM_SHARD_DIR="$dir" \
  sbatch --parsable --export=ALL --array="1-$shards" --output="$dir/shard-%a.out" "${sbatch_extra[@]}" \
  "$root/scripts/slurm/$command.sbatch" "$@" "${progress_args[@]}")"
array="${array%%;*}"
merge=("$tlbsim" merge)
for k in $(seq 1 "$shards"); do merge+=("$dir/shard-$k.json"); done
merge+=("${merge_outputs[@]}")
merge_job="$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --job-name=tlbsim-merge \
  --output="$dir/report.txt" --error="$dir/merge.err" "${sbatch_extra[@]}" --wrap "$(printf '%q ' "${merge[@]}")")"
echo "array $array, merge ${merge_job%%;*}: the report goes to $dir/report.txt"
