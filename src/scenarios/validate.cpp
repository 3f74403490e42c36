// SPDX-License-Identifier: MIT
#include "scenarios/validate.h"

#include <algorithm>
#include <map>
#include <set>

#include "kernel/policy.h"
#include "kernel/sva.h"
#include "model/saturating.h"
#include "model/types.h"
#include "scenarios/expectation.h"
#include "scenarios/json_positions.h"
#include "scenarios/ops.h"
#include "scenarios/printable.h"
#include "scenarios/schedule_steps.h"
#include "scenarios/vma_layout.h"

namespace tlbsim::scenarios {

namespace {

struct Ctx {
  std::vector<Diagnostic>& out;
  void error(const std::string& ptr, const std::string& msg) { out.push_back(Diagnostic{.pointer = ptr, .message = msg}); }
};

template <class T>
void unique_names(Ctx& c, const std::vector<T>& items, const char* what) {
  std::map<std::string, std::string> seen;
  for (const T& t : items) {
    // Empty: missing, "" or unreadable, each already reported where the name is read; two of
    // them are not a duplicate to report as well.
    if (t.name.empty()) continue;
    auto [it, fresh] = seen.emplace(t.name, t.pointer);
    if (!fresh)
      c.error(t.pointer + "/name", std::string("duplicate ") + what + " name " + in_quotes(t.name) + " (first at " + it->second + ")");
  }
}

std::string kind_name(ThreadKind k) { return k == ThreadKind::Cpu ? "cpu" : k == ThreadKind::Device ? "device" : "kernel"; }

/// The kernel half (x86): the "vmalloc" areas, the ops that act on them (vfree, ioremap_huge)
/// and device accesses to kernel addresses. Ops run in any interleaving, so each condition the
/// kernel's vmap allocator guarantees is checked statically: ioremap() gets a block only after
/// every area in it was vfree()d, by the thread that ioremaps it.
void check_kernel_half(Ctx& c, const ScenarioSpec& s) {
  const std::string where = " (vmalloc space is [" + hex(kVmallocStart) + ", " + hex(kVmallocEnd) + "))";
  bool any = !s.vmalloc.empty();
  // The areas by address (each checked against its neighbours only: linear in their number)
  // and the blocks ioremap_huge ops map: what a DMA to a kernel address may reach.
  std::map<uint64_t, const VmallocSpec*> areas;
  for (const VmallocSpec& v : s.vmalloc) {
    if (v.addr % kPageSize || v.addr < kVmallocStart || v.addr >= kVmallocEnd || v.pages > (kVmallocEnd - v.addr) / kPageSize) {
      c.error(v.pointer + "/addr",
              "expected a page-aligned vmalloc address with its pages inside vmalloc space" + where + ", got " + hex(v.addr));
      continue;
    }
    const auto next = areas.lower_bound(v.addr);
    const VmallocSpec* other = nullptr;
    if (next != areas.end() && next->first < v.addr + v.pages * kPageSize)
      other = next->second;
    else if (next != areas.begin() && std::prev(next)->first + std::prev(next)->second->pages * kPageSize > v.addr)
      other = std::prev(next)->second;
    if (other)
      c.error(v.pointer, "vmalloc area " + hex(v.addr) + "+" + std::to_string(v.pages) + " pages overlaps " + other->pointer);
    else
      areas.emplace(v.addr, &v);
  }
  std::set<uint64_t> blocks;
  for (const ThreadSpec& t : s.threads)
    for (const OpSpec& o : t.ops)
      if (o.id == Op::ioremap_huge && o.addr % kPmdSize == 0) blocks.insert(o.addr);
  auto reachable = [&](uint64_t a) {
    const auto area = areas.upper_bound(a);
    if (area != areas.begin() && a - std::prev(area)->first < std::prev(area)->second->pages * kPageSize) return true;
    return blocks.count(a & ~(kPmdSize - 1)) > 0;
  };
  std::map<uint64_t, std::string> freed, remapped;  // area address / block -> the op's pointer
  for (const ThreadSpec& t : s.threads) {
    std::set<uint64_t> freed_here;
    for (const OpSpec& o : t.ops) {
      const OpInfo* info = find_op(o.op);
      if (!info || info->kind != t.kind || !o.has("addr")) continue;
      const bool kernel_op = info->needs & kKernelAddr;
      if (!kernel_op && !(t.kind == ThreadKind::Device && is_kernel_half(o.addr))) continue;
      any = true;
      if (o.id == Op::vfree) {
        auto it = std::find_if(s.vmalloc.begin(), s.vmalloc.end(), [&](const VmallocSpec& v) { return v.addr == o.addr; });
        if (it == s.vmalloc.end())
          c.error(o.pointer + "/addr", "vfree frees a vmalloc area: expected the address of one in \"vmalloc\", got " + hex(o.addr));
        else if (it->pages != o.pages)
          c.error(o.pointer + "/pages", "the vmalloc area at " + hex(o.addr) + " has " + std::to_string(it->pages) + " pages");
        else if (auto [at, fresh] = freed.emplace(o.addr, o.pointer); !fresh)
          c.error(o.pointer, "the vmalloc area at " + hex(o.addr) + " is freed twice (first at " + at->second + ")");
        freed_here.insert(o.addr);
        continue;
      }
      if (o.id == Op::ioremap_huge) {
        if (o.addr % kPmdSize || o.addr < kVmallocStart || o.addr >= kVmallocEnd) {
          c.error(o.pointer + "/addr", "expected a 2 MiB-aligned address in vmalloc space" + where + ", got " + hex(o.addr));
          continue;
        }
        if (auto [at, fresh] = remapped.emplace(o.addr, o.pointer); !fresh)
          c.error(o.pointer, "the block at " + hex(o.addr) + " is ioremapped twice (first at " + at->second + ")");
        // The areas in the block: those starting in it, and one starting below that reaches in.
        auto from = areas.lower_bound(o.addr);
        if (from != areas.begin() && std::prev(from)->first + std::prev(from)->second->pages * kPageSize > o.addr) --from;
        for (auto it = from; it != areas.end() && it->first < o.addr + kPmdSize; ++it)
          if (!freed_here.count(it->first))
            c.error(o.pointer, "ioremap of " + hex(o.addr) + " needs the vmalloc area at " + hex(it->first) + " (" + it->second->pointer +
                                   ") vfreed first, by an earlier op of this thread: the vmap allocator hands out no range in use");
        continue;
      }
      // A device's DMA to a kernel address: its first and last page inside an area or an
      // ioremapped block (a page in a gap between two faults as any unmapped address does).
      const uint64_t last = o.addr + (std::max<uint64_t>(o.pages, 1) - 1) * kPageSize;
      if (o.addr % kPageSize || last < o.addr || !reachable(o.addr) || !reachable(last))
        c.error(o.pointer + "/addr", "kernel address " + hex(o.addr) + " (" + std::to_string(o.pages) +
                                         " pages) is not in a \"vmalloc\" area or an ioremap_huge block");
    }
  }
  // The v6.19 worker: one, and wherever an ioremap may queue a table for it.
  // The worker op returns once no ioremap op is left to queue a table, so an ioremap after it
  // in its own thread would wait for itself: the kernel's kworker is a context of its own.
  std::string worker;
  for (const ThreadSpec& t : s.threads) {
    std::string mine;
    for (const OpSpec& o : t.ops) {
      if (o.id == Op::kernel_pgtable_work && t.kind == ThreadKind::Kernel) {
        if (!worker.empty())
          c.error(o.pointer, "one kernel_pgtable_work op frees every queued table (first at " + worker + ")");
        else
          worker = mine = o.pointer;
      } else if (o.id == Op::ioremap_huge && !mine.empty()) {
        c.error(o.pointer, "ioremap_huge after this thread's kernel_pgtable_work (" + mine +
                               ") would never run: the worker waits for every ioremap op to finish; put it in a thread of its own");
      }
    }
  }
  if (!remapped.empty() && worker.empty())
    c.error(remapped.begin()->second,
            "ioremap_huge needs a kernel thread running kernel_pgtable_work: from v6.19 the table it "
            "frees waits for that worker (up to v6.18 the worker does nothing)");
  if (any && s.arch != kernel::Arch::X86)
    c.error(s.pointer + "/arch",
            "the kernel half is modelled on x86 only: arm64 maps the kernel through TTBR1, which an SVA context descriptor never walks");
}

/// False (and an error) unless `addr` is a page-aligned user address.
bool check_addr(Ctx& c, const std::string& ptr, uint64_t addr, const char* what) {
  if (addr % kPageSize)
    c.error(ptr, std::string("expected a page-aligned ") + what + ", got " + hex(addr));
  else if (addr >= kTaskSize)
    c.error(ptr, std::string("expected a user address below ") + hex(kTaskSize) + ", got " + hex(addr));
  else
    return true;
  return false;
}

/// mmap's own keys: a page-aligned address whose range fits below the top of the user address
/// space (it need not be mapped: mapping it is the op's job), and a file's pages in the file.
/// (The generic kNeedAddr check, "mapped at setup", does not apply to it.)
void check_mmap(Ctx& c, const OpSpec& o, const std::map<std::string, const FileSpec*>& files) {
  if (o.has("addr") && check_addr(c, o.pointer + "/addr", o.addr, "address") && o.pages > (kTaskSize - o.addr) / kPageSize)
    c.error(o.pointer + "/pages", "the mapping runs past the top of the user address space");
  if (o.file.empty()) {
    if (o.index) c.error(o.pointer + "/index", "\"index\" (the file offset) applies to file mappings only");
    return;
  }
  auto f = files.find(o.file);
  if (f == files.end())
    c.error(o.pointer + "/file", "unknown file " + in_quotes(o.file));
  else if (o.index + o.pages > f->second->pages)
    c.error(o.pointer + "/pages", "maps pages " + std::to_string(o.index) + ".." + std::to_string(o.index + o.pages - 1) + " of " +
                                      in_quotes(o.file) + ", which has " + std::to_string(f->second->pages));
}

/// brk's own key: the new break, a page-aligned user address (the kernel rounds an unaligned one
/// up; the model takes aligned ones only), in an mm whose break the scenario sets.
void check_brk(Ctx& c, const OpSpec& o, const MmSpec* root) {
  if (o.has("addr")) check_addr(c, o.pointer + "/addr", o.addr, "program break");
  if (root && !root->has_brk)
    c.error(o.pointer, "op \"brk\" moves the program break of mm " + in_quotes(root->name) + ", which sets none: give the mm \"brk\"");
}

/// The heap a brk op may grow: [start_brk, addr) of the mm's set-up break.
bool brk_grows(const OpSpec& o, const MmSpec& root) {
  return o.id == Op::brk && root.has_brk && o.addr % kPageSize == 0 && o.addr < kTaskSize && o.addr > root.start_brk;
}

/// "; expected one of a, b, c": the tail of every "unknown ..." message of this file.
std::string expected_one_of(const std::vector<std::string>& names) {
  std::string out = "; expected one of ";
  for (size_t i = 0; i < names.size(); ++i) out += (i ? ", " : "") + names[i];
  return out;
}

/// A scenario's devices, files and set-up mms by name (the first of each name).
struct Names {
  std::map<std::string, const DeviceSpec*> devices;
  std::map<std::string, const FileSpec*> files;
  std::map<std::string, const MmSpec*> mms;
  explicit Names(const ScenarioSpec& s) {
    for (const auto& d : s.devices) devices.emplace(d.name, &d);
    for (const auto& f : s.files) files.emplace(f.name, &f);
    for (const auto& m : s.mms) mms.emplace(m.name, &m);
  }
  const MmSpec* mm(const std::string& name) const {
    auto it = mms.find(name);
    return it == mms.end() ? nullptr : it->second;
  }
};

void check_devices(Ctx& c, const ScenarioSpec& s) {
  for (const DeviceSpec& d : s.devices) {
    // A driver family ("intel") means a different decoding under each policy, all of one IOMMU
    // kind: the checks below hold for every release.
    if (!d.decoding_choice) {
      std::vector<std::string> names;
      for (const auto& x : kernel::drivers()) names.emplace_back(x.name);
      for (const auto& x : kernel::decodings()) names.emplace_back(x.name);
      c.error(d.pointer + "/decoding", "unknown driver decoding " + in_quotes(d.decoding) + expected_one_of(names));
      continue;
    }
    const bool smmu = kernel::resolve_decoding(*d.decoding_choice, kernel::policies().front()).kind() == iommu::IommuKind::SmmuV3;
    if (smmu && s.arch != kernel::Arch::Arm64)
      c.error(d.pointer + "/decoding", "decoding " + in_quotes(d.decoding) + " is an Arm SMMU: expected \"arch\": \"arm64\"");
    if (!smmu && s.arch == kernel::Arch::Arm64)
      c.error(d.pointer + "/decoding", "decoding " + in_quotes(d.decoding) + " is an x86 IOMMU: expected \"arch\": \"x86\"");
    if (d.btm && !smmu) c.error(d.pointer + "/btm", "broadcast TLB maintenance exists only on SMMUv3");
  }
}

/// One set-up mm's VMAs: no overlap, user addresses, files that have the pages, and keys that
/// go together.
void check_vmas(Ctx& c, const MmSpec& m, const Names& names) {
  const VmaLayout layout(m.vmas);
  for (const auto& [later, earlier] : layout.overlaps()) {
    const VmaSpec& v = m.vmas[later];
    c.error(m.vma_pointer(later), "VMA " + hex(v.start) + "+" + std::to_string(v.pages) + " pages overlaps " + m.vma_pointer(earlier));
  }
  for (size_t i = 0; i < m.vmas.size(); ++i) {
    const VmaSpec& v = m.vmas[i];
    const std::string ptr = m.vma_pointer(i);
    check_addr(c, ptr + "/start", v.start, "VMA start");
    if (v.start + v.pages * kPageSize > kTaskSize) c.error(ptr + "/pages", "VMA runs past the top of the user address space");
    if (!v.file.empty()) {
      auto f = names.files.find(v.file);
      if (f == names.files.end())
        c.error(ptr + "/file", "unknown file " + in_quotes(v.file));
      else if (v.pgoff + v.pages > f->second->pages)
        c.error(ptr + "/pages", "maps pages " + std::to_string(v.pgoff) + ".." + std::to_string(v.pgoff + v.pages - 1) + " of " +
                                    in_quotes(v.file) + ", which has " + std::to_string(f->second->pages));
    } else {
      if (v.shared) c.error(ptr + "/shared", "a shared anonymous mapping (shmem) comes from an mmap op, not the setup: give a \"file\"");
      if (v.pgoff) c.error(ptr + "/pgoff", "\"pgoff\" applies to file mappings only");
    }
    if (v.populate == Populate::Write && !v.writable) c.error(ptr + "/populate", "cannot populate a read-only VMA for writing");
    if (v.pfnmap && v.populate != Populate::None) c.error(ptr + "/populate", "PFNMAP VMAs are filled by the driver, not by faults");
    if (v.thp) {
      if (!v.file.empty() || v.pfnmap) c.error(ptr + "/thp", "huge pages at setup are anonymous: no \"file\", no \"pfnmap\"");
      if (v.populate != Populate::None) c.error(ptr + "/populate", "a \"thp\" VMA is populated with huge pages: no \"populate\"");
      if (v.start % kPmdSize || v.pages % kPtrsPerTable)
        c.error(ptr + "/thp", "a \"thp\" VMA starts on a 2 MiB boundary and has a multiple of 512 pages");
    }
  }
}

/// The set-up mms: VMAs, break, CPUs and bindings. Returns the devices bound to each mm.
std::map<std::string, std::set<std::string>> check_mms(Ctx& c, const ScenarioSpec& s, const Names& names) {
  std::map<std::string, std::set<std::string>> bound;  // mm -> devices
  for (const MmSpec& m : s.mms) {
    check_vmas(c, m, names);
    if (m.has_brk && check_addr(c, m.pointer + "/brk", m.brk, "program break") &&
        check_addr(c, m.pointer + "/start_brk", m.start_brk, "heap start") && m.start_brk > m.brk)
      c.error(m.pointer + "/start_brk",
              "the heap starts at or below the break: expected at most " + hex(m.brk) + ", got " + hex(m.start_brk));
    for (size_t i = 0; i < m.cpus.size(); ++i) {
      const std::string cp = m.pointer + "/cpus/" + std::to_string(i);
      if (m.cpus[i] >= s.cpus)
        c.error(cp, "CPU " + std::to_string(m.cpus[i]) + " does not exist (\"cpus\": " + std::to_string(s.cpus) + ")");
      if (std::find(m.cpus.begin(), m.cpus.begin() + static_cast<std::ptrdiff_t>(i), m.cpus[i]) !=
          m.cpus.begin() + static_cast<std::ptrdiff_t>(i))
        c.error(cp, "CPU " + std::to_string(m.cpus[i]) + " listed twice");
    }
    for (size_t i = 0; i < m.bind.size(); ++i) {
      const std::string bp = m.pointer + "/bind/" + std::to_string(i);
      if (!names.devices.count(m.bind[i])) c.error(bp, "unknown device " + in_quotes(m.bind[i]));
      if (!bound[m.name].insert(m.bind[i]).second) c.error(bp, "device " + in_quotes(m.bind[i]) + " bound twice");
    }
  }
  for (const auto& [dev, spec] : names.devices) {
    size_t n = 0;
    for (const auto& [mm, devs] : bound) n += devs.count(dev);
    if (n > 1) c.error(spec->pointer, "device " + in_quotes(dev) + " is bound to more than one mm; bind one mm per device");
  }
  return bound;
}

/// The mms forks create: each child's name, checked against every other mm's, and the set-up
/// mm it descends from.
class Forks {
 public:
  Forks(Ctx& c, const ScenarioSpec& s, const Names& names) : m_names(names) {
    // A fork's child is an mm too: its name (given, or "<mm>.child") names one mm in the report
    // and the event log, so it must differ from every mm of "mms" and every other child's.
    std::map<std::string, std::string> mm_names;  // name -> pointer of the first to use it
    for (const MmSpec& m : s.mms) mm_names.emplace(m.name, m.pointer);
    // Every fork's child, registered before the threads that may run in it.
    for (const ThreadSpec& t : s.threads)
      for (const OpSpec& o : t.ops)
        if (o.id == Op::fork && find_op(o.op)->kind == t.kind) {
          check_child_name(c, t, o, mm_names);
          if (!t.mm.empty()) m_parent.emplace(o.has("name") ? o.name : t.mm + ".child", t.mm);
        }
  }
  bool is_child(const std::string& name) const { return m_parent.count(name) != 0; }
  /// The set-up mm a (child) mm descends from; nullptr for an unknown name or a fork cycle.
  const MmSpec* root_of(const std::string& name) const {
    std::string n = name;
    for (size_t hops = 0; hops <= m_parent.size(); ++hops) {
      if (const MmSpec* m = m_names.mm(n)) return m;
      auto it = m_parent.find(n);
      if (it == m_parent.end()) return nullptr;
      n = it->second;
    }
    return nullptr;
  }

 private:
  static void check_child_name(Ctx& c, const ThreadSpec& t, const OpSpec& o, std::map<std::string, std::string>& mm_names) {
    const bool given = o.has("name");
    if (!given && t.mm.empty()) return;
    const std::string child = given ? o.name : t.mm + ".child";
    if (child.empty()) return;  // an unreadable name, reported as such
    auto [it, fresh] = mm_names.emplace(child, o.pointer);
    if (fresh) return;
    if (given)
      c.error(o.pointer + "/name", "duplicate mm name " + in_quotes(child) + " for the fork's child (first at " + it->second + ")");
    else
      c.error(o.pointer, "duplicate mm name " + in_quotes(child) + ", the default for the fork's child (first at " + it->second +
                             "): give the child a \"name\"");
  }

  const Names& m_names;
  std::map<std::string, std::string> m_parent;  // child mm name -> the forking thread's mm
};

/// What an op may address, per set-up mm: the VMAs set up, every range an mmap op of a thread of
/// the mm maps or an mremap op moves a mapping to, and the heap up to the highest break a brk op
/// sets (when they run is the schedule's business; an access before it faults). A fork child's
/// threads address what its set-up ancestor maps (the child copies the parent's VMAs and break).
std::map<const MmSpec*, VmaLayout> op_reach(const ScenarioSpec& s, const Forks& forks) {
  std::map<const MmSpec*, std::vector<VmaSpec>> mapped_by_ops;
  for (const ThreadSpec& t : s.threads) {
    if (t.kind != ThreadKind::Cpu) continue;
    const MmSpec* root = nullptr;
    for (const OpSpec& o : t.ops)
      if (o.id == Op::mmap && o.addr % kPageSize == 0 && o.addr < kTaskSize && o.pages <= (kTaskSize - o.addr) / kPageSize &&
          (root || (root = forks.root_of(t.mm))))
        mapped_by_ops[root].push_back(VmaSpec{.start = o.addr, .pages = o.pages});
      else if (o.id == Op::brk && (root || (root = forks.root_of(t.mm))) && brk_grows(o, *root))
        mapped_by_ops[root].push_back(VmaSpec{.start = root->start_brk, .pages = (o.addr - root->start_brk) / kPageSize});
      else if (o.id == Op::mremap && o.new_addr % kPageSize == 0 && o.new_addr < kTaskSize &&
               o.pages <= (kTaskSize - o.new_addr) / kPageSize && (root || (root = forks.root_of(t.mm))))
        mapped_by_ops[root].push_back(VmaSpec{.start = o.new_addr, .pages = o.pages});
  }
  std::map<const MmSpec*, VmaLayout> reach;
  for (const MmSpec& m : s.mms) {
    std::vector<VmaSpec> all = m.vmas;
    const std::vector<VmaSpec>& more = mapped_by_ops[&m];
    all.insert(all.end(), more.begin(), more.end());
    reach.emplace(&m, VmaLayout(all));
  }
  return reach;
}

/// What the threads' ops need to know of the rest of the scenario.
struct ThreadCtx {
  const ScenarioSpec& s;
  const Names& names;
  const std::map<std::string, std::set<std::string>>& bound;
  const Forks& forks;
  const std::map<const MmSpec*, VmaLayout>& reach;
};

/// A thread's own keys; returns the set-up mm its ops address (its own, or its fork ancestor),
/// or nullptr.
const MmSpec* check_thread(Ctx& c, const ThreadSpec& t, const ThreadCtx& x) {
  const MmSpec* mm = nullptr;
  if (t.kind != ThreadKind::Kernel) {
    if (t.mm.empty()) {
      c.error(t.pointer, "a " + kind_name(t.kind) + " thread needs \"mm\"");
    } else if ((mm = x.names.mm(t.mm))) {
    } else if (!x.forks.is_child(t.mm)) {
      c.error(t.pointer + "/mm", "unknown mm " + in_quotes(t.mm));
    } else if (t.kind == ThreadKind::Device) {
      c.error(t.pointer + "/mm",
              "mm " + in_quotes(t.mm) +
                  " is a fork's child, and devices are bound at setup to mms of \"mms\" (fork does not inherit an SVA binding)");
    } else if (!(mm = x.forks.root_of(t.mm))) {
      c.error(t.pointer + "/mm", "mm " + in_quotes(t.mm) + " is never created: the fork that makes it runs in a child of itself");
    }
  } else if (!t.mm.empty()) {
    c.error(t.pointer + "/mm", "kernel threads name the mm per op (\"mm\" in each op)");
  }
  if (t.kind == ThreadKind::Cpu && t.cpu >= x.s.cpus)
    c.error(t.pointer + "/cpu",
            "CPU " + std::to_string(t.cpu) + " does not exist (\"cpus\": " + std::to_string(x.s.cpus) + "): the thread can never run");
  if (t.kind == ThreadKind::Device) {
    auto b = x.bound.find(t.mm);
    if (!x.names.devices.count(t.device))
      c.error(t.pointer + "/device", "unknown device " + in_quotes(t.device));
    else if (mm && (b == x.bound.end() || !b->second.count(t.device)))
      c.error(t.pointer + "/device", "device " + in_quotes(t.device) + " is not bound to mm " + in_quotes(t.mm) +
                                         ": the thread can never run (add it to \"bind\")");
  }
  if (t.ops.empty()) c.error(t.pointer + "/ops", "a thread with no ops can never run");
  return mm;
}

/// One op of thread `t`, whose own mm (or fork ancestor) is `mm`.
void check_op(Ctx& c, const ThreadSpec& t, const OpSpec& o, const MmSpec* mm, const ThreadCtx& x) {
  const OpInfo* info = find_op(o.op);
  if (!info) {
    std::vector<std::string> names;
    for (const auto& op : ops())
      if (op.kind == t.kind) names.emplace_back(op.name());
    c.error(o.pointer + "/op", "unknown op " + in_quotes(o.op) + " for a " + kind_name(t.kind) + " thread" + expected_one_of(names));
    return;
  }
  if (info->kind != t.kind) {
    c.error(o.pointer + "/op",
            "op " + in_quotes(o.op) + " runs on a " + kind_name(info->kind) + " thread, not a " + kind_name(t.kind) + " thread");
    return;
  }
  if (o.id == Op::mmap) check_mmap(c, o, x.names.files);
  if (o.id == Op::brk) check_brk(c, o, mm);
  if (o.id == Op::khugepaged_collapse && o.addr % kPmdSize)
    c.error(o.pointer + "/addr", "khugepaged collapses a huge page's worth: expected an address on a 2 MiB boundary, got " + hex(o.addr));
  if (o.id == Op::ksm_merge && o.pages < 2)
    c.error(o.pointer + "/pages", "ksm_merge merges the pages of a range into its first: expected 2 pages or more");
  const MmSpec* target = mm;
  unsigned needs = info->needs;
  if (needs & kNeedTarget) needs |= o.file.empty() ? (kNeedMm | kNeedAddr) : kNeedFile;
  if (needs & kNeedMm) {
    if (o.mm.empty())
      c.error(o.pointer, "op " + in_quotes(o.op) + " needs \"mm\"");
    else if (!(target = x.names.mm(o.mm)))
      c.error(o.pointer + "/mm", "unknown mm " + in_quotes(o.mm));
  }
  for (auto [flag, key] : {std::pair{kNeedAddr, "addr"}, std::pair{kNeedNewAddr, "new_addr"}, std::pair{kNeedProt, "prot"}})
    if ((needs & flag) && !o.has(key)) c.error(o.pointer, "op " + in_quotes(o.op) + " needs " + in_quotes(key));
  // mmap, brk: check_mmap(), check_brk(); kernel addresses: check_kernel_half().
  const bool kernel_addr = (needs & kKernelAddr) || (t.kind == ThreadKind::Device && is_kernel_half(o.addr));
  if ((needs & kNeedAddr) && !(needs & kAddrMaps) && !kernel_addr && o.has("addr")) {
    if (check_addr(c, o.pointer + "/addr", o.addr, "address") && target && !x.reach.at(target).covers(o.addr, o.pages))
      c.error(o.pointer + "/addr", "address " + hex(o.addr) + " (" + std::to_string(o.pages) + " pages) is not mapped by any VMA of mm " +
                                       in_quotes(target->name) + " at setup, nor by an mmap, mremap or brk op of its threads");
  }
  if ((needs & kNeedNewAddr) && o.has("new_addr")) check_addr(c, o.pointer + "/new_addr", o.new_addr, "new address");
  if (needs & kNeedDevice) {
    if (o.device.empty())
      c.error(o.pointer, "op " + in_quotes(o.op) + " needs \"device\"");
    else if (!x.names.devices.count(o.device))
      c.error(o.pointer + "/device", "unknown device " + in_quotes(o.device));
  }
  if (needs & kNeedFile) {
    auto f = x.names.files.find(o.file);
    if (o.file.empty())
      c.error(o.pointer, "op " + in_quotes(o.op) + " needs \"file\"");
    else if (f == x.names.files.end())
      c.error(o.pointer + "/file", "unknown file " + in_quotes(o.file));
    else if (o.index + o.pages > f->second->pages)
      c.error(o.pointer + "/pages", "file " + in_quotes(o.file) + " has " + std::to_string(f->second->pages) + " pages");
  }
}

/// The policies "expect" and "verdicts" name, and the thread and op of each op-outcome key.
void check_expectations(Ctx& c, const ScenarioSpec& s) {
  std::vector<std::string> names;
  for (const auto& p : kernel::policies()) names.push_back(p.name);
  for (const auto& [policy, m] : s.expect) {
    if (!kernel::find_policy(policy))
      c.error(s.pointer + "/expect/" + pointer_token(policy), "unknown policy " + in_quotes(policy) + expected_one_of(names));
    for (const auto& [key, bound] : m) {
      const std::optional<OpOutcomeKey> k = parse_op_outcome_key(key);
      if (!k) continue;
      const std::string ptr = s.pointer + "/expect/" + pointer_token(policy) + "/" + pointer_token(key);
      const auto t = std::find_if(s.threads.begin(), s.threads.end(), [&](const ThreadSpec& x) { return x.name == k->thread; });
      if (t == s.threads.end())
        c.error(ptr, "no thread " + in_quotes(k->thread) + " in this scenario");
      else if (k->op >= t->ops.size())
        c.error(ptr, "thread " + in_quotes(k->thread) + " has " + std::to_string(t->ops.size()) + " ops, numbered from 0: no op " +
                         std::to_string(k->op));
    }
  }
  for (const auto& [policy, list] : s.verdicts)
    if (!kernel::find_policy(policy))
      c.error(s.pointer + "/verdicts/" + pointer_token(policy), "unknown policy " + in_quotes(policy) + expected_one_of(names));
}

/// One scenario, part by part: names, devices, mms and their VMAs, threads and their ops, the
/// kernel half, the schedule, the expectations.
void validate_scenario(Ctx& c, const ScenarioSpec& s) {
  unique_names(c, s.devices, "device");
  unique_names(c, s.files, "file");
  unique_names(c, s.mms, "mm");
  unique_names(c, s.threads, "thread");
  const Names names(s);
  check_devices(c, s);
  std::map<std::string, std::set<std::string>> bound = check_mms(c, s, names);
  // A CPU thread's sva_bind op binds its device to the thread's mm during the run.
  for (const ThreadSpec& t : s.threads)
    for (const OpSpec& o : t.ops)
      if (t.kind == ThreadKind::Cpu && o.id == Op::sva_bind && !o.device.empty()) bound[t.mm].insert(o.device);
  const Forks forks(c, s, names);
  const std::map<const MmSpec*, VmaLayout> reach = op_reach(s, forks);
  const ThreadCtx x{.s = s, .names = names, .bound = bound, .forks = forks, .reach = reach};
  for (const ThreadSpec& t : s.threads) {
    const MmSpec* mm = check_thread(c, t, x);
    for (const OpSpec& o : t.ops) check_op(c, t, o, mm, x);
  }
  check_kernel_half(c, s);
  check_step_threads(s.schedule.entries, s.threads, c.out);
  check_expectations(c, s);
}

/// Setup counts against the step budget: each page a VMA populates or maps at setup
/// (mm_populate(), remap_pfn_range()) counts as a step, and a setup of more than `max_steps`
/// pages is refused, at the VMA whose pages take the sum past it. (A run's own steps still have
/// the whole budget: its step count stays what the reports have always shown.)
void check_setup_steps(Ctx& c, const ScenarioSpec& s) {
  uint64_t pages = 0;
  for (const MmSpec& mm : s.mms)
    for (size_t i = 0; i < mm.vmas.size(); ++i) {
      const VmaSpec& v = mm.vmas[i];
      if (!v.pfnmap && !v.thp && v.populate == Populate::None) continue;
      pages = sat_add(pages, v.pages);
      if (pages > s.max_steps) {
        c.error(mm.vma_pointer(i), "setup populates " + std::to_string(pages) + " pages up to here, more than max_steps " +
                                       std::to_string(s.max_steps) + " (each page set up counts as a step)");
        return;
      }
    }
}

/// The model names mms, address-space tags, devices and actors with 16-bit ids (MmId, Asid,
/// Holder, Event::actor); these bounds keep every count well inside them. Each is reported at
/// the first item beyond it.
void check_counts(Ctx& c, const ScenarioSpec& s) {
  if (s.devices.size() > kMaxDevices)
    c.error(s.devices[kMaxDevices].pointer, "a scenario has at most " + std::to_string(kMaxDevices) + " devices");
  if (s.threads.size() > kMaxThreads)
    c.error(s.threads[kMaxThreads].pointer, "a scenario has at most " + std::to_string(kMaxThreads) + " threads");
  // Every fork creates an mm beside those set up.
  size_t mms = s.mms.size();
  if (mms > kMaxMms) {
    c.error(s.mms[kMaxMms].pointer, "a scenario has at most " + std::to_string(kMaxMms) + " mms, forks' children included");
    return;
  }
  for (const ThreadSpec& t : s.threads)
    for (const OpSpec& op : t.ops)
      if (op.id == Op::fork && ++mms > kMaxMms) {
        c.error(op.pointer, "a scenario has at most " + std::to_string(kMaxMms) + " mms, forks' children included");
        return;
      }
}

}  // namespace

void validate(const ScenarioFile& f, std::vector<Diagnostic>& out) {
  Ctx c{out};
  unique_names(c, f.scenarios, "scenario");
  for (const ScenarioSpec& s : f.scenarios) {
    validate_scenario(c, s);
    check_counts(c, s);
    check_setup_steps(c, s);
  }
}

}  // namespace tlbsim::scenarios
