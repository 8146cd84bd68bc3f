// The precise engine's event loop over bars: a deterministic, single-threaded replay of one
// backtest in which orders meet prices one event at a time, with latency, partial fills, price
// limits, T+1, fees and funding. Many backtests run in parallel, one Engine each.
//
// Components (each its own contract): BarPath (bar_path.h) turns a bar into an intrabar price
// path; FillModel (fill_model.h) says where an order meets a path segment, how much of the
// volume it may take and at what price; LatencyModel (latency.h) delays orders and market data;
// FeeSchedule (fees.h) prices each fill; Account (account.h) holds cash, positions and margin.
// The Engine owns the clock and the order book of the run and ties them together.
//
// Time. Bar t of the calendar starts at calendar[t] and lasts `bar_duration`; its four path
// points (open, first extreme, second extreme, close) are at offsets 0, 1/4, 2/4, 3/4 of it.
// Events are processed in (time, kind, sequence) order: order arrivals, cancels and strategy
// decisions queued for a time t come before the price points at t, and among themselves in the
// order they were queued. At a price point, every instrument's sells are matched before any
// buys (a rebalance's sales pay for its purchases), each side in instrument order. The strategy
// sees bar t (OnBar) at its close time plus the market-data latency, after every instrument's close
// point, and what it sends arrives after the insert latency: with zero latency a market order
// decided on bar t's close fills at bar t+1's open (or at once at bar t's close with
// FillModel::market_fill = kLastPrice).
//
// Trading days are UTC dates of the bars (A-share and US sessions fall on one UTC date). DAY
// orders expire after the last bar of the day on which they became eligible; an order arriving
// after a day's last close belongs to the next day. T+1: a position's shares bought on a day can
// be sold from the `sell_after_days`-th next trading day on.
//
// Suspension: an instrument without an open price on bar t (NaN) or without volume has no path
// there; market orders (and market-on-open/close) that meet such a bar are rejected
// (kSuspended), resting orders simply do not match.
//
// Thread-safety: an Engine is used by one thread at a time; distinct Engines are independent.
// Errors: configuration and data shape are checked once by Create (InvalidArgument); orders are
// never errors, they are rejected with a reason in the order log.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <queue>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/engines/precise/account.h"
#include "qraft/engines/precise/bar_path.h"
#include "qraft/engines/precise/fees.h"
#include "qraft/engines/precise/fill_model.h"
#include "qraft/engines/precise/latency.h"
#include "qraft/engines/precise/orders.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

/// One instrument's bars on the engine's calendar (all spans the calendar's length). Prices in
/// money per unit; volume in units (shares, coins, contracts). NaN open = no bar.
struct BarSeries {
  std::span<const double> open = {}, high = {}, low = {}, close = {}, volume = {};
  /// Optional, per bar: the day's limit prices in ticks (kNoPrice = none that bar). A buy cannot
  /// fill at or above limit_up, a sell at or below limit_down (the queue there is one-sided).
  std::span<const PriceTicks> limit_up = {}, limit_down = {};
  /// Optional, per bar: no buy / no sell may fill on the bar at all (non-zero; the fast
  /// engine's daily limit flags, or a stress scenario's lock).
  std::span<const std::uint8_t> no_buy = {}, no_sell = {};
  /// Optional, per bar: the volume-weighted average price in money (FillModel::kBarVwap; NaN =
  /// no market fill on that bar).
  std::span<const double> vwap = {};
  /// Optional: funding rates of a perpetual, ascending times. At each time, a position q pays
  /// q x mark x multiplier x rate (a positive rate debits longs and credits shorts), the mark
  /// being the last price seen.
  std::span<const Timestamp> funding_time = {};
  std::span<const double> funding_rate = {};
};

struct EngineConfig {
  std::span<const Timestamp> calendar;  ///< bar start times, ascending
  Timestamp bar_duration = kNanosPerDay;
  std::vector<Instrument> instruments;
  std::vector<BarSeries> bars;  ///< one per instrument
  AccountConfig account;
  FillModel fill;
  LatencyModel latency;
  FeeSchedule fees;
  /// The path point at which the equity curve is sampled, each instrument valued at its last
  /// price at that point: 3 = the close (after the bar's fills and the zero-latency decisions
  /// on it), 0 = the open (the fast engine's valuation with next_open fills: the last open).
  int mark_point = 3;
  /// Value the curve at each bar's vwap (the last finite one) instead of the mark point's price:
  /// the fast engine's valuation with vwap fills. Needs every instrument's BarSeries::vwap.
  bool mark_vwap = false;
  /// Stress: orders arriving at these times (ascending) are rejected by the exchange.
  std::vector<std::pair<Timestamp, Timestamp>> reject_windows;
};

class Engine;

/// What a strategy does. Callbacks run on the engine's thread, inside its event loop.
class Strategy {
 public:
  virtual ~Strategy() = default;
  /// Bar t has closed for every instrument (seen after the market-data latency).
  virtual void OnBar(std::size_t t, Engine& engine) = 0;
  /// A fill of one of its orders (after the account has been updated).
  virtual void OnFill(const Fill& fill, Engine& engine) {
    (void)fill;
    (void)engine;
  }
  /// An order reached a final state other than kFilled by its last fill (cancelled, rejected).
  virtual void OnOrderDone(const Order& order, Engine& engine) {
    (void)order;
    (void)engine;
  }
};

/// Per-bar figures of a run, sampled at EngineConfig::mark_point.
struct BarSeriesOut {
  std::vector<double> equity;    ///< account equity
  std::vector<double> traded;    ///< value traded during the bar (money)
  std::vector<double> fees;      ///< fees paid during the bar, funding included (money)
  std::vector<double> exposure;  ///< gross exposure (sum |q| x mark x multiplier)
};

class Engine {
 public:
  /// Errors: spans of the wrong length, no instruments, invalid models (each names the field).
  static Result<std::unique_ptr<Engine>> Create(EngineConfig config);

  /// Replays every bar, calling `strategy`. Once per Engine.
  Status Run(Strategy& strategy);

  // ---- the strategy's interface (valid during callbacks) ----
  /// Queues an order; it arrives after the insert latency. Returns its id (also for orders the
  /// engine rejects on arrival; see the order log).
  OrderId Submit(const OrderRequest& request);
  /// Cancels a working order when the cancel arrives (cancel latency); too late if done by then.
  void Cancel(OrderId id);
  /// Replaces the quantity and prices of a working order when the request arrives.
  void Replace(OrderId id, Quantity quantity, PriceTicks limit, PriceTicks stop);
  Timestamp now() const { return now_; }
  const Account& account() const { return account_; }
  /// The account's equity at the last prices seen.
  double equity() const { return account_.Equity(marks_); }
  const Order& order(OrderId id) const { return orders_[static_cast<std::size_t>(id - 1)]; }
  /// The last price seen of an instrument (ticks; kNoPrice before its first bar).
  PriceTicks last_price(std::int32_t instrument) const {
    return last_[static_cast<std::size_t>(instrument)];
  }
  const EngineConfig& config() const { return config_; }

  // ---- results ----
  const std::vector<Order>& orders() const { return orders_; }
  const std::vector<Fill>& fills() const { return fills_; }
  const BarSeriesOut& series() const { return series_; }
  /// Funding paid over the run (negative: received), money.
  double funding_paid() const { return funding_; }
  /// Cancels and replaces that arrived after their order was done.
  std::int64_t late_cancels() const { return late_cancels_; }

 private:
  explicit Engine(EngineConfig config);

  enum class EventKind : std::uint8_t { kArrive, kCancel, kReplace, kDecide };
  struct Event {
    Timestamp time = 0;
    std::uint64_t seq = 0;  // queue order among events of one time
    EventKind kind = EventKind::kArrive;
    OrderId order = 0;
    Quantity quantity = 0;
    PriceTicks limit = kNoPrice, stop = kNoPrice;
    std::size_t bar = 0;
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  struct InstrumentState {
    std::array<PathPoint, 4> path{};  // the current bar's, when has_bar
    bool has_bar = false;
    std::size_t funding_next = 0;
    std::vector<OrderId> working;  // ascending id
  };
  // Per order, beside the log: its trading day (kDay), whether it has not met a price since it
  // arrived, and the commission and value filled so far (per-order fee minimums).
  struct OrderExtra {
    std::int64_t day = 0;
    bool fresh = false;
    double commission = 0, value = 0;
    double turnover_k = 1;          // target_value: the turnover budget's scale of the change
    bool turnover_done = false;     // target_value with turnover_max: the budget was applied
    bool turnover_pending = false;  // counted in turnover_pending_
    std::size_t algo_start = 0;     // kTwap / kVwap: the window's first bar
    std::vector<OrderId> children;  // kTwap / kVwap: the child orders
  };
  static constexpr std::size_t kNoFill = static_cast<std::size_t>(-1);

  void Push(Event e);
  void ProcessEventsUpTo(Timestamp t);
  void Arrive(OrderId id);
  void RejectSuspended(std::size_t instrument);
  void MatchPoint(int k, std::size_t instrument, Side side);
  // Tries `o` on the segment from -> to (k: the path point; -1 = an immediate fill at the last
  // price) with `volume` increments at the point.
  void TryAt(Order& o, PriceTicks from, PriceTicks to, Quantity volume, bool fresh, int k);
  // Fills the orders waiting for the last price (kLastPrice), sells first.
  void MatchImmediate();
  // The price a market order of instrument i meets at point k of the current bar: the path's,
  // or the bar's vwap with FillModel::kBarVwap (kNoPrice when that is missing).
  PriceTicks MarketPrice(std::size_t i, int k) const;
  // The turnover budgets of the target-value orders first meeting these prices (the file
  // comment of orders.h), before any of them fills.
  void ApplyTurnoverBudgets(std::span<const std::pair<OrderId, PriceTicks>> candidates);
  // Target-value buys about to fill at the given prices, as one batch: when their total cost
  // exceeds the cash, each is scaled by cash / total to whole lots (the fast engine's rule).
  void ScaleTargetBuys(std::span<const std::pair<OrderId, PriceTicks>> candidates);
  // The whole-lot quantity a target_value order aims at, at market price p.
  Quantity TargetQuantity(const Order& o, PriceTicks p) const;
  // The side a target_value order needs at market price p.
  Side TargetSide(const Order& o, PriceTicks p) const;
  // The quantity of a notional, target_value or cash_share order at market price p.
  Quantity SizeAtFill(const Order& o, PriceTicks p, Quantity volume);
  // The most whole lots a taker buy at p can take with `budget`, fees included.
  Quantity Affordable(const Instrument& ins, PriceTicks p, Quantity volume, double budget);
  // Fills q of `o` at market price p; false when the account refuses (the order is then done).
  bool Execute(Order& o, Quantity q, PriceTicks p, Liquidity liq, Quantity volume);
  void Finish(Order& o, OrderStatus status, RejectReason reason);
  void CancelOcoSiblings(const Order& filled);
  void Prune(std::size_t instrument);
  // Submits bracket exits and calls the strategy back for what happened since the last call.
  void Deliver();
  void ExpireDay(std::int64_t day);
  // Submits this bar's child orders of the working TWAP / VWAP parents.
  void SliceAlgos(std::size_t bar);
  double ExpectedVolume(std::size_t instrument, std::size_t bar, std::size_t days) const;
  void ApplyFunding(std::size_t instrument, Timestamp until);
  std::int64_t DayOf(std::size_t bar) const { return DayNumber(config_.calendar[bar]); }
  bool FirstBarOfDay(std::size_t bar) const { return bar == 0 || DayOf(bar - 1) != DayOf(bar); }
  bool LastBarOfDay(std::size_t bar) const {
    return bar + 1 == config_.calendar.size() || DayOf(bar + 1) != DayOf(bar);
  }

  EngineConfig config_;
  Account account_;
  LatencyState latency_state_;
  std::vector<Order> orders_;
  std::vector<OrderExtra> extra_;
  std::vector<Fill> fills_;
  std::vector<InstrumentState> state_;
  std::vector<PriceTicks> last_;
  std::vector<double> marks_;        // last prices in money (NaN before the first)
  std::vector<double> curve_marks_;  // each instrument's last price at mark_point
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::vector<std::pair<std::size_t, OrderId>> to_deliver_;  // (fill index | kNoFill, order)
  std::vector<OrderId> brackets_;                            // entries whose exits are due
  std::vector<OrderId> immediate_;  // market orders waiting to fill at the last price
  std::vector<OrderId> algos_;      // TWAP / VWAP parents
  std::size_t bars_per_day_ = 1;
  Strategy* strategy_ = nullptr;
  std::uint64_t seq_ = 0;
  Timestamp now_ = 0;
  std::size_t bar_ = 0;                // the bar being replayed
  bool closed_ = false;                // its close point has been replayed
  Side pass_side_ = Side::kBuy;        // the side being matched (immediate fills: either)
  double buy_pass_cash_ = 0;           // the cash when the buys of the current point started
  std::int64_t turnover_pending_ = 0;  // working orders whose turnover budget is not applied yet
  BarSeriesOut series_;
  double bar_traded_ = 0, bar_fees_ = 0, funding_ = 0;
  std::int64_t late_cancels_ = 0;
  bool ran_ = false;
};

}  // namespace qraft::precise
