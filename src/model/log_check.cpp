// SPDX-License-Identifier: MIT
#include "model/log_check.h"

#include <algorithm>

#include "model/check.h"

namespace tlbsim {

void LogInvariants::broken(const Event& e, const std::string& what) {
  if (m_violation.empty()) m_violation = "event " + std::to_string(e.seq.value()) + " (" + std::string(to_string(e.kind)) + "): " + what;
}

void LogInvariants::on_event(const Event& e) {
  if (m_last_seq != 0 && e.seq.value() != m_last_seq + 1) broken(e, "sequence number follows " + std::to_string(m_last_seq));
  if (e.time_ns < m_last_time)
    broken(e, "time " + std::to_string(e.time_ns) + " ns is before the previous event's " + std::to_string(m_last_time) + " ns");
  m_last_seq = e.seq.value();
  m_last_time = std::max(m_last_time, e.time_ns);
  if (e.kind != EventKind::FrameAlloc && e.kind != EventKind::FrameFree) return;
  const size_t n = e.pfn.value();
  if (m_live.size() <= n) m_live.resize(n + 1, 0);
  if (e.kind == EventKind::FrameAlloc) {
    if (m_live[n]) broken(e, "pfn " + std::to_string(n) + " allocated while already allocated");
    m_live[n] = 1;
  } else {
    // __free_pages() of a frame the allocator already holds: a double free (or a put_page()
    // that drove the reference count below zero and freed it again).
    if (!m_live[n]) broken(e, "pfn " + std::to_string(n) + " freed twice (or never allocated)");
    m_live[n] = 0;
  }
}

void LogInvariants::check() const { TLBSIM_CHECK(m_violation.empty(), m_violation); }

void check_filled_by_walk(const TranslationCache& tc, const std::vector<Event>& log) {
  if (tc.occupancy() == 0) return;
  tc.for_each([&](const CachedTranslation& c) {
    // Built only for a failing check: this runs for every entry after every step.
    auto what = [&] { return to_string(tc.holder()) + " entry for " + hex(c.vpn << kPageShift); };
    TLBSIM_CHECK(c.filled_by.value() != 0, what() << " records no fill event");
    const auto it = std::lower_bound(log.begin(), log.end(), c.filled_by, [](const Event& e, Seq s) { return e.seq.value() < s.value(); });
    TLBSIM_CHECK(it != log.end() && it->seq == c.filled_by,
                 what() << " was filled by event " << c.filled_by.value() << ", which the log does not hold");
    const Event& e = *it;
    TLBSIM_CHECK(e.kind == EventKind::Fill && e.holder == tc.holder() && e.tag == c.tag && e.va == (c.vpn << kPageShift) &&
                     e.pfn == c.pfn && ((e.flags & kEvHuge) != 0) == c.huge,
                 what() << " does not match its fill event " << e.seq.value() << " (" << to_string(e.kind) << " by " << to_string(e.holder)
                        << " of " << hex(e.va) << ")");
  });
}

}  // namespace tlbsim
