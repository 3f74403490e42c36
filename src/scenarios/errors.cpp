// SPDX-License-Identifier: MIT
#include "scenarios/errors.h"

#include "scenarios/printable.h"

namespace tlbsim::scenarios {

std::string Diagnostic::format() const {
  std::string s = file;
  if (line) s += ":" + std::to_string(line) + ":" + std::to_string(column);
  s += ": ";
  if (!pointer.empty()) s += pointer + ": ";
  // Messages quote what they print from the file already; this also covers the pointer (keys
  // from the file) and the path, so no diagnostic can span lines or steer the terminal.
  return escape_unprintable(s + message);
}

namespace {
std::string join(const std::vector<Diagnostic>& d) {
  std::string s;
  for (const auto& x : d) s += (s.empty() ? "" : "\n") + x.format();
  return s;
}
}  // namespace

ScenarioError::ScenarioError(std::vector<Diagnostic> d) : std::runtime_error(join(d)), m_diags(std::move(d)) {}

}  // namespace tlbsim::scenarios
