// Vocabulary of the precise engine ("精撮"): fixed-point prices and quantities, sides, liquidity,
// and the instrument that converts between them and money.
//
// Prices are whole ticks and quantities whole size increments (int64), so matching, queue
// positions and price-limit checks are exact integer comparisons; money (cash, fees, equity) is a
// double in the account currency. An instrument's price p (ticks) and quantity q (increments)
// are worth p x tick_size x q x size_increment x multiplier.
//
// Thread-safety: plain values.
#pragma once

#include <cmath>
#include <cstdint>
#include <limits>
#include <string>

namespace qraft::precise {

using PriceTicks = std::int64_t;  ///< a price in ticks of the instrument
using Quantity = std::int64_t;    ///< a quantity in size increments of the instrument

/// "No price": an order without a limit or stop, a side of an empty book, a bar without a limit.
inline constexpr PriceTicks kNoPrice = std::numeric_limits<PriceTicks>::min();

enum class Side : std::uint8_t { kBuy, kSell };
/// Maker: the fill rested on the book (a limit order hit later); taker: it crossed.
enum class Liquidity : std::uint8_t { kTaker, kMaker };

constexpr int SideSign(Side s) {
  return s == Side::kBuy ? 1 : -1;
}
constexpr Side Opposite(Side s) {
  return s == Side::kBuy ? Side::kSell : Side::kBuy;
}

struct Instrument {
  std::string symbol;
  double tick_size = 0.01;    ///< price increment (CNY 0.01 for A-shares, USD 0.01 US stocks)
  double size_increment = 1;  ///< quantity increment (1 share, 0.001 BTC)
  Quantity lot = 1;           ///< orders are whole multiples of this many increments (100)
  double multiplier = 1;      ///< money per unit of price x quantity (futures contracts)

  /// Nearest tick to `price` (ties away from zero); prices are validated finite upstream.
  PriceTicks ToTicks(double price) const { return std::llround(price / tick_size); }
  /// Ticks at or below / at or above `price` (a buy limit rounds down, a sell limit up).
  PriceTicks FloorTicks(double price) const {
    return static_cast<PriceTicks>(std::floor(price / tick_size + 1e-9));
  }
  PriceTicks CeilTicks(double price) const {
    return static_cast<PriceTicks>(std::ceil(price / tick_size - 1e-9));
  }
  double Price(PriceTicks p) const { return static_cast<double>(p) * tick_size; }
  double Units(Quantity q) const { return static_cast<double>(q) * size_increment; }
  /// Money value of q at p.
  double Notional(PriceTicks p, Quantity q) const { return Price(p) * Units(q) * multiplier; }
};

}  // namespace qraft::precise
