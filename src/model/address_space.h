// SPDX-License-Identifier: MIT
#pragma once
/// An address space (struct mm_struct): VMAs, the page table, ASID/PCID, the PASID it is bound
/// to, tlb_flush_pending, write_protect_seq, the batched-flush counter and mmap_lock.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "model/lock.h"
#include "model/page_table.h"

namespace tlbsim {

enum VmaFlag : uint32_t {
  kVmRead = 1u << 0,
  kVmWrite = 1u << 1,
  kVmShared = 1u << 3,
  kVmMayWrite = 1u << 5,
  kVmPfnMap = 1u << 10,
  kVmMixedMap = 1u << 28,
  kVmAnon = 1u << 30,  ///< not a kernel flag: vma_is_anonymous()
};

struct Vma {
  uint64_t start = 0;
  uint64_t end = 0;
  uint32_t flags = 0;
  uint32_t file = 0;      ///< file id when file-backed (0 = none)
  uint64_t pgoff = 0;     ///< vm_pgoff: page offset in the file (or linear index for anon)
  uint32_t anon_vma = 0;  ///< anon_vma id (root), shared by fork children
  uint32_t seq = 0;       ///< creation order: ties in the i_mmap tree keep insertion order
  /// Removed from the mm's VMA tree (munmap's detach) but still linked in i_mmap/anon_vma until
  /// free_pgtables() unlinks it: rmap walkers still find it.
  bool detached = false;
  bool anon() const { return flags & kVmAnon; }
  bool shared() const { return flags & kVmShared; }
  bool writable() const { return flags & kVmWrite; }
  /// is_cow_mapping(): private and may be written.
  bool is_cow() const { return !(flags & kVmShared) && (flags & kVmMayWrite); }
  bool pfnmap() const { return flags & (kVmPfnMap | kVmMixedMap); }
  bool contains(uint64_t va) const { return va >= start && va < end; }
  uint64_t pages() const { return (end - start) >> kPageShift; }
  /// linear_page_index()
  uint64_t index_of(uint64_t va) const { return pgoff + ((va - start) >> kPageShift); }
  uint64_t addr_of(uint64_t index) const { return start + ((index - pgoff) << kPageShift); }
};

class AddressSpace {
 public:
  AddressSpace(MmId id, Asid asid, PhysMem& mem, std::string name);

  MmId id() const { return m_id; }
  Asid asid() const { return m_asid; }
  const std::string& name() const { return m_name; }
  PageTable& pt() { return m_pt; }
  const PageTable& pt() const { return m_pt; }

  /// mm_struct's own fields. Each accessor records what it touched (model/touch.h), by field, so
  /// that kernel steps touching different fields of one mm, or different mms, are independent.
  enum Field : uint64_t {
    kPasid,
    kTlbFlushPending,
    kTlbFlushBatched,
    kWriteProtectSeq,
    kCpumask,
    kVmaTree,
    kUsers,
    kGroupExit,
    kNewTask,
    kBrk,
    kTasks,
    kMmCount,
    kFiles,
    kFields
  };

  /// mm->pasid: the PASID it is bound to (iommu_sva_bind_device()).
  std::optional<Pasid> pasid() const {
    touch_field(false, kPasid);
    return m_pasid;
  }
  void set_pasid(Pasid p) {
    touch_field(true, kPasid);
    m_pasid = p;
  }
  /// mm_pasid_drop(): the mm is freed, and its PASID with it.
  void clear_pasid() {
    touch_field(true, kPasid);
    m_pasid.reset();
  }
  /// mm->tlb_flush_pending: gatherers between tlb_gather_mmu() and tlb_finish_mmu().
  int tlb_flush_pending() const {
    touch_field(false, kTlbFlushPending);
    return m_tlb_flush_pending;
  }
  /// inc_tlb_flush_pending()/dec_tlb_flush_pending() are atomic_inc()/atomic_dec() whose result
  /// nobody uses: two of them commute (only a read, mm_tlb_flush_nested(), sees the order).
  void inc_tlb_flush_pending() {
    touch::add(Touch::Obj::Mm, m_id.value(), kTlbFlushPending, kTlbFlushPending + 1);
    ++m_tlb_flush_pending;
  }
  void dec_tlb_flush_pending() {
    touch::add(Touch::Obj::Mm, m_id.value(), kTlbFlushPending, kTlbFlushPending + 1);
    --m_tlb_flush_pending;
  }
  /// mm->tlb_flush_batched: reclaim queued a deferred flush for this mm (set_tlb_ubc_flush_pending).
  bool tlb_flush_batched() const {
    touch_field(false, kTlbFlushBatched);
    return m_tlb_flush_batched;
  }
  void set_tlb_flush_batched(bool b) {
    touch_field(true, kTlbFlushBatched);
    m_tlb_flush_batched = b;
  }
  /// mm->write_protect_seq (57efa1fe5957): odd while fork write-protects.
  uint32_t write_protect_seq() const {
    touch_field(false, kWriteProtectSeq);
    return m_write_protect_seq;
  }
  void bump_write_protect_seq() {
    touch_field(true, kWriteProtectSeq);
    ++m_write_protect_seq;
  }
  /// CPUs that have run this mm (mm_cpumask); bit per CPU.
  uint64_t cpumask() const {
    touch_field(false, kCpumask);
    return m_cpumask;
  }
  /// switch_mm(): `cpu` now caches the mm. Setting a bit already set changes nothing, and is
  /// recorded as the read it is.
  void add_cpu(unsigned cpu) {
    const uint64_t b = uint64_t{1} << cpu;
    touch_field((m_cpumask & b) == 0, kCpumask);
    m_cpumask |= b;
  }
  /// Setup and benchmarks: the whole mask at once.
  void set_cpumask(uint64_t m) {
    touch_field(true, kCpumask);
    m_cpumask = m;
  }
  /// mm->mm_users, as far as the model needs it: the CPU threads of the process (one process
  /// per mm here) that still run ops. A thread with no ops left runs no more kernel code, and a
  /// group exit would kill it at once, so it drops its reference when its last op returns
  /// (exit_mm() folded forward). Unlike the kernel's count, reaching zero tears nothing down
  /// unless the process is exiting (see kernel/exit.h). Only mmput()'s dec-and-test reads it.
  ///
  /// mmget(): setup, one per CPU thread of the process.
  void mmget() {
    touch_field(true, kUsers);
    ++m_users;
  }
  /// atomic_inc() by mmget_not_zero() before any group exit: it succeeds whatever the model's
  /// count (the process is alive), and commutes with drop_user().
  void add_user() {
    touch::add(Touch::Obj::Mm, m_id.value(), kUsers, kUsers + 1);
    ++m_users;
  }
  /// atomic_inc_not_zero() once the process is exiting: fails when the last user has gone.
  bool get_user_unless_zero() {
    touch_field(true, kUsers);
    if (m_users == 0) return false;
    ++m_users;
    return true;
  }
  /// atomic_read(&mm->mm_users) == 0 (ksm_test_exit()); meaningful once the process is exiting.
  bool users_zero() const {
    touch_field(false, kUsers);
    return m_users == 0;
  }
  /// atomic_dec() whose result nobody reads (no group exit yet): two of them commute.
  void drop_user() {
    touch::add(Touch::Obj::Mm, m_id.value(), kUsers, kUsers + 1);
    --m_users;
  }
  /// atomic_dec_and_test() in mmput(): the last user runs __mmput().
  bool drop_user_and_test() {
    touch_field(true, kUsers);
    return --m_users == 0;
  }
  /// The process's threads, as users of its files_struct (CLONE_FILES): the last one to exit
  /// closes its files (exit_files()). One per CPU thread, taken with mmget(). Before a group
  /// exit nobody reads the count, so a drop commutes with another (as drop_user()).
  void task_get() {
    touch_field(true, kTasks);
    ++m_tasks;
  }
  void task_put() {
    touch::add(Touch::Obj::Mm, m_id.value(), kTasks, kTasks + 1);
    --m_tasks;
  }
  bool task_put_and_test() {
    touch_field(true, kTasks);
    return --m_tasks == 0;
  }
  /// The device files of SVA bonds this process holds, by the mm each bond binds: its own once
  /// it binds (iommu_sva_bind_device() from its open or ioctl), and a fork child inherits its
  /// parent's (dup_fd()). A bond is unbound when the last process holding its file has exited
  /// (the file's final fput()): see bond_files_get().
  const std::vector<MmId>& device_files() const {
    touch_field(false, kFiles);
    return m_device_files;
  }
  void hold_device_file(MmId bound) {
    touch_field(true, kFiles);
    if (std::find(m_device_files.begin(), m_device_files.end(), bound) == m_device_files.end()) m_device_files.push_back(bound);
  }
  /// How many processes hold the device files of this mm's own bonds (struct file's f_count,
  /// one per process in the model).
  void bond_files_get() {
    touch_field(true, kFiles);
    ++m_bond_file_refs;
  }
  bool bond_files_put_and_test() {
    touch_field(true, kFiles);
    return --m_bond_file_refs == 0;
  }
  /// mm->mm_count: one reference for all of mm_users (dropped when __mmput() has run), and one
  /// per SVA domain (iommu_sva_domain_alloc()'s mmgrab(), dropped when the domain is freed). The
  /// last mmdrop() runs __mmdrop(), which frees the mm's PASID (mm_pasid_drop()).
  void mmgrab() {
    touch_field(true, kMmCount);
    ++m_mm_count;
  }
  bool mmdrop_and_test() {
    touch_field(true, kMmCount);
    return --m_mm_count == 0;
  }
  /// SIGNAL_GROUP_EXIT of the process whose threads share this mm (signal_struct in the kernel).
  bool group_exit() const {
    touch_field(false, kGroupExit);
    return m_group_exit;
  }
  void set_group_exit() {
    touch_field(true, kGroupExit);
    m_group_exit = true;
  }
  /// The process's tasks may run: a set-up mm's from the start, a fork child's once fork has
  /// copied the mm and woken the child (wake_up_new_task() after copy_process()).
  bool task_running() const {
    touch_field(false, kNewTask);
    return m_task_running;
  }
  void wake_up_new_task() {
    touch_field(true, kNewTask);
    m_task_running = true;
  }
  /// mm->start_brk and mm->brk: the heap's start and the program break (brk(2)). Written under
  /// the write mmap_lock; dup_mm() copies them with no lock at all.
  uint64_t start_brk() const {
    touch_field(false, kBrk);
    return m_start_brk;
  }
  uint64_t brk() const {
    touch_field(false, kBrk);
    return m_brk;
  }
  void set_brk(uint64_t brk) {
    touch_field(true, kBrk);
    m_brk = brk;
  }
  /// The break an exec (or, for a set-up mm, the scenario) leaves: start_brk = brk.
  void set_start_brk(uint64_t start, uint64_t brk) {
    touch_field(true, kBrk);
    m_start_brk = start;
    m_brk = brk;
  }
  SimLock mmap_lock;

  const std::vector<Vma>& vmas() const {
    touch_field(false, kVmaTree);
    return m_vmas;
  }
  std::vector<Vma>& vmas_mut() {
    touch_field(true, kVmaTree);
    return m_vmas;
  }
  /// find_vma() restricted to containing VMAs.
  const Vma* find_vma(uint64_t va) const;
  /// Insert keeping address order; the caller has checked for overlap.
  void insert_vma(const Vma& v);
  bool overlaps(uint64_t start, uint64_t end) const;

  void check_invariants() const;

 private:
  MmId m_id;
  Asid m_asid;
  std::string m_name;
  PageTable m_pt;
  std::vector<Vma> m_vmas;
  std::optional<Pasid> m_pasid;
  unsigned m_tasks = 0;
  unsigned m_mm_count = 1;
  std::vector<MmId> m_device_files;
  unsigned m_bond_file_refs = 0;
  int m_tlb_flush_pending = 0;
  bool m_tlb_flush_batched = false;
  uint32_t m_write_protect_seq = 0;
  uint64_t m_cpumask = 0;
  int m_users = 0;
  bool m_group_exit = false;
  bool m_task_running = false;
  uint64_t m_start_brk = 0;
  uint64_t m_brk = 0;
  void touch_field(bool write, Field f) const { touch::record(Touch::Obj::Mm, write, m_id.value(), f, f + 1); }
};

}  // namespace tlbsim
