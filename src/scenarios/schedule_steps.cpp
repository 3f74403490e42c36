// SPDX-License-Identifier: MIT
#include "scenarios/schedule_steps.h"

#include <algorithm>
#include <cctype>
#include <set>

#include <nlohmann/json.hpp>

#include "scenarios/json_document.h"
#include "scenarios/printable.h"

namespace tlbsim::scenarios {

void read_step(const std::string& e, const std::string& p, std::vector<ScheduleEntry>& out, std::vector<Diagnostic>& diags) {
  ScheduleEntry en;
  en.pointer = p;
  const size_t at = e.find('@'), colon = e.find(':');
  if (at != std::string::npos) {
    en.thread = e.substr(0, at);
    en.mode = ScheduleEntry::Mode::Until;
    en.label = e.substr(at + 1);
    if (en.label.empty()) diags.push_back({.pointer = p, .message = "expected a function name after '@' in " + in_quotes(e)});
  } else if (!e.empty() && e.back() == '*') {
    en.thread = e.substr(0, e.size() - 1);
    en.mode = ScheduleEntry::Mode::ToEnd;
  } else if (colon != std::string::npos) {
    en.thread = e.substr(0, colon);
    const std::string n = e.substr(colon + 1);
    if (n == "op")
      en.mode = ScheduleEntry::Mode::Op;
    else if (n.empty() || n.size() > 9 || !std::all_of(n.begin(), n.end(), ::isdigit) || std::stoull(n) == 0)
      diags.push_back({.pointer = p, .message = "expected a step count 1..999999999 or \"op\" after ':' in " + in_quotes(e)});
    else
      en.steps = std::stoull(n);
  } else {
    en.thread = e;
  }
  out.push_back(en);
}

void read_steps(const nlohmann::json& steps, const std::string& ptr, std::vector<ScheduleEntry>& out, std::vector<Diagnostic>& diags) {
  for (size_t i = 0; i < steps.size(); ++i) {
    const std::string p = ptr + "/" + std::to_string(i);
    if (steps[i].is_string())
      read_step(steps[i].get<std::string>(), p, out, diags);
    else
      diags.push_back({.pointer = p,
                       .message = "expected a step \"THREAD\", \"THREAD:N\", \"THREAD:op\", \"THREAD@FUNCTION\" or \"THREAD*\", got " +
                                  type_name(steps[i])});
  }
}

void check_step_threads(const std::vector<ScheduleEntry>& entries, const std::vector<ThreadSpec>& threads, std::vector<Diagnostic>& diags) {
  std::set<std::string> names;
  for (const ThreadSpec& t : threads) names.insert(t.name);
  for (const ScheduleEntry& e : entries)
    if (!names.count(e.thread))
      diags.push_back({.pointer = e.pointer, .message = "schedule names thread " + in_quotes(e.thread) + ", which does not exist"});
}

}  // namespace tlbsim::scenarios
