// SPDX-License-Identifier: MIT
#pragma once
/// A page-table page's 512 entries, kept in chunks of 64 that come into being at the first store
/// into them. Most tables hold a few entries (the PGD, PUD and PMD of a process, the PTE table of
/// a small mapping), so a body costs its chunk pointers and 512 bytes a chunk used instead of a
/// whole 4 KiB page; a full PTE table costs 4 KiB plus the pointers. A chunk that was never
/// stored to reads as 64 zero (pte_none) entries, as a page pte_alloc_one() zeroed would.
///
/// A chunk never moves once made: a kernel path holds a table's slots across scheduling points
/// under its PTL (pte_offset_map_lock() returns a pointer into the page), and a hardware walker
/// with a stale pointer reads a freed table's entries until the page is reused.
#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <iterator>
#include <vector>

#include "model/types.h"

namespace tlbsim {

class TableBody {
 public:
  static constexpr unsigned kChunkEntries = 64;
  static constexpr unsigned kChunks = kPtrsPerTable / kChunkEntries;

  TableBody() = default;
  /// A body's chunks belong to it alone: a copy would share them.
  TableBody(const TableBody&) = delete;
  TableBody& operator=(const TableBody&) = delete;

  /// Entry `i` (0..511); 0 in a chunk never stored to.
  uint64_t operator[](unsigned i) const {
    const uint64_t* c = m_chunks[i / kChunkEntries];
    return c ? c[i % kChunkEntries] : 0;
  }
  /// Chunk `c`'s 64 entries, or nullptr while none was ever stored (all read as 0).
  const uint64_t* chunk(unsigned c) const { return m_chunks[c]; }
  static constexpr size_t size() { return kPtrsPerTable; }

  /// The 512 entries in order, by value (a range-for over a table page).
  class const_iterator {
   public:
    using iterator_category = std::forward_iterator_tag;
    using value_type = uint64_t;
    using difference_type = std::ptrdiff_t;
    using pointer = void;
    using reference = uint64_t;
    const_iterator() = default;
    const_iterator(const TableBody* body, unsigned i) : m_body(body), m_i(i) {}
    uint64_t operator*() const { return (*m_body)[m_i]; }
    const_iterator& operator++() {
      ++m_i;
      return *this;
    }
    const_iterator operator++(int) {
      const_iterator old = *this;
      ++m_i;
      return old;
    }
    bool operator==(const const_iterator& o) const { return m_i == o.m_i; }

   private:
    const TableBody* m_body = nullptr;
    unsigned m_i = 0;
  };
  const_iterator begin() const { return {this, 0}; }
  const_iterator end() const { return {this, kPtrsPerTable}; }

 private:
  friend class TableChunkPool;
  std::array<uint64_t*, kChunks> m_chunks{};
};

/// Where bodies' chunks come from and go back to. Chunks live in a deque, so none moves, and a
/// chunk given back is reused (zeroed) by the next body that needs one.
class TableChunkPool {
 public:
  using Chunk = std::array<uint64_t, TableBody::kChunkEntries>;

  TableChunkPool() = default;
  TableChunkPool(const TableChunkPool&) = delete;
  TableChunkPool& operator=(const TableChunkPool&) = delete;

  /// The slot of entry `i` of `body`, for a store: its chunk is made (zeroed) if it had none.
  uint64_t& slot(TableBody& body, unsigned i) {
    uint64_t*& c = body.m_chunks[i / TableBody::kChunkEntries];
    if (!c) c = take();
    return c[i % TableBody::kChunkEntries];
  }
  /// Give every chunk of `body` back: it reads as 512 zero entries again.
  void clear(TableBody& body) {
    for (uint64_t*& c : body.m_chunks)
      if (c) {
        m_free.push_back(c);
        c = nullptr;
      }
  }
  /// Chunks made so far (in bodies or free): they are never given back to the C++ heap.
  size_t chunks() const { return m_chunks.size(); }
  size_t free_chunks() const { return m_free.size(); }
  size_t bytes() const { return m_chunks.size() * sizeof(Chunk) + m_free.capacity() * sizeof(uint64_t*); }

 private:
  uint64_t* take() {
    uint64_t* c;
    if (!m_free.empty()) {
      c = m_free.back();
      m_free.pop_back();
    } else {
      c = m_chunks.emplace_back().data();
    }
    std::fill_n(c, TableBody::kChunkEntries, uint64_t{0});
    return c;
  }
  std::deque<Chunk> m_chunks;
  std::vector<uint64_t*> m_free;
};

}  // namespace tlbsim
