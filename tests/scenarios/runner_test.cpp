// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "kernel/policy.h"
#include "model/pte.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;

namespace {

const char* kTwoReaders = R"({"scenarios": [{
  "name": "s", "source": "test",
  "mms": [{"name": "mm", "vmas": [{"start": "0x1000", "pages": 2, "populate": "write"}]}],
  "threads": [
    {"name": "A", "cpu": 0, "mm": "mm", "ops": [{"op": "read", "addr": "0x1000"}, {"op": "read", "addr": "0x2000"}]},
    {"name": "B", "cpu": 1, "mm": "mm", "ops": [{"op": "munmap", "addr": "0x1000", "pages": 2}]}
  ],
  "schedule": SCHEDULE
}]})";

ScenarioFile with_schedule(const std::string& sched) {
  std::string t = kTwoReaders;
  t.replace(t.find("SCHEDULE"), 8, sched);
  return parse_scenario_text(t, "test.json");
}

std::vector<std::string> actors_of_accesses(const RunResult& r) {
  std::vector<std::string> out;
  for (const Event& e : r.events)
    if (e.kind == EventKind::Access) out.push_back(r.actors[e.actor]);
  return out;
}

}  // namespace

TEST_CASE("an explicit schedule decides who runs first", "[scenarios]") {
  const ScenarioFile first_reads = with_schedule(R"(["A*", "B*"])");
  const RunResult r1 = run_scenario(first_reads.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  CHECK(actors_of_accesses(r1).size() == 2);  // both reads find the mapping

  const ScenarioFile first_unmaps = with_schedule(R"(["B*", "A*"])");
  const RunResult r2 = run_scenario(first_unmaps.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  CHECK(actors_of_accesses(r2).empty());  // both reads fault and get SIGSEGV
  CHECK(r2.status == RunResult::Status::Completed);
}

TEST_CASE("THREAD@function stops the thread right before that function", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"(["B@tlb_finish_mmu", "A*", "B*"])");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  // B cleared the PTEs but has not flushed: A's reads miss in its TLB, walk, and fault.
  CHECK(actors_of_accesses(r).empty());
  size_t finish = 0, first_fault = 0;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::Call && std::string(e.func) == "tlb_finish_mmu" && !finish) finish = e.seq.value();
    if (e.kind == EventKind::Fault && !first_fault) first_fault = e.seq.value();
  }
  REQUIRE(finish);
  REQUIRE(first_fault);
  CHECK(first_fault < finish);
}

TEST_CASE("THREAD:op runs the thread through one op and stops before its next", "[scenarios]") {
  // A reads the first page, then B's whole munmap runs, then A's second read: it faults.
  const ScenarioFile f = with_schedule(R"(["A:op", "B:op", "A:op"])");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  CHECK(actors_of_accesses(r) == std::vector<std::string>{"A"});
  // Each "T:op" ends in the step where the op returned; no other step of A returns one.
  // (Threads by index: A is 0, B is 1.)
  std::vector<std::pair<int, int>> returned;
  for (const StepRecord& st : r.trace)
    if (st.op_returned) returned.emplace_back(st.thread, st.op);
  CHECK(returned == std::vector<std::pair<int, int>>{{0, 0}, {1, 0}, {0, 1}});
  CHECK(r.status == RunResult::Status::Completed);
}

TEST_CASE("a schedule that cannot be followed is bad input", "[scenarios]") {
  SECTION("a function the thread never reaches") {
    const ScenarioFile f = with_schedule(R"(["A@copy_page_range"])");
    CHECK_THROWS_AS(run_scenario(f.scenarios[0], *kernel::find_policy("old"), {.check_invariants = true}), ScenarioError);
  }
  SECTION("an op of a thread that has finished") {
    const ScenarioFile f = with_schedule(R"(["B:op", "B:op"])");
    CHECK_THROWS_AS(run_scenario(f.scenarios[0], *kernel::find_policy("old"), {.check_invariants = true}), ScenarioError);
  }
  SECTION("a thread that has finished") {
    const ScenarioFile f = with_schedule(R"(["A*", "A"])");
    try {
      run_scenario(f.scenarios[0], *kernel::find_policy("old"), {.check_invariants = true, .file = "test.json"});
      FAIL("expected a ScenarioError");
    } catch (const ScenarioError& e) {
      REQUIRE(e.diagnostics().size() == 1);
      CHECK(e.diagnostics()[0].pointer == "/scenarios/0/schedule/1");
      CHECK_THAT(e.diagnostics()[0].message, Catch::Contains("already finished"));
      CHECK(e.diagnostics()[0].line > 0);
    }
  }
}

TEST_CASE("the same scenario and seed give byte-identical reports", "[scenarios]") {
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  auto report = [&](uint64_t seed) {
    std::vector<ScenarioOutcome> out;
    for (const ScenarioSpec& s : f.scenarios) {
      ScenarioOutcome so{&s, {}};
      for (const char* p : {"old", "fixed"})
        so.policies.push_back(judge(s, run_scenario(s, *kernel::find_policy(p), {.seed = seed, .check_invariants = true})));
      out.push_back(std::move(so));
    }
    return json_report(f.path, out).dump() + text_report(f.path, out);
  };
  const std::string a = report(7), b = report(7);
  CHECK(a == b);
}

TEST_CASE("a random schedule depends only on its seed", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"({"random": 3})");
  auto trace = [&](uint64_t seed) {
    const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("old"), {.seed = seed, .check_invariants = true});
    std::string s;
    for (const Event& e : r.events) s += describe(e, r.actors) + "\n";
    return s;
  };
  CHECK(trace(1) == trace(1));
  // Over several seeds the reads land on both sides of the munmap at least once.
  bool before = false, after = false;
  for (uint64_t seed = 1; seed <= 16; ++seed) {
    const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("old"), {.seed = seed, .check_invariants = true});
    const size_t n = actors_of_accesses(r).size();
    before |= n > 0;
    after |= n < 2;
  }
  CHECK(before);
  CHECK(after);
}

TEST_CASE("every bundled scenario meets its expectations with invariant checks on", "[scenarios]") {
  const ScenarioFile f = load_scenario_file(std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json");
  for (const ScenarioSpec& s : f.scenarios) {
    for (const std::string& p : s.policies) {
      INFO(s.name << " under " << p);
      const PolicyOutcome o = judge(s, run_scenario(s, *kernel::find_policy(p), {.check_invariants = true}));
      CHECK(o.run.status == RunResult::Status::Completed);
      for (const auto& c : o.checks) {
        INFO(c.metric << " = " << c.actual << ", expected " << c.bound.text());
        CHECK(c.holds);
      }
    }
  }
}

TEST_CASE("a scenario's costs price the run's flushes", "[scenarios][costs]") {
  // One CPU, so no IPI: munmap's flushes are per page (under the 33-page ceiling).
  const char* text = R"({"scenarios": [{
    "name": "s", "source": "test", "cpus": 1, COSTS
    "mms": [{"name": "mm", "vmas": [{"start": "0x1000", "pages": 2, "populate": "write"}]}],
    "threads": [{"name": "B", "cpu": 0, "mm": "mm", "ops": [{"op": "munmap", "addr": "0x1000", "pages": 2}]}]
  }]})";
  auto run = [&](const std::string& costs) {
    std::string t = text;
    t.replace(t.find("COSTS"), 5, costs);
    const ScenarioFile f = parse_scenario_text(t, "test.json");
    return run_scenario(f.scenarios[0], *kernel::find_policy("fixed")).cpu_cost.cpu_flush_ns;
  };
  // The same per-page flushes, priced at the default and at 7 ns a page.
  const uint64_t at_default = run("");
  REQUIRE(at_default > 0);
  REQUIRE(at_default % iommu::CostModel{}.cpu_invlpg == 0);
  CHECK(run(R"("costs": {"cpu_invlpg": 7},)") == at_default / iommu::CostModel{}.cpu_invlpg * 7);
}

TEST_CASE("a device's steps are marked as hardware until its fault enters the kernel", "[scenarios]") {
  // The device reads an unpopulated page: its DMA faults and iommu_sva_handle_iopf() runs
  // handle_mm_fault() under mmap_read_lock before the retry succeeds.
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{
    "name": "s", "source": "test",
    "devices": [{"name": "d", "decoding": "amd-v2"}],
    "mms": [{"name": "proc", "bind": ["d"], "vmas": [{"start": "0x40000000", "pages": 1}]}],
    "threads": [
      {"name": "dev", "device": "d", "mm": "proc", "ops": [{"op": "dma_read", "addr": "0x40000000"}]},
      {"name": "T", "cpu": 0, "mm": "proc", "ops": [{"op": "read", "addr": "0x40000000"}]}
    ],
    "schedule": ["dev*", "T*"]}]})",
                                             "test.json");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"));
  REQUIRE(r.status == RunResult::Status::Completed);
  std::vector<std::string> hardware, kernel_code;
  for (const StepRecord& st : r.trace) {
    if (st.priming) continue;
    if (st.thread == 1) CHECK(st.hardware == (st.label == "load"));  // the op entry runs switch_mm()
    if (st.thread == 0) (st.hardware ? hardware : kernel_code).push_back(st.label);
  }
  // Op entry, the faulting DMA and its retry begin at hardware points; the handler does not.
  CHECK(hardware == std::vector<std::string>{"dma_read", "DMA read", "DMA read"});
  REQUIRE_FALSE(kernel_code.empty());
  CHECK(kernel_code.front().rfind("mmap_read_lock", 0) == 0);
}

TEST_CASE("a CPU thread is in mm_cpumask from its start, so its first flush IPIs the other CPU", "[scenarios]") {
  // T0 unmaps a page it never touched while T1 (on CPU 1) has it cached: flush_tlb_mm_range() on
  // CPU 0 must IPI CPU 1, and it can only count that if CPU 0 is in the mask (switch_mm_irqs_off()
  // put it there when T0 was scheduled). An IPI priced at 1 ms shows in the simulated clock.
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{
    "name": "s", "source": "test", "costs": {"ipi_first": 1000000},
    "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 1, "populate": "write"}]}],
    "threads": [
      {"name": "T0", "cpu": 0, "mm": "proc", "ops": [{"op": "munmap", "addr": "0x40000000", "pages": 1}]},
      {"name": "T1", "cpu": 1, "mm": "proc", "ops": [{"op": "read", "addr": "0x40000000"}]}
    ],
    "schedule": ["T1*", "T0*"]}]})",
                                             "test.json");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"));
  REQUIRE(r.status == RunResult::Status::Completed);
  uint64_t flush_ns = 0;
  for (size_t i = 1; i < r.events.size(); ++i)
    if (r.events[i].kind == EventKind::CpuFlush) flush_ns += r.events[i].time_ns - r.events[i - 1].time_ns;
  CHECK(flush_ns >= 1000000);
}

TEST_CASE("the text report prints a scenario's description and source with control characters escaped", "[scenarios]") {
  // A newline or a terminal escape in free text would let a file forge report lines.
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "s",
    "source": "src\u001b[2J", "description": "one\nFAIL forged line",
    "mms": [{"name": "mm", "vmas": [{"start": "0x1000", "pages": 1}]}],
    "threads": [{"name": "A", "mm": "mm", "ops": [{"op": "read", "addr": "0x1000"}]}]}]})",
                                             "t.json");
  ScenarioOutcome so{.spec = &f.scenarios[0]};
  so.policies.push_back(judge(f.scenarios[0], run_scenario(f.scenarios[0], *kernel::find_policy("old"), {})));
  const std::string text = text_report(f.path, {so});
  CHECK(text.find("   one\\nFAIL forged line\n") != std::string::npos);
  CHECK(text.find("   source: src\\u001b[2J\n") != std::string::npos);
  CHECK(text.find('\x1b') == std::string::npos);
}

TEST_CASE("the run records where each op began and returned, and which step it returned in", "[scenarios]") {
  const ScenarioFile f = with_schedule(R"(["A*", "B*"])");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  REQUIRE(r.ops.size() == 3);  // A's two reads, B's munmap
  for (const OpSpan& o : r.ops) {
    INFO(o.name << " of thread " << o.thread);
    CHECK(o.begin > 0);
    CHECK(o.end > o.begin);
    // Every event of the op's thread in [begin, end) is the op's; the op returned in exactly one step.
    size_t returned = 0;
    for (const StepRecord& st : r.trace)
      if (st.thread == o.thread && st.op == o.op && st.op_returned) {
        ++returned;
        CHECK(st.op_stored == (o.name == "munmap"));  // a read stores no page-table entry
        // The return is inside that step: the first event after it is at or before the step's end.
        CHECK((st.ev_end == r.events.size() || r.events[st.ev_end].seq.value() >= o.end));
      }
    CHECK(returned == 1);
  }
  CHECK(r.ops[0].name == "read");
  CHECK(r.ops[0].op == 0);
  CHECK(r.ops[1].op == 1);
  CHECK(r.ops[2].name == "munmap");
  for (const StepRecord& st : r.trace)
    if (st.priming) CHECK(st.op == -1);
}

TEST_CASE("an mm's cpus join its mm_cpumask at setup, besides its CPU threads' CPUs", "[scenarios]") {
  auto run = [](const std::string& cpus_key) {
    std::string t = kTwoReaders;
    t.replace(t.find(R"("name": "mm", )"), 14, R"("name": "mm", )" + cpus_key);
    t.replace(t.find("\"source\": \"test\","), 17, "\"source\": \"test\", \"cpus\": 4,");
    t.replace(t.find("SCHEDULE"), 8, R"(["B*", "A*"])");
    const ScenarioFile f = parse_scenario_text(t, "test.json");
    return run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  };
  // munmap's flush_tlb_mm_range() on CPU 1 sends IPIs to the other CPUs of the mask: CPU 0
  // (thread A), and CPU 3 as well when the mm lists it.
  const RunResult plain = run("");
  const RunResult more = run(R"("cpus": [3], )");
  CHECK(plain.cpu_cost.cpu_flushes == more.cpu_cost.cpu_flushes);
  CHECK(more.cpu_cost.cpu_flush_ns > plain.cpu_cost.cpu_flush_ns);
}

TEST_CASE("an mm's cpus must exist and be listed once", "[scenarios]") {
  auto errors_of = [](const std::string& cpus) {
    std::string t = kTwoReaders;
    t.replace(t.find(R"("name": "mm", )"), 14, R"("name": "mm", "cpus": )" + cpus + ", ");
    t.replace(t.find("SCHEDULE"), 8, R"(["B*", "A*"])");
    try {
      (void)parse_scenario_text(t, "test.json");
    } catch (const ScenarioError& e) {
      return std::string(e.what());
    }
    return std::string("accepted");
  };
  CHECK(errors_of(R"([1, 5, 1, "x"])").find("/scenarios/0/mms/0/cpus/3: expected a CPU number 0..63, got \"x\"") != std::string::npos);
  const std::string w = errors_of("[1, 5, 1]");
  CHECK(w.find("/scenarios/0/mms/0/cpus/1: CPU 5 does not exist (\"cpus\": 2)") != std::string::npos);
  CHECK(w.find("/scenarios/0/mms/0/cpus/2: CPU 1 listed twice") != std::string::npos);
}

TEST_CASE("repeat goes over an access op's pages that many times, one step per access", "[scenarios]") {
  std::string t = kTwoReaders;
  t.replace(t.find(R"({"op": "read", "addr": "0x2000"})"), 32, R"({"op": "read", "addr": "0x1000", "pages": 2, "repeat": 3})");
  t.replace(t.find("SCHEDULE"), 8, R"(["A*", "B*"])");
  const ScenarioFile f = parse_scenario_text(t, "test.json");
  REQUIRE(f.scenarios[0].threads[0].ops[1].repeat == 3);
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  CHECK(actors_of_accesses(r).size() == 1 + 2 * 3);
  std::string bad = kTwoReaders;
  bad.replace(bad.find(R"({"op": "read", "addr": "0x2000"})"), 32, R"({"op": "read", "addr": "0x2000", "repeat": 0})");
  bad.replace(bad.find("SCHEDULE"), 8, R"(["A*", "B*"])");
  CHECK_THROWS_WITH(parse_scenario_text(bad, "test.json"),
                    Catch::Contains("/threads/0/ops/1/repeat: expected an integer in 1..1048576, got 0"));
}

namespace {

const char* kForkChild = R"({"scenarios": [{
  "name": "s", "source": "test",
  "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 1, "populate": "write"}]}],
  "threads": [
    {"name": "T0", "cpu": 0, "mm": "proc", "ops": [{"op": "read", "addr": "0x40000000"}, {"op": "fork", "name": "kid"}]},
    {"name": "T1", "cpu": 1, "mm": "proc", "ops": ["exit"]},
    {"name": "C1", "cpu": 1, "mm": "kid", "ops": [{"op": "write", "addr": "0x40000000"}]}
  ],
  "schedule": SCHEDULE
}]})";

RunResult run_fork_child(const std::string& sched) {
  std::string t = kForkChild;
  t.replace(t.find("SCHEDULE"), 8, sched);
  const ScenarioFile f = parse_scenario_text(t, "test.json");
  return run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
}

}  // namespace

TEST_CASE("a thread of a fork's child starts once the fork has woken the child, and runs in the child's mm", "[scenarios]") {
  CHECK_THROWS_AS(run_fork_child(R"(["C1"])"), ScenarioError);  // blocked at wake_up_new_task
  const RunResult r = run_fork_child(R"(["T0*", "C1*", "T1*"])");
  CHECK(r.status == RunResult::Status::Completed);
  std::vector<std::string> accessors;
  for (const Event& e : r.events)
    if (e.kind == EventKind::Access) {
      accessors.push_back(r.actors[e.actor]);
      CHECK(e.mm.value() == (r.actors[e.actor] == "C1" ? 1u : 0u));  // C1 in the child's mm, made by the fork
    }
  CHECK(accessors == std::vector<std::string>{"T0", "C1"});
}

TEST_CASE("a thread of a fork's child whose parent exits before forking runs nothing, and the run ends without a deadlock", "[scenarios]") {
  // T0 is inside its read when T1 exits the process: it dies before its fork.
  const RunResult r = run_fork_child(R"(["T1*", "T0*", "C1*"])");
  CHECK(r.status == RunResult::Status::Completed);
  for (const ThreadOutcome& t : r.threads) CHECK(t.done);
  for (const Event& e : r.events) {
    if (e.kind == EventKind::Access) CHECK(r.actors[e.actor] == "T0");
    CHECK_FALSE((e.kind == EventKind::Call && std::string(e.func) == "copy_process"));
  }
}

TEST_CASE("a thp VMA is mapped by a huge PMD at setup, a partial zap splits it and khugepaged_collapse makes it huge again",
          "[scenarios]") {
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "s", "source": "test",
    "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 512, "thp": true}]}],
    "threads": [
      {"name": "T1", "cpu": 0, "mm": "proc", "ops": [{"op": "madvise_dontneed", "addr": "0x40001000"}]},
      {"name": "khugepaged", "kernel": true, "ops": [{"op": "khugepaged_collapse", "mm": "proc", "addr": "0x40000000"}]}
    ],
    "schedule": ["T1*", "khugepaged*"]}]})",
                                             "test.json");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  std::vector<std::string> huge_pmd_sets;  // who stored a huge PMD, in order
  bool split = false;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::Call && std::string(e.func) == "__split_huge_pmd") split = true;
    if (e.kind == EventKind::PteStore && e.level == 2 && Pte{e.new_val}.huge() && Pte{e.new_val}.present())
      huge_pmd_sets.push_back(r.actors[e.actor]);
  }
  CHECK(split);
  CHECK(huge_pmd_sets == std::vector<std::string>{"setup", "khugepaged"});
}

TEST_CASE("a brk op grows the heap from the mm's break, writes land there, and a brk back frees them after the flush", "[scenarios]") {
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "s", "source": "test",
    "mms": [{"name": "proc", "brk": "0x40000000"}],
    "threads": [
      {"name": "T1", "cpu": 0, "mm": "proc", "ops": [
        {"op": "brk", "addr": "0x40002000"}, {"op": "write", "addr": "0x40000000", "pages": 2},
        {"op": "brk", "addr": "0x40001000"}, {"op": "write", "addr": "0x40001000"}]}
    ]}]})",
                                             "test.json");
  const RunResult r = run_scenario(f.scenarios[0], *kernel::find_policy("fixed"), {.check_invariants = true});
  size_t stores = 0, faults_after_shrink = 0, frees = 0;
  bool shrunk = false;
  for (const Event& e : r.events) {
    if (e.kind == EventKind::Access && (e.flags & kEvWrite)) ++stores;
    if (e.kind == EventKind::Unlock && std::string(e.func) == "mmap_write_downgrade") shrunk = true;
    if (shrunk && e.kind == EventKind::FrameFree && !(e.flags & kEvTable)) ++frees;
    if (shrunk && e.kind == EventKind::Fault) ++faults_after_shrink;
  }
  CHECK(stores == 2);               // the last write is outside the shrunk heap: SIGSEGV
  CHECK(shrunk);                    // shrinking is munmap's route, with the downgrade
  CHECK(frees == 1);                // the second page
  CHECK(faults_after_shrink >= 1);  // the write past the break faulted and found no VMA
}
