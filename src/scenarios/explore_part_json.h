// SPDX-License-Identifier: MIT
#pragma once
/// ExplorePart as JSON, for shard files (docs/scale-out.md): written by `explore --shard`, read
/// back by `tlbsim merge` to exactly the values written.
#include <stdexcept>
#include <string>

#include <nlohmann/json.hpp>

#include "scenarios/explore_part.h"

namespace tlbsim::scenarios {

nlohmann::ordered_json part_to_json(const ExplorePart& p);

/// A value that is not what part_to_json() writes: `pointer` says where (JSON Pointer).
struct PartFormatError : std::runtime_error {
  PartFormatError(std::string at, const std::string& what) : std::runtime_error(what), pointer(std::move(at)) {}
  std::string pointer;
};

/// Throws PartFormatError, also for a schedule naming a thread at or beyond `threads` (the
/// scenario's). `pointer`: where `j` sits in its document.
ExplorePart part_from_json(const nlohmann::json& j, size_t threads, const std::string& pointer = "");

}  // namespace tlbsim::scenarios
