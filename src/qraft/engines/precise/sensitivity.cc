#include "qraft/engines/precise/sensitivity.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qraft/core/parallel.h"
#include "qraft/engines/results.h"
#include "qraft/engines/study.h"

namespace qraft::precise {

using engines::kNaN;

namespace {

// Values with NaN as the lowest, so that it ranks last.
double Key(double v) {
  return std::isnan(v) ? -std::numeric_limits<double>::infinity() : v;
}

std::vector<double> AverageRanks(const std::vector<double>& v) {
  std::vector<std::size_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::sort(idx.begin(), idx.end(), [&](std::size_t a, std::size_t b) { return v[a] < v[b]; });
  std::vector<double> rank(v.size());
  for (std::size_t i = 0; i < idx.size();) {
    std::size_t j = i;
    while (j + 1 < idx.size() && v[idx[j + 1]] == v[idx[i]])
      ++j;
    const double r = (static_cast<double>(i) + static_cast<double>(j)) / 2 + 1;
    for (std::size_t k = i; k <= j; ++k)
      rank[idx[k]] = r;
    i = j + 1;
  }
  return rank;
}

std::pair<std::size_t, std::size_t> Intersection(std::span<const double> a,
                                                 std::span<const double> b, std::size_t n) {
  std::vector<std::size_t> ta = TopN(a, n), tb = TopN(b, n);
  std::sort(ta.begin(), ta.end());
  std::sort(tb.begin(), tb.end());
  std::vector<std::size_t> both;
  std::set_intersection(ta.begin(), ta.end(), tb.begin(), tb.end(), std::back_inserter(both));
  return {both.size(), ta.size() + tb.size() - both.size()};
}

}  // namespace

std::vector<std::size_t> TopN(std::span<const double> values, std::size_t n) {
  std::vector<std::size_t> idx(values.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(),
                   [&](std::size_t a, std::size_t b) { return Key(values[a]) > Key(values[b]); });
  idx.resize(std::min(n, idx.size()));
  return idx;
}

double TopNOverlap(std::span<const double> a, std::span<const double> b, std::size_t n) {
  n = std::min(n, a.size());
  if (n == 0) return kNaN;
  return static_cast<double>(Intersection(a, b, n).first) / static_cast<double>(n);
}

double TopNJaccard(std::span<const double> a, std::span<const double> b, std::size_t n) {
  n = std::min(n, a.size());
  if (n == 0) return kNaN;
  const auto [both, either] = Intersection(a, b, n);
  return static_cast<double>(both) / static_cast<double>(either);
}

double SpearmanRho(std::span<const double> a, std::span<const double> b) {
  std::vector<double> x, y;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i) {
    if (std::isfinite(a[i]) && std::isfinite(b[i])) {
      x.push_back(a[i]);
      y.push_back(b[i]);
    }
  }
  if (x.size() < 2) return kNaN;
  const std::vector<double> rx = AverageRanks(x), ry = AverageRanks(y);
  const double mean = (static_cast<double>(x.size()) + 1) / 2;
  double sxy = 0, sxx = 0, syy = 0;
  for (std::size_t i = 0; i < rx.size(); ++i) {
    sxy += (rx[i] - mean) * (ry[i] - mean);
    sxx += (rx[i] - mean) * (rx[i] - mean);
    syy += (ry[i] - mean) * (ry[i] - mean);
  }
  return sxx > 0 && syy > 0 ? sxy / std::sqrt(sxx * syy) : kNaN;
}

Result<SensitivityReport> RunSensitivity(const strategy::StrategySpec& spec, const Panel& data,
                                         std::span<const strategy::ParamValues> candidates,
                                         const SensitivityOptions& options) {
  const engines::MetricField* objective = engines::FindMetricField(options.objective);
  if (objective == nullptr) {
    return Status::InvalidArgument(fmt::format("unknown objective '{}'", options.objective));
  }
  for (const std::string& c : options.components) {
    if (c != "commission" && c != "tax" && c != "slippage" && c != "all") {
      return Status::InvalidArgument(fmt::format(
          "unknown cost component '{}' (expected commission, tax, slippage or all)", c));
    }
  }
  for (const double k : options.scales) {
    if (!(k >= 0) || !std::isfinite(k)) {
      return Status::InvalidArgument(fmt::format("cost scale {} must be a number >= 0", k));
    }
  }
  SensitivityReport report;
  report.objective = options.objective;
  report.top = std::min(options.top, candidates.size());
  report.candidates.assign(candidates.begin(), candidates.end());
  // Run (point, candidate) pairs; point 0 is the base.
  struct Point {
    std::string component;
    double scale;
  };
  std::vector<Point> points{{"base", 1.0}};
  for (const std::string& c : options.components)
    for (const double k : options.scales)
      points.push_back({c, k});
  const std::size_t K = candidates.size();
  std::vector<engines::Metrics> metrics(points.size() * K);
  QRAFT_RETURN_NOT_OK(
      ParallelForStatus(metrics.size(), 1, [&](std::size_t b, std::size_t e) -> Status {
        for (std::size_t r = b; r < e; ++r) {
          const Point& p = points[r / K];
          PreciseOptions o = options.precise;
          o.keep_logs = false;
          const bool all = p.component == "all";
          if (all || p.component == "commission") o.fee_scale *= p.scale;
          if (all || p.component == "tax") o.tax_scale *= p.scale;
          if (all || p.component == "slippage") {
            o.spread_scale *= p.scale;
            o.impact_scale *= p.scale;
          }
          QRAFT_ASSIGN_OR_RETURN(const PreciseResult run,
                                 RunPrecise(spec, data, candidates[r % K], o));
          metrics[r] = run.result.metrics;
        }
        return Status::OK();
      }));
  auto objective_of = [&](std::size_t point) {
    std::vector<double> v(K);
    for (std::size_t k = 0; k < K; ++k)
      v[k] = engines::MetricValue(metrics[point * K + k], *objective);
    return v;
  };
  const std::vector<double> base = objective_of(0);
  report.base.assign(metrics.begin(), metrics.begin() + static_cast<std::ptrdiff_t>(K));
  for (std::size_t p = 1; p < points.size(); ++p) {
    const std::vector<double> v = objective_of(p);
    SensitivityPoint point{.component = points[p].component,
                           .scale = points[p].scale,
                           .metrics = {metrics.begin() + static_cast<std::ptrdiff_t>(p * K),
                                       metrics.begin() + static_cast<std::ptrdiff_t>((p + 1) * K)},
                           .overlap = TopNOverlap(base, v, report.top),
                           .jaccard = TopNJaccard(base, v, report.top),
                           .spearman = SpearmanRho(base, v)};
    if (!std::isnan(point.overlap))
      report.min_overlap = std::min(report.min_overlap, point.overlap);
    report.points.push_back(std::move(point));
  }
  return report;
}

Result<SensitivityReport> RunSweepSensitivity(const data::SnapshotStore& store,
                                              const std::filesystem::path& sweep_dir,
                                              std::size_t candidates, SensitivityOptions options) {
  QRAFT_ASSIGN_OR_RETURN(const engines::SweepOutput sweep, engines::ReadResultDir(sweep_dir));
  QRAFT_ASSIGN_OR_RETURN(const strategy::StrategySpec spec,
                         strategy::StrategyFromCanonical(sweep.strategy));
  QRAFT_ASSIGN_OR_RETURN(const data::Snapshot snap, store.Open(sweep.snapshot_id));
  if (!(options.precise.metrics.periods_per_year > 0))
    options.precise.metrics.periods_per_year = sweep.periods_per_year;
  options.precise.initial_capital = sweep.initial_capital;
  QRAFT_ASSIGN_OR_RETURN(const std::vector<std::size_t> best,
                         engines::RankResults(sweep.results, options.objective,
                                              candidates == 0 ? sweep.results.size() : candidates));
  std::vector<strategy::ParamValues> params;
  for (const std::size_t i : best)
    params.push_back(sweep.results[i].params);
  return RunSensitivity(spec, snap.panel(), params, options);
}

nlohmann::json ToJson(const SensitivityReport& r) {
  nlohmann::json points = nlohmann::json::array();
  const engines::MetricField* objective = engines::FindMetricField(r.objective);
  const engines::MetricField* total = engines::FindMetricField("total_return");
  auto column = [&](const std::vector<engines::Metrics>& m, const engines::MetricField& f) {
    nlohmann::json v = nlohmann::json::array();
    for (const engines::Metrics& x : m) {
      const double d = engines::MetricValue(x, f);
      v.push_back(std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr));
    }
    return v;
  };
  auto num = [](double d) {
    return std::isfinite(d) ? nlohmann::json(d) : nlohmann::json(nullptr);
  };
  for (const SensitivityPoint& p : r.points) {
    points.push_back({{"component", p.component},
                      {"scale", p.scale},
                      {"overlap", num(p.overlap)},
                      {"jaccard", num(p.jaccard)},
                      {"spearman", num(p.spearman)},
                      {"objective", column(p.metrics, *objective)},
                      {"total_return", column(p.metrics, *total)}});
  }
  return {{"objective", r.objective},
          {"top", r.top},
          {"candidates", r.candidates},
          {"base",
           {{"objective", column(r.base, *objective)}, {"total_return", column(r.base, *total)}}},
          {"points", points},
          {"min_overlap", r.min_overlap}};
}

}  // namespace qraft::precise
