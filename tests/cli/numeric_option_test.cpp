// SPDX-License-Identifier: MIT
// Numeric options: every value outside an option's range is a usage error (exit status 2) that
// states the range; a negative number given to an unsigned option is rejected, never wrapped.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "support/tlbsim_process.h"

namespace {

using tlbsim::cli::parse_int_option;
using tlbsim::cli::parse_seconds_option;
using tlbsim::cli::parse_uint_option;
using tlbsim::cli::UsageError;

/// The message of the UsageError `f` throws, or "" if it throws none.
template <typename F>
std::string usage_message(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

struct Rejected {
  std::string args;     ///< after "tlbsim"
  std::string message;  ///< the whole line after "tlbsim: "
};

/// Each command line exits 2 with exactly `message` on stderr and prints nothing on stdout.
void check_rejected(const std::vector<Rejected>& cases) {
  tlbsim::test::TempDir scratch;
  for (const Rejected& c : cases) {
    INFO("tlbsim " << c.args);
    const tlbsim::test::Outcome o = tlbsim::test::run_tlbsim(c.args, scratch);
    CHECK(o.status == 2);
    CHECK(o.err == "tlbsim: " + c.message + "\n");
    CHECK(o.out.empty());
  }
}

}  // namespace

TEST_CASE("parse_int_option accepts the whole range and states it when rejecting", "[cli]") {
  CHECK(parse_int_option("--preemptions", "-1", -1, 64) == -1);
  CHECK(parse_int_option("--preemptions", "64", -1, 64) == 64);
  CHECK(usage_message([] { parse_int_option("--preemptions", "65", -1, 64); }) == "--preemptions must be between -1 and 64 (got 65)");
  CHECK(usage_message([] { parse_int_option("--preemptions", "-2", -1, 64); }) == "--preemptions must be between -1 and 64 (got -2)");
  CHECK(usage_message([] { parse_int_option("--preemptions", "99999999999999999999", -1, 64); }) ==
        "--preemptions must be between -1 and 64 (got 99999999999999999999)");
  // Not numbers at all: said so, with the range.
  for (const char* bad : {"", "x", "1x", " 1", "+1", "1.5", "0x10", "--"})
    CHECK(usage_message([&] { parse_int_option("--preemptions", bad, -1, 64); }) ==
          std::string("--preemptions must be a whole number between -1 and 64 (got ") + bad + ")");
}

TEST_CASE("parse_uint_option rejects a negative number instead of wrapping it", "[cli]") {
  const uint64_t max = tlbsim::cli::kMaxU64;
  CHECK(parse_uint_option("--seed", "0", 0, max) == 0);
  CHECK(parse_uint_option("--seed", "18446744073709551615", 0, max) == max);
  CHECK(usage_message([&] { parse_uint_option("--seed", "-1", 0, max); }) == "--seed must be between 0 and 18446744073709551615 (got -1)");
  CHECK(usage_message([&] { parse_uint_option("--seed", "18446744073709551616", 0, max); }) ==
        "--seed must be between 0 and 18446744073709551615 (got 18446744073709551616)");
  // No upper limit worth stating: "at least".
  CHECK(usage_message([&] { parse_uint_option("--runs", "0", 1, max); }) == "--runs must be at least 1 (got 0)");
  CHECK(usage_message([&] { parse_uint_option("--runs", "-0", 1, max); }) == "--runs must be at least 1 (got -0)");
  CHECK(usage_message([&] { parse_uint_option("--runs", "many", 1, max); }) == "--runs must be a whole number of at least 1 (got many)");
}

TEST_CASE("parse_seconds_option takes a positive finite number of seconds up to its limit", "[cli]") {
  CHECK(parse_seconds_option("--budget", "0.5", 1e9) == 0.5);
  CHECK(parse_seconds_option("--budget", "1e-6", 1e9) == 1e-6);
  CHECK(parse_seconds_option("--budget", "1000000000", 1e9) == 1e9);
  for (const char* bad : {"0", "-1", "1e10", "inf", "nan", "", "1s", " 1"})
    CHECK(usage_message([&] { parse_seconds_option("--budget", bad, 1e9); }) ==
          std::string("--budget must be a number of seconds more than 0 and at most 1000000000 (got ") + bad + ")");
}

TEST_CASE("explore rejects each out-of-range numeric option with exit status 2 and the accepted range", "[cli]") {
  check_rejected({
      {"explore --preemptions 65", "--preemptions must be between -1 and 64 (got 65)"},
      {"explore --preemptions -2", "--preemptions must be between -1 and 64 (got -2)"},
      {"explore --runs 0", "--runs must be at least 1 (got 0)"},
      {"explore --runs -1", "--runs must be at least 1 (got -1)"},
      {"explore --max-steps 0", "--max-steps must be between 1 and 4294967296 (got 0)"},
      {"explore --max-steps -1", "--max-steps must be between 1 and 4294967296 (got -1)"},
      {"explore --max-steps 4294967297", "--max-steps must be between 1 and 4294967296 (got 4294967297)"},
      {"explore --seed -1", "--seed must be between 0 and 18446744073709551615 (got -1)"},
      {"explore --seed=-1", "--seed must be between 0 and 18446744073709551615 (got -1)"},
      {"explore --seed 18446744073709551616", "--seed must be between 0 and 18446744073709551615 (got 18446744073709551616)"},
      {"explore --jobs 0", "--jobs must be between 1 and 256 (got 0)"},
      {"explore -j 257", "--jobs must be between 1 and 256 (got 257)"},
      {"explore --budget-executions -1", "--budget-executions must be between 0 and 18446744073709551615 (got -1)"},
      {"explore --budget 0", "--budget must be a number of seconds more than 0 and at most 1000000000 (got 0)"},
      {"explore --budget -3", "--budget must be a number of seconds more than 0 and at most 1000000000 (got -3)"},
      {"explore --budget nan", "--budget must be a number of seconds more than 0 and at most 1000000000 (got nan)"},
      {"explore --runs ten", "--runs must be a whole number of at least 1 (got ten)"},
  });
}

TEST_CASE("run rejects a negative or too large --seed with exit status 2 and the accepted range", "[cli]") {
  check_rejected({
      {"run --seed -1", "--seed must be between 0 and 18446744073709551615 (got -1)"},
      {"run --seed 18446744073709551616", "--seed must be between 0 and 18446744073709551615 (got 18446744073709551616)"},
  });
}

TEST_CASE("sweep rejects each out-of-range numeric option with exit status 2 and the accepted range", "[cli]") {
  check_rejected({
      {"sweep --vmas 0", "--vmas must be between 1 and 1048576 (got 0)"},
      {"sweep --vmas -1", "--vmas must be between 1 and 1048576 (got -1)"},
      {"sweep --cpu-working-set -1", "--cpu-working-set must be between 0 and 196608 (got -1)"},
      {"sweep --cpu-working-set 196609", "--cpu-working-set must be between 0 and 196608 (got 196609)"},
      {"sweep --device-working-set 196609", "--device-working-set must be between 0 and 196608 (got 196609)"},
      {"sweep --sizes 1,0", "--sizes must be between 1 and 1048576 (got 0)"},
      {"sweep --sizes 1048577", "--sizes must be between 1 and 1048576 (got 1048577)"},
      {"sweep --sizes -4", "--sizes must be between 1 and 1048576 (got -4)"},
  });
}

TEST_CASE("the ends of each explore range are accepted", "[cli]") {
  tlbsim::test::TempDir scratch;
  const std::string one = "explore --scenario khugepaged-retract-file-table --policy fixed ";
  for (const std::string extra : {"--preemptions -1", "--preemptions 64", "--mode random --runs 1 --seed 18446744073709551615",
                                  "--mode random --runs 1 --seed 0 --max-steps 4294967296", "--jobs 256 --budget-executions 0"}) {
    INFO(extra);
    const tlbsim::test::Outcome o = tlbsim::test::run_tlbsim(one + extra, scratch);
    CHECK(o.err.empty());
    CHECK(o.status == 0);
  }
}
