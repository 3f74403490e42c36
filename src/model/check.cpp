// SPDX-License-Identifier: MIT
#include "model/check.h"

#include <cstdio>

#include "model/types.h"

namespace tlbsim {

void invariant_failed(const char* file, int line, const char* cond, const std::string& msg) {
  std::ostringstream os;
  os << file << ':' << line << ": invariant violated: " << cond;
  if (!msg.empty()) os << ": " << msg;
  throw InvariantViolation(os.str());
}

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

}  // namespace tlbsim
