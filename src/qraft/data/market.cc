#include "qraft/data/market.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <fstream>
#include <sstream>

#include "qraft/data/markets_embedded.h"

namespace qraft::data {

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
        const std::string at = fmt::format("{}:{}:{}", source, rule.first.Mark().line + 1,
                                           rule.first.Mark().column + 1);
        double value = 0;
        try {
          value = rule.second.as<double>();
        } catch (const YAML::Exception&) {
          return Status::InvalidArgument(fmt::format("{}: trading.{} must be a number", at, name));
        }
        if (name == "lot_size") {
          if (!(value > 0)) {
            return Status::InvalidArgument(fmt::format("{}: trading.lot_size must be > 0", at));
          }
          m.lot_size = value;
        } else if (name == "price_limit") {
          if (!(value > 0 && value < 1)) {
            return Status::InvalidArgument(
                fmt::format("{}: trading.price_limit must be a fraction in (0, 1)", at));
          }
          m.price_limit = value;
        } else {
          return Status::InvalidArgument(fmt::format(
              "{}: unknown key 'trading.{}' (expected lot_size, price_limit)", at, name));
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
