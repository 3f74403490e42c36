// SPDX-License-Identifier: MIT
#pragma once
/// A scenario as written in the file: plain aggregates, no model objects. The loader fills
/// them and records every problem; build/run only ever see a spec that validated cleanly.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "iommu/cost_model.h"
#include "kernel/arch.h"
#include "kernel/sva_decoding.h"
#include "model/phys_mem.h"
#include "scenarios/metrics.h"
#include "scenarios/op_names.h"

namespace tlbsim::scenarios {

struct DeviceSpec {
  std::string name;
  std::string decoding = "amd-v2";  ///< the name as written (messages quote it)
  /// What it names, set by the loader from the name; nullopt for a name that is neither a
  /// decoding nor a driver family (validation says so).
  std::optional<kernel::DecodingChoice> decoding_choice;
  bool ats = true;
  uint32_t atc_entries = 64;
  uint32_t iotlb_entries = 128;
  uint32_t walk_cache_entries = 16;
  std::optional<bool> cache_nonleaf_on_fault;
  /// iommu::IommuConfig::cache_nonleaf_on_supervisor_fault (default true).
  bool cache_nonleaf_on_supervisor_fault = true;
  std::optional<bool> permission_fault_rewalks;
  bool btm = false;
  bool nopasid_inv_covers_pasid = true;
  /// iommu::BatchOrder: true is InOrder, false AnyOrder.
  bool cmds_complete_in_order = true;
  /// iommu::IommuConfig::pasid_table_cached.
  bool pasid_table_cached = true;
  std::string pointer;
};

struct FileSpec {
  std::string name;
  uint64_t pages = 1;
  std::string pointer;
};

/// A vmalloc area mapped at setup in the kernel half (x86): "vmalloc": [{"addr", "pages"}].
struct VmallocSpec {
  uint64_t addr = 0;
  uint64_t pages = 1;
  std::string pointer;
};

/// What a setup VMA's pages get before the scenario runs (mm_populate() of a MAP_POPULATE mmap).
enum class Populate : uint8_t { None, Read, Write };
/// The file's spelling of each Populate, in enum order.
inline constexpr const char* kPopulateNames[] = {"none", "read", "write"};

/// A setup VMA. Its JSON pointer is MmSpec::vma_pointer(index), not a field: a file may hold a
/// million of them.
struct VmaSpec {
  uint64_t start = 0;
  uint64_t pages = 1;
  uint64_t pgoff = 0;
  std::string file;  ///< empty: anonymous
  bool writable = true;
  bool shared = false;
  Populate populate = Populate::None;
  bool pfnmap = false;
  /// Transparent huge pages: each 2 MiB of the (anonymous, 2 MiB-aligned) VMA mapped at setup by
  /// a huge PMD (do_huge_pmd_anonymous_page()).
  bool thp = false;
};

struct MmSpec {
  std::string name;
  std::vector<VmaSpec> vmas;
  std::vector<std::string> bind;  ///< devices bound by SVA
  /// CPUs in mm_cpumask from the start besides those of the mm's CPU threads: a thread of the
  /// process ran there before the scenario begins (switch_mm_irqs_off() set the bit).
  std::vector<unsigned> cpus;
  /// The program break (mm->brk) and the heap's start (mm->start_brk, default: the break), as
  /// exec's set_brk() leaves them; a `brk` op needs them.
  bool has_brk = false;
  uint64_t brk = 0;
  uint64_t start_brk = 0;
  std::string pointer;
  std::string vma_pointer(size_t index) const { return pointer + "/vmas/" + std::to_string(index); }
};

struct OpSpec {
  std::string op;        ///< the name as written (messages quote it)
  std::optional<Op> id;  ///< the op it names; nullopt for a name that is none (validation says so)
  uint64_t addr = 0;
  uint64_t pages = 1;
  uint64_t repeat = 1;  ///< access ops: go over the pages this many times
  uint64_t new_addr = 0;
  std::string file;
  uint64_t index = 0;
  std::string mm;  ///< kernel threads: the mm the op targets
  bool writable = false;
  bool shared = false;             ///< mmap: MAP_SHARED (with no file: shmem, as MAP_SHARED|MAP_ANONYMOUS)
  bool fixed = false;              ///< mmap: MAP_FIXED, replacing what is mapped there
  bool populate = false;           ///< mmap: MAP_POPULATE
  bool dontunmap = false;          ///< mremap: MREMAP_DONTUNMAP, the old range stays mapped
  std::string name;                ///< fork: the child's mm name
  std::string device;              ///< sva_bind: the device the thread's process binds
  std::vector<std::string> given;  ///< keys present in the file, so required ones can be checked
  std::string pointer;
  bool has(const std::string& key) const;
};

enum class ThreadKind { Cpu, Device, Kernel };

struct ThreadSpec {
  std::string name;
  ThreadKind kind = ThreadKind::Cpu;
  uint32_t cpu = 0;
  std::string device;
  std::string mm;
  std::vector<OpSpec> ops;
  std::string pointer;
  size_t line = 0, column = 0;  ///< for errors found after loading (explore's thread limit)
};

struct ScheduleEntry {
  std::string thread;
  /// Steps: `steps` steps ("T", "T:N"); Until: up to a label ("T@fn"); ToEnd: to the end
  /// ("T*"); Op: through the op it stands at or is inside, to its return ("T:op").
  enum class Mode { Steps, Until, ToEnd, Op } mode = Mode::Steps;
  uint64_t steps = 1;
  std::string label;
  std::string pointer;
  size_t line = 0, column = 0;  ///< for errors found while the schedule runs
};

struct ScheduleSpec {
  enum class Kind { Explicit, Random, RoundRobin } kind = Kind::RoundRobin;
  std::vector<ScheduleEntry> entries;
  /// Where the entries' positions point when not into the scenario file: "--schedule" for
  /// steps given on the command line (schedule_option.h).
  std::string written_in;
  uint64_t seed = 1;
};

/// A bound on one metric: exact, at least or at most; or, for an op's "errno", the errno it
/// returned (its number; 0: it returned none).
struct Bound {
  enum class Op { Eq, Ge, Le } op = Op::Eq;
  uint64_t value = 0;
  bool is_errno = false;  ///< value is an errno: text() names it ("EACCES", "none")
  bool holds(uint64_t v) const { return op == Op::Eq ? v == value : op == Op::Ge ? v >= value : v <= value; }
  std::string text() const;
};

/// The most devices, threads and mms (those set up and every fork's child) a scenario may have.
inline constexpr size_t kMaxDevices = 4096;
inline constexpr size_t kMaxThreads = 4096;
inline constexpr size_t kMaxMms = 4096;

/// The largest preemption bound a scenario file may ask `tlbsim explore` for.
inline constexpr int kMaxExplorePreemptions = 64;

struct ScenarioSpec {
  std::string name;
  std::string source;
  std::string description;
  kernel::Arch arch = kernel::Arch::X86;
  uint32_t cpus = 2;
  ReuseOrder reuse = ReuseOrder::Lifo;
  uint32_t tlb_entries = 1536;
  uint64_t max_steps = 1000000;
  /// For a recorded program (`tlbsim import`): how long it ran, first to last traced event, in
  /// ns; `tlbsim sweep --workload` turns counts into rates per recorded second with it. 0: unknown.
  uint64_t recorded_ns = 0;
  /// `tlbsim explore`'s preemption bound for this scenario when the command line gives none
  /// ("explore": {"preemptions": N}): a scenario whose documented race needs the kernel paths
  /// preempted more often than the default bound allows says so here.
  std::optional<int> explore_preemptions;
  iommu::CostModel cost{};  ///< the defaults, with the fields the scenario's "costs" names replaced
  std::vector<DeviceSpec> devices;
  std::vector<FileSpec> files;
  std::vector<VmallocSpec> vmalloc;
  std::vector<MmSpec> mms;
  std::vector<ThreadSpec> threads;
  ScheduleSpec schedule;
  /// policy name -> expectation key -> bound: a metric's name (metrics(), with "cpu:" or
  /// "device:" for one side), or an op's outcome ("T1:op 2:errno", "T1:op 2:signals";
  /// scenarios/expectation.h).
  std::map<std::string, std::map<std::string, Bound>> expect;
  std::vector<std::string> policies;  ///< policies to run by default (those in `expect`)
  /// What `tlbsim explore` should find ("verdicts"): policy name -> property name (one of
  /// explore_property_names()) -> "never", "sometimes" or "always", by property name.
  std::map<std::string, std::vector<std::pair<std::string, std::string>>> verdicts;
  std::string pointer;
};

struct ScenarioFile {
  std::string path;
  std::string text;  ///< raw bytes, kept for byte-identical seed corpora and hashing
  std::vector<ScenarioSpec> scenarios;
};

/// The properties `tlbsim explore` always reports, in report order: the metrics, then
/// "deadlock" and "step budget exceeded". A scenario's "verdicts" may name these. (Explore also
/// reports "finding KIND" and "model invariant violated" when they occur; they cannot be stated.)
const std::vector<std::string>& explore_property_names();

}  // namespace tlbsim::scenarios
