// SPDX-License-Identifier: MIT
#pragma once
/// The simulated machine as the kernel sees it: physical memory, CPUs, IOMMUs with their SVA
/// bindings, address spaces, files with page caches, page-table locks, notifier subscribers,
/// and the notifier policy in force. Kernel paths are free functions over a Kernel&.
#include <map>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "iommu/cost_model.h"
#include "iommu/iommu.h"
#include "kernel/arch.h"
#include "kernel/kernel_pgtable_work.h"
#include "kernel/ksm_state.h"
#include "kernel/policy.h"
#include "kernel/swap_space.h"
#include "kernel/task.h"
#include "model/address_space.h"
#include "model/cpu.h"
#include "model/phys_mem.h"

namespace tlbsim::kernel {

struct MachineConfig {
  Arch arch = Arch::X86;
  unsigned cpus = 2;
  CpuConfig cpu{};
  PhysMemConfig mem{};
  iommu::CostModel cost{};
  /// x86 tlb_single_page_flush_ceiling: above this many pages a range flush becomes a full flush.
  unsigned tlb_single_page_flush_ceiling = 33;
  /// arm64 FEAT_TLBIRANGE (system_supports_tlb_range()); without it ranges of MAX_TLBI_OPS (512)
  /// pages or more become flush_tlb_mm().
  bool arm64_tlbi_range = false;
  /// Pages an mmu_gather can hold before __tlb_remove_page() forces a flush (the batch pages
  /// MAX_GATHER_BATCH_COUNT allows, or the first GFP_NOWAIT failure).
  unsigned gather_batch_pages = 10000;
  /// TTU_BATCH_FLUSH (72b252aed506, v4.3): reclaim queues its flushes in tlb_ubc and flushes once
  /// before freeing. Off, every unmapped PTE is cleared with ptep_clear_flush() as before v4.3.
  bool batch_unmap_flush = true;
};

class Kernel;

/// A subscriber to an mm's notifier chain (struct mmu_notifier). Contract: called synchronously
/// from the kernel path that changes the page table, in the order the policy places the calls;
/// must not change primary PTEs; may change its own caches and the IOMMU's.
class SecondaryMmu {
 public:
  virtual ~SecondaryMmu() = default;
  virtual std::string name() const = 0;
  /// ops->invalidate_range_start(): before the PTEs of [start, end) change.
  virtual void invalidate_range_start(Kernel&, AddressSpace&, VaRange) {}
  /// ops->invalidate_range_end(): after.
  virtual void invalidate_range_end(Kernel&, AddressSpace&, VaRange) {}
  /// ops->invalidate_range() (<= 6.5) / ops->arch_invalidate_secondary_tlbs() (6.6+). A task: an
  /// IOMMU driver may wait for its command queue, and a device may act while it waits.
  virtual Task<> invalidate_secondary_tlbs(Kernel&, AddressSpace&, VaRange) { co_return; }
  /// ops->release(): exit_mmap() tears down the mm.
  virtual Task<> release(Kernel&, AddressSpace&) { co_return; }
  virtual void check_invariants() const {}
};

/// A file with a page cache; its mappings are the VMAs whose `file` names it (i_mmap). The page
/// cache is reached through accessors that record each slot touched (model/touch.h).
class File {
 public:
  File(uint32_t file_id, std::string file_name, uint64_t pages, bool is_shmem = false)
      : id(file_id),
        name(std::move(file_name)),
        shmem(is_shmem),
        i_mmap_rwsem(name + ".i_mmap_rwsem"),
        m_pages(pages, kNoPfn),
        m_dirty(pages, false) {}
  const uint32_t id;
  const std::string name;
  /// A shmem file: the object behind a shared anonymous mapping (shmem_zero_setup()). Its pages
  /// are swap-backed, so no dirty tracking: a shared mapping of it is writable on a read fault
  /// (vma_wants_writenotify() is false) and reclaim writes a dirty page out instead of keeping it.
  const bool shmem;
  SimLock i_mmap_rwsem;

  /// Pages in the file (fixed at creation).
  uint64_t size() const { return m_pages.size(); }
  /// The page cache at `index`: kNoPfn where not cached (filemap_get_folio()).
  Pfn page(uint64_t index) const {
    touch_slot(false, index);
    return m_pages.at(index);
  }
  void set_page(uint64_t index, Pfn p) {
    touch_slot(true, index);
    m_pages.at(index) = p;
  }
  bool dirty(uint64_t index) const {
    touch_slot(false, index);
    return m_dirty.at(index);
  }
  void set_dirty(uint64_t index, bool d) {
    touch_slot(true, index);
    m_dirty.at(index) = d;
  }

 private:
  void touch_slot(bool write, uint64_t index) const { touch::record(Touch::Obj::File, write, id, index, index + 1); }
  std::vector<Pfn> m_pages;
  std::vector<bool> m_dirty;
};

class Kernel {
 public:
  Kernel(MachineConfig cfg, Policy policy);
  Kernel(const Kernel&) = delete;
  Kernel& operator=(const Kernel&) = delete;
  ~Kernel();

  EventBus& bus() { return m_bus; }
  PhysMem& mem() { return m_mem; }
  const MachineConfig& config() const { return m_cfg; }
  const Policy& policy() const { return m_policy; }

  /// The list of mms is kernel state a step can change (fork) or read (an op looking an mm up by
  /// name): recorded as the Kernel object with key kMmListKey.
  static constexpr uint64_t kMmListKey = 1, kIdsKey = 2;
  AddressSpace& create_mm(const std::string& name);
  AddressSpace& mm(MmId id) { return *m_mms.at(id.value()); }
  /// The mm called `name` (a scenario's mm, or a child a fork named), or nullptr.
  AddressSpace* find_mm(std::string_view name);
  size_t mm_count() const {
    touch::read(Touch::Obj::Kernel, kMmListKey);
    return m_mms.size();
  }

  /// init_mm's page table (swapper_pg_dir), or nullptr when the scenario maps nothing in the
  /// kernel half. The kernel's tables are modelled only where a scenario puts kernel mappings:
  /// a device's walk elsewhere in the kernel half finds a PGD entry it cannot use either way.
  PageTable* init_mm() { return m_init_mm.get(); }
  /// Boot: init_mm with the PUD tables of the PGD slots covering [start, end) preallocated
  /// (preallocate_vmalloc_pages()), before any mm exists, so every mm's pgd_ctor() copies them.
  void boot_kernel_half(VaRange range);
  /// The v6.19 worker's list of kernel page tables to free (kernel/kernel_pgtable_work.h).
  KernelPgtableWork& kernel_pgtable_work() { return m_kernel_pgtable_work; }

  Cpu& cpu(unsigned i) { return *m_cpus.at(i); }
  unsigned cpus() const { return static_cast<unsigned>(m_cpus.size()); }

  iommu::Iommu& add_iommu(const iommu::IommuConfig& cfg);
  iommu::Iommu& iommu(unsigned i) { return *m_iommus.at(i); }
  unsigned iommus() const { return static_cast<unsigned>(m_iommus.size()); }

  uint32_t create_file(const std::string& name, uint64_t pages, bool shmem = false);
  File& file(uint32_t id) { return *m_files.at(id - 1); }
  size_t file_count() const { return m_files.size(); }

  /// The swap device and swap cache (kernel/swap_space.h).
  SwapSpace& swap() { return m_swap; }
  /// KSM's scanned mms and stable tree (kernel/ksm_state.h).
  KsmState& ksm() { return m_ksm; }

  /// iommu_global_pasid_ida (drivers/iommu/iommu.c): iommu_alloc_global_pasid()'s
  /// ida_alloc_range(IOMMU_FIRST_GLOBAL_PASID = 1, ...) returns the lowest free PASID, so a PASID
  /// mm_pasid_drop() freed goes to the next mm that binds. Recorded as the Kernel object with key
  /// kPasidIdaKey.
  static constexpr uint64_t kPasidIdaKey = 5;
  Pasid alloc_global_pasid();
  /// A set-up bind's PASID, chosen by its caller (tests, batching workloads): allocated if it is
  /// not already.
  void take_global_pasid(Pasid p) {
    touch::write(Touch::Obj::Kernel, kPasidIdaKey);
    m_pasids.insert(p.value());
  }
  /// iommu_free_global_pasid()
  void free_global_pasid(Pasid p);
  /// iommu_sva_lock: the mutex iommu_sva_bind_device() and iommu_sva_unbind_device() hold.
  SimLock& iommu_sva_lock() { return m_iommu_sva_lock; }

  /// iommu_mm->sva_domains: the IOMMUs on which the mm has an SVA domain (one per IOMMU its
  /// devices are bound on). Recorded with the mm's notifier list, which a domain's allocation and
  /// free change too.
  std::vector<unsigned> sva_domains(MmId mm) const {
    touch::read(Touch::Obj::Notifier, mm.value());
    auto it = m_sva_domains.find(mm.value());
    return it == m_sva_domains.end() ? std::vector<unsigned>{} : it->second;
  }
  void add_sva_domain(MmId mm, unsigned iommu) {
    touch::write(Touch::Obj::Notifier, mm.value());
    m_sva_domains[mm.value()].push_back(iommu);
  }
  void clear_sva_domains(MmId mm) {
    touch::write(Touch::Obj::Notifier, mm.value());
    m_sva_domains.erase(mm.value());
  }

  /// mmu_notifier_register()'s list insertion (mm/mmu_notifier.c; the locks it takes are
  /// kernel/mmu_notifier.h's).
  void register_notifier(MmId mm, std::unique_ptr<SecondaryMmu> s);
  /// mn_hlist_release()'s hlist_del_init_rcu() of every subscription: later calls on the mm reach
  /// none of them. They stay alive (their owners unregister them later, mmu_notifier_put()).
  void unhook_notifiers(MmId mm);
  /// The mm's subscribers, to call: a read of the list. What a callback then changes records
  /// itself (a shadow MMU's sequence and entries, an IOMMU's caches, queue and PASID table).
  std::vector<std::unique_ptr<SecondaryMmu>>& notifiers(MmId mm) {
    touch::read(Touch::Obj::Notifier, mm.value());
    return m_notifiers[mm.value()];
  }

  /// pte_lockptr()/pmd_lockptr(): split page-table locks live with the table page.
  SimLock& ptl(Pfn table);
  /// anon_vma->rwsem, keyed by anon_vma id.
  SimLock& anon_vma_lock(uint32_t anon_vma);

  uint32_t new_anon_vma() {
    touch::write(Touch::Obj::Kernel, kIdsKey);
    return ++m_anon_vmas;
  }
  uint32_t next_vma_seq() {
    touch::write(Touch::Obj::Kernel, kIdsKey);
    return ++m_vma_seq;
  }
  iommu::CostCounters& cpu_counters() { return m_cpu_counters; }
  /// Walk context for an mm (hardware view: ASID tag and root).
  WalkContext walk_context(const AddressSpace& mm) const { return WalkContext{mm.id(), mm.asid().value(), mm.pt().pgd()}; }
  /// Every stateful object's check_invariants().
  void check_invariants() const;

 private:
  MachineConfig m_cfg;
  Policy m_policy;
  EventBus m_bus;
  PhysMem m_mem;
  std::vector<std::unique_ptr<Cpu>> m_cpus;
  std::vector<std::unique_ptr<iommu::Iommu>> m_iommus;
  std::vector<std::unique_ptr<AddressSpace>> m_mms;
  std::unique_ptr<PageTable> m_init_mm;
  KernelPgtableWork m_kernel_pgtable_work;
  std::vector<std::unique_ptr<File>> m_files;
  SwapSpace m_swap;
  KsmState m_ksm;
  std::map<uint16_t, std::vector<std::unique_ptr<SecondaryMmu>>> m_notifiers;
  std::vector<std::unique_ptr<SecondaryMmu>> m_unhooked;  ///< released, no longer called
  std::unordered_map<uint32_t, SimLock> m_ptls;           ///< node-based: references stay valid
  std::map<uint32_t, SimLock> m_anon_vma_locks;
  iommu::CostCounters m_cpu_counters;
  std::set<uint32_t> m_pasids;  ///< iommu_global_pasid_ida: the PASIDs allocated
  std::map<uint16_t, std::vector<unsigned>> m_sva_domains;
  SimLock m_iommu_sva_lock{"iommu_sva_lock"};
  uint32_t m_anon_vmas = 0;
  uint32_t m_vma_seq = 0;
};

}  // namespace tlbsim::kernel
