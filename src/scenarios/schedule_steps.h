// SPDX-License-Identifier: MIT
#pragma once
/// The steps of an explicit schedule ("T", "T:N", "T:op", "T@fn", "T*"), read from a scenario file's
/// "schedule" array or from `tlbsim run --schedule`, and checked against the threads.
#include <string>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "scenarios/errors.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// The step `text`, whose pointer is `ptr`, appended to `out`; if it is malformed, an error
/// goes to `diags` (pointer only: the caller places it).
void read_step(const std::string& text, const std::string& ptr, std::vector<ScheduleEntry>& out, std::vector<Diagnostic>& diags);

/// Each element of the array `steps` (whose pointer is `ptr`) read by read_step().
void read_steps(const nlohmann::json& steps, const std::string& ptr, std::vector<ScheduleEntry>& out, std::vector<Diagnostic>& diags);

/// An error for each entry that names no thread of `threads`.
void check_step_threads(const std::vector<ScheduleEntry>& entries, const std::vector<ThreadSpec>& threads, std::vector<Diagnostic>& diags);

}  // namespace tlbsim::scenarios
