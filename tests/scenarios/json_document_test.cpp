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

/// Takes every object completed in an array at depth 2 of the path, recording where it was.
struct TakeAtDepth2 : ElementTaker {
  std::vector<std::string> started, taken;
  static std::string where(const std::vector<JsonPathFrame>& path) {
    std::string s;
    for (const JsonPathFrame& f : path) s += f.array ? "/" + std::to_string(f.index) : "/" + f.key;
    return s;
  }
  void array_started(const std::vector<JsonPathFrame>& path) override { started.push_back(where(path)); }
  bool take(const std::vector<JsonPathFrame>& path, nlohmann::json& element) override {
    if (path.size() != 2) return false;
    taken.push_back(where(path) + " " + element.dump());
    return true;
  }
};

TEST_CASE("an element taker gets each object as the parser completes it, with its path, and leaves null", "[scenarios][loader]") {
  TakeAtDepth2 t;
  const auto doc = parse_json_document(R"({"a": [{"x": 1}, 7, {"y": [{"z": 2}]}, null], "b": {"c": [{"d": 3}]}})", &t);
  // Only arrays at depth 2 (a key, then the array) give theirs; the index counts every element.
  CHECK(t.taken == std::vector<std::string>{"/a/0 {\"x\":1}", "/a/2 {\"y\":[{\"z\":2}]}"});
  CHECK(t.started == std::vector<std::string>{"/a/0", "/a/2/y/0", "/b/c/0"});
  CHECK(doc.dump() == R"({"a":[null,7,null,null],"b":{"c":[{"d":3}]}})");
  // Arrays of arrays: the inner array's elements are at depth 2.
  TakeAtDepth2 nested;
  CHECK(parse_json_document(R"([[1, {"a": 2}], {"b": 3}])", &nested).dump() == R"([[1,null],{"b":3}])");
  CHECK(nested.taken == std::vector<std::string>{R"(/0/1 {"a":2})"});
  CHECK(nested.started == std::vector<std::string>{"/0", "/0/0"});
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
