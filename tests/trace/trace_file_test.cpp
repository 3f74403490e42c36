// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "trace/trace_file.h"

using namespace tlbsim::trace;

TEST_CASE("trace file: a perf script line gives the task, the time on strace's clock and the address", "[trace]") {
  // Recorded: perf script -F pid,tid,time,addr of perf record -e page-faults -c 1 -d -k CLOCK_REALTIME.
  const auto f = parse_perf_line(" 16726/16726 1796497050.480296:     55992131d130");
  REQUIRE(f);
  CHECK(f->pid == 16726);
  CHECK(f->tid == 16726);
  CHECK(f->time_us == 1796497050480296);
  CHECK(f->addr == 0x55992131d130);
  CHECK_FALSE(parse_perf_line("[ perf record: Woken up 2 times to write data ]"));
  CHECK(fault_line(*f) == R"({"fault":{"pid":16726,"tid":16726,"time":"1796497050.480296","addr":"0x55992131d130"}})");
}

TEST_CASE("trace file: a recording's header, strace lines and faults are read, faults in time order", "[trace]") {
  const std::string text =
      R"({"format":"tlbsim-trace","version":1,"command":["p"],"kernel":"6.1.0","clock":"CLOCK_REALTIME","exit_status":0,"strace":[],"perf":[]}
{"strace":"7 1.000001 execve(\"/bin/p\", [\"p\"], 0x1 /* 1 vars */) = 0"}
{"fault":{"pid":7,"tid":7,"time":"1.000300","addr":"0x7f0000001000"}}
{"fault":{"pid":7,"tid":7,"time":"1.000200","addr":"0x7f0000000000"}}
{"strace":"7 1.000100 mmap(NULL, 8192, PROT_READ|PROT_WRITE, MAP_PRIVATE|MAP_ANONYMOUS, -1, 0) = 0x7f0000000000"}
)";
  uint64_t unreadable = 0;
  const Trace t = read_trace(text, 10, &unreadable);
  CHECK(unreadable == 0);
  CHECK(t.header["command"][0] == "p");
  REQUIRE(t.records.size() == 2);
  CHECK(t.records[1].name == "mmap");
  REQUIRE(t.faults.size() == 2);
  CHECK(t.faults[0].addr == 0x7f0000000000);
  CHECK(t.faults[0].line == 4);
  CHECK(t.faults[1].time_us == 1000300);
}

TEST_CASE("trace file: a foreign header, another version and bad lines are errors with their line numbers", "[trace]") {
  uint64_t unreadable = 0;
  Trace t = read_trace(R"({"format":"tlbsim-trace","version":2})", 10, &unreadable);
  REQUIRE(t.errors.size() == 1);
  CHECK_THAT(t.errors[0].message, Catch::Contains("trace version 2"));
  unreadable = 0;
  t = read_trace("{\"format\":\"tlbsim-trace\",\"version\":1}\nnot json\n{\"fault\":{\"pid\":1}}\n{\"strace\":\"1 1.0 brk(\"}\n", 10,
                 &unreadable);
  CHECK(unreadable == 3);
  REQUIRE(t.errors.size() == 3);
  CHECK(t.errors[0].line == 2);
  CHECK(t.errors[1].line == 3);
  CHECK(t.errors[2].line == 4);
  unreadable = 0;
  t = read_trace("1 1.0 brk(\n1 1.1 brk(\n1 1.2 brk(\n", 2, &unreadable);
  CHECK(unreadable == 3);
  CHECK(t.errors.size() == 2);  // only the first max_errors kept
}
