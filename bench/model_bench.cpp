// SPDX-License-Identifier: MIT
// Simulator throughput and footprint of the machine model (src/model, src/iommu), with no event
// sink attached unless a benchmark says otherwise, so it measures the model and not the log.
//
//   BM_PageTableBuild         PageTable::alloc + set_pte_at of N leaf PTEs into empty tables
//   BM_PageTableBuild_*Sink   the same with an EventLog / a counting sink on the bus
//   BM_PteStore               set_pte_at of N leaf PTEs into existing tables, each via alloc()
//   BM_PteStoreInTable        the same, stepping a PteRef along each PTE table
//   BM_CpuTouch               a CPU reading N mapped pages once each (TLB miss, walk, A bit, fill)
//   BM_DeviceTouch            an ATS device reading N mapped pages (ATC miss, IOTLB miss, walk, fills)
//   BM_TlbRangeInvalidate     TranslationCache::invalidate_range over N cached pages
//   BM_IommuRangeInvalidate   one IOTLB + one ATC range command over N pages, then a sync
//   BM_IommuPageInvalidate    N per-page IOTLB + ATC commands, then a sync
//   BM_StateBytes             model bytes per mapped page (counter only)
//
// Counters: items_per_second = pages per second; pte_ops_per_s = simulated page-table entry
// loads/stores per second as the simulated kernel or hardware issues them (a leaf store per page
// for building; a leaf load plus an accessed-bit store per first touch); bytes_per_page.
// Inputs are deterministic: pages are contiguous from kBase, frames come from a fresh PhysMem.
#include <benchmark/benchmark.h>

#include <cstdint>
#include <memory>
#include <vector>

#include "iommu/iommu.h"
#include "model/cpu.h"
#include "model/event.h"
#include "model/page_table.h"
#include "model/phys_mem.h"
#include "model/translation_cache.h"

namespace tlbsim {
namespace {

constexpr Vaddr kBase{0x10000000};  // 256 MiB, 2 MiB aligned
constexpr MmId kMm{0};
constexpr uint32_t kTag = 1;
constexpr Pasid kPasid{1};

/// A sink that only counts, to separate the cost of stamping/fanning out from storing.
class CountingSink : public EventSink {
 public:
  void on_event(const Event&) override { ++m_n; }
  uint64_t count() const { return m_n; }

 private:
  uint64_t m_n = 0;
};

/// One address space's worth of model state: memory, a page table, N mapped pages.
struct Machine {
  explicit Machine(EventSink* sink = nullptr) : mem(PhysMemConfig{}, bus) {
    if (sink) bus.add_sink(sink);
    pt = std::make_unique<PageTable>(mem, kMm);
  }
  /// Map N contiguous pages at kBase, one anonymous frame each (do_anonymous_page()).
  void map(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) {
      const Vaddr va = kBase + i * kPageSize;
      const Pfn data = mem.alloc(FrameKind::Anon, 1, uint32_t(i), "do_anonymous_page");
      pt->set(pt->alloc(va, 1, "__pte_alloc"), va, Pte::make(data, true), "set_pte_at");
    }
  }
  WalkContext ctx() const { return WalkContext{kMm, kTag, pt->pgd()}; }

  EventBus bus;
  PhysMem mem;
  std::unique_ptr<PageTable> pt;
};

void set_counters(benchmark::State& state, uint64_t pages_per_iter, uint64_t pte_ops_per_iter) {
  state.SetItemsProcessed(int64_t(state.iterations() * pages_per_iter));
  state.counters["pte_ops_per_s"] = benchmark::Counter(double(state.iterations() * pte_ops_per_iter), benchmark::Counter::kIsRate);
}

// (a) Building page tables: the timed loop is exactly alloc + set per page. Data frames are
// allocated beforehand (alloc_frames) so the PTE path is what is measured; table pages are
// allocated inside the loop, as __pte_alloc() does.
std::vector<Pfn> alloc_frames(Machine& m, uint64_t n) {
  std::vector<Pfn> frames(n);
  for (uint64_t i = 0; i < n; ++i) frames[i] = m.mem.alloc(FrameKind::Anon, 1, uint32_t(i), "alloc_pages");
  return frames;
}

void build_tables(Machine& m, const std::vector<Pfn>& frames) {
  for (uint64_t i = 0; i < frames.size(); ++i) {
    const Vaddr va = kBase + i * kPageSize;
    m.pt->set(m.pt->alloc(va, 1, "__pte_alloc"), va, Pte::make(frames[i], true), "set_pte_at");
  }
  benchmark::DoNotOptimize(m.pt->tables());
}

void BM_PageTableBuild(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto m = std::make_unique<Machine>();
    const std::vector<Pfn> frames = alloc_frames(*m, n);
    state.ResumeTiming();
    build_tables(*m, frames);
    state.PauseTiming();
    m.reset();
    state.ResumeTiming();
  }
  set_counters(state, n, n);
}

// (a') Rewriting N leaf PTEs whose tables already exist, two ways: through PageTable::alloc()
// from the PGD for every page (what a path that looks up each address does), and through a
// PteRef stepped along the PTE table (what zap_pte_range()/set_ptes() do: pte_offset_map_lock()
// once per table, then one store per entry).
// Every iteration is `rewrite(m, n, round)` alone, on N pages mapped beforehand; the round
// (1, 2, ...) goes into the frame numbers so no store rewrites the value already there.
template <class Rewrite>
void pte_store(benchmark::State& state, Rewrite rewrite) {
  const uint64_t n = uint64_t(state.range(0));
  Machine m;
  m.map(n);
  uint64_t round = 0;
  for (auto _ : state) rewrite(m, n, ++round);
  set_counters(state, n, n);
}

void BM_PteStore(benchmark::State& state) {
  pte_store(state, [](Machine& m, uint64_t n, uint64_t round) {
    for (uint64_t i = 0; i < n; ++i) {
      const Vaddr va = kBase + i * kPageSize;
      m.pt->set(m.pt->alloc(va, 1, "__pte_alloc"), va, Pte::make(Pfn{uint32_t(i + round)}, true), "set_pte_at");
    }
  });
}

void BM_PteStoreInTable(benchmark::State& state) {
  pte_store(state, [](Machine& m, uint64_t n, uint64_t round) {
    for (uint64_t t = 0; t < n; t += kPtrsPerTable) {
      PteRef r = m.pt->lookup(kBase + t * kPageSize, 1);
      for (uint64_t i = t; i < t + kPtrsPerTable && i < n; ++i, ++r.index)
        m.pt->set(r, kBase + i * kPageSize, Pte::make(Pfn{uint32_t(i + round)}, true), "set_pte_at");
    }
  });
}

template <class SinkT>
void BM_PageTableBuildWithSink(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  uint64_t events = 0;
  for (auto _ : state) {
    state.PauseTiming();
    auto sink = std::make_unique<SinkT>();
    auto m = std::make_unique<Machine>(sink.get());
    const std::vector<Pfn> frames = alloc_frames(*m, n);
    const uint64_t before = m->bus.next_seq();
    state.ResumeTiming();
    build_tables(*m, frames);
    state.PauseTiming();
    events += m->bus.next_seq() - before;
    m.reset();
    sink.reset();
    state.ResumeTiming();
  }
  set_counters(state, n, n);
  state.counters["events_per_page"] = double(events) / double(state.iterations() * n);
}
void BM_PageTableBuild_EventLog(benchmark::State& state) { BM_PageTableBuildWithSink<EventLog>(state); }
void BM_PageTableBuild_CountingSink(benchmark::State& state) { BM_PageTableBuildWithSink<CountingSink>(state); }

// (b) A CPU touching N pages once each. Each page is a TLB miss (N >= 4096 > 1536 entries); the
// walk starts from the walk cache's PMD entry, loads the leaf and stores the accessed bit.
void BM_CpuTouch(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  for (auto _ : state) {
    state.PauseTiming();
    auto m = std::make_unique<Machine>();
    m->map(n);
    auto cpu = std::make_unique<Cpu>(CpuId{0}, CpuConfig{}, m->mem);
    const WalkContext ctx = m->ctx();
    state.ResumeTiming();
    for (uint64_t i = 0; i < n; ++i) benchmark::DoNotOptimize(cpu->access(ctx, kBase + i * kPageSize, false));
    state.PauseTiming();
    cpu.reset();
    m.reset();
    state.ResumeTiming();
  }
  set_counters(state, n, 2 * n);
}

// (c) An ATS device touching N pages once each through an AMD-style IOMMU with default caches:
// ATC miss, IOTLB miss, IOMMU walk (leaf load + accessed-bit store), IOTLB fill, ATC fill.
void BM_DeviceTouch(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  const iommu::CostModel cost{};
  for (auto _ : state) {
    state.PauseTiming();
    auto m = std::make_unique<Machine>();
    m->map(n);
    auto io = std::make_unique<iommu::Iommu>(0, iommu::IommuConfig{}, m->mem, cost);
    const uint16_t dev = io->add_device(iommu::DeviceConfig{.name = "dev0"});
    io->bind(dev, kPasid, m->ctx());
    state.ResumeTiming();
    for (uint64_t i = 0; i < n; ++i) benchmark::DoNotOptimize(io->dma(dev, kPasid, kBase + i * kPageSize, false));
    state.PauseTiming();
    io.reset();
    m.reset();
    state.ResumeTiming();
  }
  set_counters(state, n, 2 * n);
}

// (d) Range invalidation of N pages held in a cache big enough for all of them (N/8 sets x 16
// ways, so hashing never evicts): flush_tlb_range() on one CPU's TLB.
void BM_TlbRangeInvalidate(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  EventBus bus;
  TranslationCache tc(TranslationCacheConfig{.sets = uint32_t(n / 8), .ways = 16}, Holder{HolderKind::CpuTlb, 0}, bus);
  uint64_t dropped = 0;
  for (auto _ : state) {
    state.PauseTiming();
    for (uint64_t i = 0; i < n; ++i) tc.fill(kTag, kMm, kBase + i * kPageSize, Pfn{uint32_t(i)}, true, false, "fill");
    state.ResumeTiming();
    dropped += tc.invalidate_range(kTag, kBase.value(), kBase.value() + n * kPageSize, "flush_tlb_range");
  }
  if (dropped != state.iterations() * n) state.SkipWithError("not every page was dropped");
  state.SetItemsProcessed(int64_t(dropped));
}

/// A device with every one of N pages translated once, for the invalidation benchmarks. The
/// IOTLB and ATC are sized to hold all N pages, so each invalidation drops N entries from each.
struct DeviceMachine {
  explicit DeviceMachine(uint64_t n) {
    m.map(n);
    const TranslationCacheConfig big{.sets = uint32_t(n / 8), .ways = 16};
    io = std::make_unique<iommu::Iommu>(0, iommu::IommuConfig{.iotlb = big}, m.mem, cost);
    dev = io->add_device(iommu::DeviceConfig{.name = "dev0", .atc = big});
    io->bind(dev, kPasid, m.ctx());
  }
  void touch(uint64_t n) {
    for (uint64_t i = 0; i < n; ++i) io->dma(dev, kPasid, kBase + i * kPageSize, false);
  }
  Machine m;
  iommu::CostModel cost{};
  std::unique_ptr<iommu::Iommu> io;
  uint16_t dev = 0;
};

// (d) Through the IOMMU command queue: one IOTLB range command and one ATC range command (the
// AMD v2 / VT-d PSI shape for a large range), then a sync.
void BM_IommuRangeInvalidate(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  DeviceMachine d(n);
  const uint64_t start = kBase.value(), end = kBase.value() + n * kPageSize;
  for (auto _ : state) {
    state.PauseTiming();
    d.touch(n);
    state.ResumeTiming();
    d.io->queue().submit(
        iommu::InvCmd{.kind = iommu::InvCmdKind::IotlbRange, .pasid = kPasid.value(), .start = start, .end = end, .func = "iotlb range"});
    d.io->queue().submit(iommu::InvCmd{
        .kind = iommu::InvCmdKind::AtcRange, .pasid = kPasid.value(), .start = start, .end = end, .device = d.dev, .func = "atc range"});
    d.io->queue().sync("sync");
  }
  if (d.io->iotlb().occupancy() || d.io->atc(d.dev).occupancy()) state.SkipWithError("entries survived");
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

// (d) The per-page shape (SMMUv3 without range invalidation, each TLBI_NH_VA + ATC_INV): 2N
// commands, then one sync.
void BM_IommuPageInvalidate(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  DeviceMachine d(n);
  for (auto _ : state) {
    state.PauseTiming();
    d.touch(n);
    state.ResumeTiming();
    for (uint64_t i = 0; i < n; ++i) {
      const uint64_t va = kBase.value() + i * kPageSize;
      d.io->queue().submit(iommu::InvCmd{.kind = iommu::InvCmdKind::IotlbRange,
                                         .pasid = kPasid.value(),
                                         .start = va,
                                         .end = va + kPageSize,
                                         .leaf_only = true,
                                         .func = "tlbi"});
      d.io->queue().submit(iommu::InvCmd{.kind = iommu::InvCmdKind::AtcRange,
                                         .pasid = kPasid.value(),
                                         .start = va,
                                         .end = va + kPageSize,
                                         .device = d.dev,
                                         .func = "atc inv"});
    }
    d.io->queue().sync("sync");
  }
  if (d.io->iotlb().occupancy() || d.io->atc(d.dev).occupancy()) state.SkipWithError("entries survived");
  state.SetItemsProcessed(int64_t(state.iterations() * n));
}

// (e) Model state per mapped page after mapping N pages (frame slots, table bodies and their
// chunks of entries, as PhysMem::state_bytes() counts them). bytes_per_page is what state_bytes()
// reports (the last block's spare frame slots included); live_bytes_per_page counts only the
// frames and the table chunks in use, to show how much is allocator slack.
void BM_StateBytes(benchmark::State& state) {
  const uint64_t n = uint64_t(state.range(0));
  double bytes = 0, live = 0, frames = 0, tables = 0;
  for (auto _ : state) {
    Machine m;
    m.map(n);
    bytes = double(m.mem.state_bytes() + sizeof(PageTable));
    frames = double(m.mem.frames_total() * PhysMem::kSlotBytes);
    tables = double(m.mem.tables_in_use() * sizeof(PhysMem::TableBody) +
                    (m.mem.table_chunks() - m.mem.free_table_chunks()) * sizeof(TableChunkPool::Chunk));
    live = frames + tables + double(sizeof(PageTable));
    benchmark::DoNotOptimize(bytes);
  }
  state.SetItemsProcessed(int64_t(state.iterations() * n));
  state.counters["bytes_per_page"] = bytes / double(n);
  state.counters["live_bytes_per_page"] = live / double(n);
  state.counters["frame_bytes_per_page"] = frames / double(n);
  state.counters["table_bytes_per_page"] = tables / double(n);
}

}  // namespace

BENCHMARK(BM_PageTableBuild)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PteStore)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PteStoreInTable)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PageTableBuild_EventLog)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_PageTableBuild_CountingSink)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_CpuTouch)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_DeviceTouch)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_TlbRangeInvalidate)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IommuRangeInvalidate)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_IommuPageInvalidate)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_StateBytes)->RangeMultiplier(8)->Range(1 << 12, 1 << 18)->Unit(benchmark::kMillisecond)->Iterations(1);

}  // namespace tlbsim

BENCHMARK_MAIN();
