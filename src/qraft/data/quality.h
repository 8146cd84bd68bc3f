// Data quality checks and their report.
//
// Every ingest produces a QualityReport: a list of findings, each with a severity, the check that
// raised it, where (symbol, first time, an example file:line) and how often. Errors reject the
// data (no snapshot is written); warnings are published with the snapshot in snapshot_meta.json
// and turn into errors under --strict; info is for the record.
//
// Checks (docs/data.md defines each and its default threshold):
//   parse errors and schema problems stop the reader before this stage (file:line messages);
//   duplicate_timestamp, unsorted_time, off_calendar, off_session  (raised during assembly)
//   missing_values, ohlc_inconsistent, non_positive_price, negative_volume, zero_volume,
//   calendar_gap, stale_price, outlier_return, large_return, short_history, split_mismatch
//   (CheckPanel)
#pragma once

#include <cstddef>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/time.h"

namespace qraft::data {

enum class Severity { kInfo, kWarning, kError };
std::string_view SeverityName(Severity s);

struct QualityIssue {
  Severity severity = Severity::kWarning;
  std::string check;               // e.g. "ohlc_inconsistent"
  std::string symbol;              // empty: not about one symbol
  std::string field;               // empty: not about one field
  Timestamp first = kNoTimestamp;  // first occurrence
  std::size_t count = 1;           // occurrences
  std::string message;             // one sentence, with an example location where known
};

struct QualityReport {
  std::vector<QualityIssue> issues;

  void Add(QualityIssue issue) { issues.push_back(std::move(issue)); }
  void Append(const QualityReport& other);
  std::size_t Count(Severity s) const;
  /// Under --strict, warnings count as errors.
  bool Failed(bool strict) const {
    return Count(Severity::kError) > 0 || (strict && Count(Severity::kWarning) > 0);
  }
  /// Issues ordered by severity (errors first), check, symbol, time; deterministic.
  void Sort();
  /// {"errors": n, "warnings": n, "info": n, "by_check": {...}, "issues": [...]}
  nlohmann::json ToJson(bool date_only) const;
  /// Human text: a summary line per check and up to `max_lines` issues.
  std::string ToText(bool date_only, std::size_t max_lines = 20) const;
};

struct QualityOptions {
  /// A close-to-close move larger than this (|close/prev_close - 1|) is a warning: at this size it
  /// is usually an unadjusted split or spin-off, or a bad print.
  double max_abs_return = 0.4;
  /// A move more than this many robust standard deviations (MAD) from the symbol's median
  /// return, and at least min_outlier_return in size, is recorded as info (earnings days...).
  double outlier_mads = 15.0;
  double min_outlier_return = 0.15;
  /// This many consecutive bars with an unchanged close (after the first) is a stale price.
  int stale_run = 5;
  /// Symbols with fewer valid bars than this have too little history.
  std::size_t min_history = 20;
};

/// Runs the panel checks. Fields that are absent are skipped (no OHLC check without high/low).
/// Deterministic; parallel across symbols.
QualityReport CheckPanel(const Panel& panel, const QualityOptions& options, bool date_only);

struct InstrumentSpan;

/// Checks data against given listing spans (an instruments file): a symbol with data but no span
/// (`unlisted_symbol`) and bars outside every span of their symbol (`outside_listing`), both
/// warnings. Spans must be sorted by symbol.
QualityReport CheckListings(const Panel& panel, const std::vector<InstrumentSpan>& spans,
                            bool date_only);

}  // namespace qraft::data
