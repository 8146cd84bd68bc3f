#include "qraft/engines/signal_sim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>
#include <string>

namespace qraft::engines {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();

// vectorbt/utils/math_.py, with its default tolerances.
constexpr double kRelTol = 1e-9;
constexpr double kAbsTol = 1e-12;

bool IsClose(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return false;
  if (a == b) return true;
  return std::abs(a - b) <= std::max(kRelTol * std::max(std::abs(a), std::abs(b)), kAbsTol);
}

bool IsCloseOrLess(double a, double b) {
  return IsClose(a, b) || a < b;
}

bool IsLess(double a, double b) {
  return !IsClose(a, b) && a < b;
}

double Sign(double x) {
  return x > 0 ? 1.0 : (x < 0 ? -1.0 : 0.0);
}

bool IsAdditionZero(double a, double b) {
  if (Sign(a) != Sign(b)) return IsClose(std::abs(a), std::abs(b));
  return IsClose(a + b, 0.0);
}

double Add(double a, double b) {
  return IsAdditionZero(a, b) ? 0.0 : a + b;
}

std::string Num(double x) {
  return std::to_string(x);
}

// vectorbt's ExecuteOrderState.
struct Account {
  double cash = 0.0;
  double position = 0.0;
  double debt = 0.0;       // entry value of the short
  double free_cash = 0.0;  // what a short sale may use
};

struct Costs {
  double fees = 0.0;
  double fixed_fees = 0.0;
  double min_fee = 0.0;       // Qraft: fee = max(fees x value, min_fee) + fixed_fees
  double sell_tax = 0.0;      // Qraft: sells also pay sell_tax x value
  double lot = 0.0;           // Qraft: shares per lot; 0 = fractional
  double impact_alpha = 0.0;  // Qraft: impact = alpha x (shares / volume)^beta; 0 = off
  double impact_beta = 0.5;
};

// The market an order meets on its bar: the price p_t, the slippage (0 for a stop exit) and,
// with impact, the bar's volume.
struct Quote {
  double price = 0.0;
  double slippage = 0.0;
  double volume = 0.0;  // read only with impact (alpha > 0)
};

// A filled order: shares (> 0), fill price, fees.
struct Fill {
  double size = 0.0;
  double price = 0.0;
  double fees = 0.0;
};

enum class OrderKind : std::uint8_t { kNone, kBuyAll, kSellAll, kCloseLong, kCloseShort };

// Whole lots below x (weights_sim's Lots; the 1e-9 lot absorbs representation error).
double Lots(const Costs& c, double x) {
  if (c.lot == 0) return x;
  return std::floor(x / c.lot + 1e-9) * c.lot;
}

// Fill prices of `shares` shares. Without impact these are vectorbt's p (1 + s) and p (1 - s),
// bit for bit; with it the fraction alpha (shares / volume)^beta is added to s (a sell price is
// floored at 0, as in weights_sim).
double BuyPrice(const Quote& q, const Costs& c, double shares) {
  if (c.impact_alpha == 0) return q.price * (1 + q.slippage);
  return q.price * (1 + (q.slippage + c.impact_alpha * std::pow(shares / q.volume, c.impact_beta)));
}

double SellPrice(const Quote& q, const Costs& c, double shares) {
  if (c.impact_alpha == 0) return q.price * (1 - q.slippage);
  return q.price * std::max(0.0, 1 - (q.slippage +
                                      c.impact_alpha * std::pow(shares / q.volume, c.impact_beta)));
}

// Fees of an order of value v: vectorbt's v x fees + fixed_fees at min_fee = sell_tax = 0
// (max(x, 0) = x and x + 0 = x).
double BuyFees(const Costs& c, double value) {
  return std::max(value * c.fees, c.min_fee) + c.fixed_fees;
}

double SellFees(const Costs& c, double value) {
  return std::max(value * c.fees, c.min_fee) + c.fixed_fees + value * c.sell_tax;
}

// The largest x in [0, bound] (a multiple of the lot with lots) for which fits(x) holds, fits
// being true at 0 and monotone (true then false): whole lots by binary search on the lot count,
// fractional shares by 64 bisection steps (deterministic; lo always fits).
template <typename Fits>
double Largest(const Costs& c, double bound, const Fits& fits) {
  if (!(bound > 0)) return 0.0;
  if (c.lot > 0) {
    double lo = 0.0;  // lot counts: whole numbers, exact in a double
    double hi = std::floor(bound / c.lot + 1e-9);
    if (hi > 0 && fits(hi * c.lot)) return hi * c.lot;
    while (lo + 1 < hi) {  // fits(lo), !fits(hi)
      const double mid = lo + std::floor((hi - lo) / 2);
      if (fits(mid * c.lot)) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo * c.lot;
  }
  if (fits(bound)) return bound;
  double lo = 0.0, hi = bound;
  for (int i = 0; i < 64; ++i) {
    const double mid = 0.5 * (lo + hi);
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid;
    }
  }
  return lo;
}

// What all the cash C may spend on shares (vectorbt's max_req_cash: (C - fixed_fees) / (1 +
// fees)), or C - fixed_fees - min_fee when the minimum fee is above the proportional one (never
// at min_fee 0, so vectorbt's arithmetic is unchanged).
double SpendableCash(const Costs& c, double cash) {
  double spend = Add(cash, -c.fixed_fees) / (1 + c.fees);
  if (spend * c.fees < c.min_fee) spend = cash - c.fixed_fees - c.min_fee;
  return spend;
}

// Pays for a buy of `size` shares at `price` with fees `fees_paid` and cash `req_cash` (fees
// included) from account a (vectorbt's buy_nb bookkeeping).
void BookBuy(Account& a, double size, double price, double fees_paid, double req_cash, Fill* fill) {
  const double new_position = Add(a.position, size);
  if (a.position < 0) {
    const double short_size = new_position < 0 ? size : std::abs(a.position);
    const double avg_entry_price = a.debt / std::abs(a.position);
    const double debt_diff = short_size * avg_entry_price;
    a.debt = Add(a.debt, -debt_diff);
    a.free_cash = Add(a.free_cash + 2 * debt_diff, -req_cash);
  } else {
    a.free_cash = Add(a.free_cash, -req_cash);
  }
  a.cash = Add(a.cash, -req_cash);
  a.position = new_position;
  *fill = {size, price, fees_paid};
}

// Buys the largest size, at most `bound` shares (whole lots), whose value + fees fit the cash:
// the all-cash order once lots or impact make vectorbt's closed form inexact. False if none.
bool BuyLargest(Account& a, const Quote& q, const Costs& c, double bound, Fill* fill) {
  const double cash = a.cash;
  const double size = Largest(c, bound, [&](double x) {
    const double value = x * BuyPrice(q, c, x);
    return value + BuyFees(c, value) <= cash;
  });
  if (size <= 0) return false;
  const double price = BuyPrice(q, c, size);
  const double value = size * price;
  const double fees_paid = BuyFees(c, value);
  BookBuy(a, size, price, fees_paid, value + fees_paid, fill);
  return true;
}

// buy_nb(size = inf, direction = both): open a long or reverse a short with all the cash. Only
// the "insufficient cash" branch of buy_nb can be taken with an infinite size.
bool BuyAll(Account& a, const Quote& q, const Costs& c, Fill* fill) {
  const double cash_limit = a.cash;
  if (cash_limit == 0) return false;
  const double max_req_cash = SpendableCash(c, cash_limit);
  if (max_req_cash <= 0) return false;
  const double adj_price = q.price * (1 + q.slippage);
  if (c.lot == 0 && c.impact_alpha == 0) {  // vectorbt's closed form
    BookBuy(a, max_req_cash / adj_price, adj_price, cash_limit - max_req_cash, cash_limit, fill);
    return true;
  }
  // Lots or impact: the size without them bounds it (impact only raises the cost of a size).
  return BuyLargest(a, q, c, max_req_cash / adj_price, fill);
}

// sell_nb(size = inf, percent = 1, direction = both): open a short or reverse a long, as large
// as the free cash allows.
bool SellAll(Account& a, const Quote& q, const Costs& c, Fill* fill) {
  const double adj_price = q.price * (1 - q.slippage);
  const double long_size = std::max(a.position, 0.0);
  // The free cash after the sale, free + L a - x a - fees((L + x) a) with x the short part, must
  // stay >= 0: with a proportional fee x <= (free + L a (1 - fees - tax) - fixed) / (a (1 +
  // fees + tax)) (vectorbt's max_short_size at tax 0: x + 0 = x), with the minimum fee x <=
  // (free + L a (1 - tax) - fixed - min_fee) / (a (1 + tax)); the smaller bound holds.
  const double long_cash = long_size * adj_price * (1 - c.fees - c.sell_tax);
  const double total_free_cash = Add(a.free_cash, long_cash);
  double size;
  if (total_free_cash <= 0) {
    if (a.position <= 0) return false;  // nothing to sell, no cash to short with
    size = long_size;
  } else {
    double max_short_size =
        Add(total_free_cash, -c.fixed_fees) / (adj_price * (1 + c.fees + c.sell_tax));
    if (c.min_fee > 0) {
      const double floor_free = Add(Add(a.free_cash, long_size * adj_price * (1 - c.sell_tax)),
                                    -(c.fixed_fees + c.min_fee));
      max_short_size = std::min(max_short_size, floor_free / (adj_price * (1 + c.sell_tax)));
    }
    if ((c.lot > 0 || c.impact_alpha > 0) && max_short_size > 0) {
      // The largest short part (whole lots) that keeps the free cash >= 0 at the order's own
      // fill price, at most the size without lots or impact.
      max_short_size = Largest(c, max_short_size, [&](double x) {
        const double total = long_size + x;
        const double price = SellPrice(q, c, total);
        const double value = total * price;
        return price > 0 && a.free_cash + (value - SellFees(c, value)) - 2 * (x * price) >= 0;
      });
    }
    size = Add(long_size, max_short_size);
    if (max_short_size < 0) size = Lots(c, size);  // not even the fixed fee: part of the long
    if (size <= 0) return false;
  }
  if (IsClose(size, 0)) return false;
  const double price = c.impact_alpha == 0 ? adj_price : SellPrice(q, c, size);
  const double acq_cash = size * price;
  const double fees_paid = SellFees(c, acq_cash);
  const double final_acq_cash = Add(acq_cash, -fees_paid);
  if (final_acq_cash < 0) return false;
  const double new_position = Add(a.position, -size);
  if (new_position < 0) {
    const double short_size = a.position < 0 ? size : std::abs(new_position);
    const double short_value = short_size * price;
    a.debt = a.debt + short_value;
    a.free_cash = Add(a.free_cash, Add(final_acq_cash, -2 * short_value));
  } else {
    a.free_cash = a.free_cash + final_acq_cash;
  }
  a.cash = a.cash + final_acq_cash;
  a.position = new_position;
  *fill = {size, price, fees_paid};
  return true;
}

// sell_nb(size = the long, direction = longonly): the whole long (whole lots already).
bool CloseLong(Account& a, double size_req, const Quote& q, const Costs& c, Fill* fill) {
  const double size = std::min(a.position, size_req);
  if (a.position == 0) return false;
  if (IsClose(size, 0)) return false;
  const double adj_price = SellPrice(q, c, size);
  const double acq_cash = size * adj_price;
  const double fees_paid = SellFees(c, acq_cash);
  const double final_acq_cash = Add(acq_cash, -fees_paid);
  if (final_acq_cash < 0) return false;
  a.cash = a.cash + final_acq_cash;
  a.free_cash = a.free_cash + final_acq_cash;
  a.position = Add(a.position, -size);  // >= 0: size <= position
  *fill = {size, adj_price, fees_paid};
  return true;
}

// buy_nb(size = the short, direction = shortonly): buy the short back, as much as the cash pays.
bool CloseShort(Account& a, double size_req, const Quote& q, const Costs& c, Fill* fill) {
  const double cash_limit = a.cash;
  if (a.position == 0) return false;
  const double adj_size = std::min(-a.position, size_req);
  if (adj_size == 0) return false;
  if (IsClose(adj_size, 0)) return false;
  const double adj_price = BuyPrice(q, c, adj_size);
  const double req_cash = adj_size * adj_price;
  const double req_fees = BuyFees(c, req_cash);
  const double total_req_cash = req_cash + req_fees;
  if (IsCloseOrLess(total_req_cash, cash_limit)) {  // the whole short
    BookBuy(a, adj_size, adj_price, req_fees, total_req_cash, fill);
    return true;
  }
  // Partial: all the cash.
  const double max_req_cash = SpendableCash(c, cash_limit);
  if (max_req_cash <= 0) return false;
  if (c.lot == 0 && c.impact_alpha == 0) {  // vectorbt's closed form
    BookBuy(a, max_req_cash / adj_price, adj_price, cash_limit - max_req_cash, cash_limit, fill);
    return true;
  }
  return BuyLargest(a, q, c, std::min(adj_size, max_req_cash / (q.price * (1 + q.slippage))), fill);
}

// signals_to_size_nb after the conflict rules (see the header), for position q.
OrderKind Decide(double q, bool le, bool lx, bool se, bool sx) {
  if (le || se) {
    if (le && lx) le = lx = false;  // upon_long_conflict = ignore
    if (se && sx) se = sx = false;  // upon_short_conflict = ignore
    if (le && se) le = se = false;  // upon_dir_conflict = ignore
  }
  if (q > 0) {
    if (se) return OrderKind::kSellAll;
    if (lx) return OrderKind::kCloseLong;
  } else if (q < 0) {
    if (le) return OrderKind::kBuyAll;
    if (sx) return OrderKind::kCloseShort;
  } else {
    if (le) return OrderKind::kBuyAll;
    if (se) return OrderKind::kSellAll;
  }
  return OrderKind::kNone;
}

// Stop levels of the open position, kept in "signed" prices (times +1 for a long, -1 for a
// short; negation is exact) so that one set of comparisons serves both sides: a stop loss or
// trailing stop fires when sign * p <= its level, a take profit when sign * p >= its level.
struct Stops {
  double sign = 0.0;  // 0: no stops set
  double sl = -kInf;
  double tsl = -kInf;
  double tp = kInf;
  double best = 0.0;        // sign * B
  double tsl_factor = 0.0;  // 1 - r (long) or 1 + r (short)
};

struct StopOptions {
  bool has_sl = false, has_tsl = false, has_tp = false;
  // 1 - x and 1 + x, rounded once as vectorbt does.
  double sl_down = 0, sl_up = 0, tsl_down = 0, tsl_up = 0, tp_down = 0, tp_up = 0;
};

void SetStops(const StopOptions& o, double sign, double init, Stops* s) {
  const bool is_long = sign > 0;
  s->sign = sign;
  s->best = sign * init;
  s->tsl_factor = is_long ? o.tsl_down : o.tsl_up;
  s->sl = o.has_sl ? sign * (init * (is_long ? o.sl_down : o.sl_up)) : -kInf;
  s->tsl = o.has_tsl ? sign * (init * s->tsl_factor) : -kInf;
  s->tp = o.has_tp ? sign * (init * (is_long ? o.tp_up : o.tp_down)) : kInf;
}

// get_exit_trades_nb, one filled order at a time, plus the TradeRecord feed.
class TradeBook {
 public:
  TradeBook(MetricsAccumulator* metrics, const SignalSimTrace* trace)
      : metrics_(metrics),
        records_(trace != nullptr ? trace->trades : nullptr),
        log_(trace != nullptr ? trace->trade_log : nullptr) {}

  void OnFill(std::size_t t, bool is_buy, const Fill& f, ExitReason reason) {
    if (!open_) {
      open_ = true;
      entry_bar_ = t;
      direction_ = is_buy ? TradeDirection::kLong : TradeDirection::kShort;
      size_sum_ = gross_sum_ = fees_sum_ = 0.0;
      fill_price_ = f.price;
    }
    if ((direction_ == TradeDirection::kLong) == is_buy) {  // position increased
      size_sum_ += f.size;
      gross_sum_ += f.size * f.price;
      fees_sum_ += f.fees;
      return;
    }
    if (IsCloseOrLess(f.size, size_sum_)) {
      const bool closes = IsClose(f.size, size_sum_);
      Close(t, closes ? size_sum_ : f.size, f.price, f.fees, reason);
      if (closes) {
        open_ = false;
      } else {  // partial exit: the rest goes on
        const double fraction = (size_sum_ - f.size) / size_sum_;
        size_sum_ *= fraction;
        gross_sum_ *= fraction;
        fees_sum_ *= fraction;
      }
      return;
    }
    // Reversal: close the whole trade with part of the order, open the other side with the rest.
    const double closed = size_sum_;
    const double closed_fees = closed / f.size * f.fees;
    Close(t, closed, f.price, closed_fees, reason);
    size_sum_ = f.size - closed;
    gross_sum_ = size_sum_ * f.price;
    fees_sum_ = f.fees - closed_fees;
    entry_bar_ = t;
    direction_ =
        direction_ == TradeDirection::kLong ? TradeDirection::kShort : TradeDirection::kLong;
    fill_price_ = f.price;
  }

  // Sets the trade counts and appends the open record after the last bar (valued at
  // `last_price`), if there is one.
  void Finish(double last_price, SignalSimResult* r) const {
    r->closed_trades = closed_;
    r->trades = closed_;
    if (!open_ || !IsLess(-size_sum_, 0)) return;
    ++r->trades;
    if (log_ != nullptr) {
      log_->push_back(
          MakeTrade(static_cast<std::size_t>(-1), size_sum_, last_price, 0.0, ExitReason::kEnd));
    }
  }

 private:
  SignalTrade MakeTrade(std::size_t t, double size, double price, double fees,
                        ExitReason reason) const {
    SignalTrade s;
    s.direction = direction_;
    s.reason = reason;
    s.entry_bar = static_cast<std::int64_t>(entry_bar_);
    s.exit_bar = static_cast<std::int64_t>(t);
    s.size = size;
    s.entry_price = gross_sum_ / size_sum_;
    s.exit_price = price;
    s.entry_fees = size / size_sum_ * fees_sum_;
    s.exit_fees = fees;
    // get_trade_stats_nb.
    const double entry_value = size * s.entry_price;
    double diff = Add(size * price, -entry_value);
    if (diff != 0 && direction_ == TradeDirection::kShort) diff = -diff;
    s.pnl = diff - s.entry_fees - fees;
    s.ret = s.pnl / entry_value;
    return s;
  }

  void Close(std::size_t t, double size, double price, double fees, ExitReason reason) {
    ++closed_;
    const double entry_fees = size / size_sum_ * fees_sum_;
    if (metrics_ != nullptr || records_ != nullptr) {
      double diff = Add(size * price, -(size * fill_price_));
      if (diff != 0 && direction_ == TradeDirection::kShort) diff = -diff;
      const double pnl = diff - entry_fees - fees;
      const TradeRecord trade{.pnl = pnl,
                              .ret = pnl / (size * fill_price_),
                              .holding_bars = static_cast<std::int64_t>(t - entry_bar_)};
      if (metrics_ != nullptr) metrics_->AddTrade(trade);
      if (records_ != nullptr) records_->push_back(trade);
    }
    if (log_ != nullptr) log_->push_back(MakeTrade(t, size, price, fees, reason));
  }

  MetricsAccumulator* metrics_;
  std::vector<TradeRecord>* records_;
  std::vector<SignalTrade>* log_;
  std::int64_t closed_ = 0;
  bool open_ = false;
  TradeDirection direction_ = TradeDirection::kLong;
  std::size_t entry_bar_ = 0;
  double size_sum_ = 0.0, gross_sum_ = 0.0, fees_sum_ = 0.0;
  double fill_price_ = 0.0;  // fill price of the entry order (the TradeRecord's entry price)
};

constexpr std::uint8_t kNever = 0;

}  // namespace

// Everything the bar loop carries from one bar to the next, and the options it reads.
struct SignalSimulator::State {
  State(const SignalSimOptions& options, bool with_short_signals, MetricsAccumulator* feed,
        const SignalSimTrace* trace)
      : direction(options.direction),
        short_signals(with_short_signals),
        stops_on(!std::isnan(options.sl_stop) || !std::isnan(options.tp_stop) ||
                 !std::isnan(options.tsl_stop)),
        costs{.fees = options.fees,
              .fixed_fees = options.fixed_fees,
              .min_fee = options.min_fee,
              .sell_tax = options.sell_tax,
              .lot = std::isnan(options.lot_size) ? 0.0 : options.lot_size,
              .impact_alpha = options.impact_alpha,
              .impact_beta = options.impact_beta},
        slippage(options.slippage),
        hold_min_bars(options.hold_min_bars),
        cooldown_bars(options.cooldown_bars),
        metrics(feed),
        book(feed, trace),
        acct{options.init_cash, 0.0, 0.0, options.init_cash},
        prev_equity(options.init_cash) {
    so.has_sl = !std::isnan(options.sl_stop);
    so.has_tsl = !std::isnan(options.tsl_stop);
    so.has_tp = !std::isnan(options.tp_stop);
    so.sl_down = 1 - options.sl_stop;
    so.sl_up = 1 + options.sl_stop;
    so.tsl_down = 1 - options.tsl_stop;
    so.tsl_up = 1 + options.tsl_stop;
    so.tp_down = 1 - options.tp_stop;
    so.tp_up = 1 + options.tp_stop;
  }

  // The loop over bars [bar, bar + n) of a chunk. kShortSignals: four signal series (short ones
  // possibly empty) instead of two mapped by direction; kStops: any stop set. Both are fixed for
  // a run, so they are template parameters rather than per-bar branches.
  template <bool kShortSignals, bool kStops>
  void Run(const SignalSimInputs& in, const SignalSimBars& out);

  const SignalDirection direction;
  const bool short_signals;
  const bool stops_on;
  const Costs costs;
  const double slippage;
  const std::int64_t hold_min_bars, cooldown_bars;
  StopOptions so;
  MetricsAccumulator* const metrics;

  TradeBook book;
  double total_fees = 0.0;
  std::int64_t orders = 0, stop_loss_exits = 0, take_profit_exits = 0, trailing_exits = 0;
  Account acct;
  Stops stops;
  double last_price = kNaN;  // valuation (ffill)
  double prev_equity;
  std::size_t bar = 0;  // the next bar's index
  // hold_min_bars: exit signals and opposite entries act from bar hold_until on (the bar that
  // opened or reversed the position + hold_min_bars); cooldown_bars: entry signals while flat
  // act after bar cooldown_until (the bar that left the position flat + cooldown_bars).
  std::int64_t hold_until = 0;
  std::int64_t cooldown_until = -1;
};

template <bool kShortSignals, bool kStops>
void SignalSimulator::State::Run(const SignalSimInputs& in, const SignalSimBars& out) {
  const std::size_t n = in.price.size();
  const double* const price = in.price.data();
  const std::uint8_t* const entries = in.entries.data();
  const std::uint8_t* const exits = in.exits.data();
  // An empty short series reads one "never" byte: index t & 0.
  const std::uint8_t* const short_entries =
      in.short_entries.empty() ? &kNever : in.short_entries.data();
  const std::uint8_t* const short_exits = in.short_exits.empty() ? &kNever : in.short_exits.data();
  const std::size_t se_mask = in.short_entries.empty() ? 0 : ~std::size_t{0};
  const std::size_t sx_mask = in.short_exits.empty() ? 0 : ~std::size_t{0};
  // Limit flags likewise; the volume only when given (an order then needs a finite volume > 0).
  const std::uint8_t* const limit_up = in.limit_up.empty() ? &kNever : in.limit_up.data();
  const std::uint8_t* const limit_down = in.limit_down.empty() ? &kNever : in.limit_down.data();
  const std::size_t up_mask = in.limit_up.empty() ? 0 : ~std::size_t{0};
  const std::size_t down_mask = in.limit_down.empty() ? 0 : ~std::size_t{0};
  const double* const volume = in.volume.empty() ? nullptr : in.volume.data();
  const bool gated = hold_min_bars > 0 || cooldown_bars > 0;

  // Outputs not wanted are written to a scratch slot (index i & 0) rather than tested per bar.
  double scratch[5];
  auto sink = [&](std::span<double> s, int k) { return s.empty() ? scratch + k : s.data(); };
  auto mask = [](std::span<double> s) { return s.empty() ? std::size_t{0} : ~std::size_t{0}; };
  double* const equity = sink(out.equity, 0);
  double* const traded_out = sink(out.traded, 1);
  double* const fees_out = sink(out.fees, 2);
  double* const exposure_out = sink(out.exposure, 3);
  double* const turnover_out = sink(out.turnover, 4);
  const std::size_t equity_mask = mask(out.equity), traded_mask = mask(out.traded),
                    fees_mask = mask(out.fees), exposure_mask = mask(out.exposure),
                    turnover_mask = mask(out.turnover);

  // The carried state lives in locals (registers) for the chunk and is stored back at its end.
  double total = total_fees;
  std::int64_t n_orders = orders, n_sl = stop_loss_exits, n_tp = take_profit_exits,
               n_tsl = trailing_exits;
  Account a = acct;
  Stops st = stops;
  double last = last_price;
  double prev = prev_equity;

  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t t = bar + i;
    const double p = price[i];
    if (!std::isnan(p)) last = p;
    double bar_fees = 0.0;
    double traded = 0.0;

    OrderKind kind = OrderKind::kNone;
    ExitReason reason = ExitReason::kSignal;
    if constexpr (kStops) {
      if (st.sign != 0 && a.position != 0) {
        // get_stop_price_nb: stop loss (fixed, then trailing), then take profit. Comparisons
        // with NaN are false.
        const double sp = st.sign * p;
        if (sp <= st.sl) {
          reason = ExitReason::kStopLoss;
        } else if (sp <= st.tsl) {
          reason = ExitReason::kTrailingStop;
        } else if (sp >= st.tp) {
          reason = ExitReason::kTakeProfit;
        }
        if (reason != ExitReason::kSignal) {
          kind = a.position > 0 ? OrderKind::kCloseLong : OrderKind::kCloseShort;
        }
        if (so.has_tsl) {
          // The trailing stop follows a new best price; branch-free, since whether a bar makes
          // one is close to random.
          const bool better = sp > st.best;  // false for NaN
          const double level = st.sign * (p * st.tsl_factor);
          st.best = better ? sp : st.best;
          st.tsl = better ? level : st.tsl;
        }
      }
    }
    if (kind == OrderKind::kNone) {
      if constexpr (kShortSignals) {
        const std::uint8_t le = entries[i], lx = exits[i];
        const std::uint8_t se = short_entries[i & se_mask], sx = short_exits[i & sx_mask];
        if ((le | lx | se | sx) != 0) {
          kind = Decide(a.position, le != 0, lx != 0, se != 0, sx != 0);
        }
      } else {
        const std::uint8_t en = entries[i], ex = exits[i];
        if ((en | ex) != 0) {
          const bool x = en != 0, y = ex != 0;
          switch (direction) {
            case SignalDirection::kLongOnly:
              kind = Decide(a.position, x, y, false, false);
              break;
            case SignalDirection::kShortOnly:
              kind = Decide(a.position, false, false, x, y);
              break;
            case SignalDirection::kBoth:
              kind = Decide(a.position, x, false, y, false);
              break;
          }
        }
      }
      if (gated && kind != OrderKind::kNone) {
        // Hold: with a position every signal order closes or reverses it; cooldown: while flat
        // every one opens one. Blocked signals are dropped, like any other.
        const auto ti = static_cast<std::int64_t>(t);
        if (a.position != 0 ? ti < hold_until : ti <= cooldown_until) kind = OrderKind::kNone;
      }
    }

    if (kind != OrderKind::kNone) {
      // execute_order_nb: numerical stability, then a NaN price ignores the order. The order's
      // size and the stop update see the position before the snapping, as in vectorbt.
      const double old_position = a.position;
      const double size_req = std::abs(old_position);
      if (IsClose(a.cash, 0)) a.cash = 0.0;
      if (IsClose(a.position, 0)) a.position = 0.0;
      if (IsClose(a.debt, 0)) a.debt = 0.0;
      if (IsClose(a.free_cash, 0)) a.free_cash = 0.0;
      const bool is_buy = kind == OrderKind::kBuyAll || kind == OrderKind::kCloseShort;
      // A NaN price, a volume (when given) not finite and > 0, or the limit flag of the order's
      // side: no fill on this bar.
      const double v = volume != nullptr ? volume[i] : 1.0;
      const bool tradable = !std::isnan(p) && std::isfinite(v) && v > 0 &&
                            (is_buy ? limit_up[i & up_mask] : limit_down[i & down_mask]) == 0;
      if (tradable) {
        // A stop exit fills at p without slippage (stop_exit_price = stoplimit); impact applies.
        const Quote quote{
            .price = p, .slippage = reason == ExitReason::kSignal ? slippage : 0.0, .volume = v};
        Fill fill;
        bool filled = false;
        switch (kind) {
          case OrderKind::kBuyAll:
            filled = BuyAll(a, quote, costs, &fill);
            break;
          case OrderKind::kSellAll:
            filled = SellAll(a, quote, costs, &fill);
            break;
          case OrderKind::kCloseLong:
            filled = CloseLong(a, size_req, quote, costs, &fill);
            break;
          case OrderKind::kCloseShort:
            filled = CloseShort(a, size_req, quote, costs, &fill);
            break;
          case OrderKind::kNone:
            break;
        }
        if (filled) {
          bar_fees = fill.fees;
          traded = fill.size * fill.price;
          total += fill.fees;  // the same sum as adding every bar's fees, zeros included
          ++n_orders;
          n_sl += reason == ExitReason::kStopLoss;
          n_tp += reason == ExitReason::kTakeProfit;
          n_tsl += reason == ExitReason::kTrailingStop;
          book.OnFill(t, is_buy, fill, reason);
          if (a.position == 0) {
            cooldown_until = static_cast<std::int64_t>(t) + cooldown_bars;
          } else if (old_position == 0 || Sign(a.position) != Sign(old_position)) {
            hold_until = static_cast<std::int64_t>(t) + hold_min_bars;
          }
          if constexpr (kStops) {
            if (a.position == 0) {
              st = Stops{};
            } else if (old_position == 0 || Sign(a.position) != Sign(old_position)) {
              SetStops(so, Sign(a.position), p, &st);
            }
            // Otherwise the position shrank (a partial exit): the stops stay. It never grows
            // (accumulate = False).
          }
        }
      }
    }

    const double asset_value = a.position != 0 ? a.position * last : 0.0;
    const double e = a.cash + asset_value;
    equity[i & equity_mask] = e;
    traded_out[i & traded_mask] = traded;
    fees_out[i & fees_mask] = bar_fees;
    exposure_out[i & exposure_mask] = std::abs(asset_value);
    turnover_out[i & turnover_mask] = 0.0;
    if (traded != 0) turnover_out[i & turnover_mask] = traded / e;  // rare: no division per bar
    if (metrics != nullptr) {
      metrics->AddBar(BarRecord{.ret = e / prev - 1,
                                .turnover = traded / e,
                                .fees = bar_fees,
                                .gross_exposure = std::abs(asset_value) / e});
    }
    prev = e;
  }

  total_fees = total;
  orders = n_orders;
  stop_loss_exits = n_sl;
  take_profit_exits = n_tp;
  trailing_exits = n_tsl;
  acct = a;
  stops = st;
  last_price = last;
  prev_equity = prev;
  bar += n;
}

SignalSimulator::SignalSimulator(const SignalSimOptions& options, bool short_signals,
                                 MetricsAccumulator* metrics, const SignalSimTrace* trace)
    : state_(std::make_unique<State>(options, short_signals, metrics, trace)) {}

SignalSimulator::SignalSimulator(SignalSimulator&&) noexcept = default;
SignalSimulator& SignalSimulator::operator=(SignalSimulator&&) noexcept = default;
SignalSimulator::~SignalSimulator() = default;

void SignalSimulator::Run(const SignalSimInputs& chunk, const SignalSimBars& out) {
  State& s = *state_;
  if (s.short_signals) {
    if (s.stops_on) {
      s.Run<true, true>(chunk, out);
    } else {
      s.Run<true, false>(chunk, out);
    }
  } else {
    if (s.stops_on) {
      s.Run<false, true>(chunk, out);
    } else {
      s.Run<false, false>(chunk, out);
    }
  }
}

std::size_t SignalSimulator::bars() const {
  return state_->bar;
}

void SignalSimulator::Finish(SignalSimResult* result) const {
  const State& s = *state_;
  SignalSimResult r;
  s.book.Finish(s.last_price, &r);
  r.total_fees = s.total_fees;
  r.orders = s.orders;
  r.stop_exits = s.stop_loss_exits;
  r.take_profit_exits = s.take_profit_exits;
  r.trailing_stop_exits = s.trailing_exits;
  r.final_value = s.prev_equity;
  r.cash = s.acct.cash;
  r.position = s.acct.position;
  *result = r;
}

std::string_view ExitReasonName(ExitReason reason) {
  switch (reason) {
    case ExitReason::kSignal:
      return "signal";
    case ExitReason::kStopLoss:
      return "stop_loss";
    case ExitReason::kTakeProfit:
      return "take_profit";
    case ExitReason::kTrailingStop:
      return "trailing_stop";
    case ExitReason::kEnd:
      return "end";
  }
  return "signal";
}

Status ValidateSignalSimOptions(const SignalSimOptions& o) {
  if (!(o.init_cash > 0) || !std::isfinite(o.init_cash)) {
    return Status::InvalidArgument("signal_sim: init_cash must be a finite number > 0, got " +
                                   Num(o.init_cash));
  }
  if (!(o.fees >= 0) || !std::isfinite(o.fees)) {
    return Status::InvalidArgument("signal_sim: fees must be a finite fraction >= 0, got " +
                                   Num(o.fees));
  }
  if (!(o.fixed_fees >= 0) || !std::isfinite(o.fixed_fees)) {
    return Status::InvalidArgument("signal_sim: fixed_fees must be finite and >= 0, got " +
                                   Num(o.fixed_fees));
  }
  if (!(o.min_fee >= 0) || !std::isfinite(o.min_fee)) {
    return Status::InvalidArgument("signal_sim: min_fee must be finite and >= 0, got " +
                                   Num(o.min_fee));
  }
  if (!(o.sell_tax >= 0 && o.sell_tax < 1)) {
    return Status::InvalidArgument("signal_sim: sell_tax must be in [0, 1), got " +
                                   Num(o.sell_tax));
  }
  if (!std::isnan(o.lot_size) && !(o.lot_size >= 0 && std::isfinite(o.lot_size))) {
    return Status::InvalidArgument(
        "signal_sim: lot_size must be NaN or 0 (fractional) or finite and > 0, got " +
        Num(o.lot_size));
  }
  if (!(o.impact_alpha >= 0) || !std::isfinite(o.impact_alpha)) {
    return Status::InvalidArgument("signal_sim: impact_alpha must be finite and >= 0, got " +
                                   Num(o.impact_alpha));
  }
  if (!(o.impact_beta > 0) || !std::isfinite(o.impact_beta)) {
    return Status::InvalidArgument("signal_sim: impact_beta must be finite and > 0, got " +
                                   Num(o.impact_beta));
  }
  if (o.hold_min_bars < 0 || o.cooldown_bars < 0) {
    return Status::InvalidArgument("signal_sim: hold_min_bars and cooldown_bars must be >= 0");
  }
  if (!(o.slippage >= 0 && o.slippage < 1)) {
    return Status::InvalidArgument("signal_sim: slippage must be in [0, 1), got " +
                                   Num(o.slippage));
  }
  const struct {
    const char* name;
    double value;
  } stops[] = {{"sl_stop", o.sl_stop}, {"tp_stop", o.tp_stop}, {"tsl_stop", o.tsl_stop}};
  for (const auto& [name, value] : stops) {
    if (!std::isnan(value) && !(value >= 0 && std::isfinite(value))) {
      return Status::InvalidArgument(std::string("signal_sim: ") + name +
                                     " must be NaN (off) or finite and >= 0, got " + Num(value));
    }
  }
  if (o.direction != SignalDirection::kLongOnly && o.direction != SignalDirection::kShortOnly &&
      o.direction != SignalDirection::kBoth) {
    return Status::InvalidArgument("signal_sim: direction must be long-only, short-only or both");
  }
  return Status::OK();
}

Status SimulateSignals(const SignalSimInputs& in, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity,
                       MetricsAccumulator* metrics, const SignalSimTrace* trace) {
  if (Status s = ValidateSignalSimOptions(options); !s.ok()) return s;
  const std::size_t n = in.price.size();
  if (in.entries.size() != n || in.exits.size() != n) {
    return Status::InvalidArgument("signal_sim: price, entries and exits differ in length");
  }
  for (std::span<const std::uint8_t> s : {in.short_entries, in.short_exits}) {
    if (!s.empty() && s.size() != n) {
      return Status::InvalidArgument(
          "signal_sim: short_entries and short_exits must be empty or as long as price");
    }
  }
  const bool short_signals = !in.short_entries.empty() || !in.short_exits.empty();
  if (short_signals && options.direction != SignalDirection::kBoth) {
    return Status::InvalidArgument(
        "signal_sim: short_entries/short_exits need direction both (long-only or short-only "
        "maps entries and exits alone)");
  }
  for (std::span<const std::uint8_t> s : {in.limit_up, in.limit_down}) {
    if (!s.empty() && s.size() != n) {
      return Status::InvalidArgument(
          "signal_sim: limit_up and limit_down must be empty or as long as price");
    }
  }
  if (!in.volume.empty() && in.volume.size() != n) {
    return Status::InvalidArgument("signal_sim: volume must be empty or as long as price");
  }
  if (options.impact_alpha > 0 && in.volume.empty()) {
    return Status::InvalidArgument("signal_sim: impact_alpha > 0 needs the volume series");
  }
  if (!equity.empty() && equity.size() != n) {
    return Status::InvalidArgument("signal_sim: equity must be empty or as long as price");
  }
  if (trace != nullptr) {
    for (std::span<double> s : {trace->traded, trace->fees, trace->exposure}) {
      if (!s.empty() && s.size() != n) {
        return Status::InvalidArgument(
            "signal_sim: trace series must be empty or as long as price");
      }
    }
  }

  SignalSimulator sim(options, short_signals, metrics, trace);
  SignalSimBars bars{.equity = equity};
  if (trace != nullptr) {
    bars.traded = trace->traded;
    bars.fees = trace->fees;
    bars.exposure = trace->exposure;
  }
  sim.Run(in, bars);
  sim.Finish(result);
  return Status::OK();
}

Status SimulateSignals(std::span<const double> price, std::span<const std::uint8_t> entries,
                       std::span<const std::uint8_t> exits, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity,
                       MetricsAccumulator* metrics, const SignalSimTrace* trace) {
  return SimulateSignals(SignalSimInputs{.price = price, .entries = entries, .exits = exits},
                         options, result, equity, metrics, trace);
}

}  // namespace qraft::engines
