// Cross-sectional kernels: one statistic across symbols at each timestamp.
//
// Input and output are symbol-major blocks (x[s * T + t], S symbols, T times), as in a Panel
// field. A call computes the columns t in [range.begin, range.end) for every symbol and writes
// out[s * T + t] there; nothing else in `out` is touched. Each column depends on that column of
// the inputs only, so results are bit-identical however the time range is split into calls.
//
// Groups: `Block::group` (optional, same layout) holds categorical codes as doubles, e.g. an
// industry field. With groups, every op works within each group separately at each t; a symbol
// whose group is NaN is excluded and gets NaN. Without groups the whole cross-section is one
// group. NaN x is missing: it is excluded from the statistics and stays NaN in the output. Only
// NaN is missing; infinities are values and propagate as IEEE arithmetic dictates.
//
// Cost: O(S) per column for the moment statistics, O(S log S) for Rank and the quantile
// Winsorize (a sort per group), O(S K^2) for Neutralize with K exposures. Timestamps are
// processed in blocks of 16 columns transposed into a scratch buffer, so the strided walk over
// symbols stays in cache; grouping by code is sorted once and reused while the group column does
// not change (industries rarely do). Scratch is allocated once per call.
//
// Thread-safety: pure functions; calls may run concurrently on disjoint outputs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

#include "qraft/expr/kernels/kernel.h"

namespace qraft::expr::kernels::cs {

/// A symbol-major input block.
struct Block {
  const double* x = nullptr;  ///< x[s * num_times + t]
  std::size_t num_symbols = 0;
  std::size_t num_times = 0;
  /// Optional group codes in the same layout; nullptr: the whole cross-section is one group.
  const double* group = nullptr;
};

/// Percentile rank, ascending: the average rank of ties (1-based) divided by the number of valid
/// values n, so in (0, 1] and 1 for the largest (CS_RANK, PCT_RANK; pandas rank(pct=True)).
void Rank(const Block& in, Range range, double* out);

/// (x - mean) / std with std of ddof=1 (Qlib's CSZScoreNorm). NaN when the group has fewer than
/// two valid values or all its values are equal.
void ZScore(const Block& in, Range range, double* out);

/// x - mean.
void Demean(const Block& in, Range range, double* out);

/// x / sum(|x|): weights with gross exposure 1. NaN when the group's sum of |x| is 0.
void Scale(const Block& in, Range range, double* out);

/// The group mean, broadcast to every valid member.
void Mean(const Block& in, Range range, double* out);

/// The group's number of valid values, broadcast to every valid member.
void Count(const Block& in, Range range, double* out);

enum class WinsorizeMode : std::uint8_t {
  kSigma,     ///< clip to mean ± limit · std (std of ddof=1)
  kQuantile,  ///< clip to the [limit, 1 - limit] quantiles (numpy's linear interpolation)
};

struct WinsorizeSpec {
  WinsorizeMode mode = WinsorizeMode::kSigma;
  /// kSigma: k >= 0 (e.g. 3). kQuantile: q in [0, 0.5] (e.g. 0.01).
  double limit = 3.0;
};

/// Whether `spec` has a limit its mode accepts (the expression compiler's check).
bool IsValid(const WinsorizeSpec& spec);

/// Clips each group's values (see WinsorizeMode). A group with one valid value is unchanged.
/// REQUIRES: IsValid(spec) (checked).
void Winsorize(const Block& in, WinsorizeSpec spec, Range range, double* out);

/// The residual of the per-timestamp OLS of x on the group dummies and, if given, K numeric
/// exposures (arrays in the same layout as x, e.g. log market cap). Without exposures this is
/// Demean; without groups the dummies reduce to an intercept. A symbol with any exposure NaN is
/// excluded (NaN output). Exposures that are collinear with the dummies or each other (at that
/// timestamp) are dropped, so the residual is still the projection onto the regressors' span.
/// Solved by Householder QR on the within-group-demeaned exposures (Frisch-Waugh-Lovell).
void Neutralize(const Block& in, std::span<const double* const> exposures, Range range,
                double* out);

}  // namespace qraft::expr::kernels::cs
