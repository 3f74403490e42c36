#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rewrite tests/golden/*.txt from the current simulated paths, then show what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/update_from_tests.sh"
update_from_tests "$root" TLBSIM_UPDATE_GOLDEN "[golden]" tests/golden
