#include "qraft/core/calendar.h"

#include <fmt/format.h>

#include <algorithm>
#include <fstream>

namespace qraft {

Calendar::Calendar(std::vector<Timestamp> times) : times_(std::move(times)) {
  QRAFT_CHECK(std::adjacent_find(times_.begin(), times_.end(), std::greater_equal<>()) ==
              times_.end());
}

Calendar Calendar::FromUnsorted(std::vector<Timestamp> times) {
  std::sort(times.begin(), times.end());
  times.erase(std::unique(times.begin(), times.end()), times.end());
  return Calendar(std::move(times));
}

Result<Calendar> Calendar::Load(const std::filesystem::path& path, const TimeZone& tz) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open calendar file", path.string()));
  std::vector<Timestamp> times;
  std::string line;
  for (int line_no = 1; std::getline(in, line); ++line_no) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    const auto first = line.find_first_not_of(" \t");
    if (first == std::string::npos || line[first] == '#') continue;
    auto t = ParseIsoDateTime(std::string_view(line).substr(first));
    if (!t) {
      return Status::DataError(fmt::format(
          "{}:{}: expected a date or date-time such as 2013-02-08 or 2013-02-08 09:30:00, got '{}'",
          path.string(), line_no, line));
    }
    Timestamp v = t->value;
    if (t->has_time && !t->utc) {
      auto utc = tz.LocalToUtc(v);
      if (!utc.ok()) return utc.status().WithContext(fmt::format("{}:{}", path.string(), line_no));
      v = *utc;
    }
    if (!times.empty() && v <= times.back()) {
      return Status::DataError(fmt::format("{}:{}: '{}' is not after the previous line's time",
                                           path.string(), line_no, line));
    }
    times.push_back(v);
  }
  return Calendar(std::move(times));
}

std::optional<std::size_t> Calendar::Find(Timestamp t) const {
  const std::size_t i = LowerBound(t);
  if (i < times_.size() && times_[i] == t) return i;
  return std::nullopt;
}

std::size_t Calendar::LowerBound(Timestamp t) const {
  return static_cast<std::size_t>(std::lower_bound(times_.begin(), times_.end(), t) -
                                  times_.begin());
}

std::size_t Calendar::UpperBound(Timestamp t) const {
  return static_cast<std::size_t>(std::upper_bound(times_.begin(), times_.end(), t) -
                                  times_.begin());
}

Calendar Calendar::Slice(Timestamp start, Timestamp end) const {
  const std::size_t b = start == kNoTimestamp ? 0 : LowerBound(start);
  const std::size_t e = end == kNoTimestamp ? times_.size() : UpperBound(end);
  if (b >= e) return Calendar();
  return Calendar(std::vector<Timestamp>(times_.begin() + static_cast<std::ptrdiff_t>(b),
                                         times_.begin() + static_cast<std::ptrdiff_t>(e)));
}

Calendar Calendar::Union(const Calendar& a, const Calendar& b) {
  std::vector<Timestamp> out;
  out.reserve(a.size() + b.size());
  std::set_union(a.times_.begin(), a.times_.end(), b.times_.begin(), b.times_.end(),
                 std::back_inserter(out));
  return Calendar(std::move(out));
}

Result<Session> ParseSession(std::string_view text) {
  auto bad = [&] {
    return Status::InvalidArgument(
        fmt::format("session '{}': expected HH:MM-HH:MM such as 09:30-16:00", text));
  };
  if (text.size() != 11 || text[2] != ':' || text[5] != '-' || text[8] != ':') return bad();
  auto two = [&](std::size_t p) -> int {
    if (text[p] < '0' || text[p] > '9' || text[p + 1] < '0' || text[p + 1] > '9') return -1;
    return (text[p] - '0') * 10 + (text[p + 1] - '0');
  };
  const int oh = two(0), om = two(3), ch = two(6), cm = two(9);
  if (oh < 0 || om < 0 || ch < 0 || cm < 0 || oh > 24 || ch > 24 || om > 59 || cm > 59)
    return bad();
  Session s{oh * 60 + om, ch * 60 + cm};
  if (s.close_minute <= s.open_minute) s.close_minute += 24 * 60;  // runs past midnight
  return s;
}

Result<Calendar> BuildIntradayCalendar(std::span<const Timestamp> days,
                                       std::span<const Session> sessions, Frequency freq,
                                       const TimeZone& tz) {
  const Timestamp step = freq.nanos();
  if (!freq.intraday() || step <= 0) {
    return Status::InvalidArgument(fmt::format(
        "intraday calendar: frequency {} is not a fixed intraday length", freq.ToString()));
  }
  std::vector<Session> all(sessions.begin(), sessions.end());
  if (all.empty()) all.push_back(Session{});
  for (const Session& s : all) {
    if (((s.close_minute - s.open_minute) * kNanosPerMinute) % step != 0) {
      return Status::InvalidArgument(
          fmt::format("intraday calendar: bar length {} does not divide the session "
                      "{:02d}:{:02d}-{:02d}:{:02d}",
                      freq.ToString(), s.open_minute / 60, s.open_minute % 60,
                      (s.close_minute / 60) % 24, s.close_minute % 60));
    }
  }
  std::vector<Timestamp> out;
  for (Timestamp day : days) {
    for (const Session& s : all) {
      const Timestamp open = day + s.open_minute * kNanosPerMinute;
      const Timestamp close = day + s.close_minute * kNanosPerMinute;
      for (Timestamp local = open; local < close; local += step) {
        QRAFT_ASSIGN_OR_RETURN(Timestamp utc, tz.LocalToUtc(local));
        out.push_back(utc);
      }
    }
  }
  return Calendar::FromUnsorted(std::move(out));
}

}  // namespace qraft
