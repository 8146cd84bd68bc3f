#include "qraft/engines/metrics.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <nlohmann/json.hpp>
#include <string>

namespace qraft::engines {
namespace {

// Sample standard deviation from a Welford sum of squared deviations; NaN below two values.
double SampleStd(double m2, double n) {
  return n < 2 ? kNaN : std::sqrt(m2 / (n - 1));
}

// NaN unless finite: ratios report "undefined" as NaN, never ±inf.
double FiniteOrNaN(double x) {
  return std::isfinite(x) ? x : kNaN;
}

// numpy.percentile(sorted, p) with the default "linear" method, reproduced operation by
// operation: virtual index (n - 1) * (p / 100), numpy's two-sided lerp. REQUIRES: !sorted.empty().
double Percentile(const std::vector<double>& sorted, double p) {
  const double q = p / 100.0;
  const double n = static_cast<double>(sorted.size());
  const double virtual_index = (n - 1) * q;
  if (virtual_index >= n - 1) return sorted.back();
  if (virtual_index <= 0) return sorted.front();
  const double previous_index = std::floor(virtual_index);
  const auto lo = static_cast<std::size_t>(previous_index);
  const double gamma = virtual_index - previous_index;
  const double a = sorted[lo];
  const double b = sorted[lo + 1];
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1 - gamma) : a + diff * gamma;
}

// Welford update of a running mean and sum of squared deviations; n already counts x.
void WelfordAdd(double x, double n, double& mean, double& m2) {
  const double delta = x - mean;
  mean += delta / n;
  m2 += delta * (x - mean);
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

MetricsAccumulator::MetricsAccumulator(const MetricsOptions& options) : options_(options) {}

void MetricsAccumulator::Reserve(std::size_t bars) {
  if (options_.tail_metrics) returns_.reserve(bars);
}

void MetricsAccumulator::AddBar(const BarRecord& bar) {
  const double r = bar.ret;
  if (!std::isfinite(r)) nonfinite_ = true;
  n_ += 1;

  // Central moments (Welford for the mean and M2, Pébay's updates for M3 and M4).
  const double n = n_;
  const double delta = r - mean_;
  const double delta_n = delta / n;
  const double delta_n2 = delta_n * delta_n;
  const double term1 = delta * delta_n * (n - 1);
  mean_ += delta_n;
  m4_ += term1 * delta_n2 * (n * n - 3 * n + 3) + 6 * delta_n2 * m2_ - 4 * delta_n * m3_;
  m3_ += term1 * delta_n * (n - 2) - 3 * delta_n * m2_;
  m2_ += term1;

  const double below = std::min(r - options_.risk_free, 0.0);
  downside_sq_sum_ += below * below;

  // Wealth, peak, drawdown depth and duration (bars strictly below the running peak).
  wealth_ *= 1 + r;
  if (wealth_ >= peak_) {
    peak_ = wealth_;
    underwater_ = 0;
  } else {
    ++underwater_;
    max_underwater_ = std::max(max_underwater_, underwater_);
  }
  max_dd_ = std::min(max_dd_, (wealth_ - peak_) / peak_);

  // Benchmark and active return (a missing benchmark bar counts as a zero return).
  double b = 0.0;
  if (!std::isnan(bar.benchmark)) {
    b = bar.benchmark;
    ++benchmark_bars_;
  }
  benchmark_wealth_ *= 1 + b;
  WelfordAdd(r - b, n, active_mean_, active_m2_);

  turnover_sum_ += bar.turnover;
  fees_sum_ += bar.fees;
  exposure_sum_ += bar.gross_exposure;
  if (bar.gross_exposure > 0) ++exposed_bars_;

  if (options_.tail_metrics) returns_.push_back(r);
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

Metrics MetricsAccumulator::Finish() const {
  Metrics m;
  const double n = n_;
  const double ann = options_.periods_per_year;
  m.bars = static_cast<std::int64_t>(n_);

  // Costs and trades do not depend on the returns.
  m.fees = fees_sum_;
  m.fees_fraction = fees_sum_ / options_.initial_capital;
  m.trades = trades_;
  if (trades_ > 0) {
    const auto t = static_cast<double>(trades_);
    m.win_rate = static_cast<double>(wins_) / t;
    m.profit_factor = gross_loss_ > 0 ? FiniteOrNaN(gross_profit_ / gross_loss_) : kNaN;
    m.expectancy = pnl_sum_ / t;
    m.avg_trade_return = trade_ret_sum_ / t;
    m.avg_holding_bars = static_cast<double>(holding_sum_) / t;
  }
  if (n_ == 0) return m;
  m.turnover = turnover_sum_ / n;
  m.annual_turnover = m.turnover * ann;
  m.exposure = static_cast<double>(exposed_bars_) / n;
  m.avg_gross_exposure = exposure_sum_ / n;
  if (nonfinite_) return m;

  const double sqrt_ann = std::sqrt(ann);
  m.total_return = wealth_ - 1;
  m.annual_return = wealth_ < 0 ? kNaN : std::pow(wealth_, ann / n) - 1;
  const double sd = SampleStd(m2_, n);
  m.volatility = sd * sqrt_ann;
  const double excess_mean = mean_ - options_.risk_free;
  m.sharpe = sd > 0 ? FiniteOrNaN(excess_mean / sd * sqrt_ann) : kNaN;
  const double downside = std::sqrt(downside_sq_sum_ / n);
  m.sortino = n >= 2 && downside > 0 ? FiniteOrNaN(excess_mean / downside * sqrt_ann) : kNaN;
  m.max_drawdown = max_dd_;
  m.max_drawdown_duration = max_underwater_;
  m.calmar = max_dd_ < 0 ? FiniteOrNaN(m.annual_return / -max_dd_) : kNaN;

  if (benchmark_bars_ > 0) {
    m.benchmark_return = benchmark_wealth_ - 1;
    const double benchmark_annual =
        benchmark_wealth_ < 0 ? kNaN : std::pow(benchmark_wealth_, ann / n) - 1;
    m.excess_return = m.annual_return - benchmark_annual;
    const double tracking = SampleStd(active_m2_, n);
    m.information_ratio = tracking > 0 ? FiniteOrNaN(active_mean_ / tracking * sqrt_ann) : kNaN;
  }

  if (m2_ > 0) {
    m.skew = FiniteOrNaN(std::sqrt(n) * m3_ / std::pow(m2_, 1.5));
    m.kurtosis = FiniteOrNaN(n * m4_ / (m2_ * m2_) - 3);
  }

  if (options_.tail_metrics) {
    std::vector<double> sorted = returns_;
    std::sort(sorted.begin(), sorted.end());
    m.var_95 = Percentile(sorted, 5);
    const double p95 = Percentile(sorted, 95);
    m.tail_ratio = FiniteOrNaN(std::abs(p95) / std::abs(m.var_95));
    // The worst floor((n - 1) * 0.05) + 1 returns, as empyrical's conditional_value_at_risk.
    const auto k = static_cast<std::size_t>((n - 1) * 0.05) + 1;
    double tail_sum = 0;
    for (std::size_t i = 0; i < k; ++i)
      tail_sum += sorted[i];
    m.cvar_95 = tail_sum / static_cast<double>(k);
  }
  return m;
}

Metrics ComputeMetrics(std::span<const double> returns, std::span<const double> benchmark,
                       const MetricsOptions& options) {
  MetricsAccumulator acc(options);
  acc.Reserve(returns.size());
  for (std::size_t t = 0; t < returns.size(); ++t) {
    BarRecord bar{.ret = returns[t]};
    if (!benchmark.empty()) bar.benchmark = benchmark[t];
    acc.AddBar(bar);
  }
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
