#include "qraft/engines/metrics.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <nlohmann/json.hpp>
#include <string>

namespace qraft::engines {
namespace {

// Sample standard deviation from a Welford sum of squared deviations; NaN below two values.
double SampleStd(double m2, double n) {
  return n < 2 ? kNaN : std::sqrt(m2 / (n - 1));
}

// Welford update of a running mean and sum of squared deviations; n already counts x.
void WelfordAdd(double x, double n, double& mean, double& m2) {
  const double delta = x - mean;
  mean += delta / n;
  m2 += delta * (x - mean);
}

// NaN unless finite: ratios report "undefined" as NaN, never ±inf.
double FiniteOrNaN(double x) {
  return std::isfinite(x) ? x : kNaN;
}

}  // namespace

Status ValidateMetricsOptions(const MetricsOptions& options) {
  if (!(options.periods_per_year > 0) || !std::isfinite(options.periods_per_year)) {
    return Status::InvalidArgument("metrics: periods_per_year must be a finite number > 0, got " +
                                   std::to_string(options.periods_per_year));
  }
  if (!std::isfinite(options.risk_free)) {
    return Status::InvalidArgument("metrics: risk_free must be finite (a per-bar return)");
  }
  if (!(options.initial_capital > 0) || !std::isfinite(options.initial_capital)) {
    return Status::InvalidArgument("metrics: initial_capital must be a finite number > 0, got " +
                                   std::to_string(options.initial_capital));
  }
  return Status::OK();
}

std::span<const MetricField> MetricFields() {
  using M = Metrics;
  static const std::array<MetricField, 29> kFields = {{
      {"bars", nullptr, &M::bars},
      {"total_return", &M::total_return, nullptr},
      {"annual_return", &M::annual_return, nullptr},
      {"volatility", &M::volatility, nullptr},
      {"sharpe", &M::sharpe, nullptr},
      {"sortino", &M::sortino, nullptr},
      {"calmar", &M::calmar, nullptr},
      {"max_drawdown", &M::max_drawdown, nullptr},
      {"max_drawdown_duration", nullptr, &M::max_drawdown_duration},
      {"benchmark_return", &M::benchmark_return, nullptr},
      {"excess_return", &M::excess_return, nullptr},
      {"information_ratio", &M::information_ratio, nullptr},
      {"turnover", &M::turnover, nullptr},
      {"annual_turnover", &M::annual_turnover, nullptr},
      {"trades", nullptr, &M::trades},
      {"win_rate", &M::win_rate, nullptr},
      {"profit_factor", &M::profit_factor, nullptr},
      {"expectancy", &M::expectancy, nullptr},
      {"avg_trade_return", &M::avg_trade_return, nullptr},
      {"avg_holding_bars", &M::avg_holding_bars, nullptr},
      {"exposure", &M::exposure, nullptr},
      {"avg_gross_exposure", &M::avg_gross_exposure, nullptr},
      {"fees", &M::fees, nullptr},
      {"fees_fraction", &M::fees_fraction, nullptr},
      {"skew", &M::skew, nullptr},
      {"kurtosis", &M::kurtosis, nullptr},
      {"var_95", &M::var_95, nullptr},
      {"cvar_95", &M::cvar_95, nullptr},
      {"tail_ratio", &M::tail_ratio, nullptr},
  }};
  return kFields;
}

const MetricField* FindMetricField(std::string_view name) {
  for (const MetricField& f : MetricFields())
    if (f.name == name) return &f;
  return nullptr;
}

double MetricValue(const Metrics& m, const MetricField& field) {
  return field.real != nullptr ? m.*field.real : static_cast<double>(m.*field.count);
}

nlohmann::json ToJson(const Metrics& m) {
  nlohmann::json out = nlohmann::json::object();
  for (const MetricField& field : MetricFields()) {
    const std::string key(field.name);
    if (field.count != nullptr) {
      out[key] = m.*field.count;
    } else if (std::isfinite(m.*field.real)) {
      out[key] = m.*field.real;
    } else {
      out[key] = nullptr;
    }
  }
  return out;
}

Result<Metrics> MetricsFromJson(const nlohmann::json& j, std::string_view where) {
  auto bad = [&](std::string_view name, std::string_view problem) {
    return Status::InvalidArgument(
        fmt::format("field '{}{}{}': {}", where, name.empty() ? "" : ".", name, problem));
  };
  if (!j.is_object()) return bad("", "expected an object");
  Metrics m;
  for (const MetricField& field : MetricFields()) {
    const auto it = j.find(std::string(field.name));
    if (it == j.end()) return bad(field.name, "missing");
    if (field.count != nullptr) {
      if (!it->is_number_integer()) {
        return bad(field.name, fmt::format("expected an integer, got {}", it->dump()));
      }
      m.*field.count = it->get<std::int64_t>();
    } else if (it->is_null()) {
      m.*field.real = kNaN;
    } else if (it->is_number()) {
      m.*field.real = it->get<double>();
    } else {
      return bad(field.name, fmt::format("expected a number or null, got {}", it->dump()));
    }
  }
  return m;
}

MetricsAccumulator::MetricsAccumulator(const MetricsOptions& options) : options_(options) {}

void MetricsAccumulator::Reserve(std::size_t bars) {
  if (options_.tail_metrics) returns_.reserve(bars);
}

namespace {

// Two doubles processed together (GCC/Clang vector extension: one SSE2 register). Lane-wise IEEE
// arithmetic, so the bits do not depend on the instruction set. Sums use four lanes, two V2
// accumulators, combined as (l0 + l1) + (l2 + l3).
using V2 = double __attribute__((vector_size(16)));

V2 Load2(const double* p) {
  V2 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

double Lanes(V2 lo, V2 hi) {
  return (lo[0] + lo[1]) + (hi[0] + hi[1]);
}

// Sum of x[0..n) in a fixed order: four interleaved partial sums.
double Sum(const double* x, std::size_t n) {
  V2 lo = {0, 0}, hi = {0, 0};
  std::size_t i = 0;
  for (; i + 4 <= n; i += 4) {
    lo += Load2(x + i);
    hi += Load2(x + i + 2);
  }
  for (; i < n; ++i)
    lo[0] += x[i];
  return Lanes(lo, hi);
}

// Merges a block's (nb, mean_b, M2_b[, M3_b, M4_b]) into running ones (Pébay 2008, eqs. 3.1
// and the pairwise M3/M4 updates; Chan et al. for the mean and M2).
void MergeMoments(double na, double nb, double mean_b, double m2_b, double m3_b, double m4_b,
                  double& mean, double& m2, double* m3, double* m4) {
  if (na == 0) {
    mean = mean_b;
    m2 = m2_b;
    if (m3 != nullptr) {
      *m3 = m3_b;
      *m4 = m4_b;
    }
    return;
  }
  const double n = na + nb;
  const double delta = mean_b - mean;
  const double delta_n = delta / n;
  if (m3 != nullptr) {
    const double d2 = delta * delta;
    *m4 += m4_b + d2 * d2 * na * nb * (na * na - na * nb + nb * nb) / (n * n * n) +
           6 * d2 * (na * na * m2_b + nb * nb * m2) / (n * n) +
           4 * delta * (na * m3_b - nb * *m3) / n;
    *m3 +=
        m3_b + d2 * delta * na * nb * (na - nb) / (n * n) + 3 * delta * (na * m2_b - nb * m2) / n;
  }
  m2 += m2_b + delta * delta_n * na * nb;
  mean += delta_n * nb;
}

}  // namespace

void MetricsAccumulator::FoldBlock(const BarColumns& b, const MetricsOptions& options, State& st) {
  const double risk_free = options.risk_free;
  const std::size_t nb = b.ret.size();
  if (nb == 0) return;
  const double* r = b.ret.data();
  const double nbd = static_cast<double>(nb);

  // Moments of the block by two passes around its own mean, merged into the running ones.
  const double sum = Sum(r, nb);
  if (!std::isfinite(sum)) st.nonfinite = true;
  const double mean_b = sum / nbd;
  // M2, M3, M4 and the downside sum in one pass, four interleaved lanes each.
  const V2 zero = {0, 0};
  V2 m2[2] = {zero, zero}, m3[2] = {zero, zero}, m4[2] = {zero, zero}, dn[2] = {zero, zero};
  std::size_t j = 0;
  for (; j + 4 <= nb; j += 4) {
    for (int h = 0; h < 2; ++h) {
      const V2 x = Load2(r + j + 2 * h);
      const V2 d = x - mean_b;
      const V2 d2 = d * d;
      m2[h] += d2;
      m3[h] += d2 * d;
      m4[h] += d2 * d2;
      const V2 e = x - risk_free;
      const V2 below = e < zero ? e : zero;  // min(r - rf, 0), lane-wise
      dn[h] += below * below;
    }
  }
  for (; j < nb; ++j) {
    const double d = r[j] - mean_b;
    const double d2 = d * d;
    m2[0][0] += d2;
    m3[0][0] += d2 * d;
    m4[0][0] += d2 * d2;
    const double below = std::min(r[j] - risk_free, 0.0);
    dn[0][0] += below * below;
  }
  const double m2_b = Lanes(m2[0], m2[1]), m3_b = Lanes(m3[0], m3[1]), m4_b = Lanes(m4[0], m4[1]);
  st.downside_sq_sum += Lanes(dn[0], dn[1]);

  // Benchmark and active returns (a missing benchmark bar counts as a zero return: without a
  // benchmark the active returns are the returns themselves).
  double active_mean_b = mean_b, active_m2_b = m2_b;
  if (!b.benchmark.empty()) {
    const double* bm = b.benchmark.data();
    std::int64_t present = 0;
    for (std::size_t i = 0; i < nb; ++i) {
      if (std::isnan(bm[i])) continue;
      ++present;
      st.benchmark_wealth *= 1 + bm[i];
    }
    if (present > 0) {
      st.benchmark_bars += present;
      auto active = [&](std::size_t i) { return r[i] - (std::isnan(bm[i]) ? 0.0 : bm[i]); };
      double diff[kBlock];
      for (std::size_t i = 0; i < nb; ++i)
        diff[i] = active(i);
      active_mean_b = Sum(diff, nb) / nbd;
      for (std::size_t i = 0; i < nb; ++i) {
        const double d = diff[i] - active_mean_b;
        diff[i] = d * d;
      }
      active_m2_b = Sum(diff, nb);
    }
  }

  const double na = st.n;
  MergeMoments(na, nbd, mean_b, m2_b, m3_b, m4_b, st.mean, st.m2, &st.m3, &st.m4);
  MergeMoments(na, nbd, active_mean_b, active_m2_b, 0, 0, st.active_mean, st.active_m2, nullptr,
               nullptr);
  st.n = na + nbd;

  if (!b.equity.empty()) {
    FoldEquityDrawdown(b.equity, options.initial_capital, st);
  } else {
    FoldWealthDrawdown(b.ret, st);
  }

  if (!b.turnover.empty()) st.turnover_sum += Sum(b.turnover.data(), nb);
  if (!b.fees.empty()) st.fees_sum += Sum(b.fees.data(), nb);
  if (!b.gross_exposure.empty()) {
    const double* g = b.gross_exposure.data();
    st.exposure_sum += Sum(g, nb);
    // Lane-wise compares (all ones = -1 per exposed bar), summed exactly as integers.
    using L2 = std::int64_t __attribute__((vector_size(16)));
    L2 count = {0, 0};
    std::size_t i = 0;
    for (; i + 2 <= nb; i += 2)
      count -= Load2(g + i) > V2{0, 0};
    std::int64_t exposed = count[0] + count[1];
    for (; i < nb; ++i)
      exposed += g[i] > 0;
    st.exposed_bars += exposed;
  }
}

// Wealth as the product of 1 + r in bar order; peak and drawdown duration (bars strictly below
// the running peak) are serial; the drawdown depths (W - P) / P then vectorise (min is exact, so
// lane order does not matter).
void MetricsAccumulator::FoldWealthDrawdown(std::span<const double> ret, State& st) {
  const std::size_t nb = ret.size();
  const double* r = ret.data();
  double wealth = st.wealth, peak = st.peak;
  std::int64_t underwater = st.underwater, max_underwater = st.max_underwater;
  double w_at[kBlock], p_at[kBlock];
  for (std::size_t i = 0; i < nb; ++i) {
    wealth *= 1 + r[i];
    // Branch-free (a new peak is a coin flip in a trending series): max keeps the peak when
    // wealth is NaN, as the comparison does.
    const std::int64_t below = !(wealth >= peak);
    peak = std::max(peak, wealth);
    underwater = (underwater + 1) & -below;
    max_underwater = std::max(max_underwater, underwater);
    w_at[i] = wealth;
    p_at[i] = peak;
  }
  V2 lowest = {st.max_dd, st.max_dd};
  std::size_t k = 0;
  for (; k + 2 <= nb; k += 2) {
    const V2 w = Load2(w_at + k), p = Load2(p_at + k);
    const V2 dd = (w - p) / p;
    lowest = dd < lowest ? dd : lowest;
  }
  double max_dd = std::min(lowest[0], lowest[1]);
  for (; k < nb; ++k)
    max_dd = std::min(max_dd, (w_at[k] - p_at[k]) / p_at[k]);
  st.wealth = wealth;
  st.peak = peak;
  st.max_dd = max_dd;
  st.underwater = underwater;
  st.max_underwater = max_underwater;
}

// The same on equity E (W = E / initial_capital): a block whose highest equity is below the
// running peak makes no new peak, so every bar is under water and its deepest drawdown is that
// of its lowest equity ((E - P) / P rounds monotonically in E, so the bits are those of the
// bar-by-bar minimum); only blocks that make a new peak run bar by bar.
void MetricsAccumulator::FoldEquityDrawdown(std::span<const double> equity, double initial,
                                            State& st) {
  const std::size_t nb = equity.size();
  const double* e = equity.data();
  if (std::isnan(st.equity_peak)) st.equity_peak = initial;
  double peak = st.equity_peak;
  st.wealth = e[nb - 1] / initial;
  V2 hi2 = {-std::numeric_limits<double>::infinity(), -std::numeric_limits<double>::infinity()};
  V2 lo2 = {std::numeric_limits<double>::infinity(), std::numeric_limits<double>::infinity()};
  std::size_t i = 0;
  for (; i + 2 <= nb; i += 2) {
    const V2 x = Load2(e + i);
    hi2 = x > hi2 ? x : hi2;
    lo2 = x < lo2 ? x : lo2;
  }
  double hi = std::max(hi2[0], hi2[1]), lo = std::min(lo2[0], lo2[1]);
  for (; i < nb; ++i) {
    hi = std::max(hi, e[i]);
    lo = std::min(lo, e[i]);
  }
  if (hi < peak) {  // false with NaN, which takes the bar-by-bar path
    st.underwater += static_cast<std::int64_t>(nb);
    st.max_underwater = std::max(st.max_underwater, st.underwater);
    const double dd = (lo - peak) / peak;
    st.max_dd = dd < st.max_dd ? dd : st.max_dd;
    return;
  }
  std::int64_t underwater = st.underwater, max_underwater = st.max_underwater;
  double max_dd = st.max_dd;
  for (std::size_t k = 0; k < nb; ++k) {
    const std::int64_t below = !(e[k] >= peak);
    peak = std::max(peak, e[k]);
    underwater = (underwater + 1) & -below;
    max_underwater = std::max(max_underwater, underwater);
    const double dd = (e[k] - peak) / peak;
    max_dd = dd < max_dd ? dd : max_dd;
  }
  st.equity_peak = peak;
  st.underwater = underwater;
  st.max_underwater = max_underwater;
  st.max_dd = max_dd;
}

void MetricsAccumulator::FlushPending(State& state) const {
  if (pending_ == 0) return;
  FoldBlock(
      BarColumns{.ret = {buf_ret_, pending_},
                 .benchmark = pending_benchmark_ ? std::span<const double>(buf_benchmark_, pending_)
                                                 : std::span<const double>(),
                 .turnover = {buf_turnover_, pending_},
                 .fees = {buf_fees_, pending_},
                 .gross_exposure = {buf_exposure_, pending_},
                 .equity = pending_equity_ ? std::span<const double>(buf_equity_, pending_)
                                           : std::span<const double>()},
      options_, state);
}

void MetricsAccumulator::AddBar(const BarRecord& bar) {
  buf_ret_[pending_] = bar.ret;
  buf_benchmark_[pending_] = bar.benchmark;
  pending_benchmark_ |= !std::isnan(bar.benchmark);
  buf_turnover_[pending_] = bar.turnover;
  buf_fees_[pending_] = bar.fees;
  buf_exposure_[pending_] = bar.gross_exposure;
  buf_equity_[pending_] = bar.equity;
  pending_equity_ = !std::isnan(bar.equity);
  if (options_.tail_metrics) AddTail(&bar.ret, 1);
  if (++pending_ == kBlock) {
    FlushPending(state_);
    pending_ = 0;
    pending_benchmark_ = false;
  }
}

void MetricsAccumulator::AddBars(const BarColumns& c) {
  const std::size_t n = c.ret.size();
  if (options_.tail_metrics) AddTail(c.ret.data(), n);
  auto part = [&](std::span<const double> x, std::size_t i, std::size_t len) {
    return x.empty() ? x : x.subspan(i, len);
  };
  std::size_t i = 0;
  // Whole blocks straight from the arrays once the buffer is empty; the rest through AddBar.
  while (i < n) {
    if (pending_ == 0 && n - i >= kBlock) {
      const BarColumns block{
          part(c.ret, i, kBlock),  part(c.benchmark, i, kBlock),      part(c.turnover, i, kBlock),
          part(c.fees, i, kBlock), part(c.gross_exposure, i, kBlock), part(c.equity, i, kBlock)};
      // A block whose benchmark is all NaN folds as one without a benchmark (as AddBar does).
      BarColumns folded = block;
      if (!block.benchmark.empty() && std::all_of(block.benchmark.begin(), block.benchmark.end(),
                                                  [](double v) { return std::isnan(v); })) {
        folded.benchmark = {};
      }
      FoldBlock(folded, options_, state_);
      i += kBlock;
      continue;
    }
    buf_ret_[pending_] = c.ret[i];
    const double bm = c.benchmark.empty() ? kNaN : c.benchmark[i];
    buf_benchmark_[pending_] = bm;
    pending_benchmark_ |= !std::isnan(bm);
    buf_turnover_[pending_] = c.turnover.empty() ? 0.0 : c.turnover[i];
    buf_fees_[pending_] = c.fees.empty() ? 0.0 : c.fees[i];
    buf_exposure_[pending_] = c.gross_exposure.empty() ? 0.0 : c.gross_exposure[i];
    buf_equity_[pending_] = c.equity.empty() ? kNaN : c.equity[i];
    pending_equity_ = !c.equity.empty();
    ++i;
    if (++pending_ == kBlock) {
      FlushPending(state_);
      pending_ = 0;
      pending_benchmark_ = false;
    }
  }
}

void MetricsAccumulator::Reset() {
  state_ = State{};
  trades_ = wins_ = holding_sum_ = 0;
  gross_profit_ = gross_loss_ = pnl_sum_ = trade_ret_sum_ = 0;
  pending_ = 0;
  pending_benchmark_ = false;
  pending_equity_ = false;
  returns_.clear();
  low_bound_ = hint_low_;
  high_bound_ = hint_high_;
  low_len_ = high_len_ = low_ties_ = high_ties_ = 0;
}

void MetricsAccumulator::AddTrade(const TradeRecord& trade) {
  ++trades_;
  if (trade.pnl > 0) {
    ++wins_;
    gross_profit_ += trade.pnl;
  } else if (trade.pnl < 0) {
    gross_loss_ -= trade.pnl;
  }
  pnl_sum_ += trade.pnl;
  trade_ret_sum_ += trade.ret;
  holding_sum_ += trade.holding_bars;
}

namespace {

// Order-preserving map of a double onto an unsigned integer (NaN excluded by the caller).
std::uint64_t SortKey(double x) {
  std::uint64_t u;
  std::memcpy(&u, &x, sizeof u);
  return (u >> 63) != 0 ? ~u : u | (std::uint64_t{1} << 63);
}

// numpy.percentile(x, p), default "linear" method, operation by operation: virtual index
// h = (n - 1)(p / 100), numpy's two-sided lerp between the order statistics at floor(h) and
// floor(h) + 1 (`lo` and `hi`).
double Lerp(double virtual_index, double lo, double hi) {
  const double gamma = virtual_index - std::floor(virtual_index);
  const double diff = hi - lo;
  return gamma >= 0.5 ? hi - diff * (1 - gamma) : lo + diff * gamma;
}

// The order statistics the tail metrics need, at ranks floor(h5), floor(h5) + 1, floor(h95)
// and floor(h95) + 1 (the "+ 1" ranks capped at n - 1), h = numpy's virtual index (n - 1) p.
struct TailRanks {
  double h5, h95;
  std::size_t lo5, lo5_next, lo95, lo95_next;
  explicit TailRanks(std::size_t n)
      : h5((static_cast<double>(n) - 1) * 0.05),
        h95((static_cast<double>(n) - 1) * 0.95),
        lo5(static_cast<std::size_t>(std::floor(h5))),
        lo5_next(std::min(lo5 + 1, n - 1)),
        lo95(static_cast<std::size_t>(std::floor(h95))),
        lo95_next(std::min(lo95 + 1, n - 1)) {}
};

// The values at ranks lo5, lo5_next, lo95, lo95_next of finite returns x (n >= 1), exactly, in
// O(n). Pass 1 histograms the top 16 bits of an order-preserving key, which finds the bucket of
// each rank; pass 2 copies those buckets' members out (branch-free); nth_element inside them.
std::array<double, 4> OrderStatisticsByHistogram(std::span<const double> x, const TailRanks& q) {
  constexpr int kBits = 16;
  constexpr std::size_t kBuckets = std::size_t{1} << kBits;
  const std::size_t n = x.size();
  // Two interleaved histograms, so runs of equal values (flat bars) do not serialise on one
  // counter.
  std::vector<std::uint32_t> hist(2 * kBuckets, 0);
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    ++hist[SortKey(x[i]) >> (64 - kBits)];
    ++hist[kBuckets + (SortKey(x[i + 1]) >> (64 - kBits))];
  }
  if (i < n) ++hist[SortKey(x[i]) >> (64 - kBits)];
  std::vector<std::size_t> start(kBuckets + 1, 0);
  for (std::size_t b = 0; b < kBuckets; ++b)
    start[b + 1] = start[b] + hist[b] + hist[kBuckets + b];

  const std::array<std::size_t, 4> ranks = {q.lo5, q.lo5_next, q.lo95, q.lo95_next};
  std::array<std::size_t, 4> bucket{};
  std::vector<std::size_t> wanted;
  for (std::size_t j = 0; j < 4; ++j) {
    bucket[j] = static_cast<std::size_t>(std::upper_bound(start.begin(), start.end(), ranks[j]) -
                                         start.begin() - 1);
    if (std::find(wanted.begin(), wanted.end(), bucket[j]) == wanted.end())
      wanted.push_back(bucket[j]);
  }
  // Member arrays, sized exactly from the histogram; slot kNone swallows everything else.
  const auto kNone = static_cast<std::uint8_t>(wanted.size());
  std::vector<std::uint8_t> slot(kBuckets, kNone);
  std::vector<std::vector<double>> members(wanted.size() + 1);
  for (std::size_t w = 0; w < wanted.size(); ++w) {
    slot[wanted[w]] = static_cast<std::uint8_t>(w);
    members[w].resize(start[wanted[w] + 1] - start[wanted[w]]);
  }
  members[kNone].resize(1);
  std::array<double*, 5> dst{};
  std::array<std::size_t, 5> step{};
  for (std::size_t w = 0; w <= wanted.size(); ++w) {
    dst[w] = members[w].data();
    step[w] = w == kNone ? 0 : 1;
  }
  for (const double v : x) {
    const std::uint8_t w = slot[SortKey(v) >> (64 - kBits)];
    *dst[w] = v;
    dst[w] += step[w];
  }
  std::array<double, 4> value{};
  for (std::size_t j = 0; j < 4; ++j) {
    const auto w = static_cast<std::size_t>(std::find(wanted.begin(), wanted.end(), bucket[j]) -
                                            wanted.begin());
    std::vector<double>& m = members[w];
    const auto r = static_cast<std::ptrdiff_t>(ranks[j] - start[bucket[j]]);
    std::nth_element(m.begin(), m.begin() + r, m.end());
    value[j] = m[static_cast<std::size_t>(r)];
  }
  return value;
}

// The values at ranks r and r1 (r <= r1 <= r + 1 < c.size()) of c. Rounds of a linear
// histogram over [min, max] (2,048 buckets, cheap to fill) narrow c to the bucket of rank r,
// which excludes the min or the max, so every round shrinks it; nth_element finishes when few
// are left (or after a few rounds of unfriendly data).
std::pair<double, double> SelectPair(std::span<const double> c, std::size_t r, std::size_t r1) {
  constexpr std::size_t kBuckets = 2048;
  std::vector<double> members, next;
  std::span<const double> cur = c;
  for (int round = 0;; ++round) {
    double lo = std::numeric_limits<double>::infinity(), hi = -lo;
    {
      // Lane-wise (min and max are exact, so lane order does not matter).
      V2 lo2 = {lo, lo}, hi2 = {hi, hi};
      std::size_t i = 0;
      for (; i + 2 <= cur.size(); i += 2) {
        const V2 x = Load2(cur.data() + i);
        lo2 = x < lo2 ? x : lo2;
        hi2 = x > hi2 ? x : hi2;
      }
      lo = std::min(lo2[0], lo2[1]);
      hi = std::max(hi2[0], hi2[1]);
      for (; i < cur.size(); ++i) {
        lo = std::min(lo, cur[i]);
        hi = std::max(hi, cur[i]);
      }
    }
    if (lo == hi) return {lo, lo};
    const double scale = static_cast<double>(kBuckets) / (hi - lo);
    if (cur.size() <= kBuckets || round == 6 || !std::isfinite(scale)) {
      next.assign(cur.begin(), cur.end());
      const auto it = next.begin() + static_cast<std::ptrdiff_t>(r);
      std::nth_element(next.begin(), it, next.end());
      return {*it, r1 == r ? *it : *std::min_element(it + 1, next.end())};
    }
    // Monotone in v: (v - lo) and the product round monotonically, the conversion truncates.
    auto bucket = [&](double v) {
      return std::min(kBuckets - 1, static_cast<std::size_t>((v - lo) * scale));
    };
    std::array<std::uint32_t, kBuckets> count{};
    for (const double v : cur)
      ++count[bucket(v)];
    std::size_t b = 0, below = 0;
    while (below + count[b] <= r)
      below += count[b++];
    if (r1 > r && r1 == below + count[b]) {
      // Rank r is the largest of bucket b and r1 the smallest of the next non-empty one.
      std::size_t b1 = b + 1;
      while (count[b1] == 0)
        ++b1;
      double last = -std::numeric_limits<double>::infinity();
      double first = std::numeric_limits<double>::infinity();
      for (const double v : cur) {
        const std::size_t k = bucket(v);
        if (k == b) last = std::max(last, v);
        if (k == b1) first = std::min(first, v);
      }
      return {last, first};
    }
    next.clear();
    for (const double v : cur) {
      if (bucket(v) == b) next.push_back(v);
    }
    members.swap(next);
    cur = members;
    r -= below;
    r1 -= below;
  }
}

// One run's tail candidates (MetricsAccumulator's hint): in time order, every return below
// low_bound and every return above high_bound, with the counts equal to each bound.
struct TailCandidates {
  std::size_t n;  // returns in all
  std::span<const double> low, high;
  double low_bound, high_bound;
  std::size_t low_ties, high_ties;
};

// The values at ranks lo5, lo5_next, lo95, lo95_next from the candidates alone, or false when
// they do not hold those ranks (the bounds were too tight for this run).
bool CandidateOrderStatistics(const TailCandidates& c, const TailRanks& q,
                              std::array<double, 4>* out) {
  // Low: ranks below |low| are candidates, the next low_ties equal the bound. High: the top
  // |high| ranks are candidates, the high_ties below them equal the bound.
  const std::size_t at_most_high = c.n - c.high.size();
  if (q.lo5_next >= c.low.size() + c.low_ties || q.lo95 + c.high_ties < at_most_high) {
    return false;
  }
  std::pair<double, double> v5{c.low_bound, c.low_bound};
  if (q.lo5_next < c.low.size()) {
    v5 = SelectPair(c.low, q.lo5, q.lo5_next);
  } else if (q.lo5 < c.low.size()) {
    v5.first = SelectPair(c.low, q.lo5, q.lo5).first;
  }
  std::pair<double, double> v95{c.high_bound, c.high_bound};
  if (q.lo95 >= at_most_high) {
    v95 = SelectPair(c.high, q.lo95 - at_most_high, q.lo95_next - at_most_high);
  } else if (q.lo95_next >= at_most_high) {
    v95.second = SelectPair(c.high, 0, 0).first;
  }
  *out = {v5.first, v5.second, v95.first, v95.second};
  return true;
}

}  // namespace

void MetricsAccumulator::AddTail(const double* r, std::size_t n) {
  returns_.insert(returns_.end(), r, r + n);
  if (std::isnan(low_bound_)) return;
  if (low_.size() < low_len_ + n) low_.resize(std::max(2 * low_.size(), low_len_ + n));
  if (high_.size() < high_len_ + n) high_.resize(std::max(2 * high_.size(), high_len_ + n));
  const double lb = low_bound_, hb = high_bound_;
  double* const low = low_.data();
  double* const high = high_.data();
  std::size_t nl = low_len_, nh = high_len_;
  // Branch-free appends: every return is stored, and kept when beyond the bound.
  for (std::size_t i = 0; i < n; ++i) {
    const double v = r[i];
    low[nl] = v;
    nl += v < lb;
    high[nh] = v;
    nh += v > hb;
  }
  // Ties, lane-wise: a true compare is -1 in its lane.
  using L2 = std::int64_t __attribute__((vector_size(16)));
  L2 lt = {0, 0}, ht = {0, 0};
  std::size_t i = 0;
  for (; i + 2 <= n; i += 2) {
    const V2 x = Load2(r + i);
    lt -= x == V2{lb, lb};
    ht -= x == V2{hb, hb};
  }
  std::size_t low_ties = static_cast<std::size_t>(lt[0] + lt[1]);
  std::size_t high_ties = static_cast<std::size_t>(ht[0] + ht[1]);
  for (; i < n; ++i) {
    low_ties += r[i] == lb;
    high_ties += r[i] == hb;
  }
  low_len_ = nl;
  high_len_ = nh;
  low_ties_ += low_ties;
  high_ties_ += high_ties;
}

Metrics MetricsAccumulator::Finish() const {
  Metrics m;
  State st = state_;
  FlushPending(st);
  const double n = st.n;
  const double ann = options_.periods_per_year;
  m.bars = static_cast<std::int64_t>(n);

  // Costs and trades do not depend on the returns.
  m.fees = st.fees_sum;
  m.fees_fraction = st.fees_sum / options_.initial_capital;
  m.trades = trades_;
  if (trades_ > 0) {
    const auto t = static_cast<double>(trades_);
    m.win_rate = static_cast<double>(wins_) / t;
    m.profit_factor = gross_loss_ > 0 ? FiniteOrNaN(gross_profit_ / gross_loss_) : kNaN;
    m.expectancy = pnl_sum_ / t;
    m.avg_trade_return = trade_ret_sum_ / t;
    m.avg_holding_bars = static_cast<double>(holding_sum_) / t;
  }
  if (n == 0) return m;
  m.turnover = st.turnover_sum / n;
  m.annual_turnover = m.turnover * ann;
  m.exposure = static_cast<double>(st.exposed_bars) / n;
  m.avg_gross_exposure = st.exposure_sum / n;
  if (st.nonfinite) return m;

  const double sqrt_ann = std::sqrt(ann);
  m.total_return = st.wealth - 1;
  m.annual_return = st.wealth < 0 ? kNaN : std::pow(st.wealth, ann / n) - 1;
  const double sd = SampleStd(st.m2, n);
  m.volatility = sd * sqrt_ann;
  const double excess_mean = st.mean - options_.risk_free;
  m.sharpe = sd > 0 ? FiniteOrNaN(excess_mean / sd * sqrt_ann) : kNaN;
  const double downside = std::sqrt(st.downside_sq_sum / n);
  m.sortino = n >= 2 && downside > 0 ? FiniteOrNaN(excess_mean / downside * sqrt_ann) : kNaN;
  m.max_drawdown = st.max_dd;
  m.max_drawdown_duration = st.max_underwater;
  m.calmar = st.max_dd < 0 ? FiniteOrNaN(m.annual_return / -st.max_dd) : kNaN;

  if (st.benchmark_bars > 0) {
    m.benchmark_return = st.benchmark_wealth - 1;
    const double benchmark_annual =
        st.benchmark_wealth < 0 ? kNaN : std::pow(st.benchmark_wealth, ann / n) - 1;
    m.excess_return = m.annual_return - benchmark_annual;
    const double tracking = SampleStd(st.active_m2, n);
    m.information_ratio = tracking > 0 ? FiniteOrNaN(st.active_mean / tracking * sqrt_ann) : kNaN;
  }

  if (st.m2 > 0) {
    m.skew = FiniteOrNaN(std::sqrt(n) * st.m3 / std::pow(st.m2, 1.5));
    m.kurtosis = FiniteOrNaN(n * st.m4 / (st.m2 * st.m2) - 3);
  }

  if (options_.tail_metrics) {
    // var_95 (5th percentile, numpy's linear method), the 95th percentile and cvar_95 (mean of
    // the k = floor(h5) + 1 smallest, empyrical's conditional_value_at_risk).
    const TailRanks q(returns_.size());
    std::array<double, 4> v{};               // the values at ranks lo5, lo5_next, lo95, lo95_next
    std::span<const double> low = returns_;  // every return below v[0], in time order
    const TailCandidates candidates{.n = returns_.size(),
                                    .low = {low_.data(), low_len_},
                                    .high = {high_.data(), high_len_},
                                    .low_bound = low_bound_,
                                    .high_bound = high_bound_,
                                    .low_ties = low_ties_,
                                    .high_ties = high_ties_};
    if (!std::isnan(low_bound_) && CandidateOrderStatistics(candidates, q, &v)) {
      low = candidates.low;
    } else {
      v = OrderStatisticsByHistogram(returns_, q);
    }
    m.var_95 = Lerp(q.h5, v[0], v[1]);
    const double p95 = Lerp(q.h95, v[2], v[3]);
    m.tail_ratio = FiniteOrNaN(std::abs(p95) / std::abs(m.var_95));
    // (The returns below the k-th smallest, summed in time order, + copies of it up to k) / k.
    const std::size_t k = q.lo5 + 1;
    double below_sum = 0;
    std::size_t below = 0;
    for (const double x : low) {
      below_sum += x < v[0] ? x : 0.0;
      below += x < v[0];
    }
    m.cvar_95 = (below_sum + static_cast<double>(k - below) * v[0]) / static_cast<double>(k);
    if (returns_.size() >= kHintFrom) {
      // Where the next run (after Reset) collects candidates: 15% beyond this run's order
      // statistics, toward the middle.
      hint_low_ = v[0] + 0.15 * std::abs(v[0]);
      hint_high_ = v[2] - 0.15 * std::abs(v[2]);
    }
  }
  return m;
}

Metrics ComputeMetrics(std::span<const double> returns, std::span<const double> benchmark,
                       const MetricsOptions& options) {
  MetricsAccumulator acc(options);
  acc.Reserve(returns.size());
  acc.AddBars(BarColumns{.ret = returns, .benchmark = benchmark});
  return acc.Finish();
}

// ---------------------------------------------------------------------------------------------

nlohmann::json ToJson(const QlibRisk& risk) {
  auto value = [](double x) { return std::isfinite(x) ? nlohmann::json(x) : nlohmann::json(); };
  return {{"mean", value(risk.mean)},
          {"std", value(risk.std)},
          {"annualized_return", value(risk.annualized_return)},
          {"information_ratio", value(risk.information_ratio)},
          {"max_drawdown", value(risk.max_drawdown)}};
}

void QlibRiskAccumulator::Add(double r) {
  n_ += 1;
  const bool first = n_ == 1;
  if (mode_ == QlibMode::kSum) {
    WelfordAdd(r, n_, mean_, m2_);
    level_ = first ? r : level_ + r;  // r.cumsum()
  } else {
    WelfordAdd(std::log(1 + r), n_, mean_, m2_);
    level_ = first ? 1 + r : level_ * (1 + r);  // (1 + r).cumprod()
  }
  // The running peak starts at the first level (pandas cummax), not at an anchor before it.
  if (first || level_ > peak_) peak_ = level_;
  const double dd = mode_ == QlibMode::kSum ? level_ - peak_ : level_ / peak_ - 1;
  max_dd_ = first ? dd : std::min(max_dd_, dd);
}

QlibRisk QlibRiskAccumulator::Finish() const {
  QlibRisk out;
  if (n_ == 0) return out;
  const double n = n_;
  const double ann = periods_per_year_;
  out.std = SampleStd(m2_, n);
  if (mode_ == QlibMode::kSum) {
    out.mean = mean_;
    out.annualized_return = mean_ * ann;
  } else {
    out.mean = std::pow(level_, 1 / n) - 1;
    out.annualized_return = std::pow(level_, ann / n) - 1;
  }
  // Qlib divides as is: a zero std gives ±inf (null in JSON), as pandas would.
  out.information_ratio = out.mean / out.std * std::sqrt(ann);
  out.max_drawdown = max_dd_;
  return out;
}

QlibRisk QlibRiskAnalysis(std::span<const double> returns, QlibMode mode, double periods_per_year) {
  QlibRiskAccumulator acc(mode, periods_per_year);
  for (double r : returns)
    acc.Add(r);
  return acc.Finish();
}

}  // namespace qraft::engines
