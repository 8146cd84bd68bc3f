#include "qraft/engines/precise/account.h"

#include <gtest/gtest.h>

namespace qraft::precise {
namespace {

Fill At(Side side, Quantity q, double price, double fees = 0) {
  return Fill{.side = side, .quantity = q, .price = price, .commission = fees};
}

TEST(Account, CashAccountNetsAndRealises) {
  const std::vector<Instrument> ins{Instrument{.symbol = "X"}};
  Account a(AccountConfig{.initial_cash = 10'000}, ins);
  a.Apply(At(Side::kBuy, 100, 10.0, 1.0), 0);
  a.Apply(At(Side::kBuy, 100, 12.0, 1.0), 0);
  EXPECT_EQ(a.position(0).quantity, 200);
  EXPECT_DOUBLE_EQ(a.position(0).avg_price, 11.0);
  EXPECT_DOUBLE_EQ(a.cash(), 10'000 - 2200 - 2);
  a.Apply(At(Side::kSell, 150, 13.0, 1.0), 1);
  EXPECT_DOUBLE_EQ(a.position(0).realized, 150 * 2.0);
  EXPECT_DOUBLE_EQ(a.position(0).avg_price, 11.0);
  const std::vector<double> marks{14.0};
  EXPECT_DOUBLE_EQ(a.Equity(marks), 10'000 - 2200 - 2 + 150 * 13.0 - 1 + 50 * 14.0);
  EXPECT_DOUBLE_EQ(a.GrossExposure(marks), 50 * 14.0);
}

TEST(Account, ReversalOpensTheRestAtTheFillPrice) {
  const std::vector<Instrument> ins{Instrument{.symbol = "X", .multiplier = 10}};
  Account a(
      AccountConfig{.type = AccountConfig::Type::kMargin, .initial_cash = 1'000, .margin = 0.2},
      ins);
  a.Apply(At(Side::kBuy, 2, 100.0), 0);
  a.Apply(At(Side::kSell, 5, 110.0), 0);
  EXPECT_EQ(a.position(0).quantity, -3);
  EXPECT_DOUBLE_EQ(a.position(0).avg_price, 110.0);
  EXPECT_DOUBLE_EQ(a.cash(), 1'000 + 2 * 10 * 10.0);  // realised on the two closed
  const std::vector<double> marks{105.0};
  EXPECT_DOUBLE_EQ(a.Equity(marks), 1'200 + 3 * 10 * 5.0);
  // Growing the short needs margin 0.2 x |q| x mark x multiplier within the equity.
  EXPECT_EQ(a.Check(0, Side::kSell, 3, 105.0, 0, 0, marks), RejectReason::kNone);
  EXPECT_EQ(a.Check(0, Side::kSell, 4, 105.0, 0, 0, marks), RejectReason::kInsufficientMargin);
  EXPECT_EQ(a.Check(0, Side::kBuy, 3, 105.0, 0, 0, marks), RejectReason::kNone);  // reduces
}

TEST(Account, TPlusOneUnlocksTheNextDay) {
  const std::vector<Instrument> ins{Instrument{.symbol = "600000", .lot = 100}};
  Account a(AccountConfig{.initial_cash = 100'000, .sell_after_days = 1}, ins);
  a.Apply(At(Side::kBuy, 300, 10.0), 5);
  a.Apply(At(Side::kBuy, 200, 10.0), 6);
  EXPECT_EQ(a.Sellable(0, 6), 300);
  EXPECT_EQ(a.Sellable(0, 7), 500);
  const std::vector<double> marks{10.0};
  EXPECT_EQ(a.Check(0, Side::kSell, 400, 10.0, 0, 6, marks), RejectReason::kNotSellableT1);
  EXPECT_EQ(a.Check(0, Side::kSell, 300, 10.0, 0, 6, marks), RejectReason::kNone);
  EXPECT_EQ(a.Check(0, Side::kSell, 600, 10.0, 0, 7, marks), RejectReason::kNoPosition);
}

}  // namespace
}  // namespace qraft::precise
