// SPDX-License-Identifier: MIT
// Where an output path is written: replaced (regular or new files, through symlinks), in place
// (FIFOs, devices) or through stdout; and which paths are refused before anything is run.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/output_target.h"
#include "support/tlbsim_process.h"

namespace tlbsim::cli {
namespace {

namespace fs = std::filesystem;
using Kind = OutputTarget::Kind;

/// The message of the UsageError locate_output() throws for `path`, or "" if none.
std::string refusal(const std::string& path) {
  try {
    locate_output(NamedPath{"--json", path});
  } catch (const UsageError& e) {
    return e.what();
  }
  return "";
}

TEST_CASE("locate_output: a regular file is replaced and keeps its permission bits", "[cli]") {
  test::TempDir d;
  const fs::path f = d.path / "r.json";
  std::ofstream(f) << "old";
  fs::permissions(f, fs::perms::owner_read | fs::perms::owner_write);
  const OutputTarget t = locate_output(NamedPath{"--json", f.string()});
  CHECK(t.kind == Kind::Replace);
  CHECK(t.write_path == f.string());
  REQUIRE(t.mode.has_value());
  CHECK(*t.mode == 0600);
  CHECK(t.id == file_id(f.string()));
}

TEST_CASE("locate_output: a new file is created in its directory, and two spellings of it are one file", "[cli]") {
  test::TempDir d;
  const OutputTarget a = locate_output(NamedPath{"--json", (d.path / "new.json").string()});
  const OutputTarget b = locate_output(NamedPath{"--dot", (d.path / "." / "new.json").string()});
  CHECK(a.kind == Kind::Replace);
  CHECK_FALSE(a.mode.has_value());
  CHECK(a.id.name == "new.json");
  CHECK(a.id == b.id);
  CHECK_FALSE(a.id == locate_output(NamedPath{"--dot", (d.path / "other.json").string()}).id);
}

TEST_CASE("locate_output: a symlink is followed to the file it names, which need not exist yet", "[cli]") {
  test::TempDir d;
  fs::create_directory(d.path / "sub");
  std::ofstream(d.path / "sub" / "real.json") << "old";
  fs::create_symlink("sub/real.json", d.path / "link.json");        // relative to the link's directory
  fs::create_symlink(d.path / "link.json", d.path / "link2.json");  // a chain
  fs::create_symlink("missing.json", d.path / "sub" / "dangling.json");
  CHECK(locate_output(NamedPath{"--json", (d.path / "link2.json").string()}).write_path == (d.path / "sub" / "real.json").string());
  const OutputTarget dangling = locate_output(NamedPath{"--json", (d.path / "sub" / "dangling.json").string()});
  CHECK(dangling.kind == Kind::Replace);
  CHECK(dangling.write_path == (d.path / "sub" / "missing.json").string());
  CHECK(dangling.id.name == "missing.json");
}

TEST_CASE("locate_output: a FIFO or a character device is written in place, never replaced", "[cli]") {
  test::TempDir d;
  const fs::path fifo = d.path / "fifo";
  REQUIRE(::mkfifo(fifo.c_str(), 0600) == 0);
  CHECK(locate_output(NamedPath{"--json", fifo.string()}).kind == Kind::InPlace);
  // Only looked at here; nothing is written to /dev/null.
  CHECK(locate_output(NamedPath{"--json", "/dev/null"}).kind == Kind::InPlace);
}

TEST_CASE("locate_output: - and the file stdout already is are written through stdout", "[cli]") {
  const OutputTarget dash = locate_output(NamedPath{"--json", "-"});
  CHECK(dash.kind == Kind::Descriptor);
  CHECK(dash.fd == STDOUT_FILENO);
  const OutputTarget dev = locate_output(NamedPath{"--json", "/dev/stdout"});
  CHECK(dev.kind == Kind::Descriptor);
  CHECK(dev.fd == STDOUT_FILENO);
  CHECK(dev.id == dash.id);
}

TEST_CASE("locate_output refuses a directory, a missing directory and a symlink loop", "[cli]") {
  test::TempDir d;
  const std::string dir = d.path.string();
  CHECK(refusal(dir) == "cannot write " + dir + ": is a directory");
  CHECK(refusal(dir + "/missing/r.json") ==
        "cannot write " + dir + "/missing/r.json: directory " + dir + "/missing: No such file or directory");
  std::ofstream(d.path / "plain") << "x";
  CHECK(refusal(dir + "/plain/r.json") == "cannot write " + dir + "/plain/r.json: Not a directory");
  fs::create_symlink("loop-b", d.path / "loop-a");
  fs::create_symlink("loop-a", d.path / "loop-b");
  CHECK(refusal(dir + "/loop-a") == "cannot write " + dir + "/loop-a: Too many levels of symbolic links");
  CHECK(refusal(dir + "/new/") == "cannot write " + dir + "/new/: names a directory");
}

}  // namespace
}  // namespace tlbsim::cli
