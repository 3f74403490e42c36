// SPDX-License-Identifier: MIT
#pragma once
/// Running the tlbsim binary from a test as a user would: a scratch directory and the exit
/// status, stdout and stderr of one command line.
#include <filesystem>
#include <string>

namespace tlbsim::test {

/// The whole contents of a file ("" if it cannot be read).
std::string read_text(const std::filesystem::path& p);

/// A fresh empty directory, removed when the test ends.
struct TempDir {
  std::filesystem::path path;
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  /// Names of everything in the directory, sorted, one a line.
  std::string listing() const;
};

struct Outcome {
  int status = -1;
  std::string out, err;
};

/// Runs `tlbsim ARGS` (ARGS already shell-quoted) through the shell, capturing stdout and stderr
/// in files in `scratch`; in the directory `cwd` if it is not empty.
Outcome run_tlbsim(const std::string& args, const TempDir& scratch, const std::filesystem::path& cwd = {});

/// `p` in single quotes, for a shell command line.
std::string q(const std::filesystem::path& p);

}  // namespace tlbsim::test
