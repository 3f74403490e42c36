// SPDX-License-Identifier: MIT
#include "trace/trace_file.h"

#include <algorithm>
#include <charconv>
#include <sstream>

namespace tlbsim::trace {

namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<uint32_t> parse_id(std::string_view s) {
  uint32_t v = 0;
  const auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return v;
}

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

/// One object line of a recording after the header.
std::optional<std::string> read_object_line(const nlohmann::json& j, size_t line, StraceParser& parser, std::vector<PageFault>& faults) {
  if (!j.is_object() || j.size() != 1) return "expected an object with one key, \"strace\" or \"fault\"";
  if (j.contains("strace")) {
    if (!j["strace"].is_string()) return "\"strace\" must be a string";
    if (auto e = parser.feed(j["strace"].get<std::string>(), line)) return e->message;
    return std::nullopt;
  }
  if (j.contains("fault")) {
    const nlohmann::json& f = j["fault"];
    if (!f.is_object() || !f.contains("pid") || !f.contains("tid") || !f.contains("time") || !f.contains("addr") ||
        !f["pid"].is_number_unsigned() || !f["tid"].is_number_unsigned() || !f["time"].is_string() || !f["addr"].is_string())
      return "expected \"fault\": {\"pid\": N, \"tid\": N, \"time\": \"SECONDS.MICROS\", \"addr\": \"0xHEX\"}";
    const auto time = parse_timestamp(f["time"].get<std::string>());
    const auto addr = parse_number(f["addr"].get<std::string>());
    if (!time || !addr || f["pid"].get<uint64_t>() > UINT32_MAX || f["tid"].get<uint64_t>() > UINT32_MAX)
      return "a fault's time, address or task id cannot be read";
    faults.push_back(
        PageFault{.line = line, .pid = f["pid"].get<uint32_t>(), .tid = f["tid"].get<uint32_t>(), .time_us = *time, .addr = *addr});
    return std::nullopt;
  }
  return "expected an object with one key, \"strace\" or \"fault\"";
}

}  // namespace

std::optional<PageFault> parse_perf_line(std::string_view line) {
  std::string_view s = trim(line);
  const size_t slash = s.find('/'), colon = s.find(':');
  if (slash == std::string_view::npos || colon == std::string_view::npos || slash > colon) return std::nullopt;
  const auto pid = parse_id(trim(s.substr(0, slash)));
  std::string_view rest = trim(s.substr(slash + 1, colon - slash - 1));
  const size_t sp = rest.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  const auto tid = parse_id(rest.substr(0, sp));
  const auto time = parse_timestamp(trim(rest.substr(sp)));
  const auto addr = parse_number("0x" + std::string(trim(s.substr(colon + 1))));
  if (!pid || !tid || !time || !addr) return std::nullopt;
  return PageFault{.pid = *pid, .tid = *tid, .time_us = *time, .addr = *addr};
}

std::string fault_line(const PageFault& f) {
  char time[32];
  std::snprintf(time, sizeof time, "%llu.%06llu", static_cast<unsigned long long>(f.time_us / 1000000),
                static_cast<unsigned long long>(f.time_us % 1000000));
  const nlohmann::ordered_json j{{"fault", {{"pid", f.pid}, {"tid", f.tid}, {"time", time}, {"addr", hex(f.addr)}}}};
  return j.dump();
}

Trace read_trace(std::string_view text, size_t max_errors, uint64_t* unreadable) {
  Trace t;
  StraceParser parser;
  bool recording = false;
  size_t line = 0;
  auto error = [&](size_t at, std::string msg) {
    ++*unreadable;
    if (t.errors.size() < max_errors) t.errors.push_back(TraceLineError{at, std::move(msg)});
  };
  for (size_t at = 0; at < text.size(); ++line) {
    const size_t nl = text.find('\n', at);
    const std::string_view l = text.substr(at, (nl == std::string_view::npos ? text.size() : nl) - at);
    at = nl == std::string_view::npos ? text.size() : nl + 1;
    if (line == 0 && !trim(l).empty() && trim(l).front() == '{') {
      // A recording's header.
      nlohmann::json h = nlohmann::json::parse(l, nullptr, false);
      if (h.is_discarded() || !h.is_object() || h.value("format", "") != kTraceFormat)
        error(1, "expected a tlbsim trace header {\"format\": \"tlbsim-trace\", ...} or a line of strace output");
      else if (h.value("version", 0) != kTraceVersion)
        error(1, "trace version " + h["version"].dump() + " is not the one this tlbsim reads (" + std::to_string(kTraceVersion) + ")");
      else
        t.header = std::move(h);
      recording = true;
      continue;
    }
    if (!recording) {
      if (auto e = parser.feed(l, line + 1)) error(e->line, e->message);
      continue;
    }
    if (trim(l).empty()) continue;
    const nlohmann::json j = nlohmann::json::parse(l, nullptr, false);
    if (j.is_discarded()) {
      error(line + 1, "expected a JSON object on each line of a recording");
      continue;
    }
    if (auto e = read_object_line(j, line + 1, parser, t.faults)) error(line + 1, *e);
  }
  t.records = parser.finish();
  std::stable_sort(t.faults.begin(), t.faults.end(), [](const PageFault& a, const PageFault& b) { return a.time_us < b.time_us; });
  return t;
}

}  // namespace tlbsim::trace
