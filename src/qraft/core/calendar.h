// Trading calendars: the sorted, de-duplicated timestamps a Panel is aligned to.
//
// A daily calendar holds session dates (midnight UTC, see time.h). An intraday calendar holds the
// UTC open time of every bar inside the market's sessions on every trading day; it is built from
// the trading days and the session hours in the exchange's time zone, so a missing minute shows
// up as a NaN bar instead of silently shortening the series.
#pragma once

#include <cstddef>
#include <filesystem>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"

namespace qraft {

class Calendar {
 public:
  Calendar() = default;
  /// REQUIRES: `times` strictly increasing (checked; use FromUnsorted otherwise).
  explicit Calendar(std::vector<Timestamp> times);
  /// Sorts and removes duplicates.
  static Calendar FromUnsorted(std::vector<Timestamp> times);
  /// Reads one date or date-time per line ("2013-02-08", "2013-02-08 09:30:00"); blank lines and
  /// lines starting with '#' are skipped. Qlib's calendars/<freq>.txt is this format. Naive times
  /// are read in `tz`. Errors name the file and line.
  static Result<Calendar> Load(const std::filesystem::path& path, const TimeZone& tz = TimeZone());

  std::size_t size() const { return times_.size(); }
  bool empty() const { return times_.empty(); }
  Timestamp operator[](std::size_t i) const { return times_[i]; }
  std::span<const Timestamp> times() const { return times_; }
  Timestamp front() const { return times_.front(); }
  Timestamp back() const { return times_.back(); }

  /// Index of exactly `t`, if present.
  std::optional<std::size_t> Find(Timestamp t) const;
  /// First index whose time is >= t (size() if none).
  std::size_t LowerBound(Timestamp t) const;
  /// First index whose time is > t (size() if none).
  std::size_t UpperBound(Timestamp t) const;
  /// The sub-calendar [first >= start, last <= end]; kNoTimestamp leaves that side open.
  Calendar Slice(Timestamp start, Timestamp end) const;
  /// All timestamps of both calendars.
  static Calendar Union(const Calendar& a, const Calendar& b);

  bool operator==(const Calendar& other) const { return times_ == other.times_; }

 private:
  std::vector<Timestamp> times_;
};

/// A trading session in exchange-local wall-clock minutes after midnight: [open, close).
/// close may exceed 1440 for sessions that run past midnight (futures night sessions).
struct Session {
  int open_minute = 0;
  int close_minute = 24 * 60;
  bool operator==(const Session&) const = default;
};

/// Parses "09:30-16:00". Errors name the text.
Result<Session> ParseSession(std::string_view text);

/// The bar-open times of every bar of length `freq` inside `sessions` on each trading day in
/// `days` (dates as midnight-UTC timestamps), converted from `tz` to UTC, sorted.
/// REQUIRES: freq intraday with a fixed length that divides each session.
Result<Calendar> BuildIntradayCalendar(std::span<const Timestamp> days,
                                       std::span<const Session> sessions, Frequency freq,
                                       const TimeZone& tz);

}  // namespace qraft
