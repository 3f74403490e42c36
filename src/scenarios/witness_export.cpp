// SPDX-License-Identifier: MIT
#include "scenarios/witness_export.h"

#include <algorithm>
#include <map>
#include <sstream>

// GCC 12 reports a false -Wmaybe-uninitialized inside boost::optional when write_graphviz walks
// an adjacency_list's edges (the iterator is always engaged there); keep it quiet for this file.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#endif
#include <boost/graph/adjacency_list.hpp>
#include <boost/graph/graphviz.hpp>
#include <nlohmann/json.hpp>

#include "scenarios/detector.h"
#include "scenarios/footprint.h"
#include "scenarios/metrics.h"

namespace tlbsim::scenarios {

namespace {

std::vector<const StepRecord*> steps_of(const RunResult& r) {
  std::vector<const StepRecord*> out;
  for (const StepRecord& st : r.trace)
    if (!st.priming) out.push_back(&st);
  return out;
}

StepActor actor_of(const ScenarioSpec& s, const StepRecord& st) {
  const ThreadSpec& t = s.threads[static_cast<size_t>(st.thread)];
  return StepActor{.device = t.kind == ThreadKind::Device, .cpu = t.cpu, .hardware = st.hardware, .returns = st.op_stores};
}

std::string summary(const RunResult& r, const StepRecord& st) {
  std::map<std::string, int> kinds;
  for (size_t i = st.ev_begin; i < st.ev_end; ++i) ++kinds[std::string(to_string(r.events[i].kind))];
  std::string out;
  for (const auto& [k, n] : kinds) out += (out.empty() ? "" : ", ") + (n > 1 ? std::to_string(n) + " " : "") + k;
  return out.empty() ? "no events" : out;
}

/// Names come from scenario files: a quote or backslash must not end a DOT string early.
std::string dot_escape(const std::string& in) {
  std::string o;
  for (char c : in) {
    if (c == '"' || c == '\\') o += '\\';
    o += c;
  }
  return o;
}

}  // namespace

const PropertyResult* pick_witness(const ExploreResult& r, const std::string& name) {
  if (!name.empty()) {
    for (const auto& p : r.properties)
      if (p.name == name && p.witness) return &p;
    for (const auto& p : r.expectations)
      if ((p.name == name || p.name.rfind(name + " ", 0) == 0) && p.witness) return &p;
    return nullptr;
  }
  // Most severe first (metrics() ranks them), then the run statuses: what a kernel developer
  // would want to see drawn.
  std::vector<const MetricInfo*> ranked;
  for (const MetricInfo& m : metrics()) ranked.push_back(&m);
  std::stable_sort(ranked.begin(), ranked.end(), [](const MetricInfo* a, const MetricInfo* b) { return a->severity > b->severity; });
  std::vector<std::string> order;
  for (const MetricInfo* m : ranked) order.emplace_back(m->name);
  order.insert(order.end(), {"deadlock", "step budget exceeded"});
  for (const std::string& n : order)
    for (const auto& p : r.properties)
      if (p.name == n && p.witness) return &p;
  // A "model invariant violated" witness cannot be replayed to a complete run: never drawn.
  for (const auto& p : r.properties)
    if (p.witness && p.name.find("invariant") == std::string::npos) return &p;
  return nullptr;
}

std::string happens_before_dot(const ScenarioSpec& s, const RunResult& r) {
  struct VertexProps {
    std::string label;
  };
  struct EdgeProps {
    std::string kind;  ///< "po" program order, "conflict" dependent steps
  };
  using Graph = boost::adjacency_list<boost::vecS, boost::vecS, boost::directedS, VertexProps, EdgeProps>;
  const std::vector<const StepRecord*> steps = steps_of(r);
  Graph g(steps.size());
  std::vector<Footprint> fps;
  StepFootprints sf;  // as the explorer computes them
  for (size_t i = 0; i < steps.size(); ++i) {
    const StepRecord& st = *steps[i];
    fps.push_back(sf.next(r.events, st.ev_begin, st.ev_end, st.touches, actor_of(s, st)));
    g[i].label = std::to_string(i + 1) + ": " + dot_escape(s.threads[static_cast<size_t>(st.thread)].name + " " + st.label) + "\\n" +
                 dot_escape(summary(r, st));
  }
  std::vector<int> last(s.threads.size(), -1);
  for (size_t j = 0; j < steps.size(); ++j) {
    const int tj = steps[j]->thread;
    if (last[static_cast<size_t>(tj)] >= 0) boost::add_edge(static_cast<size_t>(last[static_cast<size_t>(tj)]), j, EdgeProps{"po"}, g);
    // Conflict order: from the latest dependent step of every other thread (earlier ones follow
    // by program order).
    std::vector<bool> seen(s.threads.size(), false);
    for (size_t i = j; i-- > 0;) {
      const int ti = steps[i]->thread;
      if (ti == tj || seen[static_cast<size_t>(ti)] || !dependent(fps[i], fps[j])) continue;
      seen[static_cast<size_t>(ti)] = true;
      boost::add_edge(i, j, EdgeProps{"conflict"}, g);
    }
    last[static_cast<size_t>(tj)] = static_cast<int>(j);
  }
  std::ostringstream out;
  boost::write_graphviz(
      out, g,
      [&](std::ostream& o, size_t v) {
        o << "[label=\"" << g[v].label << "\", shape=box, group=\"" << dot_escape(s.threads[static_cast<size_t>(steps[v]->thread)].name)
          << "\"]";
      },
      [&](std::ostream& o, const Graph::edge_descriptor& e) {
        o << (g[e].kind == "po" ? "[style=bold]" : "[style=dashed, color=red, label=\"conflict\"]");
      },
      [&](std::ostream& o) { o << "label=\"" << dot_escape(s.name + " under " + r.policy) << ": happens-before\";\nrankdir=TB;\n"; });
  return out.str();
}

#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

std::string trace_json(const ScenarioSpec& s, const RunResult& r) {
  using json = nlohmann::ordered_json;
  json ev = json::array();
  // A pid no tid takes: Perfetto treats tid == pid as the process's main thread.
  constexpr int kPid = 100000;
  auto meta = [&](int tid, const std::string& name, int sort) {
    ev.push_back({{"name", "thread_name"}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"args", {{"name", name}}}});
    ev.push_back({{"name", "thread_sort_index"}, {"ph", "M"}, {"pid", kPid}, {"tid", tid}, {"args", {{"sort_index", sort}}}});
  };
  ev.push_back({{"name", "process_name"}, {"ph", "M"}, {"pid", kPid}, {"args", {{"name", s.name + " under " + r.policy}}}});
  // Thread tracks: tid 1 + thread index. Actor ids map to threads by name.
  std::map<uint16_t, int> actor_tid;
  for (size_t i = 0; i < s.threads.size(); ++i) {
    const ThreadSpec& t = s.threads[i];
    const std::string where = t.kind == ThreadKind::Device ? "device " + t.device : "CPU " + std::to_string(t.cpu);
    meta(static_cast<int>(i) + 1, t.name + " (" + where + ")", static_cast<int>(i));
    for (size_t a = 0; a < r.actors.size(); ++a)
      if (r.actors[a] == t.name) actor_tid[static_cast<uint16_t>(a)] = static_cast<int>(i) + 1;
  }
  const int kMachineTid = 1000;
  meta(kMachineTid, "setup and machine", 1000);
  // Cache tracks: tid 2000 + order of first appearance, sorted by that order; each cache's
  // window lanes (below) sort right after it.
  std::map<Holder, int> holder_tid;
  auto holder_name = [&](Holder h) {
    std::string name = to_string(h);
    if (h.kind == HolderKind::Atc && h.index < r.device_names.size()) name += " (ATC of " + r.device_names[h.index] + ")";
    return name;
  };
  auto cache_track = [&](Holder h) {
    auto [it, fresh] = holder_tid.try_emplace(h, 2000 + static_cast<int>(holder_tid.size()));
    if (fresh) meta(it->second, holder_name(h), it->second * 100);
    return it->second;
  };
  auto tid_of_actor = [&](uint16_t a) {
    auto it = actor_tid.find(a);
    return it == actor_tid.end() ? kMachineTid : it->second;
  };
  // Steps as spans on their thread's track.
  for (const StepRecord& st : r.trace) {
    if (st.priming || st.ev_begin == st.ev_end) continue;
    const uint64_t b = r.events[st.ev_begin].seq.value(), e = r.events[st.ev_end - 1].seq.value();
    ev.push_back({{"name", st.label}, {"cat", "step"}, {"ph", "X"}, {"pid", kPid}, {"tid", st.thread + 1}, {"ts", b}, {"dur", e - b + 1}});
  }
  // Setup (building the machine, populating VMAs) is not part of the schedule: start at the
  // first event of the first scheduled step.
  size_t first = r.events.size();
  for (const StepRecord& st : r.trace)
    if (!st.priming) {
      first = st.ev_begin;
      break;
    }
  for (size_t i = first; i < r.events.size(); ++i) {
    const Event& e = r.events[i];
    const bool on_cache = e.holder.kind != HolderKind::None && (e.kind == EventKind::Fill || e.kind == EventKind::WalkFill ||
                                                                e.kind == EventKind::Evict || e.kind == EventKind::Drop);
    const int tid = on_cache ? cache_track(e.holder) : tid_of_actor(e.actor);
    ev.push_back({{"name", std::string(to_string(e.kind)) + " " + e.func},
                  {"cat", std::string(to_string(e.kind))},
                  {"ph", "i"},
                  {"s", "t"},
                  {"pid", kPid},
                  {"tid", tid},
                  {"ts", e.seq.value()},
                  {"args", {{"event", describe(e, r.actors)}, {"time_ns", e.time_ns}}}});
  }
  // Windows of one cache overlap (a range opens page by page and closes page by page), and both
  // viewers need the spans of one track to nest: Perfetto drops a span that overlaps its
  // predecessor partly (SliceTracker), Catapult stacks them unreadably. So each cache's windows
  // are laid out on lanes, in order of opening (the longer first on a tie): a window goes on the
  // first lane where it nests inside the spans still open there, or starts after they all end.
  const DetectorResult d = detect(r);
  struct Span {
    uint64_t b, e;
    const Window* w;
  };
  std::vector<Span> spans;
  for (const Window& w : d.windows) {
    const uint64_t b = w.open.seq.value(), e = w.close.valid() ? w.close.seq.value() : d.end_seq;
    spans.push_back({b, e > b ? e : b + 1, &w});
  }
  std::stable_sort(spans.begin(), spans.end(), [](const Span& x, const Span& y) { return x.b != y.b ? x.b < y.b : x.e > y.e; });
  struct Lane {
    int tid;
    std::vector<uint64_t> open;  ///< ends of the spans still open at the last start, innermost last
  };
  std::map<Holder, std::vector<Lane>> lanes;
  int next_lane_tid = 10000;
  for (const Span& sp : spans) {
    const Window& w = *sp.w;
    const int sort_base = cache_track(w.holder) * 100;
    std::vector<Lane>& ls = lanes[w.holder];
    Lane* lane = nullptr;
    for (Lane& l : ls) {
      while (!l.open.empty() && l.open.back() <= sp.b) l.open.pop_back();
      if (l.open.empty() || l.open.back() >= sp.e) {
        lane = &l;
        break;
      }
    }
    if (!lane) {
      const int tid = next_lane_tid++;
      meta(tid, holder_name(w.holder) + " windows" + (ls.empty() ? "" : " #" + std::to_string(ls.size() + 1)),
           sort_base + 1 + static_cast<int>(ls.size()));
      ls.push_back(Lane{tid, {}});
      lane = &ls.back();
    }
    lane->open.push_back(sp.e);
    ev.push_back({{"name", std::string(to_string(w.cls)) + " window" + (w.observed() ? " (observed)" : "")},
                  {"cat", "window"},
                  {"ph", "X"},
                  {"pid", kPid},
                  {"tid", lane->tid},
                  {"ts", sp.b},
                  {"dur", sp.e - sp.b},
                  {"cname", std::string(class_info(w.cls).trace_colour)},
                  {"args", {{"opened by", w.open_what}, {"va", w.va}, {"accesses", w.accesses.size()}}}});
  }
  // No displayTimeUnit: older Perfetto read "ns" as the unit of ts. Timestamps are event
  // sequence numbers, shown as microseconds.
  json doc = {{"traceEvents", ev}};
  return doc.dump(1) + "\n";
}

}  // namespace tlbsim::scenarios
