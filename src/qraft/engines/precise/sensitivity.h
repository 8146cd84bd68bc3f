// Cost sensitivity: do a sweep's best candidates stay best when costs are not what we assumed?
//
// K candidates are re-run on the precise engine with one cost component at a time, and then
// all of them together, scaled by each factor of a curve (0.5x ... 1.5x by default; 1x is the
// base). Components: commission (every commission term: rate, maker/taker, per unit, minimum,
// cap), tax (every levy: stamp duty, transfer, exchange and sell-side fees), slippage (half
// spread and impact), all. At every point the report
// gives the candidates' metrics and, against the base ranking by the objective, the Top-N
// overlap |Top_N(base) ∩ Top_N(point)| / N, the Jaccard index and Spearman's rank correlation
// over all K (reference/robust/SPEC.md §6: ties by metric descending then candidate index; NaN
// ranks last; Spearman with average ranks for ties).
//
// Runs are independent and run in parallel; results are in a fixed order and bit-identical
// whatever the thread count.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/store.h"
#include "qraft/engines/precise/run.h"

namespace qraft::precise {

struct SensitivityOptions {
  std::vector<double> scales{0.5, 0.75, 1.0, 1.25, 1.5};
  std::vector<std::string> components{"commission", "tax", "slippage", "all"};
  std::size_t top = 10;  ///< N (at most K)
  std::string objective = "sharpe";
  PreciseOptions precise;
};

struct SensitivityPoint {
  std::string component;
  double scale = 1;
  std::vector<engines::Metrics> metrics;  ///< per candidate
  double overlap = 0, jaccard = 0, spearman = 0;
};

struct SensitivityReport {
  std::string objective;
  std::size_t top = 0;
  std::vector<strategy::ParamValues> candidates;
  std::vector<engines::Metrics> base;    ///< per candidate, at scale 1
  std::vector<SensitivityPoint> points;  ///< component-major, scales in order
  /// The smallest overlap over every point (the gate's figure).
  double min_overlap = 1;
};

/// The indices of the `n` largest values (NaN last; ties by index), best first.
std::vector<std::size_t> TopN(std::span<const double> values, std::size_t n);
/// |TopN(a, n) ∩ TopN(b, n)| / n and the Jaccard index of the two sets.
double TopNOverlap(std::span<const double> a, std::span<const double> b, std::size_t n);
double TopNJaccard(std::span<const double> a, std::span<const double> b, std::size_t n);
/// Spearman's rho with average ranks for ties, over the pairs where both are finite; NaN with
/// fewer than two such pairs or a constant side.
double SpearmanRho(std::span<const double> a, std::span<const double> b);

/// Runs the curve for `candidates` of `spec` on `data`. Errors: an unknown component or
/// objective, a scale < 0, and RunPrecise's.
Result<SensitivityReport> RunSensitivity(const strategy::StrategySpec& spec, const Panel& data,
                                         std::span<const strategy::ParamValues> candidates,
                                         const SensitivityOptions& options);

/// The same for a sweep's result directory (its strategy, snapshot and results): the
/// `candidates` best combinations by the objective (0 = all) on the snapshot in `store`.
Result<SensitivityReport> RunSweepSensitivity(const data::SnapshotStore& store,
                                              const std::filesystem::path& sweep_dir,
                                              std::size_t candidates, SensitivityOptions options);

/// The report as JSON: {objective, top, candidates: [params], base: [metrics],
/// points: [{component, scale, overlap, jaccard, spearman, objective: [per candidate],
/// total_return: [...]}], min_overlap}.
nlohmann::json ToJson(const SensitivityReport& report);

}  // namespace qraft::precise
