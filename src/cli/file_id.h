// SPDX-License-Identifier: MIT
#pragma once
/// Which file a path names, as the kernel sees it, so that "is this output one of my inputs?"
/// is answered for hard links, symlinks and other spellings of the same file alike.
#include <optional>
#include <string>

#include <sys/types.h>

namespace tlbsim::cli {

struct FileId {
  dev_t dev = 0;
  ino_t ino = 0;
  /// Empty for an existing file. For a file not created yet, its name, and dev and ino are
  /// those of the directory it would be created in: two spellings of one new file still match.
  std::string name;

  friend bool operator==(const FileId&, const FileId&) = default;
};

/// The existing file `path` names, symlinks followed; nullopt if stat() fails.
std::optional<FileId> file_id(const std::string& path);

/// The file open as descriptor `fd`; nullopt if it is not open.
std::optional<FileId> descriptor_id(int fd);

}  // namespace tlbsim::cli
