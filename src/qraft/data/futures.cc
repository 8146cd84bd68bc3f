#include "qraft/data/futures.h"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstddef>
#include <iterator>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <regex>
#include <span>
#include <string>
#include <utility>

#include "qraft/core/parallel.h"
#include "qraft/data/adjust.h"
#include "qraft/data/mapping.h"

namespace qraft::data {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kNone = std::numeric_limits<std::size_t>::max();

bool Known(double x) {
  return !std::isnan(x);
}

std::string When(const Calendar& cal, std::size_t t) {
  return FormatTimestamp(cal[t], true);
}

// A change of held contract at bar t.
struct Roll {
  std::size_t t;
  double from, to;
};

// Rolls of a held-contract series: bars without a contract are skipped.
std::vector<Roll> FindRolls(std::span<const double> contract) {
  std::vector<Roll> rolls;
  double held = kNaN;
  for (std::size_t t = 0; t < contract.size(); ++t) {
    if (!Known(contract[t])) continue;
    if (Known(held) && contract[t] != held) rolls.push_back({t, held, contract[t]});
    held = contract[t];
  }
  return rolls;
}

// Measures the gap of every roll (file comment of futures.h) and returns the per-bar adjustment:
// an offset (kBack) or a multiplier (kRatio) for every bar; all neutral for kNone.
// `new_price_at(p, roll)` is the price of roll.to at bar p, NaN when unknown.
template <class NewPriceAt>
Result<std::vector<double>> MeasureRolls(const std::string& symbol, const Calendar& cal,
                                         std::span<const double> close,
                                         const std::vector<Roll>& rolls, RollAdjust adjust,
                                         NewPriceAt&& new_price_at,
                                         std::vector<RollEvent>* events) {
  const std::size_t T = close.size();
  const bool ratio = adjust == RollAdjust::kRatio;
  const double neutral = ratio ? 1.0 : 0.0;
  std::vector<double> gaps(rolls.size(), neutral);
  for (std::size_t i = 0; i < rolls.size(); ++i) {
    const Roll& r = rolls[i];
    std::size_t p = r.t;
    while (p > 0 && !Known(close[p - 1]))
      --p;
    p = p > 0 ? p - 1 : kNone;
    RollEvent e;
    e.symbol = symbol;
    e.time = cal[r.t];
    e.from_contract = r.from;
    e.to_contract = r.to;
    e.old_price = p != kNone ? close[p] : kNaN;
    e.new_price = kNaN;
    if (p != kNone) e.new_price = new_price_at(p, r);
    e.same_day = Known(e.old_price) && Known(e.new_price);
    if (!e.same_day) {
      // Close to close: the first close on the new contract, before the next roll.
      const std::size_t limit = i + 1 < rolls.size() ? rolls[i + 1].t : T;
      std::size_t q = r.t;
      while (q < limit && !Known(close[q]))
        ++q;
      e.new_price = q < limit ? close[q] : kNaN;
    }
    const bool measured = Known(e.old_price) && Known(e.new_price);
    if (measured && ratio) {
      if (!(e.old_price > 0 && e.new_price > 0)) {
        return Status::DataError(
            fmt::format("{} at {}: cannot ratio-adjust the roll from {} to {}: prices {} and {} "
                        "must be positive "
                        "(use --roll-adjust back)",
                        symbol, When(cal, r.t), r.from, r.to, e.old_price, e.new_price));
      }
      e.gap = e.new_price / e.old_price;
    } else if (measured) {
      e.gap = e.new_price - e.old_price;
    } else {
      e.gap = neutral;
    }
    if (adjust != RollAdjust::kNone) gaps[i] = e.gap;
    events->push_back(std::move(e));
  }
  // Bars before roll i get gaps i, i+1, ...: accumulate from the last roll backwards.
  std::vector<double> adj(T, neutral);
  double acc = neutral;
  std::size_t end = T;
  for (std::size_t i = rolls.size(); i-- > 0;) {
    std::fill(adj.begin() + static_cast<std::ptrdiff_t>(rolls[i].t),
              adj.begin() + static_cast<std::ptrdiff_t>(end), acc);
    acc = ratio ? acc * gaps[i] : acc + gaps[i];
    end = rolls[i].t;
  }
  std::fill(adj.begin(), adj.begin() + static_cast<std::ptrdiff_t>(end), acc);
  return adj;
}

// The built panel and every series' rolls, in series order.
ContinuousResult Finish(PanelBuilder b, std::vector<std::vector<RollEvent>> events) {
  ContinuousResult result;
  result.panel = std::move(b).Build();
  for (auto& e : events)
    std::move(e.begin(), e.end(), std::back_inserter(result.rolls));
  return result;
}

void AdjustSeries(std::span<const double> raw, const std::vector<double>& adj, bool ratio,
                  double* out) {
  for (std::size_t t = 0; t < raw.size(); ++t)
    out[t] = ratio ? raw[t] * adj[t] : raw[t] + adj[t];
}

// The output field names: the input's, minus those we replace, plus raw_close and contract.
std::vector<std::string> OutputFields(const Panel& in) {
  std::vector<std::string> names;
  for (const std::string& n : in.field_names()) {
    if (n != "raw_close" && n != "contract") names.push_back(n);
  }
  names.push_back("raw_close");
  names.push_back("contract");
  SortFieldNames(names);
  return names;
}

Status RequireField(const Panel& in, std::string_view field, std::string_view why) {
  if (in.HasField(field)) return Status::OK();
  return Status::InvalidArgument(
      fmt::format("continuous futures: the data has no '{}' field ({}); fields are: {}", field, why,
                  fmt::join(in.field_names(), ", ")));
}

// ---- held-contract input -------------------------------------------------------------------

Result<ContinuousResult> BuildHeld(const Panel& in, const ContinuousOptions& opt) {
  QRAFT_RETURN_NOT_OK(RequireField(in, "close", "the prices to adjust"));
  QRAFT_RETURN_NOT_OK(RequireField(in, "contract",
                                   "the held contract id per bar, e.g. pysystemtrade's "
                                   "PRICE_CONTRACT; map it with --field contract=COLUMN"));
  const std::size_t S = in.num_symbols(), T = in.num_times();
  const std::size_t close_f = *in.FindField("close"), contract_f = *in.FindField("contract");
  const auto carry_f = in.FindField("carry"), carry_contract_f = in.FindField("carry_contract");
  std::vector<std::size_t> price_fields;
  for (std::size_t f = 0; f < in.num_fields(); ++f) {
    if (IsAdjustedPriceField(in.field_names()[f])) price_fields.push_back(f);
  }

  PanelBuilder b(in.calendar(), in.symbols().names());
  auto keep = std::make_shared<Panel>(in);
  std::vector<std::pair<std::size_t, double*>> adjusted;  // input field, output storage
  double* contract_out = nullptr;
  for (const std::string& name : OutputFields(in)) {
    if (name == "raw_close") {
      b.AddExternalField(name, in.field(close_f).data(), keep);
    } else if (name == "contract") {
      contract_out = b.AddField(name).data();
    } else if (const std::size_t f = *in.FindField(name); IsAdjustedPriceField(name)) {
      adjusted.emplace_back(f, b.AddField(name).data());
    } else {
      b.AddExternalField(name, in.field(f).data(), keep);
    }
  }

  std::vector<std::vector<RollEvent>> events(S);
  const bool ratio = opt.adjust == RollAdjust::kRatio;
  Status st = ParallelForStatus(S, 4, [&](std::size_t lo, std::size_t hi) -> Status {
    for (std::size_t s = lo; s < hi; ++s) {
      // The held contract per bar: given, else carried over bars that have a price.
      const auto given = in.series(contract_f, s);
      std::span<double> held(contract_out + s * T, T);
      double last = kNaN;
      for (std::size_t t = 0; t < T && !Known(last); ++t)
        last = given[t];  // leading bars: first
      for (std::size_t t = 0; t < T; ++t) {
        if (Known(given[t])) {
          last = given[t];
          held[t] = last;
          continue;
        }
        const bool priced = std::any_of(price_fields.begin(), price_fields.end(),
                                        [&](std::size_t f) { return Known(in.at(f, s, t)); });
        held[t] = priced ? last : kNaN;
      }
      const std::vector<Roll> rolls = FindRolls(held);
      const auto carry = carry_f ? in.series(*carry_f, s) : std::span<const double>();
      const auto carry_contract =
          carry_contract_f ? in.series(*carry_contract_f, s) : std::span<const double>();
      auto new_price_at = [&](std::size_t p, const Roll& r) {
        // `carry` prices the new contract only when carry_contract names it.
        if (carry.empty() || carry_contract.empty() || carry_contract[p] != r.to) return kNaN;
        return carry[p];
      };
      QRAFT_ASSIGN_OR_RETURN(std::vector<double> adj,
                             MeasureRolls(in.symbols()[s], in.calendar(), in.series(close_f, s),
                                          rolls, opt.adjust, new_price_at, &events[s]));
      for (const auto& [f, out] : adjusted)
        AdjustSeries(in.series(f, s), adj, ratio, out + s * T);
    }
    return Status::OK();
  });
  QRAFT_RETURN_NOT_OK(st);

  return Finish(std::move(b), std::move(events));
}

// ---- per-contract input ----------------------------------------------------------------------

struct Contract {
  std::size_t symbol;  // input symbol index
  int year, month;
  double id;  // year * 100 + month
};

int MonthFromCode(char c) {
  static constexpr std::string_view kCodes = "FGHJKMNQUVXZ";
  const auto i = kCodes.find(static_cast<char>(std::toupper(static_cast<unsigned char>(c))));
  return i == std::string_view::npos ? 0 : static_cast<int>(i) + 1;
}

bool IsMonthCode(const std::string& g) {
  return g.size() == 1 && MonthFromCode(g[0]) != 0;
}

// Digits only (no sign).
std::optional<int> ParseDigits(const std::string& g) {
  if (g.empty() ||
      !std::all_of(g.begin(), g.end(), [](unsigned char c) { return std::isdigit(c); }))
    return std::nullopt;
  int v = 0;
  const auto [ptr, ec] = std::from_chars(g.data(), g.data() + g.size(), v);
  if (ec != std::errc() || ptr != g.data() + g.size()) return std::nullopt;
  return v;
}

// Root and contract of one symbol.
Result<std::pair<std::string, Contract>> ParseContract(const std::string& symbol, std::size_t index,
                                                       const std::regex& re,
                                                       const ContinuousOptions& opt) {
  std::smatch m;
  if (!std::regex_match(symbol, m, re)) {
    return Status::DataError(
        fmt::format("symbol '{}' does not match the contract pattern '{}' (groups: root, month, "
                    "year; set it with "
                    "--contract-pattern)",
                    symbol, opt.contract_pattern));
  }
  const std::string root = m[1].str(), g2 = m[2].str(), g3 = m[3].str();
  // Which group is the month: a month-code letter, else not the 4-digit one, else by option.
  bool month_first = opt.month_code_first;
  if (IsMonthCode(g2) != IsMonthCode(g3)) {
    month_first = IsMonthCode(g2);
  } else if ((g2.size() == 4) != (g3.size() == 4)) {
    month_first = g3.size() == 4;
  }
  const std::string& month_text = month_first ? g2 : g3;
  const std::string& year_text = month_first ? g3 : g2;
  auto bad = [&](std::string_view what) {
    return Status::DataError(
        fmt::format("symbol '{}' (contract pattern '{}'): {}", symbol, opt.contract_pattern, what));
  };
  if (root.empty()) return bad("empty root (group 1)");
  int month =
      IsMonthCode(month_text) ? MonthFromCode(month_text[0]) : ParseDigits(month_text).value_or(0);
  if (month < 1 || month > 12) {
    return bad(fmt::format("month '{}' is neither a month code (F G H J K M N Q U V X Z) nor 1-12",
                           month_text));
  }
  const std::optional<int> year = ParseDigits(year_text);
  if (!year || (year_text.size() != 2 && year_text.size() != 4)) {
    return bad(fmt::format("year '{}' must have 2 or 4 digits", year_text));
  }
  Contract c;
  c.symbol = index;
  c.year = year_text.size() == 2 ? 2000 + *year : *year;
  c.month = month;
  c.id = c.year * 100.0 + c.month;
  return std::make_pair(root, c);
}

// Input symbol per bar (kNone: nothing held) for one root's contracts, sorted by id.
std::vector<std::size_t> ChooseContracts(const Panel& in, const std::vector<Contract>& contracts,
                                         std::size_t close_f, std::optional<std::size_t> metric_f,
                                         const ContinuousOptions& opt) {
  const std::size_t T = in.num_times(), K = contracts.size();
  std::vector<std::size_t> chosen(T, kNone);
  auto close = [&](std::size_t k, std::size_t t) { return in.at(close_f, contracts[k].symbol, t); };

  if (opt.rule == RollRule::kCalendar) {
    const Calendar& cal = in.calendar();
    std::size_t lo = T, hi = 0;
    std::vector<std::ptrdiff_t> leave(K);  // first bar no longer held
    std::vector<bool> traded(K, false);
    for (std::size_t k = 0; k < K; ++k) {
      const Contract& c = contracts[k];
      leave[k] = static_cast<std::ptrdiff_t>(cal.LowerBound(DateTimestamp(c.year, c.month, 1))) -
                 opt.days_before_expiry;
      for (std::size_t t = 0; t < T; ++t) {
        if (Known(close(k, t))) {
          traded[k] = true;
          lo = std::min(lo, t);
          hi = std::max(hi, t);
        }
      }
    }
    std::size_t k = 0;
    for (std::size_t t = lo; t <= hi && t < T; ++t) {
      // Leave times grow with the id, so one forward pointer finds the nearest contract.
      while (k < K && (!traded[k] || static_cast<std::ptrdiff_t>(t) >= leave[k]))
        ++k;
      if (k == K) break;
      chosen[t] = contracts[k].symbol;
    }
    return chosen;
  }

  std::size_t held = kNone;  // index into contracts
  for (std::size_t t = 0; t < T; ++t) {
    if (held == kNone) {
      for (std::size_t k = 0; k < K && held == kNone; ++k) {
        if (Known(close(k, t))) held = k;
      }
    } else {
      // Decided on the previous bar: the later contract with the largest value, if it beats ours.
      const double mine = in.at(*metric_f, contracts[held].symbol, t - 1);
      double best = Known(mine) ? mine : -std::numeric_limits<double>::infinity();
      std::size_t pick = held;
      for (std::size_t k = held + 1; k < K; ++k) {
        const double v = in.at(*metric_f, contracts[k].symbol, t - 1);
        if (Known(v) && v > best) {
          best = v;
          pick = k;
        }
      }
      held = pick;
    }
    if (held != kNone) chosen[t] = contracts[held].symbol;
  }
  return chosen;
}

Result<ContinuousResult> BuildPerContract(const Panel& in, const ContinuousOptions& opt) {
  QRAFT_RETURN_NOT_OK(RequireField(in, "close", "the prices to adjust"));
  std::optional<std::size_t> metric_f;
  if (opt.rule == RollRule::kVolume) {
    QRAFT_RETURN_NOT_OK(
        RequireField(in, "volume", "the volume roll rule compares contract volumes"));
    metric_f = in.FindField("volume");
  } else if (opt.rule == RollRule::kOpenInterest) {
    QRAFT_RETURN_NOT_OK(RequireField(
        in, "open_interest", "the open_interest roll rule compares contracts' open interest"));
    metric_f = in.FindField("open_interest");
  } else if (opt.days_before_expiry < 0) {
    return Status::InvalidArgument(fmt::format(
        "calendar roll: days before expiry must be >= 0, was {}", opt.days_before_expiry));
  }
  std::regex re;
  try {
    re = std::regex(opt.contract_pattern);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(
        fmt::format("contract pattern '{}': {}", opt.contract_pattern, e.what()));
  }
  if (re.mark_count() < 3) {
    return Status::InvalidArgument(
        fmt::format("contract pattern '{}': needs three groups (root, month, year), has {}",
                    opt.contract_pattern, re.mark_count()));
  }

  std::map<std::string, std::vector<Contract>> roots;
  for (std::size_t s = 0; s < in.num_symbols(); ++s) {
    QRAFT_ASSIGN_OR_RETURN(auto parsed, ParseContract(in.symbols()[s], s, re, opt));
    roots[parsed.first].push_back(parsed.second);
  }
  std::vector<std::string> names;
  std::vector<std::vector<Contract>> groups;
  for (auto& [root, contracts] : roots) {
    std::stable_sort(contracts.begin(), contracts.end(),
                     [](const Contract& a, const Contract& b) { return a.id < b.id; });
    for (std::size_t k = 1; k < contracts.size(); ++k) {
      if (contracts[k].id == contracts[k - 1].id) {
        return Status::DataError(
            fmt::format("symbols '{}' and '{}' are the same contract ({} {:04d}-{:02d})",
                        in.symbols()[contracts[k - 1].symbol], in.symbols()[contracts[k].symbol],
                        root, contracts[k].year, contracts[k].month));
      }
    }
    names.push_back(root);
    groups.push_back(std::move(contracts));
  }

  const std::size_t R = names.size(), T = in.num_times();
  const std::size_t close_f = *in.FindField("close");
  std::vector<double> id_of(in.num_symbols(), kNaN);  // input symbol -> contract id
  for (const auto& contracts : groups) {
    for (const Contract& c : contracts)
      id_of[c.symbol] = c.id;
  }
  PanelBuilder b(in.calendar(), names);
  std::vector<std::pair<std::size_t, double*>> gathered;  // input field, output storage
  double* contract_out = nullptr;
  double* raw_close_out = nullptr;
  for (const std::string& name : OutputFields(in)) {
    double* out = b.AddField(name).data();
    if (name == "contract") {
      contract_out = out;
    } else if (name == "raw_close") {
      raw_close_out = out;
    } else {
      gathered.emplace_back(*in.FindField(name), out);
    }
  }

  std::vector<std::vector<RollEvent>> events(R);
  const bool ratio = opt.adjust == RollAdjust::kRatio;
  Status st = ParallelForStatus(R, 1, [&](std::size_t lo, std::size_t hi) -> Status {
    for (std::size_t r = lo; r < hi; ++r) {
      const std::vector<Contract>& contracts = groups[r];
      std::vector<std::size_t> source = ChooseContracts(in, contracts, close_f, metric_f, opt);
      // A bar exists where the held contract has a close.
      std::span<double> held(contract_out + r * T, T), raw_close(raw_close_out + r * T, T);
      for (std::size_t t = 0; t < T; ++t) {
        if (source[t] != kNone && !Known(in.at(close_f, source[t], t))) source[t] = kNone;
        held[t] = source[t] != kNone ? id_of[source[t]] : kNaN;
        raw_close[t] = source[t] != kNone ? in.at(close_f, source[t], t) : kNaN;
      }
      const std::vector<Roll> rolls = FindRolls(held);
      auto new_price_at = [&](std::size_t p, const Roll& roll) {
        const auto c = std::find_if(contracts.begin(), contracts.end(),
                                    [&](const Contract& x) { return x.id == roll.to; });
        return in.at(close_f, c->symbol, p);
      };
      QRAFT_ASSIGN_OR_RETURN(std::vector<double> adj,
                             MeasureRolls(names[r], in.calendar(), raw_close, rolls, opt.adjust,
                                          new_price_at, &events[r]));
      for (const auto& [f, out] : gathered) {
        double* o = out + r * T;
        const bool price = IsAdjustedPriceField(in.field_names()[f]);
        for (std::size_t t = 0; t < T; ++t) {
          const double x = source[t] != kNone ? in.at(f, source[t], t) : kNaN;
          o[t] = !price ? x : ratio ? x * adj[t] : x + adj[t];
        }
      }
    }
    return Status::OK();
  });
  QRAFT_RETURN_NOT_OK(st);

  return Finish(std::move(b), std::move(events));
}

}  // namespace

Result<ContinuousOptions> ParseRollRule(std::string_view text, ContinuousOptions base) {
  if (text == "held") {
    base.rule = RollRule::kHeld;
  } else if (text == "volume") {
    base.rule = RollRule::kVolume;
  } else if (text == "open_interest" || text == "oi") {
    base.rule = RollRule::kOpenInterest;
  } else if (text == "calendar") {
    base.rule = RollRule::kCalendar;
  } else if (text.starts_with("calendar:")) {
    const std::string_view n = text.substr(9);
    int days = -1;
    const auto [ptr, ec] = std::from_chars(n.data(), n.data() + n.size(), days);
    if (n.empty() || ec != std::errc() || ptr != n.data() + n.size() || days < 0) {
      return Status::InvalidArgument(
          fmt::format("roll rule '{}': expected calendar:N with N a whole number of trading days "
                      ">= 0, e.g. calendar:5",
                      text));
    }
    base.rule = RollRule::kCalendar;
    base.days_before_expiry = days;
  } else {
    return Status::InvalidArgument(fmt::format(
        "roll rule '{}': expected held, volume, open_interest (oi), calendar or calendar:N", text));
  }
  return base;
}

Result<RollAdjust> ParseRollAdjust(std::string_view text) {
  if (text == "back" || text == "difference" || text == "panama") return RollAdjust::kBack;
  if (text == "ratio") return RollAdjust::kRatio;
  if (text == "none") return RollAdjust::kNone;
  return Status::InvalidArgument(fmt::format(
      "roll adjustment '{}': expected back (also difference, panama), ratio or none", text));
}

Result<ContinuousResult> BuildContinuous(const Panel& input, const ContinuousOptions& options) {
  return options.rule == RollRule::kHeld ? BuildHeld(input, options)
                                         : BuildPerContract(input, options);
}

}  // namespace qraft::data
