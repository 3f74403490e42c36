// SPDX-License-Identifier: MIT
#pragma once
/// Page faults (mm/memory.c): handle_mm_fault() for CPU #PF and for device page requests
/// (iommu_sva_handle_iopf() -> handle_mm_fault(FAULT_FLAG_REMOTE)), the COW copy wp_page_copy()
/// and reuse wp_page_reuse(), and migration_entry_wait(). Also the two access loops: a user
/// load/store on a CPU and a device DMA, each retrying after the fault is handled.
#include <cstdint>

#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

enum class FaultResult : uint8_t { Handled, Retry, Sigsegv };

/// handle_mm_fault(); the caller holds mmap_read_lock.
Task<FaultResult> handle_mm_fault(Kernel& k, AddressSpace& mm, Vaddr addr, bool write);

/// A user load/store on `cpu` in `mm`, faulting and retrying as the CPU and kernel do.
/// Gives up after `max_faults` (reported as a Fault event naming the livelock).
Task<> user_access(Kernel& k, unsigned cpu, AddressSpace& mm, Vaddr addr, bool write, unsigned max_faults = 16);

/// A DMA by `device` behind `iommu` under the mm's PASID, with PRI/IOPF handling.
Task<> device_dma(Kernel& k, unsigned iommu, uint16_t device, AddressSpace& mm, Vaddr addr, bool write, unsigned max_faults = 16);

/// Setup helpers, run before any thread starts (no locks, no notifier calls).
/// mmap_region()'s vm_area_alloc() + vma_link(): a new VMA over a free range; returns its copy.
/// Also the last step of sys_mmap() (kernel/mmap.h), which holds the mmap write lock.
Vma mmap_region(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len, uint32_t flags, uint32_t file, uint64_t pgoff);
/// MAP_POPULATE-style prefault of every page of [start, start+len) (read or write).
void populate(Kernel& k, AddressSpace& mm, Vaddr start, uint64_t len, bool write);

}  // namespace tlbsim::kernel
