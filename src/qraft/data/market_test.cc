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
  EXPECT_EQ(cn.price_limit, 0.1);
  EXPECT_EQ(FindMarket("us_stock").lot_size, 1);
  EXPECT_TRUE(std::isnan(FindMarket("us_stock").price_limit));
  EXPECT_TRUE(std::isnan(FindMarket("crypto_spot").lot_size));
}

TEST(MarketTest, TradingRulesAreChecked) {
  auto lot = ParseMarketYaml("name: x\ntrading: {lot_size: 0}\n", "p.yaml");
  EXPECT_NE(lot.status().message().find("p.yaml:2:11: trading.lot_size must be > 0"),
            std::string::npos)
      << lot.status().message();
  auto limit = ParseMarketYaml("name: x\ntrading: {price_limit: 10}\n", "p.yaml");
  EXPECT_NE(limit.status().message().find("price_limit must be a fraction"), std::string::npos);
  auto unknown = ParseMarketYaml("name: x\ntrading: {tick: 0.01}\n", "p.yaml");
  EXPECT_NE(unknown.status().message().find("unknown key 'trading.tick'"), std::string::npos);
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
