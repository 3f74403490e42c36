// SPDX-License-Identifier: MIT
#include "kernel/kernel.h"

#include "model/check.h"

namespace tlbsim::kernel {

Kernel::Kernel(MachineConfig cfg, Policy policy) : m_cfg(cfg), m_policy(std::move(policy)), m_mem(cfg.mem, m_bus) {
  TLBSIM_CHECK(cfg.cpus >= 1 && cfg.cpus <= 64, "cpus must be 1..64");
  for (unsigned i = 0; i < cfg.cpus; ++i) m_cpus.push_back(std::make_unique<Cpu>(CpuId{static_cast<uint16_t>(i)}, cfg.cpu, m_mem));
}

Kernel::~Kernel() = default;

AddressSpace& Kernel::create_mm(const std::string& name) {
  touch::write(Touch::Obj::Kernel, kMmListKey);
  const MmId id{static_cast<uint16_t>(m_mms.size())};
  // ASIDs start at 1: ASID 0 is the kernel's on arm64 and PCID 0 the non-PCID default on x86.
  m_mms.push_back(std::make_unique<AddressSpace>(id, Asid{static_cast<uint16_t>(id.value() + 1)}, m_mem, name));
  // pgd_alloc() -> pgd_ctor(): the kernel half comes with the PGD (x86 only: arm64 gives the
  // kernel its own TTBR1 table, which an SVA context descriptor never walks).
  if (m_init_mm && m_cfg.arch == Arch::X86) m_mms.back()->pt().clone_kernel_pgds(*m_init_mm);
  return *m_mms.back();
}

void Kernel::boot_kernel_half(VaRange range) {
  const uint64_t start = range.lo(), end = range.hi();
  TLBSIM_CHECK(m_mms.empty(), "the kernel half is set up before the first mm");
  TLBSIM_CHECK(is_kernel_half(start) && start < end, "kernel range " << hex(start) << ".." << hex(end));
  if (!m_init_mm) m_init_mm = std::make_unique<PageTable>(m_mem, kInitMm, true);
  for (unsigned i = table_index(start, 4); i <= table_index(end - 1, 4); ++i)
    m_init_mm->alloc(kernel_pgd_slot_addr(i), 3, "preallocate_vmalloc_pages");
}

AddressSpace* Kernel::find_mm(std::string_view name) {
  for (size_t i = 0; i < mm_count(); ++i)
    if (m_mms[i]->name() == name) return m_mms[i].get();
  return nullptr;
}

iommu::Iommu& Kernel::add_iommu(const iommu::IommuConfig& cfg) {
  m_iommus.push_back(std::make_unique<iommu::Iommu>(static_cast<uint16_t>(m_iommus.size()), cfg, m_mem, m_cfg.cost));
  return *m_iommus.back();
}

uint32_t Kernel::create_file(const std::string& name, uint64_t pages, bool shmem) {
  m_files.push_back(std::make_unique<File>(static_cast<uint32_t>(m_files.size() + 1), name, pages, shmem));
  return m_files.back()->id;
}

Pasid Kernel::alloc_global_pasid() {
  touch::write(Touch::Obj::Kernel, kPasidIdaKey);
  uint32_t p = 1;
  while (m_pasids.count(p)) ++p;
  m_pasids.insert(p);
  return Pasid{p};
}

void Kernel::free_global_pasid(Pasid p) {
  touch::write(Touch::Obj::Kernel, kPasidIdaKey);
  TLBSIM_CHECK(m_pasids.erase(p.value()) == 1, "PASID " << p.value() << " freed but not allocated");
}

void Kernel::register_notifier(MmId mm, std::unique_ptr<SecondaryMmu> s) {
  touch::write(Touch::Obj::Notifier, mm.value());
  m_notifiers[mm.value()].push_back(std::move(s));
}

void Kernel::unhook_notifiers(MmId mm) {
  touch::write(Touch::Obj::Notifier, mm.value());
  auto& list = m_notifiers[mm.value()];
  for (auto& s : list) m_unhooked.push_back(std::move(s));
  list.clear();
}

SimLock& Kernel::ptl(Pfn table) {
  auto it = m_ptls.find(table.value());
  if (it == m_ptls.end()) it = m_ptls.emplace(table.value(), SimLock("ptl(pfn " + std::to_string(table.value()) + ")")).first;
  return it->second;
}

SimLock& Kernel::anon_vma_lock(uint32_t av) {
  auto it = m_anon_vma_locks.find(av);
  if (it == m_anon_vma_locks.end()) it = m_anon_vma_locks.emplace(av, SimLock("anon_vma(" + std::to_string(av) + ")")).first;
  return it->second;
}

void Kernel::check_invariants() const {
  m_mem.check_invariants();
  for (const auto& c : m_cpus) c->check_invariants();
  for (const auto& i : m_iommus) i->check_invariants();
  for (const auto& m : m_mms) m->check_invariants();
  if (m_init_mm) m_init_mm->check_invariants();
  for (const auto& [id, subs] : m_notifiers)
    for (const auto& s : subs) s->check_invariants();
  for (const auto& f : m_files)
    for (uint64_t i = 0; i < f->size(); ++i)
      if (const Pfn p = f->page(i); p != kNoPfn) {
        TLBSIM_CHECK(m_mem.frame(p).allocated, "file " << f->name << " caches freed pfn " << p.value());
        TLBSIM_CHECK(m_mem.refcount(p) > 0, "file page pfn " << p.value() << " with zero refcount");
      }
}

}  // namespace tlbsim::kernel
