// SPDX-License-Identifier: MIT
#pragma once
/// A process exiting (kernel/exit.c do_group_exit(), exit_mm(); kernel/fork.c mmput()): the
/// mm is torn down once, by whichever thread of the process drops the last mm_users reference,
/// and never while another thread of the process is inside a system call on it.
#include "kernel/kernel.h"
#include "kernel/task.h"

namespace tlbsim::kernel {

/// exit_group(2) -> do_group_exit(): mark the process exiting (SIGNAL_GROUP_EXIT) and kill its
/// other threads (zap_other_threads()). A thread inside a system call finishes it and dies at
/// its return to user mode (exit_to_user_mode_loop() -> get_signal()); the caller dies next.
void do_group_exit(Kernel& k, AddressSpace& mm);
/// exit_group(2) as an op: do_group_exit(); the op loop then sees the fatal signal.
Task<> sys_exit_group(Kernel& k, AddressSpace& mm);
/// A thread returning to user mode: true when a group exit kills it there (fatal_signal_pending()).
bool fatal_signal_pending(const AddressSpace& mm);
/// exit_mm() -> mmput(): drop this thread's mm_users reference. The last one, once the process
/// is exiting, runs __mmput() -> exit_mmap(). Without a group exit, a thread that has simply run
/// out of ops drops its reference and nothing is torn down (see AddressSpace::mmget()).
Task<> exit_mm(Kernel& k, AddressSpace& mm);
/// do_exit()'s exit_files() after exit_mm(): the thread drops its share of the process's files
/// (CLONE_FILES). Once the process is exiting, the last thread closes them: each device file of an
/// SVA bond whose last holder this was is released, unbinding the bond (iommu_sva_unbind_mm()).
/// Before a group exit, a thread that ran out of ops only drops its share.
Task<> exit_files(Kernel& k, AddressSpace& mm);
/// mmget_not_zero() from outside the process (iommu_sva_find() in iommu_sva_handle_iopf()): a
/// reference unless the process is exiting and its last user has gone, i.e. __mmput() has begun.
bool mmget_not_zero(AddressSpace& mm);
/// mmput() of a reference mmget_not_zero() took: once the process is exiting, the last one runs
/// __mmput() -> exit_mmap() in the caller's context, as exit_mm() does.
Task<> mmput(Kernel& k, AddressSpace& mm);

}  // namespace tlbsim::kernel
