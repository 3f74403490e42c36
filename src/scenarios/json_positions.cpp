// SPDX-License-Identifier: MIT
#include "scenarios/json_positions.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <vector>

#include "scenarios/printable.h"

namespace tlbsim::scenarios {

std::string pointer_token(const std::string& key) {
  std::string out;
  for (char c : key) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

TextPos syntax_error_pos(const std::string& text, size_t byte) {
  size_t line = 1, col = 1;
  for (size_t i = 0; i + 1 < std::min(byte, text.size() + 1); ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return TextPos{line, col};
}

std::string json_syntax_message(const std::string& what) {
  std::string m = what;
  for (;;) {
    if (m.rfind("[json.exception.", 0) == 0 && m.find("] ") != std::string::npos) {
      m = m.substr(m.find("] ") + 2);
    } else if (m.rfind("parse error", 0) == 0 && m.find(": ") != std::string::npos) {
      m = m.substr(m.find(": ") + 2);
    } else {
      return m.rfind("syntax error ", 0) == 0 ? "JSON " + m : "JSON syntax error: " + m;
    }
  }
}

namespace {

bool is_json_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }

/// One byte of input for a message: the character if it is printable ASCII, else its value.
std::string byte_shown(char c) {
  if (c == '\0') return "a NUL byte";
  if (c > ' ' && c < 0x7f) return std::string("'") + c + "'";
  static const char* hex = "0123456789abcdef";
  const auto b = static_cast<unsigned char>(c);
  return std::string("byte 0x") + hex[b >> 4] + hex[b & 15];
}

/// An input iterator that counts how far the parser has read.
class CountingIterator {
 public:
  using iterator_category = std::input_iterator_tag;
  using value_type = char;
  using difference_type = std::ptrdiff_t;
  using pointer = const char*;
  using reference = const char&;
  CountingIterator(const char* p, size_t* consumed) : m_p(p), m_consumed(consumed) {}
  reference operator*() const { return *m_p; }
  CountingIterator& operator++() {
    ++m_p;
    ++*m_consumed;
    return *this;
  }
  CountingIterator operator++(int) {
    auto t = *this;
    ++*this;
    return t;
  }
  bool operator==(const CountingIterator& o) const { return m_p == o.m_p; }
  bool operator!=(const CountingIterator& o) const { return m_p != o.m_p; }

 private:
  const char* m_p;
  size_t* m_consumed;
};

struct PositionSax : nlohmann::json_sax<nlohmann::json> {
  struct Frame {
    bool array;
    size_t index;
    std::string key;
    std::string pointer;
  };
  std::vector<Frame> stack;
  /// One past the last byte of the top-level value, once it has been read.
  std::optional<size_t> end;
  std::unordered_map<std::string, size_t>& out;
  std::vector<DuplicateKey>& dups;
  const size_t& consumed;
  const std::string& text;
  PositionSax(std::unordered_map<std::string, size_t>& o, std::vector<DuplicateKey>& d, const size_t& c, const std::string& t)
      : out(o), dups(d), consumed(c), text(t) {}

  /// The start of the token just read: back up over the token to its first byte.
  size_t token_start(size_t len_hint) const {
    const size_t last = consumed > 0 ? consumed - 1 : 0;
    size_t s = last >= len_hint ? last - len_hint : 0;
    while (s > 0 && (text[s] == ' ' || text[s] == '\n' || text[s] == '\t' || text[s] == '\r' || text[s] == ':' || text[s] == ','))
      ++s;
    return s;
  }
  /// The opening quote of the string just read: its raw text may be longer than the decoded
  /// value (escapes), so walk back from the closing quote to a quote no backslash escapes.
  size_t string_start() const {
    const size_t close = consumed > 0 ? consumed - 1 : 0;
    for (size_t i = close; i-- > 0;) {
      if (text[i] != '"') continue;
      size_t backslashes = 0;
      while (backslashes < i && text[i - 1 - backslashes] == '\\') ++backslashes;
      if (backslashes % 2 == 0) return i;
    }
    return 0;
  }
  static bool in_number(char c) { return (c >= '0' && c <= '9') || c == '-' || c == '+' || c == '.' || c == 'e' || c == 'E'; }
  /// The first character of the number just read (the lexer may have read one past its end).
  size_t number_start() const {
    size_t e = std::min(consumed, text.size());
    while (e > 0 && !in_number(text[e - 1])) --e;
    while (e > 0 && in_number(text[e - 1])) --e;
    return e;
  }
  std::string child_pointer() {
    if (stack.empty()) return "";
    Frame& f = stack.back();
    if (f.array) return f.pointer + "/" + std::to_string(f.index++);
    return f.pointer + "/" + pointer_token(f.key);
  }
  bool value(size_t len) { return value_at(token_start(len), consumed); }
  /// A scalar value starting at `offset`; `past` is one past its last byte.
  bool value_at(size_t offset, size_t past) {
    if (stack.empty()) end = past;
    out[child_pointer()] = offset;  // a duplicate key: the parser keeps the last value, so do we
    return true;
  }
  bool number() {
    const size_t start = number_start();
    size_t past = start;
    while (past < text.size() && in_number(text[past])) ++past;
    return value_at(start, past);
  }
  bool null() override { return value(4); }
  bool boolean(bool v) override { return value(v ? 4 : 5); }
  bool number_integer(number_integer_t) override { return number(); }
  bool number_unsigned(number_unsigned_t) override { return number(); }
  bool number_float(number_float_t, const string_t&) override { return number(); }
  bool string(string_t&) override { return value_at(string_start(), consumed); }
  bool binary(binary_t&) override { return value(1); }
  bool start(bool array) {
    const size_t at = consumed > 0 ? consumed - 1 : 0;
    // Every position is recorded under its JSON pointer, so a pathological nesting would cost
    // time and memory quadratic in its depth; a scenario file needs fewer than ten levels.
    if (stack.size() >= kMaxJsonDepth)
      throw nlohmann::json::parse_error::create(
          101, consumed, "arrays and objects nested deeper than " + std::to_string(kMaxJsonDepth) + " levels",
          nullptr);
    std::string p = child_pointer();
    out[p] = at;
    stack.push_back(Frame{array, 0, {}, p});
    return true;
  }
  bool start_object(std::size_t) override { return start(false); }
  bool start_array(std::size_t) override { return start(true); }
  bool end_object() override { return end_container(); }
  bool end_array() override { return end_container(); }
  bool end_container() {
    stack.pop_back();
    if (stack.empty()) end = consumed;  // the closing bracket is the last byte read
    return true;
  }
  bool key(string_t& k) override {
    Frame& f = stack.back();
    f.key = k;
    // The first occurrence's value is recorded by now; a second one is a duplicate.
    const std::string p = f.pointer + "/" + pointer_token(k);
    if (out.count(p)) dups.push_back(DuplicateKey{p, k, string_start()});
    return true;
  }
  bool parse_error(std::size_t position, const std::string& token, const nlohmann::detail::exception& ex) override {
    // Rethrow as a parse_error whose byte is the lexer's count (EOF counts as a character read),
    // not a slice of it: the loader turns that byte into line:column.
    if (const auto* pe = dynamic_cast<const nlohmann::json::parse_error*>(&ex)) throw *pe;
    // An integer too large even for a double (about 309 digits): said so, without every digit.
    if (ex.id == 406 && !token.empty() && token.find_first_of(".eE") == std::string::npos)
      throw nlohmann::json::parse_error::create(
          101, position,
          "integer too large: " + token.substr(0, 20) + "... (" + std::to_string(token.size() - (token[0] == '-')) + " digits)", nullptr);
    throw nlohmann::json::parse_error::create(101, position, ex.what(), nullptr);
  }
};

}  // namespace

JsonPositions::JsonPositions(const std::string& text) {
  m_line_starts.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') m_line_starts.push_back(i + 1);
  size_t consumed = 0;
  PositionSax sax(m_offsets, m_duplicates, consumed, text);
  CountingIterator first(text.data(), &consumed), last(text.data() + text.size(), &consumed);
  try {
    // Not strict: the parser stops after the top-level value, and what follows is checked
    // below. Strict parsing takes a NUL byte for the end of the input and accepts anything
    // after it, and it reports other trailing bytes at the end of their token.
    nlohmann::json::sax_parse(first, last, &sax, nlohmann::json::input_format_t::json, false);
  } catch (const nlohmann::json::parse_error&) {
    throw;
  } catch (const nlohmann::detail::exception& e) {
    throw nlohmann::json::parse_error::create(101, consumed, e.what(), nullptr);
  }
  size_t extra = sax.end.value_or(text.size());
  while (extra < text.size() && is_json_space(text[extra])) ++extra;
  if (extra < text.size())
    throw nlohmann::json::parse_error::create(101, extra + 1, "expected end of input after the JSON document, got " + byte_shown(text[extra]),
                                              nullptr);
}

TextPos JsonPositions::pos_of_byte(size_t byte) const {
  auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), byte);
  const size_t line = static_cast<size_t>(it - m_line_starts.begin());
  return TextPos{line, byte - m_line_starts[line - 1] + 1};
}

TextPos JsonPositions::at(const std::string& pointer) const {
  std::string p = pointer;
  for (;;) {
    auto it = m_offsets.find(p);
    if (it != m_offsets.end()) return pos_of_byte(it->second);
    if (p.empty()) return {};
    p.resize(p.rfind('/'));
  }
}

void add_duplicate_keys(const JsonPositions& pos, const std::string& file, std::vector<Diagnostic>& diags) {
  for (const DuplicateKey& k : pos.duplicates()) {
    const TextPos tp = pos.pos_of_byte(k.offset);
    diags.push_back(Diagnostic{.file = file, .pointer = k.pointer, .line = tp.line, .column = tp.column,
                               .message = "duplicate key " + in_quotes(k.key)});
  }
}

}  // namespace tlbsim::scenarios
