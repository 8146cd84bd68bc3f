// Rolling time-series kernels: one statistic over a trailing window of one symbol's series.
//
// Every kernel reads x[0, r.end) (one symbol; x[0] is the symbol's first bar in kQlib semantics,
// the first row of the evaluated range in kNative semantics) and writes out[r.begin, r.end);
// nothing else in `out` is touched. Inputs and outputs never alias. An empty range (begin >= end)
// writes nothing.
//
// Window. The window of row t holds the rows [lo(t), t]: lo(t) = max(0, t - length + 1) for
// length >= 1 (so the first length - 1 rows see a partial window), lo(t) = 0 for length == 0
// (expanding: every row since x[0]). "Valid" means not NaN; infinities are valid values. Each
// kernel has a statistic minimum m_stat (1 unless stated: Std/Var/Slope/Rsquare/Resi/Cov/Corr 2,
// Skew 3, Kurt 4). Row t yields NaN unless its window holds at least max(min_periods, m_stat)
// valid values; this is pandas `rolling(length, min_periods)` (and `expanding(min_periods)`) in
// both semantics. Partial windows at the start are used whenever they hold enough valid values,
// as in pandas: no "length rows must have elapsed" rule. With min_periods == length (the kNative
// default) any NaN in the window therefore gives NaN, and so do the first length - 1 rows.
// Count is the one exception (see there). min_periods > length (length >= 1) gives all NaN.
//
// Semantics. kQlib reproduces Qlib 0.9 on pandas 1.5.3 (callers pass min_periods = 1), quirks
// included; kNative has the plain definitions. The differences are listed per kernel; a kernel
// that names none behaves identically in both. Reference: reference/qlib/SPEC.md §1.3.
//
// Infinities. ±inf are valid values with IEEE meaning: Sum/Mean/WMA of a window holding +inf
// (and no -inf) is +inf, holding both is NaN; Std/Var/Skew/Kurt/Slope/Rsquare/Resi/Cov/Corr of a
// window holding an infinity are NaN; order statistics and Max/Min treat them as the largest /
// smallest values. The running sums never see them, so they cannot poison later windows.
//
// Exactness. out[t] depends only on x[0, t] (plus x[t + |k|] for Ref/Delta leads), never on
// r.begin when r.begin is 0 or a multiple of kResetPeriod, nor on r.end: results are
// bit-identical however the rows are split into such calls. Running sums are compensated
// (Neumaier) add/remove updates of values shifted by a pivot (the window mean at the last
// re-sum), re-summed from scratch at r.begin, at rows that are multiples of kResetPeriod, and
// whenever the window's mean lies more than 4 standard deviations from the pivot (a decision that
// depends only on the state since the last reset row, so the contract holds). Expanding
// (length 0) kernels and the recursions (Ewm, QlibEma) ignore r.begin and run from row 0. Order
// statistics, Max/Min and IdxMax/IdxMin are exact functions of the window's values. Against a
// two-pass long-double reference, results agree to ~1e-12 relative on random walks and noise.
//
// Complexity per series of T = r.end rows (w = window length): O(T) for the moment, regression,
// WMA, pairwise, Max/Min/IdxMax/IdxMin (monotonic deque), Count, Ref/Delta and Ewm kernels, plus
// an O(w) re-sum every kResetPeriod rows and whenever a window's mean drifts more than 4 standard
// deviations from its pivot (amortised O(1): rare unless w is tiny). Med/Quantile/Rank keep the
// window's values in a sorted buffer (binary search, then an insertion walk or memmove: O(log w)
// compares plus O(w) moves of contiguous doubles, cheap for w up to ~1000) or, for longer and
// expanding windows (Rank: w > 64), a Fenwick tree over the series' sorted distinct values
// (O(log T) per row after an O(T log T) sort). Mad is O(w) per row (O(T²) expanding), QlibEma
// with span 0 is O(T²): every row re-weights the whole history. Typical cost on 1259-row random
// walks, w = 5..60: Mean/Sum ~3 ns per row, Std/Var 7-13, Slope/Rsquare/Resi 9-19, Max/Min/IdxMax
// ~10, Quantile/Med 15-45, Rank 15-55, Corr 32-50. Scratch space is allocated once per call,
// never per row.
//
// Thread-safety: pure functions of their arguments; calls may run concurrently on disjoint
// outputs.
#pragma once

#include <span>

#include "qraft/expr/kernels/kernel.h"

namespace qraft::expr::kernels {

/// A trailing window. REQUIRES: length >= 0, min_periods >= 1 (asserted in debug builds).
struct Window {
  int length = 0;       ///< rows, current one included; 0 = expanding (every row since x[0])
  int min_periods = 1;  ///< valid values needed for a result (pandas min_periods)
};

// ---- Moments ------------------------------------------------------------------------------------

/// Mean of the valid values.
void Mean(const double* x, Range r, Window w, Semantics s, double* out);

/// Sum of the valid values (a window with no valid value is NaN, not 0).
void Sum(const double* x, Range r, Window w, Semantics s, double* out);

/// Sample standard deviation (ddof = 1), m_stat = 2. A window whose valid values are all equal
/// gives exactly 0.
void Std(const double* x, Range r, Window w, Semantics s, double* out);

/// Sample variance (ddof = 1), m_stat = 2; exactly 0 for a constant window.
void Var(const double* x, Range r, Window w, Semantics s, double* out);

/// Bias-corrected sample skewness G1 = sqrt(n(n-1))/(n-2) · m3/m2^1.5 (pandas), m_stat = 3.
/// Constant window: kQlib 0 (pandas 1.5.3), kNative NaN (0/0). Non-constant window with biased
/// variance m2 <= 1e-14: kQlib NaN (pandas' absolute guard); kNative computes it (NaN if m2 <= 0).
void Skew(const double* x, Range r, Window w, Semantics s, double* out);

/// Bias-corrected excess kurtosis G2 = ((n²-1)·m4/m2² - 3(n-1)²)/((n-2)(n-3)) (pandas),
/// m_stat = 4. Constant window: kQlib -3 (pandas 1.5.3), kNative NaN. The m2 guard as Skew.
void Kurt(const double* x, Range r, Window w, Semantics s, double* out);

// ---- Order statistics ---------------------------------------------------------------------------

/// Largest valid value (NaN ignored in both semantics).
void Max(const double* x, Range r, Window w, Semantics s, double* out);

/// Smallest valid value.
void Min(const double* x, Range r, Window w, Semantics s, double* out);

/// Median of the valid values: the middle one, or the mean of the two middle ones.
void Med(const double* x, Range r, Window w, Semantics s, double* out);

/// Mean absolute deviation about the mean of the valid values, (1/n)·Σ|x_i - mean| (not the
/// median absolute deviation); a single value gives 0. O(w) per row: the deviations around a
/// moving mean have no exact O(log w) update that keeps the bit-identical contract.
void Mad(const double* x, Range r, Window w, Semantics s, double* out);

/// q-quantile of the valid values with linear interpolation (pandas/numpy 'linear'): with the
/// sorted values v[0..n), h = q·(n-1): v[⌊h⌋] + (h - ⌊h⌋)·(v[⌊h⌋+1] - v[⌊h⌋]).
/// REQUIRES: 0 <= q <= 1 (asserted in debug builds).
void Quantile(const double* x, Range r, Window w, double q, Semantics s, double* out);

/// Several quantiles of the same window in one pass (the sorted window is maintained once):
/// outs[i] gets Quantile(x, r, w, qs[i], s). Alpha158's QTLU/QTLD pairs share their windows.
void Quantiles(const double* x, Range r, Window w, std::span<const double> qs, Semantics s,
               double* const* outs);

/// Percentile rank of the current value among the window's valid values: its average 1-based
/// rank among ties, divided by n (pandas rank(pct=True, method='average')); in (0, 1], 1 for the
/// largest. A NaN current value gives NaN.
void Rank(const double* x, Range r, Window w, Semantics s, double* out);

/// Number of valid values (a count, never NaN for lack of valid values: an all-NaN window is 0).
/// NaN only while the window spans fewer than min_periods rows (pandas' count applies
/// min_periods to rows), i.e. never with min_periods = 1.
void Count(const double* x, Range r, Window w, Semantics s, double* out);

/// 1-based position of the window's largest value, counted from the window's oldest row lo(t)
/// (so `length` means the current row once the window is full); ties give the oldest.
/// kNative: NaN values are ignored. kQlib (numpy argmax): if the window holds any NaN, the
/// position of its oldest NaN (so an expanding window sticks at the first NaN ever); a window
/// with too few valid values is still NaN.
void IdxMax(const double* x, Range r, Window w, Semantics s, double* out);

/// As IdxMax for the smallest value.
void IdxMin(const double* x, Range r, Window w, Semantics s, double* out);

// ---- Regression on time -------------------------------------------------------------------------
// OLS of the valid values y_i on their positions: position i - t + length for length >= 1 (the
// oldest slot of a full window is 1, the current row `length`; a partial window uses
// length - L + 1 .. length), i + 1 for length 0. Slope and r² do not depend on the origin; Resi
// is evaluated at the current row's position. NaN rows are skipped but keep their positions.
// Position sums are exact int64, which limits expanding windows (and WMA's) to series of fewer
// than 3,000,000 rows (asserted in debug builds); rolling windows have no such limit.

/// Slope of y on position, m_stat = 2. A NaN current value still gets a slope from the others.
/// A constant window gives exactly 0.
void Slope(const double* x, Range r, Window w, Semantics s, double* out);

/// r² of y on position, m_stat = 2; NaN for a constant window (0/0). kQlib with length >= 1 also
/// sets NaN where the window's own standard deviation (ddof 1, NaN below 2 valid values) is
/// <= 2e-5 (Qlib's np.isclose(std, 0, atol=2e-5) mask); no mask for length 0 (as Qlib).
void Rsquare(const double* x, Range r, Window w, Semantics s, double* out);

/// Residual of the current row, y_t - (slope·pos_t + intercept), m_stat = 2; NaN when the current
/// value is NaN; exactly 0 for a constant window.
void Resi(const double* x, Range r, Window w, Semantics s, double* out);

// ---- Weighted / exponential means ---------------------------------------------------------------

/// Linearly weighted mean of the valid values.
/// kNative: Σ w_i x_i / Σ w_i over valid rows, w_i = length - (t - i) (the current row weighs
///   `length`, the oldest slot 1; expanding: w_i = i + 1). Equals TA-Lib WMA when all are valid.
/// kQlib: np.nanmean(w·x) with w = (1..L)/Σ(1..L), L = rows in the window including NaN (partial
///   windows use 1..L, not the slot weights), i.e. Σ_valid w_i x_i / n: the weighted mean is
///   divided by the valid count again (Qlib's quirk: a constant c gives c/L, so c/length once the
///   window is full).
void Wma(const double* x, Range r, Window w, Semantics s, double* out);

/// pandas x.ewm(alpha, adjust=True, ignore_na=False, min_periods=1).mean(): NaN rows still age
/// the weights; a NaN input carries the previous value (NaN before the first valid value).
/// Recursive: always computed from x[0]. REQUIRES: 0 < alpha <= 1 (asserted in debug builds).
void Ewm(const double* x, Range r, double alpha, double* out);

/// Qlib's EMA(x, span). span >= 1: Ewm(2 / (span + 1)). span == 0: Qlib's expanding kernel:
/// with L = t + 1 rows and a = 1 - 2/(L + 1), out[t] = Σ_valid a^(t-i) x_i / Σ_all a^(t-i) (the
/// NaN rows keep their weight in the denominator; an all-NaN history gives 0, numpy's nansum).
/// O(T^2) for span 0. REQUIRES: span >= 0.
void QlibEma(const double* x, Range r, int span, double* out);

// ---- Shifts -------------------------------------------------------------------------------------

/// x shifted by k rows: out[t] = x[t - k]; k > 0 looks back, k < 0 looks ahead (labels only) and
/// reads x[t - k] only below r.end (callers extend r.end to provide the future); rows outside
/// [0, r.end) give NaN. k == 0: kNative x; kQlib x[0] broadcast (Qlib's Ref(x, 0) quirk).
void Ref(const double* x, Range r, int k, Semantics s, double* out);

/// x - Ref(x, k) with the same conventions (kQlib k == 0: x - x[0]; kNative k == 0: x - x).
void Delta(const double* x, Range r, int k, Semantics s, double* out);

// ---- Two series ---------------------------------------------------------------------------------
// Pairwise-complete observations: rows where both a and b are valid; min_periods counts pairs.

/// Sample covariance (ddof = 1), m_stat = 2; exactly 0 when either side is constant.
void Cov(const double* a, const double* b, Range r, Window w, Semantics s, double* out);

/// Pearson correlation, m_stat = 2; NaN when either side's pairwise values are constant (0/0).
/// kQlib also sets NaN where the rolling standard deviation of a alone or of b alone (each over
/// its own valid values, ddof 1, NaN below 2 values) is <= 2e-5. Length 0 (which raises in Qlib)
/// is the expanding correlation, masked by the expanding standard deviations in kQlib.
void Corr(const double* a, const double* b, Range r, Window w, Semantics s, double* out);

}  // namespace qraft::expr::kernels
