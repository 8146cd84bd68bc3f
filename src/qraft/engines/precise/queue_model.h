// Queue position of our own resting limit order inside one L2 price level, estimated from the
// level's published quantity and the trades at its price (market-by-price feeds do not say where
// an order sits, so the position is a model).
//
// State (QueuePosition): `ahead`, the quantity estimated in front of us; `remaining`, our unfilled
// quantity; `traded`, the trade quantity seen at the level since its last quantity change. Our
// order is virtual: the published level quantity never includes it.
//
//   Place(Q, our)     ahead = Q, the level's quantity when the order arrives (back of the queue).
//   OnTrade(t)        trades at our price eat the queue from the front:
//                       fill  = min(remaining, floor(t - ahead))  when t > ahead, else 0
//                       ahead = max(ahead - t, 0);  remaining -= fill;  traded += t
//                     returns fill.
//   OnLevelChange(prev, next)   the published quantity went prev -> next:
//     RiskAverse      ahead = min(ahead, next). Cancels are assumed to come from behind us; the
//                     clamp only says nobody can be ahead of us who is not in the book.
//     PowerProb(n)    the part of the decrease that trades do not explain,
//                       chg = (prev - next) - traded            (traded is then reset to 0)
//                     is split between the queue ahead (a = ahead) and behind it
//                     (b = max(prev - traded - a, 0), the level net of the trades) with f(x) = x^n:
//                     p = f(b) / (f(a) + f(b)) is the probability that a cancel came from behind,
//                     and
//                       ahead' = a - (1 - p) chg + min(b - p chg, 0)
//                     (the second term: what the behind part cannot absorb comes from ahead);
//                     then ahead = clamp(ahead', 0, next). When chg <= 0 (the level grew, or
//                     trades explain the whole decrease) ahead = min(ahead, next).
//
// These are hftbacktest's RiskAdverseQueueModel and ProbQueueModel with PowerProbQueueFunc
// (nkaz001/hftbacktest, src/backtest/models/queue.rs; docs/order_fill.rst), re-derived, with
// four deliberate differences: (1) `ahead` never goes negative: a trade larger than the queue
// ahead fills us at once (OnTrade's return value) instead of leaving a negative front for a later
// is_filled check, so partial fills fall out naturally; (2) a cancel-driven estimate below zero
// stops at the front (cancels never fill us); (3) fills round down to whole increments, so a
// fractional `ahead` from the probabilistic split costs us less than one increment, once; (4) the
// quantity behind us is the level net of the trades already seen (hftbacktest takes prev - a, which
// counts the traded quantity, all of it from in front of us, as behind).
//
// Caveats. Trades through our price (a sell at a price below our bid) fill us completely; that
// is the fill model's job, not the queue's. The probabilistic model subtracts trades from the next
// level change, which assumes the trade arrives before the depth update that removes its quantity.
// Binance sends trades and depth on separate streams without a common sequence, so the order is
// not guaranteed; when the depth diff comes first, that trade is counted twice against the queue
// ahead (optimistic by the trade's size).
//
// Thread-safety: QueueModel is an immutable value; each QueuePosition belongs to one order.
#pragma once

#include <string_view>

#include "qraft/core/status.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct QueuePosition {
  double ahead = 0;        ///< estimated quantity in front of us (increments; fractional in Prob)
  Quantity remaining = 0;  ///< our unfilled quantity
  Quantity traded = 0;     ///< trade quantity at the level since its last change (PowerProb)
};

class QueueModel {
 public:
  enum class Kind : std::uint8_t { kRiskAverse, kPowerProb };

  /// The conservative model: the queue ahead shrinks only by trades (and the level's size).
  static QueueModel RiskAverse() { return QueueModel(Kind::kRiskAverse, 0); }
  /// The probabilistic model with f(x) = x^n; InvalidArgument unless 0 < n <= 64. n = 1 splits a
  /// decrease in proportion to the queue ahead and behind; larger n sends more of it behind us
  /// while we are near the front (hftbacktest's documentation compares n = 2, 3).
  static Result<QueueModel> PowerProb(double n);
  /// "risk-averse" or "power:N" (e.g. "power:2"); InvalidArgument naming the forms otherwise.
  static Result<QueueModel> Parse(std::string_view text);

  Kind kind() const { return kind_; }
  double power() const { return power_; }

  /// Our order of `our_qty` joins the level whose published quantity is `level_qty`.
  QueuePosition Place(Quantity level_qty, Quantity our_qty) const {
    return {static_cast<double>(level_qty > 0 ? level_qty : 0), our_qty, 0};
  }

  /// A trade of `trade_qty` at our price (our side being hit); returns the quantity of ours it
  /// fills (0 while the queue ahead absorbs it).
  Quantity OnTrade(QueuePosition& q, Quantity trade_qty) const;

  /// The level's published quantity changed from `prev_qty` to `new_qty` (OrderBook::Apply
  /// returns prev_qty).
  void OnLevelChange(QueuePosition& q, Quantity prev_qty, Quantity new_qty) const;

 private:
  QueueModel(Kind kind, double power) : kind_(kind), power_(power) {}
  Kind kind_;
  double power_;
};

}  // namespace qraft::precise
