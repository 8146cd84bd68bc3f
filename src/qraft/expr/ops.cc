#include "qraft/expr/ops.h"

#include <algorithm>
#include <array>
#include <string>
#include <vector>

namespace qraft::expr {
namespace {

using K = ArgKind;

// Argument lists shared by many functions.
constexpr ArgSpec kX[] = {{"x", K::kSeries}};
constexpr ArgSpec kXY[] = {{"x", K::kSeries}, {"y", K::kSeries}};
constexpr ArgSpec kCAB[] = {{"cond", K::kSeries}, {"then", K::kSeries}, {"else", K::kSeries}};
constexpr ArgSpec kXV[] = {{"x", K::kSeries}, {"value", K::kSeries}};
constexpr ArgSpec kXLag[] = {{"x", K::kSeries}, {"n", K::kLag}};
constexpr ArgSpec kXN[] = {
    {"x", K::kSeries}, {"n", K::kWindow}, {"min_periods", K::kPeriod, {}, 0}};
constexpr ArgSpec kXNQ[] = {
    {"x", K::kSeries}, {"n", K::kWindow}, {"q", K::kFraction}, {"min_periods", K::kPeriod, {}, 0}};
constexpr ArgSpec kXYN[] = {
    {"x", K::kSeries}, {"y", K::kSeries}, {"n", K::kWindow}, {"min_periods", K::kPeriod, {}, 0}};
constexpr ArgSpec kEmaArgs[] = {{"x", K::kSeries, "close"}, {"n", K::kWindow, {}, 30}};
constexpr ArgSpec kWmaArgs[] = {{"x", K::kSeries, "close"}, {"n", K::kWindow, {}, 30}};
constexpr ArgSpec kClose30[] = {{"x", K::kSeries, "close"}, {"n", K::kPeriod, {}, 30}};
constexpr ArgSpec kClose14[] = {{"x", K::kSeries, "close"}, {"n", K::kPeriod, {}, 14}};
constexpr ArgSpec kClose10[] = {{"x", K::kSeries, "close"}, {"n", K::kPeriod, {}, 10}};
constexpr ArgSpec kClose20[] = {{"x", K::kSeries, "close"}, {"n", K::kPeriod, {}, 20}};
constexpr ArgSpec kMacdArgs[] = {{"x", K::kSeries, "close"},
                                 {"fast", K::kPeriod, {}, 12},
                                 {"slow", K::kPeriod, {}, 26},
                                 {"signal", K::kPeriod, {}, 9}};
constexpr ArgSpec kBbandsArgs[] = {
    {"x", K::kSeries, "close"}, {"n", K::kPeriod, {}, 5}, {"nbdev", K::kNumber, {}, 2}};
constexpr ArgSpec kHlc14[] = {{"high", K::kSeries, "high"},
                              {"low", K::kSeries, "low"},
                              {"close", K::kSeries, "close"},
                              {"n", K::kPeriod, {}, 14}};
constexpr ArgSpec kHlc[] = {
    {"high", K::kSeries, "high"}, {"low", K::kSeries, "low"}, {"close", K::kSeries, "close"}};
constexpr ArgSpec kStochArgs[] = {{"high", K::kSeries, "high"},   {"low", K::kSeries, "low"},
                                  {"close", K::kSeries, "close"}, {"fastk", K::kPeriod, {}, 5},
                                  {"slowk", K::kPeriod, {}, 3},   {"slowd", K::kPeriod, {}, 3}};
constexpr ArgSpec kObvArgs[] = {{"close", K::kSeries, "close"}, {"volume", K::kSeries, "volume"}};
constexpr ArgSpec kHlcv14[] = {{"high", K::kSeries, "high"},
                               {"low", K::kSeries, "low"},
                               {"close", K::kSeries, "close"},
                               {"volume", K::kSeries, "volume"},
                               {"n", K::kPeriod, {}, 14}};
constexpr ArgSpec kVwapArgs[] = {{"high", K::kSeries, "high"},
                                 {"low", K::kSeries, "low"},
                                 {"close", K::kSeries, "close"},
                                 {"volume", K::kSeries, "volume"},
                                 {"n", K::kPeriod, {}, 20}};
constexpr ArgSpec kMaskArgs[] = {{"x", K::kSeries}, {"instrument", K::kSymbol}};
constexpr ArgSpec kChangeInstrumentArgs[] = {{"instrument", K::kSymbol}, {"x", K::kSeries}};
constexpr ArgSpec kCsArgs[] = {{"x", K::kSeries}, {"by", K::kGroup, ""}};
constexpr ArgSpec kWinsorArgs[] = {
    {"x", K::kSeries}, {"k", K::kNumber, {}, 3}, {"q", K::kFraction, {}, 0}, {"by", K::kGroup, ""}};
constexpr ArgSpec kNeutralArgs[] = {{"x", K::kSeries},
                                    {"by", K::kGroup, ""},
                                    {"exposure", K::kSeries, ""},
                                    {"exposure2", K::kSeries, ""}};

#define FN(name, op, args, summary)    \
  FunctionDef {                        \
    name, OpCode::op, args, summary, 0 \
  }
#define FN_OUT(name, op, args, summary, out) \
  FunctionDef {                              \
    name, OpCode::op, args, summary, out     \
  }

const std::vector<FunctionDef>& Table() {
  static const std::vector<FunctionDef> table = {
      // Elementwise. The infix operators parse to these names.
      FN("ADD", kAdd, kXY, "x + y"),
      FN("SUB", kSub, kXY, "x - y"),
      FN("MUL", kMul, kXY, "x * y"),
      FN("DIV", kDiv, kXY, "x / y (x/0 = ±inf, 0/0 = NaN)"),
      FN("POWER", kPow, kXY, "x ^ y"),
      FN("NEG", kNeg, kX, "-x"),
      FN("GT", kGt, kXY, "x > y"),
      FN("GE", kGe, kXY, "x >= y"),
      FN("LT", kLt, kXY, "x < y"),
      FN("LE", kLe, kXY, "x <= y"),
      FN("EQ", kEq, kXY, "x == y"),
      FN("NE", kNe, kXY, "x != y"),
      FN("AND", kAnd, kXY, "x and y"),
      FN("OR", kOr, kXY, "x or y"),
      FN("NOT", kNot, kX, "not x"),
      FN("IF", kIf, kCAB, "then where cond is true, else else"),
      FN("ABS", kAbs, kX, "|x|"),
      FN("SIGN", kSign, kX, "-1, 0 or 1"),
      FN("LOG", kLog, kX, "natural logarithm"),
      FN("EXP", kExp, kX, "e^x"),
      FN("SQRT", kSqrt, kX, "square root"),
      FN("GREATER", kGreater, kXY, "elementwise maximum (NaN if either is NaN)"),
      FN("LESS", kLess, kXY, "elementwise minimum (NaN if either is NaN)"),
      FN("ISNAN", kIsNan, kX, "1 where x is missing, else 0"),
      FN("FILLNAN", kFillNan, kXV, "x with missing values replaced by value"),
      // Time series (Qlib's operators).
      FN("REF", kRef, kXLag, "x n bars ago (n < 0 looks into the future: labels only)"),
      FN("DELTA", kDelta, kXLag, "x - Ref(x, n)"),
      FN("MEAN", kMean, kXN, "rolling mean over n bars"),
      FN("SUM", kSum, kXN, "rolling sum"),
      FN("STD", kStd, kXN, "rolling sample standard deviation (ddof 1)"),
      FN("VAR", kVar, kXN, "rolling sample variance (ddof 1)"),
      FN("SKEW", kSkew, kXN, "rolling skewness (bias-corrected)"),
      FN("KURT", kKurt, kXN, "rolling excess kurtosis (bias-corrected)"),
      FN("MAX", kMax, kXN, "rolling maximum"),
      FN("MIN", kMin, kXN, "rolling minimum"),
      FN("MED", kMed, kXN, "rolling median"),
      FN("MAD", kMad, kXN, "rolling mean absolute deviation about the mean"),
      FN("QUANTILE", kQuantile, kXNQ, "rolling q-quantile (linear interpolation)"),
      FN("RANK", kRank, kXN, "percentile of the current value within its window"),
      FN("COUNT", kCount, kXN, "number of non-missing values in the window"),
      FN("IDXMAX", kIdxMax, kXN, "1-based position of the window maximum, oldest = 1"),
      FN("IDXMIN", kIdxMin, kXN, "1-based position of the window minimum, oldest = 1"),
      FN("SLOPE", kSlope, kXN, "OLS slope of x on time over the window"),
      FN("RSQUARE", kRsquare, kXN, "R² of the regression of x on time"),
      FN("RESI", kResi, kXN, "residual of the current value from that regression"),
      FN("CORR", kCorr, kXYN, "rolling Pearson correlation"),
      FN("COV", kCov, kXYN, "rolling covariance (ddof 1)"),
      // Indicators (TA-Lib definitions; EMA and WMA follow Qlib under qlib semantics).
      FN("SMA", kSma, kClose30, "simple moving average"),
      FN("EMA", kEma, kEmaArgs, "exponential moving average, alpha = 2/(n+1)"),
      FN("WMA", kTaWma, kWmaArgs, "linearly weighted moving average"),
      FN("DEMA", kDema, kClose30, "double exponential moving average"),
      FN("TEMA", kTema, kClose30, "triple exponential moving average"),
      FN("KAMA", kKama, kClose30, "Kaufman adaptive moving average"),
      FN("ROC", kRoc, kClose10, "rate of change in percent: (x/Ref(x,n) - 1) * 100"),
      FN("MOM", kMom, kClose10, "momentum: x - Ref(x, n)"),
      FN("RSI", kRsi, kClose14, "relative strength index (Wilder)"),
      FN_OUT("MACD", kMacd, kMacdArgs, "MACD line", 0),
      FN_OUT("MACD_SIGNAL", kMacd, kMacdArgs, "MACD signal line", 1),
      FN_OUT("MACD_HIST", kMacd, kMacdArgs, "MACD histogram", 2),
      FN("ATR", kAtr, kHlc14, "average true range"),
      FN("NATR", kNatr, kHlc14, "normalised average true range, percent"),
      FN("TRANGE", kTrange, kHlc, "true range"),
      FN_OUT("BBANDS_UPPER", kBbands, kBbandsArgs, "upper Bollinger band", 0),
      FN_OUT("BBANDS_MIDDLE", kBbands, kBbandsArgs, "middle Bollinger band", 1),
      FN_OUT("BBANDS_LOWER", kBbands, kBbandsArgs, "lower Bollinger band", 2),
      FN_OUT("STOCH_K", kStoch, kStochArgs, "slow stochastic %K", 0),
      FN_OUT("STOCH_D", kStoch, kStochArgs, "slow stochastic %D", 1),
      FN("CCI", kCci, kHlc14, "commodity channel index"),
      FN("ADX", kAdx, kHlc14, "average directional index"),
      FN("OBV", kObv, kObvArgs, "on-balance volume"),
      FN("MFI", kMfi, kHlcv14, "money flow index"),
      FN("WILLR", kWillr, kHlc14, "Williams %R"),
      FN("VWAP", kVwap, kVwapArgs, "rolling volume-weighted typical price"),
      FN("RVOL", kRvol, kClose20, "realised volatility: sqrt of summed squared log returns"),
      // Cross-sectional, per timestamp; `by=` a category field works within each group.
      FN("CS_RANK", kCsRank, kCsArgs, "percentile rank across symbols, in (0, 1]"),
      FN("PCT_RANK", kCsRank, kCsArgs, "same as CS_RANK"),
      FN("ZSCORE", kCsZscore, kCsArgs, "(x - mean) / std across symbols (ddof 1)"),
      FN("CS_ZSCORE", kCsZscore, kCsArgs, "same as ZSCORE"),
      FN("DEMEAN", kCsDemean, kCsArgs, "x - mean across symbols"),
      FN("WINSORIZE", kCsWinsorize, kWinsorArgs,
         "clip to mean ± k·std, or to the [q, 1-q] quantiles when q is given"),
      FN("NEUTRALIZE", kCsNeutralize, kNeutralArgs,
         "residual of x regressed on group dummies and exposures"),
      FN("CS_SCALE", kCsScale, kCsArgs, "x / sum(|x|) across symbols"),
      FN("CS_MEAN", kCsMean, kCsArgs, "mean across symbols, broadcast"),
      FN("CS_COUNT", kCsCount, kCsArgs, "number of symbols with a value"),
      FN("MASK", kInstrument, kMaskArgs,
         "x of the named symbol for every symbol, e.g. Mask($close, 'SPY') (Qlib's Mask)"),
      FN("CHANGEINSTRUMENT", kInstrument, kChangeInstrumentArgs,
         "the same with the arguments swapped (Qlib's ChangeInstrument)"),
  };
  return table;
}

#undef FN
#undef FN_OUT

std::size_t EditDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> row(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j)
    row[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    std::size_t diag = row[0];
    row[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j) {
      const std::size_t up = row[j];
      row[j] = std::min({row[j] + 1, row[j - 1] + 1, diag + (a[i - 1] == b[j - 1] ? 0 : 1)});
      diag = up;
    }
  }
  return row[b.size()];
}

}  // namespace

OpFamily FamilyOf(OpCode op) {
  if (op <= OpCode::kConst) return OpFamily::kLeaf;
  if (op <= OpCode::kFillNan) return OpFamily::kElementwise;
  if (op <= OpCode::kCov) return OpFamily::kTimeSeries;
  if (op <= OpCode::kRvol) return OpFamily::kIndicator;
  return OpFamily::kCrossSection;
}

std::string_view OpCodeName(OpCode op) {
  switch (op) {
    case OpCode::kField:
      return "FIELD";
    case OpCode::kConst:
      return "CONST";
    case OpCode::kQlibEma:
      return "EMA[qlib]";
    case OpCode::kWma:
      return "WMA[qlib]";
    case OpCode::kEwm:
      return "EWM";
    default:
      break;
  }
  for (const FunctionDef& f : Table()) {
    if (f.op == op) return f.name;
  }
  return "?";
}

const FunctionDef* FindFunction(std::string_view name) {
  for (const FunctionDef& f : Table()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

std::span<const FunctionDef> AllFunctions() {
  return Table();
}

std::string SuggestFunctions(std::string_view name) {
  std::vector<std::pair<std::size_t, std::string_view>> scored;
  for (const FunctionDef& f : Table()) {
    const std::size_t d = EditDistance(name, f.name);
    if (d <= std::max<std::size_t>(2, name.size() / 3)) scored.emplace_back(d, f.name);
  }
  std::stable_sort(scored.begin(), scored.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::string out;
  for (std::size_t i = 0; i < scored.size() && i < 3; ++i) {
    out += (i == 0 ? "" : ", ") + std::string(scored[i].second);
  }
  return out;
}

}  // namespace qraft::expr
