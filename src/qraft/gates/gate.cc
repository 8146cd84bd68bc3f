#include "qraft/gates/gate.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <numeric>

#include "qraft/core/file_io.h"
#include "qraft/core/version.h"
#include "qraft/engines/backtest.h"
#include "qraft/engines/metrics.h"
#include "qraft/engines/precise/consistency.h"
#include "qraft/engines/precise/sensitivity.h"
#include "qraft/engines/results.h"
#include "qraft/gates/stats.h"

namespace qraft::gates {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
// Bars a window needs at the least for its statistics to mean anything.
constexpr std::size_t kMinWindow = 20;

std::string Num(double v) {
  if (std::isnan(v)) return "n/a";
  return fmt::format("{:.4g}", v);
}

Result<Window> MakeWindow(std::span<const Timestamp> times, std::size_t begin, std::size_t end,
                          std::string_view name, std::size_t min_bars) {
  if (end <= begin || end - begin < min_bars) {
    return Status::InvalidArgument(fmt::format(
        "gates: the {} window has {} bars, at least {} are needed (adjust splits in the gates "
        "file, or sweep a longer history)",
        name, end > begin ? end - begin : 0, min_bars));
  }
  return Window{.begin = begin, .end = end, .first = times[begin], .last = times[end - 1]};
}

// The bar index of the first bar at or after t.
std::size_t FirstAtOrAfter(std::span<const Timestamp> times, Timestamp t) {
  return static_cast<std::size_t>(std::lower_bound(times.begin(), times.end(), t) - times.begin());
}

// The equal-weight buy-and-hold of the universe, rebalanced every bar: the mean close-to-close
// return of the symbols with both closes (0 when none), or zeros for "cash".
Result<std::vector<double>> BenchmarkReturns(const strategy::StrategySpec& spec, const Panel& data,
                                             const strategy::ParamValues& params,
                                             std::string_view kind, std::size_t T) {
  std::vector<double> b(T, 0.0);
  if (kind == "cash") return b;
  QRAFT_ASSIGN_OR_RETURN(const engines::Decisions d, engines::Decide(spec, data, params));
  const auto close_field = d.panel.FindField("close");
  if (!close_field) return Status::InvalidArgument("gates: the equal_weight benchmark needs close");
  const std::span<const double> close = d.panel.field(*close_field);
  const std::size_t S = d.panel.num_symbols(), TT = d.panel.num_times();
  if (TT != T) return Status::Internal("gates: the universe's calendar differs from the sweep's");
  for (std::size_t t = 1; t < T; ++t) {
    double sum = 0;
    std::size_t n = 0;
    for (std::size_t s = 0; s < S; ++s) {
      const double c0 = close[s * T + t - 1], c1 = close[s * T + t];
      if (std::isfinite(c0) && std::isfinite(c1) && c0 > 0) {
        sum += c1 / c0 - 1;
        ++n;
      }
    }
    b[t] = n > 0 ? sum / static_cast<double>(n) : 0.0;
  }
  return b;
}

// The metrics of a window of returns (return-based ones only; no trades, turnover or fees).
engines::Metrics WindowMetrics(std::span<const double> r, const engines::MetricsOptions& o) {
  engines::MetricsAccumulator acc(o);
  acc.Reserve(r.size());
  acc.AddBars(engines::BarColumns{.ret = r});
  return acc.Finish();
}

// The largest relative difference over every metric of two results (0 = bit-identical values;
// NaN = NaN counts as equal).
double MetricsDifference(const engines::Metrics& a, const engines::Metrics& b) {
  double worst = 0;
  for (const engines::MetricField& f : engines::MetricFields()) {
    const double x = engines::MetricValue(a, f), y = engines::MetricValue(b, f);
    if (std::isnan(x) && std::isnan(y)) continue;
    if (x == y) continue;
    const double d = std::abs(x - y) / std::max(std::abs(y), 1e-12);
    worst = std::max(worst, std::isnan(d) ? 1.0 : d);
  }
  return worst;
}

GateResult Gate(std::string name, double value, double threshold, bool pass, std::string reason,
                std::string hint) {
  return GateResult{.name = std::move(name),
                    .value = value,
                    .threshold = threshold,
                    .pass = pass,
                    .reason = std::move(reason),
                    .hint = pass ? std::string() : std::move(hint)};
}

}  // namespace

Result<GateReport> RunGates(const data::SnapshotStore& store,
                            const std::filesystem::path& sweep_dir, const GatesConfig& config,
                            Progress& progress) {
  QRAFT_ASSIGN_OR_RETURN(const engines::SweepOutput sweep, engines::ReadResultDir(sweep_dir));
  QRAFT_ASSIGN_OR_RETURN(const strategy::StrategySpec spec,
                         strategy::StrategyFromCanonical(sweep.strategy));
  if (spec.DslHash() != sweep.dsl_hash) {
    return Status::DataError(fmt::format(
        "{}: field 'dsl_hash': {} does not match its strategy ({}); the directory was edited",
        (sweep_dir / "result.json").string(), sweep.dsl_hash, spec.DslHash()));
  }
  const engines::MetricField* objective = engines::FindMetricField(config.objective);
  if (objective == nullptr || objective->count != nullptr) {
    return Status::InvalidArgument(fmt::format(
        "gates: objective '{}' is not a return-based metric (docs/metrics.md)", config.objective));
  }
  QRAFT_ASSIGN_OR_RETURN(const data::Snapshot snap, store.Open(sweep.snapshot_id));
  const Panel& panel = snap.panel();
  const std::span<const Timestamp> times = panel.calendar().times();
  const std::size_t T = times.size();
  const std::size_t N = sweep.results.size();
  if (N < 2) return Status::InvalidArgument("gates: a sweep of at least 2 combinations is needed");

  GateReport report;
  report.config = config;
  report.snapshot_id = sweep.snapshot_id;
  report.dsl_hash = sweep.dsl_hash;
  report.code_version = std::string(CodeVersion());
  report.trials = N;
  report.periods_per_year = sweep.periods_per_year;
  report.daily = sweep.daily;

  // 1. The search again, from the fingerprints, with every combination's returns.
  std::vector<strategy::ParamValues> combos;
  combos.reserve(N);
  for (const engines::CombinationResult& r : sweep.results)
    combos.push_back(r.params);
  engines::BacktestOptions bo;
  bo.initial_capital = sweep.initial_capital;
  bo.metrics.periods_per_year = sweep.periods_per_year;
  bo.keep_returns = true;
  QRAFT_ASSIGN_OR_RETURN(const engines::SweepResult rerun,
                         engines::RunSweep(spec, panel, combos, bo, progress));
  if (rerun.returns.size() != N * T) {
    return Status::Internal("gates: the rerun's returns do not cover the snapshot's calendar");
  }
  const robust::MatrixView all{.data = rerun.returns, .rows = T, .cols = N};

  // 2. Windows and the candidates, by the objective on validation.
  const Splits& sp = config.splits;
  std::size_t v0 = 0, h0 = 0;
  if (sp.validation_start != kNoTimestamp) {
    v0 = FirstAtOrAfter(times, sp.validation_start);
    h0 = FirstAtOrAfter(times, sp.holdout_start);
  } else {
    v0 = static_cast<std::size_t>(std::llround(static_cast<double>(T) * sp.train));
    h0 =
        static_cast<std::size_t>(std::llround(static_cast<double>(T) * (sp.train + sp.validation)));
  }
  QRAFT_ASSIGN_OR_RETURN(report.train, MakeWindow(times, 0, v0, "train", kMinWindow));
  QRAFT_ASSIGN_OR_RETURN(report.validation, MakeWindow(times, v0, h0, "validation", kMinWindow));
  QRAFT_ASSIGN_OR_RETURN(report.holdout, MakeWindow(times, h0, T, "holdout", kMinWindow));
  const Window& val = report.validation;
  engines::MetricsOptions mo;
  mo.periods_per_year = sweep.periods_per_year;
  mo.initial_capital = sweep.initial_capital;
  std::vector<double> val_objective(N), val_sharpe(N);
  for (std::size_t c = 0; c < N; ++c) {
    const std::span<const double> r = all.Column(c).subspan(val.begin, val.size());
    val_objective[c] = engines::MetricValue(WindowMetrics(r, mo), *objective);
    val_sharpe[c] = stats::PerBarSharpe(r);
  }
  const std::vector<std::size_t> chosen =
      precise::TopN(val_objective, std::min(config.candidates, N));

  // 3. The search's statistics on validation.
  QRAFT_ASSIGN_OR_RETURN(const std::vector<double> bench,
                         BenchmarkReturns(spec, panel, combos[0], config.benchmark, T));
  std::vector<double> finite;
  for (double s : val_sharpe)
    if (std::isfinite(s)) finite.push_back(s);
  report.trial_sharpe_variance = stats::SampleVariance(finite);
  report.effective_trials = static_cast<double>(N);
  if (config.effective_trials) {
    report.effective_trials = stats::EffectiveTrials(all, val.begin, val.end);
  }
  report.expected_max_sharpe =
      stats::ExpectedMaxSharpe(report.effective_trials, report.trial_sharpe_variance);
  const std::size_t best = chosen.front();
  QRAFT_ASSIGN_OR_RETURN(const stats::SearchTest search,
                         stats::TestSearch(all, val.begin, val.end, bench, config));
  report.block = search.block;
  report.spa_lower = search.spa_lower;
  report.spa_consistent = search.spa_consistent;
  report.spa_upper = search.spa_upper;
  report.spa_se = search.spa_se;
  report.rc_p = search.rc_p;
  report.spa_statistic = search.statistic;
  report.stepm = search.stepm;
  report.search_note = search.note;
  // PBO by CSCV on train + validation.
  QRAFT_ASSIGN_OR_RETURN(const stats::PboFigures pbo,
                         stats::Pbo(all, 0, val.end, config.pbo_blocks));
  report.pbo = pbo.pbo;
  report.pbo_prob_loss = pbo.prob_loss;
  report.pbo_slope = pbo.slope;
  report.pbo_intercept = pbo.intercept;
  report.pbo_r2 = pbo.r2;
  report.pbo_logits = pbo.logits;
  {
    // 1..10 trials, then doubling, then N.
    const std::span<const double> r = all.Column(best).subspan(val.begin, val.size());
    for (std::size_t n = 1; n < N; n = n < 10 ? n + 1 : n * 2)
      report.dsr_curve.emplace_back(
          n, stats::Dsr(r, report.trial_sharpe_variance, static_cast<double>(n)));
    report.dsr_curve.emplace_back(
        N, stats::Dsr(r, report.trial_sharpe_variance, static_cast<double>(N)));
  }

  // 4. The candidates on the precise engine: like the fast engine, and with costs scaled.
  std::vector<strategy::ParamValues> cand_params;
  std::vector<engines::CombinationResult> cand_fast;
  for (const std::size_t c : chosen) {
    cand_params.push_back(combos[c]);
    cand_fast.push_back(sweep.results[c]);
  }
  std::vector<double> consistency(chosen.size(), kNaN);
  if (config.consistency.enabled) {
    precise::ConsistencyOptions co;
    co.bound = config.consistency.value;
    co.realistic = precise::LikeFast();
    co.realistic.initial_capital = sweep.initial_capital;
    co.realistic.metrics.periods_per_year = sweep.periods_per_year;
    QRAFT_ASSIGN_OR_RETURN(const precise::ConsistencyReport cr,
                           precise::RunConsistency(spec, panel, cand_fast, co));
    for (std::size_t k = 0; k < cr.rows.size() && k < chosen.size(); ++k) {
      consistency[k] =
          *std::max_element(cr.rows[k].difference.begin(), cr.rows[k].difference.end());
    }
  }
  report.overlap_low = report.overlap_high = kNaN;
  if (config.overlap.enabled && chosen.size() >= 2) {
    precise::SensitivityOptions so;
    const double k = config.overlap_scale;
    so.scales = {1 - k, 1 - k / 2, 1.0, 1 + k / 2, 1 + k};  // the curve of the report
    so.components = {"all"};
    so.top = std::min(config.overlap_top, chosen.size());
    so.objective = config.objective;
    so.precise.initial_capital = sweep.initial_capital;
    so.precise.metrics.periods_per_year = sweep.periods_per_year;
    QRAFT_ASSIGN_OR_RETURN(const precise::SensitivityReport sr,
                           precise::RunSensitivity(spec, panel, cand_params, so));
    report.overlap_low = sr.points.front().overlap;
    report.overlap_high = sr.points.back().overlap;
    report.sensitivity = sr;
  }

  // 5. Every candidate's gates.
  const Window is{.begin = 0, .end = val.end, .first = times[0], .last = val.last};
  for (std::size_t k = 0; k < chosen.size(); ++k) {
    const std::size_t c = chosen[k];
    CandidateGates g;
    g.index = c;
    g.id = engines::ParamsHash(combos[c]);
    g.params = combos[c];
    g.objective = val_objective[c];
    const std::span<const double> rv = all.Column(c).subspan(val.begin, val.size());
    const std::span<const double> rh =
        all.Column(c).subspan(report.holdout.begin, report.holdout.size());
    const std::span<const double> ris = all.Column(c).subspan(is.begin, is.size());
    const engines::Metrics hm = WindowMetrics(rh, mo);
    g.holdout_return = hm.total_return;
    g.holdout_sharpe = hm.sharpe;
    if (config.dsr.enabled) {
      const double dsr = stats::Dsr(rv, report.trial_sharpe_variance, report.effective_trials);
      const bool ok = dsr >= config.dsr.value;
      g.gates.push_back(
          Gate("dsr", dsr, config.dsr.value, ok,
               fmt::format("DSR {} {} {}: Sharpe {} per bar on validation against SR0 {} expected "
                           "from the best of {} trials",
                           Num(dsr), ok ? ">=" : "<", Num(config.dsr.value), Num(val_sharpe[c]),
                           Num(report.expected_max_sharpe), Num(report.effective_trials)),
               "fewer trials (a smaller grid), a longer validation window, or a stronger idea: the "
               "Sharpe ratio must stand out from what the search finds by chance"));
    }
    if (config.spa.enabled) {
      // The floored statistic is 0 when no trial beats the benchmark in sample; its p-value
      // P(T* > 0) then says nothing (robust/spa.h), so a pass needs T > 0 as well.
      const bool ok = report.spa_statistic > 0 && report.spa_consistent <= config.spa.value;
      g.gates.push_back(Gate(
          "spa", report.spa_consistent, config.spa.value, ok,
          !report.search_note.empty() ? "not testable: " + report.search_note
          : !(report.spa_statistic > 0)
              ? fmt::format("no trial beats {} on validation (SPA statistic 0)", config.benchmark)
              : fmt::format("SPA consistent p {} {} {} (lower {}, upper {}; Reality Check {}) for "
                            "the best of {} trials against {} on validation",
                            Num(report.spa_consistent), ok ? "<=" : ">", Num(config.spa.value),
                            Num(report.spa_lower), Num(report.spa_upper), Num(report.rc_p), N,
                            config.benchmark),
          "no trial beats the benchmark beyond what data snooping explains; widen the idea, "
          "not the grid"));
    }
    if (config.stepm.enabled) {
      const bool ok = std::find(report.stepm.begin(), report.stepm.end(), c) != report.stepm.end();
      g.gates.push_back(
          Gate("stepm", ok ? 1 : 0, config.stepm.value, ok,
               fmt::format("{} among the {} trials StepM finds superior to {} at {}",
                           ok ? "is" : "is not", report.stepm.size(), config.benchmark,
                           Num(config.stepm.value)),
               "its edge over the benchmark is not significant once every trial is accounted for"));
    }
    if (config.pbo.enabled) {
      const bool ok = report.pbo <= config.pbo.value;
      g.gates.push_back(Gate(
          "pbo", report.pbo, config.pbo.value, ok,
          fmt::format("PBO {} {} {}: the in-sample best falls below the out-of-sample median in "
                      "{:.0f}% of {} CSCV splits",
                      Num(report.pbo), ok ? "<=" : ">", Num(config.pbo.value), 100 * report.pbo,
                      pbo.splits),
          "the search overfits: fewer or coarser parameters, or a longer history"));
    }
    if (config.oos_ir.enabled) {
      const double ir = stats::InformationRatio(
          rh, std::span(bench).subspan(report.holdout.begin, report.holdout.size()),
          sweep.periods_per_year);
      const bool ok = ir > config.oos_ir.value;
      g.gates.push_back(Gate(
          "oos_ir", ir, config.oos_ir.value, ok,
          fmt::format("holdout information ratio {} {} {} against {} over {} bars ({} to {})",
                      Num(ir), ok ? ">" : "<=", Num(config.oos_ir.value), config.benchmark,
                      report.holdout.size(), FormatTimestamp(report.holdout.first, report.daily),
                      FormatTimestamp(report.holdout.last, report.daily)),
          "the edge does not survive out of sample"));
    }
    if (config.overlap.enabled) {
      const double ov = std::min(report.overlap_low, report.overlap_high);
      const bool ok = ov >= config.overlap.value;
      g.gates.push_back(
          Gate("overlap", ov, config.overlap.value, ok,
               fmt::format("Top-{} overlap {} at costs x{} and {} at x{} (precise engine, {} "
                           "candidates)",
                           std::min(config.overlap_top, chosen.size()), Num(report.overlap_low),
                           Num(1 - config.overlap_scale), Num(report.overlap_high),
                           Num(1 + config.overlap_scale), chosen.size()),
               "the ranking depends on the cost assumption: trade less, or model costs better"));
    }
    if (config.consistency.enabled) {
      const bool ok = consistency[k] < config.consistency.value;
      g.gates.push_back(Gate(
          "consistency", consistency[k], config.consistency.value, ok,
          fmt::format("fast vs precise engine: largest relative difference {} of total return, "
                      "Sharpe, max drawdown and turnover",
                      Num(consistency[k])),
          "the fast engine's approximation does not hold for this strategy; trust the precise "
          "engine's figures (qraft consistency)"));
    }
    if (config.rerun.enabled) {
      const bool stopped = sweep.results[c].stopped;
      const double d =
          stopped ? kNaN : MetricsDifference(rerun.results[c].metrics, sweep.results[c].metrics);
      const bool ok = !stopped && d <= config.rerun.value;
      g.gates.push_back(Gate(
          "rerun", d, config.rerun.value, ok,
          stopped ? std::string("stopped early in the sweep: its full-run metrics were never "
                                "stored, so they cannot be checked")
                  : fmt::format("a fresh rerun from the fingerprints (snapshot {}, dsl {}, code "
                                "{}) differs by {}",
                                sweep.snapshot_id.substr(0, 12), sweep.dsl_hash.substr(0, 12),
                                report.code_version, Num(d)),
          "the result is not reproducible: check the code version and the snapshot"));
    }
    if (config.min_trades.enabled) {
      const auto trades = static_cast<double>(sweep.results[c].metrics.trades);
      const bool ok = trades >= config.min_trades.value;
      g.gates.push_back(Gate("min_trades", trades, config.min_trades.value, ok,
                             fmt::format("{} closed trades over the run", Num(trades)),
                             "too few trades to judge: a longer history or a wider universe"));
    }
    if (config.min_trl.enabled) {
      const double trl = stats::MinTrl(ris, config.min_trl.value);
      const bool ok = static_cast<double>(is.size()) >= trl;
      g.gates.push_back(
          Gate("min_trl", trl, config.min_trl.value, ok,
               fmt::format("MinTRL {} bars at {} confidence; the in-sample record has {}", Num(trl),
                           Num(config.min_trl.value), is.size()),
               "the track record is too short for this Sharpe ratio to be significant"));
    }
    g.pass =
        std::all_of(g.gates.begin(), g.gates.end(), [](const GateResult& x) { return x.pass; });
    report.candidates.push_back(std::move(g));
  }
  return report;
}

nlohmann::json ToJson(const GateReport& r) {
  using nlohmann::json;
  const auto num = [](double v) { return std::isfinite(v) ? json(v) : json(nullptr); };
  const auto window = [&r](const Window& w) {
    return json{{"begin", w.begin},
                {"end", w.end},
                {"bars", w.size()},
                {"first", FormatTimestamp(w.first, r.daily)},
                {"last", FormatTimestamp(w.last, r.daily)}};
  };
  const GatesConfig& c = r.config;
  json config = {{"objective", c.objective},
                 {"candidates", c.candidates},
                 {"benchmark", c.benchmark},
                 {"bootstrap", {{"reps", c.bootstrap_reps}, {"block", c.block}, {"seed", c.seed}}},
                 {"effective_trials", c.effective_trials},
                 {"pbo_blocks", c.pbo_blocks},
                 {"spa_mode", c.spa_mode},
                 {"overlap_scale", c.overlap_scale},
                 {"overlap_top", c.overlap_top}};
  json logits = json::array();
  for (double v : r.pbo_logits)
    logits.push_back(num(v));
  json curve = json::array();
  for (const auto& [n, v] : r.dsr_curve)
    curve.push_back({{"trials", n}, {"dsr", num(v)}});
  json candidates = json::array();
  for (const CandidateGates& g : r.candidates) {
    json gates = json::array();
    for (const GateResult& x : g.gates) {
      gates.push_back({{"name", x.name},
                       {"value", num(x.value)},
                       {"threshold", x.threshold},
                       {"pass", x.pass},
                       {"reason", x.reason},
                       {"hint", x.hint}});
    }
    json params = json::object();
    for (const auto& [k, v] : g.params)
      params[k] = v;
    candidates.push_back({{"id", g.id},
                          {"index", g.index},
                          {"params", params},
                          {"pass", g.pass},
                          {"objective", num(g.objective)},
                          {"holdout_return", num(g.holdout_return)},
                          {"holdout_sharpe", num(g.holdout_sharpe)},
                          {"gates", gates}});
  }
  json stepm = json::array();
  for (std::size_t i : r.stepm)
    stepm.push_back(i);
  return {{"format", "qraft-gates-v1"},
          {"config", config},
          {"snapshot_id", r.snapshot_id},
          {"dsl_hash", r.dsl_hash},
          {"code_version", r.code_version},
          {"trials", r.trials},
          {"effective_trials", num(r.effective_trials)},
          {"periods_per_year", r.periods_per_year},
          {"windows",
           {{"train", window(r.train)},
            {"validation", window(r.validation)},
            {"holdout", window(r.holdout)}}},
          {"search",
           {{"trial_sharpe_variance", num(r.trial_sharpe_variance)},
            {"expected_max_sharpe", num(r.expected_max_sharpe)},
            {"block", num(r.block)},
            {"statistic", num(r.spa_statistic)},
            {"note", r.search_note},
            {"spa",
             {{"lower", num(r.spa_lower)},
              {"consistent", num(r.spa_consistent)},
              {"upper", num(r.spa_upper)},
              {"se", num(r.spa_se)}}},
            {"reality_check", num(r.rc_p)},
            {"stepm", stepm}}},
          {"pbo",
           {{"pbo", num(r.pbo)},
            {"prob_oos_loss", num(r.pbo_prob_loss)},
            {"slope", num(r.pbo_slope)},
            {"intercept", num(r.pbo_intercept)},
            {"r2", num(r.pbo_r2)},
            {"logits", logits}}},
          {"dsr_curve", curve},
          {"overlap", {{"low", num(r.overlap_low)}, {"high", num(r.overlap_high)}}},
          {"candidates", candidates}};
}

Status WriteGateReport(const std::filesystem::path& dir, const GateReport& report) {
  const std::filesystem::path sensitivity = dir / "sensitivity.json";
  std::error_code ec;
  if (report.sensitivity && !std::filesystem::exists(sensitivity, ec)) {
    QRAFT_RETURN_NOT_OK(
        WriteFileAtomically(sensitivity, precise::ToJson(*report.sensitivity).dump(2) + "\n"));
  }
  return WriteFileAtomically(dir / "gates.json", ToJson(report).dump(2) + "\n");
}

}  // namespace qraft::gates
