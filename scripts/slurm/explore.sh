#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlbsim explore in N shards as a Slurm job array, and a merge job that runs once every shard
# succeeded (docs/scale-out.md).
#
#   scripts/slurm/explore.sh -n SHARDS -d DIR [-J MERGED.json] [-s "SBATCH OPTIONS"] -- EXPLORE_ARGS...
#
#   -n SHARDS   array tasks, one shard each
#   -d DIR      shard files and the merged report (DIR/report.txt); on a file system every node sees
#   -J FILE     also write the merged JSON report to FILE
#   -s OPTS     more sbatch options for both jobs (partition, account, time limit, ...)
#
# EXPLORE_ARGS are tlbsim explore's options and scenario files, without --shard and --json;
# exhaustive mode needs --preemptions. Paths in them must be valid on the nodes. TLBSIM names
# the binary (default: build/src/cli/tlbsim of this checkout, else tlbsim on PATH). Prints the
# array's and the merge's job ids; DIR/report.txt holds the unsharded report once the merge ran.
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
# shellcheck source=scripts/lib/shards.sh
. "$root/scripts/lib/shards.sh"
shards=""
dir=""
merged_json=""
extra=""
usage() { sed -n '5,19p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while getopts "n:d:J:s:h" opt; do
  case "$opt" in
    n) shards="$OPTARG" ;;
    d) dir="$OPTARG" ;;
    J) merged_json="$OPTARG" ;;
    s) extra="$OPTARG" ;;
    *) usage ;;
  esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
check_shard_count slurm/explore.sh "$shards"
[ -n "$dir" ] || { echo "slurm/explore.sh: -d DIR is needed (shard files and the report go there)" >&2; exit 2; }
command -v sbatch >/dev/null || { echo "slurm/explore.sh: sbatch is missing (scripts/deps.sh slurm installs Slurm's clients)" >&2; exit 2; }
tlbsim="$(tlbsim_binary slurm/explore.sh "$root")"
mkdir -p "$dir"
dir="$(cd "$dir" && pwd)"
read -r -a sbatch_extra <<< "$extra"

array="$(TLBSIM="$tlbsim" TLBSIM_SHARDS="$shards" TLBSIM_SHARD_DIR="$dir" \
  sbatch --parsable --export=ALL --array="1-$shards" --output="$dir/shard-%a.out" "${sbatch_extra[@]}" \
  "$root/scripts/slurm/explore.sbatch" "$@")"
array="${array%%;*}"
merge=("$tlbsim" merge)
for k in $(seq 1 "$shards"); do merge+=("$dir/shard-$k.json"); done
[ -n "$merged_json" ] && merge+=(--json "$merged_json")
merge_job="$(sbatch --parsable --dependency="afterok:$array" --kill-on-invalid-dep=yes --job-name=tlbsim-merge \
  --output="$dir/report.txt" --error="$dir/merge.err" "${sbatch_extra[@]}" --wrap "$(printf '%q ' "${merge[@]}")")"
echo "array $array, merge ${merge_job%%;*}: the report goes to $dir/report.txt"
