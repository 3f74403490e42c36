// SPDX-License-Identifier: MIT
#include "scenarios/step_listing.h"

namespace tlbsim::scenarios {

std::string step_listing(const ScenarioSpec& s, const RunResult& r) {
  std::string out =
      "-- steps of " + s.name + " under " + r.policy +
      " (a schedule names THREAD, THREAD:N steps, THREAD:op through its op, THREAD@LABEL to stop before a label, THREAD* to the end)\n";
  size_t n = 0;
  for (const StepRecord& st : r.trace) {
    if (st.priming) continue;
    const ThreadSpec& t = s.threads.at(static_cast<size_t>(st.thread));
    out += "step " + std::to_string(++n) + ": " + t.name + " at " + st.label;
    if (st.op >= 0 && static_cast<size_t>(st.op) < t.ops.size())
      out += " (op " + std::to_string(st.op) + " " + t.ops[static_cast<size_t>(st.op)].op + (st.op_returned ? ", returns" : "") + ")";
    if (st.hardware) out += " [hardware]";
    const size_t events = st.ev_end - st.ev_begin;
    out += ", " + std::to_string(events) + (events == 1 ? " event" : " events") + "\n";
    for (size_t i = st.ev_begin; i < st.ev_end; ++i)
      out += "    " + std::to_string(r.events[i].seq.value()) + " " + describe(r.events[i], r.actors) + "\n";
  }
  return out;
}

}  // namespace tlbsim::scenarios
