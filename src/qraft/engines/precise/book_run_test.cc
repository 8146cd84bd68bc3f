#include "qraft/engines/precise/book_run.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>
#include <map>

#include "qraft/data/testing.h"

namespace qraft::precise {
namespace {

using data::io::L2Event;
using data::io::L2Kind;
using data::io::L2Side;

constexpr Timestamp kMs = 1'000'000;

// hftbacktest's capture of Binance USD-M BTCUSDT (../shared/data/hftbacktest-l2), read once.
const data::io::L2Data& Capture() {
  static const data::io::L2Data data = [] {
    data::io::L2ReadOptions o;
    o.tick_size = 0.1;
    o.size_increment = 0.001;
    auto r = data::io::ReadL2(data::io::L2Format::kBinance,
                              {data::testing::SharedData() / "hftbacktest-l2" / "examples" /
                               "usdm" / "btcusdt_20240808.gz"},
                              o);
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r.ok() ? std::move(*r) : data::io::L2Data{};
  }();
  return data;
}

Instrument Btc() {
  return {
      .symbol = "BTCUSDT", .tick_size = 0.1, .size_increment = 0.001, .lot = 1, .multiplier = 1};
}

BookRunOptions Options() {
  BookRunOptions o;
  o.quote = {.size = 10, .max_position = 50, .offset = 0, .requote = 200 * kMs};
  o.latency.insert = 5 * kMs;
  o.latency.cancel = 5 * kMs;
  o.latency.market_data = 2 * kMs;
  o.fees.maker_taker = true;  // Binance USD-M, VIP 0
  o.fees.maker = 0.0002;
  o.fees.taker = 0.0005;
  o.account.type = AccountConfig::Type::kMargin;
  o.account.initial_cash = 100'000;
  o.account.margin = 0.05;
  return o;
}

// Independent replay of the book: the state after every message up to time t (inclusive or not).
class Replay {
 public:
  explicit Replay(std::span<const L2Event> events) : events_(events) {}
  // Applies every event with local_ts < t (before = true) or <= t.
  const OrderBook& At(Timestamp t, bool before) {
    while (next_ < events_.size() &&
           (before ? events_[next_].local_ts < t : events_[next_].local_ts <= t)) {
      const L2Event& e = events_[next_++];
      book_.Apply(e);
    }
    return book_;
  }

 private:
  std::span<const L2Event> events_;
  std::size_t next_ = 0;
  OrderBook book_;
};

TEST(BookRunSharedData, QuotingOnBinanceIsDeterministicAndEveryFillIsJustified) {
  QRAFT_REQUIRE_SHARED_DATA();
  const auto& events = Capture().events;
  ASSERT_GT(events.size(), 100'000u);
  auto run = RunQuoting(events, Btc(), Options());
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  auto again = RunQuoting(events, Btc(), Options());
  ASSERT_TRUE(again.ok());
  const BookRunSummary& s = run->summary;
  EXPECT_GT(s.fills, 50u);
  EXPECT_GT(s.maker_units, 0);
  EXPECT_EQ(s.rejected, 0u);
  ASSERT_EQ(again->fills.size(), run->fills.size());
  for (std::size_t i = 0; i < run->fills.size(); ++i) {
    EXPECT_EQ(again->fills[i].time, run->fills[i].time);
    EXPECT_EQ(again->fills[i].market_price, run->fills[i].market_price);
    EXPECT_EQ(again->fills[i].quantity, run->fills[i].quantity);
  }
  EXPECT_EQ(again->samples.equity, run->samples.equity);

  // Every fill has a cause in the data. Maker fills: a trade on the resting side's price at or
  // through the limit in the message at the fill's time, or the opposite best at or through it
  // after that message. Taker fills: the level was on the book when the order arrived (orders
  // arrive before the messages of their time).
  std::map<Timestamp, std::vector<const L2Event*>> trades;
  for (const L2Event& e : events) {
    if (e.kind == L2Kind::kTrade) trades[e.local_ts].push_back(&e);
  }
  Replay before(events), after(events);
  std::size_t makers = 0, takers = 0;
  for (const Fill& f : run->fills) {
    const Order& o = run->orders[static_cast<std::size_t>(f.order - 1)];
    const bool buy = f.side == Side::kBuy;
    if (f.liquidity == Liquidity::kMaker) {
      ++makers;
      EXPECT_EQ(f.market_price, o.request.limit);
      bool traded = false;
      for (const L2Event* t : trades[f.time]) {
        const bool hits_us = buy ? t->side == L2Side::kAsk : t->side == L2Side::kBid;
        traded =
            traded || (hits_us && (buy ? t->price <= f.market_price : t->price >= f.market_price));
      }
      const OrderBook& book = after.At(f.time, false);
      const PriceTicks opp = buy ? book.BestAsk() : book.BestBid();
      const bool crossed = opp != kNoPrice && (buy ? opp <= f.market_price : opp >= f.market_price);
      EXPECT_TRUE(traded || crossed) << "maker fill of order " << f.order << " at " << f.time;
    } else {
      ++takers;
      const OrderBook& book = before.At(f.time, true);
      EXPECT_GE(book.QtyAt(buy ? Side::kSell : Side::kBuy, f.market_price), f.quantity)
          << "taker fill of order " << f.order << " at " << f.time;
    }
  }
  EXPECT_GT(makers, 0u);

  // The account adds up: equity = initial + cash flows of the fills + position x mark - fees.
  double flow = 0, fees = 0, units = 0;
  for (const Fill& f : run->fills) {
    const double q = Btc().Units(f.quantity) * (f.side == Side::kBuy ? 1 : -1);
    flow -= q * f.price;
    units += q;
    fees += f.Fees();
  }
  EXPECT_NEAR(fees, s.fees, 1e-9);
  const BookSamples& smp = run->samples;
  ASSERT_FALSE(smp.equity.empty());
  EXPECT_NEAR(Btc().Units(smp.position.back()), units, 1e-12);
  EXPECT_NEAR(smp.equity.back(), 100'000 + flow + units * smp.mark.back() - fees, 1e-6);
  EXPECT_LE(std::abs(units), 0.050 + 1e-12);  // max_position (its requests may overshoot by
                                              // what was in flight; not here)
}

// Quotes on a fixed schedule, whatever fills: each order sees the same book under every queue
// model, so the models can be compared order by order.
class Schedule : public BookStrategy {
 public:
  void OnMarket(const MarketView& v, BookEngine& e) override {
    if (v.time < next_) return;
    const PriceTicks bid = v.book->BestBid(), ask = v.book->BestAsk();
    if (bid == kNoPrice || ask == kNoPrice) return;
    next_ = v.time + 2 * kNanosPerSecond;
    for (const OrderId id : live_)
      e.Cancel(id);
    live_ = {
        e.Submit({.side = Side::kBuy, .type = OrderType::kLimit, .quantity = 5, .limit = bid}),
        e.Submit({.side = Side::kSell, .type = OrderType::kLimit, .quantity = 5, .limit = ask})};
  }

 private:
  Timestamp next_ = 0;
  std::vector<OrderId> live_;
};

TEST(BookRunSharedData, ProbabilisticQueuesNeverFillAnOrderLessThanRiskAverse) {
  QRAFT_REQUIRE_SHARED_DATA();
  std::vector<Quantity> filled[3];
  const QueueModel models[3] = {QueueModel::RiskAverse(), *QueueModel::PowerProb(2),
                                *QueueModel::PowerProb(3)};
  for (int m = 0; m < 3; ++m) {
    BookEngineConfig c;
    c.instrument = Btc();
    c.events = Capture().events;
    c.account.type = AccountConfig::Type::kMargin;
    c.account.initial_cash = 1e9;
    c.queue = models[m];
    auto engine = BookEngine::Create(c);
    ASSERT_TRUE(engine.ok());
    Schedule strategy;
    ASSERT_TRUE((*engine)->Run(strategy).ok());
    for (const Order& o : (*engine)->orders())
      filled[m].push_back(o.filled);
  }
  ASSERT_EQ(filled[0].size(), filled[1].size());
  ASSERT_GT(filled[0].size(), 100u);
  Quantity total[3] = {};
  for (std::size_t i = 0; i < filled[0].size(); ++i) {
    EXPECT_LE(filled[0][i], filled[1][i]) << "order " << i + 1;
    for (int m = 0; m < 3; ++m)
      total[m] += filled[m][i];
  }
  // The power model gives more credit for cancels the larger n is (more of them behind us).
  EXPECT_LT(total[0], total[1]);
  EXPECT_LE(total[1], total[2]);
}

TEST(BookRun, WritesOrdersFillsAndEquity) {
  // A tiny hand-made stream: a book, a print through our bid.
  std::vector<L2Event> ev;
  const Timestamp t0 = DateTimestamp(2024, 8, 8);
  auto add = [&](Timestamp t, L2Kind k, L2Side s, PriceTicks p, Quantity q) {
    ev.push_back({.local_ts = t0 + t,
                  .price = p,
                  .qty = q,
                  .kind = k,
                  .side = s,
                  .flags = data::io::kL2Last});
  };
  add(0, L2Kind::kDelta, L2Side::kBid, 1000, 10);
  add(0, L2Kind::kDelta, L2Side::kAsk, 1001, 10);
  ev[0].flags = 0;
  add(kNanosPerSecond, L2Kind::kTrade, L2Side::kAsk, 999, 50);
  add(2 * kNanosPerSecond, L2Kind::kDelta, L2Side::kBid, 999, 5);
  BookRunOptions o;
  o.quote = {.size = 2, .max_position = 2, .offset = 0, .requote = 0};
  o.account.allow_short = true;
  auto run = RunQuoting(ev, Btc(), o);
  ASSERT_TRUE(run.ok()) << run.status().ToString();
  ASSERT_EQ(run->fills.size(), 1u);  // the bid; the ask never traded
  EXPECT_EQ(run->fills[0].side, Side::kBuy);
  data::testing::TempDir dir;
  ASSERT_TRUE(WriteBookRun(dir.path() / "run", *run).ok());
  for (const char* name : {"orders.csv", "fills.csv", "equity.csv", "orders.parquet",
                           "fills.parquet", "equity.parquet"}) {
    EXPECT_TRUE(std::filesystem::exists(dir.path() / "run" / name)) << name;
  }
  std::ifstream in(dir.path() / "run" / "equity.csv");
  std::string header, row;
  std::getline(in, header);
  EXPECT_EQ(header, "time,equity,mark,position");
  std::vector<std::string> rows;
  while (std::getline(in, row))
    rows.push_back(row);
  ASSERT_EQ(rows.size(), 3u);  // 0 s, 1 s, and the end (2 s)
  EXPECT_EQ(rows[2].substr(rows[2].rfind(',') + 1), "0.002");

  o.quote.size = 0;
  EXPECT_EQ(RunQuoting(ev, Btc(), o).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(data::io::ParseL2Format("lobster").status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(data::io::ReadL2(data::io::L2Format::kBinanceCsv, {"a.csv"}, {}).status().code(),
            StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qraft::precise
