// Qlib binary data directories (reference: ../shared/reference/qlib/SPEC.md §3).
//
//   <dir>/calendars/<freq>.txt                         one date (or date-time) per line
//   <dir>/instruments/all.txt                          SYMBOL<TAB>start<TAB>end
//   <dir>/features/<symbol lower>/<field>.<freq>.bin   float32 LE: [start_index, values...]
//
// The line number of a calendar entry (0-based, blank lines skipped) is the index that .bin files
// refer to. Each .bin holds a float32 start index followed by one float32 per calendar entry from
// there on, with NaN for gaps. Symbols whose name is a Windows device (CON, PRN, AUX, NUL,
// COM0-9, LPT0-9) live in "_qlib_<name>" directories, as qlib.utils.code_to_fname has it.
//
// Qlib stores *adjusted* prices: original price = $price / $factor and original volume =
// $volume * $factor (open, high, low, close, vwap; volume). Qraft stores raw prices and the factor,
// so reading converts to raw and writing converts back. Where the factor is NaN, zero or infinite,
// values are kept as stored in both directions. Reading and then writing float32 data is exact:
// a Qlib directory read by Qraft and written back has the same bytes.
//
// Times: "day" calendars hold dates (midnight UTC in Qraft, see core/time.h). Intraday calendars
// hold naive wall-clock times in the market's time zone `tz`, and are converted to UTC on read and
// back on write. Week and month calendars hold dates, written "%Y-%m-%d 00:00:00" as dump_bin does.
//
// Thread-safety: the functions are reentrant. They use qraft::ParallelFor internally (per symbol),
// and their results do not depend on the thread count.
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
/// 1h -> "60min", 1w -> "week", 1mo -> "month" (Nd/Nw/Nmo with N > 1 -> "Nday"/"Nweek"/"Nmonth").
/// Seconds and ticks have no Qlib name. For them this returns Frequency::ToString(), and the read
/// and write functions reject them.
std::string QlibFreqName(Frequency freq);

struct QlibData {
  /// calendars/<freq>.txt, in UTC.
  Calendar calendar;
  /// instruments/all.txt, with symbols as written there, sorted by symbol then start. A symbol may
  /// have several spans. Empty when the file is absent. For intraday data, a bare date as start
  /// or end covers the whole local day.
  std::vector<InstrumentSpan> instruments;
  /// One table per features/ directory that has .bin files for the frequency, sorted by symbol.
  /// Rows cover every calendar index in the union of the files' ranges, with NaN kept. Fields are
  /// the lower-cased file stems, and prices and volume are raw. `source` is the symbol's directory.
  std::vector<SourceTable> tables;
};

/// Reads every feature of every symbol for `freq`. Naive calendar times are read in `tz`.
///
/// A directory's symbol is the all.txt symbol whose Qlib directory name (lower-cased, "_qlib_" for
/// device names) is the directory's name, compared case-insensitively. A directory with no
/// instruments line gets its name upper-cased (minus a "_qlib_" prefix before a device name), as
/// dump_bin would have spelled it. That is not reported as an error or a note; Qlib itself cannot
/// list such a symbol.
///
/// Errors name the file (and line for text files): NotFound for a missing calendar (the message
/// lists the calendars present) or features/ directory. DataError for a bad calendar line (not a
/// date, not after the previous line, a time of day in a date calendar, a DST gap), a bad
/// all.txt line, a .bin shorter than 4 bytes or not a multiple of 4, a start index that is not a
/// non-negative integer or whose values run past the calendar, or two directories holding one
/// symbol. IOError for unreadable files.
Result<QlibData> ReadQlibDir(const std::filesystem::path& dir, Frequency freq, const TimeZone& tz);

/// Writes a Qlib directory.
/// * calendars/<freq>.txt is the panel's calendar. Intraday times are written in `tz`.
/// * instruments/all.txt has one line per symbol with data (first..last bar where any field is not
///   NaN), sorted by symbol and spelled as in the panel.
/// * features/<symbol dir>/<field lower>.<freq>.bin covers each symbol's span for every field. Its
///   start index is the calendar index of the first bar. Values are cast to float32, and prices
///   are adjusted by `factor` when the panel has that field. Symbols with no data get no directory.
/// Everything is written to a temporary sibling directory, which is renamed into place at the end.
/// Errors: AlreadyExists when `dir` exists. InvalidArgument when the data cannot be represented:
/// a tick or seconds frequency; a non-date in a non-intraday calendar; two bars with the same local
/// time (a DST fold); field or symbol names that collide once lower-cased or that are not valid
/// file names; a start index beyond float32's exact integers (2^24). IOError when writing fails.
/// On any error nothing is left behind.
Status WriteQlibDir(const Panel& panel, Frequency freq, const TimeZone& tz,
                    const std::filesystem::path& dir);

}  // namespace qraft::data::io
