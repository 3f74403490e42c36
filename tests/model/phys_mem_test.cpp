// SPDX-License-Identifier: MIT
// PhysMem: alloc_pages()/__free_pages(), generations, reuse order, and what a stale walker sees
// in a freed page-table page.
#include <catch2/catch.hpp>
#include <deque>
#include <vector>

#include "model/check.h"
#include "model/phys_mem.h"
#include "support/recording_sink.h"

namespace tlbsim {
namespace {

struct Mem {
  explicit Mem(PhysMemConfig cfg = {}) : mem(cfg, bus) { bus.add_sink(&rec); }
  EventBus bus;
  test::Recorder rec;
  PhysMem mem;
  void check() const { mem.check_invariants(); }
};

bool all_zero(const PhysMem::TableBody& b) {
  for (uint64_t v : b)
    if (v) return false;
  return true;
}

/// Every entry 0 but entry `i`.
bool all_zero_but(const PhysMem::TableBody& b, unsigned i) {
  for (unsigned n = 0; n < PhysMem::TableBody::size(); ++n)
    if (n != i && b[n]) return false;
  return b[i] != 0;
}

}  // namespace

TEST_CASE("alloc hands out a fresh frame with generation 1 and refcount 1", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 7, 3, "test");
  m.check();
  const Pfn b = m.mem.alloc(FrameKind::File, 8, 4, "test");
  m.check();
  CHECK(a != b);
  const Frame& f = m.mem.frame(a);
  CHECK(f.allocated);
  CHECK(f.generation == 1);
  CHECK(m.mem.refcount(a) == 1);
  CHECK(m.mem.mapcount(a) == 0);
  CHECK(f.owner == 7);
  CHECK(f.aux == 3);
  CHECK(f.kind == FrameKind::Anon);
  CHECK(m.mem.frame(b).kind == FrameKind::File);
  CHECK(m.mem.frames_in_use() == 2);
  CHECK(m.mem.tables_in_use() == 0);
  CHECK(m.mem.valid(a));
  CHECK_FALSE(m.mem.valid(Pfn{1000}));
}

TEST_CASE("alloc and free emit FrameAlloc and FrameFree with the frame's generation", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Table, 2, 1, "pte_alloc_one");
  m.check();
  m.mem.free(a, "pte_free");
  m.check();
  REQUIRE(m.rec.events().size() == 2);
  const Event& al = m.rec.events()[0];
  CHECK(al.kind == EventKind::FrameAlloc);
  CHECK(al.pfn == a);
  CHECK(al.gen == 1);
  CHECK(al.aux == 2);
  CHECK((al.flags & kEvTable) != 0);
  CHECK(std::string(al.func) == "pte_alloc_one");
  const Event& fr = m.rec.events()[1];
  CHECK(fr.kind == EventKind::FrameFree);
  CHECK(fr.pfn == a);
  CHECK(fr.gen == 1);
  CHECK(std::string(fr.func) == "pte_free");
  CHECK(fr.seq > al.seq);
}

TEST_CASE("free returns the frame and reuse bumps its generation", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.check();
  m.mem.free(a, "test");
  m.check();
  CHECK_FALSE(m.mem.frame(a).allocated);
  CHECK(m.mem.refcount(a) == 0);
  CHECK(m.mem.frames_in_use() == 0);
  CHECK(m.mem.frame(a).generation == 1);  // the generation names the allocation that ended

  const Pfn again = m.mem.alloc(FrameKind::File, 9, 5, "test");
  m.check();
  CHECK(again == a);
  CHECK(m.mem.frame(a).generation == 2);
  CHECK(m.mem.frame(a).owner == 9);
  CHECK(m.mem.frames_total() == 1);
}

TEST_CASE("reuse order: LIFO hands back the most recently freed frame, FIFO the oldest", "[model]") {
  const ReuseOrder order = GENERATE(ReuseOrder::Lifo, ReuseOrder::Fifo);
  Mem m(PhysMemConfig{.reuse = order});
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  const Pfn b = m.mem.alloc(FrameKind::Anon, 1, 1, "test");
  const Pfn c = m.mem.alloc(FrameKind::Anon, 1, 2, "test");
  m.check();
  m.mem.free(a, "test");
  m.mem.free(b, "test");
  m.mem.free(c, "test");
  m.check();
  const Pfn r1 = m.mem.alloc(FrameKind::Anon, 2, 0, "test");
  m.check();
  const Pfn r2 = m.mem.alloc(FrameKind::Anon, 2, 1, "test");
  m.check();
  const Pfn r3 = m.mem.alloc(FrameKind::Anon, 2, 2, "test");
  m.check();
  if (order == ReuseOrder::Lifo) {
    CHECK(r1 == c);
    CHECK(r2 == b);
    CHECK(r3 == a);
  } else {
    CHECK(r1 == a);
    CHECK(r2 == b);
    CHECK(r3 == c);
  }
  CHECK(m.mem.frames_total() == 3);
}

TEST_CASE("double free throws InvariantViolation", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.mem.free(a, "test");
  m.check();
  CHECK_THROWS_AS(m.mem.free(a, "test"), InvariantViolation);
  CHECK_THROWS_WITH(m.mem.free(a, "test"), Catch::Contains("double free"));
  m.check();
  CHECK(m.mem.frames_in_use() == 0);
}

TEST_CASE("a locked page cannot be freed, and a page left locked fails the quiescence check", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.mem.frame_mut(a).locked = true;
  CHECK_THROWS_WITH(m.mem.free(a, "test"), Catch::Contains("free of locked pfn"));
  CHECK_THROWS_WITH(m.mem.check_quiescent(), Catch::Contains("still locked"));
  m.mem.frame_mut(a).locked = false;
  m.mem.check_quiescent();
  m.mem.free(a, "test");
  m.check();
  // A new allocation of the frame starts unlocked.
  const Pfn b = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  CHECK_FALSE(m.mem.frame(b).locked);
}

TEST_CASE("a page left off the LRU fails the quiescence check, and a page freed while isolated does not", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.mem.frame_mut(a).isolated = true;
  CHECK_THROWS_WITH(m.mem.check_quiescent(), Catch::Contains("still off the LRU"));
  m.mem.frame_mut(a).isolated = false;
  m.mem.check_quiescent();
  m.mem.frame_mut(a).isolated = true;
  m.mem.free(a, "test");  // free_pages_prepare(): a page freed while isolated leaves the LRU's care
  m.mem.check_quiescent();
  m.check();
}

TEST_CASE("free of a pfn that was never handed out throws InvariantViolation", "[model]") {
  Mem m;
  CHECK_THROWS_AS(m.mem.free(Pfn{3}, "test"), InvariantViolation);
  m.check();
}

TEST_CASE("alloc past max_frames throws InvariantViolation", "[model]") {
  Mem m(PhysMemConfig{.max_frames = 2});
  m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.mem.alloc(FrameKind::Anon, 1, 1, "test");
  m.check();
  CHECK_THROWS_AS(m.mem.alloc(FrameKind::Anon, 1, 2, "test"), InvariantViolation);
  m.check();
  CHECK(m.mem.frames_in_use() == 2);
}

TEST_CASE("content version changes on allocation, write and copy", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  const Pfn b = m.mem.alloc(FrameKind::Anon, 1, 1, "test");
  const uint32_t v0 = m.mem.content(a);
  m.mem.write_content(a);
  m.check();
  CHECK(m.mem.content(a) == v0 + 1);
  m.mem.copy_content(a, b);
  m.check();
  CHECK(m.mem.content(b) == m.mem.content(a));
  m.mem.free(a, "test");
  const uint32_t before_reuse = m.mem.content(a);
  CHECK(m.mem.alloc(FrameKind::Anon, 2, 0, "test") == a);
  m.check();
  CHECK(m.mem.content(a) != before_reuse);
}

TEST_CASE("alloc_contig takes a run of fresh frames past the end, never from the free list", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.mem.alloc(FrameKind::Anon, 1, 1, "test");
  m.mem.free(a, "test");
  m.check();
  m.rec.clear();
  const Pfn first = m.mem.alloc_contig(FrameKind::Anon, 5, 100, 512, "alloc_pages(order 9)");
  m.check();
  CHECK(first == Pfn{2});  // after the two frames above; the freed pfn 0 is not used
  CHECK(m.mem.frames_total() == 2 + 512);
  CHECK(m.mem.frames_in_use() == 1 + 512);
  for (uint32_t i = 0; i < 512; ++i) {
    const Frame& f = m.mem.frame(Pfn{first.value() + i});
    CHECK(f.allocated);
    CHECK(f.generation == 1);
    CHECK(m.mem.refcount(Pfn{first.value() + i}) == 1);
    CHECK(f.owner == 5);
    CHECK(f.aux == 100 + i);
  }
  const auto allocs = m.rec.of(EventKind::FrameAlloc);
  REQUIRE(allocs.size() == 512);
  CHECK(allocs.front()->pfn == first);
  CHECK(allocs.back()->pfn == Pfn{first.value() + 511});
  // Each subpage is freed on its own and goes back to the ordinary free list.
  m.mem.free(Pfn{first.value() + 7}, "test");
  m.check();
  CHECK(m.mem.alloc(FrameKind::Anon, 1, 0, "test") == Pfn{first.value() + 7});
  m.check();
}

TEST_CASE("alloc_contig refuses page tables, empty runs and runs past max_frames", "[model]") {
  Mem m(PhysMemConfig{.max_frames = 16});
  CHECK_THROWS_AS(m.mem.alloc_contig(FrameKind::Table, 1, 0, 4, "test"), InvariantViolation);
  CHECK_THROWS_AS(m.mem.alloc_contig(FrameKind::Anon, 1, 0, 0, "test"), InvariantViolation);
  CHECK_THROWS_AS(m.mem.alloc_contig(FrameKind::Anon, 1, 0, 17, "test"), InvariantViolation);
  m.check();
  CHECK(m.mem.frames_total() == 0);
  CHECK(m.mem.alloc_contig(FrameKind::File, 1, 0, 16, "test") == Pfn{0});
  m.check();
}

SCENARIO("a freed page-table page keeps its entries until the frame is reused", "[model]") {
  GIVEN("a live table frame with two entries written") {
    Mem m;
    const Pfn t = m.mem.alloc(FrameKind::Table, 1, 1, "pte_alloc_one");
    m.check();
    CHECK(m.mem.is_live_table(t));
    CHECK(m.mem.tables_in_use() == 1);
    REQUIRE(all_zero(m.mem.table_read(t)));
    m.mem.entry_mut(t, 0) = 0x1234067;
    m.mem.entry_mut(t, 511) = 0x5678067;
    m.check();

    WHEN("the table frame is freed") {
      m.mem.free(t, "pte_free");
      m.check();
      THEN("the kernel view is gone but a walker still reads the old entries") {
        CHECK_FALSE(m.mem.is_live_table(t));
        CHECK(m.mem.tables_in_use() == 0);
        CHECK_THROWS_AS(m.mem.table_read(t), InvariantViolation);
        const PhysMem::TableBody* body = m.mem.walker_view(t);
        REQUIRE(body != nullptr);
        CHECK((*body)[0] == 0x1234067);
        CHECK((*body)[511] == 0x5678067);
      }

      AND_WHEN("the frame is reused as a page table") {
        const Pfn t2 = m.mem.alloc(FrameKind::Table, 2, 1, "pte_alloc_one");
        m.check();
        REQUIRE(t2 == t);
        THEN("the walker sees a zeroed table of the new generation") {
          CHECK(m.mem.is_live_table(t));
          CHECK(m.mem.frame(t).generation == 2);
          CHECK(m.mem.frame(t).owner == 2);
          const PhysMem::TableBody* body = m.mem.walker_view(t);
          REQUIRE(body != nullptr);
          CHECK(all_zero(*body));
          CHECK(body == &m.mem.table_read(t));
        }
      }

      AND_WHEN("the frame is reused as data") {
        const Pfn d = m.mem.alloc(FrameKind::Anon, 3, 0, "do_anonymous_page");
        m.check();
        REQUIRE(d == t);
        THEN("the table body is dropped: the walker sees no table") {
          CHECK(m.mem.walker_view(t) == nullptr);
          CHECK_FALSE(m.mem.is_live_table(t));
          CHECK(m.mem.frame(t).aux == 0);  // the data page index, not a body index
          CHECK(m.mem.tables_in_use() == 0);
        }
        AND_THEN("a later table allocation recycles the body, zeroed") {
          const Pfn t3 = m.mem.alloc(FrameKind::Table, 4, 1, "pte_alloc_one");
          m.check();
          CHECK(t3 != t);
          REQUIRE(m.mem.walker_view(t3) != nullptr);
          CHECK(all_zero(*m.mem.walker_view(t3)));
        }
      }
    }
  }
}

TEST_CASE("walker_view of a data frame or an unknown pfn is null", "[model]") {
  Mem m;
  const Pfn d = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.check();
  CHECK(m.mem.walker_view(d) == nullptr);
  CHECK(m.mem.walker_view(Pfn{999}) == nullptr);
  CHECK(m.mem.walker_view(kNoPfn) == nullptr);
  CHECK_THROWS_AS(m.mem.table_read(d), InvariantViolation);
}

TEST_CASE("state_bytes counts frame slots a block of 256 at a time, table bodies and their chunks", "[model]") {
  Mem m;
  const size_t empty = m.mem.state_bytes();
  m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  m.check();
  const size_t one_data = m.mem.state_bytes();
  CHECK(one_data >= empty + size_t{256} * 24);  // a whole block of slots: frame, content version, counts
  const Pfn t = m.mem.alloc(FrameKind::Table, 1, 1, "test");
  m.check();
  const size_t one_table = m.mem.state_bytes();
  CHECK(one_table == one_data + sizeof(PhysMem::TableBody));  // the block has room for the second frame
  m.mem.entry_mut(t, 3) = 0x1234067;
  m.check();
  CHECK(m.mem.state_bytes() >= one_table + sizeof(TableChunkPool::Chunk));
  for (uint64_t i = 2; i < 256; ++i) m.mem.alloc(FrameKind::Anon, 1, i, "test");
  const size_t one_block = m.mem.state_bytes();
  CHECK(m.mem.frames_total() == 256);
  m.mem.alloc(FrameKind::Anon, 1, 256, "test");
  m.check();
  CHECK(m.mem.state_bytes() >= one_block + size_t{256} * 24);
}

TEST_CASE("peak_state_bytes keeps the largest total, which large counts can shrink from", "[model]") {
  Mem m;
  const Pfn p = m.mem.alloc(FrameKind::File, 1, 0, "test");
  for (int i = 0; i < 200; ++i) m.mem.alloc(FrameKind::Anon, 1, uint64_t(i), "test");
  const size_t small = m.mem.state_bytes();
  // Freeing costs nothing: the free list runs through the free frames.
  for (uint32_t i = 1; i <= 200; ++i) m.mem.free(Pfn{i}, "test");
  m.check();
  CHECK(m.mem.state_bytes() == small);
  for (uint32_t i = 0; i < 0xffff; ++i) m.mem.map_inc(p);
  m.check();
  const size_t big = m.mem.state_bytes();
  CHECK(big > small);  // the counts went aside
  CHECK(m.mem.peak_state_bytes() == big);
  m.mem.map_dec(p);
  m.check();
  CHECK(m.mem.state_bytes() < big);  // and came back into the frame
  CHECK(m.mem.peak_state_bytes() == big);
}

TEST_CASE("reference and map counts past 16 bits stay exact, and come back into the frame below", "[model]") {
  Mem m;
  const Pfn p = m.mem.alloc(FrameKind::File, 1, 0, "test");
  const Pfn q = m.mem.alloc(FrameKind::File, 1, 1, "test");
  const uint32_t n = GENERATE(0xfffeu, 0xffffu, 0x10000u, 70000u);
  for (uint32_t i = 0; i < n; ++i) {
    m.mem.map_inc(p);
    m.mem.ref_inc(p);
  }
  m.mem.map_inc(q);
  m.check();
  CHECK(m.mem.mapcount(p) == n);
  CHECK(m.mem.refcount(p) == n + 1);
  CHECK(m.mem.mapcount(q) == 1);  // a neighbour is untouched
  CHECK(m.mem.refcount(q) == 1);
  for (uint32_t i = 0; i < n; ++i) {
    m.mem.map_dec(p);
    CHECK(m.mem.ref_dec(p) == n - i);
  }
  m.check();
  CHECK(m.mem.mapcount(p) == 0);
  CHECK(m.mem.refcount(p) == 1);
  // Freed with large counts: they go with the frame, which reads 0 and 0.
  for (uint32_t i = 0; i < n; ++i) m.mem.map_inc(p);
  m.mem.free(p, "test");
  m.check();
  CHECK(m.mem.mapcount(p) == 0);
  CHECK(m.mem.refcount(p) == 0);
  CHECK(m.mem.alloc(FrameKind::Anon, 2, 0, "test") == p);
  m.check();
  CHECK(m.mem.mapcount(p) == 0);
  CHECK(m.mem.refcount(p) == 1);
}

TEST_CASE("a free frame's counts read 0 and cannot change", "[model]") {
  Mem m;
  const Pfn a = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  const Pfn b = m.mem.alloc(FrameKind::Anon, 1, 1, "test");
  m.mem.free(a, "test");
  m.mem.free(b, "test");  // a's successor on the free list now
  m.check();
  CHECK(m.mem.refcount(a) == 0);
  CHECK(m.mem.mapcount(a) == 0);
  CHECK(m.mem.refcount(b) == 0);
  CHECK_THROWS_WITH(m.mem.ref_inc(a), Catch::Contains("counts of free pfn 0 changed"));
  CHECK_THROWS_WITH(m.mem.map_inc(b), Catch::Contains("counts of free pfn 1 changed"));
  CHECK_THROWS_WITH(m.mem.ref_dec(a), Catch::Contains("put_page on pfn 0 with refcount 0"));
  CHECK_THROWS_WITH(m.mem.map_dec(a), Catch::Contains("page_remove_rmap on unmapped pfn 0"));
  m.check();  // nothing changed
  CHECK(m.mem.alloc(FrameKind::Anon, 1, 0, "test") == b);
  CHECK(m.mem.alloc(FrameKind::Anon, 1, 0, "test") == a);
}

TEST_CASE("the free list through free frames hands out frames in the order a plain list of free pfns does", "[model]") {
  // The reference keeps the free pfns in a deque, as the allocator did before its list moved
  // into the free frames: LIFO takes the back, FIFO the front, both put at the back.
  const ReuseOrder order = GENERATE(ReuseOrder::Lifo, ReuseOrder::Fifo);
  for (uint32_t seed = 0; seed < 200; ++seed) {
    Mem m(PhysMemConfig{.reuse = order});
    std::deque<uint32_t> free_ref;
    std::vector<uint32_t> live;
    uint32_t total = 0;
    uint64_t x = seed * 0x9e3779b97f4a7c15ULL + 1;
    auto next = [&x] {
      x ^= x << 13;
      x ^= x >> 7;
      x ^= x << 17;
      return x;
    };
    const unsigned steps = 50 + static_cast<unsigned>(next() % 600);
    for (unsigned i = 0; i < steps; ++i) {
      if (live.empty() || next() % 5 < 3) {
        uint32_t want;
        if (free_ref.empty()) {
          want = total++;
        } else if (order == ReuseOrder::Lifo) {
          want = free_ref.back();
          free_ref.pop_back();
        } else {
          want = free_ref.front();
          free_ref.pop_front();
        }
        const Pfn got = m.mem.alloc(FrameKind::Anon, 1, i, "test");
        REQUIRE(got.value() == want);
        live.push_back(want);
      } else {
        const size_t k = next() % live.size();
        const uint32_t n = live[k];
        live[k] = live.back();
        live.pop_back();
        m.mem.free(Pfn{n}, "test");
        free_ref.push_back(n);
      }
      if (i % 16 == 0) m.check();
    }
    m.check();
    REQUIRE(m.mem.frames_total() == total);
    REQUIRE(m.mem.frames_in_use() == live.size());
  }
}

TEST_CASE("a table body makes a chunk of entries at the first store into it, and a reused table gives its chunks back", "[model]") {
  Mem m;
  const Pfn t = m.mem.alloc(FrameKind::Table, 1, 1, "pte_alloc_one");
  CHECK(m.mem.table_chunks() == 0);
  CHECK(m.mem.entry(t, 200) == 0);  // reading an entry of no chunk makes none
  CHECK(m.mem.table_chunks() == 0);
  m.mem.entry_mut(t, 0) = 0x1000067;
  m.mem.entry_mut(t, 63) = 0x2000067;  // the same chunk (entries 0-63)
  CHECK(m.mem.table_chunks() == 1);
  m.mem.entry_mut(t, 64) = 0x3000067;
  m.mem.entry_mut(t, 511) = 0x4000067;
  CHECK(m.mem.table_chunks() == 3);
  m.check();
  const PhysMem::TableBody& body = m.mem.table_read(t);
  CHECK(body[0] == 0x1000067);
  CHECK(body[63] == 0x2000067);
  CHECK(body[64] == 0x3000067);
  CHECK(body[100] == 0);
  CHECK(body[511] == 0x4000067);
  size_t set = 0;
  for (uint64_t e : body) set += e != 0;
  CHECK(set == 4);

  // Freed, the table keeps its chunks (a stale walker still reads them); reused as data, they go
  // back to the pool, and the next table takes them zeroed.
  m.mem.free(t, "pte_free");
  CHECK(m.mem.free_table_chunks() == 0);
  const Pfn d = m.mem.alloc(FrameKind::Anon, 1, 0, "test");
  REQUIRE(d == t);
  CHECK(m.mem.free_table_chunks() == 3);
  m.check();
  const Pfn t2 = m.mem.alloc(FrameKind::Table, 1, 1, "pte_alloc_one");
  m.mem.entry_mut(t2, 5) = 0x5000067;
  CHECK(m.mem.table_chunks() == 3);  // one reused, none made
  CHECK(m.mem.free_table_chunks() == 2);
  CHECK(all_zero_but(m.mem.table_read(t2), 5));
  m.check();
}

TEST_CASE("an emit-free PhysMem works with no sink attached", "[model]") {
  EventBus bus;
  PhysMem mem({}, bus);
  CHECK_FALSE(bus.active());
  const Pfn a = mem.alloc(FrameKind::Anon, 1, 0, "test");
  mem.free(a, "test");
  mem.check_invariants();
  CHECK(bus.next_seq() == 1);  // nothing was stamped
}

}  // namespace tlbsim
