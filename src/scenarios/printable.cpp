// SPDX-License-Identifier: MIT
#include "scenarios/printable.h"

#include <cstdint>

namespace tlbsim::scenarios {

namespace {

const char kHex[] = "0123456789abcdef";

/// The code point of the UTF-8 character at s[i] and its length in bytes; length 0 if the
/// bytes there are not one.
std::pair<char32_t, size_t> decode(std::string_view s, size_t i) {
  const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
  const unsigned char lead = b(0);
  if (lead < 0x80) return {lead, 1};
  size_t len = lead >= 0xc2 && lead <= 0xdf ? 2 : lead >= 0xe0 && lead <= 0xef ? 3 : lead >= 0xf0 && lead <= 0xf4 ? 4 : 0;
  if (len == 0 || i + len > s.size()) return {0, 0};
  char32_t c = lead & (0x7f >> len);
  for (size_t k = 1; k < len; ++k) {
    if ((b(k) & 0xc0) != 0x80) return {0, 0};
    c = (c << 6) | (b(k) & 0x3f);
  }
  return {c, len};
}

void append_u(std::string& out, char32_t c) {
  out += "\\u";
  for (int shift = 12; shift >= 0; shift -= 4) out += kHex[(c >> shift) & 15];
}

/// Appends `s` escaped; `quotes`: also `"` and `\`.
void escape(std::string_view s, std::string& out, bool quotes) {
  for (size_t i = 0; i < s.size();) {
    const auto [c, len] = decode(s, i);
    if (len == 0) {
      const auto byte = static_cast<unsigned char>(s[i]);
      out += "\\x";
      out += kHex[byte >> 4];
      out += kHex[byte & 15];
      ++i;
      continue;
    }
    if (quotes && (c == '"' || c == '\\')) {
      out += '\\';
      out += static_cast<char>(c);
    } else if (printable(c)) {
      out.append(s.substr(i, len));
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '\t') {
      out += "\\t";
    } else if (c == '\r') {
      out += "\\r";
    } else {
      append_u(out, c);
    }
    i += len;
  }
}

}  // namespace

bool printable(char32_t c) {
  if (c < 0x20 || (c >= 0x7f && c <= 0x9f)) return false;
  if (c == 0x2028 || c == 0x2029) return false;
  if (c == 0x061c || c == 0x200e || c == 0x200f || (c >= 0x202a && c <= 0x202e) || (c >= 0x2066 && c <= 0x2069)) return false;
  return true;
}

std::string escape_unprintable(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  escape(s, out, false);
  return out;
}

std::string in_quotes(std::string_view s) {
  std::string out = "\"";
  escape(s, out, true);
  return out + "\"";
}

std::string name_problem(std::string_view s) {
  if (s.empty()) return "a non-empty name";
  for (size_t i = 0; i < s.size();) {
    const auto [c, len] = decode(s, i);
    if (len == 0 || !printable(c)) return "a name of printable characters, got " + in_quotes(s);
    i += len;
  }
  return "";
}

}  // namespace tlbsim::scenarios
