// SPDX-License-Identifier: MIT
#include "cli/shard_file.h"

#include <cstdio>
#include <set>

#include "cli/numeric_option.h"
#include "scenarios/errors.h"
#include "scenarios/explore_part_json.h"
#include "scenarios/input_file.h"
#include "scenarios/json_positions.h"

#ifndef TLBSIM_BUILD_ID
#define TLBSIM_BUILD_ID "unknown"
#endif

namespace tlbsim::cli {

using namespace tlbsim::scenarios;
using OJ = nlohmann::ordered_json;
using J = nlohmann::json;

namespace {

constexpr const char* kFormatKey = "tlbsim_shard";

}  // namespace

namespace shard_json {

[[noreturn]] void fail(const std::string& path, const std::string& pointer, const std::string& what) {
  throw ScenarioError({Diagnostic{.file = path, .pointer = pointer, .message = what}});
}

const J& member(const std::string& path, const J& obj, const std::string& at, const char* key) {
  if (!obj.is_object()) fail(path, at, "expected an object");
  const auto it = obj.find(key);
  if (it == obj.end()) fail(path, at, std::string("missing \"") + key + "\"");
  return *it;
}

std::string text(const std::string& path, const J& v, const std::string& at) {
  if (!v.is_string()) fail(path, at, "expected a string");
  return v.get<std::string>();
}

uint64_t number(const std::string& path, const J& v, const std::string& at) {
  if (!v.is_number_unsigned()) fail(path, at, "expected a non-negative integer");
  return v.get<uint64_t>();
}

const J& array(const std::string& path, const J& v, const std::string& at) {
  if (!v.is_array()) fail(path, at, "expected an array");
  return v;
}

}  // namespace shard_json

using namespace shard_json;

FileFingerprint fingerprint(const std::string& path) {
  const std::string bytes = read_input_file(path);
  uint64_t h = 0xcbf29ce484222325ull;
  for (const unsigned char c : bytes) {
    h ^= c;
    h *= 0x100000001b3ull;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(h));
  return FileFingerprint{.path = path, .bytes = bytes.size(), .fnv1a64 = hex};
}

std::string build_id() { return TLBSIM_BUILD_ID; }

Shard parse_shard(const std::string& text) {
  const size_t slash = text.find('/');
  if (slash == std::string::npos) throw UsageError("--shard: expected K/N (shard K of N, 1 <= K <= N), got \"" + text + "\"");
  const uint64_t n = parse_uint_option("--shard", text.substr(slash + 1), 1, kMaxShards);
  const uint64_t k = parse_uint_option("--shard", text.substr(0, slash), 1, n);
  return Shard{.index = k - 1, .count = n};
}

const char* command_name(ShardCommand c) { return c == ShardCommand::Sweep ? "sweep" : "explore"; }

std::vector<std::string> result_tokens(const std::vector<std::string>& args, const po::options_description& opts,
                                       const po::options_description& mine, const char* positional) {
  std::set<std::string> keep;
  for (const auto& o : mine.options()) keep.insert(o->long_name());
  if (positional) keep.insert(positional);
  po::positional_options_description pos;
  if (positional) pos.add(positional, -1);
  const po::parsed_options parsed = po::command_line_parser(args).options(opts).positional(pos).run();
  std::vector<std::string> out;
  for (const auto& o : parsed.options)
    if (keep.count(o.string_key)) {
      // A positional argument has no option token: name it, so the tokens parse the same anywhere.
      if (o.position_key >= 0) out.push_back("--" + o.string_key);
      out.insert(out.end(), o.original_tokens.begin(), o.original_tokens.end());
    }
  return out;
}

std::string shard_document(const ShardHeader& h, const char* key, OJ body) {
  OJ doc;
  doc[kFormatKey] = kShardFormat;
  doc["command"] = command_name(h.command);
  doc["build"] = build_id();
  doc["arguments"] = h.tokens;
  doc["shard"] = OJ{{"index", h.shard.index + 1}, {"count", h.shard.count}};
  OJ files = OJ::array();
  for (const std::string& f : h.files) {
    const FileFingerprint fp = fingerprint(f);
    files.push_back(OJ{{"path", fp.path}, {"bytes", fp.bytes}, {"fnv1a64", fp.fnv1a64}});
  }
  doc["files"] = std::move(files);
  doc[key] = std::move(body);
  return doc.dump(1) + "\n";
}

std::string explore_shard_document(const ShardHeader& h, const std::vector<ShardJob>& jobs) {
  OJ js = OJ::array();
  for (const ShardJob& j : jobs)
    js.push_back(OJ{{"file", j.file}, {"scenario", j.scenario}, {"policy", j.policy}, {"part", part_to_json(j.part)}});
  return shard_document(h, "jobs", std::move(js));
}

ShardFile read_shard_file(const std::string& path) {
  const std::string bytes = read_input_file(path);
  J doc;
  try {
    doc = J::parse(bytes);
  } catch (const J::parse_error& e) {
    const TextPos tp = syntax_error_pos(bytes, e.byte);
    throw ScenarioError({Diagnostic{.file = path, .line = tp.line, .column = tp.column, .message = json_syntax_message(e.what())}});
  }
  ShardFile f;
  f.path = path;
  if (!doc.is_object() || !doc.contains(kFormatKey))
    fail(path, "", std::string("not a shard file (no \"") + kFormatKey + "\"; written by tlbsim explore or sweep --shard K/N --json FILE)");
  if (const J& v = doc[kFormatKey]; !v.is_number_unsigned() || v.get<uint64_t>() != kShardFormat)
    fail(path, std::string("/") + kFormatKey, "shard format " + v.dump() + ", this tlbsim reads format " + std::to_string(kShardFormat));
  const std::string command = text(path, member(path, doc, "", "command"), "/command");
  if (command == "explore")
    f.command = ShardCommand::Explore;
  else if (command == "sweep")
    f.command = ShardCommand::Sweep;
  else
    fail(path, "/command", "expected \"explore\" or \"sweep\", got \"" + command + "\"");
  f.build = text(path, member(path, doc, "", "build"), "/build");
  const J& args = array(path, member(path, doc, "", "arguments"), "/arguments");
  for (size_t i = 0; i < args.size(); ++i) f.tokens.push_back(text(path, args[i], "/arguments/" + std::to_string(i)));
  const J& sh = member(path, doc, "", "shard");
  const uint64_t count = number(path, member(path, sh, "/shard", "count"), "/shard/count");
  const uint64_t index = number(path, member(path, sh, "/shard", "index"), "/shard/index");
  if (count < 1 || count > kMaxShards) fail(path, "/shard/count", "expected 1 to " + std::to_string(kMaxShards));
  if (index < 1 || index > count) fail(path, "/shard/index", "expected 1 to the count, " + std::to_string(count));
  f.shard = Shard{.index = index - 1, .count = count};
  const J& files = array(path, member(path, doc, "", "files"), "/files");
  for (size_t i = 0; i < files.size(); ++i) {
    const std::string at = "/files/" + std::to_string(i);
    f.files.push_back(FileFingerprint{.path = text(path, member(path, files[i], at, "path"), at + "/path"),
                                      .bytes = number(path, member(path, files[i], at, "bytes"), at + "/bytes"),
                                      .fnv1a64 = text(path, member(path, files[i], at, "fnv1a64"), at + "/fnv1a64")});
  }
  if (f.command == ShardCommand::Sweep) {
    f.cells = array(path, member(path, doc, "", "cells"), "/cells");
    return f;
  }
  const J& jobs = array(path, member(path, doc, "", "jobs"), "/jobs");
  for (size_t i = 0; i < jobs.size(); ++i) {
    const std::string at = "/jobs/" + std::to_string(i);
    f.jobs.push_back(ShardFile::Job{.file = text(path, member(path, jobs[i], at, "file"), at + "/file"),
                                    .scenario = text(path, member(path, jobs[i], at, "scenario"), at + "/scenario"),
                                    .policy = text(path, member(path, jobs[i], at, "policy"), at + "/policy"),
                                    .part = member(path, jobs[i], at, "part"),
                                    .pointer = at + "/part"});
  }
  return f;
}

ExplorePart read_part(const ShardFile& f, const ShardFile::Job& j, size_t threads) {
  try {
    return part_from_json(j.part, threads, j.pointer);
  } catch (const PartFormatError& e) {
    fail(f.path, e.pointer, e.what());
  }
}

}  // namespace tlbsim::cli
