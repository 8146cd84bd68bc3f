#include "qraft/data/mapping.h"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <array>
#include <regex>
#include <unordered_map>

#include "qraft/core/time.h"
#include "qraft/data/io/file_reader.h"

namespace qraft::data {
namespace {

std::string Key(std::string_view s) {
  std::string k;
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      k += static_cast<char>(std::tolower(u));
    } else if (!k.empty() && k.back() != '_') {
      k += '_';
    }
  }
  while (!k.empty() && k.back() == '_')
    k.pop_back();
  return k;
}

// Standard fields, in display order.
constexpr std::array<std::string_view, 22> kStandard = {"open",
                                                        "high",
                                                        "low",
                                                        "close",
                                                        "volume",
                                                        "amount",
                                                        "vwap",
                                                        "open_interest",
                                                        "trades",
                                                        "factor",
                                                        "adj_close",
                                                        "dividend",
                                                        "split",
                                                        "funding_rate",
                                                        "contract",
                                                        "taker_buy_volume",
                                                        "taker_buy_amount",
                                                        "mark_open",
                                                        "mark_high",
                                                        "mark_low",
                                                        "mark_close",
                                                        "mark_price"};

// Columns that carry no bar data and are dropped unless mapped explicitly (Binance klines'
// close_time is the bar's open time plus its length; "ignore" is literally unused).
constexpr std::array<std::string_view, 2> kDropped = {"close_time", "ignore"};

const std::unordered_map<std::string, std::string>& Aliases() {
  static const auto* m = new std::unordered_map<std::string, std::string>{
      {"o", "open"},
      {"open_price", "open"},
      {"openprice", "open"},
      {"opening_price", "open"},
      {"h", "high"},
      {"high_price", "high"},
      {"highest", "high"},
      {"l", "low"},
      {"low_price", "low"},
      {"lowest", "low"},
      {"c", "close"},
      {"close_price", "close"},
      {"closeprice", "close"},
      {"closing_price", "close"},
      {"last", "close"},
      {"last_price", "close"},
      {"v", "volume"},
      {"vol", "volume"},
      {"turnover", "amount"},
      {"money", "amount"},
      {"quote_volume", "amount"},
      {"quote_asset_volume", "amount"},
      {"quote_av", "amount"},
      {"avg_price", "vwap"},
      {"average_price", "vwap"},
      {"openinterest", "open_interest"},
      {"oi", "open_interest"},
      {"adj_factor", "factor"},
      {"adjfactor", "factor"},
      {"adjustment_factor", "factor"},
      {"adjclose", "adj_close"},
      {"adjusted_close", "adj_close"},
      {"dividends", "dividend"},
      {"ex_dividend", "dividend"},
      {"cash_dividend", "dividend"},
      {"splits", "split"},
      {"split_ratio", "split"},
      {"stock_splits", "split"},
      {"fundingrate", "funding_rate"},
      {"last_funding_rate", "funding_rate"},
      {"number_of_trades", "trades"},
      {"num_trades", "trades"},
      {"trade_count", "trades"},
      {"count", "trades"},
      {"taker_buy_base_asset_volume", "taker_buy_volume"},
      {"taker_buy_base", "taker_buy_volume"},
      {"taker_buy_base_volume", "taker_buy_volume"},
      {"taker_buy_quote_asset_volume", "taker_buy_amount"},
      {"taker_buy_quote", "taker_buy_amount"},
      {"taker_buy_quote_volume", "taker_buy_amount"},
  };
  return *m;
}

// Detection order matters: the first candidate present wins.
constexpr std::array<std::string_view, 14> kTimeNames = {
    "datetime", "timestamp", "date", "time",      "trade_date",  "trading_date", "dt",
    "ts",       "open_time", "day",  "calc_time", "fundingtime", "funding_time", "date_time"};
constexpr std::array<std::string_view, 12> kSymbolNames = {
    "symbol",   "ticker",     "code",  "name", "instrument", "ts_code",
    "sec_code", "stock_code", "asset", "pair", "security",   "secid"};

}  // namespace

void ColumnMapping::Overlay(const ColumnMapping& o) {
  auto take = [](std::string& a, const std::string& b) {
    if (!b.empty()) a = b;
  };
  take(time, o.time);
  take(date, o.date);
  take(clock, o.clock);
  take(symbol, o.symbol);
  for (const auto& f : o.fields) {
    std::erase_if(fields, [&](const auto& e) { return e.first == f.first; });
    fields.push_back(f);
  }
  ignore.insert(ignore.end(), o.ignore.begin(), o.ignore.end());
  only_mapped = only_mapped || o.only_mapped;
  take(symbol_value, o.symbol_value);
  take(symbol_pattern, o.symbol_pattern);
  take(time_format, o.time_format);
  if (o.epoch_unit != "auto") epoch_unit = o.epoch_unit;
  take(timezone, o.timezone);
}

Result<ColumnMapping> LoadMappingFile(const std::filesystem::path& path) {
  YAML::Node root;
  try {
    root = YAML::LoadFile(path.string());
  } catch (const YAML::BadFile&) {
    return Status::NotFound(fmt::format("{}: cannot open mapping file", path.string()));
  } catch (const YAML::Exception& e) {
    return Status::InvalidArgument(fmt::format("{}:{}:{}: invalid YAML: {}", path.string(),
                                               e.mark.line + 1, e.mark.column + 1, e.msg));
  }
  if (!root.IsMap()) {
    return Status::InvalidArgument(
        fmt::format("{}: expected a mapping of keys such as time, symbol, fields", path.string()));
  }
  ColumnMapping m;
  auto where = [&](const YAML::Node& n) {
    return fmt::format("{}:{}:{}", path.string(), n.Mark().line + 1, n.Mark().column + 1);
  };
  for (const auto& kv : root) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    auto scalar = [&](std::string& out) -> Status {
      if (!v.IsScalar())
        return Status::InvalidArgument(fmt::format("{}: '{}' must be a string", where(v), key));
      out = v.as<std::string>();
      return Status::OK();
    };
    if (key == "time") {
      QRAFT_RETURN_NOT_OK(scalar(m.time));
    } else if (key == "date") {
      QRAFT_RETURN_NOT_OK(scalar(m.date));
    } else if (key == "clock") {
      QRAFT_RETURN_NOT_OK(scalar(m.clock));
    } else if (key == "symbol") {
      QRAFT_RETURN_NOT_OK(scalar(m.symbol));
    } else if (key == "symbol_value") {
      QRAFT_RETURN_NOT_OK(scalar(m.symbol_value));
    } else if (key == "symbol_pattern") {
      QRAFT_RETURN_NOT_OK(scalar(m.symbol_pattern));
    } else if (key == "time_format") {
      QRAFT_RETURN_NOT_OK(scalar(m.time_format));
    } else if (key == "epoch_unit") {
      QRAFT_RETURN_NOT_OK(scalar(m.epoch_unit));
    } else if (key == "timezone") {
      QRAFT_RETURN_NOT_OK(scalar(m.timezone));
    } else if (key == "only_mapped") {
      if (!v.IsScalar())
        return Status::InvalidArgument(
            fmt::format("{}: 'only_mapped' must be true or false", where(v)));
      m.only_mapped = v.as<bool>();
    } else if (key == "fields") {
      if (!v.IsMap()) {
        return Status::InvalidArgument(fmt::format(
            "{}: 'fields' must map Qraft field names to source columns, e.g. close: PRICE",
            where(v)));
      }
      for (const auto& f : v)
        m.fields.emplace_back(f.first.as<std::string>(), f.second.as<std::string>());
    } else if (key == "ignore") {
      if (!v.IsSequence())
        return Status::InvalidArgument(
            fmt::format("{}: 'ignore' must be a list of column names", where(v)));
      for (const auto& c : v)
        m.ignore.push_back(c.as<std::string>());
    } else {
      return Status::InvalidArgument(fmt::format(
          "{}: unknown key '{}' (expected time, date, clock, symbol, fields, ignore, only_mapped, "
          "symbol_value, symbol_pattern, time_format, epoch_unit, timezone)",
          where(kv.first), key));
    }
  }
  QRAFT_RETURN_NOT_OK(ParseEpochUnit(m.epoch_unit).status().WithContext(path.string()));
  return m;
}

std::string CanonicalFieldName(std::string_view column) {
  std::string k = Key(column);
  auto it = Aliases().find(k);
  return it == Aliases().end() ? k : it->second;
}

bool IsStandardField(std::string_view field) {
  return std::find(kStandard.begin(), kStandard.end(), field) != kStandard.end();
}

void SortFieldNames(std::vector<std::string>& names) {
  auto rank = [](const std::string& n) {
    auto it = std::find(kStandard.begin(), kStandard.end(), n);
    return static_cast<std::size_t>(it - kStandard.begin());
  };
  std::sort(names.begin(), names.end(), [&](const std::string& a, const std::string& b) {
    const std::size_t ra = rank(a), rb = rank(b);
    return ra != rb ? ra < rb : a < b;
  });
}

Result<ColumnPlan> PlanColumns(const std::vector<std::string>& header, const ColumnMapping& mapping,
                               std::string_view source) {
  const std::size_t n = header.size();
  ColumnPlan plan;
  plan.roles.assign(n, ColumnRole::kIgnore);
  plan.field_names.assign(n, "");
  plan.optional.assign(n, false);

  std::vector<std::string> keys(n);
  for (std::size_t i = 0; i < n; ++i) {
    keys[i] = Key(header[i]);
    if (keys[i].empty()) {
      return Status::DataError(
          fmt::format("{}: header column {} has an empty name", source, i + 1));
    }
    for (std::size_t j = 0; j < i; ++j) {
      if (keys[j] == keys[i]) {
        return Status::DataError(fmt::format("{}: duplicate header column '{}' (columns {} and {})",
                                             source, header[i], j + 1, i + 1));
      }
    }
  }
  auto find = [&](std::string_view name) -> int {
    const std::string k = Key(name);
    for (std::size_t i = 0; i < n; ++i) {
      if (keys[i] == k) return static_cast<int>(i);
    }
    return -1;
  };
  auto require = [&](const std::string& name, std::string_view what) -> Result<int> {
    const int c = find(name);
    if (c < 0) {
      return Status::InvalidArgument(fmt::format("{}: {} column '{}' is not in the header ({})",
                                                 source, what, name, fmt::join(header, ",")));
    }
    return c;
  };

  for (const std::string& ig : mapping.ignore) {
    const int c = find(ig);
    if (c >= 0) plan.roles[static_cast<std::size_t>(c)] = ColumnRole::kIgnore;
  }
  auto is_ignored = [&](int c) {
    for (const std::string& ig : mapping.ignore) {
      if (Key(ig) == keys[static_cast<std::size_t>(c)]) return true;
    }
    return false;
  };

  // Time: explicit, else date+clock pair, else first known name.
  if (!mapping.time.empty()) {
    QRAFT_ASSIGN_OR_RETURN(plan.time_col, require(mapping.time, "time"));
  } else if (!mapping.date.empty()) {
    QRAFT_ASSIGN_OR_RETURN(plan.date_col, require(mapping.date, "date"));
    if (!mapping.clock.empty()) {
      QRAFT_ASSIGN_OR_RETURN(plan.clock_col, require(mapping.clock, "clock"));
    }
  } else {
    const int d = find("date"), t = find("time");
    if (d >= 0 && t >= 0 && find("datetime") < 0 && find("timestamp") < 0) {
      plan.date_col = d;  // "date,time,..." minute files; decided per row if "time" is a clock
      plan.clock_col = t;
    } else {
      for (std::string_view cand : kTimeNames) {
        const int c = find(cand);
        if (c >= 0 && !is_ignored(c)) {
          plan.time_col = c;
          break;
        }
      }
    }
  }
  if (plan.time_col < 0 && plan.date_col < 0) {
    return Status::DataError(
        fmt::format("{}: no time column found in header ({}); expected one named date, datetime or "
                    "timestamp, or map it with --time-col",
                    source, fmt::join(header, ",")));
  }
  if (plan.time_col >= 0) plan.roles[static_cast<std::size_t>(plan.time_col)] = ColumnRole::kTime;
  if (plan.date_col >= 0) plan.roles[static_cast<std::size_t>(plan.date_col)] = ColumnRole::kDate;
  if (plan.clock_col >= 0)
    plan.roles[static_cast<std::size_t>(plan.clock_col)] = ColumnRole::kClock;

  // Explicit field mappings.
  std::vector<bool> claimed(n, false);
  for (std::size_t i = 0; i < n; ++i)
    claimed[i] = plan.roles[i] != ColumnRole::kIgnore;
  for (const auto& [field, column] : mapping.fields) {
    QRAFT_ASSIGN_OR_RETURN(const int c, require(column, fmt::format("field '{}'", field)));
    const auto ci = static_cast<std::size_t>(c);
    if (claimed[ci]) {
      return Status::InvalidArgument(
          fmt::format("{}: column '{}' is mapped twice", source, column));
    }
    plan.roles[ci] = ColumnRole::kField;
    plan.field_names[ci] = CanonicalFieldName(field);
    claimed[ci] = true;
  }

  // Symbol: explicit, else the first known name not otherwise claimed.
  if (!mapping.symbol.empty()) {
    QRAFT_ASSIGN_OR_RETURN(plan.symbol_col, require(mapping.symbol, "symbol"));
  } else if (mapping.symbol_value.empty()) {
    for (std::string_view cand : kSymbolNames) {
      const int c = find(cand);
      if (c >= 0 && !claimed[static_cast<std::size_t>(c)] && !is_ignored(c)) {
        plan.symbol_col = c;
        break;
      }
    }
  }
  if (plan.symbol_col >= 0) {
    plan.roles[static_cast<std::size_t>(plan.symbol_col)] = ColumnRole::kSymbol;
    claimed[static_cast<std::size_t>(plan.symbol_col)] = true;
  }

  // Every other column is a field under its canonical name (unless ignored or only_mapped).
  for (std::size_t i = 0; i < n; ++i) {
    if (claimed[i] || is_ignored(static_cast<int>(i))) continue;
    if (std::find(kDropped.begin(), kDropped.end(), keys[i]) != kDropped.end()) continue;
    const std::string name = CanonicalFieldName(header[i]);
    if (mapping.only_mapped && !IsStandardField(name)) continue;
    plan.roles[i] = ColumnRole::kField;
    plan.field_names[i] = name;
    plan.optional[i] = !IsStandardField(name);
  }
  // Two columns may not land on one field ("close" and "Close" were caught above; "close" and
  // "last" are caught here).
  for (std::size_t i = 0; i < n; ++i) {
    if (plan.roles[i] != ColumnRole::kField) continue;
    for (std::size_t j = 0; j < i; ++j) {
      if (plan.roles[j] == ColumnRole::kField && plan.field_names[j] == plan.field_names[i]) {
        return Status::DataError(fmt::format(
            "{}: columns '{}' and '{}' both mean field '{}'; map one explicitly or ignore it",
            source, header[j], header[i], plan.field_names[i]));
      }
    }
  }
  return plan;
}

Result<std::string> SymbolFromFileName(const std::filesystem::path& path,
                                       const ColumnMapping& mapping) {
  if (!mapping.symbol_value.empty()) return mapping.symbol_value;
  const std::string stem = io::BareStem(path);
  if (mapping.symbol_pattern.empty()) return stem;
  std::regex re;
  try {
    re = std::regex(mapping.symbol_pattern);
  } catch (const std::regex_error& e) {
    return Status::InvalidArgument(
        fmt::format("symbol pattern '{}': {}", mapping.symbol_pattern, e.what()));
  }
  std::smatch m;
  if (!std::regex_match(stem, m, re) || m.size() < 2 || m[1].str().empty()) {
    return Status::InvalidArgument(fmt::format(
        "{}: file name '{}' does not match the symbol pattern '{}' (it must match the whole name "
        "and capture the symbol in group 1)",
        path.string(), stem, mapping.symbol_pattern));
  }
  return m[1].str();
}

}  // namespace qraft::data
