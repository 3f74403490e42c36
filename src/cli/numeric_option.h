// SPDX-License-Identifier: MIT
#pragma once
/// Numeric command-line options, range-checked. Boost.Program_options reads "-1" into a
/// uint64_t as 2^64-1 without a word, so numeric options are declared as strings and read here:
/// anything that is not a number inside the option's range is a UsageError (exit status 2) that
/// states the range, e.g. "--preemptions must be between -1 and 64 (got 65)".
#include <cstdint>
#include <limits>
#include <optional>
#include <string>

#include <boost/program_options.hpp>

namespace tlbsim::cli {

inline constexpr uint64_t kMaxU64 = std::numeric_limits<uint64_t>::max();

/// `text` as a decimal whole number in [lo, hi]; `option` ("--runs") names it in the error.
int64_t parse_int_option(const std::string& option, const std::string& text, int64_t lo, int64_t hi);
/// The same for an unsigned option: a leading '-' is out of range, never wrapped.
uint64_t parse_uint_option(const std::string& option, const std::string& text, uint64_t lo, uint64_t hi);
/// A number of seconds (decimal or exponent form), more than 0 and at most `max`.
double parse_seconds_option(const std::string& option, const std::string& text, double max);

/// The value of the string option `name` (no leading "--") read as above; nullopt if the
/// command line did not give it and it has no default.
std::optional<int64_t> int_option(const boost::program_options::variables_map& vm, const std::string& name, int64_t lo, int64_t hi);
std::optional<uint64_t> uint_option(const boost::program_options::variables_map& vm, const std::string& name, uint64_t lo, uint64_t hi);
std::optional<double> seconds_option(const boost::program_options::variables_map& vm, const std::string& name, double max);

}  // namespace tlbsim::cli
