#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Rewrite the docs' generated vocabulary lists (src/scenarios/vocabulary_docs.h) from their
# tables, then show what changed.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
source "$root/scripts/lib/update_from_tests.sh"
update_from_tests "$root" TLBSIM_UPDATE_DOCS "[docs]" docs
