// SPDX-License-Identifier: MIT
#pragma once
/// KSM's state (mm/ksm.c, v6.0): the mms ksmd has scanned (ksm_mm_head's mm_slots with
/// rmap_items, which ksm_exit() must wait for), and the stable tree: one ksm_stable_node per KSM page, holding the pfn of the
/// page (kpfn, which migration moves: folio_migrate_ksm()) and the rmap_items of every mapping
/// ksmd merged into it, newest first (stable_tree_append()'s hlist_add_head()). rmap_walk_ksm()
/// visits the VMAs those items name. The page points back at its node through page->mapping; the
/// model keeps the node id in the KSM frame's owner (0: PageKsm with a NULL stable node, which
/// try_to_merge_one_page() leaves until stable_tree_insert()). Each accessor records what it
/// touched as the Kernel object's key kTouchKey (model/touch.h). Content ordering (the tree's
/// memcmp() search) is not modelled: a merge names the KSM page it joins.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "model/check.h"
#include "model/touch.h"
#include "model/types.h"

namespace tlbsim::kernel {

/// ksm_rmap_item, stable: the mm and address of one merged mapping, and the anon_vma of its VMA
/// that try_to_merge_with_ksm_page() took a reference on ("Must get reference to anon_vma while
/// still holding mmap_lock").
struct KsmRmapItem {
  MmId mm;
  uint64_t address = 0;
  uint32_t anon_vma = 0;
};

struct KsmStableNode {
  Pfn kpfn = kNoPfn;
  std::vector<KsmRmapItem> hlist;  ///< newest first
};

class KsmState {
 public:
  static constexpr uint64_t kTouchKey = 4;  ///< beside Kernel::kMmListKey, kIdsKey and KernelPgtableWork's 3

  /// ksmd scans `mm` (ksm_scan.mm_slot, then the rmap_items it leaves): from then on
  /// ksm_exit() is not "easy_to_free" and waits for ksmd through mmap_lock.
  void scan_mm(MmId mm) {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    if (!scanned(mm)) m_scanned.push_back(mm);
  }
  bool scanned(MmId mm) const {
    touch::read(Touch::Obj::Kernel, kTouchKey);
    return std::find(m_scanned.begin(), m_scanned.end(), mm) != m_scanned.end();
  }

  /// stable_tree_insert(): a new node for `kpfn`, with no rmap_item yet; returns its id (from 1).
  uint32_t insert(Pfn kpfn) {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    m_nodes.push_back(KsmStableNode{.kpfn = kpfn, .hlist = {}});
    return static_cast<uint32_t>(m_nodes.size());
  }
  /// stable_tree_append(): hlist_add_head() of the item.
  void append(uint32_t node, const KsmRmapItem& item) {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    KsmStableNode& n = at(node);
    n.hlist.insert(n.hlist.begin(), item);
  }
  /// folio_migrate_ksm(): stable_node->kpfn = the new page.
  void set_kpfn(uint32_t node, Pfn kpfn) {
    touch::write(Touch::Obj::Kernel, kTouchKey);
    at(node).kpfn = kpfn;
  }
  const KsmStableNode& node(uint32_t node) const {
    touch::read(Touch::Obj::Kernel, kTouchKey);
    return at(node);
  }

 private:
  size_t index(uint32_t node) const {
    TLBSIM_CHECK(node >= 1 && node <= m_nodes.size(), "no KSM stable node " << node);
    return node - 1;
  }
  KsmStableNode& at(uint32_t node) { return m_nodes[index(node)]; }
  const KsmStableNode& at(uint32_t node) const { return m_nodes[index(node)]; }

  std::vector<MmId> m_scanned;
  std::vector<KsmStableNode> m_nodes;  ///< by id - 1; a node outlives its page (get_ksm_page() finds it stale)
};

}  // namespace tlbsim::kernel
