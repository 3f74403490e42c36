// SPDX-License-Identifier: MIT
#include "kernel/task.h"

#include <cstdlib>
#include <new>
#include <vector>

namespace tlbsim::kernel::detail {

namespace {

constexpr std::size_t kGrain = 64;
#if defined(__SANITIZE_ADDRESS__)
// Under AddressSanitizer every frame goes back to malloc, so a use after free is still caught.
constexpr std::size_t kClasses = 0;
#else
constexpr std::size_t kClasses = 64;  // frames up to 4 KiB are recycled; larger ones use malloc
#endif

/// Freed frames by size class, per host thread (simulated threads all run on one host thread).
struct FramePool {
  std::vector<void*> free[kClasses > 0 ? kClasses : 1];
  ~FramePool() {
    for (auto& list : free)
      for (void* p : list) std::free(p);
  }
};

thread_local FramePool t_pool;

std::size_t class_of(std::size_t n) { return (n + kGrain - 1) / kGrain; }

}  // namespace

void* frame_alloc(std::size_t n) {
  const std::size_t c = class_of(n);
  if (c < kClasses && !t_pool.free[c].empty()) {
    void* p = t_pool.free[c].back();
    t_pool.free[c].pop_back();
    return p;
  }
  void* p = std::malloc(c < kClasses ? c * kGrain : n);
  if (!p) throw std::bad_alloc();
  return p;
}

void frame_free(void* p, std::size_t n) noexcept {
  const std::size_t c = class_of(n);
  if (c < kClasses) {
    try {
      t_pool.free[c].push_back(p);
      return;
    } catch (...) {
    }
  }
  std::free(p);
}

}  // namespace tlbsim::kernel::detail
