// SPDX-License-Identifier: MIT
#pragma once
/// Events: every state change of the machine model, with a global sequence number, the actor that
/// caused it and the kernel or hardware function it stands for. The model emits events and never
/// judges them; the detector (src/scenarios) and tests are sinks.
#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "model/saturating.h"
#include "model/types.h"

namespace tlbsim {

enum class EventKind : uint8_t {
  PteStore,        ///< a page-table entry changed (any level); old/new values
  Fill,            ///< a translation cache filled a leaf entry
  WalkFill,        ///< a walk (paging-structure) cache filled a non-leaf entry
  Evict,           ///< capacity eviction of a cached entry
  Drop,            ///< an invalidation removed a cached entry
  CpuFlush,        ///< an arch CPU TLB flush completed (all targeted CPUs)
  Notifier,        ///< an mmu_notifier call (start/end/arch_invalidate_secondary_tlbs)
  InvCmd,          ///< an invalidation command queued to an IOMMU or sent to a device ATC
  InvSync,         ///< invalidation commands completed (CMD_SYNC / COMPLETION_WAIT / qi wait)
  FrameAlloc,      ///< a frame left the allocator (generation bumped)
  FrameFree,       ///< a frame went back to the allocator
  Access,          ///< a CPU or device load/store went through (pfn is where it landed)
  Fault,           ///< an access raised a fault (CPU #PF, device page request)
  Lock,            ///< a lock was taken
  Unlock,          ///< a lock was released
  Copy,            ///< page contents copied from pfn to aux (migration, COW), or to the swap slot `note` names
  Call,            ///< a kernel function was entered (for witness stories)
  StaleTableWalk,  ///< a walker read a table page that is no longer a live table
  /// What user space or a device is told (model/outcome.h); the detector turns each into a finding:
  SyscallError,   ///< a system call or ioctl returned -errno: func the call, new_val the Errno, [va, end) its range
  Signal,         ///< force_sig_fault(): new_val the Signal, va the faulting address, sent to the actor's thread
  FaultRejected,  ///< a device's page request failed (IOMMU_PAGE_RESP_INVALID, a mirror's -EFAULT): aux the device, note why
};
std::string_view to_string(EventKind k);

/// Which translation cache an entry lives in.
enum class HolderKind : uint8_t { None, CpuTlb, CpuWalkCache, Iotlb, IommuWalkCache, Atc, Shadow };
std::string_view to_string(HolderKind k);

struct Holder {
  HolderKind kind = HolderKind::None;
  uint16_t index = 0;  ///< CPU number, IOMMU number, device number
  auto operator<=>(const Holder&) const = default;
  bool is_walk_cache() const { return kind == HolderKind::CpuWalkCache || kind == HolderKind::IommuWalkCache; }
  bool is_device_side() const {
    return kind == HolderKind::Iotlb || kind == HolderKind::IommuWalkCache || kind == HolderKind::Atc || kind == HolderKind::Shadow;
  }
};
std::string to_string(Holder h);

/// Event flags.
enum EventFlag : uint8_t {
  kEvWrite = 1,    ///< the access/fill/entry is a write / writable
  kEvCached = 2,   ///< the access was served by a cached entry: a TLB, IOTLB or ATC hit, or a walk resumed from a walk cache
  kEvHuge = 4,     ///< the entry maps a 2 MiB page
  kEvTable = 8,    ///< a FrameAlloc/FrameFree/Fill is about a page-table page
  kEvUser = 16,    ///< the fault was raised by a user access
  kEvGaveUp = 32,  ///< a Fault: the access gave up after its fault limit without progress (a livelock)
};

struct Event {
  Seq seq{};
  uint64_t time_ns = 0;
  EventKind kind{};
  uint8_t flags = 0;
  uint8_t level = 0;  ///< page-table level (1 = PTE, 2 = PMD, 3 = PUD, 4 = PGD)
  uint16_t actor = 0;
  Holder holder{};
  MmId mm = kNoMm;
  uint32_t tag = 0;       ///< ASID or PASID the entry was tagged with
  const char* func = "";  ///< kernel/hardware function this stands for (static string)
  uint64_t va = 0;        ///< address or range start
  uint64_t end = 0;       ///< range end (exclusive) where meaningful
  uint64_t old_val = 0;   ///< old PTE / other
  uint64_t new_val = 0;   ///< new PTE / other
  Pfn pfn = kNoPfn;
  uint32_t gen = 0;  ///< frame generation when relevant
  uint32_t aux = 0;  ///< second pfn (Copy), lock id, etc.
  std::string note;  ///< free text for Call/Notifier/Lock names
};

/// A consumer of events. Contract: called synchronously, in sequence order, from the thread that
/// caused the event; must not mutate model state.
class EventSink {
 public:
  virtual ~EventSink() = default;
  virtual void on_event(const Event& e) = 0;
};

/// The bus every model object emits into: stamps sequence, time and actor, then fans out.
class EventBus {
 public:
  void add_sink(EventSink* s) { m_sinks.push_back(s); }
  void remove_sink(EventSink* s);
  /// Stamp and deliver. Cheap when nobody listens.
  void emit(Event e);
  bool active() const { return !m_sinks.empty(); }

  /// Simulated time in cost-model nanoseconds; never goes backwards.
  uint64_t now() const { return m_now; }
  /// The simulated clock saturates (model/saturating.h).
  void advance(uint64_t ns) { m_now = sat_add(m_now, ns); }

  uint16_t actor() const { return m_actor; }
  void set_actor(uint16_t a) { m_actor = a; }
  uint16_t intern_actor(const std::string& name);
  const std::vector<std::string>& actor_names() const { return m_actors; }
  uint64_t next_seq() const { return m_seq; }

 private:
  std::vector<EventSink*> m_sinks;
  std::vector<std::string> m_actors{"machine"};
  uint64_t m_seq = 1;
  uint64_t m_now = 0;
  uint16_t m_actor = 0;
};

/// Records every event in order.
class EventLog : public EventSink {
 public:
  void on_event(const Event& e) override { m_events.push_back(e); }
  const std::vector<Event>& events() const { return m_events; }
  void clear() { m_events.clear(); }
  void reserve(size_t n) { m_events.reserve(n); }
  /// Hand the recorded events over (the log is left empty).
  std::vector<Event> take() { return std::exchange(m_events, {}); }

 private:
  std::vector<Event> m_events;
};

/// One line per event, for golden files and witness traces.
std::string describe(const Event& e, const std::vector<std::string>& actors);

}  // namespace tlbsim
