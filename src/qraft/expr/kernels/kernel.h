// Shared vocabulary of the expression kernels: the array functions every operator runs.
//
// A kernel computes one operator over flat float64 arrays. Time-series kernels see one symbol's
// series x[0, end) (x[0] is the symbol's first bar in `qlib` semantics, the first row of the
// evaluated range in `native` semantics) and write out[begin, end). Cross-sectional kernels see a
// symbol-major block (x[s * T + t]) and compute the columns t in [begin, end).
//
// Contract that makes incremental evaluation exact: out[t] depends only on x[0, t] and never on
// `begin`, provided `begin` is 0 or a multiple of kResetPeriod. Kernels that keep running sums
// (Mean, Std, Slope, ...) therefore re-sum their window from scratch whenever t is a multiple of
// kResetPeriod (and at `begin`), which also bounds the drift of add/subtract updates. Kernels with
// unbounded memory (EMA and other recursions, expanding windows) may ignore `begin` and recompute
// from 0; they must still write out[begin, end).
//
// NaN is "missing": it is never an error. Inputs and outputs never alias. No allocation in the
// per-element loop; scratch space is allocated once per call. Thread-safety: kernels are pure
// functions of their arguments and may run concurrently on disjoint outputs.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qraft::expr::kernels {

/// The rows (time-series) or timestamps (cross-sectional) a call computes: [begin, end).
struct Range {
  std::size_t begin = 0;
  std::size_t end = 0;
};

/// Which conventions a kernel follows where they differ.
///  kNative: float64, a window yields NaN until it holds min_periods valid values (default: the
///           whole window), TA-Lib definitions for indicators.
///  kQlib:   reproduces Qlib 0.9 / pandas 1.5 exactly (min_periods=1 partial windows, its
///           WMA/EMA/Rank/IdxMax/Rsquare/Corr conventions); see reference/qlib/SPEC.md §1.3.
enum class Semantics : std::uint8_t { kNative, kQlib };

/// Running-sum kernels re-sum their window at absolute rows that are multiples of this.
inline constexpr std::size_t kResetPeriod = 1024;

}  // namespace qraft::expr::kernels
