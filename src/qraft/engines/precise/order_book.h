// An L2 (market-by-price) order book rebuilt from data::io::L2Event streams: price levels and
// their total quantity per side, no individual orders.
//
// Layout: a dense window of 2^window_log2 ticks shared by both sides, [base, base + W), holding
// per side the quantity at each tick plus a two-level occupancy bitmap (one bit a tick, one bit a
// 64-tick word); levels outside the window sit in an ordered map per side. An update inside the
// window is an array store and a bit flip; when the best level empties, the next one is found by
// scanning the bitmap (64 ticks per word, 4,096 per summary word). The window recentres on the
// mid when a side's best leaves it. Why: Binance's diffs touch levels hundreds deep (on the
// 2024-08-08 BTCUSDT perpetual capture the median update lands ~230 levels from the best and 16%
// 1,000+ deep), so a sorted vector with the best at the back pays a long memmove per insert or
// erase: it replayed hftbacktest's captures at 16M updates/s, a std::map at 18M, this layout at
// ~95M (bench/l2_bench.cc; docs/data.md). With the default W = 2^16 a book takes about 1 MB,
// allocated at the first level; 2^18 is ~12% faster at 4 MB, 2^12 half as fast.
//
// Contract: prices are ticks, quantities size increments (data::io::L2Event's fixed point). A
// level with quantity <= 0 does not exist: setting it removes the level, and removing a level that
// is not there is a no-op (Binance documents such removals as normal). The book never rejects an
// update: a crossed book (best bid >= best ask) is reported by IsCrossed(), not repaired, because
// which side is stale is the data's question (on Binance diffs applied by the sequencing rules it
// never happens at a message boundary).
//
// Costs: Apply/Set/QtyAt O(1) inside the window (a map operation outside); Best O(1); Level(i)
// and Top(n) walk the bitmap from the best; Clear is O(W/64 + levels).
//
// Thread-safety: a value type; concurrent const use is safe, mutation needs exclusive access.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <vector>

#include "qraft/data/io/l2_io.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct BookLevel {
  PriceTicks price = kNoPrice;
  Quantity qty = 0;
  bool operator==(const BookLevel&) const = default;
};

class OrderBook {
 public:
  /// `window_log2` (10..24) sets the dense window to 2^window_log2 ticks; wider windows keep more
  /// far levels out of the map at 16 bytes a tick. Out-of-range values are clamped.
  explicit OrderBook(int window_log2 = 16);

  /// Applies one event: kDelta and kSnapshot set the level (side, price) to qty, kClear empties
  /// both sides, kTrade and kQuote leave the book alone. Returns the level's quantity before the
  /// event (0 when it had none, and for kinds other than kDelta/kSnapshot), which is what queue
  /// models need (queue_model.h).
  Quantity Apply(const data::io::L2Event& e) {
    if (e.kind == data::io::L2Kind::kDelta || e.kind == data::io::L2Kind::kSnapshot) {
      return Set(static_cast<Side>(e.side), e.price, e.qty);
    }
    if (e.kind == data::io::L2Kind::kClear) Clear();
    return 0;
  }

  /// Sets the quantity at `price` (<= 0 removes the level); returns the quantity it had.
  Quantity Set(Side side, PriceTicks price, Quantity qty);

  /// Removes every level of both sides (the window stays allocated).
  void Clear();

  /// Best price of a side; kNoPrice when the side is empty.
  PriceTicks BestBid() const { return sides_[0].best; }
  PriceTicks BestAsk() const { return sides_[1].best; }
  PriceTicks BestPrice(Side side) const { return sides_[Index(side)].best; }
  /// The best level, {kNoPrice, 0} when the side is empty.
  BookLevel Best(Side side) const {
    const PriceTicks p = BestPrice(side);
    return p == kNoPrice ? BookLevel{} : BookLevel{p, QtyAt(side, p)};
  }

  /// The quantity resting at `price`; 0 when there is no such level.
  Quantity QtyAt(Side side, PriceTicks price) const;

  /// Number of levels on a side.
  std::size_t Depth(Side side) const { return sides_[Index(side)].count; }

  /// The i-th best level (0 = best); {kNoPrice, 0} when the side has i levels or fewer.
  BookLevel Level(Side side, std::size_t i) const;

  /// Copies up to out.size() best levels, best first; returns how many were copied.
  std::size_t Top(Side side, std::span<BookLevel> out) const;

  /// Both sides non-empty and best bid >= best ask.
  bool IsCrossed() const {
    return sides_[0].best != kNoPrice && sides_[1].best != kNoPrice &&
           sides_[0].best >= sides_[1].best;
  }

  bool empty() const { return sides_[0].count == 0 && sides_[1].count == 0; }

 private:
  struct Book {
    std::vector<Quantity> qty;           // W ticks from base_
    std::vector<std::uint64_t> bits;     // W / 64: a level at the tick
    std::vector<std::uint64_t> words;    // W / 4096: bits[k] != 0
    std::map<PriceTicks, Quantity> far;  // levels outside the window
    std::size_t count = 0;
    PriceTicks best = kNoPrice;
  };
  static std::size_t Index(Side side) { return side == Side::kBuy ? 0 : 1; }
  /// True when a is a better price than b on `side` (anything beats kNoPrice).
  static bool Better(Side side, PriceTicks a, PriceTicks b) {
    return b == kNoPrice || (side == Side::kBuy ? a > b : a < b);
  }
  bool InWindow(PriceTicks p) const {
    return base_ != kNoPrice && p >= base_ && p - base_ < static_cast<PriceTicks>(width_);
  }

  void Allocate(PriceTicks center);
  void SetBit(Book& b, std::size_t off);
  void ClearBit(Book& b, std::size_t off);
  /// The best level of the window strictly beyond `off` in the side's worse direction
  /// (bids: below off, asks: above off); -1 when none. off may be -1 or W (the window's ends).
  std::int64_t ScanWorse(const Book& b, Side side, std::int64_t off) const;
  /// Recomputes a side's best from scratch (window and map).
  PriceTicks FindBest(Side side) const;
  /// Moves the window so that both bests lie in it, when they do not and it would move by at
  /// least W/8 (so that a book wider than the window does not recentre on every update).
  void MaybeRecenter();
  /// Calls f(price, qty) for the side's levels from the best, until f returns false.
  template <class F>
  void Walk(Side side, F&& f) const;

  int log2_;
  std::size_t width_;
  PriceTicks base_ = kNoPrice;
  Book sides_[2];
};

static_assert(static_cast<Side>(data::io::L2Side::kBid) == Side::kBuy &&
                  static_cast<Side>(data::io::L2Side::kAsk) == Side::kSell,
              "L2Side and Side must number the sides alike");

}  // namespace qraft::precise
