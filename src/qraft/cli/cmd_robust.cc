// qraft robust spa | pbo | sharpe | blocklen FILE.csv: the gates' statistics (src/qraft/robust)
// on a returns matrix from a CSV file (gates/returns_csv.h), for data from outside a sweep and for
// the cross-checks against arch (scripts/peers/robust_crosscheck.py).
#include <fmt/format.h>

#include <cmath>
#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/parallel.h"
#include "qraft/gates/returns_csv.h"
#include "qraft/robust/bootstrap.h"
#include "qraft/robust/pbo.h"
#include "qraft/robust/sharpe.h"
#include "qraft/robust/spa.h"

namespace qraft::cli {
namespace {

struct Args {
  std::string file, benchmark = "cash", mode = "hansen2005";
  std::size_t reps = 1000, blocks = 16, threads = 0;
  double block = 0, size = 0.05, prob = 0.95, trials = 0;
  std::uint64_t seed = 42;
  bool json = false;
};

nlohmann::json Num(double v) {
  return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json();
}

int Print(const Args& a, const nlohmann::json& j) {
  std::printf("%s\n", a.json ? j.dump().c_str() : j.dump(2).c_str());
  return kExitOk;
}

int Spa(const Args& a) {
  auto table = gates::ReadReturnsCsv(a.file);
  if (!table.ok()) return Fail(table.status());
  const std::size_t T = table->rows;
  // Models: every column but the benchmark's; losses are negated returns (SPEC §2.1).
  std::vector<double> bench_loss(T, 0.0), loss;
  std::vector<std::string> names;
  for (std::size_t j = 0; j < table->names.size(); ++j) {
    const std::span<const double> r = table->view().Column(j);
    if (table->names[j] == a.benchmark) {
      for (std::size_t t = 0; t < T; ++t)
        bench_loss[t] = -r[t];
      continue;
    }
    names.push_back(table->names[j]);
    for (const double x : r)
      loss.push_back(-x);
  }
  if (a.benchmark != "cash" && names.size() == table->names.size()) {
    return Fail(Status::InvalidArgument(
        fmt::format("--benchmark: no column '{}' in {}", a.benchmark, a.file)));
  }
  robust::StepMOptions o;
  if (a.mode == "arch_compat") {
    o.spa.mode = robust::SpaMode::kArchCompat;
  } else if (a.mode != "hansen2005") {
    return Fail(Status::InvalidArgument(
        fmt::format("--mode: '{}': expected hansen2005 or arch_compat", a.mode)));
  }
  o.spa.reps = a.reps;
  o.spa.block = a.block;
  o.spa.seed = a.seed;
  o.size = a.size;
  auto r = robust::StepM(bench_loss, {.data = loss, .rows = T, .cols = names.size()}, o);
  if (!r.ok()) return Fail(r.status());
  using robust::Recentering;
  nlohmann::json superior = nlohmann::json::array();
  for (const std::size_t i : r->superior)
    superior.push_back(names[i]);
  auto better = robust::BetterModels(r->spa, a.size, Recentering::kConsistent);
  nlohmann::json better_names = nlohmann::json::array();
  for (const std::size_t i : better.ok() ? *better : std::vector<std::size_t>{})
    better_names.push_back(names[i]);
  auto critical = robust::CriticalValues(r->spa, a.size);
  return Print(a,
               {{"mode", a.mode},
                {"models", names.size()},
                {"periods", T},
                {"reps", a.reps},
                {"block", r->spa.block},
                {"seed", a.seed},
                {"statistic", Num(r->spa.statistic)},
                {"pvalues",
                 {{"lower", r->spa.pvalue(Recentering::kLower)},
                  {"consistent", r->spa.pvalue(Recentering::kConsistent)},
                  {"upper", r->spa.pvalue(Recentering::kUpper)}}},
                {"se", r->spa.p_value_se[static_cast<std::size_t>(Recentering::kConsistent)]},
                {"reality_check", r->spa.reality_check_pvalue()},
                {"critical_values", critical.ok() ? nlohmann::json{{"lower", (*critical)[0]},
                                                                   {"consistent", (*critical)[1]},
                                                                   {"upper", (*critical)[2]}}
                                                  : nlohmann::json()},
                {"better_models", better_names},
                {"stepm", superior}});
}

int Pbo(const Args& a) {
  auto table = gates::ReadReturnsCsv(a.file);
  if (!table.ok()) return Fail(table.status());
  robust::PboOptions o;
  o.blocks = a.blocks;
  auto r = robust::PboCscv(table->view(), o);
  if (!r.ok()) return Fail(r.status());
  return Print(a, {{"pbo", r->pbo},
                   {"prob_oos_loss", r->prob_oos_loss},
                   {"slope", Num(r->slope)},
                   {"intercept", Num(r->intercept)},
                   {"r2", Num(r->r2)},
                   {"splits", r->n_combos},
                   {"dropped_rows", r->dropped_rows}});
}

int Sharpe(const Args& a) {
  auto table = gates::ReadReturnsCsv(a.file);
  if (!table.ok()) return Fail(table.status());
  const std::size_t K = table->names.size();
  std::vector<double> sharpes(K);
  for (std::size_t j = 0; j < K; ++j)
    sharpes[j] = robust::SharpeRatio(table->view().Column(j));
  const double var = robust::TrialSharpeVariance(sharpes);
  const double trials = a.trials > 0 ? a.trials : static_cast<double>(K);
  nlohmann::json series = nlohmann::json::array();
  for (std::size_t j = 0; j < K; ++j) {
    const robust::Moments m = robust::ComputeMoments(table->view().Column(j));
    series.push_back({{"name", table->names[j]},
                      {"sharpe", Num(m.Sharpe())},
                      {"skew", Num(m.skew)},
                      {"kurtosis", Num(m.kurt)},
                      {"psr", Num(robust::Psr(m.Sharpe(), 0, m.n, m.skew, m.kurt))},
                      {"dsr", Num(robust::Dsr(m.Sharpe(), var, trials, m.n, m.skew, m.kurt))},
                      {"min_trl", Num(robust::MinTrl(m.Sharpe(), 0, m.skew, m.kurt, a.prob))}});
  }
  return Print(a, {{"periods", table->rows},
                   {"trials", trials},
                   {"trial_sharpe_variance", Num(var)},
                   {"expected_max_sharpe", Num(robust::ExpectedMaxSharpe(trials, var))},
                   {"series", series}});
}

int BlockLen(const Args& a) {
  auto table = gates::ReadReturnsCsv(a.file);
  if (!table.ok()) return Fail(table.status());
  auto r = robust::OptimalBlockLengths(table->view());
  if (!r.ok()) return Fail(r.status());
  nlohmann::json series = nlohmann::json::array();
  for (std::size_t j = 0; j < r->size(); ++j) {
    series.push_back({{"name", table->names[j]},
                      {"stationary", (*r)[j].stationary},
                      {"circular", (*r)[j].circular}});
  }
  return Print(a, {{"series", series}});
}

}  // namespace

void RegisterRobust(CLI::App& app, int* exit_code) {
  CLI::App* robust = app.add_subcommand(
      "robust",
      "The gates' statistics on a returns CSV (a header of series names, one row per period; an "
      "optional leading date column): spa, pbo, sharpe, blocklen (docs/gates.md)");
  robust->require_subcommand(1);
  auto add = [&](const char* name, const char* help, int (*run)(const Args&)) {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = robust->add_subcommand(name, help);
    cmd->add_option("file", a->file, "Returns CSV (.csv, .csv.gz)")->required();
    cmd->add_flag("--json", a->json, "One line of JSON (default: indented)");
    cmd->add_option("--threads", a->threads, "Worker threads (default: all cores)");
    cmd->callback([a, exit_code, run] {
      ThreadLimit limit(static_cast<int>(a->threads));
      *exit_code = run(*a);
    });
    return std::make_pair(cmd, a.get());
  };
  {
    auto [cmd, a] = add("spa",
                        "Hansen's SPA, White's Reality Check and Romano-Wolf StepM of every column "
                        "against a benchmark column (or cash)",
                        Spa);
    cmd->add_option("--benchmark", a->benchmark, "The benchmark's column, or cash (default)");
    cmd->add_option("--mode", a->mode, "hansen2005 (default) or arch_compat");
    cmd->add_option("--reps", a->reps, "Bootstrap replications (default 1000)");
    cmd->add_option("--block", a->block, "Mean block length (default: floor(sqrt(T)))");
    cmd->add_option("--seed", a->seed, "SplitMix64 seed of the stationary bootstrap (default 42)");
    cmd->add_option("--size", a->size, "StepM's family-wise error rate (default 0.05)");
  }
  {
    auto [cmd, a] = add("pbo", "Probability of backtest overfitting by CSCV (Sharpe ratio)", Pbo);
    cmd->add_option("--blocks", a->blocks, "S, even (default 16)");
  }
  {
    auto [cmd, a] =
        add("sharpe", "Per column: Sharpe ratio, PSR, DSR and MinTRL (per period)", Sharpe);
    cmd->add_option("--trials", a->trials, "N of the DSR (default: the number of columns)");
    cmd->add_option("--prob", a->prob, "MinTRL's confidence (default 0.95)");
  }
  add("blocklen", "Politis-White optimal block lengths of each column", BlockLen);
}

}  // namespace qraft::cli
