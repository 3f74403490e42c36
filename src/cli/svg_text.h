// SPDX-License-Identifier: MIT
#pragma once
/// Text pieces of the sweeps' SVG plots: numbers in a fixed format and text escaped for XML.
#include <string>

namespace tlbsim::cli {

/// `value` printed with the printf format `format` ("%.1f").
std::string svg_number(const char* format, double value);
/// `s` with <, > and & escaped.
std::string svg_escape(const std::string& s);

}  // namespace tlbsim::cli
