// SPDX-License-Identifier: MIT
#pragma once
/// Cost-model overrides from a JSON file: one object whose keys are CostModel field names and
/// whose values are integer nanoseconds 0..2^40, e.g. {"iommu_sync": 2000}. Fields not
/// named keep their defaults. Bad input throws ScenarioError with file, line:column and pointer.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "iommu/cost_model.h"
#include "scenarios/errors.h"

namespace tlbsim::scenarios {

struct CostField {
  const char* name;
  uint64_t iommu::CostModel::*field;
  const char* what;
};
/// Every CostModel field, in declaration order.
const std::vector<CostField>& cost_fields();

/// The largest cost a field accepts, in ns (about 18 minutes): far above any real latency, and
/// small enough that a run's sums of costs cannot overflow.
inline constexpr uint64_t kMaxCostNs = uint64_t{1} << 40;

/// The one reader of a cost object, for a costs file and a scenario's "costs" key alike: each
/// key a CostModel field, each value an integer 0..kMaxCostNs; the fields named replace those of
/// `base`. Each problem goes to `diags` with its JSON pointer (`ptr` is the object's own); the
/// caller adds the file and line:column.
void read_costs(const nlohmann::json& obj, const std::string& ptr, iommu::CostModel& base, std::vector<Diagnostic>& diags);

iommu::CostModel parse_costs_text(const std::string& text, const std::string& path, iommu::CostModel base = {});
iommu::CostModel load_costs_file(const std::string& path, iommu::CostModel base = {});

}  // namespace tlbsim::scenarios
