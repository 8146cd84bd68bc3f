#include "qraft/data/quality.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>
#include <optional>

#include "qraft/core/parallel.h"
#include "qraft/data/snapshot.h"

namespace qraft::data {
namespace {

// One check's findings for one symbol.
struct Tally {
  std::size_t count = 0;
  std::size_t first = 0;  // time index of the first occurrence
  double example = 0;     // a value worth quoting (e.g. the return)
  void Hit(std::size_t t, double v = 0) {
    if (count++ == 0) {
      first = t;
      example = v;
    }
  }
};

struct SymbolFindings {
  std::vector<Tally> missing;  // per field
  Tally ohlc, non_positive, negative_volume, zero_volume, gap, stale, outlier, large,
      split_mismatch;
  std::size_t longest_gap = 0;
  std::size_t valid = 0;
};

std::optional<std::size_t> Field(const Panel& p, std::string_view name) {
  return p.FindField(name);
}

bool IsPriceField(std::string_view f) {
  return f == "open" || f == "high" || f == "low" || f == "close" || f == "vwap";
}

}  // namespace

std::string_view SeverityName(Severity s) {
  switch (s) {
    case Severity::kInfo:
      return "info";
    case Severity::kWarning:
      return "warning";
    case Severity::kError:
      return "error";
  }
  return "?";
}

void QualityReport::Append(const QualityReport& other) {
  issues.insert(issues.end(), other.issues.begin(), other.issues.end());
}

std::size_t QualityReport::Count(Severity s) const {
  return static_cast<std::size_t>(std::count_if(
      issues.begin(), issues.end(), [&](const QualityIssue& i) { return i.severity == s; }));
}

void QualityReport::Sort() {
  std::stable_sort(issues.begin(), issues.end(), [](const QualityIssue& a, const QualityIssue& b) {
    if (a.severity != b.severity) return a.severity > b.severity;
    if (a.check != b.check) return a.check < b.check;
    if (a.symbol != b.symbol) return a.symbol < b.symbol;
    if (a.field != b.field) return a.field < b.field;
    return a.first < b.first;
  });
}

nlohmann::json QualityReport::ToJson(bool date_only) const {
  nlohmann::json by_check = nlohmann::json::object();
  nlohmann::json list = nlohmann::json::array();
  for (const QualityIssue& i : issues) {
    auto& c = by_check[i.check];
    if (c.is_null()) c = {{"severity", SeverityName(i.severity)}, {"symbols", 0}, {"count", 0}};
    c["symbols"] = c["symbols"].get<std::size_t>() + (i.symbol.empty() ? 0 : 1);
    c["count"] = c["count"].get<std::size_t>() + i.count;
    nlohmann::json j = {{"severity", SeverityName(i.severity)},
                        {"check", i.check},
                        {"count", i.count},
                        {"message", i.message}};
    if (!i.symbol.empty()) j["symbol"] = i.symbol;
    if (!i.field.empty()) j["field"] = i.field;
    if (i.first != kNoTimestamp) j["first"] = FormatTimestamp(i.first, date_only);
    list.push_back(std::move(j));
  }
  return {{"errors", Count(Severity::kError)},
          {"warnings", Count(Severity::kWarning)},
          {"info", Count(Severity::kInfo)},
          {"by_check", by_check},
          {"issues", list}};
}

std::string QualityReport::ToText(bool date_only, std::size_t max_lines) const {
  std::string out =
      fmt::format("quality: {} errors, {} warnings, {} info\n", Count(Severity::kError),
                  Count(Severity::kWarning), Count(Severity::kInfo));
  std::map<std::pair<int, std::string>, std::pair<std::size_t, std::size_t>>
      checks;  // (-sev, check) -> (findings, count)
  for (const QualityIssue& i : issues) {
    auto& c = checks[{-static_cast<int>(i.severity), i.check}];
    c.first += 1;
    c.second += i.count;
  }
  for (const auto& [key, v] : checks) {
    out +=
        fmt::format("  {:<8} {:<20} {:>6} finding(s), {:>8} occurrence(s)\n",
                    SeverityName(static_cast<Severity>(-key.first)), key.second, v.first, v.second);
  }
  // One line per (severity, check, symbol): per-field findings of one symbol are merged.
  std::size_t shown = 0, lines = 0;
  for (std::size_t k = 0; k < issues.size(); ++k) {
    const QualityIssue& i = issues[k];
    if (i.severity == Severity::kInfo) continue;
    std::size_t e = k + 1;
    while (e < issues.size() && !i.field.empty() && issues[e].severity == i.severity &&
           issues[e].check == i.check && issues[e].symbol == i.symbol && !issues[e].field.empty()) {
      ++e;
    }
    if (lines < max_lines) {
      if (e == k + 1) {
        out += fmt::format("  {}: {}\n", SeverityName(i.severity), i.message);
      } else {
        std::string parts;
        Timestamp first = i.first;
        for (std::size_t j = k; j < e; ++j) {
          parts += fmt::format("{}{} ({})", j == k ? "" : ", ", issues[j].field, issues[j].count);
          first = std::min(first, issues[j].first);
        }
        out += fmt::format("  {}: {}: {}: {} (first {})\n", SeverityName(i.severity), i.symbol,
                           i.check, parts, FormatTimestamp(first, date_only));
      }
      ++lines;
      shown += e - k;
    }
    k = e - 1;
  }
  const std::size_t rest = Count(Severity::kError) + Count(Severity::kWarning) - shown;
  if (rest > 0) out += fmt::format("  ... and {} more (see snapshot_meta.json or --json)\n", rest);
  return out;
}

QualityReport CheckPanel(const Panel& panel, const QualityOptions& opt, bool date_only) {
  const std::size_t S = panel.num_symbols(), T = panel.num_times(), F = panel.num_fields();
  const auto open = Field(panel, "open"), high = Field(panel, "high"), low = Field(panel, "low"),
             close = Field(panel, "close"), volume = Field(panel, "volume"),
             split = Field(panel, "split");
  std::vector<std::size_t> price_fields;
  for (std::size_t f = 0; f < F; ++f) {
    if (IsPriceField(panel.field_names()[f])) price_fields.push_back(f);
  }

  std::vector<SymbolFindings> found(S);
  ParallelFor(S, 8, [&](std::size_t b, std::size_t e) {
    std::vector<std::uint8_t> present(T);
    std::vector<std::size_t> values(F);
    std::vector<double> returns;
    std::vector<std::size_t> at;
    for (std::size_t s = b; s < e; ++s) {
      SymbolFindings& out = found[s];
      out.missing.resize(F);
      // A bar exists when any field has a value; count each field's values on the way.
      std::fill(present.begin(), present.end(), 0);
      for (std::size_t f = 0; f < F; ++f) {
        auto x = panel.series(f, s);
        std::size_t n = 0;
        for (std::size_t t = 0; t < T; ++t) {
          const bool has = !std::isnan(x[t]);
          present[t] |= has;
          n += has;
        }
        values[f] = n;
      }
      std::size_t first = T, last = 0;
      for (std::size_t t = 0; t < T; ++t) {
        if (present[t]) {
          first = std::min(first, t);
          last = t;
          ++out.valid;
        }
      }
      if (first == T) continue;  // no data at all; short_history reports it

      // A field is missing on a bar that exists but lacks it; find where only when it happens.
      for (std::size_t f = 0; f < F; ++f) {
        if (values[f] == out.valid) continue;
        auto x = panel.series(f, s);
        for (std::size_t t = first; t <= last; ++t) {
          if (present[t] && std::isnan(x[t])) out.missing[f].Hit(t);
        }
      }
      std::size_t run = 0;
      for (std::size_t t = first; t <= last; ++t) {
        if (!present[t]) {
          out.gap.Hit(t);
          out.longest_gap = std::max(out.longest_gap, ++run);
        } else {
          run = 0;
        }
      }
      for (std::size_t f : price_fields) {
        auto x = panel.series(f, s);
        for (std::size_t t = first; t <= last; ++t) {
          if (x[t] <= 0) out.non_positive.Hit(t, x[t]);
        }
      }
      if (open && high && low && close) {
        auto o = panel.series(*open, s), h = panel.series(*high, s), l = panel.series(*low, s),
             c = panel.series(*close, s);
        for (std::size_t t = first; t <= last; ++t) {
          if (std::isnan(o[t]) || std::isnan(h[t]) || std::isnan(l[t]) || std::isnan(c[t]))
            continue;
          if (h[t] < std::max({o[t], c[t], l[t]}) || l[t] > std::min({o[t], c[t], h[t]}))
            out.ohlc.Hit(t);
        }
      }
      if (volume) {
        auto v = panel.series(*volume, s);
        const std::span<const double> c =
            close ? panel.series(*close, s) : std::span<const double>();
        for (std::size_t t = first; t <= last; ++t) {
          if (v[t] < 0) out.negative_volume.Hit(t, v[t]);
          if (v[t] == 0 && (c.empty() || !std::isnan(c[t]))) out.zero_volume.Hit(t);
        }
      }
      if (close) {
        auto c = panel.series(*close, s);
        // Stale: runs of unchanged closes.
        std::size_t same = 0;
        double prev = std::nan("");
        std::size_t prev_t = first, run_start = first;
        for (std::size_t t = first; t <= last; ++t) {
          if (std::isnan(c[t])) continue;
          if (c[t] == prev) {
            if (same++ == 0) run_start = prev_t;  // the run starts at the first of the equal closes
            if (same == static_cast<std::size_t>(opt.stale_run)) out.stale.Hit(run_start, c[t]);
          } else {
            same = 0;
          }
          prev = c[t];
          prev_t = t;
        }
        // Outliers: close-to-close returns across gaps.
        returns.clear();
        at.clear();
        prev = std::nan("");
        for (std::size_t t = first; t <= last; ++t) {
          if (std::isnan(c[t])) continue;
          if (!std::isnan(prev) && prev > 0 && c[t] > 0) {
            returns.push_back(c[t] / prev - 1);
            at.push_back(t);
          }
          prev = c[t];
        }
        // The median and MAD (two selections: most of this function's time) matter only when
        // some return is big enough to be reported.
        const double reportable = std::min(opt.min_outlier_return, opt.max_abs_return);
        const bool any_candidate = std::any_of(returns.begin(), returns.end(),
                                               [&](double r) { return std::fabs(r) > reportable; });
        if (any_candidate) {
          std::vector<double> tmp = returns;
          auto mid = tmp.begin() + static_cast<std::ptrdiff_t>(tmp.size() / 2);
          std::nth_element(tmp.begin(), mid, tmp.end());
          const double median = *mid;
          for (double& x : tmp)
            x = std::fabs(x - median);
          std::nth_element(tmp.begin(), mid, tmp.end());
          const double mad = 1.4826 * *mid;
          for (std::size_t i = 0; i < returns.size(); ++i) {
            const double r = returns[i];
            const bool big = std::fabs(r) > opt.max_abs_return;
            const bool far = mad > 0 && std::fabs(r - median) / mad > opt.outlier_mads &&
                             std::fabs(r) > opt.min_outlier_return;
            if (big) {
              out.outlier.Hit(at[i], r);
            } else if (far) {
              out.large.Hit(at[i], r);
            }
          }
        }
        // Splits that the prices already reflect.
        if (split) {
          auto sp = panel.series(*split, s);
          const std::span<const double> o = open ? panel.series(*open, s) : c;
          double prev_close = std::nan("");
          for (std::size_t t = first; t <= last; ++t) {
            const double ratio = sp[t];
            const double px = std::isnan(o[t]) ? c[t] : o[t];
            if (!std::isnan(ratio) && ratio > 0 && ratio != 1 && !std::isnan(prev_close) &&
                px > 0) {
              const double jump = px / prev_close;
              if (std::fabs(std::log(jump * ratio)) > std::fabs(std::log(jump)))
                out.split_mismatch.Hit(t, ratio);
            }
            if (!std::isnan(c[t])) prev_close = c[t];
          }
        }
      }
    }
  });

  QualityReport report;
  auto when = [&](std::size_t t) { return FormatTimestamp(panel.calendar()[t], date_only); };
  for (std::size_t s = 0; s < S; ++s) {
    const SymbolFindings& f = found[s];
    const std::string& sym = panel.symbols()[s];
    auto add = [&](Severity sev, std::string check, const Tally& t, std::string what,
                   std::string field = "") {
      if (t.count == 0) return;
      QualityIssue i;
      i.severity = sev;
      i.check = std::move(check);
      i.symbol = sym;
      i.field = std::move(field);
      i.first = panel.calendar()[t.first];
      i.count = t.count;
      i.message = fmt::format("{}: {} (first {})", sym, what, when(t.first));
      report.Add(std::move(i));
    };
    for (std::size_t k = 0; k < F && k < f.missing.size(); ++k) {
      const std::string& name = panel.field_names()[k];
      add(IsPriceField(name) ? Severity::kWarning : Severity::kInfo, "missing_values", f.missing[k],
          fmt::format("{} bar(s) without a value for '{}'", f.missing[k].count, name), name);
    }
    add(Severity::kWarning, "ohlc_inconsistent", f.ohlc,
        fmt::format("{} bar(s) with high below open/close/low or low above open/close/high",
                    f.ohlc.count));
    add(Severity::kWarning, "non_positive_price", f.non_positive,
        fmt::format("{} price(s) <= 0 (e.g. {})", f.non_positive.count, f.non_positive.example));
    add(Severity::kError, "negative_volume", f.negative_volume,
        fmt::format("{} bar(s) with negative volume (e.g. {})", f.negative_volume.count,
                    f.negative_volume.example));
    add(Severity::kInfo, "zero_volume", f.zero_volume,
        fmt::format("{} bar(s) with zero volume", f.zero_volume.count));
    add(Severity::kInfo, "calendar_gap", f.gap,
        fmt::format("{} missing bar(s) inside its listed range (longest run {})", f.gap.count,
                    f.longest_gap));
    add(Severity::kWarning, "stale_price", f.stale,
        fmt::format("{} run(s) of {}+ unchanged closes (e.g. {})", f.stale.count, opt.stale_run + 1,
                    f.stale.example));
    add(Severity::kWarning, "outlier_return", f.outlier,
        fmt::format("{} close-to-close move(s) beyond {:.0f}% (e.g. {:+.1f}%): unadjusted "
                    "corporate action or bad print?",
                    f.outlier.count, 100 * opt.max_abs_return, 100 * f.outlier.example));
    add(Severity::kInfo, "large_return", f.large,
        fmt::format("{} move(s) over {:.0f} robust deviations from the median (e.g. {:+.1f}%)",
                    f.large.count, opt.outlier_mads, 100 * f.large.example));
    add(Severity::kWarning, "split_mismatch", f.split_mismatch,
        fmt::format(
            "{} split(s) (e.g. ratio {}) where the price does not jump by the ratio: prices "
            "look already split-adjusted",
            f.split_mismatch.count, f.split_mismatch.example));
    if (f.valid < opt.min_history) {
      QualityIssue i;
      i.severity = Severity::kWarning;
      i.check = "short_history";
      i.symbol = sym;
      i.count = 1;
      i.message =
          fmt::format("{}: only {} bar(s) of data (fewer than {})", sym, f.valid, opt.min_history);
      report.Add(std::move(i));
    }
  }
  return report;
}

QualityReport CheckListings(const Panel& panel, const std::vector<InstrumentSpan>& spans,
                            bool date_only) {
  QualityReport report;
  const std::size_t T = panel.num_times();
  for (std::size_t s = 0; s < panel.num_symbols(); ++s) {
    const std::string& sym = panel.symbols()[s];
    auto lo = std::lower_bound(
        spans.begin(), spans.end(), sym,
        [](const InstrumentSpan& a, const std::string& b) { return a.symbol < b; });
    auto hi = lo;
    while (hi != spans.end() && hi->symbol == sym)
      ++hi;
    std::size_t outside = 0, first = T;
    for (std::size_t t = 0; t < T; ++t) {
      if (!panel.HasBar(s, t)) continue;
      const Timestamp x = panel.calendar()[t];
      const bool listed = std::any_of(
          lo, hi, [&](const InstrumentSpan& sp) { return sp.start <= x && x <= sp.end; });
      if (!listed && outside++ == 0) first = t;
    }
    if (outside == 0) continue;
    QualityIssue i;
    i.severity = Severity::kWarning;
    i.symbol = sym;
    i.first = panel.calendar()[first];
    i.count = outside;
    if (lo == hi) {
      i.check = "unlisted_symbol";
      i.message = fmt::format("{}: has {} bar(s) but no listing span in the instruments file", sym,
                              outside);
    } else {
      i.check = "outside_listing";
      i.message = fmt::format("{}: {} bar(s) outside its listing span(s) (first {})", sym, outside,
                              FormatTimestamp(panel.calendar()[first], date_only));
    }
    report.Add(std::move(i));
  }
  return report;
}

}  // namespace qraft::data
