// SPDX-License-Identifier: MIT
#pragma once
/// Cost-model overrides from a JSON file: one object whose keys are CostModel field names and
/// whose values are non-negative integer nanoseconds, e.g. {"iommu_sync": 2000}. Fields not
/// named keep their defaults. Bad input throws ScenarioError with file, line:column and pointer.
#include <cstdint>
#include <string>
#include <vector>

#include "iommu/cost_model.h"

namespace tlbsim::scenarios {

struct CostField {
  const char* name;
  uint64_t iommu::CostModel::*field;
  const char* what;
};
/// Every CostModel field, in declaration order.
const std::vector<CostField>& cost_fields();

iommu::CostModel parse_costs_text(const std::string& text, const std::string& path, iommu::CostModel base = {});
iommu::CostModel load_costs_file(const std::string& path, iommu::CostModel base = {});

}  // namespace tlbsim::scenarios
