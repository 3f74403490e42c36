// SPDX-License-Identifier: MIT
// Paths that name no readable file of JSON text, given as a scenario or costs file: each is
// refused with what it is, before anything is parsed, and neither blocks nor reads without end.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "scenarios/costs.h"
#include "scenarios/errors.h"
#include "scenarios/input_file.h"
#include "scenarios/loader.h"
#include "support/tlbsim_process.h"

namespace tlbsim::scenarios {
namespace {

namespace fs = std::filesystem;
using test::TempDir;

/// The one diagnostic of loading `path` as a scenario file, formatted; checks that a costs
/// file at the same path is refused with the same message.
std::string refusal(const fs::path& path) {
  std::string scenario, costs;
  try {
    load_scenario_file(path.string());
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    scenario = e.diagnostics()[0].format();
  }
  try {
    load_costs_file(path.string());
  } catch (const ScenarioError& e) {
    REQUIRE(e.diagnostics().size() == 1);
    costs = e.diagnostics()[0].format();
  }
  CHECK(costs == scenario);
  return scenario;
}

TEST_CASE("a path that is not a readable regular file is refused with what it is", "[scenarios][loader]") {
  TempDir dir;
  SECTION("a missing file") {
    CHECK(refusal(dir.path / "none.json") == (dir.path / "none.json").string() + ": cannot read: No such file or directory");
  }
  SECTION("a directory") { CHECK(refusal(dir.path) == dir.path.string() + ": is a directory"); }
  SECTION("a FIFO with no writer: refused at once, not waited on") {
    const fs::path fifo = dir.path / "pipe.json";
    REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
    CHECK(refusal(fifo) == fifo.string() + ": is not a regular file");
  }
  SECTION("a device that never ends") { CHECK(refusal("/dev/zero") == "/dev/zero: is not a regular file"); }
  SECTION("a file over the size limit, however little of it is on disk") {
    const fs::path big = dir.path / "big.json";
    std::ofstream(big) << "{}";
    fs::resize_file(big, kMaxInputBytes + 1);
    CHECK(refusal(big) == big.string() + ": is larger than the 64 MiB limit");
  }
  SECTION("a file without read permission") {
    const fs::path locked = dir.path / "locked.json";
    std::ofstream(locked) << "{\"scenarios\": []}";
    fs::permissions(locked, fs::perms::none);
    if (::access(locked.c_str(), R_OK) == 0) {
      WARN("running with permission to read any file (root): the Permission denied case cannot be made");
    } else {
      CHECK(refusal(locked) == locked.string() + ": cannot read: Permission denied");
    }
  }
}

TEST_CASE("an empty regular file is read and reported as JSON, a file of the size limit is read", "[scenarios][loader]") {
  TempDir dir;
  const fs::path empty = dir.path / "empty.json";
  std::ofstream(empty).flush();
  CHECK(read_input_file(empty.string()).empty());
  try {
    load_scenario_file(empty.string());
    FAIL("an empty file loaded");
  } catch (const ScenarioError& e) {
    CHECK_THAT(e.what(), Catch::StartsWith(empty.string() + ":1:1: JSON syntax error"));
  }
  const fs::path at_limit = dir.path / "limit.json";
  std::ofstream(at_limit) << "{}";
  fs::resize_file(at_limit, kMaxInputBytes);
  CHECK(read_input_file(at_limit.string()).size() == kMaxInputBytes);
}

}  // namespace
}  // namespace tlbsim::scenarios
