// Ingest: files in, a published snapshot out.
//
// Ingest is a pure function of its inputs (files and options): read every file (in parallel),
// align them onto one calendar, add adjustment factors, build continuous futures if asked, check
// quality, and publish atomically. The same inputs always give the same snapshot id.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "qraft/core/progress.h"
#include "qraft/core/status.h"
#include "qraft/data/adjust.h"
#include "qraft/data/assemble.h"
#include "qraft/data/futures.h"
#include "qraft/data/mapping.h"
#include "qraft/data/quality.h"
#include "qraft/data/snapshot.h"
#include "qraft/data/store.h"

namespace qraft::data {

enum class InputFormat { kAuto, kCsv, kParquet, kArrow, kQlib, kBinance, kJson };
/// auto, csv, parquet, arrow (also feather, ipc), qlib, binance, json (freqtrade/Binance JSON).
Result<InputFormat> ParseInputFormat(std::string_view name);

struct IngestOptions {
  /// Files, or directories (all data files inside, sorted by name; or a Qlib directory).
  std::vector<std::filesystem::path> paths;
  /// Market name: a built-in pack (markets/*.yaml) or any name (UTC, whole-day sessions).
  std::string market;
  /// Optional market pack file overriding the built-in one.
  std::filesystem::path market_file;
  /// Bar frequency; unset: 1d, or the interval in exchange file names.
  std::optional<Frequency> freq;
  InputFormat format = InputFormat::kAuto;
  ColumnMapping mapping;
  /// Explicit exchange calendar file (one date per line); unset: union of dates.
  std::filesystem::path calendar_file;
  /// Qlib-style instruments file with listing spans; unset: spans from the data.
  std::filesystem::path instruments_file;
  /// Aggregate finer rows (intraday snapshots, minute bars) into bars of `freq`.
  bool resample = false;
  DuplicatePolicy on_duplicate = DuplicatePolicy::kError;
  DividendMethod dividend_method = DividendMethod::kPrevClose;
  /// Build continuous futures series.
  std::optional<ContinuousOptions> continuous;
  QualityOptions quality;
  /// Warnings fail the ingest.
  bool strict = false;
};

struct IngestResult {
  std::string snapshot_id;  // empty for a dry run
  SnapshotContent content;
};

/// Reads, checks and (when `store` is not null) publishes. On a quality failure returns a
/// DataError whose message is the report; nothing is published. Without a store (a dry run) the
/// source files are not hashed: `provenance.sources[].sha256` is null.
Result<IngestResult> Ingest(const IngestOptions& options, SnapshotStore* store, Progress& progress);

}  // namespace qraft::data
