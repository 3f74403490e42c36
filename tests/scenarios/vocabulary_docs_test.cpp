// SPDX-License-Identifier: MIT
// The docs' lists of a vocabulary (the metric table of docs/scenario-format.md, the metric and
// explore-property names of docs/scenario.schema.json) are generated from its table
// (src/scenarios/vocabulary_docs.h): the committed files must equal the generator's output, so a
// row added to metrics() fails here until scripts/update-docs.sh has been run. To accept:
// TLBSIM_UPDATE_DOCS=1 ./tlbsim_tests "[docs]".
#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <sstream>

#include "scenarios/metrics.h"
#include "scenarios/vocabulary_docs.h"
#include "support/update_request.h"

using namespace tlbsim::scenarios;

namespace {

std::string read_source(std::string_view rel) {
  std::ifstream in(std::string(TLBSIM_SOURCE_DIR) + "/" + std::string(rel), std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace

TEST_CASE("the docs' generated vocabulary lists equal what their tables generate", "[scenarios][docs]") {
  for (const GeneratedDoc& d : generated_docs()) {
    INFO(d.path << ": " << d.what << " is out of step with its table (scripts/update-docs.sh rewrites it)");
    const std::string text = read_source(d.path);
    REQUIRE_FALSE(text.empty());
    const std::string want = d.regenerate(text);
    if (tlbsim::test::update_requested(std::getenv("TLBSIM_UPDATE_DOCS"))) {
      if (want != text) std::ofstream(std::string(TLBSIM_SOURCE_DIR) + "/" + std::string(d.path), std::ios::binary) << want;
      continue;
    }
    CHECK(want == text);
  }
}

TEST_CASE("the generated metric table has one row per metric, in report order, with its long description", "[scenarios][docs]") {
  const std::string table = metric_table_markdown();
  std::istringstream lines(table);
  std::string line;
  std::getline(lines, line);
  CHECK(line == "| metric | counts |");
  std::getline(lines, line);
  for (const MetricInfo& m : metrics()) {
    REQUIRE(std::getline(lines, line));
    CHECK(line == "| `" + std::string(m.name) + "` | " + std::string(m.doc) + " |");
  }
  CHECK_FALSE(std::getline(lines, line));
}

TEST_CASE("a generated region is replaced between its markers only, and missing or doubled markers are errors", "[scenarios][docs]") {
  const std::string doc = "intro\n<!-- generated: x -->\nold\n<!-- end generated: x -->\nafter\n";
  CHECK(with_markdown_region(doc, "x", "new\n") == "intro\n<!-- generated: x -->\nnew\n<!-- end generated: x -->\nafter\n");
  CHECK_THROWS_AS(with_markdown_region(doc, "y", "new\n"), GeneratedRegionError);
  CHECK_THROWS_AS(with_markdown_region(doc + doc, "x", "new\n"), GeneratedRegionError);
  CHECK_THROWS_AS(with_markdown_region("<!-- end generated: x -->\n<!-- generated: x -->\n", "x", ""), GeneratedRegionError);

  const std::string schema = "{\n  \"a\": {\n    \"$comment\": \"generated: names (why)\",\n    \"enum\": [\"p\"]\n  },\n  \"b\": [1]\n}\n";
  CHECK(with_json_array(schema, "names", {"q", "r"}) ==
        "{\n  \"a\": {\n    \"$comment\": \"generated: names (why)\",\n    \"enum\": [\n      \"q\",\n      \"r\"\n    ]\n  },\n  \"b\": "
        "[1]\n}\n");
  CHECK_THROWS_AS(with_json_array(schema, "other", {"q"}), GeneratedRegionError);
}
