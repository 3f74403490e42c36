// SPDX-License-Identifier: MIT
// exit_group() and mmput() (src/kernel/exit.h): the mm is torn down once, by the last thread of
// the process to drop mm_users, never while another thread of it is inside an op on the mm.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "kernel/policy.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

ScenarioFile two_threads(const std::string& t0_ops, const std::string& t1_ops, const std::string& schedule) {
  const std::string text = R"({"scenarios": [{"name": "s", "source": "test",
    "mms": [{"name": "mm", "vmas": [{"start": "0x40000000", "pages": 2, "populate": "write"}]}],
    "threads": [
      {"name": "T0", "cpu": 0, "mm": "mm", "ops": )" +
                           t0_ops + R"(},
      {"name": "T1", "cpu": 1, "mm": "mm", "ops": )" +
                           t1_ops + R"(}],
    "schedule": )" + schedule +
                           "}]}";
  return parse_scenario_text(text, "exit.json");
}

/// The actors of every call to `func`, in order.
std::vector<std::string> callers(const RunResult& r, const std::string& func) {
  std::vector<std::string> out;
  for (const Event& e : r.events)
    if (e.kind == EventKind::Call && func == e.func) out.push_back(r.actors[e.actor]);
  return out;
}

/// The actors whose page request `handler` failed for the reason `why`, in order.
std::vector<std::string> rejected(const RunResult& r, const std::string& handler, const std::string& why) {
  std::vector<std::string> out;
  for (const Event& e : r.events)
    if (e.kind == EventKind::FaultRejected && handler == e.func && e.note == why) out.push_back(r.actors[e.actor]);
  return out;
}

uint64_t first_seq(const RunResult& r, const std::string& actor, const std::string& func) {
  for (const Event& e : r.events)
    if (e.kind == EventKind::Call && func == e.func && r.actors[e.actor] == actor) return e.seq.value();
  return 0;
}

size_t accesses_by(const RunResult& r, const std::string& actor) {
  size_t n = 0;
  for (const Event& e : r.events) n += e.kind == EventKind::Access && r.actors[e.actor] == actor;
  return n;
}

RunResult run(const ScenarioFile& f, std::optional<uint64_t> seed = std::nullopt) {
  return run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.seed = seed, .check_invariants = true});
}

}  // namespace

TEST_CASE("exit_group: a thread inside munmap finishes it, runs none of its later ops, and as the last user runs exit_mmap",
          "[kernel][exit]") {
  const ScenarioFile f = two_threads(R"(["exit"])", R"([{"op": "munmap", "addr": "0x40000000"}, {"op": "read", "addr": "0x40001000"}])",
                                     R"(["T1@free_pgtables", "T0*", "T1*"])");
  const RunResult r = run(f);
  REQUIRE(r.status == RunResult::Status::Completed);
  CHECK(callers(r, "do_group_exit") == std::vector<std::string>{"T0"});
  // T0 dropped its reference while T1 was inside munmap: the teardown is T1's, after munmap.
  CHECK(callers(r, "exit_mmap") == std::vector<std::string>{"T1"});
  CHECK(first_seq(r, "T1", "tlb_finish_mmu") < first_seq(r, "T1", "exit_mmap"));
  CHECK(accesses_by(r, "T1") == 0);  // the read after munmap never ran
}

TEST_CASE("exit_group: the exiting thread tears the mm down itself when no other thread is inside an op", "[kernel][exit]") {
  // T1 has run out of ops before the exit: it counts as gone and delays nothing.
  const ScenarioFile f = two_threads(R"(["exit"])", R"([{"op": "read", "addr": "0x40000000"}])", R"(["T1*", "T0*"])");
  const RunResult r = run(f);
  CHECK(callers(r, "exit_mmap") == std::vector<std::string>{"T0"});
  CHECK(accesses_by(r, "T1") == 1);
}

TEST_CASE("exit_group: threads running out of ops without an exit tear nothing down", "[kernel][exit]") {
  const ScenarioFile f =
      two_threads(R"([{"op": "read", "addr": "0x40000000"}])", R"([{"op": "read", "addr": "0x40001000"}])", R"(["T1*", "T0*"])");
  const RunResult r = run(f);
  CHECK(callers(r, "exit_mmap").empty());
  CHECK(accesses_by(r, "T0") == 1);
  CHECK(accesses_by(r, "T1") == 1);
}

TEST_CASE("exit_group: two threads exiting at once tear the mm down exactly once, under any schedule", "[kernel][exit]") {
  const ScenarioFile f = two_threads(R"(["exit", {"op": "read", "addr": "0x40000000"}])",
                                     R"([{"op": "munmap", "addr": "0x40001000"}, "exit"])", R"({"random": 1})");
  for (uint64_t seed = 0; seed < 64; ++seed) {
    INFO("seed " << seed);
    const RunResult r = run(f, seed);
    REQUIRE(r.status == RunResult::Status::Completed);
    CHECK(callers(r, "exit_mmap").size() == 1);
    CHECK(accesses_by(r, "T0") == 0);  // T0's read comes after its own exit
  }
}

namespace {

/// T0 exits while the device's write to a page never faulted in raises a page request.
ScenarioFile exit_during_page_request(const std::string& schedule) {
  const std::string text = R"({"scenarios": [{"name": "s", "source": "test",
    "devices": [{"name": "dev0"}],
    "mms": [{"name": "mm", "bind": ["dev0"], "vmas": [{"start": "0x40000000", "pages": 2}]}],
    "threads": [
      {"name": "T0", "cpu": 0, "mm": "mm", "ops": ["exit"]},
      {"name": "dev", "device": "dev0", "mm": "mm", "ops": [{"op": "dma_write", "addr": "0x40001000"}]}],
    "schedule": )" + schedule +
                           "}]}";
  return parse_scenario_text(text, "exit-iopf.json");
}

size_t allocs_by(const RunResult& r, const std::string& actor) {
  size_t n = 0;
  for (const Event& e : r.events) n += e.kind == EventKind::FrameAlloc && r.actors[e.actor] == actor;
  return n;
}

}  // namespace

TEST_CASE("exit_group: a page request handled after the last user has gone is answered INVALID and faults nothing in", "[kernel][exit]") {
  // The device faults and its handler waits for mmap_read_lock; T0's exit drops the last
  // reference and tears the mm down; iommu_sva_find()'s mmget_not_zero() then fails.
  const RunResult r = run(exit_during_page_request(R"(["dev@mmap_read_lock", "T0*", "dev*"])"));
  REQUIRE(r.status == RunResult::Status::Completed);
  CHECK(callers(r, "exit_mmap") == std::vector<std::string>{"T0"});
  CHECK(rejected(r, "iommu_sva_handle_iopf", "IOMMU_PAGE_RESP_INVALID: mmget_not_zero") == std::vector<std::string>{"dev"});
  CHECK(allocs_by(r, "dev") == 0);
  CHECK(accesses_by(r, "dev") == 0);
}

TEST_CASE("exit_group: a page request holding the last reference runs exit_mmap itself, after its fault", "[kernel][exit]") {
  // The handler took its reference and is inside handle_mm_fault() when T0 exits: T0's mmput()
  // is not the last, the handler's is, and the page it faulted in is torn down with the rest.
  const RunResult r = run(exit_during_page_request(R"(["dev@pte_offset_map_lock", "T0*", "dev*"])"));
  REQUIRE(r.status == RunResult::Status::Completed);
  CHECK(callers(r, "exit_mmap") == std::vector<std::string>{"dev"});
  CHECK(first_seq(r, "dev", "handle_mm_fault") < first_seq(r, "dev", "exit_mmap"));
  CHECK(allocs_by(r, "dev") >= 1);
  // The page the handler faulted in is freed by its own teardown (tlb_finish_mmu()'s batch).
  uint32_t faulted = ~0u;
  for (const Event& e : r.events)
    if (e.kind == EventKind::FrameAlloc && std::string(e.func) == "do_anonymous_page") faulted = e.pfn.value();
  size_t frees = 0;
  for (const Event& e : r.events)
    frees += e.kind == EventKind::FrameFree && e.pfn.value() == faulted && std::string(e.func) == "free_pages_and_swap_cache";
  CHECK(frees == 1);
}
