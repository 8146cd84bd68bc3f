#include "qraft/expr/dispatch.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include "qraft/expr/kernels/cs.h"
#include "qraft/expr/kernels/rolling.h"
#include "qraft/expr/kernels/ta.h"

namespace qraft::expr::internal {
namespace k = kernels;

namespace {

k::Window WindowOf(const Node& n) {
  return {static_cast<int>(n.params[0]), static_cast<int>(n.params.back())};
}

// pandas' rolling, expanding and ewm aggregations turn ±inf into NaN before computing
// (Window._prep_values); count() (which counts notna()), Qlib's Cython operators (Slope,
// Rsquare, Resi) and shift() do not.
bool PandasDropsInf(OpCode op) {
  switch (op) {
    case OpCode::kCount:
    case OpCode::kRef:
    case OpCode::kDelta:
    case OpCode::kSlope:
    case OpCode::kRsquare:
    case OpCode::kResi:
      return false;
    default:
      return FamilyOf(op) == OpFamily::kTimeSeries;
  }
}

// x[0, len) as pandas' rolling operators see it: ±inf turned into NaN, in `scratch` when any.
const double* WithoutInf(const double* x, std::size_t len, std::vector<double>& scratch) {
  if (std::none_of(x, x + len, [](double v) { return std::isinf(v); })) return x;
  scratch.assign(x, x + len);
  for (double& v : scratch) {
    if (std::isinf(v)) v = std::numeric_limits<double>::quiet_NaN();
  }
  return scratch.data();
}

}  // namespace

void RunSeries(const Node& n, Semantics s, const double* const* in_raw, std::size_t len,
               k::Range rows, double* out) {
  const double* const* in = in_raw;
  std::vector<double> scratch[2];
  const double* cleaned[2] = {in_raw[0], n.inputs.size() > 1 ? in_raw[1] : nullptr};
  if (s == Semantics::kQlib && PandasDropsInf(n.op)) {
    for (std::size_t j = 0; j < n.inputs.size() && j < 2; ++j) {
      cleaned[j] = WithoutInf(in_raw[j], len, scratch[j]);
    }
    in = cleaned;
  }
  const double* x = in[0];
  switch (n.op) {
    case OpCode::kRef:
      return k::Ref(x, rows, static_cast<int>(n.params[0]), s, out);
    case OpCode::kDelta:
      return k::Delta(x, rows, static_cast<int>(n.params[0]), s, out);
    case OpCode::kMean:
      return k::Mean(x, rows, WindowOf(n), s, out);
    case OpCode::kSum:
      return k::Sum(x, rows, WindowOf(n), s, out);
    case OpCode::kStd:
      return k::Std(x, rows, WindowOf(n), s, out);
    case OpCode::kVar:
      return k::Var(x, rows, WindowOf(n), s, out);
    case OpCode::kSkew:
      return k::Skew(x, rows, WindowOf(n), s, out);
    case OpCode::kKurt:
      return k::Kurt(x, rows, WindowOf(n), s, out);
    case OpCode::kMax:
      return k::Max(x, rows, WindowOf(n), s, out);
    case OpCode::kMin:
      return k::Min(x, rows, WindowOf(n), s, out);
    case OpCode::kMed:
      return k::Med(x, rows, WindowOf(n), s, out);
    case OpCode::kMad:
      return k::Mad(x, rows, WindowOf(n), s, out);
    case OpCode::kQuantile:
      return k::Quantile(x, rows, WindowOf(n), n.params[1], s, out);
    case OpCode::kRank:
      return k::Rank(x, rows, WindowOf(n), s, out);
    case OpCode::kCount:
      return k::Count(x, rows, WindowOf(n), s, out);
    case OpCode::kIdxMax:
      return k::IdxMax(x, rows, WindowOf(n), s, out);
    case OpCode::kIdxMin:
      return k::IdxMin(x, rows, WindowOf(n), s, out);
    case OpCode::kSlope:
      return k::Slope(x, rows, WindowOf(n), s, out);
    case OpCode::kRsquare:
      return k::Rsquare(x, rows, WindowOf(n), s, out);
    case OpCode::kResi:
      return k::Resi(x, rows, WindowOf(n), s, out);
    case OpCode::kWma:
      return k::Wma(x, rows, WindowOf(n), s, out);
    case OpCode::kEwm:
      return k::Ewm(x, rows, n.params[0], out);
    case OpCode::kQlibEma:
      return k::QlibEma(x, rows, static_cast<int>(n.params[0]), out);
    case OpCode::kCorr:
      return k::Corr(x, in[1], rows, WindowOf(n), s, out);
    case OpCode::kCov:
      return k::Cov(x, in[1], rows, WindowOf(n), s, out);
    default:
      break;
  }
  // Indicators: inputs in the function's order (e.g. high, low, close), periods in params.
  const auto p = [&](std::size_t i) { return static_cast<int>(n.params[i]); };
  const auto pick = [&](int which) { return n.output == which ? out : nullptr; };
  switch (n.op) {
    case OpCode::kSma:
      return k::ta::Sma(x, rows, p(0), out);
    case OpCode::kEma:
      return k::ta::Ema(x, rows, p(0), out);
    case OpCode::kTaWma:
      return k::ta::Wma(x, rows, p(0), out);
    case OpCode::kDema:
      return k::ta::Dema(x, rows, p(0), out);
    case OpCode::kTema:
      return k::ta::Tema(x, rows, p(0), out);
    case OpCode::kKama:
      return k::ta::Kama(x, rows, p(0), out);
    case OpCode::kRoc:
      return k::ta::Roc(x, rows, p(0), out);
    case OpCode::kMom:
      return k::ta::Mom(x, rows, p(0), out);
    case OpCode::kRsi:
      return k::ta::Rsi(x, rows, p(0), out);
    case OpCode::kMacd:
      return k::ta::Macd(x, rows, p(0), p(1), p(2), pick(0), pick(1), pick(2));
    case OpCode::kBbands:
      return k::ta::Bbands(x, rows, p(0), n.params[1], n.params[1], pick(0), pick(1), pick(2));
    case OpCode::kStoch:
      return k::ta::Stoch(x, in[1], in[2], rows, p(0), p(1), p(2), pick(0), pick(1));
    case OpCode::kAtr:
      return k::ta::Atr(x, in[1], in[2], rows, p(0), out);
    case OpCode::kNatr:
      return k::ta::Natr(x, in[1], in[2], rows, p(0), out);
    case OpCode::kTrange:
      return k::ta::Trange(x, in[1], in[2], rows, out);
    case OpCode::kCci:
      return k::ta::Cci(x, in[1], in[2], rows, p(0), out);
    case OpCode::kAdx:
      return k::ta::Adx(x, in[1], in[2], rows, p(0), out);
    case OpCode::kWillr:
      return k::ta::Willr(x, in[1], in[2], rows, p(0), out);
    case OpCode::kObv:
      return k::ta::Obv(x, in[1], rows, out);
    case OpCode::kMfi:
      return k::ta::Mfi(x, in[1], in[2], in[3], rows, p(0), out);
    case OpCode::kVwap:
      return k::ta::Vwap(x, in[1], in[2], in[3], rows, p(0), out);
    case OpCode::kRvol:
      return k::ta::Rvol(x, rows, p(0), out);
    default:
      std::fill(out + rows.begin, out + rows.end, std::numeric_limits<double>::quiet_NaN());
  }
}

void RunQuantiles(const Node& n, Semantics s, const double* x, std::size_t len, k::Range rows,
                  std::span<const double> qs, double* const* outs) {
  std::vector<double> scratch;
  if (s == Semantics::kQlib) x = WithoutInf(x, len, scratch);  // see PandasDropsInf
  k::Quantiles(x, rows, WindowOf(n), qs, s, outs);
}

void RunCrossSection(const Node& n, const double* const* in, std::size_t num_symbols,
                     std::size_t num_times, k::Range times, double* out) {
  // Inputs: x, then the group codes when params[0] says so, then exposures (NEUTRALIZE).
  const bool has_group = n.params[0] != 0;
  const k::cs::Block block{in[0], num_symbols, num_times, has_group ? in[1] : nullptr};
  switch (n.op) {
    case OpCode::kCsRank:
      return k::cs::Rank(block, times, out);
    case OpCode::kCsZscore:
      return k::cs::ZScore(block, times, out);
    case OpCode::kCsDemean:
      return k::cs::Demean(block, times, out);
    case OpCode::kCsScale:
      return k::cs::Scale(block, times, out);
    case OpCode::kCsMean:
      return k::cs::Mean(block, times, out);
    case OpCode::kCsCount:
      return k::cs::Count(block, times, out);
    case OpCode::kCsWinsorize: {
      k::cs::WinsorizeSpec spec;
      if (n.params[2] > 0) {
        spec.mode = k::cs::WinsorizeMode::kQuantile;
        spec.limit = n.params[2];
      } else {
        spec.limit = n.params[1];
      }
      return k::cs::Winsorize(block, spec, times, out);
    }
    case OpCode::kCsNeutralize: {
      const std::size_t first = has_group ? 2 : 1;
      std::vector<const double*> exposures;
      for (std::size_t i = first; i < n.inputs.size(); ++i)
        exposures.push_back(in[i]);
      return k::cs::Neutralize(block, exposures, times, out);
    }
    default:
      for (std::size_t s = 0; s < num_symbols; ++s) {
        std::fill(out + s * num_times + times.begin, out + s * num_times + times.end,
                  std::numeric_limits<double>::quiet_NaN());
      }
  }
}

}  // namespace qraft::expr::internal
