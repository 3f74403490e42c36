// SPDX-License-Identifier: MIT
#include "scenarios/detector.h"

#include <algorithm>
#include <functional>
#include <map>
#include <optional>
#include <span>
#include <tuple>
#include <unordered_map>

#include "model/outcome.h"
#include "model/page_table.h"
#include "model/pte.h"
#include "scenarios/runner.h"

namespace tlbsim::scenarios {

namespace {

struct HolderTag {
  Holder holder;
  uint32_t tag;
  auto operator<=>(const HolderTag&) const = default;
};

/// Leaf entries ordered by (mm, first page) so a PTE store finds the entries it affects.
using LeafKey = std::tuple<uint16_t, uint64_t, bool, HolderTag>;  // mm, vpn base, huge, holder
struct LeafEntry {
  Pfn pfn;
  bool writable;
  int window = -1;
};
using WalkKey = std::tuple<uint16_t, uint8_t, uint64_t, HolderTag>;  // mm, level, prefix, holder
struct WalkEntry {
  Pfn table;
  int window = -1;
};

struct Eff {
  bool present = false;
  Pfn pfn = kNoPfn;
  bool writable = false;
};

/// What a cached leaf entry grants beyond the page table: nothing, write permission to the
/// frame the PTE still maps, or a frame the PTE no longer maps there.
enum class Excess : uint8_t { None, Permission, Moved };

class Detector {
 public:
  /// `steps`: the run's steps in event order ([ev_begin, ev_end) each); empty when the log has
  /// no step structure, and then every event counts as a step of its own.
  DetectorResult run(const std::vector<Event>& events, std::span<const StepRecord> steps, std::span<const OpSpan> ops) {
    size_t next_step = 0;
    for (size_t i = 0; i < events.size(); ++i) {
      while (next_step < steps.size() && steps[next_step].ev_end <= i) ++next_step;
      const bool in_step = next_step < steps.size() && steps[next_step].ev_begin <= i;
      // Events outside every step (the setup) each get an id of their own.
      m_step = in_step ? next_step : steps.size() + i;
      if (i == 0 || (!steps.empty() && i < steps.front().ev_begin)) m_setup_actor = events[i].actor;
      m_event = &events[i];
      on(events[i]);
    }
    for (Window& w : m_r.windows)
      if (!w.close.valid()) w.open_at_end = true;
    if (!events.empty()) {
      m_r.end_seq = events.back().seq.value() + 1;
      m_r.end_ns = events.back().time_ns;
    }
    if (!steps.empty()) judge_after_return(events, steps, ops);
    for (Finding& f : m_r.findings)
      if (const OpSpan* o = op_of(ops, f.at.actor, f.at.seq.value())) {
        f.thread = o->thread;
        f.op = o->op;
      }
    // Transient windows leave the list (window ids are not used past this point).
    std::vector<Window> kept;
    kept.reserve(m_r.windows.size());
    for (size_t id = 0; id < m_r.windows.size(); ++id) {
      if (m_transient[id])
        ++m_r.transient;
      else
        kept.push_back(std::move(m_r.windows[id]));
    }
    m_r.windows = std::move(kept);
    return std::move(m_r);
  }

 private:
  /// The op `actor` was running when it emitted event `seq`, or null (the setup, no ops). An
  /// actor runs one op at a time, so its spans are disjoint and in order of beginning: the one
  /// that began last at or before `seq`, if it had not ended by then. (Indexed once per run: a
  /// recorded program has tens of thousands of ops and as many windows.)
  const OpSpan* op_of(std::span<const OpSpan> ops, uint16_t actor, uint64_t seq) {
    if (m_ops_by_actor.empty())
      for (const OpSpan& o : ops) m_ops_by_actor[o.actor].push_back(&o);
    const auto it = m_ops_by_actor.find(actor);
    if (it == m_ops_by_actor.end()) return nullptr;
    const std::vector<const OpSpan*>& spans = it->second;
    auto after = std::upper_bound(spans.begin(), spans.end(), seq, [](uint64_t q, const OpSpan* o) { return q < o->begin; });
    if (after == spans.begin()) return nullptr;
    const OpSpan* o = *std::prev(after);
    return (o->end == 0 || seq < o->end) ? o : nullptr;
  }

  /// Which op made each window's entry stale, and whether the window was still open when that op
  /// returned (docs/detector.md, "After the operation returned"). The setup counts as an op that
  /// returned when the first step began.
  void judge_after_return(const std::vector<Event>& events, std::span<const StepRecord> steps, std::span<const OpSpan> ops) {
    const uint64_t setup_end = steps.front().ev_begin < events.size() ? events[steps.front().ev_begin].seq.value() : m_r.end_seq;
    for (size_t id = 0; id < m_r.windows.size(); ++id) {
      Window& w = m_r.windows[id];
      const Cause c = m_cause[id];
      if (c.seq == 0) continue;
      uint64_t ret = 0;
      if (c.seq < setup_end && c.actor == m_setup_actor) {
        ret = setup_end;
      } else {
        if (const OpSpan* o = op_of(ops, c.actor, c.seq)) {
          w.opener_thread = o->thread;
          w.opener_op = o->op;
          ret = o->end;
        }
      }
      if (ret == 0) continue;  // no op, or it had not returned when the run ended
      const auto at = std::lower_bound(events.begin(), events.end(), ret, [](const Event& e, uint64_t q) { return e.seq.value() < q; });
      if (at != events.end()) w.returned = ref(*at);
      w.after_return = !w.close.valid() || w.close.seq.value() >= ret;
      for (WindowAccess& a : w.accesses) a.after_return = a.at.seq.value() >= ret;
    }
  }

  static EventRef ref(const Event& e) { return EventRef{e.seq, e.time_ns, e.actor, e.func}; }
  static uint64_t pte_key(uint16_t mm, unsigned level, uint64_t va) {
    return (uint64_t{mm} << 48) | (uint64_t{level} << 44) | ((va >> level_shift(level)) & ((uint64_t{1} << 44) - 1));
  }
  /// The mirror of the page tables is kept by table page and index (a PteStore's pfn and aux),
  /// and read by walking down from the mm's PGD, as the hardware does: a PTE table that
  /// move_normal_pmd() hands to another PMD entry is found at its new address with its entries,
  /// init_mm's tables are reached through the PGD entries every mm shares, and a table page
  /// that is freed starts empty when it is used again.
  static uint64_t slot_key(uint32_t table, uint32_t index) { return (uint64_t{table} << 9) | (index & 511); }
  /// The entry at `level` for `va` in the table page `table`.
  Pte entry(uint32_t table, unsigned level, uint64_t va) const {
    auto it = m_entry.find(slot_key(table, table_index(va, level)));
    return it == m_entry.end() ? Pte{} : Pte{it->second};
  }
  /// The mm's PGD page, if a level-4 entry of it has been stored.
  std::optional<uint32_t> root_of(uint16_t mm) const {
    auto root = m_root.find(mm);
    if (root == m_root.end()) return std::nullopt;
    return root->second;
  }
  void forget_table(Pfn table) {
    for (uint32_t i = 0; i < 512; ++i) {
      m_entry.erase(slot_key(table.value(), i));
      unmap_slot(slot_key(table.value(), i));
    }
  }
  /// Which frames each mm maps, anywhere: a leaf entry's slot and what it maps (for maps_anywhere()).
  struct SlotMapping {
    uint16_t mm;
    uint32_t pfn;
    bool huge;  ///< a PMD leaf: 512 frames from pfn
  };
  void unmap_slot(uint64_t slot) {
    const auto it = m_slot_maps.find(slot);
    if (it == m_slot_maps.end()) return;
    const SlotMapping m = it->second;
    m_slot_maps.erase(it);
    auto& counts = m.huge ? m_mapped_huge : m_mapped;
    const auto c = counts.find({m.mm, m.pfn});
    if (c != counts.end() && --c->second == 0) counts.erase(c);
  }
  /// A store of `raw` at level `level` into `slot` by `mm`: what the slot mapped goes, what it maps now comes.
  void map_slot(uint64_t slot, uint16_t mm, unsigned level, uint64_t raw) {
    unmap_slot(slot);
    const Pte p{raw};
    if (!p.present() || !(level == 1 || (level == 2 && p.huge()))) return;
    const SlotMapping m{mm, p.pfn().value(), level == 2};
    m_slot_maps[slot] = m;
    ++(m.huge ? m_mapped_huge : m_mapped)[{m.mm, m.pfn}];
  }
  /// `mm` maps frame `pfn` at some address (a PTE, or a PMD leaf covering it).
  bool maps_anywhere(uint16_t mm, uint32_t pfn) const {
    if (m_mapped.contains({mm, pfn})) return true;
    auto it = m_mapped_huge.upper_bound({mm, pfn});
    if (it == m_mapped_huge.begin()) return false;
    --it;
    return it->first.first == mm && pfn < it->first.second + kPtrsPerTable;
  }
  /// The page a hardware walk for `va` reaches, reading each level once: a PTE, or a PMD leaf
  /// (a huge entry higher up maps nothing the model keeps).
  Eff eff_leaf(uint16_t mm, uint64_t va) const {
    const std::optional<uint32_t> root = root_of(mm);
    if (!root) return {};
    uint32_t table = *root;
    for (unsigned l = 4;; --l) {
      const Pte e = entry(table, l, va);
      if (!e.present()) return {};
      if (l == 1 || (l == 2 && e.huge())) {
        const Pfn p = l == 2 ? Pfn{e.pfn().value() + uint32_t((va >> kPageShift) & 511)} : e.pfn();
        return Eff{true, p, e.writable()};
      }
      if (e.huge()) return {};
      table = e.pfn().value();
    }
  }
  /// A write by `mm` at `va` through a stale entry to frame `pfn` is lost: the frame's contents
  /// were copied away, by `mm` itself for that page (its COW break: the copy is made before its
  /// PTE moves to it, __wp_page_copy_user() then the clear in wp_page_copy(), so a write in
  /// between is lost too), or by anyone while `mm` maps the frame nowhere (migration, swap-out:
  /// its PTE points at the copy or a swap entry). A copy another mm made for itself (a fork child
  /// breaking COW), or `mm` made for another of its pages (do_cow_fault() of a shared file page
  /// at another address), leaves the write where `mm` sees it as long as `mm` maps the frame, at
  /// that address or another (mremap moved it). Whenever the copy was made: what decides is only
  /// the copy, the write, and what `mm` maps at the write, which the explorer orders (a copy and a
  /// write access both write the frame; a store mapping or unmapping it reads the frame).
  bool copied_away(uint32_t pfn, uint16_t mm, uint64_t va) const {
    const auto it = m_copied.find(pfn);
    if (it == m_copied.end()) return false;
    for (const Copied& c : it->second)
      if (c.mm == mm && c.vpn == (va >> kPageShift)) return true;
    return !maps_anywhere(mm, pfn);
  }
  /// The entry a walk cache would have read at `level` for `va`, via the current upper levels.
  Eff eff_entry(uint16_t mm, unsigned level, uint64_t va) const {
    const std::optional<uint32_t> root = root_of(mm);
    if (!root) return {};
    uint32_t table = *root;
    for (unsigned l = 4;; --l) {
      const Pte e = entry(table, l, va);
      if (!e.present() || e.huge()) return {};
      if (l == level) return Eff{true, e.pfn(), true};
      table = e.pfn().value();
    }
  }

  int open_window(Window w) {
    m_r.windows.push_back(std::move(w));
    m_open_step.push_back(m_step);
    m_transient.push_back(false);
    m_cause.push_back(cause_of(*m_event));
    const int id = static_cast<int>(m_r.windows.size() - 1);
    Window& x = m_r.windows.back();
    m_freed_frames.emplace_back();
    const uint32_t n = x.walk ? 1 : (x.level == 2 ? 512 : 1);
    for (uint32_t i = 0; i < n; ++i) {
      const uint32_t p = x.pfn.value() + i;
      m_frame_windows[p].push_back(id);
      // Opened on a frame already free (a fill from a stale source: an ATC entry from an IOTLB
      // entry the free left behind): freed from the start, and reused if the frame is
      // allocated again while the window is open, as if it had been freed under the window.
      if (const EventRef f = free_event(p); f.valid()) {
        m_freed_frames.back().push_back(p);
        if (!x.freed.valid()) x.freed = f;
      }
    }
    if (!m_freed_frames.back().empty()) x.cls = x.walk ? WindowClass::TableFreed : WindowClass::Freed;
    return id;
  }

  /// The FrameFree that freed `pfn`, if the frame is free now; an invalid ref if it is not.
  EventRef free_event(uint32_t pfn) const {
    const auto it = m_free.find(pfn);
    return it == m_free.end() ? EventRef{} : it->second;
  }
  /// `pfn` was freed while window `id` was open, or was free when it opened: an access to it
  /// through the window once it is allocated again reaches another owner's page. Per frame,
  /// since a huge entry's window covers 512 frames and a free of one says nothing of the others.
  bool freed_under(int id, uint32_t pfn) const {
    const std::vector<uint32_t>& v = m_freed_frames[static_cast<size_t>(id)];
    return std::find(v.begin(), v.end(), pfn) != v.end();
  }

  void close_window(int id, const Event& e) {
    Window& w = m_r.windows[id];
    w.close = ref(e);
    // Opened and closed by one step, which no other thread can interleave, and nothing went
    // through the entry in between: in no schedule could anything have used it.
    m_transient[id] = m_open_step[id] == m_step && w.accesses.empty();
    const uint32_t n = w.walk ? 1 : (w.level == 2 ? 512 : 1);
    for (uint32_t i = 0; i < n; ++i) {
      auto& v = m_frame_windows[w.pfn.value() + i];
      std::erase(v, id);
    }
  }

  /// What the entry grants beyond the effective PTE of its page at `va`.
  Excess excess_at(uint16_t mm, uint64_t vpn, bool huge, const LeafEntry& le, uint64_t va) const {
    const Eff eff = eff_leaf(mm, va);
    const Pfn mine = huge ? Pfn{le.pfn.value() + uint32_t((va >> kPageShift) - vpn)} : le.pfn;
    if (!eff.present || eff.pfn != mine) return Excess::Moved;
    return le.writable && !eff.writable ? Excess::Permission : Excess::None;
  }
  /// The most the entry grants beyond any of its pages' effective PTEs (a huge entry has 512).
  Excess excess_all(uint16_t mm, uint64_t vpn, bool huge, const LeafEntry& le) const {
    Excess worst = Excess::None;
    for (uint64_t i = 0; i < (huge ? kPtrsPerTable : 1) && worst != Excess::Moved; ++i)
      worst = std::max(worst, excess_at(mm, vpn, huge, le, (vpn + i) << kPageShift));
    return worst;
  }

  /// A store changed the PTE under an entry whose window is open: the page table may grant
  /// again what the entry holds (the window closes, restored: ptep_modify_prot_start() then
  /// _commit() with the same frame and permission), or it may now grant less in another way,
  /// and the class becomes the worse of the two (a transient clear followed by a read-only
  /// commit is a permission window, not a stale one). A class never goes back.
  void recheck_leaf(const LeafKey& k, LeafEntry& le, const Event& cause) {
    const auto& [mm, vpn, huge, ht] = k;
    const Excess x = excess_all(mm, vpn, huge, le);
    Window& w = m_r.windows[le.window];
    if (x == Excess::None) {
      w.restored = true;
      close_window(le.window, cause);
      le.window = -1;
      return;
    }
    const WindowClass c = x == Excess::Moved ? WindowClass::Stale : WindowClass::Permission;
    if (severity(c) > severity(w.cls)) w.cls = c;
  }

  /// What opened a window, built only when one opens (a PTE store's description is text work
  /// on every store otherwise).
  using What = std::function<std::string()>;

  void check_leaf(const LeafKey& k, LeafEntry& le, uint64_t va, const Event& cause, const What& what) {
    if (le.window >= 0) {
      recheck_leaf(k, le, cause);
      return;
    }
    const auto& [mm, vpn, huge, ht] = k;
    if (va < (vpn << kPageShift) || va >= (vpn << kPageShift) + (huge ? kPmdSize : kPageSize)) va = vpn << kPageShift;
    // A huge entry grants all 512 of its pages: a fill from a stale source, or a store to an
    // upper entry, may leave any one of them unmapped, not only the page at `va`. A store to one
    // PTE under it changes only that page, which is then the one to look at.
    const bool one_page = !huge || (cause.kind == EventKind::PteStore && cause.level == 1);
    const Excess x = one_page ? excess_at(mm, vpn, huge, le, va) : excess_all(mm, vpn, huge, le);
    if (x == Excess::None) return;
    Window w;
    w.holder = ht.holder;
    w.tag = ht.tag;
    w.mm = MmId{mm};
    w.va = vpn << kPageShift;
    w.size = huge ? kPmdSize : kPageSize;
    w.level = huge ? 2 : 1;
    w.pfn = le.pfn;
    w.writable = le.writable;
    w.cls = x == Excess::Moved ? WindowClass::Stale : WindowClass::Permission;
    w.open = ref(cause);
    w.open_what = what();
    le.window = open_window(std::move(w));
  }

  void check_walk(const WalkKey& k, WalkEntry& we, const Event& cause, const What& what) {
    const auto& [mm, level, prefix, ht] = k;
    const uint64_t va = prefix << level_shift(level);
    const Eff eff = eff_entry(mm, level, va);
    const bool same = eff.present && eff.pfn == we.table;
    if (we.window >= 0) {
      // The upper entries point at the cached table again: the window closes, restored.
      if (same) {
        m_r.windows[we.window].restored = true;
        close_window(we.window, cause);
        we.window = -1;
      }
      return;
    }
    if (same) return;
    Window w;
    w.holder = ht.holder;
    w.tag = ht.tag;
    w.mm = MmId{mm};
    w.va = va;
    w.size = uint64_t{1} << level_shift(level);
    w.level = level;
    w.walk = true;
    w.pfn = we.table;
    w.cls = WindowClass::Stale;
    w.open = ref(cause);
    w.open_what = what();
    we.window = open_window(std::move(w));
  }

  void on_pte_store(const Event& e) {
    const uint16_t mm = e.mm.value();
    m_entry[slot_key(e.pfn.value(), e.aux)] = e.new_val;
    map_slot(slot_key(e.pfn.value(), e.aux), mm, e.level, e.new_val);
    if (e.level == 4) m_root[mm] = e.pfn.value();
    if (std::string_view(e.func) != "hardware A/D update") note_store(e);
    static const char* const names[] = {"", "PTE", "PMD entry", "PUD entry", "PGD entry"};
    auto entry = [&](uint64_t raw) {
      const Pte p{raw};
      return (e.level >= 2 && p.present() && !p.huge()) ? "table pfn " + std::to_string(p.pfn().value()) : describe_pte(p);
    };
    const What what = [&] {
      return std::string(names[e.level & 7 ? std::min<int>(e.level, 4) : 0]) + " " + hex(e.va) + ": " + entry(e.old_val) + " -> " +
             entry(e.new_val);
    };
    const uint64_t lo = e.va >> kPageShift, hi = e.end >> kPageShift;
    // Leaf entries whose pages intersect the store's span (huge entries start up to 511 pages
    // before; with none cached, no entry before the span can reach into it).
    const uint64_t from = m_huge_leaves == 0 ? lo : lo >= 511 ? lo - 511 : 0;
    for (auto it = m_leaf.lower_bound(LeafKey{mm, from, false, HolderTag{}}); it != m_leaf.end(); ++it) {
      const auto& [kmm, vpn, huge, ht] = it->first;
      if (kmm != mm || vpn >= hi) break;
      if (vpn + (huge ? 512 : 1) <= lo) continue;
      check_leaf(it->first, it->second, e.va, e, what);
    }
    // Walk-cache entries of this mm at the store's level or below whose span meets the store's
    // (level 1 up: a walk-cache entry caches a table pointer, level_shift() starts at 1).
    if (e.level >= 2 && e.end <= e.va) {
      for (auto& [k, we] : m_walk) {  // an empty span (never emitted): the plain scan
        const auto& [kmm, level, prefix, ht] = k;
        if (kmm != mm || level > e.level) continue;
        const uint64_t s = prefix << level_shift(level), t = s + (uint64_t{1} << level_shift(level));
        if (s < e.end && e.va < t) check_walk(k, we, e, what);
      }
    } else if (e.level >= 2) {
      for (uint8_t lv = 1; lv <= e.level; ++lv) {
        const uint64_t first = e.va >> level_shift(lv), last = (e.end - 1) >> level_shift(lv);
        for (auto it = m_walk.lower_bound(WalkKey{mm, lv, first, HolderTag{}}); it != m_walk.end(); ++it) {
          const auto& [kmm, level, prefix, ht] = it->first;
          if (kmm != mm || level != lv || prefix > last) break;
          check_walk(it->first, it->second, e, what);
        }
      }
    }
  }

  LeafKey leaf_key(const Event& e) const {
    const bool huge = e.flags & kEvHuge;
    return LeafKey{e.mm.value(), e.va >> kPageShift, huge, HolderTag{e.holder, e.tag}};
  }
  WalkKey walk_key(const Event& e) const {
    return WalkKey{e.mm.value(), e.level, e.va >> level_shift(e.level), HolderTag{e.holder, e.tag}};
  }

  const LeafEntry* find_leaf(uint16_t mm, uint64_t va, HolderTag ht, LeafKey* key_out = nullptr) const {
    const uint64_t vpn = va >> kPageShift;
    for (auto k : {LeafKey{mm, vpn, false, ht}, LeafKey{mm, vpn & ~uint64_t{511}, true, ht}}) {
      auto it = m_leaf.find(k);
      if (it != m_leaf.end()) {
        if (key_out) *key_out = k;
        return &it->second;
      }
    }
    return nullptr;
  }

  void add_finding(const std::string& kind, const Event& e, uint64_t va, Pfn pfn, const std::string& text) {
    m_r.findings.push_back(Finding{kind, e.holder, ref(e), va, pfn, text});
  }

  /// The open window of the cached entry an access went through, if it used what the window is
  /// about, or -1. A leaf entry: the access reached a frame its page no longer maps (or a free
  /// one), or wrote where the page is now read-only; a read through a permission window, or an
  /// access to a page of a 2 MiB entry that its PTE still maps, is one the page table allows.
  /// A walk-cache entry: the walk resumed from it (its level is in the event) while it pointed
  /// at a table its upper entry no longer holds.
  int window_used(const Event& e) const {
    const bool write = e.flags & kEvWrite;
    const HolderTag ht{e.holder, e.tag};
    if (e.holder.is_walk_cache()) {
      // A walk the walker reported as a StaleTableWalk event (level 0) was judged there.
      if (e.level == 0) return -1;
      const uint16_t mm = is_kernel_half(e.va) ? kInitMm.value() : e.mm.value();
      const auto it = m_walk.find(WalkKey{mm, e.level, e.va >> level_shift(e.level), ht});
      return it == m_walk.end() ? -1 : it->second.window;
    }
    LeafKey k;
    const LeafEntry* le = find_leaf(e.mm.value(), e.va, ht, &k);
    if (!le || le->window < 0) return -1;
    const auto& [mm, vpn, huge, kht] = k;
    const Excess x = excess_at(mm, vpn, huge, *le, e.va);
    const bool used = x == Excess::Moved || (x == Excess::Permission && write);
    // An access to a free frame is a use-after-free whatever the page table says.
    return used || free_event(e.pfn.value()).valid() ? le->window : -1;
  }

  void on_access(const Event& e) {
    if (e.holder.kind == HolderKind::None) return;
    const int id = window_used(e);
    if (id < 0) return;
    Window& w = m_r.windows[id];
    const bool write = e.flags & kEvWrite;
    WindowAccess a{ref(e), write, e.va, e.pfn, {}};
    const uint32_t p = e.pfn.value();
    const std::string rw = write ? "write" : "read";
    if (free_event(p).valid()) {
      a.finding = "use-after-free " + rw;
      add_finding("use-after-free", e, e.va, e.pfn, rw + " of freed pfn " + std::to_string(p) + " through " + to_string(e.holder));
    } else if (freed_under(id, p)) {
      a.finding = "foreign " + rw;
      add_finding("use-after-free", e, e.va, e.pfn,
                  rw + " of pfn " + std::to_string(p) + ", reallocated to another owner, through " + to_string(e.holder));
    } else if (write && copied_away(p, e.mm.value(), e.va)) {
      a.finding = "lost write";
      add_finding("lost-write", e, e.va, e.pfn,
                  "write to pfn " + std::to_string(p) + " after its contents were copied away, through " + to_string(e.holder));
    }
    w.accesses.push_back(std::move(a));
  }

  void on_stale_table_walk(const Event& e) {
    const WalkKey k{e.mm.value(), e.level, e.va >> level_shift(e.level), HolderTag{e.holder, e.tag}};
    auto it = m_walk.find(k);
    // The entry's window closed, restored: its upper entry points at the cached table again (the
    // page, freed, came back as the same live table), so the walk read what the page table holds.
    if (it != m_walk.end() && it->second.window < 0) return;
    add_finding("use-after-free", e, e.va, e.pfn,
                to_string(e.holder) + " walked page-table pfn " + std::to_string(e.pfn.value()) + " (" + e.note + ")");
    if (it == m_walk.end() || it->second.window < 0) return;
    Window& w = m_r.windows[it->second.window];
    w.accesses.push_back(WindowAccess{ref(e), false, e.va, e.pfn, "walk through " + e.note});
  }

  void on(const Event& e) {
    switch (e.kind) {
      case EventKind::PteStore: on_pte_store(e); break;
      case EventKind::Fill: {
        const LeafKey k = leaf_key(e);
        if (std::get<2>(k) && !m_leaf.contains(k)) ++m_huge_leaves;
        auto& le = m_leaf[k] = LeafEntry{e.pfn, bool(e.flags & kEvWrite), -1};
        check_leaf(k, le, e.va, e, [] { return std::string("filled with a translation its PTE no longer allows"); });
        break;
      }
      case EventKind::WalkFill: {
        const WalkKey k = walk_key(e);
        auto& we = m_walk[k] = WalkEntry{e.pfn, -1};
        check_walk(k, we, e, [] { return std::string("filled with a table pointer its upper entry no longer holds"); });
        break;
      }
      case EventKind::Drop:
      case EventKind::Evict:
        if (e.holder.is_walk_cache()) {
          auto it = m_walk.find(walk_key(e));
          if (it == m_walk.end()) break;
          if (it->second.window >= 0) close_window(it->second.window, e);
          m_walk.erase(it);
        } else {
          auto it = m_leaf.find(leaf_key(e));
          if (it == m_leaf.end()) break;
          if (it->second.window >= 0) close_window(it->second.window, e);
          if (std::get<2>(it->first)) --m_huge_leaves;
          m_leaf.erase(it);
        }
        break;
      case EventKind::FrameFree: {
        if (e.flags & kEvTable) forget_table(e.pfn);
        m_free[e.pfn.value()] = ref(e);
        auto it = m_frame_windows.find(e.pfn.value());
        if (it == m_frame_windows.end()) break;
        for (int id : it->second) {
          Window& w = m_r.windows[id];
          const WindowClass c = w.walk ? WindowClass::TableFreed : WindowClass::Freed;
          if (severity(c) > severity(w.cls)) w.cls = c;
          if (!w.freed.valid()) w.freed = ref(e);
          if (!freed_under(id, e.pfn.value())) m_freed_frames[static_cast<size_t>(id)].push_back(e.pfn.value());
        }
        break;
      }
      case EventKind::FrameAlloc: {
        m_free.erase(e.pfn.value());
        auto it = m_frame_windows.find(e.pfn.value());
        if (it == m_frame_windows.end()) break;
        for (int id : it->second) {
          Window& w = m_r.windows[id];
          if (!freed_under(id, e.pfn.value())) continue;
          if (w.cls == WindowClass::Freed) w.cls = WindowClass::Reused;
          if (!w.reused.valid()) w.reused = ref(e);
        }
        break;
      }
      case EventKind::Access: on_access(e); break;
      case EventKind::StaleTableWalk: on_stale_table_walk(e); break;
      case EventKind::Copy: m_copied[e.pfn.value()].push_back(Copied{e.mm.value(), e.va >> kPageShift}); break;
      case EventKind::Fault:
        if (e.flags & kEvGaveUp)
          add_finding(std::string(metric_info(Metric::Livelocks).finding), e, e.va, kNoPfn, std::string(e.func) + ": " + e.note);
        break;
      case EventKind::SyscallError:
        add_finding(std::string(metric_info(Metric::Errors).finding), e, e.va, kNoPfn,
                    std::string(e.func) + " returned -" + std::string(to_string(Errno{static_cast<uint16_t>(e.new_val)})));
        m_r.findings.back().code = e.new_val;
        break;
      case EventKind::Signal:
        add_finding(std::string(metric_info(Metric::Signals).finding), e, e.va, kNoPfn,
                    std::string(to_string(Signal{static_cast<uint16_t>(e.new_val)})) + " at " + hex(e.va));
        m_r.findings.back().code = e.new_val;
        break;
      case EventKind::FaultRejected:
        add_finding(std::string(metric_info(Metric::FaultRejects).finding), e, e.va, kNoPfn,
                    "dev" + std::to_string(e.aux) + "'s page request at " + hex(e.va) + " failed in " + e.func +
                        (e.note.empty() ? "" : " (" + e.note + ")"));
        break;
      default: break;
    }
  }

  /// The store that made a window's entry stale: its actor and sequence number (0: unknown).
  struct Cause {
    uint16_t actor = 0;
    uint64_t seq = 0;
  };
  /// What a kernel store took away, for cause_of(): the frame (and, for a leaf, its write
  /// permission) its entry no longer grants, or the table it no longer points at.
  struct Took {
    uint64_t pte;  ///< pte_key()
    uint32_t pfn;
    bool write;
    bool operator==(const Took&) const = default;
  };
  struct TookHash {
    size_t operator()(const Took& t) const {
      return std::hash<uint64_t>{}(t.pte ^ ((uint64_t{t.pfn} << 1 | t.write) * 0x9e3779b97f4a7c15ULL));
    }
  };
  void note_store(const Event& e) {
    const uint64_t k = pte_key(e.mm.value(), e.level, e.va);
    const Cause c{e.actor, e.seq.value()};
    m_last_store[k] = c;
    const Pte old{e.old_val}, now{e.new_val};
    if (!old.present()) return;
    const bool frame_kept = now.present() && now.pfn() == old.pfn() && now.huge() == old.huge();
    if (!frame_kept) {
      m_took[Took{k, old.pfn().value(), false}] = c;
      m_took_path[k] = c;
    }
    const bool leaf = e.level == 1 || old.huge();
    if (leaf && old.writable() && !(frame_kept && now.writable())) m_took[Took{k, old.pfn().value(), true}] = c;
  }
  /// The latest store whose old entry at `level` for `va` granted (`pfn`, `write`) and whose new
  /// one does not.
  void took(Cause& c, uint16_t mm, unsigned level, uint64_t va, uint32_t pfn, bool write) const {
    const auto it = m_took.find(Took{pte_key(mm, level, va), pfn, write});
    if (it != m_took.end() && it->second.seq > c.seq) c = it->second;
  }
  /// The latest store that removed or replaced the entry at `level` for `va`.
  void took_path(Cause& c, uint16_t mm, unsigned level, uint64_t va) const {
    const auto it = m_took_path.find(pte_key(mm, level, va));
    if (it != m_took_path.end() && it->second.seq > c.seq) c = it->second;
  }

  Cause cause_of(const Event& e) const {
    if (e.kind == EventKind::PteStore) return Cause{e.actor, e.seq.value()};
    // A fill from a stale source: the store that took away what the entry holds. For a leaf
    // entry, the latest PTE (or PMD leaf) store whose old value granted the entry's frame (with
    // write, if the entry is writable) and whose new value does not, at any of its pages; or
    // the latest store that removed or replaced an entry above it on the walk. For a walk-cache
    // entry, the latest store that took its table pointer away, or an entry above it. Not
    // merely the latest store there: another op may have mapped the address again since (the
    // first op's munmap, then a second thread's mmap and fault, then the fill from the IOTLB
    // entry the munmap left). Without such a store, the latest store on the walk.
    Cause c;
    const uint16_t mm = e.mm.value();
    const bool walk = e.kind == EventKind::WalkFill;
    const bool huge = e.flags & kEvHuge;
    const bool write = e.flags & kEvWrite;
    if (walk) {
      took(c, mm, e.level, e.va, e.pfn.value(), false);
      for (unsigned l = e.level + 1u; l <= 4; ++l) took_path(c, mm, l, e.va);
    } else {
      // Above the entry: from level 3 for a 2 MiB entry, whose own PMD leaf is judged by what it
      // mapped (a later PMD store there may remove another frame), from level 2 for a PTE.
      for (unsigned l = huge ? 3 : 2; l <= 4; ++l) took_path(c, mm, l, e.va);
      if (huge) took(c, mm, 2, e.va, e.pfn.value(), write);
      for (uint64_t i = 0; i < (huge ? kPtrsPerTable : 1); ++i)
        took(c, mm, 1, e.va + i * kPageSize, e.pfn.value() + static_cast<uint32_t>(i), write);
    }
    if (c.seq != 0) return c;
    auto latest = [&](unsigned l, uint64_t va) {
      auto it = m_last_store.find(pte_key(e.mm.value(), l, va));
      if (it != m_last_store.end() && it->second.seq > c.seq) c = it->second;
    };
    for (unsigned l = walk ? e.level : 2; l <= 4; ++l) latest(l, e.va);
    // A 2 MiB entry is stale when any of its pages is: the PTE stores of all 512 count.
    if (!walk)
      for (uint64_t i = 0; i < (huge ? kPtrsPerTable : 1); ++i) latest(1, e.va + i * kPageSize);
    return c;
  }

  DetectorResult m_r;
  uint16_t m_setup_actor = 0;
  const Event* m_event = nullptr;                    ///< the event being judged
  std::vector<Cause> m_cause;                        ///< by window id
  std::unordered_map<uint64_t, Cause> m_last_store;  ///< pte_key -> the latest kernel store there
  std::unordered_map<Took, Cause, TookHash> m_took;  ///< the latest store that took that frame (or write) away there
  std::unordered_map<uint64_t, Cause> m_took_path;   ///< pte_key -> the latest store that removed or replaced the entry there
  uint64_t m_step = 0;                               ///< the step the current event belongs to
  std::vector<uint64_t> m_open_step;                 ///< by window id: the step that opened it
  std::vector<bool> m_transient;                     ///< by window id
  std::unordered_map<uint64_t, uint64_t> m_entry;    ///< slot_key(table pfn, index) -> the entry's raw value
  std::unordered_map<uint16_t, uint32_t> m_root;     ///< mm -> its PGD's pfn (from its level-4 stores)
  std::unordered_map<uint16_t, std::vector<const OpSpan*>> m_ops_by_actor;  ///< op_of()'s index
  std::map<LeafKey, LeafEntry> m_leaf;
  size_t m_huge_leaves = 0;  ///< keys of m_leaf for huge entries
  std::map<WalkKey, WalkEntry> m_walk;
  std::unordered_map<uint32_t, std::vector<int>> m_frame_windows;  ///< frame -> the open windows that cover it
  std::vector<std::vector<uint32_t>> m_freed_frames;               ///< by window id: see freed_under()
  std::unordered_map<uint32_t, EventRef> m_free;                   ///< frame -> the FrameFree that freed it, while it is free
  struct Copied {
    uint16_t mm;   ///< the mm the copy was made for (kNoMm: a migration)
    uint64_t vpn;  ///< the page it was made for
  };
  std::unordered_map<uint64_t, SlotMapping> m_slot_maps;            ///< slot_key -> the leaf entry there
  std::map<std::pair<uint16_t, uint32_t>, uint32_t> m_mapped;       ///< (mm, frame) -> PTEs mapping it
  std::map<std::pair<uint16_t, uint32_t>, uint32_t> m_mapped_huge;  ///< (mm, first frame) -> PMD leaves mapping 512 from it
  std::unordered_map<uint32_t, std::vector<Copied>> m_copied;       ///< frame -> each copy of it
};

}  // namespace

uint64_t DetectorResult::metric(const std::string& name) const {
  const std::optional<QualifiedMetric> q = parse_metric(name);
  if (!q) return 0;
  const MetricInfo* m = q->info;
  auto on_side = [&](Holder h) { return q->side == HolderSide::Any || (q->side == HolderSide::Device) == h.is_device_side(); };
  uint64_t n = 0;
  if (m->metric == Metric::Transient) return transient;
  for (const auto& w : windows) {
    if (!on_side(w.holder)) continue;
    switch (m->metric) {
      case Metric::Windows: ++n; break;
      case Metric::Observed: n += w.observed(); break;
      case Metric::AfterReturn: n += w.after_return; break;
      case Metric::UsedAfterReturn:
        for (const auto& a : w.accesses) n += a.after_return;
        break;
      default: n += m->window_class && w.cls == *m->window_class; break;
    }
  }
  if (!m->finding.empty())
    for (const auto& f : findings) n += f.kind == m->finding && on_side(f.holder);
  return n;
}

int DetectorResult::worst() const {
  int best = -1;
  for (int i = 0; i < static_cast<int>(windows.size()); ++i) {
    const Window& w = windows[i];
    if (best < 0) {
      best = i;
      continue;
    }
    const Window& b = windows[best];
    auto key = [&](const Window& x) {
      const bool used_after_return =
          std::any_of(x.accesses.begin(), x.accesses.end(), [](const WindowAccess& a) { return a.after_return; });
      return std::make_tuple(used_after_return, x.observed(), x.after_return, severity(x.cls), x.duration_ns(end_ns),
                             x.duration_events(end_seq));
    };
    if (key(w) > key(b)) best = i;
  }
  return best;
}

DetectorResult detect(const std::vector<Event>& events) { return Detector{}.run(events, {}, {}); }

DetectorResult detect(const RunResult& run) { return Detector{}.run(run.events, run.trace, run.ops); }

}  // namespace tlbsim::scenarios
