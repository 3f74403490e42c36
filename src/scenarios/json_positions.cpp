// SPDX-License-Identifier: MIT
#include "scenarios/json_positions.h"

#include <algorithm>
#include <iterator>
#include <optional>
#include <unordered_map>
#include <unordered_set>
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

/// Byte offsets of where the parser is: the start of the token just read, of a string, of a
/// number. Shared by both passes.
struct TokenPlace {
  const size_t& consumed;
  const std::string& text;
  /// The start of the token just read: back up over the token to its first byte.
  size_t token_start(size_t len_hint) const {
    const size_t last = consumed > 0 ? consumed - 1 : 0;
    size_t s = last >= len_hint ? last - len_hint : 0;
    while (s > 0 && (text[s] == ' ' || text[s] == '\n' || text[s] == '\t' || text[s] == '\r' || text[s] == ':' || text[s] == ',')) ++s;
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
  size_t number_past(size_t start) const {
    size_t past = start;
    while (past < text.size() && in_number(text[past])) ++past;
    return past;
  }
};

/// A SAX walk that knows, for each value, the reference token it was reached by. What it does
/// with a value (`Derived::value_at(offset, past)`) and a container (`Derived::open(offset)`,
/// `Derived::close()`) is the derived pass's.
template <class Derived>
struct WalkSax : nlohmann::json_sax<nlohmann::json> {
  struct Frame {
    bool array;
    size_t index = 0;
    std::string key;  ///< the current key of an object
  };
  std::vector<Frame> stack;
  TokenPlace place;
  WalkSax(const size_t& c, const std::string& t) : place{c, t} {}
  Derived& self() { return static_cast<Derived&>(*this); }

  /// The reference token of the value about to be reported (advancing an array's index).
  std::string next_token() {
    Frame& f = stack.back();
    return f.array ? std::to_string(f.index++) : pointer_token(f.key);
  }
  bool value(size_t len) { return self().value_at(place.token_start(len), place.consumed); }
  bool number() {
    const size_t start = place.number_start();
    return self().value_at(start, place.number_past(start));
  }
  bool null() override { return value(4); }
  bool boolean(bool v) override { return value(v ? 4 : 5); }
  bool number_integer(number_integer_t) override { return number(); }
  bool number_unsigned(number_unsigned_t) override { return number(); }
  bool number_float(number_float_t, const string_t&) override { return number(); }
  bool string(string_t&) override { return self().value_at(place.string_start(), place.consumed); }
  bool binary(binary_t&) override { return value(1); }
  bool start(bool array) {
    const size_t at = place.consumed > 0 ? place.consumed - 1 : 0;
    self().open(at);
    stack.push_back(Frame{array, 0, {}});
    return true;
  }
  bool start_object(std::size_t) override { return start(false); }
  bool start_array(std::size_t) override { return start(true); }
  bool end_object() override { return end_container(); }
  bool end_array() override { return end_container(); }
  bool end_container() {
    stack.pop_back();
    self().close();
    return true;
  }
  bool key(string_t& k) override {
    stack.back().key = k;
    return self().on_key(k);
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

/// The first pass: syntax (nesting depth included), where the document ends, and repeated keys.
/// It keeps nothing per value, so checking a large file costs little memory; positions are found
/// afterwards, for the pointers a message needs (PointerSax).
struct CheckSax : WalkSax<CheckSax> {
  /// The keys each open object has had so far (an array's entry stays empty).
  std::vector<std::unordered_set<std::string>> keys;
  /// One past the last byte of the top-level value, once it has been read.
  std::optional<size_t> end;
  std::vector<DuplicateKey>& dups;
  CheckSax(std::vector<DuplicateKey>& d, const size_t& c, const std::string& t) : WalkSax(c, t), dups(d) {}

  /// The JSON pointer of the value the current key names, built only for a message.
  std::string key_pointer() const {
    std::string p;
    for (size_t i = 0; i + 1 < stack.size(); ++i)
      p += "/" + (stack[i].array ? std::to_string(stack[i].index - 1) : pointer_token(stack[i].key));
    return p + "/" + pointer_token(stack.back().key);
  }
  bool value_at(size_t, size_t past) {
    if (stack.empty())
      end = past;
    else if (stack.back().array)
      ++stack.back().index;
    return true;
  }
  void open(size_t) {
    // A pathological nesting would cost time and memory quadratic in its depth when its
    // positions are looked up; a scenario file needs fewer than ten levels.
    if (stack.size() >= kMaxJsonDepth)
      throw nlohmann::json::parse_error::create(
          101, place.consumed, "arrays and objects nested deeper than " + std::to_string(kMaxJsonDepth) + " levels", nullptr);
    if (!stack.empty() && stack.back().array) ++stack.back().index;
    keys.emplace_back();
  }
  void close() {
    keys.pop_back();
    if (stack.empty()) end = place.consumed;  // the closing bracket is the last byte read
  }
  bool on_key(const std::string& k) {
    if (!keys.back().insert(k).second) dups.push_back(DuplicateKey{key_pointer(), k, place.string_start()});
    return true;
  }
};

/// The second pass: the offsets of the values at the wanted pointers. Only the containers on the
/// way to one of them build their pointer, so the pass costs a walk of the text and little else.
struct PointerSax : WalkSax<PointerSax> {
  const std::unordered_set<std::string>& wanted;  ///< the pointers and every ancestor of each
  std::unordered_map<std::string, size_t>& found;
  /// The pointer of each open container, or nullopt when nothing wanted lies inside it.
  std::vector<std::optional<std::string>> pointers;
  PointerSax(const std::unordered_set<std::string>& w, std::unordered_map<std::string, size_t>& f, const size_t& c, const std::string& t)
      : WalkSax(c, t), wanted(w), found(f) {}

  /// The pointer of the value about to be reported, if it is wanted or on the way to one.
  std::optional<std::string> child() {
    if (stack.empty()) return std::string();
    const std::string token = next_token();
    if (!pointers.back()) return std::nullopt;
    std::string p = *pointers.back() + "/" + token;
    if (!wanted.count(p)) return std::nullopt;
    return p;
  }
  bool value_at(size_t offset, size_t) {
    // A duplicate key: the parser keeps the last value, so do we.
    if (auto p = child()) found[*p] = offset;
    return true;
  }
  void open(size_t offset) {
    std::optional<std::string> p = child();
    if (p) found[*p] = offset;
    pointers.push_back(std::move(p));
  }
  void close() { pointers.pop_back(); }
  bool on_key(const std::string&) { return true; }
};

/// Run `sax` over `text`, with `consumed` counting the bytes the parser read.
template <class Sax>
void walk(const std::string& text, size_t& consumed, Sax& sax) {
  CountingIterator first(text.data(), &consumed), last(text.data() + text.size(), &consumed);
  try {
    // Not strict: the parser stops after the top-level value, and what follows is checked by
    // the caller. Strict parsing takes a NUL byte for the end of the input and accepts anything
    // after it, and it reports other trailing bytes at the end of their token.
    nlohmann::json::sax_parse(first, last, &sax, nlohmann::json::input_format_t::json, false);
  } catch (const nlohmann::json::parse_error&) {
    throw;
  } catch (const nlohmann::detail::exception& e) {
    throw nlohmann::json::parse_error::create(101, consumed, e.what(), nullptr);
  }
}

}  // namespace

JsonPositions::JsonPositions(const std::string& text) : m_text(text) {
  m_line_starts.push_back(0);
  for (size_t i = 0; i < text.size(); ++i)
    if (text[i] == '\n') m_line_starts.push_back(i + 1);
  size_t consumed = 0;
  CheckSax sax(m_duplicates, consumed, text);
  walk(text, consumed, sax);
  size_t extra = sax.end.value_or(text.size());
  while (extra < text.size() && is_json_space(text[extra])) ++extra;
  if (extra < text.size())
    throw nlohmann::json::parse_error::create(101, extra + 1,
                                              "expected end of input after the JSON document, got " + byte_shown(text[extra]), nullptr);
}

TextPos JsonPositions::pos_of_byte(size_t byte) const {
  auto it = std::upper_bound(m_line_starts.begin(), m_line_starts.end(), byte);
  const size_t line = static_cast<size_t>(it - m_line_starts.begin());
  return TextPos{line, byte - m_line_starts[line - 1] + 1};
}

std::vector<TextPos> JsonPositions::at(const std::vector<std::string>& pointers) const {
  if (pointers.empty()) return {};
  std::unordered_set<std::string> wanted;
  for (const std::string& p : pointers)
    for (std::string a = p;; a.resize(a.rfind('/'))) {
      if (!wanted.insert(a).second || a.empty()) break;  // its ancestors are in already
    }
  std::unordered_map<std::string, size_t> found;
  size_t consumed = 0;
  PointerSax sax(wanted, found, consumed, m_text);
  walk(m_text, consumed, sax);
  std::vector<TextPos> out;
  out.reserve(pointers.size());
  for (const std::string& pointer : pointers) {
    // The value itself, or its nearest ancestor (a key that is missing, an index past the end).
    TextPos tp{};
    for (std::string p = pointer;; p.resize(p.rfind('/'))) {
      if (auto it = found.find(p); it != found.end()) {
        tp = pos_of_byte(it->second);
        break;
      }
      if (p.empty()) break;
    }
    out.push_back(tp);
  }
  return out;
}

TextPos JsonPositions::at(const std::string& pointer) const { return at(std::vector<std::string>{pointer}).front(); }

void add_duplicate_keys(const JsonPositions& pos, const std::string& file, std::vector<Diagnostic>& diags) {
  for (const DuplicateKey& k : pos.duplicates()) {
    const TextPos tp = pos.pos_of_byte(k.offset);
    diags.push_back(Diagnostic{
        .file = file, .pointer = k.pointer, .line = tp.line, .column = tp.column, .message = "duplicate key " + in_quotes(k.key)});
  }
}

}  // namespace tlbsim::scenarios
