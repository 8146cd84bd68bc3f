// Data-snooping tests of the quality gates: White's (2000) Reality Check, Hansen's (2005) test
// of Superior Predictive Ability (SPA) and Romano & Wolf's (2005) StepM, on the loss
// differentials of k models against one benchmark. ../shared/reference/robust/SPEC.md §2 and §8
// are normative; `arch` (bashtage/arch, multiple_comparison.py) is the reference implementation.
//
// Inputs are LOSSES (lower is better): d[t,k] = benchmark[t] - model[t,k], so d > 0 means the
// model beat the benchmark, and H0 is max_k E[d_k] <= 0. Pass returns as negated losses
// (benchmark = -r_bench, models = -r_models; r_bench = 0 for "beats cash").
//
// Two modes (SPEC §2.5):
//  * kArchCompat: arch's statistic exactly: the raw mean differential max_k d̄_k against the
//    raw bootstrap maxima max_k (d̄*_k - mu_k), no studentization, no floor. Fed the same index
//    arrays (FixedIndices) it reproduces arch's p-values, critical values, better_models and
//    StepM sets (SPEC §7.2). arch studentizes nothing whatever its `studentize` flag says.
//  * kHansen2005 (the gate default): Hansen's statistic T = max(0, max_k sqrt(T) d̄_k / w_k)
//    and T*_b = max(0, max_k sqrt(T) (d̄*_k,b - mu_k) / w_k), w_k^2 the stationary-bootstrap
//    long-run variance of §2.3. Studentizing keeps a noisy model from dominating the maximum.
//    Caveat of the floor (SPEC §8): when no model beats the benchmark in sample, T = 0 and the
//    p-value is P(T* > 0), which can be small when every model is clearly worse (the recentred
//    bootstrap maxima are then mostly 0). A gate must require `statistic > 0` as well as a
//    small p-value; SpaResult::statistic is reported for that.
//
// The three p-values differ by the recentering mu_k of the bootstrap (SPEC §2.5): lower
// (mu = max(d̄, 0)), consistent (mu = d̄ when d̄ >= -sqrt(w^2/T * 2 ln ln T), else 0) and upper
// (mu = d̄, White's Reality Check). p_lower <= p_consistent <= p_upper.
//
// Performance. The data are prepared once: d, d̄, w^2 (O(T^2 k), SIMD-friendly, parallel over
// columns) and per-model prefix sums of the demeaned d, stored time-major. A bootstrap
// replication is a sequence of runs of consecutive indices (about T/block for the stationary
// bootstrap), so its k means cost O(runs * k) contiguous adds instead of O(T * k) gathers.
// Replications run in parallel (oneTBB), each from its own index vector (IndexProvider::Fill),
// into per-replication slots, and are reduced in replication order: results are bit-identical
// whatever the thread count. Nothing is allocated per replication.
//
// Exactness. Bootstrap means are sums of prefix-sum differences rather than numpy's sums, so
// they differ from arch's in the last bits (about 1e-16 relative); critical values agree to
// 1e-12 and p-values exactly unless a bootstrap maximum ties the statistic to the last bit.
//
// Not implemented: arch's nested (bootstrap) variance and moving-block bootstrap.
//
// Thread-safety: pure functions of their inputs; they use the oneTBB pool (capped by a
// qraft::ThreadLimit in scope) and may be called concurrently.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/robust/bootstrap.h"
#include "qraft/robust/matrix.h"

namespace qraft::robust {

enum class SpaMode : std::uint8_t {
  kArchCompat,  ///< raw mean differentials, no floor: reproduces arch (SPEC §2.5)
  kHansen2005,  ///< studentized by w_k and floored at 0 (Hansen 2005): the gate default
};

/// The bootstrap recentering of the null, indexing SpaResult's arrays (arch's order).
enum class Recentering : std::uint8_t {
  kLower = 0,       ///< mu = max(d̄, 0)
  kConsistent = 1,  ///< mu = d̄ if d̄ >= -sqrt(w^2/T * 2 ln ln T), else 0 (Hansen's choice)
  kUpper = 2,       ///< mu = d̄: White's Reality Check, Romano & Wolf's StepM
};

struct SpaOptions {
  SpaMode mode = SpaMode::kHansen2005;
  /// Bootstrap replications B (>= 1); use >= 1000 for a gate (SPEC §8).
  std::size_t reps = 1000;
  /// Expected block length of the bootstrap, in observations (> 0). It also sets p = 1/block of
  /// the variance kernel (SPEC §2.3), so pass the block of the provider when feeding indices.
  /// 0 selects arch's default floor(sqrt(T)).
  double block = 0.0;
  /// Seeded overloads only (ignored when an IndexProvider is passed): the bootstrap and its
  /// SplitMix64 seed. kCircular needs an integral block.
  BootstrapKind bootstrap = BootstrapKind::kStationary;
  std::uint64_t seed = 0;
};

/// The outcome of one SPA run, with what is needed to reproduce it.
struct SpaResult {
  /// p-values by Recentering: the fraction of replications with T*_b > statistic (strict, as
  /// arch). p_value[kUpper] is White's Reality Check p-value.
  std::array<double, 3> p_value = {};
  /// Monte Carlo standard error of each p-value, sqrt(p (1 - p) / reps).
  std::array<double, 3> p_value_se = {};
  /// The observed statistic: max_k d̄_k (kArchCompat) or max(0, max_k sqrt(T) d̄_k / w_k)
  /// (kHansen2005).
  double statistic = std::numeric_limits<double>::quiet_NaN();

  std::vector<double> mean_diff;    ///< d̄_k, mean loss differential per model (loss units)
  std::vector<double> variance;     ///< w_k^2, long-run variance of d_k (SPEC §2.3)
  std::vector<std::uint8_t> valid;  ///< 1 when d̄_k passes the consistent threshold (§2.4)
  /// The per-model statistic compared with critical values: d̄_k (kArchCompat) or
  /// sqrt(T) d̄_k / w_k (kHansen2005; -inf for a model whose differential is constant, which has
  /// no t-statistic and is left out of the studentized maxima).
  std::vector<double> model_stat;
  /// By Recentering, the bootstrap maxima T*_b for b = 0..reps-1 (in replication order), from
  /// which the p-values and critical values come.
  std::array<std::vector<double>, 3> bootstrap_max;

  SpaMode mode = SpaMode::kHansen2005;
  std::size_t periods = 0;            ///< T
  std::size_t models = 0;             ///< k
  std::size_t reps = 0;               ///< B
  double block = 0.0;                 ///< the block length used (after the floor(sqrt(T)) default)
  std::optional<std::uint64_t> seed;  ///< the provider's seed; none for fed indices

  double pvalue(Recentering r) const { return p_value[static_cast<std::size_t>(r)]; }
  double reality_check_pvalue() const { return pvalue(Recentering::kUpper); }
};

/// SPA / Reality Check on `models` (T x k losses, column-major) against `benchmark` (T losses),
/// drawing options.reps replications from the seeded bootstrap of options.bootstrap/seed.
/// InvalidArgument for shape mismatches, T < 3 (ln ln T), k < 1, reps < 1, a block that is not
/// finite and > 0 (or not integral for kCircular), or, in kHansen2005 mode, when every loss
/// differential is constant; DataError naming the first non-finite loss.
Result<SpaResult> Spa(std::span<const double> benchmark, const MatrixView& models,
                      const SpaOptions& options);

/// As above with replications taken from `indices` (length() must be T, capacity() >= reps):
/// the cross-check path of SPEC §4.1. DataError when a replication holds an index outside [0, T).
Result<SpaResult> Spa(std::span<const double> benchmark, const MatrixView& models,
                      const SpaOptions& options, const IndexProvider& indices);

/// numpy's default ("linear", Hyndman–Fan type 7) percentile of x at q_percent in [0, 100]:
/// h = (n - 1) q, x_lo + (h - lo)(x_hi - x_lo), evaluated as numpy's _lerp. NaN for an empty x
/// or q outside [0, 100]. x need not be sorted (it is copied).
double NumpyPercentileLinear(std::span<const double> x, double q_percent);

/// arch's critical_values(pvalue): by Recentering, the 100 (1 - pvalue) numpy percentile of the
/// bootstrap maxima. InvalidArgument unless 0 < pvalue < 1.
Result<std::array<double, 3>> CriticalValues(const SpaResult& result, double pvalue);

/// arch's better_models(pvalue, type): the models whose model_stat exceeds the critical value
/// (strict), ascending indices into the original columns. InvalidArgument unless 0 < pvalue < 1.
Result<std::vector<std::size_t>> BetterModels(const SpaResult& result, double pvalue,
                                              Recentering recentering = Recentering::kConsistent);

struct StepMOptions {
  SpaOptions spa;  ///< mode, reps, block and (seeded overload) bootstrap and seed
  /// The family-wise error rate, 0 < size < 1.
  double size = 0.05;
  /// kConsistent is arch's (Hsu–Hsu–Kuan "SPA-StepM"); kUpper is Romano & Wolf (2005).
  Recentering recentering = Recentering::kConsistent;
};

struct StepMResult {
  /// The models found superior to the benchmark at FWER `size`, ascending column indices.
  std::vector<std::size_t> superior;
  /// The models rejected at each step (ascending). The last step is empty unless every model was
  /// rejected (the procedure stops there, where arch's loop would crash: SPEC §2.7).
  std::vector<std::vector<std::size_t>> steps;
  /// The first step's SPA on all models: the SPA and Reality Check p-values of the same draws.
  SpaResult spa;
};

/// Romano–Wolf StepM on the draws of one SPA (SPEC §2.7): reject the active models whose
/// model_stat exceeds the (1 - size) quantile of the active bootstrap maxima, drop them, repeat
/// until a step rejects nothing or no model is left. Recentering and validity are computed once
/// on the full set, as in arch. Besides the SPA's memory it stores one double per model and
/// replication (80 MB for 1,000 models x 10,000 replications); InvalidArgument above 2^28 of
/// them, or for a size outside (0, 1), or as Spa.
Result<StepMResult> StepM(std::span<const double> benchmark, const MatrixView& models,
                          const StepMOptions& options);
Result<StepMResult> StepM(std::span<const double> benchmark, const MatrixView& models,
                          const StepMOptions& options, const IndexProvider& indices);

}  // namespace qraft::robust
