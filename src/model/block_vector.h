// SPDX-License-Identifier: MIT
#pragma once
/// An array that grows in fixed blocks of 2^kShift elements, for per-frame state: an element never
/// moves once made (a reference to it stays good), growing copies nothing, and at most one block
/// minus one element is spare, where a std::vector keeps up to its growth factor spare and copies
/// everything at each step. Indexing is a shift and a mask into one more load.
#include <cstddef>
#include <memory>
#include <vector>

namespace tlbsim {

template <class T, unsigned kShift>
class BlockVector {
 public:
  static constexpr size_t kBlock = size_t{1} << kShift;

  size_t size() const { return m_size; }
  T& operator[](size_t i) { return m_blocks[i >> kShift][i & (kBlock - 1)]; }
  const T& operator[](size_t i) const { return m_blocks[i >> kShift][i & (kBlock - 1)]; }

  /// Appends `v`; a new block is made (its elements value-initialised) when the last is full.
  T& push_back(const T& v) {
    if ((m_size & (kBlock - 1)) == 0) m_blocks.push_back(std::make_unique<T[]>(kBlock));
    T& e = (*this)[m_size++];
    e = v;
    return e;
  }

  /// Bytes held: every block made, whole, and the table of block pointers at its capacity.
  size_t bytes() const { return m_blocks.size() * kBlock * sizeof(T) + m_blocks.capacity() * sizeof(m_blocks[0]); }

 private:
  std::vector<std::unique_ptr<T[]>> m_blocks;
  size_t m_size = 0;
};

}  // namespace tlbsim
