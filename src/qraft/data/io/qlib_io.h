// Qlib binary data directories (reference: ../shared/reference/qlib/SPEC.md §3).
//
//   <dir>/calendars/<freq>.txt                         one date (or date-time) per line
//   <dir>/instruments/all.txt                          SYMBOL<TAB>start<TAB>end
//   <dir>/features/<symbol lower>/<field>.<freq>.bin   float32 LE: [start_index, values...]
//
// Qlib stores *adjusted* prices with original = $price / $factor and original volume =
// $volume * $factor. Qraft stores raw prices and the factor, so reading converts to raw and
// writing converts back; both directions are exact for float32 data (a Qlib directory written by
// Qraft reads back identically).
#pragma once

#include <filesystem>
#include <string>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/panel.h"
#include "qraft/core/status.h"
#include "qraft/data/snapshot.h"
#include "qraft/data/source_table.h"

namespace qraft::data::io {

/// True when `dir` looks like a Qlib data directory (calendars/ and features/).
bool IsQlibDir(const std::filesystem::path& dir);

/// Qlib's frequency name for a Qraft frequency: 1d -> "day", 1m -> "1min", 5m -> "5min",
/// 1h -> "60min", 1w -> "week", 1mo -> "month".
std::string QlibFreqName(Frequency freq);

struct QlibData {
  Calendar calendar;                       // calendars/<freq>.txt
  std::vector<InstrumentSpan> instruments; // instruments/all.txt (symbols as written there)
  std::vector<SourceTable> tables;         // one per symbol with data, raw prices
};

/// Reads every feature of every symbol for `freq`. Naive calendar times are read in `tz`.
/// Errors name the file (and line for text files).
Result<QlibData> ReadQlibDir(const std::filesystem::path& dir, Frequency freq, const TimeZone& tz);

/// Writes a Qlib directory: calendar, instruments/all.txt (one span per symbol: first..last bar),
/// and features/<symbol lower>/<field lower>.<freq>.bin over each symbol's span, with prices
/// adjusted by `factor` when the panel has one. Calendar date-times are written in `tz`.
/// Written to a temporary directory and renamed into place; `dir` must not exist.
Status WriteQlibDir(const Panel& panel, Frequency freq, const TimeZone& tz,
                    const std::filesystem::path& dir);

}  // namespace qraft::data::io
