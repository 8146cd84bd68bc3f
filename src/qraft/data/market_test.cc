#include "qraft/data/market.h"

#include <gtest/gtest.h>

#include <cmath>

namespace qraft::data {
namespace {

TEST(MarketTest, BuiltinPacksParse) {
  const auto names = BuiltinMarkets();
  ASSERT_GE(names.size(), 5u);
  for (const std::string& n : names) {
    MarketSpec m = FindMarket(n);
    EXPECT_TRUE(m.from_pack) << n;
    EXPECT_EQ(m.name, n);
    EXPECT_TRUE(TimeZone::Find(m.timezone).ok()) << n;
  }
  MarketSpec cn = FindMarket("cn_stock");
  EXPECT_EQ(cn.timezone, "Asia/Shanghai");
  ASSERT_EQ(cn.sessions.size(), 2u);
  EXPECT_EQ(cn.sessions[1], (Session{13 * 60, 15 * 60}));
  EXPECT_TRUE(FindMarket("crypto_spot").sessions.empty());  // 00:00-24:00 is the whole day
  EXPECT_EQ(cn.lot_size, 100);
  EXPECT_TRUE(HasPriceLimits(cn));
  EXPECT_EQ(FindMarket("us_stock").lot_size, 1);
  EXPECT_FALSE(HasPriceLimits(FindMarket("us_stock")));
  EXPECT_TRUE(std::isnan(FindMarket("crypto_spot").lot_size));
}

TEST(MarketTest, TradingRulesAreChecked) {
  auto lot = ParseMarketYaml("name: x\ntrading: {lot_size: 0}\n", "p.yaml");
  EXPECT_NE(lot.status().message().find("p.yaml:2:11: trading.lot_size must be > 0"),
            std::string::npos)
      << lot.status().message();
  auto limit = ParseMarketYaml("name: x\ntrading: {price_limit: 10}\n", "p.yaml");
  EXPECT_NE(limit.status().message().find("price_limit must be a fraction"), std::string::npos);
  auto date = ParseMarketYaml("name: x\ntrading: {price_limit: {2020-13-01: 0.1}}\n", "p.yaml");
  EXPECT_NE(
      date.status().message().find("p.yaml:2:25: trading.price_limit: '2020-13-01' is not a date"),
      std::string::npos)
      << date.status().message();
  auto order = ParseMarketYaml(
      "name: x\ntrading: {price_limit: {2020-01-02: 0.1, 2019-01-02: 0.2}}\n", "p.yaml");
  EXPECT_NE(order.status().message().find("dates must ascend"), std::string::npos);
  auto board =
      ParseMarketYaml("name: x\ntrading: {boards: [{name: b, price_limit: 0.2}]}\n", "p.yaml");
  EXPECT_NE(board.status().message().find("a board needs a name and codes"), std::string::npos);
  auto unknown = ParseMarketYaml("name: x\ntrading: {tick: 0.01}\n", "p.yaml");
  EXPECT_NE(unknown.status().message().find("unknown key 'trading.tick'"), std::string::npos);
}

// cn_stock's limits by board and date (reference/anchors/ENGINES.md §4).
TEST(MarketTest, PriceLimitsByBoardAndDate) {
  const MarketSpec cn = FindMarket("cn_stock");
  auto limit = [&](std::string_view symbol, int y, int m, int d) {
    return ValueOn(PriceLimitSchedule(cn, symbol), DateTimestamp(y, m, d) + 2 * kNanosPerHour);
  };
  EXPECT_EQ(SymbolCode("SH600000"), "600000");
  EXPECT_EQ(SymbolCode("300750.SZ"), "300750");
  EXPECT_EQ(SymbolCode("AAPL"), "");
  EXPECT_EQ(limit("SH600000", 2015, 7, 8), 0.1);  // main board
  EXPECT_EQ(limit("sz000001", 2023, 1, 3), 0.1);
  EXPECT_TRUE(std::isnan(limit("SH600000", 1995, 1, 3)));  // before limits existed
  EXPECT_EQ(limit("SZ300750", 2020, 8, 21), 0.1);          // ChiNext before the reform
  EXPECT_EQ(limit("SZ300750", 2020, 8, 24), 0.2);          // and from its first day
  EXPECT_EQ(limit("SH688981", 2021, 6, 1), 0.2);           // STAR
  EXPECT_EQ(limit("BJ830799", 2022, 6, 1), 0.3);           // Beijing
  EXPECT_EQ(limit("AAPL", 2020, 1, 2), 0.1);               // no code: the default board
  EXPECT_TRUE(std::isnan(ValueOn({}, 0)));
}

TEST(MarketTest, UnknownMarketGetsUtcDefaults) {
  MarketSpec m = FindMarket("my_exchange");
  EXPECT_FALSE(m.from_pack);
  EXPECT_EQ(m.timezone, "UTC");
}

TEST(MarketTest, PackErrorsNameTheLine) {
  auto r = ParseMarketYaml("name: x\ntimezone: Nowhere/City\n", "p.yaml");
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("p.yaml:2:1"), std::string::npos) << r.status().message();
  auto k = ParseMarketYaml("name: x\nsesions: []\n", "p.yaml");
  EXPECT_NE(k.status().message().find("unknown key 'sesions'"), std::string::npos);
  EXPECT_FALSE(ParseMarketYaml("timezone: UTC\n", "p.yaml").ok());
}

}  // namespace
}  // namespace qraft::data
