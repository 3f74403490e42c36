// SPDX-License-Identifier: MIT
// A KVM/HMM-style shadow MMU (primer section 2): start/end zapping and the fault path's
// sequence check, the same under both notifier policies.
#include <catch2/catch.hpp>

#include "kernel/exit.h"
#include "kernel/migrate.h"
#include "kernel/mmu_notifier.h"
#include "kernel/rmap_test_support.h"
#include "kernel/shadow_mmu.h"
#include "kernel/zap.h"

using namespace tlbsim;
using namespace tlbsim::test;

namespace {
constexpr uint64_t kBase = 0x400000;

/// An SVA machine with a shadow MMU registered on the same mm, over two anonymous pages.
struct ShadowSetup {
  explicit ShadowSetup(const std::string& policy) : m(policy) {
    auto s = std::make_unique<kernel::ShadowMmu>(7);
    shadow = s.get();
    m.k->register_notifier(m.mm->id(), std::move(s));
    kernel::mmap_region(*m.k, *m.mm, Vaddr{kBase}, 2 * kPageSize, kVmRead | kVmWrite, 0, 0);
  }
  void access(uint64_t addr, bool write) {
    kernel::Task<> t = kernel::shadow_access(*m.k, *shadow, *m.mm, Vaddr{addr}, write);
    kernel::run_sync(t);
  }
  SvaMachine m;
  kernel::ShadowMmu* shadow = nullptr;
};

bool is_shadow(const Event& e, EventKind k) { return e.kind == k && e.holder.kind == HolderKind::Shadow; }
}  // namespace

SCENARIO("a shadow MMU fills on a miss through the primary fault path and hits afterwards", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  ShadowSetup s(policy);
  s.m.rec.clear();
  s.access(kBase, false);
  const Recorder& r = s.m.rec;
  const size_t fault = r.find([](const Event& e) { return is_call(e, "handle_mm_fault"); });
  const size_t fill = r.find([](const Event& e) { return is_shadow(e, EventKind::Fill); });
  const size_t access = r.find([](const Event& e) { return is_shadow(e, EventKind::Access); });
  REQUIRE(fault != Recorder::npos);
  CHECK(fault < fill);
  CHECK(fill < access);
  CHECK(r.events()[fill].holder == Holder{HolderKind::Shadow, 7});
  const Pfn p = s.m.mm->pt().leaf(Vaddr{kBase}).pfn();
  CHECK(r.events()[access].pfn == p);
  CHECK(s.m.k->mem().refcount(p) == 1);  // the GUP reference was dropped
  REQUIRE(s.shadow->lookup(Vaddr{kBase}));
  CHECK_FALSE(s.shadow->lookup(Vaddr{kBase})->writable);

  WHEN("it reads again") {
    s.m.rec.clear();
    s.access(kBase, false);
    THEN("the entry serves it without a fault") {
      CHECK(s.m.rec.count(EventKind::Fill) == 0);
      CHECK(s.m.rec.find([](const Event& e) { return is_call(e, "handle_mm_fault"); }) == Recorder::npos);
      CHECK(s.m.rec.find([](const Event& e) { return is_shadow(e, EventKind::Access); }) != Recorder::npos);
      require_shadow_coherent(*s.shadow, *s.m.mm);
      s.m.k->check_invariants();
    }
  }
  WHEN("it writes") {
    const uint32_t before = s.m.k->mem().content(p);
    s.access(kBase, true);
    THEN("a writable entry replaces the read-only one and the page changes") {
      REQUIRE(s.shadow->lookup(Vaddr{kBase}));
      CHECK(s.shadow->lookup(Vaddr{kBase})->writable);
      CHECK(s.m.k->mem().content(p) == before + 1);
      CHECK(s.m.mm->pt().leaf(Vaddr{kBase}).dirty());
      require_shadow_coherent(*s.shadow, *s.m.mm);
      s.m.k->check_invariants();
    }
  }
}

SCENARIO("the shadow MMU zaps at invalidate_range_start, before the PTE changes", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  ShadowSetup s(policy);
  s.access(kBase, true);
  s.access(kBase + kPageSize, true);
  REQUIRE(s.shadow->size() == 2);
  const uint64_t seq = s.shadow->seq();
  s.m.rec.clear();

  WHEN("MADV_DONTNEED zaps page 0") {
    kernel::Task<> t = kernel::madvise_dontneed(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize);
    kernel::run_sync(t);
    const Recorder& r = s.m.rec;
    const size_t start = r.find([](const Event& e) { return is_notifier(e, "mmu_notifier_invalidate_range_start"); });
    const size_t drop = r.find([](const Event& e) { return is_shadow(e, EventKind::Drop); });
    const size_t clr = r.find([](const Event& e) { return is_pte_at(e, "ptep_get_and_clear_full", kBase); });
    THEN("the drop comes between MN_START and the PTE clear, in both policies") {
      CHECK(start < drop);
      CHECK(drop < clr);
      CHECK(r.events()[drop].va == kBase);
      CHECK(s.shadow->lookup(Vaddr{kBase}) == nullptr);
      CHECK(s.shadow->lookup(Vaddr{kBase + kPageSize}) != nullptr);
      CHECK(s.shadow->in_progress() == 0);
      CHECK(s.shadow->seq() == seq + 1);
      require_shadow_coherent(*s.shadow, *s.m.mm);
      require_all_coherent(s.m);
      s.m.k->check_invariants();
    }
  }
  WHEN("page 1 migrates") {
    const Pfn old_pfn = s.m.mm->pt().leaf(Vaddr{kBase + kPageSize}).pfn();
    kernel::Task<> t = migrate_one(*s.m.k, old_pfn);
    kernel::run_sync(t);
    THEN("the entry was dropped before the copy and the next access maps the new page") {
      const size_t drop = s.m.rec.find([](const Event& e) { return is_shadow(e, EventKind::Drop); });
      CHECK(drop < s.m.rec.find(is_copy));
      CHECK(s.shadow->lookup(Vaddr{kBase + kPageSize}) == nullptr);
      s.access(kBase + kPageSize, false);
      REQUIRE(s.shadow->lookup(Vaddr{kBase + kPageSize}));
      CHECK(s.shadow->lookup(Vaddr{kBase + kPageSize})->pfn != old_pfn);
      require_shadow_coherent(*s.shadow, *s.m.mm);
      s.m.k->check_invariants();
    }
  }
}

SCENARIO("the shadow fault path waits for an invalidation in progress", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  ShadowSetup s(policy);
  kernel::populate(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize, true);
  kernel::mmu_notifier_invalidate_range_start(*s.m.k, *s.m.mm, VaRange{kBase, kBase + kPageSize}, "test");
  kernel::Task<> t = kernel::shadow_access(*s.m.k, *s.shadow, *s.m.mm, Vaddr{kBase}, false);
  Stepper st(t);
  st.step();  // the access misses
  st.step();
  CHECK_FALSE(st.runnable());
  CHECK(s.shadow->size() == 0);
  run_sync(kernel::mmu_notifier_invalidate_range_end(*s.m.k, *s.m.mm, VaRange{kBase, kBase + kPageSize}, "test"));
  CHECK(st.runnable());
  st.finish();
  CHECK(s.shadow->size() == 1);
  require_shadow_coherent(*s.shadow, *s.m.mm);
  s.m.k->check_invariants();
}

SCENARIO("mmu_invalidate_retry: an invalidation after the PTE read forces a retry", "[kernel][policy]") {
  const std::string policy = GENERATE(as<std::string>{}, "old", "fixed");
  ShadowSetup s(policy);
  kernel::populate(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize, true);
  const Pfn first = s.m.mm->pt().leaf(Vaddr{kBase}).pfn();
  kernel::Task<> t = kernel::shadow_access(*s.m.k, *s.shadow, *s.m.mm, Vaddr{kBase}, true);
  Stepper st(t);
  GIVEN("the fault path has read the PTE (holding a GUP reference) and not yet installed") {
    REQUIRE(st.step_until([&] { return st.next_label() == "mmu_invalidate_retry"; }));
    CHECK(s.m.k->mem().refcount(first) == 2);
    WHEN("MADV_DONTNEED zaps the page meanwhile") {
      kernel::Task<> z = kernel::madvise_dontneed(*s.m.k, *s.m.mm, Vaddr{kBase}, kPageSize);
      kernel::run_sync(z);
      st.finish();
      THEN("the stale pfn is not installed; the retry maps the new page") {
        CHECK(s.m.rec.find([](const Event& e) { return is_call(e, "mmu_invalidate_retry: retry"); }) != Recorder::npos);
        // The GUP reference was the last one: its drop frees the page (which may be reused).
        CHECK(s.m.rec.find([&](const Event& e) { return is_free_of(e, first) && std::string(e.func) == "kvm_release_pfn_clean"; }) !=
              Recorder::npos);
        REQUIRE(s.shadow->lookup(Vaddr{kBase}));
        CHECK(s.shadow->lookup(Vaddr{kBase})->pfn == s.m.mm->pt().leaf(Vaddr{kBase}).pfn());
        require_shadow_coherent(*s.shadow, *s.m.mm);
        require_all_coherent(s.m);
        s.m.k->check_invariants();
      }
    }
  }
}

SCENARIO("the shadow fault path faults nothing into an mm whose teardown has begun (mmget_not_zero)", "[kernel]") {
  ShadowSetup s("fixed");
  // The process's one thread exited: its mmput() was the last and __mmput() began.
  s.m.mm->mmget();
  kernel::do_group_exit(*s.m.k, *s.m.mm);
  REQUIRE(s.m.mm->drop_user_and_test());
  s.m.rec.clear();
  s.access(kBase, true);
  CHECK(s.shadow->size() == 0);
  CHECK(s.m.mm->pt().leaf(Vaddr{kBase}).none());
  CHECK(s.m.rec.find([](const Event& e) { return test::is_fault_rejected(e, "kvm_faultin_pfn") && e.note == "-EFAULT: mmget_not_zero"; }) !=
        Recorder::npos);
}

SCENARIO("the shadow fault path holds an mm reference until it installs, so a racing exit tears down after it", "[kernel]") {
  ShadowSetup s("fixed");
  s.m.mm->mmget();  // the process's one thread
  kernel::Task<> t = kernel::shadow_access(*s.m.k, *s.shadow, *s.m.mm, Vaddr{kBase}, true);
  Stepper st(t);
  REQUIRE(st.step_until([&] { return st.next_label() == "mmu_invalidate_retry"; }));
  // The thread exits meanwhile: its mmput() is not the last.
  kernel::do_group_exit(*s.m.k, *s.m.mm);
  kernel::Task<> exit = kernel::exit_mm(*s.m.k, *s.m.mm);
  kernel::run_sync(exit);
  CHECK_FALSE(s.m.mm->vmas().front().detached);
  s.m.rec.clear();
  st.finish();
  // The fault path installed, then its mmput() ran exit_mmap(), whose release zapped the shadow.
  CHECK(s.m.rec.find([](const Event& e) { return e.kind == EventKind::Call && std::string(e.func) == "exit_mmap"; }) != Recorder::npos);
  CHECK(s.shadow->size() == 0);
  CHECK(s.m.mm->vmas().front().detached);
}
