// A returns matrix from a CSV file, for the robust statistics on data from outside a sweep
// (`qraft robust`, cross-checks): a header of series names, then one row per period. A leading
// column named date, time, datetime or timestamp is kept as labels and not read as a series.
// Empty cells are errors: the statistics need finite values.
//
// Thread-safety: pure function.
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/robust/matrix.h"

namespace qraft::gates {

struct ReturnsTable {
  std::vector<std::string> names;   ///< one per series (column)
  std::vector<std::string> labels;  ///< the time column's cells, when there is one
  std::size_t rows = 0;             ///< periods
  std::vector<double> values;       ///< rows x names.size(), column-major
  robust::MatrixView view() const { return {.data = values, .rows = rows, .cols = names.size()}; }
  /// The column named `name`, or nullptr.
  const std::string* Find(std::string_view name) const;
};

/// Reads `path` (.csv, or compressed: .gz, .zst). InvalidArgument naming file:line and the
/// column for anything that is not a finite number, a ragged row, fewer than 2 rows or no
/// series; NotFound / IOError for the file.
Result<ReturnsTable> ReadReturnsCsv(const std::filesystem::path& path);

}  // namespace qraft::gates
