// A factor's definition and metadata: what the factor library stores, versions and serves.
//
// A factor is an expression (expr/parser.h) plus what a reviewer needs to trust and reuse it:
// description, market scope, frequency, parameters with their sweep domains and defaults, the
// derived window (bars of history read) and dependencies, its lifecycle status and a semantic
// version. Definitions come from library YAML files (factors/*.yaml; docs/factors.md) or from the
// registry. The feature signature identifies a factor's *values*: two definitions with the same
// signature compute the same numbers on the same snapshot, so cached values are keyed by it.
//
// Thread-safety: plain values.
#pragma once

#include <compare>
#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/expr/compiler.h"

namespace qraft::factor {

enum class FactorStatus { kProposed, kApproved, kDeprecated };
std::string_view FactorStatusName(FactorStatus s);
Result<FactorStatus> ParseFactorStatus(std::string_view name);

enum class Provenance { kManual, kAuto, kAgent };
std::string_view ProvenanceName(Provenance p);
Result<Provenance> ParseProvenance(std::string_view name);

/// Semantic version MAJOR.MINOR.PATCH.
struct Version {
  int major = 1;
  int minor = 0;
  int patch = 0;
  static Result<Version> Parse(std::string_view text);
  std::string ToString() const;
  auto operator<=>(const Version&) const = default;
};

/// A parameter's sweep domain and default. Values are numbers (windows, thresholds).
struct ParamDomain {
  double default_value = 0;
  std::vector<double> values;  // explicit values, or the expansion of range
  bool has_range = false;
  double range_start = 0, range_stop = 0, range_step = 0;  // inclusive [start, stop] by step
};

using ParamValues = std::map<std::string, double>;

/// start, start + step, ... up to stop (inclusive, with a relative tolerance of 1e-9 steps);
/// each value computed as start + i·step so rounding does not accumulate.
std::vector<double> ExpandRange(double start, double stop, double step);

struct FactorDef {
  std::string library;
  std::string name;
  Version version;
  std::string description;
  std::vector<std::string> market_scope = {"any"};
  std::string frequency = "any";
  std::string expression;
  std::map<std::string, ParamDomain> parameters;
  expr::Semantics semantics = expr::Semantics::kNative;
  int lag = 0;                               // bars between a value's time and its first use
  std::string align_policy = "left-closed";  // a value at t uses data of bars <= t only
  Provenance provenance = Provenance::kManual;
  FactorStatus status = FactorStatus::kProposed;
  std::vector<std::string> tags;
  // Derived by Analyse(): bars of history read at the default parameters (expr::kUnbounded
  // for recursions), and the fields and factor URIs the expression reads.
  int window = 0;
  std::vector<std::string> dependencies;

  /// factor://library/name@version
  std::string Uri() const;
  /// `parameters`' defaults overridden by `overrides`. Errors: unknown parameter name.
  Result<ParamValues> Bind(const ParamValues& overrides) const;
  /// SHA-256 (hex) of the canonical formula, the bound parameters, window, lag, alignment and
  /// semantics. Errors: as Bind, or the expression does not parse.
  Result<std::string> FeatureSignature(const ParamValues& overrides = {}) const;
  /// The JSON form (docs/schema/factor-v1.json); includes the signature at default parameters.
  nlohmann::json ToJson() const;
  static Result<FactorDef> FromJson(const nlohmann::json& j);
};

/// Parses a factor library file (factors/*.yaml format; docs/factors.md). Every factor is
/// analysed (compiled at its default parameters: static checks, window, dependencies). Errors
/// name "source:line:column" and the problem. Unknown keys are errors.
Result<std::vector<FactorDef>> ParseLibraryYaml(std::string_view text, std::string_view source);

/// Compiles `def` at its default parameters (no data: fields unchecked) and fills `window` and
/// `dependencies`. `resolver` resolves factor:// references (may be empty).
Status Analyse(FactorDef& def,
               const std::function<Result<std::string>(std::string_view)>& resolver = {});

/// The expression text with ${name} replaced by the bound values (shortest round-trip form).
std::string SubstituteParams(const std::string& expression, const ParamValues& values);

}  // namespace qraft::factor
