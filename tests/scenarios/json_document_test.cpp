// SPDX-License-Identifier: MIT
// Integers beyond 64 bits keep their digits, so that readers can call them too large, and
// values are shown in messages as written.
#include <catch2/catch.hpp>

#include "scenarios/json_document.h"

namespace tlbsim::scenarios {
namespace {

TEST_CASE("integers beyond 64 bits are kept as written, others parse as usual", "[scenarios][loader]") {
  CHECK(parse_json_document("18446744073709551615").is_number_unsigned());
  CHECK(parse_json_document("-9223372036854775808").is_number_integer());
  CHECK(parse_json_document("1e19").is_number_float());
  CHECK(parse_json_document("18446744073709551616.0").is_number_float());
  const auto big = parse_json_document("18446744073709551616");
  CHECK(is_big_integer(big));
  CHECK(is_too_large(big));
  const auto low = parse_json_document("-9223372036854775809");
  CHECK(is_big_integer(low));
  CHECK_FALSE(is_too_large(low));
  const auto doc = parse_json_document(R"({"a": [1, 340282366920938463463374607431768211456], "b": "x"})");
  CHECK(is_too_large(doc.at("a").at(1)));
  CHECK(doc.at("b") == "x");
}

TEST_CASE("shown: JSON text as written, cut to 40 characters, escaped, big integers marked", "[scenarios][loader]") {
  CHECK(shown(parse_json_document("18446744073709551616")) == "18446744073709551616 (too large)");
  CHECK(shown(parse_json_document("-9223372036854775809")) == "-9223372036854775809");
  CHECK(shown(parse_json_document("[1, 18446744073709551616]")) == "[1,18446744073709551616]");
  CHECK(shown(parse_json_document(R"({"k\u001b": 1.5})")) == "{\"k\\u001b\":1.5}");
  CHECK(shown(parse_json_document("\"a\\nb\\u202e\"")) == "\"a\\nb\\u202e\"");
  CHECK(shown(parse_json_document("\"" + std::string(50, 'x') + "\"")) == "\"" + std::string(36, 'x') + "...");
  // Not cut inside a UTF-8 character: 18 two-byte characters after the quote end at byte 37.
  const std::string e = "\xc3\xa9";
  std::string many;
  for (int i = 0; i < 30; ++i) many += e;
  const std::string s = shown(parse_json_document("\"" + many + "\""));
  CHECK(s == "\"" + many.substr(0, 36) + "...");
}

}  // namespace
}  // namespace tlbsim::scenarios
