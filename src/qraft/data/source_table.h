// SourceTable: the rows one input file holds, before alignment.
//
// Every reader (CSV, Parquet/Arrow, Qlib, Binance/freqtrade JSON) turns its input into this one
// long-format shape; assembly (assemble.h) then aligns all tables of an ingest onto one calendar.
// Keeping the readers this thin is what lets a new format be a ~200-line file.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "qraft/core/time.h"

namespace qraft::data {

struct SourceTable {
  /// The file as named by the user; prefixes every message about these rows.
  std::string source;
  /// Distinct symbols of this table; rows refer to them by index.
  std::vector<std::string> symbols;
  /// Per row: index into `symbols`.
  std::vector<std::uint32_t> symbol;
  /// Per row: UTC nanoseconds (dates as midnight UTC; see core/time.h).
  std::vector<Timestamp> time;
  /// Per row: 1-based line in the source file (or row, see row_numbers), for messages; empty
  /// when unknown.
  std::vector<std::uint32_t> line;
  /// `line` holds row numbers of a columnar file rather than text lines.
  bool row_numbers = false;
  /// Field names (canonical lower-case, e.g. "close") and per-field columns, one value per row.
  /// NaN means missing.
  std::vector<std::string> field_names;
  std::vector<std::vector<double>> fields;
  /// Notes for the quality report that only the reader could see (e.g. "ignored column
  /// 'exchange'").
  std::vector<std::string> notes;

  std::size_t rows() const { return time.size(); }
  /// "file:line" for row r, or "file" when lines are unknown.
  std::string Where(std::size_t r) const;
  /// Index of a field, or -1.
  int FieldIndex(std::string_view name) const;
};

/// Maps symbol text to its index in a table's `symbols`, appending new ones. Rows usually come
/// grouped by symbol, so the last hit is checked before the hash map.
class SymbolInterner {
 public:
  explicit SymbolInterner(SourceTable& table) : table_(table) {}
  std::uint32_t Intern(std::string_view name);

 private:
  SourceTable& table_;
  std::unordered_map<std::string, std::uint32_t> index_;
  std::uint32_t last_ = UINT32_MAX;
};

}  // namespace qraft::data
