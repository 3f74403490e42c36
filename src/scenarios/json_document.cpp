// SPDX-License-Identifier: MIT
#include "scenarios/json_document.h"

#include <cstdint>
#include <vector>

#include "scenarios/printable.h"

namespace tlbsim::scenarios {

using json = nlohmann::json;

namespace {

/// A DOM builder as nlohmann's own (json_sax_dom_parser), except that integer literals that do
/// not fit 64 bits are kept as written, and that it knows where it is, so that an ElementTaker can
/// take objects out as they complete. The parser calls it through its static type.
class Builder {
 public:
  using number_integer_t = json::number_integer_t;
  using number_unsigned_t = json::number_unsigned_t;
  using number_float_t = json::number_float_t;
  using string_t = json::string_t;
  using binary_t = json::binary_t;

  Builder(json& root, ElementTaker* taker) : m_root(root), m_taker(taker) {}

  bool null() { return scalar(nullptr); }
  bool boolean(bool v) { return scalar(v); }
  bool number_integer(number_integer_t v) { return scalar(v); }
  bool number_unsigned(number_unsigned_t v) { return scalar(v); }
  bool number_float(number_float_t v, const string_t& raw) {
    if (raw.find_first_of(".eE") != string_t::npos) return scalar(v);
    return scalar(binary_t(std::vector<std::uint8_t>(raw.begin(), raw.end())));
  }
  bool string(string_t& v) { return scalar(v); }
  bool binary(binary_t& v) { return scalar(std::move(v)); }
  bool start_object(std::size_t) {
    m_open.push_back(place(json::value_t::object));
    m_path.push_back(JsonPathFrame{});
    return true;
  }
  bool key(string_t& k) {
    m_member = &(*m_open.back())[k];
    m_path.back().key = k;
    return true;
  }
  bool end_object() {
    m_open.pop_back();
    m_path.pop_back();
    if (m_taker && !m_path.empty() && m_path.back().array) {
      json& element = m_open.back()->back();
      if (m_taker->take(m_path, element)) element = nullptr;
    }
    next();
    return true;
  }
  bool start_array(std::size_t) {
    m_open.push_back(place(json::value_t::array));
    m_path.push_back(JsonPathFrame{.array = true});
    if (m_taker) m_taker->array_started(m_path);
    return true;
  }
  bool end_array() {
    m_open.pop_back();
    m_path.pop_back();
    next();
    return true;
  }
  template <class Exception>
  bool parse_error(std::size_t, const std::string&, const Exception& ex) {
    throw ex;
  }

 private:
  /// A value where the parser is: the root, the next element of the open array, or the member
  /// of the open object whose key came last.
  template <class V>
  json* place(V&& v) {
    if (m_open.empty()) {
      m_root = json(std::forward<V>(v));
      return &m_root;
    }
    json& top = *m_open.back();
    if (top.is_array()) {
      top.emplace_back(std::forward<V>(v));
      return &top.back();
    }
    *m_member = json(std::forward<V>(v));
    return m_member;
  }
  template <class V>
  bool scalar(V&& v) {
    place(std::forward<V>(v));
    next();
    return true;
  }
  /// A value is complete: the open array's next one has the next index.
  void next() {
    if (!m_path.empty() && m_path.back().array) ++m_path.back().index;
  }

  json& m_root;
  ElementTaker* m_taker;
  std::vector<json*> m_open;          ///< the open arrays and objects, outermost first
  std::vector<JsonPathFrame> m_path;  ///< the same, as keys and indices
  json* m_member = nullptr;
};

std::string digits_of(const json& j) {
  const auto& b = j.get_binary();
  return std::string(b.begin(), b.end());
}

/// JSON text of `j` with big integers as written, stopping soon after `limit` characters.
void append_text(const json& j, std::string& out, size_t limit) {
  if (out.size() > limit) return;
  if (j.is_binary()) {
    out += digits_of(j);
  } else if (j.is_array()) {
    out += '[';
    for (size_t i = 0; i < j.size() && out.size() <= limit; ++i) {
      if (i) out += ',';
      append_text(j[i], out, limit);
    }
    out += ']';
  } else if (j.is_object()) {
    out += '{';
    bool first = true;
    for (auto it = j.begin(); it != j.end() && out.size() <= limit; ++it) {
      if (!first) out += ',';
      first = false;
      out += in_quotes(it.key()) + ':';
      append_text(*it, out, limit);
    }
    out += '}';
  } else {
    out += j.dump();
  }
}

}  // namespace

json parse_json_document(const std::string& text, ElementTaker* taker) {
  json root;
  Builder b(root, taker);
  json::sax_parse(text, &b);
  return root;
}

bool is_big_integer(const json& j) { return j.is_binary(); }

std::string type_name(const json& j) {
  switch (j.type()) {
    case json::value_t::null: return "null";
    case json::value_t::boolean: return "a boolean";
    case json::value_t::number_integer:
    case json::value_t::number_unsigned:
    case json::value_t::binary: return "an integer";  // one beyond 64 bits
    case json::value_t::number_float: return "a number";
    case json::value_t::string: return "a string";
    case json::value_t::array: return "an array";
    case json::value_t::object: return "an object";
    default: return "a value";
  }
}

bool is_too_large(const json& j) { return j.is_binary() && !j.get_binary().empty() && j.get_binary()[0] != '-'; }

std::string shown(const json& j) {
  constexpr size_t kLimit = 40;
  std::string s;
  append_text(j, s, kLimit);
  if (s.size() > kLimit) {
    size_t cut = kLimit - 3;
    while (cut > 0 && (static_cast<unsigned char>(s[cut]) & 0xc0) == 0x80) --cut;  // not inside a UTF-8 character
    s = s.substr(0, cut) + "...";
  }
  if (is_too_large(j)) s += " (too large)";
  return escape_unprintable(s);
}

}  // namespace tlbsim::scenarios
