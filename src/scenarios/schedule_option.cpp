// SPDX-License-Identifier: MIT
#include "scenarios/schedule_option.h"

#include <algorithm>
#include <optional>
#include <tuple>

#include <nlohmann/json.hpp>

#include "scenarios/errors.h"
#include "scenarios/json_document.h"
#include "scenarios/json_positions.h"
#include "scenarios/schedule_steps.h"

namespace tlbsim::scenarios {

namespace {

const char kOption[] = "--schedule";

}  // namespace

ScheduleSpec schedule_from_option(const std::string& text, const ScenarioSpec& s) {
  ScheduleSpec sched;
  sched.kind = ScheduleSpec::Kind::Explicit;
  sched.written_in = kOption;
  std::vector<Diagnostic> diags;
  std::optional<JsonPositions> json_pos;
  std::vector<size_t> offsets;  // of each step of the comma form
  const size_t first = text.find_first_not_of(" \t\n\r");
  if (first != std::string::npos && text[first] == '[') {
    nlohmann::json steps;
    try {
      json_pos.emplace(text);
      steps = parse_json_document(text);
    } catch (const nlohmann::json::parse_error& e) {
      const TextPos tp = syntax_error_pos(text, e.byte);
      throw ScenarioError({Diagnostic{.file = kOption, .line = tp.line, .column = tp.column, .message = json_syntax_message(e.what())}});
    }
    read_steps(steps, "", sched.entries, diags);  // an array: nothing but whitespace follows its ']'
  } else {
    // The comma form: each non-empty part between commas is a step.
    for (size_t start = 0; start <= text.size();) {
      const size_t comma = std::min(text.find(',', start), text.size());
      if (comma > start) {
        read_step(text.substr(start, comma - start), "/" + std::to_string(offsets.size()), sched.entries, diags);
        offsets.push_back(start);
      }
      start = comma + 1;
    }
  }
  // Where the step at `pointer` ("/N") starts in `text`.
  auto place = [&](const std::string& pointer) {
    if (json_pos) return json_pos->at(pointer);
    return syntax_error_pos(text, offsets.at(std::stoul(pointer.substr(1))) + 1);
  };
  check_step_threads(sched.entries, s.threads, diags);
  for (ScheduleEntry& e : sched.entries) {
    const TextPos tp = place(e.pointer);
    e.line = tp.line;
    e.column = tp.column;
  }
  if (diags.empty()) return sched;
  for (Diagnostic& d : diags) {
    const TextPos tp = place(d.pointer);
    d.file = kOption;
    d.line = tp.line;
    d.column = tp.column;
  }
  std::stable_sort(diags.begin(), diags.end(),
                   [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
  throw ScenarioError(std::move(diags));
}

}  // namespace tlbsim::scenarios
