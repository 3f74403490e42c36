// SPDX-License-Identifier: MIT
#include "scenarios/report.h"

#include <algorithm>
#include <cstdio>
#include <sstream>

#include "scenarios/expectation.h"
#include "scenarios/printable.h"

namespace tlbsim::scenarios {

namespace {

std::string actor(const RunResult& r, uint16_t a) { return a < r.actors.size() ? r.actors[a] : "?"; }

std::string holder_name(const RunResult& r, Holder h) {
  if (h.kind == HolderKind::Atc && h.index < r.device_names.size() && !r.device_names[h.index].empty())
    return "the ATC of " + r.device_names[h.index];
  if (h.kind == HolderKind::Iotlb) return "the IOTLB of iommu" + std::to_string(h.index);
  if (h.kind == HolderKind::IommuWalkCache) return "the walk cache of iommu" + std::to_string(h.index);
  if (h.kind == HolderKind::CpuTlb) return "the TLB of CPU" + std::to_string(h.index);
  if (h.kind == HolderKind::CpuWalkCache) return "the paging-structure cache of CPU" + std::to_string(h.index);
  if (h.kind == HolderKind::Shadow && h.index < r.device_names.size()) return "the shadow MMU of " + r.device_names[h.index];
  return to_string(h);
}

std::string range(uint64_t s, uint64_t e) {
  auto f = [](uint64_t v) { return v == ~uint64_t{0} ? std::string("~0") : hex(v); };
  return "(" + f(s) + ", " + f(e) + ")";
}

std::string fn(const char* f) {
  std::string s = f ? f : "";
  if (s.empty()) return "?";
  if (s.find(' ') == std::string::npos && s.find('(') == std::string::npos) s += "()";
  return s;
}

}  // namespace

bool PolicyOutcome::pass() const {
  if (run.status != RunResult::Status::Completed) return false;
  return std::all_of(checks.begin(), checks.end(), [](const ExpectationCheck& c) { return c.holds; });
}

PolicyOutcome judge(const ScenarioSpec& s, RunResult run) {
  PolicyOutcome o;
  o.det = detect(run);
  auto it = s.expect.find(run.policy);
  if (it != s.expect.end()) {
    o.expected = true;
    for (const auto& [key, bound] : ordered_expectations(it->second)) {
      const uint64_t v = expectation_value(key, o.det, run);
      o.checks.push_back(ExpectationCheck{key, bound, v, bound.holds(v)});
    }
  }
  o.run = std::move(run);
  return o;
}

std::vector<std::string> witness_story(const PolicyOutcome& o) {
  std::vector<std::string> out;
  const int wi = o.det.worst();
  if (wi < 0) return out;
  const Window& w = o.det.windows[wi];
  const RunResult& r = o.run;
  const std::string what = w.walk
                               ? ("a walk-cache entry for " + hex(w.va) + " -> page-table pfn " + std::to_string(w.pfn.value()))
                               : (hex(w.va) + " -> pfn " + std::to_string(w.pfn.value()) + (w.writable ? " (writable)" : " (read-only)"));
  // Lines are gathered with their step and told in step order.
  std::vector<std::pair<uint64_t, std::string>> lines;
  auto at = [](uint64_t seq) { return "step " + std::to_string(seq) + ": "; };
  lines.emplace_back(w.open.seq.value(), at(w.open.seq.value()) + actor(r, w.open.actor) + " in " + fn(w.open.func) + ": " + w.open_what +
                                             "; " + holder_name(r, w.holder) + " keeps " + what + ".");
  // Secondary invalidations sent while the window was open, as the notifier saw them. The one
  // right before the closing drop is the one that closed it.
  const uint64_t end = w.close.valid() ? w.close.seq.value() : o.det.end_seq;
  std::vector<const Event*> sent;
  for (const Event& e : r.events)
    if (e.seq.value() > w.open.seq.value() && e.seq.value() < end && e.kind == EventKind::Notifier && e.mm == w.mm &&
        (e.note == "invalidate_range" || e.note == "arch_invalidate_secondary_tlbs"))
      sent.push_back(&e);
  for (size_t i = 0; i < sent.size(); ++i) {
    const Event& e = *sent[i];
    const bool closes = w.close.valid() && i + 1 == sent.size();
    if (!closes && i >= 3 && i + 1 < sent.size()) continue;
    lines.emplace_back(e.seq.value(), at(e.seq.value()) + actor(r, e.actor) + " in " + fn(e.func) + " sends " + e.note +
                                          range(e.va, e.end) + (closes ? "." : "; the entry survives it."));
  }
  if (w.after_return) {
    std::string who = "the setup";
    for (const OpSpan& op : r.ops)
      if (op.thread == w.opener_thread && op.op == w.opener_op)
        who = r.threads.at(static_cast<size_t>(op.thread)).name + "'s " + op.name + " (op " + std::to_string(op.op) + ")";
    const uint64_t when = w.returned.valid() ? w.returned.seq.value() : o.det.end_seq;
    lines.emplace_back(when, at(when) + who + " has returned; the window is still open.");
  }
  if (w.freed.valid())
    lines.emplace_back(w.freed.seq.value(), at(w.freed.seq.value()) + actor(r, w.freed.actor) + " in " + fn(w.freed.func) + " frees " +
                                                (w.walk ? "page-table " : "") + "pfn " + std::to_string(w.pfn.value()) + ".");
  if (w.reused.valid())
    lines.emplace_back(w.reused.seq.value(), at(w.reused.seq.value()) + actor(r, w.reused.actor) + " in " + fn(w.reused.func) +
                                                 " reallocates pfn " + std::to_string(w.pfn.value()) + ".");
  for (size_t i = 0; i < w.accesses.size() && i < 3; ++i) {
    const WindowAccess& a = w.accesses[i];
    lines.emplace_back(a.at.seq.value(), at(a.at.seq.value()) + actor(r, a.at.actor) + " " +
                                             (w.walk    ? "walks"
                                              : a.write ? "writes"
                                                        : "reads") +
                                             " " + hex(a.va) + " through it" + (a.finding.empty() ? "" : " (" + a.finding + ")") + ".");
  }
  if (w.accesses.size() > 3)
    lines.emplace_back(w.accesses[3].at.seq.value(), "... and " + std::to_string(w.accesses.size() - 3) + " more accesses through it.");
  std::stable_sort(lines.begin(), lines.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  for (auto& l : lines) out.push_back(std::move(l.second));
  if (w.close.valid())
    out.push_back(at(w.close.seq.value()) + "the window closes when " + actor(r, w.close.actor) + " in " + fn(w.close.func) +
                  (w.restored ? " makes the page table grant again what the entry holds (" : " drops the entry (") +
                  std::to_string(w.duration_events(o.det.end_seq)) + " events, " + std::to_string(w.duration_ns(o.det.end_ns)) + " ns).");
  else
    out.push_back("the window is still open when the run ends (" + std::to_string(w.duration_events(o.det.end_seq)) + " events, " +
                  std::to_string(w.duration_ns(o.det.end_ns)) + " ns).");
  return out;
}

bool all_pass(const std::vector<ScenarioOutcome>& outcomes) {
  for (const auto& s : outcomes)
    for (const auto& p : s.policies)
      if (p.run.status != RunResult::Status::Completed || (p.expected && !p.pass())) return false;
  return true;
}

namespace {

/// The nonzero per-cache counts of each side, "cpu: windows 1 observed 1; device: windows 2
/// after-return 1", or "" when every count is 0.
std::string by_side_line(const DetectorResult& det) {
  std::string out;
  for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) {
    std::string one;
    for (const MetricInfo& info : metrics()) {
      if (!info.per_holder) continue;
      const uint64_t n = det.metric(std::string(side_prefix(side)) + std::string(info.name));
      if (n) one += " " + std::string(info.name) + " " + std::to_string(n);
    }
    if (one.empty()) continue;
    if (!out.empty()) out += ";";
    out += (out.empty() ? "" : " ") + std::string(side_prefix(side)) + one;
  }
  return out;
}

/// Who met a finding: "T1 op 2 (mprotect)", or the actor's name outside every op.
std::string who(const RunResult& r, const Finding& f) {
  if (f.thread < 0 || static_cast<size_t>(f.thread) >= r.threads.size()) return actor(r, f.at.actor);
  std::string s = r.threads[static_cast<size_t>(f.thread)].name + " op " + std::to_string(f.op);
  for (const OpSpan& o : r.ops)
    if (o.thread == f.thread && o.op == f.op) return s + " (" + o.name + ")";
  return s;
}

/// What user space and devices were told under one policy, a line each, the first few only.
void print_outcomes(std::ostream& os, const PolicyOutcome& p) {
  constexpr size_t kShown = 8;
  size_t n = 0;
  for (const Finding& f : p.det.findings) {
    if (!is_outcome_finding(f.kind)) continue;
    if (n++ < kShown) os << "   " << p.run.policy << ": " << who(p.run, f) << ": " << f.text << "\n";
  }
  if (n > kShown) os << "   " << p.run.policy << ": ... and " << n - kShown << " more (the JSON report lists every one)\n";
}

}  // namespace

std::string text_report(const std::string& file, const std::vector<ScenarioOutcome>& outcomes) {
  std::ostringstream os;
  size_t pass = 0, total = 0;
  os << "tlbsim report for " << file << "\n";
  const std::vector<std::string>& cols = metric_names();
  for (const ScenarioOutcome& so : outcomes) {
    os << "\n== " << so.spec->name << "\n";
    // Free text from the file: a control character (a newline, a terminal escape) is printed
    // escaped, so a scenario cannot forge report lines or drive the terminal.
    if (!so.spec->description.empty()) os << "   " << escape_unprintable(so.spec->description) << "\n";
    os << "   source: " << escape_unprintable(so.spec->source) << "\n";
    int width = 8;
    for (const PolicyOutcome& p : so.policies) width = std::max<int>(width, static_cast<int>(p.run.policy.size()));
    os << "   " << std::string(width, ' ');
    for (const std::string& c : cols) {
      char buf[32];
      std::snprintf(buf, sizeof buf, "%*s", static_cast<int>(c.size()) + 1, c.c_str());
      os << buf;
    }
    os << "  verdict\n";
    for (const PolicyOutcome& p : so.policies) {
      char buf[64];
      std::snprintf(buf, sizeof buf, "   %-*s", width, p.run.policy.c_str());
      os << buf;
      for (const std::string& c : cols) {
        std::snprintf(buf, sizeof buf, "%*llu", static_cast<int>(c.size()) + 1, static_cast<unsigned long long>(p.det.metric(c)));
        os << buf;
      }
      std::string verdict;
      if (p.run.status != RunResult::Status::Completed)
        verdict = std::string("FAIL (") + std::string(to_string(p.run.status)) + ")";
      else if (!p.expected)
        verdict = "no expectation";
      else if (p.pass())
        verdict = "ok";
      else {
        verdict = "FAIL:";
        for (const auto& c : p.checks)
          if (!c.holds) verdict += " " + c.metric + "=" + c.actual_text() + " (expected " + c.bound.text() + ")";
      }
      if (p.expected || p.run.status != RunResult::Status::Completed) {
        ++total;
        pass += p.pass();
      }
      os << "  " << verdict << "\n";
      const std::string sides = by_side_line(p.det);
      if (!sides.empty()) os << "   " << std::string(width, ' ') << " " << sides << "\n";
    }
    for (const PolicyOutcome& p : so.policies) {
      if (p.run.status != RunResult::Status::Completed) {
        os << "   " << p.run.policy << ": the run ended with " << to_string(p.run.status) << "; threads:\n";
        for (const auto& t : p.run.threads)
          os << "     " << t.name << ": " << (t.done ? "done" : (t.runnable ? "ready at " : "blocked at ") + t.next) << "\n";
      }
      print_outcomes(os, p);
      const auto story = witness_story(p);
      if (story.empty()) continue;
      const Window& w = p.det.windows[p.det.worst()];
      if (severity(w.cls) <= severity(WindowClass::Stale) && !w.observed()) continue;  // only interesting windows
      os << "   worst window under " << p.run.policy << ": " << to_string(w.cls) << (w.observed() ? ", observed" : ", latent") << "\n";
      for (const auto& line : story) os << "     " << line << "\n";
      for (const Finding& f : p.det.findings)
        if (f.kind == "livelock") os << "     step " << f.at.seq.value() << ": " << f.text << "\n";
    }
  }
  os << "\n" << pass << " of " << total << " expectations held\n";
  return os.str();
}

nlohmann::ordered_json json_report(const std::string& file, const std::vector<ScenarioOutcome>& outcomes) {
  using J = nlohmann::ordered_json;
  J root;
  root["file"] = file;
  root["pass"] = all_pass(outcomes);
  J scen = J::array();
  for (const ScenarioOutcome& so : outcomes) {
    J s;
    s["name"] = so.spec->name;
    s["source"] = so.spec->source;
    J pols = J::array();
    for (const PolicyOutcome& p : so.policies) {
      J pj;
      pj["policy"] = p.run.policy;
      pj["status"] = std::string(to_string(p.run.status));
      pj["steps"] = p.run.steps;
      pj["events"] = p.run.events.size();
      pj["seed"] = p.run.seed;
      J m;
      for (const std::string& name : metric_names()) m[name] = p.det.metric(name);
      pj["metrics"] = m;
      J sides;
      for (HolderSide side : {HolderSide::Cpu, HolderSide::Device}) {
        J one;
        for (const MetricInfo& info : metrics())
          if (info.per_holder) one[std::string(info.name)] = p.det.metric(std::string(side_prefix(side)) + std::string(info.name));
        sides[side == HolderSide::Cpu ? "cpu" : "device"] = one;
      }
      pj["by_side"] = sides;
      J checks = J::array();
      for (const auto& c : p.checks)
        checks.push_back(J{{"metric", c.metric},
                           {"expected", c.bound.text()},
                           {"actual", c.bound.is_errno ? J(c.actual_text()) : J(c.actual)},
                           {"holds", c.holds}});
      pj["expectations"] = checks;
      pj["pass"] = p.expected ? J(p.pass()) : J(nullptr);
      J wins = J::array();
      for (const Window& w : p.det.windows) {
        J wj;
        wj["class"] = std::string(to_string(w.cls));
        wj["holder"] = to_string(w.holder);
        wj["mm"] = w.mm.value();
        wj["va"] = hex(w.va);
        wj["size"] = w.size;
        wj["walk_cache"] = w.walk;
        wj["pfn"] = w.pfn.value();
        wj["writable"] = w.writable;
        wj["opened"] =
            J{{"seq", w.open.seq.value()}, {"actor", actor(p.run, w.open.actor)}, {"function", w.open.func}, {"what", w.open_what}};
        if (w.freed.valid())
          wj["freed"] = J{{"seq", w.freed.seq.value()}, {"actor", actor(p.run, w.freed.actor)}, {"function", w.freed.func}};
        if (w.reused.valid())
          wj["reused"] = J{{"seq", w.reused.seq.value()}, {"actor", actor(p.run, w.reused.actor)}, {"function", w.reused.func}};
        if (w.close.valid())
          wj["closed"] = J{{"seq", w.close.seq.value()},
                           {"actor", actor(p.run, w.close.actor)},
                           {"function", w.close.func},
                           {"by", w.restored ? "restore" : "drop"}};
        else
          wj["closed"] = nullptr;
        wj["duration_events"] = w.duration_events(p.det.end_seq);
        wj["duration_ns"] = w.duration_ns(p.det.end_ns);
        J acc = J::array();
        for (const auto& a : w.accesses)
          acc.push_back(J{{"seq", a.at.seq.value()},
                          {"actor", actor(p.run, a.at.actor)},
                          {"write", a.write},
                          {"va", hex(a.va)},
                          {"pfn", a.pfn.value()},
                          {"finding", a.finding},
                          {"after_return", a.after_return}});
        wj["accesses"] = acc;
        wj["observed"] = w.observed();
        wj["opener"] = w.opener_thread >= 0
                           ? J{{"thread", p.run.threads.at(static_cast<size_t>(w.opener_thread)).name}, {"op", w.opener_op}}
                           : J(nullptr);
        wj["after_return"] = w.after_return;
        wj["returned"] = w.returned.valid() ? J(w.returned.seq.value()) : J(nullptr);
        wins.push_back(wj);
      }
      pj["windows"] = wins;
      J finds = J::array();
      for (const Finding& f : p.det.findings)
        finds.push_back(J{{"kind", f.kind},
                          {"seq", f.at.seq.value()},
                          {"actor", actor(p.run, f.at.actor)},
                          {"thread", f.thread >= 0 ? J(p.run.threads.at(static_cast<size_t>(f.thread)).name) : J(nullptr)},
                          {"op", f.op >= 0 ? J(f.op) : J(nullptr)},
                          {"va", hex(f.va)},
                          {"text", f.text}});
      pj["findings"] = finds;
      pj["worst_window"] = p.det.worst() >= 0 ? J(p.det.worst()) : J(nullptr);
      pj["witness"] = witness_story(p);
      pj["cost"] = J{{"cpu_flushes", p.run.cpu_cost.cpu_flushes},
                     {"cpu_flush_ns", p.run.cpu_cost.cpu_flush_ns},
                     {"iommu_commands", p.run.iommu_cost.iommu_commands},
                     {"atc_commands", p.run.iommu_cost.atc_commands},
                     {"syncs", p.run.iommu_cost.syncs},
                     {"iommu_ns", p.run.iommu_cost.iommu_ns},
                     {"iotlb_misses", p.run.iommu_cost.iotlb_misses},
                     {"atc_misses", p.run.iommu_cost.atc_misses},
                     {"simulated_ns", p.run.end_time_ns}};
      pols.push_back(pj);
    }
    s["policies"] = pols;
    scen.push_back(s);
  }
  root["scenarios"] = scen;
  return root;
}

}  // namespace tlbsim::scenarios
