// The operator vocabulary of the expression language: every function a user can call, its
// arguments, and the kernel family that evaluates it.
//
// One table (ops.cc) is the single source of truth: the checker validates calls against it, the
// compiler lowers calls through it, `qraft expr ops` and docs/expressions.md list it.
//
// Thread-safety: the table is immutable after static initialisation.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace qraft::expr {

/// What a compiled node computes. Grouped by kernel family (see IsElementwise etc.).
enum class OpCode : std::uint8_t {
  // Leaves.
  kField,
  kConst,
  // Elementwise (one row at a time).
  kNeg,
  kAbs,
  kSign,
  kLog,
  kExp,
  kSqrt,
  kNot,
  kAdd,
  kSub,
  kMul,
  kDiv,
  kPow,
  kGt,
  kGe,
  kLt,
  kLe,
  kEq,
  kNe,
  kAnd,
  kOr,
  kGreater,
  kLess,
  kIf,
  kIsNan,
  kFillNan,
  // Time series, one symbol at a time (kernels/rolling.h).
  kRef,
  kDelta,
  kMean,
  kSum,
  kStd,
  kVar,
  kSkew,
  kKurt,
  kMax,
  kMin,
  kMed,
  kMad,
  kQuantile,
  kRank,
  kCount,
  kIdxMax,
  kIdxMin,
  kSlope,
  kRsquare,
  kResi,
  kWma,
  kQlibEma,
  kEwm,
  kCorr,
  kCov,
  // Technical indicators with TA-Lib definitions (kernels/ta.h).
  kSma,
  kEma,
  kTaWma,
  kDema,
  kTema,
  kKama,
  kRoc,
  kMom,
  kRsi,
  kMacd,
  kAtr,
  kNatr,
  kTrange,
  kBbands,
  kStoch,
  kCci,
  kAdx,
  kObv,
  kMfi,
  kWillr,
  kVwap,
  kRvol,
  // Cross-sectional, one timestamp at a time (kernels/cs.h).
  kCsRank,
  kCsZscore,
  kCsDemean,
  kCsWinsorize,
  kCsNeutralize,
  kCsScale,
  kCsMean,
  kCsCount,
  kInstrument,  // x of one named symbol, for every symbol (Qlib's Mask / ChangeInstrument)
};

enum class OpFamily : std::uint8_t { kLeaf, kElementwise, kTimeSeries, kIndicator, kCrossSection };
OpFamily FamilyOf(OpCode op);
std::string_view OpCodeName(OpCode op);

/// How an argument is written and checked.
enum class ArgKind : std::uint8_t {
  kSeries,    // any expression
  kGroup,     // a field holding category codes (industry, sector, ...)
  kWindow,    // integer >= 0 rows (0 = expanding; Qlib: a float in (0, 1) = EWM alpha)
  kPeriod,    // integer >= 1
  kLag,       // integer; negative = future (only where future references are allowed)
  kNumber,    // any number
  kFraction,  // number in [0, 1]
  kSymbol,    // a symbol name, quoted: 'SH000300'
};

struct ArgSpec {
  std::string_view name;
  ArgKind kind;
  // A series argument may default to a field (RSI(14) = RSI(close, 14)); a numeric one to a
  // value. Arguments without a default are required.
  std::optional<std::string_view> default_field = std::nullopt;
  std::optional<double> default_number = std::nullopt;
};

struct FunctionDef {
  std::string_view name;  // upper case, as looked up
  OpCode op;
  std::span<const ArgSpec> args;
  std::string_view summary;
  int output = 0;  // which output of a multi-output indicator (MACD: 0 line, 1 signal, 2 hist)
};

/// The definition of `name` (upper case) or nullptr.
const FunctionDef* FindFunction(std::string_view name);
/// Every function, in documentation order.
std::span<const FunctionDef> AllFunctions();
/// Functions whose name is close to `name` (for "did you mean" hints), at most 3.
std::string SuggestFunctions(std::string_view name);

}  // namespace qraft::expr
