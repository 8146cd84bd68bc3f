// The precise engine on order-book data: a deterministic, single-threaded replay of one
// instrument's L2 deltas and snapshots, trade ticks and quote ticks (data::io::L2Event, as the
// readers of data/io/l2_io.h produce them) against which a strategy's orders are matched one
// event at a time, with latency, queue position, fees and an account. The bar engine (engine.h)
// is its sibling for OHLCV bars; both share the order, fill, fee, latency and account components.
//
// Clock. The data's receive time (L2Event::local_ts) is the exchange clock: the capture host is
// taken to sit at the exchange, and everything the model adds is on top of it. A message (the
// events up to one flagged kL2Last) is applied at its time. The strategy sees it, with the book as
// it then stood, market_data latency later (drawn per message, never reordering messages); fills
// and order ends reach it the same way. Its orders reach the exchange insert latency after it
// sends them, its cancels and replaces cancel latency later. At equal times, order arrivals and
// cancels come first, then what reaches the strategy, then the market data, each in queue order.
//
// Book. Deltas and snapshots rebuild an OrderBook (order_book.h). With `quotes_as_book` (on
// automatically when the data has no depth events), quote ticks are the book instead: each sets
// its side's one level. Trade-only data has no book at all.
//
// Matching. Our orders are virtual: they never change the replayed book or trades, so the market
// does not react to them (the usual assumption of L2 backtests; the size we take is bounded by
// the book, not by the prints).
//  * Taking (market orders, the marketable part of a limit order on arrival, triggered stops):
//    walks the opposite side of the book from the best level, one fill per level, at the level's
//    price, up to the order's limit. Without a book on that side (trade-only data) a market order
//    waits for the next trade and fills at its price, up to its size.
//  * Resting (limit orders; the displayed part of an iceberg): joins the back of its price level,
//    the queue ahead of it being the level's quantity then, and moves up by QueueModel
//    (queue_model.h): trades at its price fill it once the queue ahead is gone; a trade through
//    its price (a sell printing below our bid) fills all of it; so does the opposite best
//    reaching its price after a message (someone's order crossed ours). Resting fills are maker
//    fills at the order's limit. An iceberg shows `display` at a time; each refill joins the back.
//  * Stops trigger when a trade prints at or through the stop, or the same-side best gets there
//    (a buy stop: best bid >= stop), and then take (stop-market) or become a limit order.
//  * Time in force: IOC takes what it can on arrival and cancels the rest; FOK fills in full
//    from the book on arrival or cancels; DAY expires at the end of the UTC day it arrived on.
//  * Replace keeps the queue position only when the price is unchanged and the quantity does not
//    grow (the exchanges' rule); otherwise the order goes to the back of its new level.
//  * Market-on-open/close, trailing stops, TWAP/VWAP, and orders sized at their fill (notional,
//    target value, cash share, short budget) are bar concepts: on this engine they are rejected
//    (kInvalid).
//
// Accounts, fees and reduce-only behave as on the bar engine (a fill the account refuses ends the
// order). The equity curve is sampled every `sample_interval` of data time at the mark: the mid
// when both sides of the book exist, else the last trade.
//
// Thread-safety: a BookEngine is used by one thread at a time; distinct BookEngines are
// independent and may share the (read-only) events.
// Errors: the configuration is checked once by Create (InvalidArgument naming the field); orders
// are never errors, they are rejected with a reason in the order log.
#pragma once

#include <deque>
#include <memory>
#include <optional>
#include <queue>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/core/time.h"
#include "qraft/data/io/l2_io.h"
#include "qraft/engines/precise/account.h"
#include "qraft/engines/precise/fees.h"
#include "qraft/engines/precise/latency.h"
#include "qraft/engines/precise/order_book.h"
#include "qraft/engines/precise/orders.h"
#include "qraft/engines/precise/queue_model.h"
#include "qraft/engines/precise/types.h"

namespace qraft::precise {

struct BookEngineConfig {
  Instrument instrument;  ///< tick_size and size_increment must be the data's fixed-point steps
  /// One instrument's events in receive order (a reader's L2Data::events); not owned, kept alive
  /// by the caller for the run.
  std::span<const data::io::L2Event> events;
  AccountConfig account;
  LatencyModel latency;
  FeeSchedule fees;
  QueueModel queue = QueueModel::RiskAverse();
  /// Quote ticks (kQuote) set the book's top level; nullopt = when the data has no depth events.
  std::optional<bool> quotes_as_book;
  Timestamp sample_interval = kNanosPerSecond;  ///< equity curve sampling, > 0
};

class BookEngine;

/// What the strategy sees: its (market-data-delayed) view of the market.
struct MarketView {
  Timestamp time = 0;  ///< when the message reached the strategy
  const OrderBook* book = nullptr;
  PriceTicks last_trade = kNoPrice;  ///< the last trade seen (kNoPrice before the first)
  /// The message that just arrived (events of one receive time, the last flagged kL2Last).
  std::span<const data::io::L2Event> message;
};

class BookStrategy {
 public:
  virtual ~BookStrategy() = default;
  /// A market-data message has reached the strategy.
  virtual void OnMarket(const MarketView& view, BookEngine& engine) = 0;
  virtual void OnFill(const Fill& fill, BookEngine& engine) {
    (void)fill;
    (void)engine;
  }
  /// An order ended other than filled (cancelled, rejected, expired).
  virtual void OnOrderDone(const Order& order, BookEngine& engine) {
    (void)order;
    (void)engine;
  }
};

/// The equity curve, one row per sample.
struct BookSamples {
  std::vector<Timestamp> time;
  std::vector<double> equity;      ///< account equity at the mark (money)
  std::vector<double> mark;        ///< the mark (money per unit; NaN before the first price)
  std::vector<Quantity> position;  ///< signed, increments
};

/// Figures of a run.
struct BookRunSummary {
  std::size_t messages = 0, events = 0;
  std::size_t orders = 0, fills = 0, rejected = 0, cancelled = 0;
  double maker_units = 0, taker_units = 0;  ///< quantity filled as maker / taker (units)
  double traded = 0;                        ///< value traded (money)
  double fees = 0;                          ///< fees paid (money)
  double initial_equity = 0, final_equity = 0;
  std::int64_t late_cancels = 0;  ///< cancels and replaces that arrived after their order ended
};

class BookEngine {
 public:
  /// Errors: non-positive steps or sampling interval, invalid latency model, unsorted events.
  static Result<std::unique_ptr<BookEngine>> Create(BookEngineConfig config);

  /// Replays every event, calling `strategy`. Once per engine. Orders still working at the end
  /// stay kWorking in the log.
  Status Run(BookStrategy& strategy);

  // ---- the strategy's interface (valid during callbacks) ----
  /// Queues an order (instrument must be 0); it arrives after the insert latency. Returns its id.
  OrderId Submit(const OrderRequest& request);
  void Cancel(OrderId id);
  /// New quantity (total, filled part included) and limit price of a working limit order.
  void Replace(OrderId id, Quantity quantity, PriceTicks limit);
  Timestamp now() const { return now_; }
  const Account& account() const { return account_; }
  const Order& order(OrderId id) const { return orders_[static_cast<std::size_t>(id - 1)]; }
  const BookEngineConfig& config() const { return config_; }

  // ---- results ----
  const std::vector<Order>& orders() const { return orders_; }
  const std::vector<Fill>& fills() const { return fills_; }
  const BookSamples& samples() const { return samples_; }
  BookRunSummary Summary() const;

 private:
  explicit BookEngine(BookEngineConfig config);

  enum class EventKind : std::uint8_t { kArrive, kCancel, kReplace };
  struct Event {
    Timestamp time = 0;
    std::uint64_t seq = 0;
    EventKind kind = EventKind::kArrive;
    OrderId order = 0;
    Quantity quantity = 0;
    PriceTicks limit = kNoPrice;
    bool operator>(const Event& o) const { return time != o.time ? time > o.time : seq > o.seq; }
  };
  // What reaches the strategy: a message [begin, end) of the events, a fill, or an order's end.
  struct Delivery {
    Timestamp time = 0;
    std::size_t begin = 0, end = 0;  // a message when end > begin
    std::size_t fill = kNone;        // else a fill
    OrderId order = 0;               // else an order's end
  };
  struct OrderState {
    QueuePosition queue;    // resting: the shown part's place in its level
    bool resting = false;   // in the book at request.limit
    double commission = 0;  // fees so far (per-order minimums)
    double value = 0;       // value filled so far
    std::int64_t day = 0;   // kDay: the UTC day it arrived on
  };
  static constexpr std::size_t kNone = static_cast<std::size_t>(-1);

  void Push(Event e);
  void ProcessOrderEvent(const Event& e);
  void Arrive(Order& o);
  void ApplyMessage(std::size_t begin, std::size_t end);
  void Deliver(const Delivery& d, BookStrategy& strategy);
  // When what happens now reaches the strategy (market-data latency, never reordering).
  Timestamp DeliveryTime();
  // A market order (or triggered stop-market): takes the book, cancels what it cannot get;
  // waits for a trade when the side it takes from is empty.
  void TakeMarket(Order& o);
  // A limit order (or triggered stop-limit): takes what is marketable, then rests (GTC, DAY) or
  // cancels the rest (IOC); FOK first checks that the book can fill it all.
  void Place(Order& o);
  // Takes liquidity for `o` level by level up to `limit` (kNoPrice: any price).
  void Take(Order& o, PriceTicks limit);
  // What the book offers `side` up to `limit` (kNoPrice: any price), capped at `cap`.
  Quantity Available(Side side, PriceTicks limit, Quantity cap) const;
  // Puts `o` (its next shown part) at the back of its level.
  void Rest(Order& o);
  // A maker fill of q of a resting order at its limit.
  void FillResting(Order& o, Quantity q);
  void OnTrade(PriceTicks price, Quantity qty, Side aggressor);
  void OnLevelChange(Side side, PriceTicks price, Quantity prev, Quantity next);
  // After each message: crossed resting orders, stops touched, waiting market orders.
  void AfterMessage();
  void Trigger(Order& o);
  // Fills q of `o` at p; false when the account refuses it (the order is then done).
  bool Execute(Order& o, Quantity q, PriceTicks p, Liquidity liq);
  // The most of `q` a reduce-only order may still trade.
  Quantity ReduceCap(const Order& o, Quantity q) const;
  void Finish(Order& o, OrderStatus status, RejectReason reason);
  void Prune();
  void Sample(Timestamp t);
  double Mark() const;
  OrderState& state(OrderId id) { return state_[static_cast<std::size_t>(id - 1)]; }
  Quantity Remaining(const Order& o) const { return o.request.quantity - o.filled; }

  BookEngineConfig config_;
  bool quotes_as_book_ = false;
  Account account_;
  LatencyState latency_state_;
  OrderBook book_;           // the exchange's book
  OrderBook view_book_;      // the strategy's, when market data is delayed
  bool shared_view_ = true;  // no market-data latency: the strategy reads book_
  PriceTicks last_trade_ = kNoPrice, view_last_trade_ = kNoPrice;
  PriceTicks quote_[2] = {kNoPrice, kNoPrice}, view_quote_[2] = {kNoPrice, kNoPrice};
  std::vector<Order> orders_;
  std::vector<OrderState> state_;
  std::vector<Fill> fills_;
  std::vector<OrderId>
      working_;  // arrival order: resting limits, untriggered stops, waiting markets
  std::priority_queue<Event, std::vector<Event>, std::greater<>> events_;
  std::deque<Delivery> inbox_;
  std::vector<double> marks_{0.0};
  BookSamples samples_;
  Timestamp now_ = 0, next_sample_ = 0, last_delivery_ = 0;
  std::int64_t day_ = 0;
  std::uint64_t seq_ = 0;
  std::size_t messages_ = 0;
  std::int64_t late_cancels_ = 0;
  bool dirty_ = false;  // working_ holds finished orders
  bool ran_ = false;
};

}  // namespace qraft::precise
