#include "qraft/engines/precise/bar_path.h"

#include <algorithm>
#include <cmath>

namespace qraft::precise {

std::array<PathPoint, 4> BarPath(const Instrument& instrument, double open, double high, double low,
                                 double close, double volume) {
  const PriceTicks o = instrument.ToTicks(open), c = instrument.ToTicks(close);
  // Bars whose high/low do not bracket the open and close (rounded or inconsistent data) are
  // widened so that the path never leaves its own range.
  const PriceTicks h = std::max({instrument.ToTicks(high), o, c});
  const PriceTicks l = std::min({instrument.ToTicks(low), o, c});
  const bool high_first = h - o < o - l;  // a tie visits the low first (NautilusTrader 1.221)
  const Quantity v =
      std::isfinite(volume) && volume > 0
          ? static_cast<Quantity>(std::floor(volume / instrument.size_increment + 1e-9))
          : 0;
  const Quantity quarter = v / 4;
  return {PathPoint{o, quarter}, PathPoint{high_first ? h : l, quarter},
          PathPoint{high_first ? l : h, quarter}, PathPoint{c, v - 3 * quarter}};
}

}  // namespace qraft::precise
