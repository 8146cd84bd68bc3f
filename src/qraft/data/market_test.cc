#include "qraft/data/market.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <string>

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

// The rules and costs of the built-in packs (figures and sources in markets/*.yaml).
TEST(MarketTest, BuiltinPackRulesAndCosts) {
  const MarketSpec cn = FindMarket("cn_stock");
  EXPECT_EQ(cn.tick_size, 0.01);
  EXPECT_EQ(cn.size_increment, 1);
  EXPECT_EQ(cn.sell_after_days, 1);  // T+1
  EXPECT_EQ(cn.multiplier, 1);
  EXPECT_TRUE(std::isnan(cn.margin));  // a cash account
  EXPECT_EQ(cn.costs.commission_bps, 2.5);
  EXPECT_EQ(cn.costs.min_commission, 5);
  EXPECT_TRUE(std::isnan(cn.costs.maker_bps));
  const auto day = [](int y, int m, int d) { return DateTimestamp(y, m, d) + 2 * kNanosPerHour; };
  EXPECT_EQ(ValueOn(cn.costs.stamp_duty_bps, day(2023, 8, 25)), 10);
  EXPECT_EQ(ValueOn(cn.costs.stamp_duty_bps, day(2023, 8, 28)), 5);
  EXPECT_EQ(ValueOn(cn.costs.buy_stamp_duty_bps, day(2008, 9, 18)), 10);
  EXPECT_EQ(ValueOn(cn.costs.buy_stamp_duty_bps, day(2008, 9, 19)), 0);
  EXPECT_EQ(ValueOn(cn.costs.stamp_duty_bps, day(2007, 5, 30)), 30);
  EXPECT_EQ(ValueOn(cn.costs.transfer_fee_bps, day(2022, 4, 28)), 0.2);
  EXPECT_EQ(ValueOn(cn.costs.transfer_fee_bps, day(2022, 4, 29)), 0.1);

  const MarketSpec us = FindMarket("us_stock");
  EXPECT_EQ(us.sell_after_days, 0);
  EXPECT_EQ(us.costs.commission_per_share, 0.005);
  EXPECT_EQ(us.costs.min_commission, 1);
  EXPECT_EQ(us.costs.max_commission_bps, 100);
  EXPECT_EQ(ValueOn(us.costs.sell_fee_bps, day(2024, 6, 3)), 0.278);
  EXPECT_EQ(ValueOn(us.costs.sell_fee_bps, day(2025, 6, 2)), 0);

  const MarketSpec spot = FindMarket("crypto_spot");
  EXPECT_EQ(spot.size_increment, 0.00001);
  EXPECT_EQ(spot.costs.maker_bps, 10);
  EXPECT_EQ(spot.costs.taker_bps, 10);
  const MarketSpec perp = FindMarket("crypto_perp");
  EXPECT_EQ(perp.costs.maker_bps, 2);
  EXPECT_EQ(perp.costs.taker_bps, 5);
  EXPECT_EQ(perp.funding_interval_hours, 8);
  EXPECT_EQ(perp.margin, 0.1);
  const MarketSpec fut = FindMarket("futures");
  EXPECT_EQ(fut.costs.commission_per_contract, 0.85);
  EXPECT_EQ(fut.multiplier, 1);
  EXPECT_EQ(fut.margin, 0.1);
  EXPECT_EQ(fut.lot_size, 1);

  // An ad-hoc market: no rules, no costs.
  const MarketSpec adhoc = FindMarket("my_exchange");
  EXPECT_TRUE(std::isnan(adhoc.tick_size));
  EXPECT_EQ(adhoc.sell_after_days, 0);
  EXPECT_EQ(adhoc.costs.commission_bps, 0);
  EXPECT_TRUE(adhoc.costs.stamp_duty_bps.empty());

  for (const MarketSpec* m : {&cn, &us, &spot, &perp, &fut})
    EXPECT_TRUE(ChargesFees(m->costs)) << m->name;
  EXPECT_FALSE(ChargesFees(adhoc.costs));
  PackCosts levy_ended;  // a levy that was abolished before any date in the data still counts
  levy_ended.sell_fee_bps = {{DateTimestamp(2020, 1, 1), 0.2}, {DateTimestamp(2021, 1, 1), 0}};
  EXPECT_TRUE(ChargesFees(levy_ended));
  levy_ended.sell_fee_bps = {{DateTimestamp(2020, 1, 1), 0}};
  EXPECT_FALSE(ChargesFees(levy_ended));
}

// Every field of a pack, written once by hand.
TEST(MarketTest, ParsesEveryField) {
  const auto m = ParseMarketYaml(R"(name: x
trading:
  lot_size: 10
  tick_size: 0.05
  size_increment: 0.5
  sell_after_days: 2
  multiplier: 300
  margin: 0.12
  funding_interval_hours: 4
  price_limit: 0.1
  st_price_limit: {2000-01-03: 0.05}
  no_limit_days_after_listing: 1
  boards: [{name: b, codes: ["9"], price_limit: 0.2, st_price_limit: 0.2,
            no_limit_days_after_listing: {2020-01-02: 5}}]
costs:
  commission_bps: 1.5
  commission_per_share: 0.01
  commission_per_contract: 2
  min_commission: 3
  max_commission_bps: 50
  maker_bps: -0.5
  taker_bps: 4
  stamp_duty_bps: {2000-01-03: 10, 2010-01-04: 5}
  buy_stamp_duty_bps: 1
  transfer_fee_bps: 0.2
  exchange_fee_bps: {2000-01-03: 0.3}
  sell_fee_bps: 0.25
  spread_bps: 3
)",
                                 "p.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  EXPECT_EQ(m->lot_size, 10);
  EXPECT_EQ(m->tick_size, 0.05);
  EXPECT_EQ(m->size_increment, 0.5);
  EXPECT_EQ(m->sell_after_days, 2);
  EXPECT_EQ(m->multiplier, 300);
  EXPECT_EQ(m->margin, 0.12);
  EXPECT_EQ(m->funding_interval_hours, 4);
  EXPECT_EQ(m->st_price_limit, (Schedule{{DateTimestamp(2000, 1, 3), 0.05}}));
  EXPECT_EQ(m->no_limit_days_after_listing, (Schedule{{kNoTimestamp, 1}}));
  ASSERT_EQ(m->boards.size(), 1u);
  EXPECT_EQ(m->boards[0].st_price_limit, (Schedule{{kNoTimestamp, 0.2}}));
  EXPECT_EQ(m->boards[0].no_limit_days_after_listing, (Schedule{{DateTimestamp(2020, 1, 2), 5}}));
  const PackCosts& c = m->costs;
  EXPECT_EQ(c.commission_bps, 1.5);
  EXPECT_EQ(c.commission_per_share, 0.01);
  EXPECT_EQ(c.commission_per_contract, 2);
  EXPECT_EQ(c.min_commission, 3);
  EXPECT_EQ(c.max_commission_bps, 50);
  EXPECT_EQ(c.maker_bps, -0.5);
  EXPECT_EQ(c.taker_bps, 4);
  EXPECT_EQ(c.stamp_duty_bps,
            (Schedule{{DateTimestamp(2000, 1, 3), 10}, {DateTimestamp(2010, 1, 4), 5}}));
  EXPECT_EQ(c.buy_stamp_duty_bps, (Schedule{{kNoTimestamp, 1}}));
  EXPECT_EQ(c.transfer_fee_bps, (Schedule{{kNoTimestamp, 0.2}}));
  EXPECT_EQ(c.exchange_fee_bps, (Schedule{{DateTimestamp(2000, 1, 3), 0.3}}));
  EXPECT_EQ(c.sell_fee_bps, (Schedule{{kNoTimestamp, 0.25}}));
  EXPECT_EQ(c.spread_bps, 3);
}

// Errors name file:line:column and what was expected.
TEST(MarketTest, CostAndRuleErrorsNameTheLine) {
  auto error = [](std::string_view yaml) {
    auto r = ParseMarketYaml(yaml, "p.yaml");
    EXPECT_FALSE(r.ok()) << yaml;
    return std::string(r.status().message());
  };
  auto has = [](const std::string& message, std::string_view part) {
    EXPECT_NE(message.find(part), std::string::npos) << message;
  };
  has(error("name: x\ncosts: {commission_bps: -1}\n"),
      "p.yaml:2:9: costs.commission_bps must be in [0, 10000), got -1");
  has(error("name: x\ncosts:\n  fee_bps: 1\n"), "p.yaml:3:3: unknown key 'costs.fee_bps'");
  has(error("name: x\ncosts:\n  maker_bps: 2\n"),
      "p.yaml:3:3: costs.maker_bps and costs.taker_bps go together");
  has(error("name: x\ncosts:\n  commission_bps: 1\n  commission_bps: 2\n"),
      "p.yaml:4:3: duplicate key 'commission_bps' in costs");
  has(error("name: x\ncosts:\n  stamp_duty_bps: {2023-08-28: 5, 2008-09-19: 10}\n"),
      "p.yaml:3:35: costs.stamp_duty_bps: dates must ascend");
  has(error("name: x\ncosts:\n  stamp_duty_bps: {2023-02-30: 5}\n"),
      "p.yaml:3:20: costs.stamp_duty_bps: '2023-02-30' is not a date");
  has(error("name: x\ncosts:\n  transfer_fee_bps: [0.1]\n"),
      "p.yaml:3:3: costs.transfer_fee_bps must be basis points, or dated basis points");
  has(error("name: x\ncosts:\n  sell_fee_bps: {2020-01-02: abc}\n"),
      "p.yaml:3:18: costs.sell_fee_bps must be a number");
  has(error("name: x\ncosts:\n  max_commission_bps: 0\n"), "costs.max_commission_bps must be > 0");
  has(error("name: x\ncosts:\n  maker_bps: -200\n  taker_bps: 5\n"),
      "p.yaml:3:3: costs.maker_bps must be basis points in (-100, 10000), got -200");
  has(error("name: x\ncosts: [1]\n"), "p.yaml:2:1: costs must be a mapping");
  has(error("name: x\ncosts:\n  spread_bps: .nan\n"), "costs.spread_bps must be a finite number");
  has(error("name: x\ntrading:\n  sell_after_days: 1.5\n"),
      "p.yaml:3:3: trading.sell_after_days must be a whole number >= 0, got 1.5");
  has(error("name: x\ntrading:\n  margin: 2\n"),
      "p.yaml:3:3: trading.margin must be a fraction of the notional in (0, 1]");
  has(error("name: x\ntrading:\n  tick_size: 0\n"), "p.yaml:3:3: trading.tick_size must be > 0");
  has(error("name: x\ntrading:\n  st_price_limit: {2020-01-02: 5}\n"),
      "p.yaml:3:20: trading.st_price_limit must be a fraction in (0, 1), got 5");
  has(error("name: x\ntrading:\n  no_limit_days_after_listing: -1\n"),
      "trading.no_limit_days_after_listing must be a whole number >= 0, got -1");
  has(error("name: x\ntrading:\n  lot_size: 1\n  lot_size: 2\n"),
      "p.yaml:4:3: duplicate key 'lot_size' in trading");
  has(error("name: x\ntrading: {boards: [{name: b, codes: [\"1\"], st_limit: 0.1}]}\n"),
      "unknown key 'st_limit' in a board");
}

// cn_stock's limits for ST symbols and in the days after a listing (markets/cn_stock.yaml).
TEST(MarketTest, PriceLimitOnStAndListingDays) {
  const MarketSpec cn = FindMarket("cn_stock");
  auto on = [&](std::string_view symbol, int y, int m, int d, bool st, std::int64_t days) {
    return PriceLimitOn(cn, symbol, DateTimestamp(y, m, d) + 2 * kNanosPerHour, st, days);
  };
  constexpr std::int64_t kUnknown = -1, kOld = 1000;
  EXPECT_EQ(on("SH600000", 2015, 7, 8, false, kOld), 0.1);  // as PriceLimitSchedule
  EXPECT_EQ(on("SH600000", 2015, 7, 8, true, kOld), 0.05);  // main-board ST
  EXPECT_EQ(on("SH600000", 2015, 7, 8, true, kUnknown), 0.05);
  EXPECT_EQ(on("SZ000001", 1998, 4, 21, true, kOld), 0.1);   // before ST limits
  EXPECT_EQ(on("SZ000001", 1998, 4, 22, true, kOld), 0.05);  // their first day
  EXPECT_EQ(on("SZ300750", 2020, 8, 21, true, kOld), 0.05);  // ChiNext ST before the reform
  EXPECT_EQ(on("SZ300750", 2020, 8, 24, true, kOld), 0.2);   // and after it
  EXPECT_EQ(on("SH688981", 2021, 6, 1, true, kOld), 0.2);    // STAR ST
  EXPECT_EQ(on("BJ830799", 2022, 6, 1, true, kOld), 0.3);    // Beijing ST
  EXPECT_EQ(on("AAPL", 2022, 6, 1, true, kOld), 0.05);       // no board: the market's
  // No limit on the first five trading days of a STAR listing (days 0..4), then ±20%.
  for (std::int64_t d = 0; d < 5; ++d)
    EXPECT_TRUE(std::isnan(on("SH688981", 2021, 6, 1, false, d))) << d;
  EXPECT_EQ(on("SH688981", 2021, 6, 1, false, 5), 0.2);
  EXPECT_EQ(on("SH688981", 2021, 6, 1, false, kUnknown), 0.2);   // unknown: no exemption
  EXPECT_TRUE(std::isnan(on("SH688981", 2021, 6, 1, true, 0)));  // the exemption before ST
  // ChiNext: the listing day before the reform, five days from it.
  EXPECT_TRUE(std::isnan(on("SZ300999", 2020, 8, 21, false, 0)));
  EXPECT_EQ(on("SZ300999", 2020, 8, 21, false, 1), 0.1);
  EXPECT_TRUE(std::isnan(on("SZ300999", 2020, 8, 24, false, 4)));
  // Main board: the listing day, five days from 2023-04-10.
  EXPECT_TRUE(std::isnan(on("SH601999", 2015, 7, 8, false, 0)));
  EXPECT_EQ(on("SH601999", 2015, 7, 8, false, 1), 0.1);
  EXPECT_EQ(on("SH601999", 2023, 4, 7, false, 4), 0.1);
  EXPECT_TRUE(std::isnan(on("SH601999", 2023, 4, 10, false, 4)));
  EXPECT_EQ(on("SH601999", 2023, 4, 10, false, 5), 0.1);
  // Markets without limits.
  EXPECT_TRUE(std::isnan(PriceLimitOn(FindMarket("us_stock"), "AAPL", 0, true, 0)));
  EXPECT_TRUE(std::isnan(PriceLimitOn(FindMarket("us_stock"), "AAPL", 0, false, kUnknown)));
  EXPECT_EQ(BoardOf(cn, "SZ300750")->name, "chinext");
  EXPECT_EQ(BoardOf(cn, "SH600000"), nullptr);
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
