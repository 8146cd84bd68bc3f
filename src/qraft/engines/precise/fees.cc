#include "qraft/engines/precise/fees.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <utility>

namespace qraft::precise {

namespace {

constexpr double kBps = 1e-4;

// A schedule in basis points as fractions, checking each value (packs built by hand skip the
// parser's checks).
Result<data::Schedule> Fractions(const data::Schedule& bps, std::string_view what) {
  data::Schedule out = bps;
  for (data::DatedValue& d : out) {
    if (!(d.value >= 0 && d.value < 1e4)) {
      return Status::InvalidArgument(fmt::format(
          "market costs: {} must be basis points in [0, 10000), got {}", what, d.value));
    }
    d.value *= kBps;
  }
  return out;
}

data::Schedule Times(data::Schedule s, double k) {
  for (data::DatedValue& d : s)
    d.value *= k;
  return s;
}

// The rate of `s` at `t`; 0 where no rate is in force.
double RateOn(const data::Schedule& s, Timestamp t) {
  const double r = data::ValueOn(s, t);
  return std::isnan(r) ? 0.0 : r;
}

// An order's commission for raw commission `raw` on fills worth `value` (file comment of
// fees.h): the minimum, then the cap; rebates unclamped.
double OrderCommission(const FeeSchedule& s, double raw, double value) {
  if (raw < 0) return raw;
  double c = std::max(raw, s.min_commission);
  if (std::isfinite(s.max_commission)) c = std::min(c, s.max_commission * value);
  return c;
}

}  // namespace

Result<FeeSchedule> FeesFromPack(const data::MarketSpec& market) {
  const data::PackCosts& c = market.costs;
  auto amount = [](double x, double max, std::string_view what) -> Status {
    if (x >= 0 && x < max) return Status::OK();
    return Status::InvalidArgument(
        fmt::format("market costs: {} must be in [0, {}), got {}", what, max, x));
  };
  QRAFT_RETURN_NOT_OK(amount(c.commission_bps, 1e4, "commission_bps"));
  QRAFT_RETURN_NOT_OK(amount(c.commission_per_share, 1e9, "commission_per_share"));
  QRAFT_RETURN_NOT_OK(amount(c.commission_per_contract, 1e9, "commission_per_contract"));
  QRAFT_RETURN_NOT_OK(amount(c.min_commission, 1e12, "min_commission"));
  FeeSchedule s;
  s.commission = c.commission_bps * kBps;
  s.per_unit = c.commission_per_share + c.commission_per_contract;
  s.min_commission = c.min_commission;
  if (!std::isnan(c.max_commission_bps)) {
    if (!(c.max_commission_bps > 0 && c.max_commission_bps < 1e4)) {
      return Status::InvalidArgument(fmt::format(
          "market costs: max_commission_bps must be in (0, 10000), got {}", c.max_commission_bps));
    }
    s.max_commission = c.max_commission_bps * kBps;
  }
  if (std::isnan(c.maker_bps) != std::isnan(c.taker_bps)) {
    return Status::InvalidArgument("market costs: maker_bps and taker_bps go together");
  }
  if (!std::isnan(c.maker_bps)) {
    for (const double r : {c.maker_bps, c.taker_bps}) {
      if (!(r > -100 && r < 1e4)) {
        return Status::InvalidArgument(fmt::format(
            "market costs: maker_bps and taker_bps must be in (-100, 10000), got {}", r));
      }
    }
    s.maker_taker = true;
    s.maker = c.maker_bps * kBps;
    s.taker = c.taker_bps * kBps;
  }
  QRAFT_ASSIGN_OR_RETURN(s.stamp_duty_sell, Fractions(c.stamp_duty_bps, "stamp_duty_bps"));
  QRAFT_ASSIGN_OR_RETURN(s.stamp_duty_buy, Fractions(c.buy_stamp_duty_bps, "buy_stamp_duty_bps"));
  QRAFT_ASSIGN_OR_RETURN(s.transfer_fee, Fractions(c.transfer_fee_bps, "transfer_fee_bps"));
  QRAFT_ASSIGN_OR_RETURN(s.exchange_fee, Fractions(c.exchange_fee_bps, "exchange_fee_bps"));
  QRAFT_ASSIGN_OR_RETURN(s.sell_fee, Fractions(c.sell_fee_bps, "sell_fee_bps"));
  return s;
}

FeeSchedule WithOverrides(FeeSchedule base, std::optional<double> fee_bps,
                          std::optional<double> min_fee, std::optional<double> tax_bps) {
  if (fee_bps) {
    base.commission = *fee_bps * kBps;
    base.maker_taker = false;
    base.maker = base.taker = 0;
    base.per_unit = 0;
    base.max_commission = std::numeric_limits<double>::infinity();
  }
  if (min_fee) base.min_commission = *min_fee;
  if (tax_bps) {
    base.stamp_duty_sell = {{kNoTimestamp, *tax_bps * kBps}};
    base.stamp_duty_buy.clear();
  }
  return base;
}

FeeSchedule Scaled(const FeeSchedule& schedule, double commission_k, double tax_k) {
  FeeSchedule s = schedule;
  s.commission *= commission_k;
  s.maker *= commission_k;
  s.taker *= commission_k;
  s.per_unit *= commission_k;
  s.min_commission *= commission_k;
  // No cap stays no cap (inf x 0 would be NaN; with k = 0 the rest charges nothing anyway).
  if (std::isfinite(s.max_commission)) s.max_commission *= commission_k;
  s.stamp_duty_sell = Times(std::move(s.stamp_duty_sell), tax_k);
  s.stamp_duty_buy = Times(std::move(s.stamp_duty_buy), tax_k);
  s.transfer_fee = Times(std::move(s.transfer_fee), tax_k);
  s.exchange_fee = Times(std::move(s.exchange_fee), tax_k);
  s.sell_fee = Times(std::move(s.sell_fee), tax_k);
  return s;
}

double SellRate(const FeeSchedule& s, Liquidity liq, Timestamp t) {
  return s.CommissionRate(liq) + RateOn(s.stamp_duty_sell, t) + RateOn(s.transfer_fee, t) +
         RateOn(s.exchange_fee, t) + RateOn(s.sell_fee, t);
}

FeeBreakdown FillFees(const FeeSchedule& schedule, Side side, Liquidity liq, double value,
                      double quantity_units, Timestamp t, double order_commission_so_far,
                      double order_value_so_far, double order_units_so_far) {
  const FeeSchedule& s = schedule;
  const double rate = s.CommissionRate(liq);
  // The raw commission of the order's earlier fills (fees.h).
  double raw_before = 0;
  if (order_value_so_far > 0 || order_units_so_far > 0) {
    raw_before = rate * order_value_so_far + s.per_unit * order_units_so_far;
    if (s.maker_taker) {
      // Strictly inside (minimum, cap), the charge so far is the raw sum itself; a relative
      // margin keeps accumulated rounding at the minimum or the cap from counting as inside.
      const double c = order_commission_so_far;
      const double eps = 1e-12 * std::max(1.0, std::abs(c));
      const bool at_min = s.min_commission > 0 && c >= 0 && c <= s.min_commission + eps;
      const bool at_cap =
          std::isfinite(s.max_commission) && c >= s.max_commission * order_value_so_far - eps;
      if (!at_min && !at_cap) raw_before = c;
    }
  }
  const double raw_after = raw_before + rate * value + s.per_unit * quantity_units;
  FeeBreakdown f;
  f.commission =
      OrderCommission(s, raw_after, order_value_so_far + value) - order_commission_so_far;
  const bool sell = side == Side::kSell;
  f.stamp_duty = value * RateOn(sell ? s.stamp_duty_sell : s.stamp_duty_buy, t);
  f.transfer_fee = value * RateOn(s.transfer_fee, t);
  f.exchange_fee = value * (RateOn(s.exchange_fee, t) + (sell ? RateOn(s.sell_fee, t) : 0.0));
  return f;
}

}  // namespace qraft::precise
