#include "qraft/data/io/exchange_io.h"

#include <fast_float/fast_float.h>
#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <cstdint>
#include <limits>
#include <nlohmann/json.hpp>

#include "qraft/data/io/file_reader.h"

namespace qraft::data::io {
namespace {

using Json = nlohmann::json;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// ---------------------------------------------------------------------------------------------
// File names

constexpr std::array<std::string_view, 6> kKinds = {"spot",  "futures",      "mark",
                                                    "index", "premiumIndex", "funding_rate"};

bool IsDigit(char c) {
  return c >= '0' && c <= '9';
}

bool AllDigits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), IsDigit);
}

// Binance and freqtrade write symbols upper-case ("1000SHIBUSDT"); freqtrade's pair file names
// replace '/' and ':' by '_' ("XRP_USDT_USDT"). Requiring this shape keeps ordinary file names
// ("prices-1d") from being taken for exchange files.
bool IsExchangeSymbol(std::string_view s) {
  if (s.empty() || s.front() == '_') return false;
  bool letter = false;
  for (char c : s) {
    if (c >= 'A' && c <= 'Z') {
      letter = true;
    } else if (!IsDigit(c) && c != '_') {
      return false;
    }
  }
  return letter;
}

// "1m", "15m", "8h", "1M": Binance/freqtrade interval names, where M is a month and m a minute.
std::optional<Frequency> ParseInterval(std::string_view s) {
  if (s.size() < 2 || s.size() > 4) return std::nullopt;
  const std::string_view digits = s.substr(0, s.size() - 1);
  if (!AllDigits(digits) || digits.front() == '0') return std::nullopt;
  int n = 0;
  for (char c : digits) {
    n = n * 10 + (c - '0');
  }
  using Unit = Frequency::Unit;
  switch (s.back()) {
    case 's':
      return Frequency(Unit::kSecond, n);
    case 'm':
      return Frequency(Unit::kMinute, n);
    case 'h':
      return Frequency(Unit::kHour, n);
    case 'd':
      return Frequency(Unit::kDay, n);
    case 'w':
      return Frequency(Unit::kWeek, n);
    case 'M':
      return Frequency(Unit::kMonth, n);
    default:
      return std::nullopt;
  }
}

int ToInt(std::string_view digits) {
  int v = 0;
  for (char c : digits) {
    v = v * 10 + (c - '0');
  }
  return v;
}

// "2021", "11"[, "27"]: the date of a daily or monthly data.binance.vision file.
bool IsDateSuffix(const std::vector<std::string_view>& parts, std::size_t from) {
  const std::size_t n = parts.size() - from;
  if (n != 2 && n != 3) return false;
  const std::string_view y = parts[from], m = parts[from + 1], d = n == 3 ? parts[from + 2] : "01";
  if (y.size() != 4 || m.size() != 2 || d.size() != 2 || !AllDigits(y) || !AllDigits(m) ||
      !AllDigits(d)) {
    return false;
  }
  return IsValidCivil(ToInt(y), ToInt(m), ToInt(d));
}

// ---------------------------------------------------------------------------------------------
// JSON values

std::string_view TrimSpaces(std::string_view s) {
  while (!s.empty() && s.front() == ' ') {
    s.remove_prefix(1);
  }
  while (!s.empty() && s.back() == ' ') {
    s.remove_suffix(1);
  }
  return s;
}

// A value as it appears in the file, for messages.
std::string Shown(const Json& v) {
  std::string s = v.dump();
  if (s.size() > 40) s = s.substr(0, 40) + "...";
  return s;
}

// A number, a number written as a string (Binance), or missing: null, "" or "NaN". False when the
// value is something else (text, true, an array, an infinity).
bool ToDouble(const Json& v, double& out) {
  switch (v.type()) {
    case Json::value_t::number_float:
      out = v.get<double>();
      return true;
    case Json::value_t::number_integer:
      out = static_cast<double>(v.get<std::int64_t>());
      return true;
    case Json::value_t::number_unsigned:
      out = static_cast<double>(v.get<std::uint64_t>());
      return true;
    case Json::value_t::null:
      out = kNaN;
      return true;
    case Json::value_t::string: {
      const std::string_view s = TrimSpaces(v.get_ref<const std::string&>());
      if (s.empty()) {
        out = kNaN;
        return true;
      }
      const char* first = s.data();
      if (*first == '+') ++first;  // fast_float rejects a leading '+'
      auto [ptr, ec] = fast_float::from_chars(first, s.data() + s.size(), out);
      if (ec != std::errc() || ptr != s.data() + s.size() || std::isinf(out)) return false;
      if (std::isnan(out)) out = kNaN;
      return true;
    }
    default:
      return false;
  }
}

// ---------------------------------------------------------------------------------------------
// Layouts

enum class Layout { kFreqtrade, kBinanceKline, kFunding };

constexpr std::size_t kFreqtradeValues = 6;
constexpr std::size_t kBinanceValues = 12;

// Which value of a candle array goes into which field.
struct Slot {
  std::size_t index;
  std::string field;
};

std::vector<Slot> CandleSlots(Layout layout, std::string_view kind) {
  if (kind == "funding_rate") return {{1, "funding_rate"}};
  const std::string_view prefix = kind == "mark"           ? "mark_"
                                  : kind == "index"        ? "index_"
                                  : kind == "premiumIndex" ? "premium_"
                                                           : "";
  std::vector<Slot> slots = {{1, fmt::format("{}open", prefix)},
                             {2, fmt::format("{}high", prefix)},
                             {3, fmt::format("{}low", prefix)},
                             {4, fmt::format("{}close", prefix)}};
  if (!prefix.empty()) return slots;  // reference prices have no volume of their own
  slots.push_back({5, "volume"});
  if (layout == Layout::kBinanceKline) {
    // 6 close_time and 11 ignore are bookkeeping.
    slots.push_back({7, "amount"});
    slots.push_back({8, "trades"});
    slots.push_back({9, "taker_buy_volume"});
    slots.push_back({10, "taker_buy_amount"});
  }
  return slots;
}

std::string_view Article(const Json& v) {
  switch (v.type()) {
    case Json::value_t::array:
      return "an array";
    case Json::value_t::object:
      return "an object";
    case Json::value_t::string:
      return "a string";
    case Json::value_t::boolean:
      return "a boolean";
    case Json::value_t::null:
      return "null";
    default:
      return "a number";
  }
}

// Reads the records of one parsed document into `table`. `file_symbol` is used for candle arrays
// and for funding objects without a symbol; it is an error only when it is needed.
class RecordReader {
 public:
  RecordReader(SourceTable& table, const Result<std::string>& file_symbol, std::string_view kind,
               EpochUnit unit, const TimeLabeler& labeler)
      : table_(table),
        interner_(table),
        file_symbol_(file_symbol),
        kind_(kind),
        unit_(unit),
        labeler_(labeler) {}

  Status Read(const Json& doc) {
    if (!doc.is_array()) {
      return Status::DataError(
          fmt::format("{}: expected a JSON array of records (candles [time, open, high, low, "
                      "close, volume, ...] or funding-rate objects), got {}",
                      table_.source, Article(doc)));
    }
    if (doc.empty()) {
      return Status::DataError(
          fmt::format("{}: no records; expected a JSON array of candles or funding-rate objects",
                      table_.source));
    }
    QRAFT_RETURN_NOT_OK(DecideLayout(doc.front()));
    table_.time.reserve(doc.size());
    table_.symbol.reserve(doc.size());
    table_.line.reserve(doc.size());
    for (auto& f : table_.fields) {
      f.reserve(doc.size());
    }
    for (std::size_t r = 0; r < doc.size(); ++r) {
      row_ = static_cast<std::uint32_t>(r + 1);
      QRAFT_RETURN_NOT_OK(layout_ == Layout::kFunding ? ReadFunding(doc[r]) : ReadCandle(doc[r]));
      table_.line.push_back(row_);
    }
    if (layout_ == Layout::kFunding && !saw_mark_price_) {
      table_.field_names.pop_back();
      table_.fields.pop_back();
    }
    return Status::OK();
  }

 private:
  std::string Where() const { return fmt::format("{} row {}", table_.source, row_); }

  Status DecideLayout(const Json& first) {
    row_ = 1;
    if (first.is_object()) {
      layout_ = Layout::kFunding;
      AddField("funding_rate");
      AddField("mark_price");  // removed again when no object has markPrice
      return Status::OK();
    }
    if (first.is_array() && (first.size() == kFreqtradeValues || first.size() == kBinanceValues)) {
      layout_ = first.size() == kFreqtradeValues ? Layout::kFreqtrade : Layout::kBinanceKline;
      width_ = first.size();
      slots_ = CandleSlots(layout_, kind_);
      for (const Slot& s : slots_) {
        AddField(s.field);
      }
      if (!kind_.empty() && kind_ != "spot" && kind_ != "futures") {
        const bool funding = kind_ == "funding_rate";
        table_.notes.push_back(
            fmt::format("'{}' file: read as field{} {} ({})", kind_, funding ? "" : "s",
                        fmt::join(table_.field_names, ", "),
                        funding ? "the rate is in the open slot" : "volume dropped"));
      }
      return Status::OK();
    }
    return Status::DataError(
        fmt::format("{}: expected an array of 6 values [time, open, high, low, close, volume] "
                    "(freqtrade) or 12 (Binance kline), or a funding-rate object "
                    "{{\"fundingTime\": ..., \"fundingRate\": ...}}, got {}",
                    Where(),
                    first.is_array() ? fmt::format("an array of {} values", first.size())
                                     : std::string(Article(first))));
  }

  void AddField(std::string name) {
    table_.field_names.push_back(std::move(name));
    table_.fields.emplace_back();
  }

  Status Time(const Json& v, std::string_view what) {
    std::int64_t epoch = 0;
    if (v.is_number_integer() && !v.is_number_unsigned()) {
      epoch = v.get<std::int64_t>();
    } else if (v.is_number_unsigned() &&
               v.get<std::uint64_t>() <=
                   static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max())) {
      epoch = static_cast<std::int64_t>(v.get<std::uint64_t>());
    } else {
      return Status::DataError(
          fmt::format("{}: {}: expected an integer epoch time such as 1637971200000 (ms), got {}",
                      Where(), what, Shown(v)));
    }
    const std::optional<Timestamp> t = EpochToTimestamp(epoch, unit_);
    if (!t) {
      return Status::DataError(fmt::format(
          "{}: {}: epoch time {} is out of range (Qraft times span the years 1677 to 2262)",
          Where(), what, epoch));
    }
    table_.time.push_back(labeler_.FromInstant(*t));
    return Status::OK();
  }

  Status FileSymbol() {
    if (!file_symbol_.ok()) return file_symbol_.status();
    if (file_row_symbol_ == UINT32_MAX) file_row_symbol_ = interner_.Intern(*file_symbol_);
    table_.symbol.push_back(file_row_symbol_);
    return Status::OK();
  }

  Status ReadCandle(const Json& rec) {
    if (!rec.is_array() || rec.size() != width_) {
      return Status::DataError(fmt::format(
          "{}: expected an array of {} values like row 1, got {}", Where(), width_,
          rec.is_array() ? fmt::format("{} values", rec.size()) : std::string(Article(rec))));
    }
    QRAFT_RETURN_NOT_OK(Time(rec[0], "value 1 (time)"));
    for (std::size_t f = 0; f < slots_.size(); ++f) {
      const Slot& s = slots_[f];
      double v;
      if (!ToDouble(rec[s.index], v)) {
        return Status::DataError(fmt::format("{}: value {} ({}): expected a number, got {}",
                                             Where(), s.index + 1, s.field, Shown(rec[s.index])));
      }
      table_.fields[f].push_back(v);
    }
    return FileSymbol();
  }

  Status ReadFunding(const Json& rec) {
    if (!rec.is_object()) {
      return Status::DataError(fmt::format("{}: expected a funding-rate object like row 1, got {}",
                                           Where(), Article(rec)));
    }
    const auto time = rec.find("fundingTime");
    if (time == rec.end()) {
      return Status::DataError(
          fmt::format("{}: expected key 'fundingTime' (an integer epoch time) in a "
                      "funding-rate object, missing",
                      Where()));
    }
    QRAFT_RETURN_NOT_OK(Time(*time, "key 'fundingTime'"));
    const auto rate = rec.find("fundingRate");
    if (rate == rec.end()) {
      return Status::DataError(fmt::format(
          "{}: expected key 'fundingRate' (a number) in a funding-rate object, missing", Where()));
    }
    double v;
    if (!ToDouble(*rate, v)) {
      return Status::DataError(
          fmt::format("{}: key 'fundingRate': expected a number, got {}", Where(), Shown(*rate)));
    }
    table_.fields[0].push_back(v);
    double mark = kNaN;
    if (const auto m = rec.find("markPrice"); m != rec.end()) {
      if (!ToDouble(*m, mark)) {
        return Status::DataError(
            fmt::format("{}: key 'markPrice': expected a number, got {}", Where(), Shown(*m)));
      }
      saw_mark_price_ = true;
    }
    table_.fields[1].push_back(mark);

    const auto sym = rec.find("symbol");
    if (sym == rec.end()) return FileSymbol();
    if (!sym->is_string() || sym->get_ref<const std::string&>().empty()) {
      return Status::DataError(fmt::format(
          "{}: key 'symbol': expected a symbol such as \"BTCUSDT\", got {}", Where(), Shown(*sym)));
    }
    table_.symbol.push_back(interner_.Intern(sym->get_ref<const std::string&>()));
    return Status::OK();
  }

  SourceTable& table_;
  SymbolInterner interner_;
  const Result<std::string>& file_symbol_;
  std::uint32_t file_row_symbol_ = UINT32_MAX;
  std::string_view kind_;
  EpochUnit unit_;
  const TimeLabeler& labeler_;
  Layout layout_ = Layout::kFreqtrade;
  std::size_t width_ = 0;
  std::vector<Slot> slots_;
  bool saw_mark_price_ = false;
  std::uint32_t row_ = 0;
};

// Removes the fields the mapping ignores (by Qraft field name: the values have no column names).
void DropIgnored(SourceTable& table, const ColumnMapping& mapping) {
  for (const std::string& ig : mapping.ignore) {
    const int f = table.FieldIndex(CanonicalFieldName(ig));
    if (f < 0) continue;
    table.field_names.erase(table.field_names.begin() + f);
    table.fields.erase(table.fields.begin() + f);
  }
}

}  // namespace

std::optional<ExchangeFileName> ParseExchangeFileName(std::string_view stem) {
  std::vector<std::string_view> parts;
  for (std::size_t start = 0;;) {
    const std::size_t dash = stem.find('-', start);
    parts.push_back(
        stem.substr(start, dash == std::string_view::npos ? std::string_view::npos : dash - start));
    if (dash == std::string_view::npos) break;
    start = dash + 1;
  }
  if (parts.size() < 2 || !IsExchangeSymbol(parts[0])) return std::nullopt;
  std::optional<Frequency> freq = ParseInterval(parts[1]);
  if (!freq) return std::nullopt;
  ExchangeFileName name{std::string(parts[0]), freq, ""};
  if (parts.size() == 2 || IsDateSuffix(parts, 2)) return name;
  if (parts.size() == 3 && std::find(kKinds.begin(), kKinds.end(), parts[2]) != kKinds.end()) {
    name.kind = std::string(parts[2]);
    return name;
  }
  return std::nullopt;
}

const std::vector<std::string>& BinanceKlineColumns() {
  // Binance's own names where mapping.h knows them (quote_volume is an alias of amount); the
  // canonical Qraft names where Binance's would not map (its header says count,
  // taker_buy_volume, taker_buy_quote_volume).
  static const auto* kColumns = new std::vector<std::string>{
      "open_time",        "open",       "high",         "low",    "close",
      "volume",           "close_time", "quote_volume", "trades", "taker_buy_volume",
      "taker_buy_amount", "ignore"};
  return *kColumns;
}

Result<SourceTable> ReadExchangeJson(const std::filesystem::path& path,
                                     const ColumnMapping& mapping, const TimeLabeler& labeler) {
  QRAFT_ASSIGN_OR_RETURN(const EpochUnit unit, ParseEpochUnit(mapping.epoch_unit));
  QRAFT_ASSIGN_OR_RETURN(const std::string text, ReadDecompressed(path));
  const std::optional<ExchangeFileName> name = ParseExchangeFileName(BareStem(path));
  const Result<std::string> file_symbol =
      name && mapping.symbol_value.empty() && mapping.symbol_pattern.empty()
          ? Result<std::string>(name->symbol)
          : SymbolFromFileName(path, mapping);

  SourceTable table;
  table.source = path.string();
  table.row_numbers = true;
  if (text.find_first_not_of(" \t\r\n") == std::string::npos) {
    return Status::DataError(
        fmt::format("{}: file is empty; expected a JSON array of candles or funding-rate objects",
                    table.source));
  }
  Json doc;
  try {
    doc = Json::parse(text);
  } catch (const Json::parse_error& e) {
    // e.what() is "[json.exception.parse_error.101] parse error at line 1, column 9: ...".
    std::string_view what = e.what();
    if (const std::size_t p = what.find("] "); p != std::string_view::npos) {
      what.remove_prefix(p + 2);
    }
    return Status::DataError(
        fmt::format("{}: not valid JSON at byte {}: {}", table.source, e.byte, what));
  }
  try {
    RecordReader reader(table, file_symbol,
                        name ? std::string_view(name->kind) : std::string_view(), unit, labeler);
    QRAFT_RETURN_NOT_OK(reader.Read(doc));
  } catch (const Json::exception& e) {
    // The reader checks every type before converting, so this is a bug, not bad input.
    return Status::Internal(fmt::format("{}: reading JSON records: {}", table.source, e.what()));
  }
  DropIgnored(table, mapping);
  return table;
}

}  // namespace qraft::data::io
