// SPDX-License-Identifier: MIT
#pragma once
/// The operations a scenario thread can run, each mapped to the kernel path (or hardware
/// action) it stands for. One table: validation, `tlbsim list` and the runner all read it.
#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "kernel/kernel.h"
#include "kernel/sva_decoding.h"
#include "kernel/task.h"
#include "scenarios/spec.h"

namespace tlbsim::scenarios {

/// Fields an op needs besides its name.
enum OpNeed : unsigned {
  kNeedAddr = 1,
  kNeedPages = 2,
  kNeedNewAddr = 4,
  kNeedFile = 8,
  kNeedMm = 16,  ///< kernel-thread ops that act on an mm
  kNeedProt = 32,
  kNeedTarget = 64,  ///< kernel-thread ops on pages: "mm" + "addr", or "file" + "index"
  /// With kNeedAddr: "addr" is where the op maps (mmap) or moves the break to (brk), so it need
  /// not be mapped already; validation checks the op's own keys instead.
  kAddrMaps = 128,
  /// With kNeedAddr: "addr" is in the kernel half (the scenario's vmalloc space), checked
  /// against its "vmalloc" areas rather than an mm's VMAs.
  kKernelAddr = 256,
  kNeedDevice = 512,  ///< "device": a device of the scenario
};

/// What a running op can reach: the kernel, and the thread's CPU/device/mm.
/// A device of the scenario: the IOMMU it sits behind (as device 0 there) and its driver's
/// decoding under the run's policy.
struct SvaDevice {
  unsigned iommu = 0;
  kernel::SvaDecoding decoding{};
};

struct OpContext {
  kernel::Kernel& k;
  AddressSpace* mm = nullptr;
  unsigned cpu = 0;
  unsigned iommu = 0;
  uint16_t device = 0;
  /// The shmem file of each shared anonymous `mmap` op, by the op's spec (the runner creates
  /// them at setup, in file order, so a file's id is the same in every schedule).
  const std::map<const OpSpec*, uint32_t>* shmem_files = nullptr;
  /// The scenario's devices by name (sva_bind).
  const std::map<std::string, SvaDevice>* devices = nullptr;
};

struct OpInfo {
  Op id;
  std::string_view name() const { return op_name(id); }
  ThreadKind kind;
  unsigned needs;
  std::string_view models;  ///< kernel function(s) or hardware action
  std::function<kernel::Task<>(OpContext&, const OpSpec&)> start;
  /// The op's entry is a hardware point (kernel/task.h): a device's DMA op, which reaches its
  /// first DMA with no kernel code before it. A CPU access op's entry is left as kernel code,
  /// although its switch_mm() changes nothing once the thread has started: counted as free, it
  /// let bounded exploration miss a schedule within the bound (docs/explore.md).
  bool hardware_entry = false;
  /// Each page's access may fault and retry, up to 16 faults (user_access(), device_dma()):
  /// the memory estimate counts that many per page (memory_estimate.cpp).
  bool retries_per_page = false;
};

/// One row per Op, in the order op_names.h lists them.
const std::vector<OpInfo>& ops();
/// The row of the op a scenario file's name stands for; nullptr for a name that is none.
const OpInfo* find_op(std::string_view name);
const OpInfo& op_info(Op op);

}  // namespace tlbsim::scenarios
