// Strategy DSL v1: a strategy described once, in YAML, statically checked, with a stable hash.
//
// The format and every section are documented with examples in docs/dsl.md and published as
// JSON Schema (docs/schema/strategy-v1.json). ParseStrategy checks everything that can be checked
// without data: unknown keys, types and ranges, every expression (compiled at the parameters'
// defaults), parameters referenced but not declared or declared but not used, the `where`
// constraint, the selection/position/risk combinations, and the look-ahead guard (a decision
// from bar t fills at the next tradable price after t; filling at t's own close needs the explicit
// `execution.assume_close_fill: true`, which is then reported as an assumption). Errors are
// InvalidArgument "file:line:column: message" (expression errors point into the expression) and
// usually carry a hint.
//
// dsl_hash is the SHA-256 of the canonical form (Canonical()): parsed values with defaults
// filled in, expressions in canonical spelling, keys sorted — YAML formatting, key order, comments
// and expression spacing do not change it.
//
// Thread-safety: a StrategySpec is a plain value.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/factor/definition.h"

namespace qraft::strategy {

using ParamValues = factor::ParamValues;

/// A number in the DSL: a literal, or a ${param} the sweep fills in.
struct Num {
  double value = 0;
  std::string param;  // non-empty: the value is ${param}
  double Resolve(const ParamValues& params) const;
};

struct Universe {
  enum class Kind { kAll, kMarket, kSymbols, kInstrumentsFile, kFilter };
  Kind kind = Kind::kAll;
  std::string market;                // kMarket
  std::vector<std::string> symbols;  // kSymbols
  std::string file;                  // kInstrumentsFile
  std::string filter;                // kFilter: an expression, true where a symbol is eligible
};

struct Rebalance {
  enum class Kind { kEveryBars, kWeekEnd, kMonthEnd };
  Kind kind = Kind::kEveryBars;
  int bars = 1;  // kEveryBars
};

struct Signals {
  std::string long_entry;  // `long`
  std::string long_exit;   // `exit`
  std::string short_entry;
  std::string short_exit;
};

struct Selection {
  enum class Mode { kAllSignals, kTopK, kQuantile, kThreshold };
  Mode mode = Mode::kAllSignals;
  std::string score;
  Num topk{0, ""};
  // Present: Qlib's TopkDropout (at most n_drop names replaced per rebalance). Absent: the
  // selection is rebalanced to target weights (the weights engine).
  std::optional<Num> n_drop;
  Num quantile{0, ""};   // kQuantile: the top fraction held, in (0, 1]
  Num threshold{0, ""};  // kThreshold: hold where score >= threshold
};

struct Position {
  enum class Scheme { kEqual, kScoreWeight, kVolTarget, kInverseVol };
  Scheme scheme = Scheme::kEqual;
  std::optional<Num> target_vol;  // annualised, kVolTarget
  std::optional<Num> max_weight;  // per position, fraction of equity
  Num vol_window{20, ""};         // bars for vol_target / inverse_vol
};

struct GroupLimit {
  std::string field;
  Num max{0, ""};
};

struct Risk {
  std::optional<Num> stop_loss, take_profit, trailing_stop;  // per position, fractions
  std::optional<Num> max_drawdown;                           // portfolio circuit breaker
  std::optional<Num> turnover_max;                           // per rebalance
  std::optional<GroupLimit> group_max_weight;
};

struct Costs {
  std::string market;  // a cost pack (markets/*.yaml); explicit fields override it
  std::optional<Num> fee_bps, min_fee, tax_bps;
  std::optional<Num> spread_bps, impact_alpha, impact_beta, latency_ms;
};

struct Execution {
  enum class Price { kNextOpen, kClose, kVwap };
  Price price = Price::kNextOpen;
  bool assume_close_fill = false;
};

struct ParamSpec {
  std::string name;
  factor::ParamDomain domain;
};

struct StrategySpec {
  int version = 1;
  std::string name;
  std::string description;
  Universe universe;
  Rebalance rebalance;
  Signals signals;
  Selection selection;
  Position position;
  Risk risk;
  Costs costs;
  std::optional<Num> hold_min_bars;  // hold.min_days
  std::optional<Num> cooldown_bars;  // cooldown_days
  Execution execution;
  std::vector<ParamSpec> params;  // declaration order
  std::string where;
  /// Assumptions the strategy makes that a reviewer must see (e.g. close fills).
  std::vector<std::string> assumptions;
  /// The strategy file's directory (LoadStrategy), against which relative paths in it (e.g.
  /// universe.instruments) resolve; empty = the working directory. Not part of the canonical form.
  std::filesystem::path base_dir;

  /// The canonical JSON form (see the file comment).
  nlohmann::json Canonical() const;
  /// SHA-256 hex of Canonical().dump().
  std::string DslHash() const;
  /// Every expression with its role ("signals.long", "selection.score", "universe.filter").
  std::vector<std::pair<std::string, std::string>> Expressions() const;
  /// The parameter combinations the sweep runs: the grid in declaration order (last parameter
  /// fastest), filtered by `where`. Errors: more than 1,000,000 combinations.
  Result<std::vector<ParamValues>> Combinations() const;
  /// `n` distinct combinations drawn from the parameter domains and kept only where `where`
  /// holds, in draw order: kRandom draws every parameter uniformly from its values; kLatinHypercube
  /// gives each parameter n equal strata of its values, one draw per stratum, in a random
  /// pairing (strata are exact before `where` filters and duplicates are dropped). Seeded with a
  /// portable SplitMix64, so the same seed gives the same combinations on every machine. Fewer
  /// than n come back when the domain has fewer distinct combinations.
  enum class Sampling { kRandom, kLatinHypercube };
  Result<std::vector<ParamValues>> Sample(Sampling method, std::size_t n, std::uint64_t seed) const;
  /// The defaults of every parameter, overridden by `overrides`. Errors: an unknown name.
  Result<ParamValues> Bind(const ParamValues& overrides) const;
};

Result<StrategySpec> ParseStrategy(std::string_view text, std::string_view source);
/// The strategy a result directory recorded (StrategySpec::Canonical()), rebuilt so that it can
/// be re-run: the same canonical form and dsl_hash (name, description and base_dir are not
/// part of it). Parameter domains come back as their values. InvalidArgument naming the field
/// for a malformed document.
Result<StrategySpec> StrategyFromCanonical(const nlohmann::json& canonical);
Result<StrategySpec> LoadStrategy(const std::filesystem::path& path);

}  // namespace qraft::strategy
