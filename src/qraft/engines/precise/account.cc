#include "qraft/engines/precise/account.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>

namespace qraft::precise {

Account::Account(const AccountConfig& config, std::span<const Instrument> instruments)
    : config_(config),
      instruments_(instruments.begin(), instruments.end()),
      positions_(instruments.size()),
      cash_(config.initial_cash) {}

Quantity Account::Sellable(std::size_t instrument, std::int64_t day) const {
  const Position& p = positions_[instrument];
  const Quantity lock =
      config_.sell_after_days > 0 && p.locked_day + config_.sell_after_days > day ? p.locked : 0;
  return std::max<Quantity>(0, p.quantity - lock);
}

RejectReason Account::Check(std::size_t instrument, Side side, Quantity quantity, double price,
                            double fees, std::int64_t day, std::span<const double> marks) const {
  const Instrument& ins = instruments_[instrument];
  const Position& p = positions_[instrument];
  const double value = price * ins.Units(quantity) * ins.multiplier;
  const Quantity signed_q = side == Side::kBuy ? quantity : -quantity;
  if (config_.type == AccountConfig::Type::kMargin) {
    // Only fills that grow the gross position need margin.
    if (std::llabs(p.quantity + signed_q) <= std::llabs(p.quantity)) return RejectReason::kNone;
    double required = 0;
    for (std::size_t i = 0; i < positions_.size(); ++i) {
      const Quantity q = i == instrument ? p.quantity + signed_q : positions_[i].quantity;
      const double mark = i == instrument ? price : marks[i];
      if (q != 0 && std::isfinite(mark))
        required += std::abs(instruments_[i].Units(q) * mark * instruments_[i].multiplier);
    }
    return config_.margin * required <= Equity(marks) - fees + 1e-9 * std::abs(required)
               ? RejectReason::kNone
               : RejectReason::kInsufficientMargin;
  }
  if (side == Side::kBuy) {
    const double cost = value + fees;
    return cost <= cash_ + 1e-9 * std::max(1.0, std::abs(cash_)) ? RejectReason::kNone
                                                                 : RejectReason::kInsufficientCash;
  }
  const Quantity longs = std::max<Quantity>(0, p.quantity);
  if (quantity > longs && !config_.allow_short) return RejectReason::kNoPosition;
  if (std::min(quantity, longs) > Sellable(instrument, day)) return RejectReason::kNotSellableT1;
  // A sale whose fees exceed its value would take cash the account may not have.
  if (value - fees < 0 && cash_ + value - fees < 0) return RejectReason::kInsufficientCash;
  return RejectReason::kNone;
}

void Account::Apply(const Fill& fill, std::int64_t day) {
  const Instrument& ins = instruments_[static_cast<std::size_t>(fill.instrument)];
  Position& p = positions_[static_cast<std::size_t>(fill.instrument)];
  const Quantity q = fill.side == Side::kBuy ? fill.quantity : -fill.quantity;
  const double units_value = fill.price * ins.Units(fill.quantity) * ins.multiplier;
  // The part that reduces the position realises profit and loss against its average price.
  const bool reduces = p.quantity != 0 && (p.quantity > 0) != (q > 0);
  const Quantity closing = reduces ? std::min(std::llabs(q), std::llabs(p.quantity)) : 0;
  double realized = 0;
  if (closing > 0) {
    const double sign = p.quantity > 0 ? 1.0 : -1.0;
    realized = sign * (fill.price - p.avg_price) * ins.Units(closing) * ins.multiplier;
    p.realized += realized;
  }
  const Quantity before = p.quantity;
  p.quantity += q;
  if (p.quantity == 0) {
    p.avg_price = 0;
  } else if (closing == 0) {
    // Growing the position: the average price moves to the weighted mean.
    const double old_units = ins.Units(std::llabs(before)), new_units = ins.Units(std::llabs(q));
    p.avg_price = (p.avg_price * old_units + fill.price * new_units) / (old_units + new_units);
  } else if ((before > 0) != (p.quantity > 0)) {
    p.avg_price = fill.price;  // reversed: the rest opened at the fill price
  }
  if (config_.type == AccountConfig::Type::kMargin) {
    cash_ += realized - fill.Fees();
  } else {
    cash_ += (fill.side == Side::kBuy ? -units_value : units_value) - fill.Fees();
  }
  if (fill.side == Side::kBuy && config_.sell_after_days > 0) {
    if (p.locked_day != day) {
      p.locked = 0;
      p.locked_day = day;
    }
    p.locked += fill.quantity;
  }
  if (fill.side == Side::kSell && p.locked_day == day) {
    p.locked = std::min(p.locked, std::max<Quantity>(0, p.quantity));
  }
}

double Account::Equity(std::span<const double> marks) const {
  double e = cash_;
  for (std::size_t i = 0; i < positions_.size(); ++i) {
    const Position& p = positions_[i];
    if (p.quantity == 0 || !std::isfinite(marks[i])) continue;
    const Instrument& ins = instruments_[i];
    const double units = ins.Units(p.quantity) * ins.multiplier;
    e += config_.type == AccountConfig::Type::kMargin ? units * (marks[i] - p.avg_price)
                                                      : units * marks[i];
  }
  return e;
}

double Account::GrossExposure(std::span<const double> marks) const {
  double g = 0;
  for (std::size_t i = 0; i < positions_.size(); ++i) {
    const Position& p = positions_[i];
    if (p.quantity == 0 || !std::isfinite(marks[i])) continue;
    g += std::abs(instruments_[i].Units(p.quantity) * instruments_[i].multiplier * marks[i]);
  }
  return g;
}

}  // namespace qraft::precise
