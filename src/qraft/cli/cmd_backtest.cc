// qraft backtest | sweep
#include <fmt/format.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/engines/backtest.h"

namespace qraft::cli {
namespace {

struct Args {
  StoreOptions store;
  std::string file, data, objective = "sharpe", out;
  std::vector<std::string> params;
  std::size_t top = 0;
  std::string sample;  // random | lhs; empty = the whole grid
  std::size_t samples = 100;
  std::uint64_t seed = 1;
  bool json = false;
};

nlohmann::json ResultJson(const engines::CombinationResult& r) {
  return {{"params", r.params}, {"metrics", engines::ToJson(r.metrics)}};
}

int Run(const Args& a, bool sweep) {
  ThreadLimit limit(a.store.threads);
  auto spec = strategy::LoadStrategy(a.file);
  if (!spec.ok()) return Fail(spec.status());
  std::vector<strategy::ParamValues> combos;
  if (sweep && !a.sample.empty()) {
    if (a.sample != "random" && a.sample != "lhs") {
      return Fail(Status::InvalidArgument(
          fmt::format("--sample '{}': expected random or lhs (Latin hypercube)", a.sample)));
    }
    auto drawn = spec->Sample(a.sample == "lhs" ? strategy::StrategySpec::Sampling::kLatinHypercube
                                                : strategy::StrategySpec::Sampling::kRandom,
                              a.samples, a.seed);
    if (!drawn.ok()) return Fail(drawn.status());
    combos = std::move(*drawn);
  } else if (sweep) {
    auto all = spec->Combinations();
    if (!all.ok()) return Fail(all.status());
    combos = std::move(*all);
  } else {
    auto overrides = ParseNumberAssignments(a.params, "--params");
    if (!overrides.ok()) return Fail(overrides.status());
    auto bound = spec->Bind(*overrides);
    if (!bound.ok()) return Fail(bound.status());
    combos.push_back(std::move(*bound));
  }
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  TerminalProgress progress;  // silent unless stderr is a terminal
  auto run =
      engines::RunSweepOnSnapshot(**store, a.data, *spec, combos, {},
                                        sweep ? static_cast<Progress&>(progress) : NullProgress());
  if (!run.ok()) return Fail(run.status());
  const auto& results = run->sweep.results;
  if (!sweep) {
    const nlohmann::json j = {{"dsl_hash", run->sweep.dsl_hash},
                              {"snapshot_id", run->snapshot_id},
                              {"params", results[0].params},
                              {"metrics", engines::ToJson(results[0].metrics)},
                              {"assumptions", spec->assumptions}};
    if (a.json) {
      std::printf("%s\n", j.dump().c_str());
    } else {
      std::printf("%s on %s\n%s\n", a.file.c_str(), run->snapshot_id.substr(0, 12).c_str(),
                  j["metrics"].dump(2).c_str());
    }
    return kExitOk;
  }
  auto order = engines::RankResults(results, a.objective, a.top);
  if (!order.ok()) return Fail(order.status());
  if (!a.out.empty()) {
    // The metrics matrix: one row per combination, in combination order.
    std::filesystem::create_directories(a.out);
    std::ofstream csv(std::filesystem::path(a.out) / "metrics.csv");
    std::vector<std::string> names;
    for (const auto& [k, v] : results[0].params)
      names.push_back(k);
    for (const std::string& n : names)
      csv << n << ',';
    bool first = true;
    for (const engines::MetricField& f : engines::MetricFields()) {
      csv << (first ? "" : ",") << f.name;
      first = false;
    }
    csv << '\n';
    for (const engines::CombinationResult& r : results) {
      for (const std::string& n : names)
        csv << fmt::format("{},", r.params.at(n));
      first = true;
      for (const engines::MetricField& f : engines::MetricFields()) {
        const double v = engines::MetricValue(r.metrics, f);
        csv << (first ? "" : ",") << (std::isnan(v) ? std::string() : fmt::format("{}", v));
        first = false;
      }
      csv << '\n';
    }
    if (!csv) return Fail(Status::IOError(fmt::format("{}: cannot write metrics.csv", a.out)));
  }
  nlohmann::json list = nlohmann::json::array();
  for (std::size_t i : *order)
    list.push_back(ResultJson(results[i]));
  if (a.json) {
    std::printf("%s\n", nlohmann::json({{"dsl_hash", run->sweep.dsl_hash},
                                        {"snapshot_id", run->snapshot_id},
                                        {"combinations", results.size()},
                                        {"objective", a.objective},
                                        {"results", list}})
                            .dump()
                            .c_str());
    return kExitOk;
  }
  std::printf("%s: %zu combinations on %s, best by %s:\n", a.file.c_str(), results.size(),
              run->snapshot_id.substr(0, 12).c_str(), a.objective.c_str());
  std::printf("  %-36s %10s %10s %10s %8s %10s\n", "params", "total_ret", "sharpe", "max_dd",
              "orders", "fees");
  for (std::size_t k = 0; k < order->size() && k < 10; ++k) {
    const engines::CombinationResult& r = results[(*order)[k]];
    std::string p;
    for (const auto& [n, v] : r.params)
      p += fmt::format("{}{}={}", p.empty() ? "" : " ", n, v);
    std::printf("  %-36s %10.4f %10.3f %10.4f %8lld %10.2f\n", p.c_str(), r.metrics.total_return,
                r.metrics.sharpe, r.metrics.max_drawdown, static_cast<long long>(r.orders),
                r.metrics.fees);
  }
  if (!a.out.empty()) std::printf("metrics matrix: %s/metrics.csv\n", a.out.c_str());
  return kExitOk;
}

void AddCommon(CLI::App* cmd, Args* a) {
  a->store.Add(*cmd);
  cmd->add_option("strategy", a->file, "Strategy YAML (docs/dsl.md)")->required();
  cmd->add_option("--data", a->data, "Snapshot reference")->required();
  cmd->add_flag("--json", a->json, "Print JSON");
}

}  // namespace

void RegisterBacktest(CLI::App& app, int* exit_code) {
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("backtest", "Back-test a strategy (signal strategies)");
    AddCommon(cmd, a.get());
    cmd->add_option("--params", a->params, "Parameter values NAME=NUMBER (default: defaults)");
    cmd->callback([a, exit_code] { *exit_code = Run(*a, false); });
  }
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand("sweep", "Run every parameter combination of a strategy");
    AddCommon(cmd, a.get());
    cmd->add_option("--top", a->top, "Keep the best N by the objective (default: all)");
    cmd->add_option("--objective", a->objective, "Metric to rank by (default sharpe)");
    cmd->add_option("--out", a->out, "Directory for metrics.csv");
    cmd->add_option("--sample", a->sample, "Sample the grid instead: random or lhs");
    cmd->add_option("--samples", a->samples, "How many combinations to sample (default 100)");
    cmd->add_option("--seed", a->seed, "Seed of the sampler (default 1)");
    cmd->callback([a, exit_code] { *exit_code = Run(*a, true); });
  }
}

}  // namespace qraft::cli
