#include "qraft/engines/precise/book_engine.h"

#include <gtest/gtest.h>

#include <functional>
#include <map>

#include "qraft/data/testing.h"

namespace qraft::precise {
namespace {

using data::io::L2Event;
using data::io::L2Kind;
using data::io::L2Side;

constexpr Timestamp kMs = 1'000'000;
const Timestamp kT0 = DateTimestamp(2024, 8, 8) + 10 * 3600 * kNanosPerSecond;

// Builds an event stream message by message (prices and quantities already in ticks and
// increments). Times are ms after kT0.
struct Stream {
  std::vector<L2Event> events;
  Stream& Level(double ms, L2Side side, PriceTicks price, Quantity qty,
                L2Kind kind = L2Kind::kDelta) {
    L2Event e;
    e.local_ts = kT0 + static_cast<Timestamp>(ms * kMs);
    e.kind = kind;
    e.side = side;
    e.price = price;
    e.qty = qty;
    e.flags = data::io::kL2Last;
    // Events of one time are one message: only the last keeps kL2Last.
    if (!events.empty() && events.back().local_ts == e.local_ts) events.back().flags = 0;
    events.push_back(e);
    return *this;
  }
  Stream& Bid(double ms, PriceTicks p, Quantity q) { return Level(ms, L2Side::kBid, p, q); }
  Stream& Ask(double ms, PriceTicks p, Quantity q) { return Level(ms, L2Side::kAsk, p, q); }
  /// A trade; `buyer` = the aggressor bought (lifted an ask).
  Stream& Trade(double ms, PriceTicks p, Quantity q, bool buyer) {
    return Level(ms, buyer ? L2Side::kBid : L2Side::kAsk, p, q, L2Kind::kTrade);
  }
  Stream& Quote(double ms, L2Side side, PriceTicks p, Quantity q) {
    return Level(ms, side, p, q, L2Kind::kQuote);
  }
};

// A book at t=0: bids 99x20, 98x30; asks 100x10, 101x5, 103x20.
Stream Book() {
  Stream s;
  s.Bid(0, 99, 20).Bid(0, 98, 30).Ask(0, 100, 10).Ask(0, 101, 5).Ask(0, 103, 20);
  return s;
}

// A strategy that runs a script: actions at the n-th market message it sees, and records what
// it is told.
class Script : public BookStrategy {
 public:
  std::map<std::size_t, std::function<void(const MarketView&, BookEngine&)>> at;
  std::vector<Fill> fills;
  std::vector<Order> done;
  std::vector<Timestamp> seen;  // the times of the messages it saw
  void OnMarket(const MarketView& view, BookEngine& e) override {
    const std::size_t k = seen.size();
    seen.push_back(view.time);
    if (auto it = at.find(k); it != at.end()) it->second(view, e);
  }
  void OnFill(const Fill& f, BookEngine&) override { fills.push_back(f); }
  void OnOrderDone(const Order& o, BookEngine&) override { done.push_back(o); }
};

BookEngineConfig Config(const Stream& s) {
  BookEngineConfig c;
  c.instrument = {.symbol = "X", .tick_size = 1, .size_increment = 1, .lot = 1, .multiplier = 1};
  c.events = s.events;
  c.account.initial_cash = 1'000'000;
  return c;
}

std::unique_ptr<BookEngine> RunScript(BookEngineConfig c, Script& script) {
  auto engine = BookEngine::Create(std::move(c));
  EXPECT_TRUE(engine.ok()) << engine.status().ToString();
  EXPECT_TRUE((*engine)->Run(script).ok());
  return std::move(*engine);
}

OrderRequest Req(Side side, OrderType type, Quantity q, PriceTicks limit = kNoPrice,
                 TimeInForce tif = TimeInForce::kGtc) {
  return {.side = side, .type = type, .tif = tif, .quantity = q, .limit = limit};
}

TEST(BookEngine, MarketOrderWalksTheBookWithoutChangingIt) {
  Stream s = Book();
  s.Ask(5, 100, 10);  // a later message: the book still shows 10 at 100
  Script script;
  script.at[0] = [](const MarketView& v, BookEngine& e) {
    EXPECT_EQ(v.book->BestAsk(), 100);
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 12));
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 12));  // the same liquidity again
  };
  auto c = Config(s);
  c.fees.commission = 0.001;
  auto engine = RunScript(c, script);
  ASSERT_EQ(engine->fills().size(), 4u);
  for (int k = 0; k < 2; ++k) {
    const Fill& a = engine->fills()[2 * k];
    const Fill& b = engine->fills()[2 * k + 1];
    EXPECT_EQ(a.quantity, 10);
    EXPECT_EQ(a.market_price, 100);
    EXPECT_EQ(b.quantity, 2);
    EXPECT_EQ(b.market_price, 101);
    EXPECT_EQ(a.liquidity, Liquidity::kTaker);
    EXPECT_DOUBLE_EQ(a.commission, 1.0);
    EXPECT_DOUBLE_EQ(b.commission, 0.202);
  }
  const Order& o = engine->order(1);
  EXPECT_EQ(o.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(o.avg_price, (1000.0 + 202.0) / 12);
  EXPECT_DOUBLE_EQ(engine->account().cash(), 1'000'000 - 2 * (1202 + 1.202));
  EXPECT_EQ(engine->account().position(0).quantity, 24);
  EXPECT_EQ(script.fills.size(), 4u);
}

TEST(BookEngine, FokAndIocAgainstTheDepth) {
  Stream s = Book();
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 16, 101, TimeInForce::kFok));  // 15 available
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 15, 101, TimeInForce::kFok));
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 20, 101, TimeInForce::kIoc));
    e.Submit(Req(Side::kSell, OrderType::kMarket, 60, kNoPrice, TimeInForce::kFok));  // 50 bid
  };
  auto c = Config(s);
  c.account.allow_short = true;
  auto engine = RunScript(c, script);
  EXPECT_EQ(engine->order(1).status, OrderStatus::kCancelled);
  EXPECT_EQ(engine->order(1).filled, 0);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kFilled);
  EXPECT_EQ(engine->order(3).status, OrderStatus::kCancelled);
  EXPECT_EQ(engine->order(3).filled, 15);
  EXPECT_EQ(engine->order(4).status, OrderStatus::kCancelled);
  EXPECT_EQ(engine->order(4).filled, 0);
  EXPECT_EQ(engine->account().position(0).quantity, 30);
}

TEST(BookEngine, RiskAverseQueueFillsAfterTheQueueAheadTrades) {
  Stream s = Book();
  s.Trade(1, 99, 15, false)  // sellers hit the 20 ahead of us: 5 left ahead
      .Bid(1, 99, 5)
      .Trade(2, 99, 8, false)  // 5 ahead, then 3 of ours
      .Bid(2, 99, 1)
      .Trade(3, 98, 4, false);  // through our price: the rest of ours
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 5, 99));
  };
  auto engine = RunScript(Config(s), script);
  ASSERT_EQ(engine->fills().size(), 2u);
  EXPECT_EQ(engine->fills()[0].quantity, 3);
  EXPECT_EQ(engine->fills()[0].time, kT0 + 2 * kMs);
  EXPECT_EQ(engine->fills()[1].quantity, 2);
  EXPECT_EQ(engine->fills()[1].time, kT0 + 3 * kMs);
  for (const Fill& f : engine->fills()) {
    EXPECT_EQ(f.liquidity, Liquidity::kMaker);
    EXPECT_EQ(f.market_price, 99);
  }
  EXPECT_EQ(engine->order(1).status, OrderStatus::kFilled);
}

TEST(BookEngine, ProbabilisticQueueCreditsCancelsAheadOfUs) {
  // We join behind 20; 10 more join behind us; 10 cancel. RiskAverse keeps 20 ahead; the power
  // model with n = 2 puts p = 10^2 / (20^2 + 10^2) = 0.2 of the cancels behind us:
  // ahead = 20 - 0.8 x 10 = 12. A trade of 15 then fills 3 (power) or none (risk-averse).
  Stream s = Book();
  s.Bid(1, 99, 30).Bid(2, 99, 20).Trade(3, 99, 15, false).Bid(3, 99, 5);
  Quantity filled[2] = {};
  for (int k = 0; k < 2; ++k) {
    Script script;
    script.at[0] = [](const MarketView&, BookEngine& e) {
      e.Submit(Req(Side::kBuy, OrderType::kLimit, 10, 99));
    };
    auto c = Config(s);
    if (k == 1) c.queue = *QueueModel::PowerProb(2);
    filled[k] = RunScript(c, script)->order(1).filled;
  }
  EXPECT_EQ(filled[0], 0);
  EXPECT_EQ(filled[1], 3);
}

TEST(BookEngine, CrossedRestingOrderFillsAtItsLimit) {
  Stream s = Book();
  s.Bid(1, 102, 3);  // a buyer now bids at our 102 offer: it crossed us
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kSell, OrderType::kLimit, 4, 102));
  };
  auto c = Config(s);
  c.account.allow_short = true;
  auto engine = RunScript(c, script);
  ASSERT_EQ(engine->fills().size(), 1u);
  EXPECT_EQ(engine->fills()[0].quantity, 4);
  EXPECT_EQ(engine->fills()[0].market_price, 102);
  EXPECT_EQ(engine->fills()[0].liquidity, Liquidity::kMaker);
  EXPECT_EQ(engine->fills()[0].time, kT0 + kMs);
}

TEST(BookEngine, InsertLatencyMeetsTheLaterBook) {
  Stream s = Book();
  s.Ask(5, 100, 0).Ask(20, 100, 10);
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 3));
  };
  auto c = Config(s);
  c.latency.insert = 10 * kMs;
  auto engine = RunScript(c, script);
  ASSERT_EQ(engine->fills().size(), 1u);
  EXPECT_EQ(engine->fills()[0].time, kT0 + 10 * kMs);
  EXPECT_EQ(engine->fills()[0].market_price, 101);  // 100 was gone by the time it arrived
}

TEST(BookEngine, MarketDataLatencyDelaysTheStrategysView) {
  Stream s = Book();
  s.Ask(1, 100, 0).Ask(2, 100, 7).Bid(10, 98, 31);  // the last is due to the strategy after the end
  Script script;
  std::vector<PriceTicks> seen_ask;
  script.at[0] = [&](const MarketView& v, BookEngine&) { seen_ask.push_back(v.book->BestAsk()); };
  script.at[1] = [&](const MarketView& v, BookEngine&) { seen_ask.push_back(v.book->BestAsk()); };
  auto c = Config(s);
  c.latency.market_data = 3 * kMs;
  auto engine = RunScript(c, script);
  ASSERT_EQ(script.seen.size(), 3u);
  EXPECT_EQ(script.seen[0], kT0 + 3 * kMs);
  EXPECT_EQ(script.seen[1], kT0 + 4 * kMs);
  // At 4 ms the exchange's best ask has been 100 again since 2 ms; the strategy sees the book
  // of 0 ms (100), then of 1 ms (101).
  EXPECT_EQ(seen_ask, (std::vector<PriceTicks>{100, 101}));
}

TEST(BookEngine, LateCancelAndReplaceLosesThePlaceInTheQueue) {
  Stream s = Book();
  s.Trade(1, 98, 31, false)  // through order 1's 99: all of it; at order 2's 98: 31 - 30 = 1
      .Bid(1, 99, 0)
      .Bid(1, 98, 10)
      .Bid(4, 97, 6)
      .Trade(6, 97, 6, false)  // order 2, moved to 97 at 6 ms, is behind these 6
      .Trade(7, 97, 9, false);
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    const OrderId a = e.Submit(Req(Side::kBuy, OrderType::kLimit, 5, 99));
    e.Cancel(a);  // arrives at 2 ms: too late
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 5, 98));
  };
  script.at[2] = [](const MarketView& v, BookEngine& e) {
    EXPECT_EQ(v.time, kT0 + 4 * kMs);
    e.Replace(2, 5, 97);  // a new price: the back of the 97 level at 6 ms
  };
  auto c = Config(s);
  c.latency.cancel = 2 * kMs;
  auto engine = RunScript(c, script);
  EXPECT_EQ(engine->order(1).status, OrderStatus::kFilled);
  EXPECT_EQ(engine->Summary().late_cancels, 1);
  ASSERT_EQ(engine->fills().size(), 3u);
  EXPECT_EQ(engine->fills()[1].quantity, 1);
  EXPECT_EQ(engine->fills()[1].market_price, 98);
  // Had it kept its place (nothing ahead), the 6 at 6 ms would have filled it.
  EXPECT_EQ(engine->fills()[2].time, kT0 + 7 * kMs);
  EXPECT_EQ(engine->fills()[2].quantity, 4);
  EXPECT_EQ(engine->fills()[2].market_price, 97);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kFilled);
}

TEST(BookEngine, StopsTriggerOnTradesAndTouches) {
  Stream s = Book();
  s.Trade(1, 97, 2, false)  // a sell prints at 97: the sell stop at 97 triggers, takes the bids
      .Bid(2, 104, 1);      // a bid at 104: the buy stop-limit at 104 triggers (touch)
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    OrderRequest sell = Req(Side::kSell, OrderType::kStopMarket, 25);
    sell.stop = 97;
    e.Submit(sell);
    OrderRequest buy = Req(Side::kBuy, OrderType::kStopLimit, 30, 103);
    buy.stop = 104;
    e.Submit(buy);
  };
  auto c = Config(s);
  c.account.allow_short = true;
  auto engine = RunScript(c, script);
  ASSERT_GE(engine->fills().size(), 2u);
  EXPECT_EQ(engine->fills()[0].time, kT0 + kMs);
  EXPECT_EQ(engine->fills()[0].market_price, 99);
  EXPECT_EQ(engine->fills()[0].quantity, 20);
  EXPECT_EQ(engine->fills()[1].market_price, 98);
  EXPECT_EQ(engine->fills()[1].quantity, 5);
  // The buy stop-limit takes 100, 101 and 103 (35 >= 30) at 2 ms.
  const Order& buy = engine->order(2);
  EXPECT_TRUE(buy.triggered);
  EXPECT_EQ(buy.status, OrderStatus::kFilled);
  EXPECT_DOUBLE_EQ(buy.avg_price, (10 * 100 + 5 * 101 + 15 * 103) / 30.0);
}

TEST(BookEngine, DayOrdersExpireAtMidnightUtc) {
  Stream s = Book();
  const double next_day = (DateTimestamp(2024, 8, 9) - kT0) / static_cast<double>(kMs);
  s.Bid(1, 99, 21).Bid(next_day + 1, 99, 22);
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 5, 99, TimeInForce::kDay));
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 5, 99, TimeInForce::kGtc));
  };
  auto engine = RunScript(Config(s), script);
  EXPECT_EQ(engine->order(1).status, OrderStatus::kCancelled);
  EXPECT_EQ(engine->order(1).done, DateTimestamp(2024, 8, 9) + kMs);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kWorking);
  ASSERT_EQ(script.done.size(), 1u);
}

TEST(BookEngine, TradeOnlyDataFillsMarketOrdersAtThePrints) {
  Stream s;
  s.Trade(0, 100, 1, true).Trade(1, 101, 3, true).Trade(2, 102, 10, false);
  Script script;
  script.at[0] = [](const MarketView& v, BookEngine& e) {
    EXPECT_EQ(v.last_trade, 100);
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 5));
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 5, kNoPrice, TimeInForce::kIoc));
  };
  auto engine = RunScript(Config(s), script);
  ASSERT_EQ(engine->fills().size(), 2u);
  EXPECT_EQ(engine->fills()[0].market_price, 101);
  EXPECT_EQ(engine->fills()[0].quantity, 3);
  EXPECT_EQ(engine->fills()[1].market_price, 102);
  EXPECT_EQ(engine->fills()[1].quantity, 2);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kCancelled);  // IOC: no book to take
  // Samples: at the start (after its events) and at the end; the mark is the last trade.
  EXPECT_EQ(engine->samples().mark, (std::vector<double>{100, 102}));
  EXPECT_EQ(engine->samples().position, (std::vector<Quantity>{0, 5}));
}

TEST(BookEngine, QuoteTicksAreTheBookWhenThereIsNoDepth) {
  Stream s;
  s.Quote(0, L2Side::kBid, 99, 4)
      .Quote(0, L2Side::kAsk, 100, 6)
      .Quote(1, L2Side::kAsk, 101, 2)   // the new top replaces 100 (our offer's level)
      .Quote(2, L2Side::kBid, 100, 1);  // a bid at our 100 offer: it crossed us
  Script script;
  script.at[0] = [](const MarketView& v, BookEngine& e) {
    EXPECT_EQ(v.book->BestAsk(), 100);
    EXPECT_EQ(v.book->Depth(Side::kSell), 1u);
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 8));  // 6 at 100, the rest cancelled
    e.Submit(Req(Side::kSell, OrderType::kLimit, 1, 100));
  };
  auto engine = RunScript(Config(s), script);
  EXPECT_TRUE(*engine->config().quotes_as_book);
  EXPECT_EQ(engine->order(1).filled, 6);
  EXPECT_EQ(engine->order(1).status, OrderStatus::kCancelled);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kFilled);
  EXPECT_EQ(engine->fills().back().time, kT0 + 2 * kMs);
  EXPECT_EQ(engine->fills().back().liquidity, Liquidity::kMaker);
}

TEST(BookEngine, CashRefusalsReduceOnlyAndIcebergs) {
  Stream s = Book();
  s.Trade(1, 99, 22, false).Bid(1, 99, 0).Trade(2, 99, 3, false).Trade(3, 99, 30, false);
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 10));  // 1,000 of 1,000 cash: fits
    e.Submit(Req(Side::kBuy, OrderType::kMarket, 1));   // no cash left
    OrderRequest reduce = Req(Side::kBuy, OrderType::kLimit, 1, 99);
    reduce.reduce_only = true;  // a buy cannot reduce a long
    e.Submit(reduce);
  };
  auto c = Config(s);
  c.account.initial_cash = 1000;
  auto engine = RunScript(c, script);
  EXPECT_EQ(engine->order(1).status, OrderStatus::kFilled);
  EXPECT_EQ(engine->order(2).status, OrderStatus::kRejected);
  EXPECT_EQ(engine->order(2).reject, RejectReason::kInsufficientCash);
  EXPECT_EQ(engine->order(3).reject, RejectReason::kReduceOnly);

  // An iceberg of 6 showing 2 behind 20 at 99: 22 traded fill the first 2; the level is then
  // empty, so each next slice of 2 joins it with nothing ahead and the next print fills it.
  Script ice;
  ice.at[0] = [](const MarketView&, BookEngine& e) {
    OrderRequest r = Req(Side::kBuy, OrderType::kLimit, 6, 99);
    r.display = 2;
    e.Submit(r);
  };
  auto iceberg = RunScript(Config(s), ice);
  ASSERT_EQ(iceberg->fills().size(), 3u);
  for (const Fill& f : iceberg->fills())
    EXPECT_EQ(f.quantity, 2);
}

TEST(BookEngine, RejectsBarOnlyOrdersAndBadConfiguration) {
  Stream s = Book();
  Script script;
  script.at[0] = [](const MarketView&, BookEngine& e) {
    e.Submit(Req(Side::kBuy, OrderType::kTwap, 5));
    e.Submit(Req(Side::kBuy, OrderType::kLimit, 5));  // no limit price
    OrderRequest sized = Req(Side::kSell, OrderType::kMarket, 5);
    sized.short_budget = 100;  // sizing at the fill is a bar concept
    e.Submit(sized);
  };
  auto engine = RunScript(Config(s), script);
  EXPECT_EQ(engine->order(1).reject, RejectReason::kInvalid);
  EXPECT_EQ(engine->order(2).reject, RejectReason::kInvalid);
  EXPECT_EQ(engine->order(3).reject, RejectReason::kInvalid);

  Stream unsorted = Book();
  unsorted.events.back().local_ts = kT0 - 1;
  EXPECT_EQ(BookEngine::Create(Config(unsorted)).status().code(), StatusCode::kInvalidArgument);
  auto c = Config(Book());
  c.sample_interval = 0;
  EXPECT_EQ(BookEngine::Create(c).status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qraft::precise
