// SPDX-License-Identifier: MIT
// Output files are written together or not at all, never over one of the command's inputs or
// over each other, keep the mode and symlinks of what they replace, and go into FIFOs and
// stdout in place: OutputSet itself, then the tlbsim commands that use it.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/output_set.h"
#include "support/fifo_reader.h"
#include "support/tlbsim_process.h"

namespace {

namespace fs = std::filesystem;
using tlbsim::cli::NamedPath;
using tlbsim::cli::OutputSet;
using tlbsim::cli::UsageError;
using tlbsim::test::FifoReader;
using tlbsim::test::Outcome;
using tlbsim::test::q;
using tlbsim::test::read_text;
using tlbsim::test::run_tlbsim;
using tlbsim::test::TempDir;

const std::string kSource = TLBSIM_SOURCE_DIR;
/// A quick scenario under one policy, so that --dot and --trace apply.
const std::string kOne = "--scenario nested-finish-mmu-table-free --policy fixed ";

/// The message of the UsageError `f` throws, or "" if it throws none.
template <typename F>
std::string usage_message(F f) {
  try {
    f();
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

fs::perms perms_of(const fs::path& p) { return fs::status(p).permissions() & fs::perms::mask; }

}  // namespace

TEST_CASE("OutputSet replaces an existing file whole and leaves no temporary", "[cli]") {
  TempDir d;
  const std::string out = (d.path / "out.csv").string();
  std::ofstream(out) << "first\n";
  {
    OutputSet o({}, {{"--csv", out}});
    CHECK(o.wants("--csv"));
    CHECK_FALSE(o.wants("--svg"));
    o.set("--csv", "second\n");
    o.commit();
  }
  CHECK(read_text(out) == "second\n");
  CHECK(d.listing() == "out.csv\n");
}

TEST_CASE("OutputSet refuses an output that is one of the inputs, by any name, naming both paths", "[cli]") {
  TempDir d;
  const fs::path in = d.path / "in.json";
  std::ofstream(in) << "input";
  fs::create_symlink("in.json", d.path / "soft.json");
  fs::create_hard_link(in, d.path / "hard.json");
  const std::vector<NamedPath> inputs{{"scenario file", in.string()}};
  for (const fs::path& out : {in, d.path / "." / "in.json", d.path / "soft.json", d.path / "hard.json"}) {
    INFO(out);
    CHECK(usage_message([&] {
            OutputSet o(inputs, {{"--json", out.string()}});
          }) == "--json " + out.string() + " would overwrite the scenario file " + in.string() +
                    ": an output must not be one of the command's inputs");
  }
  // An input that does not exist is the loader's to report.
  CHECK_NOTHROW(OutputSet({{"scenario file", (d.path / "missing.json").string()}}, {{"--json", (d.path / "missing.json").string()}}));
  CHECK(read_text(in) == "input");
}

TEST_CASE("OutputSet refuses two outputs that name the same file", "[cli]") {
  TempDir d;
  const std::string a = (d.path / "a").string(), dot_a = (d.path / "." / "a").string();
  CHECK(usage_message([&] {
          OutputSet o({}, {{"--dot", a}, {"--trace", dot_a}});
        }) == "--dot " + a + " and --trace " + dot_a + " are the same file: each output needs a file of its own");
  std::ofstream(a) << "keep";
  fs::create_symlink("a", d.path / "b");
  CHECK_THROWS_AS(OutputSet({}, {{"--json", a}, {"--dot", (d.path / "b").string()}}), UsageError);
  CHECK_THROWS_AS(OutputSet({}, {{"--json", "-"}, {"--dot", "-"}}), UsageError);
  CHECK(read_text(a) == "keep");
}

TEST_CASE("OutputSet keeps the mode of the file it replaces, and gives a new file the usual one", "[cli]") {
  TempDir d;
  const fs::path secret = d.path / "secret.json", fresh = d.path / "fresh.json";
  std::ofstream(secret) << "old";
  fs::permissions(secret, fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  OutputSet o({}, {{"--json", secret.string()}, {"--dot", fresh.string()}});
  o.set("--json", "new");
  o.set("--dot", "graph");
  o.commit();
  CHECK(read_text(secret) == "new");
  CHECK(perms_of(secret) == (fs::perms::owner_read | fs::perms::owner_write));
  const mode_t mask = ::umask(0);
  ::umask(mask);
  CHECK(static_cast<mode_t>(perms_of(fresh)) == (0666 & ~mask));
}

TEST_CASE("OutputSet writes through a symlink: the target is replaced and the link stays", "[cli]") {
  TempDir d;
  std::ofstream(d.path / "real.json") << "old";
  fs::permissions(d.path / "real.json", fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read, fs::perm_options::replace);
  fs::create_symlink("real.json", d.path / "link.json");
  fs::create_symlink("created.json", d.path / "dangling.json");
  OutputSet o({}, {{"--json", (d.path / "link.json").string()}, {"--dot", (d.path / "dangling.json").string()}});
  o.set("--json", "new");
  o.set("--dot", "graph");
  o.commit();
  CHECK(fs::is_symlink(d.path / "link.json"));
  CHECK(fs::read_symlink(d.path / "link.json") == "real.json");
  CHECK(read_text(d.path / "real.json") == "new");
  CHECK(perms_of(d.path / "real.json") == (fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read));
  CHECK(fs::is_symlink(d.path / "dangling.json"));
  CHECK(read_text(d.path / "created.json") == "graph");
  CHECK(d.listing() == "created.json\ndangling.json\nlink.json\nreal.json\n");
}

TEST_CASE("OutputSet writes into a FIFO in place and leaves it a FIFO", "[cli]") {
  TempDir d;
  const fs::path fifo = d.path / "fifo";
  FifoReader reader(fifo);
  const fs::path file = d.path / "also.json";
  OutputSet o({}, {{"--json", fifo.string()}, {"--dot", file.string()}});
  o.set("--json", "through the pipe\n");
  o.set("--dot", "graph");
  o.commit();
  CHECK(reader.finish() == "through the pipe\n");
  CHECK(fs::is_fifo(fifo));
  CHECK(read_text(file) == "graph");
}

TEST_CASE("OutputSet: when one temporary cannot be written, no output is replaced and no temporary is left", "[cli]") {
  TempDir d;
  fs::create_directory(d.path / "first");
  fs::create_directory(d.path / "second");
  const fs::path first = d.path / "first" / "a.json";
  std::ofstream(first) << "old";
  OutputSet o({}, {{"--json", first.string()}, {"--dot", (d.path / "second" / "b.dot").string()}});
  o.set("--json", "new");
  o.set("--dot", "graph");
  fs::remove(d.path / "second");  // gone after the check, before the commit
  CHECK_THAT(usage_message([&] { o.commit(); }), Catch::StartsWith("cannot write " + (d.path / "second" / "b.dot").string() + ": "));
  CHECK(read_text(first) == "old");
  CHECK(d.listing() == "first\n");
  CHECK(fs::is_empty(d.path / "first") == false);
  CHECK(std::distance(fs::directory_iterator(d.path / "first"), fs::directory_iterator()) == 1);
}

TEST_CASE("OutputSet: a rename that fails replaces nothing after it and removes every temporary", "[cli]") {
  TempDir d;
  const fs::path a = d.path / "a.json", b = d.path / "b.json";
  std::ofstream(b) << "old";
  OutputSet o({}, {{"--json", a.string()}, {"--dot", b.string()}});
  o.set("--json", "new a");
  o.set("--dot", "new b");
  fs::create_directory(a);
  fs::create_directory(a / "in-the-way");  // a non-empty directory: renaming a file over it fails
  CHECK_THAT(usage_message([&] { o.commit(); }), Catch::StartsWith("cannot write " + a.string() + ": rename: "));
  CHECK(read_text(b) == "old");
  CHECK(d.listing() == "a.json\nb.json\n");
}

TEST_CASE("run --json onto its own scenario file is refused with exit status 2 and the file unchanged, by any name", "[cli]") {
  TempDir d, scratch;
  const fs::path s = d.path / "s.json";
  fs::copy_file(kSource + "/scenarios.json", s);
  fs::create_symlink("s.json", d.path / "soft.json");
  fs::create_hard_link(s, d.path / "hard.json");
  const std::string before = read_text(s);
  for (const std::string out : {"s.json", "./s.json", "soft.json", "hard.json"}) {
    for (const std::string opt : {"--json", "--dot", "--trace"}) {
      INFO(opt << " " << out);
      const Outcome o = run_tlbsim("run " + q(s) + " " + kOne + opt + " " + q(d.path / out), scratch);
      CHECK(o.status == 2);
      CHECK(o.err == "tlbsim: " + opt + " " + (d.path / out).string() + " would overwrite the scenario file " + s.string() +
                         ": an output must not be one of the command's inputs\n");
      CHECK(o.out.empty());
    }
  }
  CHECK(read_text(s) == before);
  CHECK(fs::is_symlink(d.path / "soft.json"));
  CHECK(fs::hard_link_count(s) == 2);
  CHECK(d.listing() == "hard.json\ns.json\nsoft.json\n");
}

TEST_CASE("run --json onto the default scenario file, named by no argument, is refused", "[cli]") {
  TempDir d, scratch;
  fs::copy_file(kSource + "/scenarios.json", d.path / "scenarios.json");
  const std::string before = read_text(d.path / "scenarios.json");
  // The scenarios.json in the working directory is the default input.
  const Outcome o = run_tlbsim("run --json scenarios.json", scratch, d.path);
  CHECK(o.status == 2);
  CHECK_THAT(o.err, Catch::Contains("would overwrite the scenario file scenarios.json"));
  CHECK(read_text(d.path / "scenarios.json") == before);
}

TEST_CASE("explore --json onto one of its scenario files is refused", "[cli]") {
  TempDir d, scratch;
  const fs::path s = d.path / "s.json";
  fs::copy_file(kSource + "/scenarios.json", s);
  fs::create_hard_link(s, d.path / "hard.json");
  const std::string before = read_text(s);
  const Outcome o = run_tlbsim("explore " + q(kSource + "/scenarios.json") + " " + q(s) + " --json " + q(d.path / "hard.json"), scratch);
  CHECK(o.status == 2);
  CHECK_THAT(o.err, Catch::Contains("would overwrite the scenario file " + s.string()));
  CHECK(read_text(s) == before);
}

TEST_CASE("sweep --csv or --svg onto the --costs file is refused with exit status 2 and the costs file unchanged", "[cli]") {
  TempDir d, scratch;
  const fs::path costs = d.path / "c.json";
  std::ofstream(costs) << "{\"iommu_sync\": 2000}\n";
  fs::create_symlink("c.json", d.path / "link.json");
  for (const std::string out : {"--csv c.json", "--svg c.json", "--csv link.json", "--svg ./c.json"}) {
    INFO(out);
    const Outcome o = run_tlbsim("sweep --sizes 1 --costs c.json " + out, scratch, d.path);
    CHECK(o.status == 2);
    CHECK_THAT(o.err, Catch::Contains("would overwrite the --costs file c.json"));
    CHECK(o.out.empty());
  }
  CHECK(read_text(costs) == "{\"iommu_sync\": 2000}\n");
  CHECK(d.listing() == "c.json\nlink.json\n");
}

TEST_CASE("two outputs naming the same file are refused and nothing is written", "[cli]") {
  TempDir d, scratch;
  Outcome o = run_tlbsim("run " + kOne + "--dot out --trace ./out", scratch, d.path);
  CHECK(o.status == 2);
  CHECK(o.err == "tlbsim: --dot out and --trace ./out are the same file: each output needs a file of its own\n");
  CHECK(d.listing().empty());
  std::ofstream(d.path / "kept.json") << "keep";
  o = run_tlbsim("sweep --sizes 1 --csv kept.json --svg " + q(d.path / "kept.json"), scratch, d.path);
  CHECK(o.status == 2);
  CHECK(read_text(d.path / "kept.json") == "keep");
}

TEST_CASE("an output that cannot be written means no output is written, even those named before it", "[cli]") {
  TempDir d, scratch;
  std::ofstream(d.path / "r.json") << "old";
  const Outcome o = run_tlbsim("run " + kOne + "--json r.json --trace t.json --dot missing/g.dot", scratch, d.path);
  CHECK(o.status == 2);
  CHECK_THAT(o.err, Catch::Contains("cannot write missing/g.dot"));
  CHECK(read_text(d.path / "r.json") == "old");
  CHECK(d.listing() == "r.json\n");
}

TEST_CASE("an existing 0600 output file keeps its mode, and a symlinked one its link", "[cli]") {
  TempDir d, scratch;
  std::ofstream(d.path / "r.json") << "old";
  fs::permissions(d.path / "r.json", fs::perms::owner_read | fs::perms::owner_write, fs::perm_options::replace);
  fs::create_symlink("r.json", d.path / "link.json");
  Outcome o = run_tlbsim("run " + kOne + "--json link.json", scratch, d.path);
  CHECK((o.status == 0 || o.status == 1));
  CHECK(fs::is_symlink(d.path / "link.json"));
  CHECK(read_text(d.path / "r.json").find("nested-finish-mmu-table-free") != std::string::npos);
  CHECK(perms_of(d.path / "r.json") == (fs::perms::owner_read | fs::perms::owner_write));
  CHECK(d.listing() == "link.json\nr.json\n");
}

TEST_CASE("run --json /dev/stdout or --json - puts the report into stdout, before the text report", "[cli]") {
  TempDir d, scratch;
  // stdout is a regular file here (tests/support redirects it): it must not be renamed over.
  const Outcome text = run_tlbsim("run " + kOne, scratch);
  const Outcome file = run_tlbsim("run " + kOne + "--json " + q(d.path / "r.json"), scratch);
  const std::string json = read_text(d.path / "r.json");
  REQUIRE(!json.empty());
  for (const char* out : {"-", "/dev/stdout"}) {
    INFO(out);
    const Outcome o = run_tlbsim("run " + kOne + "--json " + out, scratch);
    CHECK(o.status == text.status);
    CHECK(o.out == json + text.out);
    CHECK(scratch.listing() == "stderr\nstdout\n");
  }
  CHECK(file.out == text.out);
}

TEST_CASE("run --json onto a FIFO writes the report into it and leaves it a FIFO", "[cli]") {
  TempDir d, scratch;
  const Outcome file = run_tlbsim("run " + kOne + "--json " + q(d.path / "r.json"), scratch);
  FifoReader reader(d.path / "fifo");
  const Outcome o = run_tlbsim("run " + kOne + "--json " + q(d.path / "fifo"), scratch);
  CHECK(o.status == file.status);
  CHECK(reader.finish() == read_text(d.path / "r.json"));
  CHECK(fs::is_fifo(d.path / "fifo"));
  CHECK(d.listing() == "fifo\nr.json\n");
}
