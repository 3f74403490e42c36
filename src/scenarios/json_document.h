// SPDX-License-Identifier: MIT
#pragma once
/// The values of a scenario or costs file, with integers too large for 64 bits kept as written.
///
/// nlohmann_json stores an integer that fits neither int64_t nor uint64_t as a double, which a
/// message would then show as 1.8446744073709552e+19 and a reader would take for a fraction.
/// parse_json_document() keeps such an integer's digits instead, in a binary value (a type JSON
/// text never produces), so that each reader can say the integer is too large.
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

namespace tlbsim::scenarios {

/// One level of where the parser is: an object (and the key of the value being read) or an
/// array (and the index of the element being read).
struct JsonPathFrame {
  bool array = false;
  size_t index = 0;
  std::string key;
};

/// Takes objects out of the document as the parser completes them, so that a long array of
/// objects (a scenario's VMAs: a 40 MB file holds a million) never exists as values all at once.
class ElementTaker {
 public:
  virtual ~ElementTaker() = default;
  /// An array begins; `path` ends with its frame. What was taken from an earlier array at the
  /// same place (a repeated key, which the document keeps only the last of) is to be forgotten.
  virtual void array_started(const std::vector<JsonPathFrame>& path) = 0;
  /// The object `element` is complete, as element path.back().index of the array `path` ends
  /// with. True: taken (moved from; the document keeps null in its place).
  virtual bool take(const std::vector<JsonPathFrame>& path, nlohmann::json& element) = 0;
};

/// The document `text` as values. Throws nlohmann::json::parse_error on a syntax error (the
/// loaders run JsonPositions over the text first, which reports those with line:column).
nlohmann::json parse_json_document(const std::string& text, ElementTaker* taker = nullptr);

/// An integer beyond 64 bits: at least 2^64, or below -2^63.
bool is_big_integer(const nlohmann::json& j);
/// An integer of at least 2^64.
bool is_too_large(const nlohmann::json& j);

/// What kind of value `j` is, for "expected ..., got TYPE": "an integer", "a string", ...
std::string type_name(const nlohmann::json& j);

/// A value as a message shows it: its JSON text, cut to 40 characters, with a big integer as
/// written and, if it is at least 2^64, "(too large)" after it; unprintable characters escaped
/// (printable.h).
std::string shown(const nlohmann::json& j);

}  // namespace tlbsim::scenarios
