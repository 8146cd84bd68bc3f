// The fill model: where an order meets the price path, how much it may take and at what price.
//
// Levels on a path segment (the price moving from `from` to `to`, both in ticks). A segment is
// "fresh" when the order could not have traded before `to`: at a bar's open (a gap from the last
// close) and at the first point after the order arrived. Then only `to` counts, and an order
// already through its level trades at `to` (a taker: the gap or a marketable order). Otherwise
// the price moved continuously from `from` to `to` and a level it crosses is met exactly at the
// level (backtrader's and NautilusTrader's bar rules; see docs/precise.md):
//  * limit buy L:  fresh: to <= L -> at to;  else min(from, to) <= L -> at L (a maker fill);
//    limit sell mirrored (to >= L; max(from, to) >= L).
//  * stop buy S:   fresh: to >= S -> triggers at to;  else max(from, to) >= S -> at S;
//    stop sell mirrored. A triggered stop-market fills at the trigger price as a taker.
// Quantities: an order takes at most `participation` x the point's volume per point (0 = no cap;
// the rest waits for later points: partial fills). Prices: taker fills pay half the spread and
// the impact alpha x (quantity / bar volume)^beta as a fraction of the market price (zero volume
// with impact: no impact term, as the fast engine); maker fills trade at the level itself.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <cmath>

#include "qraft/engines/precise/orders.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct FillModel {
  enum class MarketFill : std::uint8_t {
    kNextPrice,  ///< at the first path point after arrival (backtrader: the next bar's open)
    kLastPrice,  ///< at once, at the last price seen (NautilusTrader with bars; close fills)
    /// At the first bar they meet, at that bar's volume-weighted average price (BarSeries::vwap,
    /// a data field): an order worked over the bar, the fast engine's vwap execution.
    kBarVwap,
  };
  MarketFill market_fill = MarketFill::kNextPrice;
  double participation = 0;  ///< max share of a point's volume per order; 0 = no cap
  double half_spread = 0;    ///< fraction of the price, per taker fill
  double impact_alpha = 0, impact_beta = 0.5;

  /// Fill price per unit of a taker fill of `units` at market price `p` (money per unit).
  double TakerPrice(Side side, double p, double units, double bar_volume) const {
    double k = half_spread;
    if (impact_alpha > 0 && bar_volume > 0)
      k += impact_alpha * std::pow(units / bar_volume, impact_beta);
    return side == Side::kBuy ? p * (1 + k) : p * std::max(0.0, 1 - k);
  }
  /// The most an order may take at a point with `volume` increments (no cap: everything).
  Quantity Cap(Quantity volume, Quantity remaining) const {
    if (participation <= 0) return remaining;
    const auto cap = static_cast<Quantity>(std::floor(participation * static_cast<double>(volume)));
    return std::min(cap, remaining);
  }
};

/// Where a limit order at `limit` fills on the segment, or kNoPrice.
inline PriceTicks LimitFill(Side side, PriceTicks limit, PriceTicks from, PriceTicks to,
                            bool fresh) {
  if (side == Side::kBuy) {
    if (fresh) return to <= limit ? to : kNoPrice;
    return std::min(from, to) <= limit ? limit : kNoPrice;
  }
  if (fresh) return to >= limit ? to : kNoPrice;
  return std::max(from, to) >= limit ? limit : kNoPrice;
}

/// Where a stop at `stop` triggers on the segment, or kNoPrice.
inline PriceTicks StopTrigger(Side side, PriceTicks stop, PriceTicks from, PriceTicks to,
                              bool fresh) {
  if (side == Side::kBuy) {
    if (fresh) return to >= stop ? to : kNoPrice;
    return std::max(from, to) >= stop ? std::max(stop, std::min(from, to)) : kNoPrice;
  }
  if (fresh) return to <= stop ? to : kNoPrice;
  return std::min(from, to) <= stop ? std::min(stop, std::max(from, to)) : kNoPrice;
}

}  // namespace qraft::precise
