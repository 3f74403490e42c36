// SPDX-License-Identifier: MIT
#pragma once
#include <string>

namespace tlbsim::test {

/// Whether a test that compares a committed file with generated output should rewrite the file
/// instead: only when its variable (TLBSIM_UPDATE_GOLDEN, TLBSIM_UPDATE_DOCS) is exactly "1". Any
/// other value (unset, empty, "0", "yes") compares, so a stray variable cannot make a test pass.
inline bool update_requested(const char* env) { return env && std::string(env) == "1"; }

}  // namespace tlbsim::test
