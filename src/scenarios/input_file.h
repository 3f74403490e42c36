// SPDX-License-Identifier: MIT
#pragma once
/// Reading a scenario or costs file whole, refusing what is not a file of JSON text: a
/// directory, a FIFO or a device (/dev/zero would never end, a FIFO with no writer would block
/// or read as empty), a file that cannot be read, or one too large to be a scenario file.
#include <cstddef>
#include <string>

namespace tlbsim::scenarios {

/// The largest scenario or costs file read, in bytes. The bundled scenarios.json is about
/// 30 KiB, and a generated scenario with 200,000 VMAs under 10 MiB; the limit only keeps a
/// mistaken path (a disk image, a log) from being read into memory whole.
inline constexpr size_t kMaxInputBytes = size_t{64} << 20;

/// The bytes of the regular file `path`. Throws ScenarioError naming `path`: "cannot read:
/// REASON" (strerror of open or read), "is a directory", "is not a regular file", "is larger
/// than the 64 MiB limit".
std::string read_input_file(const std::string& path);

}  // namespace tlbsim::scenarios
