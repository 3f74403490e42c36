// SPDX-License-Identifier: MIT
#include "support/fifo_reader.h"

#include <chrono>
#include <stdexcept>

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

namespace tlbsim::test {

FifoReader::FifoReader(std::filesystem::path path) : m_path(std::move(path)) {
  if (::mkfifo(m_path.c_str(), 0600) != 0) throw std::runtime_error("mkfifo " + m_path.string());
  m_thread = std::thread([this] {
    const int fd = ::open(m_path.c_str(), O_RDONLY | O_CLOEXEC);
    if (fd >= 0) {
      char buf[4096];
      for (ssize_t n; (n = ::read(fd, buf, sizeof buf)) != 0;) {
        if (n < 0) break;
        m_data.append(buf, static_cast<size_t>(n));
      }
      ::close(fd);
    }
    m_done = true;
  });
}

FifoReader::~FifoReader() {
  if (m_thread.joinable()) finish();
}

std::string FifoReader::finish() {
  // A reader still waiting in open() because no writer came is let go by opening the FIFO for
  // writing (without blocking; it fails until the reader is in open()) and closing it: it then
  // reads end of file. A writer that has already gone changes nothing.
  while (!m_done) {
    const int fd = ::open(m_path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC);
    if (fd >= 0) ::close(fd);
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  m_thread.join();
  return m_data;
}

}  // namespace tlbsim::test
