// SPDX-License-Identifier: MIT
#pragma once
/// Shard files: what `tlbsim explore --shard K/N --json FILE` writes and `tlbsim merge` reads
/// (docs/scale-out.md). A shard records the explore options that shape the result (as
/// command-line tokens), which shard of how many it is, the scenario files it read with their
/// size and hash, the build of tlbsim that wrote it, and per scenario and policy the part of the
/// search it ran.
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "scenarios/explore.h"

namespace tlbsim::cli {

/// The most shards a search is split into (--shard K/N).
inline constexpr uint64_t kMaxShards = uint64_t{1} << 20;
/// The shard file format; a merge refuses any other.
inline constexpr uint64_t kShardFormat = 1;

/// A scenario file as a shard read it.
struct FileFingerprint {
  std::string path;
  uint64_t bytes = 0;
  std::string fnv1a64;  ///< FNV-1a 64-bit hash of the contents, 16 hex digits

  friend bool operator==(const FileFingerprint&, const FileFingerprint&) = default;
};
/// Reads `path` (as the loader does). Throws ScenarioError naming it.
FileFingerprint fingerprint(const std::string& path);

/// The build that writes a shard: the source commit it was configured from.
std::string build_id();

struct ShardHeader {
  std::vector<std::string> tokens;  ///< explore's options that shape the result (result_tokens())
  scenarios::Shard shard;
  std::vector<std::string> files;   ///< scenario files, fingerprinted when written
};

struct ShardJob {
  std::string file, scenario, policy;
  scenarios::ExplorePart part;
};

/// The shard file's text.
std::string shard_document(const ShardHeader& h, const std::vector<ShardJob>& jobs);

/// A shard file as read: header and jobs, each part still as JSON (its schedules are checked
/// against the scenario once that is loaded: read_part()).
struct ShardFile {
  std::string path;
  std::string build;
  std::vector<std::string> tokens;
  scenarios::Shard shard;
  std::vector<FileFingerprint> files;
  struct Job {
    std::string file, scenario, policy;
    nlohmann::json part;
    std::string pointer;  ///< where the part sits in the file
  };
  std::vector<Job> jobs;
};

/// Throws ScenarioError naming `path`, the JSON pointer and what was expected.
ShardFile read_shard_file(const std::string& path);
/// The part of job `j` of `f`, for a scenario with `threads` threads. Throws ScenarioError.
scenarios::ExplorePart read_part(const ShardFile& f, const ShardFile::Job& j, size_t threads);

}  // namespace tlbsim::cli
