// Strict reading of YAML documents (factor libraries, strategy files): every error names
// "source:line:column", unknown keys are errors, numbers are finite.
//
// Thread-safety: a reader is a small value; YAML nodes are not shared across threads.
#pragma once

#include <yaml-cpp/yaml.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/factor/definition.h"

namespace qraft::factor {

/// Parses `text` into a YAML tree; syntax errors name source:line:column.
Result<YAML::Node> LoadYaml(std::string_view text, std::string_view source);

class YamlReader {
 public:
  explicit YamlReader(std::string_view source) : source_(source) {}

  const std::string& source() const { return source_; }

  /// InvalidArgument "source:line:column: message" at `n`.
  Status Error(const YAML::Node& n, std::string_view message) const;
  /// Errors on a key of `map` not in `keys` (listing the allowed ones), or a non-map.
  Status OnlyKeys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
                  std::string_view what) const;
  Result<std::string> String(const YAML::Node& n, std::string_view what) const;
  Result<double> Number(const YAML::Node& n, std::string_view what) const;
  Result<bool> Bool(const YAML::Node& n, std::string_view what) const;
  /// A string or a list of strings.
  Result<std::vector<std::string>> Strings(const YAML::Node& n, std::string_view what) const;
  /// A parameter domain {range: [start, stop, step] | values: [...], default: v}. Range values
  /// are start + i·step (no accumulated rounding). Without `default` and when not required, the
  /// default is the first value.
  Result<ParamDomain> Domain(const YAML::Node& n, const std::string& name,
                             bool require_default) const;

 private:
  std::string source_;
};

}  // namespace qraft::factor
