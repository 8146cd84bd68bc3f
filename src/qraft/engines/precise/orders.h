// Orders of the precise engine: what a strategy may request, the state the engine keeps for each,
// the fills it reports and why it refuses.
//
// Order types (prices in ticks of the instrument, quantities in size increments):
//  * kMarket: fills at the next price the engine sees after it arrives (FillModel::market_fill
//    kLastPrice: at once, at the last price seen), as a taker, with slippage and impact.
//  * kLimit: buys at `limit` or below, sells at `limit` or above. A level the price is already
//    through when the order becomes eligible fills at that price (a gap, or marketable on
//    arrival: taker); a level the price crosses later fills at the limit (maker).
//  * kStopMarket: triggers when the price trades at or through `stop` (buy: >=, sell: <=), then
//    fills as a market order at the trigger price (at the gapped price when it opens through).
//  * kStopLimit: triggers as a stop, then rests as a limit order at `limit`.
//  * kMarketOnOpen / kMarketOnClose: fill at the opening price of the next trading day's first
//    bar / the closing price of the current trading day's last bar (which it must reach first).
//  * kTrailingStop: a sell (buy) stop that follows the best price seen since it became eligible at
//    `trail_fraction` (e.g. 0.05) or `trail_ticks` below (above) it; it never moves back.
//  * kTwap / kVwap: a parent order the engine slices into child market orders, one at the start
//    of each of the `algo_bars` bars after it arrives (the first is the next bar to open). TWAP
//    gives each remaining bar an equal share of what is left; VWAP a share proportional to the
//    bar's expected volume: the mean volume of the same bar of the day over the previous
//    `vwap_days` trading days (daily bars: the previous vwap_days bars), so no slice sees the
//    volume it trades against. Slices are whole lots (the last takes the rest). Retry: what a
//    child did not fill (rejected, cancelled, expired) goes back into what is left for the
//    following slices; after the window a final market child takes the rest (algo_finish) or
//    the parent ends cancelled. The parent's filled quantity and average price are its
//    children's; it ends filled when they have filled it all.
//  Time in force: kGtc (until filled or cancelled), kDay (until the end of the trading day on
//  which it becomes eligible), kIoc (the first eligible price only; the rest is cancelled), kFok
//  (all at the first eligible price, or nothing).
//  `display` > 0 makes an iceberg: at most `display` fills per price point (bars) and only the
//  displayed part joins a book queue (L2). `reduce_only` orders can only shrink a position. An
//  order with `oco` != 0 cancels the other working orders of the same group when it fills.
//  A bracket is an entry with `take_profit` and/or `stop_loss` prices: when the entry has filled,
//  the engine submits the exit(s) for the filled quantity as one OCO group.
//  `notional` > 0 (market buys only) sizes the order at its fill price: the largest whole number
//  of lots whose value plus fees fits `notional` (an exchange's quote-quantity order; the fast
//  engine's all-cash buys). `target_value` >= 0 (market orders) sizes it at its fill's market
//  price p toward a position worth target_value: target = Lots(target_value / p) (whole lots,
//  rounded down), and the order trades target - position in its side's direction, a buy at
//  most what the cash pays (nothing to trade: it ends cancelled). With `any_side` the order
//  trades whichever way the target needs (its side is then set at the fill); a trade worth at
//  most `min_notional` at the market price is dropped (it ends cancelled), unless it closes the
//  whole position. The fast engine's target weights are traded this way.
//  `cash_share` in (0, 1] (market, market-on-open and market-on-close buys) sizes the order at
//  its fill to Lots(cash_share x C / p): C is the cash when the buys of its price point start
//  (after that point's sells), p the market price, fees on top; what the cash cannot pay is cut.
//  Qlib's TopkDropout buys are sized so: value = cash after the sells x risk_degree / number of
//  buys.
//  `turnover_max` > 0 on the target-value orders of one rebalance is the weights engine's
//  turnover budget: when they first meet a price point, needed = max(value bought, value sold) /
//  turnover_equity over all of them at that point's prices, and when needed > turnover_max every
//  order's change toward its target becomes Lots(|change| x turnover_max / needed).
//  `short_budget` >= 0 (market sells) is vectorbt's "sell all": at its fill price a (spread
//  included), the order sells the long position L and shorts y = Lots((short_budget +
//  L a (1 - r)) / (a (1 + r))) more, r the proportional sell fees (fees.h SellRate): the free cash
//  and the long's net proceeds pay for the short's margin. When a minimum or per-unit commission
//  makes the sale's fees exceed r x value, y is the largest number of lots with short_budget +
//  L a - y a - fees((L + y) a) >= 0. Signal strategies open and reverse shorts this way.
//
// Thread-safety: plain values.
#pragma once

#include <cstdint>
#include <string_view>

#include "qraft/core/time.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

using OrderId = std::int64_t;  ///< 1, 2, ... in submission order within a run; 0 = none

enum class OrderType : std::uint8_t {
  kMarket,
  kLimit,
  kStopMarket,
  kStopLimit,
  kMarketOnOpen,
  kMarketOnClose,
  kTrailingStop,
  kTwap,  ///< execution algorithm: slices over algo_bars bars, equal shares
  kVwap,  ///< execution algorithm: slices over algo_bars bars, by the expected volume profile
};
enum class TimeInForce : std::uint8_t { kGtc, kDay, kIoc, kFok };

enum class OrderStatus : std::uint8_t {
  kPending,    ///< sent, not yet arrived (insert latency)
  kWorking,    ///< arrived, may fill
  kFilled,     ///< fully filled
  kCancelled,  ///< cancelled by the strategy, by OCO, by time in force, or after a partial fill
  kRejected,   ///< refused; see reject
};

/// Why the engine refused an order or the rest of one. Stable names: RejectReasonName.
enum class RejectReason : std::uint8_t {
  kNone,
  kInvalid,             ///< quantity <= 0, missing or off-grid price, unknown instrument
  kLotSize,             ///< not a whole number of lots (selling a whole position is allowed)
  kInsufficientCash,    ///< a buy's value and fees exceed the cash (cash accounts)
  kInsufficientMargin,  ///< the initial margin exceeds the free equity (margin accounts)
  kNoPosition,          ///< a sell beyond the position in an account that cannot short
  kNotSellableT1,       ///< shares bought today cannot be sold until the next trading day (T+1)
  kPriceLimit,          ///< blocked by the daily price limit (buy at limit-up, sell at limit-down)
  kSuspended,           ///< no trading on the bar the order met (no price or no volume)
  kReduceOnly,          ///< a reduce-only order that would not reduce the position
  kExchange,            ///< refused by the exchange (an injected reject, stress scenarios)
};
std::string_view RejectReasonName(RejectReason r);
std::string_view OrderTypeName(OrderType t);
std::string_view TimeInForceName(TimeInForce t);
std::string_view OrderStatusName(OrderStatus s);

/// What a strategy asks for.
struct OrderRequest {
  std::int32_t instrument = 0;  ///< index into the engine's instruments
  Side side = Side::kBuy;
  OrderType type = OrderType::kMarket;
  TimeInForce tif = TimeInForce::kGtc;
  Quantity quantity = 0;     ///< increments; 0 with notional > 0
  double notional = 0;       ///< market buys: money to spend, fees included (see the file comment)
  double target_value = -1;  ///< >= 0: market orders trading toward a position worth this much
  bool any_side = false;     ///< target_value orders: trade whichever way the target needs
  double min_notional = 0;   ///< target_value orders worth at most this are dropped (dust)
  double cash_share = 0;     ///< (0, 1]: market(-on-open/close) buys spending this share of cash
  double short_budget = -1;  ///< >= 0: a market sell of the long plus the short this pays for
  /// > 0 (target_value orders of one rebalance): the one-sided turnover budget, a fraction of
  /// turnover_equity (see the file comment).
  double turnover_max = 0, turnover_equity = 0;
  std::int32_t algo_bars = 0;   ///< kTwap / kVwap: the window, in bars (>= 1)
  std::int32_t vwap_days = 20;  ///< kVwap: days of volume history for the profile
  bool algo_finish = true;      ///< kTwap / kVwap: a final market child takes what is left
  PriceTicks limit = kNoPrice, stop = kNoPrice;
  double trail_fraction = 0;   ///< kTrailingStop: distance as a fraction of the best price
  PriceTicks trail_ticks = 0;  ///< kTrailingStop: distance in ticks (when trail_fraction is 0)
  Quantity display = 0;        ///< iceberg display quantity; 0 = all shown
  bool reduce_only = false;
  std::int64_t oco = 0;                                     ///< OCO group; 0 = none
  PriceTicks take_profit = kNoPrice, stop_loss = kNoPrice;  ///< bracket exits
  std::int64_t tag = 0;  ///< the strategy's own label, echoed in the logs
};

/// The engine's record of an order (the order log).
struct Order {
  OrderId id = 0;
  OrderRequest request;
  OrderStatus status = OrderStatus::kPending;
  RejectReason reject = RejectReason::kNone;
  Timestamp submitted = 0, arrived = kNoTimestamp, done = kNoTimestamp;
  Quantity filled = 0;
  double avg_price = 0;              ///< average fill price (money per unit, slippage included)
  double fees = 0;                   ///< fees of its fills
  bool triggered = false;            ///< stops: the trigger has fired
  PriceTicks trail_best = kNoPrice;  ///< trailing stops: best price seen
  OrderId parent = 0;  ///< bracket exits: their entry; algorithm children: their parent
};

/// One fill (the fill log). Money in the account currency.
struct Fill {
  OrderId order = 0;
  std::int32_t instrument = 0;
  Timestamp time = 0;
  Side side = Side::kBuy;
  Liquidity liquidity = Liquidity::kTaker;
  Quantity quantity = 0;
  PriceTicks market_price = 0;  ///< the path or book price the fill happened at
  double price = 0;             ///< fill price per unit, slippage and impact included
  double commission = 0, stamp_duty = 0, transfer_fee = 0, exchange_fee = 0;
  double slippage_cost = 0;  ///< |price - market price| x units x multiplier (already in price)
  double Fees() const { return commission + stamp_duty + transfer_fee + exchange_fee; }
};

}  // namespace qraft::precise
