// SPDX-License-Identifier: MIT
// Shared CLI helpers: the default choice of policies and the selection options.
#include <catch2/catch.hpp>

#include "cli/cli_common.h"

namespace tlbsim::cli {
namespace {

TEST_CASE("policies_for: old and fixed plus those the scenario expects, unless --policy named some", "[cli]") {
  scenarios::ScenarioSpec s;
  CHECK(policies_for(s, {}) == std::vector<std::string>{"old", "fixed"});
  s.policies = {"fixed", "no-sync", "old", "pgtable-only"};
  CHECK(policies_for(s, {}) == std::vector<std::string>{"old", "fixed", "no-sync", "pgtable-only"});
  CHECK(policies_for(s, {"no-sync"}) == std::vector<std::string>{"no-sync"});
}

TEST_CASE("explore_policies_for: also every policy the scenario states verdicts for, unless --policy named some", "[cli]") {
  scenarios::ScenarioSpec s;
  s.policies = {"v6.12"};
  s.verdicts["v7.1"] = {{"use-after-free", "sometimes"}};
  s.verdicts["fixed"] = {{"use-after-free", "never"}};
  s.verdicts["v6.12"] = {{"use-after-free", "sometimes"}};
  CHECK(policies_for(s, {}) == std::vector<std::string>{"old", "fixed", "v6.12"});
  CHECK(explore_policies_for(s, {}) == std::vector<std::string>{"old", "fixed", "v6.12", "v7.1"});
  CHECK(explore_policies_for(s, {"v6.11"}) == std::vector<std::string>{"v6.11"});
}

TEST_CASE("read_selection: files, policies and scenarios named on the command line", "[cli]") {
  po::options_description opts;
  add_selection_options(opts, "only these scenarios");
  const Selection sel = read_selection(parse({"a.json", "b.json", "-p", "fixed,old", "--scenario", "x,y", "-s", "z"}, opts, "file"));
  CHECK(sel.files == std::vector<std::string>{"a.json", "b.json"});
  CHECK(sel.policies == std::vector<std::string>{"fixed", "old"});
  CHECK(sel.only == std::set<std::string>{"x", "y", "z"});
  scenarios::ScenarioSpec s;
  s.name = "y";
  CHECK(sel.selects(s));
  s.name = "w";
  CHECK_FALSE(sel.selects(s));
}

TEST_CASE("read_selection: nothing named means the default file, default policies and every scenario", "[cli]") {
  po::options_description opts;
  add_selection_options(opts, "only these scenarios");
  const Selection sel = read_selection(parse({}, opts, "file"));
  CHECK(sel.files == std::vector<std::string>{default_file()});
  CHECK(sel.policies.empty());
  scenarios::ScenarioSpec s;
  s.name = "anything";
  CHECK(sel.selects(s));
}

TEST_CASE("read_selection: an unknown policy is a usage error", "[cli]") {
  po::options_description opts;
  add_selection_options(opts, "only these scenarios");
  CHECK_THROWS_AS(read_selection(parse({"-p", "no-such-policy"}, opts, "file")), UsageError);
}

}  // namespace
}  // namespace tlbsim::cli
