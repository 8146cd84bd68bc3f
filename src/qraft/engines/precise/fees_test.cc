#include "qraft/engines/precise/fees.h"

#include <gtest/gtest.h>

#include <cmath>
#include <optional>
#include <string>
#include <utility>

#include "qraft/core/time.h"
#include "qraft/data/market.h"

namespace qraft::precise {
namespace {

// 10:00 in Beijing (02:00 UTC) on an exchange date; the dated rules compare UTC dates.
Timestamp Day(int y, int m, int d) {
  return DateTimestamp(y, m, d) + 2 * kNanosPerHour;
}

FeeSchedule Pack(std::string_view name) {
  auto s = FeesFromPack(data::FindMarket(name));
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? *s : FeeSchedule{};
}

// One fill that is a whole order.
FeeBreakdown Alone(const FeeSchedule& s, Side side, double value, double units, Timestamp t,
                   Liquidity liq = Liquidity::kTaker) {
  return FillFees(s, side, liq, value, units, t, 0, 0, 0);
}

// A-shares (markets/cn_stock.yaml): commission 2.5 bps, minimum CNY 5 per order; stamp duty on
// sells 10 bps, 5 bps from 2023-08-28; transfer fee 0.1 bps per side since 2022-04-29.
TEST(FeesTest, AShareStampDutyHalvedOn20230828) {
  const FeeSchedule cn = Pack("cn_stock");
  // Sell 1,000 shares at 10.00 = CNY 10,000 on Friday 2023-08-25.
  const FeeBreakdown before = Alone(cn, Side::kSell, 10'000, 1'000, Day(2023, 8, 25));
  EXPECT_DOUBLE_EQ(before.stamp_duty, 10.0);   // 0.1%
  EXPECT_DOUBLE_EQ(before.commission, 5.0);    // 2.5 bps = 2.50 < the CNY 5 minimum
  EXPECT_DOUBLE_EQ(before.transfer_fee, 0.1);  // 0.001%
  EXPECT_DOUBLE_EQ(before.exchange_fee, 0.0);  // folded into the commission
  EXPECT_DOUBLE_EQ(before.Total(), 15.1);
  // The same sale on Monday 2023-08-28, the first day of the 0.05% rate.
  const FeeBreakdown after = Alone(cn, Side::kSell, 10'000, 1'000, Day(2023, 8, 28));
  EXPECT_DOUBLE_EQ(after.stamp_duty, 5.0);
  EXPECT_DOUBLE_EQ(after.Total(), 10.1);
  // The boundary is the UTC date: 23:59 UTC on 08-27 is before it, 00:00 UTC on 08-28 on it.
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kSell, 10'000, 1'000, DateTimestamp(2023, 8, 28) - 1).stamp_duty,
                   10.0);
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kSell, 10'000, 1'000, DateTimestamp(2023, 8, 28)).stamp_duty,
                   5.0);
  // Buys pay no stamp duty.
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 10'000, 1'000, Day(2023, 8, 25)).stamp_duty, 0.0);
}

TEST(FeesTest, AShareMinimumCommission) {
  const FeeSchedule cn = Pack("cn_stock");
  // Buy 100 shares at 3.00 = CNY 300: 2.5 bps would be 0.075; the minimum is 5.
  const FeeBreakdown small = Alone(cn, Side::kBuy, 300, 100, Day(2024, 3, 1));
  EXPECT_DOUBLE_EQ(small.commission, 5.0);
  EXPECT_DOUBLE_EQ(small.stamp_duty, 0.0);
  EXPECT_DOUBLE_EQ(small.transfer_fee, 0.003);
  // Above CNY 20,000 the rate binds: 100,000 x 2.5 bps = 25.
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 100'000, 10'000, Day(2024, 3, 1)).commission, 25.0);
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 20'000, 2'000, Day(2024, 3, 1)).commission, 5.0);
}

// The minimum and the cap belong to the order: partial fills pay increments of the order's
// commission, never the minimum twice.
TEST(FeesTest, PartialFillsPayTheMinimumOnce) {
  const FeeSchedule cn = Pack("cn_stock");
  const Timestamp t = Day(2024, 3, 1);
  // An order of 300 shares at 10.00 filled in three parts of 100 (CNY 1,000 each).
  double commission = 0, value = 0, units = 0;
  double paid[3];
  for (double& p : paid) {
    const FeeBreakdown f =
        FillFees(cn, Side::kBuy, Liquidity::kTaker, 1'000, 100, t, commission, value, units);
    p = f.commission;
    commission += f.commission;
    value += 1'000;
    units += 100;
  }
  EXPECT_DOUBLE_EQ(paid[0], 5.0);
  EXPECT_DOUBLE_EQ(paid[1], 0.0);
  EXPECT_DOUBLE_EQ(paid[2], 0.0);
  EXPECT_DOUBLE_EQ(commission, 5.0);
  // Three fills of CNY 10,000 each: raw 2.5 per fill. The first pays the minimum, the second
  // nothing (raw 5.0 = the minimum), the third the excess: 7.5 in all = the rate on 30,000.
  commission = value = units = 0;
  for (const double expected : {5.0, 0.0, 2.5}) {
    const FeeBreakdown f =
        FillFees(cn, Side::kBuy, Liquidity::kTaker, 10'000, 1'000, t, commission, value, units);
    EXPECT_NEAR(f.commission, expected, 1e-12);
    commission += f.commission;
    value += 10'000;
    units += 1'000;
  }
  EXPECT_NEAR(commission, 7.5, 1e-12);
  // Levies are per fill, not per order.
  EXPECT_DOUBLE_EQ(
      FillFees(cn, Side::kSell, Liquidity::kTaker, 10'000, 1'000, t, 5, 10'000, 1'000).stamp_duty,
      5.0);
}

// Before 2008-09-19 both sides paid stamp duty (markets/cn_stock.yaml).
TEST(FeesTest, AShareStampDutyHistory) {
  const FeeSchedule cn = Pack("cn_stock");
  auto duty = [&](Side side, int y, int m, int d) {
    return Alone(cn, side, 10'000, 1'000, Day(y, m, d)).stamp_duty;
  };
  EXPECT_DOUBLE_EQ(duty(Side::kBuy, 2006, 3, 1), 10.0);  // 0.1% each side from 2005-01-24
  EXPECT_DOUBLE_EQ(duty(Side::kBuy, 2007, 5, 29), 10.0);
  EXPECT_DOUBLE_EQ(duty(Side::kBuy, 2007, 5, 30), 30.0);  // 0.3% from 2007-05-30
  EXPECT_DOUBLE_EQ(duty(Side::kSell, 2007, 5, 30), 30.0);
  EXPECT_DOUBLE_EQ(duty(Side::kSell, 2008, 4, 24), 10.0);  // 0.1% from 2008-04-24
  EXPECT_DOUBLE_EQ(duty(Side::kBuy, 2008, 9, 18), 10.0);
  EXPECT_DOUBLE_EQ(duty(Side::kBuy, 2008, 9, 19), 0.0);  // seller only from 2008-09-19
  EXPECT_DOUBLE_EQ(duty(Side::kSell, 2008, 9, 19), 10.0);
  EXPECT_DOUBLE_EQ(duty(Side::kSell, 1999, 1, 4), 0.0);  // before the schedule: none
  // Transfer fee: 0.2 bps until 2022-04-28, 0.1 bps from 2022-04-29, none before 2015-08-01.
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 10'000, 1'000, Day(2022, 4, 28)).transfer_fee, 0.2);
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 10'000, 1'000, Day(2022, 4, 29)).transfer_fee, 0.1);
  EXPECT_DOUBLE_EQ(Alone(cn, Side::kBuy, 10'000, 1'000, Day(2015, 7, 31)).transfer_fee, 0.0);
}

// us_stock: IB Fixed, $0.005 per share, min $1.00, max 1% of value per order (IB's own examples:
// 100 @ $25 = $1.00, 1,000 @ $25 = $5.00, 1,000 @ $0.25 = $2.50); SEC fee on sales.
TEST(FeesTest, UsPerShareWithMinimumAndCap) {
  const FeeSchedule us = Pack("us_stock");
  const Timestamp t = Day(2024, 6, 3);
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 2'500, 100, t).commission, 1.0);     // 0.50 -> min
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 25'000, 1'000, t).commission, 5.0);  // per share
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 250, 1'000, t).commission, 2.5);     // 5.00 -> cap 1%
  // The cap wins over the minimum: 10 shares at $0.05 pay 1% of $0.50.
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 0.5, 10, t).commission, 0.005);
  // SEC fee: $27.80 per million of sales from 2024-05-22, $0.00 from 2025-05-14; none on buys.
  EXPECT_NEAR(Alone(us, Side::kSell, 25'000, 1'000, t).exchange_fee, 0.695, 1e-12);
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 25'000, 1'000, t).exchange_fee, 0.0);
  EXPECT_DOUBLE_EQ(Alone(us, Side::kSell, 25'000, 1'000, Day(2025, 6, 2)).exchange_fee, 0.0);
  EXPECT_NEAR(Alone(us, Side::kSell, 1e6, 1'000, Day(2021, 3, 1)).exchange_fee, 5.10, 1e-9);
  EXPECT_DOUBLE_EQ(Alone(us, Side::kSell, 25'000, 1'000, t).stamp_duty, 0.0);
  // An order of 1,000 shares at $0.25 filled as 400 + 600: the cap applies to the order,
  // 1% of $100 = $1.00 (it wins over the minimum), then 1% of $250 in all = $2.50.
  const FeeBreakdown first = FillFees(us, Side::kBuy, Liquidity::kTaker, 100, 400, t, 0, 0, 0);
  EXPECT_DOUBLE_EQ(first.commission, 1.0);
  const FeeBreakdown second =
      FillFees(us, Side::kBuy, Liquidity::kTaker, 150, 600, t, first.commission, 100, 400);
  EXPECT_DOUBLE_EQ(second.commission, 1.5);
}

TEST(FeesTest, CryptoMakerTaker) {
  const Timestamp t = Day(2024, 1, 2);
  // Spot: 10 bps both ways; 0.5 BTC at 40,000 = 20,000 USDT pays 20.
  const FeeSchedule spot = Pack("crypto_spot");
  EXPECT_DOUBLE_EQ(Alone(spot, Side::kBuy, 20'000, 0.5, t, Liquidity::kMaker).commission, 20.0);
  EXPECT_DOUBLE_EQ(Alone(spot, Side::kSell, 20'000, 0.5, t, Liquidity::kTaker).commission, 20.0);
  EXPECT_DOUBLE_EQ(Alone(spot, Side::kSell, 20'000, 0.5, t).stamp_duty, 0.0);
  // Perpetual: maker 2 bps, taker 5 bps; 1 BTC at 60,000.
  const FeeSchedule perp = Pack("crypto_perp");
  EXPECT_DOUBLE_EQ(Alone(perp, Side::kBuy, 60'000, 1, t, Liquidity::kMaker).commission, 12.0);
  EXPECT_DOUBLE_EQ(Alone(perp, Side::kBuy, 60'000, 1, t, Liquidity::kTaker).commission, 30.0);
  EXPECT_DOUBLE_EQ(Alone(perp, Side::kSell, 60'000, 1, t, Liquidity::kTaker).Total(), 30.0);
  // One order filled half as a taker, half as a maker (no minimum: additive).
  const FeeBreakdown taken = FillFees(perp, Side::kBuy, Liquidity::kTaker, 30'000, 0.5, t, 0, 0, 0);
  const FeeBreakdown made =
      FillFees(perp, Side::kBuy, Liquidity::kMaker, 30'000, 0.5, t, taken.commission, 30'000, 0.5);
  EXPECT_DOUBLE_EQ(taken.commission, 15.0);
  EXPECT_DOUBLE_EQ(made.commission, 6.0);
  // A maker rebate (negative rate) is paid out, not clamped to the minimum.
  data::MarketSpec rebate;
  rebate.costs.maker_bps = -1;
  rebate.costs.taker_bps = 3;
  rebate.costs.min_commission = 1;
  const auto r = FeesFromPack(rebate);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(Alone(*r, Side::kBuy, 10'000, 1, t, Liquidity::kMaker).commission, -1.0);
  EXPECT_DOUBLE_EQ(Alone(*r, Side::kBuy, 1'000, 1, t, Liquidity::kTaker).commission, 1.0);
}

// With maker / taker rates and a minimum, an order whose charge sat at the minimum re-prices
// its earlier fills at this fill's rate (fees.h).
TEST(FeesTest, MakerTakerWithMinimumAcrossFills) {
  data::MarketSpec m;
  m.costs.maker_bps = 2;
  m.costs.taker_bps = 5;
  m.costs.min_commission = 5;
  const auto s = FeesFromPack(m);
  ASSERT_TRUE(s.ok());
  const Timestamp t = Day(2024, 1, 2);
  // Taker 10,000 (raw 5.0 = the minimum), then taker 10,000: raw 10, pays 5 more.
  const FeeBreakdown a = FillFees(*s, Side::kBuy, Liquidity::kTaker, 10'000, 1, t, 0, 0, 0);
  EXPECT_DOUBLE_EQ(a.commission, 5.0);
  EXPECT_DOUBLE_EQ(
      FillFees(*s, Side::kBuy, Liquidity::kTaker, 10'000, 1, t, a.commission, 10'000, 1).commission,
      5.0);
  // Taker 40,000 (raw 20, inside), then maker 10,000: raw 20 + 2 = 22, pays 2.
  const FeeBreakdown b = FillFees(*s, Side::kBuy, Liquidity::kTaker, 40'000, 1, t, 0, 0, 0);
  EXPECT_DOUBLE_EQ(b.commission, 20.0);
  EXPECT_DOUBLE_EQ(
      FillFees(*s, Side::kBuy, Liquidity::kMaker, 10'000, 1, t, b.commission, 40'000, 1).commission,
      2.0);
}

// futures: $0.85 per contract per side, whatever the value.
TEST(FeesTest, FuturesPerContract) {
  const FeeSchedule fut = Pack("futures");
  const Timestamp t = Day(2024, 1, 2);
  EXPECT_DOUBLE_EQ(Alone(fut, Side::kBuy, 3 * 4'800.0 * 50, 3, t).commission, 2.55);
  EXPECT_DOUBLE_EQ(Alone(fut, Side::kSell, 3 * 4'800.0 * 50, 3, t).Total(), 2.55);
  EXPECT_DOUBLE_EQ(Alone(fut, Side::kSell, 1, 3, t).commission, 2.55);
  // Partial fills of one order add up to the per-contract total.
  const FeeBreakdown a = FillFees(fut, Side::kBuy, Liquidity::kTaker, 100, 1, t, 0, 0, 0);
  const FeeBreakdown b =
      FillFees(fut, Side::kBuy, Liquidity::kTaker, 200, 2, t, a.commission, 100, 1);
  EXPECT_DOUBLE_EQ(a.commission + b.commission, 2.55);
}

TEST(FeesTest, NoPackNoFees) {
  const auto s = FeesFromPack(data::FindMarket("my_exchange"));
  ASSERT_TRUE(s.ok());
  EXPECT_DOUBLE_EQ(Alone(*s, Side::kSell, 1e6, 1e4, Day(2024, 1, 2)).Total(), 0.0);
  EXPECT_DOUBLE_EQ(Alone(FeeSchedule{}, Side::kBuy, 1e6, 1e4, Day(2024, 1, 2)).Total(), 0.0);
}

// The DSL's costs.fee_bps / min_fee / tax_bps over the pack.
TEST(FeesTest, DslOverrides) {
  const FeeSchedule cn = Pack("cn_stock");
  const Timestamp t = Day(2023, 8, 25);
  // fee_bps 2 keeps the pack's CNY 5 minimum: 100,000 x 2 bps = 20.
  const FeeSchedule fee = WithOverrides(cn, 2.0, std::nullopt, std::nullopt);
  EXPECT_DOUBLE_EQ(Alone(fee, Side::kBuy, 100'000, 10'000, t).commission, 20.0);
  EXPECT_DOUBLE_EQ(Alone(fee, Side::kBuy, 1'000, 100, t).commission, 5.0);
  EXPECT_DOUBLE_EQ(Alone(fee, Side::kSell, 10'000, 1'000, t).stamp_duty, 10.0);  // the pack's
  // min_fee 0 ("免五") removes the minimum.
  const FeeSchedule free5 = WithOverrides(cn, std::nullopt, 0.0, std::nullopt);
  EXPECT_DOUBLE_EQ(Alone(free5, Side::kBuy, 1'000, 100, t).commission, 0.25);
  // tax_bps 7: a constant sell-side duty whatever the date, no buy-side duty.
  const FeeSchedule tax = WithOverrides(cn, std::nullopt, std::nullopt, 7.0);
  EXPECT_DOUBLE_EQ(Alone(tax, Side::kSell, 10'000, 1'000, Day(2023, 8, 28)).stamp_duty, 7.0);
  EXPECT_DOUBLE_EQ(Alone(tax, Side::kSell, 10'000, 1'000, Day(2007, 6, 1)).stamp_duty, 7.0);
  EXPECT_DOUBLE_EQ(Alone(tax, Side::kBuy, 10'000, 1'000, Day(2007, 6, 1)).stamp_duty, 0.0);
  EXPECT_DOUBLE_EQ(Alone(tax, Side::kSell, 10'000, 1'000, t).transfer_fee, 0.1);  // the pack's
  // fee_bps replaces per-share commissions, maker / taker and the cap as well.
  const FeeSchedule us = WithOverrides(Pack("us_stock"), 1.0, std::nullopt, std::nullopt);
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 250, 1'000, t).commission, 1.0);  // the $1 minimum
  EXPECT_DOUBLE_EQ(Alone(us, Side::kBuy, 1e6, 1'000, t).commission, 100.0);
  const FeeSchedule perp = WithOverrides(Pack("crypto_perp"), 3.0, std::nullopt, std::nullopt);
  EXPECT_DOUBLE_EQ(Alone(perp, Side::kBuy, 10'000, 1, t, Liquidity::kMaker).commission, 3.0);
  // No pack: only the DSL's rates, as the fast engine's.
  const FeeSchedule bare = WithOverrides(FeeSchedule{}, 3.0, 5.0, 10.0);
  EXPECT_DOUBLE_EQ(Alone(bare, Side::kSell, 100'000, 1'000, t).Total(), 30.0 + 100.0);
  EXPECT_DOUBLE_EQ(Alone(bare, Side::kBuy, 100, 10, t).Total(), 5.0);
}

// Cost sensitivity: commission_k scales every order's commission exactly, tax_k every levy.
TEST(FeesTest, ScaledComponents) {
  const Timestamp t = Day(2024, 6, 3);
  const FeeSchedule cn = Pack("cn_stock");
  const FeeSchedule cn2 = Scaled(cn, 2.0, 0.5);
  EXPECT_DOUBLE_EQ(Alone(cn2, Side::kBuy, 300, 100, t).commission, 10.0);  // the minimum x2
  EXPECT_DOUBLE_EQ(Alone(cn2, Side::kBuy, 100'000, 10'000, t).commission, 50.0);
  EXPECT_DOUBLE_EQ(Alone(cn2, Side::kSell, 10'000, 1'000, t).stamp_duty, 2.5);
  EXPECT_DOUBLE_EQ(Alone(cn2, Side::kSell, 10'000, 1'000, t).transfer_fee, 0.05);
  const FeeSchedule us = Pack("us_stock");
  for (const double k : {0.0, 0.5, 1.5}) {
    const FeeSchedule s = Scaled(us, k, k);
    for (const auto& [value, shares] :
         {std::pair{2'500.0, 100.0}, {25'000.0, 1'000.0}, {250.0, 1'000.0}, {0.5, 10.0}}) {
      const FeeBreakdown base = Alone(us, Side::kSell, value, shares, t);
      const FeeBreakdown f = Alone(s, Side::kSell, value, shares, t);
      EXPECT_NEAR(f.commission, k * base.commission, 1e-12) << k << " " << value;
      EXPECT_NEAR(f.exchange_fee, k * base.exchange_fee, 1e-12) << k << " " << value;
    }
  }
  const FeeSchedule none = Scaled(cn, 0.0, 0.0);
  EXPECT_DOUBLE_EQ(Alone(none, Side::kSell, 10'000, 1'000, t).Total(), 0.0);
}

TEST(FeesTest, HandBuiltSpecsAreChecked) {
  data::MarketSpec m;
  m.costs.maker_bps = 2;
  EXPECT_NE(FeesFromPack(m).status().message().find("maker_bps and taker_bps go together"),
            std::string::npos);
  data::MarketSpec neg;
  neg.costs.commission_bps = -1;
  EXPECT_NE(FeesFromPack(neg).status().message().find("commission_bps must be in [0, 10000)"),
            std::string::npos);
  data::MarketSpec duty;
  duty.costs.stamp_duty_bps = {{0, std::nan("")}};
  EXPECT_FALSE(FeesFromPack(duty).ok());
  data::MarketSpec cap;
  cap.costs.max_commission_bps = 0;
  EXPECT_FALSE(FeesFromPack(cap).ok());
}

// A pack loaded from text: its errors name file:line:column; its costs become the schedule.
TEST(FeesTest, PackFromText) {
  const auto bad = data::ParseMarketYaml("name: x\ncosts:\n  stamp_duty_bps: {2023-08-28: -5}\n",
                                         "my_pack.yaml");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("my_pack.yaml:3:20: costs.stamp_duty_bps must be basis "
                                        "points in [0, 10000), got -5"),
            std::string::npos)
      << bad.status().message();
  const auto m = data::ParseMarketYaml(
      "name: hk\ncosts: {commission_bps: 3, min_commission: 3, stamp_duty_bps: 10, "
      "buy_stamp_duty_bps: 10, exchange_fee_bps: 0.565}\n",
      "hk.yaml");
  ASSERT_TRUE(m.ok()) << m.status().message();
  const auto s = FeesFromPack(*m);
  ASSERT_TRUE(s.ok());
  const FeeBreakdown buy = Alone(*s, Side::kBuy, 100'000, 1'000, Day(2024, 1, 2));
  EXPECT_DOUBLE_EQ(buy.commission, 30.0);
  EXPECT_DOUBLE_EQ(buy.stamp_duty, 100.0);
  EXPECT_NEAR(buy.exchange_fee, 5.65, 1e-12);
}

}  // namespace
}  // namespace qraft::precise
