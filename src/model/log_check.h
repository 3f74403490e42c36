// SPDX-License-Identifier: MIT
#pragma once
/// Invariants that need the event log: the log itself is well formed (sequence numbers
/// consecutive, simulated time never going backwards, every frame freed only after it was
/// allocated), and every cached translation was filled by a walk the log recorded. They read
/// the log and the caches and change nothing, so no information flows back into the model.
#include <string>
#include <vector>

#include "model/event.h"
#include "model/translation_cache.h"

namespace tlbsim {

/// Watches events as they are emitted and remembers the first broken rule; check() throws it as
/// an InvariantViolation. (Recording instead of throwing keeps a violation out of the middle of
/// whatever model code emitted the event.)
class LogInvariants : public EventSink {
 public:
  void on_event(const Event& e) override;
  /// Throws InvariantViolation naming the first event that broke a rule, if any did.
  void check() const;

 private:
  void broken(const Event& e, const std::string& what);

  uint64_t m_last_seq = 0;
  uint64_t m_last_time = 0;
  std::vector<uint8_t> m_live;  ///< by pfn: allocated according to the log
  std::string m_violation;
};

/// Every valid entry of `tc` records the Fill event that put it there, and `log` (in sequence
/// order, from the machine's first event) holds that event with the same holder, tag, address,
/// frame and page size. Throws InvariantViolation otherwise.
void check_filled_by_walk(const TranslationCache& tc, const std::vector<Event>& log);

}  // namespace tlbsim
