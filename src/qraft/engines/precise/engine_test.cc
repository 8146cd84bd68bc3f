#include "qraft/engines/precise/engine.h"

#include <gtest/gtest.h>

#include <functional>
#include <limits>
#include <map>

namespace qraft::precise {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

// A strategy that runs a script: actions per bar, and records what it was told.
class Script : public Strategy {
 public:
  std::map<std::size_t, std::function<void(Engine&)>> on_bar;
  std::vector<Fill> fills;
  std::vector<Order> done;
  void OnBar(std::size_t t, Engine& e) override {
    if (auto it = on_bar.find(t); it != on_bar.end()) it->second(e);
  }
  void OnFill(const Fill& f, Engine&) override { fills.push_back(f); }
  void OnOrderDone(const Order& o, Engine&) override { done.push_back(o); }
};

// Daily bars of one instrument (prices in money, tick 0.01, lots of 1).
struct Bars {
  std::vector<Timestamp> cal;
  std::vector<double> open, high, low, close, volume;
  void Add(double o, double h, double l, double c, double v = 1e6) {
    cal.push_back(DateTimestamp(2024, 1, 2) + static_cast<Timestamp>(cal.size()) * kNanosPerDay);
    open.push_back(o);
    high.push_back(h);
    low.push_back(l);
    close.push_back(c);
    volume.push_back(v);
  }
  EngineConfig Config() const {
    EngineConfig config;
    config.calendar = cal;
    config.instruments = {Instrument{.symbol = "X"}};
    config.bars = {
        BarSeries{.open = open, .high = high, .low = low, .close = close, .volume = volume}};
    config.account.initial_cash = 100'000;
    return config;
  }
};

std::unique_ptr<Engine> Replay(EngineConfig config, Script& script) {
  auto engine = Engine::Create(std::move(config));
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_TRUE((*engine)->Run(script).ok());
  return std::move(*engine);
}

OrderRequest Market(Side side, Quantity q) {
  return OrderRequest{.side = side, .type = OrderType::kMarket, .quantity = q};
}

// Prices in ticks of 0.01.
PriceTicks P(double price) {
  return std::llround(price * 100);
}

TEST(BarPath, ExtremeNearerTheOpenComesFirstAndVolumeIsSplit) {
  const Instrument ins{.symbol = "X"};
  auto p = BarPath(ins, 10.0, 10.5, 9.9, 10.2, 1003);
  EXPECT_EQ(p[1].price, 990);  // the low is nearer the open
  EXPECT_EQ(p[2].price, 1050);
  EXPECT_EQ(p[0].volume + p[1].volume + p[2].volume + p[3].volume, 1003);
  EXPECT_EQ(p[3].volume, 253);  // 3 x 250 before it
  p = BarPath(ins, 10.0, 10.1, 9.5, 9.6, 0);
  EXPECT_EQ(p[1].price, 1010);  // the high is nearer
  // A tie goes to the low first (NautilusTrader's rule).
  p = BarPath(ins, 10.0, 10.2, 9.8, 10.0, 4);
  EXPECT_EQ(p[1].price, 980);
}

TEST(FillModelRules, LimitsAndStopsOnSegments) {
  // Fresh: only the point counts, at its own price.
  EXPECT_EQ(LimitFill(Side::kBuy, 1000, kNoPrice, 990, true), 990);
  EXPECT_EQ(LimitFill(Side::kBuy, 1000, kNoPrice, 1010, true), kNoPrice);
  // Crossed on a segment: at the limit.
  EXPECT_EQ(LimitFill(Side::kBuy, 1000, 1010, 990, false), 1000);
  EXPECT_EQ(LimitFill(Side::kSell, 1000, 990, 1010, false), 1000);
  EXPECT_EQ(LimitFill(Side::kSell, 1000, 990, 995, false), kNoPrice);
  EXPECT_EQ(StopTrigger(Side::kSell, 950, kNoPrice, 940, true), 940);  // gapped through
  EXPECT_EQ(StopTrigger(Side::kSell, 950, 1000, 900, false), 950);
  EXPECT_EQ(StopTrigger(Side::kBuy, 1050, 1000, 1100, false), 1050);
  EXPECT_EQ(StopTrigger(Side::kBuy, 1050, 1000, 1040, false), kNoPrice);
  const FillModel m{.half_spread = 0.001, .impact_alpha = 0.1, .impact_beta = 0.5};
  EXPECT_DOUBLE_EQ(m.TakerPrice(Side::kBuy, 10.0, 100, 10'000), 10.0 * (1 + 0.001 + 0.01));
  EXPECT_DOUBLE_EQ(m.TakerPrice(Side::kSell, 10.0, 100, 10'000), 10.0 * (1 - 0.011));
}

TEST(Engine, MarketOrderDecidedAtTheCloseFillsAtTheNextOpen) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.4, 10.9, 10.1, 10.8);
  b.Add(10.8, 11.0, 10.6, 10.9);
  Script s;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 100)); };
  s.on_bar[1] = [](Engine& e) { e.Submit(Market(Side::kSell, 100)); };
  auto e = Replay(b.Config(), s);
  ASSERT_EQ(e->fills().size(), 2u);
  EXPECT_EQ(e->fills()[0].market_price, P(10.4));
  EXPECT_EQ(e->fills()[0].time, b.cal[1]);
  EXPECT_EQ(e->fills()[1].market_price, P(10.8));
  EXPECT_NEAR(e->account().cash(), 100'000 + 100 * 0.4, 1e-9);
  // Equity at the closes: bar 1 holds 100 shares marked at 10.8.
  EXPECT_NEAR(e->series().equity[1], 100'000 - 1040 + 1080, 1e-9);
  EXPECT_NEAR(e->series().traded[1], 1040, 1e-9);
}

TEST(Engine, MarketFillAtTheLastPriceFillsAtOnce) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.4, 10.9, 10.1, 10.8);
  Script s;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 10)); };
  EngineConfig c = b.Config();
  c.fill.market_fill = FillModel::MarketFill::kLastPrice;
  auto e = Replay(c, s);
  ASSERT_EQ(e->fills().size(), 1u);
  EXPECT_EQ(e->fills()[0].market_price, P(10.2));
  EXPECT_EQ(e->fills()[0].time, b.cal[0] + 3 * kNanosPerDay / 4);
}

TEST(Engine, LimitOrdersFillAtTheOpenOrAtTheLimitAndDayOrdersExpire) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(9.8, 10.0, 9.6, 9.9);     // opens below 10.0: fills at the open
  b.Add(10.3, 10.4, 9.95, 10.1);  // crosses 10.0 intrabar: fills at the limit
  b.Add(10.5, 10.6, 10.4, 10.5);  // never reaches 10.0
  b.Add(10.5, 10.6, 10.4, 10.5);
  Script s;
  auto limit = [](PriceTicks l, TimeInForce tif) {
    return OrderRequest{
        .side = Side::kBuy, .type = OrderType::kLimit, .tif = tif, .quantity = 10, .limit = l};
  };
  OrderId gtc = 0, day = 0;
  s.on_bar[0] = [&](Engine& e) { e.Submit(limit(P(10.0), TimeInForce::kDay)); };
  s.on_bar[1] = [&](Engine& e) { e.Submit(limit(P(10.0), TimeInForce::kDay)); };
  s.on_bar[2] = [&](Engine& e) {
    day = e.Submit(limit(P(10.0), TimeInForce::kDay));
    gtc = e.Submit(limit(P(10.0), TimeInForce::kGtc));
  };
  auto e = Replay(b.Config(), s);
  ASSERT_EQ(e->fills().size(), 2u);
  EXPECT_EQ(e->fills()[0].market_price, P(9.8));
  EXPECT_EQ(e->fills()[0].liquidity, Liquidity::kTaker);
  EXPECT_EQ(e->fills()[1].market_price, P(10.0));
  EXPECT_EQ(e->fills()[1].liquidity, Liquidity::kMaker);
  EXPECT_EQ(e->order(day).status, OrderStatus::kCancelled);
  EXPECT_EQ(e->order(day).done, b.cal[3] + 3 * kNanosPerDay / 4);
  EXPECT_EQ(e->order(gtc).status, OrderStatus::kWorking);
}

TEST(Engine, StopsFillAtTheGapOrAtTheStop) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.2, 10.3, 10.1, 10.2);
  b.Add(9.0, 9.2, 8.9, 9.1);  // gaps below 9.5: the stop fills at the open
  b.Add(9.1, 9.3, 8.5, 8.9);  // crosses 8.8 intrabar: at 8.8
  Script s;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 20)); };
  s.on_bar[1] = [](Engine& e) {
    e.Submit(OrderRequest{
        .side = Side::kSell, .type = OrderType::kStopMarket, .quantity = 10, .stop = P(9.5)});
    e.Submit(OrderRequest{
        .side = Side::kSell, .type = OrderType::kStopMarket, .quantity = 10, .stop = P(8.8)});
  };
  auto e = Replay(b.Config(), s);
  ASSERT_EQ(e->fills().size(), 3u);
  EXPECT_EQ(e->fills()[1].market_price, P(9.0));
  EXPECT_EQ(e->fills()[2].market_price, P(8.8));
  // The path is 9.1, 9.3 (the high is nearer the open), 8.5, 8.9: 8.8 is crossed on the way
  // to the low.
  EXPECT_EQ(e->fills()[2].time, b.cal[3] + 2 * kNanosPerDay / 4);
}

TEST(Engine, StopLimitRestsWhenTheTriggerIsNotMarketable) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.2, 10.9, 10.1, 10.8);  // triggers at 10.5 (segment), limit 10.4 not marketable
  b.Add(10.5, 10.6, 10.3, 10.4);  // falls to 10.3: fills at the limit 10.4 (maker)
  Script s;
  OrderId id = 0;
  s.on_bar[0] = [&](Engine& e) {
    id = e.Submit(OrderRequest{.side = Side::kBuy,
                               .type = OrderType::kStopLimit,
                               .quantity = 5,
                               .limit = P(10.4),
                               .stop = P(10.5)});
  };
  auto e = Replay(b.Config(), s);
  EXPECT_TRUE(e->order(id).triggered);
  ASSERT_EQ(e->fills().size(), 1u);
  EXPECT_EQ(e->fills()[0].market_price, P(10.4));
  EXPECT_EQ(e->fills()[0].time, b.cal[2] + 2 * kNanosPerDay / 4);
  EXPECT_EQ(e->fills()[0].liquidity, Liquidity::kMaker);
}

TEST(Engine, TrailingStopFollowsTheBestPrice) {
  Bars b;
  b.Add(10, 10.0, 10.0, 10.0);
  b.Add(10, 11.0, 10.0, 11.0);    // best rises to 11.0 (stop 10.45)
  b.Add(11, 12.0, 10.9, 11.9);    // best 12.0 (stop 11.40); low 10.9 comes first, above 10.45
  b.Add(11.5, 11.6, 11.0, 11.2);  // falls through 11.40 from 11.6: fills at 11.40
  Script s;
  s.on_bar[0] = [](Engine& e) {
    e.Submit(Market(Side::kBuy, 10));
    e.Submit(OrderRequest{.side = Side::kSell,
                          .type = OrderType::kTrailingStop,
                          .quantity = 10,
                          .trail_fraction = 0.05});
  };
  auto e = Replay(b.Config(), s);
  ASSERT_EQ(e->fills().size(), 2u);
  EXPECT_EQ(e->fills()[1].market_price, P(11.40));
  EXPECT_EQ(e->fills()[1].time, b.cal[3] + 2 * kNanosPerDay / 4);
}

TEST(Engine, MarketOnOpenAndOnCloseUseTheTradingDay) {
  // Two days of four intraday bars each (6-hour bars).
  EngineConfig c;
  std::vector<Timestamp> cal;
  std::vector<double> px;
  for (int d = 0; d < 2; ++d) {
    for (int k = 0; k < 4; ++k) {
      cal.push_back(DateTimestamp(2024, 3, 4 + d) + k * 6 * kNanosPerHour);
      px.push_back(10 + d + 0.1 * k);
    }
  }
  c.calendar = cal;
  c.bar_duration = 6 * kNanosPerHour;
  c.instruments = {Instrument{.symbol = "X"}};
  c.bars = {BarSeries{.open = px, .high = px, .low = px, .close = px}};
  Script s;
  s.on_bar[1] = [](Engine& e) {
    e.Submit(OrderRequest{.side = Side::kBuy, .type = OrderType::kMarketOnClose, .quantity = 1});
    e.Submit(OrderRequest{.side = Side::kBuy, .type = OrderType::kMarketOnOpen, .quantity = 1});
  };
  auto e = Replay(c, s);
  ASSERT_EQ(e->fills().size(), 2u);
  EXPECT_EQ(e->fills()[0].market_price, P(10.3));  // day 1's last close
  EXPECT_EQ(e->fills()[1].market_price, P(11.0));  // day 2's first open
}

// Cash-share buys are sized at their fill from the cash after the same point's sells: X is sold
// short at 10.4 (1,040 back, 1,050 of cash), then two buys of half the cash each take Y at 20.
TEST(Engine, CashShareBuysSplitTheCashAfterTheSells) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.4, 10.9, 10.1, 10.8);
  std::vector<double> y = {20, 20};
  EngineConfig c = b.Config();
  c.instruments.push_back(Instrument{.symbol = "Y", .lot = 10});
  c.bars.push_back(BarSeries{.open = y, .high = y, .low = y, .close = y, .volume = b.volume});
  c.account.initial_cash = 10;
  c.account.allow_short = true;
  Script s;
  s.on_bar[0] = [](Engine& e) {
    e.Submit(Market(Side::kSell, 100));  // a short: 1,040 of proceeds at the next open
    for (int k = 0; k < 2; ++k) {
      e.Submit(OrderRequest{
          .instrument = 1, .side = Side::kBuy, .type = OrderType::kMarket, .cash_share = 0.5});
    }
    e.Submit(OrderRequest{.side = Side::kSell, .type = OrderType::kMarket, .cash_share = 0.5});
    e.Submit(OrderRequest{.instrument = 1,
                          .side = Side::kBuy,
                          .type = OrderType::kLimit,
                          .cash_share = 0.5,
                          .limit = 2000});
  };
  auto e = Replay(c, s);
  ASSERT_EQ(e->fills().size(), 3u);
  // 0.5 x 1,050 / 20 = 26.25 shares, 20 in whole lots of 10, for each buy.
  EXPECT_EQ(e->fills()[1].quantity, 20);
  EXPECT_EQ(e->fills()[2].quantity, 20);
  EXPECT_NEAR(e->account().cash(), 1050 - 800, 1e-9);
  EXPECT_EQ(e->order(4).reject, RejectReason::kInvalid);  // a sell
  EXPECT_EQ(e->order(5).reject, RejectReason::kInvalid);  // a limit order
}

// kBarVwap: a market order fills at the vwap of the bar it meets; a bar without one refuses it.
TEST(Engine, VwapFillsAtTheBarsVwap) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.4, 10.9, 10.1, 10.8);
  b.Add(10.8, 11.0, 10.6, 10.9);
  const std::vector<double> vwap = {10.1, 10.55, kNaN};
  EngineConfig c = b.Config();
  c.bars[0].vwap = vwap;
  c.fill.market_fill = FillModel::MarketFill::kBarVwap;
  Script s;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 100)); };
  s.on_bar[1] = [](Engine& e) { e.Submit(Market(Side::kSell, 100)); };
  auto e = Replay(c, s);
  ASSERT_EQ(e->fills().size(), 1u);
  EXPECT_EQ(e->fills()[0].market_price, P(10.55));
  EXPECT_EQ(e->order(2).reject, RejectReason::kSuspended);
  c.bars[0].vwap = {};
  EXPECT_EQ(Engine::Create(c).status().code(), StatusCode::kInvalidArgument);
}

// short_budget: vectorbt's sell-all. Flat, 1,000 of budget at 10.4 with a 1% sell rate shorts
// floor(1,000 / (10.4 x 1.01)) = 95; holding 50 at 10.8 and no budget, the long's net proceeds
// pay for floor(50 x 0.99 / 1.01) = 49 more.
TEST(Engine, ShortBudgetSellsTheLongAndShortsWhatItPays) {
  Bars b;
  b.Add(10, 10.5, 9.5, 10.2);
  b.Add(10.4, 10.9, 10.1, 10.8);
  b.Add(10.8, 11.0, 10.6, 10.9);
  EngineConfig c = b.Config();
  c.account.allow_short = true;
  c.fees.commission = 0.01;
  Script s;
  s.on_bar[0] = [](Engine& e) {
    e.Submit(OrderRequest{.side = Side::kSell, .type = OrderType::kMarket, .short_budget = 1000});
    e.Submit(OrderRequest{.side = Side::kBuy, .type = OrderType::kMarket, .short_budget = 1000});
  };
  s.on_bar[1] = [](Engine& e) { e.Submit(Market(Side::kBuy, 145)); };  // to a long of 50
  auto opened = Replay(c, s);
  EXPECT_EQ(opened->order(2).reject, RejectReason::kInvalid);  // a buy
  ASSERT_GE(opened->fills().size(), 2u);
  EXPECT_EQ(opened->fills()[0].quantity, 95);
  EXPECT_EQ(opened->account().position(0).quantity, 50);

  Script rev;
  rev.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 50)); };
  rev.on_bar[1] = [](Engine& e) {
    e.Submit(OrderRequest{.side = Side::kSell, .type = OrderType::kMarket, .short_budget = 0});
  };
  auto r = Replay(c, rev);
  ASSERT_EQ(r->fills().size(), 2u);
  EXPECT_EQ(r->fills()[1].quantity, 50 + 49);
  EXPECT_EQ(r->account().position(0).quantity, -49);

  // A minimum commission of 20 binds: 95 at 10.4 would leave 1,000 - 988 - 20 < 0; 94 leaves
  // 1,000 - 977.6 - 20 = 2.4 (the fast engine's rule with min_fee, signal_sim.h).
  c.fees.min_commission = 20;
  Script min;
  min.on_bar[0] = [](Engine& e) {
    e.Submit(OrderRequest{.side = Side::kSell, .type = OrderType::kMarket, .short_budget = 1000});
  };
  auto m = Replay(c, min);
  ASSERT_GE(m->fills().size(), 1u);
  EXPECT_EQ(m->fills()[0].quantity, 94);
}

TEST(Engine, ParticipationCapGivesPartialFillsAndFokOrIocCancel) {
  Bars b;
  b.Add(10, 10, 10, 10, 400);
  b.Add(10, 10, 10, 10, 400);  // 100 per point: at most 10 per point at 10%
  b.Add(10, 10, 10, 10, 400);
  Script s;
  OrderId gtc = 0, ioc = 0, fok = 0;
  s.on_bar[0] = [&](Engine& e) {
    gtc = e.Submit(Market(Side::kBuy, 25));
    OrderRequest o = Market(Side::kBuy, 25);
    o.tif = TimeInForce::kIoc;
    ioc = e.Submit(o);
    o.tif = TimeInForce::kFok;
    fok = e.Submit(o);
  };
  EngineConfig c = b.Config();
  c.fill.participation = 0.1;
  auto e = Replay(c, s);
  EXPECT_EQ(e->order(gtc).status, OrderStatus::kFilled);
  EXPECT_EQ(e->order(ioc).filled, 10);
  EXPECT_EQ(e->order(ioc).status, OrderStatus::kCancelled);
  EXPECT_EQ(e->order(fok).filled, 0);
  EXPECT_EQ(e->order(fok).status, OrderStatus::kCancelled);
  // The GTC market order took 10, 10, 5 at the first three points of bar 1.
  std::vector<Quantity> q;
  for (const Fill& f : e->fills())
    if (f.order == gtc) q.push_back(f.quantity);
  EXPECT_EQ(q, (std::vector<Quantity>{10, 10, 5}));
}

TEST(Engine, RejectionsCarryTheirReason) {
  Bars b;
  b.Add(10, 10, 10, 10);
  b.Add(11, 11, 11, 11);          // limit-up at 11.00
  b.Add(kNaN, kNaN, kNaN, kNaN);  // suspended
  b.Add(10, 10, 10, 10);
  b.Add(10, 10, 10, 10);
  std::vector<PriceTicks> up(5, kNoPrice), down(5, kNoPrice);
  up[1] = P(11.0);
  EngineConfig c = b.Config();
  c.bars[0].limit_up = up;
  c.bars[0].limit_down = down;
  c.instruments[0].lot = 100;
  c.account.sell_after_days = 1;
  Script s;
  std::map<std::string, OrderId> id;
  s.on_bar[0] = [&](Engine& e) {
    id["limit"] = e.Submit(Market(Side::kBuy, 100));
    id["lot"] = e.Submit(Market(Side::kBuy, 150));
    id["short"] = e.Submit(Market(Side::kSell, 100));
  };
  s.on_bar[1] = [&](Engine& e) { id["suspended"] = e.Submit(Market(Side::kBuy, 100)); };
  s.on_bar[2] = [&](Engine& e) { id["bought"] = e.Submit(Market(Side::kBuy, 100)); };
  s.on_bar[3] = [&](Engine& e) { id["cash"] = e.Submit(Market(Side::kBuy, 1'000'000)); };
  auto e = Replay(c, s);
  EXPECT_EQ(e->order(id["limit"]).reject, RejectReason::kPriceLimit);
  EXPECT_EQ(e->order(id["lot"]).reject, RejectReason::kLotSize);
  EXPECT_EQ(e->order(id["cash"]).reject, RejectReason::kInsufficientCash);
  EXPECT_EQ(e->order(id["short"]).reject, RejectReason::kNoPosition);
  EXPECT_EQ(e->order(id["suspended"]).reject, RejectReason::kSuspended);
  EXPECT_EQ(e->order(id["bought"]).status, OrderStatus::kFilled);
  for (const auto& [name, order] : id) {
    if (name != "bought") {
      EXPECT_EQ(e->order(order).status, OrderStatus::kRejected) << name;
    }
  }
}

TEST(Engine, TPlusOneLocksTodaysBuys) {
  // Intraday bars: buy at the day's first bar, try to sell the same day, then the next.
  EngineConfig c;
  std::vector<Timestamp> cal;
  std::vector<double> px;
  for (int d = 0; d < 2; ++d) {
    for (int k = 0; k < 3; ++k) {
      cal.push_back(DateTimestamp(2024, 3, 4 + d) + (2 + k) * kNanosPerHour);
      px.push_back(10);
    }
  }
  c.calendar = cal;
  c.bar_duration = kNanosPerHour;
  c.instruments = {Instrument{.symbol = "600000", .lot = 100}};
  c.bars = {BarSeries{.open = px, .high = px, .low = px, .close = px}};
  c.account.sell_after_days = 1;
  Script s;
  OrderId same_day = 0, next_day = 0;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 100)); };
  s.on_bar[1] = [&](Engine& e) { same_day = e.Submit(Market(Side::kSell, 100)); };
  s.on_bar[2] = [&](Engine& e) { next_day = e.Submit(Market(Side::kSell, 100)); };
  auto e = Replay(c, s);
  EXPECT_EQ(e->order(same_day).reject, RejectReason::kNotSellableT1);
  EXPECT_EQ(e->order(next_day).status, OrderStatus::kFilled);
}

TEST(Engine, BracketExitsFormAnOcoGroup) {
  Bars b;
  b.Add(10, 10, 10, 10);
  b.Add(10, 10.2, 9.9, 10.1);   // entry fills at 10.00
  b.Add(10.1, 10.2, 9.4, 9.5);  // stop 9.5 hit on the way down: the take-profit is cancelled
  b.Add(10.1, 11.5, 10, 11);
  Script s;
  OrderId entry = 0;
  s.on_bar[0] = [&](Engine& e) {
    OrderRequest o = Market(Side::kBuy, 10);
    o.take_profit = P(11.0);
    o.stop_loss = P(9.5);
    entry = e.Submit(o);
  };
  auto e = Replay(b.Config(), s);
  ASSERT_EQ(e->orders().size(), 3u);
  const Order& tp = e->orders()[1];
  const Order& sl = e->orders()[2];
  EXPECT_EQ(tp.parent, entry);
  EXPECT_EQ(sl.status, OrderStatus::kFilled);
  EXPECT_EQ(tp.status, OrderStatus::kCancelled);
  EXPECT_EQ(e->fills().back().market_price, P(9.5));
  EXPECT_EQ(e->account().position(0).quantity, 0);
}

TEST(Engine, ReduceOnlyNeverGrowsAPosition) {
  Bars b;
  b.Add(10, 10, 10, 10);
  b.Add(10, 10, 10, 10);
  b.Add(10, 10, 10, 10);
  Script s;
  OrderId flat = 0, clipped = 0;
  s.on_bar[0] = [&](Engine& e) {
    OrderRequest o = Market(Side::kSell, 5);
    o.reduce_only = true;
    flat = e.Submit(o);
    e.Submit(Market(Side::kBuy, 5));
  };
  s.on_bar[1] = [&](Engine& e) {
    OrderRequest o = Market(Side::kSell, 8);
    o.reduce_only = true;
    clipped = e.Submit(o);
  };
  auto e = Replay(b.Config(), s);
  EXPECT_EQ(e->order(flat).reject, RejectReason::kReduceOnly);
  EXPECT_EQ(e->order(clipped).filled, 5);
  EXPECT_EQ(e->order(clipped).status, OrderStatus::kCancelled);
  EXPECT_EQ(e->account().position(0).quantity, 0);
}

TEST(Engine, LatencyDelaysOrdersAndLateCancelsAreCounted) {
  Bars b;
  b.Add(10, 10, 10, 10);
  b.Add(11, 11, 11, 11);
  b.Add(12, 12, 12, 12);
  Script s;
  OrderId slow = 0;
  s.on_bar[0] = [&](Engine& e) { slow = e.Submit(Market(Side::kBuy, 1)); };
  s.on_bar[1] = [&](Engine& e) { e.Cancel(slow); };
  EngineConfig c = b.Config();
  // The close is at 18:00; 7 hours of insert latency miss bar 1's open (00:00 + 24 h) ... the
  // order arrives at 01:00 of bar 1 and fills at its next point (06:00) at 11.
  c.latency.insert = 7 * kNanosPerHour;
  auto e = Replay(c, s);
  ASSERT_EQ(e->fills().size(), 1u);
  EXPECT_EQ(e->fills()[0].time, b.cal[1] + 6 * kNanosPerHour);
  EXPECT_EQ(e->order(slow).arrived, b.cal[1] + kNanosPerHour);
  EXPECT_EQ(e->late_cancels(), 1);
}

TEST(Engine, FundingIsPaidOnTheMark) {
  Bars b;
  b.Add(100, 100, 100, 100);
  b.Add(100, 100, 100, 100);
  b.Add(110, 110, 110, 110);
  b.Add(110, 110, 110, 110);
  // Settled at the first open at or after each time, on the last price before it: the long of
  // 10 pays 10 x 100 x 0.001 at bar 2's open and receives 10 x 110 x 0.0005 at bar 3's.
  const std::vector<Timestamp> times{b.cal[1] + 1, b.cal[3]};
  const std::vector<double> rates{0.001, -0.0005};
  EngineConfig c = b.Config();
  c.account.type = AccountConfig::Type::kMargin;
  c.account.margin = 0.1;
  c.bars[0].funding_time = times;
  c.bars[0].funding_rate = rates;
  Script s;
  s.on_bar[0] = [](Engine& e) { e.Submit(Market(Side::kBuy, 10)); };
  auto e = Replay(c, s);
  EXPECT_DOUBLE_EQ(e->funding_paid(), 1.0 - 0.55);
  // Margin account: equity = cash + q (mark - average price); the notional never left the cash.
  EXPECT_NEAR(e->series().equity[2], 100'000 - 1.0 + 10 * (110 - 100), 1e-9);
  EXPECT_NEAR(e->account().cash(), 100'000 - 0.45, 1e-9);
  EXPECT_NEAR(e->series().fees[2], 1.0, 1e-12);
}

TEST(Engine, MarginAccountRefusesWhatItsEquityCannotCarry) {
  Bars b;
  b.Add(100, 100, 100, 100);
  b.Add(100, 100, 100, 100);
  EngineConfig c = b.Config();
  c.account.type = AccountConfig::Type::kMargin;
  c.account.margin = 0.1;  // 100,000 of equity carries 1,000,000 of notional
  Script s;
  OrderId fits = 0, too_big = 0;
  s.on_bar[0] = [&](Engine& e) {
    fits = e.Submit(Market(Side::kSell, 9'000));  // shorts are allowed on margin
    too_big = e.Submit(Market(Side::kBuy, 30'000));
  };
  auto e = Replay(c, s);
  EXPECT_EQ(e->order(fits).status, OrderStatus::kFilled);
  EXPECT_EQ(e->order(too_big).reject, RejectReason::kInsufficientMargin);
}

TEST(Engine, SameInputsSameOutputs) {
  Bars b;
  for (int t = 0; t < 50; ++t)
    b.Add(10 + 0.1 * t, 10.5 + 0.1 * t, 9.5 + 0.1 * t, 10 + 0.1 * t + (t % 3 - 1) * 0.2);
  auto run = [&] {
    Script s;
    for (std::size_t t = 0; t < 50; t += 3) {
      s.on_bar[t] = [t](Engine& e) {
        e.Submit(Market(t % 2 ? Side::kSell : Side::kBuy, 7));
        e.Submit(OrderRequest{.side = Side::kBuy,
                              .type = OrderType::kLimit,
                              .quantity = 3,
                              .limit = e.last_price(0) - 20});
      };
    }
    EngineConfig c = b.Config();
    c.account.allow_short = true;
    c.latency.kind = LatencyModel::Kind::kLogNormal;
    c.latency.insert = 3 * kNanosPerHour;
    c.latency.seed = 42;
    return Replay(c, s);
  };
  auto a = run(), z = run();
  ASSERT_EQ(a->fills().size(), z->fills().size());
  for (std::size_t k = 0; k < a->fills().size(); ++k) {
    EXPECT_EQ(a->fills()[k].time, z->fills()[k].time);
    EXPECT_EQ(a->fills()[k].price, z->fills()[k].price);
  }
  EXPECT_EQ(a->series().equity, z->series().equity);
  EXPECT_GT(a->fills().size(), 10u);
}

TEST(Engine, TwapSlicesEquallyInWholeLotsAndRetriesWhatFails) {
  Bars b;
  b.Add(10, 10, 10, 10);
  b.Add(10, 10, 10, 10);
  b.Add(11, 11, 11, 11);
  b.Add(kNaN, kNaN, kNaN, kNaN);  // suspended: its slice is rejected and retried later
  b.Add(13, 13, 13, 13);
  b.Add(14, 14, 14, 14);
  EngineConfig c = b.Config();
  c.instruments[0].lot = 100;
  Script s;
  OrderId parent = 0;
  s.on_bar[0] = [&](Engine& e) {
    parent = e.Submit(OrderRequest{
        .side = Side::kBuy, .type = OrderType::kTwap, .quantity = 1000, .algo_bars = 4});
  };
  auto e = Replay(c, s);
  // Bars 1-4: 1000/4 -> 200 (whole lots), 800/3 -> 200, the suspended bar's 600/2 -> 300 is
  // rejected, the window's last bar takes the rest, 600.
  std::vector<std::pair<Quantity, PriceTicks>> fills;
  for (const Fill& f : e->fills())
    fills.emplace_back(f.quantity, f.market_price);
  EXPECT_EQ(fills, (std::vector<std::pair<Quantity, PriceTicks>>{
                       {200, P(10)}, {200, P(11)}, {600, P(13)}}));
  const Order& p = e->order(parent);
  EXPECT_EQ(p.status, OrderStatus::kFilled);
  EXPECT_EQ(p.filled, 1000);
  EXPECT_NEAR(p.avg_price, (200 * 10 + 200 * 11 + 600 * 13) / 1000.0, 1e-12);
  int rejected = 0;
  for (const Order& o : e->orders())
    rejected += o.parent == parent && o.reject == RejectReason::kSuspended;
  EXPECT_EQ(rejected, 1);
}

TEST(Engine, VwapFollowsTheVolumeProfileOfEarlierDays) {
  // Two days of four intraday bars; day 1's volumes make day 2's profile.
  EngineConfig c;
  std::vector<Timestamp> cal;
  std::vector<double> px, vol;
  const double day1[] = {100, 300, 500, 100};
  for (int d = 0; d < 2; ++d) {
    for (int k = 0; k < 4; ++k) {
      cal.push_back(DateTimestamp(2024, 3, 4 + d) + (14 + k) * kNanosPerHour);
      px.push_back(20);
      vol.push_back(d == 0 ? day1[k] : 1000);
    }
  }
  c.calendar = cal;
  c.bar_duration = kNanosPerHour;
  c.instruments = {Instrument{.symbol = "X"}};
  c.bars = {BarSeries{.open = px, .high = px, .low = px, .close = px, .volume = vol}};
  Script s;
  s.on_bar[3] = [](Engine& e) {
    e.Submit(OrderRequest{.side = Side::kSell,
                          .type = OrderType::kVwap,
                          .quantity = 1000,
                          .algo_bars = 4,
                          .vwap_days = 5});
  };
  c.account.allow_short = true;
  auto e = Replay(c, s);
  std::vector<Quantity> q;
  for (const Fill& f : e->fills())
    q.push_back(f.quantity);
  // Shares of what is left: 100/1000, 300/900, 500/600, then the rest.
  EXPECT_EQ(q, (std::vector<Quantity>{100, 300, 500, 100}));
}

}  // namespace
}  // namespace qraft::precise
