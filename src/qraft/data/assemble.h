// Assembly: many SourceTables -> one aligned Panel.
//
// Symbols are the sorted union of all tables' symbols. The calendar is the union of all bar
// labels (daily and longer), an explicit exchange calendar, or, for intraday data, the grid of
// every bar inside the market's sessions on every trading day seen. Missing bars are NaN, never
// forward-filled. Rows are sorted; duplicates and conflicts are found here and reported with both
// file:line locations.
#pragma once

#include <optional>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/panel.h"
#include "qraft/data/quality.h"
#include "qraft/data/source_table.h"
#include "qraft/data/time_label.h"

namespace qraft::data {

/// What to do with two rows for the same symbol and time whose values differ.
enum class DuplicatePolicy { kError, kFirst, kLast };
Result<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name);

struct AssembleOptions {
  Frequency freq = Frequency::Daily();
  /// Market time zone and sessions: intraday grids are built in exchange-local time.
  TimeZone tz;
  std::vector<Session> sessions;  // empty: the whole day
  /// Explicit exchange calendar; rows off it are errors. Unset: union of dates / session grid.
  std::optional<Calendar> calendar;
  DuplicatePolicy on_duplicate = DuplicatePolicy::kError;
};

struct Assembled {
  Panel panel;
  QualityReport report;  // unsorted_time, duplicate_timestamp, off_session findings
};

/// Consumes the tables. Errors: conflicting duplicates (under kError), rows off an explicit
/// calendar; each names the rows' files and lines.
Result<Assembled> Assemble(std::vector<SourceTable> tables, const AssembleOptions& options);

/// Aggregates rows into bars of `target` (e.g. intraday snapshots into daily bars):
/// open = first, high = max, low = min, close = last (first/last non-missing), volume, amount,
/// trades and taker_* = sum, vwap = volume-weighted, anything else = last non-missing.
/// Bars are labelled by `labeler` (daily: the local date; intraday: the bar-open instant in the
/// labeler's time zone grid).
SourceTable Resample(const SourceTable& table, Frequency target, const TimeLabeler& labeler);

}  // namespace qraft::data
