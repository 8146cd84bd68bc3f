// Technical-analysis indicator kernels, TA-Lib compatible.
//
// Definitions are TA-Lib's (C library 0.6.4, as bundled by the Python `ta-lib` 0.6.8 wheel) in
// its default compatibility mode with no unstable period; kernels_ta_test checks every kernel
// against golden files written with TA-Lib's own code (scripts/peers/talib_golden.py) to within
// 1e-9 * max(1, |value|) (on real data they agree to ~1e-13; the last bits differ where the
// arithmetic is arranged for speed or accuracy). VWAP and RVOL are Qraft's own (TA-Lib has no
// such functions).
//
// Shared contract (on top of kernel.h):
//  * Inputs are one symbol's series x[0, r.end) (several aligned series for multi-input kernels);
//    a kernel writes out[r.begin, r.end) and nothing else. Inputs and outputs never alias.
//    Multi-output kernels take one pointer per output; nullptr means "not wanted".
//  * Alignment is that of TA-Lib's Python wrapper: the output has the input's length and its
//    first Lookback*(params) rows are NaN (on a series without missing values).
//  * Units: prices and volumes in, the indicator's usual unit out: prices for the moving averages,
//    bands, MOM, ATR, TRANGE, MACD and VWAP; percent (0..100) for RSI, STOCH, MFI, ADX, NATR and
//    ROC (a change of +3% is 3.0); WILLR in -100..0; CCI unbounded; OBV in volume units; RVOL as a
//    plain fraction (0.02 = 2%, a sum over the window, not annualised).
//  * Degenerate windows follow TA-Lib: where a TA-Lib denominator is zero the output is 0, not NaN
//    or inf. TA-Lib 0.6's zero tests are absolute, and so are these: RSI is 0 when the average
//    gain + loss is below 1e-8, ADX ignores a bar whose smoothed range is below 1e-8, NATR is 0
//    for |close| < 1e-8, KAMA's efficiency ratio is 1 when the path length is below 1e-8, BBANDS'
//    sigma is 0 when the variance is below 1e-8, MFI is 0 when the money flow is below 1. Prices
//    around 1e-4 or below (micro-priced crypto, FX quoted in big units) hit these: rescale first.
//    Exceptions: CCI on a flat window, where TA-Lib returns rounding noise (see there), and VWAP
//    without volume (NaN). Non-positive prices are not special except in RVOL (see there).
//
// Missing values. TA-Lib itself does not handle NaN. A row is *missing* for a kernel when any
// input the kernel reads is NaN on that row (e.g. a blank open does not matter to ATR). Kernels
// come in two families, named in each declaration:
//  * Windowed (out[t] is a function of the rows [t - lookback, t]): out[t] is NaN when any of
//    those rows is missing, else TA-Lib's value. Equivalently: TA-Lib run separately on every
//    maximal stretch of complete rows. After a gap, output resumes `lookback` rows later.
//  * Recursive (unbounded memory: EMA, DEMA, TEMA, KAMA, RSI, MACD, ATR, NATR, ADX, OBV): missing
//    rows are skipped. out[t] is NaN on a missing row and the state carries over it unchanged;
//    "previous value" means the previous complete row, and the warm-up counts complete rows only
//    (the first output comes after `lookback` complete rows). Equivalently: TA-Lib run on the
//    series with the missing rows removed, with its output scattered back.
//  Either way a series without missing rows gives TA-Lib's output (to the tolerance above), and a
//  series whose first rows are missing (a late listing) gives what TA-Lib's Python wrapper gives.
//
// Incremental evaluation (kernel.h): windowed kernels give out[t] independent of r.begin when
// r.begin is 0 or a multiple of kResetPeriod (those with running sums re-sum their window at
// multiples of kResetPeriod and where a window restarts after a gap) and read only the rows
// [r.begin - lookback, r.end); recursive kernels read [0, r.end), recompute from row 0 and use
// r.begin only to decide what they write. Results are bitwise the same either way.
//
// Parameters: each kernel has TA-Lib's valid range: periods in [2, 100000] unless stated ([1, ...]
// for some). Outside it the kernel writes NaN to out[r.begin, r.end); an empty range (r.begin >=
// r.end) writes nothing. Lookback helpers return -1 for invalid parameters.
//
// Cost: O(T) per call with a flat loop over rows, except CCI (O(T * period), as in TA-Lib: its
// mean absolute deviation has no running form). Scratch space, where needed, is one allocation
// of O(period) per call. On 10M bars every kernel runs at least as fast as TA-Lib C's (most 2-6x
// faster; MOM and TRANGE are memory-bound and equal).
//
// Thread-safety: pure functions of their arguments; they may run concurrently on disjoint
// outputs.
#pragma once

#include "qraft/expr/kernels/kernel.h"

namespace qraft::expr::kernels::ta {

/// TA-Lib's default parameters (TA-Lib 0.6; VWAP and RVOL windows are Qraft's choice).
namespace defaults {
inline constexpr int kSmaPeriod = 30;
inline constexpr int kEmaPeriod = 30;
inline constexpr int kWmaPeriod = 30;
inline constexpr int kDemaPeriod = 30;
inline constexpr int kTemaPeriod = 30;
inline constexpr int kKamaPeriod = 30;
inline constexpr int kRocPeriod = 10;
inline constexpr int kMomPeriod = 10;
inline constexpr int kRsiPeriod = 14;
inline constexpr int kMacdFast = 12;
inline constexpr int kMacdSlow = 26;
inline constexpr int kMacdSignal = 9;
inline constexpr int kAtrPeriod = 14;
inline constexpr int kNatrPeriod = 14;
inline constexpr int kBbandsPeriod = 5;
inline constexpr double kBbandsDevUp = 2.0;
inline constexpr double kBbandsDevDn = 2.0;
inline constexpr int kStochFastK = 5;
inline constexpr int kStochSlowK = 3;
inline constexpr int kStochSlowD = 3;
inline constexpr int kCciPeriod = 14;
inline constexpr int kAdxPeriod = 14;
inline constexpr int kMfiPeriod = 14;
inline constexpr int kWillrPeriod = 14;
inline constexpr int kVwapWindow = 20;
inline constexpr int kRvolWindow = 20;
}  // namespace defaults

// ---- Moving averages (input: any price series x) ----------------------------------------------

/// SMA: mean of the last `period` values. Windowed; lookback period - 1.
int LookbackSma(int period);
void Sma(const double* x, Range r, int period, double* out);

/// EMA: e = e' + (x - e') * 2 / (period + 1), seeded with the SMA of the first `period` values
/// (output at the period-th value). Recursive; lookback period - 1.
int LookbackEma(int period);
void Ema(const double* x, Range r, int period, double* out);

/// WMA: linearly weighted mean of the last `period` values, weights 1 (oldest) .. period
/// (newest). Windowed; lookback period - 1.
int LookbackWma(int period);
void Wma(const double* x, Range r, int period, double* out);

/// DEMA: 2 * EMA(x) - EMA(EMA(x)), the outer EMA seeded on the inner one's first `period`
/// outputs. Recursive; lookback 2 * (period - 1).
int LookbackDema(int period);
void Dema(const double* x, Range r, int period, double* out);

/// TEMA: 3 * e1 - 3 * e2 + e3 with e1 = EMA(x), e2 = EMA(e1), e3 = EMA(e2). Recursive;
/// lookback 3 * (period - 1).
int LookbackTema(int period);
void Tema(const double* x, Range r, int period, double* out);

/// KAMA (Kaufman adaptive MA): k = k' + (x - k') * sc^2, sc = ER * (2/3 - 2/31) + 2/31, efficiency
/// ratio ER = |x - x[-period]| / sum of |x - x[-1]| over the last `period` changes (1 when that
/// sum is below 1e-8). The first output, after period + 1 values, starts from k' = the previous
/// value. Recursive (x[-n] is the n-th previous complete value); lookback period.
int LookbackKama(int period);
void Kama(const double* x, Range r, int period, double* out);

// ---- Momentum, oscillators and bands (input: close unless stated) ----------------------------

/// ROC: (x / x[t - period] - 1) * 100, in percent; 0 when x[t - period] is 0. period >= 1.
/// Windowed; lookback period.
int LookbackRoc(int period);
void Roc(const double* x, Range r, int period, double* out);

/// MOM: x - x[t - period]. period >= 1. Windowed; lookback period.
int LookbackMom(int period);
void Mom(const double* x, Range r, int period, double* out);

/// RSI (Wilder): 100 * G / (G + L) with G, L Wilder averages (a = a' + (v - a') / period, seeded
/// with the mean of the first `period` changes) of gains and losses; 0 when G + L < 1e-8.
/// Recursive; lookback period.
int LookbackRsi(int period);
void Rsi(const double* close, Range r, int period, double* out);

/// MACD: macd = EMA_fast(x) - EMA_slow(x), signal = EMA_signal(macd), hist = macd - signal.
/// TA-Lib alignment: the fast EMA is seeded on the `fast` values ending where the slow EMA's seed
/// ends (not on the first `fast` values), and all three outputs start when the signal does. If
/// slow < fast the two are swapped, as TA-Lib does. fast, slow >= 2, signal >= 1. Recursive;
/// lookback max(fast, slow) - 1 + signal - 1 (33 for 12/26/9).
int LookbackMacd(int fast_period, int slow_period, int signal_period);
void Macd(const double* x, Range r, int fast_period, int slow_period, int signal_period,
          double* macd, double* signal, double* hist);

/// BBANDS: middle = SMA(x, period), upper/lower = middle +/- nbdev_up/nbdev_dn * sigma, sigma the
/// population standard deviation of the window (0 when the variance is below 1e-8, as in
/// TA-Lib; computed without TA-Lib's cancellation on large price levels). nbdev may be any finite
/// number. Windowed; lookback period - 1.
int LookbackBbands(int period);
void Bbands(const double* x, Range r, int period, double nbdev_up, double nbdev_dn, double* upper,
            double* middle, double* lower);

/// STOCH (slow stochastic, SMA smoothing, TA-Lib's default MA type): fastk = 100 * (close - LL) /
/// (HH - LL) over `fastk_period` bars (0 when HH == LL), slowk = SMA(fastk, slowk_period), slowd =
/// SMA(slowk, slowd_period). All periods >= 1. Windowed; lookback fastk_period - 1 + slowk_period
/// - 1 + slowd_period - 1.
int LookbackStoch(int fastk_period, int slowk_period, int slowd_period);
void Stoch(const double* high, const double* low, const double* close, Range r, int fastk_period,
           int slowk_period, int slowd_period, double* slowk, double* slowd);

/// CCI: (tp - mean) / (0.015 * mean absolute deviation), tp = (h + l + c) / 3, over `period`
/// bars; 0 when tp == mean or the deviation is 0, and 0 on a flat window (all tp equal), where
/// TA-Lib 0.6 returns rounding noise (0 or +-66.7, depending on how the mean rounds). Windowed;
/// lookback period - 1. O(T * period).
int LookbackCci(int period);
void Cci(const double* high, const double* low, const double* close, Range r, int period,
         double* out);

/// WILLR (Williams %R): -100 * (HH - close) / (HH - LL) over `period` bars, in [-100, 0]; 0 when
/// HH == LL. Windowed; lookback period - 1.
int LookbackWillr(int period);
void Willr(const double* high, const double* low, const double* close, Range r, int period,
           double* out);

/// MFI: 100 * P / (P + N), P and N the sums over `period` bars of tp * volume on bars whose
/// typical price tp = (h + l + c) / 3 rose (P) or fell (N) from the previous bar; 0 when
/// P + N < 1. Windowed; lookback period.
int LookbackMfi(int period);
void Mfi(const double* high, const double* low, const double* close, const double* volume, Range r,
         int period, double* out);

/// OBV: running sum of +volume (close up from the previous complete row), -volume (down), 0
/// (unchanged), starting at the first complete row's volume. Recursive; lookback 0.
int LookbackObv();
void Obv(const double* close, const double* volume, Range r, double* out);

// ---- Volatility and trend (inputs: high, low, close) ------------------------------------------

/// TRANGE: true range max(h, c[-1]) - min(l, c[-1]) (TA-Lib's form: the largest of h - l,
/// |h - c[-1]|, |l - c[-1]|). Windowed; lookback 1.
int LookbackTrange();
void Trange(const double* high, const double* low, const double* close, Range r, double* out);

/// ATR: Wilder average of the true range (a = (a' * (period - 1) + tr) / period), seeded with the
/// mean of the first `period` true ranges. period >= 1. Recursive; lookback period.
int LookbackAtr(int period);
void Atr(const double* high, const double* low, const double* close, Range r, int period,
         double* out);

/// NATR: 100 * ATR / close, in percent; 0 when |close| < 1e-8. period >= 1 (TA-Lib returns the
/// unnormalised true range for period 1, and so does this). Recursive; lookback period.
int LookbackNatr(int period);
void Natr(const double* high, const double* low, const double* close, Range r, int period,
          double* out);

/// ADX: Wilder average of DX = 100 * |+DI - -DI| / (+DI + -DI), the DIs from Wilder-smoothed
/// directional movement over Wilder-smoothed true range (TA-Lib's seeding: sums over the first
/// period - 1 changes, first ADX = mean of the first `period` DX). Recursive; lookback
/// 2 * period - 1.
int LookbackAdx(int period);
void Adx(const double* high, const double* low, const double* close, Range r, int period,
         double* out);

// ---- Qraft's own ------------------------------------------------------------------------------

/// VWAP over a rolling window: sum(tp * volume) / sum(volume) over the last `window` bars, tp =
/// (h + l + c) / 3, in price units; NaN when every volume in the window is 0 (volumes are
/// expected non-negative). window >= 1. Windowed; lookback window - 1.
int LookbackVwap(int window);
void Vwap(const double* high, const double* low, const double* close, const double* volume, Range r,
          int window, double* out);

/// RVOL (realised volatility): sqrt(sum of r^2) over the last `window` log returns r_t =
/// log(close_t / close_{t-1}); not annualised. A non-positive close has no log return and counts
/// as missing (NaN on its row and in the windows holding it). window >= 1. Windowed; lookback
/// window.
int LookbackRvol(int window);
void Rvol(const double* close, Range r, int window, double* out);

}  // namespace qraft::expr::kernels::ta
