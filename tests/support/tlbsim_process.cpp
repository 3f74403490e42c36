// SPDX-License-Identifier: MIT
#include "support/tlbsim_process.h"

#include <catch2/catch.hpp>

#include <cstdlib>
#include <fstream>
#include <set>
#include <sstream>

#include <sys/wait.h>

namespace tlbsim::test {

namespace fs = std::filesystem;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

TempDir::TempDir() {
  std::string t = (fs::temp_directory_path() / "tlbsim-cli-XXXXXX").string();
  REQUIRE(::mkdtemp(t.data()) != nullptr);
  path = t;
}

TempDir::~TempDir() {
  std::error_code ec;
  fs::remove_all(path, ec);
}

std::string TempDir::listing() const {
  std::set<std::string> names;
  for (const auto& e : fs::directory_iterator(path)) names.insert(e.path().filename().string());
  std::string s;
  for (const auto& n : names) s += n + "\n";
  return s;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

Outcome run_tlbsim(const std::string& args, const TempDir& scratch, const fs::path& cwd) {
  const fs::path out = scratch.path / "stdout", err = scratch.path / "stderr";
  std::string cmd = std::string("'") + TLBSIM_BINARY + "' " + args + " >" + q(out) + " 2>" + q(err);
  if (!cwd.empty()) cmd = "cd " + q(cwd) + " && " + cmd;
  const int rc = std::system(cmd.c_str());
  Outcome o;
  o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  o.out = read_text(out);
  o.err = read_text(err);
  return o;
}

}  // namespace tlbsim::test
