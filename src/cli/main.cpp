// SPDX-License-Identifier: MIT
// tlbsim: run scenario files under notifier policies and report stale-translation windows.
#include <iostream>
#include <string>
#include <vector>

#include "cli/cli_common.h"
#include "model/check.h"
#include "scenarios/errors.h"

using namespace tlbsim;
using namespace tlbsim::cli;

namespace {

struct Command {
  const char* name;
  int (*fn)(const std::vector<std::string>&);
  const char* help;
};

// One line per subcommand; each lives in its own cmd_*.cpp.
const Command kCommands[] = {
    {"run", cmd_run, "run [FILE...]       run scenarios under policies and print the report (default: the bundled scenarios.json)"},
    {"explore", cmd_explore, "explore [FILE...]   every interleaving (or a random sample): Never/Sometimes/Always with witnesses"},
    {"merge", cmd_merge, "merge SHARD.json...  combine the shards of explore or sweep --shard K/N into the unsharded output"},
    {"validate", cmd_validate, "validate FILE...    check scenario files without running them"},
    {"record", cmd_record, "record [-o T] -- PROG  run a program under strace and perf, writing a trace for import"},
    {"import", cmd_import, "import TRACE -o F  a recorded program (tlbsim record, or strace -f -ttt -y) as a scenario file"},
    {"sweep", cmd_sweep, "sweep [options]     cost of each invalidation strategy against range size (table, CSV, SVG)"},
    {"list", cmd_list,
     "list [FILE...]      list policies, driver decodings, strategies, workloads, metrics, ops, and the scenarios in FILEs"},
};

std::string usage() {
  std::string u = "usage: tlbsim <command> [options]\n\ncommands:\n";
  for (const Command& c : kCommands) u += std::string("  ") + c.help + "\n";
  u += "\nRun 'tlbsim <command> --help' for a command's options.\n"
       "Exit status: 0 every expectation holds, 1 an expectation failed (explore: a stated verdict disagrees),\n"
       "2 bad input or usage, 3 internal error (a bug in tlbsim).\n";
  return u;
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  try {
    if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
      std::cout << usage();
      return args.empty() ? kExitUsage : kExitOk;
    }
    const std::string cmd = args[0];
    args.erase(args.begin());
    for (const Command& c : kCommands)
      if (cmd == c.name) return c.fn(args);
    std::cerr << "tlbsim: unknown command '" << cmd << "'\n\n" << usage();
    return kExitUsage;
  } catch (const scenarios::ScenarioError& e) {
    for (const auto& d : e.diagnostics()) std::cerr << d.format() << "\n";
    std::cerr << e.diagnostics().size() << " error" << (e.diagnostics().size() == 1 ? "" : "s") << "; nothing was run\n";
    return kExitUsage;
  } catch (const po::error& e) {
    std::cerr << "tlbsim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const UsageError& e) {
    std::cerr << "tlbsim: " << e.what() << "\n";
    return kExitUsage;
  } catch (const InvariantViolation& e) {
    std::cerr << "tlbsim: internal error: " << e.what() << "\n";
    return kExitInternal;
  } catch (const std::exception& e) {
    std::cerr << "tlbsim: error: " << e.what() << "\n";
    return kExitInternal;
  }
}
