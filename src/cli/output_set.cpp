// SPDX-License-Identifier: MIT
#include "cli/output_set.h"

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"

namespace tlbsim::cli {

namespace {

namespace fs = std::filesystem;

[[noreturn]] void cannot_write(const OutputTarget& t, const std::string& step, int err) {
  throw UsageError("cannot write " + t.named.path + ": " + step + ": " + std::strerror(err));
}

/// Writes all of `data`; false with errno set if a write fails.
bool write_all(int fd, const std::string& data) {
  for (size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      if (n == 0) errno = EIO;
      return false;
    }
    done += static_cast<size_t>(n);
  }
  return true;
}

/// A temporary file beside the target holding `data`, with the mode (and, where allowed, the
/// owner) of the file it will replace, or a new file's mode. Returns its path; on failure it
/// is removed and UsageError names the target.
std::string write_temporary(const OutputTarget& t, const std::string& data) {
  const fs::path target(t.write_path);
  const fs::path dir = target.parent_path().empty() ? fs::path(".") : target.parent_path();
  // A unique name in the target's directory: rename() is atomic only within one file system,
  // and two runs writing beside each other must not share a temporary file.
  std::string tmp = (dir / ("." + target.filename().string() + ".tmp.XXXXXX")).string();
  const int fd = ::mkstemp(tmp.data());
  if (fd < 0) cannot_write(t, "creating a temporary file in " + dir.string(), errno);
  auto fail = [&](const char* step) {
    const int err = errno;
    ::close(fd);
    ::unlink(tmp.c_str());
    cannot_write(t, step, err);
  };
  mode_t mode = 0;
  if (t.mode) {
    // The owner is kept where allowed (as root); otherwise the report belongs to whoever wrote
    // it, which is no harm. The owner first, then the mode: chown may clear mode bits.
    if ((t.uid != ::geteuid() || t.gid != ::getegid()) && ::fchown(fd, t.uid, t.gid) != 0) {
    }
    mode = *t.mode;
  } else {
    // mkstemp creates the file 0600; give it the mode an ordinary create would (0666 & ~umask).
    const mode_t mask = ::umask(0);
    ::umask(mask);
    mode = 0666 & ~mask;
  }
  if (::fchmod(fd, mode) != 0) fail("chmod");
  if (!write_all(fd, data)) fail("write");
  if (::close(fd) != 0) {
    const int err = errno;
    ::unlink(tmp.c_str());
    cannot_write(t, "close", err);
  }
  return tmp;
}

/// Writes `data` to a FIFO, device or one of the standard descriptors, where it is.
void write_in_place(const OutputTarget& t, const std::string& data) {
  if (t.kind == OutputTarget::Kind::Descriptor) {
    // What the command printed so far comes first.
    std::cout.flush();
    std::cerr.flush();
    std::fflush(nullptr);
    if (!write_all(t.fd, data)) cannot_write(t, "write", errno);
    return;
  }
  // Opening a FIFO waits for a reader, as a shell redirection does.
  const int fd = ::open(t.write_path.c_str(), O_WRONLY | O_NOCTTY | O_CLOEXEC);
  if (fd < 0) cannot_write(t, "open", errno);
  if (!write_all(fd, data)) {
    const int err = errno;
    ::close(fd);
    cannot_write(t, "write", err);
  }
  if (::close(fd) != 0) cannot_write(t, "close", errno);
}

}  // namespace

OutputSet::OutputSet(const std::vector<NamedPath>& inputs, const std::vector<NamedPath>& outputs) {
  std::vector<std::optional<FileId>> input_ids;
  for (const NamedPath& in : inputs) input_ids.push_back(file_id(in.path));  // unreadable ones the loader reports
  for (const NamedPath& out : outputs) {
    OutputTarget t = locate_output(out);
    for (size_t i = 0; i < inputs.size(); ++i)
      if (input_ids[i] == t.id)
        throw UsageError(out.what + " " + out.path + " would overwrite the " + inputs[i].what + " " + inputs[i].path +
                         ": an output must not be one of the command's inputs");
    for (const Pending& p : m_outputs)
      if (p.target.id == t.id)
        throw UsageError(p.target.named.what + " " + p.target.named.path + " and " + out.what + " " + out.path +
                         " are the same file: each output needs a file of its own");
    m_outputs.push_back(Pending{std::move(t), std::nullopt, {}});
  }
}

OutputSet::~OutputSet() { remove_temporaries(); }

bool OutputSet::wants(std::string_view what) const {
  for (const Pending& p : m_outputs)
    if (p.target.named.what == what) return true;
  return false;
}

OutputSet::Pending& OutputSet::find(std::string_view what) {
  for (Pending& p : m_outputs)
    if (p.target.named.what == what) return p;
  throw std::logic_error("OutputSet: no output " + std::string(what));
}

void OutputSet::set(std::string_view what, std::string data) { find(what).data = std::move(data); }

void OutputSet::remove_temporaries() {
  for (Pending& p : m_outputs)
    if (!p.temporary.empty()) {
      ::unlink(p.temporary.c_str());
      p.temporary.clear();
    }
}

void OutputSet::commit() {
  if (m_committed) throw std::logic_error("OutputSet: committed twice");
  for (const Pending& p : m_outputs)
    if (!p.data) throw std::logic_error("OutputSet: nothing to write to " + p.target.named.what);
  m_committed = true;
  std::string written;  // for the message if a rename fails after others succeeded
  try {
    for (Pending& p : m_outputs)
      if (p.target.kind == OutputTarget::Kind::Replace) p.temporary = write_temporary(p.target, *p.data);
    // In-place outputs cannot be taken back, so they come after every temporary was written.
    for (Pending& p : m_outputs)
      if (p.target.kind != OutputTarget::Kind::Replace) {
        write_in_place(p.target, *p.data);
        written += (written.empty() ? "" : ", ") + p.target.named.path;
      }
    for (Pending& p : m_outputs) {
      if (p.temporary.empty()) continue;
      if (::rename(p.temporary.c_str(), p.target.write_path.c_str()) != 0) {
        const int err = errno;
        throw UsageError("cannot write " + p.target.named.path + ": rename: " + std::strerror(err) +
                         (written.empty() ? "" : " (already written: " + written + ")"));
      }
      p.temporary.clear();
      written += (written.empty() ? "" : ", ") + p.target.named.path;
    }
  } catch (...) {
    remove_temporaries();
    throw;
  }
}

std::vector<NamedPath> named_outputs(const boost::program_options::variables_map& vm, const std::vector<std::string>& options) {
  std::vector<NamedPath> out;
  for (const std::string& o : options)
    if (vm.count(o)) out.push_back(NamedPath{"--" + o, vm[o].as<std::string>()});
  return out;
}

std::vector<NamedPath> scenario_inputs(const std::vector<std::string>& files) {
  std::vector<NamedPath> in;
  for (const std::string& f : files) in.push_back(NamedPath{"scenario file", f});
  return in;
}

}  // namespace tlbsim::cli
