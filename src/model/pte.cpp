// SPDX-License-Identifier: MIT
#include "model/pte.h"

namespace tlbsim {

std::string describe_pte(Pte p) {
  if (p.none()) return "none";
  if (!p.present()) {
    switch (p.swp_type()) {
      case Pte::SwpType::Swap: return "swap:" + std::to_string(p.swp_offset());
      case Pte::SwpType::MigrationRead: return "migration-r:" + std::to_string(p.swp_offset());
      case Pte::SwpType::MigrationWrite: return "migration-w:" + std::to_string(p.swp_offset());
      case Pte::SwpType::DevicePrivateRead: return "device-private-r:" + std::to_string(p.swp_offset());
      case Pte::SwpType::DevicePrivateWrite: return "device-private-w:" + std::to_string(p.swp_offset());
      case Pte::SwpType::None: break;
    }
    return "nonpresent:" + hex(p.raw());
  }
  std::string s = "pfn " + std::to_string(p.pfn().value()) + (p.writable() ? " rw" : " ro");
  if (p.dirty()) s += " D";
  if (p.young()) s += " A";
  if (p.huge()) s += " huge";
  if (p.special()) s += " special";
  return s;
}

}  // namespace tlbsim
