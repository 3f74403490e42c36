#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# tlbsim explore in N shards run by GNU parallel and merged: scripts/parallel/shards.sh explore, whose
# header lists the options (docs/scale-out.md).
#
#   scripts/parallel/explore.sh [-n SHARDS] [-P JOBS] [-S LOGINS] [-d DIR] [-J JSON] [-C CSV] [-V SVG] [-p SECONDS] -- ARGS...
exec "$(dirname "$0")/shards.sh" explore "$@"
