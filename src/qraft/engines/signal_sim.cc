#include "qraft/engines/signal_sim.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>

namespace qraft::engines {
namespace {

// vectorbt/utils/math_.py, with its default tolerances.
constexpr double kRelTol = 1e-9;
constexpr double kAbsTol = 1e-12;

bool IsClose(double a, double b) {
  if (std::isnan(a) || std::isnan(b) || std::isinf(a) || std::isinf(b)) return false;
  if (a == b) return true;
  return std::abs(a - b) <= std::max(kRelTol * std::max(std::abs(a), std::abs(b)), kAbsTol);
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

}  // namespace

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
  if (!(o.slippage >= 0 && o.slippage < 1)) {
    return Status::InvalidArgument("signal_sim: slippage must be in [0, 1), got " +
                                   Num(o.slippage));
  }
  if (!std::isnan(o.sl_stop) && !(o.sl_stop >= 0 && std::isfinite(o.sl_stop))) {
    return Status::InvalidArgument(
        "signal_sim: sl_stop must be NaN (off) or finite and >= 0, got " + Num(o.sl_stop));
  }
  return Status::OK();
}

Status SimulateSignals(std::span<const double> price, std::span<const std::uint8_t> entries,
                       std::span<const std::uint8_t> exits, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity,
                       MetricsAccumulator* metrics, const SignalSimTrace* trace) {
  if (Status s = ValidateSignalSimOptions(options); !s.ok()) return s;
  const std::size_t n = price.size();
  if (entries.size() != n || exits.size() != n) {
    return Status::InvalidArgument("signal_sim: price, entries and exits differ in length");
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

  const double fees = options.fees;
  const double fixed_fees = options.fixed_fees;
  const double slippage = options.slippage;
  const double sl = options.sl_stop;
  const bool use_stop = !std::isnan(sl);

  double cash = options.init_cash;
  double position = 0.0;
  double last_price = std::numeric_limits<double>::quiet_NaN();  // valuation (ffill)
  double prev_equity = options.init_cash;
  double stop_init_price = std::numeric_limits<double>::quiet_NaN();  // NaN = no stop set
  // The open trade.
  double entry_price = 0.0, entry_fees = 0.0, entry_size = 0.0;
  std::size_t entry_bar = 0;
  SignalSimResult r;

  for (std::size_t t = 0; t < n; ++t) {
    const double p = price[t];
    if (!std::isnan(p)) last_price = p;
    double bar_fees = 0.0;
    double traded = 0.0;

    // Decide the order: +1 buy with all cash, -1 sell the whole position, 0 none.
    int side = 0;
    bool stop_exit = false;
    if (use_stop && position > 0 && !std::isnan(stop_init_price)) {
      const double level = stop_init_price * (1 - sl);
      if (p <= level) {  // false for NaN p
        side = -1;
        stop_exit = true;
      }
    }
    if (!stop_exit) {
      bool is_entry = entries[t] != 0;
      bool is_exit = exits[t] != 0;
      if (is_entry && is_exit) is_entry = is_exit = false;  // ConflictMode.Ignore
      if (position > 0) {
        if (is_exit) side = -1;
      } else if (position == 0) {
        if (is_entry) side = 1;
      }
    }

    if (side != 0 && !std::isnan(p)) {
      // execute_order_nb: numerical stability.
      if (IsClose(cash, 0)) cash = 0.0;
      if (IsClose(position, 0)) position = 0.0;
      if (side > 0) {
        // buy_nb with size = inf, cash_limit = cash.
        const double adj_price = p * (1 + slippage);
        if (cash != 0) {
          const double max_req_cash = Add(cash, -fixed_fees) / (1 + fees);
          if (max_req_cash > 0) {
            const double size = max_req_cash / adj_price;
            const double fees_paid = cash - max_req_cash;
            const double new_cash = Add(cash, -cash);
            const double new_position = Add(position, size);
            if (size > 0) {  // is_less_nb(final_size, min_size = 0) rejects only negatives
              cash = new_cash;
              position = new_position;
              bar_fees += fees_paid;
              traded += size * adj_price;
              ++r.orders;
              ++r.trades;
              entry_price = adj_price;
              entry_fees = fees_paid;
              entry_size = size;
              entry_bar = t;
              if (use_stop && position != 0) stop_init_price = p;
            }
          }
        }
      } else if (position != 0) {
        // sell_nb, long-only, size = position.
        const double adj_price = stop_exit ? p : p * (1 - slippage);
        const double size = position;
        if (!IsClose(size, 0)) {
          const double acq_cash = size * adj_price;
          const double fees_paid = acq_cash * fees + fixed_fees;
          const double final_acq_cash = Add(acq_cash, -fees_paid);
          if (final_acq_cash >= 0) {
            cash = cash + final_acq_cash;
            position = Add(position, -size);
            bar_fees += fees_paid;
            traded += acq_cash;
            ++r.orders;
            ++r.closed_trades;
            if (stop_exit) ++r.stop_exits;
            const double pnl =
                Add(entry_size * adj_price, -(entry_size * entry_price)) - entry_fees - fees_paid;
            const TradeRecord trade{.pnl = pnl,
                                    .ret = pnl / (entry_size * entry_price),
                                    .holding_bars = static_cast<std::int64_t>(t - entry_bar)};
            if (metrics != nullptr) metrics->AddTrade(trade);
            if (trace != nullptr && trace->trades != nullptr) trace->trades->push_back(trade);
            if (position == 0) stop_init_price = std::numeric_limits<double>::quiet_NaN();
          }
        }
      }
    }

    r.total_fees += bar_fees;
    const double asset_value = position != 0 ? position * last_price : 0.0;
    const double e = cash + asset_value;
    if (!equity.empty()) equity[t] = e;
    if (trace != nullptr) {
      if (!trace->traded.empty()) trace->traded[t] = traded;
      if (!trace->fees.empty()) trace->fees[t] = bar_fees;
      if (!trace->exposure.empty()) trace->exposure[t] = std::abs(asset_value);
    }
    if (metrics != nullptr) {
      metrics->AddBar(BarRecord{.ret = e / prev_equity - 1,
                                .turnover = traded / e,
                                .fees = bar_fees,
                                .gross_exposure = std::abs(asset_value) / e});
    }
    prev_equity = e;
  }

  r.final_value = prev_equity;
  r.cash = cash;
  r.position = position;
  *result = r;
  return Status::OK();
}

}  // namespace qraft::engines
