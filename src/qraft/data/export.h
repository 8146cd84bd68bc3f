// Exporting a snapshot for other tools: Parquet (long format), CSV, or a Qlib directory.
#pragma once

#include <filesystem>
#include <string_view>

#include "qraft/core/status.h"
#include "qraft/data/adjust.h"
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

}  // namespace qraft::data
