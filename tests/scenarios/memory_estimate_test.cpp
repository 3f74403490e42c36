// SPDX-License-Identifier: MIT
// The memory estimate (src/scenarios/memory_estimate.h) against what runs really allocate and
// log, and the loader's size checks built on it.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/memory_estimate.h"
#include "scenarios/runner.h"
#include "support/valid_scenario_gen.h"
#include "trace/import.h"
#include "trace/trace_file.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

/// What one run really used, in the estimate's units: frames at their peak in use (a freed frame
/// is allocated again before memory grows), every event logged and step recorded.
struct Used {
  uint64_t frames = 0, events = 0, steps = 0;
};

Used used_by(const RunResult& r) {
  Used u;
  uint64_t in_use = 0;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::FrameAlloc) u.frames = std::max(u.frames, ++in_use);
    if (e.kind == EventKind::FrameFree && in_use > 0) --in_use;
  }
  u.events = r.events.size();
  u.steps = r.trace.size();
  return u;
}

/// Every run of `s` under old and fixed, with a few random schedules, stays within its estimate.
void check_covers(const ScenarioSpec& s, const std::string& what) {
  const MemoryEstimate e = estimate_memory(s);
  for (const char* pol : {"old", "fixed"})
    for (uint64_t seed = 0; seed < 4; ++seed) {
      RunOptions ro;
      if (seed) ro.seed = seed;
      const Used u = used_by(run_scenario(s, *kernel::find_policy(pol), ro));
      INFO(what << ": " << s.name << " under " << pol << ", seed " << seed << ": used " << u.frames << " frames, " << u.events
                << " events, " << u.steps << " steps; estimated " << e.frames << ", " << e.events << ", " << e.steps);
      CHECK(u.frames <= e.frames);
      CHECK(u.events <= e.events);
      CHECK(u.steps <= e.steps);
    }
}

/// One VMA of `pages` pages, populated or not, and a thread reading `read` of them; the step
/// budget at its largest, so that setup never hits it first.
std::string one_vma(uint64_t pages, const std::string& populate, uint64_t read) {
  return R"({"scenarios": [{"name": "big", "source": "test", "max_steps": 4294967296,
    "mms": [{"name": "mm", "vmas": [{"start": "0x40000000", "pages": )" +
         std::to_string(pages) + R"(, "populate": ")" + populate + R"("}]}],
    "threads": [{"name": "T", "mm": "mm", "ops": [{"op": "read", "addr": "0x40000000", "pages": )" +
         std::to_string(read) + "}]}]}]}";
}

std::vector<Diagnostic> errors_of(const std::string& text, const LoadLimits& limits = {}) {
  try {
    parse_scenario_text(text, "big.json", limits);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

}  // namespace

TEST_CASE("the memory estimate covers the frames, events and steps of real runs of the bundled and regression scenarios",
          "[scenarios][memory]") {
  const std::filesystem::path src(TLBSIM_SOURCE_DIR);
  for (const auto& path : {src / "scenarios.json"})
    for (const ScenarioSpec& s : load_scenario_file(path.string()).scenarios) check_covers(s, path.filename().string());
  for (const auto& e : std::filesystem::directory_iterator(src / "tests/scenarios/regressions"))
    if (e.path().extension() == ".json")
      for (const ScenarioSpec& s : load_scenario_file(e.path().string()).scenarios) check_covers(s, e.path().filename().string());
}

TEST_CASE("the memory estimate covers the frames, events and steps of real runs of 150 generated valid scenarios", "[scenarios][memory]") {
  for (uint64_t seed = 0; seed < 150; ++seed) {
    const ScenarioFile f = parse_scenario_text(test::generate_valid_scenario(seed), "valid.json");
    for (const ScenarioSpec& s : f.scenarios) check_covers(s, "generate_valid_scenario(" + std::to_string(seed) + ")");
  }
}

TEST_CASE("a scenario that may need more frames than the model has is rejected before anything is built, at the key responsible",
          "[scenarios][memory]") {
  const std::vector<Diagnostic> d = errors_of(one_vma(uint64_t{1} << 24, "write", 1));
  REQUIRE(d.size() == 1);
  CHECK(d[0].pointer == "/scenarios/0/mms/0/vmas/0");
  CHECK(d[0].line == 2);  // where the VMA object starts
  CHECK(d[0].message.find("scenario \"big\" may need up to") == 0);
  CHECK(d[0].message.find("more than the model's 4194304 (16 GiB of 4 KiB pages)") != std::string::npos);
}

TEST_CASE("max-memory: a scenario whose estimate is over the limit is rejected with the estimate, one under it loads",
          "[scenarios][memory]") {
  const std::string text = one_vma(uint64_t{1} << 16, "none", uint64_t{1} << 16);
  const MemoryEstimate e = estimate_memory(parse_scenario_text(text, "big.json").scenarios.at(0));
  CHECK(e.largest == "/scenarios/0/threads/0/ops/0");  // the read of every page, not the VMA
  const uint64_t mib = e.bytes >> 20;
  CHECK(errors_of(text, LoadLimits{.max_memory_mib = mib + 1}).empty());
  const std::vector<Diagnostic> d = errors_of(text, LoadLimits{.max_memory_mib = mib - 1});
  REQUIRE(d.size() == 1);
  CHECK(d[0].pointer == "/scenarios/0/threads/0/ops/0");
  CHECK(d[0].message == "scenario \"big\" needs an estimated " + format_bytes(e.bytes) + " for one run, more than --max-memory " +
                            std::to_string(mib - 1) + " MiB (" + std::to_string(e.frames) + " frames, " + std::to_string(e.events) +
                            " events, " + std::to_string(e.steps) + " steps); the largest part, " + format_bytes(e.largest_bytes) +
                            ", is here");
}

TEST_CASE("the memory estimate saturates instead of wrapping on counts past 2^64", "[scenarios][memory]") {
  // Populating a page costs invalidations per bound device: 2^16 populated VMAs of 2^24 pages
  // with 2^21 devices bound is 2^64 events at setup alone.
  ScenarioSpec s;
  s.mms.push_back(MmSpec{.name = "mm"});
  s.mms[0].vmas.assign(size_t{1} << 16, VmaSpec{.pages = uint64_t{1} << 24, .populate = Populate::Write});
  s.mms[0].bind.assign(size_t{1} << 21, "dev");
  for (const char* name : {"T0", "T1"}) s.threads.push_back(ThreadSpec{.name = name, .mm = "mm", .ops = {OpSpec{.op = "exit"}}});
  const MemoryEstimate e = estimate_memory(s);
  CHECK(e.events == kSaturated);
  CHECK(e.bytes == kSaturated);
}

TEST_CASE("the memory estimate counts an mmap of a file by its own pages, however many mappings the file has", "[scenarios][memory]") {
  // Every process of a recorded program maps libc: an mmap maps its own range of the file (the
  // zap of every mapping is what truncate, reclaim and migrate of the file's pages do).
  auto frames = [](size_t mappers) {
    std::string ops;
    for (size_t i = 0; i < mappers; ++i)
      ops += std::string(i ? "," : "") + R"({"op": "mmap", "addr": )" + std::to_string(0x10000000 + i * 0x100000) +
             R"(, "pages": 200, "prot": "r", "file": "libc"})";
    const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "m", "source": "t", "files": [{"name": "libc", "pages": 200}],
      "mms": [{"name": "p"}], "threads": [{"name": "T", "mm": "p", "ops": [)" +
                                                   ops + "]}]}]}",
                                               "m.json");
    return estimate_memory(f.scenarios[0]).frames;
  };
  const uint64_t one = frames(1), hundred = frames(100);
  CHECK(hundred > one);
  CHECK(hundred - one <= 99 * (one + 1));  // linear in the mappings, not quadratic
}

TEST_CASE("a reservation of 2^24 pages touched in a few places costs its munmap, fork and exit per present page", "[scenarios][memory]") {
  // What allocators and runtimes do (tests/trace/recorded/edge-cases.strace): reserve a large
  // range, use a little of it. The ops that cross it act on its present pages and its VMAs only.
  const std::string text = R"({"scenarios": [{"name": "reserve", "source": "test", "max_steps": 4294967296,
    "mms": [{"name": "mm"}],
    "threads": [{"name": "T", "cpu": 0, "mm": "mm", "ops": [
      {"op": "mmap", "addr": "0x7f0000000000", "pages": 16777216, "prot": "rw"},
      {"op": "write", "addr": "0x7f0000000000"}, {"op": "write", "addr": "0x7f0800000000", "pages": 3},
      {"op": "mprotect", "addr": "0x7f0400000000", "pages": 8388608, "prot": "r"},
      "fork",
      {"op": "munmap", "addr": "0x7f0000000000", "pages": 16777216}, "exit"]}]}]})";
  const ScenarioFile f = parse_scenario_text(text, "reserve.json");
  const MemoryEstimate e = estimate_memory(f.scenarios[0]);
  CHECK(e.bytes < (uint64_t{256} << 20));
  check_covers(f.scenarios[0], "reserve.json");
}

TEST_CASE("the memory estimate covers the frames, events and steps of real runs of imported recordings", "[scenarios][memory]") {
  for (const auto& e : std::filesystem::directory_iterator(std::filesystem::path(TLBSIM_SOURCE_DIR) / "tests/trace/recorded"))
    if (e.path().extension() == ".strace") {
      std::ifstream in(e.path());
      std::stringstream text;
      text << in.rdbuf();
      uint64_t unreadable = 0;
      const trace::Trace tr = trace::read_trace(text.str(), 1, &unreadable);
      REQUIRE(unreadable == 0);
      const trace::ImportResult r = trace::import_trace(tr.records, {}, tr.faults);
      const ScenarioFile f = parse_scenario_text(r.document.dump(), e.path().filename().string());
      check_covers(f.scenarios[0], e.path().filename().string());
    }
}
