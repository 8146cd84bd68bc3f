#include "qraft/data/io/exchange_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <string>
#include <vector>

#include "qraft/data/io/csv_reader.h"
#include "qraft/data/io/file_reader.h"
#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

using testing::SharedData;
using testing::TempDir;

constexpr Timestamp Ms(std::int64_t ms) {
  return ms * kNanosPerMilli;
}

TimeLabeler Intraday() {
  return TimeLabeler(false, TimeZone());
}

std::filesystem::path Freqtrade(std::string_view name) {
  return SharedData() / "freqtrade-testdata" / "tests" / "testdata" / name;
}
std::filesystem::path Nautilus(std::string_view name) {
  return SharedData() / "nautilus-testdata" / "tests" / "test_data" / name;
}

// Writes `text` as `name` and returns the DataError message of reading it, with the directory
// removed ("t.json row 2: ..."); "" when the read succeeded.
std::string JsonError(std::string_view name, std::string_view text,
                      const ColumnMapping& mapping = {}) {
  TempDir dir;
  auto r = ReadExchangeJson(dir.Write(name, text), mapping, Intraday());
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kDataError) << r.status().ToString();
  std::string msg(r.status().message());
  const std::string prefix = dir.path().string() + "/";
  for (std::size_t p; (p = msg.find(prefix)) != std::string::npos;) {
    msg.erase(p, prefix.size());
  }
  return msg;
}

// ---------------------------------------------------------------------------------------------
// File names

TEST(ExchangeFileNameTest, AcceptsBinanceAndFreqtradeNames) {
  using Unit = Frequency::Unit;
  struct Case {
    const char* stem;
    const char* symbol;
    Frequency freq;
    const char* kind;
  };
  const Case cases[] = {
      {"ADABTC-1m-2021-11-27", "ADABTC", {Unit::kMinute, 1}, ""},  // data.binance.vision daily
      {"ADABTC-1m-2021-11", "ADABTC", {Unit::kMinute, 1}, ""},     // ... monthly
      {"ADA_BTC-1m", "ADA_BTC", {Unit::kMinute, 1}, ""},           // freqtrade spot
      {"ADA_BTC-5m", "ADA_BTC", {Unit::kMinute, 5}, ""},
      {"UNITTEST_BTC-8m", "UNITTEST_BTC", {Unit::kMinute, 8}, ""},
      {"XRP_USDT-8h-funding_rate", "XRP_USDT", {Unit::kHour, 8}, "funding_rate"},
      {"XRP_USDT-1h-futures", "XRP_USDT", {Unit::kHour, 1}, "futures"},
      {"XRP_USDT-1h-mark", "XRP_USDT", {Unit::kHour, 1}, "mark"},
      {"XRP_USDT-1h-spot", "XRP_USDT", {Unit::kHour, 1}, "spot"},
      {"XRP_USDT-1h-index", "XRP_USDT", {Unit::kHour, 1}, "index"},
      {"XRP_USDT-1h-premiumIndex", "XRP_USDT", {Unit::kHour, 1}, "premiumIndex"},
      {"XRP_USDT_USDT-1h-futures", "XRP_USDT_USDT", {Unit::kHour, 1}, "futures"},  // kept as is
      {"BTCUSDT-1M-2021-11", "BTCUSDT", {Unit::kMonth, 1}, ""},  // <-- M is a month, m a minute
      {"BTCUSDT-1s-2024-02-29", "BTCUSDT", {Unit::kSecond, 1}, ""},
      {"BTCUSDT-3d", "BTCUSDT", {Unit::kDay, 3}, ""},
      {"BTCUSDT-1w", "BTCUSDT", {Unit::kWeek, 1}, ""},
      {"BTCUSDT-12h", "BTCUSDT", {Unit::kHour, 12}, ""},
      {"1000SHIBUSDT-15m-2023-01-01", "1000SHIBUSDT", {Unit::kMinute, 15}, ""},
      {"BTCUSD_PERP-1m-2021-11-27", "BTCUSD_PERP", {Unit::kMinute, 1}, ""},  // COIN-M
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(c.stem);
    auto n = ParseExchangeFileName(c.stem);
    ASSERT_TRUE(n.has_value());
    EXPECT_EQ(n->symbol, c.symbol);
    ASSERT_TRUE(n->freq.has_value());
    EXPECT_EQ(*n->freq, c.freq);
    EXPECT_EQ(n->kind, c.kind);
  }
}

TEST(ExchangeFileNameTest, RejectsOtherNames) {
  // Ingest reads a CSV whose name parses as a headerless Binance kline file, so anything that is
  // not clearly an exchange name must be rejected.
  for (const char* stem : {"AAPL_data",
                           "btc-perp-20211231-20220201_1m",  // nautilus sample
                           "XRP_ETH-trades",
                           "BTCUSDT-trades-2021-11-27",
                           "BTCUSDT-aggTrades-2021-11",
                           "BTCUSDT-fundingRate-2023-01",
                           "candles",
                           "ADA_BTC",
                           "ADA_BTC-",
                           "-1m",
                           "ADA_BTC--1m",
                           "ada_btc-1m",  // lower-case symbol
                           "prices-1d",   // an ordinary file name
                           "_BTC-1m",     // leading '_'
                           "123-1m",      // no letter
                           "ADA_BTC-0m",
                           "ADA_BTC-01m",
                           "ADA_BTC-1000m",
                           "ADA_BTC-m",
                           "ADA_BTC-1y",
                           "ADA_BTC-1min",
                           "ADA_BTC-1m-foo",
                           "XRP_USDT-1h-Mark",
                           "XRP_USDT-1h-futures-x",
                           "XRP_USDT-1h-mark-2021-11",
                           "ADABTC-1m-2021-13",
                           "ADABTC-1m-2021-02-30",
                           "ADABTC-1m-21-11-27",
                           "ADABTC-1m-2021-11-27-01",
                           "ADABTC-1m-2021-1-27",
                           "ADABTC-1m-2021"}) {
    EXPECT_FALSE(ParseExchangeFileName(stem).has_value()) << stem;
  }
}

// ---------------------------------------------------------------------------------------------
// Binance kline CSV (read by the CSV reader with BinanceKlineColumns)

TEST(BinanceKlineCsvTest, ColumnNamesMapToQraftFields) {
  const auto& names = BinanceKlineColumns();
  ASSERT_EQ(names.size(), 12u);
  std::vector<std::string> canonical;
  for (const std::string& n : names) {
    canonical.push_back(CanonicalFieldName(n));
  }
  EXPECT_EQ(canonical, (std::vector<std::string>{
                           "open_time", "open", "high", "low", "close", "volume", "close_time",
                           "amount", "trades", "taker_buy_volume", "taker_buy_amount", "ignore"}));
  auto plan = PlanColumns(names, ColumnMapping{}, "k.csv");
  ASSERT_TRUE(plan.ok()) << plan.status().ToString();
  EXPECT_EQ(plan->time_col, 0);
  EXPECT_EQ(plan->symbol_col, -1);
}

// The CSV reader as ingest calls it for a Binance kline file name.
Result<SourceTable> ReadKlineCsv(const std::filesystem::path& path, ColumnMapping mapping = {}) {
  CsvOptions o;
  o.labeler = Intraday();
  o.headerless_names = BinanceKlineColumns();
  auto name = ParseExchangeFileName(BareStem(path));
  if (name) mapping.symbol_value = name->symbol;
  o.mapping = std::move(mapping);
  return ReadCsvFile(path, o);
}

double Field(const SourceTable& t, std::string_view name, std::size_t row) {
  const int f = t.FieldIndex(name);
  EXPECT_GE(f, 0) << "no field " << name;
  return f < 0 ? std::nan("") : t.fields[static_cast<std::size_t>(f)][row];
}

TEST(BinanceKlineCsvTest, RealDailyFile) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto t = ReadKlineCsv(Nautilus("ADABTC-1m-2021-11-27.csv"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  // The nautilus sample is the first 10 minutes of the day, not all 1440 bars.
  ASSERT_EQ(t->rows(), 10u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"ADABTC"});
  EXPECT_EQ(t->line.front(), 1u);  // no header line: data starts on line 1
  EXPECT_EQ(t->line.back(), 10u);
  // 1637971200000,0.00002853,0.00002854,0.00002851,0.00002854,36304.20000000,1637971259999,
  // 1.03547608,79,19523.00000000,0.55694227,0
  EXPECT_EQ(t->time.front(), Ms(1637971200000));
  EXPECT_EQ(t->time.front(), DateTimestamp(2021, 11, 27));
  EXPECT_EQ(Field(*t, "open", 0), 0.00002853);
  EXPECT_EQ(Field(*t, "high", 0), 0.00002854);
  EXPECT_EQ(Field(*t, "low", 0), 0.00002851);
  EXPECT_EQ(Field(*t, "close", 0), 0.00002854);
  EXPECT_EQ(Field(*t, "volume", 0), 36304.2);
  EXPECT_EQ(Field(*t, "amount", 0), 1.03547608);
  EXPECT_EQ(Field(*t, "trades", 0), 79.0);
  EXPECT_EQ(Field(*t, "taker_buy_volume", 0), 19523.0);
  EXPECT_EQ(Field(*t, "taker_buy_amount", 0), 0.55694227);
  // 1637971740000,0.00002863,0.00002865,0.00002863,0.00002865,8160.50000000,1637971799999,
  // 0.23366480,38,4978.00000000,0.14254743,0
  EXPECT_EQ(t->time.back(), DateTimestamp(2021, 11, 27) + 9 * kNanosPerMinute);
  EXPECT_EQ(Field(*t, "open", 9), 0.00002863);
  EXPECT_EQ(Field(*t, "close", 9), 0.00002865);
  EXPECT_EQ(Field(*t, "volume", 9), 8160.5);
  EXPECT_EQ(Field(*t, "amount", 9), 0.2336648);
  EXPECT_EQ(Field(*t, "trades", 9), 38.0);
  EXPECT_EQ(Field(*t, "taker_buy_volume", 9), 4978.0);
  EXPECT_EQ(Field(*t, "taker_buy_amount", 9), 0.14254743);
  for (std::size_t r = 1; r < t->rows(); ++r) {
    EXPECT_EQ(t->time[r] - t->time[r - 1], kNanosPerMinute);
  }

  // Besides the nine data fields only the bookkeeping columns close_time and ignore may appear:
  // the CSV reader keeps them until mapping.cc drops those names (see
  // BookkeepingColumnsGoWhenIgnored).
  for (const std::string& f : t->field_names) {
    EXPECT_TRUE(IsStandardField(f) || f == "close_time" || f == "ignore") << f;
  }

  auto next = ReadKlineCsv(Nautilus("ADABTC-1m-2021-11-28.csv"));
  ASSERT_TRUE(next.ok()) << next.status().ToString();
  ASSERT_EQ(next->rows(), 11u);
  EXPECT_EQ(next->time.front(), DateTimestamp(2021, 11, 28));
  EXPECT_EQ(Field(*next, "open", 0), 0.0000282);
  EXPECT_EQ(Field(*next, "volume", 0), 85342.7);
  EXPECT_EQ(Field(*next, "trades", 0), 96.0);
}

TEST(BinanceKlineCsvTest, BookkeepingColumnsGoWhenIgnored) {
  QRAFT_REQUIRE_SHARED_DATA();
  ColumnMapping m;
  m.ignore = {"close_time", "ignore"};
  auto t = ReadKlineCsv(Nautilus("ADABTC-1m-2021-11-27.csv"), m);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->field_names,
            (std::vector<std::string>{"open", "high", "low", "close", "volume", "amount", "trades",
                                      "taker_buy_volume", "taker_buy_amount"}));
}

TEST(BinanceKlineCsvTest, MicrosecondSpotTimesSince2025) {
  // Spot files from 2025 on carry µs; the same day in ms and µs gives the same instant.
  CsvOptions o;
  o.labeler = Intraday();
  o.headerless_names = BinanceKlineColumns();
  auto t = ParseCsv(
      "1735689600000000,93576.00,94509.42,93489.03,94345.55,1.5,1735775999999999,141000.1,1000,0.7,"
      "66000.5,0\n"
      "1735776000000,94345.56,94345.56,94345.56,94345.56,2,1735862399999,188691.12,2,1,94345.56,"
      "0\n",
      "BTCUSDT-1d-2025-01.csv", "BTCUSDT", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->time[0], DateTimestamp(2025, 1, 1));
  EXPECT_EQ(t->time[1], DateTimestamp(2025, 1, 2));
  EXPECT_EQ(Field(*t, "close", 0), 94345.55);
}

// ---------------------------------------------------------------------------------------------
// freqtrade JSON on the reference data

TEST(FreqtradeJsonTest, SpotCandles) {
  QRAFT_REQUIRE_SHARED_DATA();
  const auto path = Freqtrade("ADA_BTC-1m.json");
  auto t = ReadExchangeJson(path, {}, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 14383u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"ADA_BTC"});
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"open", "high", "low", "close", "volume"}));
  EXPECT_TRUE(t->notes.empty());
  // [1516424100000, 5.352e-05, 5.4e-05, 5.348e-05, 5.4e-05, 100380.64502838]
  EXPECT_EQ(t->time[0], DateTimestamp(2018, 1, 20) + 4 * kNanosPerHour + 55 * kNanosPerMinute);
  EXPECT_EQ(t->fields[0][0], 5.352e-05);
  EXPECT_EQ(t->fields[1][0], 5.4e-05);
  EXPECT_EQ(t->fields[2][0], 5.348e-05);
  EXPECT_EQ(t->fields[3][0], 5.4e-05);
  EXPECT_EQ(t->fields[4][0], 100380.64502838);
  // [1517287860000, 5.144e-05, 5.145e-05, 5.143e-05, 5.144e-05, 52876.09239161]
  EXPECT_EQ(t->time.back(), Ms(1517287860000));
  EXPECT_EQ(t->fields[3].back(), 5.144e-05);
  EXPECT_EQ(t->fields[4].back(), 52876.09239161);
  // Rows are numbered by record.
  EXPECT_TRUE(t->row_numbers);
  EXPECT_EQ(t->line[0], 1u);
  EXPECT_EQ(t->line.back(), 14383u);
  EXPECT_EQ(t->Where(1), path.string() + " row 2");
}

TEST(FreqtradeJsonTest, GzipCandlesWithOddTimeframe) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto t = ReadExchangeJson(Freqtrade("UNITTEST_BTC-8m.json.gz"), {}, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 13681u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"UNITTEST_BTC"});
  // [1509836520000, 0.00162008, 0.00162008, 0.00162008, 0.00162008, 108.14853839]
  EXPECT_EQ(t->time[0], Ms(1509836520000));
  EXPECT_EQ(t->fields[0][0], 0.00162008);
  EXPECT_EQ(t->fields[4][0], 108.14853839);
  // [1510700340000, 0.00270001, 0.00270002, 0.00270001, 0.00270002, 1.94577668]
  EXPECT_EQ(t->time.back(), Ms(1510700340000));
  EXPECT_EQ(t->fields[1].back(), 0.00270002);
  EXPECT_EQ(t->fields[4].back(), 1.94577668);
}

TEST(FreqtradeJsonTest, FuturesCandlesPlainAndGzipAgree) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto plain = ReadExchangeJson(Freqtrade("futures/XRP_USDT_USDT-1h-futures.json"), {}, Intraday());
  auto gz = ReadExchangeJson(Freqtrade("futures/XRP_USDT_USDT-1h-futures.json.gz"), {}, Intraday());
  ASSERT_TRUE(plain.ok()) << plain.status().ToString();
  ASSERT_TRUE(gz.ok()) << gz.status().ToString();
  ASSERT_EQ(gz->rows(), 100u);
  EXPECT_EQ(gz->symbols, std::vector<std::string>{"XRP_USDT_USDT"});
  EXPECT_EQ(gz->time, plain->time);
  EXPECT_EQ(gz->fields, plain->fields);
  // [1637110800000, 1.0801, 1.09758, 1.07654, 1.07925, 3153694.607359]
  EXPECT_EQ(gz->time[0], DateTimestamp(2021, 11, 17) + kNanosPerHour);
  EXPECT_EQ(gz->fields[0][0], 1.0801);
  EXPECT_EQ(gz->fields[3][0], 1.07925);
  EXPECT_EQ(gz->fields[4][0], 3153694.607359);
}

TEST(FreqtradeJsonTest, FundingRateFromTheOpenSlotWithMillisecondJitterKept) {
  QRAFT_REQUIRE_SHARED_DATA();
  const auto path = Freqtrade("futures/XRP_USDT-8h-funding_rate.json");
  auto t = ReadExchangeJson(path, {}, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 91u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"XRP_USDT"});
  EXPECT_EQ(t->field_names, std::vector<std::string>{"funding_rate"});
  EXPECT_EQ(t->notes,
            std::vector<std::string>{
                "'funding_rate' file: read as field funding_rate (the rate is in the open slot)"});
  // [1637193600017,0.0001,0.0,0.0,0.0,0.0]: funding at 00:00 UTC, written 17 ms late. The reader
  // keeps the instant as written; assembly floors it to the bar that contains it.
  EXPECT_EQ(t->time[0], DateTimestamp(2021, 11, 18) + Ms(17));
  EXPECT_EQ(t->fields[0][0], 0.0001);
  // [1637366400012,0.00013046,...] and [1637510400000,0.00019881,...]
  EXPECT_EQ(t->time[6], DateTimestamp(2021, 11, 20) + Ms(12));
  EXPECT_EQ(t->fields[0][6], 0.00013046);
  EXPECT_EQ(t->time[11], DateTimestamp(2021, 11, 21) + 16 * kNanosPerHour);
  EXPECT_EQ(t->fields[0][11], 0.00019881);
  // [1639785600014,0.0001,...]
  EXPECT_EQ(t->time.back(), DateTimestamp(2021, 12, 18) + Ms(14));
  int jittered = 0;
  for (Timestamp x : t->time) {
    jittered += x % kNanosPerSecond != 0;
    EXPECT_LT(x % (8 * kNanosPerHour), kNanosPerSecond);  // within a second after 00, 08, 16 h
  }
  EXPECT_EQ(jittered, 59);

  // A daily labeler gives the funding's date.
  auto daily = ReadExchangeJson(path, {}, TimeLabeler(true, TimeZone()));
  ASSERT_TRUE(daily.ok()) << daily.status().ToString();
  EXPECT_EQ(daily->time[0], DateTimestamp(2021, 11, 18));
  EXPECT_EQ(daily->time[1], DateTimestamp(2021, 11, 18));
  EXPECT_EQ(daily->time[3], DateTimestamp(2021, 11, 19));
}

TEST(FreqtradeJsonTest, MarkCandlesBecomeMarkFieldsWithoutVolume) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto t = ReadExchangeJson(Freqtrade("futures/XRP_USDT-1h-mark.json"), {}, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 100u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"XRP_USDT"});
  EXPECT_EQ(t->field_names,
            (std::vector<std::string>{"mark_open", "mark_high", "mark_low", "mark_close"}));
  EXPECT_EQ(t->notes, std::vector<std::string>{"'mark' file: read as fields mark_open, mark_high, "
                                               "mark_low, mark_close (volume dropped)"});
  // [1636956000000, 1.20932, 1.21787, 1.20763, 1.21431, null]
  EXPECT_EQ(t->time[0], DateTimestamp(2021, 11, 15) + 6 * kNanosPerHour);
  EXPECT_EQ(t->fields[0][0], 1.20932);
  EXPECT_EQ(t->fields[1][0], 1.21787);
  EXPECT_EQ(t->fields[2][0], 1.20763);
  EXPECT_EQ(t->fields[3][0], 1.21431);

  // The 8h file has volumes in the volume slot; they are dropped all the same.
  auto eight = ReadExchangeJson(Freqtrade("futures/XRP_USDT-8h-mark.json"), {}, Intraday());
  ASSERT_TRUE(eight.ok()) << eight.status().ToString();
  ASSERT_EQ(eight->rows(), 91u);
  EXPECT_EQ(eight->field_names.size(), 4u);
  // [1637193600000, 1.0959, 1.162, 1.0907, 1.1074, 523374743.8]: no jitter in mark candles.
  EXPECT_EQ(eight->time[0], DateTimestamp(2021, 11, 18));
  EXPECT_EQ(eight->fields[3][0], 1.1074);
}

TEST(FreqtradeJsonTest, OtherFreqtradeFilesAreRejectedClearly) {
  QRAFT_REQUIRE_SHARED_DATA();
  // Trades: [ts, id, type, side, price, amount, cost].
  auto trades = ReadExchangeJson(Freqtrade("XRP_ETH-trades.json.gz"), {}, Intraday());
  ASSERT_FALSE(trades.ok());
  EXPECT_EQ(trades.status().message(),
            Freqtrade("XRP_ETH-trades.json.gz").string() +
                " row 1: expected an array of 6 values [time, open, high, low, close, volume] "
                "(freqtrade) or 12 (Binance kline), or a funding-rate object "
                "{\"fundingTime\": ..., \"fundingRate\": ...}, got an array of 7 values");
  // A pandas DataFrame written column by column.
  auto frame = ReadExchangeJson(Freqtrade("candles.json"), {}, Intraday());
  ASSERT_FALSE(frame.ok());
  EXPECT_EQ(frame.status().message(),
            Freqtrade("candles.json").string() +
                ": expected a JSON array of records (candles [time, open, high, low, close, "
                "volume, ...] or funding-rate objects), got an object");
}

// ---------------------------------------------------------------------------------------------
// Binance REST JSON, written here

// From the /api/v3/klines documentation, plus a second candle.
constexpr std::string_view kRestKlines = R"([
  [1499040000000, "0.01634790", "0.80000000", "0.01575800", "0.01577100", "148976.11427815",
   1499644799999, "2434.19055334", 308, "1756.87402397", "28.46694368", "17928899.62484339"],
  [1499644800000, "0.01577100", "0.01600000", "0.01500000", "0.01590000", "1000",
   1500249599999, "15.9", 12, "400.5", "6.3", "0"]
])";

TEST(BinanceJsonTest, RestKlinesWithNumbersAsStrings) {
  TempDir dir;
  ColumnMapping m;
  m.symbol_value = "LTCBTC";
  auto t = ReadExchangeJson(dir.Write("klines.json", kRestKlines), m, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 2u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"LTCBTC"});
  EXPECT_EQ(t->field_names,
            (std::vector<std::string>{"open", "high", "low", "close", "volume", "amount", "trades",
                                      "taker_buy_volume", "taker_buy_amount"}));
  EXPECT_EQ(t->time[0], Ms(1499040000000));
  EXPECT_EQ(t->time[1], Ms(1499644800000));
  const std::vector<double> first = {0.0163479,     0.8, 0.015758,      0.015771,   148976.11427815,
                                     2434.19055334, 308, 1756.87402397, 28.46694368};
  for (std::size_t f = 0; f < first.size(); ++f) {
    EXPECT_EQ(t->fields[f][0], first[f]) << t->field_names[f];
  }
  EXPECT_EQ(t->fields[6][1], 12.0);

  // Without a symbol setting the file name is the symbol; a Binance-style name gives its symbol.
  auto named = ReadExchangeJson(dir.Write("klines.json", kRestKlines), {}, Intraday());
  ASSERT_TRUE(named.ok());
  EXPECT_EQ(named->symbols, std::vector<std::string>{"klines"});
  auto binance = ReadExchangeJson(dir.Write("LTCBTC-1w.json", kRestKlines), {}, Intraday());
  ASSERT_TRUE(binance.ok());
  EXPECT_EQ(binance->symbols, std::vector<std::string>{"LTCBTC"});
  // The mark-price kind applies to the 12-value layout too.
  auto mark = ReadExchangeJson(dir.Write("LTCBTC-1w-mark.json", kRestKlines), {}, Intraday());
  ASSERT_TRUE(mark.ok());
  EXPECT_EQ(mark->field_names,
            (std::vector<std::string>{"mark_open", "mark_high", "mark_low", "mark_close"}));
  EXPECT_EQ(mark->fields[3][0], 0.015771);
}

TEST(BinanceJsonTest, FundingObjectsCarryTheirSymbols) {
  TempDir dir;
  const auto path = dir.Write("funding.json", R"([
    {"symbol": "BTCUSDT", "fundingTime": 1698768000000, "fundingRate": "0.00010000", "markPrice": "34287.54619963"},
    {"symbol": "ETHUSDT", "fundingTime": 1698768000001, "fundingRate": "-0.00002831", "markPrice": ""},
    {"symbol": "BTCUSDT", "fundingTime": 1698796800000, "fundingRate": 0.0001}
  ])");
  ColumnMapping m;
  m.symbol_value = "IGNORED";  // records name their symbols
  auto t = ReadExchangeJson(path, m, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 3u);
  EXPECT_EQ(t->symbols, (std::vector<std::string>{"BTCUSDT", "ETHUSDT"}));
  EXPECT_EQ(t->symbol, (std::vector<std::uint32_t>{0, 1, 0}));
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"funding_rate", "mark_price"}));
  EXPECT_EQ(t->time[0], DateTimestamp(2023, 10, 31) + 16 * kNanosPerHour);
  EXPECT_EQ(t->time[1], t->time[0] + Ms(1));
  EXPECT_EQ(t->fields[0], (std::vector<double>{0.0001, -0.00002831, 0.0001}));
  EXPECT_EQ(t->fields[1][0], 34287.54619963);
  EXPECT_TRUE(std::isnan(t->fields[1][1]));  // "" is missing
  EXPECT_TRUE(std::isnan(t->fields[1][2]));  // absent
  EXPECT_EQ(t->line, (std::vector<std::uint32_t>{1, 2, 3}));

  // Without markPrice there is no mark_price field; without symbol the file gives it.
  auto bare =
      ReadExchangeJson(dir.Write("BTCUSDT-8h-funding_rate.json",
                                 R"([{"fundingTime": 1698768000000, "fundingRate": "0.0001"}])"),
                       {}, Intraday());
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->field_names, std::vector<std::string>{"funding_rate"});
  EXPECT_EQ(bare->symbols, std::vector<std::string>{"BTCUSDT"});
}

TEST(ExchangeJsonTest, MissingValuesAndMappingSettings) {
  TempDir dir;
  const std::string text =
      R"([[1637971200, 1, 2, 0.5, "1.5", null], [1637971260, "NaN", 2, 0.5, 1.5, ""]])";
  ColumnMapping m;
  m.symbol_pattern = "(.+)_candles";
  m.epoch_unit = "s";
  m.ignore = {"High"};  // by field name, canonicalised
  auto t = ReadExchangeJson(dir.Write("ABC_candles.json", text), m, Intraday());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->symbols, std::vector<std::string>{"ABC"});
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"open", "low", "close", "volume"}));
  EXPECT_EQ(t->time[1], DateTimestamp(2021, 11, 27) + kNanosPerMinute);
  EXPECT_EQ(t->fields[2][0], 1.5);
  EXPECT_TRUE(std::isnan(t->fields[3][0]));  // null
  EXPECT_TRUE(std::isnan(t->fields[0][1]));  // "NaN"
  EXPECT_TRUE(std::isnan(t->fields[3][1]));  // ""

  // A pattern that does not match is the pattern's error.
  ColumnMapping bad;
  bad.symbol_pattern = "(.+)_prices";
  auto r = ReadExchangeJson(dir.path() / "ABC_candles.json", bad, Intraday());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// Errors

TEST(ExchangeJsonErrorTest, FileLevel) {
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4,]]"),
            "t.json: not valid JSON at byte 29: parse error at line 1, column 29: syntax error "
            "while parsing value - unexpected ']'; expected '[', '{', or a literal");
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4, 5]"),
            "t.json: not valid JSON at byte 32: parse error at line 1, column 32: syntax error "
            "while parsing array - unexpected end of input; expected ']'");
  EXPECT_EQ(JsonError("t.json", " \n"),
            "t.json: file is empty; expected a JSON array of candles or funding-rate objects");
  EXPECT_EQ(JsonError("t.json", R"({"code": -1121, "msg": "Invalid symbol."})"),
            "t.json: expected a JSON array of records (candles [time, open, high, low, close, "
            "volume, ...] or funding-rate objects), got an object");
  EXPECT_EQ(JsonError("t.json", "[]"),
            "t.json: no records; expected a JSON array of candles or funding-rate objects");

  TempDir dir;
  auto missing = ReadExchangeJson(dir / "absent.json", {}, Intraday());
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound);
  ColumnMapping bad_unit;
  bad_unit.epoch_unit = "days";
  EXPECT_EQ(ReadExchangeJson(dir.Write("t.json", "[]"), bad_unit, Intraday()).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(ExchangeJsonErrorTest, RecordShape) {
  const std::string kExpected =
      "expected an array of 6 values [time, open, high, low, close, volume] (freqtrade) or 12 "
      "(Binance kline), or a funding-rate object {\"fundingTime\": ..., \"fundingRate\": ...}, "
      "got ";
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3]]"),
            "t.json row 1: " + kExpected + "an array of 4 values");
  EXPECT_EQ(JsonError("t.json", "[1637971200000, 1, 2]"),
            "t.json row 1: " + kExpected + "a number");
  EXPECT_EQ(JsonError("t.json", R"(["a"])"), "t.json row 1: " + kExpected + "a string");
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4, 5], [1637971260000, 1, 2, 3, 4]]"),
            "t.json row 2: expected an array of 6 values like row 1, got 5 values");
  EXPECT_EQ(JsonError("t.json", R"([[1637971200000, 1, 2, 3, 4, 5], {"fundingTime": 1}])"),
            "t.json row 2: expected an array of 6 values like row 1, got an object");
  EXPECT_EQ(JsonError("t.json", R"([{"fundingTime": 1637971200000, "fundingRate": 0.1}, [1, 2]])"),
            "t.json row 2: expected a funding-rate object like row 1, got an array");
}

TEST(ExchangeJsonErrorTest, Values) {
  EXPECT_EQ(JsonError("t.json",
                      R"([[1637971200000, 1, 2, 3, 4, 5], [1637971260000, 1, 2, 3, "n/a", 5]])"),
            "t.json row 2: value 5 (close): expected a number, got \"n/a\"");
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, true, 3, 4, 5]]"),
            "t.json row 1: value 3 (high): expected a number, got true");
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4, [5]]]"),
            "t.json row 1: value 6 (volume): expected a number, got [5]");
  EXPECT_EQ(JsonError("t.json", R"([[1637971200000, 1, 2, 3, 4, "Infinity"]])"),
            "t.json row 1: value 6 (volume): expected a number, got \"Infinity\"");
  // Bookkeeping values are not looked at; the values that are read are.
  EXPECT_EQ(
      JsonError("k.json",
                R"([[1499040000000, "1", "1", "1", "1", "1", "x", "1", "many", "1", "1", "0"]])"),
      "k.json row 1: value 9 (trades): expected a number, got \"many\"");
  EXPECT_EQ(
      JsonError("ABC-8h-funding_rate.json", R"([[1637971200000, "0.01%", 0, 0, 0, 0]])"),
      "ABC-8h-funding_rate.json row 1: value 2 (funding_rate): expected a number, got \"0.01%\"");
}

TEST(ExchangeJsonErrorTest, Times) {
  const std::string kExpected = ": expected an integer epoch time such as 1637971200000 (ms), got ";
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4, 5], [null, 1, 2, 3, 4, 5]]"),
            "t.json row 2: value 1 (time)" + kExpected + "null");
  EXPECT_EQ(JsonError("t.json", "[[1637971200000.5, 1, 2, 3, 4, 5]]"),
            "t.json row 1: value 1 (time)" + kExpected + "1637971200000.5");
  EXPECT_EQ(JsonError("t.json", R"([["1637971200000", 1, 2, 3, 4, 5]])"),
            "t.json row 1: value 1 (time)" + kExpected + "\"1637971200000\"");
  EXPECT_EQ(JsonError("t.json", "[[18446744073709551615, 1, 2, 3, 4, 5]]"),
            "t.json row 1: value 1 (time)" + kExpected + "18446744073709551615");
  // Read as seconds (below 1e11), 2e10 s would overflow int64 nanoseconds.
  EXPECT_EQ(JsonError("t.json", "[[20000000000, 1, 2, 3, 4, 5]]"),
            "t.json row 1: value 1 (time): epoch time 20000000000 is out of range (Qraft times "
            "span the years 1677 to 2262)");
  EXPECT_EQ(JsonError("t.json", "[[-9223372036854775808, 1, 2, 3, 4, 5]]"),
            "t.json row 1: value 1 (time): epoch time -9223372036854775808 is out of range (Qraft "
            "times span the years 1677 to 2262)");
  ColumnMapping seconds;
  seconds.epoch_unit = "s";
  EXPECT_EQ(JsonError("t.json", "[[1637971200000, 1, 2, 3, 4, 5]]", seconds),
            "t.json row 1: value 1 (time): epoch time 1637971200000 is out of range (Qraft times "
            "span the years 1677 to 2262)");
}

TEST(ExchangeJsonErrorTest, FundingObjects) {
  EXPECT_EQ(JsonError("f.json", R"([{"symbol": "BTCUSDT", "fundingRate": "0.0001"}])"),
            "f.json row 1: expected key 'fundingTime' (an integer epoch time) in a funding-rate "
            "object, missing");
  EXPECT_EQ(
      JsonError("f.json", R"([{"symbol": "BTCUSDT", "fundingTime": 1698768000000}])"),
      "f.json row 1: expected key 'fundingRate' (a number) in a funding-rate object, missing");
  EXPECT_EQ(
      JsonError("f.json",
                R"([{"symbol": "BTCUSDT", "fundingTime": "1698768000000", "fundingRate": 0}])"),
      "f.json row 1: key 'fundingTime': expected an integer epoch time such as 1637971200000 (ms), "
      "got \"1698768000000\"");
  EXPECT_EQ(
      JsonError("f.json",
                R"([{"symbol": "BTCUSDT", "fundingTime": 1698768000000, "fundingRate": "high"}])"),
      "f.json row 1: key 'fundingRate': expected a number, got \"high\"");
  EXPECT_EQ(
      JsonError("f.json", R"([{"symbol": "BTCUSDT", "fundingTime": 1698768000000, "fundingRate": 0,
                                     "markPrice": false}])"),
      "f.json row 1: key 'markPrice': expected a number, got false");
  EXPECT_EQ(
      JsonError("f.json", R"([{"symbol": 7, "fundingTime": 1698768000000, "fundingRate": 0}])"),
      "f.json row 1: key 'symbol': expected a symbol such as \"BTCUSDT\", got 7");
  EXPECT_EQ(
      JsonError("f.json", R"([{"symbol": "", "fundingTime": 1698768000000, "fundingRate": 0}])"),
      "f.json row 1: key 'symbol': expected a symbol such as \"BTCUSDT\", got \"\"");
}

}  // namespace
}  // namespace qraft::data::io
