#include "qraft/factor/yaml_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace qraft::factor {

Result<YAML::Node> LoadYaml(std::string_view text, std::string_view source) {
  try {
    return YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(
        fmt::format("{}:{}:{}: {}", source, e.mark.line + 1, e.mark.column + 1, e.msg));
  }
}

Status YamlReader::Error(const YAML::Node& n, std::string_view message) const {
  const YAML::Mark m = n.Mark();
  if (m.is_null()) return Status::InvalidArgument(fmt::format("{}: {}", source_, message));
  return Status::InvalidArgument(
      fmt::format("{}:{}:{}: {}", source_, m.line + 1, m.column + 1, message));
}

Status YamlReader::OnlyKeys(const YAML::Node& map, std::initializer_list<std::string_view> keys,
                            std::string_view what) const {
  if (!map.IsMap()) return Error(map, fmt::format("{} must be a mapping", what));
  for (const auto& kv : map) {
    const std::string key = kv.first.as<std::string>();
    if (std::find(keys.begin(), keys.end(), key) == keys.end()) {
      std::string allowed;
      for (std::string_view k : keys)
        allowed += (allowed.empty() ? "" : ", ") + std::string(k);
      return Error(kv.first,
                   fmt::format("unknown key '{}' in {} (allowed: {})", key, what, allowed));
    }
  }
  return Status::OK();
}

Result<std::string> YamlReader::String(const YAML::Node& n, std::string_view what) const {
  if (!n.IsScalar()) return Error(n, fmt::format("{} must be a string", what));
  return n.as<std::string>();
}

Result<double> YamlReader::Number(const YAML::Node& n, std::string_view what) const {
  double v = 0;
  if (!n.IsScalar() || !YAML::convert<double>::decode(n, v) || !std::isfinite(v)) {
    return Error(n, fmt::format("{} must be a number", what));
  }
  return v;
}

Result<bool> YamlReader::Bool(const YAML::Node& n, std::string_view what) const {
  bool v = false;
  if (!n.IsScalar() || !YAML::convert<bool>::decode(n, v)) {
    return Error(n, fmt::format("{} must be true or false", what));
  }
  return v;
}

Result<std::vector<std::string>> YamlReader::Strings(const YAML::Node& n,
                                                     std::string_view what) const {
  std::vector<std::string> out;
  if (n.IsScalar()) {
    out.push_back(n.as<std::string>());
    return out;
  }
  if (!n.IsSequence()) return Error(n, fmt::format("{} must be a list of strings", what));
  for (const auto& item : n) {
    QRAFT_ASSIGN_OR_RETURN(std::string s, String(item, what));
    out.push_back(std::move(s));
  }
  return out;
}

Result<ParamDomain> YamlReader::Domain(const YAML::Node& n, const std::string& name,
                                       bool require_default) const {
  QRAFT_RETURN_NOT_OK(OnlyKeys(n, {"default", "range", "values"}, "parameter " + name));
  ParamDomain d;
  if (n["range"] && n["values"]) {
    return Error(n, fmt::format("parameter {}: give range or values, not both", name));
  }
  if (const YAML::Node r = n["range"]) {
    if (!r.IsSequence() || r.size() != 3) {
      return Error(r, fmt::format("parameter {}: range must be [start, stop, step]", name));
    }
    QRAFT_ASSIGN_OR_RETURN(d.range_start, Number(r[0], "range start"));
    QRAFT_ASSIGN_OR_RETURN(d.range_stop, Number(r[1], "range stop"));
    QRAFT_ASSIGN_OR_RETURN(d.range_step, Number(r[2], "range step"));
    if (d.range_step <= 0 || d.range_stop < d.range_start ||
        (d.range_stop - d.range_start) / d.range_step > 1e6) {
      return Error(r, fmt::format("parameter {}: range needs start <= stop and a positive step "
                                  "(at most 1e6 values)",
                                  name));
    }
    d.has_range = true;
    d.values = ExpandRange(d.range_start, d.range_stop, d.range_step);
  } else if (const YAML::Node vs = n["values"]) {
    if (!vs.IsSequence() || vs.size() == 0) {
      return Error(vs, fmt::format("parameter {}: values must be a non-empty list", name));
    }
    for (const auto& v : vs) {
      QRAFT_ASSIGN_OR_RETURN(double x, Number(v, "value"));
      d.values.push_back(x);
    }
  } else if (!require_default) {
    return Error(n, fmt::format("parameter {}: give a range or values", name));
  }
  if (!n["default"]) {
    if (require_default) return Error(n, fmt::format("parameter {}: missing default", name));
    d.default_value = d.values.front();
    return d;
  }
  QRAFT_ASSIGN_OR_RETURN(d.default_value, Number(n["default"], "default"));
  if (!d.values.empty() &&
      std::find(d.values.begin(), d.values.end(), d.default_value) == d.values.end() &&
      !(d.has_range && d.default_value >= d.range_start && d.default_value <= d.range_stop)) {
    return Error(n["default"], fmt::format("parameter {}: default {} is outside its domain", name,
                                           d.default_value));
  }
  return d;
}

}  // namespace qraft::factor
