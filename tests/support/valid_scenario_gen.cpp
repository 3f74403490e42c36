// SPDX-License-Identifier: MIT
#include "support/valid_scenario_gen.h"

#include <algorithm>
#include <cstdio>
#include <set>
#include <vector>

#include <nlohmann/json.hpp>

#include "kernel/sva.h"
#include "scenarios/ops.h"
#include "scenarios/rng.h"

namespace tlbsim::test {

using scenarios::SplitMix64;
using scenarios::ThreadKind;
using Json = nlohmann::ordered_json;

namespace {

constexpr uint64_t kPage = 0x1000;
constexpr uint64_t kPmd = 0x200000;
constexpr uint64_t kFirstVma = 0x40000000;
constexpr uint64_t kFree = 0x70000000;  // never mapped at setup: an mremap destination
constexpr uint64_t kHugePages = 512;
constexpr uint64_t kVmalloc = 0xffffc90000000000;  // VMALLOC_START
// The longest op range: with every invariant checked after each step, a run costs about the
// square of the pages an op walks, and one 900-page reclaim took minutes.
constexpr uint64_t kMaxOpPages = 256;

std::string hex(uint64_t v) {
  char b[32];
  std::snprintf(b, sizeof b, "0x%llx", static_cast<unsigned long long>(v));
  return b;
}

struct FileL {
  std::string name;
  uint64_t pages = 1;
  uint64_t hot = 0;  ///< a page index the VMAs map, where file ranges start most often
};

struct VmaL {
  uint64_t start = 0, pages = 1;
  int file = -1;
  uint64_t pgoff = 0;
  bool shared = false, writable = true, pfnmap = false, thp = false;
  uint64_t end() const { return start + pages * kPage; }
};

/// Adjacent VMAs form one extent: an op range may span them (the loader asks only that every
/// page is mapped at setup).
struct Extent {
  uint64_t start = 0, pages = 0;
};

struct MmL {
  std::string name;
  std::vector<VmaL> vmas;
  std::vector<Extent> extents;
  uint64_t hot = 0;                 ///< the address of a page most op ranges start near
  uint64_t start_brk = 0, brk = 0;  ///< the heap: its last VMA when that is private anonymous memory, else empty
};

class Gen {
 public:
  explicit Gen(uint64_t seed) : m_seed(seed), m_rng(SplitMix64(seed ^ 0x5eed5eed5eedull).next()) {}

  std::string run() {
    const auto& all = scenarios::ops();
    const auto& decs = kernel::decodings();
    const scenarios::OpInfo& primary = all[m_seed % all.size()];
    const kernel::DecodingInfo& dec = decs[(m_seed / all.size()) % decs.size()];
    m_arm = dec.kind() == iommu::IommuKind::SmmuV3;

    Json s;
    s["name"] = "valid-" + std::to_string(m_seed);
    s["source"] = "tests/support/valid_scenario_gen.cpp, seed " + std::to_string(m_seed);
    s["arch"] = m_arm ? "arm64" : "x86";
    m_cpus = draw_cpus();
    s["cpus"] = m_cpus;
    if (pick(2)) s["tlb_entries"] = cache_size();
    if (pick(3) == 0) s["reuse"] = "fifo";
    // A bound on a run that livelocks; far above what any generated scenario needs otherwise.
    s["max_steps"] = 200000;

    make_files(primary.id == scenarios::Op::khugepaged_retract || pick(5) == 0);
    make_mms();
    // The kernel half (x86 only): vmalloc areas in the first 2 MiB blocks of vmalloc space.
    if (!m_arm && (primary.id == scenarios::Op::vfree || primary.id == scenarios::Op::ioremap_huge || pick(4) == 0)) {
      Json areas = Json::array();
      const unsigned n = 1 + static_cast<unsigned>(pick(3));
      for (unsigned i = 0; i < n; ++i) {
        // Two areas may share a block: an ioremap of it then needs both freed first.
        const uint64_t at = kVmalloc + pick(3) * kPmd + (uint64_t{i} * 8 + pick(4)) * kPage;
        m_areas.push_back({at, 1 + pick(4)});
        areas.push_back({{"addr", hex(at)}, {"pages", m_areas.back().pages}});
      }
      s["vmalloc"] = areas;
    }
    Json files = Json::array();
    for (const FileL& f : m_files) files.push_back({{"name", f.name}, {"pages", f.pages}});
    s["files"] = files;

    const bool need_device = primary.kind == ThreadKind::Device;
    const Json devices = make_devices(dec, need_device);
    if (!devices.empty()) s["devices"] = devices;

    Json mms = Json::array();
    for (size_t i = 0; i < m_mms.size(); ++i) mms.push_back(mm_json(i));
    s["mms"] = mms;

    s["threads"] = make_threads(primary);
    switch (pick(3)) {
      case 0: break;  // round-robin, the default
      case 1: s["schedule"] = "random"; break;
      default: s["schedule"] = {{"random", m_rng.next() >> 1}}; break;
    }
    Json doc;
    doc["scenarios"] = Json::array({s});
    return doc.dump(1);
  }

 private:
  uint64_t pick(uint64_t n) { return m_rng.below(n); }

  unsigned draw_cpus() {
    switch (pick(4)) {
      case 0: return 1 + static_cast<unsigned>(pick(4));
      case 1: return 1 + static_cast<unsigned>(pick(64));
      case 2: return 64;
      default: return 2 + static_cast<unsigned>(pick(7));
    }
  }

  /// 1 to 4096 entries, small sizes (constant eviction) as often as big ones.
  uint64_t cache_size() {
    static const uint64_t sizes[] = {1, 2, 3, 4, 7, 8, 16, 64, 128, 512, 1536, 4096};
    return sizes[pick(std::size(sizes))];
  }

  /// 1 to 400 pages, mostly small: ops on small VMAs collide more.
  uint64_t vma_pages() {
    switch (pick(4)) {
      case 0: return 1;
      case 1: return 2 + pick(7);
      case 2: return 9 + pick(56);
      default: return pick(2) ? 1 + pick(8) : 65 + pick(336);
    }
  }

  void make_files(bool huge) {
    const unsigned n = 1 + static_cast<unsigned>(pick(2));
    for (unsigned i = 0; i < n; ++i) m_files.push_back({"f" + std::to_string(i), vma_pages() + pick(4), 0});
    // The file khugepaged collapses: 512 pages (or two huge pages' worth), mapped 2 MiB-aligned.
    if (huge) {
      m_huge = static_cast<int>(m_files.size());
      m_files.push_back({"huge", pick(3) ? kHugePages : 2 * kHugePages, 0});
    }
  }

  void make_mms() {
    const unsigned n = 1 + static_cast<unsigned>(pick(3) == 0 ? 1 + pick(2) : 0);
    for (unsigned i = 0; i < n; ++i) {
      MmL mm;
      mm.name = "m" + std::to_string(i);
      uint64_t cursor = kFirstVma;
      const unsigned nvmas = 1 + static_cast<unsigned>(pick(4));
      for (unsigned v = 0; v < nvmas; ++v) {
        VmaL vma;
        const bool huge = m_huge >= 0 && ((i == 0 && v == 0) || pick(4) == 0);
        if (huge) {
          vma.file = m_huge;
          vma.pages = kHugePages;
          vma.pgoff = m_files[m_huge].pages > kHugePages && pick(2) ? kHugePages : 0;
          vma.shared = pick(2);
          cursor = (cursor + kPmd - 1) / kPmd * kPmd;
          // Sometimes not PMD-aligned: retract_page_tables() must skip such a mapping.
          if (pick(5) == 0) cursor += kPage;
        } else {
          cursor += pick(3) == 0 ? 0 : (1 + pick(16)) * kPage;
          vma.pages = vma_pages();
          if (pick(2)) {
            vma.file = static_cast<int>(pick(m_files.size()));
            FileL& f = m_files[vma.file];
            vma.pages = std::min(vma.pages, f.pages);
            vma.pgoff = pick(f.pages - vma.pages + 1);
            vma.shared = pick(2);
          } else if (pick(8) == 0) {
            vma.pfnmap = true;
          } else if (pick(10) == 0) {
            // Anonymous huge pages: 2 MiB-aligned, one or two huge PMDs.
            vma.thp = true;
            vma.pages = kHugePages * (1 + pick(2));
            cursor = (cursor + kPmd - 1) / kPmd * kPmd;
          }
        }
        vma.start = cursor;
        vma.writable = pick(6) != 0;
        cursor = vma.end();
        if (vma.file >= 0 && !m_files[vma.file].hot) m_files[vma.file].hot = vma.pgoff + pick(vma.pages);
        mm.vmas.push_back(vma);
      }
      for (const VmaL& v : mm.vmas) {
        if (!mm.extents.empty() && mm.extents.back().start + mm.extents.back().pages * kPage == v.start)
          mm.extents.back().pages += v.pages;
        else
          mm.extents.push_back({v.start, v.pages});
      }
      const VmaL& first = mm.vmas.front();
      mm.hot = first.start + pick(first.pages) * kPage;
      // The heap: the last VMA when brk could have made it (private, writable, anonymous,
      // small pages), else empty a few pages above the last VMA.
      const VmaL& last = mm.vmas.back();
      if (last.file < 0 && !last.pfnmap && !last.thp && last.writable && pick(2)) {
        mm.start_brk = last.start;
        mm.brk = last.end();
      } else {
        mm.start_brk = mm.brk = cursor + pick(3) * kPage;
      }
      m_mms.push_back(mm);
    }
  }

  Json mm_json(size_t i) {
    const MmL& mm = m_mms[i];
    Json m;
    m["name"] = mm.name;
    Json bind = Json::array();
    for (size_t d = 0; d < m_device_mm.size(); ++d)
      if (m_device_mm[d] == static_cast<int>(i)) bind.push_back("d" + std::to_string(d));
    if (!bind.empty()) m["bind"] = bind;
    m["brk"] = hex(mm.brk);
    if (mm.start_brk != mm.brk) m["start_brk"] = hex(mm.start_brk);
    Json vmas = Json::array();
    for (const VmaL& v : mm.vmas) {
      Json j;
      j["start"] = hex(v.start);
      j["pages"] = v.pages;
      if (!v.writable) j["prot"] = "r";
      if (v.file >= 0) {
        j["file"] = m_files[v.file].name;
        if (v.pgoff) j["pgoff"] = v.pgoff;
        if (v.shared) j["shared"] = true;
      }
      if (v.pfnmap) {
        j["pfnmap"] = true;
      } else if (v.thp) {
        j["thp"] = true;
      } else {
        const unsigned p = static_cast<unsigned>(pick(3));
        if (p == 1 || (p == 2 && !v.writable)) j["populate"] = "read";
        if (p == 2 && v.writable) j["populate"] = "write";
      }
      vmas.push_back(j);
    }
    m["vmas"] = vmas;
    return m;
  }

  Json make_devices(const kernel::DecodingInfo& dec, bool need) {
    unsigned n = static_cast<unsigned>(pick(4));
    if (need && n == 0) n = 1;
    Json devs = Json::array();
    for (unsigned i = 0; i < n; ++i) {
      // Most devices are bound (one mm each); an unbound one sees only what its IOMMU is sent.
      m_device_mm.push_back((i == 0 && need) || pick(6) ? static_cast<int>(pick(m_mms.size())) : -1);
      Json d;
      d["name"] = "d" + std::to_string(i);
      d["decoding"] = std::string(i == 0 ? dec.name : decoding_like(dec));
      if (pick(4) == 0) d["ats"] = false;
      if (pick(2)) d["atc_entries"] = cache_size();
      if (pick(2)) d["iotlb_entries"] = cache_size();
      // Walk caches off for half the devices, otherwise 1 to 1024 entries.
      static const uint64_t walk[] = {1, 2, 16, 64, 1024};
      d["walk_cache_entries"] = pick(2) ? 0 : walk[pick(std::size(walk))];
      if (pick(3) == 0) d["cache_nonleaf_on_fault"] = static_cast<bool>(pick(2));
      if (pick(4) == 0) d["permission_fault_rewalks"] = static_cast<bool>(pick(2));
      if (m_arm && pick(3) == 0) d["btm"] = true;
      if (pick(4) == 0) d["nopasid_inv_covers_pasid"] = static_cast<bool>(pick(2));
      // Drawn apart from m_rng, so that the keys added before it keep every seed's scenario.
      if (SplitMix64(m_seed * 0x100000001b3ull + i + 0x0de5).below(4) == 0) d["cmds_complete_in_order"] = false;
      if (SplitMix64(m_seed * 0x100000001b3ull + i + 0x9a51d).below(4) == 0) d["pasid_table_cached"] = false;
      devs.push_back(d);
    }
    return devs;
  }

  std::string decoding_like(const kernel::DecodingInfo& d) {
    std::vector<std::string> names;
    for (const auto& x : kernel::decodings())
      if ((x.kind() == iommu::IommuKind::SmmuV3) == (d.kind() == iommu::IommuKind::SmmuV3)) names.push_back(std::string(x.name));
    for (const auto& x : kernel::drivers())  // a family: the decoding follows the policy
      if ((x.driver == kernel::SvaDriver::SmmuV3) == (d.kind() == iommu::IommuKind::SmmuV3)) names.push_back(std::string(x.name));
    return names[pick(names.size())];
  }

  /// The (device, mm) bonds a device thread may use: those made at setup, and those an sva_bind
  /// op of an earlier thread makes.
  std::vector<std::pair<int, int>> bonds() const {
    std::vector<std::pair<int, int>> out;
    for (size_t d = 0; d < m_device_mm.size(); ++d)
      if (m_device_mm[d] >= 0) out.emplace_back(static_cast<int>(d), m_device_mm[d]);
    for (const auto& b : m_op_bonds)
      if (std::find(out.begin(), out.end(), b) == out.end()) out.push_back(b);
    return out;
  }

  std::string op_of_kind(ThreadKind k) {
    std::vector<std::string> names;
    for (const auto& o : scenarios::ops())
      if (o.kind == k) names.push_back(std::string(o.name()));
    return names[pick(names.size())];
  }

  Json make_threads(const scenarios::OpInfo& primary) {
    const unsigned n = 1 + static_cast<unsigned>(pick(6));
    Json threads = Json::array();
    unsigned kthreads = 0;
    for (unsigned i = 0; i < n; ++i) {
      ThreadKind kind = primary.kind;
      if (i > 0) {
        const unsigned k = static_cast<unsigned>(pick(20));
        kind = k < 8 ? ThreadKind::Cpu : k < 13 && !bonds().empty() ? ThreadKind::Device : ThreadKind::Kernel;
      }
      Json t;
      int mm = -1;
      switch (kind) {
        case ThreadKind::Cpu:
          mm = pick(5) < 3 ? 0 : static_cast<int>(pick(m_mms.size()));
          t["name"] = "T" + std::to_string(i);
          // Several threads share a CPU when CPUs are few (switch_mm between them).
          t["cpu"] = pick(m_cpus);
          t["mm"] = m_mms[mm].name;
          break;
        case ThreadKind::Device: {
          const std::vector<std::pair<int, int>> b = bonds();
          const auto [d, bound_mm] = b[pick(b.size())];
          mm = bound_mm;
          t["name"] = "dev" + std::to_string(i);
          t["device"] = "d" + std::to_string(d);
          t["mm"] = m_mms[mm].name;
          break;
        }
        case ThreadKind::Kernel:
          t["name"] = "k" + std::to_string(kthreads++) + "-" + std::to_string(i);
          t["kernel"] = true;
          break;
      }
      m_freed_here.clear();
      std::vector<std::string> names;
      const unsigned nops = 1 + static_cast<unsigned>(pick(4));
      for (unsigned o = 0; o < nops; ++o) names.push_back(op_of_kind(kind));
      if (i == 0) names[pick(names.size())] = std::string(primary.name());
      // The worker returns only once every ioremap has run, so it is its thread's last op (the
      // loader refuses an ioremap after it in the same thread).
      std::stable_partition(names.begin(), names.end(), [](const std::string& op) { return op != "kernel_pgtable_work"; });
      Json ops = Json::array();
      for (const std::string& op : names) ops.push_back(make_op(op, mm));
      t["ops"] = ops;
      threads.push_back(t);
    }
    // An ioremap's table waits for the worker: one thread runs it.
    if (!m_remapped.empty() && !m_worker) {
      m_worker = true;
      threads.push_back({{"name", "kworker"}, {"kernel", true}, {"ops", Json::array({Json{{"op", "kernel_pgtable_work"}}})}});
    }
    // Sometimes a thread in the child of a named fork: it starts once the fork has returned.
    const size_t planned = threads.size();
    for (size_t i = 0; i < planned; ++i) {
      if (!threads[i].contains("cpu")) continue;
      for (const Json& o : threads[i]["ops"])
        if (o.is_object() && o["op"] == "fork" && o.contains("name") && pick(3) == 0) {
          Json c;
          c["name"] = "C" + std::to_string(i);
          c["cpu"] = pick(m_cpus);
          c["mm"] = o["name"];
          int parent = 0;
          for (size_t m = 0; m < m_mms.size(); ++m)
            if (m_mms[m].name == threads[i]["mm"]) parent = static_cast<int>(m);
          c["ops"] = Json::array({make_op(pick(2) ? "write" : "read", parent)});
          threads.push_back(c);
          break;
        }
    }
    return threads;
  }

  /// A range of mm's pages: [addr, addr + pages), inside one extent, most often starting in the
  /// hot window so that threads collide; mostly a few pages, sometimes the whole extent.
  std::pair<uint64_t, uint64_t> range(int mmi) {
    const MmL& mm = m_mms[mmi];
    const Extent* e = &mm.extents[pick(mm.extents.size())];
    uint64_t first = pick(e->pages);
    if (pick(5) < 3) {
      for (const Extent& x : mm.extents)
        if (mm.hot >= x.start && mm.hot < x.start + x.pages * kPage) e = &x;
      const uint64_t hot = (mm.hot - e->start) / kPage;
      first = std::min(e->pages - 1, hot + pick(3));
    }
    const uint64_t left = e->pages - first;
    const uint64_t n = pick(8) == 0 ? std::min(left, kMaxOpPages) : 1 + pick(std::min<uint64_t>(left, 4));
    return {e->start + first * kPage, n};
  }

  void addr_range(Json& o, int mmi) {
    const auto [addr, pages] = range(mmi);
    o["addr"] = hex(addr);
    if (pages > 1 || pick(2)) o["pages"] = pages;
  }

  void file_range(Json& o) {
    const FileL& f = m_files[pick(m_files.size())];
    uint64_t first = pick(5) < 3 ? std::min(f.pages - 1, f.hot + pick(2)) : pick(f.pages);
    const uint64_t left = f.pages - first;
    const uint64_t n = pick(8) == 0 ? std::min(left, kMaxOpPages) : 1 + pick(std::min<uint64_t>(left, 4));
    o["file"] = f.name;
    o["index"] = first;
    if (n > 1 || pick(2)) o["pages"] = n;
  }

  Json make_op(const std::string& op, int mm) {
    Json o;
    o["op"] = op;
    if ((op == "dma_read" || op == "dma_write") && !m_areas.empty() && pick(3) == 0) {
      // A kernel address: the walk faults at the supervisor leaf.
      const AreaL& a = m_areas[pick(m_areas.size())];
      const uint64_t first = pick(a.pages);
      o["addr"] = hex(a.addr + first * kPage);
      if (pick(2)) o["pages"] = 1 + pick(a.pages - first);
    } else if (op == "read" || op == "write" || op == "munmap" || op == "madvise_dontneed" || op == "madvise_free" || op == "migrate_vma" ||
               op == "dma_read" || op == "dma_write") {
      addr_range(o, mm);
    } else if (op == "vfree" || op == "ioremap_huge") {
      kernel_half_op(o);
    } else if (op == "kernel_pgtable_work" && std::exchange(m_worker, true)) {
      // One worker per scenario: another becomes a migration.
      const int target = static_cast<int>(pick(m_mms.size()));
      o["op"] = "migrate";
      o["mm"] = m_mms[target].name;
      addr_range(o, target);
    } else if (op == "sva_bind") {
      // Any device, bound at setup to this mm, to another or to none; with no device, a read.
      if (m_device_mm.empty()) {
        o["op"] = "read";
        addr_range(o, mm);
      } else {
        const int d = static_cast<int>(pick(m_device_mm.size()));
        o["device"] = "d" + std::to_string(d);
        m_op_bonds.emplace_back(d, mm);
      }
    } else if (op == "fork") {
      // The loader refuses a child name taken by another mm, so only one fork of an mm may keep
      // the default ("<mm>.child").
      if (pick(3) || !m_default_child.insert(mm).second) o["name"] = "child" + std::to_string(m_children++);
    } else if (op == "mremap") {
      const auto [addr, pages] = range(mm);
      o["addr"] = hex(addr);
      o["pages"] = pages;
      // Into free space, onto another mapping, or overlapping its own source range.
      switch (pick(4)) {
        case 0: {
          const auto [dst, unused] = range(mm);
          o["new_addr"] = hex(dst);
          break;
        }
        case 1: o["new_addr"] = hex(addr + (1 + pick(pages + 1)) * kPage); break;
        default: o["new_addr"] = hex(kFree + pick(64) * kPage); break;
      }
      // MREMAP_DONTUNMAP now and then: the source stays mapped, empty (or -EINVAL before v5.7).
      if (pick(4) == 0) o["dontunmap"] = true;
    } else if (op == "brk") {
      // Shrinking (munmap's route), growing or keeping the heap; now and then below start_brk.
      const MmL& m = m_mms[mm];
      const uint64_t heap = (m.brk - m.start_brk) / kPage;
      o["addr"] = hex(pick(10) == 0 && m.start_brk >= kPage ? m.start_brk - kPage : m.start_brk + pick(heap + 4) * kPage);
    } else if (op == "mprotect") {
      addr_range(o, mm);
      o["prot"] = pick(2) ? "r" : "rw";
    } else if (op == "truncate") {
      file_range(o);
    } else if (op == "reclaim" || op == "migrate") {
      if (pick(2)) {
        file_range(o);
      } else {
        const int target = static_cast<int>(pick(m_mms.size()));
        o["mm"] = m_mms[target].name;
        addr_range(o, target);
      }
    } else if (op == "ksm_merge") {
      // A range of two pages or more in one extent of some mm; with none, a migration instead.
      const int target = static_cast<int>(pick(m_mms.size()));
      const Extent* e = nullptr;
      for (const Extent& x : m_mms[target].extents)
        if (x.pages >= 2 && (!e || pick(2))) e = &x;
      o["mm"] = m_mms[target].name;
      if (!e) {
        o["op"] = "migrate";
        addr_range(o, target);
      } else {
        const uint64_t first = pick(e->pages - 1);
        o["addr"] = hex(e->start + first * kPage);
        o["pages"] = 2 + pick(std::min<uint64_t>(e->pages - first - 1, 3));
      }
    } else if (op == "mmap") {
      // Mostly over a range of the mm, usually MAP_FIXED (the old pages unmapped under the write
      // lock), else failing with -EEXIST there; or into free space. A file, shmem or anonymous
      // memory, sometimes populated.
      if (pick(4)) {
        addr_range(o, mm);
        if (pick(4)) o["fixed"] = true;
      } else {
        o["addr"] = hex(kFree + pick(64) * kPage);
        o["pages"] = 1 + pick(4);
      }
      o["prot"] = pick(3) ? "rw" : "r";
      const uint64_t pages = o.contains("pages") ? o["pages"].get<uint64_t>() : 1;
      const FileL* f = m_files.empty() ? nullptr : &m_files[pick(m_files.size())];
      switch (pick(4)) {
        case 0:
          if (f && f->pages >= pages) {
            o["file"] = f->name;
            o["index"] = pick(f->pages - pages + 1);
          }
          if (pick(2)) o["shared"] = true;
          break;
        case 1: o["shared"] = true; break;
        default: break;
      }
      if (pick(3) == 0) o["populate"] = true;
    } else if (op == "khugepaged_collapse") {
      // A 2 MiB boundary inside an extent of some mm (collapse_huge_page() checks that one VMA
      // covers the 2 MiB); with none, a migration instead.
      const int target = static_cast<int>(pick(m_mms.size()));
      o["mm"] = m_mms[target].name;
      std::vector<uint64_t> aligned;
      for (const Extent& e : m_mms[target].extents) {
        const uint64_t a = (e.start + kPmd - 1) / kPmd * kPmd;
        if (a < e.start + e.pages * kPage) aligned.push_back(a);
      }
      if (aligned.empty()) {
        o["op"] = "migrate";
        addr_range(o, target);
      } else {
        o["addr"] = hex(aligned[pick(aligned.size())]);
      }
    } else if (op == "khugepaged_retract") {
      const int f = m_huge >= 0 && pick(4) ? m_huge : static_cast<int>(pick(m_files.size()));
      o["file"] = m_files[f].name;
      // The start of a huge page's worth of the file, or anywhere (nothing to retract there).
      const uint64_t index = pick(3) ? (m_files[f].pages > kHugePages ? kHugePages * pick(2) : 0) : pick(m_files[f].pages);
      o["index"] = index;
    }
    // "exit" has no keys.
    return o;
  }

  /// vfree of an area no op frees yet, or ioremap of a block no op remaps yet whose areas this
  /// thread freed (each what the loader asks); with neither possible (always on arm64), a
  /// migration instead.
  void kernel_half_op(Json& o) {
    std::vector<size_t> unfreed;
    std::vector<uint64_t> blocks;
    if (!m_arm) {  // arm64 has no kernel half to act on
      for (size_t i = 0; i < m_areas.size(); ++i)
        if (!m_areas[i].freed) unfreed.push_back(i);
      for (uint64_t b = kVmalloc; b < kVmalloc + 4 * kPmd; b += kPmd) {
        bool ok = !m_remapped.count(b);
        for (const AreaL& a : m_areas)
          if (a.addr < b + kPmd && b < a.addr + a.pages * kPage && !m_freed_here.count(a.addr)) ok = false;
        if (ok) blocks.push_back(b);
      }
    }
    if (o["op"] == "ioremap_huge" && !blocks.empty()) {
      const uint64_t b = blocks[pick(blocks.size())];
      m_remapped.insert(b);
      o["addr"] = hex(b);
    } else if (!unfreed.empty()) {
      AreaL& a = m_areas[unfreed[pick(unfreed.size())]];
      a.freed = true;
      m_freed_here.insert(a.addr);
      o["op"] = "vfree";
      o["addr"] = hex(a.addr);
      o["pages"] = a.pages;
    } else {
      const int target = static_cast<int>(pick(m_mms.size()));
      o["op"] = "migrate";
      o["mm"] = m_mms[target].name;
      addr_range(o, target);
    }
  }

  struct AreaL {
    uint64_t addr = 0, pages = 1;
    bool freed = false;
  };

  uint64_t m_seed;
  SplitMix64 m_rng;
  std::vector<AreaL> m_areas;
  std::set<uint64_t> m_freed_here, m_remapped;  ///< areas this thread freed; blocks remapped
  bool m_worker = false;                        ///< a kernel_pgtable_work op exists
  bool m_arm = false;
  unsigned m_cpus = 1;
  int m_huge = -1;  ///< index in m_files of the khugepaged file, if any
  std::vector<FileL> m_files;
  std::vector<MmL> m_mms;
  std::vector<int> m_device_mm;                 ///< by device: the mm it is bound to, or -1
  std::vector<std::pair<int, int>> m_op_bonds;  ///< (device, mm) of each sva_bind op made
  unsigned m_children = 0;
  std::set<int> m_default_child;  ///< mms one of whose forks kept the default child name
};

}  // namespace

std::string generate_valid_scenario(uint64_t seed) { return Gen(seed).run(); }

}  // namespace tlbsim::test
