#include "qraft/engines/precise/book_engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <limits>

namespace qraft::precise {
namespace {

using data::io::L2Event;
using data::io::L2Kind;
using data::io::L2Side;

constexpr Timestamp kNever = std::numeric_limits<Timestamp>::max();

std::size_t SideIndex(Side s) {
  return s == Side::kBuy ? 0 : 1;
}

// True when `price` is at or better than `limit` for an order on `side` (kNoPrice: no limit).
bool WithinLimit(Side side, PriceTicks price, PriceTicks limit) {
  return limit == kNoPrice || (side == Side::kBuy ? price <= limit : price >= limit);
}

// Applies the book part of one event to `book` (quote ticks to `quote`, the top level of each
// side, when they are the book), reporting each level change as on_change(side, price, prev,
// next).
template <class F>
void UpdateBook(OrderBook& book, PriceTicks (&quote)[2], bool quotes_as_book, const L2Event& e,
                F&& on_change) {
  switch (e.kind) {
    case L2Kind::kDelta:
    case L2Kind::kSnapshot:
      if (!quotes_as_book) {
        const auto side = static_cast<Side>(e.side);
        on_change(side, e.price, book.Set(side, e.price, e.qty), e.qty);
      }
      break;
    case L2Kind::kClear:
      if (!quotes_as_book) book.Clear();
      break;
    case L2Kind::kQuote:
      if (quotes_as_book && e.side != L2Side::kNone) {
        const auto side = static_cast<Side>(e.side);
        PriceTicks& top = quote[SideIndex(side)];
        if (top != kNoPrice && top != e.price) on_change(side, top, book.Set(side, top, 0), 0);
        on_change(side, e.price, book.Set(side, e.price, e.qty), e.qty);
        top = e.qty > 0 ? e.price : kNoPrice;
      }
      break;
    case L2Kind::kTrade:
      break;
  }
}

}  // namespace

Result<std::unique_ptr<BookEngine>> BookEngine::Create(BookEngineConfig config) {
  const Instrument& ins = config.instrument;
  if (!(ins.tick_size > 0) || !(ins.size_increment > 0) || ins.lot < 1 || !(ins.multiplier > 0)) {
    return Status::InvalidArgument(
        fmt::format("book engine: instrument '{}': tick_size, size_increment, lot and multiplier "
                    "must be > 0",
                    ins.symbol));
  }
  if (config.sample_interval <= 0) {
    return Status::InvalidArgument("book engine: sample_interval must be > 0");
  }
  QRAFT_RETURN_NOT_OK(config.latency.Validate());
  bool depth = false;
  for (std::size_t i = 0; i < config.events.size(); ++i) {
    const L2Event& e = config.events[i];
    if (i > 0 && e.local_ts < config.events[i - 1].local_ts) {
      return Status::InvalidArgument(fmt::format(
          "book engine: events: event {} (local_ts {}) is earlier than the one before it ({}); "
          "events must be in receive order",
          i, e.local_ts, config.events[i - 1].local_ts));
    }
    depth = depth || e.kind == L2Kind::kDelta || e.kind == L2Kind::kSnapshot;
  }
  if (!config.quotes_as_book) config.quotes_as_book = !depth;
  return std::unique_ptr<BookEngine>(new BookEngine(std::move(config)));
}

BookEngine::BookEngine(BookEngineConfig config)
    : config_(std::move(config)),
      quotes_as_book_(*config_.quotes_as_book),
      account_(config_.account, std::span<const Instrument>(&config_.instrument, 1)),
      latency_state_(config_.latency.seed) {
  const LatencyModel& l = config_.latency;
  shared_view_ = l.market_data == 0 && (l.kind != LatencyModel::Kind::kUniform || l.spread == 0);
}

// ---- the strategy's interface ----

OrderId BookEngine::Submit(const OrderRequest& request) {
  Order o;
  o.id = static_cast<OrderId>(orders_.size()) + 1;
  o.request = request;
  o.submitted = now_;
  orders_.push_back(o);
  state_.emplace_back();
  Push({.time = now_ + latency_state_.Draw(config_.latency, config_.latency.insert),
        .kind = EventKind::kArrive,
        .order = o.id});
  return o.id;
}

void BookEngine::Cancel(OrderId id) {
  if (id < 1 || id > static_cast<OrderId>(orders_.size())) return;
  Push({.time = now_ + latency_state_.Draw(config_.latency, config_.latency.cancel),
        .kind = EventKind::kCancel,
        .order = id});
}

void BookEngine::Replace(OrderId id, Quantity quantity, PriceTicks limit) {
  if (id < 1 || id > static_cast<OrderId>(orders_.size())) return;
  Push({.time = now_ + latency_state_.Draw(config_.latency, config_.latency.cancel),
        .kind = EventKind::kReplace,
        .order = id,
        .quantity = quantity,
        .limit = limit});
}

void BookEngine::Push(Event e) {
  e.seq = seq_++;
  events_.push(e);
}

// ---- the loop ----

Status BookEngine::Run(BookStrategy& strategy) {
  if (ran_) return Status::InvalidArgument("book engine: Run may be called once");
  ran_ = true;
  const auto& ev = config_.events;
  const std::size_t n = ev.size();
  if (n == 0) return Status::OK();
  const Timestamp last = ev.back().local_ts;
  now_ = ev.front().local_ts;
  day_ = DayNumber(now_);
  next_sample_ = now_;
  std::size_t i = 0;
  for (;;) {
    const Timestamp tm = i < n ? ev[i].local_ts : kNever;
    const Timestamp to = events_.empty() ? kNever : events_.top().time;
    const Timestamp td = inbox_.empty() ? kNever : inbox_.front().time;
    const Timestamp t = std::min({tm, to, td});
    // After the data, what is due by its last time still happens; nothing later does.
    if (t == kNever || (i == n && t > last)) break;
    while (next_sample_ < t) {
      Sample(next_sample_);
      next_sample_ += config_.sample_interval;
    }
    now_ = t;
    if (to == t) {
      const Event e = events_.top();
      events_.pop();
      ProcessOrderEvent(e);
    } else if (td == t) {
      const Delivery d = inbox_.front();
      inbox_.pop_front();
      Deliver(d, strategy);
    } else {
      std::size_t end = i;
      while (end < n && (ev[end].flags & data::io::kL2Last) == 0)
        ++end;
      end = std::min(end + 1, n);
      ApplyMessage(i, end);
      i = end;
    }
    if (dirty_) Prune();
  }
  Sample(now_);
  return Status::OK();
}

void BookEngine::ApplyMessage(std::size_t begin, std::size_t end) {
  ++messages_;
  const std::int64_t day = DayNumber(now_);
  if (day != day_) {
    day_ = day;
    for (const OrderId id : working_) {
      Order& o = orders_[static_cast<std::size_t>(id - 1)];
      if (o.status == OrderStatus::kWorking && o.request.tif == TimeInForce::kDay &&
          state(id).day < day)
        Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    }
  }
  const bool watch = !working_.empty();
  for (std::size_t k = begin; k < end; ++k) {
    const L2Event& e = config_.events[k];
    if (e.kind == L2Kind::kTrade) {
      last_trade_ = e.price;
      if (watch) OnTrade(e.price, e.qty, e.side == L2Side::kAsk ? Side::kSell : Side::kBuy);
      continue;
    }
    UpdateBook(book_, quote_, quotes_as_book_, e,
               [&](Side side, PriceTicks price, Quantity prev, Quantity next) {
                 if (watch) OnLevelChange(side, price, prev, next);
               });
  }
  if (watch) AfterMessage();
  Timestamp at = now_;
  if (!shared_view_) {
    at = std::max(last_delivery_,
                  now_ + latency_state_.Draw(config_.latency, config_.latency.market_data));
    last_delivery_ = at;
  }
  inbox_.push_back({.time = at, .begin = begin, .end = end});
}

void BookEngine::Deliver(const Delivery& d, BookStrategy& strategy) {
  if (d.end > d.begin) {
    const std::span<const L2Event> message = config_.events.subspan(d.begin, d.end - d.begin);
    if (!shared_view_) {
      for (const L2Event& e : message) {
        if (e.kind == L2Kind::kTrade) view_last_trade_ = e.price;
        UpdateBook(view_book_, view_quote_, quotes_as_book_, e,
                   [](Side, PriceTicks, Quantity, Quantity) {});
      }
    }
    const MarketView view{.time = now_,
                          .book = shared_view_ ? &book_ : &view_book_,
                          .last_trade = shared_view_ ? last_trade_ : view_last_trade_,
                          .message = message};
    strategy.OnMarket(view, *this);
  } else if (d.fill != kNone) {
    strategy.OnFill(fills_[d.fill], *this);
  } else {
    strategy.OnOrderDone(order(d.order), *this);
  }
}

// ---- orders ----

void BookEngine::ProcessOrderEvent(const Event& e) {
  Order& o = orders_[static_cast<std::size_t>(e.order - 1)];
  switch (e.kind) {
    case EventKind::kArrive:
      Arrive(o);
      return;
    case EventKind::kCancel:
      if (o.status == OrderStatus::kWorking || o.status == OrderStatus::kPending) {
        Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
      } else {
        ++late_cancels_;
      }
      return;
    case EventKind::kReplace: {
      if (o.status != OrderStatus::kWorking) {
        ++late_cancels_;
        return;
      }
      const OrderRequest& r = o.request;
      const bool limit_order =
          r.type == OrderType::kLimit || (r.type == OrderType::kStopLimit && o.triggered);
      if (!limit_order || e.quantity <= o.filled || e.quantity % config_.instrument.lot != 0 ||
          e.limit == kNoPrice || e.limit <= 0) {
        ++late_cancels_;  // not applicable: the order stays as it was
        return;
      }
      OrderState& st = state(o.id);
      const bool keep = st.resting && e.limit == r.limit && e.quantity <= r.quantity;
      o.request.quantity = e.quantity;
      o.request.limit = e.limit;
      if (keep) {
        const Quantity shown = r.display > 0 ? std::min(r.display, Remaining(o)) : Remaining(o);
        st.queue.remaining = std::min(st.queue.remaining, shown);
      } else {
        st.resting = false;
        Place(o);
      }
      return;
    }
  }
}

void BookEngine::Arrive(Order& o) {
  if (o.status != OrderStatus::kPending) return;  // cancelled in flight
  o.arrived = now_;
  o.status = OrderStatus::kWorking;
  working_.push_back(o.id);
  const OrderRequest& r = o.request;
  const bool stop = r.type == OrderType::kStopMarket || r.type == OrderType::kStopLimit;
  const bool supported = r.type == OrderType::kMarket || r.type == OrderType::kLimit || stop;
  const bool needs_limit = r.type == OrderType::kLimit || r.type == OrderType::kStopLimit;
  // Sizing at the fill (notional, target value, cash share, short budget, turnover budget) is a
  // bar concept: orders here carry their quantity.
  const bool sized_at_fill = r.notional > 0 || r.target_value >= 0 || r.cash_share > 0 ||
                             r.short_budget >= 0 || r.turnover_max > 0;
  if (r.instrument != 0 || !supported || r.quantity <= 0 || sized_at_fill || r.display < 0 ||
      (needs_limit && !(r.limit > 0)) || (stop && !(r.stop > 0))) {
    Finish(o, OrderStatus::kRejected, RejectReason::kInvalid);
    return;
  }
  if (r.quantity % config_.instrument.lot != 0) {
    Finish(o, OrderStatus::kRejected, RejectReason::kLotSize);
    return;
  }
  if (ReduceCap(o, r.quantity) == 0) {
    Finish(o, OrderStatus::kRejected, RejectReason::kReduceOnly);
    return;
  }
  state(o.id).day = DayNumber(now_);
  if (stop) {
    // A stop the market is already through triggers on arrival.
    const PriceTicks touch = r.side == Side::kBuy ? book_.BestBid() : book_.BestAsk();
    const auto through = [&](PriceTicks p) {
      return p != kNoPrice && (r.side == Side::kBuy ? p >= r.stop : p <= r.stop);
    };
    if (through(last_trade_) || through(touch)) Trigger(o);
    return;
  }
  if (r.type == OrderType::kMarket) {
    TakeMarket(o);
  } else {
    Place(o);
  }
}

void BookEngine::Trigger(Order& o) {
  o.triggered = true;
  if (o.request.type == OrderType::kStopMarket) {
    TakeMarket(o);
  } else {
    Place(o);
  }
}

void BookEngine::TakeMarket(Order& o) {
  const Side opp = Opposite(o.request.side);
  if (book_.BestPrice(opp) == kNoPrice) {
    // No book to take from (trade-only data, or an empty side): wait for a trade, unless the
    // order wants an immediate answer.
    const TimeInForce tif = o.request.tif;
    if (tif == TimeInForce::kIoc || tif == TimeInForce::kFok) {
      Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    }
    return;
  }
  if (o.request.tif == TimeInForce::kFok &&
      Available(o.request.side, kNoPrice, Remaining(o)) < Remaining(o)) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    return;
  }
  Take(o, kNoPrice);
  // A market order never rests: what the book could not give is cancelled.
  if (o.status == OrderStatus::kWorking) Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
}

void BookEngine::Place(Order& o) {
  const OrderRequest& r = o.request;
  if (r.tif == TimeInForce::kFok && Available(r.side, r.limit, Remaining(o)) < Remaining(o)) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    return;
  }
  Take(o, r.limit);
  if (o.status != OrderStatus::kWorking) return;
  if (r.tif == TimeInForce::kIoc || r.tif == TimeInForce::kFok) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    return;
  }
  Rest(o);
}

Quantity BookEngine::Available(Side side, PriceTicks limit, Quantity cap) const {
  const Side opp = Opposite(side);
  Quantity total = 0;
  for (std::size_t i = 0; total < cap; ++i) {
    const BookLevel level = book_.Level(opp, i);
    if (level.price == kNoPrice || !WithinLimit(side, level.price, limit)) break;
    total += level.qty;
  }
  return std::min(total, cap);
}

void BookEngine::Take(Order& o, PriceTicks limit) {
  const Side side = o.request.side;
  const Side opp = Opposite(side);
  // Levels are read before filling: our fills do not change the replayed book.
  for (std::size_t i = 0; o.status == OrderStatus::kWorking; ++i) {
    const BookLevel level = book_.Level(opp, i);
    if (level.price == kNoPrice || !WithinLimit(side, level.price, limit)) break;
    const Quantity q = std::min(ReduceCap(o, Remaining(o)), level.qty);
    if (q <= 0) {
      Finish(o, OrderStatus::kCancelled, RejectReason::kReduceOnly);
      break;
    }
    if (!Execute(o, q, level.price, Liquidity::kTaker)) break;
  }
}

void BookEngine::Rest(Order& o) {
  OrderState& st = state(o.id);
  const OrderRequest& r = o.request;
  const Quantity shown = r.display > 0 ? std::min(r.display, Remaining(o)) : Remaining(o);
  st.queue = config_.queue.Place(book_.QtyAt(r.side, r.limit), shown);
  st.resting = true;
}

// ---- matching ----

void BookEngine::OnLevelChange(Side side, PriceTicks price, Quantity prev, Quantity next) {
  for (const OrderId id : working_) {
    OrderState& st = state(id);
    const Order& o = orders_[static_cast<std::size_t>(id - 1)];
    if (st.resting && o.status == OrderStatus::kWorking && o.request.side == side &&
        o.request.limit == price)
      config_.queue.OnLevelChange(st.queue, prev, next);
  }
}

void BookEngine::OnTrade(PriceTicks price, Quantity qty, Side aggressor) {
  const Side hit = Opposite(aggressor);  // the resting side the trade took from
  for (std::size_t k = 0; k < working_.size(); ++k) {
    Order& o = orders_[static_cast<std::size_t>(working_[k] - 1)];
    if (o.status != OrderStatus::kWorking) continue;
    OrderState& st = state(o.id);
    const OrderRequest& r = o.request;
    if (!o.triggered && (r.type == OrderType::kStopMarket || r.type == OrderType::kStopLimit)) {
      if (r.side == Side::kBuy ? price >= r.stop : price <= r.stop) Trigger(o);
      continue;
    }
    if (!st.resting) {
      // A market order waiting for a trade (no book): fills at the print, up to its size.
      if (book_.BestPrice(Opposite(r.side)) == kNoPrice) {
        const Quantity q = std::min(ReduceCap(o, Remaining(o)), qty);
        if (q > 0) Execute(o, q, price, Liquidity::kTaker);
      }
      continue;
    }
    if (r.side != hit) continue;
    const bool through = r.side == Side::kBuy ? price < r.limit : price > r.limit;
    Quantity q = 0;
    if (through) {
      q = Remaining(o);
    } else if (price == r.limit) {
      q = config_.queue.OnTrade(st.queue, qty);
    }
    FillResting(o, q);
  }
}

void BookEngine::AfterMessage() {
  const PriceTicks bid = book_.BestBid(), ask = book_.BestAsk();
  for (std::size_t k = 0; k < working_.size(); ++k) {
    Order& o = orders_[static_cast<std::size_t>(working_[k] - 1)];
    if (o.status != OrderStatus::kWorking) continue;
    const OrderRequest& r = o.request;
    const bool buy = r.side == Side::kBuy;
    if (state(o.id).resting) {
      // The opposite best at or through our price: someone crossed us.
      const PriceTicks opp = buy ? ask : bid;
      if (opp != kNoPrice && (buy ? opp <= r.limit : opp >= r.limit)) FillResting(o, Remaining(o));
    } else if (!o.triggered &&
               (r.type == OrderType::kStopMarket || r.type == OrderType::kStopLimit)) {
      const PriceTicks touch = buy ? bid : ask;
      if (touch != kNoPrice && (buy ? touch >= r.stop : touch <= r.stop)) Trigger(o);
    } else if ((buy ? ask : bid) != kNoPrice) {
      TakeMarket(o);  // a waiting market order: the book is back
    }
  }
}

void BookEngine::FillResting(Order& o, Quantity q) {
  if (q <= 0) return;
  const Quantity cap = ReduceCap(o, q);
  if (cap <= 0) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kReduceOnly);
    return;
  }
  if (!Execute(o, cap, o.request.limit, Liquidity::kMaker)) return;
  OrderState& st = state(o.id);
  st.queue.remaining = std::max<Quantity>(0, st.queue.remaining - cap);
  // An iceberg's next slice joins the back of the level.
  if (o.status == OrderStatus::kWorking && st.queue.remaining == 0) Rest(o);
}

Quantity BookEngine::ReduceCap(const Order& o, Quantity q) const {
  if (!o.request.reduce_only) return q;
  const Quantity pos = account_.position(0).quantity;
  const Quantity room = o.request.side == Side::kSell ? pos : -pos;
  return std::clamp<Quantity>(room, 0, q);
}

bool BookEngine::Execute(Order& o, Quantity q, PriceTicks p, Liquidity liq) {
  const Instrument& ins = config_.instrument;
  const OrderRequest& r = o.request;
  OrderState& st = state(o.id);
  const double units = ins.Units(q);
  const double price = ins.Price(p);
  const double value = price * units * ins.multiplier;
  const FeeBreakdown fees = FillFees(config_.fees, r.side, liq, value, units, now_, st.commission,
                                     st.value, ins.Units(o.filled));
  marks_[0] = Mark();
  const RejectReason refused = account_.Check(0, r.side, q, price, fees.Total(), day_, marks_);
  if (refused != RejectReason::kNone) {
    Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected, refused);
    return false;
  }
  const Fill f{.order = o.id,
               .instrument = 0,
               .time = now_,
               .side = r.side,
               .liquidity = liq,
               .quantity = q,
               .market_price = p,
               .price = price,
               .commission = fees.commission,
               .stamp_duty = fees.stamp_duty,
               .transfer_fee = fees.transfer_fee,
               .exchange_fee = fees.exchange_fee,
               .slippage_cost = 0};
  account_.Apply(f, day_);
  o.avg_price = (o.avg_price * ins.Units(o.filled) + price * units) / ins.Units(o.filled + q);
  o.filled += q;
  o.fees += fees.Total();
  st.commission += fees.commission;
  st.value += value;
  fills_.push_back(f);
  inbox_.push_back({.time = DeliveryTime(), .fill = fills_.size() - 1});
  if (Remaining(o) == 0) Finish(o, OrderStatus::kFilled, RejectReason::kNone);
  return true;
}

Timestamp BookEngine::DeliveryTime() {
  if (shared_view_) return now_;
  last_delivery_ = std::max(
      last_delivery_, now_ + latency_state_.Draw(config_.latency, config_.latency.market_data));
  return last_delivery_;
}

void BookEngine::Finish(Order& o, OrderStatus status, RejectReason reason) {
  o.status = status;
  o.reject = reason;
  o.done = now_;
  state(o.id).resting = false;
  dirty_ = true;
  if (status != OrderStatus::kFilled) inbox_.push_back({.time = DeliveryTime(), .order = o.id});
}

void BookEngine::Prune() {
  std::erase_if(working_, [&](OrderId id) {
    return orders_[static_cast<std::size_t>(id - 1)].status != OrderStatus::kWorking;
  });
  dirty_ = false;
}

// ---- results ----

double BookEngine::Mark() const {
  const Instrument& ins = config_.instrument;
  const PriceTicks bid = book_.BestBid(), ask = book_.BestAsk();
  if (bid != kNoPrice && ask != kNoPrice) return 0.5 * (ins.Price(bid) + ins.Price(ask));
  if (last_trade_ != kNoPrice) return ins.Price(last_trade_);
  return std::numeric_limits<double>::quiet_NaN();
}

void BookEngine::Sample(Timestamp t) {
  marks_[0] = Mark();
  samples_.time.push_back(t);
  samples_.equity.push_back(account_.Equity(marks_));
  samples_.mark.push_back(marks_[0]);
  samples_.position.push_back(account_.position(0).quantity);
}

BookRunSummary BookEngine::Summary() const {
  BookRunSummary s;
  s.messages = messages_;
  s.events = config_.events.size();
  s.orders = orders_.size();
  s.fills = fills_.size();
  for (const Order& o : orders_) {
    s.rejected += o.status == OrderStatus::kRejected;
    s.cancelled += o.status == OrderStatus::kCancelled;
  }
  const Instrument& ins = config_.instrument;
  for (const Fill& f : fills_) {
    const double units = ins.Units(f.quantity);
    (f.liquidity == Liquidity::kMaker ? s.maker_units : s.taker_units) += units;
    s.traded += f.price * units * ins.multiplier;
    s.fees += f.Fees();
  }
  s.initial_equity = config_.account.initial_cash;
  s.final_equity = samples_.equity.empty() ? s.initial_equity : samples_.equity.back();
  s.late_cancels = late_cancels_;
  return s;
}

}  // namespace qraft::precise
