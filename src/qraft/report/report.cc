#include "qraft/report/report.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <fstream>
#include <map>
#include <optional>
#include <set>
#include <sstream>
#include <string_view>
#include <vector>

#include "qraft/core/file_io.h"
#include "qraft/core/time.h"

namespace qraft::report {
namespace {

namespace fs = std::filesystem;
using engines::CandidateDetail;
using engines::CombinationResult;
using engines::CurvePoint;
using engines::MetricField;
using engines::Metrics;
using engines::SweepOutput;
using engines::TradeRow;
constexpr double kNaN = engines::kNaN;

// =============================================================================================
// Text and numbers.

constexpr std::string_view kMinus = "\u2212";  // typographic minus
constexpr std::string_view kDash = "\u2014";   // an undefined value
constexpr std::string_view kTimes = "\u00d7";

std::string Esc(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (char c : s) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

// Fixed decimals, thousands separated, typographic minus; a dash when not finite.
std::string Fixed(double v, int decimals) {
  if (!std::isfinite(v)) return std::string(kDash);
  std::string s = fmt::format("{:.{}f}", std::fabs(v), decimals);
  const std::size_t dot = std::min(s.find('.'), s.size());
  std::string grouped;
  for (std::size_t i = 0; i < dot; ++i) {
    if (i > 0 && (dot - i) % 3 == 0) grouped += ',';
    grouped += s[i];
  }
  grouped += s.substr(dot);
  const bool zero = s.find_first_not_of("0.") == std::string::npos;
  return (v < 0 && !zero ? std::string(kMinus) : std::string()) + grouped;
}

std::string Pct(double v, int decimals = 2) {
  return std::isfinite(v) ? Fixed(v * 100, decimals) + "%" : std::string(kDash);
}

std::string SignedPct(double v, int decimals = 1) {
  if (!std::isfinite(v)) return std::string(kDash);
  const std::string s = Pct(v, decimals);
  return v > 0 && s.find_first_of("123456789") != std::string::npos ? "+" + s : s;
}

std::string Money(double v) {
  return Fixed(v, std::isfinite(v) && std::fabs(v) >= 1000 ? 0 : 2);
}

// Shortest round-trip form, as the CSV files and the CLI print parameters.
std::string ParamText(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : std::string(kDash);
}

std::string ParamsText(const strategy::ParamValues& params, std::string_view sep = " \u00b7 ") {
  std::string out;
  for (const auto& [name, value] : params) {
    if (!out.empty()) out += sep;
    out += name + "=" + ParamText(value);
  }
  return out.empty() ? "(no parameters)" : out;
}

// Axis labels of money: 1.25M, 950k, 12.5. UnitOf picks the unit of a magnitude; Scaled writes
// a value in a given unit (one unit for all the labels of an axis); Compact in its own.
double UnitOf(double v) {
  const double a = std::fabs(v);
  return a >= 1e9 ? 1e9 : a >= 1e6 ? 1e6 : a >= 1e3 ? 1e3 : 1;
}

std::string Scaled(double v, double unit, int decimals) {
  const std::string_view suffix = unit == 1e9 ? "B" : unit == 1e6 ? "M" : unit == 1e3 ? "k" : "";
  return Fixed(v / unit, decimals) + std::string(suffix);
}

std::string Compact(double v, int decimals) {
  return Scaled(v, UnitOf(v), decimals);
}

// Decimals that show every multiple of `step` exactly.
int DecimalsFor(double step) {
  for (int d = 0; d < 6; ++d) {
    const double scaled = step * std::pow(10.0, d);
    if (std::fabs(scaled - std::round(scaled)) < 1e-6 * std::max(1.0, scaled)) return d;
  }
  return 6;
}

// =============================================================================================
// Metrics: labels, units, groups (definitions in docs/metrics.md).

enum class Unit { kPct, kRatio, kCount, kMoney, kBars, kMultiple };

struct MetricInfo {
  std::string_view name, label;
  Unit unit;
  std::string_view group;
};

constexpr MetricInfo kMetricInfo[] = {
    {"total_return", "Total return", Unit::kPct, "Returns"},
    {"annual_return", "Annual return (CAGR)", Unit::kPct, "Returns"},
    {"benchmark_return", "Benchmark return", Unit::kPct, "Returns"},
    {"excess_return", "Excess return / yr", Unit::kPct, "Returns"},
    {"sharpe", "Sharpe", Unit::kRatio, "Risk-adjusted"},
    {"sortino", "Sortino", Unit::kRatio, "Risk-adjusted"},
    {"calmar", "Calmar", Unit::kRatio, "Risk-adjusted"},
    {"information_ratio", "Information ratio", Unit::kRatio, "Risk-adjusted"},
    {"volatility", "Volatility / yr", Unit::kPct, "Risk"},
    {"max_drawdown", "Max drawdown", Unit::kPct, "Risk"},
    {"max_drawdown_duration", "Longest drawdown (bars)", Unit::kCount, "Risk"},
    {"var_95", "VaR 95% (per bar)", Unit::kPct, "Risk"},
    {"cvar_95", "CVaR 95% (per bar)", Unit::kPct, "Risk"},
    {"skew", "Skew", Unit::kRatio, "Risk"},
    {"kurtosis", "Excess kurtosis", Unit::kRatio, "Risk"},
    {"tail_ratio", "Tail ratio", Unit::kRatio, "Risk"},
    {"trades", "Closed trades", Unit::kCount, "Trades"},
    {"win_rate", "Win rate", Unit::kPct, "Trades"},
    {"profit_factor", "Profit factor", Unit::kRatio, "Trades"},
    {"expectancy", "Expectancy / trade", Unit::kMoney, "Trades"},
    {"avg_trade_return", "Average trade return", Unit::kPct, "Trades"},
    {"avg_holding_bars", "Average holding (bars)", Unit::kBars, "Trades"},
    {"bars", "Bars", Unit::kCount, "Activity & costs"},
    {"exposure", "Time in market", Unit::kPct, "Activity & costs"},
    {"avg_gross_exposure", "Average gross exposure", Unit::kPct, "Activity & costs"},
    {"turnover", "Turnover / bar", Unit::kPct, "Activity & costs"},
    {"annual_turnover", "Turnover / yr", Unit::kMultiple, "Activity & costs"},
    {"fees", "Fees paid", Unit::kMoney, "Activity & costs"},
    {"fees_fraction", "Fees / initial capital", Unit::kPct, "Activity & costs"},
};
constexpr std::string_view kGroups[] = {"Returns", "Risk-adjusted",    "Risk",
                                        "Trades",  "Activity & costs", "Other"};

MetricInfo InfoOf(std::string_view name) {
  for (const MetricInfo& m : kMetricInfo) {
    if (m.name == name) return m;
  }
  return {name, name, Unit::kRatio, "Other"};
}

std::string FormatMetric(std::string_view name, double v, bool compact = false) {
  switch (InfoOf(name).unit) {
    case Unit::kPct:
      return Pct(v, compact ? 1 : 2);
    case Unit::kRatio:
      return Fixed(v, 2);
    case Unit::kCount:
      return Fixed(v, 0);
    case Unit::kMoney:
      return Money(v);
    case Unit::kBars:
      return Fixed(v, 1);
    case Unit::kMultiple:
      return std::isfinite(v) ? Fixed(v, compact ? 1 : 2) + std::string(kTimes)
                              : std::string(kDash);
  }
  return Fixed(v, 4);
}

// Colour class of a value where the sign means good or bad.
std::string_view Tone(std::string_view name, double v) {
  static const std::set<std::string_view> kSigned = {"total_return",     "annual_return",
                                                     "excess_return",    "benchmark_return",
                                                     "avg_trade_return", "expectancy"};
  if (!std::isfinite(v)) return "na";
  if (!kSigned.contains(name)) return "";
  return v > 0 ? "pos" : v < 0 ? "neg" : "";
}

const MetricField* FindField(std::string_view name) {
  for (const MetricField& f : engines::MetricFields()) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

double Value(const Metrics& m, std::string_view name) {
  const MetricField* f = FindField(name);
  return f == nullptr ? kNaN : engines::MetricValue(m, *f);
}

// =============================================================================================
// Curves: the series the charts show, computed once per candidate.

struct CurveView {
  std::vector<Timestamp> time;
  std::vector<double> equity, drawdown, benchmark, returns;
  bool has_benchmark = false;
  double base = kNaN;  // equity before the first bar
  bool flat = true;    // never held a position and never moved
};

CurveView Analyze(const CandidateDetail& d, double initial_capital) {
  CurveView v;
  const std::size_t n = d.curve.size();
  v.time.resize(n);
  v.equity.resize(n);
  v.drawdown.resize(n, kNaN);
  v.benchmark.resize(n, kNaN);
  v.returns.resize(n, kNaN);
  v.base = initial_capital;
  if (!(std::isfinite(v.base) && v.base > 0)) {
    v.base = kNaN;
    for (const CurvePoint& p : d.curve) {
      if (std::isfinite(p.equity) && p.equity > 0) {
        v.base = p.equity;
        break;
      }
    }
  }
  double peak = v.base, prev = v.base, bench = v.base;
  for (std::size_t t = 0; t < n; ++t) {
    const CurvePoint& p = d.curve[t];
    v.time[t] = p.time;
    v.equity[t] = p.equity;
    if (std::isfinite(p.equity)) {
      if (!(peak >= p.equity)) peak = p.equity;  // also replaces a NaN peak
      if (peak > 0) v.drawdown[t] = p.equity / peak - 1;
      if (std::isfinite(prev) && prev != 0) v.returns[t] = p.equity / prev - 1;
      prev = p.equity;
    }
    if (std::isfinite(p.benchmark)) {
      v.has_benchmark = true;
      bench *= 1 + p.benchmark;
    }
    v.benchmark[t] = bench;
    if (p.exposure != 0 || (std::isfinite(p.equity) && p.equity != v.base)) v.flat = false;
  }
  return v;
}

// Rolling Sharpe over `window` bars, annualised; NaN until the window fills or when flat.
std::vector<double> RollingSharpe(const std::vector<double>& r, std::size_t window,
                                  double periods_per_year) {
  std::vector<double> out(r.size(), kNaN);
  double sum = 0, sq = 0;
  std::size_t bad = 0;  // non-finite returns inside the window
  for (std::size_t t = 0; t < r.size(); ++t) {
    auto add = [&](double x, double sign) {
      if (std::isfinite(x)) {
        sum += sign * x;
        sq += sign * x * x;
      } else {
        bad = sign > 0 ? bad + 1 : bad - 1;
      }
    };
    add(r[t], 1);
    if (t >= window) add(r[t - window], -1);
    if (t + 1 >= window && bad == 0) {
      const double w = static_cast<double>(window);
      const double mean = sum / w;
      const double var = (sq - w * mean * mean) / (w - 1);
      if (var > 1e-18 * std::max(1.0, mean * mean)) {
        out[t] = mean / std::sqrt(var) * std::sqrt(periods_per_year);
      }
    }
  }
  return out;
}

// =============================================================================================
// Axes.

double NiceStep(double raw) {
  if (!(raw > 0) || !std::isfinite(raw)) return 1;
  const double p = std::pow(10.0, std::floor(std::log10(raw)));
  const double f = raw / p;
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 2.5 ? 2.5 : f <= 5 ? 5 : 10) * p;
}

std::vector<double> LinearTicks(double lo, double hi, int target, double* step_out = nullptr) {
  const double step = NiceStep((hi - lo) / target);
  if (step_out != nullptr) *step_out = step;
  std::vector<double> ticks;
  const double k0 = std::ceil(lo / step - 1e-9), k1 = std::floor(hi / step + 1e-9);
  for (double k = k0; k <= k1 && ticks.size() < 50; ++k)
    ticks.push_back(k * step == 0 ? 0.0 : k * step);
  return ticks;
}

std::vector<double> LogTicks(double lo, double hi) {
  for (const std::vector<double>& mantissas : {std::vector<double>{1},
                                               {1, 2, 5},
                                               {1, 1.5, 2, 3, 5, 7},
                                               {1, 1.2, 1.5, 2, 2.5, 3, 4, 5, 6, 8}}) {
    std::vector<double> ticks;
    for (double e = std::floor(std::log10(lo)); e <= std::ceil(std::log10(hi)); ++e) {
      for (double m : mantissas) {
        const double v = m * std::pow(10.0, e);
        if (v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)) ticks.push_back(v);
      }
    }
    if (ticks.size() >= 4) return ticks;
  }
  return LinearTicks(lo, hi, 4);  // a narrow range: linear values on the log axis
}

// The bars where a new year, quarter, month, week, day, hour or minute starts: the coarsest unit
// that gives at least three ticks, thinned to at most twelve. A label names the year (or the
// day) only where it changes from the previous label.
std::vector<std::pair<std::size_t, std::string>> TimeTicks(const std::vector<Timestamp>& t) {
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::vector<std::pair<std::size_t, std::string>> ticks;
  if (t.size() < 2) return ticks;
  int unit = 0;
  std::vector<std::size_t> at;
  for (; unit < 7; ++unit) {
    auto key = [unit](Timestamp x) -> std::int64_t {
      const CivilDate c = ToCivil(x);
      switch (unit) {
        case 0:
          return c.year;
        case 1:
          return c.year * 4 + (c.month - 1) / 3;
        case 2:
          return c.year * 12 + c.month - 1;
        case 3:
          return (DayNumber(x) + 3) / 7;  // weeks from Monday
        case 4:
          return DayNumber(x);
        case 5:
          return x / kNanosPerHour;
        default:
          return x / kNanosPerMinute;
      }
    };
    at.clear();
    for (std::size_t i = 1; i < t.size(); ++i) {
      if (key(t[i]) != key(t[i - 1])) at.push_back(i);
    }
    if (at.size() >= 3 || unit == 6) break;
  }
  if (at.size() > 12) {
    const std::size_t every = (at.size() + 11) / 12;
    std::vector<std::size_t> thin;
    for (std::size_t k = 0; k < at.size(); k += every)
      thin.push_back(at[k]);
    at = std::move(thin);
  }
  for (std::size_t k = 0; k < at.size(); ++k) {
    const CivilDate c = ToCivil(t[at[k]]);
    const bool first = k == 0;
    const CivilDate p = first ? c : ToCivil(t[at[k - 1]]);
    std::string label;
    if (unit == 0) {
      label = std::to_string(c.year);
    } else if (unit <= 2) {
      label = first || c.year != p.year ? fmt::format("{} {}", kMonths[c.month - 1], c.year)
                                        : std::string(kMonths[c.month - 1]);
    } else if (unit <= 4) {
      label = fmt::format("{} {}", kMonths[c.month - 1], c.day);
    } else if (first || c != p) {
      label = fmt::format("{} {}", kMonths[c.month - 1], c.day);
    } else {
      const Timestamp in_day = t[at[k]] - FloorToDay(t[at[k]]);
      label = fmt::format("{:02d}:{:02d}", in_day / kNanosPerHour,
                          in_day % kNanosPerHour / kNanosPerMinute);
    }
    ticks.emplace_back(at[k], std::move(label));
  }
  return ticks;
}

// The points worth drawing: all of them, or per horizontal bucket the first, lowest, highest and
// last, which keeps the shape of a long curve in a short path.
std::vector<std::size_t> DrawIndices(const std::vector<double>& y, std::size_t buckets) {
  std::vector<std::size_t> out;
  const std::size_t n = y.size();
  if (n <= 4 * buckets) {
    for (std::size_t i = 0; i < n; ++i)
      out.push_back(i);
    return out;
  }
  for (std::size_t b = 0; b < buckets; ++b) {
    const std::size_t i0 = b * n / buckets, i1 = (b + 1) * n / buckets;
    std::size_t lo = i0, hi = i0;
    for (std::size_t i = i0; i < i1; ++i) {
      if (std::isfinite(y[i]) && (!std::isfinite(y[lo]) || y[i] < y[lo])) lo = i;
      if (std::isfinite(y[i]) && (!std::isfinite(y[hi]) || y[i] > y[hi])) hi = i;
    }
    for (std::size_t i : {i0, std::min(lo, hi), std::max(lo, hi), i1 - 1}) {
      if (out.empty() || out.back() != i) out.push_back(i);
    }
  }
  return out;
}

std::string Num(double v) {
  return fmt::format("{:.1f}", v);
}

// =============================================================================================
// Time-series charts (SVG).

enum class YFormat { kMoney, kPct, kRatio };

struct Line {
  const std::vector<double>* y = nullptr;
  std::string_view color = {};
  double width = 1.75;
  bool dashed = false;
  bool area = false;  // filled towards the baseline with `color` at low opacity
};

struct TimeChart {
  std::string id = {};
  const std::vector<Timestamp>* time = nullptr;
  std::vector<Line> lines = {};
  double height = 260;
  YFormat format = YFormat::kMoney;
  bool log = false;
  bool include_zero = false;
  std::optional<double> baseline = {};  // a darker horizontal line, and where areas fill to
  // Dashed reference lines, labelled at the left (where a rolling series has no value yet).
  std::vector<std::pair<double, std::string>> refs = {};
  std::optional<std::size_t> marker = {};  // annotate this point of the first line
  std::string marker_label = {};
  std::string tip = {};  // JSON for the tooltip script
};

constexpr double kChartWidth = 960;

std::string Note(std::string_view text) {
  return fmt::format("<div class=\"note\">{}</div>", Esc(text));
}

std::string RenderTimeChart(const TimeChart& c) {
  const std::vector<Timestamp>& t = *c.time;
  const std::size_t n = t.size();
  double lo = INFINITY, hi = -INFINITY;
  for (const Line& l : c.lines) {
    for (double v : *l.y) {
      if (!std::isfinite(v) || (c.log && v <= 0)) continue;
      lo = std::min(lo, v);
      hi = std::max(hi, v);
    }
  }
  if (n < 2 || !(lo <= hi)) return Note("Not enough bars to draw this chart.");
  if (c.include_zero) {
    lo = std::min(lo, 0.0);
    hi = std::max(hi, 0.0);
  }
  bool log = c.log && lo > 0 && hi / lo > 1.0001;
  if (hi - lo <= 1e-12 * std::max(1.0, std::fabs(hi))) {  // a flat series
    const double pad = c.format == YFormat::kMoney ? std::max(std::fabs(hi) * 0.01, 1.0) : 0.01;
    lo -= (c.include_zero && lo == 0) ? 0 : pad;
    hi += (c.include_zero && hi == 0) ? 0 : pad;
    log = false;
  }
  // Pad 4% of the range (a factor on a log axis) on the sides that are not pinned at zero.
  if (log) {
    const double f = std::pow(hi / lo, 0.04);
    lo /= f;
    hi *= f;
  } else {
    const double pad = (hi - lo) * 0.04;
    if (!(c.include_zero && lo == 0)) lo -= pad;
    if (!(c.include_zero && hi == 0)) hi += pad;
  }
  const double left = 66, right = kChartWidth - 14, top = 10, bottom = c.height - 26;
  auto X = [&](std::size_t i) { return left + (right - left) * static_cast<double>(i) / (n - 1); };
  auto Y = [&](double v) {
    const double f = log ? std::log(v / lo) / std::log(hi / lo) : (v - lo) / (hi - lo);
    return bottom - (bottom - top) * f;
  };

  std::string s = fmt::format(
      "<div class=\"chartwrap\"><svg class=\"chart\" id=\"{}\" viewBox=\"0 0 {} {}\" role=\"img\" "
      "preserveAspectRatio=\"xMidYMid meet\"{}>",
      Esc(c.id), kChartWidth, c.height,
      c.tip.empty() ? std::string() : fmt::format(" data-tip=\"{}\"", Esc(c.tip)));
  // Horizontal grid and y labels.
  double step = 0;
  const std::vector<double> yt = log ? LogTicks(lo, hi) : LinearTicks(lo, hi, 5, &step);
  const int dec = DecimalsFor(step > 0 ? step : 1);
  double ymax = 0;
  for (double v : yt)
    ymax = std::max(ymax, std::fabs(v));
  for (double v : yt) {
    std::string label;
    switch (c.format) {
      case YFormat::kMoney:
        label = log ? Compact(v, std::min(2, DecimalsFor(v / UnitOf(v))))
                    : Scaled(v, UnitOf(ymax), std::min(3, DecimalsFor(step / UnitOf(ymax))));
        break;
      case YFormat::kPct:
        label = Pct(v, std::max(0, DecimalsFor(step * 100)));
        break;
      case YFormat::kRatio:
        label = Fixed(v, dec);
        break;
    }
    s += fmt::format(
        "<line class=\"grid\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>"
        "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
        Num(left), Num(right), Num(Y(v)), Num(Y(v)), Num(left - 8), Num(Y(v) + 4), Esc(label));
  }
  // Vertical grid at period starts, and x labels.
  for (const auto& [i, label] : TimeTicks(t)) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
        "<text x=\"{0}\" y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        Num(X(i)), Num(top), Num(bottom), Num(bottom + 17), Esc(label));
  }
  const double base_y = c.baseline ? Y(std::clamp(*c.baseline, lo, hi)) : bottom;
  // The baseline under the series, so a flat stretch shows in the series' colour.
  if (c.baseline && *c.baseline >= lo && *c.baseline <= hi) {
    s += fmt::format("<line class=\"zero\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", Num(left),
                     Num(right), Num(base_y), Num(base_y));
  }
  for (const Line& l : c.lines) {
    const std::vector<double>& y = *l.y;
    const std::vector<std::size_t> idx = DrawIndices(y, 600);
    std::string d;
    bool pen = false;
    std::size_t first = 0, last = 0, segments = 0;
    for (std::size_t i : idx) {
      const double v = y[i];
      if (!std::isfinite(v) || (log && v <= 0)) {
        pen = false;
        continue;
      }
      if (!pen && ++segments == 1) first = i;
      d += fmt::format("{}{} {}", pen ? "L" : "M", Num(X(i)), Num(Y(v)));
      pen = true;
      last = i;
    }
    if (d.empty()) continue;
    if (l.area && segments == 1) {
      s += fmt::format(
          "<path d=\"{}L{} {}L{} {}Z\" fill=\"{}\" fill-opacity=\"0.12\" stroke=\"none\"/>", d,
          Num(X(last)), Num(base_y), Num(X(first)), Num(base_y), l.color);
    }
    s += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" "
        "stroke-linejoin=\"round\"{}/>",
        d, l.color, l.width, l.dashed ? " stroke-dasharray=\"5 4\"" : "");
  }
  for (const auto& [v, label] : c.refs) {
    if (!(v >= lo && v <= hi)) continue;
    s += fmt::format(
        "<line class=\"ref\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>"
        "<text class=\"reflab\" x=\"{}\" y=\"{}\">{}</text>",
        Num(left), Num(right), Num(Y(v)), Num(Y(v)), Num(left + 6), Num(Y(v) - 5), Esc(label));
  }
  if (c.marker && !c.lines.empty()) {
    const double v = (*c.lines[0].y)[*c.marker];
    if (std::isfinite(v)) {
      const double x = X(*c.marker), y = Y(v);
      const bool flip = x > (left + right) / 2;
      s += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\" stroke=\"#fff\" stroke-width=\"1.5\"/>"
          "<text class=\"mark\" x=\"{}\" y=\"{}\" text-anchor=\"{}\">{}</text>",
          Num(x), Num(y), c.lines[0].color, Num(flip ? x - 8 : x + 8),
          Num(std::min(y + 4, bottom - 4)), flip ? "end" : "start", Esc(c.marker_label));
    }
  }
  s += fmt::format("<line class=\"axis\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>", Num(left),
                   Num(right), Num(bottom), Num(bottom));
  if (!c.tip.empty()) {
    s += fmt::format("<line class=\"cursor\" x1=\"0\" x2=\"0\" y1=\"{}\" y2=\"{}\"/>", Num(top),
                     Num(bottom));
  }
  return s + "</svg></div>";
}

// Tooltip data shared by a candidate's time charts: at most 400 evenly spaced bars.
std::string TipJson(const CurveView& v, bool daily) {
  const std::size_t n = v.time.size();
  const std::size_t m = std::min<std::size_t>(n, 400);
  nlohmann::json idx = nlohmann::json::array(), labels = nlohmann::json::array();
  for (std::size_t k = 0; k < m; ++k) {
    const std::size_t i = m == 1 ? 0 : (k * (n - 1) + (m - 1) / 2) / (m - 1);
    std::string l = FormatTimestamp(v.time[i], daily);
    l += "\nEquity  " + Money(v.equity[i]);
    if (std::isfinite(v.base) && std::isfinite(v.equity[i])) {
      l += "  (" + SignedPct(v.equity[i] / v.base - 1) + ")";
    }
    if (v.has_benchmark) l += "\nBenchmark  " + SignedPct(v.benchmark[i] / v.base - 1);
    l += "\nDrawdown  " + Pct(v.drawdown[i], 1);
    idx.push_back(i);
    labels.push_back(l);
  }
  return nlohmann::json{
      {"x0", 66}, {"x1", kChartWidth - 14}, {"w", kChartWidth}, {"n", n}, {"i", idx}, {"l", labels}}
      .dump();
}

// =============================================================================================
// Heat colours: green for good, red for bad, white for nothing.

std::string HeatStyle(double strength, bool good) {
  // strength in [0, 1]; blended from white towards the tone.
  const double k = std::clamp(strength, 0.0, 1.0) * 0.88;
  const int base[3] = {good ? 22 : 220, good ? 163 : 38, good ? 74 : 38};
  int rgb[3];
  for (int i = 0; i < 3; ++i)
    rgb[i] = static_cast<int>(std::lround(255 + (base[i] - 255) * k));
  return fmt::format("background:#{:02x}{:02x}{:02x};color:{}", rgb[0], rgb[1], rgb[2],
                     k > 0.5 ? "#fff" : "#1f2937");
}

// Colours for a set of values where higher is better: diverging around zero when they have both
// signs, else from the worst (pale) to the best (strong).
class HeatScale {
 public:
  explicit HeatScale(const std::vector<double>& values) {
    for (double v : values) {
      if (!std::isfinite(v)) continue;
      lo_ = std::min(lo_, v);
      hi_ = std::max(hi_, v);
    }
  }
  std::string Style(double v) const {
    if (!std::isfinite(v) || !(lo_ <= hi_)) return "";
    if (lo_ < 0 && hi_ > 0) {
      const double cap = std::max(-lo_, hi_);
      return HeatStyle(std::sqrt(std::fabs(v) / cap), v >= 0);
    }
    const double span = hi_ - lo_;
    if (span <= 0) return HeatStyle(0.35, hi_ >= 0);
    return hi_ > 0 ? HeatStyle(0.1 + 0.9 * (v - lo_) / span, true)
                   : HeatStyle(0.1 + 0.9 * (hi_ - v) / span, false);
  }

 private:
  double lo_ = INFINITY, hi_ = -INFINITY;
};

// =============================================================================================
// Sections.

struct Context {
  const SweepOutput& out;
  const ReportOptions& options;
  std::string objective = {};                    // a metric name
  std::vector<std::size_t> ranking = {};         // best first
  std::map<std::size_t, std::size_t> rank = {};  // combination index -> rank (1 = best)
  std::map<std::size_t, const CandidateDetail*> details = {};
  std::vector<std::string> hashes = {};
  const ReportExtras* extras = nullptr;
};

std::string KpiTile(std::string_view label, const std::string& value, std::string_view tone,
                    const std::string& sub = {}) {
  return fmt::format(
      "<div class=\"kpi\"><div class=\"l\">{}</div><div class=\"v {}\">{}</div>{}</div>",
      Esc(label), tone, Esc(value),
      sub.empty() ? std::string() : fmt::format("<div class=\"s\">{}</div>", Esc(sub)));
}

std::string Kpis(const Context& cx, std::size_t best) {
  const Metrics& m = cx.out.results[best].metrics;
  std::string s = "<div class=\"kpis\">";
  std::string bench;
  if (std::isfinite(m.benchmark_return)) bench = "bench " + SignedPct(m.benchmark_return);
  s += KpiTile("Total return", SignedPct(m.total_return), Tone("total_return", m.total_return),
               bench);
  s += KpiTile("CAGR", SignedPct(m.annual_return), Tone("annual_return", m.annual_return),
               "annual return");
  s += KpiTile("Sharpe", Fixed(m.sharpe, 2), "", "Sortino " + Fixed(m.sortino, 2));
  s += KpiTile("Max drawdown", Pct(m.max_drawdown, 1), std::isfinite(m.max_drawdown) ? "" : "na",
               m.max_drawdown_duration > 0
                   ? "longest " + Fixed(static_cast<double>(m.max_drawdown_duration), 0) + " bars"
                   : std::string());
  s += KpiTile("Calmar", Fixed(m.calmar, 2), "", "");
  s += KpiTile("Volatility", Pct(m.volatility, 1), "", "annualised");
  s += KpiTile("Trades", Fixed(static_cast<double>(m.trades), 0), "",
               std::isfinite(m.win_rate) ? "win rate " + Pct(m.win_rate, 1) : std::string());
  s += KpiTile(
      "Fees", Money(m.fees), "",
      std::isfinite(m.fees_fraction) ? Pct(m.fees_fraction, 2) + " of capital" : std::string());
  return s + "</div>";
}

std::string Header(const Context& cx) {
  const SweepOutput& o = cx.out;
  const bool sweep = o.kind == "sweep";
  std::string s = "<header class=\"head\">";
  s += fmt::format("<div class=\"eyebrow\">Qraft \u00b7 {} report</div>",
                   sweep ? "sweep" : "backtest");
  s += fmt::format("<h1>{}</h1>", Esc(o.name.empty() ? "Unnamed strategy" : o.name));
  if (o.strategy.is_object() && o.strategy.contains("description") &&
      o.strategy["description"].is_string() &&
      !o.strategy["description"].get<std::string>().empty()) {
    s += fmt::format("<p class=\"desc\">{}</p>", Esc(o.strategy["description"].get<std::string>()));
  }
  auto chip = [](std::string_view k, const std::string& v, std::string_view title = {}) {
    return fmt::format("<span class=\"chip\"{}>{} <b>{}</b></span>",
                       title.empty() ? std::string() : fmt::format(" title=\"{}\"", Esc(title)),
                       Esc(k), Esc(v));
  };
  auto short_id = [](const std::string& id) {
    return id.size() > 12 ? id.substr(0, 12) : (id.empty() ? std::string(kDash) : id);
  };
  s += "<div class=\"chips\">";
  s += chip("combinations", Fixed(static_cast<double>(o.results.size()), 0));
  s += chip("objective", std::string(InfoOf(cx.objective).label));
  s += chip("snapshot", short_id(o.snapshot_id), o.snapshot_id);
  s += chip("dsl_hash", short_id(o.dsl_hash), o.dsl_hash);
  s += chip("code", o.code_version.empty() ? std::string(kDash) : o.code_version);
  s += chip("capital", Money(o.initial_capital));
  s += chip("bars/yr", Fixed(o.periods_per_year,
                             o.periods_per_year == std::round(o.periods_per_year) ? 0 : 2));
  s += "</div></header>";
  return s;
}

// The columns of the top-candidates table.
std::vector<std::string> TopColumns(const std::string& objective) {
  std::vector<std::string> cols = {"total_return", "annual_return", "sharpe",          "sortino",
                                   "max_drawdown", "calmar",        "annual_turnover", "trades",
                                   "win_rate",     "fees"};
  if (std::find(cols.begin(), cols.end(), objective) == cols.end()) cols.push_back(objective);
  return cols;
}

std::string ShortLabel(std::string_view metric) {
  static const std::map<std::string_view, std::string_view> kShort = {
      {"total_return", "Return"},
      {"annual_return", "CAGR"},
      {"sharpe", "Sharpe"},
      {"sortino", "Sortino"},
      {"max_drawdown", "Max DD"},
      {"calmar", "Calmar"},
      {"annual_turnover", "Turnover/yr"},
      {"trades", "Trades"},
      {"win_rate", "Win rate"},
      {"fees", "Fees"}};
  auto it = kShort.find(metric);
  return std::string(it != kShort.end() ? it->second : InfoOf(metric).label);
}

std::string NumAttr(double v) {
  return std::isfinite(v) ? fmt::format("{}", v) : std::string();
}

std::string TopTable(const Context& cx) {
  const SweepOutput& o = cx.out;
  std::string s = "<section id=\"top\"><h2>Top candidates</h2><div class=\"card\">";
  if (o.results.empty()) return s + Note("This run holds no combinations.") + "</div></section>";
  const std::vector<std::string> cols = TopColumns(cx.objective);
  const bool split_params = !o.param_names.empty() && o.param_names.size() <= 4;
  s += "<div class=\"tablewrap\"><table class=\"data sortable\"><thead><tr><th>#</th>";
  if (split_params) {
    for (const std::string& p : o.param_names)
      s += fmt::format("<th class=\"param\">{}</th>", Esc(p));
  } else {
    s += "<th class=\"param\">Parameters</th>";
  }
  for (const std::string& c : cols) {
    s += fmt::format("<th class=\"{}\" title=\"{}\">{}</th>", c == cx.objective ? "obj" : "",
                     Esc(InfoOf(c).label), Esc(ShortLabel(c)));
  }
  s += "</tr></thead><tbody>";
  const std::size_t rows = std::min(cx.ranking.size(), cx.options.top_rows);
  for (std::size_t k = 0; k < rows; ++k) {
    const std::size_t i = cx.ranking[k];
    const CombinationResult& r = o.results[i];
    s += fmt::format("<tr class=\"{}\">", k == 0 ? "best" : "");
    const std::string rank = std::to_string(k + 1);
    s += cx.details.contains(i) ? fmt::format("<td data-v=\"{}\"><a href=\"#c-{}\">{}</a></td>",
                                              k + 1, cx.hashes[i], rank)
                                : fmt::format("<td data-v=\"{}\">{}</td>", k + 1, rank);
    if (split_params) {
      for (const std::string& p : o.param_names) {
        auto it = r.params.find(p);
        const double v = it == r.params.end() ? kNaN : it->second;
        s += fmt::format("<td class=\"param\" data-v=\"{}\">{}</td>", NumAttr(v), ParamText(v));
      }
    } else {
      s += fmt::format("<td class=\"param\">{}</td>", Esc(ParamsText(r.params)));
    }
    for (const std::string& c : cols) {
      const double v = Value(r.metrics, c);
      s += fmt::format("<td class=\"{}\" data-v=\"{}\">{}</td>", Tone(c, v), NumAttr(v),
                       FormatMetric(c, v));
    }
    s += "</tr>";
  }
  s += "</tbody></table></div>";
  if (cx.ranking.size() > rows) {
    s += fmt::format(
        "<p class=\"foot\">The best {} of {} combinations by {}; every combination is in "
        "metrics.csv and metrics.parquet.</p>",
        rows, o.results.size(), Esc(InfoOf(cx.objective).label));
  }
  return s + "</div></section>";
}

// Monthly returns: year x month, each cell the month's return from the previous month's last
// equity (the first from the starting capital), and the year's compounded total.
std::string MonthlyTable(const CurveView& v) {
  std::map<int, std::map<int, double>> last;  // year -> month -> last equity of the month
  for (std::size_t t = 0; t < v.time.size(); ++t) {
    if (!std::isfinite(v.equity[t])) continue;
    const CivilDate c = ToCivil(v.time[t]);
    last[c.year][c.month] = v.equity[t];
  }
  if (last.empty() || !std::isfinite(v.base)) return Note("No monthly returns to show.");
  std::map<int, std::map<int, double>> ret;
  std::map<int, double> year_ret;
  std::vector<double> all_months, all_years;
  double prev = v.base;
  for (const auto& [year, months] : last) {
    const double year_start = prev;
    for (const auto& [month, eq] : months) {
      const double r = prev != 0 ? eq / prev - 1 : kNaN;
      ret[year][month] = r;
      all_months.push_back(r);
      prev = eq;
    }
    year_ret[year] = year_start != 0 ? prev / year_start - 1 : kNaN;
    all_years.push_back(year_ret[year]);
  }
  const HeatScale scale(all_months);
  const HeatScale year_scale(all_years);
  static constexpr std::string_view kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                                 "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  std::string s = "<div class=\"tablewrap\"><table class=\"heat monthly\"><thead><tr><th></th>";
  for (std::string_view m : kMonths)
    s += fmt::format("<th>{}</th>", m);
  s += "<th class=\"yr\">Year</th></tr></thead><tbody>";
  for (const auto& [year, months] : ret) {
    s += fmt::format("<tr><th>{}</th>", year);
    for (int m = 1; m <= 12; ++m) {
      auto it = months.find(m);
      if (it == months.end()) {
        s += "<td class=\"void\"></td>";
        continue;
      }
      s += fmt::format("<td style=\"{}\" title=\"{} {}: {}\">{}</td>", scale.Style(it->second),
                       kMonths[m - 1], year, SignedPct(it->second, 2), Fixed(it->second * 100, 1));
    }
    const double y = year_ret[year];
    s += fmt::format("<td class=\"yr\" style=\"{}\">{}</td></tr>", year_scale.Style(y),
                     Fixed(y * 100, 1));
  }
  return s + "</tbody></table></div>";
}

std::string TradesBlock(const Context& cx, const CandidateDetail& d) {
  const bool daily = cx.out.daily;
  if (d.trades.empty()) {
    const std::int64_t counted = cx.out.results[d.index].metrics.trades;
    return Note(counted > 0 ? fmt::format("No trade list was kept for this candidate; the metrics "
                                          "count {} closed trades.",
                                          Fixed(static_cast<double>(counted), 0))
                            : std::string("No trade list was kept for this candidate, and its "
                                          "metrics count no closed trade."));
  }
  std::size_t open = 0, wins = 0, closed = 0;
  double best = -INFINITY, worst = INFINITY, pnl = 0, hold = 0;
  std::map<std::string, std::size_t> reasons;
  for (const TradeRow& t : d.trades) {
    if (t.exit_time == kNoTimestamp) {
      ++open;
      continue;
    }
    ++closed;
    wins += t.pnl > 0;
    if (std::isfinite(t.ret)) {
      best = std::max(best, t.ret);
      worst = std::min(worst, t.ret);
    }
    if (std::isfinite(t.pnl)) pnl += t.pnl;
    hold += static_cast<double>(t.holding_bars);
    ++reasons[t.exit_reason.empty() ? "unknown" : t.exit_reason];
  }
  auto stat = [](std::string_view k, const std::string& v, std::string_view tone = {}) {
    return fmt::format("<div><span>{}</span><b class=\"{}\">{}</b></div>", Esc(k), tone, Esc(v));
  };
  std::string s = "<div class=\"stats\">";
  s += stat("Round trips", Fixed(static_cast<double>(closed), 0));
  s += stat("Still open", Fixed(static_cast<double>(open), 0));
  s += stat("Win rate", closed ? Pct(static_cast<double>(wins) / closed, 1) : std::string(kDash));
  s += stat("Net P&L (closed)", Money(closed ? pnl : kNaN), pnl > 0 ? "pos" : pnl < 0 ? "neg" : "");
  s += stat("Best trade", std::isfinite(best) ? SignedPct(best) : std::string(kDash), "pos");
  s += stat("Worst trade", std::isfinite(worst) ? SignedPct(worst) : std::string(kDash), "neg");
  s += stat("Average holding", closed ? Fixed(hold / closed, 1) + " bars" : std::string(kDash));
  std::string why;
  for (const auto& [reason, count] : reasons)
    why += (why.empty() ? "" : ", ") + reason + " " + std::to_string(count);
  s += fmt::format("<div class=\"wide\"><span>Exits</span><b>{}</b></div>",
                   Esc(why.empty() ? std::string(kDash) : why));
  s += "</div>";

  const std::size_t shown = std::min(d.trades.size(), cx.options.trades);
  s += "<div class=\"tablewrap\"><table class=\"data trades sortable\"><thead><tr><th>#</th>"
       "<th class=\"l\">Symbol</th><th class=\"l\">Side</th><th class=\"l\">Entry</th>"
       "<th class=\"l\">Exit</th><th>Entry px</th><th>Exit px</th><th>Size</th><th>P&amp;L</th>"
       "<th>Return</th><th>Bars</th><th class=\"l\">Reason</th></tr></thead><tbody>";
  for (std::size_t k = 0; k < shown; ++k) {
    const TradeRow& t = d.trades[k];
    const bool is_open = t.exit_time == kNoTimestamp;
    s += fmt::format(
        "<tr><td data-v=\"{}\">{}</td><td class=\"l\">{}</td><td class=\"l\">{}</td>"
        "<td class=\"l\">{}</td><td class=\"l\">{}</td><td data-v=\"{}\">{}</td>"
        "<td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td class=\"{}\" data-v=\"{}\">{}</td>"
        "<td class=\"{}\" data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td class=\"l\">{}</td>"
        "</tr>",
        k + 1, k + 1, Esc(t.symbol), t.is_short ? "short" : "long",
        Esc(FormatTimestamp(t.entry_time, daily)),
        is_open ? "<span class=\"na\">open</span>" : Esc(FormatTimestamp(t.exit_time, daily)),
        NumAttr(t.entry_price), Fixed(t.entry_price, 2), NumAttr(t.exit_price),
        Fixed(t.exit_price, 2), NumAttr(t.size),
        Fixed(t.size, t.size == std::round(t.size) ? 0 : 2), Tone("expectancy", t.pnl),
        NumAttr(t.pnl), Money(t.pnl), Tone("avg_trade_return", t.ret), NumAttr(t.ret),
        SignedPct(t.ret, 2), t.holding_bars, Fixed(static_cast<double>(t.holding_bars), 0),
        Esc(t.exit_reason));
  }
  s += "</tbody></table></div>";
  if (d.trades.size() > shown) {
    s += fmt::format(
        "<p class=\"foot\">The first {} of {} trades; all are in candidates/{}/trades.csv.</p>",
        shown, Fixed(static_cast<double>(d.trades.size()), 0), cx.hashes[d.index]);
  }
  return s;
}

std::string MetricsGrid(const Metrics& m) {
  std::map<std::string_view, std::vector<std::pair<std::string_view, double>>> groups;
  for (const MetricField& f : engines::MetricFields())
    groups[InfoOf(f.name).group].emplace_back(f.name, engines::MetricValue(m, f));
  std::string s = "<div class=\"mgrid\">";
  for (std::string_view g : kGroups) {
    auto it = groups.find(g);
    if (it == groups.end()) continue;
    s += fmt::format("<div><h4>{}</h4><table class=\"kv\">", Esc(g));
    for (const auto& [name, v] : it->second) {
      s += fmt::format("<tr><th title=\"{}\">{}</th><td class=\"{}\">{}</td></tr>", Esc(name),
                       Esc(InfoOf(name).label), Tone(name, v), FormatMetric(name, v));
    }
    s += "</table></div>";
  }
  return s + "</div>";
}

// =============================================================================================
// A kept candidate's order and fill logs (the precise engine; docs/precise.md).

// Prices with two decimals, or six below one (crypto quotes, small contracts).
std::string PriceText(double v) {
  return Fixed(v, std::isfinite(v) && std::fabs(v) < 1 && v != 0 ? 6 : 2);
}

// Quantities as exact as they are (whole numbers without decimals).
std::string QuantityText(double v) {
  return Fixed(v, std::isfinite(v) ? DecimalsFor(std::fabs(v)) : 0);
}

std::string CountsText(const std::vector<std::pair<std::string, std::size_t>>& counts) {
  std::string out;
  for (const auto& [name, n] : counts)
    out += (out.empty() ? "" : ", ") + name + " " + Fixed(static_cast<double>(n), 0);
  return out.empty() ? std::string(kDash) : out;
}

// Counts by name: the names of `first` in that order, then the others alphabetically.
std::vector<std::pair<std::string, std::size_t>> Tally(
    const std::map<std::string, std::size_t>& counts,
    std::initializer_list<std::string_view> first) {
  std::vector<std::pair<std::string, std::size_t>> out;
  for (std::string_view name : first) {
    auto it = counts.find(std::string(name));
    if (it != counts.end()) out.emplace_back(it->first, it->second);
  }
  for (const auto& [name, n] : counts) {
    if (std::find(first.begin(), first.end(), name) == first.end()) out.emplace_back(name, n);
  }
  return out;
}

std::string Stat(std::string_view k, const std::string& v, std::string_view tone = {},
                 bool wide = false) {
  return fmt::format("<div{}><span>{}</span><b class=\"{}\">{}</b></div>",
                     wide ? " class=\"wide\"" : "", Esc(k), tone, Esc(v));
}

std::string OrderStats(const std::vector<OrderLogRow>& orders) {
  std::map<std::string, std::size_t> status, type, reject;
  std::size_t partly = 0;
  for (const OrderLogRow& o : orders) {
    ++status[o.status];
    ++type[o.type];
    if (!o.reject.empty()) ++reject[o.reject];
    if (o.status != "filled" && o.filled > 0) ++partly;
  }
  std::string s = "<h4>Orders</h4><div class=\"stats\">";
  s += Stat("Orders", Fixed(static_cast<double>(orders.size()), 0));
  for (const auto& [name, n] :
       Tally(status, {"filled", "cancelled", "rejected", "working", "pending"})) {
    std::string label = name.empty() ? "(no status)" : name;
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
    s += Stat(label, Fixed(static_cast<double>(n), 0),
              name == "rejected" && n > 0 ? "neg" : std::string_view());
  }
  s += Stat("Partly filled", Fixed(static_cast<double>(partly), 0));
  s += Stat("By type", CountsText(Tally(type, {"market"})), {}, true);
  s += Stat("Reject reasons", reject.empty() ? std::string("none") : CountsText(Tally(reject, {})),
            reject.empty() ? std::string_view() : "neg", true);
  return s + "</div>";
}

// Cost totals of a fill log.
struct FillCosts {
  double commission = 0, stamp_duty = 0, transfer_fee = 0, exchange_fee = 0, slippage = 0;
  double traded = 0;  // sum of quantity x price
  double Total() const { return commission + stamp_duty + transfer_fee + exchange_fee + slippage; }
};

FillCosts SumCosts(const std::vector<FillLogRow>& fills) {
  FillCosts c;
  for (const FillLogRow& f : fills) {
    c.commission += f.commission;
    c.stamp_duty += f.stamp_duty;
    c.transfer_fee += f.transfer_fee;
    c.exchange_fee += f.exchange_fee;
    c.slippage += f.slippage;
    c.traded += std::fabs(f.quantity * f.price);
  }
  return c;
}

std::string FillStats(const std::vector<FillLogRow>& fills) {
  std::size_t buys = 0, makers = 0;
  double bought = 0, sold = 0;
  for (const FillLogRow& f : fills) {
    const double value = std::fabs(f.quantity * f.price);
    if (f.side == "buy") {
      ++buys;
      bought += value;
    } else {
      sold += value;
    }
    makers += f.liquidity == "maker";
  }
  const auto count = [](std::size_t n) { return Fixed(static_cast<double>(n), 0); };
  std::string s = "<h4>Fills</h4><div class=\"stats\">";
  s += Stat("Fills", count(fills.size()));
  s += Stat("Buys", count(buys));
  s += Stat("Sells", count(fills.size() - buys));
  s += Stat("Maker", count(makers));
  s += Stat("Taker", count(fills.size() - makers));
  s += Stat("Bought", Money(bought));
  s += Stat("Sold", Money(sold));
  return s + "</div>";
}

std::string CostTable(const FillCosts& c) {
  const double total = c.Total();
  const std::pair<std::string_view, double> rows[] = {{"Commission", c.commission},
                                                      {"Stamp duty", c.stamp_duty},
                                                      {"Transfer fee", c.transfer_fee},
                                                      {"Exchange fee", c.exchange_fee},
                                                      {"Slippage", c.slippage}};
  double largest = 0;
  for (const auto& [name, v] : rows)
    largest = std::max(largest, std::fabs(v));
  std::string s =
      "<div class=\"tablewrap\"><table class=\"data costs\"><thead><tr><th>Cost</th><th>Amount"
      "</th><th>Share</th><th>bps of traded</th><th class=\"l\"></th></tr></thead><tbody>";
  auto row = [&](std::string_view name, double v, bool bar) {
    const double share = total != 0 ? v / total : kNaN;
    const double bps = c.traded > 0 ? v / c.traded * 1e4 : kNaN;
    s += fmt::format(
        "<tr{}><td>{}</td><td data-v=\"{}\">{}</td><td>{}</td><td>{}</td><td class=\"l\">{}</td>"
        "</tr>",
        bar ? "" : " class=\"total\"", Esc(name), NumAttr(v), Money(v), Pct(share, 1),
        Fixed(bps, 2),
        bar && largest > 0 && v > 0
            ? fmt::format("<span class=\"sbar\" style=\"width:{}px\"></span>",
                          Num(std::max(1.0, 140 * v / largest)))
            : std::string());
  };
  for (const auto& [name, v] : rows)
    row(name, v, true);
  row("Total", total, false);
  s += "</tbody></table></div>";
  return s + fmt::format("<p class=\"foot\">Over {} traded (the fills' quantity \u00d7 price).</p>",
                         Money(c.traded));
}

std::string FillTable(const Context& cx, const CandidateDetail& d,
                      const std::vector<FillLogRow>& fills) {
  const std::size_t shown = std::min(fills.size(), cx.options.fills);
  std::string s =
      "<div class=\"tablewrap\"><table class=\"data fills sortable\"><thead><tr><th>#</th>"
      "<th>Order</th><th class=\"l\">Time</th><th class=\"l\">Symbol</th><th class=\"l\">Side"
      "</th><th class=\"l\">Liquidity</th><th>Quantity</th><th>Market px</th><th>Price</th>"
      "<th>Commission</th><th>Stamp duty</th><th>Transfer</th><th>Exchange</th><th>Slippage"
      "</th></tr></thead><tbody>";
  for (std::size_t k = 0; k < shown; ++k) {
    const FillLogRow& f = fills[k];
    s += fmt::format(
        "<tr><td data-v=\"{0}\">{0}</td><td data-v=\"{1}\">{1}</td><td class=\"l\">{2}</td>"
        "<td class=\"l\">{3}</td><td class=\"l\">{4}</td><td class=\"l\">{5}</td>",
        k + 1, f.order, Esc(f.time), Esc(f.symbol), Esc(f.side), Esc(f.liquidity));
    s += fmt::format("<td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td>",
                     NumAttr(f.quantity), QuantityText(f.quantity), NumAttr(f.market_price),
                     PriceText(f.market_price), NumAttr(f.price), PriceText(f.price));
    for (double v : {f.commission, f.stamp_duty, f.transfer_fee, f.exchange_fee, f.slippage})
      s += fmt::format("<td data-v=\"{}\">{}</td>", NumAttr(v), Money(v));
    s += "</tr>";
  }
  s += "</tbody></table></div>";
  if (fills.size() > shown) {
    s += fmt::format(
        "<p class=\"foot\">The first {} of {} fills; all are in candidates/{}/fills.csv.</p>",
        shown, Fixed(static_cast<double>(fills.size()), 0), cx.hashes[d.index]);
  }
  return s;
}

std::string OrderLogCards(const Context& cx, const CandidateDetail& d, const OrderLog& log) {
  const std::string& hash = cx.hashes[d.index];
  std::string files;
  if (log.orders) files += "orders.csv";
  if (log.fills) files += std::string(files.empty() ? "" : ", ") + "fills.csv";
  std::string s = fmt::format(
      "<div class=\"card\"><h3>Orders and fills<small>precise engine \u00b7 candidates/{}/{}"
      "</small></h3>",
      hash, files);
  s += log.orders ? OrderStats(*log.orders) : Note("No order log (orders.csv) for this candidate.");
  s += log.fills ? FillStats(*log.fills) : Note("No fill log (fills.csv) for this candidate.");
  s += "</div>";
  if (!log.fills) return s;
  s += fmt::format(
      "<div class=\"card\"><h3>Costs<small>sums over the {} fills</small></h3>{}</div>",
      Fixed(static_cast<double>(log.fills->size()), 0), CostTable(SumCosts(*log.fills)));
  s += fmt::format(
      "<div class=\"card\"><h3>Fills<small>{} recorded</small></h3>{}</div>",
      Fixed(static_cast<double>(log.fills->size()), 0),
      log.fills->empty() ? Note("The run filled no order.") : FillTable(cx, d, *log.fills));
  return s;
}

std::string CandidateSection(const Context& cx, const CandidateDetail& d, bool open) {
  const SweepOutput& o = cx.out;
  const CombinationResult& r = o.results[d.index];
  const Metrics& m = r.metrics;
  const std::string& hash = cx.hashes[d.index];
  const auto rank_it = cx.rank.find(d.index);
  std::string s =
      fmt::format("<details class=\"cand\" id=\"c-{}\"{}><summary>", hash, open ? " open" : "");
  s += rank_it != cx.rank.end() ? fmt::format("<span class=\"rank\">#{}</span>", rank_it->second)
                                : fmt::format("<span class=\"rank alt\">{}</span>", d.index);
  s += fmt::format("<span class=\"ptext\">{}</span>", Esc(ParamsText(r.params)));
  s += fmt::format(
      "<span class=\"sumstats\"><span>Return <b class=\"{}\">{}</b></span><span>Sharpe "
      "<b>{}</b></span><span>Max DD <b>{}</b></span><code>{}</code></span></summary>",
      Tone("total_return", m.total_return), SignedPct(m.total_return), Fixed(m.sharpe, 2),
      Pct(m.max_drawdown, 1), hash);
  s += "<div class=\"cbody\">";

  const CurveView v = Analyze(d, o.initial_capital);
  const std::string id = "c" + hash;
  if (v.time.size() < 2) {
    s += Note(v.time.empty() ? "This candidate's curve is empty."
                             : "This candidate's curve has a single bar: nothing to chart.");
  } else {
    if (v.flat) {
      s += Note("The equity is flat: this candidate never held a position.");
    }
    const std::string tip = TipJson(v, o.daily);
    // Equity.
    double lo = INFINITY, hi = -INFINITY;
    for (const auto* series : {&v.equity, &v.benchmark}) {
      if (series == &v.benchmark && !v.has_benchmark) continue;
      for (double x : *series) {
        if (std::isfinite(x)) lo = std::min(lo, x), hi = std::max(hi, x);
      }
    }
    const bool log = lo > 0 && hi / lo >= 3;
    TimeChart eq{.id = id + "-eq",
                 .time = &v.time,
                 .height = 300,
                 .format = YFormat::kMoney,
                 .log = log,
                 .tip = tip};
    eq.lines.push_back({.y = &v.equity, .color = "#2563eb", .width = 2, .area = !log});
    if (v.has_benchmark)
      eq.lines.push_back({.y = &v.benchmark, .color = "#94a3b8", .width = 1.5, .dashed = true});
    if (std::isfinite(v.base)) eq.baseline = v.base;
    s += fmt::format(
        "<div class=\"card chartcard\"><h3>Equity<small>{} scale \u00b7 start {} \u00b7 end "
        "{}</small></h3><div class=\"legend\"><span><i style=\"background:#2563eb\"></i>Strategy"
        "</span>{}</div>{}</div>",
        log ? "log" : "linear", Money(v.base), Money(r.final_value),
        v.has_benchmark ? "<span><i class=\"dash\"></i>Benchmark</span>" : "", RenderTimeChart(eq));
    // Drawdown.
    std::size_t worst = 0;
    for (std::size_t t = 0; t < v.drawdown.size(); ++t) {
      if (std::isfinite(v.drawdown[t]) &&
          !(std::isfinite(v.drawdown[worst]) && v.drawdown[worst] <= v.drawdown[t])) {
        worst = t;
      }
    }
    TimeChart dd{.id = id + "-dd",
                 .time = &v.time,
                 .height = 170,
                 .format = YFormat::kPct,
                 .include_zero = true,
                 .baseline = 0.0,
                 .tip = tip};
    dd.lines.push_back({.y = &v.drawdown, .color = "#dc2626", .width = 1.25, .area = true});
    if (std::isfinite(v.drawdown[worst]) && v.drawdown[worst] < 0) {
      dd.marker = worst;
      dd.marker_label =
          Pct(v.drawdown[worst], 1) + " on " + FormatTimestamp(v.time[worst], o.daily);
    }
    s += fmt::format(
        "<div class=\"card chartcard\"><h3>Drawdown<small>from the running peak \u00b7 longest "
        "{} bars under water</small></h3>{}</div>",
        Fixed(static_cast<double>(m.max_drawdown_duration), 0), RenderTimeChart(dd));
    // Rolling Sharpe, when the run is long enough for a few windows.
    const std::size_t window =
        static_cast<std::size_t>(std::clamp(std::round(o.periods_per_year / 2), 20.0, 1e9));
    if (v.returns.size() >= window + window / 2) {
      const std::vector<double> rs = RollingSharpe(v.returns, window, o.periods_per_year);
      TimeChart rc{.id = id + "-rs",
                   .time = &v.time,
                   .height = 170,
                   .format = YFormat::kRatio,
                   .include_zero = true,
                   .baseline = 0.0,
                   .tip = tip};
      rc.lines.push_back({.y = &rs, .color = "#7c3aed", .width = 1.5});
      if (std::isfinite(m.sharpe))
        rc.refs.emplace_back(m.sharpe, "full period " + Fixed(m.sharpe, 2));
      s += fmt::format(
          "<div class=\"card chartcard\"><h3>Rolling Sharpe<small>{} bars, "
          "annualised</small></h3>{}</div>",
          window, RenderTimeChart(rc));
    }
  }
  // Monthly returns and the trade list.
  s += fmt::format(
      "<div class=\"card\"><h3>Monthly returns<small>% per month; the year column compounds "
      "them</small></h3>{}</div>",
      v.time.empty() ? Note("No bars.") : MonthlyTable(v));
  s +=
      fmt::format("<div class=\"card\"><h3>Trades<small>{}</small></h3>{}</div>",
                  Fixed(static_cast<double>(d.trades.size()), 0) + " recorded", TradesBlock(cx, d));
  if (auto log = cx.extras->logs.find(d.index); log != cx.extras->logs.end()) {
    s += OrderLogCards(cx, d, log->second);
  }
  s += fmt::format(
      "<div class=\"card\"><h3>All metrics<small>definitions in docs/metrics.md"
      "</small></h3>{}</div>",
      MetricsGrid(m));
  return s + "</div></details>";
}

std::string CandidatesSection(const Context& cx) {
  std::string s = "<section id=\"candidates\"><h2>Candidates</h2>";
  if (cx.details.empty()) {
    return s +
           Note(
               "No equity curves were kept in this result directory (curves are kept for the "
               "top candidates of a run).") +
           "</section>";
  }
  // Best first: ranked candidates in rank order, then the others by combination index.
  std::vector<std::size_t> order;
  for (std::size_t i : cx.ranking) {
    if (cx.details.contains(i)) order.push_back(i);
  }
  for (const auto& [i, d] : cx.details) {
    if (!cx.rank.contains(i)) order.push_back(i);
  }
  const std::size_t shown = std::min(order.size(), cx.options.candidates);
  if (order.size() > 1) {
    s += "<nav class=\"cnav\">";
    for (std::size_t k = 0; k < shown; ++k) {
      const std::size_t i = order[k];
      auto it = cx.rank.find(i);
      s += fmt::format("<a href=\"#c-{}\">{} {}</a>", cx.hashes[i],
                       it != cx.rank.end() ? "#" + std::to_string(it->second) : "",
                       Esc(ParamsText(cx.out.results[i].params, " ")));
    }
    s += "</nav>";
  }
  for (std::size_t k = 0; k < shown; ++k)
    s += CandidateSection(cx, *cx.details.at(order[k]), k == 0);
  if (order.size() > shown) {
    s += fmt::format("<p class=\"foot\">{} more kept candidates are in candidates/.</p>",
                     order.size() - shown);
  }
  return s + "</section>";
}

// Distinct values of a parameter, or ten equal bins when there are too many to show apart.
struct ParamAxis {
  std::string name;
  std::vector<double> edges;  // bins: [edges[k], edges[k+1]); distinct values: edges = values
  bool binned = false;
  std::vector<std::string> labels;
  std::optional<std::size_t> Cell(double v) const {
    if (!std::isfinite(v)) return std::nullopt;
    if (!binned) {
      auto it = std::lower_bound(edges.begin(), edges.end(), v);
      if (it == edges.end() || *it != v) return std::nullopt;
      return static_cast<std::size_t>(it - edges.begin());
    }
    const std::size_t bins = edges.size() - 1;
    const double f = (v - edges.front()) / (edges.back() - edges.front());
    return std::min(bins - 1,
                    static_cast<std::size_t>(std::max(0.0, f * static_cast<double>(bins))));
  }
};

ParamAxis MakeAxis(const SweepOutput& o, const std::string& name) {
  ParamAxis a;
  a.name = name;
  std::set<double> values;
  for (const CombinationResult& r : o.results) {
    auto it = r.params.find(name);
    if (it != r.params.end() && std::isfinite(it->second)) values.insert(it->second);
  }
  if (values.size() <= 24) {
    a.edges.assign(values.begin(), values.end());
    for (double v : a.edges)
      a.labels.push_back(ParamText(v));
    return a;
  }
  a.binned = true;
  const double lo = *values.begin(), hi = *values.rbegin();
  constexpr int kBins = 10;
  for (int k = 0; k <= kBins; ++k)
    a.edges.push_back(lo + (hi - lo) * k / kBins);
  // Two significant digits of the bin width.
  const int dec =
      static_cast<int>(std::clamp(1 - std::floor(std::log10((hi - lo) / kBins)), 0.0, 6.0));
  for (int k = 0; k < kBins; ++k)
    a.labels.push_back(Fixed(a.edges[k], dec) + "\u2013" + Fixed(a.edges[k + 1], dec));
  return a;
}

std::string ParamMap(const Context& cx, const ParamAxis& x, const ParamAxis* y) {
  const SweepOutput& o = cx.out;
  const std::size_t nx = x.labels.size(), ny = y ? y->labels.size() : 1;
  std::vector<double> cell(nx * ny, kNaN);
  std::vector<bool> any(nx * ny, false);
  for (const CombinationResult& r : o.results) {
    auto px = r.params.find(x.name);
    if (px == r.params.end()) continue;
    const std::optional<std::size_t> xi = x.Cell(px->second);
    std::optional<std::size_t> yi = std::size_t{0};
    if (y != nullptr) {
      auto py = r.params.find(y->name);
      yi = py == r.params.end() ? std::nullopt : y->Cell(py->second);
    }
    if (!xi || !yi) continue;
    const std::size_t k = *yi * nx + *xi;
    any[k] = true;
    const double v = Value(r.metrics, cx.objective);
    if (std::isfinite(v) && !(cell[k] >= v)) cell[k] = v;
  }
  const HeatScale scale(cell);
  std::size_t best = cell.size();
  for (std::size_t k = 0; k < cell.size(); ++k) {
    if (std::isfinite(cell[k]) && (best == cell.size() || cell[k] > cell[best])) best = k;
  }
  const bool dense = nx > 16;
  std::string s = fmt::format(
      "<div class=\"tablewrap\"><table class=\"heat pmap{}\"><thead><tr><th "
      "class=\"corner\">{}</th>",
      dense ? " dense" : "", y ? Esc(y->name) + " \\ " + Esc(x.name) : Esc(x.name));
  for (const std::string& l : x.labels)
    s += fmt::format("<th>{}</th>", Esc(l));
  s += "</tr></thead><tbody>";
  // Larger y values on top, as on a chart.
  for (std::size_t row = ny; row-- > 0;) {
    s += fmt::format("<tr><th>{}</th>", y ? Esc(y->labels[row]) : Esc(InfoOf(cx.objective).label));
    for (std::size_t col = 0; col < nx; ++col) {
      const std::size_t k = row * nx + col;
      if (!any[k]) {
        s += "<td class=\"void\" title=\"not run\"></td>";
        continue;
      }
      const std::string where =
          fmt::format("{}={}{}", x.name, x.labels[col],
                      y ? fmt::format(" \u00b7 {}={}", y->name, y->labels[row]) : std::string());
      s += fmt::format("<td class=\"{}\" style=\"{}\" title=\"{}: {} {}\">{}</td>",
                       k == best ? "bestcell" : "", scale.Style(cell[k]), Esc(where),
                       Esc(InfoOf(cx.objective).label), FormatMetric(cx.objective, cell[k]),
                       dense ? "" : FormatMetric(cx.objective, cell[k], true));
    }
    s += "</tr>";
  }
  return s + "</tbody></table></div>";
}

// Sharpe against max drawdown for every combination, Pareto front and top candidates marked.
std::string Scatter(const Context& cx) {
  const SweepOutput& o = cx.out;
  struct P {
    std::size_t i;
    double x, y;
  };
  std::vector<P> pts;
  for (std::size_t i = 0; i < o.results.size(); ++i) {
    const double x = o.results[i].metrics.max_drawdown, y = o.results[i].metrics.sharpe;
    if (std::isfinite(x) && std::isfinite(y)) pts.push_back({i, x, y});
  }
  if (pts.size() < 2)
    return Note("Fewer than two combinations have both a Sharpe ratio and a drawdown.");
  double x0 = INFINITY, x1 = -INFINITY, y0 = INFINITY, y1 = -INFINITY;
  for (const P& p : pts) {
    x0 = std::min(x0, p.x), x1 = std::max(x1, p.x), y0 = std::min(y0, p.y), y1 = std::max(y1, p.y);
  }
  auto pad = [](double& lo, double& hi, double min_span) {
    double span = hi - lo;
    if (span < min_span) {
      lo -= (min_span - span) / 2, hi += (min_span - span) / 2;
      span = min_span;
    }
    lo -= span * 0.06, hi += span * 0.06;
  };
  pad(x0, x1, 0.01);
  pad(y0, y1, 0.1);
  const double W = kChartWidth, H = 380, left = 66, right = W - 16, top = 12, bottom = H - 44;
  auto X = [&](double v) { return left + (right - left) * (v - x0) / (x1 - x0); };
  auto Y = [&](double v) { return bottom - (bottom - top) * (v - y0) / (y1 - y0); };
  std::string s = fmt::format(
      "<div class=\"chartwrap\"><svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\">", W, H);
  double xs = 0, ys = 0;
  for (double v : LinearTicks(x0, x1, 6, &xs)) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" "
        "y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        Num(X(v)), Num(top), Num(bottom), Num(bottom + 17), Pct(v, DecimalsFor(xs * 100)));
  }
  for (double v : LinearTicks(y0, y1, 5, &ys)) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text x=\"{3}\" "
        "y=\"{4}\" text-anchor=\"end\">{5}</text>",
        Num(left), Num(right), Num(Y(v)), Num(left - 8), Num(Y(v) + 4), Fixed(v, DecimalsFor(ys)));
  }
  if (y0 < 0 && y1 > 0) {
    s += fmt::format("<line class=\"zero\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>",
                     Num(left), Num(right), Num(Y(0)));
  }
  s += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<text class=\"axlab\" x=\"{3}\" y=\"{4}\" text-anchor=\"middle\">Max drawdown (less deep "
      "\u2192)</text><text class=\"axlab\" transform=\"translate(16 {5}) rotate(-90)\" "
      "text-anchor=\"middle\">Sharpe</text>",
      Num(left), Num(right), Num(bottom), Num((left + right) / 2), Num(H - 6),
      Num((top + bottom) / 2));
  const std::set<std::size_t> pareto(o.pareto.begin(), o.pareto.end());
  auto title = [&](const P& p) {
    return fmt::format("<title>{} \u00b7 Sharpe {} \u00b7 Max DD {}</title>",
                       Esc(ParamsText(o.results[p.i].params)), Fixed(p.y, 2), Pct(p.x, 1));
  };
  for (const P& p : pts) {
    if (pareto.contains(p.i)) continue;
    s += fmt::format("<circle class=\"pt\" cx=\"{}\" cy=\"{}\" r=\"4\">{}</circle>", Num(X(p.x)),
                     Num(Y(p.y)), title(p));
  }
  // The front as a line through its points, by drawdown.
  std::vector<P> front;
  for (const P& p : pts) {
    if (pareto.contains(p.i)) front.push_back(p);
  }
  std::sort(front.begin(), front.end(), [](const P& a, const P& b) { return a.x < b.x; });
  if (front.size() > 1) {
    std::string d;
    for (const P& p : front)
      d += fmt::format("{}{} {}", d.empty() ? "M" : "L", Num(X(p.x)), Num(Y(p.y)));
    s += fmt::format("<path class=\"front\" d=\"{}\"/>", d);
  }
  for (const P& p : front) {
    s += fmt::format("<circle class=\"pp\" cx=\"{}\" cy=\"{}\" r=\"5.5\">{}</circle>", Num(X(p.x)),
                     Num(Y(p.y)), title(p));
  }
  // Top candidates: a ring and their rank.
  const std::size_t labelled = std::min<std::size_t>(cx.ranking.size(), 5);
  for (std::size_t k = 0; k < labelled; ++k) {
    const std::size_t i = cx.ranking[k];
    auto it = std::find_if(pts.begin(), pts.end(), [&](const P& p) { return p.i == i; });
    if (it == pts.end()) continue;
    s += fmt::format(
        "<circle class=\"ring\" cx=\"{0}\" cy=\"{1}\" r=\"8\"/><text class=\"rk\" x=\"{2}\" "
        "y=\"{3}\">#{4}</text>",
        Num(X(it->x)), Num(Y(it->y)), Num(X(it->x) + 10), Num(Y(it->y) - 8), k + 1);
  }
  return s + "</svg></div>";
}

std::string SweepSection(const Context& cx) {
  const SweepOutput& o = cx.out;
  if (o.results.size() < 2) {
    return o.kind == "sweep"
               ? "<section id=\"sweep\"><h2>Parameter landscape</h2>" +
                     Note("A single combination: there is no parameter landscape to map.") +
                     "</section>"
               : std::string();
  }
  std::string s = "<section id=\"sweep\"><h2>Parameter landscape</h2>";
  std::vector<ParamAxis> axes;
  for (const std::string& p : o.param_names) {
    ParamAxis a = MakeAxis(o, p);
    if (a.labels.size() > 1) axes.push_back(std::move(a));
  }
  const std::string obj = Esc(InfoOf(cx.objective).label);
  if (axes.empty()) {
    s += Note("No parameter takes more than one value: nothing to map.");
  } else if (axes.size() == 1) {
    s += fmt::format("<div class=\"card\"><h3>{} by {}<small>{}</small></h3>{}</div>", obj,
                     Esc(axes[0].name),
                     o.param_names.size() > 1 ? "other parameters at their best" : "",
                     ParamMap(cx, axes[0], nullptr));
  } else {
    constexpr std::size_t kMaxAxes = 6;
    const std::size_t na = std::min(axes.size(), kMaxAxes);
    s += "<div class=\"maps\">";
    for (std::size_t a = 0; a < na; ++a) {
      for (std::size_t b = a + 1; b < na; ++b) {
        s += fmt::format("<div class=\"card\"><h3>{} by {} \u00d7 {}<small>{}</small></h3>{}</div>",
                         obj, Esc(axes[a].name), Esc(axes[b].name),
                         axes.size() > 2 ? "best over the other parameters" : "",
                         ParamMap(cx, axes[a], &axes[b]));
      }
    }
    s += "</div>";
    if (axes.size() > kMaxAxes) {
      s += Note(fmt::format("Maps for the first {} parameters only.", kMaxAxes));
    }
  }
  std::string legend = "<div class=\"legend\"><span><i class=\"dot\"></i>combination</span>";
  if (!o.pareto.empty()) {
    std::string on;
    for (const std::string& p : o.pareto_objectives)
      on += (on.empty() ? "" : ", ") + std::string(InfoOf(p).label);
    legend += fmt::format("<span><i class=\"dot pareto\"></i>Pareto front{}</span>",
                          on.empty() ? "" : " (" + Esc(on) + ")");
  }
  legend += "<span><i class=\"dot ringed\"></i>top 5 by " + obj + "</span></div>";
  s += fmt::format(
      "<div class=\"card\"><h3>Risk and return<small>every combination: Sharpe against max "
      "drawdown</small></h3>{}{}</div>",
      legend, Scatter(cx));
  return s + "</section>";
}

std::string RulesAndFingerprints(const Context& cx) {
  const SweepOutput& o = cx.out;
  std::string s = "<section id=\"run\"><h2>Run</h2><div class=\"grid2\">";
  // Rules, read defensively from the canonical form.
  std::vector<std::pair<std::string, std::string>> rules;
  const nlohmann::json& st = o.strategy;
  auto text_at = [&](std::initializer_list<const char*> path) -> std::string {
    const nlohmann::json* j = &st;
    for (const char* k : path) {
      if (!j->is_object() || !j->contains(k)) return "";
      j = &(*j)[k];
    }
    if (j->is_string()) return j->get<std::string>();
    if (j->is_number()) return ParamText(j->get<double>());
    return "";
  };
  auto add = [&](std::string label, std::string value) {
    if (!value.empty()) rules.emplace_back(std::move(label), std::move(value));
  };
  add("Universe", text_at({"universe", "market"}));
  add("Long entry", text_at({"signals", "long"}));
  add("Long exit", text_at({"signals", "exit"}));
  add("Short entry", text_at({"signals", "short"}));
  const std::string mode = text_at({"selection", "mode"});
  if (mode != "all_signals") add("Selection", mode);
  add("Score", text_at({"selection", "score"}));
  add("Execution", text_at({"execution", "price"}));
  const std::string fee = text_at({"costs", "fee_bps"}), spread = text_at({"costs", "spread_bps"});
  if (!fee.empty() || !spread.empty()) {
    add("Costs",
        (fee.empty() ? "" : "fee " + fee + " bps") +
            (spread.empty() ? ""
                            : std::string(fee.empty() ? "" : ", ") + "spread " + spread + " bps"));
  }
  s += "<div class=\"card\"><h3>Rules</h3>";
  if (rules.empty()) {
    s += Note("The strategy's rules are not recorded in this result.");
  } else {
    s += "<table class=\"kv rules\">";
    for (const auto& [k, v] : rules)
      s += fmt::format("<tr><th>{}</th><td><code>{}</code></td></tr>", Esc(k), Esc(v));
    s += "</table>";
  }
  s += "</div><div class=\"card\"><h3>Fingerprints<small>everything needed to reproduce the run"
       "</small></h3><table class=\"kv fp\">";
  auto fp = [&](std::string_view k, const std::string& v) {
    s += fmt::format("<tr><th>{}</th><td><code>{}</code></td></tr>", Esc(k),
                     v.empty() ? std::string(kDash) : Esc(v));
  };
  fp("snapshot_id", o.snapshot_id);
  fp("dsl_hash", o.dsl_hash);
  fp("code_version", o.code_version);
  std::string names;
  for (const std::string& p : o.param_names)
    names += (names.empty() ? "" : ", ") + p;
  fp("parameters", names);
  fp("objective", cx.objective);
  s += "</table></div></div>";
  if (!st.is_null()) {
    s += fmt::format(
        "<details class=\"canon\"><summary>Canonical strategy (the text dsl_hash is computed "
        "from)</summary><pre>{}</pre></details>",
        Esc(st.dump(2)));
  }
  return s + "</section>";
}

// =============================================================================================
// Studies of a sweep: cost sensitivity (sensitivity.json) and two-stage consistency
// (consistency.json); docs/precise.md.

// A link to the candidate's section when it has one, else the parameters as text.
std::string CandidateLink(const Context& cx, const strategy::ParamValues& params) {
  const std::string hash = engines::ParamsHash(params);
  const std::string text = Esc(ParamsText(params));
  for (const auto& [i, d] : cx.details) {
    if (cx.hashes[i] == hash) return fmt::format("<a href=\"#c-{}\">{}</a>", hash, text);
  }
  return text;
}

// A relative difference: percent, or scientific when below 0.01%.
std::string RelativeText(double v) {
  if (!std::isfinite(v)) return std::string(kDash);
  if (v == 0) return "0";
  if (std::fabs(v) >= 1e-4) return Pct(v, 2);
  std::string s = fmt::format("{:.1e}", v);
  const std::size_t e = s.find("e-");
  if (e != std::string::npos) s.replace(e + 1, 1, kMinus);
  return s;
}

std::string ScaleText(double v) {
  return ParamText(v) + std::string(kTimes);
}

double Mean(const std::vector<double>& v) {
  double sum = 0;
  std::size_t n = 0;
  for (double x : v) {
    if (std::isfinite(x)) sum += x, ++n;
  }
  return n > 0 ? sum / static_cast<double>(n) : kNaN;
}

std::string_view ComponentColor(std::string_view component, std::size_t k) {
  static constexpr std::string_view kOthers[] = {"#0891b2", "#db2777", "#65a30d", "#ea580c"};
  if (component == "commission") return "#2563eb";
  if (component == "tax") return "#7c3aed";
  if (component == "slippage") return "#f59e0b";
  if (component == "all") return "#111827";
  return kOthers[k % std::size(kOthers)];
}

// One line of an XY chart: points in x order, a title per point for the tooltip.
struct XYSeries {
  std::string name;
  std::string_view color;
  std::vector<std::pair<double, double>> points;
  std::vector<std::string> titles;
};

// Lines over the distinct x values, evenly spaced in their order (a category axis: the scales of
// a sensitivity curve), y in [ylo, yhi]. Series drawn first are drawn wider, so lines on top of
// each other stay visible; every point has a tooltip.
std::string RenderXYChart(const std::vector<XYSeries>& series, double ylo, double yhi,
                          std::string_view xlabel, std::string_view ylabel,
                          const std::vector<std::pair<double, std::string>>& refs,
                          std::optional<double> xmark) {
  std::set<double> xset;
  for (const XYSeries& l : series) {
    for (const auto& [x, y] : l.points) {
      if (std::isfinite(x)) xset.insert(x);
    }
  }
  if (xset.empty()) return Note("No points to draw.");
  const std::vector<double> xs(xset.begin(), xset.end());
  const double slots = static_cast<double>(xs.size());
  const double W = kChartWidth, H = 250, left = 66, right = W - 16, top = 12, bottom = H - 44;
  // The k-th value at the middle of the k-th of `slots` equal slots.
  auto X = [&](double v) {
    const double k = static_cast<double>(std::lower_bound(xs.begin(), xs.end(), v) - xs.begin());
    return left + (right - left) * (k + 0.5) / slots;
  };
  auto Y = [&](double v) { return bottom - (bottom - top) * (v - ylo) / (yhi - ylo); };
  std::string s = fmt::format(
      "<div class=\"chartwrap\"><svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\">", W, H);
  double ys = 0;
  for (double v : LinearTicks(ylo, yhi, 5, &ys)) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text x=\"{3}\" "
        "y=\"{4}\" text-anchor=\"end\">{5}</text>",
        Num(left), Num(right), Num(Y(v)), Num(left - 8), Num(Y(v) + 4), Fixed(v, DecimalsFor(ys)));
  }
  const std::size_t every = (xs.size() + 11) / 12;  // at most twelve labels
  for (std::size_t k = 0; k < xs.size(); k += every) {
    const double v = xs[k];
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" "
        "y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        Num(X(v)), Num(top), Num(bottom), Num(bottom + 17), Esc(ScaleText(v)));
  }
  if (ylo < 0 && yhi > 0) {
    s += fmt::format("<line class=\"zero\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>",
                     Num(left), Num(right), Num(Y(0)));
  }
  if (xmark && xset.contains(*xmark)) {
    s += fmt::format(
        "<line class=\"zero\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" "
        "stroke-dasharray=\"3 3\"/>",
        Num(X(*xmark)), Num(top), Num(bottom));
  }
  s += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<text class=\"axlab\" x=\"{3}\" y=\"{4}\" text-anchor=\"middle\">{5}</text><text "
      "class=\"axlab\" transform=\"translate(16 {6}) rotate(-90)\" text-anchor=\"middle\">{7}"
      "</text>",
      Num(left), Num(right), Num(bottom), Num((left + right) / 2), Num(H - 6), Esc(xlabel),
      Num((top + bottom) / 2), Esc(ylabel));
  const std::size_t n = series.size();
  for (std::size_t k = 0; k < n; ++k) {
    const XYSeries& l = series[k];
    std::string d;
    bool pen = false;
    for (const auto& [x, y] : l.points) {
      if (!std::isfinite(x) || !std::isfinite(y)) {
        pen = false;
        continue;
      }
      d += fmt::format("{}{} {}", pen ? "L" : "M", Num(X(x)), Num(Y(std::clamp(y, ylo, yhi))));
      pen = true;
    }
    if (d.empty()) continue;
    s += fmt::format(
        "<path d=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"{}\" stroke-opacity=\"0.85\" "
        "stroke-linejoin=\"round\"/>",
        d, l.color, 1.75 + 2.0 * static_cast<double>(n - 1 - k));
  }
  for (const auto& [v, label] : refs) {
    if (!(v >= ylo && v <= yhi)) continue;
    s += fmt::format(
        "<line class=\"ref\" x1=\"{}\" x2=\"{}\" y1=\"{}\" y2=\"{}\"/>"
        "<text class=\"reflab\" x=\"{}\" y=\"{}\">{}</text>",
        Num(left), Num(right), Num(Y(v)), Num(Y(v)), Num(left + 6),
        Num(Y(v) > top + 14 ? Y(v) - 5 : Y(v) + 14), Esc(label));
  }
  for (const XYSeries& l : series) {
    for (std::size_t p = 0; p < l.points.size(); ++p) {
      const auto& [x, y] = l.points[p];
      if (!std::isfinite(x) || !std::isfinite(y)) continue;
      s += fmt::format(
          "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"{}\" stroke=\"#fff\" "
          "stroke-width=\"1\"><title>{}</title></circle>",
          Num(X(x)), Num(Y(std::clamp(y, ylo, yhi))), l.color,
          p < l.titles.size() ? Esc(l.titles[p]) : std::string());
    }
  }
  return s + "</svg></div>";
}

std::string ChartLegend(const std::vector<XYSeries>& series) {
  std::string s = "<div class=\"legend\">";
  for (const XYSeries& l : series)
    s += fmt::format("<span><i style=\"background:{}\"></i>{}</span>", l.color, Esc(l.name));
  return s + "</div>";
}

// Candidate indices by value, best first: NaN last, ties by index (precise::TopN).
std::vector<std::size_t> RankByValue(const std::vector<double>& v) {
  std::vector<std::size_t> order(v.size());
  for (std::size_t i = 0; i < v.size(); ++i)
    order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    const bool fa = std::isfinite(v[a]), fb = std::isfinite(v[b]);
    if (fa != fb) return fa;
    return fa && v[a] > v[b];
  });
  return order;
}

std::string SensitivitySection(const Context& cx, const SensitivityFile& f) {
  const std::string obj = std::string(InfoOf(f.objective).label);
  std::string s = "<section id=\"sensitivity\"><h2>Cost sensitivity</h2>";
  const std::size_t k = f.candidates.size();
  // The headline: the minimum overlap and where it is reached, the lowest rank correlation.
  const SensitivityFile::Point* worst = nullptr;
  const SensitivityFile::Point* lowest_rho = nullptr;
  for (const SensitivityFile::Point& p : f.points) {
    if (std::isfinite(p.overlap) && (worst == nullptr || p.overlap < worst->overlap)) worst = &p;
    if (std::isfinite(p.spearman) && (lowest_rho == nullptr || p.spearman < lowest_rho->spearman))
      lowest_rho = &p;
  }
  const auto at = [](const SensitivityFile::Point* p) {
    return p == nullptr ? std::string() : p->component + " at " + ScaleText(p->scale);
  };
  s += "<div class=\"kpis\">";
  std::string sub;
  if (std::isfinite(f.min_overlap) && f.top > 0) {
    sub = fmt::format("{} of {}", Fixed(std::round(f.min_overlap * static_cast<double>(f.top)), 0),
                      f.top);
    if (f.min_overlap < 1 && worst != nullptr) sub += " \u00b7 " + at(worst);
    if (f.min_overlap >= 1) sub += " at every point";
  }
  s += KpiTile("Minimum Top-" + std::to_string(f.top) + " overlap", Fixed(f.min_overlap, 2),
               !std::isfinite(f.min_overlap) ? "na"
               : f.min_overlap < 1           ? "neg"
                                             : "pos",
               sub);
  bool rho_constant = true;
  for (const SensitivityFile::Point& p : f.points) {
    if (lowest_rho != nullptr && std::isfinite(p.spearman) && p.spearman != lowest_rho->spearman)
      rho_constant = false;
  }
  s += KpiTile("Lowest Spearman", lowest_rho ? Fixed(lowest_rho->spearman, 2) : std::string(kDash),
               lowest_rho ? "" : "na",
               lowest_rho == nullptr ? std::string()
               : rho_constant        ? std::string("the same at every point")
                                     : at(lowest_rho));
  s += KpiTile("Candidates", Fixed(static_cast<double>(k), 0), "",
               "Top-" + std::to_string(f.top) + " by " + obj);
  s += KpiTile("Points", Fixed(static_cast<double>(f.points.size()), 0), "",
               "component \u00d7 scale");
  s += "</div>";
  s += fmt::format(
      "<p class=\"bestline\">The best {} candidates of the sweep re-run on the precise engine with "
      "each cost component scaled (and all together); each point compares the Top-{} by "
      "<b>{}</b> with the Top-{} at the base costs (1\u00d7).</p>",
      k, f.top, Esc(obj), f.top);
  if (f.points.empty()) return s + Note("sensitivity.json holds no points.") + "</section>";

  // One series per component, in the file's order.
  std::vector<XYSeries> overlap, rho;
  for (const SensitivityFile::Point& p : f.points) {
    auto it = std::find_if(overlap.begin(), overlap.end(),
                           [&](const XYSeries& l) { return l.name == p.component; });
    if (it == overlap.end()) {
      const std::string_view color = ComponentColor(p.component, overlap.size());
      overlap.push_back({.name = p.component, .color = color, .points = {}, .titles = {}});
      rho.push_back({.name = p.component, .color = color, .points = {}, .titles = {}});
      it = overlap.end() - 1;
    }
    XYSeries& r = rho[static_cast<std::size_t>(it - overlap.begin())];
    const std::string where = p.component + " \u00b7 " + ScaleText(p.scale);
    it->points.emplace_back(p.scale, p.overlap);
    it->titles.push_back(fmt::format("{} \u00b7 Top-{} overlap {} \u00b7 Jaccard {}", where, f.top,
                                     Fixed(p.overlap, 2), Fixed(p.jaccard, 2)));
    r.points.emplace_back(p.scale, p.spearman);
    r.titles.push_back(fmt::format("{} \u00b7 Spearman {}", where, Fixed(p.spearman, 2)));
  }
  for (std::vector<XYSeries>* group : {&overlap, &rho}) {
    for (XYSeries& l : *group) {
      std::vector<std::size_t> order(l.points.size());
      for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
      std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        return l.points[a].first < l.points[b].first;
      });
      XYSeries sorted{.name = l.name, .color = l.color, .points = {}, .titles = {}};
      for (std::size_t i : order) {
        sorted.points.push_back(l.points[i]);
        sorted.titles.push_back(l.titles[i]);
      }
      l = std::move(sorted);
    }
  }
  std::vector<std::pair<double, std::string>> min_ref;
  if (std::isfinite(f.min_overlap) && f.min_overlap < 1)
    min_ref.emplace_back(f.min_overlap, "minimum " + Fixed(f.min_overlap, 2));
  s += fmt::format(
      "<div class=\"card chartcard\"><h3>Top-{} overlap<small>|Top-{}(base) \u2229 Top-{}(point)| "
      "/ {} against the cost scale; the dotted line is the base</small></h3>{}{}</div>",
      f.top, f.top, f.top, f.top, ChartLegend(overlap),
      RenderXYChart(overlap, 0, 1, "Cost scale", "Top-N overlap", min_ref, 1.0));
  double rho_lo = 0;
  for (const SensitivityFile::Point& p : f.points) {
    if (std::isfinite(p.spearman) && p.spearman < 0) rho_lo = -1;
  }
  s += fmt::format(
      "<div class=\"card chartcard\"><h3>Rank correlation<small>Spearman's rho over all {} "
      "candidates against the base ranking</small></h3>{}{}</div>",
      k, ChartLegend(rho), RenderXYChart(rho, rho_lo, 1, "Cost scale", "Spearman", {}, 1.0));

  // The points.
  s += fmt::format(
      "<div class=\"card\"><h3>Points<small>the rows of the minimum overlap are marked</small>"
      "</h3><div class=\"tablewrap\"><table class=\"data sortable sens\"><thead><tr>"
      "<th class=\"l\">Component</th><th>Scale</th><th>Top-{} overlap</th><th>Jaccard</th>"
      "<th>Spearman</th><th>Mean {}</th><th>Mean return</th></tr></thead><tbody>",
      f.top, Esc(obj));
  for (const SensitivityFile::Point& p : f.points) {
    const bool is_min = std::isfinite(p.overlap) && p.overlap == f.min_overlap && p.overlap < 1;
    const double mean_obj = Mean(p.objective), mean_ret = Mean(p.total_return);
    s += fmt::format(
        "<tr{}><td class=\"l\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\" style=\"{}\">{}"
        "</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td>"
        "<td class=\"{}\" data-v=\"{}\">{}</td></tr>",
        is_min ? " class=\"worst\"" : "", Esc(p.component), NumAttr(p.scale), ScaleText(p.scale),
        NumAttr(p.overlap),
        std::isfinite(p.overlap) && p.overlap < 1 ? HeatStyle(1 - p.overlap, false) : "",
        Fixed(p.overlap, 2), NumAttr(p.jaccard), Fixed(p.jaccard, 2), NumAttr(p.spearman),
        Fixed(p.spearman, 2), NumAttr(mean_obj), FormatMetric(f.objective, mean_obj),
        Tone("total_return", mean_ret), NumAttr(mean_ret), SignedPct(mean_ret, 2));
  }
  s += "</tbody></table></div>";
  s += fmt::format(
      "<p class=\"foot\">Minimum overlap <b>{}</b>{}. Every candidate's {} and total return at "
      "every point are in sensitivity.json.</p></div>",
      Fixed(f.min_overlap, 2), worst != nullptr && f.min_overlap < 1 ? " (" + at(worst) + ")" : "",
      Esc(obj));

  // The candidates at the base costs.
  const std::vector<std::size_t> base_rank = RankByValue(f.base_objective);
  std::vector<std::size_t> rank_of(k, 0);
  for (std::size_t r = 0; r < base_rank.size(); ++r)
    rank_of[base_rank[r]] = r + 1;
  s += fmt::format(
      "<details class=\"canon\"><summary>The {} candidates at the base costs</summary><div "
      "class=\"card\"><div class=\"tablewrap\"><table class=\"data sortable\"><thead><tr><th>#"
      "</th><th class=\"param\">Parameters</th><th>Base rank</th><th>{}</th><th>Return</th></tr>"
      "</thead><tbody>",
      k, Esc(obj));
  for (std::size_t i = 0; i < k; ++i) {
    const double o = f.base_objective[i], r = f.base_total_return[i];
    s += fmt::format(
        "<tr{}><td data-v=\"{}\">{}</td><td class=\"param\">{}</td><td data-v=\"{}\">{}</td>"
        "<td data-v=\"{}\">{}</td><td class=\"{}\" data-v=\"{}\">{}</td></tr>",
        rank_of[i] <= f.top ? " class=\"best\"" : "", i + 1, i + 1,
        CandidateLink(cx, f.candidates[i]), rank_of[i], rank_of[i], NumAttr(o),
        FormatMetric(f.objective, o), Tone("total_return", r), NumAttr(r), SignedPct(r, 2));
  }
  s += fmt::format(
      "</tbody></table></div><p class=\"foot\">Highlighted: the base Top-{}.</p></div></details>",
      f.top);
  return s + "</section>";
}

constexpr std::pair<std::string_view, double KeyMetrics::*> kKeyMetrics[] = {
    {"total_return", &KeyMetrics::total_return},
    {"sharpe", &KeyMetrics::sharpe},
    {"max_drawdown", &KeyMetrics::max_drawdown},
    {"turnover", &KeyMetrics::turnover}};

// The colour of a change: none where it prints as zero.
std::string_view ChangeTone(double v) {
  if (!std::isfinite(v)) return "na";
  return std::fabs(v) < 5e-5 ? "" : v > 0 ? "pos" : "neg";
}

// A change's cell colour, diverging at zero, strongest at the largest change of the table (at
// least one percentage point, so that rounding noise stays white).
std::string ChangeStyle(double v, double largest) {
  if (!std::isfinite(v) || std::fabs(v) < 5e-5) return "";
  return HeatStyle(std::sqrt(std::fabs(v) / std::max(largest, 0.01)), v > 0);
}

// A change of a metric: percentage points for percentages, else the difference.
std::string ChangeText(std::string_view metric, double v) {
  if (!std::isfinite(v)) return std::string(kDash);
  if (InfoOf(metric).unit == Unit::kPct) {
    const std::string p = Fixed(v * 100, 2);
    return (v > 0 && p.find_first_of("123456789") != std::string::npos ? "+" : "") + p + " pp";
  }
  const std::string t = Fixed(v, 3);
  return (v > 0 && t.find_first_of("123456789") != std::string::npos ? "+" : "") + t;
}

std::string ConsistencySection(const Context& cx, const ConsistencyFile& f) {
  std::string s = "<section id=\"consistency\"><h2>Two-stage consistency</h2>";
  std::size_t passing = 0;
  for (const ConsistencyFile::Row& r : f.rows)
    passing += r.pass;
  std::vector<std::string> frictions;  // the union of the steps, in order
  for (const ConsistencyFile::Row& r : f.rows) {
    for (const ConsistencyFile::Step& st : r.steps) {
      if (std::find(frictions.begin(), frictions.end(), st.friction) == frictions.end())
        frictions.push_back(st.friction);
    }
  }
  std::string steps_text;
  for (const std::string& fr : frictions)
    steps_text += (steps_text.empty() ? "" : ", ") + fr;
  s += "<div class=\"kpis\">";
  s += KpiTile("Verdict", f.pass ? "PASS" : "FAIL", f.pass ? "pos" : "neg",
               "bound " + RelativeText(f.bound));
  s += KpiTile("Largest difference", RelativeText(f.max_difference),
               std::isfinite(f.max_difference) && f.max_difference >= f.bound ? "neg" : "",
               "relative, over the key metrics");
  s += KpiTile("Candidates passing", fmt::format("{} of {}", passing, f.rows.size()),
               passing == f.rows.size() ? "" : "neg", "the best of the sweep");
  s += KpiTile("Friction steps", Fixed(static_cast<double>(frictions.size()), 0), "",
               steps_text.empty() ? std::string("none") : steps_text);
  s += "</div>";
  s += fmt::format(
      "<p class=\"bestline\">The precise engine configured like the fast one (its fill price "
      "rule, no latency, no participation cap, the DSL's fee rates) must reproduce the sweep's "
      "key metrics within <b>{}</b>, measured as |precise \u2212 fast| / max(|fast|, 0.001).</p>",
      RelativeText(f.bound));
  if (f.rows.empty()) return s + Note("consistency.json holds no candidates.") + "</section>";

  // Fast against precise.
  s += "<div class=\"card\"><h3>Fast against precise<small>per candidate; a difference at or "
       "above the bound is red</small></h3><div class=\"tablewrap\"><table class=\"data "
       "consist\"><thead><tr><th rowspan=\"2\">#</th><th class=\"param\" rowspan=\"2\">"
       "Parameters</th><th rowspan=\"2\">Check</th>";
  for (const auto& [name, member] : kKeyMetrics)
    s += fmt::format("<th class=\"grp sep\" colspan=\"3\">{}</th>", Esc(InfoOf(name).label));
  s += "</tr><tr>";
  for (std::size_t m = 0; m < std::size(kKeyMetrics); ++m)
    s += "<th class=\"sep\">Fast</th><th>Precise</th><th title=\"relative difference\">Diff.</th>";
  s += "</tr></thead><tbody>";
  for (std::size_t k = 0; k < f.rows.size(); ++k) {
    const ConsistencyFile::Row& r = f.rows[k];
    s += fmt::format("<tr><td>{}</td><td class=\"param\">{}</td><td class=\"{}\"><b>{}</b></td>",
                     k + 1, CandidateLink(cx, r.params), r.pass ? "pos" : "neg",
                     r.pass ? "pass" : "fail");
    for (const auto& [name, member] : kKeyMetrics) {
      const double d = r.difference.*member;
      s += fmt::format(
          "<td class=\"sep\" data-v=\"{}\">{}</td><td data-v=\"{}\">{}</td><td class=\"{}\" "
          "data-v=\"{}\">{}</td>",
          NumAttr(r.fast.*member), FormatMetric(name, r.fast.*member), NumAttr(r.precise.*member),
          FormatMetric(name, r.precise.*member),
          !std::isfinite(d) ? "na"
          : d >= f.bound    ? "neg"
                            : "",
          NumAttr(d), RelativeText(d));
    }
    s += "</tr>";
  }
  s += "</tbody></table></div></div>";

  // Friction attribution: the change of total return per step.
  if (frictions.empty()) {
    return s +
           Note(
               "No friction steps: the realistic configuration adds nothing to the one like the "
               "fast engine.") +
           "</section>";
  }
  std::vector<double> changes;
  for (const ConsistencyFile::Row& r : f.rows) {
    for (const ConsistencyFile::Step& st : r.steps)
      changes.push_back(st.change.total_return);
  }
  double largest = 0;
  for (double v : changes) {
    if (std::isfinite(v)) largest = std::max(largest, std::fabs(v));
  }
  s += "<div class=\"card\"><h3>Friction attribution<small>the change of total return as each "
       "friction is switched on, cumulatively, in this order; hover a cell for the other "
       "metrics</small></h3><div class=\"tablewrap\"><table class=\"data sortable attrib\">"
       "<thead><tr><th>#</th><th class=\"param\">Parameters</th><th>Precise (like fast)</th>";
  for (const std::string& fr : frictions)
    s += fmt::format("<th>{}</th>", Esc(fr));
  s += "<th>Realistic</th><th>All frictions</th></tr></thead><tbody>";
  for (std::size_t k = 0; k < f.rows.size(); ++k) {
    const ConsistencyFile::Row& r = f.rows[k];
    const double start = r.precise.total_return;
    const double end = r.steps.empty() ? start : r.steps.back().metrics.total_return;
    s += fmt::format(
        "<tr><td data-v=\"{0}\">{0}</td><td class=\"param\">{1}</td><td class=\"{2}\" "
        "data-v=\"{3}\">{4}</td>",
        k + 1, CandidateLink(cx, r.params), Tone("total_return", start), NumAttr(start),
        SignedPct(start, 2));
    for (const std::string& fr : frictions) {
      auto st = std::find_if(r.steps.begin(), r.steps.end(),
                             [&](const ConsistencyFile::Step& x) { return x.friction == fr; });
      if (st == r.steps.end()) {
        s += "<td class=\"na\" data-v=\"\">\u2014</td>";
        continue;
      }
      std::string title = fr + ":";
      for (const auto& [name, member] : kKeyMetrics) {
        title +=
            fmt::format(" {} {} ({}),", InfoOf(name).label, ChangeText(name, st->change.*member),
                        FormatMetric(name, st->metrics.*member));
      }
      title.pop_back();
      s += fmt::format("<td style=\"{}\" title=\"{}\" data-v=\"{}\">{}</td>",
                       ChangeStyle(st->change.total_return, largest), Esc(title),
                       NumAttr(st->change.total_return),
                       ChangeText("total_return", st->change.total_return));
    }
    s += fmt::format(
        "<td class=\"{}\" data-v=\"{}\">{}</td><td class=\"{}\" data-v=\"{}\">{}</td></tr>",
        Tone("total_return", end), NumAttr(end), SignedPct(end, 2), ChangeTone(end - start),
        NumAttr(end - start), ChangeText("total_return", end - start));
  }
  s += "</tbody></table></div><p class=\"foot\">pp: percentage points of total return. Each "
       "step's change is its friction's share of the difference between the run like the fast "
       "engine and the realistic one; every key metric's change is in consistency.json.</p></div>";
  return s + "</section>";
}

// =============================================================================================
// Quality gates (gates.json; docs/gates.md).

// A gate's column: its label and how its figure passes, given the threshold.
struct GateColumn {
  std::string name, label, rule, about;
};

GateColumn GateColumnOf(const std::string& name, double threshold) {
  const auto at = [&](int decimals) { return Fixed(threshold, decimals); };
  if (name == "dsr") return {name, "DSR", "\u2265 " + at(2), "deflated Sharpe ratio on validation"};
  if (name == "spa")
    return {name, "SPA p", "\u2264 " + at(2),
            "Hansen's SPA consistent p-value on validation (the search as a whole)"};
  if (name == "stepm")
    return {name, "StepM", "at " + at(2),
            "among the trials Romano-Wolf's StepM finds superior to the benchmark on validation"};
  if (name == "pbo")
    return {name, "PBO", "\u2264 " + at(2),
            "probability of backtest overfitting, CSCV on train + validation (the search as a "
            "whole)"};
  if (name == "oos_ir")
    return {name, "OOS IR", "> " + at(2),
            "information ratio against the benchmark on the holdout, annualised"};
  if (name == "overlap")
    return {name, "Overlap", "\u2265 " + at(2),
            "Top-N overlap of the candidates with the costs scaled down and up (the lower)"};
  if (name == "consistency")
    return {name, "Consistency", "< " + RelativeText(threshold),
            "largest relative difference of the key metrics, fast against precise engine"};
  if (name == "rerun")
    return {name, "Rerun", "\u2264 " + RelativeText(threshold),
            "largest relative difference of any metric after a fresh rerun"};
  if (name == "min_trades")
    return {name, "Trades", "\u2265 " + at(0), "closed trades over the whole run"};
  if (name == "min_trl")
    return {name, "MinTRL", "at " + Pct(threshold, 0),
            "minimum track record length in bars for Sharpe > 0 at this confidence; passes at "
            "most the in-sample bars"};
  return {name, name, "threshold " + Fixed(threshold, 3), name};
}

std::string GateValueText(std::string_view name, double v) {
  if (!std::isfinite(v)) return std::string(kDash);
  if (name == "dsr" || name == "spa" || name == "pbo") return Fixed(v, 3);
  if (name == "stepm") return v >= 0.5 ? "yes" : "no";
  if (name == "oos_ir" || name == "overlap") return Fixed(v, 2);
  if (name == "consistency" || name == "rerun") return RelativeText(v);
  if (name == "min_trades" || name == "min_trl") return Fixed(v, 0);
  return Fixed(v, 3);
}

const GatesFile::Gate* FindGate(const GatesFile::Candidate& c, std::string_view name) {
  for (const GatesFile::Gate& g : c.gates) {
    if (g.name == name) return &g;
  }
  return nullptr;
}

// The first candidate's gate of this name (the search-wide gates are the same for all).
const GatesFile::Gate* FirstGate(const GatesFile& f, std::string_view name) {
  for (const GatesFile::Candidate& c : f.candidates) {
    if (const GatesFile::Gate* g = FindGate(c, name)) return g;
  }
  return nullptr;
}

std::string WindowText(std::string_view name, const GatesFile::Window& w) {
  return fmt::format("{} {} \u2013 {} ({} bars)", name, w.first, w.last,
                     Fixed(static_cast<double>(w.bars), 0));
}

// Per-column groups of points at most one pixel wide: the first, lowest, highest and last of
// each, which keeps the shape of a long curve in a short path.
std::vector<std::size_t> ThinByPixel(const std::vector<std::pair<double, double>>& xy) {
  std::vector<std::size_t> out;
  std::size_t i = 0;
  while (i < xy.size()) {
    const double column = std::floor(xy[i].first);
    std::size_t lo = i, hi = i, j = i;
    for (; j < xy.size() && std::floor(xy[j].first) == column; ++j) {
      if (xy[j].second < xy[lo].second) lo = j;
      if (xy[j].second > xy[hi].second) hi = j;
    }
    for (std::size_t k : {i, std::min(lo, hi), std::max(lo, hi), j - 1}) {
      if (out.empty() || out.back() < k) out.push_back(k);
    }
    i = j;
  }
  return out;
}

// The PBO logits in bins (a, b] of a round width, with a line at 0: a split's logit is at most 0
// when the in-sample best ranks at or below the out-of-sample median, which PBO counts.
std::string PboHistogram(const std::vector<double>& logits) {
  std::vector<double> v;
  for (double x : logits) {
    if (std::isfinite(x)) v.push_back(x);
  }
  if (v.empty()) return Note("No logit to draw.");
  const auto [lo_it, hi_it] = std::minmax_element(v.begin(), v.end());
  const double lo = std::min(*lo_it, 0.0), hi = std::max(*hi_it, 0.0);
  const double step = NiceStep((hi - lo) / 20);
  // A logit within rounding of an edge belongs to the bin that edge closes.
  const auto bin = [&](double x) {
    const double q = x / step, r = std::round(q);
    return static_cast<long long>(std::fabs(q - r) < 1e-9 ? r : std::ceil(q));
  };
  const long long k0 = bin(lo), k1 = std::max(bin(hi), k0 + 1);  // bins k0..k1: ((k-1)s, ks]
  std::vector<std::size_t> counts(static_cast<std::size_t>(k1 - k0 + 1), 0);
  for (double x : v)
    ++counts[static_cast<std::size_t>(bin(x) - k0)];
  const std::size_t most = *std::max_element(counts.begin(), counts.end());
  const double x0 = static_cast<double>(k0 - 1) * step, x1 = static_cast<double>(k1) * step;
  const double W = kChartWidth, H = 240, left = 66, right = W - 16, top = 12, bottom = H - 44;
  const double ytop = static_cast<double>(most) * 1.08;
  auto X = [&](double x) { return left + (right - left) * (x - x0) / (x1 - x0); };
  auto Y = [&](double c) { return bottom - (bottom - top) * c / ytop; };
  const int dec = DecimalsFor(step);
  std::string s = fmt::format(
      "<div class=\"chartwrap\"><svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\">", W, H);
  for (double c : LinearTicks(0, static_cast<double>(most), 4)) {
    if (c != std::round(c)) continue;  // counts are whole
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text x=\"{3}\" "
        "y=\"{4}\" text-anchor=\"end\">{5}</text>",
        Num(left), Num(right), Num(Y(c)), Num(left - 8), Num(Y(c) + 4), Fixed(c, 0));
  }
  // Edge labels, at most about twelve, always at 0.
  const long long edges = k1 - k0 + 2, every = (edges + 11) / 12;
  for (long long e = k0 - 1; e <= k1; ++e) {
    if (((e % every) + every) % every != 0) continue;
    const double x = static_cast<double>(e) * step;
    s += fmt::format("<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>", Num(X(x)),
                     Num(bottom + 17), Fixed(x, dec));
  }
  for (long long k = k0; k <= k1; ++k) {
    const std::size_t n = counts[static_cast<std::size_t>(k - k0)];
    if (n == 0) continue;
    const double a = static_cast<double>(k - 1) * step, b = static_cast<double>(k) * step;
    s += fmt::format(
        "<rect class=\"{}\" x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\"><title>logit in ({}, "
        "{}]: {} of {} splits</title></rect>",
        k <= 0 ? "hneg" : "hpos", Num(X(a) + 0.5), Num(Y(static_cast<double>(n))),
        Num(std::max(0.5, X(b) - X(a) - 1)), Num(bottom - Y(static_cast<double>(n))), Fixed(a, dec),
        Fixed(b, dec), n, v.size());
  }
  s += fmt::format(
      "<line class=\"zero\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/>"
      "<line class=\"axis\" x1=\"{3}\" x2=\"{4}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<text class=\"axlab\" x=\"{5}\" y=\"{6}\" text-anchor=\"middle\">Logit of the in-sample "
      "best's out-of-sample rank (\u2264 0: below the median)</text><text class=\"axlab\" "
      "transform=\"translate(16 {7}) rotate(-90)\" text-anchor=\"middle\">Splits</text>",
      Num(X(0)), Num(top), Num(bottom), Num(left), Num(right), Num((left + right) / 2), Num(H - 6),
      Num((top + bottom) / 2));
  return s + "</svg></div>";
}

// The best candidate's DSR against the number of trials (log scale), y from 0 to 1, with the
// gate's threshold and the run's number of trials.
std::string DsrChart(const std::vector<GatesFile::DsrPoint>& curve, double threshold,
                     double trials) {
  std::vector<GatesFile::DsrPoint> pts;
  for (const GatesFile::DsrPoint& p : curve) {
    if (p.trials >= 1) pts.push_back(p);
  }
  std::stable_sort(pts.begin(), pts.end(),
                   [](const auto& a, const auto& b) { return a.trials < b.trials; });
  std::size_t finite = 0;
  for (const GatesFile::DsrPoint& p : pts)
    finite += std::isfinite(p.dsr);
  if (finite < 2 || pts.front().trials == pts.back().trials)
    return Note("Fewer than two numbers of trials with a DSR: nothing to draw.");
  const double lo = static_cast<double>(pts.front().trials);
  const double hi = static_cast<double>(pts.back().trials);
  const double W = kChartWidth, H = 250, left = 66, right = W - 16, top = 12, bottom = H - 44;
  auto X = [&](double t) { return left + (right - left) * std::log(t / lo) / std::log(hi / lo); };
  auto Y = [&](double v) { return bottom - (bottom - top) * std::clamp(v, 0.0, 1.0); };
  std::string s = fmt::format(
      "<div class=\"chartwrap\"><svg class=\"chart\" viewBox=\"0 0 {} {}\" role=\"img\">", W, H);
  for (double v : LinearTicks(0, 1, 5)) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/><text x=\"{3}\" "
        "y=\"{4}\" text-anchor=\"end\">{5}</text>",
        Num(left), Num(right), Num(Y(v)), Num(left - 8), Num(Y(v) + 4), Fixed(v, 1));
  }
  const std::vector<double> ticks = LogTicks(lo, hi);
  for (double t : ticks) {
    s += fmt::format(
        "<line class=\"grid\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\"/><text x=\"{0}\" "
        "y=\"{3}\" text-anchor=\"middle\">{4}</text>",
        Num(X(t)), Num(top), Num(bottom), Num(bottom + 17), Fixed(t, DecimalsFor(t)));
  }
  s += fmt::format(
      "<line class=\"axis\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
      "<text class=\"axlab\" x=\"{3}\" y=\"{4}\" text-anchor=\"middle\">Number of trials (log "
      "scale)</text><text class=\"axlab\" transform=\"translate(16 {5}) rotate(-90)\" "
      "text-anchor=\"middle\">DSR</text>",
      Num(left), Num(right), Num(bottom), Num((left + right) / 2), Num(H - 6),
      Num((top + bottom) / 2));
  if (std::isfinite(trials) && trials >= lo && trials <= hi) {
    s += fmt::format(
        "<line class=\"zero\" x1=\"{0}\" x2=\"{0}\" y1=\"{1}\" y2=\"{2}\" "
        "stroke-dasharray=\"3 3\"/><text class=\"reflab\" x=\"{3}\" y=\"{4}\" "
        "text-anchor=\"end\">N = {5}</text>",
        Num(X(trials)), Num(top), Num(bottom), Num(X(trials) - 5), Num(bottom - 6),
        Fixed(trials, trials == std::round(trials) ? 0 : 1));
  }
  // The curve: runs of finite points, thinned to a few points per pixel column.
  std::string d;
  for (std::size_t i = 0; i < pts.size();) {
    std::vector<std::pair<double, double>> run;
    for (; i < pts.size() && std::isfinite(pts[i].dsr); ++i)
      run.emplace_back(X(static_cast<double>(pts[i].trials)), Y(pts[i].dsr));
    for (std::size_t k : ThinByPixel(run))
      d += fmt::format("{}{} {}", k == 0 ? "M" : "L", Num(run[k].first), Num(run[k].second));
    for (; i < pts.size() && !std::isfinite(pts[i].dsr); ++i) {
    }
  }
  s += fmt::format(
      "<path d=\"{}\" fill=\"none\" stroke=\"#2563eb\" stroke-width=\"2\" "
      "stroke-linejoin=\"round\"/>",
      d);
  if (std::isfinite(threshold) && threshold >= 0 && threshold <= 1) {
    s += fmt::format(
        "<line class=\"ref\" x1=\"{0}\" x2=\"{1}\" y1=\"{2}\" y2=\"{2}\"/>"
        "<text class=\"reflab\" x=\"{3}\" y=\"{4}\" text-anchor=\"end\">threshold {5}</text>",
        Num(left), Num(right), Num(Y(threshold)), Num(right - 6),
        Num(Y(threshold) > top + 14 ? Y(threshold) - 5 : Y(threshold) + 14), Fixed(threshold, 2));
  }
  // Points with a tooltip: all of a short curve, else those at the axis ticks and the last.
  const std::set<double> at(ticks.begin(), ticks.end());
  for (std::size_t i = 0; i < pts.size(); ++i) {
    const GatesFile::DsrPoint& p = pts[i];
    const double t = static_cast<double>(p.trials);
    if (!std::isfinite(p.dsr) || !(pts.size() <= 60 || at.contains(t) || i + 1 == pts.size()))
      continue;
    s += fmt::format(
        "<circle cx=\"{}\" cy=\"{}\" r=\"3.5\" fill=\"#2563eb\" stroke=\"#fff\" "
        "stroke-width=\"1\"><title>{} trials: DSR {}</title></circle>",
        Num(X(t)), Num(Y(p.dsr)), Fixed(t, 0), Fixed(p.dsr, 3));
  }
  return s + "</svg></div>";
}

std::string GatesSection(const Context& cx, const GatesFile& f) {
  const std::string obj = std::string(InfoOf(f.objective).label);
  const std::size_t k = f.candidates.size();
  std::size_t passing = 0;
  for (const GatesFile::Candidate& c : f.candidates)
    passing += c.pass;
  // The gates present, in the documented order, then any other in order of appearance.
  static constexpr std::string_view kOrder[] = {"dsr",        "spa",     "stepm",       "pbo",
                                                "oos_ir",     "overlap", "consistency", "rerun",
                                                "min_trades", "min_trl"};
  std::vector<std::string> names;
  for (std::string_view n : kOrder) {
    if (FirstGate(f, n) != nullptr) names.emplace_back(n);
  }
  for (const GatesFile::Candidate& c : f.candidates) {
    for (const GatesFile::Gate& g : c.gates) {
      if (std::find(names.begin(), names.end(), g.name) == names.end()) names.push_back(g.name);
    }
  }
  const GatesFile::Gate* spa = FirstGate(f, "spa");
  const GatesFile::Gate* pbo = FirstGate(f, "pbo");
  const GatesFile::Gate* dsr = FirstGate(f, "dsr");
  std::size_t at_most_zero = 0, finite_logits = 0;
  for (double x : f.logits) {
    if (!std::isfinite(x)) continue;
    ++finite_logits;
    at_most_zero += x <= 0;
  }

  std::string s = "<section id=\"gates\"><h2>Quality gates</h2>";
  s += "<div class=\"kpis\">";
  s += KpiTile("Candidates passing", fmt::format("{} of {}", passing, k),
               k == 0        ? "na"
               : passing > 0 ? "pos"
                             : "neg",
               "every gate");
  s += KpiTile("Trials", Fixed(static_cast<double>(f.trials), 0), "",
               f.effective_trials_configured ? "effective " + Fixed(f.effective_trials, 1)
                                             : std::string("combinations searched"));
  s += KpiTile("SPA p", Fixed(f.spa_consistent, 3),
               !std::isfinite(f.spa_consistent) ? "na"
               : spa == nullptr                 ? ""
               : spa->pass                      ? "pos"
                                                : "neg",
               "Reality Check " + Fixed(f.reality_check, 3));
  s += KpiTile("PBO", Fixed(f.pbo, 3),
               !std::isfinite(f.pbo) ? "na"
               : pbo == nullptr      ? ""
               : pbo->pass           ? "pos"
                                     : "neg",
               "P(OOS loss) " + Fixed(f.prob_oos_loss, 3));
  s += KpiTile(fmt::format("Top-{} overlap", f.overlap_top),
               Fixed(f.overlap_low, 2) + " / " + Fixed(f.overlap_high, 2), "",
               "costs " + ScaleText(1 - f.overlap_scale) + " / " + ScaleText(1 + f.overlap_scale));
  s += "</div>";
  const std::string block =
      f.bootstrap_block == 0 || !std::isfinite(f.bootstrap_block)
          ? "automatic (mean " + Fixed(f.block, 1) + " bars)"
          : Fixed(f.bootstrap_block, DecimalsFor(f.bootstrap_block)) + " bars";
  s += fmt::format(
      "<p class=\"bestline\"><b>{} of {}</b> candidates pass every gate. The best {} of {} "
      "trials by <b>{}</b> on validation, against the benchmark <b>{}</b>. {} \u00b7 {} \u00b7 "
      "{}. Bootstrap: {} reps, block {}, seed {}. Top-{} overlap {} at costs {} and {} at {}.</p>",
      passing, k, k, Fixed(static_cast<double>(f.trials), 0), Esc(obj), Esc(f.benchmark),
      Esc(WindowText("Train", f.train)), Esc(WindowText("validation", f.validation)),
      Esc(WindowText("holdout", f.holdout)), Fixed(static_cast<double>(f.bootstrap_reps), 0),
      Esc(block), f.seed, f.overlap_top, Fixed(f.overlap_low, 2), ScaleText(1 - f.overlap_scale),
      Fixed(f.overlap_high, 2), ScaleText(1 + f.overlap_scale));

  // Candidates by gate.
  s += "<div class=\"card\"><h3>Candidates by gate<small>best first by the validation "
       "objective; hover a cell for the reason (and a hint when it failed)</small></h3>";
  if (k == 0) {
    s += Note("gates.json holds no candidates.");
  } else {
    s += "<div class=\"tablewrap\"><table class=\"data sortable gates\"><thead><tr><th>#</th>"
         "<th class=\"l\">Id</th><th class=\"param\">Parameters</th><th>Verdict</th>";
    for (const std::string& n : names) {
      const GatesFile::Gate* g = FirstGate(f, n);
      const GateColumn col = GateColumnOf(n, g != nullptr ? g->threshold : kNaN);
      s += fmt::format("<th class=\"sep\" title=\"{}: {}\">{} {}</th>", Esc(n), Esc(col.about),
                       Esc(col.label), Esc(col.rule));
    }
    s += fmt::format(
        "<th class=\"sep\" title=\"on validation\">{}</th><th title=\"total return on the "
        "holdout\">Holdout return</th><th title=\"annualised\">Holdout Sharpe</th></tr></thead>"
        "<tbody>",
        Esc(ShortLabel(f.objective)));
    for (std::size_t r = 0; r < k; ++r) {
      const GatesFile::Candidate& c = f.candidates[r];
      bool linked = false;
      for (const auto& [i, d] : cx.details)
        linked |= cx.hashes[i] == c.id;
      s += fmt::format(
          "<tr><td data-v=\"{0}\">{0}</td><td class=\"l\"><code>{1}</code></td><td "
          "class=\"param\">{2}</td><td data-v=\"{3}\"><span class=\"badge {4}\">{4}</span></td>",
          r + 1, linked ? fmt::format("<a href=\"#c-{}\">{}</a>", Esc(c.id), Esc(c.id)) : Esc(c.id),
          Esc(ParamsText(c.params)), c.pass ? 1 : 0, c.pass ? "pass" : "fail");
      for (const std::string& n : names) {
        const GatesFile::Gate* g = FindGate(c, n);
        if (g == nullptr) {
          s += "<td class=\"sep na\" data-v=\"\">\u2014</td>";
          continue;
        }
        std::string title = g->reason;
        if (!g->pass && !g->hint.empty()) title += "\nHint: " + g->hint;
        s += fmt::format("<td class=\"sep gate {}\" data-v=\"{}\" title=\"{}\">{}</td>",
                         g->pass ? "pass" : "fail", NumAttr(g->value), Esc(title),
                         GateValueText(n, g->value));
      }
      s += fmt::format(
          "<td class=\"sep\" data-v=\"{}\">{}</td><td class=\"{}\" data-v=\"{}\">{}</td>"
          "<td data-v=\"{}\">{}</td></tr>",
          NumAttr(c.objective), FormatMetric(f.objective, c.objective),
          Tone("total_return", c.holdout_return), NumAttr(c.holdout_return),
          SignedPct(c.holdout_return, 2), NumAttr(c.holdout_sharpe), Fixed(c.holdout_sharpe, 2));
    }
    s += "</tbody></table></div><p class=\"foot\">Green passes, red fails; a gate switched off is "
         "not shown. spa and pbo judge the search as a whole, so they are the same for every "
         "candidate. Ids link to the candidate's section when the report has one.</p>";
  }
  s += "</div>";

  // The search's statistics.
  auto kv = [](std::string_view key, const std::string& v, std::string_view tone = {}) {
    return fmt::format("<tr><th>{}</th><td class=\"{}\">{}</td></tr>", Esc(key), tone, Esc(v));
  };
  s += "<div class=\"grid2\"><div class=\"card\"><h3>Data snooping<small>p-values against the "
       "benchmark on validation</small></h3><table class=\"kv\">";
  s += kv("SPA p (lower)", Fixed(f.spa_lower, 3));
  s += kv("SPA p (consistent)", Fixed(f.spa_consistent, 3),
          spa == nullptr || !std::isfinite(f.spa_consistent) ? ""
          : spa->pass                                        ? "pos"
                                                             : "neg");
  s += kv("SPA p (upper)", Fixed(f.spa_upper, 3));
  s += kv("Monte-Carlo SE", Fixed(f.spa_se, 3));
  s += kv("Reality Check p", Fixed(f.reality_check, 3));
  s += kv("StepM superior",
          fmt::format("{} of {} trials", f.stepm.size(), Fixed(static_cast<double>(f.trials), 0)));
  s += "</table></div><div class=\"card\"><h3>Deflation<small>the DSR's inputs</small></h3>"
       "<table class=\"kv\">";
  s += kv("Trials (N)", Fixed(static_cast<double>(f.trials), 0));
  s += kv("Effective trials", Fixed(f.effective_trials, 1));
  s += kv("Variance of the trials' Sharpe", fmt::format("{:.3g}", f.trial_sharpe_variance));
  s += kv("Expected best Sharpe (SR0, per bar)", Fixed(f.expected_max_sharpe, 4));
  s += kv("Bootstrap block (mean, bars)", Fixed(f.block, 1));
  s += kv("PBO blocks (S)", Fixed(static_cast<double>(f.pbo_blocks), 0));
  s += "</table></div></div>";

  // PBO.
  s += fmt::format(
      "<div class=\"card chartcard\"><h3>Overfitting<small>CSCV logits: PBO = {} ({} of {} "
      "splits \u2264 0) \u00b7 P(OOS loss) {} \u00b7 degradation slope {}, R\u00b2 {}</small>"
      "</h3>{}</div>",
      Fixed(f.pbo, 3), Fixed(static_cast<double>(at_most_zero), 0),
      Fixed(static_cast<double>(finite_logits), 0), Fixed(f.prob_oos_loss, 3),
      Fixed(f.pbo_slope, 2), Fixed(f.pbo_r2, 2), PboHistogram(f.logits));
  // DSR against the number of trials.
  const double threshold = dsr != nullptr && std::isfinite(dsr->threshold) ? dsr->threshold : 0.95;
  s += fmt::format(
      "<div class=\"card chartcard\"><h3>DSR against the number of trials<small>the best "
      "candidate's deflated Sharpe ratio had the search tried fewer or more; threshold {}"
      "</small></h3>{}</div>",
      Fixed(threshold, 2), DsrChart(f.dsr_curve, threshold, f.effective_trials));
  return s + "</section>";
}

// =============================================================================================
// Reading the optional files.

Result<std::string> ReadWhole(const fs::path& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return Status::IOError(fmt::format("{}: cannot open", file.string()));
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return Status::IOError(fmt::format("{}: read failed", file.string()));
  return ss.str();
}

bool Exists(const fs::path& file) {
  std::error_code ec;
  return fs::exists(file, ec);
}

using engines::CsvRecord;

using engines::CsvTable;

Result<CsvTable> ReadCsvTable(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadWhole(file));
  return CsvTable::Parse(text, file);
}

Result<std::string> OneOf(const CsvTable& t, const CsvRecord& r, std::size_t col,
                          std::string_view a, std::string_view b) {
  const std::string& s = r.fields[col];
  if (s != a && s != b) return t.Bad(r, col, fmt::format("{} or {}", a, b));
  return s;
}

Result<std::vector<OrderLogRow>> ReadOrders(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const CsvTable t, ReadCsvTable(file));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t id, t.Column("id"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t side, t.Column("side"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t type, t.Column("type"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t quantity, t.Column("quantity"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t status, t.Column("status"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t reject, t.Column("reject"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t filled, t.Column("filled"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t fees, t.Column("fees"));
  std::vector<OrderLogRow> out;
  out.reserve(t.rows());
  for (std::size_t k = 0; k < t.rows(); ++k) {
    const CsvRecord& r = t.row(k);
    QRAFT_RETURN_NOT_OK(t.CheckWidth(r));
    OrderLogRow o;
    QRAFT_ASSIGN_OR_RETURN(o.id, t.Integer(r, id));
    QRAFT_ASSIGN_OR_RETURN(o.side, OneOf(t, r, side, "buy", "sell"));
    o.type = r.fields[type];
    QRAFT_ASSIGN_OR_RETURN(o.quantity, t.Number(r, quantity, false));
    o.status = r.fields[status];
    if (o.status.empty()) return t.Bad(r, status, "an order status");
    o.reject = r.fields[reject];
    QRAFT_ASSIGN_OR_RETURN(o.filled, t.Number(r, filled, true));
    QRAFT_ASSIGN_OR_RETURN(o.fees, t.Number(r, fees, true));
    out.push_back(std::move(o));
  }
  return out;
}

Result<std::vector<FillLogRow>> ReadFills(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const CsvTable t, ReadCsvTable(file));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t order, t.Column("order"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t time, t.Column("time"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t symbol, t.Column("symbol"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t side, t.Column("side"));
  QRAFT_ASSIGN_OR_RETURN(const std::size_t liquidity, t.Column("liquidity"));
  std::size_t num[8];
  double FillLogRow::*const fields[8] = {&FillLogRow::quantity,     &FillLogRow::market_price,
                                         &FillLogRow::price,        &FillLogRow::commission,
                                         &FillLogRow::stamp_duty,   &FillLogRow::transfer_fee,
                                         &FillLogRow::exchange_fee, &FillLogRow::slippage};
  constexpr std::string_view kNames[8] = {"quantity",     "market_price", "price",
                                          "commission",   "stamp_duty",   "transfer_fee",
                                          "exchange_fee", "slippage"};
  for (std::size_t c = 0; c < 8; ++c) {
    QRAFT_ASSIGN_OR_RETURN(num[c], t.Column(kNames[c]));
  }
  std::vector<FillLogRow> out;
  out.reserve(t.rows());
  for (std::size_t k = 0; k < t.rows(); ++k) {
    const CsvRecord& r = t.row(k);
    QRAFT_RETURN_NOT_OK(t.CheckWidth(r));
    FillLogRow f;
    QRAFT_ASSIGN_OR_RETURN(f.order, t.Integer(r, order));
    QRAFT_RETURN_NOT_OK(t.Time(r, time).status());
    f.time = r.fields[time];
    f.symbol = r.fields[symbol];
    QRAFT_ASSIGN_OR_RETURN(f.side, OneOf(t, r, side, "buy", "sell"));
    QRAFT_ASSIGN_OR_RETURN(f.liquidity, OneOf(t, r, liquidity, "maker", "taker"));
    for (std::size_t c = 0; c < 8; ++c) {
      QRAFT_ASSIGN_OR_RETURN(f.*fields[c], t.Number(r, num[c], true));
    }
    out.push_back(std::move(f));
  }
  return out;
}

// Checked access to a JSON document: every error names the file and the field's path.
class JsonDoc {
 public:
  explicit JsonDoc(const fs::path& file) : file_(file.string()) {}

  Result<nlohmann::json> Parse(const std::string& text) const {
    nlohmann::json doc;
    try {
      doc = nlohmann::json::parse(text);
    } catch (const nlohmann::json::exception& e) {  // the message names the line and column
      return Status::InvalidArgument(fmt::format("{}: invalid JSON: {}", file_, e.what()));
    }
    if (!doc.is_object()) return Bad("(top level)", "expected an object");
    return doc;
  }
  Status Bad(std::string_view field, std::string_view problem) const {
    return Status::InvalidArgument(fmt::format("{}: field '{}': {}", file_, field, problem));
  }
  Result<const nlohmann::json*> Get(const nlohmann::json& obj, std::string_view key,
                                    const std::string& at) const {
    const std::string field = at.empty() ? std::string(key) : at + "." + std::string(key);
    if (!obj.is_object()) return Bad(at, "expected an object");
    auto it = obj.find(key);
    if (it == obj.end()) return Bad(field, "missing");
    return &*it;
  }
  static std::string Path(const std::string& at, std::string_view key) {
    return at.empty() ? std::string(key) : at + "." + std::string(key);
  }
  Result<double> Number(const nlohmann::json& v, const std::string& field) const {
    if (v.is_null()) return kNaN;
    if (!v.is_number()) return Bad(field, "expected a number or null, got " + Short(v));
    return v.get<double>();
  }
  Result<double> Number(const nlohmann::json& obj, std::string_view key,
                        const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    return Number(*v, Path(at, key));
  }
  Result<std::string> String(const nlohmann::json& obj, std::string_view key,
                             const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    if (!v->is_string()) return Bad(Path(at, key), "expected a string, got " + Short(*v));
    return v->get<std::string>();
  }
  Result<bool> Bool(const nlohmann::json& obj, std::string_view key, const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    if (!v->is_boolean()) return Bad(Path(at, key), "expected true or false, got " + Short(*v));
    return v->get<bool>();
  }
  Result<std::size_t> Count(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_number_unsigned() && !(v.is_number_integer() && v.get<std::int64_t>() >= 0))
      return Bad(field, "expected a count, got " + Short(v));
    return v.get<std::size_t>();
  }
  Result<std::size_t> Count(const nlohmann::json& obj, std::string_view key,
                            const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    return Count(*v, Path(at, key));
  }
  Result<const nlohmann::json*> Array(const nlohmann::json& obj, std::string_view key,
                                      const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    if (!v->is_array()) return Bad(Path(at, key), "expected an array, got " + Short(*v));
    return v;
  }
  // An array of numbers (null: NaN), of `size` elements.
  Result<std::vector<double>> Numbers(const nlohmann::json& obj, std::string_view key,
                                      const std::string& at, std::size_t size) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Array(obj, key, at));
    const std::string field = Path(at, key);
    if (v->size() != size) {
      return Bad(field,
                 fmt::format("expected {} values (one per candidate), got {}", size, v->size()));
    }
    std::vector<double> out;
    for (std::size_t i = 0; i < v->size(); ++i) {
      QRAFT_ASSIGN_OR_RETURN(const double x, Number((*v)[i], fmt::format("{}[{}]", field, i)));
      out.push_back(x);
    }
    return out;
  }
  Result<strategy::ParamValues> Params(const nlohmann::json& v, const std::string& field) const {
    if (!v.is_object()) return Bad(field, "expected an object of numbers, got " + Short(v));
    strategy::ParamValues p;
    for (const auto& [name, x] : v.items()) {
      if (!x.is_number()) return Bad(field + "." + name, "expected a number, got " + Short(x));
      p[name] = x.get<double>();
    }
    return p;
  }
  Result<KeyMetrics> Key(const nlohmann::json& obj, std::string_view key,
                         const std::string& at) const {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, Get(obj, key, at));
    const std::string field = Path(at, key);
    if (!v->is_object()) return Bad(field, "expected an object of the key metrics");
    KeyMetrics m;
    for (const auto& [name, member] : kKeyMetrics) {
      QRAFT_ASSIGN_OR_RETURN(m.*member, Number(*v, name, field));
    }
    return m;
  }

 private:
  static std::string Short(const nlohmann::json& v) {
    std::string s = v.dump();
    return s.size() > 40 ? s.substr(0, 37) + "..." : s;
  }
  std::string file_;
};

Result<SensitivityFile> ReadSensitivity(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadWhole(file));
  const JsonDoc j(file);
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json doc, j.Parse(text));
  SensitivityFile f;
  QRAFT_ASSIGN_OR_RETURN(f.objective, j.String(doc, "objective", ""));
  QRAFT_ASSIGN_OR_RETURN(f.top, j.Count(doc, "top", ""));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* candidates, j.Array(doc, "candidates", ""));
  for (std::size_t i = 0; i < candidates->size(); ++i) {
    QRAFT_ASSIGN_OR_RETURN(strategy::ParamValues p,
                           j.Params((*candidates)[i], fmt::format("candidates[{}]", i)));
    f.candidates.push_back(std::move(p));
  }
  const std::size_t k = f.candidates.size();
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* base, j.Get(doc, "base", ""));
  QRAFT_ASSIGN_OR_RETURN(f.base_objective, j.Numbers(*base, "objective", "base", k));
  QRAFT_ASSIGN_OR_RETURN(f.base_total_return, j.Numbers(*base, "total_return", "base", k));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* points, j.Array(doc, "points", ""));
  for (std::size_t i = 0; i < points->size(); ++i) {
    const nlohmann::json& p = (*points)[i];
    const std::string at = fmt::format("points[{}]", i);
    SensitivityFile::Point pt;
    QRAFT_ASSIGN_OR_RETURN(pt.component, j.String(p, "component", at));
    QRAFT_ASSIGN_OR_RETURN(pt.scale, j.Number(p, "scale", at));
    if (!std::isfinite(pt.scale)) return j.Bad(at + ".scale", "expected a number, got null");
    QRAFT_ASSIGN_OR_RETURN(pt.overlap, j.Number(p, "overlap", at));
    QRAFT_ASSIGN_OR_RETURN(pt.jaccard, j.Number(p, "jaccard", at));
    QRAFT_ASSIGN_OR_RETURN(pt.spearman, j.Number(p, "spearman", at));
    QRAFT_ASSIGN_OR_RETURN(pt.objective, j.Numbers(p, "objective", at, k));
    QRAFT_ASSIGN_OR_RETURN(pt.total_return, j.Numbers(p, "total_return", at, k));
    f.points.push_back(std::move(pt));
  }
  QRAFT_ASSIGN_OR_RETURN(f.min_overlap, j.Number(doc, "min_overlap", ""));
  return f;
}

Result<ConsistencyFile> ReadConsistency(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadWhole(file));
  const JsonDoc j(file);
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json doc, j.Parse(text));
  ConsistencyFile f;
  QRAFT_ASSIGN_OR_RETURN(f.bound, j.Number(doc, "bound", ""));
  QRAFT_ASSIGN_OR_RETURN(f.pass, j.Bool(doc, "pass", ""));
  QRAFT_ASSIGN_OR_RETURN(f.max_difference, j.Number(doc, "max_difference", ""));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* rows, j.Array(doc, "rows", ""));
  for (std::size_t i = 0; i < rows->size(); ++i) {
    const nlohmann::json& r = (*rows)[i];
    const std::string at = fmt::format("rows[{}]", i);
    ConsistencyFile::Row row;
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* params, j.Get(r, "params", at));
    QRAFT_ASSIGN_OR_RETURN(row.params, j.Params(*params, at + ".params"));
    QRAFT_ASSIGN_OR_RETURN(row.pass, j.Bool(r, "pass", at));
    QRAFT_ASSIGN_OR_RETURN(row.fast, j.Key(r, "fast", at));
    QRAFT_ASSIGN_OR_RETURN(row.precise, j.Key(r, "precise", at));
    QRAFT_ASSIGN_OR_RETURN(row.difference, j.Key(r, "difference", at));
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* steps, j.Array(r, "steps", at));
    for (std::size_t s = 0; s < steps->size(); ++s) {
      const std::string sat = fmt::format("{}.steps[{}]", at, s);
      ConsistencyFile::Step st;
      QRAFT_ASSIGN_OR_RETURN(st.friction, j.String((*steps)[s], "friction", sat));
      QRAFT_ASSIGN_OR_RETURN(st.metrics, j.Key((*steps)[s], "metrics", sat));
      QRAFT_ASSIGN_OR_RETURN(st.change, j.Key((*steps)[s], "change", sat));
      row.steps.push_back(std::move(st));
    }
    f.rows.push_back(std::move(row));
  }
  return f;
}

Result<GatesFile> ReadGates(const fs::path& file) {
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadWhole(file));
  const JsonDoc j(file);
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json doc, j.Parse(text));
  GatesFile f;
  QRAFT_ASSIGN_OR_RETURN(const std::string format, j.String(doc, "format", ""));
  if (format != "qraft-gates-v1") {
    return j.Bad("format", fmt::format("expected \"qraft-gates-v1\", got \"{}\"", format));
  }
  // The configuration.
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* config, j.Get(doc, "config", ""));
  QRAFT_ASSIGN_OR_RETURN(f.objective, j.String(*config, "objective", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.candidates_wanted, j.Count(*config, "candidates", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.benchmark, j.String(*config, "benchmark", "config"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* bootstrap, j.Get(*config, "bootstrap", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.bootstrap_reps, j.Count(*bootstrap, "reps", "config.bootstrap"));
  QRAFT_ASSIGN_OR_RETURN(f.bootstrap_block, j.Number(*bootstrap, "block", "config.bootstrap"));
  QRAFT_ASSIGN_OR_RETURN(f.seed, j.Count(*bootstrap, "seed", "config.bootstrap"));
  QRAFT_ASSIGN_OR_RETURN(f.effective_trials_configured,
                         j.Bool(*config, "effective_trials", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.pbo_blocks, j.Count(*config, "pbo_blocks", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.overlap_scale, j.Number(*config, "overlap_scale", "config"));
  QRAFT_ASSIGN_OR_RETURN(f.overlap_top, j.Count(*config, "overlap_top", "config"));
  // The run.
  QRAFT_ASSIGN_OR_RETURN(f.snapshot_id, j.String(doc, "snapshot_id", ""));
  QRAFT_ASSIGN_OR_RETURN(f.dsl_hash, j.String(doc, "dsl_hash", ""));
  QRAFT_ASSIGN_OR_RETURN(f.code_version, j.String(doc, "code_version", ""));
  QRAFT_ASSIGN_OR_RETURN(f.trials, j.Count(doc, "trials", ""));
  QRAFT_ASSIGN_OR_RETURN(f.effective_trials, j.Number(doc, "effective_trials", ""));
  QRAFT_ASSIGN_OR_RETURN(f.periods_per_year, j.Number(doc, "periods_per_year", ""));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* windows, j.Get(doc, "windows", ""));
  for (auto [name, w] : {std::pair{"train", &f.train}, std::pair{"validation", &f.validation},
                         std::pair{"holdout", &f.holdout}}) {
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* v, j.Get(*windows, name, "windows"));
    const std::string at = std::string("windows.") + name;
    QRAFT_ASSIGN_OR_RETURN(w->begin, j.Count(*v, "begin", at));
    QRAFT_ASSIGN_OR_RETURN(w->end, j.Count(*v, "end", at));
    QRAFT_ASSIGN_OR_RETURN(w->bars, j.Count(*v, "bars", at));
    QRAFT_ASSIGN_OR_RETURN(w->first, j.String(*v, "first", at));
    QRAFT_ASSIGN_OR_RETURN(w->last, j.String(*v, "last", at));
  }
  // The search on validation.
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* search, j.Get(doc, "search", ""));
  QRAFT_ASSIGN_OR_RETURN(f.trial_sharpe_variance,
                         j.Number(*search, "trial_sharpe_variance", "search"));
  QRAFT_ASSIGN_OR_RETURN(f.expected_max_sharpe, j.Number(*search, "expected_max_sharpe", "search"));
  QRAFT_ASSIGN_OR_RETURN(f.block, j.Number(*search, "block", "search"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* spa, j.Get(*search, "spa", "search"));
  QRAFT_ASSIGN_OR_RETURN(f.spa_lower, j.Number(*spa, "lower", "search.spa"));
  QRAFT_ASSIGN_OR_RETURN(f.spa_consistent, j.Number(*spa, "consistent", "search.spa"));
  QRAFT_ASSIGN_OR_RETURN(f.spa_upper, j.Number(*spa, "upper", "search.spa"));
  QRAFT_ASSIGN_OR_RETURN(f.spa_se, j.Number(*spa, "se", "search.spa"));
  QRAFT_ASSIGN_OR_RETURN(f.reality_check, j.Number(*search, "reality_check", "search"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* stepm, j.Array(*search, "stepm", "search"));
  for (std::size_t i = 0; i < stepm->size(); ++i) {
    QRAFT_ASSIGN_OR_RETURN(const std::size_t x,
                           j.Count((*stepm)[i], fmt::format("search.stepm[{}]", i)));
    f.stepm.push_back(x);
  }
  // PBO on train + validation.
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* pbo, j.Get(doc, "pbo", ""));
  QRAFT_ASSIGN_OR_RETURN(f.pbo, j.Number(*pbo, "pbo", "pbo"));
  QRAFT_ASSIGN_OR_RETURN(f.prob_oos_loss, j.Number(*pbo, "prob_oos_loss", "pbo"));
  QRAFT_ASSIGN_OR_RETURN(f.pbo_slope, j.Number(*pbo, "slope", "pbo"));
  QRAFT_ASSIGN_OR_RETURN(f.pbo_intercept, j.Number(*pbo, "intercept", "pbo"));
  QRAFT_ASSIGN_OR_RETURN(f.pbo_r2, j.Number(*pbo, "r2", "pbo"));
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* logits, j.Array(*pbo, "logits", "pbo"));
  f.logits.reserve(logits->size());
  for (std::size_t i = 0; i < logits->size(); ++i) {
    QRAFT_ASSIGN_OR_RETURN(const double x,
                           j.Number((*logits)[i], fmt::format("pbo.logits[{}]", i)));
    f.logits.push_back(x);
  }
  // The DSR curve and the overlap.
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* curve, j.Array(doc, "dsr_curve", ""));
  for (std::size_t i = 0; i < curve->size(); ++i) {
    const std::string at = fmt::format("dsr_curve[{}]", i);
    GatesFile::DsrPoint p;
    QRAFT_ASSIGN_OR_RETURN(p.trials, j.Count((*curve)[i], "trials", at));
    QRAFT_ASSIGN_OR_RETURN(p.dsr, j.Number((*curve)[i], "dsr", at));
    f.dsr_curve.push_back(p);
  }
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* overlap, j.Get(doc, "overlap", ""));
  QRAFT_ASSIGN_OR_RETURN(f.overlap_low, j.Number(*overlap, "low", "overlap"));
  QRAFT_ASSIGN_OR_RETURN(f.overlap_high, j.Number(*overlap, "high", "overlap"));
  // The candidates and their gates.
  QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* candidates, j.Array(doc, "candidates", ""));
  for (std::size_t i = 0; i < candidates->size(); ++i) {
    const nlohmann::json& c = (*candidates)[i];
    const std::string at = fmt::format("candidates[{}]", i);
    GatesFile::Candidate cand;
    QRAFT_ASSIGN_OR_RETURN(cand.id, j.String(c, "id", at));
    QRAFT_ASSIGN_OR_RETURN(cand.index, j.Count(c, "index", at));
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* params, j.Get(c, "params", at));
    QRAFT_ASSIGN_OR_RETURN(cand.params, j.Params(*params, at + ".params"));
    QRAFT_ASSIGN_OR_RETURN(cand.pass, j.Bool(c, "pass", at));
    QRAFT_ASSIGN_OR_RETURN(cand.objective, j.Number(c, "objective", at));
    QRAFT_ASSIGN_OR_RETURN(cand.holdout_return, j.Number(c, "holdout_return", at));
    QRAFT_ASSIGN_OR_RETURN(cand.holdout_sharpe, j.Number(c, "holdout_sharpe", at));
    QRAFT_ASSIGN_OR_RETURN(const nlohmann::json* gates, j.Array(c, "gates", at));
    for (std::size_t g = 0; g < gates->size(); ++g) {
      const std::string gat = fmt::format("{}.gates[{}]", at, g);
      const nlohmann::json& x = (*gates)[g];
      GatesFile::Gate gate;
      QRAFT_ASSIGN_OR_RETURN(gate.name, j.String(x, "name", gat));
      QRAFT_ASSIGN_OR_RETURN(gate.value, j.Number(x, "value", gat));
      QRAFT_ASSIGN_OR_RETURN(gate.threshold, j.Number(x, "threshold", gat));
      QRAFT_ASSIGN_OR_RETURN(gate.pass, j.Bool(x, "pass", gat));
      QRAFT_ASSIGN_OR_RETURN(gate.reason, j.String(x, "reason", gat));
      QRAFT_ASSIGN_OR_RETURN(gate.hint, j.String(x, "hint", gat));
      cand.gates.push_back(std::move(gate));
    }
    f.candidates.push_back(std::move(cand));
  }
  return f;
}

bool HasExtras(const ReportExtras& e) {
  return !e.logs.empty() || e.sensitivity.has_value() || e.consistency.has_value() ||
         e.gates.has_value();
}

constexpr std::string_view kCss = R"CSS(
:root{--ink:#111827;--ink2:#374151;--mute:#6b7280;--line:#e5e7eb;--soft:#f3f4f6;--bg:#f6f7f9;
--accent:#2563eb;--pos:#15803d;--neg:#b91c1c}
*{box-sizing:border-box}
html{-webkit-text-size-adjust:100%}
body{margin:0;background:var(--bg);color:var(--ink);font:14px/1.5 -apple-system,BlinkMacSystemFont,
"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans","Liberation Sans","DejaVu Sans",sans-serif;
font-variant-numeric:tabular-nums}
.page{max-width:1200px;margin:0 auto;padding:28px 28px 40px}
code,pre{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,"Liberation Mono","DejaVu Sans Mono",monospace;font-size:12px}
a{color:var(--accent);text-decoration:none}a:hover{text-decoration:underline}
.head{padding-bottom:18px;border-bottom:1px solid var(--line)}
.eyebrow{font-size:12px;letter-spacing:.08em;text-transform:uppercase;color:var(--accent);font-weight:600}
h1{font-size:30px;line-height:1.2;margin:4px 0 8px;font-weight:700;letter-spacing:-.015em}
.desc{color:var(--ink2);margin:0 0 12px;max-width:90ch}
.chips{display:flex;flex-wrap:wrap;gap:6px;margin-top:6px}
.chip{background:#fff;border:1px solid var(--line);border-radius:999px;padding:2px 11px;font-size:12px;color:var(--mute)}
.chip b{color:var(--ink);font-weight:600;margin-left:2px}
h2{font-size:19px;margin:34px 0 12px;font-weight:650;letter-spacing:-.01em}
.bestline{margin:18px 0 0;color:var(--ink2);font-size:13px}
.bestline b{color:var(--ink)}
.kpis{display:grid;grid-template-columns:repeat(auto-fit,minmax(120px,1fr));gap:10px;margin-top:10px}
.kpi{background:#fff;border:1px solid var(--line);border-radius:10px;padding:11px 14px}
.kpi .l{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--mute);font-weight:600;white-space:nowrap}
.kpi .v{font-size:23px;font-weight:650;margin-top:1px;letter-spacing:-.01em}
.kpi .s{font-size:12px;color:var(--mute);margin-top:1px;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.pos{color:var(--pos)}.neg{color:var(--neg)}.na{color:#9ca3af}
.card{background:#fff;border:1px solid var(--line);border-radius:12px;padding:16px 18px;
box-shadow:0 1px 2px rgba(16,24,40,.04);margin-bottom:14px}
.card h3{margin:0 0 10px;font-size:14px;font-weight:650;display:flex;gap:12px;align-items:baseline;flex-wrap:wrap}
.card h3 small{font-weight:400;color:var(--mute);font-size:12px}
.tablewrap{overflow-x:auto}
table{border-collapse:collapse;width:100%}
table.data th,table.data td{padding:7px 10px;text-align:right;white-space:nowrap}
table.data td{border-top:1px solid #f0f1f3}
table.data th{font-size:11px;text-transform:uppercase;letter-spacing:.05em;color:var(--mute);font-weight:600;
border-bottom:1px solid var(--line)}
table.data th:first-child,table.data td:first-child{text-align:left;color:var(--mute)}
table.data td.param{color:var(--ink);font-weight:600}
table.data .l{text-align:left}
table.data tbody tr:hover td{background:#f9fafb}
table.data tr.best td{background:#eff6ff}
table.data th.obj{color:var(--accent)}
table.sortable th{cursor:pointer;user-select:none}
table.sortable th:hover{color:var(--ink)}
table.sortable th.asc::after{content:" \25B2"}table.sortable th.desc::after{content:" \25BC"}
.foot{color:var(--mute);font-size:12px;margin:10px 0 0}
.note{color:var(--mute);font-size:13px;background:#fafafa;border:1px dashed #d1d5db;border-radius:8px;padding:12px 14px;margin:0 0 12px}
.cnav{display:flex;flex-wrap:wrap;gap:6px;margin:-2px 0 12px}
.cnav a{font-size:12px;border:1px solid var(--line);background:#fff;border-radius:999px;padding:2px 10px;color:var(--ink2)}
details.cand{background:#fff;border:1px solid var(--line);border-radius:14px;margin-bottom:14px;
box-shadow:0 1px 2px rgba(16,24,40,.04)}
details.cand>summary{list-style:none;cursor:pointer;padding:14px 18px;display:flex;gap:12px;align-items:center;flex-wrap:wrap}
details.cand>summary::-webkit-details-marker{display:none}
details.cand>summary::before{content:"\25B8";color:var(--mute);font-size:13px;transition:transform .15s}
details.cand[open]>summary::before{transform:rotate(90deg)}
details.cand[open]>summary{border-bottom:1px solid var(--line)}
.rank{background:var(--accent);color:#fff;border-radius:6px;padding:1px 8px;font-weight:700;font-size:13px}
.rank.alt{background:#64748b}
.ptext{font-weight:650;font-size:15px}
.sumstats{margin-left:auto;display:flex;gap:16px;color:var(--mute);font-size:13px;align-items:center}
.sumstats b{color:var(--ink);font-weight:600}
.sumstats code{color:#9ca3af}
.cbody{padding:16px 16px 4px;background:#fbfbfc;border-radius:0 0 14px 14px}
.cbody .card{box-shadow:none}
.chart{width:100%;height:auto;display:block;overflow:visible}
.chart text{font-size:11px;fill:#6b7280}
.chart .grid{stroke:#eef0f3;stroke-width:1}
.chart .axis{stroke:#cbd5e1;stroke-width:1}
.chart .zero{stroke:#9ca3af;stroke-width:1}
.chart .ref{stroke:#7c3aed;stroke-width:1;stroke-dasharray:4 4;opacity:.6}
.chart .reflab{fill:#6d28d9;font-size:11px}
.chart .mark{fill:#991b1b;font-size:11px;font-weight:600}
.chart .reflab,.chart .mark,.chart .rk{paint-order:stroke;stroke:#fff;stroke-width:3px;stroke-linejoin:round}
.chart .cursor{stroke:#111827;stroke-width:1;stroke-dasharray:3 3;display:none}
.chart .axlab{font-size:12px;fill:#374151}
.chart .pt{fill:#94a3b8;fill-opacity:.55;stroke:#64748b;stroke-opacity:.5}
.chart .pp{fill:#f59e0b;stroke:#b45309;stroke-width:1}
.chart .front{fill:none;stroke:#f59e0b;stroke-width:1.5;stroke-dasharray:5 4}
.chart .ring{fill:none;stroke:#2563eb;stroke-width:2}
.chart .rk{fill:#1d4ed8;font-size:11px;font-weight:700}
.legend{display:flex;gap:16px;font-size:12px;color:var(--ink2);margin:-4px 0 6px;flex-wrap:wrap}
.legend i{display:inline-block;width:16px;height:3px;border-radius:2px;vertical-align:middle;margin-right:6px}
.legend i.dash{background:repeating-linear-gradient(90deg,#94a3b8 0 5px,transparent 5px 8px)}
.legend i.dot{width:9px;height:9px;border-radius:50%;background:#94a3b8;opacity:.8}
.legend i.dot.pareto{background:#f59e0b;opacity:1}
.legend i.dot.ringed{background:none;border:2px solid #2563eb}
table.heat{border-collapse:separate;border-spacing:2px;width:100%}
table.heat th{font-size:11px;color:var(--mute);font-weight:600;padding:3px 6px;text-align:center;white-space:nowrap}
table.heat tbody th{text-align:right}
table.heat td{text-align:center;font-size:12px;padding:5px 4px;border-radius:4px;min-width:42px;white-space:nowrap}
table.heat td.void{background:var(--soft)}
table.heat .yr{font-weight:700}
table.heat th.yr{color:var(--ink2)}
table.heat td.yr{border-left:2px solid #fff}
table.pmap .corner{text-align:left;color:var(--ink2)}
table.pmap tbody th,table.monthly tbody th{width:1%}
table.pmap td.bestcell{outline:2px solid #111827;outline-offset:-2px;font-weight:700}
table.pmap.dense td{min-width:14px;height:18px;padding:0}
.maps{display:grid;grid-template-columns:repeat(auto-fit,minmax(520px,1fr));gap:0 14px}
.stats{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px 18px;margin:0 0 12px}
.stats div{display:flex;flex-direction:column}
.stats div.wide{grid-column:span 2}
.stats span{font-size:11px;color:var(--mute);text-transform:uppercase;letter-spacing:.05em;font-weight:600}
.stats b{font-size:15px;font-weight:600}
.mgrid{columns:3 250px;column-gap:32px}
.mgrid>div{break-inside:avoid;margin-bottom:10px}
.mgrid h4{margin:0 0 4px;font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--accent)}
table.kv th,table.kv td{padding:4px 0;border-top:1px solid #f0f1f3;font-size:13px}
table.kv th{text-align:left;font-weight:400;color:var(--ink2)}
table.kv td{text-align:right;font-weight:600}
table.kv tr:first-child th,table.kv tr:first-child td{border-top:none}
table.rules td,table.fp td{text-align:left;font-weight:400;word-break:break-all}
table.rules th,table.fp th{width:120px;vertical-align:top}
.grid2{display:grid;grid-template-columns:1fr 1fr;gap:0 14px}
details.canon summary{cursor:pointer;color:var(--ink2);font-size:13px}
details.canon pre{background:#fff;border:1px solid var(--line);border-radius:8px;padding:12px;overflow:auto;max-height:420px}
footer{margin-top:36px;padding-top:14px;border-top:1px solid var(--line);color:var(--mute);font-size:12px;display:flex;justify-content:space-between;gap:12px;flex-wrap:wrap}
.tip{position:absolute;display:none;pointer-events:none;background:#111827;color:#f9fafb;font-size:12px;
line-height:1.45;padding:7px 10px;border-radius:7px;white-space:pre;box-shadow:0 6px 18px rgba(0,0,0,.18);z-index:10}
.chartwrap{overflow-x:auto}
@media (max-width:820px){.grid2,.maps{grid-template-columns:1fr}.sumstats{margin-left:0}.page{padding:18px 14px}
.cbody{padding:10px 8px 2px}.card{padding:12px}.chart{min-width:620px}}
@media print{body{background:#fff}.card,details.cand{box-shadow:none;break-inside:avoid}.tip{display:none!important}}
)CSS";

// Styles of the sections from the optional files; included only when one of them is present,
// so reports without them stay byte for byte what they were.
constexpr std::string_view kExtraCss = R"CSS(
.card>h4{margin:2px 0 6px;font-size:12px;text-transform:uppercase;letter-spacing:.06em;color:var(--accent)}
table.data tr.worst td{background:#fef2f2}
table.data tr.total td{font-weight:650;border-top:1px solid var(--line)}
table.data th.grp{text-align:center;color:var(--ink2)}
table.data .sep{border-left:1px solid var(--line)}
table.consist thead tr:first-child th{border-bottom:none}
table.consist th,table.consist td,table.fills th,table.fills td{padding:6px 7px}
table.consist td b{font-weight:650;text-transform:uppercase;font-size:12px}
.sbar{display:inline-block;height:9px;border-radius:2px;background:#2563eb;opacity:.7;vertical-align:middle}
)CSS";

// Styles of the quality-gates section; included only when gates.json is present, so reports
// without it stay byte for byte what they were.
constexpr std::string_view kGatesCss = R"CSS(
table.gates td.gate.pass{background:#dcfce7;color:#166534}
table.gates td.gate.fail{background:#fee2e2;color:#991b1b;font-weight:600}
table.gates td.gate{cursor:help}
table.gates th,table.gates td{padding:6px 7px}
.badge{display:inline-block;border-radius:999px;padding:0 8px;font-size:11px;font-weight:700;text-transform:uppercase;letter-spacing:.04em}
.badge.pass{background:#dcfce7;color:#166534}.badge.fail{background:#fee2e2;color:#991b1b}
.chart .hneg{fill:#dc2626;fill-opacity:.6}.chart .hpos{fill:#2563eb;fill-opacity:.6}
)CSS";

constexpr std::string_view kScript = R"JS(
(function(){
var tip=document.createElement('div');tip.className='tip';document.body.appendChild(tip);
document.querySelectorAll('svg[data-tip]').forEach(function(s){
var d=JSON.parse(s.getAttribute('data-tip')),cur=s.querySelector('.cursor');
function hide(){tip.style.display='none';if(cur)cur.style.display='none';}
s.addEventListener('mousemove',function(e){
var r=s.getBoundingClientRect(),x=(e.clientX-r.left)*d.w/r.width,f=(x-d.x0)/(d.x1-d.x0);
if(f<0||f>1||!d.i.length){hide();return;}
var k=Math.round(f*(d.i.length-1)),px=d.x0+(d.n>1?d.i[k]/(d.n-1):0)*(d.x1-d.x0);
if(cur){cur.setAttribute('x1',px);cur.setAttribute('x2',px);cur.style.display='inline';}
tip.textContent=d.l[k];tip.style.display='block';
var left=e.pageX+14,maxl=window.scrollX+document.documentElement.clientWidth-tip.offsetWidth-8;
tip.style.left=Math.min(left,maxl)+'px';tip.style.top=(e.pageY+14)+'px';});
s.addEventListener('mouseleave',hide);});
document.querySelectorAll('table.sortable').forEach(function(t){
t.querySelectorAll('thead th').forEach(function(th){th.addEventListener('click',function(){
var i=th.cellIndex,b=t.tBodies[0],rows=Array.prototype.slice.call(b.rows),asc=!th.classList.contains('asc');
t.querySelectorAll('thead th').forEach(function(h){h.classList.remove('asc','desc');});
th.classList.add(asc?'asc':'desc');
function key(r){var c=r.cells[i],v=c&&c.getAttribute('data-v');
return v===null?(c?c.textContent:''):(v===''?null:parseFloat(v));}
rows.sort(function(a,c){var x=key(a),y=key(c);if(x===y)return 0;if(x===null)return 1;if(y===null)return -1;
var o=(typeof x==='number'&&typeof y==='number')?x-y:String(x).localeCompare(String(y));return asc?o:-o;});
rows.forEach(function(r){b.appendChild(r);});});});});
function openHash(){var h=decodeURIComponent(location.hash.slice(1)),e=h&&document.getElementById(h);
if(e&&e.tagName==='DETAILS'){e.open=true;e.scrollIntoView();}}
window.addEventListener('hashchange',openHash);openHash();
})();
)JS";

}  // namespace

std::string RenderReport(const SweepOutput& output, const ReportExtras& extras,
                         const ReportOptions& options) {
  Context cx{.out = output, .options = options, .objective = output.objective, .extras = &extras};
  std::string objective_note;
  if (FindField(cx.objective) == nullptr) {
    objective_note = fmt::format(
        "The objective '{}' is not a metric; candidates are ranked by Sharpe here.", cx.objective);
    cx.objective = "sharpe";
  }
  const std::size_t n = output.results.size();
  cx.hashes.reserve(n);
  for (const CombinationResult& r : output.results)
    cx.hashes.push_back(engines::ParamsHash(r.params));
  // The ranking: the run's own top list, else by the objective.
  for (std::size_t i : output.top) {
    if (i < n && !cx.rank.contains(i)) {
      cx.rank[i] = cx.ranking.size() + 1;
      cx.ranking.push_back(i);
    }
  }
  if (cx.ranking.empty() && n > 0) {
    Result<std::vector<std::size_t>> ranked = engines::RankResults(output.results, cx.objective, 0);
    if (ranked.ok()) {
      for (std::size_t i : *ranked) {
        cx.rank[i] = cx.ranking.size() + 1;
        cx.ranking.push_back(i);
      }
    }
  }
  for (const CandidateDetail& d : output.details) {
    if (d.index < n && !cx.details.contains(d.index)) cx.details[d.index] = &d;
  }

  std::string h;
  h.reserve(1 << 16);
  h += "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">"
       "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">"
       "<meta name=\"generator\" content=\"qraft report\">";
  h += fmt::format("<title>{} \u2014 Qraft {} report</title><style>",
                   Esc(output.name.empty() ? "Unnamed strategy" : output.name), Esc(output.kind));
  h += kCss;
  if (HasExtras(extras)) h += kExtraCss;
  if (extras.gates) h += kGatesCss;
  h += "</style></head><body><div class=\"page\">";
  h += Header(cx);
  if (!objective_note.empty()) h += Note(objective_note);
  if (!cx.ranking.empty()) {
    const std::size_t best = cx.ranking.front();
    h += fmt::format(
        "<p class=\"bestline\">Best by {}: <b>{}</b> <span class=\"na\">(combination {}, "
        "<code>{}</code>)</span></p>",
        Esc(InfoOf(cx.objective).label), Esc(ParamsText(output.results[best].params)), best,
        cx.hashes[best]);
    h += Kpis(cx, best);
  }
  h += TopTable(cx);
  h += CandidatesSection(cx);
  h += SweepSection(cx);
  if (extras.sensitivity) h += SensitivitySection(cx, *extras.sensitivity);
  if (extras.consistency) h += ConsistencySection(cx, *extras.consistency);
  if (extras.gates) h += GatesSection(cx, *extras.gates);
  h += RulesAndFingerprints(cx);
  std::string sources = "result.json and candidates/";
  if (HasExtras(extras)) {
    sources = "result.json, candidates/";
    if (!extras.logs.empty()) sources += " (with order and fill logs)";
    if (extras.sensitivity) sources += ", sensitivity.json";
    if (extras.consistency) sources += ", consistency.json";
    if (extras.gates) sources += ", gates.json";
  }
  h += fmt::format(
      "<footer><span>Generated by <b>qraft report</b> from {} (format qraft-result-v1).</span>"
      "<span>Metrics as defined in docs/metrics.md \u00b7 {}</span></footer>",
      sources, Esc(output.code_version.empty() ? std::string("qraft") : output.code_version));
  h += "</div><script>";
  h += kScript;
  h += "</script></body></html>\n";
  return h;
}

std::string RenderReport(const SweepOutput& output, const ReportOptions& options) {
  return RenderReport(output, ReportExtras{}, options);
}

Status WriteReport(const SweepOutput& output, const ReportExtras& extras, const fs::path& html_path,
                   const ReportOptions& options) {
  return WriteFileAtomically(html_path, RenderReport(output, extras, options));
}

Status WriteReport(const SweepOutput& output, const fs::path& html_path,
                   const ReportOptions& options) {
  return WriteReport(output, ReportExtras{}, html_path, options);
}

Result<ReportExtras> ReadReportExtras(const fs::path& dir, const SweepOutput& output) {
  ReportExtras extras;
  for (const CandidateDetail& d : output.details) {
    if (d.index >= output.results.size() || extras.logs.contains(d.index)) continue;
    const fs::path cand = dir / "candidates" / engines::ParamsHash(output.results[d.index].params);
    OrderLog log;
    if (const fs::path file = cand / "orders.csv"; Exists(file)) {
      QRAFT_ASSIGN_OR_RETURN(log.orders, ReadOrders(file));
    }
    if (const fs::path file = cand / "fills.csv"; Exists(file)) {
      QRAFT_ASSIGN_OR_RETURN(log.fills, ReadFills(file));
    }
    if (log.orders || log.fills) extras.logs.emplace(d.index, std::move(log));
  }
  if (const fs::path file = dir / "sensitivity.json"; Exists(file)) {
    QRAFT_ASSIGN_OR_RETURN(extras.sensitivity, ReadSensitivity(file));
  }
  if (const fs::path file = dir / "consistency.json"; Exists(file)) {
    QRAFT_ASSIGN_OR_RETURN(extras.consistency, ReadConsistency(file));
  }
  if (const fs::path file = dir / "gates.json"; Exists(file)) {
    QRAFT_ASSIGN_OR_RETURN(extras.gates, ReadGates(file));
  }
  return extras;
}

}  // namespace qraft::report
