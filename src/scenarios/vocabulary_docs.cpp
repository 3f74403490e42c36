// SPDX-License-Identifier: MIT
#include "scenarios/vocabulary_docs.h"

#include "scenarios/metrics.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

std::string metric_table_markdown() {
  std::string out = "| metric | counts |\n|---|---|\n";
  for (const MetricInfo& m : metrics()) out += "| `" + std::string(m.name) + "` | " + std::string(m.doc) + " |\n";
  return out;
}

namespace {

// The one position of `marker` in `text`, or an error naming it.
size_t find_once(const std::string& text, const std::string& marker) {
  const size_t at = text.find(marker);
  if (at == std::string::npos) throw GeneratedRegionError("no marker " + marker);
  if (text.find(marker, at + 1) != std::string::npos) throw GeneratedRegionError("marker " + marker + " appears twice");
  return at;
}

}  // namespace

std::string with_markdown_region(const std::string& text, std::string_view name, const std::string& content) {
  const std::string begin = "<!-- generated: " + std::string(name) + " -->\n";
  const std::string end = "<!-- end generated: " + std::string(name) + " -->";
  const size_t from = find_once(text, begin) + begin.size();
  const size_t to = find_once(text, end);
  if (to < from) throw GeneratedRegionError("marker " + end + " comes before its start");
  return text.substr(0, from) + content + text.substr(to);
}

std::string with_json_array(const std::string& text, std::string_view name, const std::vector<std::string>& names) {
  const std::string marker = "\"$comment\": \"generated: " + std::string(name);
  const size_t at = find_once(text, marker);
  const size_t open = text.find('[', at);
  const size_t close = open == std::string::npos ? open : text.find(']', open);
  if (close == std::string::npos) throw GeneratedRegionError("no array after " + marker);
  // The array's own line sets the indentation: its members two deeper, the bracket level with it.
  const size_t line = text.rfind('\n', open) + 1;  // npos + 1 == 0: the first line
  const std::string indent(text.find_first_not_of(' ', line) - line, ' ');
  std::string body = "\n";
  for (size_t i = 0; i < names.size(); ++i) body += indent + "  \"" + names[i] + "\"" + (i + 1 < names.size() ? ",\n" : "\n");
  return text.substr(0, open + 1) + body + indent + text.substr(close);
}

const std::vector<GeneratedDoc>& generated_docs() {
  static const std::vector<GeneratedDoc> all{
      {"docs/scenario-format.md", "the metric table",
       [](const std::string& t) { return with_markdown_region(t, "metrics", metric_table_markdown()); }},
      {"docs/scenario.schema.json", "the names an expectation may use, and the explore properties a verdict may name",
       [](const std::string& t) {
         return with_json_array(with_json_array(t, "expectation names", expectation_names()), "explore properties",
                                explore_property_names());
       }},
  };
  return all;
}

}  // namespace tlbsim::scenarios
