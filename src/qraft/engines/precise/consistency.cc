#include "qraft/engines/precise/consistency.h"

#include <fmt/format.h>

#include <cmath>

#include "qraft/core/parallel.h"
#include "qraft/engines/results.h"

namespace qraft::precise {

namespace {

double Key(const engines::Metrics& m, std::string_view name) {
  return engines::MetricValue(m, *engines::FindMetricField(name));
}

nlohmann::json Num(double d) {
  return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
}

nlohmann::json KeyJson(const engines::Metrics& m) {
  nlohmann::json j = nlohmann::json::object();
  for (const std::string_view name : kConsistencyMetrics)
    j[std::string(name)] = Num(Key(m, name));
  return j;
}

}  // namespace

double ConsistencyDifference(double precise, double fast) {
  if (std::isnan(precise) && std::isnan(fast)) return 0;
  return std::abs(precise - fast) / std::max(std::abs(fast), 1e-3);
}

Result<ConsistencyReport> RunConsistency(const strategy::StrategySpec& spec, const Panel& data,
                                         std::span<const engines::CombinationResult> fast,
                                         const ConsistencyOptions& options) {
  // The cumulative configurations: like the fast engine, then one friction more each.
  std::vector<std::pair<std::string, PreciseOptions>> configs{
      {"like_fast", LikeFast(options.realistic)}};
  auto add = [&](std::string name, auto&& change) {
    PreciseOptions next = configs.back().second;
    change(next);
    configs.emplace_back(std::move(name), std::move(next));
  };
  const PreciseOptions& real = options.realistic;
  if (real.pack_fees) add("costs", [](PreciseOptions& o) { o.pack_fees = true; });
  if (real.intrabar_limits) add("limits", [](PreciseOptions& o) { o.intrabar_limits = true; });
  if (real.pack_ticks) add("ticks", [](PreciseOptions& o) { o.pack_ticks = true; });
  if (real.participation > 0)
    add("partial_fills", [&](PreciseOptions& o) { o.participation = real.participation; });
  if (real.latency.insert > 0 || real.latency.market_data > 0 || real.latency.cancel > 0)
    add("latency", [&](PreciseOptions& o) { o.latency = real.latency; });
  const std::size_t K = fast.size(), C = configs.size();
  std::vector<engines::Metrics> metrics(K * C);
  QRAFT_RETURN_NOT_OK(ParallelForStatus(K * C, 1, [&](std::size_t b, std::size_t e) -> Status {
    for (std::size_t r = b; r < e; ++r) {
      PreciseOptions o = configs[r % C].second;
      o.keep_logs = false;
      QRAFT_ASSIGN_OR_RETURN(const PreciseResult run,
                             RunPrecise(spec, data, fast[r / C].params, o));
      metrics[r] = run.result.metrics;
    }
    return Status::OK();
  }));
  ConsistencyReport report;
  report.bound = options.bound;
  for (std::size_t k = 0; k < K; ++k) {
    ConsistencyRow row{
        .params = fast[k].params, .fast = fast[k].metrics, .like_fast = metrics[k * C]};
    row.pass = true;
    for (std::size_t m = 0; m < kConsistencyMetrics.size(); ++m) {
      row.difference[m] = ConsistencyDifference(Key(row.like_fast, kConsistencyMetrics[m]),
                                                Key(row.fast, kConsistencyMetrics[m]));
      row.pass = row.pass && row.difference[m] < options.bound;
      report.max_difference = std::max(report.max_difference, row.difference[m]);
    }
    for (std::size_t c = 1; c < C; ++c)
      row.steps.push_back({configs[c].first, metrics[k * C + c]});
    report.pass = report.pass && row.pass;
    report.rows.push_back(std::move(row));
  }
  return report;
}

Result<ConsistencyReport> RunSweepConsistency(const data::SnapshotStore& store,
                                              const std::filesystem::path& sweep_dir,
                                              ConsistencyOptions options) {
  QRAFT_ASSIGN_OR_RETURN(const engines::SweepOutput sweep, engines::ReadResultDir(sweep_dir));
  QRAFT_ASSIGN_OR_RETURN(const strategy::StrategySpec spec,
                         strategy::StrategyFromCanonical(sweep.strategy));
  QRAFT_ASSIGN_OR_RETURN(const data::Snapshot snap, store.Open(sweep.snapshot_id));
  options.realistic.metrics.periods_per_year = sweep.periods_per_year;
  options.realistic.initial_capital = sweep.initial_capital;
  QRAFT_ASSIGN_OR_RETURN(
      const std::vector<std::size_t> best,
      engines::RankResults(sweep.results, options.objective,
                           options.candidates == 0 ? sweep.results.size() : options.candidates));
  std::vector<engines::CombinationResult> fast;
  for (const std::size_t i : best)
    fast.push_back(sweep.results[i]);
  return RunConsistency(spec, snap.panel(), fast, options);
}

nlohmann::json ToJson(const ConsistencyReport& r) {
  nlohmann::json rows = nlohmann::json::array();
  for (const ConsistencyRow& row : r.rows) {
    nlohmann::json diff = nlohmann::json::object();
    for (std::size_t m = 0; m < kConsistencyMetrics.size(); ++m)
      diff[std::string(kConsistencyMetrics[m])] = Num(row.difference[m]);
    nlohmann::json steps = nlohmann::json::array();
    const engines::Metrics* before = &row.like_fast;
    for (const FrictionStep& s : row.steps) {
      nlohmann::json change = nlohmann::json::object();
      for (const std::string_view name : kConsistencyMetrics)
        change[std::string(name)] = Num(Key(s.metrics, name) - Key(*before, name));
      steps.push_back(
          {{"friction", s.friction}, {"metrics", KeyJson(s.metrics)}, {"change", change}});
      before = &s.metrics;
    }
    rows.push_back({{"params", row.params},
                    {"pass", row.pass},
                    {"fast", KeyJson(row.fast)},
                    {"precise", KeyJson(row.like_fast)},
                    {"difference", diff},
                    {"steps", steps}});
  }
  return {
      {"bound", r.bound}, {"pass", r.pass}, {"max_difference", r.max_difference}, {"rows", rows}};
}

}  // namespace qraft::precise
