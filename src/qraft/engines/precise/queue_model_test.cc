#include "qraft/engines/precise/queue_model.h"

#include <gtest/gtest.h>

#include "qraft/data/io/l2_io.h"
#include "qraft/data/testing.h"
#include "qraft/engines/precise/order_book.h"

namespace qraft::precise {
namespace {

using data::io::L2Event;
using data::io::L2Kind;
using data::io::L2Side;

TEST(QueueModel, PowerMustBePositive) {
  EXPECT_FALSE(QueueModel::PowerProb(0).ok());
  EXPECT_FALSE(QueueModel::PowerProb(-1).ok());
  EXPECT_FALSE(QueueModel::PowerProb(std::numeric_limits<double>::quiet_NaN()).ok());
  EXPECT_FALSE(QueueModel::PowerProb(65).ok());
  auto m = QueueModel::PowerProb(3);
  ASSERT_TRUE(m.ok());
  EXPECT_EQ(m->kind(), QueueModel::Kind::kPowerProb);
  EXPECT_EQ(m->power(), 3);
  EXPECT_EQ(QueueModel::RiskAverse().kind(), QueueModel::Kind::kRiskAverse);
}

TEST(QueueModel, ParsesItsNames) {
  EXPECT_EQ(QueueModel::Parse("risk-averse")->kind(), QueueModel::Kind::kRiskAverse);
  EXPECT_EQ(QueueModel::Parse("power:2.5")->power(), 2.5);
  for (const char* bad : {"power:", "power:x", "power:0", "prob", ""}) {
    EXPECT_EQ(QueueModel::Parse(bad).status().code(), StatusCode::kInvalidArgument) << bad;
  }
}

// One sequence, both models. Level 10, we join with 2; 2 join behind us; the level drops to 8
// (cancels); a trade of 3; the level drops to 4 (3 of it the trade, 1 a cancel); trades of 4, 1, 5.
TEST(QueueModel, RiskAverseAdvancesOnlyOnTrades) {
  const QueueModel m = QueueModel::RiskAverse();
  QueuePosition q = m.Place(10, 2);
  EXPECT_EQ(q.ahead, 10);
  EXPECT_EQ(q.remaining, 2);
  m.OnLevelChange(q, 10, 12);
  EXPECT_EQ(q.ahead, 10);  // joined behind us
  m.OnLevelChange(q, 12, 8);
  EXPECT_EQ(q.ahead, 8);  // only clamped: nobody is ahead who is not in the book
  EXPECT_EQ(m.OnTrade(q, 3), 0);
  EXPECT_EQ(q.ahead, 5);
  m.OnLevelChange(q, 8, 4);
  EXPECT_EQ(q.ahead, 4);
  EXPECT_EQ(m.OnTrade(q, 4), 0);  // exactly the queue ahead: we are at the front, unfilled
  EXPECT_EQ(q.ahead, 0);
  EXPECT_EQ(m.OnTrade(q, 1), 1);
  EXPECT_EQ(q.remaining, 1);
  m.OnLevelChange(q, 0, 20);  // a new crowd behind us
  EXPECT_EQ(q.ahead, 0);
  EXPECT_EQ(m.OnTrade(q, 5), 1);
  EXPECT_EQ(q.remaining, 0);
  EXPECT_EQ(m.OnTrade(q, 5), 0);  // nothing left to fill
}

TEST(QueueModel, PowerProbSplitsCancelsByQueuePosition) {
  const QueueModel m = *QueueModel::PowerProb(2);
  QueuePosition q = m.Place(10, 2);
  m.OnLevelChange(q, 10, 12);  // growth: ahead unchanged
  EXPECT_EQ(q.ahead, 10);
  // chg = 4, a = 10, b = 12 - 10 = 2, p = f(b) / (f(a) + f(b)) = 4 / 104 = 1/26:
  // ahead = 10 - (25/26) 4 + min(2 - 4/26, 0) = 160/26.
  m.OnLevelChange(q, 12, 8);
  EXPECT_NEAR(q.ahead, 160.0 / 26, 1e-12);
  EXPECT_EQ(m.OnTrade(q, 3), 0);  // ahead 82/26
  EXPECT_NEAR(q.ahead, 82.0 / 26, 1e-12);
  EXPECT_EQ(q.traded, 3);
  // 8 -> 4 with 3 traded: chg = 1; a = 82/26, b = 8 - 3 - 82/26 = 48/26,
  // p = 48^2 / (82^2 + 48^2) = 2304 / 9028: ahead = 82/26 - 6724/9028 = 2.40905217954...
  m.OnLevelChange(q, 8, 4);
  EXPECT_NEAR(q.ahead, 82.0 / 26 - 6724.0 / 9028, 1e-12);
  EXPECT_NEAR(q.ahead, 2.4090521795, 1e-10);
  EXPECT_EQ(q.traded, 0);
  // A trade of 4 goes 1.59 past the queue ahead: one whole increment of ours fills.
  EXPECT_EQ(m.OnTrade(q, 4), 1);
  EXPECT_EQ(q.ahead, 0);
  EXPECT_EQ(q.remaining, 1);
  EXPECT_EQ(m.OnTrade(q, 1), 1);
  EXPECT_EQ(q.remaining, 0);
}

TEST(QueueModel, PowerProbHandCases) {
  // n = 1: a decrease splits in proportion to the queue ahead and behind.
  // a = 6, b = 4, chg = 5, p = 0.4: ahead = 6 - 0.6 x 5 + min(4 - 2, 0) = 3.
  const QueueModel lin = *QueueModel::PowerProb(1);
  QueuePosition q{6, 1, 0};
  lin.OnLevelChange(q, 10, 5);
  EXPECT_NEAR(q.ahead, 3, 1e-12);

  // n = 3 near the front: a = 1, b = 9, chg = 8, p = 729/730: almost all of it behind us.
  const QueueModel cube = *QueueModel::PowerProb(3);
  q = {1, 1, 0};
  cube.OnLevelChange(q, 10, 2);
  EXPECT_NEAR(q.ahead, 1 - 8.0 / 730, 1e-12);

  // The level empties: what the queue behind cannot absorb comes from ahead.
  // a = 1, b = 2, chg = 3, p = 8/9: ahead = 1 - 3/9 + min(2 - 24/9, 0) = 0.
  q = {1, 1, 0};
  cube.OnLevelChange(q, 3, 0);
  EXPECT_NEAR(q.ahead, 0, 1e-12);

  // Trades explain the whole decrease: no cancel to split.
  q = lin.Place(10, 1);
  q.ahead = 5;
  EXPECT_EQ(lin.OnTrade(q, 3), 0);
  lin.OnLevelChange(q, 10, 7);
  EXPECT_EQ(q.ahead, 2);

  // At the front, cancels cannot move us.
  q = {0, 1, 0};
  cube.OnLevelChange(q, 10, 1);
  EXPECT_EQ(q.ahead, 0);

  // Nobody behind us (b = 0, p = 0): the whole decrease is ahead, down to the new level.
  const QueueModel sq = *QueueModel::PowerProb(2);
  q = {10, 1, 0};
  sq.OnLevelChange(q, 10, 6);
  EXPECT_EQ(q.ahead, 6);
  // Deep in the queue with n = 2: a = 9, b = 1, chg = 8, p = 1/82:
  // ahead = 9 - (81/82) 8 + min(1 - 8/82, 0) = 1.0976...
  q = {9, 1, 0};
  sq.OnLevelChange(q, 10, 2);
  EXPECT_NEAR(q.ahead, 9 - 81.0 / 82 * 8, 1e-12);
}

TEST(QueueModel, TradesAtTheQueueBoundary) {
  for (const QueueModel& m : {QueueModel::RiskAverse(), *QueueModel::PowerProb(2)}) {
    QueuePosition q = m.Place(5, 3);
    EXPECT_EQ(m.OnTrade(q, 0), 0);
    EXPECT_EQ(m.OnTrade(q, -2), 0);
    EXPECT_EQ(q.ahead, 5);
    EXPECT_EQ(m.OnTrade(q, 7), 2);  // 5 ahead, then 2 of our 3
    EXPECT_EQ(m.OnTrade(q, 7), 1);
    EXPECT_EQ(q.remaining, 0);
    QueuePosition empty = m.Place(0, 4);  // a new level: we are first
    EXPECT_EQ(m.OnTrade(empty, 10), 4);
    QueuePosition neg = m.Place(-3, 1);
    EXPECT_EQ(neg.ahead, 0);
  }
}

// On a real capture: buy orders placed at the best bid, tracked by both models over the level's
// changes and the sells at its price. The probabilistic queue ahead never exceeds the
// conservative one, so it fills at least as much.
TEST(QueueModelSharedData, ProbNeverBehindRiskAverseOnBinance) {
  QRAFT_REQUIRE_SHARED_DATA();
  data::io::L2ReadOptions o;
  o.tick_size = 0.1;
  o.size_increment = 0.001;
  auto r = data::io::ReadBinanceCapture({data::testing::SharedData() / "hftbacktest-l2" /
                                         "examples" / "usdm" / "btcusdt_20240808.gz"},
                                        o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const QueueModel risk = QueueModel::RiskAverse();
  const QueueModel prob = *QueueModel::PowerProb(2);
  struct Order {
    PriceTicks price;
    QueuePosition r, p;
    Quantity filled_r = 0, filled_p = 0;
    bool live = true;
  };
  std::vector<Order> orders;
  OrderBook book;
  std::size_t messages = 0, violations = 0;
  for (const L2Event& e : r->events) {
    if (e.kind == L2Kind::kTrade) {
      for (Order& od : orders) {
        // A sell through our price would fill us whole (the fill model's case): stop tracking.
        if (!od.live || e.side != L2Side::kAsk || e.price > od.price) continue;
        if (e.price < od.price) {
          od.live = false;
          continue;
        }
        od.filled_r += risk.OnTrade(od.r, e.qty);
        od.filled_p += prob.OnTrade(od.p, e.qty);
      }
      continue;
    }
    const Quantity prev = book.Apply(e);
    if (e.kind == L2Kind::kDelta && e.side == L2Side::kBid) {
      for (Order& od : orders) {
        if (!od.live || od.price != e.price) continue;
        risk.OnLevelChange(od.r, prev, e.qty);
        prob.OnLevelChange(od.p, prev, e.qty);
      }
    }
    if (!(e.flags & data::io::kL2Last) || e.kind == L2Kind::kQuote) continue;
    for (Order& od : orders) {
      if (!od.live) continue;
      if (book.BestAsk() <= od.price) od.live = false;  // the ask came to us
      violations += od.p.ahead > od.r.ahead + 1e-9 || od.filled_p < od.filled_r;
    }
    if (e.kind == L2Kind::kDelta && ++messages % 200 == 0) {
      const BookLevel bid = book.Best(Side::kBuy);
      const Quantity ours = 10;  // 0.01 BTC
      orders.push_back({bid.price, risk.Place(bid.qty, ours), prob.Place(bid.qty, ours)});
    }
  }
  ASSERT_GT(orders.size(), 25u);
  EXPECT_EQ(violations, 0u);
  Quantity total_r = 0, total_p = 0;
  std::size_t ahead_less = 0;
  for (const Order& od : orders) {
    total_r += od.filled_r;
    total_p += od.filled_p;
    ahead_less += od.p.ahead < od.r.ahead;
  }
  // Cancels move the probabilistic queue: it fills more, and is ahead at least once.
  EXPECT_GT(total_p, total_r);
  EXPECT_GT(ahead_less, 0u);
  RecordProperty("orders", static_cast<int>(orders.size()));
  RecordProperty("filled_risk_averse", static_cast<int>(total_r));
  RecordProperty("filled_prob2", static_cast<int>(total_p));
}

}  // namespace
}  // namespace qraft::precise
