// SPDX-License-Identifier: MIT
// tlbsim sweep --shard K/N and tlbsim merge as a user runs them (docs/scale-out.md): the merged
// table, CSV and SVG are the unsharded sweep's bytes, and sweep shards that are missing,
// damaged, mixed with explore shards or of a changed --costs file are refused with exit status
// 2, naming the shard or the file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "scenarios/batching_workload.h"
#include "support/tlbsim_process.h"

namespace {

namespace fs = std::filesystem;
using tlbsim::test::Outcome;
using tlbsim::test::q;
using tlbsim::test::read_text;
using tlbsim::test::run_tlbsim;
using tlbsim::test::TempDir;

const std::string kSource = TLBSIM_SOURCE_DIR;

struct Output {
  std::string text, csv, svg;
};

Output whole(const std::string& args, const TempDir& dir, const TempDir& scratch) {
  const Outcome o = run_tlbsim("sweep " + args + " --csv " + q(dir.path / "w.csv") + " --svg " + q(dir.path / "w.svg"), scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  return Output{o.out, read_text(dir.path / "w.csv"), read_text(dir.path / "w.svg")};
}

/// The N shards of sweep ARGS; their paths, quoted, space-separated.
std::string shards(const std::string& args, uint64_t n, const TempDir& dir, const TempDir& scratch) {
  std::string list;
  for (uint64_t k = 1; k <= n; ++k) {
    const fs::path shard = dir.path / ("shard-" + std::to_string(k) + ".json");
    const Outcome o =
        run_tlbsim("sweep " + args + " --shard " + std::to_string(k) + "/" + std::to_string(n) + " --json " + q(shard), scratch);
    INFO("stderr:\n" << o.err);
    REQUIRE(o.status == 0);
    CHECK(o.out.find("shard " + std::to_string(k) + "/" + std::to_string(n)) != std::string::npos);
    list += " " + q(shard);
  }
  return list;
}

void check_same_bytes(const std::string& args, uint64_t n) {
  TempDir dir, scratch;
  const Output w = whole(args, dir, scratch);
  const std::string list = shards(args, n, dir, scratch);
  const Outcome o = run_tlbsim("merge" + list + " --csv " + q(dir.path / "m.csv") + " --svg " + q(dir.path / "m.svg"), scratch);
  INFO("sweep " << args << " in " << n << " shards\nstderr:\n" << o.err);
  REQUIRE(o.status == 0);
  CHECK(o.out == w.text);
  CHECK(read_text(dir.path / "m.csv") == w.csv);
  CHECK(read_text(dir.path / "m.svg") == w.svg);
}

}  // namespace

TEST_CASE("sweep --shard K/N then merge writes the unsharded table, CSV and SVG, N = 1 to 8, every workload", "[cli][shard][heavy]") {
  // Sizes up to 128 pages: under the sanitizers (which run this test only when asked: it is
  // [heavy]) a migration of about 500 pages overflows the stack (docs/design.md, "Kernel paths
  // are coroutines").
  for (const auto& w : tlbsim::scenarios::workloads())
    for (uint64_t n = 1; n <= 8; ++n) check_same_bytes("--workload " + std::string(w.name) + " --sizes 1,33,128", n);
  check_same_bytes("", 3);
  TempDir costs;
  std::ofstream(costs.path / "c.json") << R"({"iommu_sync": 2500, "cpu_invlpg": 60})";
  const std::string other = "--workload fork --vmas 7 --sizes 1,33,64,512,4096 --no-ats --policy old --costs " + q(costs.path / "c.json") +
                            " --strategies iommu:per-page,iommu:full,cpu:full --cpu-working-set 3";
  for (uint64_t n : {2, 5, 16}) check_same_bytes(other, n);
}

TEST_CASE("merge refuses sweep shards that are missing, damaged, mixed with explore shards or of a changed --costs file", "[cli][shard]") {
  TempDir dir, scratch;
  const fs::path costs = dir.path / "c.json";
  std::ofstream(costs) << R"({"iommu_sync": 2500})";
  const std::string args = "--sizes 1,8,64 --strategies cpu:per-page,cpu:full --costs " + q(costs);
  const std::string list = shards(args, 3, dir, scratch);
  const std::string s1 = q(dir.path / "shard-1.json"), s2 = q(dir.path / "shard-2.json"), s3 = q(dir.path / "shard-3.json");
  auto refused = [&](const std::string& merge_args, const std::string& says) {
    const Outcome o = run_tlbsim("merge" + merge_args, scratch);
    INFO("merge" << merge_args << "\nstderr:\n" << o.err);
    CHECK(o.status == 2);
    CHECK(o.out.empty());
    CHECK(o.err.find(says) != std::string::npos);
  };
  refused(" " + s1 + " " + s3, "shards missing of 3: 2");
  refused(list + " --json " + q(dir.path / "r.json"), "--json is an output of explore");

  // A cell moved to another shard, a counter that is no number: the file and where.
  auto doc = nlohmann::json::parse(read_text(dir.path / "shard-2.json"));
  const fs::path damaged = dir.path / "damaged.json";
  doc["cells"][0]["result"]["iommu"]["syncs"] = "many";
  std::ofstream(damaged) << doc.dump();
  refused(" " + s1 + " " + q(damaged) + " " + s3, "/cells/0/result/iommu/syncs: expected a non-negative integer");
  doc = nlohmann::json::parse(read_text(dir.path / "shard-2.json"));
  doc["cells"].erase(0);
  std::ofstream(damaged) << doc.dump();
  refused(" " + s1 + " " + q(damaged) + " " + s3, "not the 2 that shard is dealt");
  doc = nlohmann::json::parse(read_text(dir.path / "shard-2.json"));
  doc["cells"][0]["pages"] = 9;
  std::ofstream(damaged) << doc.dump();
  refused(" " + s1 + " " + q(damaged) + " " + s3, "/cells/0/pages: expected");

  // A shard of another grid.
  const fs::path other = dir.path / "other.json";
  REQUIRE(
      run_tlbsim("sweep --sizes 1,8 --strategies cpu:per-page,cpu:full --costs " + q(costs) + " --shard 2/3 --json " + q(other), scratch)
          .status == 0);
  refused(" " + s1 + " " + q(other) + " " + s3, "ran with other options than");

  // An explore shard among sweep shards.
  const fs::path ex = dir.path / "explore.json";
  REQUIRE(run_tlbsim("explore " + q(kSource + "/scenarios.json") +
                         " --scenario nested-finish-mmu-table-free --policy fixed --preemptions 0 --shard 2/3 --json " + q(ex),
                     scratch)
              .status == 0);
  refused(" " + s1 + " " + q(ex) + " " + s3, "is a shard of tlbsim explore");

  // The merge writes nothing over its inputs, and refuses a --costs file changed since.
  refused(list + " --csv " + s2, "shard file");
  CHECK(run_tlbsim("merge" + list, scratch).status == 0);
  std::ofstream(costs, std::ios::app) << "\n";
  refused(list, "--costs file " + costs.string() + " changed since the shards read it");
}

TEST_CASE("sweep --shard needs --json, --json needs --shard, and the shards write no --csv or --svg", "[cli][shard]") {
  TempDir dir, scratch;
  auto refused = [&](const std::string& args, const std::string& says) {
    const Outcome o = run_tlbsim("sweep --sizes 1 " + args, scratch);
    INFO(args << "\nstderr:\n" << o.err);
    CHECK(o.status == 2);
    CHECK(o.err.find(says) != std::string::npos);
  };
  const std::string json = " --json " + q(dir.path / "s.json");
  refused("--shard 1/2", "--shard writes the shard's cells to --json FILE");
  refused(json, "--json writes a shard file: it needs --shard K/N");
  refused("--shard 1/2 --csv " + q(dir.path / "t.csv") + json, "--csv and --svg need the whole grid");
  refused("--shard 0/2" + json, "--shard must be between 1 and 2 (got 0)");
  CHECK(dir.listing().empty());
}

TEST_CASE("sweep --progress SECONDS writes progress lines on stderr only, merge states the shards' balance", "[cli][shard]") {
  TempDir dir, scratch;
  const std::string args = "--sizes 1,64,4096 --strategies cpu:per-page,iommu:full";
  const Output w = whole(args, dir, scratch);
  const Outcome o = run_tlbsim("sweep " + args + " --progress 0.001", scratch);
  CHECK(o.status == 0);
  CHECK(o.out == w.text);
  CHECK(o.err.find("sweep munmap-dense under fixed: ") != std::string::npos);
  CHECK(o.err.find(" of 6 cells, about ") != std::string::npos);
  const std::string list = shards(args, 2, dir, scratch);
  const Outcome m = run_tlbsim("merge" + list, scratch);
  CHECK(m.out == w.text);
  CHECK(m.err.find("merge: 2 shards, estimated work per shard ") != std::string::npos);
}
