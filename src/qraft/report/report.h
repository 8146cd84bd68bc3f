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
// Degenerate inputs (no combination, no kept curve, one bar, flat equity, NaN metrics) give a
// valid report with a note where a chart would be; they never fail.
//
// Thread-safety: pure functions of their arguments.
#pragma once

#include <cstddef>
#include <filesystem>
#include <string>

#include "qraft/core/status.h"
#include "qraft/engines/results.h"

namespace qraft::report {

struct ReportOptions {
  std::size_t top_rows = 25;    ///< rows of the top-candidates table
  std::size_t candidates = 10;  ///< kept candidates given a section (best first)
  std::size_t trades = 20;      ///< trades listed per candidate (all are summarised)
};

/// The report as an HTML document (UTF-8).
std::string RenderReport(const engines::SweepOutput& output, const ReportOptions& options = {});

/// RenderReport written to `html_path` atomically (a temporary sibling, fsync'ed and renamed).
/// IOError naming the file on failure.
Status WriteReport(const engines::SweepOutput& output, const std::filesystem::path& html_path,
                   const ReportOptions& options = {});

}  // namespace qraft::report
