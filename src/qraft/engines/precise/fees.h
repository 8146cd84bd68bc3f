// The fee model of the precise engine: what one fill pays, in money of the account currency.
//
// A FeeSchedule holds resolved rates (fractions of value, not basis points) from a market pack's
// `costs:` section (FeesFromPack; docs/markets.md), optionally overridden by the strategy DSL's
// costs.fee_bps / min_fee / tax_bps (WithOverrides) and scaled for cost sensitivity (Scaled).
// A fill's fees have two parts:
//  * Commission, paid to the broker per order, on both sides. For an order whose fills so far
//    have value V and quantity Q (units: shares, coins, contracts), its commission is
//      C(V, Q) = clamp(raw, min_commission, max_commission x V),  raw = rate x V + per_unit x Q
//    where the cap wins over the minimum (Interactive Brokers: "if the maximum per order is less
//    than the minimum, the maximum applies") and a negative raw (maker rebates) is not clamped.
//    rate is `commission`, or `maker` / `taker` by the fill's liquidity when the schedule has
//    them (NautilusTrader's MakerTakerFeeModel). A fill pays C(after it) - C(before it), so the
//    minimum and the cap apply to the order, not to each partial fill: an order filled in three
//    parts pays the CNY 5 A-share minimum once.
//  * Levies, proportional to each fill's value, at the rates in force at the fill's time
//    (data::ValueOn; before a schedule's first date: none): stamp duty (sells; buys where a
//    buy-side schedule exists), transfer fee and exchange fee (both sides), and the sell-side fee
//    (US SEC fee), the last reported with the exchange fee.
//
// Thread-safety: plain values and pure functions.
#pragma once

#include <limits>
#include <optional>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/market.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct FeeSchedule {
  // Commission, per order (see the file comment). All >= 0 except maker (< 0: a rebate).
  double commission = 0;  ///< fraction of value, per side (when !maker_taker)
  bool maker_taker = false;
  double maker = 0, taker = 0;  ///< fractions of value by liquidity (when maker_taker)
  double per_unit = 0;          ///< money per unit of quantity (per share, per contract)
  double min_commission = 0;    ///< money per order; 0 = none
  double max_commission = std::numeric_limits<double>::infinity();  ///< fraction of value; inf=none

  // Levies, fractions of each fill's value, dated (empty: none).
  data::Schedule stamp_duty_sell;  ///< sells
  data::Schedule stamp_duty_buy;   ///< buys (A-shares before 2008-09-19)
  data::Schedule transfer_fee;     ///< both sides
  data::Schedule exchange_fee;     ///< both sides
  data::Schedule sell_fee;         ///< sells (SEC fee); reported as exchange_fee

  /// The commission rate of a fill with liquidity `liq`.
  double CommissionRate(Liquidity liq) const {
    return maker_taker ? (liq == Liquidity::kMaker ? maker : taker) : commission;
  }
};

/// The pack's `costs:` as a schedule (basis points to fractions; per-share and per-contract
/// commissions add into per_unit). A spec with no costs (an ad-hoc market) gives a schedule with
/// no fees. Errors: a cost the parser would have refused (negative, NaN, maker without taker),
/// for specs built by hand.
Result<FeeSchedule> FeesFromPack(const data::MarketSpec& market);

/// The DSL's explicit costs over `base` (each absent one keeps the pack's):
///  * fee_bps replaces the whole commission formula by fee_bps / 1e4 x value per side: the
///    commission rate, maker / taker, per-share / per-contract and the cap (the pack's minimum
///    stays unless min_fee is given);
///  * min_fee replaces the per-order minimum (money);
///  * tax_bps replaces the stamp duty by a constant sell-side rate tax_bps / 1e4 (no buy-side
///    duty); transfer, exchange and sell-side fees stay the pack's.
/// REQUIRES: given values finite and >= 0 (the DSL validates them).
FeeSchedule WithOverrides(FeeSchedule base, std::optional<double> fee_bps,
                          std::optional<double> min_fee, std::optional<double> tax_bps);

/// Cost sensitivity: `schedule` with every commission term (rate, maker, taker, per unit,
/// minimum and cap) times `commission_k`, so that every order's commission is exactly
/// commission_k times as large, and every levy (stamp duty, transfer, exchange and sell-side
/// fees: everything not paid to the broker) times `tax_k`.
/// REQUIRES: commission_k, tax_k finite and >= 0.
FeeSchedule Scaled(const FeeSchedule& schedule, double commission_k, double tax_k);

struct FeeBreakdown {
  double commission = 0;    ///< the order's commission increment for this fill
  double stamp_duty = 0;    ///< stamp duty (sells; buys where a buy-side rate is in force)
  double transfer_fee = 0;  ///< clearing-house transfer fee
  double exchange_fee = 0;  ///< exchange fee and the sell-side fee (SEC fee)
  double Total() const { return commission + stamp_duty + transfer_fee + exchange_fee; }
};

/// The proportional part of a sell's fees at time t: commission rate plus every sell levy (no
/// minimum, cap or per-unit term), as a fraction of the value. Sizing short sales uses it.
double SellRate(const FeeSchedule& schedule, Liquidity liq, Timestamp t);

/// The fees of one fill of `quantity_units` (shares, coins or contracts) worth `value` (money,
/// multiplier included) at time `t`, on `side` with liquidity `liq`, given what the same order
/// has filled and been charged before it: `order_commission_so_far` (the sum of its earlier
/// fills' FeeBreakdown::commission), `order_value_so_far` and `order_units_so_far` (0, 0, 0 for
/// an order's first fill, or to price a fill on its own). The commission is
/// C(value so far + value, units so far + units) - order_commission_so_far (file comment).
/// With maker / taker rates, earlier fills' raw commission is taken to be
/// order_commission_so_far when that lies strictly between the minimum and the cap, and is
/// re-priced at this fill's rate otherwise: exact unless one order's fills had both liquidities
/// and its commission sat at the minimum or the cap (a rare case: a market order takes, a
/// resting limit order makes). Levies use the rates in force at `t`.
/// REQUIRES: value, quantity_units and the so-far amounts finite and >= 0.
FeeBreakdown FillFees(const FeeSchedule& schedule, Side side, Liquidity liq, double value,
                      double quantity_units, Timestamp t, double order_commission_so_far,
                      double order_value_so_far, double order_units_so_far);

}  // namespace qraft::precise
