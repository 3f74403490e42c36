// SPDX-License-Identifier: MIT
// Printable text: which characters names may hold, and text from a file escaped in messages so
// that a diagnostic stays one line that cannot steer the terminal.
#include <catch2/catch.hpp>

#include "scenarios/printable.h"

namespace tlbsim::scenarios {
namespace {

TEST_CASE("control, separator and bidirectional formatting characters are not printable", "[scenarios][loader]") {
  for (char32_t c : {0x00, 0x07,   0x0a,   0x0d,   0x1b,   0x1f,   0x7f,   0x80,   0x85,   0x9b,
                     0x9f, 0x2028, 0x2029, 0x061c, 0x200e, 0x200f, 0x202a, 0x202e, 0x2066, 0x2069})
    CHECK_FALSE(printable(c));
  for (char32_t c : {0x20, 0x41, 0x7e, 0xa0, 0xe9, 0x4e2d, 0x1f600, 0x2027, 0x202f}) CHECK(printable(c));
}

TEST_CASE("escape_unprintable escapes as JSON does, keeps printable UTF-8 and is idempotent", "[scenarios][loader]") {
  CHECK(escape_unprintable("plain \"text\" \\ caf\xc3\xa9") == "plain \"text\" \\ caf\xc3\xa9");
  CHECK(escape_unprintable("a\nb\tc\rd") == "a\\nb\\tc\\rd");
  CHECK(escape_unprintable(std::string("\0\x1b[2J\x7f", 6)) == "\\u0000\\u001b[2J\\u007f");
  // NOLINTNEXTLINE(misc-misleading-bidirectional): escaping it is the test
  CHECK(escape_unprintable("\xc2\x9b"
                           "31m \xe2\x80\xae"
                           "exe \xe2\x80\xa8") == "\\u009b31m \\u202eexe \\u2028");
  // Bytes that are not UTF-8: a stray continuation byte, a truncated sequence, an invalid lead.
  CHECK(escape_unprintable("\x80 \xe2\x80 \xff") == "\\x80 \\xe2\\x80 \\xff");
  const std::string once = escape_unprintable("x\n\xc2\x85\xff");
  CHECK(escape_unprintable(once) == once);
}

TEST_CASE("in_quotes quotes and escapes quotes and backslashes too", "[scenarios][loader]") {
  CHECK(in_quotes("T1") == "\"T1\"");
  CHECK(in_quotes("a\"b\\c\n") == "\"a\\\"b\\\\c\\n\"");
  CHECK(in_quotes("") == "\"\"");
}

TEST_CASE("a name is non-empty and printable", "[scenarios][loader]") {
  CHECK(name_problem("proc").empty());
  CHECK(name_problem("proc.child").empty());
  CHECK(name_problem("d\xc3\xa9vice 0 (\xe4\xb8\xad)").empty());
  CHECK(name_problem("") == "a non-empty name");
  CHECK(name_problem("T\n1") == "a name of printable characters, got \"T\\n1\"");
  CHECK(name_problem("nic\xc2\x9b") == "a name of printable characters, got \"nic\\u009b\"");
  CHECK(name_problem("\xe2\x80\xae"  // NOLINT(misc-misleading-bidirectional)
                     "exe") == "a name of printable characters, got \"\\u202eexe\"");
}

}  // namespace
}  // namespace tlbsim::scenarios
