// SPDX-License-Identifier: MIT
// tlbsim explore --shard K/N and tlbsim merge as a user runs them (docs/scale-out.md): the
// merged report and JSON are the unsharded command's bytes, and shards that are missing,
// duplicated, of other options, of another build or of changed scenario files are refused
// with exit status 2, naming the shard.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include <nlohmann/json.hpp>

#include "support/tlbsim_process.h"

namespace {

namespace fs = std::filesystem;
using tlbsim::test::Outcome;
using tlbsim::test::q;
using tlbsim::test::read_text;
using tlbsim::test::run_tlbsim;
using tlbsim::test::TempDir;

const std::string kSource = TLBSIM_SOURCE_DIR;

struct Report {
  std::string text, json;
  int status = -1;
};

/// explore ARGS --json, unsharded.
Report whole(const std::string& args, const TempDir& dir, const TempDir& scratch) {
  const fs::path json = dir.path / "whole.json";
  const Outcome o = run_tlbsim("explore " + args + " --json " + q(json), scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE((o.status == 0 || o.status == 1));
  return Report{o.out, read_text(json), o.status};
}

/// The N shards of explore ARGS, then merge --json; the shard files' paths in `files`.
Report sharded(const std::string& args, uint64_t n, const TempDir& dir, const TempDir& scratch, std::string* files = nullptr) {
  std::string list;
  for (uint64_t k = 1; k <= n; ++k) {
    const fs::path shard = dir.path / ("shard-" + std::to_string(k) + ".json");
    const Outcome o =
        run_tlbsim("explore " + args + " --shard " + std::to_string(k) + "/" + std::to_string(n) + " --json " + q(shard), scratch);
    INFO("stderr:\n" << o.err);
    REQUIRE(o.status == 0);
    CHECK(o.out.find("shard " + std::to_string(k) + "/" + std::to_string(n)) != std::string::npos);
    list += " " + q(shard);
  }
  if (files) *files = list;
  const fs::path json = dir.path / "merged.json";
  const Outcome o = run_tlbsim("merge" + list + " --json " + q(json), scratch);
  INFO("stderr:\n" << o.err);
  return Report{o.out, read_text(json), o.status};
}

void check_same_bytes(const std::string& args, uint64_t n) {
  TempDir dir, scratch;
  const Report w = whole(args, dir, scratch);
  const Report m = sharded(args, n, dir, scratch);
  INFO(args << " in " << n << " shards");
  CHECK(m.status == w.status);
  CHECK(m.text == w.text);
  CHECK(m.json == w.json);
}

Outcome merge(const std::string& files, const TempDir& scratch) { return run_tlbsim("merge" + files, scratch); }

}  // namespace

TEST_CASE("explore --shard K/N then merge prints the unsharded bytes for every bundled scenario, N = 1 to 8", "[cli][shard][heavy]") {
  const std::string args = q(kSource + "/scenarios.json") + " --policy old,fixed --preemptions 1 --split-depth 3";
  for (uint64_t n = 1; n <= 8; ++n) check_same_bytes(args, n);
}

TEST_CASE("explore --shard then merge: the same bytes in random mode and when the budget stops an unbounded search",
          "[cli][shard][heavy]") {
  check_same_bytes(q(kSource + "/scenarios.json") + " --policy old,fixed --mode random --runs 9 --seed 3", 4);
  check_same_bytes(q(kSource + "/scenarios.json") + " --policy old,fixed --preemptions -1 --split-depth 2 --budget-executions 300", 3);
}

TEST_CASE("explore --shard then merge prints the unsharded bytes at bound 2, N = 1 to 8", "[cli][shard][slow]") {
  const std::string args = q(kSource + "/scenarios.json") + " --policy old,fixed --preemptions 2 --split-depth 3";
  for (uint64_t n = 1; n <= 8; ++n) check_same_bytes(args, n);
}

TEST_CASE("merge refuses shards that are missing, twice, of other options, another build or changed files", "[cli][shard]") {
  TempDir dir, scratch;
  // The scenario file is a copy, so the test can change it.
  const fs::path scen = dir.path / "s.json";
  fs::copy_file(kSource + "/scenarios.json", scen);
  const std::string args = q(scen) + " --scenario nested-finish-mmu-table-free --policy fixed --preemptions 0";
  std::string files;
  REQUIRE(sharded(args, 3, dir, scratch, &files).status == 0);
  const std::string s1 = q(dir.path / "shard-1.json"), s2 = q(dir.path / "shard-2.json"), s3 = q(dir.path / "shard-3.json");
  auto refused = [&](const std::string& list, const std::string& says) {
    const Outcome o = merge(list, scratch);
    INFO("merge" << list << "\nstderr:\n" << o.err);
    CHECK(o.status == 2);
    CHECK(o.out.empty());
    CHECK(o.err.find(says) != std::string::npos);
  };
  refused(" " + s1 + " " + s3, "shards missing of 3: 2");
  refused(" " + s1 + " " + s2 + " " + s2 + " " + s3, "are both shard 2/3");
  refused("", "merge needs the shard files");

  // Another option: shard 2 of a search at bound 1.
  const fs::path other = dir.path / "other.json";
  REQUIRE(run_tlbsim("explore " + q(scen) + " --scenario nested-finish-mmu-table-free --policy fixed --preemptions 1 --shard 2/3 --json " +
                         q(other),
                     scratch)
              .status == 0);
  refused(" " + s1 + " " + q(other) + " " + s3, "ran with other options than");

  // Another build.
  auto doc = nlohmann::json::parse(read_text(dir.path / "shard-2.json"));
  doc["build"] = "0123456789ab";
  const fs::path foreign = dir.path / "foreign.json";
  std::ofstream(foreign) << doc.dump();
  refused(" " + s1 + " " + q(foreign) + " " + s3, "was written by tlbsim build 0123456789ab");

  // A file that is no shard, and a shard whose part is damaged: the file and where.
  refused(" " + q(scen), "not a shard file");
  doc = nlohmann::json::parse(read_text(dir.path / "shard-2.json"));
  doc["jobs"][0]["part"]["done"][0]["first"] = {0, 99};
  const fs::path damaged = dir.path / "damaged.json";
  std::ofstream(damaged) << doc.dump();
  refused(" " + s1 + " " + q(damaged) + " " + s3, "/jobs/0/part/done/0/first/1: expected a thread index below");

  // merge --json onto one of its shards, and a scenario file changed since.
  refused(" " + files + " --json " + s1, "shard file");
  CHECK(merge(" " + files, scratch).status == 0);
  std::ofstream(scen, std::ios::app) << "\n";
  refused(" " + files, "changed since the shards read it");
}

TEST_CASE("explore --shard needs --json and, exhaustive, --preemptions, K/N must name a shard", "[cli][shard]") {
  TempDir dir, scratch;
  const std::string base = "explore " + q(kSource + "/scenarios.json") + " --policy fixed";
  const std::string json = " --json " + q(dir.path / "s.json");
  auto refused = [&](const std::string& args, const std::string& says) {
    const Outcome o = run_tlbsim(base + args, scratch);
    INFO(args << "\nstderr:\n" << o.err);
    CHECK(o.status == 2);
    CHECK(o.err.find(says) != std::string::npos);
  };
  refused(" --preemptions 1 --shard 1/2", "--shard writes the shard's part to --json FILE");
  refused(" --shard 1/2" + json, "--shard needs --preemptions N");
  refused(" --preemptions 1 --shard 3/2" + json, "--shard must be between 1 and 2 (got 3)");
  refused(" --preemptions 1 --shard 2" + json, "--shard: expected K/N");
  refused(" --preemptions 1 --shard 1/2 --dot " + q(dir.path / "g.dot") + json, "--dot and --trace need the whole search");
  CHECK(dir.listing().empty());
}

TEST_CASE("explore --shard --progress SECONDS writes progress lines on stderr only, merge states the shards' balance", "[cli][shard]") {
  TempDir dir, scratch;
  const std::string args =
      q(kSource + "/scenarios.json") + " --scenario nested-finish-mmu-table-free --policy fixed --preemptions 3 --split-depth 2";
  const std::string plain = sharded(args, 2, dir, scratch).text;
  // The same shard with progress lines: stdout and the shard file unchanged.
  const fs::path json = dir.path / "again.json";
  const Outcome o = run_tlbsim("explore " + args + " --shard 1/2 --json " + q(json) + " --progress 0.001", scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  CHECK(o.err.find("shard 1/2, nested-finish-mmu-table-free under fixed (1 of 1): explored ") != std::string::npos);
  CHECK(o.err.find(" tasks, about ") != std::string::npos);
  CHECK(read_text(json) == read_text(dir.path / "shard-1.json"));
  // merge: the report on stdout, how evenly the executions fell on stderr.
  const Outcome m = run_tlbsim("merge " + q(json) + " " + q(dir.path / "shard-2.json"), scratch);
  CHECK(m.out == plain);
  CHECK(m.err.find("merge: 2 shards, executions per shard ") != std::string::npos);
  CHECK(m.err.find("of one process's time (an even split: 0.500)") != std::string::npos);
}
