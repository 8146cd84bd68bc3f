// The intrabar path a bar is replayed as: open, the extreme nearer the open, the other extreme,
// close. Ordering the extremes by proximity to the open (the low first on a tie, as NautilusTrader
// 1.221 does) is the usual adaptive choice (its bar_adaptive_high_low_ordering): a bar that opens
// near its low more likely visited the low first. Each point carries a quarter of the bar's volume
// (the remainder of the division goes to the close), so participation caps apply per point.
//
// Thread-safety: pure functions.
#pragma once

#include <array>

#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct PathPoint {
  PriceTicks price = 0;
  Quantity volume = 0;  ///< size increments traded at this point
};

/// The path of a bar with prices in money per unit and volume in units, rounded to the
/// instrument's ticks (nearest) and increments (down). REQUIRES: finite prices.
std::array<PathPoint, 4> BarPath(const Instrument& instrument, double open, double high, double low,
                                 double close, double volume);

}  // namespace qraft::precise
