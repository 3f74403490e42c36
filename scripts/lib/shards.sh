# SPDX-License-Identifier: MIT
# Shared by the scale-out scripts (scripts/parallel/shards.sh, scripts/slurm/shards.sh); sourced.

# check_shard_count PROG N: N must be a positive number of shards; else exit 2 naming PROG.
check_shard_count() {
  [[ "$2" =~ ^[1-9][0-9]*$ ]] || { echo "$1: -n: expected a positive number of shards, got '$2'" >&2; exit 2; }
}

# tlbsim_binary PROG ROOT: the absolute path of the tlbsim binary: $TLBSIM, else
# ROOT/build/src/cli/tlbsim, else tlbsim on PATH; exit 2 naming PROG if there is none.
tlbsim_binary() {
  local bin="${TLBSIM:-}"
  if [ -z "$bin" ]; then
    if [ -x "$2/build/src/cli/tlbsim" ]; then bin="$2/build/src/cli/tlbsim"; else bin="$(command -v tlbsim || true)"; fi
  fi
  [ -n "$bin" ] && [ -x "$bin" ] || { echo "$1: no tlbsim binary: build it (scripts/run.sh) or set TLBSIM" >&2; exit 2; }
  echo "$(cd "$(dirname "$bin")" && pwd)/$(basename "$bin")"
}

# shard_command WORD: WORD must be explore or sweep, the command a scale-out script shards; else
# exit 2.
shard_command() {
  case "$1" in
    explore|sweep) ;;
    *) echo "shards.sh: expected the command, explore or sweep, first; got '$1'" >&2; exit 2 ;;
  esac
}
