// SPDX-License-Identifier: MIT
#pragma once
/// Reading the text strace writes with `-f -ttt` (and optionally `-y`, `-o FILE`): one system
/// call per line, prefixed by the task's id and a timestamp, a call another task interrupted
/// split into "<unfinished ...>" and "<... NAME resumed>" halves, and the task's signals and
/// end ("--- SIGCHLD {...} ---", "+++ exited with 0 +++", "+++ killed by SIGKILL +++").
///
/// The parser joins each call's halves and hands out whole records in the order their first
/// line appeared: strace writes a call's first line when the task enters it, so that is the
/// order in which the tasks entered the kernel.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace tlbsim::trace {

/// One system call, or one of a task's ends.
struct TraceRecord {
  /// Superseded: a thread group's leader ended by another thread's execve (de_thread()), which
  /// takes its id ("+++ superseded by execve in pid N +++").
  enum class Kind : uint8_t { Syscall, Exited, Killed, Signal, Superseded };
  Kind kind = Kind::Syscall;
  size_t line = 0;                ///< 1-based line of its first half in the input
  uint32_t pid = 0;               ///< the task (thread) id; 0 when the log has none (strace without -f)
  uint64_t time_us = 0;           ///< -ttt timestamp in microseconds; 0 when the log has none
  std::string name;               ///< the call ("mmap"); Killed, Signal: the signal ("SIGKILL")
  std::vector<std::string> args;  ///< the arguments as strace printed them, split at top level
  /// The return value as printed ("0x7f993cc04000", "0", "-1", "?"); empty for a call whose
  /// task ended before it returned.
  std::string ret;
  std::string error;  ///< the errno name of a failed call ("ENOMEM"), else empty
  int exit_code = 0;  ///< Exited: the status
  /// An execve by a thread other than its group's leader: the id the task has once the call
  /// returns (the leader's; strace's "<pid changed to N ...>"). 0: unchanged.
  uint32_t new_pid = 0;
  bool failed() const { return !error.empty() || ret == "-1"; }
};

/// A line the parser cannot read, with its 1-based number.
struct TraceLineError {
  size_t line = 0;
  std::string message;
};

class StraceParser {
 public:
  /// Reads one line (without its newline). A malformed line is returned as an error and
  /// changes nothing.
  std::optional<TraceLineError> feed(std::string_view text, size_t line);
  /// Every record read, in the order of their first lines. Calls still unfinished at the end
  /// (their task was killed, or the log was cut) come with an empty `ret`.
  std::vector<TraceRecord> finish();

 private:
  struct Pending {
    TraceRecord head;  ///< pid, time, line, name
    std::string text;  ///< the call's text so far, from its name to before " <unfinished ...>"
  };
  std::optional<TraceLineError> complete(TraceRecord r, std::string_view call, size_t line);
  std::map<uint32_t, Pending> m_unfinished;
  /// execve calls whose task takes another id: by the id that resumes them.
  std::map<uint32_t, Pending> m_pid_changed;
  std::vector<TraceRecord> m_done;
};

/// `text` split at its top-level commas ("a, f(b, c), \"d,e\"" -> {"a", "f(b, c)", "\"d,e\""}),
/// each part trimmed; brackets, quoted strings and -y's "3</path>" are kept whole.
std::vector<std::string> split_args(std::string_view text);

/// A timestamp as strace -ttt ("1796494917.836664") or -tt ("10:11:12.123456", seconds of the
/// day) prints it, in microseconds.
std::optional<uint64_t> parse_timestamp(std::string_view t);

/// The number strace printed: decimal ("-1", "8192"), hex ("0x7f99..."), or "NULL" (0);
/// nothing for anything else (a flag name, a string).
std::optional<uint64_t> parse_number(std::string_view s);

}  // namespace tlbsim::trace
