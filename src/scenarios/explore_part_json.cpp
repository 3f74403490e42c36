// SPDX-License-Identifier: MIT
#include "scenarios/explore_part_json.h"

namespace tlbsim::scenarios {

namespace {

using OJ = nlohmann::ordered_json;
using J = nlohmann::json;

OJ schedule_json(const Schedule& s) { return OJ(s); }
OJ optional_schedule(const std::optional<Schedule>& s) { return s ? schedule_json(*s) : OJ(nullptr); }

OJ aggregate_json(const Aggregate& a) {
  OJ o;
  o["executions"] = a.executions;
  o["pruned"] = a.pruned;
  o["spent"] = a.spent;
  o["stopped"] = a.stopped;
  o["bound_cut"] = a.bound_cut;
  o["deadline_hit"] = a.deadline_hit;
  OJ props = OJ::array();
  for (const auto& [name, cw] : a.props) props.push_back(OJ{{"name", name}, {"count", cw.first}, {"witness", schedule_json(cw.second)}});
  o["properties"] = std::move(props);
  OJ expect = OJ::array();
  for (const auto& [count, cx] : a.expect) expect.push_back(OJ{{"count", count}, {"counterexample", optional_schedule(cx)}});
  o["expectations"] = std::move(expect);
  o["outcomes"] = OJ(a.outcomes);
  if (a.budget) {
    OJ threads = OJ::array();
    for (const ThreadOutcome& t : a.budget->threads)
      threads.push_back(OJ{{"name", t.name}, {"done", t.done}, {"next", t.next}, {"runnable", t.runnable}});
    o["step_budget"] = OJ{{"schedule", schedule_json(a.budget->schedule)}, {"threads", std::move(threads)}};
  } else {
    o["step_budget"] = nullptr;
  }
  o["first"] = optional_schedule(a.first);
  o["invariant"] = a.invariant ? OJ{{"schedule", schedule_json(a.invariant->first)}, {"check", a.invariant->second}} : OJ(nullptr);
  return o;
}

/// Typed reads that say where a value is wrong.
class Reader {
 public:
  Reader(std::string base, size_t threads) : m_base(std::move(base)), m_threads(threads) {}

  [[noreturn]] void fail(const std::string& at, const std::string& what) const { throw PartFormatError(m_base + at, what); }

  const J& member(const J& obj, const std::string& at, const char* key) const {
    if (!obj.is_object()) fail(at, "expected an object");
    const auto it = obj.find(key);
    if (it == obj.end()) fail(at, std::string("missing \"") + key + "\"");
    return *it;
  }
  uint64_t u64(const J& v, const std::string& at) const {
    if (!v.is_number_unsigned()) fail(at, "expected a non-negative integer");
    return v.get<uint64_t>();
  }
  bool boolean(const J& v, const std::string& at) const {
    if (!v.is_boolean()) fail(at, "expected true or false");
    return v.get<bool>();
  }
  std::string string(const J& v, const std::string& at) const {
    if (!v.is_string()) fail(at, "expected a string");
    return v.get<std::string>();
  }
  const J& array(const J& v, const std::string& at) const {
    if (!v.is_array()) fail(at, "expected an array");
    return v;
  }
  Schedule schedule(const J& v, const std::string& at) const {
    Schedule s;
    for (size_t i = 0; i < array(v, at).size(); ++i) {
      const std::string ai = at + "/" + std::to_string(i);
      const uint64_t t = u64(v[i], ai);
      if (t >= m_threads) fail(ai, "expected a thread index below " + std::to_string(m_threads) + ", the scenario's threads");
      s.push_back(static_cast<int>(t));
    }
    return s;
  }
  std::optional<Schedule> optional_schedule(const J& v, const std::string& at) const {
    if (v.is_null()) return std::nullopt;
    return schedule(v, at);
  }

  Aggregate aggregate(const J& o, const std::string& at) const {
    Aggregate a;
    auto m = [&](const char* key) -> const J& { return member(o, at, key); };
    auto in = [&](const char* key) { return at + "/" + key; };
    a.executions = u64(m("executions"), in("executions"));
    a.pruned = u64(m("pruned"), in("pruned"));
    a.spent = u64(m("spent"), in("spent"));
    a.stopped = boolean(m("stopped"), in("stopped"));
    a.bound_cut = boolean(m("bound_cut"), in("bound_cut"));
    a.deadline_hit = boolean(m("deadline_hit"), in("deadline_hit"));
    const J& props = array(m("properties"), in("properties"));
    for (size_t i = 0; i < props.size(); ++i) {
      const std::string pi = in("properties") + "/" + std::to_string(i);
      const std::string name = string(member(props[i], pi, "name"), pi + "/name");
      const uint64_t count = u64(member(props[i], pi, "count"), pi + "/count");
      if (!a.props.try_emplace(name, count, schedule(member(props[i], pi, "witness"), pi + "/witness")).second)
        fail(pi + "/name", "property \"" + name + "\" listed twice");
    }
    const J& expect = array(m("expectations"), in("expectations"));
    for (size_t i = 0; i < expect.size(); ++i) {
      const std::string ei = in("expectations") + "/" + std::to_string(i);
      a.expect.emplace_back(u64(member(expect[i], ei, "count"), ei + "/count"),
                            optional_schedule(member(expect[i], ei, "counterexample"), ei + "/counterexample"));
    }
    const J& outcomes = array(m("outcomes"), in("outcomes"));
    for (size_t i = 0; i < outcomes.size(); ++i) a.outcomes.insert(string(outcomes[i], in("outcomes") + "/" + std::to_string(i)));
    if (const J& b = m("step_budget"); !b.is_null()) {
      const std::string bi = in("step_budget");
      BudgetExceeded be;
      be.schedule = schedule(member(b, bi, "schedule"), bi + "/schedule");
      const J& threads = array(member(b, bi, "threads"), bi + "/threads");
      for (size_t i = 0; i < threads.size(); ++i) {
        const std::string ti = bi + "/threads/" + std::to_string(i);
        ThreadOutcome t;
        t.name = string(member(threads[i], ti, "name"), ti + "/name");
        t.done = boolean(member(threads[i], ti, "done"), ti + "/done");
        t.next = string(member(threads[i], ti, "next"), ti + "/next");
        t.runnable = boolean(member(threads[i], ti, "runnable"), ti + "/runnable");
        be.threads.push_back(std::move(t));
      }
      a.budget = std::move(be);
    }
    a.first = optional_schedule(m("first"), in("first"));
    if (const J& inv = m("invariant"); !inv.is_null())
      a.invariant = std::make_pair(schedule(member(inv, in("invariant"), "schedule"), in("invariant") + "/schedule"),
                                   string(member(inv, in("invariant"), "check"), in("invariant") + "/check"));
    return a;
  }

 private:
  std::string m_base;
  size_t m_threads;
};

}  // namespace

nlohmann::ordered_json part_to_json(const ExplorePart& p) {
  OJ o;
  o["tasks"] = p.tasks;
  OJ done = OJ::array();
  for (const TaskResult& t : p.done) {
    OJ d = aggregate_json(t.result);
    OJ e;
    e["task"] = t.index;
    for (auto& [k, v] : d.items()) e[k] = std::move(v);
    done.push_back(std::move(e));
  }
  o["done"] = std::move(done);
  return o;
}

ExplorePart part_from_json(const nlohmann::json& j, size_t threads, const std::string& pointer) {
  const Reader rd(pointer, threads);
  ExplorePart p;
  p.tasks = rd.u64(rd.member(j, "", "tasks"), "/tasks");
  const J& done = rd.array(rd.member(j, "", "done"), "/done");
  for (size_t i = 0; i < done.size(); ++i) {
    const std::string at = "/done/" + std::to_string(i);
    TaskResult t;
    t.index = rd.u64(rd.member(done[i], at, "task"), at + "/task");
    t.result = rd.aggregate(done[i], at);
    p.done.push_back(std::move(t));
  }
  return p;
}

}  // namespace tlbsim::scenarios
