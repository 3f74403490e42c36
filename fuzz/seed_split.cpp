// SPDX-License-Identifier: MIT
// fuzz_seed_split OUTDIR FILE...: writes each scenario of each FILE to OUTDIR as its own
// scenario file, so every seed of the fuzz corpus is one small scenario. Files that are not
// scenario files (bad inputs included) are copied unchanged: they seed the error paths.
#include <filesystem>
#include <fstream>
#include <iostream>
#include <sstream>
#include <string>

#include <nlohmann/json.hpp>

int main(int argc, char** argv) {
  if (argc < 3) {
    std::cerr << "usage: fuzz_seed_split OUTDIR FILE...\n";
    return 2;
  }
  const std::filesystem::path out = argv[1];
  std::filesystem::create_directories(out);
  int n = 0;
  for (int i = 2; i < argc; ++i) {
    std::ifstream in(argv[i], std::ios::binary);
    std::stringstream ss;
    ss << in.rdbuf();
    const std::string text = ss.str();
    const std::string stem = std::filesystem::path(argv[i]).stem().string();
    const auto doc = nlohmann::ordered_json::parse(text, nullptr, false);
    if (doc.is_object() && doc.contains("scenarios") && doc["scenarios"].is_array() && doc["scenarios"].size() > 1) {
      size_t k = 0;
      for (const auto& s : doc["scenarios"]) {
        nlohmann::ordered_json one = {{"scenarios", nlohmann::ordered_json::array({s})}};
        std::ofstream(out / (stem + "-" + std::to_string(k++) + ".json"), std::ios::binary) << one.dump(1) << "\n";
        ++n;
      }
    } else {
      std::ofstream(out / (stem + ".json"), std::ios::binary) << text;
      ++n;
    }
  }
  std::cout << n << " seed files in " << out.string() << "\n";
  return 0;
}
