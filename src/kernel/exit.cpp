// SPDX-License-Identifier: MIT
#include "kernel/exit.h"

#include "kernel/ksm.h"
#include "kernel/locking.h"
#include "kernel/sva.h"
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

Task<> exit_files(Kernel& k, AddressSpace& mm) {
  if (!mm.group_exit()) {
    mm.task_put();
    co_return;
  }
  if (!mm.task_put_and_test()) co_return;
  // put_files_struct() -> close_files() -> fput(): the final fput() of a bond's device file runs
  // the driver's release (__fput() from task_work, still in this task's do_exit()).
  const std::vector<MmId> files = mm.device_files();
  for (const MmId bound : files) {
    AddressSpace& owner = k.mm(bound);
    if (owner.bond_files_put_and_test()) co_await iommu_sva_unbind_mm(k, owner);
  }
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
    // __mmput()'s mmdrop(): the reference mm_users held. The last one (no SVA domain left)
    // runs __mmdrop().
    if (mm.mmdrop_and_test()) mm_pasid_drop(k, mm);
  }
}

}  // namespace tlbsim::kernel
