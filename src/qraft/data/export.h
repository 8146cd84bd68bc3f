// Exporting a snapshot for other tools: Parquet (long format), CSV, or a Qlib directory.
#pragma once

#include <cstdio>
#include <filesystem>
#include <string_view>

#include "qraft/core/status.h"
#include "qraft/data/adjust.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/snapshot.h"

namespace qraft::data {

enum class ExportFormat { kParquet, kCsv, kQlib };
Result<ExportFormat> ParseExportFormat(std::string_view name);

/// Writes `snapshot` (optionally adjusted) to `out`: a .parquet file, a .csv file (long format:
/// symbol, date/time, fields; shortest round-trip number text, empty for missing) or a Qlib
/// directory. Written to a temporary name and renamed, so `out` is complete or absent.
/// Errors: `out` already exists, or adjustment without a factor.
Status ExportSnapshot(const Snapshot& snapshot, ExportFormat format, Adjust adjust,
                      const std::filesystem::path& out);

/// Computed values (expression or factor results on `bars`' calendar and symbols) in long
/// format: columns datetime, symbol, then one per field of `values`. Rows: every time within
/// each symbol's first..last bar in `bars`, so warm-up rows are present with empty values.
/// CSV (shortest round-trip numbers, empty = missing) or Parquet (null = missing); written to a
/// temporary name and renamed. Errors: format qlib, `out` exists, I/O.
Status ExportValues(const Panel& values, const Panel& bars, bool daily, ExportFormat format,
                    const std::filesystem::path& out, const io::KeyValues& meta = {});

/// The CSV form of ExportValues, to an open stream (e.g. stdout).
Status WriteValuesCsv(const Panel& values, const Panel& bars, bool daily, std::FILE* out);

}  // namespace qraft::data
