// SPDX-License-Identifier: MIT
// The touches a translation or walk cache records are precise enough to be trusted: two cache
// operations whose touches do not conflict commute. Each case runs a random prefix, then two
// random operations in both orders, and where the explorer would call them independent checks
// that each returns the same, emits the same, and leaves a cache that behaves the same under a
// probe that reveals the entries and every set's LRU order (fills until everything is evicted).
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <string>
#include <tuple>
#include <vector>

#include "model/touch.h"
#include "model/translation_cache.h"
#include "model/walk_cache.h"
#include "scenarios/footprint.h"
#include "scenarios/rng.h"
#include "support/recording_sink.h"

namespace tlbsim {
namespace {

using scenarios::SplitMix64;
constexpr MmId kMm{3};

struct Op {
  enum Kind { Lookup, Fill, InvRange, InvTag, InvAll } kind = Lookup;
  uint32_t tag = 1;
  uint64_t a = 0, b = 0;  ///< address (lookup, fill) or range (invalidation)
  uint32_t pfn = 0;
  uint8_t level = 1;  ///< walk cache: 2..4; translation cache: 2 = huge
};

/// What one operation showed: its result and the events it emitted, in order.
using Shown = std::vector<std::string>;

std::string text(const Event& e) {
  return std::to_string(static_cast<int>(e.kind)) + "@" + std::to_string(e.va) + "-" + std::to_string(e.end) + ":" +
         std::to_string(e.pfn.value()) + "/" + std::to_string(e.tag);
}

/// A cache under test with the operations the kernel and hardware use.
struct Leaf {
  EventBus bus;
  test::Recorder rec;
  TranslationCache c{TranslationCacheConfig{.sets = 2, .ways = 2}, Holder{HolderKind::Iotlb, 0}, bus};
  Leaf() { bus.add_sink(&rec); }
  std::string apply(const Op& o) {
    switch (o.kind) {
      case Op::Lookup: {
        const CachedTranslation* e = c.lookup(o.tag, Vaddr{o.a});
        return e ? "hit " + std::to_string(e->pfn_for(o.a >> kPageShift).value()) : "miss";
      }
      case Op::Fill: c.fill(o.tag, kMm, Vaddr{o.a}, Pfn{o.pfn}, o.pfn % 2 == 0, o.level == 2, "fill"); return "";
      case Op::InvRange: return std::to_string(c.invalidate_range(o.tag, o.a, o.b, "inv"));
      case Op::InvTag: return std::to_string(c.invalidate_tag(o.tag, "inv"));
      case Op::InvAll: return std::to_string(c.invalidate_all("inv"));
    }
    return "?";
  }
  /// Fills of fresh addresses until every entry has been replaced: the evictions show which
  /// entries there were and in which LRU order each set gave them up.
  void probe() {
    for (uint64_t i = 0; i < 16; ++i) c.fill(9, kMm, Vaddr{(4096 + i) << kPageShift}, Pfn{900}, true, false, "probe");
  }
  static Op random_op(SplitMix64& rng) {
    Op o;
    o.kind = rng.below(10) < 4 ? Op::Fill : static_cast<Op::Kind>(rng.below(5));
    o.tag = 1 + static_cast<uint32_t>(rng.below(2));
    o.level = rng.below(6) == 0 ? 2 : 1;
    const uint64_t page = o.level == 2 ? 512 * rng.below(2) : rng.below(8) + (rng.below(4) == 0 ? 512 : 0);
    o.a = page << kPageShift;
    o.b = o.a + ((1 + rng.below(600)) << kPageShift);
    o.pfn = 10 + static_cast<uint32_t>(rng.below(6));
    return o;
  }
};

struct Walk {
  EventBus bus;
  test::Recorder rec;
  WalkCache c{3, Holder{HolderKind::IommuWalkCache, 0}, bus};
  Walk() { bus.add_sink(&rec); }
  std::string apply(const Op& o) {
    switch (o.kind) {
      case Op::Lookup: {
        const WalkCacheEntry* e = c.lookup(o.tag, o.a);
        return e ? "hit " + std::to_string(e->table.value()) + "@" + std::to_string(e->level) : "miss";
      }
      case Op::Fill: c.fill(o.tag, kMm, o.a, o.level, Pfn{o.pfn}, 1, "walk"); return "";
      case Op::InvRange: return std::to_string(c.invalidate_range(o.tag, o.a, o.b, "inv"));
      case Op::InvTag: return std::to_string(c.invalidate_tag(o.tag, "inv"));
      case Op::InvAll: return std::to_string(c.invalidate_all("inv"));
    }
    return "?";
  }
  void probe() {
    for (uint64_t i = 0; i < 6; ++i) c.fill(9, kMm, (uint64_t{64} + i) << 39, 4, Pfn{900}, 1, "probe");
  }
  static Op random_op(SplitMix64& rng) {
    Op o;
    o.kind = rng.below(10) < 4 ? Op::Fill : static_cast<Op::Kind>(rng.below(5));
    o.tag = 1 + static_cast<uint32_t>(rng.below(2));
    o.level = static_cast<uint8_t>(2 + rng.below(3));
    // Addresses in two 1 GiB regions of one 512 GiB region, so levels overlap and differ.
    o.a = (rng.below(2) << 30) | (rng.below(3) << 21) | (rng.below(4) << 12);
    o.b = o.a + (uint64_t{1} << (12 + 9 * rng.below(3)));
    o.pfn = 10 + static_cast<uint32_t>(rng.below(6));
    return o;
  }
};

template <class C>
struct Outcome {
  Shown first, second, probe;
  std::vector<Touch> t_first, t_second;
};

/// Runs `prefix`, then `x` and `y` in that order, then the probe.
template <class C>
Outcome<C> run(const std::vector<Op>& prefix, const Op& x, const Op& y) {
  C c;
  for (const Op& o : prefix) c.apply(o);
  Outcome<C> out;
  auto step = [&](const Op& o, Shown& shown, std::vector<Touch>& ts) {
    const size_t from = c.rec.events().size();
    {
      TouchScope scope(ts);
      shown.push_back(c.apply(o));
    }
    for (size_t i = from; i < c.rec.events().size(); ++i) shown.push_back(text(c.rec.events()[i]));
    c.c.check_invariants();
  };
  step(x, out.first, out.t_first);
  step(y, out.second, out.t_second);
  const size_t from = c.rec.events().size();
  c.probe();
  for (size_t i = from; i < c.rec.events().size(); ++i) out.probe.push_back(text(c.rec.events()[i]));
  return out;
}

bool independent(const std::vector<Touch>& a, const std::vector<Touch>& b) {
  const scenarios::StepActor kernel{};
  return !scenarios::dependent(scenarios::footprint({}, a, kernel), scenarios::footprint({}, b, kernel));
}

/// Checks every independent pair of `cases` random cases; returns how many pairs were independent.
template <class C>
int check_commute(uint64_t cases) {
  int independent_pairs = 0;
  for (uint64_t seed = 1; seed <= cases; ++seed) {
    SplitMix64 rng(seed);
    std::vector<Op> prefix(rng.below(12));
    for (Op& o : prefix) o = C::random_op(rng);
    const Op x = C::random_op(rng), y = C::random_op(rng);
    const Outcome<C> xy = run<C>(prefix, x, y);
    if (!independent(xy.t_first, xy.t_second)) continue;
    ++independent_pairs;
    const Outcome<C> yx = run<C>(prefix, y, x);
    INFO("seed " << seed << ": ops " << x.kind << " and " << y.kind << " after " << prefix.size() << " others");
    CHECK(xy.first == yx.second);
    CHECK(xy.second == yx.first);
    CHECK(xy.probe == yx.probe);
  }
  return independent_pairs;
}

}  // namespace

TEST_CASE("two translation-cache operations whose recorded touches do not conflict commute", "[model][touch]") {
  // Enough cases that hits, fills with and without eviction, and drops meet in one set.
  CHECK(check_commute<Leaf>(4000) > 500);
}

TEST_CASE("two walk-cache operations whose recorded touches do not conflict commute", "[model][touch]") {
  CHECK(check_commute<Walk>(4000) > 500);
}

}  // namespace tlbsim
