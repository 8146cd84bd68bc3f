#include "qraft/data/market.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cmath>
#include <fstream>
#include <limits>
#include <sstream>

#include "qraft/core/time.h"
#include "qraft/data/markets_embedded.h"

namespace qraft::data {

namespace {

std::string At(std::string_view source, const YAML::Node& n) {
  return fmt::format("{}:{}:{}", source, n.Mark().line + 1, n.Mark().column + 1);
}

Result<double> Number(const YAML::Node& n, const std::string& at, std::string_view what) {
  double x = 0;
  try {
    x = n.as<double>();
  } catch (const YAML::Exception&) {
    return Status::InvalidArgument(fmt::format("{}: {} must be a number", at, what));
  }
  if (!std::isfinite(x)) {
    return Status::InvalidArgument(fmt::format("{}: {} must be a finite number", at, what));
  }
  return x;
}

// A whole number >= 0 (days).
Result<double> Count(const YAML::Node& n, const std::string& at, std::string_view what) {
  QRAFT_ASSIGN_OR_RETURN(const double x, Number(n, at, what));
  if (!(x >= 0) || x != std::floor(x) || x > 1e6) {
    return Status::InvalidArgument(
        fmt::format("{}: {} must be a whole number >= 0, got {}", at, what, x));
  }
  return x;
}

// A section's keys, each once: yaml-cpp keeps duplicates, and the last one would win silently.
class SeenKeys {
 public:
  Status Add(const std::string& key, const std::string& at, std::string_view section) {
    if (std::find(keys_.begin(), keys_.end(), key) != keys_.end()) {
      return Status::InvalidArgument(fmt::format("{}: duplicate key '{}' in {}", at, key, section));
    }
    keys_.push_back(key);
    return Status::OK();
  }

 private:
  std::vector<std::string> keys_;
};

// A rule that may have changed on known dates: one value that always applies, or
// {YYYY-MM-DD: value, ...} with each value applying from its date (dates ascending). `value`
// checks and converts one value (node, where); `expected` describes the accepted forms.
template <typename ValueFn>
Result<Schedule> DatedSchedule(const YAML::Node& n, std::string_view source, const std::string& at,
                               std::string_view what, std::string_view expected,
                               const ValueFn& value) {
  Schedule out;
  if (n.IsScalar()) {
    QRAFT_ASSIGN_OR_RETURN(const double x, value(n, at));
    out.push_back({kNoTimestamp, x});
    return out;
  }
  if (!n.IsMap() || n.size() == 0) {
    return Status::InvalidArgument(fmt::format("{}: {} must be {}", at, what, expected));
  }
  for (const auto& kv : n) {
    const std::string where = At(source, kv.first);
    const std::string date = kv.first.as<std::string>();
    const auto parsed = ParseIsoDateTime(date);
    if (!parsed || parsed->has_time) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: '{}' is not a date (expected YYYY-MM-DD)", where, what, date));
    }
    QRAFT_ASSIGN_OR_RETURN(const double x, value(kv.second, where));
    if (!out.empty() && parsed->value <= out.back().from) {
      return Status::InvalidArgument(fmt::format(
          "{}: {}: dates must ascend ('{}' comes after a later one)", where, what, date));
    }
    out.push_back({parsed->value, x});
  }
  return out;
}

// A daily price limit: a fraction in (0, 1), or dated fractions.
Result<Schedule> LimitSchedule(const YAML::Node& n, std::string_view source, const std::string& at,
                               std::string_view what) {
  return DatedSchedule(n, source, at, what,
                       "a fraction, or dated fractions such as {2020-08-24: 0.2}",
                       [&](const YAML::Node& v, const std::string& where) -> Result<double> {
                         QRAFT_ASSIGN_OR_RETURN(const double x, Number(v, where, what));
                         if (!(x > 0 && x < 1)) {
                           return Status::InvalidArgument(fmt::format(
                               "{}: {} must be a fraction in (0, 1), got {}", where, what, x));
                         }
                         return x;
                       });
}

// Trading days without a limit after a listing: a whole number, or dated whole numbers.
Result<Schedule> DaysSchedule(const YAML::Node& n, std::string_view source, const std::string& at,
                              std::string_view what) {
  return DatedSchedule(
      n, source, at, what, "a whole number of days, or dated ones such as {2020-08-24: 5}",
      [&](const YAML::Node& v, const std::string& where) { return Count(v, where, what); });
}

// A levy in basis points of the traded value: a number in [0, 10000), or dated ones.
Result<Schedule> BpsSchedule(const YAML::Node& n, std::string_view source, const std::string& at,
                             std::string_view what) {
  return DatedSchedule(
      n, source, at, what, "basis points, or dated basis points such as {2023-08-28: 5}",
      [&](const YAML::Node& v, const std::string& where) -> Result<double> {
        QRAFT_ASSIGN_OR_RETURN(const double x, Number(v, where, what));
        if (!(x >= 0 && x < 1e4)) {
          return Status::InvalidArgument(
              fmt::format("{}: {} must be basis points in [0, 10000), got {}", where, what, x));
        }
        return x;
      });
}

// [{name, codes: [prefix, ...], price_limit, st_price_limit, no_limit_days_after_listing}, ...]
Result<std::vector<Board>> Boards(const YAML::Node& n, std::string_view source,
                                  const std::string& at) {
  if (!n.IsSequence()) {
    return Status::InvalidArgument(
        fmt::format("{}: trading.boards must be a list such as [{{name: chinext, codes: [\"300\"], "
                    "price_limit: 0.2}}]",
                    at));
  }
  std::vector<Board> out;
  for (const auto& item : n) {
    const std::string where = At(source, item);
    if (!item.IsMap()) {
      return Status::InvalidArgument(fmt::format("{}: a board must be a mapping", where));
    }
    Board b;
    SeenKeys seen;
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      const std::string key_at = At(source, kv.first);
      QRAFT_RETURN_NOT_OK(seen.Add(key, key_at, "a board"));
      if (key == "name") {
        b.name = kv.second.as<std::string>();
      } else if (key == "codes") {
        if (!kv.second.IsSequence() || kv.second.size() == 0) {
          return Status::InvalidArgument(fmt::format(
              "{}: codes must be a list of code prefixes such as [\"300\", \"301\"]", key_at));
        }
        for (const auto& c : kv.second)
          b.codes.push_back(c.as<std::string>());
      } else if (key == "price_limit") {
        QRAFT_ASSIGN_OR_RETURN(b.price_limit,
                               LimitSchedule(kv.second, source, key_at, "price_limit"));
      } else if (key == "st_price_limit") {
        QRAFT_ASSIGN_OR_RETURN(b.st_price_limit,
                               LimitSchedule(kv.second, source, key_at, "st_price_limit"));
      } else if (key == "no_limit_days_after_listing") {
        QRAFT_ASSIGN_OR_RETURN(
            b.no_limit_days_after_listing,
            DaysSchedule(kv.second, source, key_at, "no_limit_days_after_listing"));
      } else {
        return Status::InvalidArgument(
            fmt::format("{}: unknown key '{}' in a board (expected name, codes, price_limit, "
                        "st_price_limit, no_limit_days_after_listing)",
                        key_at, key));
      }
    }
    if (b.name.empty() || b.codes.empty()) {
      return Status::InvalidArgument(fmt::format("{}: a board needs a name and codes", where));
    }
    out.push_back(std::move(b));
  }
  return out;
}

// A quantity that must be > 0 (tick_size, size_increment, multiplier, ...).
Result<double> Positive(const YAML::Node& n, const std::string& at, std::string_view what) {
  QRAFT_ASSIGN_OR_RETURN(const double x, Number(n, at, what));
  if (!(x > 0)) return Status::InvalidArgument(fmt::format("{}: {} must be > 0", at, what));
  return x;
}

Status Trading(const YAML::Node& v, std::string_view source, const std::string& where,
               MarketSpec* m) {
  if (!v.IsMap()) {
    return Status::InvalidArgument(
        fmt::format("{}: trading must be a mapping such as {{lot_size: 100}}", where));
  }
  SeenKeys seen;
  for (const auto& rule : v) {
    const std::string name = rule.first.as<std::string>();
    const std::string at = At(source, rule.first);
    const std::string what = "trading." + name;
    QRAFT_RETURN_NOT_OK(seen.Add(name, at, "trading"));
    const YAML::Node& x = rule.second;
    if (name == "lot_size") {
      QRAFT_ASSIGN_OR_RETURN(m->lot_size, Positive(x, at, what));
    } else if (name == "tick_size") {
      QRAFT_ASSIGN_OR_RETURN(m->tick_size, Positive(x, at, what));
    } else if (name == "size_increment") {
      QRAFT_ASSIGN_OR_RETURN(m->size_increment, Positive(x, at, what));
    } else if (name == "sell_after_days") {
      QRAFT_ASSIGN_OR_RETURN(const double days, Count(x, at, what));
      m->sell_after_days = static_cast<int>(days);
    } else if (name == "multiplier") {
      QRAFT_ASSIGN_OR_RETURN(m->multiplier, Positive(x, at, what));
    } else if (name == "margin") {
      QRAFT_ASSIGN_OR_RETURN(m->margin, Positive(x, at, what));
      if (m->margin > 1) {
        return Status::InvalidArgument(
            fmt::format("{}: {} must be a fraction of the notional in (0, 1]", at, what));
      }
    } else if (name == "funding_interval_hours") {
      QRAFT_ASSIGN_OR_RETURN(m->funding_interval_hours, Positive(x, at, what));
    } else if (name == "price_limit") {
      QRAFT_ASSIGN_OR_RETURN(m->price_limit, LimitSchedule(x, source, at, what));
    } else if (name == "st_price_limit") {
      QRAFT_ASSIGN_OR_RETURN(m->st_price_limit, LimitSchedule(x, source, at, what));
    } else if (name == "no_limit_days_after_listing") {
      QRAFT_ASSIGN_OR_RETURN(m->no_limit_days_after_listing, DaysSchedule(x, source, at, what));
    } else if (name == "boards") {
      QRAFT_ASSIGN_OR_RETURN(m->boards, Boards(x, source, at));
    } else {
      return Status::InvalidArgument(
          fmt::format("{}: unknown key 'trading.{}' (expected lot_size, tick_size, size_increment, "
                      "sell_after_days, multiplier, margin, funding_interval_hours, price_limit, "
                      "st_price_limit, no_limit_days_after_listing, boards)",
                      at, name));
    }
  }
  return Status::OK();
}

Status Costs(const YAML::Node& v, std::string_view source, const std::string& where, PackCosts* c) {
  if (!v.IsMap()) {
    return Status::InvalidArgument(
        fmt::format("{}: costs must be a mapping such as {{commission_bps: 2.5}}", where));
  }
  SeenKeys seen;
  std::string maker_taker_at;
  for (const auto& rule : v) {
    const std::string name = rule.first.as<std::string>();
    const std::string at = At(source, rule.first);
    const std::string what = "costs." + name;
    QRAFT_RETURN_NOT_OK(seen.Add(name, at, "costs"));
    const YAML::Node& x = rule.second;
    // A non-negative amount (money or basis points); `max` excludes absurd rates.
    auto amount = [&](double max) -> Result<double> {
      QRAFT_ASSIGN_OR_RETURN(const double a, Number(x, at, what));
      if (!(a >= 0 && a < max)) {
        return Status::InvalidArgument(
            fmt::format("{}: {} must be in [0, {}), got {}", at, what, max, a));
      }
      return a;
    };
    if (name == "commission_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->commission_bps, amount(1e4));
    } else if (name == "commission_per_share") {
      QRAFT_ASSIGN_OR_RETURN(c->commission_per_share, amount(1e9));
    } else if (name == "commission_per_contract") {
      QRAFT_ASSIGN_OR_RETURN(c->commission_per_contract, amount(1e9));
    } else if (name == "min_commission") {
      QRAFT_ASSIGN_OR_RETURN(c->min_commission, amount(1e12));
    } else if (name == "max_commission_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->max_commission_bps, amount(1e4));
      if (!(c->max_commission_bps > 0)) {
        return Status::InvalidArgument(fmt::format("{}: {} must be > 0", at, what));
      }
    } else if (name == "maker_bps" || name == "taker_bps") {
      // A negative maker rate is a rebate; both above -100 bps and below 10000.
      QRAFT_ASSIGN_OR_RETURN(const double r, Number(x, at, what));
      if (!(r > -100 && r < 1e4)) {
        return Status::InvalidArgument(
            fmt::format("{}: {} must be basis points in (-100, 10000), got {}", at, what, r));
      }
      (name == "maker_bps" ? c->maker_bps : c->taker_bps) = r;
      maker_taker_at = at;
    } else if (name == "stamp_duty_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->stamp_duty_bps, BpsSchedule(x, source, at, what));
    } else if (name == "buy_stamp_duty_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->buy_stamp_duty_bps, BpsSchedule(x, source, at, what));
    } else if (name == "transfer_fee_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->transfer_fee_bps, BpsSchedule(x, source, at, what));
    } else if (name == "exchange_fee_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->exchange_fee_bps, BpsSchedule(x, source, at, what));
    } else if (name == "sell_fee_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->sell_fee_bps, BpsSchedule(x, source, at, what));
    } else if (name == "spread_bps") {
      QRAFT_ASSIGN_OR_RETURN(c->spread_bps, amount(1e4));
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown key 'costs.{}' (expected commission_bps, commission_per_share, "
          "commission_per_contract, min_commission, max_commission_bps, maker_bps, taker_bps, "
          "stamp_duty_bps, buy_stamp_duty_bps, transfer_fee_bps, exchange_fee_bps, sell_fee_bps, "
          "spread_bps)",
          at, name));
    }
  }
  if (std::isnan(c->maker_bps) != std::isnan(c->taker_bps)) {
    return Status::InvalidArgument(fmt::format(
        "{}: costs.maker_bps and costs.taker_bps go together (give both)", maker_taker_at));
  }
  return Status::OK();
}

}  // namespace

bool ChargesFees(const PackCosts& c) {
  auto nonzero = [](double v) { return !std::isnan(v) && v != 0; };
  auto ever = [&](const Schedule& s) {
    return std::any_of(s.begin(), s.end(), [&](const DatedValue& d) { return nonzero(d.value); });
  };
  return nonzero(c.commission_bps) || nonzero(c.commission_per_share) ||
         nonzero(c.commission_per_contract) || nonzero(c.min_commission) || nonzero(c.maker_bps) ||
         nonzero(c.taker_bps) || ever(c.stamp_duty_bps) || ever(c.buy_stamp_duty_bps) ||
         ever(c.transfer_fee_bps) || ever(c.exchange_fee_bps) || ever(c.sell_fee_bps);
}

double ValueOn(const Schedule& schedule, Timestamp t) {
  double v = std::numeric_limits<double>::quiet_NaN();
  for (const DatedValue& d : schedule) {
    if (t < d.from) break;
    v = d.value;
  }
  return v;
}

std::string_view SymbolCode(std::string_view symbol) {
  auto digit = [](char c) { return c >= '0' && c <= '9'; };
  const auto first = std::find_if(symbol.begin(), symbol.end(), digit);
  const auto last = std::find_if_not(first, symbol.end(), digit);
  return symbol.substr(static_cast<std::size_t>(first - symbol.begin()),
                       static_cast<std::size_t>(last - first));
}

const Board* BoardOf(const MarketSpec& market, std::string_view symbol) {
  const std::string_view code = SymbolCode(symbol);
  if (code.size() != 6) return nullptr;
  for (const Board& b : market.boards) {
    for (const std::string& prefix : b.codes) {
      if (code.starts_with(prefix)) return &b;
    }
  }
  return nullptr;
}

const Schedule& PriceLimitSchedule(const MarketSpec& market, std::string_view symbol) {
  const Board* b = BoardOf(market, symbol);
  return b != nullptr ? b->price_limit : market.price_limit;
}

double PriceLimitOn(const MarketSpec& market, std::string_view symbol, Timestamp t, bool is_st,
                    std::int64_t trading_days_since_listing) {
  const Board* b = BoardOf(market, symbol);
  // A board's own rule replaces the market's, even where it is NaN (not yet in force).
  auto rule = [&](Schedule Board::*of_board, const Schedule& of_market) -> const Schedule& {
    return b != nullptr && !(b->*of_board).empty() ? b->*of_board : of_market;
  };
  if (trading_days_since_listing >= 0) {
    const double days =
        ValueOn(rule(&Board::no_limit_days_after_listing, market.no_limit_days_after_listing), t);
    if (static_cast<double>(trading_days_since_listing) < days) {
      return std::numeric_limits<double>::quiet_NaN();
    }
  }
  if (is_st) {
    const double st = ValueOn(rule(&Board::st_price_limit, market.st_price_limit), t);
    if (!std::isnan(st)) return st;
  }
  return ValueOn(b != nullptr ? b->price_limit : market.price_limit, t);
}

bool HasPriceLimits(const MarketSpec& market) {
  return !market.price_limit.empty() ||
         std::any_of(market.boards.begin(), market.boards.end(),
                     [](const Board& b) { return !b.price_limit.empty(); });
}

Result<MarketSpec> ParseMarketYaml(std::string_view text, std::string_view source) {
  YAML::Node root;
  try {
    root = YAML::Load(std::string(text));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: invalid YAML: {}", source,
                                               e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) return Status::InvalidArgument(fmt::format("{}: expected a mapping", source));
  MarketSpec m;
  m.from_pack = true;
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    const std::string where =
        fmt::format("{}:{}:{}", source, kv.first.Mark().line + 1, kv.first.Mark().column + 1);
    if (key == "name") {
      m.name = v.as<std::string>();
    } else if (key == "description") {
      m.description = v.as<std::string>();
    } else if (key == "asset_class") {
      m.asset_class = v.as<std::string>();
    } else if (key == "timezone") {
      m.timezone = v.as<std::string>();
      QRAFT_RETURN_NOT_OK(TimeZone::Find(m.timezone).status().WithContext(where));
    } else if (key == "sessions") {
      if (!v.IsSequence())
        return Status::InvalidArgument(
            fmt::format("{}: sessions must be a list such as [\"09:30-16:00\"]", where));
      for (const auto& s : v) {
        QRAFT_ASSIGN_OR_RETURN(Session session, ParseSession(s.as<std::string>()));
        if (session.open_minute == 0 && session.close_minute == 24 * 60) continue;  // whole day
        m.sessions.push_back(session);
      }
    } else if (key == "trading") {
      QRAFT_RETURN_NOT_OK(Trading(v, source, where, &m));
    } else if (key == "costs") {
      QRAFT_RETURN_NOT_OK(Costs(v, source, where, &m.costs));
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown key '{}' (expected name, description, asset_class, timezone, sessions, "
          "trading, costs)",
          where, key));
    }
  }
  if (m.name.empty()) return Status::InvalidArgument(fmt::format("{}: 'name' is required", source));
  return m;
}

Result<MarketSpec> LoadMarketFile(const std::filesystem::path& path) {
  std::ifstream in(path);
  if (!in) return Status::NotFound(fmt::format("{}: cannot open market file", path.string()));
  std::stringstream ss;
  ss << in.rdbuf();
  return ParseMarketYaml(ss.str(), path.string());
}

MarketSpec FindMarket(std::string_view name) {
  for (const EmbeddedMarket& e : EmbeddedMarkets()) {
    if (e.name == name) {
      auto m = ParseMarketYaml(e.yaml, fmt::format("markets/{}.yaml", e.name));
      QRAFT_CHECK(m.ok());  // built-in packs are tested
      return *m;
    }
  }
  MarketSpec m;
  m.name = std::string(name);
  return m;
}

std::vector<std::string> BuiltinMarkets() {
  std::vector<std::string> out;
  for (const EmbeddedMarket& e : EmbeddedMarkets())
    out.emplace_back(e.name);
  return out;
}

}  // namespace qraft::data
