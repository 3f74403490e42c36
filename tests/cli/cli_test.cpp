// SPDX-License-Identifier: MIT
// The tlbsim binary as a user runs it: exit statuses and messages for bad input, no output file
// left behind by a failed run, and byte-identical reports from repeated runs.
#include <catch2/catch.hpp>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>
#include <string>

#include <sys/wait.h>

#include <nlohmann/json.hpp>

namespace {

namespace fs = std::filesystem;

const std::string kSource = TLBSIM_SOURCE_DIR;

std::string read_text(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

/// A fresh empty directory, removed when the test ends.
struct TempDir {
  fs::path path;
  TempDir() {
    std::string t = (fs::temp_directory_path() / "tlbsim-cli-XXXXXX").string();
    REQUIRE(::mkdtemp(t.data()) != nullptr);
    path = t;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path, ec);
  }
  /// Names of everything in the directory, sorted.
  std::string listing() const {
    std::set<std::string> names;
    for (const auto& e : fs::directory_iterator(path)) names.insert(e.path().filename().string());
    std::string s;
    for (const auto& n : names) s += n + "\n";
    return s;
  }
};

struct Outcome {
  int status = -1;
  std::string out, err;
};

/// Runs `tlbsim ARGS` (ARGS already shell-quoted), capturing stdout and stderr in `scratch`.
Outcome tlbsim(const std::string& args, const TempDir& scratch) {
  const fs::path out = scratch.path / "stdout", err = scratch.path / "stderr";
  const std::string cmd = std::string("'") + TLBSIM_BINARY + "' " + args + " >'" + out.string() + "' 2>'" + err.string() + "'";
  const int rc = std::system(cmd.c_str());
  Outcome o;
  o.status = WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
  o.out = read_text(out);
  o.err = read_text(err);
  return o;
}

std::string q(const fs::path& p) { return "'" + p.string() + "'"; }

}  // namespace

TEST_CASE("tlbsim rejects every file of the bad-input corpus with exit status 2, its messages and no report", "[cli]") {
  const std::string bad = kSource + "/tests/scenarios/bad";
  const auto expected = nlohmann::json::parse(read_text(bad + "/expected.json"));
  TempDir out_dir, scratch;
  const fs::path report = out_dir.path / "report.json";
  size_t n = 0;
  for (const auto& [name, e] : expected.at("files").items()) {
    const std::string path = bad + "/" + name;
    INFO(name << ": " << e.at("problem").get<std::string>());
    // Run-stage files fail while following the schedule under "old"; load-stage ones earlier.
    const Outcome o = tlbsim("run " + q(path) + " --policy old --json " + q(report), scratch);
    INFO("stderr:\n" << o.err);
    CHECK(o.status == e.at("exit").get<int>());
    CHECK(o.status == 2);
    for (const auto& x : e.at("errors")) {
      const std::string pointer = x.at("pointer").get<std::string>();
      CHECK_THAT(o.err, Catch::Contains(path + ":" + x.at("at").get<std::string>() + ": " + (pointer.empty() ? "" : pointer + ": ")));
      CHECK_THAT(o.err, Catch::Contains(x.at("message").get<std::string>()));
    }
    CHECK(o.out.empty());
    // Nothing was written, not even a temporary file.
    CHECK(out_dir.listing().empty());
    ++n;
  }
  CHECK(n >= 50);
}

TEST_CASE("a --json path that cannot be written exits 2 and leaves no file behind", "[cli]") {
  TempDir dir, scratch;
  const std::string one = "--scenario nested-finish-mmu-table-free --policy fixed ";
  SECTION("missing directory") {
    const Outcome o = tlbsim("run " + one + "--json " + q(dir.path / "no-such-dir" / "r.json"), scratch);
    CHECK(o.status == 2);
    CHECK_THAT(o.err, Catch::Contains("cannot write") && Catch::Contains("no-such-dir/r.json"));
  }
  SECTION("a directory in the way") {
    fs::create_directory(dir.path / "taken");
    const Outcome o = tlbsim("run " + one + "--json " + q(dir.path / "taken"), scratch);
    CHECK(o.status == 2);
    CHECK_THAT(o.err, Catch::Contains("cannot write") && Catch::Contains("rename"));
    // The temporary file beside it was removed.
    CHECK(dir.listing() == "taken\n");
    CHECK(fs::is_empty(dir.path / "taken"));
  }
  SECTION("a file that is not a directory in the path") {
    std::ofstream(dir.path / "plain") << "x";
    const Outcome o = tlbsim("run " + one + "--json " + q(dir.path / "plain" / "r.json"), scratch);
    CHECK(o.status == 2);
    CHECK(dir.listing() == "plain\n");
  }
}

TEST_CASE("a successful run replaces an existing --json file whole and leaves no temporary file", "[cli]") {
  TempDir dir, scratch;
  const fs::path report = dir.path / "r.json";
  std::ofstream(report) << "stale contents\n";
  const Outcome o = tlbsim("run --scenario nested-finish-mmu-table-free --policy fixed --json " + q(report), scratch);
  CHECK((o.status == 0 || o.status == 1));
  CHECK(dir.listing() == "r.json\n");
  const auto j = nlohmann::json::parse(read_text(report));
  CHECK(j.dump().find("nested-finish-mmu-table-free") != std::string::npos);
}

TEST_CASE("running every bundled scenario twice gives byte-identical text and JSON reports", "[cli]") {
  TempDir dir, scratch;
  /// The text report and JSON report of one `tlbsim run` over the bundled scenarios.
  auto report = [&](const std::string& extra, const std::string& tag) {
    const fs::path json = dir.path / (tag + ".json");
    const Outcome o = tlbsim("run " + q(kSource + "/scenarios.json") + " --check --json " + q(json) + " " + extra, scratch);
    INFO("stderr:\n" << o.err);
    CHECK((o.status == 0 || o.status == 1));
    return std::pair{o.out, read_text(json)};
  };
  const auto first = report("", "first");
  CHECK(first.first.size() > 0);
  CHECK(first.second.size() > 0);
  const auto second = report("", "second");
  CHECK(first.first == second.first);
  CHECK(first.second == second.second);
}

TEST_CASE("explore over every bundled scenario gives the same bytes with --jobs 1 and --jobs 2, twice", "[cli]") {
  // Random mode keeps this quick over all ten scenarios and both policies; exhaustive mode's
  // --jobs independence is tested on small scenarios in tests/scenarios/explore_test.cpp.
  TempDir scratch;
  auto explore = [&](int jobs) {
    const Outcome o = tlbsim("explore " + q(kSource + "/scenarios.json") + " --policy old,fixed --mode random --runs 12 --seed 5 --jobs " +
                                 std::to_string(jobs),
                             scratch);
    INFO("stderr:\n" << o.err);
    CHECK(o.status == 0);
    return o.out;
  };
  const std::string one = explore(1);
  CHECK(one.find("random") != std::string::npos);
  CHECK(explore(2) == one);
  CHECK(explore(1) == one);
  CHECK(explore(2) == one);
}
