// SPDX-License-Identifier: MIT
// Inputs troublesome for the fuzz targets (fuzz/, docs/fuzzing.md), replayed exactly as the
// targets replay them: each file of tests/scenarios/fuzz through the loader, and through the
// runner under old and fixed with invariant checks on when it is within the run caps.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "fuzz/fuzz_inputs.h"

namespace tlbsim {
namespace {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("every fuzz regression input loads or is rejected cleanly and runs with invariants holding", "[scenarios][fuzz]") {
  const fs::path dir = fs::path(TLBSIM_SOURCE_DIR) / "tests/scenarios/fuzz";
  size_t n = 0;
  for (const auto& e : fs::directory_iterator(dir)) {
    if (e.path().extension() != ".json") continue;
    INFO(e.path().filename().string());
    const std::string text = read_text(e.path());
    scenarios::ScenarioFile f;
    CHECK_NOTHROW(fuzz::load_input(text, f));
    CHECK_NOTHROW(fuzz::run_input(text));
    ++n;
  }
  CHECK(n > 0);
}

TEST_CASE("an op range of 2^24 pages is checked against the VMAs without visiting every page, then refused for its size",
          "[scenarios][fuzz]") {
  // A fuzz-sized input (under 4 KiB) that took seconds: the validator walked each op's range
  // page by page. Every check but the size passes: 70 reads over one 2^24-page VMA, which the
  // memory estimate refuses (memory_estimate.h) before anything is built.
  const std::string text = read_text(fs::path(TLBSIM_SOURCE_DIR) / "tests/scenarios/fuzz/validate-huge-op-ranges.json");
  try {
    scenarios::parse_scenario_text(text, "fuzz.json");
    FAIL("loaded");
  } catch (const scenarios::ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    CHECK(e.diagnostics()[0].message.find("more than the model's 4194304") != std::string::npos);
  }
  CHECK(fuzz::run_input(text) == 0);
}

TEST_CASE("JSON nested thousands deep is refused at the 65th level, not parsed in quadratic time", "[scenarios][fuzz]") {
  // A fuzz input (3,841 nested arrays) that spent its time recording a JSON pointer per level.
  const std::string text = read_text(fs::path(TLBSIM_SOURCE_DIR) / "tests/scenarios/fuzz/loader-deep-nesting.json");
  scenarios::ScenarioFile f;
  CHECK_FALSE(fuzz::load_input(text, f));
  try {
    scenarios::parse_scenario_text(text, "deep.json");
    FAIL("a file nested 3,841 deep loaded");
  } catch (const scenarios::ScenarioError& e) {
    CHECK(std::string(e.what()).find("nested deeper than 64 levels") != std::string::npos);
  }
}

}  // namespace tlbsim
