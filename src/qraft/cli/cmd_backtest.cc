// qraft backtest | sweep
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <optional>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/engines/precise/run.h"
#include "qraft/engines/results.h"
#include "qraft/engines/study.h"

namespace qraft::cli {
namespace {

struct Args {
  StoreOptions store;
  std::string file, data, objective = "sharpe", out;
  std::vector<std::string> params;
  std::size_t top = 0, keep = 10;
  std::string sample;  // random | lhs; empty = the whole grid
  std::size_t samples = 100;
  std::uint64_t seed = 1;
  std::string pareto = "sharpe,max_drawdown";
  std::size_t warmup = 0;
  std::string warmup_min;  // METRIC=VALUE
  bool no_cache = false;
  double periods_per_year = 0;  // 0: from the data
  bool json = false;
  std::string engine = "fast";  // backtest: fast | precise
  double participation = 0;     // precise: max share of a price point's volume per order
  double latency_ms = 0, data_latency_ms = 0;  // precise: order and market-data latency
};

nlohmann::json ResultJson(const engines::CombinationResult& r) {
  nlohmann::json j = {{"params", r.params}, {"metrics", engines::ToJson(r.metrics)}};
  if (r.stopped) j["stopped"] = true;
  return j;
}

// The combinations to run: the sample, the grid, or one bound combination.
Result<std::vector<strategy::ParamValues>> Combinations(const Args& a,
                                                        const strategy::StrategySpec& spec,
                                                        bool sweep) {
  if (sweep && !a.sample.empty()) {
    if (a.sample != "random" && a.sample != "lhs") {
      return Status::InvalidArgument(
          fmt::format("--sample '{}': expected random or lhs (Latin hypercube)", a.sample));
    }
    return spec.Sample(a.sample == "lhs" ? strategy::StrategySpec::Sampling::kLatinHypercube
                                         : strategy::StrategySpec::Sampling::kRandom,
                       a.samples, a.seed);
  }
  if (sweep) return spec.Combinations();
  QRAFT_ASSIGN_OR_RETURN(const auto overrides, ParseNumberAssignments(a.params, "--params"));
  QRAFT_ASSIGN_OR_RETURN(strategy::ParamValues bound, spec.Bind(overrides));
  return std::vector<strategy::ParamValues>{std::move(bound)};
}

// --warmup N --warmup-min METRIC=VALUE: stop combinations whose warm-up METRIC is below VALUE.
Result<std::optional<engines::EarlyStop>> EarlyStopOf(const Args& a) {
  if (a.warmup == 0 && a.warmup_min.empty()) return std::optional<engines::EarlyStop>();
  if (a.warmup == 0 || a.warmup_min.empty()) {
    return Status::InvalidArgument("--warmup and --warmup-min go together");
  }
  QRAFT_ASSIGN_OR_RETURN(const auto rule, ParseNumberAssignments({a.warmup_min}, "--warmup-min"));
  const auto& [metric, min] = *rule.begin();
  const engines::MetricField* field = engines::FindMetricField(metric);
  if (field == nullptr) {
    return Status::InvalidArgument(fmt::format("--warmup-min: unknown metric '{}'", metric));
  }
  engines::EarlyStop stop;
  stop.warmup_bars = a.warmup;
  stop.stop = [field, threshold = min](const engines::CombinationResult& r, std::size_t) {
    const double v = engines::MetricValue(r.metrics, *field);
    return std::isnan(v) || v < threshold;
  };
  return std::optional<engines::EarlyStop>(std::move(stop));
}

// qraft backtest --engine precise: the same strategy order by order (engines/precise/run.h).
int RunPrecise(const Args& a) {
  auto spec = strategy::LoadStrategy(a.file);
  if (!spec.ok()) return Fail(spec.status());
  auto combos = Combinations(a, *spec, false);
  if (!combos.ok()) return Fail(combos.status());
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  precise::PreciseOptions options;
  options.metrics.periods_per_year = a.periods_per_year;
  options.participation = a.participation;
  options.latency.insert = options.latency.cancel = static_cast<Timestamp>(a.latency_ms * 1e6);
  options.latency.market_data = static_cast<Timestamp>(a.data_latency_ms * 1e6);
  auto study = precise::RunPreciseStudy(**store, a.data, *spec, (*combos)[0], options);
  if (!study.ok()) return Fail(study.status());
  if (!a.out.empty()) {
    if (Status st = precise::WritePreciseResultDir(a.out, *study); !st.ok()) return Fail(st);
  }
  const precise::PreciseResult& r = study->result;
  nlohmann::json rejects = nlohmann::json::object();
  for (const auto& [reason, n] : r.rejects)
    rejects[reason] = n;
  const precise::CostBreakdown& c = r.costs;
  const nlohmann::json j = {{"dsl_hash", study->output.dsl_hash},
                            {"snapshot_id", study->output.snapshot_id},
                            {"params", r.result.params},
                            {"metrics", engines::ToJson(r.result.metrics)},
                            {"assumptions", spec->assumptions},
                            {"engine", "precise"},
                            {"orders", r.result.orders},
                            {"fills", r.fills},
                            {"rejected", r.rejected},
                            {"cancelled", r.cancelled},
                            {"reject_reasons", rejects},
                            {"final_value", r.result.final_value},
                            {"costs",
                             {{"commission", c.commission},
                              {"stamp_duty", c.stamp_duty},
                              {"transfer_fee", c.transfer_fee},
                              {"exchange_fee", c.exchange_fee},
                              {"slippage", c.slippage},
                              {"funding", c.funding},
                              {"total", c.Total()}}}};
  if (a.json) {
    std::printf("%s\n", j.dump().c_str());
  } else {
    std::printf(
        "%s on %s (precise engine): %lld orders, %lld fills, %lld rejected\n%s\ncosts: %s\n",
        a.file.c_str(), study->output.snapshot_id.substr(0, 12).c_str(),
        static_cast<long long>(r.result.orders), static_cast<long long>(r.fills),
        static_cast<long long>(r.rejected), j["metrics"].dump(2).c_str(),
        j["costs"].dump().c_str());
    if (!a.out.empty()) std::printf("results: %s\n", a.out.c_str());
  }
  return kExitOk;
}

int Run(const Args& a, bool sweep) {
  ThreadLimit limit(a.store.threads);
  if (!sweep && a.engine == "precise") return RunPrecise(a);
  if (a.engine != "fast" && a.engine != "precise") {
    return Fail(
        Status::InvalidArgument(fmt::format("--engine '{}': expected fast or precise", a.engine)));
  }
  auto spec = strategy::LoadStrategy(a.file);
  if (!spec.ok()) return Fail(spec.status());
  const std::vector<std::string> warnings = engines::FastEngineWarnings(*spec);
  for (const std::string& w : warnings)
    std::fprintf(stderr, "warning: %s\n", w.c_str());
  auto combos = Combinations(a, *spec, sweep);
  if (!combos.ok()) return Fail(combos.status());
  auto early = EarlyStopOf(a);
  if (!early.ok()) return Fail(early.status());
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  std::unique_ptr<engines::ResultCache> cache;
  if (!a.no_cache) {
    auto opened = engines::ResultCache::Open(a.store.Root() / "cache" / "results.db");
    if (!opened.ok()) return Fail(opened.status());
    cache = std::move(*opened);
  }
  engines::StudyOptions options;
  options.backtest.metrics.periods_per_year = a.periods_per_year;
  options.objective = a.objective;
  options.pareto = SplitList(a.pareto);
  options.keep = a.out.empty() ? 0 : a.keep;
  options.top = a.top;
  options.early_stop = std::move(*early);
  options.cache = cache.get();
  TerminalProgress progress;  // silent unless stderr is a terminal
  auto study = engines::RunStudy(**store, a.data, *spec, *combos, options,
                                 sweep ? static_cast<Progress&>(progress) : NullProgress());
  if (!study.ok()) return Fail(study.status());
  const engines::SweepOutput& out = *study;
  if (!a.out.empty()) {
    if (Status st = engines::WriteResultDir(a.out, out); !st.ok()) return Fail(st);
  }
  const auto& results = out.results;
  if (!sweep) {
    const nlohmann::json j = {
        {"dsl_hash", out.dsl_hash},         {"snapshot_id", out.snapshot_id},
        {"params", results[0].params},      {"metrics", engines::ToJson(results[0].metrics)},
        {"assumptions", spec->assumptions}, {"warnings", warnings}};
    if (a.json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s on %s\n%s\n", a.file.c_str(), out.snapshot_id.substr(0, 12).c_str(),
                  j["metrics"].dump(2).c_str());
      if (!a.out.empty()) std::printf("results: %s\n", a.out.c_str());
    }
    return kExitOk;
  }
  if (a.json) {
    nlohmann::json list = nlohmann::json::array();
    for (std::size_t i : out.top)
      list.push_back(ResultJson(results[i]));
    nlohmann::json j = {{"dsl_hash", out.dsl_hash},
                        {"snapshot_id", out.snapshot_id},
                        {"combinations", results.size()},
                        {"objective", out.objective},
                        {"results", list},
                        {"pareto", out.pareto},
                        {"warnings", warnings}};
    if (!a.out.empty()) j["out"] = a.out;
    std::printf("%s\n", j.dump().c_str());
    return kExitOk;
  }
  std::printf("%s: %zu combinations on %s, best by %s:\n", a.file.c_str(), results.size(),
              out.snapshot_id.substr(0, 12).c_str(), out.objective.c_str());
  std::printf("  %-36s %10s %10s %10s %8s %10s\n", "params", "total_ret", "sharpe", "max_dd",
              "orders", "fees");
  for (std::size_t k = 0; k < out.top.size() && k < 10; ++k) {
    const engines::CombinationResult& r = results[out.top[k]];
    std::string p;
    for (const auto& [n, v] : r.params)
      p += fmt::format("{}{}={}", p.empty() ? "" : " ", n, v);
    std::printf("  %-36s %10.4f %10.3f %10.4f %8lld %10.2f\n", p.c_str(), r.metrics.total_return,
                r.metrics.sharpe, r.metrics.max_drawdown, static_cast<long long>(r.orders),
                r.metrics.fees);
  }
  std::size_t stopped = 0;
  for (const engines::CombinationResult& r : results)
    stopped += r.stopped;
  if (stopped > 0) std::printf("stopped after the warm-up: %zu combinations\n", stopped);
  std::printf("Pareto front (%s): %zu combinations\n", a.pareto.c_str(), out.pareto.size());
  if (!a.out.empty()) std::printf("results: %s\n", a.out.c_str());
  return kExitOk;
}

void AddCommon(CLI::App* cmd, Args* a) {
  a->store.Add(*cmd);
  cmd->add_option("strategy", a->file, "Strategy YAML (docs/dsl.md)")->required();
  cmd->add_option("--data", a->data, "Snapshot reference")->required();
  cmd->add_flag("--json", a->json, "Print JSON");
  cmd->add_option("--periods-per-year", a->periods_per_year,
                  "Bars per year for annualised metrics (default: from the data: 252 trading "
                  "days, 365 for 24/7 markets, times bars per day for intraday data)");
  cmd->add_flag("--no-cache", a->no_cache,
                "Recompute every combination (default: reuse cached results of this build)");
}

}  // namespace

void RegisterBacktest(CLI::App& app, int* exit_code) {
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd =
        app.add_subcommand("backtest", "Back-test a strategy at one parameter combination");
    AddCommon(cmd, a.get());
    cmd->add_option("--params", a->params, "Parameter values NAME=NUMBER (default: defaults)");
    cmd->add_option("--out", a->out,
                    "Result directory (result.json, metrics, curve, trades; with --engine "
                    "precise also the order and fill logs)");
    cmd->add_option("--engine", a->engine,
                    "fast (the vectorised engine, default) or precise (event-driven, order by "
                    "order: docs/precise.md)");
    cmd->add_option("--participation", a->participation,
                    "Precise engine: max share of each price point's volume per order (0 = no "
                    "cap)");
    cmd->add_option("--latency-ms", a->latency_ms,
                    "Precise engine: order insert and cancel latency, ms (costs.slippage."
                    "latency_ms of the strategy sets the insert latency instead)");
    cmd->add_option("--data-latency-ms", a->data_latency_ms,
                    "Precise engine: market-data latency, ms");
    cmd->callback([a, exit_code] { *exit_code = Run(*a, false); });
  }
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("sweep", "Run every parameter combination of a strategy");
    AddCommon(cmd, a.get());
    cmd->add_option("--top", a->top, "Keep the best N by the objective (default: all)");
    cmd->add_option("--objective", a->objective, "Metric to rank by (default sharpe)");
    cmd->add_option("--out", a->out,
                    "Result directory: result.json, metrics.csv/.parquet, the kept candidates' "
                    "curves and trades (docs/report.md)");
    cmd->add_option("--keep", a->keep, "Candidates kept with curves and trades (default 10)");
    cmd->add_option("--pareto", a->pareto,
                    "Pareto objectives, comma-separated; '-' minimises (default "
                    "sharpe,max_drawdown)");
    cmd->add_option("--warmup", a->warmup, "Early stop: bars of the warm-up run");
    cmd->add_option("--warmup-min", a->warmup_min,
                    "Early stop: METRIC=VALUE; combinations below it after the warm-up stop");
    cmd->add_option("--sample", a->sample, "Sample the grid instead: random or lhs");
    cmd->add_option("--samples", a->samples, "How many combinations to sample (default 100)");
    cmd->add_option("--seed", a->seed, "Seed of the sampler (default 1)");
    cmd->callback([a, exit_code] { *exit_code = Run(*a, true); });
  }
}

}  // namespace qraft::cli
