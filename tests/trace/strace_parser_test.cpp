// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include "trace/strace_parser.h"

using namespace tlbsim::trace;

namespace {

std::vector<TraceRecord> parse(const std::vector<std::string>& lines, std::vector<TraceLineError>* errors = nullptr) {
  StraceParser p;
  for (size_t i = 0; i < lines.size(); ++i)
    if (auto e = p.feed(lines[i], i + 1)) {
      if (!errors) FAIL("line " << e->line << ": " << e->message);
      errors->push_back(*e);
    }
  return p.finish();
}

}  // namespace

TEST_CASE("strace: a line of -f -o gives the task, the time, the call, its arguments and its result", "[trace]") {
  // Recorded (tests/trace/recorded/pyenv-python-json.strace, line 5).
  const auto r =
      parse({"6717  1796494917.839989 mmap(NULL, 1974096, PROT_READ, MAP_PRIVATE|MAP_DENYWRITE, "
             "3</usr/lib/x86_64-linux-gnu/libc.so.6>, 0) = 0x7f993ca17000"});
  REQUIRE(r.size() == 1);
  CHECK(r[0].kind == TraceRecord::Kind::Syscall);
  CHECK(r[0].pid == 6717);
  CHECK(r[0].time_us == 1796494917839989);
  CHECK(r[0].name == "mmap");
  CHECK(r[0].args == std::vector<std::string>{"NULL", "1974096", "PROT_READ", "MAP_PRIVATE|MAP_DENYWRITE",
                                              "3</usr/lib/x86_64-linux-gnu/libc.so.6>", "0"});
  CHECK(r[0].ret == "0x7f993ca17000");
  CHECK_FALSE(r[0].failed());
}

TEST_CASE("strace: an unfinished call and its resumed half are one record, at the line of its first half", "[trace]") {
  // Recorded: 6723's execve is interrupted by 6722's wait4, which returns after 6723's resumes.
  const auto r = parse({
      "6720  1796494917.933107 wait4(-1,  <unfinished ...>",
      "6723  1796494917.941660 execve(\"/usr/bin/readlink\", [\"/usr/bin/readlink\", \"pyenv\"], 0x55d3356d9f90 /* 42 vars */ "
      "<unfinished ...>",
      "6723  1796494917.942749 <... execve resumed>) = 0",
      "6720  1796494917.950371 <... wait4 resumed>[{WIFEXITED(s) && WEXITSTATUS(s) == 1}], 0, NULL) = 6723",
  });
  REQUIRE(r.size() == 2);
  CHECK(r[0].name == "wait4");
  CHECK(r[0].line == 1);
  CHECK(r[0].args == std::vector<std::string>{"-1", "[{WIFEXITED(s) && WEXITSTATUS(s) == 1}]", "0", "NULL"});
  CHECK(r[0].ret == "6723");
  CHECK(r[1].name == "execve");
  CHECK(r[1].line == 2);
  CHECK(r[1].args.size() == 3);
  CHECK(r[1].ret == "0");
}

TEST_CASE("strace: a thread's execve resumes under its leader's id, and the leader ends 'superseded'", "[trace]") {
  // Recorded (tests/trace/recorded/edge-cases.strace): thread 4376 of process 4375 execs while
  // the leader 4375 waits in pause(); the leader's own call never returns.
  const auto r = parse({
      "4375  1796498666.423600 pause( <unfinished ...>",
      "4376  1796498666.423737 execve(\"/bin/true\", [\"/bin/true\"], 0x7ffe71b449e0 /* 37 vars */ <pid changed to 4375 ...>",
      "4375  1796498666.423887 +++ superseded by execve in pid 4376 +++",
      "4375  1796498666.423901 <... execve resumed>) = 0",
      "4375  1796498666.423918 brk(NULL)       = 0x555d1759a000",
  });
  REQUIRE(r.size() == 4);
  CHECK(r[0].name == "pause");
  CHECK(r[0].ret.empty());  // ended by the execve
  CHECK(r[1].name == "execve");
  CHECK(r[1].pid == 4376);
  CHECK(r[1].new_pid == 4375);
  CHECK(r[1].args.size() == 3);
  CHECK(r[1].ret == "0");
  CHECK(r[2].kind == TraceRecord::Kind::Superseded);
  CHECK(r[2].pid == 4375);
  CHECK(r[3].name == "brk");
  CHECK(r[3].pid == 4375);
}

TEST_CASE("strace: a failed call keeps its errno, and exit_group's result is '?'", "[trace]") {
  const auto r = parse({
      "6717  1796494917.851106 execve(\"/root/.cargo/bin/bash\", [\"bash\"], 0x7fff89592bc8 /* 41 vars */) = -1 ENOENT (No such file "
      "or directory)",
      "6717  1796494918.9 exit_group(0)                     = ?",
  });
  REQUIRE(r.size() == 2);
  CHECK(r[0].failed());
  CHECK(r[0].error == "ENOENT");
  CHECK(r[1].ret == "?");
  CHECK_FALSE(r[1].failed());
  CHECK(r[1].time_us == 1796494918900000);
}

TEST_CASE("strace: signals, exits and kills are records, a call its task never returned from ends with no result", "[trace]") {
  const auto r = parse({
      "6717  1796494917.918637 --- SIGCHLD {si_signo=SIGCHLD, si_code=CLD_EXITED, si_pid=6718, si_uid=0} ---",
      "7001  1796494917.92 futex(0x7f0, FUTEX_WAIT_PRIVATE, 0, NULL <unfinished ...>",
      "7001  1796494917.93 +++ killed by SIGKILL +++",
      "6718  1796494917.94 +++ exited with 3 +++",
  });
  REQUIRE(r.size() == 4);
  CHECK(r[0].kind == TraceRecord::Kind::Signal);
  CHECK(r[0].name == "SIGCHLD");
  CHECK(r[1].name == "futex");
  CHECK(r[1].ret.empty());
  CHECK(r[2].kind == TraceRecord::Kind::Killed);
  CHECK(r[2].name == "SIGKILL");
  CHECK(r[3].kind == TraceRecord::Kind::Exited);
  CHECK(r[3].exit_code == 3);
}

TEST_CASE("strace: '[pid N]' prefixes, logs without -f and logs without times are read", "[trace]") {
  const auto r = parse({"[pid  4242] 1.5 munmap(0x7f0000000000, 4096) = 0", "brk(NULL) = 0x55a000", "12 1.000001 brk(NULL) = 0x56a000"});
  REQUIRE(r.size() == 3);
  CHECK(r[0].pid == 4242);
  CHECK(r[0].time_us == 1500000);
  CHECK(r[1].pid == 0);
  CHECK(r[1].time_us == 0);
  CHECK(r[2].pid == 12);
}

TEST_CASE("strace: a line that cannot be read is an error with its line number, and changes nothing", "[trace]") {
  std::vector<TraceLineError> errors;
  const auto r = parse({"6717  1.0 mmap(NULL, 8192", "6717  1.1 <... wait4 resumed>) = 0", "6717  1.2 brk(NULL) = 0x1000",
                        "1.x brk(NULL) = 0", "6717 1.3 +++ exited with 300 +++"},
                       &errors);
  REQUIRE(errors.size() == 4);
  CHECK(errors[0].line == 1);
  CHECK_THAT(errors[0].message, Catch::Contains("never close"));
  CHECK(errors[1].line == 2);
  CHECK_THAT(errors[1].message, Catch::Contains("resumes wait4, which it did not begin"));
  CHECK(errors[2].line == 4);
  CHECK(errors[3].line == 5);
  REQUIRE(r.size() == 1);
  CHECK(r[0].name == "brk");
}

TEST_CASE("strace: arguments split at top-level commas only", "[trace]") {
  CHECK(split_args(R"(a, f(b, c), "d,e\",f", {x=1, y=[2, 3]}, 3</tmp/a,b>)") ==
        std::vector<std::string>{"a", "f(b, c)", R"("d,e\",f")", "{x=1, y=[2, 3]}", "3</tmp/a,b>"});
  CHECK(split_args("").empty());
  CHECK(parse_number("0x7f99") == 0x7f99);
  CHECK(parse_number("NULL") == 0);
  CHECK(parse_number("-1") == UINT64_MAX);
  CHECK_FALSE(parse_number("PROT_READ"));
}
