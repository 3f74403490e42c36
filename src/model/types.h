// SPDX-License-Identifier: MIT
#pragma once
/// Strong types for every number that can be confused: addresses, frames, tags, ids.
#include <compare>
#include <cstdint>
#include <functional>
#include <string>
#include <type_traits>

namespace tlbsim {

template <class Tag, class Rep>
class StrongId {
 public:
  using rep_type = Rep;
  using tag_type = Tag;
  constexpr StrongId() = default;
  constexpr explicit StrongId(Rep v) : m_v(v) {}
  constexpr Rep value() const { return m_v; }
  constexpr auto operator<=>(const StrongId&) const = default;

 private:
  Rep m_v{};
};

inline constexpr unsigned kPageShift = 12;
inline constexpr uint64_t kPageSize = uint64_t{1} << kPageShift;
inline constexpr unsigned kPmdShift = 21;
inline constexpr uint64_t kPmdSize = uint64_t{1} << kPmdShift;
inline constexpr unsigned kPudShift = 30;
inline constexpr uint64_t kPudSize = uint64_t{1} << kPudShift;
inline constexpr unsigned kPtrsPerTable = 512;
/// 47-bit user address space, as x86-64 4-level paging and arm64 48-bit VA give.
inline constexpr uint64_t kTaskSize = uint64_t{1} << 47;
/// The kernel's TLB_FLUSH_ALL / ULONG_MAX.
inline constexpr uint64_t kFlushAll = ~uint64_t{0};
/// x86-64 4-level layout without KASLR (Documentation/arch/x86/x86_64/mm.rst): the direct map
/// starts at PAGE_OFFSET, vmalloc/ioremap space is [VMALLOC_START, VMALLOC_END).
inline constexpr uint64_t kPageOffset = 0xffff888000000000;
inline constexpr uint64_t kVmallocStart = 0xffffc90000000000;
inline constexpr uint64_t kVmallocEnd = 0xffffe90000000000;
/// The kernel half of an address space: x86 maps it into every mm's PGD (pgd_ctor()).
constexpr bool is_kernel_half(uint64_t va) { return va >= kPageOffset; }

/// A virtual address: a user one (or an SVA IOVA, which is the same thing under a PASID), or one
/// in the kernel half (vmalloc and ioremap space, kernel/vmalloc.h).
class Vaddr : public StrongId<struct VaddrTag, uint64_t> {
 public:
  using StrongId::StrongId;
  constexpr uint64_t vpn() const { return value() >> kPageShift; }
  constexpr Vaddr page() const { return Vaddr{value() & ~(kPageSize - 1)}; }
  constexpr bool page_aligned() const { return (value() & (kPageSize - 1)) == 0; }
  constexpr Vaddr operator+(uint64_t off) const { return Vaddr{value() + off}; }
};

/// A range of virtual addresses [start, end): the (start, end) pair the kernel's flush and
/// notifier calls pass along (flush_tlb_mm_range(), mmu_notifier_invalidate_range_start(),
/// ->arch_invalidate_secondary_tlbs()). Its order is not checked: the kernel's own pairs include
/// (0, TLB_FLUSH_ALL) for "everything", and a caller's end may be below its start (an empty
/// range), which each callee handles as the kernel function it stands for does.
struct VaRange {
  Vaddr start;
  Vaddr end;
  constexpr VaRange() = default;
  constexpr VaRange(Vaddr s, Vaddr e) : start(s), end(e) {}
  /// The raw pair, for arithmetic as the kernel writes it.
  constexpr VaRange(uint64_t s, uint64_t e) : start(s), end(e) {}
  /// (0, TLB_FLUSH_ALL): the whole address space.
  static constexpr VaRange all() { return VaRange{uint64_t{0}, kFlushAll}; }
  /// [addr, addr + PAGE_SIZE) of the page holding `addr`.
  static constexpr VaRange page_of(Vaddr addr) { return VaRange{addr.page(), addr.page() + kPageSize}; }
  constexpr bool is_all() const { return start.value() == 0 && end.value() == kFlushAll; }
  constexpr uint64_t lo() const { return start.value(); }
  constexpr uint64_t hi() const { return end.value(); }
  constexpr bool operator==(const VaRange&) const = default;
};

/// A physical frame number.
struct Pfn : StrongId<struct PfnTag, uint32_t> {
  using StrongId::StrongId;
};
inline constexpr Pfn kNoPfn{~uint32_t{0}};

struct Asid : StrongId<struct AsidTag, uint16_t> {
  using StrongId::StrongId;
};
struct Pasid : StrongId<struct PasidTag, uint32_t> {
  using StrongId::StrongId;
};
struct CpuId : StrongId<struct CpuTag, uint16_t> {
  using StrongId::StrongId;
};
struct MmId : StrongId<struct MmTag, uint16_t> {
  using StrongId::StrongId;
};
inline constexpr MmId kNoMm{0xffff};
/// init_mm: the kernel's own page tables (swapper_pg_dir), whose kernel-half entries every mm's
/// PGD shares. Events about kernel tables carry it.
inline constexpr MmId kInitMm{0xfffe};
/// Event sequence number, global to one run.
struct Seq : StrongId<struct SeqTag, uint64_t> {
  using StrongId::StrongId;
};

std::string hex(uint64_t v);
inline std::string to_string(Vaddr v) { return hex(v.value()); }

}  // namespace tlbsim

namespace tlbsim {
/// A strong id or one of the types derived from one (Pfn, MmId, ...): std::hash of a class
/// template does not apply to a class derived from it, so the specialisation below asks this.
template <class T>
concept StrongIdType = requires {
  typename T::rep_type;
}
&&std::is_base_of_v<StrongId<typename T::tag_type, typename T::rep_type>, T>;
}  // namespace tlbsim

template <tlbsim::StrongIdType T>
struct std::hash<T> {
  size_t operator()(const T& v) const noexcept { return std::hash<typename T::rep_type>{}(v.value()); }
};
