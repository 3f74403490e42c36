// SPDX-License-Identifier: MIT
#pragma once
/// What one run of a scenario needs, estimated from the spec before anything is built: frames
/// (setup, faults, COW copies, migration targets, page tables), the event log and step records
/// every run keeps, and the caches. The loader rejects a scenario whose estimate is over the
/// model's frame limit or over `--max-memory`, naming the key that contributes most, so that a
/// valid-looking file ends with a clear input error instead of running out of memory halfway.
///
/// The per-page figures are measured typical costs with a margin (docs/scenario-format.md,
/// "Size limits"), not proofs: a page whose fault retries 16 times emits more. A test checks the
/// estimate against what runs really allocate and log on generated and bundled scenarios.
#include <cstdint>
#include <optional>
#include <string>

#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// The default of `--max-memory`, in MiB: well under what a 24 GiB machine can give, with room
/// for `explore --jobs 2`.
inline constexpr uint64_t kDefaultMaxMemoryMib = 4096;

/// The program, the model's fixed tables, the report: what a run of one page needs.
inline constexpr uint64_t kEstimateBaseBytes = 64ull << 20;

struct MemoryEstimate {
  uint64_t frames = 0;  ///< frames the model may allocate, page tables included
  uint64_t events = 0;  ///< events one run logs, setup included
  uint64_t steps = 0;   ///< step records one run keeps
  /// All of the above in bytes, with the caches' entries (TLB, walk caches, IOTLB, ATC) and a
  /// fixed base.
  uint64_t bytes = 0;
  /// The spec key that contributes most bytes (a VMA, an op, a file, a device) and how many.
  std::string largest;
  uint64_t largest_bytes = 0;
};

/// What a run does beyond the scenario's own devices and decodings: an IOMMU strategy in force
/// in place of the decodings (`tlbsim sweep --workload FILE.json`) may send a command per page
/// of every range up to this many pages (per-page and cmdq: unbounded; full-above:N: N).
struct EstimateOptions {
  std::optional<uint64_t> iommu_range_pages;
};

MemoryEstimate estimate_memory(const ScenarioSpec& s, const EstimateOptions& options = {});

/// "1.5 GiB", "12.0 MiB", "900 bytes".
std::string format_bytes(uint64_t bytes);

}  // namespace tlbsim::scenarios
