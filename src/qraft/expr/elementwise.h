// Scalar definitions of the elementwise operators, shared by constant folding and the
// vectorised evaluator so that both give the same bits.
//
// NaN rules differ by semantics (docs/expressions.md):
//   native: comparisons and logic are three-valued (NaN = unknown): x > NaN is NaN,
//           false and NaN = false, true or NaN = true; If with a NaN condition is NaN.
//   qlib:   numpy's rules: comparisons with NaN are false (!= is true); If treats a NaN
//           condition as true (np.where), logic treats NaN as true (it only ever sees 0/1).
#pragma once

#include <cmath>
#include <limits>

#include "qraft/expr/kernels/kernel.h"
#include "qraft/expr/ops.h"

namespace qraft::expr {

inline constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

template <kernels::Semantics S>
inline double Compare(bool result, double a, double b, bool nan_result_qlib) {
  if (std::isnan(a) || std::isnan(b)) {
    if constexpr (S == kernels::Semantics::kNative) return kNaN;
    return nan_result_qlib ? 1.0 : 0.0;
  }
  return result ? 1.0 : 0.0;
}

/// The value of elementwise `op` at one row. `c` is only read by If/FillNan-style 3-input ops.
template <kernels::Semantics S>
inline double ApplyElementwise(OpCode op, double a, double b, double c) {
  constexpr bool kNative = S == kernels::Semantics::kNative;
  switch (op) {
    case OpCode::kNeg:
      return -a;
    case OpCode::kAbs:
      return std::fabs(a);
    case OpCode::kSign:
      return std::isnan(a) ? a : (a > 0) - (a < 0);
    case OpCode::kLog:
      return std::log(a);
    case OpCode::kExp:
      return std::exp(a);
    case OpCode::kSqrt:
      return std::sqrt(a);
    case OpCode::kAdd:
      return a + b;
    case OpCode::kSub:
      return a - b;
    case OpCode::kMul:
      return a * b;
    case OpCode::kDiv:
      return a / b;
    case OpCode::kPow:
      return std::pow(a, b);
    case OpCode::kGt:
      return Compare<S>(a > b, a, b, false);
    case OpCode::kGe:
      return Compare<S>(a >= b, a, b, false);
    case OpCode::kLt:
      return Compare<S>(a < b, a, b, false);
    case OpCode::kLe:
      return Compare<S>(a <= b, a, b, false);
    case OpCode::kEq:
      return Compare<S>(a == b, a, b, false);
    case OpCode::kNe:
      return Compare<S>(a != b, a, b, true);
    case OpCode::kGreater:
      return (std::isnan(a) || std::isnan(b)) ? kNaN : (a > b ? a : b);
    case OpCode::kLess:
      return (std::isnan(a) || std::isnan(b)) ? kNaN : (a < b ? a : b);
    case OpCode::kIsNan:
      return std::isnan(a) ? 1.0 : 0.0;
    case OpCode::kFillNan:
      return std::isnan(a) ? b : a;
    case OpCode::kNot:
      if (kNative && std::isnan(a)) return kNaN;
      return a == 0 ? 1.0 : 0.0;
    case OpCode::kAnd:
      if constexpr (kNative) {
        if (a == 0 || b == 0) return 0.0;
        if (std::isnan(a) || std::isnan(b)) return kNaN;
        return 1.0;
      }
      return (a != 0 && b != 0) ? 1.0 : 0.0;
    case OpCode::kOr:
      if constexpr (kNative) {
        if ((a != 0 && !std::isnan(a)) || (b != 0 && !std::isnan(b))) return 1.0;
        if (std::isnan(a) || std::isnan(b)) return kNaN;
        return 0.0;
      }
      return (a != 0 || b != 0) ? 1.0 : 0.0;
    case OpCode::kIf:
      if (kNative && std::isnan(a)) return kNaN;
      return a != 0 ? b : c;  // NaN != 0: numpy's where treats NaN as true
    default:
      return kNaN;
  }
}

inline double ApplyElementwise(kernels::Semantics s, OpCode op, double a, double b, double c) {
  return s == kernels::Semantics::kNative
             ? ApplyElementwise<kernels::Semantics::kNative>(op, a, b, c)
             : ApplyElementwise<kernels::Semantics::kQlib>(op, a, b, c);
}

}  // namespace qraft::expr
