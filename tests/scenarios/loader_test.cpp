// SPDX-License-Identifier: MIT
// The scenario loader: the bad-input corpus in tests/scenarios/bad (every file rejected with the
// diagnostics expected.json lists), positions, short forms and defaults, and the format docs
// (docs/scenario-format.md, docs/scenario.schema.json) kept in step with the code.
#include <catch2/catch.hpp>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <regex>
#include <set>
#include <sstream>

#include <nlohmann/json.hpp>

#include "kernel/policy.h"
#include "kernel/sva.h"
#include "model/outcome.h"
#include "scenarios/errors.h"
#include "scenarios/expectation.h"
#include "scenarios/loader.h"
#include "scenarios/ops.h"
#include "scenarios/printable.h"
#include "scenarios/report.h"
#include "scenarios/runner.h"

using namespace tlbsim;
using namespace tlbsim::scenarios;
using json = nlohmann::ordered_json;  // keeps expected.json in file order
namespace fs = std::filesystem;

namespace {

const std::string kSource = TLBSIM_SOURCE_DIR;
const std::string kBad = kSource + "/tests/scenarios/bad";

std::string read_text(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE(in);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::string where(const Diagnostic& d) { return std::to_string(d.line) + ":" + std::to_string(d.column); }

std::string listing(const std::vector<Diagnostic>& ds) {
  std::string s;
  for (const auto& d : ds) s += d.format() + "\n";
  return s.empty() ? "(no diagnostics)\n" : s;
}

/// The diagnostics of loading `path`; empty if it loads.
std::vector<Diagnostic> load_errors(const std::string& path) {
  try {
    load_scenario_file(path);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

std::vector<Diagnostic> text_errors(const std::string& text, const std::string& name = "t.json") {
  try {
    parse_scenario_text(text, name);
  } catch (const ScenarioError& e) {
    return e.diagnostics();
  }
  return {};
}

/// The diagnostics of running every scenario of `path` under `policy`, as `tlbsim run` does
/// after loading; empty if every schedule can be followed.
std::vector<Diagnostic> run_errors(const std::string& path, const std::string& policy = "old") {
  const ScenarioFile f = load_scenario_file(path);
  RunOptions ro;
  ro.file = path;
  ro.check_invariants = true;
  for (const ScenarioSpec& s : f.scenarios) {
    try {
      run_scenario(s, *kernel::find_policy(policy), ro);
    } catch (const ScenarioError& e) {
      return e.diagnostics();
    }
  }
  return {};
}

bool has(const std::vector<Diagnostic>& ds, const std::string& at, const std::string& pointer, const std::string& text) {
  return std::any_of(ds.begin(), ds.end(), [&](const Diagnostic& d) {
    return where(d) == at && d.pointer == pointer && d.message.find(text) != std::string::npos;
  });
}

bool sorted_by_position(const std::vector<Diagnostic>& ds) {
  return std::is_sorted(ds.begin(), ds.end(),
                        [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
}

/// line:column of the first byte of the `nth` occurrence of `needle` in `text`.
std::string pos_of(const std::string& text, const std::string& needle, int nth = 1) {
  size_t off = std::string::npos;
  for (int i = 0; i < nth; ++i) {
    off = text.find(needle, off == std::string::npos ? 0 : off + 1);
    REQUIRE(off != std::string::npos);
  }
  size_t line = 1, col = 1;
  for (size_t i = 0; i < off; ++i) {
    if (text[i] == '\n') {
      ++line;
      col = 1;
    } else {
      ++col;
    }
  }
  return std::to_string(line) + ":" + std::to_string(col);
}

/// A one-scenario file around `body` (the scenario's keys after name and source).
std::string scenario(const std::string& body) {
  return "{\n  \"scenarios\": [\n    {\n      \"name\": \"s\",\n      \"source\": \"test\",\n" + body + "\n    }\n  ]\n}\n";
}

const std::string kMm = R"(      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 4}]}])";

std::set<std::string> json_strings(const json& j) {
  std::set<std::string> out;
  for (const auto& x : j) out.insert(x.get<std::string>());
  return out;
}

}  // namespace

TEST_CASE("every file of the bad-input corpus is rejected with the diagnostics expected.json lists", "[scenarios]") {
  const json expected = json::parse(read_text(kBad + "/expected.json"));
  const json& files = expected.at("files");

  std::set<std::string> on_disk, listed;
  for (const auto& e : fs::directory_iterator(kBad))
    if (e.path().extension() == ".json" && e.path().filename() != "expected.json") on_disk.insert(e.path().filename().string());
  for (auto it = files.begin(); it != files.end(); ++it) listed.insert(it.key());
  CHECK(on_disk == listed);
  CHECK(on_disk.size() >= 50);

  size_t run_stage = 0;
  for (auto it = files.begin(); it != files.end(); ++it) {
    const std::string path = kBad + "/" + it.key();
    const json& e = it.value();
    INFO(it.key() << ": " << e.at("problem").get<std::string>());
    CHECK(e.at("exit").get<int>() == 2);  // ScenarioError is exit status 2 in the CLI
    std::vector<Diagnostic> ds;
    const std::string stage = e.at("stage").get<std::string>();
    if (stage == "run") {
      ++run_stage;
      // Bad only when run: the loader accepts it, following the schedule fails.
      CHECK(load_errors(path).empty());
      ds = run_errors(path);
    } else {
      REQUIRE(stage == "load");
      ds = load_errors(path);
    }
    INFO("got:\n" << listing(ds));
    CHECK(ds.size() == e.at("count").get<size_t>());
    for (const json& x : e.at("errors")) {
      const auto at = x.at("at").get<std::string>(), pointer = x.at("pointer").get<std::string>(),
                 message = x.at("message").get<std::string>();
      INFO("expected " << at << ": " << pointer << ": ..." << message << "...");
      CHECK(has(ds, at, pointer, message));
    }
    CHECK(sorted_by_position(ds));
    for (const Diagnostic& d : ds) {
      CHECK(d.file == path);
      CHECK(d.line > 0);
      // One line, whatever the file holds: its text escaped (a pointer holds keys from it).
      CHECK(d.format().rfind(escape_unprintable(path + ":" + where(d) + ": " + (d.pointer.empty() ? "" : d.pointer + ": ")), 0) == 0);
      CHECK(d.format() == escape_unprintable(d.format()));
    }
  }
  CHECK(run_stage >= 3);
}

TEST_CASE("the bundled scenarios.json loads and names only known policies", "[scenarios]") {
  const ScenarioFile f = load_scenario_file(kSource + "/scenarios.json");
  REQUIRE_FALSE(f.scenarios.empty());
  for (const ScenarioSpec& s : f.scenarios) {
    INFO(s.name);
    CHECK_FALSE(s.source.empty());
    CHECK_FALSE(s.threads.empty());
    for (const auto& p : s.policies) CHECK(kernel::find_policy(p) != nullptr);
  }
}

TEST_CASE("a file that cannot be opened is a ScenarioError", "[scenarios]") {
  const auto ds = load_errors(kBad + "/no-such-file.json");
  REQUIRE(ds.size() == 1);
  CHECK(ds[0].message == "cannot read: No such file or directory");
  CHECK(ds[0].file == kBad + "/no-such-file.json");
}

TEST_CASE("several errors in one file are all reported, sorted by position", "[scenarios]") {
  // Reading errors are found before cross-reference errors, and the second scenario's before
  // the first one's checks: the report must still follow the text.
  const std::string text = R"({
  "scenarios": [
    {
      "name": "one",
      "source": "test",
      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 4}, {"start": "0x40001000", "pages": 1}]}],
      "threads": [{"name": "T1", "cpu": 5, "mm": "proc", "ops": [{"op": "read", "addr": "0x40000000"}]}],
      "expect": {"old": {"windows": "some"}}
    },
    {
      "name": "two",
      "source": "test",
      "speed": 3,
      "mms": [],
      "threads": [{"name": "K", "kernel": true, "ops": [{"op": "truncate", "file": "nope"}]}],
      "schedule": ["K", "L"]
    }
  ]
}
)";
  std::vector<Diagnostic> ds;
  std::string what;
  try {
    parse_scenario_text(text, "multi.json");
  } catch (const ScenarioError& e) {
    ds = e.diagnostics();
    what = e.what();
  }
  INFO(listing(ds));
  REQUIRE(ds.size() == 6);
  CHECK(has(ds, pos_of(text, R"({"start": "0x40001000")"), "/scenarios/0/mms/0/vmas/1", "overlaps /scenarios/0/mms/0/vmas/0"));
  CHECK(has(ds, pos_of(text, "5, \"mm\""), "/scenarios/0/threads/0/cpu", "CPU 5 does not exist"));
  CHECK(has(ds, pos_of(text, "\"some\""), "/scenarios/0/expect/old/windows", "expected a count"));
  CHECK(has(ds, pos_of(text, "3,"), "/scenarios/1/speed", "unknown key \"speed\""));
  CHECK(has(ds, pos_of(text, "\"nope\""), "/scenarios/1/threads/0/ops/0/file", "unknown file \"nope\""));
  CHECK(has(ds, pos_of(text, "\"L\""), "/scenarios/1/schedule/1", "schedule names thread \"L\""));
  CHECK(sorted_by_position(ds));
  // The exception's text is every diagnostic, one per line, in the same order.
  CHECK(what == listing(ds).substr(0, listing(ds).size() - 1));
}

TEST_CASE("line:column point at the offending value", "[scenarios]") {
  SECTION("after strings with escapes and multi-byte characters (columns count bytes)") {
    const std::string text =
        scenario("      \"description\": \"tab\\t \\\"q\\\" \\u00e9 \xc3\xa9 \\\\\", \"cpus\": \"two\", \"reuse\": \"l\\u0069fo\\n\",\n" +
                 kMm + ",\n      \"threads\": []");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 2);
    CHECK(has(ds, pos_of(text, "\"two\""), "/scenarios/0/cpus", "expected a non-negative integer, got \"two\""));
    CHECK(has(ds, pos_of(text, "\"l\\u0069fo"), "/scenarios/0/reuse", "expected one of \"lifo\", \"fifo\", got \"lifo\\n\""));
  }
  SECTION("numbers, including negative zero and floats") {
    const std::string text =
        scenario("      \"cpus\": -0, \"tlb_entries\": 1.5e3, \"max_steps\": -7,\n" + kMm + ",\n      \"threads\": []");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 3);
    CHECK(has(ds, pos_of(text, "-0"), "/scenarios/0/cpus", "expected an integer in 1..64, got 0"));
    CHECK(has(ds, pos_of(text, "1.5e3"), "/scenarios/0/tlb_entries", "got 1500.0"));
    CHECK(has(ds, pos_of(text, "-7"), "/scenarios/0/max_steps", "got -7"));
  }
  SECTION("an array element, an object, a tab-indented line") {
    const std::string text = scenario(
        "      \"devices\": [{\"name\": \"d\"}],\n"
        "      \"mms\": [{\"name\": \"proc\", \"bind\": [\"d\", 7],\n\t\"vmas\": {\"start\": \"0x1000\"}}],\n"
        "      \"threads\": []");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 2);
    CHECK(has(ds, pos_of(text, "7]"), "/scenarios/0/mms/0/bind/1", "expected a device name, got an integer"));
    CHECK(has(ds, pos_of(text, "{\"start\""), "/scenarios/0/mms/0/vmas", "expected an array, got an object"));
    CHECK(pos_of(text, "{\"start\"").rfind(":10") != std::string::npos);  // tab = 1 column
  }
  SECTION("keys holding '/' or '~' are escaped in the pointer, and the position still found") {
    const std::string text = scenario(kMm + ",\n      \"threads\": [],\n      \"expect\": {\"a/b\": {}, \"old\": {\"x~y\": 1}}");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 2);
    CHECK(has(ds, pos_of(text, "{}"), "/scenarios/0/expect/a~1b", "unknown policy \"a/b\""));
    CHECK(has(ds, pos_of(text, "1}}"), "/scenarios/0/expect/old/x~0y", "unknown metric \"x~y\""));
  }
  SECTION("a missing key: the pointer names the object, the position is its start") {
    const std::string text =
        scenario("      \"mms\": [{\"name\": \"proc\", \"vmas\": [\n        {\"pages\": 1}\n      ]}],\n      \"threads\": []");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 1);
    CHECK(has(ds, pos_of(text, "{\"pages\""), "/scenarios/0/mms/0/vmas/0", "missing required key \"start\""));
  }
  SECTION("a repeated key: at the second occurrence, whose value is the one checked") {
    const std::string text = scenario("      \"cpus\": 4,\n      \"cpus\": 0,\n" + kMm + ",\n      \"threads\": []");
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 2);
    CHECK(has(ds, pos_of(text, "\"cpus\"", 2), "/scenarios/0/cpus", "duplicate key \"cpus\""));
    CHECK(has(ds, pos_of(text, "0,\n"), "/scenarios/0/cpus", "expected an integer in 1..64, got 0"));
  }
  SECTION("a syntax error at the end of the file: one past the last character, no pointer") {
    const auto ds = text_errors("{\n  \"scenarios\": [\n");
    INFO(listing(ds));
    REQUIRE(ds.size() == 1);
    CHECK(where(ds[0]) == "3:1");
    CHECK(ds[0].pointer.empty());
    CHECK(ds[0].message == "JSON syntax error while parsing value - unexpected end of input; expected '[', '{', or a literal");
    CHECK(ds[0].format() == "t.json:3:1: " + ds[0].message);
  }
  SECTION("after the document: whitespace is fine, anything else an error at its first byte") {
    const std::string doc = "{\"scenarios\": []}";
    CHECK(text_errors(doc + " \n\t\r\n  ").empty());
    const std::string nul(1, '\0');
    const std::pair<std::string, std::string> cases[] = {
        {nul, "1:18: JSON syntax error: expected end of input after the JSON document, got a NUL byte"},
        {"\n " + nul + "{\"x\": 1}", "2:2: JSON syntax error: expected end of input after the JSON document, got a NUL byte"},
        {"\n\n  x", "3:3: JSON syntax error: expected end of input after the JSON document, got 'x'"},
        {" []", "1:19: JSON syntax error: expected end of input after the JSON document, got '['"},
        {"\xc3\xa9", "1:18: JSON syntax error: expected end of input after the JSON document, got byte 0xc3"},
    };
    for (const auto& [tail, message] : cases) {
      const auto ds = text_errors(doc + tail);
      INFO(listing(ds));
      REQUIRE(ds.size() == 1);
      CHECK(ds[0].format() == "t.json:" + message);
    }
  }
  SECTION("a schedule step that cannot be followed: the step's position, found at run time") {
    const std::string path = kBad + "/run-thread-finished.json";
    const std::string text = read_text(path);
    const auto ds = run_errors(path, "fixed");
    INFO(listing(ds));
    REQUIRE(ds.size() == 1);
    CHECK(where(ds[0]) == pos_of(text, "\"A\"]"));
    CHECK(ds[0].message.find("(under policy \"fixed\")") != std::string::npos);
  }
}

TEST_CASE("short forms and defaults", "[scenarios]") {
  const std::string text = R"({
  "scenarios": [
    {
      "name": "s",
      "source": "test",
      "devices": [{"name": "d"}],
      "files": [{"name": "f"}],
      "mms": [{"name": "proc", "bind": ["d"], "vmas": [{"start": 1073741824, "pages": 4}]}],
      "threads": [
        {"name": "T", "mm": "proc", "ops": ["exit"]},
        {"name": "D", "device": "d", "mm": "proc", "ops": [{"op": "dma_read", "addr": "0X40000000"}]},
        {"name": "K", "kernel": true, "ops": [{"op": "truncate", "file": "f"}]}
      ],
      "schedule": ["T", "T:3", "D@DMA read", "K*", "T:007"],
      "expect": {"old": {"windows": 3, "stale": ">=1", "freed": "<=2"}, "fixed": {}}
    },
    {"name": "rr", "source": "test", "mms": [], "threads": [], "schedule": "round-robin"},
    {"name": "r1", "source": "test", "mms": [], "threads": [], "schedule": "random"},
    {"name": "r7", "source": "test", "mms": [], "threads": [], "schedule": {"random": 7}},
    {"name": "none", "source": "test", "mms": [], "threads": []}
  ]
}
)";
  const ScenarioFile f = parse_scenario_text(text, "short.json");
  REQUIRE(f.scenarios.size() == 5);
  const ScenarioSpec& s = f.scenarios[0];
  CHECK(s.arch == kernel::Arch::X86);
  CHECK(s.cpus == 2);
  CHECK(s.reuse == ReuseOrder::Lifo);
  CHECK(s.tlb_entries == 1536);
  CHECK(s.max_steps == 1000000);
  CHECK(s.description.empty());
  CHECK(s.cost.iommu_sync == iommu::CostModel{}.iommu_sync);

  const DeviceSpec& d = s.devices.at(0);
  CHECK(d.decoding == "amd-v2");
  CHECK(d.ats);
  CHECK(d.atc_entries == 64);
  CHECK(d.iotlb_entries == 128);
  CHECK(d.walk_cache_entries == 16);
  CHECK_FALSE(d.cache_nonleaf_on_fault.has_value());
  CHECK_FALSE(d.permission_fault_rewalks.has_value());
  CHECK_FALSE(d.btm);
  CHECK(d.nopasid_inv_covers_pasid);
  CHECK(d.cmds_complete_in_order);
  CHECK(d.pasid_table_cached);
  CHECK(s.files.at(0).pages == 1);

  const VmaSpec& v = s.mms.at(0).vmas.at(0);
  CHECK(v.start == 0x40000000);  // an integer address
  CHECK(v.writable);
  CHECK_FALSE(v.shared);
  CHECK(v.file.empty());
  CHECK(v.pgoff == 0);
  CHECK(v.populate == Populate::None);
  CHECK_FALSE(v.pfnmap);

  // A thread with none of cpu/device/kernel is a CPU thread on CPU 0; "exit" is {"op": "exit"}.
  const ThreadSpec& t = s.threads.at(0);
  CHECK(t.kind == ThreadKind::Cpu);
  CHECK(t.cpu == 0);
  REQUIRE(t.ops.size() == 1);
  CHECK(t.ops[0].op == "exit");
  CHECK(t.ops[0].pages == 1);
  CHECK(s.threads.at(1).kind == ThreadKind::Device);
  CHECK(s.threads.at(1).ops.at(0).addr == 0x40000000);  // "0X..." too
  CHECK(s.threads.at(2).kind == ThreadKind::Kernel);
  CHECK(s.threads.at(2).ops.at(0).index == 0);
  CHECK(s.threads.at(2).ops.at(0).pages == 1);

  REQUIRE(s.schedule.kind == ScheduleSpec::Kind::Explicit);
  const auto& e = s.schedule.entries;
  REQUIRE(e.size() == 5);
  CHECK((e[0].thread == "T" && e[0].mode == ScheduleEntry::Mode::Steps && e[0].steps == 1));
  CHECK((e[1].thread == "T" && e[1].mode == ScheduleEntry::Mode::Steps && e[1].steps == 3));
  CHECK((e[2].thread == "D" && e[2].mode == ScheduleEntry::Mode::Until && e[2].label == "DMA read"));
  CHECK((e[3].thread == "K" && e[3].mode == ScheduleEntry::Mode::ToEnd));
  CHECK((e[4].thread == "T" && e[4].steps == 7));
  CHECK(where(Diagnostic{.line = e[2].line, .column = e[2].column}) == pos_of(text, "\"D@DMA read\""));

  const auto& old = s.expect.at("old");
  CHECK((old.at("windows").op == Bound::Op::Eq && old.at("windows").value == 3));
  CHECK((old.at("stale").op == Bound::Op::Ge && old.at("stale").value == 1));
  CHECK((old.at("freed").op == Bound::Op::Le && old.at("freed").value == 2));
  CHECK(old.at("stale").text() == ">=1");
  CHECK(old.at("freed").text() == "<=2");
  CHECK(old.at("windows").text() == "3");
  CHECK(s.expect.at("fixed").empty());
  CHECK(std::set<std::string>(s.policies.begin(), s.policies.end()) == std::set<std::string>{"old", "fixed"});

  CHECK(f.scenarios[1].schedule.kind == ScheduleSpec::Kind::RoundRobin);
  CHECK((f.scenarios[2].schedule.kind == ScheduleSpec::Kind::Random && f.scenarios[2].schedule.seed == 1));
  CHECK((f.scenarios[3].schedule.kind == ScheduleSpec::Kind::Random && f.scenarios[3].schedule.seed == 7));
  CHECK(f.scenarios[4].schedule.kind == ScheduleSpec::Kind::RoundRobin);
  CHECK(f.scenarios[4].policies.empty());
}

TEST_CASE("the example in docs/scenario-format.md loads, runs and meets its expectations", "[scenarios]") {
  const std::string doc = read_text(kSource + "/docs/scenario-format.md");
  const size_t section = doc.find("## A complete example");
  REQUIRE(section != std::string::npos);
  const size_t open = doc.find("```json\n", section);
  REQUIRE(open != std::string::npos);
  const size_t close = doc.find("```\n", open + 8);
  REQUIRE(close != std::string::npos);
  const ScenarioFile f = parse_scenario_text(doc.substr(open + 8, close - open - 8), "docs/scenario-format.md example");
  REQUIRE(f.scenarios.size() == 1);
  const ScenarioSpec& s = f.scenarios[0];
  for (const std::string p : {"old", "fixed"}) {
    INFO("policy " << p);
    const PolicyOutcome o = judge(s, run_scenario(s, *kernel::find_policy(p), {.check_invariants = true}));
    CHECK(o.expected);
    CHECK(o.pass());
  }
}

TEST_CASE("docs/scenario.schema.json names the ops, decodings, policies, metrics and explore properties the code knows", "[scenarios]") {
  const json schema = json::parse(read_text(kSource + "/docs/scenario.schema.json"));
  const json& defs = schema.at("$defs");
  INFO("docs/scenario.schema.json is out of step with the code: update it and docs/scenario-format.md");

  std::map<ThreadKind, std::set<std::string>> by_kind;
  std::set<std::string> short_ops;
  for (const OpInfo& o : ops()) {
    by_kind[o.kind].insert(std::string(o.name()));
    if (o.needs == 0) short_ops.insert(std::string(o.name()));
  }
  CHECK(json_strings(defs.at("cpuOpName").at("enum")) == by_kind[ThreadKind::Cpu]);
  CHECK(json_strings(defs.at("deviceOpName").at("enum")) == by_kind[ThreadKind::Device]);
  CHECK(json_strings(defs.at("kernelOpName").at("enum")) == by_kind[ThreadKind::Kernel]);
  CHECK(json_strings(defs.at("shortOp").at("enum")) == short_ops);

  // Each op-needs rule of opObject: which ops must carry which keys.
  const std::map<std::string, unsigned> flag_of{{"kNeedAddr", kNeedAddr},    {"kNeedNewAddr", kNeedNewAddr}, {"kNeedProt", kNeedProt},
                                                {"kNeedFile", kNeedFile},    {"kNeedMm", kNeedMm},           {"kNeedTarget", kNeedTarget},
                                                {"kNeedDevice", kNeedDevice}};
  std::set<std::string> rules;
  for (const json& rule : defs.at("opObject").at("allOf")) {
    std::string name = rule.at("$comment").get<std::string>();
    name = name.substr(0, name.find(':'));
    REQUIRE(flag_of.count(name));
    rules.insert(name);
    std::set<std::string> want;
    for (const OpInfo& o : ops())
      if (o.needs & flag_of.at(name)) want.insert(std::string(o.name()));
    INFO(name);
    CHECK(json_strings(rule.at("if").at("properties").at("op").at("enum")) == want);
  }
  CHECK(rules.size() == flag_of.size());

  std::set<std::string> decodings, smmu;
  for (const auto& d : kernel::decodings()) {
    decodings.insert(std::string(d.name));
    if (d.kind() == iommu::IommuKind::SmmuV3) smmu.insert(std::string(d.name));
  }
  for (const auto& d : kernel::drivers()) {
    decodings.insert(std::string(d.name));
    if (d.driver == kernel::SvaDriver::SmmuV3) smmu.insert(std::string(d.name));
  }
  CHECK(json_strings(defs.at("device").at("properties").at("decoding").at("enum")) == decodings);
  const json& by_arch = defs.at("scenario");
  CHECK(json_strings(by_arch.at("then").at("properties").at("devices").at("items").at("properties").at("decoding").at("enum")) == smmu);
  std::set<std::string> x86;
  std::set_difference(decodings.begin(), decodings.end(), smmu.begin(), smmu.end(), std::inserter(x86, x86.end()));
  CHECK(json_strings(by_arch.at("else").at("properties").at("devices").at("items").at("properties").at("decoding").at("enum")) == x86);

  std::set<std::string> policies;
  for (const auto& p : kernel::policies()) policies.insert(p.name);
  CHECK(json_strings(defs.at("expect").at("propertyNames").at("enum")) == policies);
  const auto& m = expectation_names();
  const json& per_policy = defs.at("expect").at("additionalProperties");
  CHECK(json_strings(per_policy.at("propertyNames").at("anyOf").at(0).at("enum")) == std::set<std::string>(m.begin(), m.end()));
  // An op's outcome: the pattern names exactly op_outcome_names(), the errno enum errnos() and "none".
  const std::string pattern = per_policy.at("propertyNames").at("anyOf").at(1).at("pattern").get<std::string>();
  const std::vector<std::string> outcomes = op_outcome_names();
  std::string alternatives;
  for (const std::string& o : outcomes) alternatives += (alternatives.empty() ? "" : "|") + o;
  CHECK(pattern == "^.+:op (0|[1-9][0-9]*):(" + alternatives + ")$");
  std::set<std::string> errno_names{"none"};
  for (const Errno e : errnos()) errno_names.emplace(to_string(e));
  CHECK(json_strings(per_policy.at("patternProperties").at(":op (0|[1-9][0-9]*):errno$").at("enum")) == errno_names);
  CHECK(json_strings(defs.at("verdicts").at("propertyNames").at("enum")) == policies);
  const auto& e = explore_property_names();
  CHECK(json_strings(defs.at("verdicts").at("additionalProperties").at("propertyNames").at("enum")) ==
        std::set<std::string>(e.begin(), e.end()));
}

TEST_CASE("docs/scenario-format.md lists every op with its thread kind", "[scenarios]") {
  const std::string doc = read_text(kSource + "/docs/scenario-format.md");
  const size_t from = doc.find("\n## Ops\n"), to = doc.find("\n## ", from + 1);
  REQUIRE(from != std::string::npos);
  const std::string section = doc.substr(from, to - from);
  std::set<std::string> documented, code;
  const std::regex row(R"(\n\| `([a-z_]+)` \| (cpu|device|kernel) \|)");
  for (auto it = std::sregex_iterator(section.begin(), section.end(), row); it != std::sregex_iterator(); ++it)
    documented.insert((*it)[1].str() + " " + (*it)[2].str());
  for (const OpInfo& o : ops())
    code.insert(std::string(o.name()) + " " + (o.kind == ThreadKind::Cpu ? "cpu" : o.kind == ThreadKind::Device ? "device" : "kernel"));
  INFO("the op table in docs/scenario-format.md is out of step with src/scenarios/ops.cpp");
  CHECK(documented == code);
}

TEST_CASE("a scenario's costs replace the cost-model fields they name", "[scenarios][costs]") {
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [
    {"name": "c", "source": "test", "costs": {"iommu_sync": 2500, "atc_miss": 0}, "mms": [], "threads": []}]})",
                                             "costs.json");
  const ScenarioSpec& s = f.scenarios.at(0);
  CHECK(s.cost.iommu_sync == 2500);
  CHECK(s.cost.atc_miss == 0);
  CHECK(s.cost.cpu_invlpg == iommu::CostModel{}.cpu_invlpg);
}

TEST_CASE("verdicts are read per policy and property", "[scenarios]") {
  const ScenarioFile f = parse_scenario_text(R"({"scenarios": [{"name": "s", "source": "t", "mms": [], "threads": [],
    "verdicts": {"fixed": {"use-after-free": "never", "freed": "never"}, "old": {"step budget exceeded": "sometimes"}}}]})",
                                             "v.json");
  const auto& v = f.scenarios.at(0).verdicts;
  REQUIRE(v.size() == 2);
  CHECK(v.at("fixed") == std::vector<std::pair<std::string, std::string>>{{"freed", "never"}, {"use-after-free", "never"}});
  CHECK(v.at("old") == std::vector<std::pair<std::string, std::string>>{{"step budget exceeded", "sometimes"}});
}

TEST_CASE("a scenario has at most 4096 devices, threads and mms (fork children included), reported at the first beyond", "[scenarios]") {
  auto diags = [](const std::string& text) {
    try {
      parse_scenario_text(text, "many.json");
    } catch (const ScenarioError& e) {
      return e.diagnostics();
    }
    return std::vector<Diagnostic>{};
  };
  auto many = [](size_t n, const std::function<std::string(size_t)>& item) {
    std::string out;
    for (size_t i = 0; i < n; ++i) out += (i ? "," : "") + item(i);
    return out;
  };
  const std::string mm = R"({"name": "mm", "vmas": [{"start": "0x1000", "pages": 1}]})";
  SECTION("devices") {
    const auto d = diags(R"({"scenarios": [{"name": "s", "source": "t", "devices": [)" +
                         many(4097, [](size_t i) { return R"({"name": "d)" + std::to_string(i) + R"("})"; }) + R"(], "mms": [)" + mm +
                         R"(], "threads": [{"name": "T", "mm": "mm", "ops": ["exit"]}]}]})");
    REQUIRE(d.size() == 1);
    CHECK(d[0].pointer == "/scenarios/0/devices/4096");
    CHECK(d[0].message == "a scenario has at most 4096 devices");
  }
  SECTION("threads") {
    const auto d =
        diags(R"({"scenarios": [{"name": "s", "source": "t", "mms": [)" + mm + R"(], "threads": [)" +
              many(4097, [](size_t i) { return R"({"name": "T)" + std::to_string(i) + R"(", "mm": "mm", "ops": ["exit"]})"; }) + "]}]}");
    REQUIRE(d.size() == 1);
    CHECK(d[0].pointer == "/scenarios/0/threads/4096");
    CHECK(d[0].message == "a scenario has at most 4096 threads");
  }
  SECTION("mms, counting every fork's child") {
    const auto d =
        diags(R"({"scenarios": [{"name": "s", "source": "t", "mms": [)" + mm + R"(], "threads": [{"name": "T", "mm": "mm", "ops": [)" +
              many(4096, [](size_t i) { return R"({"op": "fork", "name": "c)" + std::to_string(i) + R"("})"; }) + "]}]}]}");
    REQUIRE(d.size() == 1);
    CHECK(d[0].pointer == "/scenarios/0/threads/0/ops/4095");
    CHECK(d[0].message == "a scenario has at most 4096 mms, forks' children included");
  }
}

TEST_CASE("setup counts against the step budget: populating more pages than max_steps is refused at the VMA that goes past it",
          "[scenarios]") {
  auto diags = [](uint64_t max_steps) {
    try {
      parse_scenario_text(R"({"scenarios": [{"name": "s", "source": "t", "max_steps": )" + std::to_string(max_steps) + R"(,
        "mms": [{"name": "mm", "vmas": [{"start": "0x100000", "pages": 64, "populate": "write"},
                                        {"start": "0x200000", "pages": 64},
                                        {"start": "0x300000", "pages": 64, "populate": "read"}]}],
        "threads": [{"name": "T", "mm": "mm", "ops": ["exit"]}]}]})",
                          "setup.json");
    } catch (const ScenarioError& e) {
      return e.diagnostics();
    }
    return std::vector<Diagnostic>{};
  };
  CHECK(diags(128).empty());  // the unpopulated VMA costs nothing
  const std::vector<Diagnostic> d = diags(127);
  REQUIRE(d.size() == 1);
  CHECK(d[0].pointer == "/scenarios/0/mms/0/vmas/2");
  CHECK(d[0].message == "setup populates 128 pages up to here, more than max_steps 127 (each page set up counts as a step)");
}

TEST_CASE("vmalloc areas: touching ones load, an overlap is found whatever the order they are listed in", "[scenarios]") {
  auto with_areas = [](const std::string& areas) {
    return R"({"scenarios": [{"name": "v", "source": "t", "vmalloc": [)" + areas + R"(], "mms": [], "threads": []}]})";
  };
  CHECK(text_errors(with_areas(R"({"addr": "0xffffc90000002000", "pages": 2}, {"addr": "0xffffc90000000000", "pages": 2},
                                  {"addr": "0xffffc90000004000"})"))
            .empty());
  // The third overlaps the first, listed before a non-overlapping one in between.
  const auto errors = text_errors(with_areas(R"({"addr": "0xffffc90000004000", "pages": 4}, {"addr": "0xffffc90000000000"},
                                              {"addr": "0xffffc90000006000"})"));
  INFO(listing(errors));
  REQUIRE(errors.size() == 1);
  CHECK(errors[0].pointer == "/scenarios/0/vmalloc/2");
  CHECK(errors[0].message.find("overlaps /scenarios/0/vmalloc/0") != std::string::npos);
  // An area starting below another and reaching into it.
  CHECK(text_errors(with_areas(R"({"addr": "0xffffc90000004000"}, {"addr": "0xffffc90000002000", "pages": 3})")).size() == 1);
}

TEST_CASE("VMAs read while the file is parsed: each element in order, objects or not, with its messages in place", "[scenarios][loader]") {
  const std::string threads = R"(,
      "threads": [{"name": "T1", "mm": "proc", "ops": ["exit"]}])";
  SECTION("a valid list: the specs in array order") {
    const std::string text = scenario(R"(      "files": [{"name": "f", "pages": 8}],
      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 2, "populate": "read"},
                                       {"start": "0x50000000", "pages": 1, "prot": "r", "file": "f", "pgoff": 3},
                                       {"start": "0x60000000", "pages": 3, "populate": "write"}]}])" +
                                      threads);
    const std::vector<VmaSpec> v = parse_scenario_text(text, "t.json").scenarios.at(0).mms.at(0).vmas;
    REQUIRE(v.size() == 3);
    CHECK(v[0].start == 0x40000000);
    CHECK(v[0].populate == Populate::Read);
    CHECK(v[1].file == "f");
    CHECK(v[1].pgoff == 3);
    CHECK_FALSE(v[1].writable);
    CHECK(v[1].populate == Populate::None);
    CHECK(v[2].pages == 3);
    CHECK(v[2].populate == Populate::Write);
  }
  SECTION("objects and other values mixed: every message at its element") {
    const std::string text = scenario(R"(      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 1}, 5, null,
                                       {"start": "0x50000000", "pages": "x"}, {"start": "0x60000000"}]}])" +
                                      threads);
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 4);
    CHECK(has(ds, pos_of(text, "5,"), "/scenarios/0/mms/0/vmas/1", "expected an object, got an integer"));
    CHECK(has(ds, pos_of(text, "null"), "/scenarios/0/mms/0/vmas/2", "expected an object, got null"));
    CHECK(has(ds, pos_of(text, "\"x\""), "/scenarios/0/mms/0/vmas/3/pages", "expected a non-negative integer, got \"x\""));
    CHECK(has(ds, pos_of(text, "{\"start\": \"0x60000000\"}"), "/scenarios/0/mms/0/vmas/4", "missing required key \"pages\""));
    CHECK(sorted_by_position(ds));
  }
  SECTION("a repeated \"vmas\" key: only the last list counts, as for any value") {
    const std::string text =
        scenario(R"(      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": "bad"}, {"start": "0x40000000", "pages": 1}],
                                      "vmas": [{"start": "0x40000000", "pages": 1}]}])" +
                 threads);
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 1);
    CHECK(has(ds, pos_of(text, "\"vmas\"", 2), "/scenarios/0/mms/0/vmas", "duplicate key \"vmas\""));
  }
  SECTION("a repeated \"mms\" key: the first list's VMAs are gone with it") {
    const std::string text =
        scenario(R"(      "mms": [{"name": "gone", "vmas": [{"start": 1, "pages": 1}]}, {"name": "x", "vmas": [{"pages": 0}]}],
      "mms": [{"name": "proc", "vmas": [{"start": "0x40000000", "pages": 1}]}])" +
                 threads);
    const auto ds = text_errors(text);
    INFO(listing(ds));
    REQUIRE(ds.size() == 1);
    CHECK(has(ds, pos_of(text, "\"mms\"", 2), "/scenarios/0/mms", "duplicate key \"mms\""));
  }
}

TEST_CASE("cmds_complete_in_order and pasid_table_cached are device booleans, read as written, anything else is an error at its value",
          "[scenarios]") {
  const std::string key = GENERATE(as<std::string>{}, "cmds_complete_in_order", "pasid_table_cached");
  INFO(key);
  const std::string threads = R"(,
      "threads": [{"name": "T1", "mm": "proc", "ops": ["exit"]}])";
  const std::string ok = scenario(R"(      "devices": [{"name": "d", "decoding": "intel", ")" + key + R"(": false}],
)" + kMm + threads);
  const DeviceSpec d = parse_scenario_text(ok, "t.json").scenarios.at(0).devices.at(0);
  CHECK_FALSE((key == "pasid_table_cached" ? d.pasid_table_cached : d.cmds_complete_in_order));
  CHECK((key == "pasid_table_cached" ? d.cmds_complete_in_order : d.pasid_table_cached));
  const std::string bad = scenario(R"(      "devices": [{"name": "d", ")" + key + R"(": "no"}],
)" + kMm + threads);
  const std::vector<Diagnostic> ds = text_errors(bad);
  INFO(listing(ds));
  CHECK(has(ds, pos_of(bad, "\"no\""), "/scenarios/0/devices/0/" + key, "expected true or false"));
  CHECK(ds.size() == 1);
}

TEST_CASE("the loader gives each device what its decoding names, the default included", "[scenarios][loader]") {
  const nlohmann::json doc = {
      {"scenarios",
       {{{"name", "devices"},
         {"source", "tests/scenarios/loader_test.cpp"},
         {"cpus", 1},
         {"devices", {{{"name", "a"}}, {{"name", "b"}, {"decoding", "intel"}}, {{"name", "c"}, {"decoding", "intel-6.17"}}}},
         {"mms", {{{"name", "p"}, {"bind", {"a", "b", "c"}}, {"vmas", {{{"start", "0x400000"}, {"pages", 1}}}}}}},
         {"threads", {{{"name", "t"}, {"cpu", 0}, {"mm", "p"}, {"ops", {"exit"}}}}}}}}};
  const auto file = parse_scenario_text(doc.dump(), "devices.json");
  const auto& devices = file.scenarios.at(0).devices;
  REQUIRE(devices.size() == 3);
  CHECK(devices[0].decoding_choice == tlbsim::kernel::DecodingChoice{tlbsim::kernel::SvaDecoding::AmdV2});
  CHECK(devices[1].decoding_choice == tlbsim::kernel::DecodingChoice{tlbsim::kernel::SvaDriver::Intel});
  CHECK(devices[2].decoding_choice == tlbsim::kernel::DecodingChoice{tlbsim::kernel::SvaDecoding::Intel617});
}
