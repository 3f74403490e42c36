// SPDX-License-Identifier: MIT
// tlbsim record on this machine: a small program recorded and imported. Recording needs ptrace
// (strace) and perf_event_open (perf); where the machine refuses them (a container without
// CAP_SYS_PTRACE, kernel.perf_event_paranoid) the test says so and checks what it can.
#include <catch2/catch.hpp>

#include <filesystem>
#include <string>

#include "support/tlbsim_process.h"

namespace {
namespace fs = std::filesystem;
using namespace tlbsim::test;  // NOLINT(google-build-using-namespace): the test support helpers
}  // namespace

TEST_CASE("record runs a program under strace and perf, import makes a scenario of its trace, and run and sweep take it", "[cli][record]") {
  TempDir scratch, dir;
  const fs::path trace = dir.path / "t.trace", scenario = dir.path / "s.json";
  const std::string program = " -- /bin/sh -c 'x=$(echo hello); echo $x'";
  Outcome rec = run_tlbsim("record -o " + q(trace) + program, scratch);
  if (rec.status != 0) {
    WARN("recording with page faults failed here (" << rec.err << "); trying strace alone");
    rec = run_tlbsim("record --no-faults -o " + q(trace) + program, scratch);
  }
  if (rec.status != 0) {
    WARN("tlbsim record cannot run strace on this machine, so only its refusal is checked: " << rec.err);
    CHECK(rec.status == 2);
    CHECK_FALSE(fs::exists(trace));
    return;
  }
  CHECK_THAT(rec.err, Catch::Contains("recorded "));
  CHECK(read_text(trace).rfind(R"({"format":"tlbsim-trace","version":1,"command":["/bin/sh","-c")", 0) == 0);
  const Outcome imp = run_tlbsim("import " + q(trace) + " -o " + q(scenario), scratch);
  REQUIRE(imp.status == 0);
  CHECK_THAT(imp.err, Catch::Contains("imported "));
  CHECK_THAT(read_text(scenario), Catch::Contains(R"("op": "fork")"));  // the shell forks for $(...)
  const Outcome run = run_tlbsim("run " + q(scenario), scratch);
  CHECK(run.status == 0);
  const Outcome sweep = run_tlbsim("sweep --workload " + q(scenario) + " --strategies iommu:range,iommu:full", scratch);
  CHECK(sweep.status == 0);
  CHECK_THAT(sweep.out, Catch::Contains("iommu:range            fixed") && Catch::Contains("iommu:full             old"));
}

TEST_CASE("record without a program is a usage error", "[cli][record]") {
  TempDir scratch;
  const Outcome o = run_tlbsim("record -o x.trace", scratch);
  CHECK(o.status == 2);
  CHECK_THAT(o.err, Catch::Contains("record needs '-- PROGRAM'"));
}
