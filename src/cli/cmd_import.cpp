// SPDX-License-Identifier: MIT
// tlbsim import: a recorded program (tlbsim record's trace, or strace -f -ttt [-y] output) as a
// scenario file.
#include <iostream>
#include <sstream>

#include "cli/cli_common.h"
#include "cli/numeric_option.h"
#include "cli/output_set.h"
#include "model/check.h"
#include "scenarios/errors.h"
#include "scenarios/input_file.h"
#include "scenarios/loader.h"
#include "trace/import.h"
#include "trace/trace_file.h"

namespace tlbsim::cli {

using namespace tlbsim::scenarios;

namespace {

/// The most unreadable lines reported before the import gives up listing them.
constexpr size_t kMaxReportedLines = 20;

trace::ImportOptions read_import_options(const po::variables_map& vm, const std::string& path) {
  trace::ImportOptions o;
  const std::string dev = vm["device"].as<std::string>();
  if (dev == "none") {
    o.device = trace::ImportOptions::Device::None;
  } else if (dev == "first") {
    o.device = trace::ImportOptions::Device::First;
  } else if (dev == "busiest") {
    o.device = trace::ImportOptions::Device::Busiest;
  } else {
    o.device = trace::ImportOptions::Device::Pid;
    o.device_pid = static_cast<uint32_t>(parse_uint_option("--device", dev, 1, UINT32_MAX));
  }
  o.decoding = vm["decoding"].as<std::string>();
  const std::string access = vm["device-access"].as<std::string>();
  if (access == "mirror")
    o.device_access = trace::ImportOptions::DeviceAccess::Mirror;
  else if (access == "none")
    o.device_access = trace::ImportOptions::DeviceAccess::None;
  else if (access.starts_with("window:")) {
    o.device_access = trace::ImportOptions::DeviceAccess::Window;
    o.window = static_cast<uint32_t>(parse_uint_option("--device-access window:N", access.substr(7), 1, 1u << 20));
  } else
    throw UsageError("--device-access: expected 'mirror', 'window:N' or 'none', got '" + access + "'");
  o.cpus = static_cast<uint32_t>(*uint_option(vm, "cpus", 1, 64));
  o.name = vm["name"].as<std::string>();
  o.source = "tlbsim import of " + path;
  return o;
}

std::string summary_text(const trace::ImportSummary& s) {
  std::ostringstream o;
  o << "imported " << s.ops << " ops for " << s.threads << " threads in " << s.processes << " process images, from " << s.records
    << " records (" << s.imported << " calls imported, " << s.failed << " failed calls left out, " << s.unfinished
    << " calls that never returned); " << s.touches << " of " << s.faults << " page faults as CPU touches, " << s.device_touches
    << " device touches";
  if (s.device_retouches) o << ", " << s.device_retouches << " pages re-read by the device after calls";
  o << "\n";
  if (!s.approximated.empty()) o << "approximated:\n";
  for (const auto& [why, n] : s.approximated) o << "  " << n << "  " << why << "\n";
  if (!s.ignored.empty()) o << "left out:\n";
  for (const auto& [why, n] : s.ignored) o << "  " << n << "  " << why << "\n";
  return o.str();
}

}  // namespace

int cmd_import(const std::vector<std::string>& args) {
  po::options_description opts("tlbsim import TRACE -o SCENARIO.json (TRACE: from tlbsim record, or strace -f -ttt -y output)");
  opts.add_options()("help,h", "show this help")("trace", po::value<std::string>(), "strace -f -ttt [-y] output")(
      "output,o", po::value<std::string>(), "the scenario file to write ('-': standard output)")(
      "device", po::value<std::string>()->default_value("first"),
      "bind an SVA device to: 'first' (the first traced process, as its last execve left it), 'busiest' (the process image "
      "that touched the most pages), a process id, or 'none'")("decoding", po::value<std::string>()->default_value("amd"),
                                                               "the device's decoding (see tlbsim list)")(
      "device-access", po::value<std::string>()->default_value("mirror"),
      "what the device does: 'mirror' (after each page the CPU touches in its process, the same page by DMA), 'window:N' "
      "(that, and after each call of its process that changes mappings a DMA read of the N most recently touched pages still "
      "present) or 'none'")("cpus", po::value<std::string>()->default_value("4"),
                            "CPUs of the machine, 1 to 64; the tasks take them in turn")(
      "name", po::value<std::string>()->default_value("imported"), "the scenario's name")(
      "lenient", "skip lines that cannot be read (counted) instead of refusing the trace");
  const auto vm = parse(args, opts, "trace");
  if (vm.count("help")) {
    std::cout << opts << "\n";
    return kExitOk;
  }
  if (!vm.count("trace")) throw UsageError("import needs a TRACE");
  if (!vm.count("output")) throw UsageError("import needs -o SCENARIO.json");
  const std::string path = vm["trace"].as<std::string>();
  const trace::ImportOptions opt = read_import_options(vm, path);
  OutputSet outputs({{"trace", path}}, {{"-o", vm["output"].as<std::string>()}});

  const std::string text = read_input_file(path);
  uint64_t skipped = 0;
  const trace::Trace tr = trace::read_trace(text, kMaxReportedLines, &skipped);
  if (skipped && !vm.count("lenient")) {
    for (const auto& e : tr.errors)
      std::cerr << Diagnostic{.file = path, .line = e.line, .column = 1, .message = e.message}.format() << "\n";
    std::cerr << skipped << " line" << (skipped == 1 ? "" : "s") << " could not be read (--lenient skips them); nothing was written\n";
    return kExitUsage;
  }
  trace::ImportResult res = [&] {
    try {
      return trace::import_trace(tr.records, opt, tr.faults);
    } catch (const trace::ImportErrorException& e) {
      throw ScenarioError(
          {Diagnostic{.file = path, .line = e.error().line, .column = e.error().line ? size_t{1} : 0, .message = e.error().message}});
    }
  }();
  if (skipped) res.summary.ignored["line that could not be read (--lenient)"] += skipped;
  std::string doc = res.document.dump(1) + "\n";
  // The import must produce a scenario the loader accepts; anything else is a bug here. How
  // much memory a run of it needs is the user's to allow (--max-memory of run, sweep, explore):
  // checked apart, and reported.
  ScenarioFile checked;
  try {
    checked = parse_scenario_text(doc, vm["output"].as<std::string>(), LoadLimits{.max_memory_mib = UINT64_MAX});
  } catch (const ScenarioError& e) {
    TLBSIM_CHECK(false, "tlbsim import wrote a scenario the loader refuses: " << e.what());
  }
  outputs.set("-o", std::move(doc));
  outputs.commit();
  std::cerr << summary_text(res.summary);
  const MemoryEstimate need = estimate_memory(checked.scenarios.at(0));
  if (need.bytes > (kDefaultMaxMemoryMib << 20))
    std::cerr << "note: a run of this scenario needs an estimated " << format_bytes(need.bytes) << ", more than the default --max-memory "
              << kDefaultMaxMemoryMib << " MiB of run, sweep and explore: give them --max-memory " << ((need.bytes >> 20) + 1) << "\n";
  return kExitOk;
}

}  // namespace tlbsim::cli
