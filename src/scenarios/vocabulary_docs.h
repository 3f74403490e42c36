// SPDX-License-Identifier: MIT
#pragma once
/// The parts of the docs that list a vocabulary are generated from its table, so adding a row
/// (a metric, a window class) changes the docs by regeneration, never by a hand edit that can be
/// forgotten. tests/scenarios/vocabulary_docs_test.cpp compares the committed docs with this
/// output; scripts/update-docs.sh rewrites them.
///
/// A generated region of a Markdown file lies between `<!-- generated: NAME -->` and
/// `<!-- end generated: NAME -->` lines. A generated JSON array of the schema is the first array
/// after a `"$comment": "generated: NAME ..."` member, one string per line.
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tlbsim::scenarios {

/// A region's markers are missing, doubled or out of order.
class GeneratedRegionError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/// docs/scenario-format.md's metric table, from metrics(): name and long description, in report
/// order.
std::string metric_table_markdown();

/// `text` with the Markdown region NAME's lines replaced by `content` (which ends in a newline).
std::string with_markdown_region(const std::string& text, std::string_view name, const std::string& content);

/// `text` with the JSON array after the `"generated: NAME` comment replaced by `names`, one per
/// line, two deeper than the line the array opens on.
std::string with_json_array(const std::string& text, std::string_view name, const std::vector<std::string>& names);

/// One generated part of the docs: the file (relative to the source tree) and how to regenerate
/// it from the file's current text.
struct GeneratedDoc {
  std::string_view path;
  std::string_view what;
  std::string (*regenerate)(const std::string& text);
};
/// Every generated part, for the docs test and scripts/update-docs.sh.
const std::vector<GeneratedDoc>& generated_docs();

}  // namespace tlbsim::scenarios
