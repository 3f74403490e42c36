#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# Install the Debian 12 packages tlbsim builds with, if any is missing. Needs root (or sudo).
# `deps.sh fuzz` adds clang and its libFuzzer runtime for scripts/fuzz.sh. GNU parallel runs the
# shards of scripts/parallel/shards.sh (docs/scale-out.md). clang-format and clang-tidy are for
# scripts/lint.sh. strace and linux-perf are what `tlbsim record` runs a program under.
set -euo pipefail
pkgs=(cmake g++ ninja-build libboost-graph-dev libboost-program-options-dev nlohmann-json3-dev catch2 libbenchmark-dev parallel
  clang-format clang-tidy strace linux-perf)
[ "${1:-}" = fuzz ] && pkgs+=(clang libclang-rt-14-dev)
# `deps.sh slurm` adds Slurm and munge for scripts/slurm/shards.sh and its local-cluster test.
[ "${1:-}" = slurm ] && pkgs+=(slurm-wlm munge)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
echo "tlbsim: installing ${missing[*]}" >&2
sudo_cmd=()
[ "$(id -u)" -eq 0 ] || sudo_cmd=(sudo)
export DEBIAN_FRONTEND=noninteractive
"${sudo_cmd[@]}" apt-get update -qq
"${sudo_cmd[@]}" apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
