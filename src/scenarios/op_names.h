// SPDX-License-Identifier: MIT
#pragma once
/// The names of the ops a scenario thread can run, declared once: the enum the loaded scenario
/// carries (OpSpec::id) and the name each has in a scenario file come from the one list below,
/// and the op table (scenarios/ops.h) has one row per entry, in this order (tested). Code that
/// asks which op it has compares an `Op`, so a misspelt name does not compile.
#include <array>
#include <cstdint>
#include <optional>
#include <string_view>

namespace tlbsim::scenarios {

// clang-format off
#define TLBSIM_OPS(X)                                                                          \
  X(read) X(write) X(mmap) X(brk) X(munmap) X(madvise_dontneed) X(madvise_free) X(fork)      \
  X(mremap) X(mprotect) X(migrate_vma) X(sva_bind) X(exit) X(dma_read) X(dma_write)          \
  X(truncate) X(reclaim) X(migrate) X(ksm_merge) X(khugepaged_collapse) X(khugepaged_retract) \
  X(vfree) X(ioremap_huge) X(kernel_pgtable_work)
// clang-format on

/// The enumerators are the ops' names in a scenario file.
enum class Op : uint8_t {
#define TLBSIM_OP_ENUM(n) n,
  TLBSIM_OPS(TLBSIM_OP_ENUM)
#undef TLBSIM_OP_ENUM
};

inline constexpr std::array kOpNames{
#define TLBSIM_OP_NAME(n) std::string_view(#n),
    TLBSIM_OPS(TLBSIM_OP_NAME)
#undef TLBSIM_OP_NAME
};

constexpr std::string_view op_name(Op op) { return kOpNames[static_cast<size_t>(op)]; }

/// The op a scenario file's name stands for; nullopt for a name that is none.
constexpr std::optional<Op> op_from_name(std::string_view name) {
  for (size_t i = 0; i < kOpNames.size(); ++i)
    if (kOpNames[i] == name) return static_cast<Op>(i);
  return std::nullopt;
}

}  // namespace tlbsim::scenarios
