// SPDX-License-Identifier: MIT
#include "scenarios/metrics.h"

#include <stdexcept>

namespace tlbsim::scenarios {

const std::vector<MetricInfo>& metrics() {
  // Report order, which is also the order of docs/scenario-format.md's generated metric table.
  // Severities are tens apart so that a new row can rank between two without renumbering them.
  static const std::vector<MetricInfo> all{
      {.metric = Metric::Windows,
       .name = "windows",
       .counts = "stale-translation windows: a cached translation that granted more than the page table",
       .doc = "stale-translation windows: cached translations (CPU TLB, IOTLB, device ATC, shadow MMU, CPU or "
              "IOMMU walk cache) that at some event granted more than the page table did. One window per cached"
              " entry from the event that made it stale until the entry is dropped or evicted, or the page "
              "table grants again what the entry holds (or the run ends). Transient windows are not counted "
              "here",
       .severity = 10},
      {.metric = Metric::OfClass,
       .name = "stale",
       .counts = "windows of class stale: the frame is no longer mapped there, not freed since",
       .doc = "windows whose final class is `stale`: the entry maps a frame (or, for a walk-cache entry, a "
              "table) the page table no longer maps there, and none of its frames was freed while the window "
              "was open",
       .severity = 30,
       .window_class = WindowClass::Stale,
       .trace_colour = "cq_build_running"},
      {.metric = Metric::OfClass,
       .name = "permission",
       .counts = "windows of class permission: writable while the PTE is read-only",
       .doc = "windows of class `permission`: the PTE maps the same frame without write permission while the "
              "entry is writable",
       .severity = 40,
       .window_class = WindowClass::Permission,
       .trace_colour = "thread_state_iowait"},
      {.metric = Metric::OfClass,
       .name = "freed",
       .counts = "windows of class freed: the frame was freed while the window was open",
       .doc = "windows of class `freed`: a frame of the entry was freed while the window was open, or was "
              "free when it opened (a fill from a stale source)",
       .severity = 50,
       .window_class = WindowClass::Freed,
       .memory_freed = true,
       .trace_colour = "bad"},
      {.metric = Metric::OfClass,
       .name = "reused",
       .counts = "windows of class reused: the frame was freed and allocated again",
       .doc = "windows of class `reused`: the frame was freed and then allocated again while the window was "
              "open",
       .severity = 70,
       .window_class = WindowClass::Reused,
       .memory_freed = true,
       .trace_colour = "terrible"},
      {.metric = Metric::OfClass,
       .name = "table-freed",
       .counts = "windows of class table-freed: a walk-cache entry's page-table page was freed",
       .doc = "windows of class `table-freed`: a walk-cache entry whose page-table page was freed while the "
              "window was open",
       .severity = 60,
       .window_class = WindowClass::TableFreed,
       .memory_freed = true,
       .trace_colour = "cq_build_failed"},
      {.metric = Metric::Observed,
       .name = "observed",
       .counts = "windows with an access through the stale entry that the page table no longer allows",
       .doc = "windows with at least one access through the stale entry while open that the page table no longer "
              "allows (a CPU load or store or a device DMA reaching a frame its page no longer maps there, or "
              "writing where the page is now read-only; a hardware walk that resumed from the stale walk-cache "
              "entry). A read through a permission window, or an access to a page of a 2 MiB entry that its PTE "
              "still maps, is not one",
       .severity = 90},
      {.metric = Metric::AfterReturn,
       .name = "after-return",
       .counts = "windows still open when the op whose PTE change opened them had returned",
       .doc = "windows still open when the op whose PTE store made the entry stale had returned (for a window "
              "opened at a fill from a stale source, the op of the store that took away what the entry holds; the setup "
              "counts as an op that returns when the first step begins). This is the kernel's contract: when "
              "munmap, mprotect, madvise, mremap, fork or a migration returns, no cache may still grant what "
              "the page table no longer does",
       .severity = 80},
      {.metric = Metric::UsedAfterReturn,
       .name = "used-after-return",
       .counts = "accesses through a stale entry after the op that made it stale had returned",
       .doc = "accesses through a stale entry after the op that made it stale had returned, counted as "
              "`observed` counts them (the page table no longer allows them); one per access",
       .severity = 100},
      {.metric = Metric::LostWrites,
       .name = "lost-writes",
       .counts = "writes through a stale entry to a frame already copied away (COW, migration)",
       .doc = "writes through a stale writable entry to a frame whose contents had already been copied away: "
              "by the writer's mm for that page (COW), or by anyone while the writer's mm maps the frame "
              "nowhere (migration, swap-out); one per write",
       .severity = 110,
       .finding = "lost-write"},
      {.metric = Metric::UseAfterFree,
       .name = "use-after-free",
       .counts = "accesses or walks through a stale entry to a freed or reused frame or table",
       .doc = "accesses through a stale entry to a frame that was free at that moment or had been freed and "
              "reallocated during the window, plus every hardware walk through a freed or reused page-table "
              "page while the walk-cache entry's window is open; one per access",
       .severity = 120,
       .finding = "use-after-free"},
      {.metric = Metric::Livelocks,
       .name = "livelocks",
       .counts = "accesses that faulted repeatedly without progress",
       .doc = "accesses that faulted repeatedly without progress (a `fault` event that gave up after its fault "
              "limit), one per livelock",
       .severity = 20,
       .finding = "livelock",
       .per_holder = false},
      // What user space and devices were told. None is a bug by itself, so they rank below every
      // window; a scenario expects them where the kernel refuses (the selftests assert errnos).
      {.metric = Metric::Errors,
       .name = "errors",
       .counts = "system calls and ioctls that returned an error (-EACCES, -ENOMEM, ...)",
       .doc = "system calls and ioctls that returned an error (an `error` event: `mprotect()` asking for write on a "
              "mapping without `VM_MAYWRITE` is -EACCES, `madvise()` over a hole -ENOMEM, `mmap()` with "
              "MAP_FIXED_NOREPLACE over a mapping -EEXIST, ...), one per call; the report names each op and errno",
       .severity = 7,
       .finding = "syscall-error",
       .per_holder = false,
       .outcome = true},
      {.metric = Metric::Signals,
       .name = "signals",
       .counts = "signals a fault sent to a thread (SIGSEGV)",
       .doc = "signals a fault sent to a CPU thread (a `signal` event: `force_sig_fault()` after `handle_mm_fault()` "
              "found no VMA allowing the access), one per access",
       .severity = 6,
       .finding = "signal",
       .per_holder = false,
       .outcome = true},
      {.metric = Metric::FaultRejects,
       .name = "fault-rejects",
       .counts = "device page requests answered with failure",
       .doc = "device page requests answered with failure (a `fault-rejected` event: `iommu_sva_handle_iopf()`'s "
              "IOMMU_PAGE_RESP_INVALID, a mirror's `kvm_faultin_pfn()` -EFAULT), one per access",
       .severity = 5,
       .finding = "fault-rejected",
       .per_holder = false,
       .outcome = true},
      {.metric = Metric::Transient,
       .name = "transient",
       .counts = "windows opened and closed within one scheduler step with no access: in no count above",
       .doc = "windows opened and closed within one scheduler step with nothing going through the entry in "
              "between (a PTE cleared and flushed under its lock, `ptep_modify_prot_start()` then `_commit()` "
              "with the same permission): no thread can run inside a step in any schedule, so no other count "
              "includes them",
       .severity = 0,
       .per_holder = false},
  };
  return all;
}

const MetricInfo& metric_info(Metric m) {
  for (const MetricInfo& i : metrics())
    if (i.metric == m && m != Metric::OfClass) return i;
  throw std::logic_error("metric without a row of its own in metrics()");
}

bool is_outcome_finding(std::string_view kind) {
  for (const MetricInfo& i : metrics())
    if (i.outcome && i.finding == kind) return true;
  return false;
}

const MetricInfo* find_metric(std::string_view name) {
  for (const MetricInfo& i : metrics())
    if (i.name == name) return &i;
  return nullptr;
}

const std::vector<std::string>& metric_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const MetricInfo& i : metrics()) n.emplace_back(i.name);
    return n;
  }();
  return names;
}

std::string_view side_prefix(HolderSide side) {
  switch (side) {
    case HolderSide::Any: return "";
    case HolderSide::Cpu: return "cpu:";
    case HolderSide::Device: return "device:";
  }
  return "";
}

std::optional<QualifiedMetric> parse_metric(std::string_view name) {
  QualifiedMetric q;
  for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) {
    const std::string_view p = side_prefix(side);
    if (name.substr(0, p.size()) == p) {
      q.side = side;
      name.remove_prefix(p.size());
      break;
    }
  }
  q.info = find_metric(name);
  if (!q.info || (q.side != HolderSide::Any && !q.info->per_holder)) return std::nullopt;
  return q;
}

const std::vector<std::string>& expectation_names() {
  static const std::vector<std::string> names = [] {
    std::vector<std::string> n;
    for (const MetricInfo& i : metrics()) {
      n.emplace_back(i.name);
      if (!i.per_holder) continue;
      for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) n.push_back(std::string(side_prefix(side)) + std::string(i.name));
    }
    return n;
  }();
  return names;
}

const MetricInfo& class_info(WindowClass c) {
  for (const MetricInfo& i : metrics())
    if (i.window_class == c) return i;
  throw std::logic_error("window class without a row in metrics()");
}

std::string_view to_string(WindowClass c) { return class_info(c).name; }
int severity(WindowClass c) { return class_info(c).severity; }

}  // namespace tlbsim::scenarios
