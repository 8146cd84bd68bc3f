// A study: one strategy swept (or back-tested) on one snapshot, ranked, with the kept candidates'
// curves and trades — everything `qraft sweep` / `qraft backtest` print and write, as one library
// call the CLI, the Python package and the service share.
//
// RunStudy
//  1. opens the snapshot and checks the strategy's market;
//  2. looks every combination up in the result cache (ResultCache, keyed by snapshot_id, dsl_hash
//     with the metrics options, params_hash and the code version) and sweeps only the missing ones
//     (RunSweep), with the optional early stop: every combination first runs on the first
//     `warmup_bars` bars, the callback sees those metrics, and the ones it stops keep their warm-up
//     metrics (marked `stopped`) instead of running to the end. Values on a prefix are the full
//     run's values on that prefix (no look-ahead), so the warm-up run is exact, and it is
//     deterministic: the callback is called in combination order from one thread;
//  3. ranks by the objective, finds the Pareto front of `pareto` objectives, re-runs the top
//     `keep` combinations with curves and trades kept (memory O(keep × bars)), and stores the new
//     results in the cache.
// Nothing is cached for a build whose code version is "-dirty" or unknown (its results could not
// be told apart from another build's).
//
// Thread-safety: RunStudy may run concurrently for distinct caches; a ResultCache is one SQLite
// connection (one thread at a time), the file may be shared by processes.
#pragma once

#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/data/store.h"
#include "qraft/engines/backtest.h"
#include "qraft/engines/results.h"

namespace qraft::engines {

/// Metrics of finished combinations, in SQLite.
class ResultCache {
 public:
  /// Opens (creating) the cache at `db`, e.g. <store root>/cache/results.db, for results of
  /// `code_version` (default: this build's). A "-dirty" or "+unknown" version caches nothing.
  static Result<std::unique_ptr<ResultCache>> Open(const std::filesystem::path& db,
                                                   std::string_view code_version = {});
  ~ResultCache();
  ResultCache(const ResultCache&) = delete;
  ResultCache& operator=(const ResultCache&) = delete;

  /// The cached result of each combination, or nullopt; in the order of `params`.
  Result<std::vector<std::optional<CombinationResult>>> Lookup(
      std::string_view snapshot_id, std::string_view dsl_hash,
      std::span<const strategy::ParamValues> params) const;
  /// Stores (replacing) results, in one transaction.
  Status Store(std::string_view snapshot_id, std::string_view dsl_hash,
               std::span<const CombinationResult> results);

 private:
  struct Db;
  ResultCache(std::unique_ptr<Db> db, std::string code_version);
  bool cacheable() const;
  std::unique_ptr<Db> db_;
  std::string code_version_;
};

/// The key RunStudy files results under beside snapshot_id: the DSL hash and the options the
/// metrics depend on (bars per year, initial capital, risk-free rate).
std::string ResultCacheKey(std::string_view dsl_hash, const BacktestOptions& options);

struct EarlyStop {
  std::size_t warmup_bars = 0;  ///< > 0 and < the number of bars, else no early stop
  /// true = stop this combination (its warm-up result, combination index).
  std::function<bool(const CombinationResult&, std::size_t)> stop;
};

struct StudyOptions {
  /// backtest.metrics.periods_per_year <= 0 (the default here) = from the snapshot
  /// (PeriodsPerYear below).
  BacktestOptions backtest = [] {
    BacktestOptions b;
    b.metrics.periods_per_year = 0;
    return b;
  }();
  std::string objective = "sharpe";  ///< a metric name; ranking is descending
  /// Pareto objectives, maximised; a leading '-' minimises (e.g. "-volatility"). Empty: none.
  std::vector<std::string> pareto = {"sharpe", "max_drawdown"};
  /// Candidates re-run with curves and trades: the best `keep` by the objective, plus the
  /// Pareto front's members (at most `keep` more, best first).
  std::size_t keep = 10;
  std::size_t top = 0;  ///< SweepOutput::top lists at most this many (0 = all)
  std::optional<EarlyStop> early_stop;
  ResultCache* cache = nullptr;  ///< optional
};

/// Runs the study; output.kind is "sweep" (or "backtest" for one combination).
Result<SweepOutput> RunStudy(const data::SnapshotStore& store, std::string_view snapshot,
                             const strategy::StrategySpec& spec,
                             std::span<const strategy::ParamValues> combinations,
                             const StudyOptions& options, Progress& progress = NullProgress());

/// Bars per year of a snapshot, for annualising: daily bars 252 (365 for a 24/7 market: one
/// without sessions in its pack, e.g. crypto); intraday bars the median number of bars per day
/// times that many days.
double PeriodsPerYear(const data::Snapshot& snapshot);

/// Indices of the results not dominated on `objectives` (see StudyOptions::pareto), in
/// combination order; a result with a NaN objective is never on the front. InvalidArgument for
/// an unknown metric name.
Result<std::vector<std::size_t>> ParetoFront(std::span<const CombinationResult> results,
                                             std::span<const std::string> objectives);

}  // namespace qraft::engines
