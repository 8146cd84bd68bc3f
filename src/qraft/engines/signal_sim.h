// Per-symbol signal simulator: vectorbt's Portfolio.from_signals for the common case, one symbol
// at a time over flat arrays. The sweep engine calls it for many symbols x parameter combinations
// in parallel, so it is a pure function of its inputs: no allocation (apart from appending to the
// caller's optional record vectors), no virtual calls, no shared state, bit-identical results for
// identical inputs.
//
// Semantics (vectorbt 1.2.0, vectorbt/portfolio/nb.py: simulate_from_signals_nb,
// simulate_from_signal_func_nb, buy_nb, sell_nb, get_stop_price_nb, signals_to_size_nb,
// get_exit_trades_nb; checked against vectorbt itself by signal_sim_test.cc on the golden cases of
// scripts/peers/vectorbt_golden.py) for
//   Portfolio.from_signals(price, entries, exits, [short_entries, short_exits,]
//                          size=np.inf, size_type='amount', direction, accumulate=False,
//                          init_cash, fees, fixed_fees, slippage, sl_stop, sl_trail, tp_stop)
// with every other option at vectorbt's default (price = close, no open/high/low,
// upon_long_conflict = upon_short_conflict = 'ignore', upon_dir_conflict = 'ignore',
// upon_opposite_entry = 'reversereduce', stop_entry_price = 'close', stop_exit_price =
// 'stoplimit', upon_stop_exit = 'close', upon_stop_update = 'override', no cash sharing, no size
// granularity, min_size 0, lock_cash False, allow_partial True), plus Qraft's costs and market
// rules (minimum fee, sell tax, lots, price limits, impact, hold, cooldown; "Qraft's rules"
// below), each off by default and, off, leaving vectorbt's arithmetic bit for bit:
//
//  * One order at most per bar, filled at that bar's price p_t (the close; the fill series).
//    p_t NaN: no order can fill on bar t, and a signal on it is dropped (not carried to t+1).
//    (Qraft: likewise a bar without volume or limit-flagged for the order's side.)
//  * Signals. Each bar has four: long entry LE, long exit LX, short entry SE, short exit SX
//    (non-zero = true). Without short signals (both spans empty; vectorbt's `direction` mode),
//    `direction` maps entries/exits: kLongOnly LE = entries, LX = exits; kShortOnly SE = entries,
//    SX = exits; kBoth LE = entries, SE = exits (an exit reverses into a short, a later entry
//    back into a long: always in the market after the first signal). With short_entries and/or
//    short_exits (vectorbt's from_signals given short_entries/short_exits, which then ignores
//    `direction`; here direction must be kBoth): LE = entries, LX = exits, SE = short_entries,
//    SX = short_exits (an empty span = never).
//  * Conflicts, only when LE or SE is true (resolve_signal_conflict_nb, resolve_dir_conflict_nb,
//    resolve_opposite_entry_nb at their defaults): LE and LX both true: both dropped; SE and SX
//    both true: both dropped; then LE and SE both true: both dropped. An opposite entry
//    (reversereduce, accumulate False) is kept as is.
//  * Orders (signals_to_size_nb, accumulate False), with q the position before the bar:
//      q > 0: SE -> reverse to short (sell, all); else LX -> close the long; else nothing
//             (LE while long adds nothing);
//      q < 0: LE -> reverse to long (buy, all cash); else SX -> close the short; else nothing;
//      q = 0: LE -> open long (buy, all cash); else SE -> open short (sell, all).
//  * Stops first. Stops exist while a position is open: set when a filled order opens a position
//    or reverses it (init price I = p of that bar, before slippage: stop_entry_price = close),
//    cleared when a filled order leaves the position exactly 0, kept unchanged otherwise
//    (including when the stop's own order is rejected: it is tried again on the next bar). On a
//    later bar t (never the bar that set them) with p_t not NaN they are checked in this order,
//    the first hit wins, and a bar whose stop fires ignores its signals:
//      stop loss s (sl_stop): long  p_t <= I (1 - s),  short p_t >= I (1 + s);
//      trailing stop r (tsl_stop): long p_t <= B (1 - r), short p_t >= B (1 + r), where B is the
//        best price since the stop was set: B = I at first; after each bar's check (fired or not)
//        B = max(B, p_t) for a long, min(B, p_t) for a short (sl_trail=True in vectorbt, whose
//        high/low are the close here);
//      take profit g (tp_stop): long p_t >= I (1 + g), short p_t <= I (1 - g).
//    (each level is computed as vectorbt does, I x (1 - s) etc., with the factor rounded first.)
//    A hit orders the whole position closed at p_t (vectorbt treats the close as the bar's open,
//    low and high, so a hit is a gap through the level, filled at the "open") **without
//    slippage** (stop_exit_price = stoplimit; Qraft's impact applies) and with fees, as "close a
//    long" / "close a short" below (a short may be bought back only in part); upon_stop_exit =
//    close: never a reversal. vectorbt has one stop loss that is fixed or trailing (sl_stop,
//    sl_trail) beside tp_stop, and checks it before the take profit; Qraft's stop loss and trailing
//    stop may both be set (the DSL's stop_loss and trailing_stop): the position is then closed at
//    the tighter of the two levels, which vectorbt reproduces with an adjust_sl_func_nb (the golden
//    cases do).
//  * Buy, all cash (buy_nb, size = inf, direction both; opens a long or reverses a short):
//    C = cash; C == 0 rejects. Fill price b = p_t (1 + slippage); M = (C - fixed_fees) /
//    (1 + fees) is spent (Qraft: C - fixed_fees - min_fee when M x fees < min_fee): M <= 0
//    rejects; size = M / b, fees paid = C - M, cash after = 0 (Qraft: with lots or impact, the
//    search of "Sizing" below). From a short q < 0 the shares first buy the short back and the
//    rest (if any) is the new long; fewer shares than |q| only reduce the short.
//  * Sell, all (sell_nb, size = inf as 100% "percent", direction both; opens a short or reverses
//    a long): fill price a = p_t (1 - slippage); L = max(q, 0) the long to sell;
//    F = free_cash + L a (1 - fees - sell_tax). F <= 0: rejected if q <= 0, else size = L (the
//    long is closed, no short is opened); F > 0: size = L + y, y = (F - fixed_fees) / (a (1 +
//    fees + sell_tax)) (vectorbt's at sell_tax 0), rejected if <= 0; Qraft, min_fee > 0: y is at
//    most (free_cash + L a (1 - sell_tax) - fixed_fees - min_fee) / (a (1 + sell_tax)) (either
//    way the free cash after the sale stays >= 0); with lots or impact y is searched ("Sizing");
//    y < 0 (the cash does not even pay the fixed fee) sells part of the long, Lots(L + y). Then
//    V = size a, fees paid = fee(V) (below), cash += V - fees (V - fees < 0 rejects). Opening a
//    short from flat with no costs: size = cash / a, and cash doubles (the proceeds are kept).
//  * Close a long (sell_nb, size = q, direction longonly): a = p_t (1 - slippage) (a = p_t for a
//    stop exit), V = q a, fees paid = fee(V), cash += V - fees; V - fees < 0 rejects the order
//    (the position is kept, and so is its stop).
//  * Close a short (buy_nb, size = |q|, direction shortonly): b = p_t (1 + slippage) (b = p_t for
//    a stop exit); cost K = |q| b + fee(|q| b). K <= cash (or within 1e-9 relative): the whole
//    short is bought back, cash -= K. Otherwise only part, with all the cash: M as for "buy, all
//    cash" (M <= 0 rejects), size = M / b, fees paid = cash - M, cash after = 0 (Qraft: with
//    lots or impact, "Sizing", at most |q|); the rest of the short stays open (a partial exit)
//    with its stops, and, the cash being 0, later orders to buy it back are rejected.
//  * Short-sale accounting (vectorbt's debt and free_cash; they only size short sales, above).
//    Both start at debt = 0, free_cash = init_cash. A buy of s shares costing K (cash paid,
//    fees included) from a short q < 0: the part that buys the short back, c = s if the short
//    remains, else |q|, releases D = c x debt / |q|: debt -= D, free_cash += 2 D - K; from
//    q >= 0: free_cash -= K. A sell of s shares with net proceeds N (V - fees) that leaves a
//    short q' < 0: its short part c = s if q < 0, else |q'|, at value S = c a: debt += S,
//    free_cash += N - 2 S; otherwise free_cash += N. (So free_cash = cash on long-only runs.)
//  * Qraft's rules (beyond vectorbt; each off by default):
//    - Fees: an order of value V pays fee(V) = max(fees x V, min_fee) + fixed_fees, and a sell
//      (sell all, close a long) also sell_tax x V, all in its fees (vectorbt's V fees +
//      fixed_fees at min_fee = sell_tax = 0). Buys pay no tax.
//    - Tradable bar: an order fills on bar t only if p_t is not NaN, the volume v_t (when the
//      volume series is given) is finite and > 0, and limit_up_t = 0 for a buy (buy all, close a
//      short), limit_down_t = 0 for a sell (sell all, close a long). Otherwise it is rejected
//      as any order: position and stops unchanged, a signal dropped (not carried), a stop
//      checked again on the next bar (it fills there if that bar's price still hits its level:
//      a stop is re-checked, not pending).
//    - Impact (impact_alpha > 0; needs the volume): x shares fill at b(x) = p_t (1 + s + h(x))
//      (buys) or a(x) = p_t max(0, 1 - s - h(x)) (sells), h(x) = impact_alpha (x / v_t)^
//      impact_beta, s the slippage. Stop exits pay impact but no slippage (s = 0). v_t is the
//      fill bar's own volume, the fast engine's proxy (as weights_sim); h is not capped.
//    - Lots (lot_size > 0): Lots(x) = floor(x / lot + 1e-9) x lot (weights_sim's). Buys with all
//      cash, short sales (the short part y of a sell all) and partial covers are whole lots;
//      closing a whole position (close a long, a cover the cash pays, the long part of a
//      reversal) trades exactly the position, already whole lots. An order rounded to 0 shares
//      is rejected (so is a sell all with no long whose short part rounds to 0).
//    - Sizing with lots or impact (vectorbt's closed forms no longer give the size): a buy with
//      all the cash C (and a partial cover, also x <= |q|) is the largest x <= X0 (whole lots)
//      with x b(x) + fee(x b(x)) <= C, X0 = M / (p_t (1 + s)) the size without lots and impact;
//      the short part of a sell all is the largest y <= y0 (whole lots), y0 its size without
//      lots and impact, with a(L + y) > 0 and free_cash + (V - fees) - 2 y a >= 0 at the
//      order's own price (the free cash stays >= 0). Both by binary search over lot counts
//      (trying the largest first), or without lots by 64 bisection steps on [0, bound]:
//      deterministic, and what is found always fits (a buy leaves cash >= 0; with bisection a
//      residue of about 2^-64 of the cash stays). Impact can only lower the size: a lower short
//      sale price would let more shares fit the free cash, which is not taken.
//    - Hold (hold_min_bars H): a position opened or reversed on bar e ignores, on bars t < e + H,
//      the signals that would close or reverse it (exit, opposite entry; dropped, not carried);
//      stops still apply; a partial cover keeps e.
//    - Cooldown (cooldown_bars K): after a fill leaves the position flat on bar x (exit signal,
//      stop or full cover), entry signals on bars x + 1 .. x + K are ignored: the next entry
//      fills on bar x + K + 1 at the earliest (weights_sim blocks only after stop exits).
//  * Cash rounding: none beyond vectorbt's own near-zero snapping, reproduced exactly: a sum
//    a + b whose terms cancel to within 1e-9 relative (1e-12 absolute) is exactly 0 (add_nb),
//    and cash, position, debt and free cash within 1e-12 of 0 are taken as 0 whenever an order is
//    tried (also when its price is NaN).
//  * Equity (vectorbt's pf.value()): E_t = cash_t + q_t * P_t, P_t the last non-NaN price up to
//    t (vectorbt's fillna_close); E_t = cash_t while flat. A short's q_t is negative: a short that
//    rallies can make E_t negative (cash never is).
//  * Trades are vectorbt's exit trades (get_exit_trades_nb), built from the filled orders in the
//    same pass: a trade opens with a fill while flat; a fill against it closes it (within 1e-9
//    relative of its size), or closes part of it (a partial exit: one closed record, and the
//    rest is scaled down and goes on as the open trade), or is larger and reverses it (one
//    closed record of the old trade's size, whose exit fees are that fraction of the order's
//    fees, and a new trade with the rest of the order, its fees and its bar). Per record of size
//    x: entry price e = entry value / entry size (vectorbt's size-weighted average), entry fees =
//    (x / entry size) x entry fees of the trade, pnl = x (exit - e) (sign flipped for a short;
//    sums within 1e-9 relative are 0, add_nb) - entry fees - exit fees, return = pnl / (x e).
//    A trade still open after the last bar is one more record (status open, exit fees 0), valued
//    at the last non-NaN price (vectorbt uses the raw last close, NaN if the last bar is NaN;
//    the golden cases never end on NaN).
//  * Counts. `orders` = filled orders (vectorbt's pf.orders.count()); `closed_trades` = closed
//    records (pf.trades.closed.count()); `trades` = closed_trades + 1 if a trade is open at the
//    end (pf.trades.count()).
//
// Metrics feed (optional MetricsAccumulator, docs/metrics.md): one BarRecord per bar t with
//   ret = E_t / E_{t-1} - 1 (E_{-1} = init_cash), fees = fees paid on bar t,
//   turnover = value traded on bar t (size x fill price, buys and sells both counted:
//   two-sided) / E_t, gross_exposure = |q_t P_t| / E_t; and one TradeRecord per closed record, at
//   its exit (an open trade at the end is not fed): pnl = x (exit - f) (sign flipped for a
//   short, add_nb) - entry fees - exit fees, f the fill price of the trade's entry order, return
//   = pnl / (x f), holding_bars = exit bar - entry bar. f equals vectorbt's entry price e up to
//   rounding (e = (x f) / x), so a TradeRecord's pnl can differ from its SignalTrade's in the last
//   bit; the TradeRecord keeps the arithmetic the feed has always had. For tail metrics without
//   allocation in the loop, Reserve(n) the accumulator first.
//
// Not reproduced (Qraft does not use them; vectorbt's defaults above are): accumulate, other
// conflict / opposite-entry / stop-exit modes, stop_entry_price other than close,
// stop_exit_price other than stoplimit, open/high/low bars, size types other than all cash, cash
// sharing, lock_cash, min_size, size_granularity, reject_prob, signal or order callbacks.
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <span>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/engines/metrics.h"

namespace qraft::engines {

/// Which positions the entries/exits open (vectorbt's `direction`; see the rules above).
enum class SignalDirection : std::uint8_t {
  kLongOnly,   ///< entries open longs, exits close them
  kShortOnly,  ///< entries open shorts, exits close them
  kBoth,       ///< entries go long, exits go short; with short signals: all four as given
};

struct SignalSimOptions {
  double init_cash = 100.0;  ///< starting cash (vectorbt's default 100), finite > 0
  double fees = 0.0;         ///< fraction of traded value, per order, both sides; >= 0
  double fixed_fees = 0.0;   ///< money per filled order; >= 0
  double slippage = 0.0;     ///< fraction: buys fill at p (1 + s), sells at p (1 - s); [0, 1)
  double sl_stop = std::numeric_limits<double>::quiet_NaN();   ///< stop loss fraction; NaN = off
  double tp_stop = std::numeric_limits<double>::quiet_NaN();   ///< take profit fraction; NaN = off
  double tsl_stop = std::numeric_limits<double>::quiet_NaN();  ///< trailing stop; NaN = off
  SignalDirection direction = SignalDirection::kLongOnly;
  /// Qraft's extensions beyond vectorbt ("Qraft's rules" above), every direction. At
  /// their defaults the arithmetic is vectorbt's, bit for bit.
  double min_fee = 0.0;   ///< money per order: fee = max(fees x value, min_fee); >= 0
  double sell_tax = 0.0;  ///< fraction of every sell's value (stamp duty), in its fees; [0, 1)
  double lot_size = std::numeric_limits<double>::quiet_NaN();  ///< shares per lot, > 0; NaN or 0
                                                               ///< = fractional shares
  double impact_alpha = 0.0;  ///< impact = alpha x (shares / volume)^beta, fraction of p; >= 0;
                              ///< > 0 needs SignalSimInputs::volume
  double impact_beta = 0.5;   ///< > 0
  std::int64_t hold_min_bars = 0;  ///< bars before an exit signal / opposite entry acts, >= 0
  std::int64_t cooldown_bars = 0;  ///< bars after a close during which entries are ignored, >= 0
};

/// Status::InvalidArgument naming the first bad option.
Status ValidateSignalSimOptions(const SignalSimOptions& options);

/// The per-bar inputs of one symbol, all of length n (non-zero = signal).
struct SignalSimInputs {
  std::span<const double> price = {};                ///< fill and valuation price (the close)
  std::span<const std::uint8_t> entries = {};        ///< see SignalDirection
  std::span<const std::uint8_t> exits = {};          ///< see SignalDirection
  std::span<const std::uint8_t> short_entries = {};  ///< empty or length n (direction kBoth)
  std::span<const std::uint8_t> short_exits = {};    ///< empty or length n (direction kBoth)
  /// Optional (empty = none), length n: shares traded on the bar; impact, and a bar whose volume
  /// is not finite and > 0 fills nothing.
  std::span<const double> volume = {};
  std::span<const std::uint8_t> limit_up = {};    ///< non-zero: no buy fills on that bar
  std::span<const std::uint8_t> limit_down = {};  ///< non-zero: no sell fills on that bar
};

struct SignalSimResult {
  double final_value = 0.0;              ///< E_{n-1} (init_cash for n = 0)
  double cash = 0.0;                     ///< cash after the last bar
  double position = 0.0;                 ///< shares held after the last bar (< 0: short)
  double total_fees = 0.0;               ///< fees of all filled orders
  std::int64_t orders = 0;               ///< filled orders (vectorbt orders.count())
  std::int64_t trades = 0;               ///< closed + open trades (vectorbt trades.count())
  std::int64_t closed_trades = 0;        ///< vectorbt trades.closed.count()
  std::int64_t stop_exits = 0;           ///< closed trades that the stop loss (sl_stop) closed
  std::int64_t take_profit_exits = 0;    ///< closed trades that tp_stop closed
  std::int64_t trailing_stop_exits = 0;  ///< closed trades that tsl_stop closed
};

enum class TradeDirection : std::uint8_t { kLong, kShort };

/// Why a trade record ended.
enum class ExitReason : std::uint8_t {
  kSignal,        ///< an exit signal, or the opposite entry that reversed the position
  kStopLoss,      ///< sl_stop
  kTakeProfit,    ///< tp_stop
  kTrailingStop,  ///< tsl_stop
  kEnd,           ///< still open after the last bar
};

/// "signal", "stop_loss", "take_profit", "trailing_stop", "end".
std::string_view ExitReasonName(ExitReason reason);

/// One of vectorbt's exit-trade records (see "Trades" above). Prices are fill prices (after
/// slippage); money is net of fees.
struct SignalTrade {
  TradeDirection direction = TradeDirection::kLong;
  ExitReason reason = ExitReason::kSignal;
  std::int64_t entry_bar = 0;  ///< bar of the order that opened the trade
  std::int64_t exit_bar = -1;  ///< bar of the order that closed this record; -1 = open at end
  double size = 0.0;           ///< shares, > 0
  double entry_price = 0.0;    ///< vectorbt's entry price (entry value / entry size)
  double exit_price = 0.0;     ///< exit fill price; the last non-NaN price if open
  double entry_fees = 0.0;     ///< this record's share of the entry fees
  double exit_fees = 0.0;      ///< this record's share of the exit order's fees; 0 if open
  double pnl = 0.0;            ///< net of entry and exit fees
  double ret = 0.0;            ///< pnl / (size x entry_price)
};

/// Per-bar series a portfolio sums over its symbols; each span is empty or of length n.
struct SignalSimTrace {
  std::span<double> traded = {};                  ///< value bought + value sold at bar t
  std::span<double> fees = {};                    ///< fees paid at bar t
  std::span<double> exposure = {};                ///< |position value| at bar t
  std::vector<TradeRecord>* trades = nullptr;     ///< closed trades appended as they close
  std::vector<SignalTrade>* trade_log = nullptr;  ///< every record appended, the open one last
};

/// Per-bar outputs of a run or of one chunk of it; each span is empty (not wanted) or as long as
/// the bars run.
struct SignalSimBars {
  std::span<double> equity = {};    ///< E_t
  std::span<double> traded = {};    ///< value bought + value sold at bar t
  std::span<double> fees = {};      ///< fees paid at bar t
  std::span<double> exposure = {};  ///< |position value| at bar t
  std::span<double> turnover = {};  ///< traded / E_t (0 without a fill: no division then)
};

/// The simulator as a resumable state machine, for callers that fold each stretch of bars into
/// metrics while it is in cache instead of writing whole series (the minute-bar sweep: four
/// series of 2.6M bars per combination made it memory-bound). Run over consecutive chunks
/// [0, a), [a, b), ... then Finish gives, bit for bit, what one SimulateSignals call over all
/// the bars gives: the state carried between chunks is exactly the loop's.
///
/// Thread-safety: a value; one simulator from one thread at a time.
class SignalSimulator {
 public:
  /// REQUIRES: ValidateSignalSimOptions(options).ok(), and direction kBoth when short_signals
  /// (short series will be given). `metrics` and `trace` (its record vectors; its per-bar spans
  /// are not used) are borrowed for the simulator's lifetime, may be null, and receive what
  /// SimulateSignals gives them.
  SignalSimulator(const SignalSimOptions& options, bool short_signals,
                  MetricsAccumulator* metrics = nullptr, const SignalSimTrace* trace = nullptr);
  SignalSimulator(SignalSimulator&&) noexcept;
  SignalSimulator& operator=(SignalSimulator&&) noexcept;
  ~SignalSimulator();

  /// Runs the next chunk of bars. REQUIRES: every span of `chunk` and `out` as long as
  /// chunk.price or empty as SignalSimInputs and SignalSimBars allow (the short series: empty
  /// exactly when short_signals is false or that series is never true; volume not empty when
  /// impact_alpha > 0), the same choice of empty spans in every chunk.
  void Run(const SignalSimInputs& chunk, const SignalSimBars& out);
  /// Bars run so far.
  std::size_t bars() const;
  /// The result of the bars run so far (appends the open trade's record to the trade log, so
  /// call it once).
  void Finish(SignalSimResult* result) const;

 private:
  struct State;
  std::unique_ptr<State> state_;
};

/// Runs one symbol. `equity` is empty or of length n and receives E_t; `metrics`, if not null,
/// is fed as above; `trace`, if not null, receives what it asks for. InvalidArgument for bad
/// options, lengths, short signals without direction kBoth, or impact_alpha > 0 without volume
/// (nothing is written then); otherwise OK.
Status SimulateSignals(const SignalSimInputs& inputs, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity = {},
                       MetricsAccumulator* metrics = nullptr,
                       const SignalSimTrace* trace = nullptr);

/// Entries and exits only (no short signals): the same as SimulateSignals({price, entries,
/// exits}, ...).
Status SimulateSignals(std::span<const double> price, std::span<const std::uint8_t> entries,
                       std::span<const std::uint8_t> exits, const SignalSimOptions& options,
                       SignalSimResult* result, std::span<double> equity = {},
                       MetricsAccumulator* metrics = nullptr,
                       const SignalSimTrace* trace = nullptr);

}  // namespace qraft::engines
