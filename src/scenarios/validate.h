// SPDX-License-Identifier: MIT
#pragma once
/// Cross-reference and consistency checks of a scenario file: names, alignment, overlaps,
/// bindings, op kinds, schedule names, policy names. Problems are appended, never thrown.
#include <vector>

#include "scenarios/errors.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

void validate(const ScenarioFile& f, std::vector<Diagnostic>& out);

}  // namespace tlbsim::scenarios
