// SPDX-License-Identifier: MIT
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "scenarios/json_positions.h"

namespace tlbsim::scenarios {
namespace {

/// Line:column of the first occurrence of `needle` in `text`.
TextPos where(const std::string& text, const std::string& needle) {
  const size_t at = text.find(needle);
  REQUIRE(at != std::string::npos);
  return syntax_error_pos(text, at + 1);
}

bool same(TextPos a, TextPos b) { return a.line == b.line && a.column == b.column; }

const std::string kText = R"({
  "a": [1, {"b": "x~y", "c/d": null},
        [true, 2.5]],
  "e": {"f": {"g": -3}}
})";

TEST_CASE("JsonPositions: each pointer's value, or its nearest ancestor when the value is missing, in one walk", "[scenarios][loader]") {
  const JsonPositions pos(kText);
  const std::vector<std::string> pointers = {"",       "/a",     "/a/0",         "/a/1", "/a/1/b", "/a/1/c~1d",
                                             "/a/2/1", "/e/f/g", "/e/f/missing", "/a/7", "/zz/0/1"};
  const std::vector<TextPos> got = pos.at(pointers);
  REQUIRE(got.size() == pointers.size());
  const std::vector<TextPos> want = {where(kText, "{"),    where(kText, "[1"),   where(kText, "1,"),  where(kText, "{\"b"),
                                     where(kText, "\"x"),  where(kText, "null"), where(kText, "2.5"), where(kText, "-3"),
                                     where(kText, "{\"g"), where(kText, "[1"),   where(kText, "{")};
  for (size_t i = 0; i < pointers.size(); ++i) {
    INFO(pointers[i]);
    CHECK(same(got[i], want[i]));
    CHECK(same(pos.at(pointers[i]), want[i]));  // one at a time, the same
  }
}

TEST_CASE("JsonPositions: a repeated key is found in the object that repeats it, with its pointer", "[scenarios][loader]") {
  const std::string text = R"({"x": [{"k": 1, "j": 2, "k": 3}, {"k": 4}], "y": {"k": 5}, "y": 6})";
  const JsonPositions pos(text);
  REQUIRE(pos.duplicates().size() == 2);
  CHECK(pos.duplicates()[0].pointer == "/x/0/k");
  CHECK(pos.duplicates()[0].key == "k");
  CHECK(same(pos.pos_of_byte(pos.duplicates()[0].offset), where(text, "\"k\": 3")));
  CHECK(pos.duplicates()[1].pointer == "/y");
  CHECK(same(pos.at("/y"), where(text, "6")));  // the parser keeps the last value, and so do positions
}

}  // namespace
}  // namespace tlbsim::scenarios
