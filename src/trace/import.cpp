// SPDX-License-Identifier: MIT
#include "trace/import.h"

#include <algorithm>
#include <memory>
#include <optional>
#include <set>
#include <sstream>

#include "model/types.h"
#include "scenarios/spec.h"
#include "trace/address_ranges.h"

namespace tlbsim::trace {

namespace {

using nlohmann::ordered_json;

/// The most pages one op may name (docs/scenario-format.md: sizes are 1..2^24 pages).
constexpr uint64_t kMaxOpPages = uint64_t{1} << 24;
/// A scenario's step budget: imports are long, and every op runs to its return.
constexpr uint64_t kImportMaxSteps = uint64_t{1} << 32;

std::string hex(uint64_t v) {
  std::ostringstream o;
  o << "0x" << std::hex << v;
  return o.str();
}

/// Text from the trace as a scenario may hold it: printable ASCII kept, any other byte and the
/// backslash as "\xNN" (strace escapes such bytes itself, so only a trace edited by hand or cut
/// mid-character has them; a scenario's names are printable UTF-8, and distinct names stay
/// distinct).
std::string printable(const std::string& text) {
  std::string out;
  for (const char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u < 0x7f && c != '\\') {
      out += c;
    } else {
      static const char* const kHex = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

uint64_t page_up(uint64_t bytes) { return (bytes + kPageSize - 1) & ~(kPageSize - 1); }

bool has_flag(const std::string& flags, const std::string& f) {
  size_t at = 0;
  while ((at = flags.find(f, at)) != std::string::npos) {
    const size_t end = at + f.size();
    const bool left = at == 0 || flags[at - 1] == '|' || flags[at - 1] == '=' || flags[at - 1] == '{' || flags[at - 1] == ' ';
    const bool right = end == flags.size() || flags[end] == '|' || flags[end] == ',' || flags[end] == '}';
    if (left && right) return true;
    at = end;
  }
  return false;
}

/// What one page range of a process maps, as far as the scenario format can say it.
struct Mapping {
  uint64_t hi = 0;
  bool writable = false;
  bool shared = false;
  std::string file;  ///< empty: anonymous
  uint64_t index = 0;
};

/// A process image: one scenario mm.
struct Mm {
  std::string name;
  std::map<uint64_t, Mapping> maps;      ///< lo -> mapping, disjoint
  std::shared_ptr<AddressRanges> reach;  ///< ever mapped by this mm or its fork family
  std::optional<uint64_t> brk, start_brk, cur_brk;
  bool forked = false;  ///< a fork's child (no "mms" entry: the fork op makes it)
  bool exited = false;
  bool has_ops = false;  ///< a thread of it has an op in the scenario
  uint64_t touches = 0;  ///< page faults placed in it as CPU touches
  uint32_t users = 0;    ///< processes (thread groups) running in it: a vfork child shares its parent's
  std::vector<std::string> bind;
  std::set<uint64_t> touched;  ///< pages faulted since they were last mapped or zapped
  uint64_t mapped = 0;         ///< pages `maps` covers

  void forget_touches(uint64_t lo, uint64_t hi) { touched.erase(touched.lower_bound(lo), touched.lower_bound(hi)); }

  /// Splits the mapping that straddles `a`, so that `a` begins one.
  void split_at(uint64_t a) {
    auto it = maps.upper_bound(a);
    if (it == maps.begin()) return;
    --it;
    if (it->first >= a || it->second.hi <= a) return;
    Mapping tail = it->second;
    if (!tail.file.empty()) tail.index += (a - it->first) / kPageSize;
    it->second.hi = a;
    maps.emplace(a, tail);
  }
  void erase(uint64_t lo, uint64_t hi) {
    forget_touches(lo, hi);
    split_at(lo);
    split_at(hi);
    for (auto it = maps.lower_bound(lo); it != maps.end() && it->first < hi;) {
      mapped -= (it->second.hi - it->first) / kPageSize;
      it = maps.erase(it);
    }
  }
  bool overlaps(uint64_t lo, uint64_t hi) const {
    auto it = maps.upper_bound(lo);
    if (it != maps.begin() && std::prev(it)->second.hi > lo) return true;
    return it != maps.end() && it->first < hi;
  }
  const Mapping* at(uint64_t a) const {
    auto it = maps.upper_bound(a);
    if (it == maps.begin()) return nullptr;
    --it;
    return it->second.hi <= a ? nullptr : &it->second;
  }
};

struct Thread {
  std::string name;
  bool device = false;  ///< the device's DMA thread
  size_t mm = 0;
  uint32_t cpu = 0;
  ordered_json ops = ordered_json::array();
  bool done = false;
};

struct Task {
  size_t thread = 0;
  uint32_t tgid = 0;  ///< the process (thread group) it belongs to
  uint32_t images = 0;
};

class Importer {
 public:
  /// `device_mm`: the name of the mm the device is bound to, found by a first pass (empty in it).
  Importer(const ImportOptions& opt, std::string device_mm) : m_opt(opt), m_device_mm(std::move(device_mm)) {}

  ImportResult run(const std::vector<TraceRecord>& records, const std::vector<PageFault>& faults) {
    size_t f = 0;
    const auto seen = [&](uint64_t us) {
      if (us == 0) return;
      m_first_us = std::min(m_first_us, us);
      m_last_us = std::max(m_last_us, us);
    };
    for (const PageFault& pf : faults) seen(pf.time_us);
    for (const TraceRecord& r : records) {
      seen(r.time_us);
      // The faults that happened before the call began.
      if (!faults.empty() && r.time_us == 0) fail("page faults need the calls' times (strace -ttt)");
      for (; f < faults.size() && faults[f].time_us < r.time_us; ++f) on_fault(faults[f]);
      ++m_sum.records;
      m_line = r.line;
      if (!m_root) m_root = r.pid;
      on_record(r);
      note_mapped();
    }
    for (; f < faults.size(); ++f) on_fault(faults[f]);
    return result();
  }

  /// The name of the mm the device goes to (ImportOptions::device), after run().
  std::string device_mm_name() {
    const auto mm = device_mm();
    return mm ? m_mms[*mm].name : std::string();
  }

 private:
  [[noreturn]] void fail(const std::string& msg) const { throw ImportErrorException(ImportError{m_line, msg}); }
  void ignore(const std::string& why) { ++m_sum.ignored[why]; }
  void approximate(const std::string& why) { ++m_sum.approximated[why]; }

  // ---- tasks, threads and mms --------------------------------------------------------------

  size_t new_mm(std::string name, bool forked, std::shared_ptr<AddressRanges> reach) {
    if (m_mms.size() >= scenarios::kMaxMms) fail("the trace runs more than " + std::to_string(scenarios::kMaxMms) + " process images");
    Mm mm;
    mm.name = std::move(name);
    mm.forked = forked;
    mm.reach = reach ? std::move(reach) : std::make_shared<AddressRanges>();
    m_mms.push_back(std::move(mm));
    return m_mms.size() - 1;
  }

  size_t new_thread(uint32_t pid, size_t mm, uint32_t image) {
    if (m_threads.size() >= scenarios::kMaxThreads) fail("the trace runs more than " + std::to_string(scenarios::kMaxThreads) + " threads");
    Thread t;
    t.name = "T" + std::to_string(pid) + (image ? "/" + std::to_string(image) : "");
    t.mm = mm;
    t.cpu = static_cast<uint32_t>(m_threads.size() % m_opt.cpus);
    m_threads.push_back(std::move(t));
    return m_threads.size() - 1;
  }

  /// The task `pid`; one never created by a traced clone is a process of its own whose image
  /// the trace did not see begin (the traced program before its first execve, or a task strace
  /// attached to).
  Task& task(uint32_t pid) {
    auto it = m_tasks.find(pid);
    if (it != m_tasks.end()) return it->second;
    const size_t mm = new_mm(std::to_string(pid), false, nullptr);
    m_mms[mm].users = 1;
    return m_tasks.emplace(pid, Task{.thread = new_thread(pid, mm, 0), .tgid = pid}).first->second;
  }

  Thread& thread_of(const Task& t) { return m_threads[t.thread]; }
  Mm& mm_of(const Task& t) { return m_mms[m_threads[t.thread].mm]; }

  void op(const Task& t, ordered_json o) { thread_op(t.thread, std::move(o)); }

  void thread_op(size_t thread, ordered_json o) {
    Thread& th = m_threads[thread];
    th.ops.push_back(std::move(o));
    m_mms[th.mm].has_ops = true;
    m_schedule.push_back(th.name + ":op");
    ++m_sum.ops;
    m_run = {};
  }

  // ---- page touches ---------------------------------------------------------------------------

  /// The last touch ops, while nothing else has been scheduled since: a fault on the next page
  /// of the same thread, of the same kind, extends them instead of adding ops.
  struct TouchRun {
    bool open = false;
    size_t thread = 0;
    bool write = false;
    uint64_t end = 0;
    std::optional<size_t> device;  ///< the device thread, whose last op mirrors it
  };

  size_t device_thread(size_t mm) {
    if (!m_device_thread) {
      Thread t;
      t.name = "dev";
      t.device = true;
      t.mm = mm;
      m_threads.push_back(std::move(t));
      m_device_thread = m_threads.size() - 1;
    }
    return *m_device_thread;
  }

  void on_fault(const PageFault& pf) {
    ++m_sum.faults;
    auto it = m_tasks.find(pf.tid);
    if (it == m_tasks.end()) return ignore("fault of a task with no traced call");
    Task& t = it->second;
    Thread& th = thread_of(t);
    Mm& mm = mm_of(t);
    if (th.done || mm.exited) return ignore("fault after its task ended");
    if (pf.addr >= kTaskSize) return ignore("fault on a kernel address");
    const uint64_t page = pf.addr & ~(kPageSize - 1);
    const Mapping* m = mm.at(page);
    if (!m || !mm.reach->contains(page, page + kPageSize)) return ignore("fault on memory no traced call mapped");
    // perf's page-fault event does not say read or write: a writable anonymous page's first
    // fault is taken as a write (memory is written before it is read), any other first fault as
    // a read, and a writable page's second fault as the write that follows a read.
    const bool again = mm.touched.count(page) > 0;
    const bool write = m->writable && (m->file.empty() || again);
    mm.touched.insert(page);
    ++mm.touches;
    ++m_sum.touches;
    const bool mirror = m_opt.device_access != ImportOptions::DeviceAccess::None && is_device_mm(mm);
    if (mirror) remember(page);
    if (m_run.open && m_run.thread == t.thread && m_run.write == write && m_run.end == page) {
      Thread& cpu = m_threads[t.thread];
      cpu.ops.back()["pages"] = cpu.ops.back()["pages"].get<uint64_t>() + 1;
      if (m_run.device) {
        Thread& dev = m_threads[*m_run.device];
        dev.ops.back()["pages"] = dev.ops.back()["pages"].get<uint64_t>() + 1;
        ++m_sum.device_touches;
      }
      m_run.end += kPageSize;
      return;
    }
    op(t, range_op(write ? "write" : "read", page, page + kPageSize));
    TouchRun run{.open = true, .thread = t.thread, .write = write, .end = page + kPageSize};
    if (mirror) {
      const size_t dev = device_thread(th.mm);
      thread_op(dev, range_op(write ? "dma_write" : "dma_read", page, page + kPageSize));
      run.device = dev;
      ++m_sum.device_touches;
    }
    m_run = run;
  }

  /// The most pages the traced processes had mapped at once (as far as the trace saw them).
  void note_mapped() {
    uint64_t now = 0;
    for (const Mm& mm : m_mms) now += mm.exited ? 0 : mm.mapped;
    m_sum.peak_mapped_pages = std::max(m_sum.peak_mapped_pages, now);
  }

  bool is_device_mm(const Mm& mm) const { return !m_device_mm.empty() && mm.name == m_device_mm; }

  /// --device-access window:N: the device's working set, most recent last.
  void remember(uint64_t page) {
    if (m_opt.device_access != ImportOptions::DeviceAccess::Window) return;
    std::erase(m_window, page);
    m_window.push_back(page);
    if (m_window.size() > m_opt.window) m_window.erase(m_window.begin());
  }

  /// After a call of the device's process that changed its mappings, the device reads its
  /// working set again: the pages still present (touched since they were last mapped or
  /// zapped), as few DMA ranges as adjacent pages allow. What the call invalidated beyond what
  /// it changed is refilled here. Pages gone from the mm leave the working set.
  void retouch_window(const Task& t) {
    Mm& mm = mm_of(t);
    if (m_opt.device_access != ImportOptions::DeviceAccess::Window || !is_device_mm(mm) || mm.exited) return;
    std::erase_if(m_window, [&](uint64_t p) { return mm.touched.count(p) == 0 || !mm.at(p); });
    std::vector<uint64_t> pages = m_window;
    std::sort(pages.begin(), pages.end());
    const size_t dev = device_thread(thread_of(t).mm);
    for (size_t i = 0; i < pages.size();) {
      size_t j = i + 1;
      while (j < pages.size() && pages[j] == pages[j - 1] + kPageSize) ++j;
      thread_op(dev, range_op("dma_read", pages[i], pages[j - 1] + kPageSize));
      m_sum.device_retouches += j - i;
      i = j;
    }
  }

  // ---- records --------------------------------------------------------------------------------

  void on_record(const TraceRecord& r) {
    using K = TraceRecord::Kind;
    if (r.kind == K::Signal) return ignore("signal delivered");
    // The leader's end was taken when the execve that superseded it was read (on_execve()).
    if (r.kind == K::Superseded) return ignore("thread group leader superseded by another thread's execve");
    Task& t = task(r.pid);
    Thread& th = thread_of(t);
    if (r.kind == K::Exited) return void(th.done = true);
    if (r.kind == K::Killed) {
      // A fatal signal ends the whole process the way exit_group() does (do_group_exit()).
      if (!th.done && !mm_of(t).exited) exit_process(t);
      th.done = true;
      return;
    }
    if (r.ret.empty()) {
      ++m_sum.unfinished;
      return ignore(r.name + " that never returned");
    }
    if (r.failed()) return void(++m_sum.failed);
    if (th.done || mm_of(t).exited) return ignore("call after its process's exit_group");
    const std::string& n = r.name;
    const size_t before = m_sum.ops;
    if (n == "execve" || n == "execveat")
      on_execve(r, t);
    else if (n == "mmap" || n == "mmap2")
      on_mmap(r, t);
    else if (n == "munmap" || n == "mprotect" || n == "pkey_mprotect" || n == "madvise" || n == "mremap" || n == "brk")
      on_mapping_change(r, t);
    else if (n == "clone" || n == "clone3" || n == "fork" || n == "vfork")
      on_clone(r, t);
    else if (n == "exit_group")
      exit_process(t);
    else if (n == "exit")
      th.done = true;
    else
      return ignore(n);
    if (m_sum.ops > before) ++m_sum.imported;
  }

  /// A call that unmaps, zaps or changes the protection of memory the process had mapped.
  void on_mapping_change(const TraceRecord& r, Task& t) {
    const size_t before = m_sum.ops;
    const std::string& n = r.name;
    if (n == "munmap")
      on_munmap(r, t);
    else if (n == "mprotect" || n == "pkey_mprotect")
      on_mprotect(r, t);
    else if (n == "madvise")
      on_madvise(r, t);
    else if (n == "mremap")
      on_mremap(r, t);
    else
      on_brk(r, t);
    if (m_sum.ops > before) retouch_window(t);
  }

  uint64_t arg(const TraceRecord& r, size_t i) const {
    if (i >= r.args.size())
      fail(r.name + " has " + std::to_string(r.args.size()) + " arguments, expected at least " + std::to_string(i + 1));
    const auto v = parse_number(r.args[i]);
    if (!v) fail(r.name + ": expected a number as argument " + std::to_string(i + 1) + ", got \"" + r.args[i] + "\"");
    return *v;
  }
  uint64_t result(const TraceRecord& r) const {
    const auto v = parse_number(r.ret);
    if (!v) fail(r.name + ": expected a number as its result, got \"" + r.ret + "\"");
    return *v;
  }

  /// [lo, hi) as a page range below TASK_SIZE, or nothing (counted) for one a scenario cannot
  /// name.
  bool user_range(uint64_t lo, uint64_t hi, const char* what) {
    if (lo % kPageSize || hi <= lo || hi > kTaskSize) {
      ignore(std::string(what) + " outside user space or unaligned");
      return false;
    }
    return true;
  }

  ordered_json range_op(const char* name, uint64_t lo, uint64_t hi) {
    return ordered_json{{"op", name}, {"addr", hex(lo)}, {"pages", (hi - lo) / kPageSize}};
  }

  /// The op `name` over the parts of [lo, hi) the process's traced calls have mapped (the
  /// scenario can name no other memory), each part at most 2^24 pages.
  template <typename Extra>
  void ops_over_reach(const Task& t, const char* name, uint64_t lo, uint64_t hi, Extra extra) {
    const Mm& mm = mm_of(t);
    const auto parts = mm.reach->intersect(lo, hi);
    uint64_t covered = 0;
    for (auto [l, h] : parts) {
      covered += h - l;
      for (uint64_t a = l; a < h; a += kMaxOpPages * kPageSize) {
        ordered_json o = range_op(name, a, std::min(h, a + kMaxOpPages * kPageSize));
        extra(o);
        op(t, std::move(o));
      }
    }
    if (covered < hi - lo) ignore(std::string(name) + " of memory no traced call mapped");
  }

  void on_execve(const TraceRecord& r, Task& t) {
    Mm& old = mm_of(t);
    Thread& th = thread_of(t);
    // exec_mmap(): the old image is put with mmput(); the last user tears it down. A vfork
    // child leaves its parent's mm to the parent. An image no call of which the scenario holds
    // (strace's own fork before the program's first execve) has nothing to tear down.
    if (old.users <= 1 && (old.has_ops || old.forked)) op(t, ordered_json("exit"));
    th.done = true;
    if (old.users) --old.users;
    // de_thread(): the process's other threads end; a thread other than the leader takes the
    // leader's id (strace: "<pid changed to N ...>", "+++ superseded by execve +++").
    for (auto& [pid, other] : m_tasks)
      if (other.tgid == t.tgid) m_threads[other.thread].done = true;
    const uint32_t id = r.new_pid ? r.new_pid : r.pid;
    if (id != r.pid) {
      const auto leader = m_tasks.find(id);
      if (leader == m_tasks.end() || leader->second.tgid != t.tgid)
        fail(r.name + " moves task " + std::to_string(r.pid) + " to " + std::to_string(id) + ", which is not its process's leader");
      t.images = std::max(t.images, leader->second.images);
    }
    std::string prog = r.args.empty() ? std::string("?") : r.args[0];
    if (prog.size() >= 2 && prog.front() == '"') prog = prog.substr(1, prog.rfind('"') - 1);
    prog = prog.substr(prog.rfind('/') + 1);
    std::string clean;
    for (char c : prog) clean += (std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' || c == '+') ? c : '?';
    ++t.images;
    const size_t mm = new_mm(std::to_string(id) + "/" + std::to_string(t.images) + " " + clean, false, nullptr);
    m_mms[mm].users = 1;
    t.thread = new_thread(id, mm, t.images);
    t.tgid = id;
    if (id != r.pid) {
      const Task moved = t;  // t refers into m_tasks
      m_tasks.erase(r.pid);
      m_tasks[id] = moved;
    }
  }

  void on_clone(const TraceRecord& r, Task& parent) {
    const uint64_t child = result(r);
    if (child == 0 || child > UINT32_MAX) fail(r.name + " returned " + r.ret + ", which is no task id");
    const auto pid = static_cast<uint32_t>(child);
    if (m_tasks.count(pid)) fail(r.name + " returned task " + r.ret + ", which the trace has seen already");
    std::string flags;
    for (const std::string& a : r.args) flags += a + ",";
    const bool vm = r.name == "vfork" || has_flag(flags, "CLONE_VM");
    const bool same_process = has_flag(flags, "CLONE_THREAD");
    const size_t parent_mm = thread_of(parent).mm;
    if (vm) {
      // A thread (CLONE_THREAD) or a vfork child: the same mm, no op.
      if (!same_process) ++m_mms[parent_mm].users;
      m_tasks.emplace(pid, Task{.thread = new_thread(pid, parent_mm, 0), .tgid = same_process ? parent.tgid : pid});
      return;
    }
    // fork(): dup_mmap() copies the parent's mappings into the child's mm.
    Mm& pm = m_mms[parent_mm];
    const std::string child_name = std::to_string(pid) + " fork of " + pm.name;
    const size_t mm = new_mm(child_name, true, pm.reach);
    Mm& cm = m_mms[mm];
    const Mm& pm2 = m_mms[parent_mm];
    cm.maps = pm2.maps;
    cm.mapped = pm2.mapped;
    cm.cur_brk = pm2.cur_brk;
    cm.users = 1;
    op(parent, ordered_json{{"op", "fork"}, {"name", child_name}});
    m_tasks.emplace(pid, Task{.thread = new_thread(pid, mm, 0), .tgid = pid});
  }

  void exit_process(Task& t) {
    // exit_group(): the process's other threads die; the mm is torn down by the last user. The
    // model's exit op ends every thread of its mm, so a vfork child, which shares its parent's
    // mm, just stops (its mmput() is not the last).
    Mm& mm = mm_of(t);
    if (mm.users <= 1) op(t, ordered_json("exit"));
    for (auto& [pid, other] : m_tasks)
      if (other.tgid == t.tgid) m_threads[other.thread].done = true;
    if (mm.users) --mm.users;
    if (!mm.users) mm.exited = true;
  }

  /// The scenario's protection for PROT_* flags: the model knows read-only and read-write.
  std::string prot(const std::string& p) {
    if (has_flag(p, "PROT_WRITE")) return "rw";
    if (p == "PROT_NONE" || p == "0") approximate("PROT_NONE imported as read-only (the model has no PROT_NONE)");
    return "r";
  }

  void map_range(Mm& mm, uint64_t lo, uint64_t hi, const Mapping& m) {
    mm.erase(lo, hi);
    Mapping x = m;
    x.hi = hi;
    mm.maps.emplace(lo, x);
    mm.mapped += (hi - lo) / kPageSize;
    mm.reach->add(lo, hi);
  }

  /// An mmap op for [lo, hi) mapping `m`: MAP_FIXED when it replaces a mapping (the model's
  /// plain mmap is MAP_FIXED_NOREPLACE).
  void mmap_op(Task& t, uint64_t lo, uint64_t hi, const Mapping& m, bool fixed, bool populate) {
    if (hi - lo > kMaxOpPages * kPageSize) {
      // One op maps at most 2^24 pages: a larger mapping (a reservation of address space, as
      // allocators and runtimes make with PROT_NONE) is several VMAs of the model.
      approximate("mapping larger than 2^24 pages imported as several mmaps of 2^24 pages");
      for (uint64_t a = lo; a < hi; a += kMaxOpPages * kPageSize) {
        Mapping part = m;
        if (!part.file.empty()) part.index += (a - lo) / kPageSize;
        mmap_op(t, a, std::min(hi, a + kMaxOpPages * kPageSize), part, fixed, populate);
      }
      return;
    }
    Mm& mm = mm_of(t);
    ordered_json o = range_op("mmap", lo, hi);
    o["prot"] = m.writable ? "rw" : "r";
    if (m.shared) o["shared"] = true;
    if (fixed || mm.overlaps(lo, hi)) o["fixed"] = true;
    if (populate) o["populate"] = true;
    if (!m.file.empty()) {
      o["file"] = m.file;
      o["index"] = m.index;
      uint64_t& pages = m_files[m.file];
      pages = std::max(pages, m.index + (hi - lo) / kPageSize);
    }
    map_range(mm, lo, hi, m);
    op(t, std::move(o));
  }

  void on_mmap(const TraceRecord& r, Task& t) {
    const uint64_t lo = result(r), hi = lo + page_up(arg(r, 1));
    if (!user_range(lo, hi, "mmap")) return;
    if (r.args.size() < 6) fail("mmap has " + std::to_string(r.args.size()) + " arguments, expected 6");
    const std::string& flags = r.args[3];
    Mapping m;
    m.writable = prot(r.args[2]) == "rw";
    m.shared = has_flag(flags, "MAP_SHARED") || has_flag(flags, "MAP_SHARED_VALIDATE");
    if (!has_flag(flags, "MAP_ANONYMOUS") && !has_flag(flags, "MAP_ANON")) {
      const std::string& fd = r.args[4];
      const size_t open = fd.find('<');
      // strace -y names the file ("3</usr/lib/libc.so.6>"); without it each mapping gets a
      // file of its own, since a descriptor number says nothing about which file it was.
      m.file = printable(open != std::string::npos && fd.back() == '>'
                             ? fd.substr(open + 1, fd.size() - open - 2)
                             : "fd " + fd + " of task " + std::to_string(r.pid) + " at line " + std::to_string(r.line));
      const uint64_t off = arg(r, 5);
      m.index = off / kPageSize;
      if (m.file.empty() || m.index + (hi - lo) / kPageSize > kMaxOpPages) {
        approximate("file mapping beyond 2^24 pages of its file imported as anonymous");
        m.file.clear();
        m.index = 0;
      }
    }
    if (has_flag(r.args[2], "PROT_EXEC")) approximate("PROT_EXEC ignored (the model has no execute permission)");
    mmap_op(t, lo, hi, m, has_flag(flags, "MAP_FIXED"), has_flag(flags, "MAP_POPULATE"));
  }

  void on_munmap(const TraceRecord& r, Task& t) {
    const uint64_t lo = arg(r, 0), hi = lo + page_up(arg(r, 1));
    if (!user_range(lo, hi, "munmap")) return;
    ops_over_reach(t, "munmap", lo, hi, [](ordered_json&) {});
    mm_of(t).erase(lo, hi);
  }

  void on_mprotect(const TraceRecord& r, Task& t) {
    const uint64_t lo = arg(r, 0), hi = lo + page_up(arg(r, 1));
    if (!user_range(lo, hi, "mprotect") || r.args.size() < 3) return;
    const std::string p = prot(r.args[2]);
    ops_over_reach(t, "mprotect", lo, hi, [&](ordered_json& o) { o["prot"] = p; });
    Mm& mm = mm_of(t);
    mm.split_at(lo);
    mm.split_at(hi);
    for (auto it = mm.maps.lower_bound(lo); it != mm.maps.end() && it->first < hi; ++it) it->second.writable = p == "rw";
  }

  void on_madvise(const TraceRecord& r, Task& t) {
    const uint64_t lo = arg(r, 0), hi = lo + page_up(arg(r, 1));
    const std::string advice = r.args.size() > 2 ? r.args[2] : "?";
    const char* op_name = advice == "MADV_DONTNEED" ? "madvise_dontneed" : advice == "MADV_FREE" ? "madvise_free" : nullptr;
    if (!op_name) return ignore("madvise " + advice);
    if (!user_range(lo, hi, "madvise")) return;
    ops_over_reach(t, op_name, lo, hi, [](ordered_json&) {});
    mm_of(t).forget_touches(lo, hi);
  }

  void on_mremap(const TraceRecord& r, Task& t) {
    const uint64_t old = arg(r, 0), old_len = page_up(arg(r, 1)), new_len = page_up(arg(r, 2)), to = result(r);
    const std::string flags = r.args.size() > 3 ? r.args[3] : "";
    if (!user_range(old, old + old_len, "mremap") || !user_range(to, to + new_len, "mremap")) return;
    Mm& mm = mm_of(t);
    const uint64_t moved = std::min(old_len, new_len);
    if (!mm.reach->contains(old, old + moved) || !mm.at(old) || !mm.at(old + moved - 1))
      return ignore("mremap of memory no traced call mapped");
    // Shrinking: the tail goes first (mremap(): do_munmap() of old + new_len).
    if (new_len < old_len) {
      ops_over_reach(t, "munmap", old + new_len, old + old_len, [](ordered_json&) {});
      mm.erase(old + new_len, old + old_len);
    }
    mm.split_at(old);
    mm.split_at(old + moved);
    std::vector<std::pair<uint64_t, Mapping>> pieces;
    for (auto it = mm.maps.lower_bound(old); it != mm.maps.end() && it->first < old + moved; ++it) pieces.emplace_back(*it);
    const Mapping last = pieces.back().second;
    if (to != old) {
      // MREMAP_FIXED: whatever the destination maps is unmapped first (mremap_to()).
      if (mm.overlaps(to, to + moved)) {
        ops_over_reach(t, "munmap", to, to + moved, [](ordered_json&) {});
        mm.erase(to, to + moved);
      }
      // The model's mmap does not merge a mapping into its neighbour (vma_merge() in
      // mmap_region() is not modelled), so what the kernel moves as one VMA may be several
      // here; each moves by an mremap of its own, as the kernel would refuse one spanning
      // VMAs (-EFAULT).
      if (pieces.size() > 1) approximate("mremap of a range the model holds as several VMAs, moved one VMA at a time");
      const bool dontunmap = has_flag(flags, "MREMAP_DONTUNMAP");
      for (const auto& [lo, m] : pieces) {
        ordered_json o = range_op("mremap", lo, m.hi);
        o["new_addr"] = hex(to + (lo - old));
        if (dontunmap) o["dontunmap"] = true;
        op(t, std::move(o));
      }
      if (!dontunmap) mm.erase(old, old + moved);
      for (const auto& [lo, m] : pieces) map_range(mm, to + (lo - old), to + (m.hi - old), m);
    }
    // Growing: the new tail is a fresh part of the mapping (vma_expand() in place, or the
    // moved VMA's larger size), imported as an mmap of it.
    if (new_len > old_len) {
      Mapping tail = last;
      if (!tail.file.empty()) tail.index += (old + old_len - pieces.back().first) / kPageSize;
      approximate("mremap growth imported as an mmap of the new tail");
      mmap_op(t, to + old_len, to + new_len, tail, false, false);
    }
  }

  void on_brk(const TraceRecord& r, Task& t) {
    Mm& mm = mm_of(t);
    const uint64_t ret = result(r);
    if (ret == 0 || ret > kTaskSize) return ignore("brk outside user space");
    const uint64_t now = page_up(ret);
    if (!mm.cur_brk) {
      // The first brk() of an image tells where its heap begins (exec's set_brk()).
      if (mm.forked) return ignore("brk of a fork child whose parent never called brk");
      mm.brk = mm.start_brk = mm.cur_brk = now;
      return;
    }
    if (now == *mm.cur_brk) return;
    if (mm.start_brk && now < *mm.start_brk) return ignore("brk below the heap's start");
    op(t, ordered_json{{"op", "brk"}, {"addr", hex(now)}});
    if (now > *mm.cur_brk) {
      Mapping heap;
      heap.writable = true;
      map_range(mm, *mm.cur_brk, now, heap);
    } else {
      mm.erase(now, *mm.cur_brk);
    }
    mm.cur_brk = now;
  }

  // ---- the scenario ------------------------------------------------------------------------

  std::optional<size_t> device_mm() {
    if (m_opt.device == ImportOptions::Device::None) return std::nullopt;
    if (m_opt.device == ImportOptions::Device::Busiest) {
      // The first pass picks it (the image most touches were placed in); the second finds it
      // by name.
      std::optional<size_t> best;
      for (size_t i = 0; i < m_mms.size(); ++i) {
        const Mm& mm = m_mms[i];
        if (!m_device_mm.empty() ? mm.name == m_device_mm : !mm.forked && mm.touches > 0 && (!best || mm.touches > m_mms[*best].touches))
          best = i;
      }
      if (best) return best;
    }
    const uint32_t pid = m_opt.device == ImportOptions::Device::Pid ? m_opt.device_pid : m_root;
    auto it = m_tasks.find(pid);
    if (it == m_tasks.end()) {
      m_line = 0;
      fail("--device: the trace has no task " + std::to_string(pid));
    }
    const size_t mm = m_threads[it->second.thread].mm;
    if (m_mms[mm].forked) {
      m_line = 0;
      fail("--device: process " + std::to_string(pid) + " runs a fork's copy of its parent, which no device can be bound to at setup");
    }
    return mm;
  }

  ImportResult result() {
    ordered_json s;
    s["name"] = m_opt.name;
    s["source"] = m_opt.source.empty() ? "tlbsim import" : printable(m_opt.source);
    s["description"] = "A recorded program's memory system calls, imported by tlbsim import (docs/workloads.md).";
    s["cpus"] = m_opt.cpus;
    s["max_steps"] = kImportMaxSteps;
    // The program's recorded run time, for rates per recorded second (tlbsim sweep --workload).
    // A span past the scenario format's 2^50 ns (13 days) says the times are not one recording's.
    if (m_last_us > m_first_us) {
      if (m_last_us - m_first_us <= (uint64_t{1} << 50) / 1000)
        s["recorded_ns"] = (m_last_us - m_first_us) * 1000;
      else
        ignore("run time: the trace's times span more than 13 days");
    }
    const auto dev = device_mm();
    ordered_json devices = ordered_json::array();
    if (dev) {
      devices.push_back(ordered_json{{"name", "dev"}, {"decoding", m_opt.decoding}});
      m_mms[*dev].bind.push_back("dev");
    }
    s["devices"] = devices;
    ordered_json files = ordered_json::array();
    for (const auto& [name, pages] : m_files) files.push_back(ordered_json{{"name", name}, {"pages", std::max<uint64_t>(pages, 1)}});
    s["files"] = files;
    // Images no thread of which made a call the scenario holds (the traced program before its
    // first execve) are left out.
    std::vector<bool> used(m_mms.size());
    for (const Thread& t : m_threads) used[t.mm] = used[t.mm] || !t.ops.empty();
    ordered_json mms = ordered_json::array();
    for (size_t i = 0; i < m_mms.size(); ++i) {
      const Mm& mm = m_mms[i];
      if (mm.forked || (!used[i] && mm.bind.empty())) continue;
      ordered_json m{{"name", mm.name}};
      if (mm.brk) {
        m["brk"] = hex(*mm.brk);
        m["start_brk"] = hex(*mm.start_brk);
      }
      if (!mm.bind.empty()) m["bind"] = mm.bind;
      mms.push_back(std::move(m));
    }
    s["mms"] = mms;
    ordered_json threads = ordered_json::array();
    for (const Thread& t : m_threads) {
      if (t.ops.empty()) continue;
      if (t.device)
        threads.push_back(ordered_json{{"name", t.name}, {"device", "dev"}, {"mm", m_mms[t.mm].name}, {"ops", t.ops}});
      else
        threads.push_back(ordered_json{{"name", t.name}, {"cpu", t.cpu}, {"mm", m_mms[t.mm].name}, {"ops", t.ops}});
    }
    s["threads"] = threads;
    s["schedule"] = m_schedule;
    ImportSummary sum = m_sum;
    sum.threads = threads.size();
    sum.processes = mms.size();
    for (size_t i = 0; i < m_mms.size(); ++i) sum.processes += m_mms[i].forked && used[i] ? 1 : 0;
    return ImportResult{.document = ordered_json{{"scenarios", ordered_json::array({s})}}, .summary = std::move(sum)};
  }

  const ImportOptions& m_opt;
  std::string m_device_mm;
  std::optional<size_t> m_device_thread;
  TouchRun m_run;
  ImportSummary m_sum;
  size_t m_line = 0;
  uint32_t m_root = 0;
  uint64_t m_first_us = UINT64_MAX, m_last_us = 0;  ///< the earliest and latest traced event
  std::vector<uint64_t> m_window;                   ///< --device-access window:N's pages
  std::vector<Mm> m_mms;
  std::vector<Thread> m_threads;
  std::map<uint32_t, Task> m_tasks;
  std::map<std::string, uint64_t> m_files;
  std::vector<std::string> m_schedule;
};

}  // namespace

ImportResult import_trace(const std::vector<TraceRecord>& records, const ImportOptions& opt, const std::vector<PageFault>& faults) {
  if (opt.cpus == 0 || opt.cpus > 64) throw ImportErrorException(ImportError{0, "cpus must be 1..64"});
  // Which process image the device is bound to is known once the whole trace is read (the
  // chosen process's last execve): a first pass finds it, the second mirrors its touches.
  std::string device_mm;
  if (opt.device == ImportOptions::Device::Busiest ||
      (opt.device != ImportOptions::Device::None && opt.device_access != ImportOptions::DeviceAccess::None && !faults.empty())) {
    Importer first(opt, "");
    (void)first.run(records, opt.device == ImportOptions::Device::Busiest ? faults : std::vector<PageFault>{});
    device_mm = first.device_mm_name();
  }
  return Importer(opt, device_mm).run(records, faults);
}

}  // namespace tlbsim::trace
