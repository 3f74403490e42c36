#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
# The strategy rankings of docs/workloads.md: each recording in bench/workloads/ imported with
# the device bound to its busiest process and re-reading its 64 most recent pages after each
# call that changes mappings (window:64), swept under every default strategy and both
# policies at the default costs and with iommu_sync and atc_inv_rtt 4x lower and 4x higher.
# Prints one Markdown table per workload.
#
#   bench/workloads/rank.sh [TLBSIM] > /tmp/ranking.md
set -euo pipefail
root="$(cd "$(dirname "$0")/../.." && pwd)"
tlbsim="${1:-$root/build/src/cli/tlbsim}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

# name, costs file body (the defaults: iommu_sync 1000, atc_inv_rtt 2000; docs/cost-model.md)
variants=("default:{}" "sync-div4:{\"iommu_sync\": 250}" "sync-x4:{\"iommu_sync\": 4000}"
  "rtt-div4:{\"atc_inv_rtt\": 500}" "rtt-x4:{\"atc_inv_rtt\": 8000}")

for trace in "$root"/bench/workloads/*.trace; do
  name="$(basename "$trace" .trace)"
  "$tlbsim" import "$trace" --device busiest --device-access window:64 -o "$work/$name.json" 2>/dev/null
  for v in "${variants[@]}"; do
    label="${v%%:*}"
    echo "${v#*:}" >"$work/costs.json"
    "$tlbsim" sweep --workload "$work/$name.json" --costs "$work/costs.json" --csv "$work/$name.$label.csv" >/dev/null
  done
  echo "### $name"
  echo
  echo "| strategy | total ns old | total ns fixed | commands old / fixed | rank (fixed) | iommu_sync /4 | iommu_sync x4 | atc_inv_rtt /4 | atc_inv_rtt x4 |"
  echo "|---|---:|---:|---:|---:|---:|---:|---:|---:|"
  # Rank each side's strategies by total ns under fixed (ties share a rank), per cost variant.
  for v in "${variants[@]}"; do
    label="${v%%:*}"
    awk -F, -v label="$label" 'NR > 1 && $2 == "fixed" && $13 != "" {
        side = substr($1, 1, index($1, ":") - 1); print side, $13, $1, label }' "$work/$name.$label.csv"
  done | sort -k1,1 -k4,4 -k2,2n | awk '
    { key = $1 " " $4; if (key != last) { n = 0; prev = -1; last = key } n++; if ($2 != prev) r = n; prev = $2; print $3, $4, r }' >"$work/ranks"
  awk -F, -v ranks="$work/ranks" '
    BEGIN { while ((getline line < ranks) > 0) { split(line, f, " "); rank[f[1] " " f[2]] = f[3] } }
    NR > 1 && $2 == "old" { old[$1] = $13; oldc[$1] = $5 + $6; order[++n] = $1 }
    NR > 1 && $2 == "fixed" { fixed[$1] = $13; fixedc[$1] = $5 + $6 }
    END {
      for (i = 1; i <= n; i++) {
        s = order[i]
        if (fixed[s] == "") { printf "| `%s` | not run | not run | | | | | | |\n", s; continue }
        printf "| `%s` | %d | %d | %d / %d | %s | %s | %s | %s | %s |\n", s, old[s], fixed[s], oldc[s], fixedc[s],
          rank[s " default"], rank[s " sync-div4"], rank[s " sync-x4"], rank[s " rtt-div4"], rank[s " rtt-x4"]
      }
    }' "$work/$name.default.csv"
  echo
done
