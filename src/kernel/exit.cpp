// SPDX-License-Identifier: MIT
#include "kernel/exit.h"

#include "kernel/ksm.h"
#include "kernel/locking.h"
#include "kernel/zap.h"

namespace tlbsim::kernel {

void do_group_exit(Kernel& k, AddressSpace& mm) {
  trace_call(k, "do_group_exit", mm.id());
  mm.set_group_exit();
}

Task<> sys_exit_group(Kernel& k, AddressSpace& mm) {
  do_group_exit(k, mm);
  co_return;
}

bool fatal_signal_pending(const AddressSpace& mm) { return mm.group_exit(); }

Task<> exit_mm(Kernel& k, AddressSpace& mm) {
  // exit_mm() takes and drops mmap_read_lock around clearing current->mm; nothing the model
  // judges depends on it, so the reference is dropped at once.
  co_await mmput(k, mm);
}

bool mmget_not_zero(AddressSpace& mm) {
  // Before a group exit the count may read 0 in the model (threads that ran out of ops dropped
  // theirs) while the kernel's process is alive: the reference is taken without reading it.
  if (!mm.group_exit()) {
    mm.add_user();
    return true;
  }
  return mm.get_user_unless_zero();
}

Task<> mmput(Kernel& k, AddressSpace& mm) {
  if (!mm.group_exit()) {
    // No group exit: nobody reads the count's value yet, so this decrement commutes with the
    // other threads' (AddressSpace::drop_user()). A later do_group_exit() finds it gone.
    mm.drop_user();
    co_return;
  }
  // mmput(): atomic_dec_and_test(&mm->mm_users); the last user runs __mmput(): ksm_exit(),
  // then exit_mmap().
  if (mm.drop_user_and_test()) {
    co_await ksm_exit(k, mm);
    co_await exit_mmap(k, mm);
  }
}

}  // namespace tlbsim::kernel
