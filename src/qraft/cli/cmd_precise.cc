// qraft sensitivity | consistency | stress: the precise engine's studies of a sweep or strategy.
#include <fmt/format.h>

#include <cstdio>
#include <nlohmann/json.hpp>

#include "qraft/cli/cli_common.h"
#include "qraft/cli/commands.h"
#include "qraft/core/file_io.h"
#include "qraft/core/parallel.h"
#include "qraft/engines/precise/consistency.h"
#include "qraft/engines/precise/sensitivity.h"
#include "qraft/engines/precise/stress.h"
#include "qraft/engines/study.h"

namespace qraft::cli {
namespace {

struct Args {
  StoreOptions store;
  std::string dir;  // sweep directory, or the strategy file (stress)
  std::string data, scenario, out, objective = "sharpe", scales, components;
  std::vector<std::string> params;
  std::size_t top = 10, candidates = 50, from = static_cast<std::size_t>(-1), bars = 0;
  double size = 0, participation = 0, latency_ms = 0, bound = 0.005;
  bool json = false;
};

// Prints `j` (--json) or `text`, and writes `j` to --out, else to `fallback` (a sweep's
// directory keeps its studies, for `qraft report`), atomically.
int Emit(const Args& a, const nlohmann::json& j, const std::string& text,
         const std::filesystem::path& fallback = {}) {
  const std::filesystem::path out = a.out.empty() ? fallback : std::filesystem::path(a.out);
  if (!out.empty()) {
    if (Status st = WriteFileAtomically(out, j.dump(2) + "\n"); !st.ok()) return Fail(st);
  }
  std::printf("%s\n", a.json ? j.dump().c_str() : text.c_str());
  return kExitOk;
}

std::string Params(const strategy::ParamValues& p) {
  std::string s;
  for (const auto& [n, v] : p)
    s += fmt::format("{}{}={}", s.empty() ? "" : " ", n, v);
  return s;
}

int Sensitivity(const Args& a) {
  ThreadLimit limit(a.store.threads);
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  precise::SensitivityOptions o;
  o.top = a.top;
  o.objective = a.objective;
  if (!a.scales.empty()) {
    o.scales.clear();
    for (const std::string& s : SplitList(a.scales)) {
      char* end = nullptr;
      const double k = std::strtod(s.c_str(), &end);
      if (end == s.c_str() || *end != '\0') {
        return Fail(Status::InvalidArgument(fmt::format("--scales: '{}' is not a number", s)));
      }
      o.scales.push_back(k);
    }
  }
  if (!a.components.empty()) o.components = SplitList(a.components);
  o.precise.participation = a.participation;
  auto r = precise::RunSweepSensitivity(**store, a.dir, a.candidates, o);
  if (!r.ok()) return Fail(r.status());
  std::string text = fmt::format(
      "cost sensitivity of {} candidates ({} by {}), Top-{} overlap against the base costs:\n",
      r->candidates.size(), a.dir, r->objective, r->top);
  text += fmt::format("  {:<11} {:>6} {:>8} {:>8} {:>9}\n", "component", "scale", "overlap",
                      "jaccard", "spearman");
  for (const precise::SensitivityPoint& p : r->points) {
    text += fmt::format("  {:<11} {:>6.2f} {:>8.3f} {:>8.3f} {:>9.3f}\n", p.component, p.scale,
                        p.overlap, p.jaccard, p.spearman);
  }
  text += fmt::format("minimum overlap: {:.3f}", r->min_overlap);
  return Emit(a, precise::ToJson(*r), text, std::filesystem::path(a.dir) / "sensitivity.json");
}

int Consistency(const Args& a) {
  ThreadLimit limit(a.store.threads);
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  precise::ConsistencyOptions o;
  o.candidates = a.candidates;
  o.objective = a.objective;
  o.bound = a.bound;
  o.realistic.participation = a.participation;
  o.realistic.latency.insert = static_cast<Timestamp>(a.latency_ms * 1e6);
  auto r = precise::RunSweepConsistency(**store, a.dir, o);
  if (!r.ok()) return Fail(r.status());
  std::string text = fmt::format(
      "two-stage consistency of {} candidates: {} (largest difference {:.2e}, bound {})\n",
      r->rows.size(), r->pass ? "pass" : "FAIL", r->max_difference, r->bound);
  for (const precise::ConsistencyRow& row : r->rows) {
    text += fmt::format("  {:<30} total_return fast {:+.4f} precise {:+.4f}", Params(row.params),
                        row.fast.total_return, row.like_fast.total_return);
    double before = row.like_fast.total_return;
    for (const precise::FrictionStep& s : row.steps) {
      text += fmt::format("  {} {:+.4f}", s.friction, s.metrics.total_return - before);
      before = s.metrics.total_return;
    }
    text += "\n";
  }
  text.pop_back();
  return Emit(a, precise::ToJson(*r), text, std::filesystem::path(a.dir) / "consistency.json");
}

int Stress(const Args& a) {
  ThreadLimit limit(a.store.threads);
  auto spec = strategy::LoadStrategy(a.dir);
  if (!spec.ok()) return Fail(spec.status());
  auto overrides = ParseNumberAssignments(a.params, "--params");
  if (!overrides.ok()) return Fail(overrides.status());
  auto params = spec->Bind(*overrides);
  if (!params.ok()) return Fail(params.status());
  auto store = a.store.Open();
  if (!store.ok()) return Fail(store.status());
  auto snap = (*store)->Open(a.data);
  if (!snap.ok()) return Fail(snap.status());
  precise::StressOptions o{.scenario = a.scenario, .from = a.from, .bars = a.bars, .size = a.size};
  o.precise.participation = a.participation;
  o.precise.metrics.periods_per_year = engines::PeriodsPerYear(*snap);
  auto r = precise::RunStress(*spec, snap->panel(), *params, o);
  if (!r.ok()) return Fail(r.status());
  const nlohmann::json j = precise::ToJson(*r, snap->date_only());
  const auto& b = r->baseline.result.metrics;
  const auto& s = r->stressed.result.metrics;
  const std::string text = fmt::format(
      "{} from {} to {} ({} bars, size {}):\n"
      "  {:<14} {:>12} {:>12}\n  {:<14} {:>12.4f} {:>12.4f}\n  {:<14} {:>12.3f} {:>12.3f}\n"
      "  {:<14} {:>12.4f} {:>12.4f}\n  {:<14} {:>12} {:>12}\n"
      "orders of the stressed run: {} filled, {} cancelled, {} rejected, {} working",
      r->scenario, j["from"].get<std::string>(), j["to"].get<std::string>(), r->bars, r->size, "",
      "baseline", "stressed", "total_return", b.total_return, s.total_return, "sharpe", b.sharpe,
      s.sharpe, "max_drawdown", b.max_drawdown, s.max_drawdown, "orders", r->baseline.result.orders,
      r->stressed.result.orders, r->filled, r->cancelled, r->rejected, r->working);
  return Emit(a, j, text);
}

}  // namespace

void RegisterPrecise(CLI::App& app, int* exit_code) {
  auto common = [](CLI::App* cmd, Args* a) {
    a->store.Add(*cmd);
    cmd->add_flag("--json", a->json, "Print JSON");
    cmd->add_option("--out", a->out,
                    "Write the JSON report here (default: sensitivity.json / consistency.json "
                    "in the sweep directory; stress: none)");
    cmd->add_option("--participation", a->participation,
                    "Max share of each price point's volume per order (0 = no cap)");
  };
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "sensitivity",
        "Re-run a sweep's best candidates on the precise engine with each cost scaled; Top-N "
        "overlap and rank correlation against the base costs (docs/precise.md)");
    common(cmd, a.get());
    cmd->add_option("sweep_dir", a->dir, "A sweep's result directory (qraft sweep --out)")
        ->required();
    cmd->add_option("--top", a->top, "N of the Top-N overlap (default 10)");
    cmd->add_option("--candidates", a->candidates,
                    "Candidates re-run: the best K of the sweep by the objective (default 50; 0 = "
                    "all)");
    cmd->add_option("--objective", a->objective, "Metric to rank by (default sharpe)");
    cmd->add_option("--scales", a->scales, "Cost multipliers (default 0.5,0.75,1,1.25,1.5)");
    cmd->add_option("--components", a->components,
                    "Costs scaled: commission, tax, slippage, all (default: each, then all)");
    cmd->callback([a, exit_code] { *exit_code = Sensitivity(*a); });
  }
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "consistency",
        "Two-stage consistency: the precise engine configured like the fast one against a "
        "sweep's figures, then each friction's effect (docs/precise.md)");
    common(cmd, a.get());
    cmd->add_option("sweep_dir", a->dir, "A sweep's result directory")->required();
    cmd->add_option("--candidates", a->candidates, "The best K of the sweep (default 50)");
    cmd->add_option("--objective", a->objective, "Metric to rank by (default sharpe)");
    cmd->add_option("--bound", a->bound, "Largest relative difference allowed (default 0.005)");
    cmd->add_option("--latency-ms", a->latency_ms, "Order latency of the realistic run (ms)");
    cmd->callback([a, exit_code] { *exit_code = Consistency(*a); });
  }
  {
    auto a = std::make_shared<Args>();
    CLI::App* cmd = app.add_subcommand(
        "stress", "Replay a strategy on the precise engine with an injected event");
    common(cmd, a.get());
    cmd->add_option("strategy", a->dir, "Strategy YAML")->required();
    cmd->add_option("--data", a->data, "Snapshot reference")->required();
    cmd->add_option("--scenario", a->scenario,
                    "gap_crash | limit_lock | suspension | liquidity_drought | reject_burst | "
                    "data_outage")
        ->required();
    cmd->add_option("--params", a->params, "Parameter values NAME=NUMBER (default: defaults)");
    cmd->add_option("--from", a->from, "First bar of the event (index; default the middle)");
    cmd->add_option("--bars", a->bars, "Bars the event lasts (default: the scenario's)");
    cmd->add_option("--size", a->size, "The event's size (default: the scenario's)");
    cmd->callback([a, exit_code] { *exit_code = Stress(*a); });
  }
}

}  // namespace qraft::cli
