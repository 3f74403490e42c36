// SPDX-License-Identifier: MIT
#include "scenarios/loader.h"

#include <algorithm>
#include <set>

#include <nlohmann/json.hpp>

#include "kernel/sva.h"
#include "model/outcome.h"
#include "model/phys_mem.h"
#include "model/saturating.h"
#include "scenarios/costs.h"
#include "scenarios/expectation.h"
#include "scenarios/input_file.h"
#include "scenarios/json_document.h"
#include "scenarios/json_positions.h"
#include "scenarios/printable.h"
#include "scenarios/schedule_steps.h"
#include "scenarios/validate.h"

namespace tlbsim::scenarios {

using nlohmann::json;

namespace {

/// Reads one JSON object's fields, records every problem, and reports keys nobody read.
class ObjReader {
 public:
  ObjReader(const json& j, std::string pointer, std::vector<Diagnostic>& diags) : m_j(j), m_ptr(std::move(pointer)), m_diags(diags) {
    if (!j.is_object()) error(m_ptr, "expected an object, got " + type_name(j));
  }
  bool ok() const { return m_j.is_object(); }
  const std::string& pointer() const { return m_ptr; }
  std::string at(const std::string& key) const { return m_ptr + "/" + pointer_token(key); }

  void error(const std::string& ptr, const std::string& msg) { m_diags.push_back(Diagnostic{.pointer = ptr, .message = msg}); }

  const json* get(const std::string& key) {
    m_seen.insert(key);
    if (!ok()) return nullptr;
    auto it = m_j.find(key);
    return it == m_j.end() ? nullptr : &*it;
  }
  const json* require(const std::string& key) {
    const json* v = get(key);
    if (!v && ok()) error(m_ptr, "missing required key \"" + key + "\"");
    return v;
  }

  void str(const std::string& key, std::string& out, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (!v->is_string()) return error(at(key), "expected a string, got " + type_name(*v));
    out = v->get<std::string>();
  }
  /// A name that other parts refer to and messages print: see name_problem().
  void name(const std::string& key, std::string& out, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (!v->is_string()) return error(at(key), "expected a string, got " + type_name(*v));
    out = v->get<std::string>();
    // Kept even when refused, so that the references to it are not reported as well.
    if (const std::string problem = name_problem(out); !problem.empty()) error(at(key), "expected " + problem);
  }
  void boolean(const std::string& key, bool& out) {
    const json* v = get(key);
    if (!v) return;
    if (!v->is_boolean()) return error(at(key), "expected true or false, got " + shown(*v));
    out = v->get<bool>();
  }
  void opt_boolean(const std::string& key, std::optional<bool>& out) {
    const json* v = get(key);
    if (!v) return;
    if (!v->is_boolean()) return error(at(key), "expected true or false, got " + shown(*v));
    out = v->get<bool>();
  }
  template <class T>
  void uint(const std::string& key, T& out, uint64_t lo, uint64_t hi, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (is_too_large(*v))
      return error(at(key), "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + shown(*v));
    if (!v->is_number_unsigned() && !(v->is_number_integer() && v->get<int64_t>() >= 0))
      return error(at(key), "expected a non-negative integer, got " + shown(*v));
    const uint64_t x = v->get<uint64_t>();
    if (x < lo || x > hi)
      return error(at(key), "expected an integer in " + std::to_string(lo) + ".." + std::to_string(hi) + ", got " + std::to_string(x));
    out = static_cast<T>(x);
  }
  /// An address: "0x..." hex string or an integer.
  void address(const std::string& key, uint64_t& out, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (v->is_number_unsigned()) {
      out = v->get<uint64_t>();
      return;
    }
    if (v->is_string()) {
      const std::string s = v->get<std::string>();
      if (s.size() > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X') && s.size() <= 18 &&
          std::all_of(s.begin() + 2, s.end(), [](char c) { return std::isxdigit(static_cast<unsigned char>(c)); })) {
        out = std::stoull(s, nullptr, 16);
        return;
      }
    }
    error(at(key), "expected an address (\"0x...\" or an integer), got " + shown(*v));
  }
  void one_of(const std::string& key, std::string& out, const std::vector<std::string>& allowed, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (!v->is_string()) return error(at(key), "expected one of " + list(allowed) + ", got " + type_name(*v));
    const std::string s = v->get<std::string>();
    if (std::find(allowed.begin(), allowed.end(), s) == allowed.end())
      return error(at(key), "expected one of " + list(allowed) + ", got " + shown(*v));
    out = s;
  }
  /// one_of() for an enum whose values the file spells as `names`, in enum order.
  template <class E, size_t N>
  void choice(const std::string& key, E& out, const char* const (&names)[N]) {
    std::string s = names[static_cast<size_t>(out)];
    one_of(key, s, {std::begin(names), std::end(names)});
    out = static_cast<E>(std::find(std::begin(names), std::end(names), s) - std::begin(names));
  }
  /// Each element of an array with its pointer.
  template <class F>
  void array(const std::string& key, F&& f, bool required = false) {
    const json* v = required ? require(key) : get(key);
    if (!v) return;
    if (!v->is_array()) return error(at(key), "expected an array, got " + type_name(*v));
    const std::string base = at(key) + "/";
    for (size_t i = 0; i < v->size(); ++i) f((*v)[i], base + std::to_string(i));
  }
  void finish() {
    if (!ok()) return;
    for (auto it = m_j.begin(); it != m_j.end(); ++it)
      if (!m_seen.count(it.key())) error(at(it.key()), "unknown key " + in_quotes(it.key()));
  }
  static std::string list(const std::vector<std::string>& v) {
    std::string s;
    for (size_t i = 0; i < v.size(); ++i) s += (i ? ", " : "") + ("\"" + v[i] + "\"");
    return s;
  }

 private:
  const json& m_j;
  std::string m_ptr;
  std::vector<Diagnostic>& m_diags;
  std::set<std::string> m_seen;
};

DeviceSpec read_device(const json& j, const std::string& ptr, std::vector<Diagnostic>& d) {
  DeviceSpec s;
  s.pointer = ptr;
  ObjReader r(j, ptr, d);
  r.name("name", s.name, true);
  r.str("decoding", s.decoding);
  s.decoding_choice = kernel::find_decoding_choice(s.decoding);
  r.boolean("ats", s.ats);
  r.uint("atc_entries", s.atc_entries, 1, 1u << 16);
  r.uint("iotlb_entries", s.iotlb_entries, 1, 1u << 16);
  r.uint("walk_cache_entries", s.walk_cache_entries, 0, 1024);
  r.opt_boolean("cache_nonleaf_on_fault", s.cache_nonleaf_on_fault);
  r.boolean("cache_nonleaf_on_supervisor_fault", s.cache_nonleaf_on_supervisor_fault);
  r.opt_boolean("permission_fault_rewalks", s.permission_fault_rewalks);
  r.boolean("btm", s.btm);
  r.boolean("nopasid_inv_covers_pasid", s.nopasid_inv_covers_pasid);
  r.boolean("cmds_complete_in_order", s.cmds_complete_in_order);
  r.boolean("pasid_table_cached", s.pasid_table_cached);
  r.finish();
  return s;
}

VmaSpec read_vma(const json& j, const std::string& ptr, std::vector<Diagnostic>& d) {
  VmaSpec v;
  ObjReader r(j, ptr, d);
  r.address("start", v.start, true);
  r.uint("pages", v.pages, 1, uint64_t{1} << 24, true);
  std::string prot = "rw";
  r.one_of("prot", prot, {"r", "rw"});
  v.writable = prot == "rw";
  r.boolean("shared", v.shared);
  r.str("file", v.file);
  r.uint("pgoff", v.pgoff, 0, uint64_t{1} << 32);
  r.choice("populate", v.populate, kPopulateNames);
  r.boolean("pfnmap", v.pfnmap);
  r.boolean("thp", v.thp);
  r.finish();
  return v;
}

OpSpec read_op(const json& j, const std::string& ptr, std::vector<Diagnostic>& d) {
  OpSpec o;
  o.pointer = ptr;
  if (j.is_string()) {
    // Short form: "exit".
    o.op = j.get<std::string>();
    o.id = op_from_name(o.op);
    return o;
  }
  ObjReader r(j, ptr, d);
  r.str("op", o.op, true);
  o.id = op_from_name(o.op);
  r.address("addr", o.addr);
  r.uint("pages", o.pages, 1, uint64_t{1} << 24);
  r.uint("repeat", o.repeat, 1, uint64_t{1} << 20);
  r.address("new_addr", o.new_addr);
  r.str("file", o.file);
  r.uint("index", o.index, 0, uint64_t{1} << 32);
  r.str("mm", o.mm);
  r.str("device", o.device);
  std::string prot;
  r.one_of("prot", prot, {"r", "rw"});
  o.writable = prot == "rw";
  r.boolean("shared", o.shared);
  r.boolean("fixed", o.fixed);
  r.boolean("populate", o.populate);
  r.boolean("dontunmap", o.dontunmap);
  if (o.id == Op::fork)
    r.name("name", o.name);  // the child mm's
  else
    r.str("name", o.name);  // ignored, as any key the op does not use
  r.finish();
  if (j.is_object())
    for (auto it = j.begin(); it != j.end(); ++it) o.given.push_back(it.key());
  return o;
}

ThreadSpec read_thread(const json& j, const std::string& ptr, std::vector<Diagnostic>& d) {
  ThreadSpec t;
  t.pointer = ptr;
  ObjReader r(j, ptr, d);
  r.name("name", t.name, true);
  const json* cpu = r.get("cpu");
  const json* dev = r.get("device");
  const json* kern = r.get("kernel");
  const int kinds = (cpu != nullptr) + (dev != nullptr) + (kern != nullptr);
  if (kinds > 1) r.error(ptr, "a thread is one of \"cpu\", \"device\" or \"kernel\", not several");
  if (dev) {
    t.kind = ThreadKind::Device;
    r.str("device", t.device);
  } else if (kern) {
    t.kind = ThreadKind::Kernel;
    if (!kern->is_boolean() || !kern->get<bool>()) r.error(r.at("kernel"), "expected true, got " + shown(*kern));
  } else {
    t.kind = ThreadKind::Cpu;
    r.uint("cpu", t.cpu, 0, 63);
  }
  r.str("mm", t.mm);
  r.array(
      "ops", [&](const json& o, const std::string& p) { t.ops.push_back(read_op(o, p, d)); }, true);
  r.finish();
  return t;
}

void read_schedule(const json& j, const std::string& ptr, ScheduleSpec& s, std::vector<Diagnostic>& d) {
  if (j.is_string()) {
    const std::string k = j.get<std::string>();
    if (k == "round-robin")
      s.kind = ScheduleSpec::Kind::RoundRobin;
    else if (k == "random")
      s.kind = ScheduleSpec::Kind::Random;
    else
      d.push_back({.pointer = ptr,
                   .message = "expected \"round-robin\", \"random\", {\"random\": SEED} or an array of steps, got " + in_quotes(k)});
    return;
  }
  if (j.is_object()) {
    ObjReader r(j, ptr, d);
    s.kind = ScheduleSpec::Kind::Random;
    r.uint("random", s.seed, 0, ~uint64_t{0}, true);
    r.finish();
    return;
  }
  if (!j.is_array()) {
    d.push_back(
        {.pointer = ptr,
         .message = "expected a schedule (array of steps, \"round-robin\", \"random\" or {\"random\": SEED}), got " + type_name(j)});
    return;
  }
  s.kind = ScheduleSpec::Kind::Explicit;
  read_steps(j, ptr, s.entries, d);
}

void read_bound(const json& j, const std::string& ptr, Bound& b, std::vector<Diagnostic>& d) {
  if (j.is_number_unsigned() || (j.is_number_integer() && j.get<int64_t>() >= 0)) {
    b = Bound{Bound::Op::Eq, j.get<uint64_t>()};
    return;
  }
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s.size() > 2 && (s.rfind(">=", 0) == 0 || s.rfind("<=", 0) == 0)) {
      const std::string n = s.substr(2);
      if (!n.empty() && n.size() <= 9 && std::all_of(n.begin(), n.end(), ::isdigit)) {
        b = Bound{s[0] == '>' ? Bound::Op::Ge : Bound::Op::Le, std::stoull(n)};
        return;
      }
    }
  }
  d.push_back({.pointer = ptr, .message = "expected a count (N, \">=N\" or \"<=N\"), got " + shown(j)});
}

/// The bound of an op's "errno": the name of the errno it returns, or "none".
void read_errno_bound(const json& j, const std::string& ptr, Bound& b, std::vector<Diagnostic>& d) {
  if (j.is_string()) {
    const std::string s = j.get<std::string>();
    if (s == "none") {
      b = Bound{.op = Bound::Op::Eq, .value = 0, .is_errno = true};
      return;
    }
    if (const std::optional<Errno> e = parse_errno(s)) {
      b = Bound{.op = Bound::Op::Eq, .value = static_cast<uint64_t>(*e), .is_errno = true};
      return;
    }
  }
  std::vector<std::string> names;
  for (const Errno e : errnos()) names.emplace_back(to_string(e));
  names.emplace_back("none");
  d.push_back({.pointer = ptr, .message = "expected the errno the op returns, one of " + ObjReader::list(names) + ", got " + shown(j)});
}

/// The VMAs of /scenarios/I/mms/J/vmas, read by read_vma() while the parser completes each one
/// (parse_json_document()'s ElementTaker), so that a file of a million VMAs is never a million
/// JSON objects at once. The mm's reader then takes them in array order, with their messages.
class VmaTaker : public ElementTaker {
 public:
  struct Taken {
    std::vector<VmaSpec> specs;
    std::vector<size_t> index;                            ///< each spec's index in the array
    std::vector<std::pair<size_t, Diagnostic>> messages;  ///< read_vma()'s, by index
  };
  void array_started(const std::vector<JsonPathFrame>& path) override {
    // A repeated "scenarios", "mms" or "vmas" key: the document keeps the last array only.
    const bool scenarios = path.size() >= 2 && is(path, 0, "scenarios") && path[1].array;
    const bool mms = scenarios && path.size() >= 4 && is(path, 2, "mms") && path[3].array;
    if (path.size() == 2 && scenarios) m_taken.clear();
    if (path.size() == 4 && mms) std::erase_if(m_taken, [&](const auto& kv) { return kv.first.first == path[1].index; });
    if (path.size() == 6 && is_vmas(path)) m_taken.erase({path[1].index, path[3].index});
  }
  bool take(const std::vector<JsonPathFrame>& path, json& element) override {
    if (path.size() != 6 || !is_vmas(path)) return false;
    Taken& t = m_taken[{path[1].index, path[3].index}];
    const size_t k = path[5].index;
    std::vector<Diagnostic> d;
    t.specs.push_back(read_vma(
        element, "/scenarios/" + std::to_string(path[1].index) + "/mms/" + std::to_string(path[3].index) + "/vmas/" + std::to_string(k),
        d));
    t.index.push_back(k);
    for (Diagnostic& m : d) t.messages.emplace_back(k, std::move(m));
    return true;
  }
  /// What was taken from the VMAs of mm `mm` of scenario `scenario`, or nullptr.
  Taken* taken(size_t scenario, size_t mm) {
    auto it = m_taken.find({scenario, mm});
    return it == m_taken.end() ? nullptr : &it->second;
  }

 private:
  static bool is(const std::vector<JsonPathFrame>& p, size_t level, const char* key) { return !p[level].array && p[level].key == key; }
  /// /scenarios/I/mms/J/vmas: objects and arrays in turn, with those keys.
  static bool is_vmas(const std::vector<JsonPathFrame>& p) {
    return is(p, 0, "scenarios") && p[1].array && is(p, 2, "mms") && p[3].array && is(p, 4, "vmas") && p[5].array;
  }
  std::map<std::pair<size_t, size_t>, Taken> m_taken;
};

/// An mm's "vmas": those `taker` read during parsing, the rest (not objects) read here, in order.
void read_vmas(ObjReader& mr, MmSpec& m, VmaTaker::Taken* t, std::vector<Diagnostic>& d) {
  const json* vmas = mr.get("vmas");
  if (!vmas || !vmas->is_array()) return mr.array("vmas", [](const json&, const std::string&) {});
  size_t next = 0, message = 0;
  auto messages_of = [&](size_t k) {
    for (; t && message < t->messages.size() && t->messages[message].first == k; ++message)
      d.push_back(std::move(t->messages[message].second));
  };
  if (t && t->specs.size() == vmas->size()) {
    // Every element was an object (the indices are 0..n-1 in order): the specs as they are.
    m.vmas = std::move(t->specs);
    for (size_t k = 0; k < vmas->size(); ++k) messages_of(k);
    return;
  }
  m.vmas.reserve(vmas->size());
  mr.array("vmas", [&](const json& v, const std::string& vp) {
    const size_t k = m.vmas.size();
    if (v.is_null() && t && next < t->index.size() && t->index[next] == k) {
      m.vmas.push_back(std::move(t->specs[next++]));
      messages_of(k);
    } else {
      m.vmas.push_back(read_vma(v, vp, d));
    }
  });
}

ScenarioSpec read_scenario(const json& j, const std::string& ptr, size_t index, VmaTaker& vmas, std::vector<Diagnostic>& d) {
  ScenarioSpec s;
  s.pointer = ptr;
  ObjReader r(j, ptr, d);
  r.name("name", s.name, true);
  r.str("source", s.source, true);
  r.str("description", s.description);
  r.choice("arch", s.arch, kernel::kArchNames);
  r.uint("cpus", s.cpus, 1, 64);
  r.choice("reuse", s.reuse, kReuseOrderNames);
  r.uint("tlb_entries", s.tlb_entries, 1, 1u << 16);
  r.uint("max_steps", s.max_steps, 1, uint64_t{1} << 32);
  r.uint("recorded_ns", s.recorded_ns, 1, uint64_t{1} << 50);
  if (const json* e = r.get("explore")) {
    // Options of `tlbsim explore` that belong to the scenario (docs/explore.md).
    ObjReader er(*e, r.at("explore"), d);
    int k = 0;
    er.uint("preemptions", k, 0, kMaxExplorePreemptions, true);
    er.finish();
    if (er.ok()) s.explore_preemptions = k;
  }
  if (const json* c = r.get("costs")) {
    // Cost-model overrides in ns, the same fields a --costs file names (docs/cost-model.md).
    read_costs(*c, r.at("costs"), s.cost, d);
  }
  r.array("devices", [&](const json& x, const std::string& p) { s.devices.push_back(read_device(x, p, d)); });
  r.array("files", [&](const json& x, const std::string& p) {
    FileSpec f;
    f.pointer = p;
    ObjReader fr(x, p, d);
    fr.name("name", f.name, true);
    fr.uint("pages", f.pages, 1, uint64_t{1} << 24);
    fr.finish();
    s.files.push_back(f);
  });
  r.array("vmalloc", [&](const json& x, const std::string& p) {
    VmallocSpec v;
    v.pointer = p;
    ObjReader vr(x, p, d);
    vr.address("addr", v.addr, true);
    vr.uint("pages", v.pages, 1, kPtrsPerTable);
    vr.finish();
    s.vmalloc.push_back(v);
  });
  r.array(
      "mms",
      [&](const json& x, const std::string& p) {
        MmSpec m;
        m.pointer = p;
        ObjReader mr(x, p, d);
        mr.name("name", m.name, true);
        read_vmas(mr, m, vmas.taken(index, s.mms.size()), d);
        mr.array("bind", [&](const json& b, const std::string& bp) {
          if (!b.is_string())
            d.push_back({.pointer = bp, .message = "expected a device name, got " + type_name(b)});
          else
            m.bind.push_back(b.get<std::string>());
        });
        mr.array("cpus", [&](const json& c, const std::string& cp) {
          if (!c.is_number_unsigned() || c.get<uint64_t>() > 63)
            d.push_back({.pointer = cp, .message = "expected a CPU number 0..63, got " + shown(c)});
          else
            m.cpus.push_back(static_cast<unsigned>(c.get<uint64_t>()));
        });
        if (mr.get("brk")) {
          m.has_brk = true;
          mr.address("brk", m.brk);
          m.start_brk = m.brk;
        }
        if (mr.get("start_brk")) {
          mr.address("start_brk", m.start_brk);
          if (!m.has_brk) mr.error(mr.at("start_brk"), "\"start_brk\" (the heap's start) needs \"brk\" (the program break)");
        }
        mr.finish();
        s.mms.push_back(std::move(m));
      },
      true);
  r.array(
      "threads", [&](const json& x, const std::string& p) { s.threads.push_back(read_thread(x, p, d)); }, true);
  if (const json* sch = r.get("schedule")) read_schedule(*sch, r.at("schedule"), s.schedule, d);
  if (const json* ex = r.get("expect")) {
    if (!ex->is_object()) {
      r.error(r.at("expect"), "expected an object of policy -> expectations, got " + type_name(*ex));
    } else {
      for (auto it = ex->begin(); it != ex->end(); ++it) {
        const std::string pp = r.at("expect") + "/" + pointer_token(it.key());
        s.policies.push_back(it.key());
        auto& m = s.expect[it.key()];
        if (!it->is_object()) {
          d.push_back({.pointer = pp, .message = "expected an object of metric -> count, got " + type_name(*it)});
          continue;
        }
        for (auto mt = it->begin(); mt != it->end(); ++mt) {
          const std::string mp = pp + "/" + pointer_token(mt.key());
          if (const std::optional<OpOutcomeKey> k = parse_op_outcome_key(mt.key())) {
            if (k->metric)
              read_bound(*mt, mp, m[mt.key()], d);
            else
              read_errno_bound(*mt, mp, m[mt.key()], d);
            continue;
          }
          if (!parse_metric(mt.key())) {
            d.push_back({.pointer = mp,
                         .message = "unknown metric " + in_quotes(mt.key()) + "; expected one of " + ObjReader::list(metric_names()) +
                                    ", or one counted per cache with \"cpu:\" or \"device:\" before it (\"device:after-return\"), "
                                    "or an op's outcome, THREAD:op N:X with X one of " +
                                    ObjReader::list(op_outcome_names()) + " (\"T1:op 2:errno\")"});
            continue;
          }
          read_bound(*mt, mp, m[mt.key()], d);
        }
      }
    }
  }
  if (const json* v = r.get("verdicts")) {
    // What `tlbsim explore` should find, per policy and property (docs/explore.md).
    if (!v->is_object()) {
      r.error(r.at("verdicts"), "expected an object of policy -> {property: verdict}, got " + type_name(*v));
    } else {
      for (auto it = v->begin(); it != v->end(); ++it) {
        const std::string pp = r.at("verdicts") + "/" + pointer_token(it.key());
        auto& list = s.verdicts[it.key()];
        if (!it->is_object()) {
          d.push_back({.pointer = pp,
                       .message = "expected an object of property -> \"never\", \"sometimes\" or \"always\", got " + type_name(*it)});
          continue;
        }
        for (auto pr = it->begin(); pr != it->end(); ++pr) {
          const std::string vp = pp + "/" + pointer_token(pr.key());
          const auto& names = explore_property_names();
          if (std::find(names.begin(), names.end(), pr.key()) == names.end()) {
            d.push_back(
                {.pointer = vp, .message = "unknown property " + in_quotes(pr.key()) + "; expected one of " + ObjReader::list(names)});
            continue;
          }
          static const std::vector<std::string> words{"never", "sometimes", "always"};
          if (!pr->is_string() || std::find(words.begin(), words.end(), pr->get<std::string>()) == words.end()) {
            d.push_back({.pointer = vp, .message = "expected one of " + ObjReader::list(words) + ", got " + shown(*pr)});
            continue;
          }
          list.emplace_back(pr.key(), pr->get<std::string>());
        }
      }
    }
  }
  r.finish();
  return s;
}

}  // namespace

bool OpSpec::has(const std::string& key) const { return std::find(given.begin(), given.end(), key) != given.end(); }

std::string Bound::text() const {
  if (is_errno) return value ? std::string(to_string(Errno{static_cast<uint16_t>(value)})) : "none";
  return (op == Op::Eq ? "" : op == Op::Ge ? ">=" : "<=") + std::to_string(value);
}

namespace {

/// The model's frame limit, and the memory estimate against `--max-memory`, each reported at the
/// key that contributes most (memory_estimate.h).
void check_size(const ScenarioSpec& sc, const LoadLimits& limits, std::vector<Diagnostic>& diags) {
  const MemoryEstimate e = estimate_memory(sc);
  const uint64_t max_frames = PhysMemConfig{}.max_frames;
  auto what = [&] {
    return " (" + std::to_string(e.frames) + " frames, " + std::to_string(e.events) + " events, " + std::to_string(e.steps) +
           " steps); the largest part, " + format_bytes(e.largest_bytes) + ", is here";
  };
  if (e.frames > max_frames) {
    diags.push_back(Diagnostic{.pointer = e.largest,
                               .message = "scenario " + in_quotes(sc.name) + " may need up to " + std::to_string(e.frames) +
                                          " frames, more than the model's " + std::to_string(max_frames) + " (16 GiB of 4 KiB pages)" +
                                          what()});
    return;
  }
  const uint64_t limit = sat_mul(limits.max_memory_mib, uint64_t{1} << 20);
  if (e.bytes > limit)
    diags.push_back(Diagnostic{.pointer = e.largest,
                               .message = "scenario " + in_quotes(sc.name) + " needs an estimated " + format_bytes(e.bytes) +
                                          " for one run, more than --max-memory " + std::to_string(limits.max_memory_mib) + " MiB" +
                                          what()});
}

}  // namespace

const std::vector<std::string>& explore_property_names() {
  static const std::vector<std::string> n = [] {
    std::vector<std::string> p = metric_names();
    p.push_back("deadlock");
    p.push_back("step budget exceeded");
    return p;
  }();
  return n;
}

ScenarioFile parse_scenario_text(const std::string& text, const std::string& path, const LoadLimits& limits) {
  std::vector<Diagnostic> diags;
  std::optional<JsonPositions> pos;
  json doc;
  VmaTaker vmas;
  try {
    pos.emplace(text);
    doc = parse_json_document(text, &vmas);
  } catch (const json::parse_error& e) {
    Diagnostic dg{.file = path, .message = json_syntax_message(e.what())};
    const TextPos tp = syntax_error_pos(text, e.byte);
    dg.line = tp.line;
    dg.column = tp.column;
    throw ScenarioError({dg});
  }
  ScenarioFile f;
  f.path = path;
  add_duplicate_keys(*pos, path, diags);
  ObjReader root(doc, "", diags);
  std::string schema;
  root.str("$schema", schema);
  root.array(
      "scenarios",
      [&](const json& s, const std::string& p) { f.scenarios.push_back(read_scenario(s, p, f.scenarios.size(), vmas, diags)); }, true);
  root.finish();
  doc = json();  // everything is in the specs now; a large document's values go before validation
  // A value that could not be read was left at its default: checking it again would only
  // repeat the error at the same place.
  std::set<std::string> unreadable;
  for (size_t i = pos->duplicates().size(); i < diags.size(); ++i) unreadable.insert(diags[i].pointer);
  std::vector<Diagnostic> checks;
  validate(f, checks);
  for (auto& dg : checks)
    if (!unreadable.count(dg.pointer)) diags.push_back(std::move(dg));
  // Sizes last, and only for a file with nothing else wrong: an estimate of a scenario that does
  // not validate would be of something that cannot run.
  if (diags.empty())
    for (const ScenarioSpec& sc : f.scenarios) check_size(sc, limits, diags);
  // Every position the result and the messages need, found in one walk of the text.
  std::vector<std::string> pointers;
  for (const auto& sc : f.scenarios) {
    for (const auto& e : sc.schedule.entries) pointers.push_back(e.pointer);
    for (const auto& t : sc.threads) pointers.push_back(t.pointer);
  }
  for (const auto& dg : diags)
    if (!dg.line) pointers.push_back(dg.pointer);  // duplicate keys are placed already
  const std::vector<TextPos> places = pos->at(pointers);
  auto next = places.begin();
  for (auto& sc : f.scenarios) {
    for (auto& e : sc.schedule.entries) {
      e.line = next->line;
      e.column = next++->column;
    }
    for (auto& t : sc.threads) {
      t.line = next->line;
      t.column = next++->column;
    }
  }
  f.text = text;
  if (!diags.empty()) {
    for (auto& dg : diags) {
      dg.file = path;
      if (dg.line) continue;
      dg.line = next->line;
      dg.column = next++->column;
    }
    std::stable_sort(diags.begin(), diags.end(),
                     [](const Diagnostic& a, const Diagnostic& b) { return std::tie(a.line, a.column) < std::tie(b.line, b.column); });
    throw ScenarioError(std::move(diags));
  }
  return f;
}

ScenarioFile load_scenario_file(const std::string& path, const LoadLimits& limits) {
  return parse_scenario_text(read_input_file(path), path, limits);
}

}  // namespace tlbsim::scenarios
