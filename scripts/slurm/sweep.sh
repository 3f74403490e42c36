#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlbsim sweep in N shards as a Slurm job array and a dependent merge job:
# scripts/slurm/shards.sh sweep, whose header lists the options (docs/scale-out.md).
#
#   scripts/slurm/sweep.sh -n SHARDS -d DIR [-J JSON] [-C CSV] [-V SVG] [-s "SBATCH OPTIONS"] [-p SECONDS] -- ARGS...
exec "$(dirname "$0")/shards.sh" sweep "$@"
