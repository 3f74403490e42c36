// SPDX-License-Identifier: MIT
// Fuzz target: arbitrary bytes through the scenario loader and validator (fuzz_inputs.h:
// load_input). Bad input must end in ScenarioError (exit status 2 in the CLI); anything else
// escaping, a sanitizer report, or a hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  tlbsim::scenarios::ScenarioFile f;
  (void)tlbsim::fuzz::load_input(std::string(reinterpret_cast<const char*>(data), size), f);
  return 0;
}
