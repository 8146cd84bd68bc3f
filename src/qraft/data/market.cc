#include "qraft/data/market.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
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
  try {
    return n.as<double>();
  } catch (const YAML::Exception&) {
    return Status::InvalidArgument(fmt::format("{}: {} must be a number", at, what));
  }
}

// A daily price limit: a fraction in (0, 1) that always applies, or {YYYY-MM-DD: fraction, ...}
// with each value applying from its date (dates ascending).
Result<Schedule> LimitSchedule(const YAML::Node& n, std::string_view source, const std::string& at,
                               std::string_view what) {
  auto fraction = [&](const YAML::Node& v, const std::string& where) -> Result<double> {
    QRAFT_ASSIGN_OR_RETURN(const double x, Number(v, where, what));
    if (!(x > 0 && x < 1)) {
      return Status::InvalidArgument(
          fmt::format("{}: {} must be a fraction in (0, 1), got {}", where, what, x));
    }
    return x;
  };
  Schedule out;
  if (n.IsScalar()) {
    QRAFT_ASSIGN_OR_RETURN(const double x, fraction(n, at));
    out.push_back({kNoTimestamp, x});
    return out;
  }
  if (!n.IsMap() || n.size() == 0) {
    return Status::InvalidArgument(fmt::format(
        "{}: {} must be a fraction, or dated fractions such as {{2020-08-24: 0.2}}", at, what));
  }
  for (const auto& kv : n) {
    const std::string where = At(source, kv.first);
    const std::string date = kv.first.as<std::string>();
    const auto parsed = ParseIsoDateTime(date);
    if (!parsed || parsed->has_time) {
      return Status::InvalidArgument(
          fmt::format("{}: {}: '{}' is not a date (expected YYYY-MM-DD)", where, what, date));
    }
    QRAFT_ASSIGN_OR_RETURN(const double x, fraction(kv.second, where));
    if (!out.empty() && parsed->value <= out.back().from) {
      return Status::InvalidArgument(fmt::format(
          "{}: {}: dates must ascend ('{}' comes after a later one)", where, what, date));
    }
    out.push_back({parsed->value, x});
  }
  return out;
}

// [{name, codes: [prefix, ...], price_limit}, ...]
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
    for (const auto& kv : item) {
      const std::string key = kv.first.as<std::string>();
      const std::string key_at = At(source, kv.first);
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
      } else {
        return Status::InvalidArgument(fmt::format(
            "{}: unknown key '{}' in a board (expected name, codes, price_limit)", key_at, key));
      }
    }
    if (b.name.empty() || b.codes.empty()) {
      return Status::InvalidArgument(fmt::format("{}: a board needs a name and codes", where));
    }
    out.push_back(std::move(b));
  }
  return out;
}

}  // namespace

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

const Schedule& PriceLimitSchedule(const MarketSpec& market, std::string_view symbol) {
  const std::string_view code = SymbolCode(symbol);
  for (const Board& b : market.boards) {
    for (const std::string& prefix : b.codes) {
      if (code.size() == 6 && code.starts_with(prefix)) return b.price_limit;
    }
  }
  return market.price_limit;
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
      if (!v.IsMap()) {
        return Status::InvalidArgument(
            fmt::format("{}: trading must be a mapping such as {{lot_size: 100}}", where));
      }
      for (const auto& rule : v) {
        const std::string name = rule.first.as<std::string>();
        const std::string at = At(source, rule.first);
        if (name == "lot_size") {
          QRAFT_ASSIGN_OR_RETURN(m.lot_size, Number(rule.second, at, "trading.lot_size"));
          if (!(m.lot_size > 0)) {
            return Status::InvalidArgument(fmt::format("{}: trading.lot_size must be > 0", at));
          }
        } else if (name == "price_limit") {
          QRAFT_ASSIGN_OR_RETURN(m.price_limit,
                                 LimitSchedule(rule.second, source, at, "trading.price_limit"));
        } else if (name == "boards") {
          QRAFT_ASSIGN_OR_RETURN(m.boards, Boards(rule.second, source, at));
        } else {
          return Status::InvalidArgument(fmt::format(
              "{}: unknown key 'trading.{}' (expected lot_size, price_limit, boards)", at, name));
        }
      }
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown key '{}' (expected name, description, asset_class, timezone, sessions, "
          "trading)",
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
