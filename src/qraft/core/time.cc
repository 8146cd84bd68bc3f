#include "qraft/core/time.h"

#include <date/tz.h>
#include <fmt/format.h>

#include <array>
#include <cctype>
#include <charconv>
#include <chrono>

namespace qraft {
namespace {

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

// Reads exactly n digits at s[pos..]; advances pos. -1 when not n digits.
int Digits(std::string_view s, std::size_t& pos, int n) {
  if (pos + static_cast<std::size_t>(n) > s.size()) return -1;
  int v = 0;
  for (int i = 0; i < n; ++i) {
    const char c = s[pos + static_cast<std::size_t>(i)];
    if (!IsDigit(c)) return -1;
    v = v * 10 + (c - '0');
  }
  pos += static_cast<std::size_t>(n);
  return v;
}

// Fraction of a second after the '.', 1..9 digits, returned in nanoseconds.
bool Fraction(std::string_view s, std::size_t& pos, Timestamp& nanos) {
  std::size_t start = pos;
  Timestamp v = 0;
  int n = 0;
  while (pos < s.size() && IsDigit(s[pos])) {
    if (n < 9) {
      v = v * 10 + (s[pos] - '0');
      ++n;
    }
    ++pos;
  }
  if (pos == start) return false;
  for (; n < 9; ++n)
    v *= 10;
  nanos = v;
  return true;
}

// "Z", "+08:00", "+0800", "+08"; returns the offset in nanoseconds east of UTC.
bool Offset(std::string_view s, std::size_t& pos, Timestamp& offset) {
  if (pos < s.size() && (s[pos] == 'Z' || s[pos] == 'z')) {
    ++pos;
    offset = 0;
    return true;
  }
  if (pos >= s.size() || (s[pos] != '+' && s[pos] != '-')) return false;
  const int sign = s[pos] == '-' ? -1 : 1;
  ++pos;
  const int hh = Digits(s, pos, 2);
  if (hh < 0 || hh > 23) return false;
  int mm = 0;
  if (pos < s.size() && s[pos] == ':') ++pos;
  if (pos < s.size()) {
    mm = Digits(s, pos, 2);
    if (mm < 0 || mm > 59) return false;
  }
  offset = sign * (hh * kNanosPerHour + mm * kNanosPerMinute);
  return true;
}

std::optional<ParsedTime> Assemble(int y, int mo, int d, int h, int mi, int sec, Timestamp frac,
                                   bool has_time, bool has_offset, Timestamp offset) {
  if (!IsValidCivil(y, mo, d) || h > 23 || mi > 59 || sec > 60) return std::nullopt;
  ParsedTime t;
  t.value = DateTimestamp(y, mo, d) + h * kNanosPerHour + mi * kNanosPerMinute +
            sec * kNanosPerSecond + frac - (has_offset ? offset : 0);
  t.has_time = has_time;
  t.utc = has_offset;
  t.offset = has_offset ? offset : 0;
  return t;
}

constexpr std::array<std::string_view, 12> kMonths = {"jan", "feb", "mar", "apr", "may", "jun",
                                                      "jul", "aug", "sep", "oct", "nov", "dec"};

}  // namespace

std::string FormatDate(Timestamp t) {
  const CivilDate c = ToCivil(t);
  return fmt::format("{:04d}-{:02d}-{:02d}", c.year, c.month, c.day);
}

std::string FormatDateTime(Timestamp t) {
  const Timestamp day = FloorToDay(t);
  Timestamp rem = t - day;
  const int h = static_cast<int>(rem / kNanosPerHour);
  rem %= kNanosPerHour;
  const int m = static_cast<int>(rem / kNanosPerMinute);
  rem %= kNanosPerMinute;
  const int s = static_cast<int>(rem / kNanosPerSecond);
  Timestamp ns = rem % kNanosPerSecond;
  std::string out = fmt::format("{} {:02d}:{:02d}:{:02d}", FormatDate(day), h, m, s);
  if (ns != 0) {
    std::string frac = fmt::format("{:09d}", ns);
    while (!frac.empty() && frac.back() == '0')
      frac.pop_back();
    out += '.';
    out += frac;
  }
  return out;
}

std::string FormatTimestamp(Timestamp t, bool date_only) {
  if (t == kNoTimestamp) return "";
  return date_only && t == FloorToDay(t) ? FormatDate(t) : FormatDateTime(t);
}

std::optional<ParsedTime> ParseIsoDateTime(std::string_view s) {
  // Fast path: a plain "YYYY-MM-DD", the most common time column of daily data.
  if (s.size() == 10 && s[4] == '-' && s[7] == '-') {
    int v[8];
    int k = 0;
    bool digits = true;
    for (std::size_t i = 0; i < 10; ++i) {
      if (i == 4 || i == 7) continue;
      digits &= IsDigit(s[i]);
      v[k++] = s[i] - '0';
    }
    if (digits) {
      const int y = v[0] * 1000 + v[1] * 100 + v[2] * 10 + v[3];
      const int mo = v[4] * 10 + v[5], d = v[6] * 10 + v[7];
      if (!IsValidCivil(y, mo, d)) return std::nullopt;
      ParsedTime t;
      t.value = DateTimestamp(y, mo, d);
      return t;
    }
  }
  while (!s.empty() && s.back() == ' ')
    s.remove_suffix(1);
  while (!s.empty() && s.front() == ' ')
    s.remove_prefix(1);
  std::size_t pos = 0;
  const int y = Digits(s, pos, 4);
  if (y < 0) return std::nullopt;
  int mo, d;
  if (pos < s.size() && (s[pos] == '-' || s[pos] == '/')) {
    const char sep = s[pos++];
    mo = Digits(s, pos, 2);
    if (mo < 0 || pos >= s.size() || s[pos] != sep) return std::nullopt;
    ++pos;
    d = Digits(s, pos, 2);
  } else {
    mo = Digits(s, pos, 2);
    d = Digits(s, pos, 2);
  }
  if (mo < 0 || d < 0) return std::nullopt;
  if (pos == s.size()) return Assemble(y, mo, d, 0, 0, 0, 0, false, false, 0);
  if (s[pos] != ' ' && s[pos] != 'T' && s[pos] != 't') return std::nullopt;
  ++pos;
  const int h = Digits(s, pos, 2);
  if (h < 0 || pos >= s.size() || s[pos] != ':') return std::nullopt;
  ++pos;
  const int mi = Digits(s, pos, 2);
  if (mi < 0) return std::nullopt;
  int sec = 0;
  Timestamp frac = 0;
  if (pos < s.size() && s[pos] == ':') {
    ++pos;
    sec = Digits(s, pos, 2);
    if (sec < 0) return std::nullopt;
    if (pos < s.size() && (s[pos] == '.' || s[pos] == ',')) {
      ++pos;
      if (!Fraction(s, pos, frac)) return std::nullopt;
    }
  }
  Timestamp offset = 0;
  bool has_offset = false;
  if (pos < s.size()) {
    if (!Offset(s, pos, offset) || pos != s.size()) return std::nullopt;
    has_offset = true;
  }
  return Assemble(y, mo, d, h, mi, sec, frac, true, has_offset, offset);
}

Result<TimeFormat> TimeFormat::Compile(std::string_view pattern) {
  for (std::size_t i = 0; i < pattern.size(); ++i) {
    if (pattern[i] != '%') continue;
    if (i + 1 >= pattern.size()) {
      return Status::InvalidArgument(
          fmt::format("time format '{}': ends with a lone '%'", pattern));
    }
    const char c = pattern[++i];
    if (std::string_view("YmdHMSfybz%").find(c) == std::string_view::npos) {
      return Status::InvalidArgument(
          fmt::format("time format '{}': unsupported directive '%{}' (supported: %Y %m %d %H %M %S "
                      "%f %y %b %z %%)",
                      pattern, c));
    }
  }
  TimeFormat f;
  f.pattern_ = std::string(pattern);
  return f;
}

std::optional<ParsedTime> TimeFormat::Parse(std::string_view s) const {
  int y = 1970, mo = 1, d = 1, h = 0, mi = 0, sec = 0;
  Timestamp frac = 0, offset = 0;
  bool has_time = false, has_offset = false;
  std::size_t pos = 0;
  const std::string_view p = pattern_;
  // Variable-width numbers: up to n digits (strptime accepts "3/7/2014" for %m/%d/%Y).
  auto number = [&](int max_digits, int& out) {
    int v = 0, n = 0;
    while (n < max_digits && pos < s.size() && IsDigit(s[pos])) {
      v = v * 10 + (s[pos++] - '0');
      ++n;
    }
    out = v;
    return n > 0;
  };
  for (std::size_t i = 0; i < p.size(); ++i) {
    if (p[i] != '%') {
      if (pos >= s.size() || s[pos] != p[i]) return std::nullopt;
      ++pos;
      continue;
    }
    const char c = p[++i];
    bool ok = true;
    switch (c) {
      case 'Y':
        ok = number(4, y);
        break;
      case 'y':
        ok = number(2, y);
        y += y < 69 ? 2000 : 1900;
        break;
      case 'm':
        ok = number(2, mo);
        break;
      case 'd':
        ok = number(2, d);
        break;
      case 'H':
        ok = number(2, h);
        has_time = true;
        break;
      case 'M':
        ok = number(2, mi);
        has_time = true;
        break;
      case 'S':
        ok = number(2, sec);
        has_time = true;
        break;
      case 'f':
        ok = Fraction(s, pos, frac);
        break;
      case 'z':
        ok = Offset(s, pos, offset);
        has_offset = true;
        break;
      case 'b': {
        ok = false;
        if (pos + 3 <= s.size()) {
          std::string m3;
          for (int k = 0; k < 3; ++k)
            m3 += static_cast<char>(
                std::tolower(static_cast<unsigned char>(s[pos + static_cast<std::size_t>(k)])));
          for (std::size_t k = 0; k < kMonths.size(); ++k) {
            if (kMonths[k] == m3) {
              mo = static_cast<int>(k) + 1;
              pos += 3;
              ok = true;
            }
          }
        }
        break;
      }
      case '%':
        ok = pos < s.size() && s[pos++] == '%';
        break;
      default:
        ok = false;
    }
    if (!ok) return std::nullopt;
  }
  if (pos != s.size()) return std::nullopt;
  return Assemble(y, mo, d, h, mi, sec, frac, has_time, has_offset, offset);
}

Result<EpochUnit> ParseEpochUnit(std::string_view name) {
  if (name == "auto") return EpochUnit::kAuto;
  if (name == "s") return EpochUnit::kSeconds;
  if (name == "ms") return EpochUnit::kMillis;
  if (name == "us") return EpochUnit::kMicros;
  if (name == "ns") return EpochUnit::kNanos;
  return Status::InvalidArgument(
      fmt::format("epoch unit '{}': expected one of auto, s, ms, us, ns", name));
}

std::optional<Timestamp> EpochToTimestamp(std::int64_t v, EpochUnit unit) {
  if (v == std::numeric_limits<std::int64_t>::min()) return std::nullopt;
  if (unit == EpochUnit::kAuto) {
    const std::int64_t a = v < 0 ? -v : v;
    // 1e11 s is the year 5138; 1e14 ms is 5138 too; beyond 1e17 only ns make sense.
    unit = a < 100'000'000'000LL           ? EpochUnit::kSeconds
           : a < 100'000'000'000'000LL     ? EpochUnit::kMillis
           : a < 100'000'000'000'000'000LL ? EpochUnit::kMicros
                                           : EpochUnit::kNanos;
  }
  const Timestamp scale = unit == EpochUnit::kSeconds  ? kNanosPerSecond
                          : unit == EpochUnit::kMillis ? kNanosPerMilli
                          : unit == EpochUnit::kMicros ? kNanosPerMicro
                                                       : 1;
  Timestamp out;
  if (__builtin_mul_overflow(v, scale, &out)) return std::nullopt;
  return out;
}

Result<Frequency> Frequency::Parse(std::string_view text) {
  // "1M" is a month (Binance and pandas spell it so); every other unit is case-insensitive.
  if (!text.empty() && text.back() == 'M' && (text.size() == 1 || IsDigit(text[text.size() - 2]))) {
    std::size_t pos = 0;
    int n = 0;
    while (pos + 1 < text.size() && IsDigit(text[pos]))
      n = n * 10 + (text[pos++] - '0');
    if (pos + 1 == text.size() && (pos == 0 || n > 0))
      return Frequency(Unit::kMonth, pos == 0 ? 1 : n);
  }
  std::string t;
  for (char c : text)
    t += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (t == "tick") return Frequency(Unit::kTick, 0);
  if (t == "day" || t == "daily") return Frequency(Unit::kDay, 1);
  if (t == "week" || t == "weekly") return Frequency(Unit::kWeek, 1);
  if (t == "month" || t == "monthly") return Frequency(Unit::kMonth, 1);
  std::size_t pos = 0;
  int n = 0;
  while (pos < t.size() && IsDigit(t[pos]))
    n = n * 10 + (t[pos++] - '0');
  if (pos == 0) n = 1;
  const std::string unit = t.substr(pos);
  auto bad = [&] {
    return Status::InvalidArgument(fmt::format(
        "frequency '{}': expected <n><unit> with unit s, m/min, h, d, w or mo (e.g. 1d, 5m, 8h)",
        text));
  };
  if (n <= 0) return bad();
  if (unit == "s" || unit == "sec") return Frequency(Unit::kSecond, n);
  if (unit == "m" || unit == "min" || unit == "t") return Frequency(Unit::kMinute, n);
  if (unit == "h" || unit == "hour") return Frequency(Unit::kHour, n);
  if (unit == "d" || unit == "day") return Frequency(Unit::kDay, n);
  if (unit == "w" || unit == "week") return Frequency(Unit::kWeek, n);
  if (unit == "mo" || unit == "month" || unit == "mon") return Frequency(Unit::kMonth, n);
  return bad();
}

Timestamp Frequency::nanos() const {
  switch (unit_) {
    case Unit::kSecond:
      return count_ * kNanosPerSecond;
    case Unit::kMinute:
      return count_ * kNanosPerMinute;
    case Unit::kHour:
      return count_ * kNanosPerHour;
    case Unit::kDay:
      return count_ * kNanosPerDay;
    case Unit::kWeek:
      return count_ * 7 * kNanosPerDay;
    default:
      return 0;
  }
}

std::string Frequency::ToString() const {
  switch (unit_) {
    case Unit::kTick:
      return "tick";
    case Unit::kSecond:
      return fmt::format("{}s", count_);
    case Unit::kMinute:
      return fmt::format("{}m", count_);
    case Unit::kHour:
      return fmt::format("{}h", count_);
    case Unit::kDay:
      return fmt::format("{}d", count_);
    case Unit::kWeek:
      return fmt::format("{}w", count_);
    case Unit::kMonth:
      return fmt::format("{}mo", count_);
  }
  return "?";
}

Result<TimeZone> TimeZone::Find(std::string_view name) {
  TimeZone tz;
  if (name.empty() || name == "UTC" || name == "utc" || name == "Etc/UTC" || name == "Z") return tz;
  try {
    tz.zone_ = date::locate_zone(name);
  } catch (const std::exception&) {
    return Status::InvalidArgument(
        fmt::format("time zone '{}': not in the system tz database (expected an IANA name such as "
                    "America/New_York or Asia/Shanghai)",
                    name));
  }
  tz.name_ = std::string(name);
  return tz;
}

Result<Timestamp> TimeZone::LocalToUtc(Timestamp local) const {
  if (zone_ == nullptr) return local;
  using namespace std::chrono;
  const date::local_time<nanoseconds> lt{nanoseconds(local)};
  const date::local_info info = zone_->get_info(date::floor<seconds>(lt));
  switch (info.result) {
    case date::local_info::unique:
    case date::local_info::ambiguous:  // first.offset is the earlier instant
      return local - duration_cast<nanoseconds>(info.first.offset).count();
    default:
      return Status::DataError(fmt::format("local time {} does not exist in time zone {} (DST gap)",
                                           FormatDateTime(local), name_));
  }
}

Timestamp TimeZone::UtcToLocal(Timestamp utc) const {
  if (zone_ == nullptr) return utc;
  using namespace std::chrono;
  const date::sys_seconds st = date::floor<seconds>(date::sys_time<nanoseconds>(nanoseconds(utc)));
  const date::sys_info info = zone_->get_info(st);
  return utc + duration_cast<nanoseconds>(info.offset).count();
}

}  // namespace qraft
