// SPDX-License-Identifier: MIT
// tlbsim sweep --workload FILE.json as a user runs it on an imported recording: every strategy
// under both policies on the recording's own schedule, as a table and as CSV.
#include <catch2/catch.hpp>

#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "support/tlbsim_process.h"

namespace {
namespace fs = std::filesystem;
using namespace tlbsim::test;  // NOLINT(google-build-using-namespace): the test support helpers
const std::string kRecording = std::string(TLBSIM_SOURCE_DIR) + "/tests/trace/recorded/pyenv-python-json.strace";

std::vector<std::string> words(const std::string& line) {
  std::istringstream in(line);
  std::vector<std::string> out;
  for (std::string w; in >> w;) out.push_back(w);
  return out;
}

/// The table's rows: strategy, policy, then the counts (docs/workloads.md).
std::vector<std::vector<std::string>> table_rows(const std::string& out) {
  std::vector<std::vector<std::string>> rows;
  std::istringstream in(out);
  for (std::string line; std::getline(in, line);)
    if (line.starts_with("cpu:") || line.starts_with("iommu:")) rows.push_back(words(line));
  return rows;
}

fs::path imported(const TempDir& dir, const TempDir& scratch) {
  fs::path s = dir.path / "py.json";
  REQUIRE(run_tlbsim("import " + q(kRecording) + " -o " + q(s), scratch).status == 0);
  return s;
}

}  // namespace

TEST_CASE("sweep of an imported recording runs every default strategy under old and fixed", "[cli][sweep]") {
  TempDir scratch, dir;
  const fs::path s = imported(dir, scratch);
  const Outcome o = run_tlbsim("sweep --workload " + q(s), scratch);
  REQUIRE(o.status == 0);
  const auto rows = table_rows(o.out);
  REQUIRE(rows.size() == 16);  // 8 strategies x 2 policies
  size_t fixed = 0;
  for (const auto& r : rows) {
    REQUIRE(r.size() == 12);
    INFO(r[0] + " " + r[1]);
    if (r[1] == "fixed") {
      ++fixed;
      CHECK(r[9] == "0");   // windows after return
      CHECK(r[10] == "0");  // windows past a free
    }
    CHECK(r[11] != "-");  // the recording's time gives a rate
  }
  CHECK(fixed == 8);
}

TEST_CASE("sweep of an imported recording writes one CSV row and one plotted bar per strategy and policy", "[cli][sweep]") {
  TempDir scratch, dir;
  const fs::path s = imported(dir, scratch);
  const fs::path csv = dir.path / "out.csv";
  const fs::path svg = dir.path / "out.svg";
  const Outcome o = run_tlbsim(
      "sweep --workload " + q(s) + " --strategies iommu:per-page,iommu:range --policy fixed --csv " + q(csv) + " --svg " + q(svg), scratch);
  REQUIRE(o.status == 0);
  std::istringstream in(read_text(csv));
  std::vector<std::string> lines;
  for (std::string l; std::getline(in, l);) lines.push_back(l);
  REQUIRE(lines.size() == 3);
  CHECK(lines[0].starts_with("strategy,policy,cpu_flushes,"));
  CHECK(lines[1].starts_with("iommu:per-page,fixed,"));
  CHECK(lines[2].starts_with("iommu:range,fixed,"));
  const std::string plot = read_text(svg);
  CHECK_THAT(plot,
             Catch::StartsWith("<svg") && Catch::Contains(">iommu:per-page fixed</text>") && Catch::Contains(">iommu:range fixed</text>"));
}

TEST_CASE("sweep of a scenario file refuses the options of a sweep over sizes, and files of several scenarios", "[cli][sweep]") {
  TempDir scratch, dir;
  const fs::path s = imported(dir, scratch);
  const Outcome sizes = run_tlbsim("sweep --workload " + q(s) + " --sizes 1,2", scratch);
  CHECK(sizes.status == 2);
  CHECK_THAT(sizes.err, Catch::Contains("--sizes is for a sweep over range sizes"));
  const Outcome many = run_tlbsim("sweep --workload " + q(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json"), scratch);
  CHECK(many.status == 2);
  CHECK_THAT(many.err, Catch::Contains("a scenario workload file holds one scenario"));
}

TEST_CASE("sweep of a scenario leaves out a strategy whose estimate is over --max-memory, and says so", "[cli][sweep]") {
  // A 64 GiB reservation: a command per page of its munmap is 2^24 commands.
  TempDir scratch, dir;
  const fs::path s = dir.path / "edge.json";
  REQUIRE(run_tlbsim("import " + q(std::string(TLBSIM_SOURCE_DIR) + "/tests/trace/recorded/edge-cases.strace") + " -o " + q(s), scratch)
              .status == 0);
  const Outcome o = run_tlbsim("sweep --workload " + q(s) + " --strategies iommu:per-page,iommu:range --policy old", scratch);
  REQUIRE(o.status == 0);
  CHECK_THAT(o.out, Catch::Contains("iommu:per-page         old    not run: needs an estimated"));
  const auto rows = table_rows(o.out);
  REQUIRE(rows.size() == 2);
  CHECK(rows[1][0] == "iommu:range");
  CHECK(rows[1].size() == 12);
}
