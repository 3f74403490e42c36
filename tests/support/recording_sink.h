// SPDX-License-Identifier: MIT
#pragma once
/// Test helpers: an EventLog with queries, and a small machine with one mm and one SVA device.
#include <algorithm>
#include <memory>
#include <string>
#include <vector>

#include "kernel/fault.h"
#include "kernel/kernel.h"
#include "kernel/sva.h"
#include "model/event.h"

namespace tlbsim::test {

struct Recorder : EventLog {
  std::vector<const Event*> of(EventKind k) const {
    std::vector<const Event*> out;
    for (const Event& e : events())
      if (e.kind == k) out.push_back(&e);
    return out;
  }
  size_t count(EventKind k) const { return of(k).size(); }
  /// Index of the first event matching `pred` at or after `from`, or npos.
  template <class P>
  size_t find(P pred, size_t from = 0) const {
    for (size_t i = from; i < events().size(); ++i)
      if (pred(events()[i])) return i;
    return npos;
  }
  static constexpr size_t npos = ~size_t{0};
};

/// One mm ("mm") with an SVA-bound device (iommu 0, device 0) and an event recorder attached
/// before anything is built, so setup events are seen too.
struct SvaMachine {
  explicit SvaMachine(const std::string& policy = "fixed", kernel::SvaDecoding dec = kernel::SvaDecoding::AmdV2,
                      kernel::MachineConfig cfg = {})
      : k(std::make_unique<kernel::Kernel>(cfg, *kernel::find_policy(policy))) {
    k->bus().add_sink(&rec);
    mm = &k->create_mm("mm");
    iommu::IommuConfig ic;
    for (const auto& d : kernel::decodings())
      if (d.decoding == dec) ic.kind = d.kind();
    iommu::Iommu& io = k->add_iommu(ic);
    dev = io.add_device(iommu::DeviceConfig{.name = "dev0"});
    kernel::iommu_sva_bind_device(*k, *mm, io, dev, k->alloc_global_pasid(), dec);
  }
  iommu::Iommu& io() { return k->iommu(0); }
  std::unique_ptr<kernel::Kernel> k;
  Recorder rec;
  AddressSpace* mm = nullptr;
  uint16_t dev = 0;
};

}  // namespace tlbsim::test
