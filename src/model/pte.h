// SPDX-License-Identifier: MIT
#pragma once
/// Page-table entry encoding, x86-64 style. Non-leaf entries point at the frame of the next
/// table. Non-present entries may carry a swap or migration entry (the kernel's swp_entry_t).
#include <cstdint>
#include <string>

#include "model/types.h"

namespace tlbsim {

class Pte {
 public:
  static constexpr uint64_t kPresent = 1u << 0;
  static constexpr uint64_t kWrite = 1u << 1;
  static constexpr uint64_t kUser = 1u << 2;
  static constexpr uint64_t kAccessed = 1u << 5;
  static constexpr uint64_t kDirty = 1u << 6;
  static constexpr uint64_t kHuge = 1u << 7;     ///< PS bit: a PMD-level leaf (THP)
  static constexpr uint64_t kSpecial = 1u << 9;  ///< _PAGE_SPECIAL: PFNMAP, no struct page refcount
  static constexpr uint64_t kPfnShift = 12;
  static constexpr uint64_t kPfnMask = ((uint64_t{1} << 40) - 1) << kPfnShift;
  /// Non-present software encodings live in bits 1..3 (swp type).
  static constexpr uint64_t kSwpTypeShift = 1;
  static constexpr uint64_t kSwpTypeMask = 7u << kSwpTypeShift;

  /// DevicePrivateRead/Write: make_readable/writable_device_private_entry(), a page that
  /// migrate_vma moved to device memory the CPU cannot address (ZONE_DEVICE, MEMORY_DEVICE_PRIVATE).
  enum class SwpType : uint8_t {
    None = 0,
    Swap = 1,
    MigrationRead = 2,
    MigrationWrite = 3,
    DevicePrivateRead = 4,
    DevicePrivateWrite = 5,
  };

  constexpr Pte() = default;
  constexpr explicit Pte(uint64_t raw) : m_raw(raw) {}

  static constexpr Pte make(Pfn pfn, bool writable, bool user = true) {
    return Pte{kPresent | (writable ? kWrite : 0) | (user ? kUser : 0) | (uint64_t{pfn.value()} << kPfnShift)};
  }
  /// A non-leaf entry pointing at the next-level table.
  static constexpr Pte table(Pfn pfn) { return Pte{kPresent | kWrite | kUser | (uint64_t{pfn.value()} << kPfnShift)}; }
  /// A kernel table entry (_KERNPG_TABLE): no _PAGE_USER, so a user-mode walk through it faults.
  static constexpr Pte kernel_table(Pfn pfn) { return Pte{kPresent | kWrite | (uint64_t{pfn.value()} << kPfnShift)}; }
  static constexpr Pte swap_entry(SwpType t, uint64_t offset) { return Pte{(uint64_t(t) << kSwpTypeShift) | (offset << kPfnShift)}; }

  constexpr uint64_t raw() const { return m_raw; }
  constexpr bool none() const { return m_raw == 0; }
  constexpr bool present() const { return m_raw & kPresent; }
  constexpr bool writable() const { return present() && (m_raw & kWrite); }
  constexpr bool user() const { return m_raw & kUser; }
  constexpr bool dirty() const { return m_raw & kDirty; }
  constexpr bool young() const { return m_raw & kAccessed; }
  constexpr bool huge() const { return present() && (m_raw & kHuge); }
  constexpr bool special() const { return m_raw & kSpecial; }
  constexpr Pfn pfn() const { return Pfn{static_cast<uint32_t>((m_raw & kPfnMask) >> kPfnShift)}; }
  constexpr SwpType swp_type() const { return present() ? SwpType::None : SwpType((m_raw & kSwpTypeMask) >> kSwpTypeShift); }
  constexpr bool is_migration() const { return swp_type() == SwpType::MigrationRead || swp_type() == SwpType::MigrationWrite; }
  constexpr bool is_device_private() const { return swp_type() == SwpType::DevicePrivateRead || swp_type() == SwpType::DevicePrivateWrite; }
  /// For migration/device-private entries, the pfn they stand for; for swap entries, the slot.
  constexpr uint64_t swp_offset() const { return (m_raw & kPfnMask) >> kPfnShift; }

  constexpr Pte with(uint64_t bits) const { return Pte{m_raw | bits}; }
  constexpr Pte without(uint64_t bits) const { return Pte{m_raw & ~bits}; }
  constexpr Pte wrprotect() const { return without(kWrite); }
  constexpr Pte mkclean_old() const { return without(kDirty | kAccessed); }

  constexpr bool operator==(const Pte&) const = default;

 private:
  uint64_t m_raw = 0;
};

std::string describe_pte(Pte p);

}  // namespace tlbsim
