// SPDX-License-Identifier: MIT
#include "scenarios/memory_estimate.h"

#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <map>
#include <set>

#include "kernel/sva.h"
#include "model/event.h"
#include "model/page_table_bound.h"
#include "model/phys_mem.h"
#include "model/saturating.h"
#include "scenarios/ops.h"
#include "scenarios/runner.h"

namespace tlbsim::scenarios {

namespace {

/// Per page an op or the setup touches. Measured (Release build, `run` under old and fixed):
/// a populating write logs about 7 events per page, a read that faults 11 in 4 steps, a device
/// read of a populated page 12 in 2 steps, a munmap 7 in 1 step, a migration of anonymous pages
/// about 10 steps per page (folio lock, unmap, copy, remove_migration_ptes; generated valid
/// scenario 48: 12 pages, 135 steps). The figures below are about twice the largest measured,
/// or more.
constexpr uint64_t kEventsPerPage = 24;
constexpr uint64_t kStepsPerPage = 20;
/// An access op's page may fault and retry up to 16 times before the model calls it a livelock
/// (max_faults in kernel/fault.h); each attempt logs up to about 12 events in 4 steps (the
/// SMMUv3 permission-upgrade livelock: 123 events in 55 steps for one page).
constexpr uint64_t kAccessAttempts = 17;
constexpr uint64_t kEventsPerAttempt = 12;
constexpr uint64_t kStepsPerAttempt = 4;
/// Per page and per device bound to the mm: an invalidation per page per device (SMMUv3 and
/// per-page decodings), with its sync and the ATC's drop.
constexpr uint64_t kEventsPerPagePerDevice = 8;
/// Frames in use at once per page: a private file page faulted for write holds its page-cache
/// page and its anonymous copy; a migrating page its old and new frame. A COW copy a retry
/// throws away goes back to the free list and is taken again.
constexpr uint64_t kFramesPerPage = 2;
/// Per op and per thread, whatever the pages: calls, locks, the op's entry and its flushes. A
/// one-page munmap logs 11 events in 6 steps, a one-page mremap 14 in 8.
constexpr uint64_t kEventsPerOp = 32;
constexpr uint64_t kStepsPerOp = 16;
/// Per VMA an op that acts on present pages walks (unmap_single_vma(), dup_mmap()'s copy,
/// change_protection()): a munmap of 2,000 one-page VMAs logs 4,009 events in 2,005 steps,
/// an madvise(MADV_DONTNEED) 6,003 in 2,003, a fork and exit of them 8,018 in 4,009.
constexpr uint64_t kEventsPerVma = 8;
constexpr uint64_t kStepsPerVma = 4;
/// Pages a flush's range may grow by at its ends: arm64's __flush_tlb_range() rounds it to the
/// stride of what was cleared, 2 MiB for a cleared PMD (a freed PTE table).
constexpr uint64_t kStrideSlack = uint64_t{2} * 512;
/// The most pages' worth of commands a range costs a device whose decoding does not send one
/// per page (SMMUv3's 512-page limit, with the ATC's span).
constexpr uint64_t kBoundedRangePages = 512 + 16;
/// Setup (populate, remap_pfn_range()) runs outside the scheduler: events, no steps. A
/// populating write logs about 7 events per page.
constexpr uint64_t kSetupEventsPerPage = 12;
/// A frame's 24-byte slot in PhysMem: its metadata, content version and counts (a free frame's
/// count word links the free list). Slots come in blocks of 256, so at most 255 are spare: a
/// constant 6 KiB, left out.
constexpr uint64_t kFrameBytes = PhysMem::kSlotBytes;
/// A page-table page's body, beside its frame, at its largest: every chunk of entries made, each
/// its own heap block.
constexpr uint64_t kTableBytes = sizeof(PhysMem::TableBody) + TableBody::kChunks * (sizeof(TableChunkPool::Chunk) + 16) + 64;
/// A logged event, and a step record with a label too long for the small-string buffer.
constexpr uint64_t kEventBytes = sizeof(Event);
constexpr uint64_t kStepBytes = sizeof(StepRecord) + 48;
/// A cache entry with its set bookkeeping.
constexpr uint64_t kCacheEntryBytes = 64;

// Counts saturate (model/saturating.h): a hostile file (a million VMAs mapping one file, a
// million devices) can multiply them past 2^64; the estimate then only has to stay over any
// limit.

/// Ops that only act on pages already present (unmap, zap, change protection, move, copy for
/// fork, tear down), and an mmap that does not populate: what they log and allocate grows with
/// the present pages and the VMAs in their range, not with its size (zap_pmd_range() skips
/// empty tables). An mmap reservation of 2^24 pages that a program touches in a few places is
/// a few pages of work for the munmap, fork and exit that cross it.
bool acts_on_present_pages(const OpSpec& op) {
  if (!op.id) return false;
  switch (*op.id) {
    case Op::munmap:
    case Op::madvise_dontneed:
    case Op::madvise_free:
    case Op::mprotect:
    case Op::mremap:
    case Op::fork:
    case Op::exit:
    case Op::brk: return true;
    case Op::mmap: return !op.populate;
    default: return false;
  }
}

/// Of those, the ops that take present pages away (unmap, zap, tear down; an mmap over a mapping
/// unmaps it): each present page goes once per time it was made present, so together they
/// cost at most every page made present, by an op or by a fork's copy.
bool removes_present_pages(const OpSpec& op) {
  return op.id == Op::munmap || op.id == Op::madvise_dontneed || op.id == Op::exit || op.id == Op::brk || op.id == Op::mmap;
}

/// A device's decoding (or driver family, which may resolve to any of its decodings) may send
/// one IOTLB command per page of a range.
bool may_tlbi_per_page(const DeviceSpec& dev) {
  if (!dev.decoding_choice) return false;
  if (const auto* family = std::get_if<kernel::SvaDriver>(&*dev.decoding_choice)) {
    for (const kernel::DecodingInfo& d : kernel::decodings())
      if (d.driver == *family && d.tlbi_per_page) return true;
    return false;
  }
  for (const kernel::DecodingInfo& d : kernel::decodings())
    if (d.decoding == std::get<kernel::SvaDecoding>(*dev.decoding_choice)) return d.tlbi_per_page;
  return false;
}

/// VMAs an op may add to its mm: an mmap one (and a split of the mapping it replaces), a munmap
/// or mprotect of the middle of one, or a move (mremap: split at both ends of the source, and
/// the new one); a brk grows or shrinks the heap's. Generous: the bound only has to hold.
uint64_t vmas_added(const OpSpec& op) {
  if (op.id == Op::mmap || op.id == Op::munmap || op.id == Op::mprotect || op.id == Op::brk) return 2;
  if (op.id == Op::mremap) return 3;
  return 0;
}

struct Tally {
  MemoryEstimate e;
  std::map<std::string, uint64_t> by_key;  ///< bytes per spec pointer

  /// `pages` pages handled by `key` (an op or a populated VMA) in an mm with `devices` bound.
  enum class Kind { Setup, Op, Access };
  void pages(const std::string& key, uint64_t pages, uint64_t devices, bool allocates, Kind kind) {
    const uint64_t tables = allocates ? max_tables_for_range(pages) : 0;
    const uint64_t frames = allocates ? sat_add(sat_mul(pages, kFramesPerPage), tables) : 0;
    const uint64_t per_page = kind == Kind::Setup    ? kSetupEventsPerPage
                              : kind == Kind::Access ? kAccessAttempts * kEventsPerAttempt
                                                     : kEventsPerPage;
    const uint64_t steps_per_page = kind == Kind::Setup ? 0 : kind == Kind::Access ? kAccessAttempts * kStepsPerAttempt : kStepsPerPage;
    const uint64_t events = sat_mul(pages, sat_add(per_page, sat_mul(devices, kEventsPerPagePerDevice)));
    const uint64_t steps = sat_mul(pages, steps_per_page);
    e.frames = sat_add(e.frames, frames);
    e.events = sat_add(e.events, events);
    e.steps = sat_add(e.steps, steps);
    uint64_t b = sat_mul(frames, kFrameBytes);
    b = sat_add(b, sat_mul(tables, kTableBytes));
    b = sat_add(b, sat_mul(events, kEventBytes));
    b = sat_add(b, sat_mul(steps, kStepBytes));
    bytes(key, b);
  }
  void fixed(const std::string& key, uint64_t events, uint64_t steps, uint64_t tables) {
    e.events = sat_add(e.events, events);
    e.steps = sat_add(e.steps, steps);
    e.frames = sat_add(e.frames, tables);
    bytes(key, sat_add(sat_add(sat_mul(events, kEventBytes), sat_mul(steps, kStepBytes)), sat_mul(tables, kTableBytes)));
  }
  void cache(const std::string& key, uint64_t entries) { bytes(key, sat_mul(entries, kCacheEntryBytes)); }
  void bytes(const std::string& key, uint64_t n) { by_key[key] = sat_add(by_key[key], n); }
};

}  // namespace

MemoryEstimate estimate_memory(const ScenarioSpec& s, const EstimateOptions& options) {
  Tally t;
  std::map<std::string, uint64_t> mm_pages, mm_devices, file_mappers;
  // Devices bound to each mm, at setup or by an sva_bind op, and those of them whose decoding
  // may send one command per page of a range.
  std::map<std::string, uint64_t> mm_per_page_devices;
  std::map<std::string, const DeviceSpec*> device_by_name;
  for (const DeviceSpec& d : s.devices) device_by_name[d.name] = &d;
  auto bind = [&](const std::string& mm, const std::string& device) {
    ++mm_devices[mm];
    if (auto d = device_by_name.find(device); d != device_by_name.end() && may_tlbi_per_page(*d->second)) ++mm_per_page_devices[mm];
  };
  for (const MmSpec& mm : s.mms)
    for (const std::string& d : mm.bind) bind(mm.name, d);
  for (const ThreadSpec& th : s.threads)
    for (const OpSpec& op : th.ops)
      if (op.id == Op::sva_bind) bind(op.mm.empty() ? th.mm : op.mm, op.device);
  for (const MmSpec& mm : s.mms) {
    for (const VmaSpec& v : mm.vmas) {
      mm_pages[mm.name] = sat_add(mm_pages[mm.name], v.pages);
      if (!v.file.empty()) ++file_mappers[v.file];
    }
  }
  for (const FileSpec& f : s.files) t.bytes(f.pointer, sat_mul(f.pages, 16));  // the page-cache slots
  // A vmalloc area: its pages and tables, mapped at setup; the kernel's own PGD once.
  for (const VmallocSpec& v : s.vmalloc) t.pages(v.pointer, v.pages, 0, true, Tally::Kind::Setup);
  if (!s.vmalloc.empty()) t.fixed(s.vmalloc.front().pointer, 0, 0, 1);
  std::vector<std::pair<std::string, std::string>> forks;  // child, parent
  for (const ThreadSpec& th : s.threads)
    for (const OpSpec& op : th.ops)
      if (op.id == Op::fork) forks.emplace_back(op.name.empty() ? th.mm + ".child" : op.name, th.mm);
  // The heap of each set-up mm with a break: from start_brk to the highest break set, at setup
  // or by a brk op of a thread of the mm or of a fork's child of it (found in as many hops as
  // there are forks at most).
  std::map<std::string, const MmSpec*> with_brk;
  for (const MmSpec& mm : s.mms)
    if (mm.has_brk) with_brk[mm.name] = &mm;
  std::map<std::string, std::string> parent_of(forks.begin(), forks.end());
  std::map<std::string, const MmSpec*> root_memo;  // each thread's mm walked up once
  auto brk_root = [&](const std::string& mm) -> const MmSpec* {
    if (auto m = root_memo.find(mm); m != root_memo.end()) return m->second;
    const MmSpec* root = nullptr;
    std::string name = mm;
    for (size_t hops = 0; hops <= forks.size(); ++hops) {
      if (auto it = with_brk.find(name); it != with_brk.end()) {
        root = it->second;
        break;
      }
      auto p = parent_of.find(name);
      if (p == parent_of.end()) break;
      name = p->second;
    }
    return root_memo[mm] = root;
  };
  std::map<const MmSpec*, uint64_t> heap_top;
  for (const auto& [name, mm] : with_brk) heap_top[mm] = mm->brk;
  for (const ThreadSpec& th : s.threads)
    for (const OpSpec& op : th.ops)
      if (op.id == Op::brk)
        if (const MmSpec* root = brk_root(th.mm)) heap_top[root] = std::max(heap_top[root], op.addr);
  auto heap_pages = [&](const MmSpec* root) {
    return root->start_brk < heap_top[root] ? (heap_top[root] - root->start_brk) >> kPageShift : 0;
  };
  // An mmap op's range is the mm's too (for fork and exit), and a shared anonymous one has a
  // shmem file of its own; so is the heap a brk op may grow.
  for (const auto& [name, mm] : with_brk) mm_pages[name] = sat_add(mm_pages[name], heap_pages(mm));
  for (const ThreadSpec& th : s.threads)
    for (const OpSpec& op : th.ops) {
      if (op.id != Op::mmap) continue;
      mm_pages[th.mm] = sat_add(mm_pages[th.mm], op.pages);
      if (!op.file.empty()) ++file_mappers[op.file];
      if (op.file.empty() && op.shared) t.bytes(op.pointer, sat_mul(op.pages, 16));
    }
  // A fork's child maps what its parent maps (its own threads may fork and exit it). One pass
  // per level of forks in a child, as many as there are forks at most.
  for (bool changed = true; changed;) {
    changed = false;
    for (const auto& [child, parent] : forks)
      if (mm_pages[parent] > mm_pages[child]) {
        mm_pages[child] = mm_pages[parent];
        changed = true;
      }
  }
  for (const MmSpec& mm : s.mms)
    for (size_t i = 0; i < mm.vmas.size(); ++i) {
      // Setup: populate faults every page in (mm_populate()), remap_pfn_range() maps driver
      // pages; an unpopulated VMA costs nothing until an op touches it.
      const VmaSpec& v = mm.vmas[i];
      if (v.pfnmap || v.thp || v.populate != Populate::None) t.pages(mm.vma_pointer(i), v.pages, mm.bind.size(), true, Tally::Kind::Setup);
    }
  // How many pages any one mm can have present at once: at most what the setup maps and what
  // every op that can fault in or allocate pages names (a khugepaged collapse 512). And how
  // many VMAs it can have: the setup's, and those each op may add by mapping or splitting. An
  // op that acts on present pages only costs per page of the smaller of its range and the
  // first, plus per VMA of the smaller of its range and the second.
  uint64_t present = 0, vmas = 0;
  for (const MmSpec& mm : s.mms)
    for (const VmaSpec& v : mm.vmas) {
      vmas = sat_add(vmas, 1);
      if (v.pfnmap || v.thp || v.populate != Populate::None) present = sat_add(present, v.pages);
    }
  for (const ThreadSpec& th : s.threads)
    for (const OpSpec& op : th.ops) {
      vmas = sat_add(vmas, vmas_added(op));
      if (acts_on_present_pages(op)) continue;
      uint64_t pages = (op.id == Op::khugepaged_collapse || op.id == Op::khugepaged_retract) ? 512 : op.pages;
      if (!op.file.empty() && op.id != Op::mmap) pages = sat_mul(pages, std::max<uint64_t>(1, file_mappers[op.file]));
      present = sat_add(present, pages);
    }
  // Pages made present in all mms together: by the setup and ops (`present`) and by each fork's
  // copy of its parent (at most `present` each). What the ops that take pages away share.
  uint64_t removable = sat_mul(present, sat_add(uint64_t{forks.size()}, 1));
  for (const MmSpec& mm : s.mms) t.fixed(mm.pointer, 0, 0, 1);  // its PGD
  for (const ThreadSpec& th : s.threads) {
    t.fixed(th.pointer, 0, 1, 0);  // the priming step
    for (const OpSpec& op : th.ops) {
      const OpInfo* info = find_op(op.op);
      const std::string& mm = op.mm.empty() ? th.mm : op.mm;
      uint64_t pages = op.pages;
      bool allocates = true;
      if (info && !(info->needs & (kNeedAddr | kNeedPages | kNeedTarget))) {
        // fork and exit walk the whole mm: fork copies its page tables (dup_mmap()), exit
        // frees; khugepaged's retract covers one PMD of the file.
        pages = op.id == Op::khugepaged_retract ? 512 : mm_pages[mm];
        allocates = op.id == Op::fork;
      }
      // A khugepaged collapse copies the 512 pages of its PMD into a huge page, whatever
      // "pages" says (collapse_huge_page()).
      if (op.id == Op::khugepaged_collapse) pages = 512;
      // brk may unmap the whole heap, as a munmap of it would.
      if (op.id == Op::brk) {
        const MmSpec* root = brk_root(th.mm);
        pages = root ? heap_pages(root) : 0;
      }
      // An op on a file's pages zaps them in every VMA that maps the file; an mmap of a file
      // maps its own range only (its own faults are the accesses' to count).
      if (!op.file.empty() && op.id != Op::mmap) pages = sat_mul(pages, std::max<uint64_t>(1, file_mappers[op.file]));
      if (acts_on_present_pages(op)) {
        // Its VMAs; its present pages, below; and per bound device the invalidation of the range
        // the flush names: the whole range, widened to the flush's stride (arm64 rounds to the
        // 2 MiB of a cleared PMD), for a decoding that sends a command per page, at most 512
        // pages' worth for any other (SMMUv3 then invalidates the ASID; AMD and Intel send one
        // block or a few power-of-two chunks).
        const uint64_t walked = std::min(pages, vmas);
        const uint64_t range = sat_add(pages, kStrideSlack);
        // A strategy in force (sweep) replaces the decodings of the devices bound at setup; one
        // an sva_bind op binds keeps its decoding, so a per-page decoding is charged either way.
        const uint64_t cap = options.iommu_range_pages ? std::max(*options.iommu_range_pages, kBoundedRangePages) : kBoundedRangePages;
        const uint64_t per_page = mm_per_page_devices[mm], other = mm_devices[mm] - per_page;
        const uint64_t device_pages = sat_add(sat_mul(per_page, range), sat_mul(other, std::min(range, cap)));
        const uint64_t device_events = sat_mul(device_pages, kEventsPerPagePerDevice);
        t.fixed(op.pointer, sat_add(sat_mul(walked, kEventsPerVma), device_events), sat_mul(walked, kStepsPerVma), 0);
        pages = std::min(pages, present);
        if (removes_present_pages(op)) {
          pages = std::min(pages, removable);
          removable -= pages;
        }
        t.pages(op.pointer, pages, 0, allocates, Tally::Kind::Op);
        t.fixed(op.pointer, kEventsPerOp, kStepsPerOp, 0);
        continue;
      }
      // mmap's MAP_POPULATE faults each page in, retrying as an access does, after its unmap.
      const bool access = (info && info->retries_per_page) || (op.id == Op::mmap && op.populate);
      t.pages(op.pointer, pages, mm_devices[mm], allocates, access ? Tally::Kind::Access : Tally::Kind::Op);
      if (op.id == Op::mmap && op.populate) t.pages(op.pointer, pages, mm_devices[mm], false, Tally::Kind::Op);
      t.fixed(op.pointer, kEventsPerOp, kStepsPerOp, 0);
    }
  }
  t.cache(s.pointer + "/cpus", sat_mul(s.cpus, uint64_t{s.tlb_entries} + 32));  // TLB and walk cache per CPU
  for (const DeviceSpec& d : s.devices) t.cache(d.pointer, uint64_t{d.atc_entries} + d.iotlb_entries + d.walk_cache_entries);
  MemoryEstimate e = t.e;
  e.bytes = kEstimateBaseBytes;
  for (const auto& [key, n] : t.by_key) {
    e.bytes = sat_add(e.bytes, n);
    if (n > e.largest_bytes) {
      e.largest_bytes = n;
      e.largest = key;
    }
  }
  return e;
}

std::string format_bytes(uint64_t bytes) {
  char buf[64];
  if (bytes >= (1ull << 30))
    std::snprintf(buf, sizeof buf, "%.1f GiB", static_cast<double>(bytes) / static_cast<double>(1ull << 30));
  else if (bytes >= (1ull << 20))
    std::snprintf(buf, sizeof buf, "%.1f MiB", static_cast<double>(bytes) / static_cast<double>(1ull << 20));
  else
    std::snprintf(buf, sizeof buf, "%llu bytes", static_cast<unsigned long long>(bytes));
  return buf;
}

}  // namespace tlbsim::scenarios
