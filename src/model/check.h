// SPDX-License-Identifier: MIT
#pragma once
/// TLBSIM_CHECK: programming-error checks that throw InvariantViolation (never exit), with the
/// file, line and message, so a library caller decides what to do.
#include <sstream>
#include <stdexcept>
#include <string>

namespace tlbsim {

class InvariantViolation : public std::logic_error {
 public:
  using std::logic_error::logic_error;
};

[[noreturn]] void invariant_failed(const char* file, int line, const char* cond, const std::string& msg);

}  // namespace tlbsim

// The failure path is a separate cold function so that a check costs one compare and branch on
// the hot path and small accessors (PhysMem::table()) still inline.
#define TLBSIM_CHECK(cond, msg)                                                        \
  do {                                                                                 \
    if (!(cond)) [[unlikely]] {                                                        \
      [&]() __attribute__((noinline, cold, noreturn)) {                                \
        std::ostringstream tlbsim_check_os_;                                           \
        tlbsim_check_os_ << msg; /* NOLINT(bugprone-macro-parentheses): a << chain */  \
        ::tlbsim::invariant_failed(__FILE__, __LINE__, #cond, tlbsim_check_os_.str()); \
      }                                                                                \
      ();                                                                              \
    }                                                                                  \
  } while (0)
