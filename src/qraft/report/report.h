// HTML reports of result directories (`qraft report RESULT_DIR`; docs/report.md).
//
// A report is one self-contained HTML file: inline CSS, SVG charts drawn here, and a few lines of
// inline JavaScript for chart tooltips, sortable tables and opening a candidate from a link. It
// loads nothing from the network (no fonts, scripts or images), opens from disk in any browser,
// and prints. The same SweepOutput always gives the same bytes (no clock, no randomness).
//
// Contents, top to bottom:
//   * the run: strategy name and rules, kind, snapshot_id, dsl_hash, code version, number of
//     combinations, objective; the best candidate's headline metrics;
//   * the top candidates (SweepOutput::top, else ranked by the objective here): parameters and
//     key metrics, sortable;
//   * one section per kept candidate (SweepOutput::details, best first; the best one open):
//     equity (log scale when it grows more than threefold, benchmark when present), drawdown
//     (under water), rolling Sharpe, monthly returns (year x month, with the year's total), the
//     trade list (a summary and the first trades), and every metric of docs/metrics.md;
//   * for sweeps: the objective over every pair of parameters (other parameters at their best),
//     or over the one parameter; Sharpe against max drawdown for every combination, with the
//     Pareto front (SweepOutput::pareto) and the top candidates marked;
//   * the fingerprints to reproduce the run and the strategy's canonical form.
// With ReportExtras (the optional files of a result directory, ReadReportExtras), also:
//   * in a kept candidate's section, from its precise engine's order and fill logs: orders by
//     status, type and reject reason, fills by side and liquidity, the costs summed over the
//     fills (commission, stamp duty, transfer fee, exchange fee, slippage) and the first fills;
//   * "Cost sensitivity" (sensitivity.json): the Top-N overlap and Spearman's rho per cost
//     component against the scale, the table of points, the minimum overlap;
//   * "Two-stage consistency" (consistency.json): pass or fail against the bound, fast against
//     precise key metrics per candidate with their relative difference, and the change of total
//     return per friction step;
//   * "Quality gates" (gates.json): how many candidates pass, the windows and the bootstrap, a
//     candidate x gate table (each cell's reason as its tooltip), the data-snooping p-values,
//     the histogram of the PBO logits and the best candidate's DSR against the number of trials.
// Without them (or with an empty ReportExtras) the report is byte for byte what it was before
// they existed.
// Degenerate inputs (no combination, no kept curve, one bar, flat equity, NaN metrics) give a
// valid report with a note where a chart would be; they never fail.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/engines/results.h"

namespace qraft::report {

struct ReportOptions {
  std::size_t top_rows = 25;    ///< rows of the top-candidates table
  std::size_t candidates = 10;  ///< kept candidates given a section (best first)
  std::size_t trades = 20;      ///< trades listed per candidate (all are summarised)
  std::size_t fills = 20;       ///< fills listed per candidate (all are summarised)
};

// ---------------------------------------------------------------------------------------------
// The optional files of a result directory (docs/precise.md), as the report reads them. Numbers
// written empty (or null in JSON) are NaN; times are kept as written (ISO-8601).

/// One row of DIR/candidates/<params_hash>/orders.csv (the columns the report uses).
struct OrderLogRow {
  std::int64_t id = 0;
  std::string side, type, status, reject;  ///< reject: "" when none
  double quantity = engines::kNaN, filled = engines::kNaN, fees = engines::kNaN;
};

/// One row of DIR/candidates/<params_hash>/fills.csv.
struct FillLogRow {
  std::int64_t order = 0;
  std::string time, symbol, side, liquidity;  ///< side buy|sell, liquidity maker|taker
  double quantity = 0, market_price = 0, price = 0;
  double commission = 0, stamp_duty = 0, transfer_fee = 0, exchange_fee = 0, slippage = 0;
};

/// A kept candidate's logs; each file is optional (absent: nullopt).
struct OrderLog {
  std::optional<std::vector<OrderLogRow>> orders;
  std::optional<std::vector<FillLogRow>> fills;
};

/// The key metrics of the consistency check (precise::kConsistencyMetrics).
struct KeyMetrics {
  double total_return = engines::kNaN, sharpe = engines::kNaN, max_drawdown = engines::kNaN,
         turnover = engines::kNaN;
};

/// DIR/sensitivity.json (`qraft sensitivity`; precise::ToJson(SensitivityReport)).
struct SensitivityFile {
  struct Point {
    std::string component;
    double scale = 1, overlap = engines::kNaN, jaccard = engines::kNaN, spearman = engines::kNaN;
    std::vector<double> objective, total_return;  ///< per candidate
  };
  std::string objective;
  std::size_t top = 0;  ///< N
  std::vector<strategy::ParamValues> candidates;
  std::vector<double> base_objective, base_total_return;  ///< per candidate, at scale 1
  std::vector<Point> points;                              ///< component-major, scales in order
  double min_overlap = engines::kNaN;
};

/// DIR/consistency.json (`qraft consistency`; precise::ToJson(ConsistencyReport)).
struct ConsistencyFile {
  struct Step {
    std::string friction;
    KeyMetrics metrics, change;  ///< change: against the step before (the first: precise)
  };
  struct Row {
    strategy::ParamValues params;
    bool pass = false;
    KeyMetrics fast, precise, difference;  ///< difference: relative, as the check measures it
    std::vector<Step> steps;
  };
  double bound = engines::kNaN;
  bool pass = false;
  double max_difference = engines::kNaN;
  std::vector<Row> rows;
};

/// DIR/gates.json (`qraft gate`; gates::ToJson(GateReport), format "qraft-gates-v1";
/// docs/gates.md). Figures written null are NaN.
struct GatesFile {
  /// A window of bars [begin, end) and the times of its first and last bar, as written.
  struct Window {
    std::size_t begin = 0, end = 0, bars = 0;
    std::string first = {}, last = {};
  };
  /// One gate of one candidate (a disabled gate is not listed).
  struct Gate {
    std::string name = {};  ///< dsr, spa, stepm, pbo, oos_ir, overlap, consistency, rerun, ...
    double value = engines::kNaN, threshold = engines::kNaN;
    bool pass = false;
    std::string reason = {}, hint = {};
  };
  struct Candidate {
    std::string id = {};    ///< params_hash
    std::size_t index = 0;  ///< combination index in the sweep
    strategy::ParamValues params = {};
    bool pass = false;                 ///< every gate passed
    double objective = engines::kNaN;  ///< on validation
    double holdout_return = engines::kNaN, holdout_sharpe = engines::kNaN;
    std::vector<Gate> gates = {};
  };
  struct DsrPoint {
    std::size_t trials = 0;
    double dsr = engines::kNaN;
  };
  // config
  std::string objective = {}, benchmark = {};
  std::size_t candidates_wanted = 0;  ///< config.candidates: K
  std::size_t bootstrap_reps = 0;
  double bootstrap_block = engines::kNaN;  ///< configured mean block length; 0 = automatic
  std::uint64_t seed = 0;
  bool effective_trials_configured = false;  ///< config.effective_trials
  std::size_t pbo_blocks = 0, overlap_top = 0;
  double overlap_scale = engines::kNaN;
  // fingerprints and the search
  std::string snapshot_id = {}, dsl_hash = {}, code_version = {};
  std::size_t trials = 0;  ///< N
  double effective_trials = engines::kNaN, periods_per_year = engines::kNaN;
  Window train = {}, validation = {}, holdout = {};
  double trial_sharpe_variance = engines::kNaN, expected_max_sharpe = engines::kNaN;
  double block = engines::kNaN;  ///< mean bootstrap block length used
  double spa_lower = engines::kNaN, spa_consistent = engines::kNaN, spa_upper = engines::kNaN,
         spa_se = engines::kNaN;
  double reality_check = engines::kNaN;
  std::vector<std::size_t> stepm = {};  ///< combination indices of StepM's superior trials
  double pbo = engines::kNaN, prob_oos_loss = engines::kNaN, pbo_slope = engines::kNaN,
         pbo_intercept = engines::kNaN, pbo_r2 = engines::kNaN;
  std::vector<double> logits = {};       ///< one per CSCV split
  std::vector<DsrPoint> dsr_curve = {};  ///< the best candidate's DSR for 1..N trials
  double overlap_low = engines::kNaN, overlap_high = engines::kNaN;
  std::vector<Candidate> candidates = {};  ///< best first by the validation objective
};

struct ReportExtras {
  /// Order and fill logs of kept candidates, by combination index; candidates without either
  /// file have no entry.
  std::map<std::size_t, OrderLog> logs;
  std::optional<SensitivityFile> sensitivity;
  std::optional<ConsistencyFile> consistency;
  std::optional<GatesFile> gates;
};

/// Reads the optional files of the result directory `dir` that `output` was read from: the logs
/// of each kept candidate (output.details), sensitivity.json, consistency.json and gates.json. A
/// missing file is simply absent. Errors: InvalidArgument naming the file and the line and column
/// (CSV) or the field (JSON) of anything malformed; IOError when a file cannot be read.
Result<ReportExtras> ReadReportExtras(const std::filesystem::path& dir,
                                      const engines::SweepOutput& output);

/// The report as an HTML document (UTF-8).
std::string RenderReport(const engines::SweepOutput& output, const ReportExtras& extras,
                         const ReportOptions& options = {});
/// The same without the optional files.
std::string RenderReport(const engines::SweepOutput& output, const ReportOptions& options = {});

/// RenderReport written to `html_path` atomically (a temporary sibling, fsync'ed and renamed).
/// IOError naming the file on failure.
Status WriteReport(const engines::SweepOutput& output, const ReportExtras& extras,
                   const std::filesystem::path& html_path, const ReportOptions& options = {});
Status WriteReport(const engines::SweepOutput& output, const std::filesystem::path& html_path,
                   const ReportOptions& options = {});

}  // namespace qraft::report
