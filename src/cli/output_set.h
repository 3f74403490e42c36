// SPDX-License-Identifier: MIT
#pragma once
/// The files one command writes (--json, --dot, --trace, --csv, --svg), written together or
/// not at all.
///
/// Constructed before any work is done, so that a command line that would overwrite one of its
/// own inputs, or name one file for two outputs, fails at once with nothing written (files are
/// compared by device and inode: a hard link, a symlink or another spelling is the same file).
/// The command then sets each output's contents and commits: every temporary file is written
/// first, then the in-place outputs, then every temporary is renamed over its target. If any
/// of that fails before the renames, the temporaries are removed and no file is replaced.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/program_options/variables_map.hpp>

#include "cli/output_target.h"

namespace tlbsim::cli {

class OutputSet {
 public:
  /// Throws UsageError, naming both paths, if an output is one of `inputs` (the files the
  /// command reads) or the same file as another output; and as locate_output() does.
  OutputSet(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs);
  /// Removes any temporary file a failed commit() left.
  ~OutputSet();
  OutputSet(const OutputSet&) = delete;
  OutputSet& operator=(const OutputSet&) = delete;

  /// Whether the output `what` ("--json") was asked for.
  bool wants(std::string_view what) const;
  /// The contents of output `what`, written by commit().
  void set(std::string_view what, std::string data);
  /// Writes every output; each must have been set. Throws UsageError ("cannot write PATH: ...").
  void commit();

 private:
  struct Pending {
    OutputTarget target;
    std::optional<std::string> data;
    std::string temporary;  ///< written, not yet renamed over the target
  };
  Pending& find(std::string_view what);
  void remove_temporaries();

  std::vector<Pending> m_outputs;
  bool m_committed = false;
};

/// The file-naming options among `options` (without "--") that `vm` holds, as NamedPaths
/// {"--json", PATH}, in the order given.
std::vector<NamedPath> named_outputs(const boost::program_options::variables_map& vm, const std::vector<std::string>& options);

/// Scenario files as inputs: {"scenario file", PATH}.
std::vector<NamedPath> scenario_inputs(const std::vector<std::string>& files);

}  // namespace tlbsim::cli
