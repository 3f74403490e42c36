// SPDX-License-Identifier: MIT
#include "kernel/task.h"

namespace tlbsim::kernel {

namespace {
thread_local ThreadState* t_current = nullptr;
}

ThreadState* current_thread() { return t_current; }
void set_current_thread(ThreadState* t) { t_current = t; }

}  // namespace tlbsim::kernel
