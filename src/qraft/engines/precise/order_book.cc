#include "qraft/engines/precise/order_book.h"

#include <algorithm>
#include <bit>
#include <utility>

namespace qraft::precise {

OrderBook::OrderBook(int window_log2)
    : log2_(std::clamp(window_log2, 10, 24)), width_(std::size_t{1} << log2_) {}

void OrderBook::Allocate(PriceTicks center) {
  if (sides_[0].qty.empty()) {
    for (Book& b : sides_) {
      b.qty.assign(width_, 0);
      b.bits.assign(width_ / 64, 0);
      b.words.assign((width_ / 64 + 63) / 64, 0);
    }
  }
  base_ = center - static_cast<PriceTicks>(width_ / 2);
}

void OrderBook::SetBit(Book& b, std::size_t off) {
  const std::size_t w = off >> 6;
  b.bits[w] |= std::uint64_t{1} << (off & 63);
  b.words[w >> 6] |= std::uint64_t{1} << (w & 63);
}

void OrderBook::ClearBit(Book& b, std::size_t off) {
  const std::size_t w = off >> 6;
  b.bits[w] &= ~(std::uint64_t{1} << (off & 63));
  if (b.bits[w] == 0) b.words[w >> 6] &= ~(std::uint64_t{1} << (w & 63));
}

std::int64_t OrderBook::ScanWorse(const Book& b, Side side, std::int64_t off) const {
  const auto n_bits = static_cast<std::int64_t>(b.bits.size());
  const auto n_words = static_cast<std::int64_t>(b.words.size());
  if (side == Side::kBuy) {  // the highest level below off
    if (off <= 0) return -1;
    const std::int64_t i = off - 1;
    std::int64_t w = i >> 6;
    const std::uint64_t m = b.bits[w] & (~std::uint64_t{0} >> (63 - (i & 63)));
    if (m != 0) return w * 64 + 63 - std::countl_zero(m);
    if (w == 0) return -1;
    --w;
    std::int64_t s = w >> 6;
    std::uint64_t sm = b.words[s] & (~std::uint64_t{0} >> (63 - (w & 63)));
    while (sm == 0) {
      if (s == 0) return -1;
      sm = b.words[--s];
    }
    w = s * 64 + 63 - std::countl_zero(sm);
    return w * 64 + 63 - std::countl_zero(b.bits[w]);
  }
  // The lowest level above off.
  const std::int64_t i = off + 1;
  if (i >= n_bits * 64) return -1;
  std::int64_t w = i >> 6;
  const std::uint64_t m = b.bits[w] & (~std::uint64_t{0} << (i & 63));
  if (m != 0) return w * 64 + std::countr_zero(m);
  if (++w >= n_bits) return -1;
  std::int64_t s = w >> 6;
  std::uint64_t sm = b.words[s] & (~std::uint64_t{0} << (w & 63));
  while (sm == 0) {
    if (++s >= n_words) return -1;
    sm = b.words[s];
  }
  w = s * 64 + std::countr_zero(sm);
  return w * 64 + std::countr_zero(b.bits[w]);
}

PriceTicks OrderBook::FindBest(Side side) const {
  const Book& b = sides_[Index(side)];
  PriceTicks best = kNoPrice;
  if (base_ != kNoPrice) {
    const std::int64_t off =
        ScanWorse(b, side, side == Side::kBuy ? static_cast<std::int64_t>(width_) : -1);
    if (off >= 0) best = base_ + off;
  }
  if (!b.far.empty()) {
    const PriceTicks f = side == Side::kBuy ? b.far.rbegin()->first : b.far.begin()->first;
    if (Better(side, f, best)) best = f;
  }
  return best;
}

Quantity OrderBook::Set(Side side, PriceTicks price, Quantity qty) {
  Book& b = sides_[Index(side)];
  if (base_ == kNoPrice) {
    if (qty <= 0) return 0;
    Allocate(price);  // the first level after construction or Clear anchors the window
  }
  if (InWindow(price)) {
    const auto off = static_cast<std::size_t>(price - base_);
    const Quantity prev = b.qty[off];
    if (qty > 0) {
      b.qty[off] = qty;
      if (prev == 0) {
        SetBit(b, off);
        ++b.count;
        if (Better(side, price, b.best)) b.best = price;
      }
      return prev;
    }
    if (prev == 0) return 0;
    b.qty[off] = 0;
    ClearBit(b, off);
    --b.count;
    if (price == b.best) {
      // Nothing in the map is better than a best inside the window, so the next level is the
      // window's next one, or the map's best when the window side is empty.
      const std::int64_t next = ScanWorse(b, side, static_cast<std::int64_t>(off));
      PriceTicks best = next >= 0 ? base_ + next : kNoPrice;
      if (!b.far.empty()) {
        const PriceTicks f = side == Side::kBuy ? b.far.rbegin()->first : b.far.begin()->first;
        if (Better(side, f, best)) best = f;
      }
      b.best = best;
      if (best != kNoPrice && !InWindow(best)) MaybeRecenter();
    }
    return prev;
  }
  // Outside the window.
  const auto it = b.far.find(price);
  const Quantity prev = it == b.far.end() ? 0 : it->second;
  if (qty > 0) {
    if (prev != 0) {
      it->second = qty;
      return prev;
    }
    b.far.emplace_hint(it, price, qty);
    ++b.count;
    if (Better(side, price, b.best)) {
      b.best = price;
      MaybeRecenter();
    }
    return prev;
  }
  if (prev == 0) return 0;
  b.far.erase(it);
  --b.count;
  if (price == b.best) {
    b.best = FindBest(side);
    if (b.best != kNoPrice && !InWindow(b.best)) MaybeRecenter();
  }
  return prev;
}

void OrderBook::MaybeRecenter() {
  const PriceTicks bid = sides_[0].best, ask = sides_[1].best;
  const bool out = (bid != kNoPrice && !InWindow(bid)) || (ask != kNoPrice && !InWindow(ask));
  if (!out) return;
  const PriceTicks center =
      bid != kNoPrice && ask != kNoPrice ? bid + (ask - bid) / 2 : (bid != kNoPrice ? bid : ask);
  const PriceTicks new_base = center - static_cast<PriceTicks>(width_ / 2);
  const PriceTicks move = new_base > base_ ? new_base - base_ : base_ - new_base;
  if (move < static_cast<PriceTicks>(width_ / 8)) return;
  for (Book& b : sides_) {
    // Window levels join the map, then everything is dealt out again around the new base.
    for (std::size_t w = 0; w < b.bits.size(); ++w) {
      for (std::uint64_t m = b.bits[w]; m != 0; m &= m - 1) {
        const std::size_t off = w * 64 + static_cast<std::size_t>(std::countr_zero(m));
        b.far.emplace(base_ + static_cast<PriceTicks>(off), b.qty[off]);
        b.qty[off] = 0;
      }
      b.bits[w] = 0;
    }
    std::fill(b.words.begin(), b.words.end(), 0);
  }
  base_ = new_base;
  for (Book& b : sides_) {
    for (auto it = b.far.lower_bound(base_); it != b.far.end() && InWindow(it->first);) {
      const auto off = static_cast<std::size_t>(it->first - base_);
      b.qty[off] = it->second;
      SetBit(b, off);
      it = b.far.erase(it);
    }
  }
}

void OrderBook::Clear() {
  for (Book& b : sides_) {
    for (std::size_t w = 0; w < b.bits.size(); ++w) {
      for (std::uint64_t m = b.bits[w]; m != 0; m &= m - 1) {
        b.qty[w * 64 + static_cast<std::size_t>(std::countr_zero(m))] = 0;
      }
      b.bits[w] = 0;
    }
    std::fill(b.words.begin(), b.words.end(), 0);
    b.far.clear();
    b.count = 0;
    b.best = kNoPrice;
  }
  base_ = kNoPrice;
}

Quantity OrderBook::QtyAt(Side side, PriceTicks price) const {
  const Book& b = sides_[Index(side)];
  if (InWindow(price)) return b.qty[static_cast<std::size_t>(price - base_)];
  const auto it = b.far.find(price);
  return it == b.far.end() ? 0 : it->second;
}

template <class F>
void OrderBook::Walk(Side side, F&& f) const {
  const Book& b = sides_[Index(side)];
  if (b.count == 0 || base_ == kNoPrice) return;
  const auto& far = b.far;
  const PriceTicks top = base_ + static_cast<PriceTicks>(width_);
  if (side == Side::kBuy) {
    // Map levels above the window, the window from its top down, map levels below it.
    const auto above = far.lower_bound(top);
    for (auto it = far.end(); it != above;) {
      --it;
      if (!f(it->first, it->second)) return;
    }
    for (std::int64_t off = ScanWorse(b, side, static_cast<std::int64_t>(width_)); off >= 0;
         off = ScanWorse(b, side, off)) {
      if (!f(base_ + off, b.qty[static_cast<std::size_t>(off)])) return;
    }
    for (auto it = far.lower_bound(base_); it != far.begin();) {
      --it;
      if (!f(it->first, it->second)) return;
    }
    return;
  }
  const auto below = far.lower_bound(base_);
  for (auto it = far.begin(); it != below; ++it) {
    if (!f(it->first, it->second)) return;
  }
  for (std::int64_t off = ScanWorse(b, side, -1); off >= 0; off = ScanWorse(b, side, off)) {
    if (!f(base_ + off, b.qty[static_cast<std::size_t>(off)])) return;
  }
  for (auto it = far.lower_bound(top); it != far.end(); ++it) {
    if (!f(it->first, it->second)) return;
  }
}

BookLevel OrderBook::Level(Side side, std::size_t i) const {
  BookLevel out;
  std::size_t k = 0;
  Walk(side, [&](PriceTicks p, Quantity q) {
    if (k++ < i) return true;
    out = {p, q};
    return false;
  });
  return out;
}

std::size_t OrderBook::Top(Side side, std::span<BookLevel> out) const {
  std::size_t n = 0;
  if (out.empty()) return 0;
  Walk(side, [&](PriceTicks p, Quantity q) {
    out[n++] = {p, q};
    return n < out.size();
  });
  return n;
}

}  // namespace qraft::precise
