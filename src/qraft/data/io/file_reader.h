// Reading input files whole, with transparent decompression.
//
// Market data files arrive as .csv, .csv.gz, .json.zst, .zip archives of one CSV... Readers get
// the plain bytes and never care which.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "qraft/core/status.h"

namespace qraft::data::io {

/// Whole file content, decompressed by extension: .gz (gzip), .zst (zstd), .zip (an archive with
/// exactly one member). A UTF-8 byte-order mark is removed; UTF-16/UTF-32 files are rejected with
/// a message saying so (Qraft reads UTF-8 and ASCII). Errors name the file.
/// With `file_sha256`, also sets it to the hex SHA-256 of the file as stored (before
/// decompression), from the same read.
Result<std::string> ReadDecompressed(const std::filesystem::path& path,
                                     std::string* file_sha256 = nullptr);

/// The file name without directories and without data/compression extensions:
/// "/x/AAPL_data.csv.gz" -> "AAPL_data", "ADA_BTC-1m.json" -> "ADA_BTC-1m".
std::string BareStem(const std::filesystem::path& path);

/// Lower-cased data extension after stripping compression: "a.CSV.gz" -> ".csv".
std::string DataExtension(const std::filesystem::path& path);

}  // namespace qraft::data::io
