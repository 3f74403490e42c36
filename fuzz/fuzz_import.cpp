// SPDX-License-Identifier: MIT
// Fuzz target: arbitrary bytes as a trace (a recording's JSON Lines or a plain strace log)
// through `tlbsim import`'s path (fuzz_import_input.h: import_input). A trace the importer
// refuses ends in ImportErrorException; a scenario it writes that the loader refuses, a run of
// it that ends in an exception, anything else escaping, a sanitizer report or a hang is a bug.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "fuzz_import_input.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  (void)tlbsim::fuzz::import_input(std::string_view(reinterpret_cast<const char*>(data), size));
  return 0;
}
