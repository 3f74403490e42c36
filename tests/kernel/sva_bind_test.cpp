// SPDX-License-Identifier: MIT
// SVA bonds made and ended at run time (kernel/sva.h): the global PASID allocator, a bind's
// notifier registration and PASID-table entry, the invalidation AMD sends after writing an entry
// (the wrong PASID before 8386207f37e9), and a bond's end with its device file and its mm.
#include <catch2/catch.hpp>

#include <algorithm>

#include "kernel/exit.h"
#include "kernel/fault.h"
#include "kernel/fork.h"
#include "kernel/sva.h"
#include "support/recording_sink.h"

namespace tlbsim::kernel {
namespace {

constexpr uint64_t kBase = 0x10000000;
constexpr uint32_t kRw = kVmRead | kVmWrite;

/// A machine with one IOMMU and device and two mms, neither bound.
struct Unbound {
  explicit Unbound(const std::string& policy, SvaDecoding dec) : k(std::make_unique<Kernel>(MachineConfig{}, *find_policy(policy))) {
    k->bus().add_sink(&rec);
    a = &k->create_mm("a");
    b = &k->create_mm("b");
    iommu::IommuConfig ic;
    for (const auto& d : decodings())
      if (d.decoding == dec) ic.kind = d.kind();
    k->add_iommu(ic).add_device(iommu::DeviceConfig{.name = "dev0", .ats = false});
    for (AddressSpace* mm : {a, b}) {
      mmap_region(*k, *mm, Vaddr{kBase}, kPageSize, kRw, 0, 0);
      populate(*k, *mm, Vaddr{kBase}, kPageSize, true);
    }
  }
  iommu::Iommu& io() { return k->iommu(0); }
  /// The PASIDs of the invalidation commands recorded from event `from` on.
  std::vector<uint32_t> command_pasids(size_t from) const {
    std::vector<uint32_t> out;
    for (size_t i = from; i < rec.events().size(); ++i)
      if (rec.events()[i].kind == EventKind::InvCmd) out.push_back(rec.events()[i].tag);
    return out;
  }
  std::unique_ptr<Kernel> k;
  test::Recorder rec;
  AddressSpace* a = nullptr;
  AddressSpace* b = nullptr;
};

}  // namespace

TEST_CASE("iommu_alloc_global_pasid() hands out the lowest free PASID, so a freed one goes to the next bind", "[kernel][sva]") {
  Kernel k(MachineConfig{}, *find_policy("fixed"));
  CHECK(k.alloc_global_pasid() == Pasid{1});
  CHECK(k.alloc_global_pasid() == Pasid{2});
  CHECK(k.alloc_global_pasid() == Pasid{3});
  k.free_global_pasid(Pasid{2});
  CHECK(k.alloc_global_pasid() == Pasid{2});
  CHECK(k.alloc_global_pasid() == Pasid{4});
}

TEST_CASE("a run-time bind gives the mm a PASID, registers one notifier under mm_take_all_locks() and writes the PASID-table entry",
          "[kernel][sva]") {
  Unbound m("v6.12", SvaDecoding::Amd612);
  run_sync(iommu_sva_bind_device_task(*m.k, *m.b, m.io(), 0, SvaDecoding::Amd612));
  REQUIRE(m.b->pasid() == Pasid{1});
  CHECK(m.k->notifiers(m.b->id()).size() == 1);
  CHECK(m.io().device_bound(0, Pasid{1}));
  CHECK(m.k->sva_domains(m.b->id()) == std::vector<unsigned>{0});
  // mmu_notifier_register(): mmap_write_lock, then the anon_vma's lock for write.
  const size_t mmap_lock = m.rec.find([](const Event& e) { return e.kind == EventKind::Lock && std::string(e.func) == "mmap_write_lock"; });
  const size_t all_locks =
      m.rec.find([](const Event& e) { return e.kind == EventKind::Lock && std::string(e.func) == "mm_take_all_locks"; });
  CHECK(mmap_lock != test::Recorder::npos);
  CHECK(all_locks != test::Recorder::npos);
  CHECK(mmap_lock < all_locks);

  SECTION("binding the same device again shares the bond: no second notifier, no command") {
    const size_t before = m.rec.events().size();
    run_sync(iommu_sva_bind_device_task(*m.k, *m.b, m.io(), 0, SvaDecoding::Amd612));
    CHECK(m.k->notifiers(m.b->id()).size() == 1);
    CHECK(m.command_pasids(before).empty());
    CHECK(m.b->pasid() == Pasid{1});
  }
  SECTION("a second mm's bind gets the next PASID") {
    run_sync(iommu_sva_bind_device_task(*m.k, *m.a, m.io(), 0, SvaDecoding::Amd612));
    CHECK(m.a->pasid() == Pasid{2});
  }
}

TEST_CASE("AMD's set_dev_pasid() flushes PASID 0 in v6.10 and the PASID it set from v6.12 (8386207f37e9)", "[kernel][sva]") {
  for (const auto& [policy, dec, want] : {std::tuple{"v6.10", SvaDecoding::Amd610, 0u}, std::tuple{"v6.12", SvaDecoding::Amd612, 1u}}) {
    INFO(policy);
    Unbound m(policy, dec);
    const size_t before = m.rec.events().size();
    run_sync(iommu_sva_bind_device_task(*m.k, *m.b, m.io(), 0, dec));
    const std::vector<uint32_t> pasids = m.command_pasids(before);
    REQUIRE_FALSE(pasids.empty());
    const uint32_t flushed = want;  // a structured binding cannot be captured before C++20's P1091 in clang
    CHECK(std::all_of(pasids.begin(), pasids.end(), [flushed](uint32_t p) { return p == flushed; }));
  }
}

TEST_CASE("an exited process's bond ends with its last thread's exit_files(), and __mmdrop() frees its PASID for the next bind",
          "[kernel][sva]") {
  Unbound m("v6.10", SvaDecoding::Amd610);
  run_sync(iommu_sva_bind_device_task(*m.k, *m.a, m.io(), 0, SvaDecoding::Amd610));
  REQUIRE(m.a->pasid() == Pasid{1});
  // One thread of process a, which exits.
  m.a->mmget();
  m.a->task_get();
  run_sync(sys_exit_group(*m.k, *m.a));
  run_sync(exit_mm(*m.k, *m.a));
  CHECK(m.a->pasid() == Pasid{1});  // exit_mmap() is done, the device file is still open
  CHECK(m.k->sva_domains(m.a->id()).size() == 1);
  run_sync(exit_files(*m.k, *m.a));
  CHECK_FALSE(m.a->pasid());
  CHECK(m.k->sva_domains(m.a->id()).empty());
  // The next bind, by process b, gets PASID 1 again.
  run_sync(iommu_sva_bind_device_task(*m.k, *m.b, m.io(), 0, SvaDecoding::Amd610));
  CHECK(m.b->pasid() == Pasid{1});
}

TEST_CASE("a fork child holds its parent's device file: the bond and the PASID outlive the parent until the child exits too",
          "[kernel][sva]") {
  Unbound m("v6.12", SvaDecoding::Amd612);
  run_sync(iommu_sva_bind_device_task(*m.k, *m.a, m.io(), 0, SvaDecoding::Amd612));
  m.a->mmget();
  m.a->task_get();
  Task<AddressSpace*> f = sys_fork(*m.k, *m.a, "child");
  run_sync(f);
  AddressSpace& child = *m.k->find_mm("child");
  child.mmget();
  child.task_get();
  run_sync(sys_exit_group(*m.k, *m.a));
  run_sync(exit_mm(*m.k, *m.a));
  run_sync(exit_files(*m.k, *m.a));
  CHECK(m.a->pasid() == Pasid{1});
  run_sync(sys_exit_group(*m.k, child));
  run_sync(exit_mm(*m.k, child));
  run_sync(exit_files(*m.k, child));
  CHECK_FALSE(m.a->pasid());
}

}  // namespace tlbsim::kernel
