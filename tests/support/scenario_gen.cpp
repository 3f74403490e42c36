// SPDX-License-Identifier: MIT
#include "support/scenario_gen.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "kernel/policy.h"
#include "kernel/sva.h"
#include "scenarios/errors.h"
#include "scenarios/loader.h"
#include "scenarios/ops.h"
#include "scenarios/rng.h"

namespace tlbsim::test {

using scenarios::SplitMix64;
using scenarios::ThreadKind;
using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kBase = 0x40000000;             // the main VMA
constexpr uint64_t kOther = 0x50000000;            // the optional second VMA (and an mremap destination)
constexpr uint64_t kFree = 0x60000000;             // never mapped at setup: the other mremap destination
constexpr uint64_t kHeap = 0x70000000;             // the empty heap of a brk op when the main VMA cannot be it
constexpr uint64_t kVmalloc = 0xffffc90000000000;  // the vmalloc area of a kernel-half scenario

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

class Gen {
 public:
  Gen(uint64_t seed, unsigned attempt)
      : m_seed(seed), m_attempt(attempt), m_rng(SplitMix64(seed).next() + attempt * 0x9e3779b97f4a7c15ull) {}

  std::string run(unsigned attempt) {
    const auto& all = scenarios::ops();
    const auto& decs = kernel::decodings();
    const scenarios::OpInfo& primary = all[m_seed % all.size()];
    const kernel::DecodingInfo& dec = decs[(m_seed / all.size()) % decs.size()];
    m_arm = dec.kind() == iommu::IommuKind::SmmuV3;

    // Threads and their op kinds first; the memory layout follows from what they need.
    struct Plan {
      ThreadKind kind;
      std::vector<std::string> ops;
    };
    std::vector<Plan> plan;
    const unsigned nthreads = 2 + (pick(3) == 0 ? 1 : 0);
    plan.push_back({primary.kind, {std::string(primary.name())}});
    if (pick(3) == 0) {
      const std::string other = op_of_kind(primary.kind);
      if (pick(2))
        plan[0].ops.push_back(other);
      else
        plan[0].ops.insert(plan[0].ops.begin(), other);
    }
    while (plan.size() < nthreads) {
      // Half the companions of a CPU or kernel op are DMA (the races the explorer is for: a
      // device's caches against a kernel path); the rest are any op.
      const bool dma = primary.kind != ThreadKind::Device && pick(2);
      const scenarios::OpInfo& o = dma ? *scenarios::find_op(pick(2) ? "dma_read" : "dma_write") : all[pick(all.size())];
      Plan p{o.kind, {std::string(o.name())}};
      if (nthreads == 2 && pick(4) == 0) p.ops.push_back(op_of_kind(o.kind));
      plan.push_back(p);
    }
    // The kernel half is x86's: on arm64 a kernel-half op becomes a reclaim (as a ksm_merge of
    // one page does). ioremap_huge needs the area in its block vfree()d first by its thread.
    // One thread at most frees the one area (a second vfree or ioremap of it is refused), and
    // one op is the kernel_pgtable_work worker, which an ioremap needs.
    bool half_taken = false, worker = false;
    for (Plan& p : plan)
      for (std::string& op : p.ops)
        if (op == "kernel_pgtable_work" && std::exchange(worker, true)) op = "reclaim";
    for (Plan& p : plan) {
      bool mine = false;
      for (std::string& op : p.ops)
        if (op == "vfree" || op == "ioremap_huge") {
          if (m_arm || (half_taken && !mine))
            op = "reclaim";
          else
            mine = true;
        }
      half_taken = half_taken || mine;
      const auto remap = std::find(p.ops.begin(), p.ops.end(), "ioremap_huge");
      if (remap != p.ops.end() && std::find(p.ops.begin(), remap, "vfree") == remap) {
        p.ops.erase(std::remove(p.ops.begin(), p.ops.end(), "vfree"), p.ops.end());
        p.ops.insert(std::find(p.ops.begin(), p.ops.end(), "ioremap_huge"), "vfree");
      }
    }
    // The worker returns only once every ioremap has run: it is its thread's last op.
    for (Plan& p : plan)
      std::stable_partition(p.ops.begin(), p.ops.end(), [](const std::string& op) { return op != "kernel_pgtable_work"; });
    const bool remaps = std::any_of(plan.begin(), plan.end(),
                                    [](const Plan& p) { return std::find(p.ops.begin(), p.ops.end(), "ioremap_huge") != p.ops.end(); });
    if (remaps && !worker) plan.push_back({ThreadKind::Kernel, {"kernel_pgtable_work"}});
    for (const Plan& p : plan)
      for (const std::string& op : p.ops) {
        if (op == "vfree" || op == "ioremap_huge") m_kernel_half = true;
        if (op == "khugepaged_retract") m_huge = m_file = true;
        if (op == "truncate") m_file = true;
        if (op == "brk") m_brk = true;
        if (op == "sva_bind") m_sva_bind = true;
      }
    m_pages = 1 + pick(4);
    if (!m_file && !m_huge) m_file = pick(2);
    // Sometimes anonymous huge pages: a 512-page VMA mapped by a huge PMD, which the ops on its
    // first pages split (and khugepaged_collapse may find PTEs to collapse again).
    m_thp = !m_file && !m_huge && pick(4) == 0;
    m_shared = m_file && pick(2);

    Json s;
    s["name"] = "gen-" + std::to_string(m_seed) + "-" + std::to_string(attempt);
    s["source"] = "tests/support/scenario_gen.cpp, seed " + std::to_string(m_seed) + " attempt " + std::to_string(attempt);
    s["arch"] = m_arm ? "arm64" : "x86";
    unsigned cpus = 0, devices = 0, kthreads = 0;
    for (const Plan& p : plan) {
      cpus += p.kind == ThreadKind::Cpu;
      devices += p.kind == ThreadKind::Device;
    }
    s["cpus"] = std::max(2u, cpus);
    // Devices: one per device thread, and otherwise usually one with no DMA of its own (its
    // IOMMU still gets the invalidations the kernel paths send).
    const unsigned ndev = devices ? devices : (pick(4) || m_sva_bind ? 1 : 0);
    Json devs = Json::array();
    for (unsigned i = 0; i < ndev; ++i) {
      Json d;
      d["name"] = "d" + std::to_string(i);
      d["decoding"] = std::string(i == 0 ? dec.name : decoding_like(dec));
      if (pick(4) == 0) d["ats"] = false;
      // Walk caches on and off: half the seeds of each op and decoding.
      d["walk_cache_entries"] = ((m_seed / (all.size() * decs.size()) + i) % 2) ? 0 : 16;
      if (pick(4) == 0) d["cache_nonleaf_on_fault"] = false;
      if (m_arm && pick(3) == 0) d["btm"] = true;
      // The other hardware parameters, each away from its default now and then.
      if (pick(6) == 0) d["permission_fault_rewalks"] = m_arm;
      if (pick(4) == 0) d["nopasid_inv_covers_pasid"] = false;
      if (!m_arm && pick(4) == 0) d["cache_nonleaf_on_supervisor_fault"] = false;
      // Drawn apart from m_rng, so that the keys added before it keep every seed's scenario.
      if (SplitMix64(m_seed * 0x100000001b3ull + uint64_t{m_attempt} * 8 + i + 0x0de5).below(3) == 0) d["cmds_complete_in_order"] = false;
      if (SplitMix64(m_seed * 0x100000001b3ull + uint64_t{m_attempt} * 8 + i + 0x9a51d).below(4) == 0) d["pasid_table_cached"] = false;
      devs.push_back(d);
    }
    if (ndev) s["devices"] = devs;
    if (m_file) {
      Json f;
      f["name"] = "f";
      f["pages"] = m_huge ? 512 : m_pages + pick(2);
      s["files"] = Json::array({f});
    }
    // Sometimes, on x86, a vmalloc area a device can probe (its walk caches the kernel's upper
    // entries, then faults) even when no op frees it.
    if (!m_arm && !m_kernel_half && devices && pick(4) == 0) m_kernel_half = true;
    if (m_kernel_half) {
      m_vmalloc_pages = 1 + pick(2);
      Json v;
      v["addr"] = hex(kVmalloc);
      v["pages"] = m_vmalloc_pages;
      s["vmalloc"] = Json::array({v});
    }
    Json mm;
    mm["name"] = "proc";
    if (ndev) {
      Json bind = Json::array();
      // An sva_bind op binds d0 during the run (its first bind: the PASID, the notifier, the
      // PASID-table entry); its DMA does nothing until then.
      for (unsigned i = m_sva_bind ? 1 : 0; i < ndev; ++i) bind.push_back("d" + std::to_string(i));
      if (!bind.empty()) mm["bind"] = bind;
    }
    Json vmas = Json::array();
    {
      Json v;
      v["start"] = hex(kBase);
      v["pages"] = m_huge || m_thp ? 512 : m_pages;
      if (m_file) {
        v["file"] = "f";
        if (m_shared) v["shared"] = true;
      }
      static const char* const populate[] = {"none", "read", "write"};
      if (m_thp)
        v["thp"] = true;
      else
        v["populate"] = populate[(m_seed / (all.size() * decs.size() * 2) + pick(3)) % 3];
      vmas.push_back(v);
    }
    if (pick(3) == 0) {
      m_second = true;
      Json v;
      v["start"] = hex(kOther);
      v["pages"] = 1;
      if (pick(2)) v["populate"] = "write";
      vmas.push_back(v);
    }
    mm["vmas"] = vmas;
    // For a brk op, the heap is the main VMA when it is private anonymous memory of small
    // pages (brk then shrinks it: munmap's route), else empty at kHeap (brk grows it).
    if (m_brk) {
      if (heap_is_main()) {
        mm["brk"] = hex(kBase + m_pages * kPage);
        mm["start_brk"] = hex(kBase);
      } else {
        mm["brk"] = hex(kHeap);
      }
    }
    s["mms"] = Json::array({mm});

    Json threads = Json::array();
    unsigned cpu = 0, dev = 0;
    for (const Plan& p : plan) {
      Json t;
      Json ops = Json::array();
      for (const std::string& op : p.ops) ops.push_back(make_op(op));
      switch (p.kind) {
        case ThreadKind::Cpu:
          t["name"] = "T" + std::to_string(cpu);
          t["cpu"] = cpu++;
          t["mm"] = "proc";
          break;
        case ThreadKind::Device:
          t["name"] = "dev" + std::to_string(dev);
          t["device"] = "d" + std::to_string(dev++);
          t["mm"] = "proc";
          break;
        case ThreadKind::Kernel: {
          const std::string& first = p.ops.front();
          const std::string name = first == "khugepaged_retract" ? "khugepaged" : "k" + first;
          t["name"] = name + std::to_string(kthreads++);
          t["kernel"] = true;
          break;
        }
      }
      t["ops"] = ops;
      threads.push_back(t);
    }
    // Sometimes a thread in the child of a fork: it starts once the fork has returned.
    const size_t planned = threads.size();
    for (size_t i = 0; i < planned && threads.size() < 4; ++i)
      for (const Json& o : threads[i]["ops"])
        if (o.is_object() && o["op"] == "fork" && pick(2)) {
          Json c;
          c["name"] = "C" + std::to_string(cpu);
          c["cpu"] = cpu++;
          c["mm"] = o["name"];
          c["ops"] = Json::array({make_op(pick(2) ? "write" : "read")});
          threads.push_back(c);
          s["cpus"] = std::max(s["cpus"].get<unsigned>(), cpu);
          break;
        }
    s["threads"] = threads;
    Json doc;
    doc["scenarios"] = Json::array({s});
    return doc.dump(1);
  }

 private:
  uint64_t pick(uint64_t n) { return m_rng.below(n); }
  bool heap_is_main() const { return !m_file && !m_huge && !m_thp; }

  std::string op_of_kind(ThreadKind k) {
    std::vector<std::string> names;
    for (const auto& o : scenarios::ops())
      if (o.kind == k) names.push_back(std::string(o.name()));
    return names[pick(names.size())];
  }

  std::string decoding_like(const kernel::DecodingInfo& d) {
    std::vector<std::string> names;
    for (const auto& x : kernel::decodings())
      if ((x.kind() == iommu::IommuKind::SmmuV3) == (d.kind() == iommu::IommuKind::SmmuV3)) names.push_back(std::string(x.name));
    for (const auto& x : kernel::drivers())  // a family: the decoding follows the policy
      if ((x.driver == kernel::SvaDriver::SmmuV3) == (d.kind() == iommu::IommuKind::SmmuV3)) names.push_back(std::string(x.name));
    return names[pick(names.size())];
  }

  /// A range of the main VMA's first m_pages pages (the ones the ops work on).
  void range(Json& o, bool whole_ok = true) {
    const uint64_t first = pick(m_pages);
    const uint64_t n = 1 + pick(m_pages - first);
    o["addr"] = hex(kBase + first * kPage);
    if (n > 1 || (whole_ok && pick(2))) o["pages"] = n;
  }

  Json make_op(const std::string& op) {
    Json o;
    o["op"] = op;
    if ((op == "dma_read" || op == "dma_write") && m_kernel_half && pick(2)) {
      o["addr"] = hex(kVmalloc + pick(m_vmalloc_pages) * kPage);  // a kernel address: faults
    } else if (op == "vfree") {
      o["addr"] = hex(kVmalloc);
      o["pages"] = m_vmalloc_pages;
    } else if (op == "ioremap_huge") {
      o["addr"] = hex(kVmalloc);
    } else if (op == "dma_read" || op == "dma_write") {
      // Usually two pages or more when there are: the second walk can start from the walk
      // cache that the first filled.
      if (m_pages > 1 && pick(3)) {
        const uint64_t first = pick(m_pages - 1);
        o["addr"] = hex(kBase + first * kPage);
        o["pages"] = 2 + pick(m_pages - first - 1);
      } else {
        range(o);
      }
    } else if (op == "read" || op == "write" || op == "munmap" || op == "madvise_dontneed" || op == "madvise_free" || op == "migrate_vma") {
      range(o);
    } else if (op == "fork") {
      o["name"] = "child" + std::to_string(m_children++);
    } else if (op == "sva_bind") {
      o["device"] = "d0";
    } else if (op == "mremap") {
      range(o);
      o["new_addr"] = hex(m_second && pick(2) ? kOther : kFree);
      if (pick(2) == 0) o["dontunmap"] = true;  // MREMAP_DONTUNMAP: the source stays mapped, empty
    } else if (op == "brk") {
      // The main VMA's heap shrunk to any of its pages, kept or grown; an empty heap grown.
      o["addr"] = hex(heap_is_main() ? kBase + pick(m_pages + 2) * kPage : kHeap + pick(3) * kPage);
    } else if (op == "mprotect") {
      range(o);
      o["prot"] = pick(3) ? "r" : "rw";
    } else if (op == "mmap") {
      // Mostly MAP_FIXED over part of the main VMA (its old pages and perhaps its tables go
      // under the write lock); else failing with -EEXIST there, or into the free area. Of the
      // file, shmem or anonymous memory; sometimes populated.
      if (pick(4)) {
        range(o);
        if (pick(4)) o["fixed"] = true;
      } else {
        o["addr"] = hex(kFree);
      }
      o["prot"] = pick(3) ? "rw" : "r";
      if (m_file && pick(3) == 0) {
        o["file"] = "f";  // as many pages as the main VMA
        if (pick(2)) o["shared"] = true;
      } else if (pick(4) == 0) {
        o["shared"] = true;
      }
      if (pick(3) == 0) o["populate"] = true;
    } else if (op == "truncate") {
      file_range(o);
    } else if (op == "reclaim" || op == "migrate") {
      if (m_file && pick(2)) {
        file_range(o);
      } else {
        o["mm"] = "proc";
        range(o);
      }
    } else if (op == "khugepaged_retract") {
      o["file"] = "f";
      o["index"] = 0;
    } else if (op == "khugepaged_collapse") {
      o["mm"] = "proc";
      o["addr"] = hex(kBase);
    } else if (op == "ksm_merge") {
      // Two pages or more of proc's range (a one-page range cannot merge: the loader says so);
      // with one page, a reclaim of it instead.
      o["mm"] = "proc";
      if (m_pages < 2) {
        o["op"] = "reclaim";
        range(o);
      } else {
        const uint64_t first = pick(m_pages - 1);
        o["addr"] = hex(kBase + first * kPage);
        o["pages"] = 2 + pick(m_pages - first - 1);
      }
    }
    // "exit" has no keys.
    return o;
  }

  void file_range(Json& o) {
    const uint64_t first = pick(m_pages);
    const uint64_t n = 1 + pick(m_pages - first);
    o["file"] = "f";
    o["index"] = first;
    o["pages"] = n;
  }

  uint64_t m_seed;
  unsigned m_attempt;
  SplitMix64 m_rng;
  bool m_arm = false, m_file = false, m_huge = false, m_shared = false, m_second = false, m_thp = false, m_brk = false;
  bool m_kernel_half = false;
  bool m_sva_bind = false;
  uint64_t m_pages = 1, m_vmalloc_pages = 1;
  unsigned m_children = 0;
};

}  // namespace

std::string generate_scenario(uint64_t seed, unsigned attempt) { return Gen(seed, attempt).run(attempt); }

std::optional<GeneratedScenario> pick_scenario(uint64_t seed, const std::vector<std::string>& policies, uint64_t max_schedules,
                                               GenStats& stats, unsigned max_attempts) {
  ++stats.seeds;
  for (unsigned attempt = 0; attempt < max_attempts; ++attempt) {
    GeneratedScenario g;
    g.seed = seed;
    g.attempt = attempt;
    g.text = generate_scenario(seed, attempt);
    ++stats.generated;
    try {
      g.file = scenarios::parse_scenario_text(g.text, "gen-" + std::to_string(seed) + ".json");
    } catch (const scenarios::ScenarioError&) {
      ++stats.loader_rejected;
      continue;
    }
    bool fits = true;
    for (const std::string& pol : policies) {
      Enumerated e = enumerate_all(g.file.scenarios.at(0), *kernel::find_policy(pol), -1, max_schedules + 1);
      stats.schedules += e.schedules;
      if (e.capped || e.schedules > max_schedules) {
        fits = false;
        break;
      }
      g.enumerated.emplace(pol, std::move(e));
    }
    if (!fits) {
      ++stats.too_large;
      continue;
    }
    return g;
  }
  ++stats.gave_up;
  return std::nullopt;
}

}  // namespace tlbsim::test
