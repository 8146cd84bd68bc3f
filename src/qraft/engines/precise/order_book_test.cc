#include "qraft/engines/precise/order_book.h"

#include <gtest/gtest.h>

#include <array>
#include <functional>
#include <map>
#include <random>
#include <tuple>
#include <unordered_map>

#include "qraft/data/io/l2_io.h"
#include "qraft/data/testing.h"

namespace qraft::precise {
namespace {

namespace fs = std::filesystem;
using data::io::L2Event;
using data::io::L2Kind;
using data::io::L2Side;

L2Event Delta(L2Side side, std::int64_t price, std::int64_t qty) {
  L2Event e;
  e.kind = L2Kind::kDelta;
  e.side = side;
  e.price = price;
  e.qty = qty;
  return e;
}

TEST(OrderBook, EmptyBook) {
  OrderBook b;
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.BestBid(), kNoPrice);
  EXPECT_EQ(b.BestAsk(), kNoPrice);
  EXPECT_EQ(b.Best(Side::kBuy), BookLevel{});
  EXPECT_EQ(b.QtyAt(Side::kSell, 100), 0);
  EXPECT_EQ(b.Depth(Side::kBuy), 0u);
  EXPECT_FALSE(b.IsCrossed());
  std::array<BookLevel, 3> top;
  EXPECT_EQ(b.Top(Side::kBuy, top), 0u);
}

TEST(OrderBook, SetReplaceRemove) {
  OrderBook b;
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 100, 5)), 0);
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 98, 7)), 0);
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 99, 1)), 0);
  EXPECT_EQ(b.Apply(Delta(L2Side::kAsk, 102, 3)), 0);
  EXPECT_EQ(b.Apply(Delta(L2Side::kAsk, 101, 4)), 0);
  EXPECT_EQ(b.Apply(Delta(L2Side::kAsk, 105, 9)), 0);
  EXPECT_EQ(b.BestBid(), 100);
  EXPECT_EQ(b.BestAsk(), 101);
  EXPECT_EQ(b.Best(Side::kSell), (BookLevel{101, 4}));
  EXPECT_EQ(b.Depth(Side::kBuy), 3u);
  EXPECT_EQ(b.Level(Side::kBuy, 1), (BookLevel{99, 1}));
  EXPECT_EQ(b.Level(Side::kBuy, 2), (BookLevel{98, 7}));
  EXPECT_EQ(b.Level(Side::kBuy, 3), BookLevel{});
  EXPECT_EQ(b.Level(Side::kSell, 2), (BookLevel{105, 9}));
  // Replace returns the old quantity; 0 removes; removing a missing level is a no-op.
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 99, 6)), 1);
  EXPECT_EQ(b.QtyAt(Side::kBuy, 99), 6);
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 100, 0)), 5);
  EXPECT_EQ(b.BestBid(), 99);
  EXPECT_EQ(b.Apply(Delta(L2Side::kBid, 97, 0)), 0);
  EXPECT_EQ(b.Depth(Side::kBuy), 2u);
  EXPECT_EQ(b.QtyAt(Side::kBuy, 100), 0);
  EXPECT_EQ(b.QtyAt(Side::kSell, 99), 0);  // sides are separate
  std::array<BookLevel, 5> top;
  ASSERT_EQ(b.Top(Side::kSell, top), 3u);
  EXPECT_EQ(top[0], (BookLevel{101, 4}));
  EXPECT_EQ(top[1], (BookLevel{102, 3}));
  EXPECT_EQ(top[2], (BookLevel{105, 9}));
  std::array<BookLevel, 1> one;
  ASSERT_EQ(b.Top(Side::kBuy, one), 1u);
  EXPECT_EQ(one[0], (BookLevel{99, 6}));
}

TEST(OrderBook, KindsClearAndCrossing) {
  OrderBook b;
  b.Apply(Delta(L2Side::kBid, 100, 5));
  b.Apply(Delta(L2Side::kAsk, 101, 5));
  EXPECT_FALSE(b.IsCrossed());
  L2Event trade = Delta(L2Side::kBid, 101, 2);
  trade.kind = L2Kind::kTrade;
  EXPECT_EQ(b.Apply(trade), 0);
  L2Event quote = trade;
  quote.kind = L2Kind::kQuote;
  EXPECT_EQ(b.Apply(quote), 0);
  EXPECT_EQ(b.QtyAt(Side::kSell, 101), 5);  // trades and quotes leave the book alone
  // A bid at the ask crosses (locked counts): reported, not repaired.
  b.Apply(Delta(L2Side::kBid, 101, 1));
  EXPECT_TRUE(b.IsCrossed());
  b.Apply(Delta(L2Side::kBid, 101, 0));
  EXPECT_FALSE(b.IsCrossed());
  L2Event snap = Delta(L2Side::kAsk, 103, 8);
  snap.kind = L2Kind::kSnapshot;
  b.Apply(snap);
  L2Event clear;
  clear.kind = L2Kind::kClear;
  b.Apply(clear);
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.Apply(snap), 0);
  EXPECT_EQ(b.BestAsk(), 103);
  EXPECT_EQ(b.BestBid(), kNoPrice);
  EXPECT_FALSE(b.IsCrossed());  // one empty side is not crossed
}

TEST(OrderBook, NegativePricesAndNegativeQuantities) {
  OrderBook b;  // spreads and some futures trade below zero
  b.Set(Side::kBuy, -5, 2);
  b.Set(Side::kSell, -3, 1);
  b.Set(Side::kSell, -4, 1);
  EXPECT_EQ(b.BestBid(), -5);
  EXPECT_EQ(b.BestAsk(), -4);
  EXPECT_EQ(b.Set(Side::kSell, -4, -1), 1);  // <= 0 removes
  EXPECT_EQ(b.BestAsk(), -3);
}

// Random updates against two std::maps. The touch drifts (a random walk of several windows'
// width), so the small windows recentre often and deep levels live in the far map.
class OrderBookRandom : public ::testing::TestWithParam<int> {};

TEST_P(OrderBookRandom, MatchesMaps) {
  std::mt19937_64 rng(42 + GetParam());
  OrderBook b(GetParam());
  std::map<PriceTicks, Quantity, std::greater<>> bids;
  std::map<PriceTicks, Quantity> asks;
  PriceTicks mid = 100000;
  std::array<BookLevel, 8> top;
  for (int step = 0; step < 300000; ++step) {
    if (step % 50 == 0) mid += static_cast<PriceTicks>(rng() % 41) - 20;
    if (step == 150000) {  // a jump far beyond any window
      mid += 5'000'000;
    }
    const bool bid = rng() & 1;
    // Mostly near the touch, sometimes thousands of ticks deep.
    const auto dist = static_cast<PriceTicks>(rng() % 8 == 0 ? rng() % 5000 : rng() % 24);
    const PriceTicks p = bid ? mid - 1 - dist : mid + 1 + dist;
    const Quantity q = (rng() % 3 == 0) ? 0 : static_cast<Quantity>(1 + rng() % 50);
    const Quantity prev = b.Set(bid ? Side::kBuy : Side::kSell, p, q);
    Quantity want_prev = 0;
    auto apply = [&](auto& side) {
      const auto it = side.find(p);
      if (it != side.end()) want_prev = it->second;
      if (q > 0) {
        side[p] = q;
      } else {
        side.erase(p);
      }
    };
    if (bid) {
      apply(bids);
    } else {
      apply(asks);
    }
    ASSERT_EQ(prev, want_prev) << "step " << step;
    ASSERT_EQ(b.BestBid(), bids.empty() ? kNoPrice : bids.begin()->first) << "step " << step;
    ASSERT_EQ(b.BestAsk(), asks.empty() ? kNoPrice : asks.begin()->first) << "step " << step;
    ASSERT_EQ(b.IsCrossed(),
              !bids.empty() && !asks.empty() && bids.begin()->first >= asks.begin()->first);
    if (step % 997 == 0 || step == 150001) {
      ASSERT_EQ(b.Depth(Side::kBuy), bids.size());
      ASSERT_EQ(b.Depth(Side::kSell), asks.size());
      std::size_t i = 0;
      for (const auto& [price, qty] : bids) {
        ASSERT_EQ(b.Level(Side::kBuy, i++), (BookLevel{price, qty})) << "step " << step;
        if (i == 300) break;
      }
      i = 0;
      for (const auto& [price, qty] : asks) {
        ASSERT_EQ(b.Level(Side::kSell, i++), (BookLevel{price, qty})) << "step " << step;
        if (i == 300) break;
      }
      const std::size_t n = b.Top(Side::kBuy, top);
      ASSERT_EQ(n, std::min(top.size(), bids.size()));
      auto it = bids.begin();
      for (std::size_t k = 0; k < n; ++k, ++it)
        ASSERT_EQ(top[k], (BookLevel{it->first, it->second}));
      const PriceTicks probe = mid - static_cast<PriceTicks>(rng() % 5000);
      const auto f = bids.find(probe);
      ASSERT_EQ(b.QtyAt(Side::kBuy, probe), f == bids.end() ? 0 : f->second);
    }
    if (step == 250000) {  // a snapshot: cleared, rebuilt around the touch
      b.Clear();
      bids.clear();
      asks.clear();
      ASSERT_TRUE(b.empty());
      ASSERT_EQ(b.Level(Side::kSell, 0), BookLevel{});
    }
  }
  EXPECT_GT(b.Depth(Side::kBuy), 500u);
}

INSTANTIATE_TEST_SUITE_P(Windows, OrderBookRandom, ::testing::Values(10, 12, 16));

TEST(OrderBook, LevelsOnBothSidesOfTheWindow) {
  OrderBook b(10);              // 1,024 ticks
  b.Set(Side::kBuy, 5000, 1);   // anchors the window at [4488, 5512)
  b.Set(Side::kBuy, 100, 2);    // far below
  b.Set(Side::kSell, 9000, 3);  // far above: the ask side lives in the map only
  b.Set(Side::kSell, 5001, 4);
  EXPECT_EQ(b.BestAsk(), 5001);
  EXPECT_EQ(b.Level(Side::kSell, 1), (BookLevel{9000, 3}));
  EXPECT_EQ(b.Level(Side::kBuy, 1), (BookLevel{100, 2}));
  b.Set(Side::kSell, 5001, 0);
  EXPECT_EQ(b.BestAsk(), 9000);  // the best now lies outside; the spread is wider than W
  b.Set(Side::kBuy, 5000, 0);
  EXPECT_EQ(b.BestBid(), 100);
  EXPECT_EQ(b.Depth(Side::kBuy), 1u);
  EXPECT_EQ(b.QtyAt(Side::kSell, 9000), 3);
  b.Set(Side::kBuy, 8999, 5);  // recentres on (8999 + 9000) / 2
  EXPECT_EQ(b.BestBid(), 8999);
  EXPECT_EQ(b.Level(Side::kBuy, 1), (BookLevel{100, 2}));
  EXPECT_EQ(b.QtyAt(Side::kSell, 9000), 3);
  EXPECT_FALSE(b.IsCrossed());
  b.Set(Side::kBuy, 9000, 1);
  EXPECT_TRUE(b.IsCrossed());
}

// ---------------------------------------------------------------------------------------------
// hftbacktest's Binance captures: the book rebuilt from the snapshot and the diffs (Binance's
// sequencing rules, l2_io.h) against the exchange's own best bid/offer stream.

struct Capture {
  std::vector<std::string> files;
  double tick, size;
  std::size_t bbo_checks;  // bookTicker messages whose update id u ends an applied diff
};

fs::path CaptureFile(const std::string& rel) {
  return data::testing::SharedData() / "hftbacktest-l2" / "examples" / rel;
}

TEST(OrderBookSharedData, ReplayedBookMatchesBookTickerAndNeverCrosses) {
  QRAFT_REQUIRE_SHARED_DATA();
  // bbo_checks were counted independently (Python, decimal arithmetic) on the same files.
  const Capture captures[] = {
      {{"usdm/btcusdt_20230404.dat.gz", "usdm/btcusdt_20230405.dat.gz"}, 0.1, 0.001, 1565},
      {{"usdm/btcusdt_20240718.gz", "usdm/btcusdt_20240719.gz"}, 0.1, 0.001, 625},
      {{"cm/ethusd_perp_20240808.gz", "cm/ethusd_perp_20240809.gz"}, 0.01, 1, 2278},
      {{"spot/btcusdt_20240808.gz", "spot/btcusdt_20240809.gz"}, 0.01, 1e-8, 1072},
      {{"usdm/ethusdt_20240718.gz", "usdm/ethusdt_20240719.gz"}, 0.01, 0.001, 834},
      {{"usdm/btcusdt_20240808.gz"}, 0.1, 0.001, 629},
      {{"usdm/ethusdt_20240808.gz"}, 0.01, 0.001, 551},
      {{"cm/btcusd_perp_20240808.gz", "cm/btcusd_perp_20240809.gz"}, 0.1, 1, 1885},
      {{"spot/ethusdt_20240808.gz", "spot/ethusdt_20240809.gz"}, 0.01, 1e-8, 1056},
  };
  for (const Capture& c : captures) {
    SCOPED_TRACE(c.files[0]);
    data::io::L2ReadOptions o;
    o.tick_size = c.tick;
    o.size_increment = c.size;
    std::vector<fs::path> paths;
    for (const std::string& f : c.files)
      paths.push_back(CaptureFile(f));
    auto r = data::io::ReadBinanceCapture(paths, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();

    using Top = std::tuple<PriceTicks, Quantity, PriceTicks, Quantity>;
    std::unordered_map<std::int64_t, Top> after_diff;  // final update id -> top of book
    std::unordered_map<std::int64_t, Top> ticker;      // bookTicker u -> its best bid/offer
    OrderBook book;
    bool synced = false;
    std::size_t messages = 0, crossed = 0, one_sided = 0;
    Top bbo{};
    for (const L2Event& e : r->events) {
      if (e.kind == L2Kind::kQuote) {
        if (e.side == L2Side::kBid) {
          std::get<0>(bbo) = e.price, std::get<1>(bbo) = e.qty;
        } else {
          std::get<2>(bbo) = e.price, std::get<3>(bbo) = e.qty;
          ticker[e.seq] = bbo;
        }
        continue;
      }
      book.Apply(e);
      if (e.kind == L2Kind::kClear) synced = true;
      if (!synced || !(e.flags & data::io::kL2Last) || e.kind == L2Kind::kTrade) continue;
      // A message boundary: Binance says the book is consistent here.
      ++messages;
      crossed += book.IsCrossed();
      one_sided += book.Depth(Side::kBuy) == 0 || book.Depth(Side::kSell) == 0;
      if (e.kind == L2Kind::kDelta) {
        after_diff[e.seq] = {book.BestBid(), book.Best(Side::kBuy).qty, book.BestAsk(),
                             book.Best(Side::kSell).qty};
      }
    }
    EXPECT_EQ(messages, r->stats.snapshots + r->stats.diffs_applied);
    EXPECT_EQ(crossed, 0u);
    EXPECT_EQ(one_sided, 0u);
    std::size_t checked = 0, mismatched = 0;
    for (const auto& [u, top] : ticker) {
      const auto it = after_diff.find(u);
      if (it == after_diff.end()) continue;
      ++checked;
      if (it->second != top) {
        ++mismatched;
        ADD_FAILURE() << "u=" << u << ": book " << std::get<0>(it->second) << " x "
                      << std::get<1>(it->second) << " / " << std::get<2>(it->second) << " x "
                      << std::get<3>(it->second) << ", bookTicker " << std::get<0>(top) << " x "
                      << std::get<1>(top) << " / " << std::get<2>(top) << " x " << std::get<3>(top);
        if (mismatched > 5) break;
      }
    }
    EXPECT_EQ(checked, c.bbo_checks);
    EXPECT_EQ(mismatched, 0u);
  }
}

TEST(OrderBookSharedData, TardisSnapshotsAreUncrossed) {
  QRAFT_REQUIRE_SHARED_DATA();
  data::io::L2ReadOptions o;
  o.tick_size = 0.01;
  o.size_increment = 0.001;
  auto r = data::io::ReadTardisBookSnapshot(data::testing::SharedData() /
                                                "nautilus-testdata/tests/test_data/tardis" /
                                                "binance-futures_book_snapshot_25_BTCUSDT.csv",
                                            o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  OrderBook book;
  std::size_t rows = 0;
  for (const L2Event& e : r->events) {
    book.Apply(e);
    if (!(e.flags & data::io::kL2Last)) continue;
    ++rows;
    EXPECT_EQ(book.Depth(Side::kBuy), 25u);
    EXPECT_EQ(book.Depth(Side::kSell), 25u);
    EXPECT_LT(book.BestBid(), book.BestAsk());
  }
  EXPECT_EQ(rows, 10u);
  EXPECT_EQ(book.Best(Side::kBuy), (BookLevel{1165707, 10881}));  // the last row's bids[0]
}

}  // namespace
}  // namespace qraft::precise
