// SPDX-License-Identifier: MIT
// Fuzz target: load a scenario and run it under `old` and `fixed` with every invariant check on,
// then judge it (fuzz_inputs.h: run_input). Sizes are capped so that one input runs in
// milliseconds. An InvariantViolation or any other exception escapes and aborts, which
// libFuzzer reports as a crash.
#include <cstddef>
#include <cstdint>
#include <string>

#include "fuzz_inputs.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)tlbsim::fuzz::run_input(std::string(reinterpret_cast<const char*>(data), size));
  return 0;
}
