// Time in Qraft: one representation, int64 nanoseconds since the Unix epoch, UTC.
//
// Conventions (docs/data.md has the long form):
// * Intraday bars are labelled by their *open* time, in UTC.
// * Daily and longer bars are labelled by their session date, stored as midnight UTC of that
//   date. A date is a date, whatever the exchange's time zone; FormatDate() prints it back.
// * Naive wall-clock times in input files are read in the market's time zone (TimeZone) and
//   converted to UTC once, at ingest.
#pragma once

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"

namespace date {
class time_zone;
}

namespace qraft {

using Timestamp = std::int64_t;

inline constexpr Timestamp kNanosPerMicro = 1'000;
inline constexpr Timestamp kNanosPerMilli = 1'000'000;
inline constexpr Timestamp kNanosPerSecond = 1'000'000'000;
inline constexpr Timestamp kNanosPerMinute = 60 * kNanosPerSecond;
inline constexpr Timestamp kNanosPerHour = 60 * kNanosPerMinute;
inline constexpr Timestamp kNanosPerDay = 24 * kNanosPerHour;
/// "No time": used for empty ranges and absent values.
inline constexpr Timestamp kNoTimestamp = std::numeric_limits<Timestamp>::min();

struct CivilDate {
  int year = 1970;
  int month = 1;  // 1..12
  int day = 1;    // 1..31
  bool operator==(const CivilDate&) const = default;
};

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
constexpr std::int64_t DaysFromCivil(int y, int m, int d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy =
      (153 * static_cast<unsigned>(m > 2 ? m - 3 : m + 9) + 2) / 5 + static_cast<unsigned>(d) - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

constexpr CivilDate CivilFromDays(std::int64_t z) {
  z += 719468;
  const std::int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const auto doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const std::int64_t y = static_cast<std::int64_t>(yoe) + era * 400;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return CivilDate{static_cast<int>(y + (m <= 2)), static_cast<int>(m), static_cast<int>(d)};
}

constexpr bool IsValidCivil(int y, int m, int d) {
  if (m < 1 || m > 12 || d < 1) return false;
  constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const bool leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
  return d <= kDays[m - 1] + (m == 2 && leap ? 1 : 0);
}

constexpr Timestamp DateTimestamp(int y, int m, int d) {
  return DaysFromCivil(y, m, d) * kNanosPerDay;
}

/// Floor division to whole days (correct for times before 1970).
constexpr std::int64_t DayNumber(Timestamp t) {
  return t >= 0 ? t / kNanosPerDay : -((-t + kNanosPerDay - 1) / kNanosPerDay);
}
constexpr Timestamp FloorToDay(Timestamp t) {
  return DayNumber(t) * kNanosPerDay;
}
constexpr CivilDate ToCivil(Timestamp t) {
  return CivilFromDays(DayNumber(t));
}
/// 0 = Monday ... 6 = Sunday.
constexpr int Weekday(Timestamp t) {
  const std::int64_t d = DayNumber(t);
  return static_cast<int>(((d % 7) + 7 + 3) % 7);  // 1970-01-01 was a Thursday
}

/// "YYYY-MM-DD".
std::string FormatDate(Timestamp t);
/// "YYYY-MM-DD HH:MM:SS" with ".fffffffff" trimmed to the needed digits; UTC, no suffix.
std::string FormatDateTime(Timestamp t);
/// FormatDate when t is midnight UTC and date_only, else FormatDateTime.
std::string FormatTimestamp(Timestamp t, bool date_only);

/// A parsed point in time. `utc` is true when the text carried an offset ("Z", "+08:00") and
/// `value` is therefore already UTC; otherwise `value` is the naive wall-clock time.
struct ParsedTime {
  Timestamp value = 0;
  bool has_time = false;  // the text had a time of day
  bool utc = false;
  /// The offset that was written (east of UTC); value + offset is the written wall clock.
  Timestamp offset = 0;
};

/// Parses the ISO-like forms market data uses: "2013-02-08", "20130208", "2013/02/08",
/// "2013-02-08 09:30", "2013-02-08T09:30:00.123456", with an optional "Z", "+08:00", "+0800" or
/// "+00:00" suffix. Returns nullopt when the text is not one of these forms or not a real date.
std::optional<ParsedTime> ParseIsoDateTime(std::string_view text);

/// A strptime-like pattern for the forms ParseIsoDateTime does not know (e.g. "%m/%d/%Y").
/// Supported: %Y %m %d %H %M %S %f (fraction, 1-9 digits) %y %b (Jan..Dec) %z (+hhmm, +hh:mm, Z)
/// %% and literal characters. Compile once, parse many times; Parse is thread-safe.
class TimeFormat {
 public:
  static Result<TimeFormat> Compile(std::string_view pattern);
  std::optional<ParsedTime> Parse(std::string_view text) const;
  const std::string& pattern() const { return pattern_; }

 private:
  std::string pattern_;
};

/// Units of integer epoch times in input files. kAuto decides by magnitude (s, ms, us or ns).
enum class EpochUnit { kAuto, kSeconds, kMillis, kMicros, kNanos };
Result<EpochUnit> ParseEpochUnit(std::string_view name);
/// Converts an integer epoch value; kAuto picks the unit from its magnitude, which is unambiguous
/// for dates between 1973 and 2262. nullopt when the time does not fit int64 nanoseconds (the
/// years 1677 to 2262).
std::optional<Timestamp> EpochToTimestamp(std::int64_t value, EpochUnit unit);

/// A bar frequency: "1d", "1w", "1mo" (also "1M", as Binance writes it), "5m"/"5min", "1h",
/// "30s", "8h", or "tick". Units are case-insensitive except that "M" is a month and "m" a minute.
class Frequency {
 public:
  enum class Unit { kTick, kSecond, kMinute, kHour, kDay, kWeek, kMonth };

  Frequency() = default;
  Frequency(Unit unit, int count) : unit_(unit), count_(count) {}
  static Result<Frequency> Parse(std::string_view text);
  static Frequency Daily() { return {Unit::kDay, 1}; }

  Unit unit() const { return unit_; }
  int count() const { return count_; }
  /// Bars shorter than a day; their timestamps carry a time of day.
  bool intraday() const { return unit_ == Unit::kTick || unit_ <= Unit::kHour; }
  /// Length in nanoseconds for fixed-length frequencies (not ticks, not months).
  Timestamp nanos() const;
  /// Canonical text: "1d", "5m", "1h", "1w", "1mo", "tick".
  std::string ToString() const;
  bool operator==(const Frequency&) const = default;

 private:
  Unit unit_ = Unit::kDay;
  int count_ = 1;
};

/// An IANA time zone ("UTC", "America/New_York", "Asia/Shanghai") from the system tz database.
/// Cheap to copy; thread-safe.
class TimeZone {
 public:
  /// UTC.
  TimeZone() = default;
  static Result<TimeZone> Find(std::string_view name);

  const std::string& name() const { return name_; }
  bool is_utc() const { return zone_ == nullptr; }

  /// Local wall-clock nanoseconds to UTC. In the repeated hour after a DST change the earlier
  /// instant is chosen; a wall-clock time that does not exist (the skipped hour) is an error.
  Result<Timestamp> LocalToUtc(Timestamp local) const;
  /// UTC to local wall-clock nanoseconds.
  Timestamp UtcToLocal(Timestamp utc) const;

 private:
  std::string name_ = "UTC";
  const date::time_zone* zone_ = nullptr;
};

}  // namespace qraft
