// SPDX-License-Identifier: MIT
#include "kernel/outcome.h"

namespace tlbsim::kernel {

void syscall_error(Kernel& k, const char* call, MmId mm, VaRange range, Errno err) {
  const uint64_t start = range.lo(), end = range.hi();
  Event e{.kind = EventKind::SyscallError, .mm = mm, .func = call};
  e.va = start;
  e.end = end;
  e.new_val = static_cast<uint64_t>(err);
  k.bus().emit(std::move(e));
}

void force_sig_fault(Kernel& k, MmId mm, Vaddr addr_va, Signal sig) {
  const uint64_t addr = addr_va.value();
  Event e{.kind = EventKind::Signal, .mm = mm, .func = "force_sig_fault"};
  e.va = addr;
  e.end = addr + 1;
  e.new_val = static_cast<uint64_t>(sig);
  k.bus().emit(std::move(e));
}

void fault_rejected(Kernel& k, const char* handler, MmId mm, Vaddr addr_va, uint32_t device, const char* why) {
  const uint64_t addr = addr_va.value();
  Event e{.kind = EventKind::FaultRejected, .mm = mm, .func = handler};
  e.va = addr;
  e.end = addr + 1;
  e.aux = device;
  e.note = why;
  k.bus().emit(std::move(e));
}

}  // namespace tlbsim::kernel
