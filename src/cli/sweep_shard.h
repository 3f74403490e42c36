// SPDX-License-Identifier: MIT
#pragma once
/// The cells of a sweep shard file: every grid cell the shard ran (sweep_cells() index, strategy
/// label, pages) with the workload's result, every counter the sweep's outputs read.
#include <cstddef>
#include <string>
#include <vector>

#include "cli/shard_file.h"
#include "cli/sweep_request.h"
#include "scenarios/batching_workload.h"

namespace tlbsim::cli {

struct SweepCellResult {
  size_t cell = 0;  ///< index into sweep_cells()
  scenarios::WorkloadResult result;
};

/// A sweep shard file's text: the header and the cells `done` of `cells`.
std::string sweep_shard_document(const ShardHeader& h, const std::vector<SweepCell>& cells, const SweepRequest& rq,
                                 const std::vector<SweepCellResult>& done);

/// The cells of sweep shard `f`, checked against the grid `cells` of request `rq`: each must be
/// a cell of the grid with its strategy label and size. Throws ScenarioError naming the file and
/// the JSON pointer.
std::vector<SweepCellResult> read_sweep_cells(const ShardFile& f, const std::vector<SweepCell>& cells, const SweepRequest& rq);

}  // namespace tlbsim::cli
