// SPDX-License-Identifier: MIT
// The tlbsim binary as a user runs it: exit statuses and messages for bad input, no output file
// left behind by a failed run, and byte-identical reports from repeated runs.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include <sys/stat.h>

#include <nlohmann/json.hpp>

#include "scenarios/printable.h"
#include "support/tlbsim_process.h"

namespace {

namespace fs = std::filesystem;
using tlbsim::test::Outcome;
using tlbsim::test::q;
using tlbsim::test::read_text;
using tlbsim::test::run_tlbsim;
using tlbsim::test::TempDir;

const std::string kSource = TLBSIM_SOURCE_DIR;

}  // namespace

TEST_CASE("tlbsim rejects every file of the bad-input corpus with exit status 2, its messages and no report", "[cli]") {
  const std::string bad = kSource + "/tests/scenarios/bad";
  const auto expected = nlohmann::json::parse(read_text(bad + "/expected.json"));
  TempDir out_dir, scratch;
  const fs::path report = out_dir.path / "report.json";
  size_t n = 0;
  for (const auto& [name, e] : expected.at("files").items()) {
    const std::string path = bad + "/" + name;
    INFO(name << ": " << e.at("problem").get<std::string>());
    // Run-stage files fail while following the schedule under "old"; load-stage ones earlier.
    const Outcome o = run_tlbsim("run " + q(path) + " --policy old --json " + q(report), scratch);
    INFO("stderr:\n" << o.err);
    CHECK(o.status == e.at("exit").get<int>());
    CHECK(o.status == 2);
    for (const auto& x : e.at("errors")) {
      const std::string pointer = x.at("pointer").get<std::string>();
      // A pointer holding control characters from the file is printed escaped.
      CHECK_THAT(o.err, Catch::Contains(tlbsim::scenarios::escape_unprintable(path + ":" + x.at("at").get<std::string>() + ": " +
                                                                              (pointer.empty() ? "" : pointer + ": "))));
      CHECK_THAT(o.err, Catch::Contains(x.at("message").get<std::string>()));
    }
    // One line per diagnostic and the summary, whatever the names in the file hold.
    CHECK(std::count(o.err.begin(), o.err.end(), '\n') == e.at("count").get<long>() + 1);
    CHECK(o.out.empty());
    // Nothing was written, not even a temporary file.
    CHECK(out_dir.listing().empty());
    ++n;
  }
  CHECK(n >= 50);
}

TEST_CASE("a --json path that cannot be written exits 2 and leaves no file behind", "[cli]") {
  TempDir dir, scratch;
  const std::string one = "--scenario nested-finish-mmu-table-free --policy fixed ";
  SECTION("missing directory") {
    const Outcome o = run_tlbsim("run " + one + "--json " + q(dir.path / "no-such-dir" / "r.json"), scratch);
    CHECK(o.status == 2);
    CHECK_THAT(o.err, Catch::Contains("cannot write") && Catch::Contains("no-such-dir/r.json"));
    CHECK(o.out.empty());  // refused before anything was run
    CHECK(dir.listing().empty());
  }
  SECTION("a directory in the way") {
    fs::create_directory(dir.path / "taken");
    const Outcome o = run_tlbsim("run " + one + "--json " + q(dir.path / "taken"), scratch);
    CHECK(o.status == 2);
    CHECK_THAT(o.err, Catch::Contains("cannot write") && Catch::Contains("taken: is a directory"));
    // Refused before anything was run: no temporary file beside it either.
    CHECK(dir.listing() == "taken\n");
    CHECK(fs::is_empty(dir.path / "taken"));
  }
  SECTION("a file that is not a directory in the path") {
    std::ofstream(dir.path / "plain") << "x";
    const Outcome o = run_tlbsim("run " + one + "--json " + q(dir.path / "plain" / "r.json"), scratch);
    CHECK(o.status == 2);
    CHECK(o.out.empty());
    CHECK(dir.listing() == "plain\n");
  }
}

TEST_CASE("a successful run replaces an existing --json file whole and leaves no temporary file", "[cli]") {
  TempDir dir, scratch;
  const fs::path report = dir.path / "r.json";
  std::ofstream(report) << "stale contents\n";
  const Outcome o = run_tlbsim("run --scenario nested-finish-mmu-table-free --policy fixed --json " + q(report), scratch);
  CHECK((o.status == 0 || o.status == 1));
  CHECK(dir.listing() == "r.json\n");
  const auto j = nlohmann::json::parse(read_text(report));
  CHECK(j.dump().find("nested-finish-mmu-table-free") != std::string::npos);
}

TEST_CASE("running every bundled scenario twice gives byte-identical text and JSON reports", "[cli]") {
  TempDir dir, scratch;
  /// The text report and JSON report of one `tlbsim run` over the bundled scenarios.
  auto report = [&](const std::string& extra, const std::string& tag) {
    const fs::path json = dir.path / (tag + ".json");
    const Outcome o = run_tlbsim("run " + q(kSource + "/scenarios.json") + " --check --json " + q(json) + " " + extra, scratch);
    INFO("stderr:\n" << o.err);
    CHECK((o.status == 0 || o.status == 1));
    return std::pair{o.out, read_text(json)};
  };
  const auto first = report("", "first");
  CHECK(!first.first.empty());
  CHECK(!first.second.empty());
  const auto second = report("", "second");
  CHECK(first.first == second.first);
  CHECK(first.second == second.second);
}

TEST_CASE("run --progress SECONDS writes lines naming the run and its steps on stderr, and stdout is unchanged", "[cli]") {
  TempDir scratch;
  const std::string args = "run " + q(kSource + "/scenarios.json") + " --scenario migrate-device-write --policy old,fixed";
  const Outcome plain = run_tlbsim(args, scratch);
  const Outcome o = run_tlbsim(args + " --progress 0.001", scratch);
  INFO("stderr:\n" << o.err);
  CHECK(o.status == plain.status);
  CHECK(o.out == plain.out);
  CHECK(plain.err.empty());  // not a terminal, no --progress: nothing
  // The last line is the final state: the second of the two runs, with its steps.
  CHECK(o.err.find("migrate-device-write under fixed (2 of 2): ") != std::string::npos);
  CHECK(o.err.find(" steps (") != std::string::npos);
}

TEST_CASE("explore over every bundled scenario gives the same bytes with --jobs 1 and --jobs 2, twice", "[cli]") {
  // Random mode keeps this quick over all ten scenarios and both policies; exhaustive mode's
  // --jobs independence is tested on small scenarios in tests/scenarios/explore_test.cpp.
  TempDir scratch;
  auto explore = [&](int jobs) {
    const Outcome o = run_tlbsim(
        "explore " + q(kSource + "/scenarios.json") + " --policy old,fixed --mode random --runs 12 --seed 5 --jobs " + std::to_string(jobs),
        scratch);
    INFO("stderr:\n" << o.err);
    CHECK(o.status == 0);
    return o.out;
  };
  const std::string one = explore(1);
  CHECK(one.find("random") != std::string::npos);
  CHECK(explore(2) == one);
  CHECK(explore(1) == one);
  CHECK(explore(2) == one);
}

TEST_CASE("explore --json writes the whole report, and stated verdicts decide the exit status", "[cli]") {
  TempDir dir, scratch;
  const fs::path json = dir.path / "explore.json";
  const Outcome o =
      run_tlbsim("explore " + q(kSource + "/scenarios.json") + " --scenario khugepaged-retract-file-table --json " + q(json), scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  CHECK(o.out.find("exhaustive (no bound)") != std::string::npos);
  CHECK(o.out.find("Never (exhaustive)") != std::string::npos);
  CHECK(o.out.find("verdict table-freed never: holds") != std::string::npos);
  const std::string bytes = read_text(json);
  const auto doc = nlohmann::json::parse(bytes);
  CHECK(doc.at("exit") == 0);
  CHECK(doc.at("verdicts_disagreeing") == 0);
  const auto& results = doc.at("results");
  REQUIRE(results.size() == 3);  // old and fixed, and v7.1, which the scenario expects no window under
  const auto& r = results.at(0);
  CHECK(r.at("scenario") == "khugepaged-retract-file-table");
  CHECK(r.at("policy") == "old");
  CHECK(r.at("mode") == "exhaustive");
  CHECK(r.at("scope").at("exhaustive") == true);
  CHECK(r.at("scope").at("complete") == true);
  CHECK(r.at("scope").at("preemptions").is_null());
  CHECK(r.at("scope").at("stopped_round").is_null());
  CHECK(r.at("scope").at("time_budget_hit") == false);
  CHECK(r.at("executions").get<uint64_t>() > 0);
  for (const char* k :
       {"pruned", "distinct_outcomes", "naive_interleavings", "naive_within_bound", "expectations", "step_budget_exceeded", "invariant"})
    CHECK(r.contains(k));
  bool table_freed = false;
  for (const auto& p : r.at("properties")) {
    CHECK(p.contains("verdict"));
    CHECK(p.contains("count"));
    if (p.at("name") == "table-freed") {
      table_freed = true;
      CHECK(p.at("verdict") == "sometimes");
      REQUIRE(p.at("witness").is_array());
      CHECK(p.at("witness").at(0).is_string());  // the schedule in scenario syntax
    }
    if (p.at("verdict") == "never") CHECK(p.at("scope") == "exhaustive");
  }
  CHECK(table_freed);
  // The scenario states two verdicts under old: table-freed and after-return, both sometimes.
  REQUIRE(r.at("verdicts").size() == 2);
  for (const auto& v : r.at("verdicts")) CHECK(v.at("status") == "holds");
  // Same bytes again, and with two jobs.
  const fs::path json2 = dir.path / "explore2.json";
  CHECK(run_tlbsim("explore " + q(kSource + "/scenarios.json") + " --scenario khugepaged-retract-file-table --jobs 2 --json " + q(json2),
                   scratch)
            .status == 0);
  CHECK(read_text(json2) == bytes);

  // A stated verdict that a witness contradicts: exit 1, the witness printed.
  std::string text = read_text(kSource + "/scenarios.json");
  const std::string from = R"("table-freed": "never")";
  const size_t khugepaged = text.find(R"("name": "khugepaged-retract-file-table")");
  REQUIRE(khugepaged != std::string::npos);
  REQUIRE(text.find(from, khugepaged) != std::string::npos);
  text.replace(text.find(from, khugepaged), from.size(), R"("table-freed": "never", "observed": "never")");
  const fs::path wrong = dir.path / "wrong.json";
  std::ofstream(wrong) << text;
  Outcome w = run_tlbsim("explore " + q(wrong) + " --scenario khugepaged-retract-file-table --policy fixed", scratch);
  CHECK(w.status == 0);  // fixed never observes: the verdict holds
  text.replace(text.find(R"("observed": "never")", khugepaged), 19, R"("observed": "always")");
  std::ofstream(wrong) << text;
  w = run_tlbsim("explore " + q(wrong) + " --scenario khugepaged-retract-file-table --policy fixed", scratch);
  CHECK(w.status == 1);
  CHECK(w.out.find("verdict observed always: DISAGREES: found Never") != std::string::npos);
  // A bounded search establishes no "never": printed, listed, but exit 0.
  const fs::path bj = dir.path / "bounded.json";
  const Outcome b = run_tlbsim("explore " + q(kSource + "/scenarios.json") +
                                   " --scenario khugepaged-retract-file-table --policy fixed --preemptions 0 --json " + q(bj),
                               scratch);
  CHECK(b.status == 0);
  CHECK(b.out.find("verdict table-freed never: not established (bounded: within 0 preemptions)") != std::string::npos);
  CHECK(b.out.find("Never (within 0 preemptions)") != std::string::npos);
  CHECK(b.out.find("verdict after-return never: not established (bounded: within 0 preemptions)") != std::string::npos);
  CHECK(nlohmann::json::parse(read_text(bj)).at("verdicts_not_established") == 2);  // table-freed and after-return
}

TEST_CASE("explore checks by default a verdict stated under a policy that neither old, fixed nor expect names", "[cli]") {
  TempDir dir, scratch;
  // intel-qi-batch-out-of-order states use-after-free sometimes under v7.1, which its expect
  // does not name.
  const std::string scen = " --scenario intel-qi-batch-out-of-order";
  const Outcome o = run_tlbsim("explore " + q(kSource + "/scenarios.json") + scen, scratch);
  INFO("stdout:\n" << o.out << "stderr:\n" << o.err);
  CHECK(o.status == 0);
  const size_t v71 = o.out.find("intel-qi-batch-out-of-order under v7.1:");
  REQUIRE(v71 != std::string::npos);
  CHECK(o.out.find("verdict use-after-free sometimes: holds", v71) != std::string::npos);
  // Stated wrong, the verdict disagrees, so explore exits 1 without --policy.
  std::string text = read_text(kSource + "/scenarios.json");
  const size_t at = text.find(R"("name": "intel-qi-batch-out-of-order")");
  REQUIRE(at != std::string::npos);
  const size_t stated = text.find(R"("v7.1": {)", text.find(R"("verdicts": {)", at));
  REQUIRE(stated != std::string::npos);
  const std::string from = R"("use-after-free": "sometimes")";
  const size_t verdict = text.find(from, stated);
  REQUIRE(verdict != std::string::npos);
  REQUIRE(verdict < text.find('}', stated));  // inside v7.1's object
  text.replace(verdict, from.size(), R"("use-after-free": "never")");
  const fs::path wrong = dir.path / "wrong.json";
  std::ofstream(wrong) << text;
  const Outcome w = run_tlbsim("explore " + q(wrong) + scen, scratch);
  CHECK(w.status == 1);
  CHECK(w.out.find("verdict use-after-free never: DISAGREES: found Sometimes") != std::string::npos);
}

TEST_CASE("explore --budget SECONDS says when the time budget stopped a search", "[cli]") {
  TempDir dir, scratch;
  const fs::path json = dir.path / "t.json";
  const Outcome o = run_tlbsim("explore " + q(kSource + "/scenarios.json") +
                                   " --scenario nested-finish-mmu-table-free --policy old --budget 0.000001 --json " + q(json),
                               scratch);
  INFO("stderr:\n" << o.err);
  CHECK(o.status == 0);
  CHECK(o.out.find("not exhaustive: bound 3 not finished within the budget") != std::string::npos);
  CHECK(o.out.find("[time budget hit: depends on machine speed]") != std::string::npos);
  CHECK(o.out.find("Never (not established: search not finished)") != std::string::npos);
  const auto r = nlohmann::json::parse(read_text(json)).at("results").at(0);
  CHECK(r.at("scope").at("time_budget_hit") == true);
  CHECK(r.at("scope").at("complete") == false);
  CHECK(run_tlbsim("explore --budget 0", scratch).status == 2);
}

TEST_CASE("a scenario or --costs path that is no readable regular file: exit status 2, saying what it is", "[cli][loader]") {
  TempDir dir, scratch;
  const fs::path fifo = dir.path / "pipe.json", big = dir.path / "big.json";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  std::ofstream(big) << "{}";
  fs::resize_file(big, uintmax_t{96} << 20);  // sparse: takes no room on disk
  const std::pair<fs::path, std::string> cases[] = {
      {dir.path, "is a directory"},
      {fifo, "is not a regular file"},
      {"/dev/zero", "is not a regular file"},
      {big, "is larger than the 64 MiB limit"},
      {dir.path / "none.json", "cannot read: No such file or directory"},
  };
  for (const auto& [path, what] : cases) {
    INFO(path);
    for (const std::string& cmd : {"validate " + q(path), "run " + q(path), "sweep --sizes 1 --costs " + q(path)}) {
      const Outcome o = run_tlbsim(cmd, scratch);
      INFO(cmd << "\nstderr:\n" << o.err);
      CHECK(o.status == 2);
      CHECK_THAT(o.err, Catch::StartsWith(path.string() + ": " + what + "\n"));
      CHECK(o.out.empty());
    }
  }
}

TEST_CASE("run --schedule: replays a witness, and its errors point into the option's text", "[cli][loader]") {
  TempDir scratch;
  const std::string one = "run " + q(kSource + "/scenarios.json") + " --scenario khugepaged-retract-file-table --policy old --schedule ";
  const Outcome ok = run_tlbsim(one + "'[\"dev:4\",\"khugepaged:5\"]'", scratch);
  INFO("stderr:\n" << ok.err);
  CHECK((ok.status == 0 || ok.status == 1));
  CHECK(ok.out.find("khugepaged-retract-file-table") != std::string::npos);
  const Outcome unknown = run_tlbsim(one + "'[\"dev:4\",\"nobody\"]'", scratch);
  CHECK(unknown.status == 2);
  CHECK(unknown.err == "--schedule:1:10: /1: schedule names thread \"nobody\", which does not exist\n1 error; nothing was run\n");
  const Outcome finished = run_tlbsim(one + "'dev*,dev'", scratch);
  CHECK(finished.status == 2);
  CHECK(finished.err ==
        "--schedule:1:6: /1: thread \"dev\" has already finished, so it cannot take a step here (under policy \"old\")\n1 error; nothing "
        "was run\n");
  CHECK(finished.out.empty());
}

TEST_CASE("run, explore and validate refuse a scenario over --max-memory with exit status 2, the estimate and no report", "[cli]") {
  const tlbsim::test::TempDir scratch;
  const std::filesystem::path file = scratch.path / "big.json";
  std::ofstream(file) << R"({"scenarios": [{"name": "big", "source": "test",
  "mms": [{"name": "mm", "vmas": [{"start": "0x40000000", "pages": 65536}]}],
  "threads": [{"name": "T", "mm": "mm", "ops": [{"op": "read", "addr": "0x40000000", "pages": 65536}]}]}]})";
  const std::filesystem::path report = scratch.path / "r.json";
  for (const std::string cmd : {"run", "explore", "validate"}) {
    INFO(cmd);
    const std::string json = cmd == "validate" ? "" : " --json " + q(report);
    const Outcome over = run_tlbsim(cmd + " " + q(file) + " --max-memory 64" + json, scratch);
    CHECK(over.status == 2);
    CHECK(over.err.find("big.json:3:49: /scenarios/0/threads/0/ops/0: scenario \"big\" needs an estimated") != std::string::npos);
    CHECK(over.err.find("more than --max-memory 64 MiB") != std::string::npos);
    CHECK_FALSE(std::filesystem::exists(report));
  }
  // The default limit lets it run.
  const Outcome ok = run_tlbsim("validate " + q(file), scratch);
  CHECK(ok.status == 0);
}

TEST_CASE("sweep refuses a workload run the model has no frames for, or one over --max-memory, with exit status 2 and no output", "[cli]") {
  const tlbsim::test::TempDir scratch, out_dir;
  const std::string csv = " --csv " + q(out_dir.path / "out.csv");
  // Reclaim's file of 4N pages: at N = 2^20 more frames than the model has (this ran 26 s and
  // died in alloc() with exit status 3 before the estimate).
  const Outcome frames = run_tlbsim("sweep --workload reclaim --sizes 64,1048576" + csv, scratch);
  CHECK(frames.status == 2);
  CHECK_THAT(frames.err, Catch::Contains("--sizes 1048576: a run of the reclaim workload may need up to "));
  CHECK_THAT(frames.err, Catch::Contains(" frames, more than the model's 4194304 (16 GiB of 4 KiB pages)"));
  // Migration holds source and target: 2^20 pages fit the frames but not the default 4 GiB.
  const Outcome bytes = run_tlbsim("sweep --workload migrate --sizes 1048576" + csv, scratch);
  CHECK(bytes.status == 2);
  CHECK_THAT(bytes.err, Catch::Contains("--sizes 1048576: a run of the migrate workload needs an estimated "));
  CHECK_THAT(bytes.err, Catch::Contains("more than --max-memory 4096 MiB; the largest part, 5.0 GiB, is --sizes"));
  const Outcome small = run_tlbsim("sweep --workload fork --sizes 64 --vmas 64 --max-memory 64" + csv, scratch);
  CHECK(small.status == 2);
  CHECK_THAT(small.err, Catch::Contains("more than --max-memory 64 MiB"));
  CHECK(frames.out.empty());
  CHECK(bytes.out.empty());
  CHECK(small.out.empty());
  CHECK(out_dir.listing().empty());
  // With no working set at all (each option's 0), a sweep runs (it ended in an invariant
  // violation, mmap() of an empty VMA).
  const Outcome none =
      run_tlbsim("sweep --workload munmap-dense --sizes 1,8 --strategies cpu:full --cpu-working-set 0 --device-working-set 0", scratch);
  CHECK(none.status == 0);
  CHECK(none.err.empty());
}

TEST_CASE("explore at --preemptions 64, or a scenario's own bound of 64, ends within the default execution budget and says so", "[cli]") {
  const tlbsim::test::TempDir scratch;
  const std::string one = q(kSource + "/scenarios.json") + " --scenario mremap-reclaim-device --policy old";
  // This search never finished and printed nothing; the default budget now stops it.
  const Outcome bound = run_tlbsim("explore " + one + " --preemptions 64", scratch);
  CHECK(bound.status == 0);
  CHECK_THAT(bound.out, Catch::StartsWith("mremap-reclaim-device under old: not exhaustive: bound 64 not finished within the budget "
                                          "(stopped after 30000 executions)"));
  CHECK_THAT(bound.out, Catch::Contains("Never (not established: search not finished)"));
  // The scenario's own "explore": {"preemptions": 64}: the unbounded attempt comes first.
  auto doc = nlohmann::json::parse(read_text(kSource + "/scenarios.json"));
  nlohmann::json one_scenario;
  for (const auto& sc : doc.at("scenarios"))
    if (sc.at("name") == "mremap-reclaim-device") one_scenario = sc;
  one_scenario["explore"] = {{"preemptions", 64}};
  const fs::path file = scratch.path / "p64.json";
  std::ofstream(file) << nlohmann::json{{"scenarios", {one_scenario}}}.dump(1);
  const Outcome own = run_tlbsim("explore " + q(file) + " --policy old", scratch);
  CHECK(own.status == 0);
  CHECK_THAT(own.out, Catch::StartsWith("mremap-reclaim-device under old: exhaustive (no bound)"));
}

TEST_CASE("explore --max-steps N reports the step budget its executions ran under, text and JSON", "[cli]") {
  const tlbsim::test::TempDir scratch;
  const fs::path report = scratch.path / "r.json";
  const Outcome o = run_tlbsim(
      "explore " + q(kSource + "/scenarios.json") + " --scenario mremap-reclaim-device --policy old --max-steps 1 --json " + q(report),
      scratch);
  CHECK(o.status == 0);
  CHECK_THAT(o.out, Catch::Contains("[executions cut at the step budget of 1: no Never or Always established]"));
  CHECK_THAT(o.out, Catch::Contains("windows                    Never (not established: executions cut at the step budget of 1)"));
  const auto json = nlohmann::json::parse(read_text(report.string()));
  CHECK(json.at("results").at(0).at("step_budget_exceeded").at("max_steps") == 1);
}

TEST_CASE("run --steps lists every step with its thread, label, op and events, and a schedule written from it replays the run", "[cli]") {
  TempDir scratch;
  const std::string scen = " --scenario mprotect-readonly-device-write --policy fixed";
  const Outcome o = run_tlbsim("run " + q(kSource + "/scenarios.json") + scen + " --steps", scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  CHECK(o.out.find("-- steps of mprotect-readonly-device-write under fixed") != std::string::npos);
  // The device's first step performs no DMA (its op begins at a hardware point), and it says so.
  CHECK(o.out.find("step 1: dev at dma_write (op 0 dma_write) [hardware], 0 events") != std::string::npos);
  CHECK(o.out.find(" at change_pte_range (op 0 mprotect") != std::string::npos);
  CHECK(o.out.find("(op 0 mprotect, returns)") != std::string::npos);
  // Rebuild the schedule from the listing, one step at a time, and run it: same report.
  std::istringstream lines(o.out);
  std::string line, sched;
  while (std::getline(lines, line)) {
    if (line.rfind("step ", 0) != 0) continue;
    const size_t colon = line.find(": ");
    const std::string thread = line.substr(colon + 2, line.find(' ', colon + 2) - colon - 2);
    sched += (sched.empty() ? "" : ",") + thread;
  }
  REQUIRE_FALSE(sched.empty());
  const Outcome replay = run_tlbsim("run " + q(kSource + "/scenarios.json") + scen + " --schedule " + sched, scratch);
  const Outcome plain = run_tlbsim("run " + q(kSource + "/scenarios.json") + scen, scratch);
  CHECK(replay.status == 0);
  CHECK(replay.out == plain.out);
}

TEST_CASE("run --policy versions runs each release policy oldest first, and a post-6.6 bug shows only in the releases that had it",
          "[cli]") {
  TempDir out_dir, scratch;
  const fs::path report = out_dir.path / "versions.json";
  const Outcome o = run_tlbsim(
      "run " + q(kSource + "/scenarios.json") + " --scenario amd-release-flushes-pasid-0 --policy versions --json " + q(report), scratch);
  INFO("stderr:\n" << o.err);
  REQUIRE(o.status == 0);
  const auto j = nlohmann::json::parse(read_text(report.string()));
  std::vector<std::string> order, with_uaf;
  for (const auto& p : j.at("scenarios").at(0).at("policies")) {
    order.push_back(p.at("policy").get<std::string>());
    if (p.at("metrics").at("use-after-free").get<int>() > 0) with_uaf.push_back(order.back());
  }
  CHECK(order == std::vector<std::string>{"v4.12", "v4.18", "old", "fixed", "v6.10", "v6.11", "v6.12", "v6.15", "v6.16", "v6.17", "v6.18",
                                          "v6.19", "v7.1"});
  // 474bf01ed9f0 came with AMD's SVA domain in v6.10; 8386207f37e9 fixed it in v6.12.
  CHECK(with_uaf == std::vector<std::string>{"v6.10", "v6.11"});
}
