// SPDX-License-Identifier: MIT
#pragma once
/// Where each value of a JSON document starts, by JSON pointer, so semantic errors found after
/// parsing can still name line:column (nlohmann_json 3.11 keeps no positions in values).
#include <cstddef>
#include <string>
#include <unordered_map>

#include <nlohmann/json.hpp>

namespace tlbsim::scenarios {

struct TextPos {
  size_t line = 0;
  size_t column = 0;
};

class JsonPositions {
 public:
  /// Parse `text` with a SAX pass that records positions. Throws nlohmann::json::parse_error on
  /// a syntax error (the caller turns its byte offset into line:column with pos_of_byte).
  explicit JsonPositions(const std::string& text);
  /// Position of the value at `pointer`, or of its nearest ancestor.
  TextPos at(const std::string& pointer) const;
  TextPos pos_of_byte(size_t byte) const;

 private:
  std::unordered_map<std::string, size_t> m_offsets;
  std::vector<size_t> m_line_starts;
};

}  // namespace tlbsim::scenarios
