// SPDX-License-Identifier: MIT
#pragma once
/// What a system call or a fault can end with, as user space sees it: the errno values the
/// modelled calls return (include/uapi/asm-generic/errno-base.h, the same on every architecture
/// the model has) and the signals a fault sends (x86 and arm64 numbering). Declared once: event
/// descriptions, the detector's findings and the reports print these names.
#include <cstdint>
#include <optional>
#include <span>
#include <string_view>

namespace tlbsim {

/// Enumerators are spelt Efault, not EFAULT: <cerrno> defines the upper-case names as macros.
enum class Errno : uint16_t {
  Enomem = 12,
  Eacces = 13,
  Efault = 14,
  Eexist = 17,
  Einval = 22,
};
/// "EACCES"; "E?" for a value outside the table.
std::string_view to_string(Errno e);
/// Every errno above, by value.
std::span<const Errno> errnos();
/// The errno named "EACCES", if it is one of errnos().
std::optional<Errno> parse_errno(std::string_view name);

enum class Signal : uint16_t {
  Sigbus = 7,
  Sigsegv = 11,
};
/// "SIGSEGV"; "SIG?" for a value outside the table.
std::string_view to_string(Signal s);

}  // namespace tlbsim
