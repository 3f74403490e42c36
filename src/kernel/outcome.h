// SPDX-License-Identifier: MIT
#pragma once
/// What the current thread, or its device, is told when a call or a fault fails: an error return,
/// a signal, a rejected page request. Each is an event (model/event.h) the detector counts
/// (scenarios/metrics.h: errors, signals, fault-rejects) and the reports list by op, so that a
/// scenario can expect a refusal instead of silently losing the op's effect.
#include <cstdint>

#include "kernel/kernel.h"
#include "model/outcome.h"

namespace tlbsim::kernel {

/// The system call (or ioctl) `call` returns -err to the current thread; [start, end) is the
/// range it was asked about.
void syscall_error(Kernel& k, const char* call, MmId mm, VaRange range, Errno err);

/// force_sig_fault(): the current thread's access at `addr` could not be resolved.
void force_sig_fault(Kernel& k, MmId mm, Vaddr addr, Signal sig);

/// The page request of `device` at `addr` was answered with failure by `handler` (the IOMMU's
/// IOMMU_PAGE_RESP_INVALID, a mirror's -EFAULT); `why` names the check that failed, or is empty.
void fault_rejected(Kernel& k, const char* handler, MmId mm, Vaddr addr, uint32_t device, const char* why);

}  // namespace tlbsim::kernel
