// SPDX-License-Identifier: MIT
#include "scenarios/input_file.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstring>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "scenarios/errors.h"

namespace tlbsim::scenarios {

namespace {

[[noreturn]] void refuse(const std::string& path, const std::string& why) {
  throw ScenarioError({Diagnostic{.file = path, .message = why}});
}

/// Closes the descriptor on every way out, exceptions included.
struct Fd {
  int fd;
  ~Fd() {
    if (fd >= 0) ::close(fd);
  }
};

std::string limit_text() { return "is larger than the " + std::to_string(kMaxInputBytes >> 20) + " MiB limit"; }

}  // namespace

std::string read_input_file(const std::string& path) {
  // O_NONBLOCK: opening a FIFO for reading would otherwise wait for a writer. The descriptor's
  // type is checked before anything is read, so the flag never affects a read.
  const Fd f{::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC)};
  if (f.fd < 0) refuse(path, std::string("cannot read: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(f.fd, &st) != 0) refuse(path, std::string("cannot read: ") + std::strerror(errno));
  if (S_ISDIR(st.st_mode)) refuse(path, "is a directory");
  if (!S_ISREG(st.st_mode)) refuse(path, "is not a regular file");
  if (static_cast<uint64_t>(st.st_size) > kMaxInputBytes) refuse(path, limit_text());
  std::string text;
  text.resize(static_cast<size_t>(st.st_size));
  size_t got = 0;
  // Read until end of file, not just st_size bytes: the file may grow while it is read; one
  // byte past the limit is enough to refuse it.
  for (;;) {
    if (got == text.size()) {
      if (text.size() > kMaxInputBytes) refuse(path, limit_text());
      text.resize(std::min(kMaxInputBytes + 1, std::max<size_t>(4096, text.size() * 2)));
    }
    const ssize_t n = ::read(f.fd, text.data() + got, text.size() - got);
    if (n < 0) {
      if (errno == EINTR) continue;
      refuse(path, std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    got += static_cast<size_t>(n);
  }
  text.resize(got);
  return text;
}

}  // namespace tlbsim::scenarios
