// SPDX-License-Identifier: MIT
#pragma once
/// `tlbsim run --schedule STEPS`: a schedule given on the command line for one scenario, as a
/// JSON array of steps ('["dev:4","khugepaged*"]') or the same steps separated by commas
/// (dev:4,khugepaged*). Its errors, when it is read and when it is followed, point into the
/// option's own text: "--schedule:1:9: /1: schedule names thread "nobody", which does not exist".
#include <string>

#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// The explicit schedule `text` describes for scenario `s`, its steps checked as those of a
/// file are (syntax, step counts, thread names). Throws ScenarioError with every problem,
/// each placed at line:column of `text` and named by the pointer of its step ("/1").
ScheduleSpec schedule_from_option(const std::string& text, const ScenarioSpec& s);

}  // namespace tlbsim::scenarios
