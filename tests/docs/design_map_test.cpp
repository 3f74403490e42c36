// SPDX-License-Identifier: MIT
// docs/design.md is the map a newcomer trusts: every file, folder, type and function it names in
// backticks must exist in the tree, so renaming or removing one without updating the map fails
// here. Names checked: paths under the project's folders, bare source file names, CamelCase
// types (declared as a class, struct, enum or alias in src/) and `function()` names (called or
// defined somewhere in src/).
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <regex>
#include <set>
#include <sstream>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
const fs::path kSource = TLBSIM_SOURCE_DIR;

std::string slurp(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// Every `...` span of the document, outside fenced code blocks.
std::vector<std::string> backticked(const std::string& doc) {
  std::vector<std::string> out;
  bool fenced = false;
  std::istringstream lines(doc);
  std::string line;
  while (std::getline(lines, line)) {
    if (line.rfind("```", 0) == 0) {
      fenced = !fenced;
      continue;
    }
    if (fenced) continue;
    for (size_t at = line.find('`'); at != std::string::npos;) {
      const size_t end = line.find('`', at + 1);
      if (end == std::string::npos) break;
      out.push_back(line.substr(at + 1, end - at - 1));
      at = line.find('`', end + 1);
    }
  }
  return out;
}

/// The text of every source file under src/.
const std::string& all_sources() {
  static const std::string text = [] {
    std::string t;
    for (const auto& e : fs::recursive_directory_iterator(kSource / "src"))
      if (e.is_regular_file()) t += slurp(e.path()) + "\n";
    return t;
  }();
  return text;
}

bool declared_type(const std::string& name) {
  const std::regex decl("(class|struct|enum class|enum|using)\\s+" + name + "\\b");
  return std::regex_search(all_sources(), decl);
}

bool named_function(const std::string& name) { return all_sources().find(name + "(") != std::string::npos; }

bool file_named(const std::string& name) {
  for (const char* dir : {"src", "tests", "bench", "scripts", "docs", "fuzz"})
    for (const auto& e : fs::recursive_directory_iterator(kSource / dir))
      if (e.path().filename() == name) return true;
  return false;
}

}  // namespace

TEST_CASE("every file, type and function docs/design.md names exists in the tree", "[docs]") {
  const std::regex path("^(src|tests|docs|scripts|bench|fuzz|\\.ci)/[A-Za-z0-9_./-]*$");
  const std::regex file("^[a-z0-9_]+\\.(h|cpp|md|sh|json)$");
  const std::regex type("^[A-Z][A-Za-z0-9]*[a-z][A-Za-z0-9]*(::[A-Za-z_][A-Za-z0-9_]*)?$");
  const std::regex function("^([a-z_][a-z0-9_]*::)*([a-z_][a-z0-9_]*)\\(\\)$");
  size_t checked = 0;
  for (const std::string& name : backticked(slurp(kSource / "docs/design.md"))) {
    INFO("docs/design.md names `" << name << "`");
    std::smatch m;
    if (std::regex_match(name, path)) {
      CHECK(fs::exists(kSource / name));
    } else if (std::regex_match(name, file)) {
      CHECK(file_named(name));
    } else if (std::regex_match(name, m, type)) {
      const std::string outer = name.substr(0, name.find("::"));
      CHECK(declared_type(outer));
      if (name.find("::") != std::string::npos) CHECK(all_sources().find(name.substr(name.find("::") + 2)) != std::string::npos);
    } else if (std::regex_match(name, m, function)) {
      CHECK(named_function(m[2].str()));
    } else {
      continue;
    }
    ++checked;
  }
  CHECK(checked > 40);  // the map names the tree; an empty or unparsed map is a failure too
}
