// Which input column is what: detection of the usual names, and explicit mappings.
//
// Readers of tabular files (CSV, Parquet, Arrow) share this logic so that a column called
// "Adj Close", "adj_close" or "adjclose" means the same thing everywhere. Names are matched
// case-insensitively after trimming. Anything the user maps explicitly (flags or a YAML mapping
// file, see docs/data.md) wins over detection.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qraft/core/status.h"

namespace qraft::data {

struct ColumnMapping {
  /// Column with the timestamp: a date, a date-time or an integer epoch. Empty: detect.
  std::string time;
  /// Alternatively, a date column plus a time-of-day column ("date,time,open,...").
  std::string date;
  std::string clock;
  /// Column with the symbol. Empty: detect; none found: symbol from the file name.
  std::string symbol;
  /// Explicit field mappings: Qraft field name -> source column.
  std::vector<std::pair<std::string, std::string>> fields;
  /// Source columns to skip.
  std::vector<std::string> ignore;
  /// Keep only explicitly mapped fields (plus recognised standard names) and drop other columns.
  bool only_mapped = false;

  /// Symbol for every row of a file without a symbol column (overrides the file name).
  std::string symbol_value;
  /// Regex with one capture group applied to the bare file name to get the symbol,
  /// e.g. "(.+)_carrydata" or "([A-Z]+)-1m-.*".
  std::string symbol_pattern;
  /// strptime-like pattern for the time column (core/time.h TimeFormat); empty: ISO or epoch.
  std::string time_format;
  /// Unit of integer epoch times: auto, s, ms, us, ns.
  std::string epoch_unit = "auto";
  /// Time zone of naive date-times; empty: the market's.
  std::string timezone;

  /// Merges `other` into this: `other`'s non-empty settings win.
  void Overlay(const ColumnMapping& other);
};

/// Reads a YAML mapping file (keys as in ColumnMapping; `fields` is a map). Unknown keys are
/// errors naming the file, line and key.
Result<ColumnMapping> LoadMappingFile(const std::filesystem::path& path);

/// Canonical Qraft name for a column: known aliases map to standard fields ("Adj Close" ->
/// "adj_close", "turnover" -> "amount", "ex-dividend" -> "dividend"); anything else becomes
/// lower-case with non-alphanumerics replaced by '_'.
std::string CanonicalFieldName(std::string_view column);

/// True for the standard fields whose meaning Qraft knows (open, close, volume, factor, ...).
bool IsStandardField(std::string_view field);

/// Orders field names canonically: standard fields in their usual order, then others by name.
void SortFieldNames(std::vector<std::string>& names);

enum class ColumnRole { kIgnore, kTime, kDate, kClock, kSymbol, kField };

/// What each column of one table is.
struct ColumnPlan {
  std::vector<ColumnRole> roles;         // per source column
  std::vector<std::string> field_names;  // per source column; set for kField
  int time_col = -1, date_col = -1, clock_col = -1, symbol_col = -1;
  /// kField columns that were detected, not mapped, and may be dropped if not numeric.
  std::vector<bool> optional;
};

/// Assigns roles to `header`. Errors (naming `source`): duplicate column names, a mapped column
/// that does not exist, no time column, two columns mapping to one field.
Result<ColumnPlan> PlanColumns(const std::vector<std::string>& header, const ColumnMapping& mapping,
                               std::string_view source);

/// The symbol for a file without a symbol column: mapping.symbol_value, else symbol_pattern's
/// capture on the bare file name, else the bare file name. Errors when the pattern does not match.
Result<std::string> SymbolFromFileName(const std::filesystem::path& path,
                                       const ColumnMapping& mapping);

}  // namespace qraft::data
