// SPDX-License-Identifier: MIT
// The layers of src/ depend one way (docs/design.md): model <- iommu <- kernel <- scenarios <- trace <-
// cli. The CMake link order enforces it for symbols; this test enforces it for headers, so a
// lower layer never includes a higher one, not even for a type.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <map>
#include <regex>
#include <string>

namespace {
namespace fs = std::filesystem;
}  // namespace

TEST_CASE("no source file includes a header of a higher layer", "[docs][layers]") {
  const std::map<std::string, int> rank{{"model", 0}, {"iommu", 1}, {"kernel", 2}, {"scenarios", 3}, {"trace", 4}, {"cli", 5}};
  const std::regex include("^\\s*#\\s*include\\s+\"([a-z]+)/");
  size_t includes = 0;
  for (const auto& [layer, level] : rank)
    for (const auto& e : fs::directory_iterator(fs::path(TLBSIM_SOURCE_DIR) / "src" / layer)) {
      if (!e.is_regular_file()) continue;
      std::ifstream in(e.path());
      std::string line;
      for (size_t n = 1; std::getline(in, line); ++n) {
        std::smatch m;
        if (!std::regex_search(line, m, include)) continue;
        const auto to = rank.find(m[1].str());
        INFO(e.path().string() << ":" << n << ": " << line);
        REQUIRE(to != rank.end());
        CHECK(to->second <= level);
        ++includes;
      }
    }
  CHECK(includes > 100);
}
