// SPDX-License-Identifier: MIT
// free_pgtables() against unmap_mapping_range(): the kernel unlinks a VMA from i_mmap under
// i_mmap_lock_write() before free_pgd_range() frees its tables, and truncate walks i_mmap under
// i_mmap_lock_read() for its whole zap, so a truncate either zaps the VMA with its tables intact
// or does not find it. Replays the interleaving of cve-2018-18281-mremap-truncate that once let
// the truncate's zap_pte_range() touch a PTE table mremap's do_munmap() had already freed.
#include <catch2/catch.hpp>

#include <string>
#include <utility>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"

namespace tlbsim::kernel {
namespace {

using scenarios::RunResult;
using scenarios::ScenarioSpec;
using scenarios::ScheduleEntry;
using scenarios::ScheduleSpec;

constexpr uint64_t kOldAddr = 0x70000000;

/// The schedule `tlbsim explore` reported for cve-2018-18281-mremap-truncate:
/// ["T3:4","trunc","T1:5","trunc","T1:6","trunc"].
const std::vector<std::pair<std::string, uint64_t>> kWitness = {{"T3", 4}, {"trunc", 1}, {"T1", 5}, {"trunc", 1}, {"T1", 6}, {"trunc", 1}};

ScenarioSpec mremap_truncate() {
  const scenarios::ScenarioFile f = scenarios::load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  for (const ScenarioSpec& s : f.scenarios)
    if (s.name == "cve-2018-18281-mremap-truncate") return s;
  FAIL("scenarios.json has no cve-2018-18281-mremap-truncate");
  return {};
}

int thread_index(const ScenarioSpec& s, const std::string& name) {
  for (size_t i = 0; i < s.threads.size(); ++i)
    if (s.threads[i].name == name) return static_cast<int>(i);
  FAIL("no thread " << name);
  return -1;
}

/// Follows the witness step by step; an entry whose thread is blocked when its turn comes is
/// skipped (its name recorded), and after the witness the first runnable thread runs.
struct WitnessReplay {
  const ScenarioSpec& s;
  size_t entry = 0;
  uint64_t taken = 0;
  std::vector<std::string> found_blocked;

  int operator()(uint64_t runnable) {
    for (; entry < kWitness.size(); ++entry, taken = 0) {
      const auto& [name, steps] = kWitness[entry];
      if (taken == steps) continue;
      const int t = thread_index(s, name);
      if (runnable >> t & 1) {
        ++taken;
        return t;
      }
      found_blocked.push_back(name);
    }
    for (int t = 0; t < 64; ++t)
      if (runnable >> t & 1) return t;
    return -1;
  }
};

bool is(const RunResult& r, const Event& e, EventKind kind, const char* actor, const char* func) {
  return e.kind == kind && r.actors[e.actor] == actor && e.func && std::string(e.func) == func;
}

bool is_i_mmap(const Event& e) { return e.note.find("i_mmap_rwsem") != std::string::npos; }

}  // namespace

SCENARIO("truncate's zap is excluded by i_mmap_rwsem while free_pgtables() frees the tables", "[kernel][zap]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed", "v4.18");
  GIVEN("the mremap/truncate interleaving explore reported, under " + policy) {
    ScenarioSpec s = mremap_truncate();

    WHEN("the witness is followed exactly") {
      s.schedule = ScheduleSpec{.kind = ScheduleSpec::Kind::Explicit};
      for (const auto& [name, steps] : kWitness) s.schedule.entries.push_back(ScheduleEntry{.thread = name, .steps = steps});
      THEN("mremap's free_pgtables() waits for i_mmap_lock_write while the truncate walks i_mmap") {
        std::string why;
        try {
          (void)scenarios::run_scenario(s, *find_policy(policy), {.check_invariants = true});
        } catch (const scenarios::ScenarioError& e) {
          why = e.diagnostics().at(0).message;
        }
        CHECK_THAT(why, Catch::Contains("thread \"T1\" is blocked at \"i_mmap_lock_write"));
      }
    }

    WHEN("the witness is followed as far as the locks allow, then the threads run in order") {
      WitnessReplay replay{s};
      RunResult r;
      REQUIRE_NOTHROW(r = scenarios::run_scenario(s, *find_policy(policy),
                                                  {.check_invariants = true, .chooser = [&](uint64_t runnable, const auto&, const auto&) {
                                                     return replay(runnable);
                                                   }}));
      CHECK(r.status == RunResult::Status::Completed);
      CHECK(replay.found_blocked == std::vector<std::string>{"T1"});

      // The truncate's read-side critical section, and mremap's do_munmap() of the old range:
      // free_pgtables() entered, unlinking under i_mmap_lock_write(), then clearing the PMD entry.
      uint64_t trunc_lock = 0, trunc_unlock = 0, in_free = 0, unlink_lock = 0, unlink_unlock = 0, pmd_clear = 0;
      bool trunc_zapped_old = false;
      for (const Event& e : r.events) {
        const uint64_t seq = e.seq.value();
        if (is(r, e, EventKind::Lock, "trunc", "i_mmap_lock_read") && is_i_mmap(e)) trunc_lock = seq;
        if (is(r, e, EventKind::Unlock, "trunc", "i_mmap_unlock_read") && is_i_mmap(e)) trunc_unlock = seq;
        if (is(r, e, EventKind::Call, "trunc", "zap_page_range_single") && e.va == kOldAddr) trunc_zapped_old = true;
        if (!in_free && is(r, e, EventKind::Call, "T1", "free_pgtables")) in_free = seq;
        if (in_free && !unlink_lock && is(r, e, EventKind::Lock, "T1", "i_mmap_lock_write") && is_i_mmap(e)) unlink_lock = seq;
        if (unlink_lock && !unlink_unlock && is(r, e, EventKind::Unlock, "T1", "i_mmap_unlock_write") && is_i_mmap(e)) unlink_unlock = seq;
        if (in_free && !pmd_clear && is(r, e, EventKind::PteStore, "T1", "pmd_clear") && e.va == kOldAddr) pmd_clear = seq;
      }
      REQUIRE(trunc_lock);
      REQUIRE(trunc_unlock);
      REQUIRE(in_free);
      REQUIRE(unlink_lock);
      REQUIRE(unlink_unlock);
      REQUIRE(pmd_clear);
      THEN("the truncate zapped the old VMA while mremap was already in free_pgtables()") {
        CHECK(trunc_zapped_old);
        CHECK(trunc_lock < in_free);
        CHECK(in_free < trunc_unlock);
      }
      THEN("the old VMA left i_mmap only after the truncate's walk, and its PTE table went after that") {
        CHECK(trunc_unlock < unlink_lock);
        CHECK(unlink_lock < unlink_unlock);
        CHECK(unlink_unlock < pmd_clear);
      }
    }
  }
}

}  // namespace tlbsim::kernel

namespace tlbsim::kernel {

TEST_CASE("munmap over none PGD and PUD entries skips them whole and still zaps every page past them", "[kernel][zap]") {
  // A 64 GiB mapping across the 1 TiB boundary, touched only 2 GiB and 20 GiB past it: its
  // first half is under a none PGD entry, and none PUD entries lie between the two pages. fork
  // copies both pages past the none entries; munmap zaps them.
  const std::string text = R"({"scenarios": [{"name": "sparse", "source": "test", "max_steps": 4294967296,
    "mms": [{"name": "mm", "vmas": [{"start": "0xf800000000", "pages": 16777216}]}],
    "threads": [{"name": "T", "cpu": 0, "mm": "mm", "ops": [
      {"op": "write", "addr": "0x10080000000"}, {"op": "write", "addr": "0x10500000000"},
      {"op": "fork", "name": "child"},
      {"op": "munmap", "addr": "0xf800000000", "pages": 16777216},
      {"op": "write", "addr": "0x10500000000"}]},
      {"name": "C", "cpu": 1, "mm": "child", "ops": [{"op": "read", "addr": "0x10500000000"}, "exit"]}],
    "schedule": ["T:op", "T:op", "T:op", "C:op", "T:op", "T:op", "C:op"]}]})";
  const scenarios::ScenarioFile f = scenarios::parse_scenario_text(text, "sparse.json");
  const RunResult r = scenarios::run_scenario(f.scenarios[0], *find_policy("fixed"), {.check_invariants = true});
  REQUIRE(r.status == RunResult::Status::Completed);
  size_t child_reads = 0, segv = 0, pte_clears = 0;
  for (const Event& e : r.events) {
    child_reads += e.kind == EventKind::Access && r.actors[e.actor] == "C";
    segv += e.kind == EventKind::Signal;
    pte_clears += e.kind == EventKind::PteStore && e.level == 1 && e.old_val != 0 && e.new_val == 0 && r.actors[e.actor] == "T";
  }
  // The child read its copy of the page 20 GiB on: fork copied the PTE past the none entries.
  CHECK(child_reads == 1);
  // munmap cleared both of the parent's PTEs, and the write after it found nothing: SIGSEGV.
  CHECK(pte_clears == 2);
  CHECK(segv == 1);
}

}  // namespace tlbsim::kernel
