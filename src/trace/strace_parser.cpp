// SPDX-License-Identifier: MIT
#include "trace/strace_parser.h"

#include <algorithm>
#include <cctype>
#include <charconv>

namespace tlbsim::trace {

namespace {

bool is_digit(char c) { return c >= '0' && c <= '9'; }
bool is_space(char c) { return c == ' ' || c == '\t'; }
bool is_name_char(char c) { return std::isalnum(static_cast<unsigned char>(c)) != 0 || c == '_'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && (is_space(s.back()) || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

bool starts_with(std::string_view s, std::string_view p) { return s.substr(0, p.size()) == p; }

std::optional<uint64_t> parse_decimal(std::string_view s) {
  uint64_t v = 0;
  if (s.empty()) return std::nullopt;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size()) return std::nullopt;
  return v;
}

}  // namespace

std::optional<uint64_t> parse_timestamp(std::string_view t) {
  const size_t dot = t.find('.');
  std::string_view whole = t.substr(0, dot), frac = dot == std::string_view::npos ? std::string_view() : t.substr(dot + 1);
  uint64_t secs = 0;
  if (whole.find(':') != std::string_view::npos) {
    for (size_t i = 0; i < 3; ++i) {
      const size_t c = whole.find(':');
      const auto part = parse_decimal(whole.substr(0, c));
      if (!part) return std::nullopt;
      secs = secs * 60 + *part;
      if (c == std::string_view::npos) {
        if (i != 2) return std::nullopt;
        break;
      }
      whole.remove_prefix(c + 1);
    }
  } else {
    const auto w = parse_decimal(whole);
    if (!w) return std::nullopt;
    secs = *w;
  }
  uint64_t us = 0;
  if (!frac.empty()) {
    if (frac.size() > 9 || !std::all_of(frac.begin(), frac.end(), is_digit)) return std::nullopt;
    std::string six(frac.substr(0, std::min<size_t>(6, frac.size())));
    six.resize(6, '0');
    us = *parse_decimal(six);
  }
  return secs * 1000000 + us;
}

namespace {

/// Scans `s` from `i` as strace prints arguments: `depth` follows brackets, and a quoted
/// string or -y's "<path>" after a file descriptor is skipped whole (commas and brackets in
/// them count for nothing). Returns the index of the last character of the token at `i`, or
/// npos for a "<path>" that never closes.
size_t scan_token(std::string_view s, size_t i, int& depth) {
  const char c = s[i];
  if (c == '"') {
    for (++i; i < s.size() && s[i] != '"'; ++i)
      if (s[i] == '\\') ++i;
    return std::min(i, s.size() - 1);
  }
  if (c == '<' && i > 0 && is_digit(s[i - 1])) return s.find('>', i);
  if (c == '(' || c == '[' || c == '{') ++depth;
  if (c == ')' || c == ']' || c == '}') --depth;
  return i;
}

/// The index just past the ')' that closes the '(' at `open`; npos if it never closes.
size_t matching_paren(std::string_view s, size_t open) {
  int depth = 0;
  for (size_t i = open; i < s.size(); ++i) {
    i = scan_token(s, i, depth);
    if (i == std::string_view::npos) return i;
    if (depth == 0) return s[i] == ')' ? i + 1 : std::string_view::npos;
  }
  return std::string_view::npos;
}

}  // namespace

std::vector<std::string> split_args(std::string_view text) {
  std::vector<std::string> out;
  int depth = 0;
  size_t begin = 0;
  for (size_t i = 0; i <= text.size(); ++i) {
    if (i == text.size() || (text[i] == ',' && depth == 0)) {
      const std::string_view part = trim(text.substr(begin, i - begin));
      if (!part.empty() || i != text.size() || !out.empty()) out.emplace_back(part);
      begin = i + 1;
      continue;
    }
    const size_t last = scan_token(text, i, depth);
    i = last == std::string_view::npos ? text.size() - 1 : last;
  }
  return out;
}

std::optional<uint64_t> parse_number(std::string_view s) {
  if (s == "NULL") return 0;
  if (starts_with(s, "0x") || starts_with(s, "0X")) {
    uint64_t v = 0;
    const std::string_view h = s.substr(2);
    if (h.empty()) return std::nullopt;
    const auto [end, ec] = std::from_chars(h.data(), h.data() + h.size(), v, 16);
    if (ec != std::errc() || end != h.data() + h.size()) return std::nullopt;
    return v;
  }
  if (starts_with(s, "-")) {
    const auto v = parse_decimal(s.substr(1));
    if (!v) return std::nullopt;
    return uint64_t{0} - *v;
  }
  return parse_decimal(s);
}

std::optional<TraceLineError> StraceParser::complete(TraceRecord r, std::string_view call, size_t line) {
  const size_t open = call.find('(');
  if (open == std::string_view::npos || open == 0 || !std::all_of(call.begin(), call.begin() + static_cast<long>(open), is_name_char))
    return TraceLineError{line, "expected a system call NAME(ARGS) = RESULT, got \"" + std::string(call.substr(0, 40)) + "\""};
  r.name = std::string(call.substr(0, open));
  const size_t close = matching_paren(call, open);
  if (close == std::string_view::npos) return TraceLineError{line, "the arguments of " + r.name + " never close"};
  r.args = split_args(call.substr(open + 1, close - open - 2));
  std::string_view rest = trim(call.substr(close));
  if (rest.empty() || rest.front() != '=') return TraceLineError{line, "expected \"= RESULT\" after the arguments of " + r.name};
  rest = trim(rest.substr(1));
  const size_t sp = rest.find(' ');
  r.ret = std::string(rest.substr(0, sp));
  if (r.ret.empty()) return TraceLineError{line, "expected a result after \"=\" in " + r.name};
  if (sp != std::string_view::npos) {
    const std::string_view more = trim(rest.substr(sp));
    const std::string_view word = more.substr(0, more.find(' '));
    if (word.size() > 1 && word.front() == 'E' &&
        std::all_of(word.begin() + 1, word.end(), [](char c) { return std::isupper(static_cast<unsigned char>(c)) || is_digit(c); }))
      r.error = std::string(word);
  }
  m_done.push_back(std::move(r));
  return std::nullopt;
}

std::optional<TraceLineError> StraceParser::feed(std::string_view text, size_t line) {
  std::string_view s = trim(text);
  if (s.empty()) return std::nullopt;
  TraceRecord r;
  r.line = line;
  // The task: "[pid  6717] " (strace -f to a terminal) or "6717  " (strace -f -o FILE).
  if (starts_with(s, "[pid")) {
    const size_t close = s.find(']');
    const auto pid = close == std::string_view::npos ? std::nullopt : parse_decimal(trim(s.substr(4, close - 4)));
    if (!pid) return TraceLineError{line, "expected \"[pid N]\" at the start of the line"};
    r.pid = static_cast<uint32_t>(*pid);
    s = trim(s.substr(close + 1));
  } else {
    size_t n = 0;
    while (n < s.size() && is_digit(s[n])) ++n;
    if (n > 0 && n < s.size() && is_space(s[n])) {
      const auto pid = parse_decimal(s.substr(0, n));
      if (!pid || *pid > UINT32_MAX) return TraceLineError{line, "task id " + std::string(s.substr(0, n)) + " is too large"};
      r.pid = static_cast<uint32_t>(*pid);
      s = trim(s.substr(n));
    }
  }
  // The timestamp (-ttt or -tt), if the log has one.
  if (!s.empty() && is_digit(s.front())) {
    const size_t sp = s.find(' ');
    const auto t = parse_timestamp(s.substr(0, sp));
    if (!t) return TraceLineError{line, "expected a timestamp, got \"" + std::string(s.substr(0, sp)) + "\""};
    r.time_us = *t;
    s = sp == std::string_view::npos ? std::string_view() : trim(s.substr(sp));
  }
  if (starts_with(s, "--- ")) {
    r.kind = TraceRecord::Kind::Signal;
    const std::string_view rest = s.substr(4);
    r.name = std::string(rest.substr(0, rest.find(' ')));
    m_done.push_back(std::move(r));
    return std::nullopt;
  }
  if (starts_with(s, "+++ ")) {
    const std::string_view rest = s.substr(4);
    if (starts_with(rest, "exited with ")) {
      const std::string_view code = rest.substr(12, rest.find(' ', 12) - 12);
      const auto c = parse_decimal(code);
      if (!c || *c > 255) return TraceLineError{line, "expected an exit status 0..255, got \"" + std::string(code) + "\""};
      r.kind = TraceRecord::Kind::Exited;
      r.exit_code = static_cast<int>(*c);
    } else if (starts_with(rest, "killed by ")) {
      r.kind = TraceRecord::Kind::Killed;
      r.name = std::string(rest.substr(10, rest.find(' ', 10) - 10));
    } else if (starts_with(rest, "superseded by execve")) {
      r.kind = TraceRecord::Kind::Superseded;
      r.name = "execve";
    } else {
      return TraceLineError{line,
                            "expected \"+++ exited with N +++\", \"+++ killed by SIGNAL +++\" or \"+++ superseded by execve ... +++\""};
    }
    // A call the task was in when it ended never returns.
    if (auto it = m_unfinished.find(r.pid); it != m_unfinished.end()) {
      m_done.push_back(std::move(it->second.head));
      m_unfinished.erase(it);
    }
    m_done.push_back(std::move(r));
    return std::nullopt;
  }
  if (starts_with(s, "<... ")) {
    const size_t end = s.find(" resumed>");
    if (end == std::string_view::npos) return TraceLineError{line, "expected \"<... NAME resumed>\""};
    const std::string name(s.substr(5, end - 5));
    // An execve that moved to this id resumes here; its task's own unfinished call (if any) was
    // ended by the "superseded" line.
    auto& from = m_pid_changed.count(r.pid) && m_pid_changed.at(r.pid).head.name == name ? m_pid_changed : m_unfinished;
    auto it = from.find(r.pid);
    if (it == from.end() || it->second.head.name != name)
      return TraceLineError{line, "task " + std::to_string(r.pid) + " resumes " + name + ", which it did not begin"};
    Pending p = std::move(it->second);
    from.erase(it);
    const std::string whole = p.text + std::string(s.substr(end + 9));
    return complete(std::move(p.head), whole, line);
  }
  // "4376 execve(... <pid changed to 4375 ...>": a non-leader thread's execve, resumed under
  // the leader's id (de_thread()).
  constexpr std::string_view kPidChanged = "<pid changed to ";
  if (const size_t at = s.rfind(kPidChanged); at != std::string_view::npos && s.ends_with(" ...>")) {
    const std::string_view num = s.substr(at + kPidChanged.size(), s.size() - 5 - at - kPidChanged.size());
    const auto to = parse_decimal(num);
    std::string_view call = s.substr(0, at);
    if (!call.empty() && call.back() == ' ') call.remove_suffix(1);
    const size_t open = call.find('(');
    if (!to || *to == 0 || *to > UINT32_MAX || open == std::string_view::npos || open == 0)
      return TraceLineError{line, "expected NAME(ARGS <pid changed to N ...>"};
    if (m_unfinished.count(r.pid))
      return TraceLineError{line, "task " + std::to_string(r.pid) + " makes a call inside " + m_unfinished.at(r.pid).head.name};
    const auto key = static_cast<uint32_t>(*to);
    if (m_pid_changed.count(key)) return TraceLineError{line, "two calls move to task " + std::to_string(key) + " at once"};
    r.name = std::string(call.substr(0, open));
    r.new_pid = key;
    m_pid_changed.emplace(key, Pending{.head = std::move(r), .text = std::string(call)});
    return std::nullopt;
  }
  constexpr std::string_view kUnfinished = "<unfinished ...>";
  if (s.size() >= kUnfinished.size() && s.substr(s.size() - kUnfinished.size()) == kUnfinished) {
    std::string_view call = s.substr(0, s.size() - kUnfinished.size());
    if (!call.empty() && call.back() == ' ') call.remove_suffix(1);
    const size_t open = call.find('(');
    if (open == std::string_view::npos || open == 0 || !std::all_of(call.begin(), call.begin() + static_cast<long>(open), is_name_char))
      return TraceLineError{line, "expected a system call NAME(ARGS <unfinished ...>"};
    if (m_unfinished.count(r.pid))
      return TraceLineError{line, "task " + std::to_string(r.pid) + " begins " + std::string(call.substr(0, open)) + " inside " +
                                      m_unfinished.at(r.pid).head.name};
    r.name = std::string(call.substr(0, open));
    const uint32_t pid = r.pid;
    m_unfinished.emplace(pid, Pending{.head = std::move(r), .text = std::string(call)});
    return std::nullopt;
  }
  if (m_unfinished.count(r.pid))
    return TraceLineError{line, "task " + std::to_string(r.pid) + " makes a call inside " + m_unfinished.at(r.pid).head.name};
  return complete(std::move(r), s, line);
}

std::vector<TraceRecord> StraceParser::finish() {
  for (auto* pending : {&m_unfinished, &m_pid_changed}) {
    for (auto& [pid, p] : *pending) m_done.push_back(std::move(p.head));
    pending->clear();
  }
  std::stable_sort(m_done.begin(), m_done.end(), [](const TraceRecord& a, const TraceRecord& b) { return a.line < b.line; });
  return std::move(m_done);
}

}  // namespace tlbsim::trace
