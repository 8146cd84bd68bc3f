// The account of a run: cash in the account currency and one netting position per instrument.
//
//  * kCash (stocks, spot): a buy pays its value and fees from cash, a sell receives its value
//    less fees; with allow_short a sale beyond the position opens a short whose proceeds are
//    kept in cash (vectorbt's model), otherwise it is refused. Equity = cash + sum q x mark x
//    multiplier.
//  * kMargin (futures, perpetuals): no notional changes hands. Cash moves by realised profit and
//    loss, fees and funding; equity = cash + sum q x (mark - average price) x multiplier; a fill
//    that grows a position needs the initial margin, margin x sum |q| x mark x multiplier, to
//    stay within the equity after it.
// Positions net: a fill against a position first reduces it (realising profit and loss against
// its average price), the rest opens the other side at the fill price.
// T+1 (sell_after_days = 1): shares bought on a trading day are locked until the next one.
//
// Thread-safety: one engine's.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "qraft/engines/precise/orders.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct AccountConfig {
  enum class Type : std::uint8_t { kCash, kMargin };
  Type type = Type::kCash;
  double initial_cash = 1'000'000;
  bool allow_short = false;  ///< kCash: may sell beyond the position (always true for kMargin)
  int sell_after_days = 0;   ///< 1 = T+1
  double margin = 1.0;       ///< kMargin: initial margin as a fraction of the notional
};

struct Position {
  Quantity quantity = 0;  ///< signed: > 0 long, < 0 short
  double avg_price = 0;   ///< average entry price of the open quantity (money per unit)
  double realized = 0;    ///< realised profit and loss, before fees (money)
  Quantity locked = 0;    ///< bought on `locked_day` and not yet sellable (T+1)
  std::int64_t locked_day = 0;
};

class Account {
 public:
  Account(const AccountConfig& config, std::span<const Instrument> instruments);

  double cash() const { return cash_; }
  const Position& position(std::size_t instrument) const { return positions_[instrument]; }
  const AccountConfig& config() const { return config_; }

  /// Long quantity that may be sold on `day` (T+1 locks applied).
  Quantity Sellable(std::size_t instrument, std::int64_t day) const;
  /// Why a fill of `quantity` on `side` at `price` (per unit) with `fees` would be refused, given
  /// the marks; kNone when it fits.
  RejectReason Check(std::size_t instrument, Side side, Quantity quantity, double price,
                     double fees, std::int64_t day, std::span<const double> marks) const;
  /// Books a fill on trading day `day`.
  void Apply(const Fill& fill, std::int64_t day);
  /// Adds `money` to the cash (funding: negative = paid).
  void Credit(double money) { cash_ += money; }

  /// Equity and gross exposure at the marks (money per unit per instrument; NaN marks count 0).
  double Equity(std::span<const double> marks) const;
  double GrossExposure(std::span<const double> marks) const;

 private:
  AccountConfig config_;
  std::vector<Instrument> instruments_;
  std::vector<Position> positions_;
  double cash_ = 0;
};

}  // namespace qraft::precise
