// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <fstream>
#include <sstream>

#include "kernel/policy.h"
#include "model/event.h"
#include "scenarios/loader.h"
#include "scenarios/runner.h"
#include "trace/import.h"

using namespace tlbsim;
using namespace tlbsim::trace;
using nlohmann::ordered_json;

namespace {

std::vector<TraceRecord> records(const std::string& text) {
  StraceParser p;
  std::istringstream in(text);
  std::string line;
  for (size_t n = 1; std::getline(in, line); ++n)
    if (auto e = p.feed(line, n)) FAIL("line " << e->line << ": " << e->message);
  return p.finish();
}

ImportResult import_text(const std::string& text, const ImportOptions& opt = {}) {
  ImportResult r = import_trace(records(text), opt);
  // Every import is a scenario file the loader accepts.
  (void)scenarios::parse_scenario_text(r.document.dump(), "imported.json");
  return r;
}

const ordered_json& scenario(const ImportResult& r) { return r.document["scenarios"][0]; }

const ordered_json& thread(const ImportResult& r, const std::string& name) {
  for (const auto& t : scenario(r)["threads"])
    if (t["name"] == name) return t;
  FAIL("no thread " << name);
  throw;
}

/// The imported scenario runs to completion under old and fixed, and the model refuses none of
/// its ops (each was a call the kernel carried out).
void runs_without_failed_op(const ImportResult& r) {
  const auto file = scenarios::parse_scenario_text(r.document.dump(), "imported.json");
  for (const char* policy : {"old", "fixed"}) {
    const auto run = scenarios::run_scenario(file.scenarios[0], *kernel::find_policy(policy), {.check_invariants = true});
    INFO(policy);
    CHECK(run.status == scenarios::RunResult::Status::Completed);
    size_t errors = 0;
    for (const Event& e : run.events) errors += e.kind == EventKind::SyscallError;
    CHECK(errors == 0);
  }
}

const char* kOneProcess = R"(100 1.0 execve("/bin/prog", ["prog"], 0x7ffc /* 1 vars */) = 0
100 1.1 brk(NULL) = 0x555000
100 1.2 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
100 1.3 mmap(NULL, 10000, PROT_READ, MAP_PRIVATE, 3</usr/lib/libc.so.6>, 0x2000) = 0x7f0000010000
100 1.4 mprotect(0x7f0000000000, 4096, PROT_READ) = 0
100 1.5 brk(0x577000) = 0x577000
100 1.6 munmap(0x7f0000000000, 8192) = 0
100 1.7 madvise(0x7f0000010000, 4096, MADV_DONTNEED) = 0
100 1.8 madvise(0x7f0000010000, 4096, MADV_WILLNEED) = 0
100 1.9 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = -1 ENOMEM (Cannot allocate memory)
100 2.0 exit_group(0) = ?
100 2.1 +++ exited with 0 +++
)";

}  // namespace

TEST_CASE("import: memory calls become ops with their recorded addresses, in the recorded order", "[trace]") {
  const ImportResult r = import_text(kOneProcess, ImportOptions{.device = ImportOptions::Device::None});
  const ordered_json& s = scenario(r);
  REQUIRE(s["mms"].size() == 1);
  CHECK(s["mms"][0]["name"] == "100/1 prog");
  CHECK(s["mms"][0]["brk"] == "0x555000");
  CHECK(s["files"] == ordered_json::parse(R"([{"name": "/usr/lib/libc.so.6", "pages": 5}])"));
  const ordered_json& ops = thread(r, "T100/1")["ops"];
  CHECK(ops == ordered_json::parse(R"([
    {"op": "mmap", "addr": "0x7f0000000000", "pages": 2, "prot": "rw"},
    {"op": "mmap", "addr": "0x7f0000010000", "pages": 3, "prot": "r", "file": "/usr/lib/libc.so.6", "index": 2},
    {"op": "mprotect", "addr": "0x7f0000000000", "pages": 1, "prot": "r"},
    {"op": "brk", "addr": "0x577000"},
    {"op": "munmap", "addr": "0x7f0000000000", "pages": 2},
    {"op": "madvise_dontneed", "addr": "0x7f0000010000", "pages": 1},
    "exit"])"));
  CHECK(s["schedule"].size() == ops.size());
  CHECK(s["schedule"][0] == "T100/1:op");
  CHECK(r.summary.failed == 1);
  CHECK(r.summary.ignored.at("madvise MADV_WILLNEED") == 1);
  CHECK(s["devices"].empty());
}

TEST_CASE("import: fork makes a child mm, its execve exits the copy and starts a new mm", "[trace]") {
  const ImportResult r = import_text(R"(1 1.0 execve("/bin/sh", ["sh"], 0x1 /* 1 vars */) = 0
1 1.1 mmap(NULL, 4096, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.2 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f98) = 2
2 1.3 munmap(0x7f0000000000, 4096) = 0
2 1.4 execve("/bin/true", ["true"], 0x2 /* 1 vars */) = 0
2 1.5 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f1000000000
2 1.6 exit_group(0) = ?
1 1.7 exit_group(0) = ?
)");
  const ordered_json& s = scenario(r);
  CHECK(thread(r, "T1/1")["ops"][1] == ordered_json::parse(R"({"op": "fork", "name": "2 fork of 1/1 sh"})"));
  CHECK(thread(r, "T2")["mm"] == "2 fork of 1/1 sh");
  CHECK(thread(r, "T2")["ops"] == ordered_json::parse(R"([{"op": "munmap", "addr": "0x7f0000000000", "pages": 1}, "exit"])"));
  CHECK(thread(r, "T2/1")["mm"] == "2/1 true");
  CHECK(s["schedule"] == ordered_json::parse(R"(["T1/1:op", "T1/1:op", "T2:op", "T2:op", "T2/1:op", "T2/1:op", "T1/1:op"])"));
  // The device goes to the first traced process's last image.
  CHECK(s["mms"][0]["bind"] == ordered_json::parse(R"(["dev"])"));
  CHECK(s["mms"][0]["name"] == "1/1 sh");
}

TEST_CASE("import: a CLONE_VM thread shares its mm, after exit_group its process's calls are left out", "[trace]") {
  const ImportResult r = import_text(R"(1 1.0 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
1 1.1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.2 clone3({flags=CLONE_VM|CLONE_FS|CLONE_FILES|CLONE_SIGHAND|CLONE_THREAD|CLONE_SYSVSEM, exit_signal=0}, 88) = 3
3 1.3 madvise(0x7f0000000000, 8192, MADV_FREE) = 0
1 1.4 exit_group(0) = ?
3 1.5 munmap(0x7f0000000000, 4096) = 0
)");
  CHECK(thread(r, "T3")["mm"] == "1/1 p");
  CHECK(thread(r, "T3")["ops"].size() == 1);
  CHECK(r.summary.ignored.at("call after its process's exit_group") == 1);
}

TEST_CASE("import: memory no traced call mapped is left out and counted, and PROT_NONE is approximated", "[trace]") {
  const ImportResult r = import_text(R"(1 1.0 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
1 1.1 mprotect(0x5624e8bff000, 4096, PROT_READ) = 0
1 1.2 mmap(NULL, 16384, PROT_NONE, MAP_PRIVATE|MAP_ANONYMOUS|MAP_NORESERVE, -1, 0) = 0x7f0000000000
1 1.3 mprotect(0x7f0000000000, 8192, PROT_READ|PROT_WRITE) = 0
1 1.4 munmap(0x7effffffe000, 16384) = 0
)",
                                     ImportOptions{.device = ImportOptions::Device::None});
  CHECK(thread(r, "T1/1")["ops"] == ordered_json::parse(R"([
    {"op": "mmap", "addr": "0x7f0000000000", "pages": 4, "prot": "r"},
    {"op": "mprotect", "addr": "0x7f0000000000", "pages": 2, "prot": "rw"},
    {"op": "munmap", "addr": "0x7f0000000000", "pages": 2}])"));
  CHECK(r.summary.ignored.at("mprotect of memory no traced call mapped") == 1);
  CHECK(r.summary.ignored.at("munmap of memory no traced call mapped") == 1);
  CHECK(r.summary.approximated.at("PROT_NONE imported as read-only (the model has no PROT_NONE)") == 1);
}

TEST_CASE("import: mremap moves each of the model's VMAs in the range, and growth maps the new tail", "[trace]") {
  const ImportResult r = import_text(R"(1 1.0 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
1 1.1 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.2 mremap(0x7f0000000000, 8192, 12288, MREMAP_MAYMOVE) = 0x7f0000000000
1 1.3 mremap(0x7f0000000000, 12288, 16384, MREMAP_MAYMOVE) = 0x7f1000000000
)",
                                     ImportOptions{.device = ImportOptions::Device::None});
  CHECK(thread(r, "T1/1")["ops"] == ordered_json::parse(R"([
    {"op": "mmap", "addr": "0x7f0000000000", "pages": 2, "prot": "rw"},
    {"op": "mmap", "addr": "0x7f0000002000", "pages": 1, "prot": "rw"},
    {"op": "mremap", "addr": "0x7f0000000000", "pages": 2, "new_addr": "0x7f1000000000"},
    {"op": "mremap", "addr": "0x7f0000002000", "pages": 1, "new_addr": "0x7f1000002000"},
    {"op": "mmap", "addr": "0x7f1000003000", "pages": 1, "prot": "rw"}])"));
}

TEST_CASE("import: a clone returning a task the trace has seen is an error at its line", "[trace]") {
  const auto recs = records(R"(1 1.0 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
2 1.1 brk(NULL) = 0x1000
1 1.2 clone(child_stack=NULL, flags=SIGCHLD) = 2
)");
  try {
    (void)import_trace(recs, {});
    FAIL("expected an ImportErrorException");
  } catch (const ImportErrorException& e) {
    CHECK(e.error().line == 3);
    CHECK_THAT(e.error().message, Catch::Contains("task 2, which the trace has seen already"));
  }
}

TEST_CASE("import: a real recording becomes a scenario that runs to completion under old and fixed with no failed op", "[trace]") {
  std::ifstream in(std::string(TLBSIM_SOURCE_DIR) + "/tests/trace/recorded/pyenv-python-json.strace");
  std::stringstream text;
  text << in.rdbuf();
  const ImportResult r = import_text(text.str());
  CHECK(r.summary.ops > 1000);
  CHECK(r.summary.processes > 30);
  runs_without_failed_op(r);
}

TEST_CASE("import: page faults become CPU touches at their time, adjacent pages merged, mirrored by the device", "[trace]") {
  const auto recs = records(R"(1 1.000000 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
1 1.000100 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.000200 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE, 3</lib/l.so>, 0) = 0x7f1000000000
1 1.000900 munmap(0x7f0000000000, 16384) = 0
)");
  auto fault = [](uint64_t us, uint64_t addr) { return PageFault{.pid = 1, .tid = 1, .time_us = us, .addr = addr}; };
  const std::vector<PageFault> faults{fault(1000300, 0x7f0000000010), fault(1000310, 0x7f0000001ff0), fault(1000400, 0x7f1000000000),
                                      fault(1000410, 0x7f1000000008), fault(1000500, 0x7ffffffde000), fault(1000600, 0x7f0000003000)};
  const ImportResult r = import_trace(recs, {}, faults);
  (void)scenarios::parse_scenario_text(r.document.dump(), "imported.json");
  // Anonymous writable: a write; a private file mapping: a read, then the write of a second
  // fault on the same page; the stack was never mapped by a traced call.
  CHECK(thread(r, "T1/1")["ops"] == ordered_json::parse(R"([
    {"op": "mmap", "addr": "0x7f0000000000", "pages": 4, "prot": "rw"},
    {"op": "mmap", "addr": "0x7f1000000000", "pages": 2, "prot": "rw", "file": "/lib/l.so", "index": 0},
    {"op": "write", "addr": "0x7f0000000000", "pages": 2},
    {"op": "read", "addr": "0x7f1000000000", "pages": 1},
    {"op": "write", "addr": "0x7f1000000000", "pages": 1},
    {"op": "write", "addr": "0x7f0000003000", "pages": 1},
    {"op": "munmap", "addr": "0x7f0000000000", "pages": 4}])"));
  CHECK(thread(r, "dev")["ops"] == ordered_json::parse(R"([
    {"op": "dma_write", "addr": "0x7f0000000000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f1000000000", "pages": 1},
    {"op": "dma_write", "addr": "0x7f1000000000", "pages": 1},
    {"op": "dma_write", "addr": "0x7f0000003000", "pages": 1}])"));
  CHECK(scenario(r)["schedule"] == ordered_json::parse(R"(["T1/1:op", "T1/1:op", "T1/1:op", "dev:op", "T1/1:op", "dev:op", "T1/1:op",
    "dev:op", "T1/1:op", "dev:op", "T1/1:op"])"));
  CHECK(r.summary.touches == 5);
  CHECK(r.summary.ignored.at("fault on memory no traced call mapped") == 1);
  // Without the device's accesses the scenario keeps the CPU's.
  const ImportResult quiet = import_trace(recs, ImportOptions{.device_access = ImportOptions::DeviceAccess::None}, faults);
  CHECK(quiet.summary.device_touches == 0);
  CHECK(thread(quiet, "T1/1")["ops"].size() == 7);
}

TEST_CASE("import: window:N re-reads the device's N most recent pages still present after each call that changes mappings", "[trace]") {
  const auto recs = records(R"(1 1.000000 execve("/bin/p", ["p"], 0x1 /* 1 vars */) = 0
1 1.000100 mmap(NULL, 32768, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.000900 madvise(0x7f0000000000, 4096, MADV_DONTNEED) = 0
1 1.001000 mprotect(0x7f0000006000, 4096, PROT_READ) = 0
1 1.002000 munmap(0x7f0000001000, 4096) = 0
)");
  auto fault = [](uint64_t us, uint64_t addr) { return PageFault{.pid = 1, .tid = 1, .time_us = us, .addr = addr}; };
  // Pages 0, 1, 2, then 5, 6 (with a call between 2 and 5 closing the merged run).
  const std::vector<PageFault> faults{fault(1000200, 0x7f0000000000), fault(1000210, 0x7f0000001000), fault(1000220, 0x7f0000002000),
                                      fault(1000300, 0x7f0000005000), fault(1000310, 0x7f0000006000)};
  const ImportResult r = import_trace(recs, ImportOptions{.device_access = ImportOptions::DeviceAccess::Window, .window = 4}, faults);
  (void)scenarios::parse_scenario_text(r.document.dump(), "imported.json");
  // The window holds the 4 most recent pages, 1 2 5 6; page 0 fell out of it. After the
  // madvise (page 0 zapped, not in the window) the device reads 1-2 and 5-6; after the mprotect
  // the same; after the munmap of page 1, 2 and 5-6.
  CHECK(thread(r, "dev")["ops"] == ordered_json::parse(R"([
    {"op": "dma_write", "addr": "0x7f0000000000", "pages": 3},
    {"op": "dma_write", "addr": "0x7f0000005000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f0000001000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f0000005000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f0000001000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f0000005000", "pages": 2},
    {"op": "dma_read", "addr": "0x7f0000002000", "pages": 1},
    {"op": "dma_read", "addr": "0x7f0000005000", "pages": 2}])"));
  CHECK(r.summary.device_touches == 5);
  CHECK(r.summary.device_retouches == 4 + 4 + 3);
  // Each re-read follows the call it belongs to, before the CPU's next op.
  CHECK(scenario(r)["schedule"] == ordered_json::parse(R"(["T1/1:op", "T1/1:op", "dev:op", "T1/1:op", "dev:op", "T1/1:op", "dev:op",
    "dev:op", "T1/1:op", "dev:op", "dev:op", "T1/1:op", "dev:op", "dev:op"])"));
  CHECK(scenario(r)["recorded_ns"] == 2000000);
}

TEST_CASE("import: a real recording of reservations, failed calls, signals, vfork, a killed child and a thread's execve", "[trace]") {
  std::ifstream in(std::string(TLBSIM_SOURCE_DIR) + "/tests/trace/recorded/edge-cases.strace");
  std::stringstream text;
  text << in.rdbuf();
  const ImportResult r = import_text(text.str());
  const ImportSummary& sum = r.summary;
  // The 128 GiB reservation is two VMAs of 2^24 pages, and the mprotect inside it is kept.
  CHECK(sum.approximated.at("mapping larger than 2^24 pages imported as several mmaps of 2^24 pages") == 1);
  const ordered_json& main = thread(r, "T4372/1")["ops"];
  CHECK(main[10] == ordered_json::parse(R"({"op": "mmap", "addr": "0x7fb0f5e00000", "pages": 16777216, "prot": "r"})"));
  CHECK(main[11] == ordered_json::parse(R"({"op": "mmap", "addr": "0x7fc0f5e00000", "pages": 16777216, "prot": "r"})"));
  CHECK(main[13] == ordered_json::parse(R"({"op": "mprotect", "addr": "0x7fb0f5f00000", "pages": 16, "prot": "rw"})"));
  CHECK(sum.approximated.at("PROT_NONE imported as read-only (the model has no PROT_NONE)") == 3);
  // munmap of an unaligned address, MAP_FIXED_NOREPLACE onto a mapping, mprotect of a hole.
  CHECK(sum.failed == 3);
  CHECK(sum.ignored.at("madvise MADV_WILLNEED") == 1);
  CHECK(sum.ignored.at("signal delivered") >= 1);
  // The vfork child borrows its parent's mm until its execve, which leaves the mm to the parent.
  CHECK(thread(r, "T4373/1")["mm"] == "4373/1 true");
  // The forked child killed by SIGKILL: its mapping, then do_group_exit()'s teardown.
  CHECK(thread(r, "T4374")["ops"] == ordered_json::parse(R"([
    {"op": "mmap", "addr": "0x7fd0f6104000", "pages": 2, "prot": "rw"}, "exit"])"));
  // Thread 4376's execve tears down image 4375/1 and continues as task 4375 in a new image.
  CHECK(thread(r, "T4376")["mm"] == "4375/1 edge");
  CHECK(thread(r, "T4376")["ops"] == ordered_json::parse(R"(["exit"])"));
  CHECK(thread(r, "T4375/2")["mm"] == "4375/2 true");
  CHECK(sum.ignored.at("thread group leader superseded by another thread's execve") == 1);
  runs_without_failed_op(r);
}

TEST_CASE("import: --device busiest binds the device to the process image that touched the most pages", "[trace]") {
  const auto recs = records(R"(1 1.000000 execve("/bin/driver", ["driver"], 0x1 /* 1 vars */) = 0
1 1.000100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000
1 1.000200 clone(child_stack=NULL, flags=CLONE_CHILD_CLEARTID|CLONE_CHILD_SETTID|SIGCHLD, child_tidptr=0x7f98) = 2
2 1.000300 execve("/usr/lib/cc1plus", ["cc1plus"], 0x2 /* 1 vars */) = 0
2 1.000400 mmap(NULL, 16384, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f2000000000
2 1.000900 exit_group(0) = ?
1 1.001000 exit_group(0) = ?
)");
  auto fault = [](uint32_t pid, uint64_t us, uint64_t addr) { return PageFault{.pid = pid, .tid = pid, .time_us = us, .addr = addr}; };
  const std::vector<PageFault> faults{fault(1, 1000150, 0x7f0000000000), fault(2, 1000500, 0x7f2000000000),
                                      fault(2, 1000600, 0x7f2000002000)};
  const ImportResult r = import_trace(recs, ImportOptions{.device = ImportOptions::Device::Busiest}, faults);
  (void)scenarios::parse_scenario_text(r.document.dump(), "imported.json");
  CHECK(thread(r, "dev")["mm"] == "2/1 cc1plus");
  CHECK(r.summary.device_touches == 2);
  // The first process is the default.
  const ImportResult first = import_trace(recs, ImportOptions{}, faults);
  CHECK(thread(first, "dev")["mm"] == "1/1 driver");
  // Without faults there is nothing to rank: the first process.
  const ImportResult plain = import_trace(recs, ImportOptions{.device = ImportOptions::Device::Busiest});
  CHECK(scenario(plain)["mms"][0]["bind"] == ordered_json::parse(R"(["dev"])"));
  CHECK(scenario(plain)["mms"][0]["name"] == "1/1 driver");
}

TEST_CASE("import: a file name with bytes that are not printable ASCII is escaped, and stays distinct", "[trace]") {
  const ImportResult r = import_text(
      "1 1.0 execve(\"/bin/p\", [\"p\"], 0x1 /* 1 vars */) = 0\n"
      "1 1.1 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</tmp/a\xff\x01>, 0) = 0x7f0000000000\n"
      "1 1.2 mmap(NULL, 4096, PROT_READ, MAP_PRIVATE, 3</tmp/a\\xff\\x01>, 0) = 0x7f0000001000\n",
      ImportOptions{.device = ImportOptions::Device::None});
  const ordered_json& ops = thread(r, "T1/1")["ops"];
  CHECK(ops[0]["file"] == "/tmp/a\\xff\\x01");
  CHECK(ops[1]["file"] == "/tmp/a\\x5cxff\\x5cx01");
}
