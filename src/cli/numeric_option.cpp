// SPDX-License-Identifier: MIT
#include "cli/numeric_option.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdio>

#include "cli/cli_common.h"

namespace tlbsim::cli {

namespace {

/// "between 0 and 64", or "at least 1" when the top is the type's own limit and the bottom is
/// not 0 (an upper limit nobody will reach says nothing).
template <typename T>
std::string range_text(T lo, T hi) {
  if (hi == std::numeric_limits<T>::max() && lo != 0) return "at least " + std::to_string(lo);
  return "between " + std::to_string(lo) + " and " + std::to_string(hi);
}

/// `number`: the text is a number, just not one in range ("-1" for an unsigned option, or one
/// too large for 64 bits); otherwise the message says a whole number is wanted.
[[noreturn]] void reject(const std::string& option, const std::string& text, bool number, const std::string& range) {
  const std::string what = number ? "" : range.rfind("at least", 0) == 0 ? "a whole number of " : "a whole number ";
  throw UsageError(option + " must be " + what + range + " (got " + text + ")");
}

/// An optional '-' and then decimal digits only.
bool looks_like_integer(const std::string& text) {
  const size_t start = !text.empty() && text[0] == '-' ? 1 : 0;
  return text.size() > start &&
         std::all_of(text.begin() + static_cast<std::ptrdiff_t>(start), text.end(), [](unsigned char c) { return std::isdigit(c) != 0; });
}

template <typename T>
T parse_integer(const std::string& option, const std::string& text, T lo, T hi) {
  T v{};
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v);
  if (ec != std::errc() || p != end || v < lo || v > hi) reject(option, text, looks_like_integer(text), range_text(lo, hi));
  return v;
}

}  // namespace

int64_t parse_int_option(const std::string& option, const std::string& text, int64_t lo, int64_t hi) {
  return parse_integer<int64_t>(option, text, lo, hi);
}

uint64_t parse_uint_option(const std::string& option, const std::string& text, uint64_t lo, uint64_t hi) {
  return parse_integer<uint64_t>(option, text, lo, hi);
}

double parse_seconds_option(const std::string& option, const std::string& text, double max) {
  double v = 0;
  const char* end = text.data() + text.size();
  const auto [p, ec] = std::from_chars(text.data(), end, v, std::chars_format::general);
  if (ec != std::errc() || p != end || !std::isfinite(v) || !(v > 0) || v > max) {
    char top[32];
    std::snprintf(top, sizeof top, "%.15g", max);
    throw UsageError(option + " must be a number of seconds more than 0 and at most " + top + " (got " + text + ")");
  }
  return v;
}

namespace {

std::optional<std::string> text_of(const boost::program_options::variables_map& vm, const std::string& name) {
  if (!vm.count(name)) return std::nullopt;
  return vm[name].as<std::string>();
}

}  // namespace

std::optional<int64_t> int_option(const boost::program_options::variables_map& vm, const std::string& name, int64_t lo, int64_t hi) {
  const auto t = text_of(vm, name);
  if (!t) return std::nullopt;
  return parse_int_option("--" + name, *t, lo, hi);
}

std::optional<uint64_t> uint_option(const boost::program_options::variables_map& vm, const std::string& name, uint64_t lo, uint64_t hi) {
  const auto t = text_of(vm, name);
  if (!t) return std::nullopt;
  return parse_uint_option("--" + name, *t, lo, hi);
}

std::optional<double> seconds_option(const boost::program_options::variables_map& vm, const std::string& name, double max) {
  const auto t = text_of(vm, name);
  if (!t) return std::nullopt;
  return parse_seconds_option("--" + name, *t, max);
}

}  // namespace tlbsim::cli
