#include "qraft/engines/precise/stress.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

namespace qraft::precise {

namespace {

struct Scenario {
  const char* name;
  std::size_t bars;
  double size;
};
constexpr Scenario kScenarios[] = {{"gap_crash", 1, 0.2},  {"limit_lock", 5, 0.1},
                                   {"suspension", 10, 0},  {"liquidity_drought", 20, 0.1},
                                   {"reject_burst", 5, 0}, {"data_outage", 3, 0}};

Result<Scenario> Resolve(const StressOptions& o, std::size_t T) {
  const Scenario* found = nullptr;
  for (const Scenario& s : kScenarios)
    if (o.scenario == s.name) found = &s;
  if (found == nullptr) {
    return Status::InvalidArgument(fmt::format("unknown stress scenario '{}' (expected one of: {})",
                                               o.scenario, fmt::join(StressScenarios(), ", ")));
  }
  Scenario s = *found;
  if (o.bars > 0) s.bars = o.bars;
  if (o.size > 0) s.size = o.size;
  if (!(s.size >= 0 && s.size < 1)) {
    return Status::InvalidArgument(fmt::format("stress size {} must be in [0, 1)", s.size));
  }
  const std::size_t from = o.from == static_cast<std::size_t>(-1) ? T / 2 : o.from;
  if (from >= T || from + s.bars > T) {
    return Status::InvalidArgument(
        fmt::format("stress window of {} bars from bar {} does not fit the {} bars of the data",
                    s.bars, from, T));
  }
  return s;
}

bool IsPrice(std::string_view field) {
  return field == "open" || field == "high" || field == "low" || field == "close" ||
         field == "vwap";
}

}  // namespace

std::vector<std::string> StressScenarios() {
  std::vector<std::string> out;
  for (const Scenario& s : kScenarios)
    out.emplace_back(s.name);
  return out;
}

Result<Panel> InjectStress(const Panel& data, const StressOptions& options) {
  const std::size_t S = data.num_symbols(), T = data.num_times();
  QRAFT_ASSIGN_OR_RETURN(const Scenario sc, Resolve(options, T));
  const std::size_t from = options.from == static_cast<std::size_t>(-1) ? T / 2 : options.from;
  const std::size_t to = from + sc.bars;  // exclusive
  const std::string name = sc.name;
  PanelBuilder builder(data.calendar(), data.symbols().names());
  const auto close_index = data.FindField("close");
  if (!close_index) return Status::InvalidArgument("stress scenarios need the field close");
  const std::span<const double> close = data.field(*close_index);
  // limit_lock: the locked closes and the factor that carries the fall to later bars.
  std::vector<double> lock_price(S * T, std::numeric_limits<double>::quiet_NaN());
  std::vector<double> after(S, 1.0);
  if (name == "limit_lock") {
    for (std::size_t s = 0; s < S; ++s) {
      double prev = std::numeric_limits<double>::quiet_NaN();
      for (std::size_t t = 0; t < from; ++t)
        if (std::isfinite(close[s * T + t])) prev = close[s * T + t];
      if (!std::isfinite(prev)) continue;
      for (std::size_t t = from; t < to; ++t) {
        prev *= 1 - sc.size;
        lock_price[s * T + t] = prev;
      }
      // Later bars continue from the locked level.
      const double last = close[s * T + to - 1];
      after[s] = std::isfinite(last) && last > 0 ? prev / last : 1.0;
    }
  }
  for (std::size_t f = 0; f < data.num_fields(); ++f) {
    const std::string& field = data.field_names()[f];
    const std::span<const double> in = data.field(f);
    const std::span<double> out = builder.AddField(field);
    std::copy(in.begin(), in.end(), out.begin());
    for (std::size_t s = 0; s < S; ++s) {
      double* v = out.data() + s * T;
      if (name == "gap_crash" && IsPrice(field)) {
        for (std::size_t t = from; t < T; ++t)
          v[t] *= 1 - sc.size;
      } else if (name == "limit_lock" && IsPrice(field)) {
        for (std::size_t t = from; t < to; ++t)
          if (std::isfinite(v[t])) v[t] = lock_price[s * T + t];
        for (std::size_t t = to; t < T; ++t)
          v[t] *= after[s];
      } else if ((name == "suspension" && s % 2 == 0) || name == "data_outage") {
        for (std::size_t t = from; t < to; ++t)
          v[t] = std::numeric_limits<double>::quiet_NaN();
      } else if (name == "liquidity_drought" && field == "volume") {
        for (std::size_t t = from; t < to; ++t)
          v[t] *= sc.size;
      }
    }
  }
  if (name == "limit_lock") {
    const std::span<double> lock = builder.AddField(std::string(kNoSellField));
    std::fill(lock.begin(), lock.end(), 0.0);
    for (std::size_t s = 0; s < S; ++s)
      for (std::size_t t = from; t < to; ++t)
        lock[s * T + t] = std::isfinite(lock_price[s * T + t]) ? 1.0 : 0.0;
  }
  return std::move(builder).Build();
}

Result<StressReport> RunStress(const strategy::StrategySpec& spec, const Panel& data,
                               const strategy::ParamValues& params, const StressOptions& options) {
  const std::size_t T = data.num_times();
  QRAFT_ASSIGN_OR_RETURN(const Scenario sc, Resolve(options, T));
  const std::size_t from = options.from == static_cast<std::size_t>(-1) ? T / 2 : options.from;
  StressReport report{.scenario = sc.name,
                      .from = data.calendar()[from],
                      .to = data.calendar()[from + sc.bars - 1],
                      .bars = sc.bars,
                      .size = sc.size};
  QRAFT_ASSIGN_OR_RETURN(report.baseline, RunPrecise(spec, data, params, options.precise));
  PreciseOptions stressed = options.precise;
  if (report.scenario == "liquidity_drought" && stressed.participation == 0) {
    stressed.participation = 0.1;
  }
  if (report.scenario == "reject_burst") {
    const Timestamp end = from + sc.bars < T ? data.calendar()[from + sc.bars]
                                             : std::numeric_limits<Timestamp>::max();
    stressed.reject_windows.emplace_back(report.from, end - 1);
  }
  QRAFT_ASSIGN_OR_RETURN(const Panel injected, InjectStress(data, options));
  QRAFT_ASSIGN_OR_RETURN(report.stressed, RunPrecise(spec, injected, params, stressed));
  for (const Order& o : report.stressed.orders) {
    switch (o.status) {
      case OrderStatus::kFilled:
        ++report.filled;
        break;
      case OrderStatus::kCancelled:
        ++report.cancelled;
        break;
      case OrderStatus::kRejected:
        ++report.rejected;
        break;
      case OrderStatus::kWorking:
      case OrderStatus::kPending:
        ++report.working;
        break;
    }
  }
  return report;
}

nlohmann::json ToJson(const StressReport& r, bool daily) {
  auto run = [](const PreciseResult& p) {
    return nlohmann::json{{"metrics", engines::ToJson(p.result.metrics)},
                          {"orders", p.result.orders},
                          {"fills", p.fills},
                          {"rejected", p.rejected},
                          {"final_value", p.result.final_value}};
  };
  nlohmann::json change = nlohmann::json::object();
  for (const std::string_view name : {"total_return", "sharpe", "max_drawdown", "turnover"}) {
    const engines::MetricField* f = engines::FindMetricField(name);
    const double d = engines::MetricValue(r.stressed.result.metrics, *f) -
                     engines::MetricValue(r.baseline.result.metrics, *f);
    change[std::string(name)] = std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
  }
  return {{"scenario", r.scenario},
          {"from", FormatTimestamp(r.from, daily)},
          {"to", FormatTimestamp(r.to, daily)},
          {"bars", r.bars},
          {"size", r.size},
          {"baseline", run(r.baseline)},
          {"stressed", run(r.stressed)},
          {"accounting",
           {{"filled", r.filled},
            {"cancelled", r.cancelled},
            {"rejected", r.rejected},
            {"working", r.working}}},
          {"change", change}};
}

}  // namespace qraft::precise
