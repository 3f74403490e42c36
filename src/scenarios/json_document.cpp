// SPDX-License-Identifier: MIT
#include "scenarios/json_document.h"

#include <cstdint>
#include <vector>

#include "scenarios/printable.h"

namespace tlbsim::scenarios {

using json = nlohmann::json;

namespace {

/// nlohmann's own DOM builder, except for integer literals that did not fit 64 bits. The
/// parser calls the SAX object's members through its static type, so hiding number_float()
/// is enough.
class Builder : public nlohmann::detail::json_sax_dom_parser<json> {
 public:
  explicit Builder(json& doc) : json_sax_dom_parser(doc, true) {}
  bool number_float(number_float_t value, const string_t& raw) {
    if (raw.find_first_of(".eE") != string_t::npos) return json_sax_dom_parser::number_float(value, raw);
    binary_t digits(std::vector<std::uint8_t>(raw.begin(), raw.end()));
    return json_sax_dom_parser::binary(digits);
  }
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

json parse_json_document(const std::string& text) {
  json root;
  Builder b(root);
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
