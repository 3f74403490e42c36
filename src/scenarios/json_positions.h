// SPDX-License-Identifier: MIT
#pragma once
/// Where each value of a JSON document starts, by JSON pointer, so semantic errors found after
/// parsing can still name line:column (nlohmann_json 3.11 keeps no positions in values).
#include <cstddef>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/errors.h"

namespace tlbsim::scenarios {

/// Deepest nesting of arrays and objects a scenario or costs file may use (a parse error beyond).
inline constexpr size_t kMaxJsonDepth = 64;

struct TextPos {
  size_t line = 0;
  size_t column = 0;
};

/// One reference token of a JSON pointer: '~' -> "~0", '/' -> "~1" (RFC 6901).
std::string pointer_token(const std::string& key);

/// A key that occurs twice in one object (the parser keeps the last value).
struct DuplicateKey {
  std::string pointer;  ///< of the second occurrence's value
  std::string key;
  size_t offset = 0;  ///< byte offset of the second occurrence's key
};

/// Line:column of byte `byte` of `text`, where nlohmann::json::parse_error says a syntax error
/// is. Counted from the text itself: the SAX pass that knows the lines stopped at the error.
TextPos syntax_error_pos(const std::string& text, size_t byte);

/// nlohmann's what() reads "[json.exception.parse_error.101] parse error at line 3, column 18:
/// syntax error while parsing ..."; a diagnostic says where itself, so keep only the rest, as
/// "JSON syntax error while parsing ..." (or "JSON syntax error: ..." for a message that does not
/// start with "syntax error"). One wording for scenario files, costs files and --schedule.
std::string json_syntax_message(const std::string& what);

/// Where the values of a JSON text are. The constructor checks the text; positions are looked up
/// afterwards, for the pointers the messages need, by walking the text again. Keeping every
/// value's position instead cost more memory than the document itself on a large file.
class JsonPositions {
 public:
  /// Check `text` with a SAX pass (syntax, nesting depth, repeated keys). Throws
  /// nlohmann::json::parse_error on a syntax error, including anything but whitespace after the
  /// document (a NUL byte too), whose byte is then the first such byte's offset plus one (the
  /// caller turns it into line:column with syntax_error_pos). `text` must outlive this object.
  explicit JsonPositions(const std::string& text);
  /// Position of the value at each pointer, or of its nearest ancestor, in one walk of the text.
  std::vector<TextPos> at(const std::vector<std::string>& pointers) const;
  /// One pointer's: a walk of the text per call, so a caller with many asks for them together.
  TextPos at(const std::string& pointer) const;
  TextPos pos_of_byte(size_t byte) const;
  /// Keys repeated within one object, in document order.
  const std::vector<DuplicateKey>& duplicates() const { return m_duplicates; }

 private:
  const std::string& m_text;
  std::vector<size_t> m_line_starts;
  std::vector<DuplicateKey> m_duplicates;
};

/// A "duplicate key" diagnostic in `file` for each key `pos` found repeated, placed at the
/// second occurrence, in document order.
void add_duplicate_keys(const JsonPositions& pos, const std::string& file, std::vector<Diagnostic>& diags);

}  // namespace tlbsim::scenarios
