// SPDX-License-Identifier: MIT
// tlbsim import as a user runs it: a recording in, a scenario file out that the other commands
// take; unreadable lines refused with their line numbers, or skipped and counted on request.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <string>

#include "support/tlbsim_process.h"

namespace {
namespace fs = std::filesystem;
using namespace tlbsim::test;  // NOLINT(google-build-using-namespace): the test support helpers
const std::string kRecording = std::string(TLBSIM_SOURCE_DIR) + "/tests/trace/recorded/pyenv-python-json.strace";
}  // namespace

TEST_CASE("import writes the same scenario file twice, and validate and run take it", "[cli]") {
  TempDir scratch, dir;
  const fs::path a = dir.path / "a.json", b = dir.path / "b.json";
  const Outcome o1 = run_tlbsim("import " + q(kRecording) + " -o " + q(a), scratch);
  REQUIRE(o1.status == 0);
  CHECK_THAT(o1.err, Catch::Contains("imported ") && Catch::Contains("mprotect of memory no traced call mapped"));
  REQUIRE(run_tlbsim("import " + q(kRecording) + " -o " + q(b), scratch).status == 0);
  CHECK(read_text(a) == read_text(b));
  CHECK(run_tlbsim("validate " + q(a), scratch).status == 0);
  const Outcome run = run_tlbsim("run " + q(a), scratch);
  CHECK(run.status == 0);
  CHECK_THAT(run.out, Catch::Contains("== imported"));
}

TEST_CASE("import refuses a trace with unreadable lines, naming each, and writes nothing unless --lenient", "[cli]") {
  TempDir scratch, dir;
  const fs::path trace = dir.path / "t.strace", out = dir.path / "s.json";
  std::ofstream(trace) << "1 1.0 execve(\"/bin/p\", [\"p\"], 0x1 /* 1 vars */) = 0\n"
                          "1 1.1 mmap(NULL, 4096, PROT_READ\n"
                          "1 1.2 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000\n";
  const Outcome bad = run_tlbsim("import " + q(trace) + " -o " + q(out), scratch);
  CHECK(bad.status == 2);
  CHECK_THAT(bad.err, Catch::Contains(trace.string() + ":2:1: the arguments of mmap never close"));
  CHECK_THAT(bad.err, Catch::Contains("nothing was written"));
  CHECK_FALSE(fs::exists(out));
  const Outcome lenient = run_tlbsim("import " + q(trace) + " -o " + q(out) + " --lenient", scratch);
  CHECK(lenient.status == 0);
  CHECK_THAT(lenient.err, Catch::Contains("1  line that could not be read (--lenient)"));
  CHECK(fs::exists(out));
}

TEST_CASE("import never writes over its own trace", "[cli]") {
  TempDir scratch, dir;
  const fs::path trace = dir.path / "t.strace";
  fs::copy_file(kRecording, trace);
  const Outcome o = run_tlbsim("import " + q(trace) + " -o " + q(trace), scratch);
  CHECK(o.status == 2);
  CHECK(read_text(trace) == read_text(kRecording));
}
