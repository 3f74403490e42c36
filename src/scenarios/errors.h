// SPDX-License-Identifier: MIT
#pragma once
/// Input errors: every problem found in a scenario file, with the file, line:column, JSON
/// pointer, what was expected and what was found. main() alone maps them to exit status 2.
#include <stdexcept>
#include <string>
#include <vector>

namespace tlbsim::scenarios {

struct Diagnostic {
  std::string file;
  std::string pointer;
  size_t line = 0;
  size_t column = 0;
  std::string message;
  std::string format() const;
};

class ScenarioError : public std::runtime_error {
 public:
  explicit ScenarioError(std::vector<Diagnostic> d);
  const std::vector<Diagnostic>& diagnostics() const { return m_diags; }

 private:
  std::vector<Diagnostic> m_diags;
};

}  // namespace tlbsim::scenarios
