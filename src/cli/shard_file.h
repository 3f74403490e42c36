// SPDX-License-Identifier: MIT
#pragma once
/// Shard files: what `tlbsim explore --shard K/N --json FILE` and `tlbsim sweep --shard K/N
/// --json FILE` write and `tlbsim merge` reads (docs/scale-out.md). A shard records the command,
/// the options that shape the result (as command-line tokens), which shard of how many it is,
/// the input files it read with their size and hash, the build of tlbsim that wrote it, and its
/// part of the work: for explore, per scenario and policy the part of the search it ran
/// ("jobs"); for sweep, the grid cells it ran ("cells", sweep_shard.h).
#include <cstdint>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "cli/cli_common.h"
#include "scenarios/explore.h"

namespace tlbsim::cli {

/// The most shards a search is split into (--shard K/N).
inline constexpr uint64_t kMaxShards = uint64_t{1} << 20;
/// The shard file format; a merge refuses any other.
inline constexpr uint64_t kShardFormat = 2;

/// The command a shard ran.
enum class ShardCommand : uint8_t { Explore, Sweep };

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

/// --shard K/N with 1 <= K <= N <= kMaxShards, as {K - 1, N}. Throws UsageError.
scenarios::Shard parse_shard(const std::string& text);

/// The tokens of `args` that set options of `mine` (the options that shape the result) and the
/// positional arguments (named by option `positional`, if any), in their order: what a shard
/// records. `opts` parses `args`; tokens of its other options are left out.
std::vector<std::string> result_tokens(const std::vector<std::string>& args, const po::options_description& opts,
                                       const po::options_description& mine, const char* positional);

struct ShardHeader {
  ShardCommand command = ShardCommand::Explore;
  std::vector<std::string> tokens;  ///< the options that shape the result (result_tokens())
  scenarios::Shard shard;
  std::vector<std::string> files;  ///< input files, fingerprinted when written
};

/// The shard file's text: the header and `body` (the command's part of the work) under `key`.
std::string shard_document(const ShardHeader& h, const char* key, nlohmann::ordered_json body);

struct ShardJob {
  std::string file, scenario, policy;
  scenarios::ExplorePart part;
};

/// An explore shard file's text.
std::string explore_shard_document(const ShardHeader& h, const std::vector<ShardJob>& jobs);

/// A shard file as read: header and, for explore, the jobs, each part still as JSON (its
/// schedules are checked against the scenario once that is loaded: read_part()); for sweep, the
/// cells as JSON (read_sweep_cells()).
// NOLINTNEXTLINE(bugprone-exception-escape): nlohmann::json's noexcept move asserts its invariant
struct ShardFile {
  std::string path;
  ShardCommand command = ShardCommand::Explore;
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
  nlohmann::json cells;  ///< sweep: the "cells" array
};

/// "explore" or "sweep".
const char* command_name(ShardCommand c);

/// Reading a shard file's JSON value `v` at JSON pointer `at`: each throws ScenarioError naming
/// the file `path`, the pointer and what was expected.
namespace shard_json {
[[noreturn]] void fail(const std::string& path, const std::string& at, const std::string& what);
const nlohmann::json& member(const std::string& path, const nlohmann::json& obj, const std::string& at, const char* key);
std::string text(const std::string& path, const nlohmann::json& v, const std::string& at);
uint64_t number(const std::string& path, const nlohmann::json& v, const std::string& at);
const nlohmann::json& array(const std::string& path, const nlohmann::json& v, const std::string& at);
}  // namespace shard_json

/// Throws ScenarioError naming `path`, the JSON pointer and what was expected.
ShardFile read_shard_file(const std::string& path);
/// The part of job `j` of `f`, for a scenario with `threads` threads. Throws ScenarioError.
scenarios::ExplorePart read_part(const ShardFile& f, const ShardFile::Job& j, size_t threads);

}  // namespace tlbsim::cli
