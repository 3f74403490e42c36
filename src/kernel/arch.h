// SPDX-License-Identifier: MIT
#pragma once
/// The CPU architecture a machine models: how it flushes its TLBs and which IOMMUs it has.
#include <cstdint>

namespace tlbsim::kernel {

enum class Arch : uint8_t { X86, Arm64 };
/// A scenario's spelling of each Arch, in enum order.
inline constexpr const char* kArchNames[] = {"x86", "arm64"};

}  // namespace tlbsim::kernel
