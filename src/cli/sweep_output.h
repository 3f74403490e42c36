// SPDX-License-Identifier: MIT
#pragma once
/// What a sweep prints and writes, from its request and the result of every cell: the table and
/// the crossover table (text), the CSV and the SVG plot. `tlbsim sweep` and `tlbsim merge` of
/// sweep shards both render through here, so the merged output is the unsharded one's bytes.
#include <string>
#include <vector>

#include "cli/sweep_crossovers.h"
#include "cli/sweep_request.h"
#include "scenarios/batching_workload.h"

namespace tlbsim::cli {

class SweepOutput {
 public:
  /// `results[i]`: the run of sweep_cells(rq)[i]. Throws std::invalid_argument on a count mismatch.
  SweepOutput(const SweepRequest& rq, std::vector<scenarios::WorkloadResult> results);

  std::string text() const;
  std::string csv() const;
  std::string svg() const;

 private:
  struct Row {
    const kernel::Strategy* strategy;
    uint64_t pages;
    scenarios::WorkloadResult r;
    uint64_t inv_ns() const;
    uint64_t misses() const;
    uint64_t refill_ns() const;
    uint64_t total_ns() const;
  };
  const SweepRequest& m_rq;
  std::vector<Row> m_rows;
  std::vector<SweepSeries> m_series;  ///< per strategy: total ns against pages
  std::vector<Crossover> m_cross;
};

}  // namespace tlbsim::cli
