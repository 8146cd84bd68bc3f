// Tests of the cross-sectional weights simulator (weights_sim.h):
//  * hand-computed cases for every rule: selection modes and ties, each weight scheme (the
//    volatility ones recomputed here from the closes), name and group caps with redistribution,
//    lot rounding, min fee, sell tax, spread and impact fill prices, limit-up/down, volume and
//    suspension blocking, the turnover budget, hold_min_bars, each stop with its cooldown, the
//    drawdown breaker with its halt and peak reset, and the look-ahead guard;
//  * invariants on seeded random panels: cash + Σ shares x last close = equity on every bar,
//    the round trips' pnl sums to the final gain, caps hold after every fill, the metrics feed;
//    no selection is flat and free; doubling every cost never increases the final value;
//    identical outputs across threads and repeats; an equal-weight, cost-free portfolio equals
//    the directly computed equal-weight return;
//  * option and length checks.
#include "qraft/engines/weights_sim.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <string>
#include <thread>
#include <vector>

namespace qraft::engines {
namespace {

constexpr double kNan = std::numeric_limits<double>::quiet_NaN();
using Select = WeightsSimOptions::Select;
using Scheme = WeightsSimOptions::Scheme;

// An S x T panel with flat prices, zero scores and a rebalance on every bar.
struct Data {
  std::int64_t S, T;
  std::vector<double> score, deal, close, volume, group;
  std::vector<std::uint8_t> reb, up, down;

  Data(std::int64_t s, std::int64_t t, double price = 10.0)
      : S(s),
        T(t),
        score(static_cast<std::size_t>(s * t), 0.0),
        deal(static_cast<std::size_t>(s * t), price),
        close(static_cast<std::size_t>(s * t), price),
        reb(static_cast<std::size_t>(t), 1) {}

  std::size_t I(std::int64_t s, std::int64_t t) const {
    return static_cast<std::size_t>(s * T + t);
  }
  // Sets x[s, t] for every t >= from.
  void Fill(std::vector<double>* x, std::int64_t s, std::int64_t from, double v) const {
    for (std::int64_t t = from; t < T; ++t)
      (*x)[I(s, t)] = v;
  }
  void RebalanceOnly(std::initializer_list<std::int64_t> bars) {
    std::fill(reb.begin(), reb.end(), std::uint8_t{0});
    for (std::int64_t t : bars)
      reb[static_cast<std::size_t>(t)] = 1;
  }
  WeightsSimInputs Inputs() const {
    return {.symbols = S,
            .bars = T,
            .score = score,
            .rebalance = reb,
            .deal_price = deal,
            .close = close,
            .volume = volume,
            .group = group,
            .limit_up = up,
            .limit_down = down};
  }
};

struct Outcome {
  WeightsSimResult res;
  std::vector<WeightsSimBar> bars;
  std::vector<WeightsSimTrade> trades;
  std::vector<double> pos;
  std::int64_t T = 0;
  double Pos(std::int64_t s, std::int64_t t) const {
    return pos[static_cast<std::size_t>(s * T + t)];
  }
};

Outcome Simulate(const WeightsSimInputs& in, const WeightsSimOptions& o,
                 MetricsAccumulator* metrics = nullptr) {
  Outcome r;
  r.T = in.bars;
  r.bars.resize(static_cast<std::size_t>(in.bars));
  r.pos.resize(static_cast<std::size_t>(in.symbols * in.bars));
  const Status st = SimulateWeights(in, o, &r.res, r.bars, &r.trades, metrics, r.pos);
  EXPECT_TRUE(st.ok()) << st.ToString();
  return r;
}

Outcome Simulate(const Data& d, const WeightsSimOptions& o) {
  return Simulate(d.Inputs(), o);
}

WeightsSimOptions Base(std::int64_t topk = 1) {
  WeightsSimOptions o;
  o.topk = topk;
  o.init_cash = 1000.0;
  return o;
}

// ---- selection and weights ----------------------------------------------------------------

TEST(WeightsSimTest, SelectionModesAndTies) {
  Data d(5, 3);
  const double scores[5] = {1, 3, 3, 2, kNan};
  for (std::int64_t s = 0; s < 5; ++s)
    d.Fill(&d.score, s, 0, scores[s]);
  d.RebalanceOnly({0});
  WeightsSimOptions o = Base(2);
  Outcome r = Simulate(d, o);
  for (std::int64_t s = 0; s < 5; ++s)
    EXPECT_EQ(r.Pos(s, 0), 0.0) << "nothing fills on the decision bar";
  EXPECT_DOUBLE_EQ(r.Pos(1, 1), 50.0);
  EXPECT_DOUBLE_EQ(r.Pos(2, 1), 50.0);
  EXPECT_EQ(r.Pos(0, 1) + r.Pos(3, 1) + r.Pos(4, 1), 0.0);
  EXPECT_EQ(r.res.rebalances, 1);
  o.topk = 1;  // the tie at 3 goes to the lower index
  r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(1, 1), 100.0);
  EXPECT_EQ(r.Pos(2, 1), 0.0);
  o.topk = 10;  // more than eligible: the 4 with a score
  r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 25.0);
  EXPECT_EQ(r.Pos(4, 1), 0.0);

  o.select = Select::kThreshold;
  o.threshold = 2.0;  // score >= 2: symbols 1, 2, 3
  r = Simulate(d, o);
  EXPECT_EQ(r.Pos(0, 1), 0.0);
  for (std::int64_t s = 1; s <= 3; ++s)
    EXPECT_DOUBLE_EQ(r.Pos(s, 1), 1000.0 / 3.0 / 10.0);

  o.select = Select::kQuantile;
  o.quantile = 0.5;  // ceil(0.5 x 4) = 2
  r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(1, 1), 50.0);
  EXPECT_DOUBLE_EQ(r.Pos(2, 1), 50.0);
  o.quantile = 0.3;  // ceil(1.2) = 2
  r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(2, 1), 50.0);
  EXPECT_EQ(r.Pos(3, 1), 0.0);

  // 0.7 x 10 is 7.000000000000001 in doubles: still 7 names, not 8.
  Data e(10, 2);
  for (std::int64_t s = 0; s < 10; ++s)
    e.Fill(&e.score, s, 0, 10.0 - static_cast<double>(s));
  o.quantile = 0.7;
  r = Simulate(e, o);
  for (std::int64_t s = 0; s < 10; ++s)
    EXPECT_DOUBLE_EQ(r.Pos(s, 1), s < 7 ? 1000.0 / 7.0 / 10.0 : 0.0) << s;
}

TEST(WeightsSimTest, ScoreWeights) {
  Data d(4, 2);
  const double scores[4] = {1, 3, -1, kNan};
  for (std::int64_t s = 0; s < 4; ++s)
    d.Fill(&d.score, s, 0, scores[s]);
  WeightsSimOptions o = Base(3);
  o.scheme = Scheme::kScoreWeight;
  Outcome r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 25.0);  // 1 / 4 of 1000 at 10
  EXPECT_DOUBLE_EQ(r.Pos(1, 1), 75.0);
  EXPECT_EQ(r.Pos(2, 1), 0.0);  // selected, max(-1, 0) = 0
  EXPECT_DOUBLE_EQ(r.bars[1].cash, 0.0);
  // No positive score among the selected: equal weights.
  const double neg[4] = {-1, -2, 0, kNan};
  for (std::int64_t s = 0; s < 4; ++s)
    d.Fill(&d.score, s, 0, neg[s]);
  r = Simulate(d, o);
  for (std::int64_t s = 0; s < 3; ++s)
    EXPECT_DOUBLE_EQ(r.Pos(s, 1), 1000.0 / 3.0 / 10.0);
}

// Closes for the volatility schemes: the decision is on bar 3 with vol_window 3 (closes 0..3),
// fills on bar 4 at bar 3's close. Symbol 3 has the best score but a missing close in its window.
struct VolCase {
  Data d{4, 6};
  std::vector<std::vector<double>> closes{
      {100, 103, 99, 104}, {50, 50.5, 49, 50}, {20, 19, 21, 20.5}, {30, kNan, 30, 31}};
  VolCase() {
    for (std::int64_t s = 0; s < 4; ++s) {
      for (std::int64_t t = 0; t < 4; ++t)
        d.close[d.I(s, t)] = closes[static_cast<std::size_t>(s)][static_cast<std::size_t>(t)];
      d.Fill(&d.close, s, 4, closes[static_cast<std::size_t>(s)][3]);
      d.Fill(&d.deal, s, 0, closes[static_cast<std::size_t>(s)][3]);
      d.Fill(&d.score, s, 0, s == 3 ? 4.0 : 3.0 - static_cast<double>(s));
    }
    d.RebalanceOnly({3});
  }
  double Ret(std::size_t s, std::size_t k) const { return closes[s][k] / closes[s][k - 1] - 1; }
  static double SampleStd(const std::vector<double>& x) {
    double mean = 0;
    for (double v : x)
      mean += v / static_cast<double>(x.size());
    double ss = 0;
    for (double v : x)
      ss += (v - mean) * (v - mean);
    return std::sqrt(ss / static_cast<double>(x.size() - 1));
  }
  // Inverse-vol weights of symbols 0..2.
  std::vector<double> InverseVol() const {
    std::vector<double> w;
    double sum = 0;
    for (std::size_t s = 0; s < 3; ++s) {
      const double sigma = SampleStd({Ret(s, 1), Ret(s, 2), Ret(s, 3)});
      w.push_back(1 / sigma);
      sum += 1 / sigma;
    }
    for (double& x : w)
      x /= sum;
    return w;
  }
};

TEST(WeightsSimTest, InverseVolSkipsShortHistory) {
  VolCase c;
  WeightsSimOptions o = Base(3);
  o.scheme = Scheme::kInverseVol;
  o.vol_window = 3;
  const Outcome r = Simulate(c.d, o);
  const std::vector<double> w = c.InverseVol();
  EXPECT_EQ(r.Pos(3, 4), 0.0);  // no full window: not eligible, topk 3 takes 0, 1, 2
  for (std::size_t s = 0; s < 3; ++s) {
    const double expect = w[s] * 1000.0 / c.closes[s][3];
    EXPECT_NEAR(r.Pos(static_cast<std::int64_t>(s), 4), expect, 1e-12 * expect) << s;
  }
  // A window longer than the history: nobody is eligible, nothing trades.
  o.vol_window = 4;
  EXPECT_EQ(Simulate(c.d, o).res.orders, 0);
}

TEST(WeightsSimTest, VolTargetScalesTheBasket) {
  VolCase c;
  WeightsSimOptions o = Base(3);
  o.scheme = Scheme::kVolTarget;
  o.vol_window = 3;
  o.target_vol = 0.2;
  o.periods_per_year = 252;
  const std::vector<double> w = c.InverseVol();
  std::vector<double> basket;
  for (std::size_t k = 1; k <= 3; ++k)
    basket.push_back(w[0] * c.Ret(0, k) + w[1] * c.Ret(1, k) + w[2] * c.Ret(2, k));
  const double vol = VolCase::SampleStd(basket) * std::sqrt(252.0);
  const double f = 0.2 / vol;
  ASSERT_LT(f, 0.9);  // the case must actually scale
  Outcome r = Simulate(c.d, o);
  double invested = 0;
  for (std::size_t s = 0; s < 3; ++s) {
    const double expect = f * w[s] * 1000.0 / c.closes[s][3];
    EXPECT_NEAR(r.Pos(static_cast<std::int64_t>(s), 4), expect, 1e-12 * expect) << s;
    invested += r.Pos(static_cast<std::int64_t>(s), 4) * c.closes[s][3];
  }
  EXPECT_NEAR(r.bars[4].cash, 1000.0 - invested, 1e-9);
  // A target above the basket's volatility: no leverage, the gross stays 1.
  o.target_vol = 10.0 * vol;
  r = Simulate(c.d, o);
  for (std::size_t s = 0; s < 3; ++s) {
    const double expect = w[s] * 1000.0 / c.closes[s][3];
    EXPECT_NEAR(r.Pos(static_cast<std::int64_t>(s), 4), expect, 1e-12 * expect) << s;
  }
}

TEST(WeightsSimTest, NameCapRedistributesThenLeavesCash) {
  Data d(4, 2);
  const double scores[4] = {6, 2, 1, 1};
  for (std::int64_t s = 0; s < 4; ++s)
    d.Fill(&d.score, s, 0, scores[s]);
  WeightsSimOptions o = Base(4);
  o.scheme = Scheme::kScoreWeight;  // 0.6 0.2 0.1 0.1
  o.max_weight = 0.3;
  // 0 capped: 0.3 more spread 2:1:1 makes 1 0.35 > 0.3, capped too; 2 and 3 share 0.4.
  Outcome r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 30.0);
  EXPECT_DOUBLE_EQ(r.Pos(1, 1), 30.0);
  EXPECT_DOUBLE_EQ(r.Pos(2, 1), 20.0);
  EXPECT_DOUBLE_EQ(r.Pos(3, 1), 20.0);
  // Every name capped: the rest is cash.
  o.scheme = Scheme::kEqual;
  o.topk = 3;
  o.max_weight = 0.2;
  r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 20.0);
  EXPECT_DOUBLE_EQ(r.Pos(2, 1), 20.0);
  EXPECT_DOUBLE_EQ(r.bars[1].cash, 400.0);
}

TEST(WeightsSimTest, GroupCapRedistributesUnderTheNameCap) {
  Data d(5, 2);
  d.group.assign(d.score.size(), 1.0);
  d.Fill(&d.group, 3, 0, 2.0);
  d.Fill(&d.group, 4, 0, kNan);  // no group
  for (std::int64_t s = 0; s < 5; ++s)
    d.Fill(&d.score, s, 0, 5.0 - static_cast<double>(s));
  WeightsSimOptions o = Base(4);  // 0, 1, 2 in group 1, 3 in group 2
  o.group_max = 0.5;
  // Group 1 holds 0.75 -> 0.5 (1/6 each); symbol 3 takes the other 0.5.
  Outcome r = Simulate(d, o);
  for (std::int64_t s = 0; s < 3; ++s)
    EXPECT_NEAR(r.Pos(s, 1), 100.0 / 6.0, 1e-12) << s;
  EXPECT_NEAR(r.Pos(3, 1), 50.0, 1e-12);
  // With a name cap of 0.4 symbol 3 stops at 0.4 and 0.1 stays in cash.
  o.max_weight = 0.4;
  r = Simulate(d, o);
  EXPECT_NEAR(r.Pos(0, 1), 100.0 / 6.0, 1e-12);
  EXPECT_NEAR(r.Pos(3, 1), 40.0, 1e-12);
  EXPECT_NEAR(r.bars[1].cash, 100.0, 1e-9);
  // A name without a group is never group-capped: 5 names, group 1 gets 0.5, 3 and 4 share 0.5.
  o = Base(5);
  o.group_max = 0.5;
  r = Simulate(d, o);
  EXPECT_NEAR(r.Pos(0, 1), 100.0 / 6.0, 1e-12);
  EXPECT_NEAR(r.Pos(3, 1), 25.0, 1e-12);
  EXPECT_NEAR(r.Pos(4, 1), 25.0, 1e-12);
  // group_max needs the group input.
  d.group.clear();
  WeightsSimResult res;
  EXPECT_EQ(SimulateWeights(d.Inputs(), o, &res).code(), StatusCode::kInvalidArgument);
}

// ---- costs and fills ----------------------------------------------------------------------

TEST(WeightsSimTest, LotsFeesAndSellTax) {
  Data d(1, 4, 11.0);
  d.Fill(&d.score, 0, 2, -1.0);  // below the threshold from bar 2: sold on bar 3
  d.score[0] = d.score[1] = 1.0;
  d.Fill(&d.close, 0, 2, 12.0);
  d.Fill(&d.deal, 0, 3, 12.0);
  d.RebalanceOnly({0, 2});
  WeightsSimOptions o = Base();
  o.select = Select::kThreshold;
  o.threshold = 0.0;
  o.init_cash = 10000.0;
  o.lot_size = 100.0;
  o.fee_rate = 0.001;
  o.min_fee = 5.0;
  o.sell_tax_rate = 0.001;
  const Outcome r = Simulate(d, o);
  // 10000 / 11 = 909.09 shares -> 900; fee max(9.9, 5) = 9.9.
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 900.0);
  EXPECT_DOUBLE_EQ(r.bars[1].fees, 9.9);
  EXPECT_NEAR(r.bars[1].cash, 10000.0 - 9900.0 - 9.9, 1e-9);
  // Sold on bar 3 at 12: value 10800, fee 10.8, tax 10.8.
  EXPECT_EQ(r.Pos(0, 2), 900.0);
  EXPECT_EQ(r.Pos(0, 3), 0.0);
  EXPECT_DOUBLE_EQ(r.bars[3].fees, 21.6);
  EXPECT_DOUBLE_EQ(r.res.total_taxes, 10.8);
  EXPECT_DOUBLE_EQ(r.res.total_fees, 9.9 + 21.6);
  EXPECT_NEAR(r.res.final_value, 10000.0 + 900.0 - 9.9 - 21.6, 1e-9);
  ASSERT_EQ(r.trades.size(), 1u);
  const WeightsSimTrade& tr = r.trades[0];
  EXPECT_EQ(tr.entry_bar, 1);
  EXPECT_EQ(tr.exit_bar, 3);
  EXPECT_EQ(tr.holding_bars, 2);
  EXPECT_DOUBLE_EQ(tr.entry_price, 11.0);
  EXPECT_DOUBLE_EQ(tr.exit_price, 12.0);
  EXPECT_NEAR(tr.pnl, 900.0 - 9.9 - 21.6, 1e-9);
  EXPECT_NEAR(tr.ret, tr.pnl / 9900.0, 1e-15);
  EXPECT_EQ(tr.reason, WeightsSimExit::kRebalance);

  // Min fee on a small order: half the cash (max_weight 0.5) at 10, fractional shares.
  Data e(1, 2);
  o = Base();
  o.max_weight = 0.5;
  o.fee_rate = 0.001;
  o.min_fee = 5.0;
  const Outcome m = Simulate(e, o);
  EXPECT_DOUBLE_EQ(m.Pos(0, 1), 50.0);
  EXPECT_DOUBLE_EQ(m.bars[1].fees, 5.0);  // max(0.5, 5)
  EXPECT_DOUBLE_EQ(m.bars[1].cash, 495.0);
}

TEST(WeightsSimTest, BuysScaleToTheCash) {
  // Two names, all the cash, 1% fee: B = 1010 > 1000, so both buys scale by 1000 / 1010.
  Data d(2, 2);
  WeightsSimOptions o = Base(2);
  o.fee_rate = 0.01;
  const Outcome r = Simulate(d, o);
  const double q = 50.0 * 1000.0 / 1010.0;
  EXPECT_NEAR(r.Pos(0, 1), q, 1e-9);
  EXPECT_NEAR(r.Pos(1, 1), q, 1e-9);
  EXPECT_GE(r.bars[1].cash, 0.0);
  EXPECT_NEAR(r.bars[1].cash, 0.0, 1e-9);
  // With lots of 10 shares: 49.5 -> 40 each.
  o.lot_size = 10.0;
  const Outcome l = Simulate(d, o);
  EXPECT_EQ(l.Pos(0, 1), 40.0);
  EXPECT_EQ(l.Pos(1, 1), 40.0);
  // A min fee the pro-rata cut cannot absorb: the last buy is cut to what the cash pays.
  o.lot_size = kNan;
  o.fee_rate = 0.0;
  o.min_fee = 100.0;  // B = 1200; k = 1000/1200: each 416.67 + 100; the second gets 300
  const Outcome f = Simulate(d, o);
  EXPECT_NEAR(f.Pos(0, 1), 1000.0 / 1200.0 * 50.0, 1e-9);
  EXPECT_NEAR(f.Pos(1, 1), (1000.0 - 1000.0 / 1.2 / 2.0 - 200.0) / 10.0, 1e-9);
  EXPECT_GE(f.bars[1].cash, 0.0);
  EXPECT_LT(f.bars[1].cash, 1e-9);
}

TEST(WeightsSimTest, SpreadAndImpactFillPrices) {
  Data d(1, 4);
  d.volume.assign(d.score.size(), 1000.0);
  d.Fill(&d.score, 0, 2, -1.0);
  d.RebalanceOnly({0, 2});
  WeightsSimOptions o = Base();
  o.select = Select::kThreshold;
  o.max_weight = 0.5;  // 50 shares, participation 0.05
  o.half_spread = 0.001;
  o.impact_alpha = 0.1;
  o.impact_beta = 0.5;
  const Outcome r = Simulate(d, o);
  const double h = 0.001 + 0.1 * std::sqrt(0.05);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 50.0);
  EXPECT_NEAR(r.bars[1].traded, 50.0 * 10.0 * (1 + h), 1e-9);
  EXPECT_NEAR(r.bars[1].slippage, 50.0 * 10.0 * h, 1e-9);
  EXPECT_NEAR(r.bars[1].cash, 1000.0 - 500.0 * (1 + h), 1e-9);
  EXPECT_EQ(r.bars[1].fees, 0.0);
  ASSERT_EQ(r.trades.size(), 1u);
  EXPECT_NEAR(r.trades[0].entry_price, 10.0 * (1 + h), 1e-12);
  EXPECT_NEAR(r.trades[0].exit_price, 10.0 * (1 - h), 1e-12);
  EXPECT_NEAR(r.trades[0].pnl, -500.0 * 2 * h, 1e-9);
  EXPECT_NEAR(r.res.total_slippage_cost, 500.0 * 2 * h, 1e-9);
  EXPECT_NEAR(r.res.final_value, 1000.0 - 500.0 * 2 * h, 1e-9);
  // Without volume there is no impact: the spread only.
  d.volume.clear();
  const Outcome s = Simulate(d, o);
  EXPECT_NEAR(s.trades[0].entry_price, 10.0 * 1.001, 1e-12);
  EXPECT_NEAR(s.trades[0].exit_price, 10.0 * 0.999, 1e-12);
}

TEST(WeightsSimTest, LimitsVolumeAndMissingPricesBlockFills) {
  const std::size_t n = 6;
  {  // limit-up on bar 1 blocks the buy; the decision of bar 1 buys on bar 2.
    Data d(1, 6);
    d.up.assign(n, 0);
    d.up[1] = 1;
    const Outcome r = Simulate(d, Base());
    EXPECT_EQ(r.Pos(0, 1), 0.0);
    EXPECT_EQ(r.bars[1].orders, 0);
    EXPECT_DOUBLE_EQ(r.Pos(0, 2), 100.0);
  }
  for (int kind = 0; kind < 3; ++kind) {  // deal price NaN / volume 0 / volume NaN on bar 1
    Data d(1, 6);
    if (kind == 0) d.deal[1] = kNan;
    if (kind > 0) {
      d.volume.assign(n, 1e6);
      d.volume[1] = kind == 1 ? 0.0 : kNan;
    }
    const Outcome r = Simulate(d, Base());
    EXPECT_EQ(r.Pos(0, 1), 0.0) << kind;
    EXPECT_DOUBLE_EQ(r.Pos(0, 2), 100.0) << kind;
  }
  {  // limit-down on bar 3 blocks the sell decided on bar 2; bar 3's decision sells on bar 4.
    Data d(1, 6);
    d.down.assign(n, 0);
    d.down[3] = 1;
    d.Fill(&d.score, 0, 2, -1.0);
    WeightsSimOptions o = Base();
    o.select = Select::kThreshold;
    const Outcome r = Simulate(d, o);
    EXPECT_DOUBLE_EQ(r.Pos(0, 3), 100.0);
    EXPECT_EQ(r.Pos(0, 4), 0.0);
  }
  {  // suspended (close NaN) while held: marked at the last close.
    Data d(1, 6);
    d.close[1] = 11.0;
    d.close[2] = kNan;
    d.RebalanceOnly({0});
    const Outcome r = Simulate(d, Base());
    EXPECT_DOUBLE_EQ(r.bars[1].equity, 1100.0);
    EXPECT_DOUBLE_EQ(r.bars[2].equity, 1100.0);
    EXPECT_DOUBLE_EQ(r.bars[3].equity, 1000.0);
  }
}

TEST(WeightsSimTest, MissingScoresKeepPositionsLowScoresSell) {
  // No finite score at all on bar 2 = no data: the decision is skipped. A finite score below the
  // threshold on bar 3 is a decision to hold nothing.
  Data d(2, 6);
  for (std::int64_t s = 0; s < 2; ++s) {
    d.score[d.I(s, 2)] = kNan;
    d.Fill(&d.score, s, 3, -1.0);
  }
  d.close[d.I(0, 2)] = 12.0;  // would change the target if bar 2 decided
  WeightsSimOptions o = Base(2);
  o.select = Select::kThreshold;
  const Outcome r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 3), 50.0);
  EXPECT_EQ(r.bars[3].orders, 0);
  EXPECT_EQ(r.res.rebalances, 4);  // bars 0, 1, 3, 4 (bar 5, the last, never decides)
  EXPECT_EQ(r.Pos(0, 4) + r.Pos(1, 4), 0.0);
  // An empty rebalance series means every bar.
  d.reb.clear();
  const Outcome e = Simulate(d, o);
  EXPECT_EQ(e.res.rebalances, 4);
  EXPECT_EQ(e.res.final_value, r.res.final_value);
}

TEST(WeightsSimTest, TurnoverBudget) {
  Data d(2, 4);
  d.Fill(&d.score, 0, 0, 1.0);
  d.Fill(&d.score, 0, 2, 0.0);
  d.Fill(&d.score, 1, 2, 1.0);
  WeightsSimOptions o = Base();
  o.turnover_max = 0.5;
  const Outcome r = Simulate(d, o);
  EXPECT_DOUBLE_EQ(r.Pos(0, 1), 50.0);   // needed 1.0: half
  EXPECT_DOUBLE_EQ(r.Pos(0, 2), 100.0);  // needed 0.5: all of it
  EXPECT_DOUBLE_EQ(r.Pos(0, 3), 50.0);   // switch: max(1000 sold, 1000 bought) = 1.0, half
  EXPECT_DOUBLE_EQ(r.Pos(1, 3), 50.0);
  EXPECT_DOUBLE_EQ(r.bars[3].traded, 1000.0);
}

TEST(WeightsSimTest, HoldMinBarsDelaysRebalanceSells) {
  Data d(2, 6);
  d.Fill(&d.score, 0, 0, 1.0);
  d.Fill(&d.score, 0, 1, 0.0);
  d.Fill(&d.score, 1, 1, 1.0);
  WeightsSimOptions o = Base();
  o.hold_min_bars = 3;
  const Outcome r = Simulate(d, o);
  const double s0[6] = {0, 100, 100, 100, 0, 0};
  const double s1[6] = {0, 0, 0, 0, 100, 100};
  for (std::int64_t t = 0; t < 6; ++t) {
    EXPECT_DOUBLE_EQ(r.Pos(0, t), s0[t]) << t;
    EXPECT_DOUBLE_EQ(r.Pos(1, t), s1[t]) << t;
  }
  ASSERT_GE(r.trades.size(), 1u);
  EXPECT_EQ(r.trades[0].holding_bars, 3);
}

// ---- risk ---------------------------------------------------------------------------------

// One name bought on bar 1 at 10 (decided on bar 0 only), closes from `closes`, deals on bar
// t = close of bar t - 1.
Data StopPath(const std::vector<double>& closes) {
  Data d(1, static_cast<std::int64_t>(closes.size()));
  for (std::size_t t = 0; t < closes.size(); ++t) {
    d.close[t] = closes[t];
    d.deal[t] = t == 0 ? closes[0] : closes[t - 1];
  }
  d.RebalanceOnly({0});
  return d;
}

TEST(WeightsSimTest, StopLossTakeProfitTrailing) {
  struct Case {
    std::vector<double> closes;
    WeightsSimExit reason;
    std::int64_t trigger;
  };
  const Case cases[] = {
      {{10, 10, 9.5, 8.9, 8.9, 8.9}, WeightsSimExit::kStopLoss, 3},      // 8.9 <= 10 x 0.9
      {{10, 10, 11, 12.1, 12.1, 12.1}, WeightsSimExit::kTakeProfit, 3},  // 12.1 >= 10 x 1.2
      {{10, 10, 12, 11, 10.7, 10.7}, WeightsSimExit::kTrailingStop, 4},  // 10.7 <= 12 x 0.9
  };
  for (const Case& c : cases) {
    SCOPED_TRACE(std::string(WeightsSimExitName(c.reason)));
    Data d = StopPath(c.closes);
    WeightsSimOptions o = Base();
    o.hold_min_bars = 100;  // stops ignore it
    if (c.reason == WeightsSimExit::kStopLoss) o.stop_loss = 0.1;
    if (c.reason == WeightsSimExit::kTakeProfit) o.take_profit = 0.2;
    if (c.reason == WeightsSimExit::kTrailingStop) {
      o.trailing_stop = 0.1;
      o.stop_loss = 0.1;  // not hit: 10.7 > 9
    }
    const Outcome r = Simulate(d, o);
    EXPECT_DOUBLE_EQ(r.Pos(0, c.trigger), 100.0);  // nothing fills on the trigger bar
    EXPECT_EQ(r.Pos(0, c.trigger + 1), 0.0);
    ASSERT_EQ(r.trades.size(), 1u);
    EXPECT_EQ(r.trades[0].reason, c.reason);
    EXPECT_EQ(r.trades[0].exit_bar, c.trigger + 1);
    EXPECT_DOUBLE_EQ(r.trades[0].exit_price, c.closes[static_cast<std::size_t>(c.trigger)]);
    EXPECT_EQ(r.res.stop_exits, 1);
  }
}

TEST(WeightsSimTest, StopCooldownBlocksReentry) {
  // Stop on bar 3's close, exit on bar 4; rebalancing every bar would buy straight back.
  const std::vector<double> closes{10, 10, 9.5, 8.9, 8.9, 8.9, 8.9, 8.9, 8.9};
  for (std::int64_t cooldown : {0, 2}) {
    Data d = StopPath(closes);
    std::fill(d.reb.begin(), d.reb.end(), std::uint8_t{1});
    WeightsSimOptions o = Base();
    o.stop_loss = 0.1;
    o.cooldown_bars = cooldown;
    o.lot_size = 1.0;
    const Outcome r = Simulate(d, o);
    EXPECT_EQ(r.Pos(0, 4), 0.0);
    for (std::int64_t t = 5; t < d.T; ++t)
      EXPECT_EQ(r.Pos(0, t) > 0.0, t >= 4 + cooldown + 1)
          << "cooldown " << cooldown << " bar " << t;
  }
}

TEST(WeightsSimTest, DrawdownBreakerFlattensHaltsAndResetsThePeak) {
  // Bars 0-2 at 10, bar 3 closes at 7.5: equity 750 < 0.8 x 1000. Flattened on bar 4; halted
  // on bars 3..5 (cooldown 2); bought back on bar 7 at 7.5. Then 7.0: -6.7% from the restarted
  // peak (750), no new trigger (the old peak 1000 would have triggered).
  const std::vector<double> closes{10, 10, 10, 7.5, 7.5, 7.5, 7.5, 7.0, 7.0, 7.0};
  Data d = StopPath(closes);
  std::fill(d.reb.begin(), d.reb.end(), std::uint8_t{1});
  WeightsSimOptions o = Base();
  o.max_drawdown = 0.2;
  o.cooldown_bars = 2;
  const Outcome r = Simulate(d, o);
  const bool held[10] = {false, true, true, true, false, false, false, true, true, true};
  for (std::int64_t t = 0; t < 10; ++t)
    EXPECT_EQ(r.Pos(0, t) > 0.0, held[t]) << t;
  EXPECT_EQ(r.res.drawdown_halts, 1);
  ASSERT_EQ(r.trades.size(), 2u);
  EXPECT_EQ(r.trades[0].reason, WeightsSimExit::kDrawdown);
  EXPECT_EQ(r.trades[0].exit_bar, 4);
  EXPECT_EQ(r.trades[1].entry_bar, 7);
  EXPECT_EQ(r.trades[1].reason, WeightsSimExit::kEnd);
  EXPECT_EQ(r.trades[1].exit_bar, -1);
  EXPECT_DOUBLE_EQ(r.res.final_value, 750.0 / 7.5 * 7.0);
}

TEST(WeightsSimTest, NoLookAhead) {
  // A score spike on bar t changes nothing up to and including bar t.
  Data d(6, 30);
  std::uint64_t x = 12345;
  auto next = [&x] {
    x = x * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(x >> 11) * 0x1.0p-53;
  };
  for (std::size_t i = 0; i < d.score.size(); ++i) {
    d.score[i] = next();
    d.close[i] = 10.0 + next();
    d.deal[i] = 10.0 + next();
  }
  WeightsSimOptions o = Base(2);
  o.fee_rate = 0.001;
  const Outcome a = Simulate(d, o);
  const std::int64_t t = 17;
  std::int64_t spiked = 0;  // a symbol not held on bar t + 1 becomes the best on bar t
  while (a.Pos(spiked, t + 1) > 0.0)
    ++spiked;
  d.score[d.I(spiked, t)] = 100.0;
  const Outcome b = Simulate(d, o);
  for (std::int64_t u = 0; u <= t; ++u) {
    const auto k = static_cast<std::size_t>(u);
    EXPECT_EQ(a.bars[k].equity, b.bars[k].equity);
    EXPECT_EQ(a.bars[k].fees, b.bars[k].fees);
    for (std::int64_t s = 0; s < 6; ++s)
      EXPECT_EQ(a.Pos(s, u), b.Pos(s, u));
  }
  EXPECT_EQ(a.Pos(spiked, t + 1), 0.0);  // and it does act on bar t + 1
  EXPECT_GT(b.Pos(spiked, t + 1), 0.0);
}

// ---- invariants on random panels ----------------------------------------------------------

struct Rng {
  std::uint64_t x;
  std::uint64_t Next() {  // splitmix64
    std::uint64_t z = (x += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }
  double U() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  bool P(double p) { return U() < p; }
};

// Random walks with suspensions, gaps, limits, thin volume, groups, missing scores.
Data RandomPanel(std::uint64_t seed, std::int64_t S, std::int64_t T) {
  Rng g{seed};
  Data d(S, T);
  d.volume.assign(d.score.size(), 0.0);
  d.group.assign(d.score.size(), 0.0);
  d.up.assign(d.score.size(), 0);
  d.down.assign(d.score.size(), 0);
  for (std::int64_t s = 0; s < S; ++s) {
    double c = 5.0 + 50.0 * g.U();
    const double grp = g.P(0.1) ? kNan : static_cast<double>(g.Next() % 3);
    for (std::int64_t t = 0; t < T; ++t) {
      const std::size_t i = d.I(s, t);
      const double open = c * (1.0 + 0.02 * (g.U() - 0.5));
      c = open * (1.0 + 0.06 * (g.U() - 0.5));
      const bool suspended = t > 0 && g.P(0.03);
      d.close[i] = suspended ? kNan : c;
      d.deal[i] = suspended || g.P(0.01) ? kNan : open;
      d.volume[i] = g.P(0.02) ? 0.0 : 2e6 + 2e7 * g.U();
      d.group[i] = grp;
      d.up[i] = g.P(0.03) ? 1 : 0;
      d.down[i] = g.P(0.03) ? 1 : 0;
      d.score[i] = g.P(0.05) ? kNan : g.U() - 0.3;
    }
  }
  for (std::int64_t t = 0; t < T; ++t)
    d.reb[static_cast<std::size_t>(t)] = g.P(0.4) ? 1 : 0;
  return d;
}

WeightsSimOptions RandomOptions(Rng& g, bool risk_and_lots) {
  WeightsSimOptions o;
  o.init_cash = 1e5 + 1e6 * g.U();
  o.select = static_cast<Select>(g.Next() % 3);
  o.topk = 1 + static_cast<std::int64_t>(g.Next() % 6);
  o.quantile = 0.1 + 0.8 * g.U();
  o.threshold = 0.4 * g.U();
  o.scheme = static_cast<Scheme>(g.Next() % 4);
  o.target_vol = 0.05 + 0.5 * g.U();
  o.vol_window = 2 + static_cast<std::int64_t>(g.Next() % 8);
  if (g.P(0.5)) o.max_weight = 0.1 + 0.5 * g.U();
  if (g.P(0.4)) o.group_max = 0.2 + 0.6 * g.U();
  if (g.P(0.4)) o.turnover_max = 0.05 + 0.8 * g.U();
  o.hold_min_bars = static_cast<std::int64_t>(g.Next() % 4);
  o.fee_rate = 0.002 * g.U();
  o.min_fee = g.P(0.5) ? 5.0 * g.U() : 0.0;
  o.sell_tax_rate = 0.002 * g.U();
  o.half_spread = 0.002 * g.U();
  o.impact_alpha = g.P(0.5) ? 0.2 * g.U() : 0.0;
  o.impact_beta = 0.3 + g.U();
  if (risk_and_lots) {
    if (g.P(0.5)) o.lot_size = static_cast<double>(1 + g.Next() % 100);
    if (g.P(0.3)) o.stop_loss = 0.02 + 0.1 * g.U();
    if (g.P(0.3)) o.take_profit = 0.02 + 0.2 * g.U();
    if (g.P(0.3)) o.trailing_stop = 0.02 + 0.1 * g.U();
    if (g.P(0.3)) o.max_drawdown = 0.02 + 0.2 * g.U();
    o.cooldown_bars = static_cast<std::int64_t>(g.Next() % 4);
  }
  return o;
}

TEST(WeightsSimTest, RandomPanelInvariants) {
  Rng g{7};
  std::int64_t total_orders = 0, total_stops = 0, total_halts = 0, total_closed = 0;
  for (int c = 0; c < 100; ++c) {
    SCOPED_TRACE(c);
    const Data d = RandomPanel(100 + static_cast<std::uint64_t>(c), 16, 150);
    const WeightsSimOptions o = RandomOptions(g, true);
    MetricsOptions mo;
    mo.initial_capital = o.init_cash;
    MetricsAccumulator acc(mo);
    const Outcome r = Simulate(d.Inputs(), o, &acc);
    total_orders += r.res.orders;
    total_stops += r.res.stop_exits;
    total_halts += r.res.drawdown_halts;
    total_closed += r.res.closed_trades;
    std::vector<double> last(static_cast<std::size_t>(d.S), kNan);
    double prev = o.init_cash, wealth = 1.0, fees = 0.0, turnover = 0.0, exposure = 0.0;
    for (std::int64_t t = 0; t < d.T; ++t) {
      const WeightsSimBar& b = r.bars[static_cast<std::size_t>(t)];
      double stock = 0.0;
      std::int32_t held = 0;
      bool changed = false;
      for (std::int64_t s = 0; s < d.S; ++s) {
        const double c_st = d.close[d.I(s, t)];
        if (std::isfinite(c_st)) last[static_cast<std::size_t>(s)] = c_st;
        const double q = r.Pos(s, t);
        ASSERT_GE(q, 0.0);
        if (std::isfinite(o.lot_size)) {
          EXPECT_EQ(std::fmod(q, o.lot_size), 0.0);
        }
        if (q > 0.0) {
          stock += q * last[static_cast<std::size_t>(s)];
          ++held;
        }
        const double before = t > 0 ? r.Pos(s, t - 1) : 0.0;
        changed = changed || q != before;
        // The name cap holds after every rebalance buy (sized on E_{t-1} at the deal price).
        if (std::isfinite(o.max_weight) && q > before && t > 0) {
          EXPECT_LE(q * d.deal[d.I(s, t)],
                    o.max_weight * r.bars[static_cast<std::size_t>(t - 1)].equity * (1 + 1e-8));
        }
      }
      EXPECT_NEAR(b.cash + stock, b.equity, 1e-9 * b.equity) << "bar " << t;
      EXPECT_GE(b.cash, 0.0);
      EXPECT_EQ(b.holdings, held);
      EXPECT_EQ(changed, b.orders > 0) << "bar " << t;
      wealth *= b.equity / prev;
      turnover += b.traded / prev;
      exposure += stock / b.equity;
      fees += b.fees;
      prev = b.equity;
    }
    EXPECT_EQ(r.res.final_value, r.bars.back().equity);
    EXPECT_NEAR(fees, r.res.total_fees, 1e-9 * o.init_cash);
    // The round trips account for every unit of money gained or lost.
    double pnl = 0.0;
    std::int64_t closed = 0, stops = 0, drawdowns = 0;
    for (const WeightsSimTrade& tr : r.trades) {
      pnl += tr.pnl;
      closed += tr.exit_bar >= 0 ? 1 : 0;
      stops += tr.reason == WeightsSimExit::kStopLoss || tr.reason == WeightsSimExit::kTakeProfit ||
               tr.reason == WeightsSimExit::kTrailingStop;
      drawdowns += tr.reason == WeightsSimExit::kDrawdown;
      EXPECT_EQ(tr.reason == WeightsSimExit::kEnd, tr.exit_bar < 0);
      EXPECT_EQ(tr.holding_bars, (tr.exit_bar < 0 ? d.T - 1 : tr.exit_bar) - tr.entry_bar);
      EXPECT_GT(tr.max_shares, 0.0);
      if (tr.exit_bar >= 0) {
        EXPECT_EQ(r.Pos(tr.symbol, tr.exit_bar), 0.0);
        EXPECT_GT(r.Pos(tr.symbol, tr.exit_bar - 1), 0.0);
      }
      EXPECT_EQ(tr.entry_bar > 0 ? r.Pos(tr.symbol, tr.entry_bar - 1) : 0.0, 0.0);
    }
    EXPECT_EQ(stops, r.res.stop_exits);
    if (r.res.drawdown_halts == 0) {
      EXPECT_EQ(drawdowns, 0);
    }
    EXPECT_NEAR(pnl, r.res.final_value - o.init_cash, 1e-7 * o.init_cash);
    EXPECT_EQ(closed, r.res.closed_trades);
    EXPECT_EQ(static_cast<std::int64_t>(r.trades.size()), r.res.trades);
    const Metrics m = acc.Finish();
    EXPECT_EQ(m.bars, d.T);
    EXPECT_NEAR(m.total_return, wealth - 1.0, 1e-12);
    EXPECT_NEAR(m.total_return, r.res.final_value / o.init_cash - 1.0, 1e-12);
    EXPECT_NEAR(m.fees, r.res.total_fees, 1e-9 * o.init_cash);
    EXPECT_NEAR(m.turnover, turnover / static_cast<double>(d.T), 1e-12);
    EXPECT_EQ(m.trades, r.res.closed_trades);
    EXPECT_NEAR(m.avg_gross_exposure, exposure / static_cast<double>(d.T), 1e-12);
  }
  std::printf(
      "weights_sim random panels: %lld orders, %lld closed trades, %lld stop exits, %lld halts\n",
      static_cast<long long>(total_orders), static_cast<long long>(total_closed),
      static_cast<long long>(total_stops), static_cast<long long>(total_halts));
  // The configurations exercise the rules at all.
  EXPECT_GT(total_orders, 1000);
  EXPECT_GT(total_stops, 10);
  EXPECT_GT(total_halts, 0);
  EXPECT_GT(total_closed, 100);
}

TEST(WeightsSimTest, NothingSelectedStaysFlatAndFree) {
  Rng g{11};
  for (int c = 0; c < 10; ++c) {
    Data d = RandomPanel(200 + static_cast<std::uint64_t>(c), 8, 60);
    WeightsSimOptions o = RandomOptions(g, true);
    if (c % 2 == 0) {
      o.select = Select::kThreshold;
      o.threshold = 1e9;
    } else {
      std::fill(d.score.begin(), d.score.end(), kNan);
    }
    const Outcome r = Simulate(d, o);
    for (const WeightsSimBar& b : r.bars) {
      EXPECT_EQ(b.equity, o.init_cash);
      EXPECT_EQ(b.fees, 0.0);
      EXPECT_EQ(b.orders, 0);
    }
    EXPECT_EQ(r.res.total_fees, 0.0);
    EXPECT_TRUE(r.trades.empty());
  }
}

TEST(WeightsSimTest, DoublingCostsNeverHelps) {
  // Not a theorem in general: lots, stops and the breaker have path effects that can make paying
  // more lucky (about 1% of random configurations with them), and so can impact on orders far
  // above the bar's volume (superlinear in the order's size, which is larger in the cheaper
  // run). Without those (RandomPanel keeps participation under ~10%), paying more never helped
  // in 4,000 random configurations when this was written; 300 are checked here.
  Rng g{23};
  int strictly_lower = 0;
  for (int c = 0; c < 300; ++c) {
    SCOPED_TRACE(c);
    const Data d = RandomPanel(300 + static_cast<std::uint64_t>(c), 8, 60);
    WeightsSimOptions o = RandomOptions(g, false);
    WeightsSimOptions dear = o;
    dear.fee_rate *= 2;
    dear.min_fee *= 2;
    dear.sell_tax_rate *= 2;
    dear.half_spread *= 2;
    dear.impact_alpha *= 2;
    WeightsSimResult cheap_res, dear_res;
    ASSERT_TRUE(SimulateWeights(d.Inputs(), o, &cheap_res).ok());
    ASSERT_TRUE(SimulateWeights(d.Inputs(), dear, &dear_res).ok());
    EXPECT_LE(dear_res.final_value, cheap_res.final_value);
    strictly_lower += dear_res.final_value < cheap_res.final_value ? 1 : 0;
  }
  EXPECT_GT(strictly_lower, 250);
}

TEST(WeightsSimTest, DeterministicAcrossThreadsAndRepeats) {
  const Data d = RandomPanel(42, 30, 250);
  Rng g{5};
  WeightsSimOptions o = RandomOptions(g, true);
  o.scheme = Scheme::kVolTarget;
  o.stop_loss = 0.05;
  const Outcome ref = Simulate(d, o);
  ASSERT_GT(ref.res.orders, 0);
  std::vector<Outcome> runs(4);
  std::vector<std::thread> threads;
  for (Outcome& r : runs)
    threads.emplace_back([&r, &d, &o] { r = Simulate(d, o); });
  for (std::thread& t : threads)
    t.join();
  runs.push_back(Simulate(d, o));
  for (const Outcome& r : runs) {
    ASSERT_EQ(r.bars.size(), ref.bars.size());
    EXPECT_EQ(0,
              std::memcmp(r.bars.data(), ref.bars.data(), r.bars.size() * sizeof(WeightsSimBar)));
    EXPECT_EQ(0, std::memcmp(r.pos.data(), ref.pos.data(), r.pos.size() * sizeof(double)));
    ASSERT_EQ(r.trades.size(), ref.trades.size());
    for (std::size_t i = 0; i < r.trades.size(); ++i)
      EXPECT_EQ(r.trades[i].pnl, ref.trades[i].pnl);
    EXPECT_EQ(r.res.final_value, ref.res.final_value);
  }
}

TEST(WeightsSimTest, EqualWeightAllNamesMatchesDirectReturn) {
  // Rebalanced every bar, filled at the previous close, no costs, fractional shares: the
  // portfolio return of bar u is the mean of the names' close-to-close returns.
  const std::int64_t S = 7, T = 200;
  Data d(S, T);
  Rng g{3};
  for (std::int64_t s = 0; s < S; ++s) {
    double c = 10.0 + 90.0 * g.U();
    for (std::int64_t t = 0; t < T; ++t) {
      d.deal[d.I(s, t)] = c;
      c *= 1.0 + 0.04 * (g.U() - 0.5);
      d.close[d.I(s, t)] = c;
      d.score[d.I(s, t)] = g.U();
    }
  }
  for (std::int64_t t = 1; t < T; ++t) {  // deal on bar t = close of bar t - 1
    for (std::int64_t s = 0; s < S; ++s)
      d.deal[d.I(s, t)] = d.close[d.I(s, t - 1)];
  }
  WeightsSimOptions o = Base(S);
  const Outcome r = Simulate(d, o);
  EXPECT_EQ(r.bars[0].equity, 1000.0);
  double worst = 0.0;
  for (std::int64_t t = 1; t < T; ++t) {
    double direct = 0.0;
    for (std::int64_t s = 0; s < S; ++s)
      direct += d.close[d.I(s, t)] / d.close[d.I(s, t - 1)];
    direct = direct / static_cast<double>(S) - 1.0;
    const double ret = r.bars[static_cast<std::size_t>(t)].equity /
                           r.bars[static_cast<std::size_t>(t - 1)].equity -
                       1.0;
    worst = std::max(worst, std::abs(ret - direct));
  }
  EXPECT_LE(worst, 1e-12);
}

TEST(WeightsSimTest, RejectsBadOptionsAndLengths) {
  Data d(2, 3);
  WeightsSimResult res;
  auto bad = [&](void (*edit)(WeightsSimOptions*), const char* name) {
    WeightsSimOptions o;
    edit(&o);
    const Status st = ValidateWeightsSimOptions(o);
    EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << name;
    EXPECT_NE(st.message().find(name), std::string_view::npos) << st.message();
  };
  bad([](WeightsSimOptions* o) { o->topk = 0; }, "topk");
  bad(
      [](WeightsSimOptions* o) {
        o->select = Select::kQuantile;
        o->quantile = 0;
      },
      "quantile");
  bad(
      [](WeightsSimOptions* o) {
        o->select = Select::kThreshold;
        o->threshold = kNan;
      },
      "threshold");
  bad([](WeightsSimOptions* o) { o->scheme = Scheme::kVolTarget; }, "target_vol");
  bad([](WeightsSimOptions* o) { o->vol_window = 1; }, "vol_window");
  bad([](WeightsSimOptions* o) { o->max_weight = 1.5; }, "max_weight");
  bad([](WeightsSimOptions* o) { o->group_max = 0; }, "group_max");
  bad([](WeightsSimOptions* o) { o->turnover_max = -1; }, "turnover_max");
  bad([](WeightsSimOptions* o) { o->stop_loss = 1; }, "stop_loss");
  bad([](WeightsSimOptions* o) { o->take_profit = -0.1; }, "take_profit");
  bad([](WeightsSimOptions* o) { o->trailing_stop = 2; }, "trailing_stop");
  bad([](WeightsSimOptions* o) { o->max_drawdown = 1; }, "max_drawdown");
  bad([](WeightsSimOptions* o) { o->cooldown_bars = -1; }, "cooldown_bars");
  bad([](WeightsSimOptions* o) { o->hold_min_bars = -1; }, "hold_min_bars");
  bad([](WeightsSimOptions* o) { o->fee_rate = -0.1; }, "fee_rate");
  bad([](WeightsSimOptions* o) { o->min_fee = kNan; }, "min_fee");
  bad([](WeightsSimOptions* o) { o->sell_tax_rate = 1; }, "sell_tax_rate");
  bad([](WeightsSimOptions* o) { o->half_spread = 1; }, "half_spread");
  bad([](WeightsSimOptions* o) { o->impact_alpha = -1; }, "impact_alpha");
  bad([](WeightsSimOptions* o) { o->impact_beta = 0; }, "impact_beta");
  bad([](WeightsSimOptions* o) { o->lot_size = -100; }, "lot_size");
  bad([](WeightsSimOptions* o) { o->init_cash = 0; }, "init_cash");
  EXPECT_TRUE(ValidateWeightsSimOptions(WeightsSimOptions{}).ok());

  const WeightsSimOptions o = Base();
  EXPECT_TRUE(SimulateWeights(d.Inputs(), o, &res).ok());
  EXPECT_FALSE(SimulateWeights(d.Inputs(), o, nullptr).ok());
  WeightsSimInputs in = d.Inputs();
  in.bars = 4;
  EXPECT_FALSE(SimulateWeights(in, o, &res).ok());
  in = d.Inputs();
  const std::vector<std::uint8_t> reb(2, 1);
  in.rebalance = reb;
  EXPECT_FALSE(SimulateWeights(in, o, &res).ok());
  in = d.Inputs();
  const std::vector<double> vol(5, 1.0);
  in.volume = vol;
  EXPECT_FALSE(SimulateWeights(in, o, &res).ok());
  std::vector<WeightsSimBar> report(2);
  EXPECT_FALSE(SimulateWeights(d.Inputs(), o, &res, report).ok());
  std::vector<double> pos(5);
  EXPECT_FALSE(SimulateWeights(d.Inputs(), o, &res, {}, nullptr, nullptr, pos).ok());
  EXPECT_EQ(WeightsSimExitName(WeightsSimExit::kTrailingStop), "trailing_stop");
}

}  // namespace
}  // namespace qraft::engines
