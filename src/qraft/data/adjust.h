// Corporate actions: adjustment factors and adjusted views.
//
// Snapshots store raw (unadjusted) prices. Corporate actions live in one field, `factor`, such
// that raw * factor is a continuous price series up to a constant per symbol:
//   * from split/dividend columns: the cumulative factor, 1 at the symbol's first bar, multiplied
//     at each ex-date by 1 / m with m = (dividend ratio) / (split ratio);
//       dividend ratio = 1 - D / C_prev          (CRSP/Yahoo convention, the default)
//                      = C_ex / (C_ex + D)       (Quandl WIKI convention, --dividend-method
//                      ex_close)
//   * from an adj_close column (Yahoo "Adj Close"): factor = adj_close / close;
//   * a factor column in the data (Qlib's $factor) is kept as it is.
// Views (Adjust):
//   none      raw prices;
//   forward   (前复权) prices * factor / factor[last bar]: the latest price is the real one;
//   backward  (后复权) prices * factor / factor[first bar]: the first price is the real one.
// Volume is divided by the same ratio (shares scale inversely to price), as Qlib does; amount
// (turnover in money) is unchanged. The normalising bar is the symbol's first/last bar in the
// whole snapshot, so any sub-range of a view agrees with the full view.
#pragma once

#include <string>
#include <string_view>

#include "qraft/core/panel.h"
#include "qraft/core/status.h"

namespace qraft::data {

enum class DividendMethod { kPrevClose, kExClose };
Result<DividendMethod> ParseDividendMethod(std::string_view name);

/// If the panel has split and/or dividend fields (or adj_close) and no factor field, returns the
/// panel with a `factor` field added and sets *note to what was done; otherwise returns it as is.
/// Errors: a dividend not below the previous close, a negative split ratio (symbol and date named).
Result<Panel> AddAdjustmentFactor(const Panel& raw, DividendMethod method, std::string* note);

enum class Adjust { kNone, kForward, kBackward };
/// "none"/"raw", "forward"/"qfq", "backward"/"hfq".
Result<Adjust> ParseAdjust(std::string_view name);
std::string_view AdjustName(Adjust a);

/// An adjusted copy of `panel` (fields other than prices and volume are shared, not copied).
/// kNone returns the panel itself. Errors when adjustment is asked for and there is no factor.
Result<Panel> ApplyAdjustment(const Panel& panel, Adjust adjust);

/// True for the fields that a price adjustment scales.
bool IsAdjustedPriceField(std::string_view field);

}  // namespace qraft::data
