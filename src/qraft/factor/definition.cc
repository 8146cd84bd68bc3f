#include "qraft/factor/definition.h"

#include <fmt/format.h>

#include <cmath>
#include <regex>
#include <set>

#include "qraft/core/hash.h"
#include "qraft/expr/parser.h"
#include "qraft/factor/yaml_reader.h"

namespace qraft::factor {

std::string_view FactorStatusName(FactorStatus s) {
  switch (s) {
    case FactorStatus::kProposed:
      return "proposed";
    case FactorStatus::kApproved:
      return "approved";
    case FactorStatus::kDeprecated:
      return "deprecated";
  }
  return "?";
}

Result<FactorStatus> ParseFactorStatus(std::string_view name) {
  if (name == "proposed") return FactorStatus::kProposed;
  if (name == "approved") return FactorStatus::kApproved;
  if (name == "deprecated") return FactorStatus::kDeprecated;
  return Status::InvalidArgument(
      fmt::format("status '{}': expected proposed, approved or deprecated", name));
}

std::string_view ProvenanceName(Provenance p) {
  switch (p) {
    case Provenance::kManual:
      return "manual";
    case Provenance::kAuto:
      return "auto";
    case Provenance::kAgent:
      return "agent";
  }
  return "?";
}

Result<Provenance> ParseProvenance(std::string_view name) {
  if (name == "manual") return Provenance::kManual;
  if (name == "auto") return Provenance::kAuto;
  if (name == "agent") return Provenance::kAgent;
  return Status::InvalidArgument(
      fmt::format("provenance '{}': expected manual, auto or agent", name));
}

Result<Version> Version::Parse(std::string_view text) {
  static const std::regex kSemver(R"(^(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})\.(0|[1-9]\d{0,5})$)");
  std::cmatch m;
  if (!std::regex_match(text.begin(), text.end(), m, kSemver)) {
    return Status::InvalidArgument(
        fmt::format("version '{}': expected MAJOR.MINOR.PATCH such as 1.2.0", text));
  }
  return Version{std::stoi(m[1].str()), std::stoi(m[2].str()), std::stoi(m[3].str())};
}

std::string Version::ToString() const {
  return fmt::format("{}.{}.{}", major, minor, patch);
}

std::vector<double> ExpandRange(double start, double stop, double step) {
  std::vector<double> out;
  for (std::size_t i = 0;; ++i) {
    const double v = start + static_cast<double>(i) * step;
    if (v > stop + 1e-9 * step) break;
    out.push_back(v);
  }
  return out;
}

std::string FactorDef::Uri() const {
  return fmt::format("factor://{}/{}@{}", library, name, version.ToString());
}

Result<ParamValues> FactorDef::Bind(const ParamValues& overrides) const {
  ParamValues out;
  for (const auto& [param, domain] : parameters)
    out[param] = domain.default_value;
  for (const auto& [param, value] : overrides) {
    if (parameters.count(param) == 0) {
      std::string known;
      for (const auto& [p, d] : parameters)
        known += (known.empty() ? "" : ", ") + p;
      return Status::InvalidArgument(
          fmt::format("{} has no parameter '{}' ({})", Uri(), param,
                      known.empty() ? "it has none" : "it has " + known));
    }
    out[param] = value;
  }
  return out;
}

std::string SubstituteParams(const std::string& expression, const ParamValues& values) {
  std::string out;
  std::size_t i = 0;
  while (i < expression.size()) {
    if (expression.compare(i, 2, "${") == 0) {
      const std::size_t close = expression.find('}', i);
      if (close != std::string::npos) {
        auto it = values.find(expression.substr(i + 2, close - i - 2));
        if (it != values.end()) {
          out += fmt::format("{}", it->second);
          i = close + 1;
          continue;
        }
      }
    }
    out += expression[i++];
  }
  return out;
}

Result<std::string> FactorDef::FeatureSignature(const ParamValues& overrides) const {
  QRAFT_ASSIGN_OR_RETURN(ParamValues bound, Bind(overrides));
  QRAFT_ASSIGN_OR_RETURN(expr::AstNode ast, expr::Parse(SubstituteParams(expression, bound)));
  std::string canonical = fmt::format("qraft.feature/1\nformula={}\n", expr::ToString(ast));
  for (const auto& [param, value] : bound)
    canonical += fmt::format("param.{}={}\n", param, value);
  canonical += fmt::format("window={}\nlag={}\nalign={}\nsemantics={}\n", window, lag, align_policy,
                           expr::SemanticsName(semantics));
  return Sha256Hex(canonical);
}

namespace {

nlohmann::json DomainJson(const ParamDomain& d) {
  nlohmann::json j = {{"default", d.default_value}};
  if (d.has_range) {
    j["range"] = {d.range_start, d.range_stop, d.range_step};
  } else {
    j["values"] = d.values;
  }
  return j;
}

}  // namespace

nlohmann::json FactorDef::ToJson() const {
  nlohmann::json params = nlohmann::json::object();
  for (const auto& [param, domain] : parameters)
    params[param] = DomainJson(domain);
  Result<std::string> signature = FeatureSignature();
  return {{"name", name},
          {"library", library},
          {"uri", Uri()},
          {"version", version.ToString()},
          {"status", std::string(FactorStatusName(status))},
          {"description", description},
          {"market_scope", market_scope},
          {"frequency", frequency},
          {"expression", expression},
          {"parameters", params},
          {"semantics", std::string(expr::SemanticsName(semantics))},
          {"window", window == expr::kUnbounded ? nlohmann::json(nullptr) : nlohmann::json(window)},
          {"lag", lag},
          {"align_policy", align_policy},
          {"dependencies", dependencies},
          {"feature_signature", signature.ok() ? *signature : ""},
          {"provenance", std::string(ProvenanceName(provenance))},
          {"tags", tags}};
}

Status Analyse(FactorDef& def,
               const std::function<Result<std::string>(std::string_view)>& resolver) {
  QRAFT_ASSIGN_OR_RETURN(ParamValues bound, def.Bind({}));
  expr::CompileOptions options;
  options.semantics = def.semantics;
  options.params = bound;
  options.resolve_factor = resolver;
  std::vector<expr::ExprSpec> exprs = {{def.name, def.expression}};
  QRAFT_ASSIGN_OR_RETURN(expr::Program program, expr::Compile(exprs, options));
  def.window = program.lookback();
  def.dependencies = program.fields();
  static const std::regex kUri(R"(factor://[A-Za-z0-9_./@?=&-]+)");
  for (auto it = std::sregex_iterator(def.expression.begin(), def.expression.end(), kUri);
       it != std::sregex_iterator(); ++it) {
    def.dependencies.push_back(it->str());
  }
  return Status::OK();
}

Result<std::vector<FactorDef>> ParseLibraryYaml(std::string_view text, std::string_view source) {
  QRAFT_ASSIGN_OR_RETURN(YAML::Node root, LoadYaml(text, source));
  YamlReader r(source);
  QRAFT_RETURN_NOT_OK(r.OnlyKeys(
      root,
      {"library", "version", "semantics", "provenance", "market_scope", "frequency", "factors"},
      "a factor library"));
  static const std::regex kName(R"(^[A-Za-z_][A-Za-z0-9_]{0,63}$)");
  FactorDef base;
  if (!root["library"]) return r.Error(root, "missing key 'library'");
  QRAFT_ASSIGN_OR_RETURN(base.library, r.String(root["library"], "library"));
  if (!std::regex_match(base.library, kName)) {
    return r.Error(root["library"], "library must be a name of letters, digits and _");
  }
  if (root["version"]) {
    QRAFT_ASSIGN_OR_RETURN(std::string v, r.String(root["version"], "version"));
    Result<Version> version = Version::Parse(v);
    if (!version.ok()) return r.Error(root["version"], version.status().message());
    base.version = *version;
  }
  if (root["semantics"]) {
    QRAFT_ASSIGN_OR_RETURN(std::string s, r.String(root["semantics"], "semantics"));
    Result<expr::Semantics> sem = expr::ParseSemantics(s);
    if (!sem.ok()) return r.Error(root["semantics"], sem.status().message());
    base.semantics = *sem;
  }
  if (root["provenance"]) {
    QRAFT_ASSIGN_OR_RETURN(std::string s, r.String(root["provenance"], "provenance"));
    Result<Provenance> p = ParseProvenance(s);
    if (!p.ok()) return r.Error(root["provenance"], p.status().message());
    base.provenance = *p;
  }
  if (root["market_scope"]) {
    QRAFT_ASSIGN_OR_RETURN(base.market_scope, r.Strings(root["market_scope"], "market_scope"));
  }
  if (root["frequency"]) {
    QRAFT_ASSIGN_OR_RETURN(base.frequency, r.String(root["frequency"], "frequency"));
  }
  const YAML::Node list = root["factors"];
  if (!list || !list.IsSequence()) return r.Error(root, "missing list 'factors'");

  std::vector<FactorDef> out;
  std::set<std::string> seen;
  for (const YAML::Node& f : list) {
    QRAFT_RETURN_NOT_OK(r.OnlyKeys(f,
                                   {"name", "description", "expression", "parameters", "version",
                                    "market_scope", "frequency", "lag", "tags", "provenance"},
                                   "a factor"));
    FactorDef def = base;
    if (!f["name"]) return r.Error(f, "factor without 'name'");
    QRAFT_ASSIGN_OR_RETURN(def.name, r.String(f["name"], "name"));
    if (!std::regex_match(def.name, kName)) {
      return r.Error(f["name"], "factor name must be letters, digits and _ (at most 64)");
    }
    if (!seen.insert(def.name).second) {
      return r.Error(f["name"], fmt::format("factor '{}' is defined twice", def.name));
    }
    if (!f["expression"])
      return r.Error(f, fmt::format("factor {}: missing 'expression'", def.name));
    QRAFT_ASSIGN_OR_RETURN(def.expression, r.String(f["expression"], "expression"));
    if (f["description"]) {
      QRAFT_ASSIGN_OR_RETURN(def.description, r.String(f["description"], "description"));
    }
    if (f["version"]) {
      QRAFT_ASSIGN_OR_RETURN(std::string v, r.String(f["version"], "version"));
      Result<Version> version = Version::Parse(v);
      if (!version.ok()) return r.Error(f["version"], version.status().message());
      def.version = *version;
    }
    if (f["market_scope"]) {
      QRAFT_ASSIGN_OR_RETURN(def.market_scope, r.Strings(f["market_scope"], "market_scope"));
    }
    if (f["frequency"]) {
      QRAFT_ASSIGN_OR_RETURN(def.frequency, r.String(f["frequency"], "frequency"));
    }
    if (f["tags"]) {
      QRAFT_ASSIGN_OR_RETURN(def.tags, r.Strings(f["tags"], "tags"));
    }
    if (f["provenance"]) {
      QRAFT_ASSIGN_OR_RETURN(std::string s, r.String(f["provenance"], "provenance"));
      Result<Provenance> p = ParseProvenance(s);
      if (!p.ok()) return r.Error(f["provenance"], p.status().message());
      def.provenance = *p;
    }
    if (f["lag"]) {
      QRAFT_ASSIGN_OR_RETURN(double lag, r.Number(f["lag"], "lag"));
      if (lag < 0 || lag != std::floor(lag)) {
        return r.Error(f["lag"], "lag must be a non-negative integer");
      }
      def.lag = static_cast<int>(lag);
    }
    if (const YAML::Node params = f["parameters"]) {
      if (!params.IsMap()) return r.Error(params, "parameters must be a mapping");
      for (const auto& kv : params) {
        const std::string pname = kv.first.as<std::string>();
        QRAFT_ASSIGN_OR_RETURN(def.parameters[pname], r.Domain(kv.second, pname, true));
      }
    }
    if (Status st = Analyse(def); !st.ok()) {
      return r.Error(f["expression"], fmt::format("factor {}: {}", def.name, st.message()));
    }
    out.push_back(std::move(def));
  }
  return out;
}

Result<FactorDef> FactorDef::FromJson(const nlohmann::json& j) {
  try {
    FactorDef d;
    d.library = j.at("library").get<std::string>();
    d.name = j.at("name").get<std::string>();
    QRAFT_ASSIGN_OR_RETURN(d.version, Version::Parse(j.at("version").get<std::string>()));
    QRAFT_ASSIGN_OR_RETURN(d.status, ParseFactorStatus(j.at("status").get<std::string>()));
    d.description = j.value("description", "");
    d.market_scope = j.value("market_scope", std::vector<std::string>{"any"});
    d.frequency = j.value("frequency", "any");
    d.expression = j.at("expression").get<std::string>();
    QRAFT_ASSIGN_OR_RETURN(d.semantics, expr::ParseSemantics(j.value("semantics", "native")));
    d.lag = j.value("lag", 0);
    d.align_policy = j.value("align_policy", "left-closed");
    QRAFT_ASSIGN_OR_RETURN(d.provenance, ParseProvenance(j.value("provenance", "manual")));
    d.tags = j.value("tags", std::vector<std::string>{});
    const nlohmann::json params = j.value("parameters", nlohmann::json::object());
    for (const auto& [name, p] : params.items()) {
      ParamDomain dom;
      dom.default_value = p.at("default").get<double>();
      if (p.contains("range")) {
        dom.has_range = true;
        dom.range_start = p["range"][0].get<double>();
        dom.range_stop = p["range"][1].get<double>();
        dom.range_step = p["range"][2].get<double>();
        dom.values = ExpandRange(dom.range_start, dom.range_stop, dom.range_step);
      } else {
        dom.values = p.value("values", std::vector<double>{});
      }
      d.parameters[name] = dom;
    }
    d.window = j.value("window", nlohmann::json(nullptr)).is_null() ? expr::kUnbounded
                                                                    : j["window"].get<int>();
    d.dependencies = j.value("dependencies", std::vector<std::string>{});
    return d;
  } catch (const nlohmann::json::exception& e) {
    return Status::DataError(fmt::format("factor definition JSON: {}", e.what()));
  }
}

}  // namespace qraft::factor
