// SPDX-License-Identifier: MIT
#pragma once
/// Printable text: which characters a name in a scenario file may hold, and how text from a
/// file is shown in a message. A diagnostic is one line on a terminal, so text from the file
/// must not be able to end that line, start a forged one, move the cursor or reorder what
/// follows it.
#include <string>
#include <string_view>

namespace tlbsim::scenarios {

/// Whether the code point `c` is shown as it is: not a C0 control (U+0000-U+001F), DEL, a C1
/// control (U+0080-U+009F), the line or paragraph separator (U+2028, U+2029), or a
/// bidirectional formatting character (U+061C, U+200E, U+200F, U+202A-U+202E, U+2066-U+2069).
bool printable(char32_t c);

/// `s` with each character that is not printable() escaped as JSON escapes it (\n, \t,
/// \u001b, \u202e) and each byte that is not part of a UTF-8 character as \xNN. Printable text
/// is returned unchanged, so escaping twice changes nothing.
std::string escape_unprintable(std::string_view s);

/// `s` between double quotes for a message: escape_unprintable(), and `"` and `\` escaped.
std::string in_quotes(std::string_view s);

/// What is wrong with `s` as a name (of a scenario, device, file, mm, thread or fork child),
/// as the end of "expected ...": empty if nothing. A name is not empty and holds only
/// printable() characters.
std::string name_problem(std::string_view s);

}  // namespace tlbsim::scenarios
