// SPDX-License-Identifier: MIT
#pragma once
/// Where an output path (--json, --dot, --trace, --csv, --svg) is written, and how.
///
/// A regular file, or a path with nothing there yet, is replaced atomically: written to a
/// temporary file beside it and renamed over it, so a reader never sees half a report. Renaming
/// would turn anything else into a regular file (a FIFO, /dev/null, a terminal), so those are
/// written in place. A symlink is followed: its target is replaced and the link stays. A hard
/// link is not: the path gets the new file, and the old file, with its other names, keeps what
/// it held (atomic replacement cannot update every name of a file at once; README says so).
#include <optional>
#include <string>

#include <sys/types.h>

#include "cli/file_id.h"

namespace tlbsim::cli {

/// A path the command line named, with what named it ("--json", "scenario file", "--costs"),
/// so that a message can say which option a path came from.
struct NamedPath {
  std::string what;
  std::string path;
};

struct OutputTarget {
  enum class Kind {
    Replace,     ///< a regular file or a new one: temporary file, then rename
    InPlace,     ///< a FIFO, a device, ...: opened and written, never renamed over
    Descriptor,  ///< "-", or the file stdout or stderr already is: written to that descriptor
  };

  NamedPath named;
  Kind kind = Kind::Replace;
  /// Replace: the path renamed over, symlinks followed. InPlace: the path opened.
  std::string write_path;
  int fd = -1;  ///< Descriptor: STDOUT_FILENO or STDERR_FILENO
  FileId id;    ///< the file written, to compare with inputs and other outputs
  /// Replace over an existing file: its permission bits and owner, which the new file keeps.
  std::optional<mode_t> mode;
  uid_t uid = 0;
  gid_t gid = 0;
};

/// Looks at what `out.path` names now. Throws UsageError ("cannot write PATH: ...") for a
/// directory, a path whose directory does not exist, a symlink loop, or "-" with stdout closed.
OutputTarget locate_output(const NamedPath& out);

}  // namespace tlbsim::cli
