// CSV (and TSV, semicolon- or pipe-separated) market data.
//
// One file per symbol or one long file with a symbol column; columns detected by name
// (mapping.h) or mapped explicitly; .gz/.zst/.zip read transparently. Every error names the file,
// the line and the column, and what was expected there.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/data/mapping.h"
#include "qraft/data/source_table.h"
#include "qraft/data/time_label.h"

namespace qraft::data::io {

struct CsvOptions {
  ColumnMapping mapping;
  /// How times become bar labels (daily or intraday, market time zone).
  TimeLabeler labeler;
  /// 0: detect from the first line among ',', ';', '\t', '|'.
  char delimiter = 0;
  /// Column names for files that may come without a header line (Binance klines). When set and
  /// the first line starts with a number, every line is data; otherwise the first line is the
  /// header as usual.
  std::vector<std::string> headerless_names;
};

/// Reads one file. The symbol of a file without a symbol column comes from SymbolFromFileName.
/// With `file_sha256`, also returns the SHA-256 of the file as stored (from the same read).
Result<SourceTable> ReadCsvFile(const std::filesystem::path& path, const CsvOptions& options,
                                std::string* file_sha256 = nullptr);

/// Parses CSV text. `source` names it in messages; `file_symbol` is used when there is no symbol
/// column (empty: then a symbol column is required).
Result<SourceTable> ParseCsv(std::string_view text, std::string source, std::string file_symbol,
                             const CsvOptions& options);

}  // namespace qraft::data::io
