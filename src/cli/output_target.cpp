// SPDX-License-Identifier: MIT
#include "cli/output_target.h"

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"

namespace tlbsim::cli {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void cannot_write(const NamedPath& out, const std::string& why) { throw UsageError("cannot write " + out.path + ": " + why); }

/// `path` with every symlink in its last component followed, to the path the link chain ends
/// at (which need not exist yet: a dangling link creates its target). A relative link target
/// is taken from the link's own directory, as the kernel does.
std::string follow_symlinks(const NamedPath& out) {
  fs::path p = out.path;
  for (int hops = 0; hops < 40; ++hops) {  // the kernel's own limit (ELOOP)
    struct stat st {};
    if (::lstat(p.c_str(), &st) != 0 || !S_ISLNK(st.st_mode)) return p.string();
    std::error_code ec;
    const fs::path target = fs::read_symlink(p, ec);
    if (ec) cannot_write(out, "reading the symbolic link " + p.string() + ": " + ec.message());
    p = target.is_absolute() ? target : p.parent_path() / target;
  }
  cannot_write(out, std::strerror(ELOOP));
}

/// Stdout, or stderr, is this file already: writing through the descriptor keeps the report in
/// the stream (renaming over a file stdout was redirected to would leave the rest of the
/// output going to a deleted file).
int open_descriptor_for(const FileId& id) {
  for (int fd : {STDOUT_FILENO, STDERR_FILENO})
    if (descriptor_id(fd) == id) return fd;
  return -1;
}

}  // namespace

OutputTarget locate_output(const NamedPath& out) {
  OutputTarget t;
  t.named = out;
  if (out.path == "-") {
    const auto id = descriptor_id(STDOUT_FILENO);
    if (!id) cannot_write(out, "standard output is closed");
    t.kind = OutputTarget::Kind::Descriptor;
    t.fd = STDOUT_FILENO;
    t.id = *id;
    return t;
  }
  struct stat st {};
  if (::stat(out.path.c_str(), &st) == 0) {
    if (S_ISDIR(st.st_mode)) cannot_write(out, "is a directory");
    t.id = FileId{st.st_dev, st.st_ino, {}};
    if ((t.fd = open_descriptor_for(t.id)) >= 0) {
      t.kind = OutputTarget::Kind::Descriptor;
      return t;
    }
    t.write_path = out.path;
    if (!S_ISREG(st.st_mode)) {
      t.kind = OutputTarget::Kind::InPlace;
      return t;
    }
    // A link in /proc may name something that is no path (a deleted file): if following the
    // links does not lead back to this file, write it in place rather than rename elsewhere.
    const std::string followed = follow_symlinks(out);
    if (file_id(followed) != t.id) {
      t.kind = OutputTarget::Kind::InPlace;
      return t;
    }
    t.kind = OutputTarget::Kind::Replace;
    t.write_path = followed;
    t.mode = st.st_mode & 0777;  // not set-user-ID and the like: a report is no program
    t.uid = st.st_uid;
    t.gid = st.st_gid;
    return t;
  }
  if (errno != ENOENT) cannot_write(out, std::strerror(errno));
  // Nothing there yet (or a dangling symlink): a new file in an existing directory.
  const fs::path followed = follow_symlinks(out);
  if (followed.filename().empty() || followed.filename() == "." || followed.filename() == "..") cannot_write(out, "names a directory");
  const fs::path dir = followed.parent_path().empty() ? fs::path(".") : followed.parent_path();
  struct stat dst {};
  if (::stat(dir.c_str(), &dst) != 0) cannot_write(out, "directory " + dir.string() + ": " + std::strerror(errno));
  if (!S_ISDIR(dst.st_mode)) cannot_write(out, dir.string() + " is not a directory");
  t.kind = OutputTarget::Kind::Replace;
  t.write_path = followed.string();
  t.id = FileId{dst.st_dev, dst.st_ino, followed.filename().string()};
  return t;
}

}  // namespace tlbsim::cli
