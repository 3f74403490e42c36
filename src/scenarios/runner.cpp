// SPDX-License-Identifier: MIT
#include "scenarios/runner.h"

#include <algorithm>
#include <map>
#include <memory>

#include "kernel/exit.h"
#include "kernel/fault.h"
#include "kernel/kernel.h"
#include "kernel/page.h"
#include "kernel/sva.h"
#include "kernel/sva_strategy.h"
#include "kernel/task.h"
#include "kernel/thp.h"
#include "kernel/vmalloc.h"
#include "model/check.h"
#include "model/log_check.h"
#include "scenarios/errors.h"
#include "scenarios/ops.h"
#include "scenarios/printable.h"
#include "scenarios/rng.h"

namespace tlbsim::scenarios {

namespace {

using kernel::Task;

TranslationCacheConfig cache_shape(uint32_t entries) {
  const uint32_t ways = entries % 4 == 0 ? 4 : 1;
  return TranslationCacheConfig{.sets = entries / ways, .ways = ways};
}

struct SimThread {
  kernel::ThreadState state;
  OpContext ctx;
  const ThreadSpec* spec = nullptr;
  std::unique_ptr<Task<>> root;
  uint16_t actor = 0;
  int op = -1;                         ///< the op it is at (at its entry or inside it); -1 before the first and after the last
  bool op_stored = false;              ///< that op has stored a page-table entry (so it may have opened windows)
  std::vector<OpStoreSpan> op_stores;  ///< where, so far (StepRecord::op_stores)
  size_t merge_at = 256;               ///< merge op_stores when it grows to this size
};

/// Sort and merge overlapping or touching spans of the same mm.
std::vector<OpStoreSpan> merged(std::vector<OpStoreSpan> v) {
  std::sort(v.begin(), v.end());
  std::vector<OpStoreSpan> out;
  for (const OpStoreSpan& x : v) {
    if (!out.empty() && out.back().mm == x.mm && x.lo <= out.back().hi)
      out.back().hi = std::max(out.back().hi, x.hi);
    else
      out.push_back(x);
  }
  return out;
}

/// A thread of a fork's child process (its "mm" names the child): it starts once fork has
/// copied the mm and woken the child (wake_up_new_task()), running on its CPU (switch_mm()
/// puts it in the child's mm_cpumask) with a reference on the mm. If the parent process exits
/// before the fork began, the child never exists and the thread runs nothing. Returns the
/// child's mm, or nullptr then.
Task<AddressSpace*> start_in_child(OpContext& ctx, const std::string& child, const std::string& parent) {
  co_await kernel::wait_until("wake_up_new_task", [&ctx, &child, &parent] {
    if (const AddressSpace* c = ctx.k.find_mm(child)) return c->task_running();  // else fork is still copying it
    const AddressSpace* p = ctx.k.find_mm(parent);
    return p != nullptr && p->group_exit();
  });
  AddressSpace* mm = ctx.k.find_mm(child);
  if (!mm || !mm->task_running()) co_return nullptr;
  mm->add_cpu(ctx.cpu);
  mm->mmget();
  mm->task_get();
  co_return mm;
}

/// `op` follows the thread through its ops, so a step can tell which op it ran and whether that
/// op returned in it (StepRecord::op, op_returned); `spans` records where each op began and
/// returned in the event sequence (RunResult::ops).
Task<> thread_main(OpContext& ctx, const ThreadSpec& spec, std::string forked_from, int& op, std::vector<OpSpan>& spans) {
  if (!forked_from.empty()) {
    ctx.mm = co_await start_in_child(ctx, spec.mm, forked_from);
    if (!ctx.mm) co_return;
  }
  // A CPU thread holds a reference on its mm (mm_users) and, once its process is exiting, dies
  // at its next return to user mode: after the op it is in, before the next (kernel/exit.h).
  const bool mm_user = spec.kind == ThreadKind::Cpu && ctx.mm != nullptr;
  for (size_t i = 0; i < spec.ops.size(); ++i) {
    const OpSpec& o = spec.ops[i];
    if (mm_user && kernel::fatal_signal_pending(*ctx.mm)) break;
    op = static_cast<int>(i);
    const OpInfo* info = find_op(o.op);
    kernel::YieldPoint entry{o.op.c_str(), info->hardware_entry};
    co_await entry;
    spans.push_back(OpSpan{.thread = -1, .actor = ctx.k.bus().actor(), .op = op, .name = o.op, .begin = ctx.k.bus().next_seq()});
    const size_t mine = spans.size() - 1;
    co_await info->start(ctx, o);
    spans[mine].end = ctx.k.bus().next_seq();
  }
  op = -1;
  if (mm_user) {
    co_await kernel::exit_mm(ctx.k, *ctx.mm);
    co_await kernel::exit_files(ctx.k, *ctx.mm);
  }
}

class Runner {
 public:
  Runner(const ScenarioSpec& s, const kernel::Policy& policy, const RunOptions& opt) : m_s(s), m_opt(opt) {
    kernel::MachineConfig mc;
    mc.arch = s.arch;
    mc.cpus = s.cpus;
    mc.cpu.tlb = cache_shape(s.tlb_entries);
    mc.cpu.fault_drops_entry = mc.arch == kernel::Arch::X86;
    mc.mem.reuse = s.reuse;
    mc.cost = opt.cost ? *opt.cost : s.cost;
    if (opt.cpu_strategy) kernel::apply_cpu_strategy(mc, *opt.cpu_strategy);
    m_k = std::make_unique<kernel::Kernel>(mc, policy);
    m_log.reserve(opt.expected_events);
    m_k->bus().add_sink(&m_log);
    if (m_opt.check_invariants) m_k->bus().add_sink(&m_log_check);
    m_k->bus().set_actor(m_k->bus().intern_actor("setup"));
    build();
  }

  RunResult run() {
    RunResult r;
    r.scenario = m_s.name;
    r.policy = m_k->policy().name;
    r.seed = m_opt.seed.value_or(m_s.schedule.seed);
    m_priming = true;
    for (auto& t : m_threads) step(t);  // prime: each thread stops at its first op
    m_priming = false;
    if (m_opt.chooser) {
      chosen(r);
    } else
      switch (m_s.schedule.kind) {
        case ScheduleSpec::Kind::Explicit:
          for (const ScheduleEntry& e : m_s.schedule.entries) follow(e);
          finish_in_order(r);
          break;
        case ScheduleSpec::Kind::RoundRobin: round_robin(r); break;
        case ScheduleSpec::Kind::Random: random(r, r.seed); break;
      }
    if (m_opt.check_invariants && r.status == RunResult::Status::Completed) m_k->mem().check_quiescent();
    r.steps = m_steps;
    r.trace = std::move(m_trace);
    for (OpSpan& o : m_ops)
      for (const auto& t : m_threads)
        if (t.get().actor == o.actor) o.thread = t.get().state.id;
    r.ops = std::move(m_ops);
    r.events = m_log.take();
    r.actors = m_k->bus().actor_names();
    for (unsigned i = 0; i < m_k->iommus(); ++i)
      for (uint16_t d = 0; d < m_k->iommu(i).devices(); ++d) {
        const uint16_t g = m_k->iommu(i).device_global_id(d);
        if (r.device_names.size() <= g) r.device_names.resize(g + 1);
        r.device_names[g] = m_k->iommu(i).device_name(d);
        r.iommu_cost += m_k->iommu(i).counters();
      }
    r.cpu_cost = m_k->cpu_counters();
    r.end_time_ns = m_k->bus().now();
    r.frames_peak = m_k->mem().frames_total();
    r.state_bytes = m_k->mem().peak_state_bytes();
    for (SimThread& t : m_threads) r.threads.push_back(ThreadOutcome{t.spec->name, t.state.done, t.state.next_label, t.state.runnable()});
    return r;
  }

 private:
  uint32_t file_id(const std::string& name) const { return m_files.at(name); }

  void build() {
    kernel::Kernel& k = *m_k;
    for (size_t i = 0; i < m_s.devices.size(); ++i) {
      const DeviceSpec& d = m_s.devices[i];
      const kernel::DecodingInfo* di = &kernel::resolve_decoding(d.decoding_choice.value(), k.policy());
      iommu::IommuConfig ic;
      ic.kind = di->kind();
      ic.iotlb = cache_shape(d.iotlb_entries);
      ic.walk_cache_entries = d.walk_cache_entries;
      ic.cache_nonleaf_on_fault = d.cache_nonleaf_on_fault.value_or(true);
      ic.cache_nonleaf_on_supervisor_fault = d.cache_nonleaf_on_supervisor_fault;
      // SMMUv3 reports a permission fault and keeps its entry; x86 IOMMUs walk again.
      ic.permission_fault_rewalks = d.permission_fault_rewalks.value_or(di->kind() != iommu::IommuKind::SmmuV3);
      ic.btm = d.btm;
      ic.batch_order = d.cmds_complete_in_order ? iommu::BatchOrder::InOrder : iommu::BatchOrder::AnyOrder;
      ic.batch_order_rank = m_opt.batch_order;
      ic.pasid_table_cached = d.pasid_table_cached;
      iommu::Iommu& io = k.add_iommu(ic);
      io.add_device(iommu::DeviceConfig{.name = d.name,
                                        .global_id = static_cast<uint16_t>(i),
                                        .ats = d.ats,
                                        .atc = cache_shape(d.atc_entries),
                                        .nopasid_inv_covers_pasid = d.nopasid_inv_covers_pasid});
      m_devices[d.name] = SvaDevice{static_cast<unsigned>(k.iommus() - 1), di->decoding};
    }
    for (const FileSpec& f : m_s.files) m_files[f.name] = k.create_file(f.name, f.pages);
    // The kernel half, before any mm so that each mm's PGD copies it: the PUD tables of every
    // PGD slot a vmalloc area or an ioremap_huge op reaches, then the areas.
    for (const VmallocSpec& v : m_s.vmalloc) k.boot_kernel_half(VaRange{v.addr, v.addr + v.pages * kPageSize});
    for (const ThreadSpec& ts : m_s.threads)
      for (const OpSpec& o : ts.ops)
        if (o.id == Op::ioremap_huge) k.boot_kernel_half(VaRange{o.addr, o.addr + kPmdSize});
    for (const VmallocSpec& v : m_s.vmalloc) kernel::vmalloc_setup(k, Vaddr{v.addr}, v.pages);
    unsigned remaps = 0;
    for (const ThreadSpec& ts : m_s.threads)
      remaps +=
          static_cast<unsigned>(std::count_if(ts.ops.begin(), ts.ops.end(), [](const OpSpec& o) { return o.id == Op::ioremap_huge; }));
    k.kernel_pgtable_work().set_producers(remaps);
    // Each fork's child, by name: the mm of the thread that forks it.
    for (const ThreadSpec& ts : m_s.threads)
      for (const OpSpec& o : ts.ops)
        if (o.id == Op::fork) m_fork_parent[o.name.empty() ? ts.mm + ".child" : o.name] = ts.mm;
    // shmem_zero_setup() makes a shmem file for each MAP_SHARED|MAP_ANONYMOUS mmap. They are
    // made here, in file order, so that a file's id does not depend on which mmap ran first.
    for (const ThreadSpec& ts : m_s.threads)
      for (size_t i = 0; i < ts.ops.size(); ++i) {
        const OpSpec& o = ts.ops[i];
        if (o.id == Op::mmap && o.shared && o.file.empty())
          m_shmem[&o] = k.create_file("dev/zero (" + ts.name + " op " + std::to_string(i) + ")", o.pages, true);
      }
    for (size_t mi = 0; mi < m_s.mms.size(); ++mi) {
      const MmSpec& ms = m_s.mms[mi];
      AddressSpace& mm = k.create_mm(ms.name);
      mm.wake_up_new_task();  // its threads run from the start
      m_mms[ms.name] = &mm;
      for (unsigned cpu : ms.cpus) mm.add_cpu(cpu);            // mm_cpumask: the process ran there before
      if (ms.has_brk) mm.set_start_brk(ms.start_brk, ms.brk);  // exec's set_brk()
      for (const std::string& dev : ms.bind) {
        const SvaDevice& d = m_devices.at(dev);
        // The binds a process made before the run, in the order of "mms": iommu_sva_bind_device()
        // gives each mm the lowest free PASID at its first (Kernel::alloc_global_pasid()).
        const Pasid pasid = mm.pasid() ? *mm.pasid() : k.alloc_global_pasid();
        if (m_opt.iommu_strategy)
          kernel::iommu_sva_bind_device_strategy(k, mm, k.iommu(d.iommu), 0, pasid, *m_opt.iommu_strategy);
        else
          kernel::iommu_sva_bind_device(k, mm, k.iommu(d.iommu), 0, pasid, d.decoding);
      }
      for (const VmaSpec& v : ms.vmas) {
        const uint32_t flags = uint32_t{kVmRead} | (v.writable ? uint32_t{kVmWrite} : 0u) | (v.shared ? uint32_t{kVmShared} : 0u) |
                               (v.pfnmap ? uint32_t{kVmPfnMap} : 0u);
        const uint32_t fid = v.file.empty() ? 0 : file_id(v.file);
        kernel::mmap_region(k, mm, Vaddr{v.start}, v.pages * kPageSize, flags, fid, v.pgoff);
        if (v.pfnmap) {
          // remap_pfn_range(): driver-owned frames behind special PTEs, no struct page refcounts.
          for (uint64_t a = v.start; a < v.start + v.pages * kPageSize; a += kPageSize) {
            const Pfn p = k.mem().alloc(FrameKind::Kernel, 0, 0, "driver page");
            const PteRef r = mm.pt().alloc(Vaddr{a}, 1, "remap_pfn_range");
            mm.pt().set(r, Vaddr{a}, Pte::make(p, v.writable).with(Pte::kSpecial), "remap_pfn_range");
          }
        } else if (v.thp) {
          for (uint64_t a = v.start; a < v.start + v.pages * kPageSize; a += kPmdSize) kernel::map_huge_anon(k, mm, Vaddr{a});
        } else if (v.populate != Populate::None) {
          kernel::populate(k, mm, Vaddr{v.start}, v.pages * kPageSize, v.populate == Populate::Write);
        }
      }
    }
    for (size_t i = 0; i < m_s.threads.size(); ++i) {
      const ThreadSpec& ts = m_s.threads[i];
      auto t = std::make_unique<SimThread>(SimThread{.state = {}, .ctx = OpContext{k}, .spec = &ts});
      t->state.id = static_cast<int>(i);
      t->state.name = ts.name;
      t->state.next_label = "start";
      t->actor = k.bus().intern_actor(ts.name);
      // A thread in a fork's child finds its mm when it starts (start_in_child()).
      if (!ts.mm.empty() && m_mms.count(ts.mm)) t->ctx.mm = m_mms.at(ts.mm);
      t->ctx.shmem_files = &m_shmem;
      t->ctx.devices = &m_devices;
      // The task runs on its CPU from the start, so switch_mm_irqs_off() has already put the
      // CPU in mm_cpumask: a flush_tlb_mm_range() by the task before it touches user memory
      // counts the other CPUs of the mask as remote ones.
      if (ts.kind == ThreadKind::Cpu && t->ctx.mm) {
        t->ctx.mm->add_cpu(ts.cpu);
        t->ctx.mm->mmget();     // the thread shares the process's mm (copy_mm() with CLONE_VM)
        t->ctx.mm->task_get();  // and its files (CLONE_FILES)
      }
      t->ctx.cpu = ts.cpu;
      if (ts.kind == ThreadKind::Device) {
        t->ctx.iommu = m_devices.at(ts.device).iommu;
        t->ctx.device = 0;
      }
      m_owned.push_back(std::move(t));
    }
    for (auto& t : m_owned) {
      const bool in_child = !t->spec->mm.empty() && !m_mms.count(t->spec->mm);
      t->root =
          std::make_unique<Task<>>(thread_main(t->ctx, *t->spec, in_child ? m_fork_parent.at(t->spec->mm) : std::string(), t->op, m_ops));
      t->state.resume_point = t->root->handle();
      m_threads.push_back(std::ref(*t));
    }
    check();
  }

  void step(SimThread& t) {
    TLBSIM_CHECK(!t.state.done && t.state.runnable(), "stepping thread " << t.spec->name << " that cannot run");
    StepRecord rec{.thread = t.state.id,
                   .priming = m_priming,
                   .label = t.state.next_label,
                   .hardware = t.state.next_hardware,
                   .runnable = runnable_mask(),
                   .ev_begin = m_log.events().size(),
                   .op = m_priming ? -1 : t.op};
    kernel::set_current_thread(&t.state);
    m_k->bus().set_actor(t.actor);
    if (m_opt.record_touches) {
      // Every model accessor the step reaches records what it read and wrote (model/touch.h).
      TouchScope scope(rec.touches);
      // What made the step runnable (a lock free, a migration entry gone) is read by it.
      if (t.state.ready) (void)t.state.ready();
      t.state.resume_point.resume();
    } else {
      t.state.resume_point.resume();
    }
    kernel::set_current_thread(nullptr);
    if (t.root->done()) {
      t.state.done = true;
      t.state.next_label = "done";
      if (auto e = t.root->error()) std::rethrow_exception(e);
    }
    rec.ev_end = m_log.events().size();
    // Each op begins at a yield point, so at most one returns in a step: the one it began in.
    rec.op_returned = rec.op >= 0 && (t.state.done || t.op != rec.op);
    if (rec.op >= 0) {
      const size_t had = t.op_stores.size();
      for (size_t i = rec.ev_begin; i < rec.ev_end; ++i) {
        const Event& e = m_log.events()[i];
        if (e.kind != EventKind::PteStore || std::string_view(e.func) == "hardware A/D update") continue;
        t.op_stored = true;
        uint64_t lo = e.va, hi = std::max(e.end, e.va + 1);
        if (e.level <= 1) {
          lo &= ~(kPmdSize - 1);
          hi = (hi + kPmdSize - 1) & ~(kPmdSize - 1);
        }
        t.op_stores.push_back(OpStoreSpan{e.mm.value(), lo, hi});
      }
      if (t.op_stores.size() > had && t.op_stores.size() >= t.merge_at) {
        t.op_stores = merged(std::move(t.op_stores));
        t.merge_at = std::max<size_t>(256, 2 * t.op_stores.size());
      }
    }
    rec.op_stored = rec.op_returned && t.op_stored;
    if (rec.op_returned) {
      if (rec.op_stored) rec.op_stores = merged(std::move(t.op_stores));
      t.op_stored = false;
      t.op_stores.clear();
    }
    m_trace.push_back(std::move(rec));
    ++m_steps;
    if (m_opt.steps_done) m_opt.steps_done->fetch_add(1, std::memory_order_relaxed);
    check();
  }

  /// RunOptions::check_invariants: every model object's invariants, the event log's, and that
  /// each TLB, IOTLB and ATC entry came from a fill the log recorded.
  void check() {
    if (!m_opt.check_invariants) return;
    m_k->check_invariants();
    kernel::check_anon_rmap(*m_k);
    m_log_check.check();
    for (unsigned c = 0; c < m_k->cpus(); ++c) check_filled_by_walk(m_k->cpu(c).tlb(), m_log.events());
    for (unsigned i = 0; i < m_k->iommus(); ++i) {
      check_filled_by_walk(m_k->iommu(i).iotlb(), m_log.events());
      for (uint16_t d = 0; d < m_k->iommu(i).devices(); ++d) check_filled_by_walk(m_k->iommu(i).atc(d), m_log.events());
    }
  }

  uint64_t runnable_mask() const {
    uint64_t m = 0;
    for (size_t i = 0; i < m_threads.size() && i < 64; ++i)
      if (m_threads[i].get().state.runnable()) m |= uint64_t{1} << i;
    return m;
  }

  /// A schedule chosen step by step from outside (the explorer forcing a schedule prefix).
  void chosen(RunResult& r) {
    while (!all_done()) {
      const uint64_t ready = runnable_mask();
      if (!ready) return void(r.status = RunResult::Status::Deadlock);
      if (m_steps >= m_s.max_steps) return void(r.status = RunResult::Status::StepBudget);
      const int pick = m_opt.chooser(ready, m_trace, m_log.events());
      if (pick < 0) return void(r.status = RunResult::Status::Stopped);
      TLBSIM_CHECK(pick < 64 && (ready >> pick & 1), "chooser picked thread " << pick << " that cannot run");
      step(m_threads[static_cast<size_t>(pick)]);
    }
  }

  [[noreturn]] void schedule_error(const ScheduleEntry& e, const std::string& msg) {
    const std::string& file = m_s.schedule.written_in.empty() ? m_opt.file : m_s.schedule.written_in;
    throw ScenarioError({Diagnostic{.file = file,
                                    .pointer = e.pointer,
                                    .line = e.line,
                                    .column = e.column,
                                    .message = msg + " (under policy \"" + m_k->policy().name + "\")"}});
  }

  SimThread& by_name(const std::string& n) {
    for (auto& t : m_threads)
      if (t.get().spec->name == n) return t;
    TLBSIM_CHECK(false, "no thread " << n);
  }

  void follow(const ScheduleEntry& e) {
    SimThread& t = by_name(e.thread);
    auto can = [&](const char* doing) {
      if (t.state.done) schedule_error(e, "thread " + in_quotes(e.thread) + " has already finished, " + doing);
      if (!t.state.runnable())
        schedule_error(e, "thread " + in_quotes(e.thread) + " is blocked at " + in_quotes(t.state.next_label) + ", " + doing);
    };
    switch (e.mode) {
      case ScheduleEntry::Mode::Steps:
        for (uint64_t i = 0; i < e.steps; ++i) {
          can("so it cannot take a step here");
          step(t);
          budget(e);
        }
        break;
      case ScheduleEntry::Mode::Until:
        do {
          can(("before reaching " + in_quotes(e.label)).c_str());
          step(t);
          budget(e);
        } while (t.state.done || t.state.next_label.rfind(e.label, 0) != 0);
        break;
      case ScheduleEntry::Mode::Op:
        // Until a step returns an op (StepRecord::op_returned): the op the thread stands
        // before or is inside; a fork child's thread first waits to be woken (no op yet), and
        // after its last op there is none to return, so the thread runs to its end.
        do {
          can("before its op returns");
          step(t);
          budget(e);
        } while (!t.state.done && !m_trace.back().op_returned);
        break;
      case ScheduleEntry::Mode::ToEnd:
        while (!t.state.done) {
          can("before finishing");
          step(t);
          budget(e);
        }
        break;
    }
  }

  void budget(const ScheduleEntry& e) {
    if (m_steps >= m_s.max_steps) schedule_error(e, "step budget of " + std::to_string(m_s.max_steps) + " exceeded");
  }

  bool all_done() const {
    for (auto& t : m_threads)
      if (!t.get().state.done) return false;
    return true;
  }

  /// After an explicit schedule: the rest runs in declaration order.
  void finish_in_order(RunResult& r) {
    while (!all_done()) {
      SimThread* pick = nullptr;
      for (auto& t : m_threads)
        if (!t.get().state.done && t.get().state.runnable()) {
          pick = &t.get();
          break;
        }
      if (!pick) return void(r.status = RunResult::Status::Deadlock);
      if (m_steps >= m_s.max_steps) return void(r.status = RunResult::Status::StepBudget);
      step(*pick);
    }
  }

  void round_robin(RunResult& r) {
    while (!all_done()) {
      bool progressed = false;
      for (auto& t : m_threads) {
        if (t.get().state.done || !t.get().state.runnable()) continue;
        if (m_steps >= m_s.max_steps) return void(r.status = RunResult::Status::StepBudget);
        step(t);
        progressed = true;
      }
      if (!progressed) return void(r.status = RunResult::Status::Deadlock);
    }
  }

  void random(RunResult& r, uint64_t seed) {
    SplitMix64 rng(seed);
    std::vector<SimThread*> ready;
    while (!all_done()) {
      ready.clear();
      for (auto& t : m_threads)
        if (!t.get().state.done && t.get().state.runnable()) ready.push_back(&t.get());
      if (ready.empty()) return void(r.status = RunResult::Status::Deadlock);
      if (m_steps >= m_s.max_steps) return void(r.status = RunResult::Status::StepBudget);
      step(*ready[rng.below(ready.size())]);
    }
  }

  const ScenarioSpec& m_s;
  RunOptions m_opt;
  std::unique_ptr<kernel::Kernel> m_k;
  EventLog m_log;
  LogInvariants m_log_check;
  std::map<std::string, uint32_t> m_files;
  std::map<const OpSpec*, uint32_t> m_shmem;  ///< the shmem file of each shared anonymous mmap op
  std::map<std::string, AddressSpace*> m_mms;
  std::map<std::string, std::string> m_fork_parent;  ///< fork child's mm name -> the forking thread's mm
  std::map<std::string, SvaDevice> m_devices;
  std::vector<std::unique_ptr<SimThread>> m_owned;
  std::vector<std::reference_wrapper<SimThread>> m_threads;
  uint64_t m_steps = 0;
  bool m_priming = false;
  std::vector<StepRecord> m_trace;
  std::vector<OpSpan> m_ops;
};

}  // namespace

RunResult run_scenario(const ScenarioSpec& s, const kernel::Policy& policy, const RunOptions& opt) {
  Runner r(s, policy, opt);
  return r.run();
}

std::string_view to_string(RunResult::Status s) {
  switch (s) {
    case RunResult::Status::Completed: return "completed";
    case RunResult::Status::Deadlock: return "deadlock";
    case RunResult::Status::StepBudget: return "step budget exceeded";
    case RunResult::Status::Stopped: return "stopped";
  }
  return "?";
}

}  // namespace tlbsim::scenarios
