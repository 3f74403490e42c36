// SPDX-License-Identifier: MIT
// Traces troublesome for fuzz_import (fuzz/, docs/fuzzing.md), replayed exactly as the target
// replays them: each file of tests/trace/fuzz through read_trace(), import_trace(), the loader
// and, within the run caps, runs under old and fixed with invariant checks on.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/fuzz_import_input.h"

namespace tlbsim {

TEST_CASE("every fuzz_import regression trace imports or is refused cleanly, loads, and runs with invariants holding", "[trace][fuzz]") {
  const std::filesystem::path dir = std::filesystem::path(TLBSIM_SOURCE_DIR) / "tests/trace/fuzz";
  size_t n = 0;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    INFO(e.path().filename().string());
    std::ifstream in(e.path(), std::ios::binary);
    std::stringstream text;
    text << in.rdbuf();
    CHECK_NOTHROW(fuzz::import_input(text.str()));
    ++n;
  }
  CHECK(n > 0);
}

}  // namespace tlbsim
