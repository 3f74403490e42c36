// SPDX-License-Identifier: MIT
#include "model/event.h"

#include <algorithm>
#include <sstream>

#include "model/outcome.h"
#include "model/pte.h"

namespace tlbsim {

std::string_view to_string(EventKind k) {
  switch (k) {
    case EventKind::PteStore: return "pte";
    case EventKind::Fill: return "fill";
    case EventKind::WalkFill: return "walk-fill";
    case EventKind::Evict: return "evict";
    case EventKind::Drop: return "drop";
    case EventKind::CpuFlush: return "cpu-flush";
    case EventKind::Notifier: return "notifier";
    case EventKind::InvCmd: return "inv-cmd";
    case EventKind::InvSync: return "inv-sync";
    case EventKind::FrameAlloc: return "alloc";
    case EventKind::FrameFree: return "free";
    case EventKind::Access: return "access";
    case EventKind::Fault: return "fault";
    case EventKind::Lock: return "lock";
    case EventKind::Unlock: return "unlock";
    case EventKind::Copy: return "copy";
    case EventKind::Call: return "call";
    case EventKind::StaleTableWalk: return "stale-table-walk";
    case EventKind::SyscallError: return "error";
    case EventKind::Signal: return "signal";
    case EventKind::FaultRejected: return "fault-rejected";
  }
  return "?";
}

std::string_view to_string(HolderKind k) {
  switch (k) {
    case HolderKind::None: return "none";
    case HolderKind::CpuTlb: return "tlb";
    case HolderKind::CpuWalkCache: return "pwc";
    case HolderKind::Iotlb: return "iotlb";
    case HolderKind::IommuWalkCache: return "iommu-pwc";
    case HolderKind::Atc: return "atc";
    case HolderKind::Shadow: return "shadow";
  }
  return "?";
}

std::string to_string(Holder h) {
  std::string s{to_string(h.kind)};
  switch (h.kind) {
    case HolderKind::CpuTlb:
    case HolderKind::CpuWalkCache: return s + "(cpu" + std::to_string(h.index) + ")";
    case HolderKind::Atc:
    case HolderKind::Shadow: return s + "(dev" + std::to_string(h.index) + ")";
    case HolderKind::Iotlb:
    case HolderKind::IommuWalkCache: return s + "(iommu" + std::to_string(h.index) + ")";
    case HolderKind::None: return s;
  }
  return s;
}

void EventBus::remove_sink(EventSink* s) { m_sinks.erase(std::remove(m_sinks.begin(), m_sinks.end(), s), m_sinks.end()); }

void EventBus::emit(Event e) {
  e.seq = Seq{m_seq++};
  e.time_ns = m_now;
  e.actor = m_actor;
  for (EventSink* s : m_sinks) s->on_event(e);
}

uint16_t EventBus::intern_actor(const std::string& name) {
  for (size_t i = 0; i < m_actors.size(); ++i)
    if (m_actors[i] == name) return static_cast<uint16_t>(i);
  m_actors.push_back(name);
  return static_cast<uint16_t>(m_actors.size() - 1);
}

std::string describe(const Event& e, const std::vector<std::string>& actors) {
  std::ostringstream os;
  os << to_string(e.kind);
  if (e.actor < actors.size()) os << ' ' << actors[e.actor];
  if (e.func && *e.func) os << ' ' << e.func;
  switch (e.kind) {
    case EventKind::PteStore:
      os << " L" << int(e.level) << ' ' << hex(e.va) << ' ' << describe_pte(Pte{e.old_val}) << " -> " << describe_pte(Pte{e.new_val});
      break;
    case EventKind::Fill:
    case EventKind::Evict:
    case EventKind::Drop:
      os << ' ' << to_string(e.holder);
      if (e.level > 1) os << " L" << int(e.level);
      os << ' ' << hex(e.va) << " pfn " << e.pfn.value() << ((e.flags & kEvWrite) ? " rw" : " ro");
      if (e.flags & kEvHuge) os << " 2M";
      break;
    case EventKind::WalkFill:
      os << ' ' << to_string(e.holder) << " L" << int(e.level) << ' ' << hex(e.va) << " table pfn " << e.pfn.value();
      break;
    case EventKind::CpuFlush:
    case EventKind::Notifier:
    case EventKind::InvCmd:
      if (!e.note.empty()) os << ' ' << e.note;
      os << " [" << hex(e.va) << ", " << hex(e.end) << ')';
      if (e.holder.kind != HolderKind::None) os << ' ' << to_string(e.holder);
      break;
    case EventKind::InvSync:
      if (!e.note.empty()) os << ' ' << e.note;
      if (e.holder.kind != HolderKind::None) os << ' ' << to_string(e.holder);
      break;
    case EventKind::FrameAlloc:
    case EventKind::FrameFree: os << " pfn " << e.pfn.value() << " gen " << e.gen << ((e.flags & kEvTable) ? " table" : " page"); break;
    case EventKind::Access:
      os << ((e.flags & kEvWrite) ? " write " : " read ") << hex(e.va) << " -> pfn " << e.pfn.value();
      if (e.holder.kind != HolderKind::None) os << " via " << to_string(e.holder);
      if (e.holder.is_walk_cache() && e.level) os << " L" << int(e.level);
      if (!e.note.empty()) os << " (" << e.note << ')';
      break;
    case EventKind::Fault:
      os << ((e.flags & kEvWrite) ? " write " : " read ") << hex(e.va);
      if (!e.note.empty()) os << ' ' << e.note;
      break;
    case EventKind::Lock:
    case EventKind::Unlock:
    case EventKind::Call:
      if (!e.note.empty()) os << ' ' << e.note;
      break;
    case EventKind::Copy:
      // A copy to swap names its slot in the note instead of a frame.
      os << " pfn " << e.pfn.value() << " -> ";
      if (e.note.empty())
        os << "pfn " << e.aux;
      else
        os << e.note;
      break;
    case EventKind::StaleTableWalk:
      os << ' ' << to_string(e.holder) << ' ' << hex(e.va) << " table pfn " << e.pfn.value();
      if (!e.note.empty()) os << ' ' << e.note;
      break;
    case EventKind::SyscallError:
      os << " -" << to_string(Errno{static_cast<uint16_t>(e.new_val)}) << " [" << hex(e.va) << ", " << hex(e.end) << ')';
      break;
    case EventKind::Signal: os << ' ' << to_string(Signal{static_cast<uint16_t>(e.new_val)}) << " at " << hex(e.va); break;
    case EventKind::FaultRejected:
      os << " dev" << e.aux << ' ' << hex(e.va);
      if (!e.note.empty()) os << " (" << e.note << ')';
      break;
  }
  return os.str();
}

}  // namespace tlbsim
