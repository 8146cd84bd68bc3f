// Two-stage consistency: does the precise engine, configured like the fast engine, reproduce the
// sweep's figures, and where do the frictions it adds move them?
//
// For K candidates of a sweep (the best by the objective) the precise engine runs first like
// the fast engine (LikeFast: its fill price rule, no latency, no participation cap, its fee
// rates and daily limit flags, a continuous price grid); the key metrics (total return, Sharpe,
// max drawdown, turnover) are compared with the sweep's as |precise - fast| / max(|fast|, 1e-3)
// against `bound` (0.5%; the design bound is 2%). Then the frictions of the realistic
// configuration are switched on one at a time, cumulatively, in this order: costs (the pack's
// fee schedule), limits (limit prices on the bar path), ticks (the pack's price grid),
// partial_fills (the participation cap), latency; each step's change of every key metric is its
// attribution. Steps that change nothing in the configuration are left out.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/data/store.h"
#include "qraft/engines/precise/run.h"

namespace qraft::precise {

struct ConsistencyOptions {
  std::size_t candidates = 10;
  std::string objective = "sharpe";
  double bound = 0.005;
  PreciseOptions realistic;  ///< the configuration whose frictions are attributed
};

/// The key metrics of the comparison, in report order.
inline constexpr std::array<std::string_view, 4> kConsistencyMetrics = {"total_return", "sharpe",
                                                                        "max_drawdown", "turnover"};

struct FrictionStep {
  std::string friction;
  engines::Metrics metrics;  ///< with this friction and the ones before it on
};

struct ConsistencyRow {
  strategy::ParamValues params;
  engines::Metrics fast, like_fast;
  std::array<double, 4> difference{};  ///< per kConsistencyMetrics, relative
  bool pass = false;
  std::vector<FrictionStep> steps = {};
};

struct ConsistencyReport {
  double bound = 0;
  std::vector<ConsistencyRow> rows;
  double max_difference = 0;
  bool pass = true;
};

/// Relative difference as above.
double ConsistencyDifference(double precise, double fast);

/// Compares `fast` (the fast engine's results of `spec` on `data`) with the precise engine.
Result<ConsistencyReport> RunConsistency(const strategy::StrategySpec& spec, const Panel& data,
                                         std::span<const engines::CombinationResult> fast,
                                         const ConsistencyOptions& options);

/// The same for a sweep's result directory, on its snapshot in `store`.
Result<ConsistencyReport> RunSweepConsistency(const data::SnapshotStore& store,
                                              const std::filesystem::path& sweep_dir,
                                              ConsistencyOptions options);

/// {bound, pass, max_difference, rows: [{params, pass, fast: {metric: v}, precise: {...},
/// difference: {...}, steps: [{friction, metrics: {...}, change: {...}}]}]}.
nlohmann::json ToJson(const ConsistencyReport& report);

}  // namespace qraft::precise
