// SPDX-License-Identifier: MIT
// tlbsim record: run a program under strace (its memory and process calls) and perf (every page
// fault with its address, on strace's clock) and write both as one trace (src/trace/trace_file.h)
// for tlbsim import.
#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/output_set.h"
#include "trace/trace_file.h"

namespace tlbsim::cli {

namespace {

namespace fs = std::filesystem;

/// The executable `name` on PATH, or empty.
std::string on_path(const std::string& name) {
  const char* path = std::getenv("PATH");
  std::istringstream dirs(path ? path : "/usr/bin:/bin");
  std::string dir;
  while (std::getline(dirs, dir, ':')) {
    std::string p = (dir.empty() ? "." : dir) + "/" + name;
    if (::access(p.c_str(), X_OK) == 0) return p;
  }
  return {};
}

/// Runs `argv` and waits; stdout to `out_path` when given. Returns the exit status (128 + the
/// signal for a killed program), or throws UsageError if it cannot be started.
int run(const std::vector<std::string>& argv, const std::string& out_path = {}) {
  std::vector<char*> args;
  for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  if (!out_path.empty()) posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, out_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0600);
  pid_t pid = 0;
  const int rc = posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (rc != 0) throw UsageError("cannot run " + argv[0] + ": " + std::strerror(rc));
  int status = 0;
  while (waitpid(pid, &status, 0) < 0)
    if (errno != EINTR) throw UsageError("waiting for " + argv[0] + ": " + std::strerror(errno));
  return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/// A fresh private directory for the recording's intermediate files, removed at the end.
struct ScratchDir {
  fs::path path;
  ScratchDir() {
    std::string tmpl = (fs::temp_directory_path() / "tlbsim-record-XXXXXX").string();
    if (!::mkdtemp(tmpl.data())) throw UsageError(std::string("cannot make a temporary directory: ") + std::strerror(errno));
    path = tmpl;
  }
  ~ScratchDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
};

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

const char* const kUsage =
    "usage: tlbsim record [-o TRACE] [--no-faults] -- PROGRAM [ARGS...]\n"
    "  runs PROGRAM under strace (-f -ttt -y, memory and process calls) and perf (every page fault with\n"
    "  its address) and writes one trace for 'tlbsim import' (default TRACE: tlbsim.trace)\n"
    "  -o TRACE      the trace to write ('-': standard output)\n"
    "  --no-faults   strace only (no perf): the import then has no page touches\n";

}  // namespace

int cmd_record(const std::vector<std::string>& args) {
  std::string output = "tlbsim.trace";
  bool faults = true;
  size_t i = 0;
  for (; i < args.size() && args[i] != "--"; ++i) {
    if (args[i] == "-h" || args[i] == "--help") {
      std::cout << kUsage;
      return kExitOk;
    }
    if ((args[i] == "-o" || args[i] == "--output") && i + 1 < args.size())
      output = args[++i];
    else if (args[i] == "--no-faults")
      faults = false;
    else
      throw UsageError("record: unexpected '" + args[i] + "' before '--'\n" + kUsage);
  }
  if (i + 1 >= args.size()) throw UsageError(std::string("record needs '-- PROGRAM'\n") + kUsage);
  const std::vector<std::string> program(args.begin() + static_cast<long>(i) + 1, args.end());
  OutputSet outputs({}, {{"-o", output}});

  const std::string strace = on_path("strace");
  if (strace.empty()) throw UsageError("record: strace is not on PATH: install the Debian package strace (scripts/deps.sh does)");
  const std::string perf = faults ? on_path("perf") : std::string();
  if (faults && perf.empty())
    throw UsageError(
        "record: perf is not on PATH: install the Debian package linux-perf (scripts/deps.sh does), or record with --no-faults");

  ScratchDir dir;
  const std::string strace_log = (dir.path / "strace.txt").string(), perf_data = (dir.path / "perf.data").string();
  std::vector<std::string> strace_cmd{strace, "-f", "-ttt", "-y", "-qq", "-e", "trace=memory,process", "-o", strace_log, "--"};
  strace_cmd.insert(strace_cmd.end(), program.begin(), program.end());
  std::vector<std::string> cmd = strace_cmd;
  std::vector<std::string> perf_cmd;
  if (faults) {
    // perf follows strace and every task it starts; the faults of strace itself are of a task
    // the strace log never names, and the import leaves them out.
    perf_cmd = {perf, "record", "-q", "-e", "page-faults", "-c", "1", "-d", "-k", "CLOCK_REALTIME", "-o", perf_data, "--"};
    cmd = perf_cmd;
    cmd.insert(cmd.end(), strace_cmd.begin(), strace_cmd.end());
  }
  const int status = run(cmd);
  const std::string log = read_file(strace_log);
  if (log.empty())
    throw UsageError("record: strace wrote nothing (exit status " + std::to_string(status) + "): could '" + program[0] + "' be run?");
  std::string faults_text;
  if (faults) {
    if (!fs::exists(perf_data))
      throw UsageError("record: perf recorded nothing (exit status " + std::to_string(status) +
                       "): as a user other than root, perf needs the sysctl kernel.perf_event_paranoid at 2 or below");
    const std::string script = (dir.path / "faults.txt").string();
    const int s = run({perf, "script", "-i", perf_data, "-F", "pid,tid,time,addr"}, script);
    if (s != 0) throw UsageError("record: perf script failed with exit status " + std::to_string(s));
    faults_text = read_file(script);
  }

  utsname u{};
  ::uname(&u);
  nlohmann::ordered_json header{
      {"format", trace::kTraceFormat}, {"version", trace::kTraceVersion}, {"command", program},   {"kernel", std::string(u.release)},
      {"clock", "CLOCK_REALTIME"},     {"exit_status", status},           {"strace", strace_cmd}, {"perf", perf_cmd}};
  std::string out = header.dump() + "\n";
  uint64_t lines = 0, fault_count = 0;
  for (size_t at = 0; at < log.size();) {
    const size_t nl = log.find('\n', at);
    const std::string line = log.substr(at, (nl == std::string::npos ? log.size() : nl) - at);
    at = nl == std::string::npos ? log.size() : nl + 1;
    out += nlohmann::json{{"strace", line}}.dump() + "\n";
    ++lines;
  }
  std::istringstream perf_lines(faults_text);
  for (std::string line; std::getline(perf_lines, line);)
    if (const auto f = trace::parse_perf_line(line)) {
      out += trace::fault_line(*f) + "\n";
      ++fault_count;
    }
  outputs.set("-o", std::move(out));
  outputs.commit();
  std::cerr << "recorded " << lines << " strace lines and " << fault_count << " page faults of '" << program[0] << "' (exit status "
            << status << ") to " << output << "\n";
  return kExitOk;
}

}  // namespace tlbsim::cli
