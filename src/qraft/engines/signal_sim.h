// Per-symbol signal simulator: vectorbt's Portfolio.from_signals for the common case, one symbol
// at a time over flat arrays. The sweep engine calls it for many symbols x parameter combinations
// in parallel, so it is a pure function of its inputs: no allocation, no virtual calls, no shared
// state, bit-identical results for identical inputs.
//
// Semantics (vectorbt 1.2.0, vectorbt/portfolio/nb.py: simulate_from_signal_func_nb, buy_nb,
// sell_nb; checked against vectorbt itself by signal_sim_test.cc on the golden cases of
// scripts/peers/vectorbt_golden.py) for
//   Portfolio.from_signals(price, entries, exits, size=np.inf, size_type='amount',
//                          direction='longonly', accumulate=False, init_cash, fees, fixed_fees,
//                          slippage, sl_stop)
// with every other option at vectorbt's default (price = close, no open/high/low,
// upon_long_conflict = 'ignore', stop_entry_price = 'close', stop_exit_price = 'stoplimit',
// upon_stop_exit = 'close', no cash sharing, no size granularity, min_size 0):
//
//  * One order at most per bar, filled at that bar's price p_t (the close; the fill series).
//    p_t NaN: no order can fill on bar t, and a signal on it is dropped (not carried to t+1).
//  * Stop first. With sl_stop = s set (not NaN) and a long position opened at bar e, the stop
//    level is L = p_e * (1 - s) (p_e the fill-series price of the entry bar, before slippage).
//    On a later bar t (never the entry bar itself) with p_t <= L the stop fires: the whole
//    position is sold at p_t (vectorbt treats the close as the bar's open, low and high, so a
//    stop hit is a gap through the level, filled at the "open") **without slippage**
//    (stop_exit_price = stoplimit) and with fees. A bar whose stop fires ignores its signals.
//    A stop is cleared when the position is closed.
//  * Signals otherwise. Entry and exit both true on a bar: both are ignored (conflict mode
//    'ignore'), whatever the position. Flat + entry: buy with all the cash. Long + exit: sell
//    the whole position. Long + entry, flat + exit: nothing (accumulate = False, long-only).
//  * Buy (size = all cash C): fill price b = p_t (1 + slippage); M = (C - fixed_fees) / (1 + fees)
//    is spent on shares, size = M / b, fees paid = C - M (= M fees + fixed_fees), cash after = 0.
//    M <= 0 (fixed fees eat the cash) rejects the order; C == 0 rejects it too.
//  * Sell (size = position q): fill price a = p_t (1 - slippage) (a = p_t for a stop exit),
//    proceeds V = q a, fees paid = V fees + fixed_fees, cash += V - fees. V - fees < 0 rejects
//    the order (the position is kept, and so is its stop).
//  * Cash rounding: none beyond vectorbt's own near-zero snapping, reproduced exactly: a sum
//    a + b whose terms cancel to within 1e-9 relative (1e-12 absolute) is exactly 0 (add_nb),
//    and cash or position within 1e-12 of 0 is taken as 0 before each order.
//  * Equity (vectorbt's pf.value()): E_t = cash_t + q_t * P_t, P_t the last non-NaN price up to
//    t (vectorbt's fillna_close); E_t = cash_t while flat.
//  * Counts. `orders` = filled orders (vectorbt's pf.orders.count()); `trades` = entries filled
//    (pf.trades.count(): exit trades, closed ones plus the open one at the end, if any);
//    `closed_trades` = exits filled (pf.trades.closed.count()). With accumulate = False each
//    trade is exactly one entry order and at most one exit order.
//  * Trade pnl (vectorbt's get_trade_stats_nb): q (exit price - entry price) - entry fees -
//    exit fees, with slippage-adjusted fill prices; return = pnl / (q entry price);
//    holding_bars = exit bar - entry bar.
//
// Metrics feed (optional MetricsAccumulator, docs/metrics.md): one BarRecord per bar t with
//   ret = E_t / E_{t-1} - 1 (E_{-1} = init_cash), fees = fees paid on bar t,
//   turnover = value traded on bar t (size x fill price, buys and sells both counted:
//   two-sided) / E_t, gross_exposure = q_t P_t / E_t; and one TradeRecord per closed trade, at
//   its exit (an open trade at the end is not fed). For tail metrics without allocation in the
//   loop, Reserve(n) the accumulator first.
#pragma once

#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/engines/metrics.h"

namespace qraft::engines {

struct SignalSimOptions {
  double init_cash = 100.0;  ///< starting cash (vectorbt's default 100), finite > 0
  double fees = 0.0;         ///< fraction of traded value, per order, both sides; >= 0
  double fixed_fees = 0.0;   ///< money per filled order; >= 0
  double slippage = 0.0;     ///< fraction: buys fill at p (1 + s), sells at p (1 - s); [0, 1)
  double sl_stop = std::numeric_limits<double>::quiet_NaN();  ///< stop loss fraction; NaN = off
};

/// Status::InvalidArgument naming the first bad option.
Status ValidateSignalSimOptions(const SignalSimOptions& options);

struct SignalSimResult {
  double final_value = 0.0;        ///< E_{n-1} (init_cash for n = 0)
  double cash = 0.0;               ///< cash after the last bar
  double position = 0.0;           ///< shares held after the last bar
  double total_fees = 0.0;         ///< fees of all filled orders
  std::int64_t orders = 0;         ///< filled orders (vectorbt orders.count())
  std::int64_t trades = 0;         ///< closed + open trades (vectorbt trades.count())
  std::int64_t closed_trades = 0;  ///< vectorbt trades.closed.count()
  std::int64_t stop_exits = 0;     ///< closed trades that the stop loss closed
};

/// Per-bar series a portfolio sums over its symbols; each span is empty or of length n.
struct SignalSimTrace {
  std::span<double> traded;                    ///< value bought + value sold at bar t
  std::span<double> fees;                      ///< fees paid at bar t
  std::span<double> exposure;                  ///< |position value| at bar t
  std::vector<TradeRecord>* trades = nullptr;  ///< closed trades appended as they close
};

/// Runs one symbol. `price`, `entries` and `exits` have the same length n (non-zero = signal);
/// `equity` is empty or of length n and receives E_t; `metrics`, if not null, is fed as above.
/// InvalidArgument for bad options or lengths (nothing is written then); otherwise OK.
Status SimulateSignals(std::span<const double> price, std::span<const std::uint8_t> entries,
                       std::span<const std::uint8_t> exits, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity = {},
                       MetricsAccumulator* metrics = nullptr,
                       const SignalSimTrace* trace = nullptr);

}  // namespace qraft::engines
