// SPDX-License-Identifier: MIT
#include "cli/cli_common.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <system_error>

#include <unistd.h>

#include "kernel/policy.h"
#include "scenarios/errors.h"

namespace tlbsim::cli {

std::string default_file() {
  if (std::filesystem::exists("scenarios.json")) return "scenarios.json";
  return std::string(TLBSIM_SOURCE_DIR) + "/scenarios.json";
}

std::vector<std::string> split_commas(const std::vector<std::string>& in) {
  std::vector<std::string> out;
  for (const auto& s : in) {
    size_t start = 0;
    while (start <= s.size()) {
      const size_t c = s.find(',', start);
      const std::string part = s.substr(start, c == std::string::npos ? std::string::npos : c - start);
      if (!part.empty()) out.push_back(part);
      if (c == std::string::npos) break;
      start = c + 1;
    }
  }
  return out;
}

std::vector<std::string> resolve_policies(const std::vector<std::string>& args) {
  std::vector<std::string> policies;
  for (const auto& p : split_commas(args)) {
    if (p == "all") {
      for (const auto& x : kernel::policies()) policies.push_back(x.name);
    } else if (!kernel::find_policy(p)) {
      throw UsageError("unknown policy \"" + p + "\" (see 'tlbsim list')");
    } else {
      policies.push_back(p);
    }
  }
  return policies;
}

std::vector<std::string> policies_for(const scenarios::ScenarioSpec& s, const std::vector<std::string>& explicit_policies) {
  if (!explicit_policies.empty()) return explicit_policies;
  std::vector<std::string> out{"old", "fixed"};
  for (const auto& p : s.policies)
    if (std::find(out.begin(), out.end(), p) == out.end()) out.push_back(p);
  return out;
}

std::vector<scenarios::ScenarioFile> load_all(const std::vector<std::string>& files) {
  std::vector<scenarios::ScenarioFile> loaded;
  std::vector<scenarios::Diagnostic> diags;
  for (const auto& f : files) {
    try {
      loaded.push_back(scenarios::load_scenario_file(f));
    } catch (const scenarios::ScenarioError& e) {
      diags.insert(diags.end(), e.diagnostics().begin(), e.diagnostics().end());
    }
  }
  if (!diags.empty()) throw scenarios::ScenarioError(diags);
  return loaded;
}

void check_scenario_names(const std::vector<scenarios::ScenarioFile>& loaded, const std::set<std::string>& only) {
  for (const auto& name : only) {
    bool found = false;
    for (const auto& f : loaded)
      for (const auto& s : f.scenarios) found |= s.name == name;
    if (!found) throw UsageError("no scenario named \"" + name + "\" in the given files");
  }
}

void write_atomically(const std::string& path, const std::string& data) {
  // A name of our own beside `path` (same directory, so the rename stays on one filesystem):
  // two runs writing the same output never share a temporary.
  const std::string tmp = path + ".tmp." + std::to_string(::getpid());
  const auto fail = [&](const std::string& reason) {
    std::error_code ignored;
    std::filesystem::remove(tmp, ignored);
    return UsageError("cannot write " + path + ": " + reason);
  };
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    if (!out) throw fail("cannot create " + tmp);
    out << data;
    out.flush();
    if (!out) throw fail("write to " + tmp + " failed");
  }
  std::error_code ec;
  std::filesystem::rename(tmp, path, ec);
  if (ec) throw fail(ec.message());
}

po::variables_map parse(const std::vector<std::string>& args, po::options_description& opts, const char* positional) {
  po::positional_options_description pos;
  if (positional) pos.add(positional, -1);
  po::variables_map vm;
  po::store(po::command_line_parser(args).options(opts).positional(pos).run(), vm);
  po::notify(vm);
  return vm;
}

}  // namespace tlbsim::cli
