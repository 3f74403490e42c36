// SPDX-License-Identifier: MIT
#pragma once
/// The reading end of a named pipe, on a thread of its own, so a test can check what a writer
/// (this process or a tlbsim child) put through a FIFO.
#include <atomic>
#include <filesystem>
#include <string>
#include <thread>

namespace tlbsim::test {

class FifoReader {
 public:
  /// Makes the FIFO `path` and starts reading it: opening waits for a writer, reading goes on
  /// until the last writer closes it.
  explicit FifoReader(std::filesystem::path path);
  ~FifoReader();
  FifoReader(const FifoReader&) = delete;
  FifoReader& operator=(const FifoReader&) = delete;

  /// Everything read. Returns even if no writer ever came (the test fails on the contents
  /// rather than hanging).
  std::string finish();

 private:
  std::filesystem::path m_path;
  std::string m_data;
  std::atomic<bool> m_done{false};
  std::thread m_thread;
};

}  // namespace tlbsim::test
