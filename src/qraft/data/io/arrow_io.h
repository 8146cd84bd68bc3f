// Arrow IPC and Parquet: the snapshot files and columnar inputs.
//
// Arrow C++ (from the pyarrow wheel) stays inside this file pair; the rest of Qraft sees Panels
// and SourceTables only.
#pragma once

#include <cstdint>
#include <filesystem>
#include <span>
#include <string>
#include <utility>
#include <variant>
#include <vector>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/mapping.h"
#include "qraft/data/snapshot.h"
#include "qraft/data/source_table.h"
#include "qraft/data/time_label.h"

namespace qraft::data::io {

/// Schema-level key/value metadata.
using KeyValues = std::vector<std::pair<std::string, std::string>>;

/// panel.arrow: an Arrow IPC file, uncompressed, one record batch (buffers 8-byte aligned).
/// Columns: symbol (dictionary<int32, utf8>), time (timestamp[ns, UTC]), one float64 column per
/// field (NaN for missing, no validity bitmap); num_symbols * num_times rows, symbol-major.
/// Each field column is therefore exactly the Panel's layout and maps with zero copies.
Status WritePanelArrow(const Panel& panel, const std::filesystem::path& path,
                       const KeyValues& meta);

/// Memory-maps a file written by WritePanelArrow. The Panel's fields point into the map, which
/// stays open as long as any copy of the Panel lives. Errors name the file and the problem.
Result<Panel> ReadPanelArrow(const std::filesystem::path& path);

/// bars.parquet: long format for tools without Qraft (DuckDB, polars, pandas): one row per
/// calendar time inside each symbol's first..last bar, columns symbol, date (date32; daily) or
/// time (timestamp[ns, UTC]; intraday), then the fields with null for missing; snappy-compressed.
Status WriteBarsParquet(const Panel& panel, bool daily, const std::filesystem::path& path,
                        const KeyValues& meta);

/// The same writer for computed values (factor results): columns `datetime` (date32 when daily,
/// else timestamp[ns, UTC]), `symbol`, then the fields; rows are each symbol's [first, last] in
/// `rows` (first > last: none), e.g. the bar spans of the data the values were computed from.
Status WriteValuesParquet(const Panel& values, bool daily,
                          std::span<const std::pair<std::size_t, std::size_t>> rows,
                          const std::filesystem::path& path, const KeyValues& meta);

/// One column of a plain table (WriteTableParquet): float64 (NaN written as null), int64 or utf8.
struct TableColumn {
  std::string name;
  std::variant<std::vector<double>, std::vector<std::int64_t>, std::vector<std::string>> values;
};

/// A table of named columns as one Parquet file (snappy, one row group, schema stored), e.g. a
/// metrics matrix. Columns are nullable float64 (NaN -> null), non-null int64 and non-null utf8.
/// Errors: columns of different lengths or duplicate names (InvalidArgument), I/O (naming
/// `path`). Writes `path` directly; callers wanting atomicity write a temporary name and rename.
Status WriteTableParquet(std::span<const TableColumn> columns, const std::filesystem::path& path,
                         const KeyValues& meta = {});

/// Reads a Parquet, Feather v2 or Arrow IPC file of bars (any column layout the CSV reader
/// accepts: a time column of timestamp/date/string/epoch type, an optional symbol column,
/// numeric fields). Symbol for files without a symbol column: SymbolFromFileName.
Result<SourceTable> ReadColumnarFile(const std::filesystem::path& path,
                                     const ColumnMapping& mapping, const TimeLabeler& labeler);

}  // namespace qraft::data::io
