// SPDX-License-Identifier: MIT
#include "model/outcome.h"

namespace tlbsim {

std::string_view to_string(Errno e) {
  switch (e) {
    case Errno::Efault: return "EFAULT";
    case Errno::Enomem: return "ENOMEM";
    case Errno::Eacces: return "EACCES";
    case Errno::Eexist: return "EEXIST";
    case Errno::Einval: return "EINVAL";
  }
  return "E?";
}

std::span<const Errno> errnos() {
  static constexpr Errno kAll[] = {Errno::Enomem, Errno::Eacces, Errno::Efault, Errno::Eexist, Errno::Einval};
  return kAll;
}

std::optional<Errno> parse_errno(std::string_view name) {
  for (const Errno e : errnos())
    if (to_string(e) == name) return e;
  return std::nullopt;
}

std::string_view to_string(Signal s) {
  switch (s) {
    case Signal::Sigbus: return "SIGBUS";
    case Signal::Sigsegv: return "SIGSEGV";
  }
  return "SIG?";
}

}  // namespace tlbsim
