#include "qraft/data/assemble.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <numeric>
#include <optional>
#include <set>

#include "qraft/core/parallel.h"
#include "qraft/data/mapping.h"

namespace qraft::data {
namespace {

bool SameValue(double a, double b) {
  return a == b || (std::isnan(a) && std::isnan(b));
}

// Row order of a table sorted by (global symbol, time); stable, so file order breaks ties.
std::vector<std::uint32_t> SortedOrder(const SourceTable& t,
                                       const std::vector<std::uint32_t>& global, bool& was_sorted,
                                       std::size_t& first_unsorted) {
  std::vector<std::uint32_t> order(t.rows());
  std::iota(order.begin(), order.end(), 0u);
  was_sorted = true;
  first_unsorted = 0;
  bool in_order = true;  // already sorted by (symbol, time): nothing to do
  for (std::size_t r = 1; r < t.rows(); ++r) {
    const std::uint32_t sa = global[t.symbol[r - 1]], sb = global[t.symbol[r]];
    if (sa == sb && t.time[r] < t.time[r - 1] && was_sorted) {
      was_sorted = false;
      first_unsorted = r;
    }
    in_order &= sa < sb || (sa == sb && t.time[r - 1] <= t.time[r]);
  }
  if (in_order) return order;
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    const std::uint32_t sa = global[t.symbol[a]], sb = global[t.symbol[b]];
    return sa != sb ? sa < sb : t.time[a] < t.time[b];
  });
  return order;
}

std::string Label(Timestamp t, bool daily) {
  return FormatTimestamp(t, daily);
}

// Maps daily labels (whole days) to calendar slots in O(1) through a table indexed by day number;
// falls back to binary search for calendars that are not whole days or span absurd ranges.
class SlotIndex {
 public:
  explicit SlotIndex(const Calendar& cal) : cal_(cal) {
    if (cal.empty()) return;
    for (Timestamp t : cal.times()) {
      if (t % kNanosPerDay != 0) return;
    }
    first_day_ = DayNumber(cal.front());
    const std::int64_t range = DayNumber(cal.back()) - first_day_ + 1;
    if (range > kMaxDays) return;
    slots_.assign(static_cast<std::size_t>(range), -1);
    for (std::size_t i = 0; i < cal.size(); ++i)
      slots_[static_cast<std::size_t>(DayNumber(cal[i]) - first_day_)] =
          static_cast<std::int32_t>(i);
  }
  std::optional<std::size_t> Find(Timestamp t) const {
    if (slots_.empty()) return cal_.Find(t);
    if (t % kNanosPerDay != 0) return std::nullopt;
    const std::int64_t d = DayNumber(t) - first_day_;
    if (d < 0 || d >= static_cast<std::int64_t>(slots_.size()) ||
        slots_[static_cast<std::size_t>(d)] < 0)
      return std::nullopt;
    return static_cast<std::size_t>(slots_[static_cast<std::size_t>(d)]);
  }

 private:
  static constexpr std::int64_t kMaxDays = 4'000'000;  // about 11,000 years
  const Calendar& cal_;
  std::int64_t first_day_ = 0;
  std::vector<std::int32_t> slots_;
};

// The sorted distinct labels of all tables. Daily labels are whole days, so a bitmap over the day
// range replaces a sort of every row's time.
Calendar UnionOfLabels(const std::vector<SourceTable>& tables) {
  std::int64_t lo = INT64_MAX, hi = INT64_MIN;
  bool whole_days = true;
  std::size_t rows = 0;
  for (const SourceTable& t : tables) {
    rows += t.rows();
    for (Timestamp x : t.time) {
      whole_days &= x % kNanosPerDay == 0;
      lo = std::min(lo, x);
      hi = std::max(hi, x);
    }
  }
  if (rows == 0) return Calendar();
  if (whole_days && (hi - lo) / kNanosPerDay < 4'000'000) {
    const std::int64_t first = DayNumber(lo);
    std::vector<std::uint8_t> seen(static_cast<std::size_t>(DayNumber(hi) - first + 1), 0);
    for (const SourceTable& t : tables) {
      for (Timestamp x : t.time)
        seen[static_cast<std::size_t>(DayNumber(x) - first)] = 1;
    }
    std::vector<Timestamp> days;
    for (std::size_t d = 0; d < seen.size(); ++d) {
      if (seen[d]) days.push_back((first + static_cast<std::int64_t>(d)) * kNanosPerDay);
    }
    return Calendar(std::move(days));
  }
  std::vector<Timestamp> all;
  all.reserve(rows);
  for (const SourceTable& t : tables)
    all.insert(all.end(), t.time.begin(), t.time.end());
  return Calendar::FromUnsorted(std::move(all));
}

}  // namespace

Result<DuplicatePolicy> ParseDuplicatePolicy(std::string_view name) {
  if (name == "error") return DuplicatePolicy::kError;
  if (name == "first") return DuplicatePolicy::kFirst;
  if (name == "last") return DuplicatePolicy::kLast;
  return Status::InvalidArgument(
      fmt::format("on-duplicate '{}': expected error, first or last", name));
}

Result<Assembled> Assemble(std::vector<SourceTable> tables, const AssembleOptions& opt) {
  Assembled out;
  const bool daily = !opt.freq.intraday();

  // Symbols: sorted union.
  std::set<std::string> symbol_set;
  for (const SourceTable& t : tables)
    symbol_set.insert(t.symbols.begin(), t.symbols.end());
  std::vector<std::string> symbols(symbol_set.begin(), symbol_set.end());
  std::map<std::string, std::uint32_t> symbol_index;
  for (std::size_t i = 0; i < symbols.size(); ++i)
    symbol_index[symbols[i]] = static_cast<std::uint32_t>(i);

  // Fields: union in canonical order.
  std::set<std::string> field_set;
  for (const SourceTable& t : tables)
    field_set.insert(t.field_names.begin(), t.field_names.end());
  std::vector<std::string> fields(field_set.begin(), field_set.end());
  SortFieldNames(fields);

  // Calendar.
  Calendar calendar;
  if (opt.calendar) {
    calendar = *opt.calendar;
  } else if (daily) {
    calendar = UnionOfLabels(tables);
  } else {
    std::vector<Timestamp> days;
    for (const SourceTable& t : tables) {
      for (Timestamp x : t.time)
        days.push_back(FloorToDay(opt.tz.UtcToLocal(x)));
    }
    std::sort(days.begin(), days.end());
    days.erase(std::unique(days.begin(), days.end()), days.end());
    QRAFT_ASSIGN_OR_RETURN(calendar, BuildIntradayCalendar(days, opt.sessions, opt.freq, opt.tz));
  }
  const std::size_t S = symbols.size(), T = calendar.size();
  const Timestamp step = daily ? 0 : opt.freq.nanos();

  const SlotIndex slots(calendar);
  PanelBuilder builder(calendar, symbols);
  std::vector<std::span<double>> data;
  for (const std::string& f : fields)
    data.push_back(builder.AddField(f));
  // Which table wrote each (symbol, time) cell, for messages about conflicts across files.
  std::vector<std::uint32_t> owner(S * T, UINT32_MAX);

  // Tables fill their own symbols' cells; when no symbol appears in two tables (one file per
  // symbol, the common case) they fill in parallel. Per-table findings merge in table order, and
  // an error is the first table's, so the result does not depend on scheduling.
  struct Findings {
    QualityReport report;
    std::size_t off_session = 0;
    std::string off_session_example;
    Timestamp off_session_first = kNoTimestamp;
  };
  std::vector<Findings> findings(tables.size());
  std::vector<std::uint32_t> tables_per_symbol(S, 0);
  for (const SourceTable& t : tables) {
    for (const std::string& name : t.symbols)
      ++tables_per_symbol[symbol_index[name]];
  }
  const bool disjoint = std::all_of(tables_per_symbol.begin(), tables_per_symbol.end(),
                                    [](std::uint32_t n) { return n <= 1; });

  auto fill = [&](std::size_t ti) -> Status {
    SourceTable& t = tables[ti];
    Findings& found = findings[ti];
    std::vector<std::uint32_t> global(t.symbols.size());
    for (std::size_t i = 0; i < t.symbols.size(); ++i)
      global[i] = symbol_index.at(t.symbols[i]);
    std::vector<int> field_map(t.field_names.size());
    for (std::size_t f = 0; f < t.field_names.size(); ++f) {
      field_map[f] = static_cast<int>(std::find(fields.begin(), fields.end(), t.field_names[f]) -
                                      fields.begin());
    }
    bool sorted;
    std::size_t first_unsorted;
    const std::vector<std::uint32_t> order = SortedOrder(t, global, sorted, first_unsorted);
    if (!sorted) {
      QualityIssue i;
      i.severity = Severity::kWarning;
      i.check = "unsorted_time";
      i.symbol = t.symbols[t.symbol[first_unsorted]];
      i.first = t.time[first_unsorted];
      i.message = fmt::format("{}: rows are not in time order (first at {}); they were sorted",
                              t.source, t.Where(first_unsorted));
      found.report.Add(std::move(i));
    }

    std::size_t dup_identical = 0;
    std::size_t dup_first_row = 0;
    for (std::size_t k = 0; k < order.size(); ++k) {
      const std::uint32_t r = order[k];
      const std::uint32_t s = global[t.symbol[r]];
      // Calendar slot.
      std::size_t slot;
      if (daily) {
        auto hit = slots.Find(t.time[r]);
        if (!hit) {
          return Status::DataError(
              fmt::format("{}: {} at {} is not a day of the exchange calendar; fix the data or the "
                          "--calendar file",
                          t.Where(r), t.symbols[t.symbol[r]], Label(t.time[r], true)));
        }
        slot = *hit;
      } else {
        const std::size_t ub = calendar.UpperBound(t.time[r]);
        if (ub == 0 || t.time[r] - calendar[ub - 1] >= step) {
          if (found.off_session++ == 0) {
            found.off_session_example = t.Where(r);
            found.off_session_first = t.time[r];
          }
          continue;
        }
        slot = ub - 1;
      }
      const std::size_t cell = static_cast<std::size_t>(s) * T + slot;

      // Duplicate inside this table: the previous sorted row has the same slot.
      if (owner[cell] == ti) {
        const std::uint32_t prev = order[k - 1];
        bool identical = true;
        for (std::size_t f = 0; f < t.fields.size(); ++f)
          identical &= SameValue(t.fields[f][r], t.fields[f][prev]);
        if (identical) {
          if (dup_identical++ == 0) dup_first_row = r;
          continue;
        }
        if (opt.on_duplicate == DuplicatePolicy::kError) {
          return Status::DataError(
              fmt::format("{} and {}: two different rows for {} at {} (duplicate timestamp); "
                          "remove one, or pass "
                          "--on-duplicate first|last{}",
                          t.Where(prev), t.Where(r), symbols[s], Label(calendar[slot], daily),
                          daily ? ", or --resample if these are intraday rows" : ""));
        }
        if (opt.on_duplicate == DuplicatePolicy::kFirst) continue;
      }
      // Conflict with another table (only possible when tables share symbols: sequential).
      if (owner[cell] != UINT32_MAX && owner[cell] != ti) {
        const SourceTable& other = tables[owner[cell]];
        for (std::size_t f = 0; f < t.fields.size(); ++f) {
          double& dst = data[static_cast<std::size_t>(field_map[f])][cell];
          const double v = t.fields[f][r];
          if (!std::isnan(dst) && !std::isnan(v) && dst != v &&
              opt.on_duplicate == DuplicatePolicy::kError) {
            return Status::DataError(fmt::format(
                "{}: {} at {} field '{}' is {}, but {} already gave {}; remove the overlap or pass "
                "--on-duplicate first|last",
                t.Where(r), symbols[s], Label(calendar[slot], daily), t.field_names[f], v,
                other.source, dst));
          }
        }
      }
      for (std::size_t f = 0; f < t.fields.size(); ++f) {
        const double v = t.fields[f][r];
        double& dst = data[static_cast<std::size_t>(field_map[f])][cell];
        if (!std::isnan(v) && (std::isnan(dst) || opt.on_duplicate != DuplicatePolicy::kFirst))
          dst = v;
      }
      owner[cell] = static_cast<std::uint32_t>(ti);
    }
    if (dup_identical > 0) {
      QualityIssue i;
      i.severity = Severity::kWarning;
      i.check = "duplicate_timestamp";
      i.symbol = t.symbols[t.symbol[dup_first_row]];
      i.first = t.time[dup_first_row];
      i.count = dup_identical;
      i.message =
          fmt::format("{}: {} duplicate row(s) with identical values were dropped (first at {})",
                      t.source, dup_identical, t.Where(dup_first_row));
      found.report.Add(std::move(i));
    }
    // Free the rows as we go; keep the name for messages about later conflicts.
    t.time = {};
    t.symbol = {};
    t.line = {};
    t.fields = {};
    return Status::OK();
  };
  if (disjoint) {
    QRAFT_RETURN_NOT_OK(
        ParallelForStatus(tables.size(), 1, [&](std::size_t b, std::size_t e) -> Status {
          for (std::size_t ti = b; ti < e; ++ti)
            QRAFT_RETURN_NOT_OK(fill(ti));
          return Status::OK();
        }));
  } else {
    for (std::size_t ti = 0; ti < tables.size(); ++ti)
      QRAFT_RETURN_NOT_OK(fill(ti));
  }

  std::size_t off_session = 0;
  std::string off_session_example;
  Timestamp off_session_first = kNoTimestamp;
  for (Findings& f : findings) {
    out.report.Append(f.report);
    if (f.off_session > 0 && off_session == 0) {
      off_session_example = f.off_session_example;
      off_session_first = f.off_session_first;
    }
    off_session += f.off_session;
  }
  if (off_session > 0) {
    QualityIssue i;
    i.severity = Severity::kWarning;
    i.check = "off_session";
    i.first = off_session_first;
    i.count = off_session;
    i.message =
        fmt::format("{} bar(s) outside the market's session hours were left out (first at {})",
                    off_session, off_session_example);
    out.report.Add(std::move(i));
  }
  out.panel = std::move(builder).Build();
  return out;
}

SourceTable Resample(const SourceTable& in, Frequency target, const TimeLabeler& labeler) {
  SourceTable out;
  out.source = in.source;
  out.symbols = in.symbols;
  out.field_names = in.field_names;
  out.fields.resize(in.fields.size());
  out.notes = in.notes;
  const bool daily = !target.intraday();
  const Timestamp step = target.nanos();
  auto bucket = [&](Timestamp t) -> Timestamp {
    if (daily) return FloorToDay(labeler.tz().UtcToLocal(t));
    const Timestamp local = labeler.tz().UtcToLocal(t);
    const Timestamp floored = local - ((local % step) + step) % step;
    return floored - (local - t);  // same offset back to UTC
  };
  enum class Agg { kFirst, kMax, kMin, kLast, kSum, kVwap };
  std::vector<Agg> agg;
  int volume = -1;
  for (std::size_t f = 0; f < in.field_names.size(); ++f) {
    const std::string& n = in.field_names[f];
    if (n == "volume") volume = static_cast<int>(f);
    agg.push_back(
        n == "open"   ? Agg::kFirst
        : n == "high" ? Agg::kMax
        : n == "low"  ? Agg::kMin
        : (n == "volume" || n == "amount" || n == "trades" || n.rfind("taker_buy_", 0) == 0)
            ? Agg::kSum
        : n == "vwap" ? Agg::kVwap
                      : Agg::kLast);
  }
  std::vector<std::uint32_t> order(in.rows());
  std::iota(order.begin(), order.end(), 0u);
  std::stable_sort(order.begin(), order.end(), [&](std::uint32_t a, std::uint32_t b) {
    return in.symbol[a] != in.symbol[b] ? in.symbol[a] < in.symbol[b] : in.time[a] < in.time[b];
  });
  const double nan = std::nan("");
  std::size_t k = 0;
  while (k < order.size()) {
    const std::uint32_t r0 = order[k];
    const Timestamp b = bucket(in.time[r0]);
    std::size_t end = k;
    while (end < order.size() && in.symbol[order[end]] == in.symbol[r0] &&
           bucket(in.time[order[end]]) == b)
      ++end;
    for (std::size_t f = 0; f < in.fields.size(); ++f) {
      const std::vector<double>& x = in.fields[f];
      double acc = nan, wsum = 0;
      for (std::size_t i = k; i < end; ++i) {
        const double v = x[order[i]];
        if (std::isnan(v)) continue;
        switch (agg[f]) {
          case Agg::kFirst:
            if (std::isnan(acc)) acc = v;
            break;
          case Agg::kMax:
            acc = std::isnan(acc) ? v : std::max(acc, v);
            break;
          case Agg::kMin:
            acc = std::isnan(acc) ? v : std::min(acc, v);
            break;
          case Agg::kLast:
            acc = v;
            break;
          case Agg::kSum:
            acc = std::isnan(acc) ? v : acc + v;
            break;
          case Agg::kVwap: {
            const double w =
                volume >= 0 ? in.fields[static_cast<std::size_t>(volume)][order[i]] : 1.0;
            if (std::isnan(w)) break;
            acc = std::isnan(acc) ? v * w : acc + v * w;
            wsum += w;
            break;
          }
        }
      }
      if (agg[f] == Agg::kVwap && !std::isnan(acc)) acc = wsum > 0 ? acc / wsum : nan;
      out.fields[f].push_back(acc);
    }
    out.symbol.push_back(in.symbol[r0]);
    out.time.push_back(b);
    if (!in.line.empty()) out.line.push_back(in.line[order[end - 1]]);
    k = end;
  }
  return out;
}

}  // namespace qraft::data
