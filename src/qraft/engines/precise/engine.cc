#include "qraft/engines/precise/engine.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <limits>

#include "qraft/engines/precise/bar_path.h"

namespace qraft::precise {

namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

bool IsMarketLike(OrderType t) {
  return t == OrderType::kMarket || t == OrderType::kMarketOnOpen || t == OrderType::kMarketOnClose;
}

// The largest n in [0, hi] with fits(n), by bisection (deterministic); fits must hold at 0 and
// stay false once it fails.
template <class Fits>
Quantity LargestFitting(Quantity hi, Fits fits) {
  Quantity lo = 0;
  while (lo < hi) {
    const Quantity mid = lo + (hi - lo + 1) / 2;
    if (fits(mid)) {
      lo = mid;
    } else {
      hi = mid - 1;
    }
  }
  return lo;
}

}  // namespace

Result<std::unique_ptr<Engine>> Engine::Create(EngineConfig c) {
  const std::size_t T = c.calendar.size(), N = c.instruments.size();
  if (T == 0) return Status::InvalidArgument("precise engine: the calendar is empty");
  for (std::size_t t = 1; t < T; ++t) {
    if (c.calendar[t] <= c.calendar[t - 1]) {
      return Status::InvalidArgument(
          fmt::format("precise engine: calendar times must ascend (bar {})", t));
    }
  }
  if (N == 0 || c.bars.size() != N) {
    return Status::InvalidArgument(
        fmt::format("precise engine: {} instruments but {} bar series (one each, at least one)", N,
                    c.bars.size()));
  }
  if (c.bar_duration <= 0) return Status::InvalidArgument("precise engine: bar_duration <= 0");
  for (std::size_t i = 0; i < N; ++i) {
    const BarSeries& b = c.bars[i];
    const Instrument& ins = c.instruments[i];
    const auto named = [&](std::string_view what) {
      return fmt::format("precise engine: instrument {} ({}): {}", i, ins.symbol, what);
    };
    if (!(ins.tick_size > 0) || !(ins.size_increment > 0) || ins.lot < 1 || !(ins.multiplier > 0))
      return Status::InvalidArgument(
          named("tick_size, size_increment, lot and multiplier must be > 0"));
    for (const auto& [span, name] : {std::pair{b.open, "open"}, std::pair{b.high, "high"},
                                     std::pair{b.low, "low"}, std::pair{b.close, "close"}}) {
      if (span.size() != T)
        return Status::InvalidArgument(
            named(fmt::format("{} has {} bars, the calendar {}", name, span.size(), T)));
    }
    if (!b.volume.empty() && b.volume.size() != T)
      return Status::InvalidArgument(named("volume must be empty or one per bar"));
    if ((!b.limit_up.empty() && b.limit_up.size() != T) ||
        (!b.limit_down.empty() && b.limit_down.size() != T) ||
        (!b.no_buy.empty() && b.no_buy.size() != T) ||
        (!b.no_sell.empty() && b.no_sell.size() != T))
      return Status::InvalidArgument(named("limit prices and flags must be empty or one per bar"));
    if (!b.vwap.empty() && b.vwap.size() != T)
      return Status::InvalidArgument(named("vwap must be empty or one per bar"));
    if (b.vwap.empty() && (c.fill.market_fill == FillModel::MarketFill::kBarVwap || c.mark_vwap))
      return Status::InvalidArgument(named("vwap fills and vwap marks need the bars' vwap"));
    if (b.funding_time.size() != b.funding_rate.size())
      return Status::InvalidArgument(named("funding times and rates differ in length"));
    if (!std::is_sorted(b.funding_time.begin(), b.funding_time.end()))
      return Status::InvalidArgument(named("funding times must ascend"));
  }
  QRAFT_RETURN_NOT_OK(c.latency.Validate());
  const FillModel& f = c.fill;
  if (!(f.participation >= 0 && f.participation <= 1))
    return Status::InvalidArgument("precise engine: participation must be in [0, 1]");
  if (!(f.half_spread >= 0) || !(f.impact_alpha >= 0) || !(f.impact_beta > 0))
    return Status::InvalidArgument(
        "precise engine: spread and impact alpha must be >= 0, beta > 0");
  if (c.mark_point != 0 && c.mark_point != 3)
    return Status::InvalidArgument("precise engine: mark_point must be 0 (open) or 3 (close)");
  if (!(c.account.initial_cash > 0))
    return Status::InvalidArgument("precise engine: initial cash must be > 0");
  if (!(c.account.margin > 0 && c.account.margin <= 1))
    return Status::InvalidArgument("precise engine: margin must be in (0, 1]");
  return std::unique_ptr<Engine>(new Engine(std::move(c)));
}

Engine::Engine(EngineConfig config)
    : config_(std::move(config)),
      account_(config_.account, config_.instruments),
      latency_state_(config_.latency.seed),
      state_(config_.instruments.size()),
      last_(config_.instruments.size(), kNoPrice),
      marks_(config_.instruments.size(), kNaN),
      curve_marks_(config_.instruments.size(), kNaN) {
  const std::size_t T = config_.calendar.size();
  // Bars per trading day (VWAP profiles): the first day's count (1 for daily bars).
  bars_per_day_ = 1;
  while (bars_per_day_ < T && DayOf(bars_per_day_) == DayOf(0))
    ++bars_per_day_;
  if (bars_per_day_ == T && T > 1 && DayOf(T - 1) != DayOf(0)) bars_per_day_ = 1;
  series_.equity.assign(T, 0);
  series_.traded.assign(T, 0);
  series_.fees.assign(T, 0);
  series_.exposure.assign(T, 0);
}

void Engine::Push(Event e) {
  e.seq = seq_++;
  events_.push(e);
}

OrderId Engine::Submit(const OrderRequest& request) {
  Order o;
  o.id = static_cast<OrderId>(orders_.size()) + 1;
  o.request = request;
  o.submitted = now_;
  orders_.push_back(o);
  extra_.push_back({});
  Push(Event{.time = now_ + latency_state_.Draw(config_.latency, config_.latency.insert),
             .seq = 0,
             .kind = EventKind::kArrive,
             .order = o.id});
  return o.id;
}

void Engine::Cancel(OrderId id) {
  Push(Event{.time = now_ + latency_state_.Draw(config_.latency, config_.latency.cancel),
             .seq = 0,
             .kind = EventKind::kCancel,
             .order = id});
}

void Engine::Replace(OrderId id, Quantity quantity, PriceTicks limit, PriceTicks stop) {
  Push(Event{.time = now_ + latency_state_.Draw(config_.latency, config_.latency.cancel),
             .seq = 0,
             .kind = EventKind::kReplace,
             .order = id,
             .quantity = quantity,
             .limit = limit,
             .stop = stop});
}

Status Engine::Run(Strategy& strategy) {
  if (ran_) return Status::InvalidArgument("precise engine: Run may be called once");
  ran_ = true;
  strategy_ = &strategy;
  const std::size_t T = config_.calendar.size(), N = config_.instruments.size();
  for (std::size_t bar = 0; bar < T; ++bar) {
    bar_ = bar;
    closed_ = false;
    const Timestamp start = config_.calendar[bar];
    for (std::size_t i = 0; i < N; ++i) {
      const BarSeries& b = config_.bars[i];
      InstrumentState& s = state_[i];
      const double v = b.volume.empty() ? std::numeric_limits<double>::infinity() : b.volume[bar];
      s.has_bar = std::isfinite(b.open[bar]) && std::isfinite(b.high[bar]) &&
                  std::isfinite(b.low[bar]) && std::isfinite(b.close[bar]) && v > 0;
      if (s.has_bar) {
        s.path = BarPath(config_.instruments[i], b.open[bar], b.high[bar], b.low[bar], b.close[bar],
                         b.volume.empty() ? 0 : v);
        if (b.volume.empty()) {
          for (PathPoint& p : s.path)
            p.volume = std::numeric_limits<Quantity>::max() / 8;
        }
      }
    }
    for (int k = 0; k < 4; ++k) {
      const Timestamp t = start + k * (config_.bar_duration / 4);
      if (k == 0) {
        ProcessEventsUpTo(t - 1);
        now_ = t;
        SliceAlgos(bar);
      }
      ProcessEventsUpTo(t);
      now_ = t;
      for (std::size_t i = 0; i < N; ++i) {
        if (k == 0) ApplyFunding(i, t);
        if (k == 0 && !state_[i].has_bar) RejectSuspended(i);
      }
      if (turnover_pending_ > 0) {
        std::vector<std::pair<OrderId, PriceTicks>> batch;
        for (std::size_t i = 0; i < N; ++i) {
          if (!state_[i].has_bar) continue;
          for (const OrderId id : state_[i].working)
            batch.emplace_back(id, MarketPrice(i, k));
        }
        ApplyTurnoverBudgets(batch);
      }
      // Sells before buys, so that a rebalance's sales pay for its purchases at the same price
      // point (as vectorbt's call_seq auto and Qlib's exchange do).
      for (const Side side : {Side::kSell, Side::kBuy}) {
        pass_side_ = side;
        if (side == Side::kBuy) {
          buy_pass_cash_ = account_.cash();
          std::vector<std::pair<OrderId, PriceTicks>> batch;
          for (std::size_t i = 0; i < N; ++i) {
            if (!state_[i].has_bar) continue;
            for (const OrderId id : state_[i].working)
              batch.emplace_back(id, MarketPrice(i, k));
          }
          ScaleTargetBuys(batch);
        }
        for (std::size_t i = 0; i < N; ++i)
          if (state_[i].has_bar) MatchPoint(k, i, side);
      }
      for (std::size_t i = 0; i < N; ++i) {
        const InstrumentState& s = state_[i];
        if (!s.has_bar) continue;
        last_[i] = s.path[static_cast<std::size_t>(k)].price;
        marks_[i] = config_.instruments[i].Price(last_[i]);
        if (k == config_.mark_point) {
          const double v = config_.mark_vwap ? config_.bars[i].vwap[bar] : marks_[i];
          if (!config_.mark_vwap || std::isfinite(v)) curve_marks_[i] = v;
        }
      }
      if (k == 3) {
        closed_ = true;
        // The strategy sees the bar at its close plus the market-data latency; what it decides
        // with no latency at all (close fills) still belongs to this bar.
        Push(Event{.time = t + latency_state_.Draw(config_.latency, config_.latency.market_data),
                   .kind = EventKind::kDecide,
                   .bar = bar});
        ProcessEventsUpTo(t);
        if (LastBarOfDay(bar)) ExpireDay(DayOf(bar));
      }
      Deliver();
      if (k == config_.mark_point) {
        series_.equity[bar] = account_.Equity(curve_marks_);
        series_.exposure[bar] = account_.GrossExposure(curve_marks_);
      }
    }
    series_.traded[bar] = bar_traded_;
    series_.fees[bar] = bar_fees_;
    bar_traded_ = bar_fees_ = 0;
  }
  // What is still queued happens after the last bar: decisions and arrivals, no more prices.
  bar_ = T;
  ProcessEventsUpTo(std::numeric_limits<Timestamp>::max());
  // Fills delivered after the last bar's series (none: no prices) leave the series unchanged.
  strategy_ = nullptr;
  return Status::OK();
}

void Engine::ProcessEventsUpTo(Timestamp t) {
  while (!events_.empty() && events_.top().time <= t) {
    const Event e = events_.top();
    events_.pop();
    now_ = e.time;
    switch (e.kind) {
      case EventKind::kArrive:
        Arrive(e.order);
        break;
      case EventKind::kCancel: {
        Order& o = orders_[static_cast<std::size_t>(e.order - 1)];
        if (o.status == OrderStatus::kWorking || o.status == OrderStatus::kPending) {
          Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
        } else {
          ++late_cancels_;
        }
        break;
      }
      case EventKind::kReplace: {
        Order& o = orders_[static_cast<std::size_t>(e.order - 1)];
        if (o.status != OrderStatus::kWorking) {
          ++late_cancels_;
          break;
        }
        if (e.quantity > 0) o.request.quantity = std::max(e.quantity, o.filled);
        if (e.limit != kNoPrice) o.request.limit = e.limit;
        if (e.stop != kNoPrice) o.request.stop = e.stop;
        if (o.filled >= o.request.quantity) Finish(o, OrderStatus::kFilled, RejectReason::kNone);
        break;
      }
      case EventKind::kDecide:
        if (strategy_ != nullptr) strategy_->OnBar(e.bar, *this);
        break;
    }
    // Market orders filling at the last price fill together once every event of this time has
    // been seen (sells first, target buys as one batch), like the orders meeting a price point.
    if (!immediate_.empty() && (events_.empty() || events_.top().time != now_)) {
      MatchImmediate();
    }
    Deliver();
  }
}

void Engine::MatchImmediate() {
  std::vector<OrderId> ids;
  ids.swap(immediate_);
  if (turnover_pending_ > 0) {
    std::vector<std::pair<OrderId, PriceTicks>> batch;
    for (const OrderId id : ids)
      batch.emplace_back(id, last_[static_cast<std::size_t>(
                                 orders_[static_cast<std::size_t>(id - 1)].request.instrument)]);
    ApplyTurnoverBudgets(batch);
  }
  for (const Side side : {Side::kSell, Side::kBuy}) {
    pass_side_ = side;
    if (side == Side::kBuy) {
      buy_pass_cash_ = account_.cash();
      std::vector<std::pair<OrderId, PriceTicks>> batch;
      for (const OrderId id : ids)
        batch.emplace_back(id, last_[static_cast<std::size_t>(
                                   orders_[static_cast<std::size_t>(id - 1)].request.instrument)]);
      ScaleTargetBuys(batch);
    }
    for (const OrderId id : ids) {
      Order& o = orders_[static_cast<std::size_t>(id - 1)];
      if (o.status != OrderStatus::kWorking) continue;
      if (o.request.side != side && !(o.request.any_side && o.request.quantity == 0)) continue;
      const auto i = static_cast<std::size_t>(o.request.instrument);
      const InstrumentState& s = state_[i];
      TryAt(o, last_[i], last_[i], s.has_bar ? s.path[3].volume : 0, true, -1);
    }
  }
  for (std::size_t i = 0; i < state_.size(); ++i)
    Prune(i);
}

PriceTicks Engine::MarketPrice(std::size_t i, int k) const {
  if (config_.fill.market_fill != FillModel::MarketFill::kBarVwap) {
    return state_[i].path[static_cast<std::size_t>(k)].price;
  }
  const double v = config_.bars[i].vwap[std::min(bar_, config_.calendar.size() - 1)];
  return std::isfinite(v) && v > 0 ? config_.instruments[i].ToTicks(v) : kNoPrice;
}

void Engine::ScaleTargetBuys(std::span<const std::pair<OrderId, PriceTicks>> candidates) {
  // The batch: unsized target-value market orders whose target needs a buy at their price.
  struct Buy {
    Order* order;
    PriceTicks price;
    Quantity delta;
    double cost;
  };
  std::vector<Buy> buys;
  double total = 0;
  for (const auto& [id, p] : candidates) {
    Order& o = orders_[static_cast<std::size_t>(id - 1)];
    const OrderRequest& r = o.request;
    if (o.status != OrderStatus::kWorking || r.type != OrderType::kMarket || r.target_value < 0 ||
        r.quantity != 0 || p == kNoPrice)
      continue;
    if (r.any_side ? TargetSide(o, p) != Side::kBuy : r.side != Side::kBuy) continue;
    const auto i = static_cast<std::size_t>(r.instrument);
    const Instrument& ins = config_.instruments[i];
    const Quantity delta = TargetQuantity(o, p) - account_.position(i).quantity;
    if (delta <= 0 || ins.Notional(p, delta) <= r.min_notional) continue;
    const Quantity volume = state_[i].has_bar ? state_[i].path[0].volume : 0;
    const double units = ins.Units(delta);
    const double price =
        config_.fill.TakerPrice(Side::kBuy, ins.Price(p), units, ins.Units(volume) * 4);
    const double value = price * units * ins.multiplier;
    const double cost =
        value +
        FillFees(config_.fees, Side::kBuy, Liquidity::kTaker, value, units, now_, 0, 0, 0).Total();
    buys.push_back({&o, p, delta, cost});
    total += cost;
  }
  const double cash = account_.cash();
  if (buys.empty() || !(total > cash)) return;
  // More than the cash: every buy scaled by cash / total, to whole lots.
  const double k = std::max(0.0, cash) / total;
  for (Buy& b : buys) {
    const Instrument& ins =
        config_.instruments[static_cast<std::size_t>(b.order->request.instrument)];
    const Quantity q =
        static_cast<Quantity>(
            std::floor(static_cast<double>(b.delta) * k / static_cast<double>(ins.lot) + 1e-9)) *
        ins.lot;
    b.order->request.side = Side::kBuy;
    if (q <= 0) {
      Finish(*b.order, OrderStatus::kCancelled, RejectReason::kInsufficientCash);
    } else {
      b.order->request.quantity = q;
    }
  }
}

void Engine::Arrive(OrderId id) {
  Order& o = orders_[static_cast<std::size_t>(id - 1)];
  if (o.status != OrderStatus::kPending) return;  // cancelled before it arrived
  o.status = OrderStatus::kWorking;
  o.arrived = now_;
  const OrderRequest& r = o.request;
  const auto i = static_cast<std::size_t>(r.instrument);
  // Validation, once per order.
  if (r.instrument < 0 || i >= config_.instruments.size()) {
    return Finish(o, OrderStatus::kRejected, RejectReason::kInvalid);
  }
  const Instrument& ins = config_.instruments[i];
  const int sizings =
      (r.notional > 0) + (r.target_value >= 0) + (r.cash_share > 0) + (r.short_budget >= 0);
  const bool sized_at_fill = sizings > 0;
  const bool buy_only = r.notional > 0 || r.cash_share > 0;
  if (sized_at_fill ? (sizings > 1 || r.quantity != 0 || (buy_only && r.side != Side::kBuy) ||
                       (r.short_budget >= 0 && r.side != Side::kSell) ||
                       (r.cash_share > 0 ? !IsMarketLike(r.type) || r.cash_share > 1
                                         : r.type != OrderType::kMarket))
                    : r.quantity <= 0) {
    return Finish(o, OrderStatus::kRejected, RejectReason::kInvalid);
  }
  const bool needs_limit = r.type == OrderType::kLimit || r.type == OrderType::kStopLimit;
  const bool needs_stop = r.type == OrderType::kStopMarket || r.type == OrderType::kStopLimit;
  if ((needs_limit && r.limit == kNoPrice) || (needs_stop && r.stop == kNoPrice) ||
      (r.type == OrderType::kTrailingStop && !(r.trail_fraction > 0) && r.trail_ticks <= 0)) {
    return Finish(o, OrderStatus::kRejected, RejectReason::kInvalid);
  }
  if (!sized_at_fill && r.quantity % ins.lot != 0) {
    // Odd lots may only close a whole long (an A-share remainder below a lot).
    const Position& p = account_.position(i);
    if (!(r.side == Side::kSell && r.quantity == p.quantity)) {
      return Finish(o, OrderStatus::kRejected, RejectReason::kLotSize);
    }
  }
  for (const auto& [from, to] : config_.reject_windows) {
    if (now_ >= from && now_ <= to)
      return Finish(o, OrderStatus::kRejected, RejectReason::kExchange);
  }
  // The trading day a DAY order lives on: the bar whose points come next.
  const std::size_t next = closed_ ? bar_ + 1 : bar_;
  extra_[static_cast<std::size_t>(id - 1)].day =
      next < config_.calendar.size() ? DayOf(next) : std::numeric_limits<std::int64_t>::max();
  extra_[static_cast<std::size_t>(id - 1)].fresh = true;
  if (r.type == OrderType::kTrailingStop) o.trail_best = last_[i];
  if (r.type == OrderType::kTwap || r.type == OrderType::kVwap) {
    if (r.algo_bars < 1 || r.vwap_days < 1)
      return Finish(o, OrderStatus::kRejected, RejectReason::kInvalid);
    extra_[static_cast<std::size_t>(id - 1)].algo_start = next;
    algos_.push_back(id);
    return;
  }
  state_[i].working.push_back(id);
  if (r.turnover_max > 0 && r.target_value >= 0 && r.type == OrderType::kMarket) {
    extra_[static_cast<std::size_t>(id - 1)].turnover_pending = true;
    ++turnover_pending_;
  }
  // Immediate market fills at the last price (kLastPrice), while the instrument has one: with
  // the other orders arriving at this time (ProcessEventsUpTo).
  if (r.type == OrderType::kMarket &&
      config_.fill.market_fill == FillModel::MarketFill::kLastPrice && last_[i] != kNoPrice) {
    immediate_.push_back(id);
  }
}

void Engine::RejectSuspended(std::size_t instrument) {
  for (const OrderId id : state_[instrument].working) {
    Order& o = orders_[static_cast<std::size_t>(id - 1)];
    const OrderType t = o.request.type;
    const bool waits_for_open = t == OrderType::kMarketOnOpen && FirstBarOfDay(bar_);
    if (o.status == OrderStatus::kWorking && ((t == OrderType::kMarket) || waits_for_open ||
                                              (o.triggered && t == OrderType::kStopMarket))) {
      Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected,
             RejectReason::kSuspended);
    }
  }
  Prune(instrument);
}

void Engine::MatchPoint(int k, std::size_t instrument, Side side) {
  InstrumentState& s = state_[instrument];
  if (s.working.empty()) return;
  const PathPoint& pt = s.path[static_cast<std::size_t>(k)];
  const PriceTicks from =
      k == 0 ? last_[instrument] : s.path[static_cast<std::size_t>(k - 1)].price;
  // Ids only: fills may queue new orders (bracket exits), never during this loop.
  for (std::size_t j = 0; j < s.working.size(); ++j) {
    Order& o = orders_[static_cast<std::size_t>(s.working[j] - 1)];
    if (o.status != OrderStatus::kWorking) continue;
    if (o.request.side != side && !(o.request.any_side && o.request.quantity == 0)) continue;
    auto& x = extra_[static_cast<std::size_t>(o.id - 1)];
    const bool fresh = k == 0 || x.fresh || from == kNoPrice;
    TryAt(o, from, pt.price, pt.volume, fresh, k);
  }
  Prune(instrument);
}

void Engine::Prune(std::size_t instrument) {
  auto& w = state_[instrument].working;
  w.erase(std::remove_if(w.begin(), w.end(),
                         [&](OrderId id) {
                           return orders_[static_cast<std::size_t>(id - 1)].status !=
                                  OrderStatus::kWorking;
                         }),
          w.end());
}

void Engine::TryAt(Order& o, PriceTicks from, PriceTicks to, Quantity volume, bool fresh, int k) {
  auto& x = extra_[static_cast<std::size_t>(o.id - 1)];
  const bool first_try = x.fresh;
  x.fresh = false;
  const OrderRequest& r = o.request;
  const Side side = r.side;
  PriceTicks p = kNoPrice;
  Liquidity liq = Liquidity::kTaker;
  switch (r.type) {
    case OrderType::kMarket:
      if (config_.fill.market_fill == FillModel::MarketFill::kBarVwap && k >= 0) {
        p = MarketPrice(static_cast<std::size_t>(r.instrument), k);
        if (p == kNoPrice) return Finish(o, OrderStatus::kRejected, RejectReason::kSuspended);
      } else {
        p = to;
      }
      break;
    case OrderType::kLimit:
      p = LimitFill(side, r.limit, from, to, fresh);
      liq = first_try && p != kNoPrice ? Liquidity::kTaker : Liquidity::kMaker;
      break;
    case OrderType::kStopMarket:
      p = o.triggered ? to : StopTrigger(side, r.stop, from, to, fresh);
      o.triggered = o.triggered || p != kNoPrice;
      break;
    case OrderType::kStopLimit:
      if (!o.triggered) {
        const PriceTicks trigger = StopTrigger(side, r.stop, from, to, fresh);
        if (trigger == kNoPrice) break;
        o.triggered = true;
        // Marketable at the trigger: a taker fill there; otherwise it rests at the limit.
        if (side == Side::kBuy ? trigger <= r.limit : trigger >= r.limit) p = trigger;
      } else {
        p = LimitFill(side, r.limit, from, to, fresh);
        liq = Liquidity::kMaker;
      }
      break;
    case OrderType::kTrailingStop: {
      if (o.trail_best == kNoPrice) o.trail_best = fresh ? to : from;
      const Instrument& ins = config_.instruments[static_cast<std::size_t>(r.instrument)];
      const auto level = [&](PriceTicks best) {
        const PriceTicks d =
            r.trail_fraction > 0 ? ins.ToTicks(ins.Price(best) * r.trail_fraction) : r.trail_ticks;
        return side == Side::kSell ? best - d : best + d;
      };
      o.request.stop = level(o.trail_best);
      p = o.triggered ? to : StopTrigger(side, o.request.stop, from, to, fresh);
      o.triggered = o.triggered || p != kNoPrice;
      // The best price moves after the check (a level is never hit by the move that sets it).
      o.trail_best = side == Side::kSell ? std::max(o.trail_best, to) : std::min(o.trail_best, to);
      break;
    }
    case OrderType::kMarketOnOpen:
      if (k == 0 && FirstBarOfDay(bar_)) p = to;
      break;
    case OrderType::kMarketOnClose:
      if (k == 3 && LastBarOfDay(bar_)) p = to;
      break;
    case OrderType::kTwap:
    case OrderType::kVwap:
      return;  // parents never match; their children do
  }
  const bool immediate = r.tif == TimeInForce::kIoc || r.tif == TimeInForce::kFok;
  if (p == kNoPrice) {
    if (immediate && first_try && r.type != OrderType::kMarketOnOpen &&
        r.type != OrderType::kMarketOnClose) {
      Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    }
    return;
  }
  const auto i = static_cast<std::size_t>(r.instrument);
  // Daily price limits: no buy at or above limit-up, no sell at or below limit-down.
  const BarSeries& b = config_.bars[i];
  const std::size_t bar = std::min(bar_, config_.calendar.size() - 1);
  const bool blocked =
      side == Side::kBuy
          ? (!b.limit_up.empty() && b.limit_up[bar] != kNoPrice && p >= b.limit_up[bar]) ||
                (!b.no_buy.empty() && b.no_buy[bar] != 0)
          : (!b.limit_down.empty() && b.limit_down[bar] != kNoPrice && p <= b.limit_down[bar]) ||
                (!b.no_sell.empty() && b.no_sell[bar] != 0);
  if (blocked) {
    if (IsMarketLike(r.type) || immediate || (o.triggered && r.type == OrderType::kStopMarket)) {
      if (!(o.triggered && r.type == OrderType::kStopMarket)) {
        Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected,
               RejectReason::kPriceLimit);
      }
    }
    return;  // resting orders wait; a triggered stop tries again at the next point
  }
  const Instrument& ins = config_.instruments[i];
  if (o.request.quantity == 0) {  // sized at its fill (notional, target_value, cash_share, ...)
    if (r.any_side) {
      // Sells and buys are matched in separate passes over a price point: the order waits for
      // the pass of the side its target needs.
      const Side needed = TargetSide(o, p);
      if (needed != pass_side_) return;
      o.request.side = needed;
    }
    o.request.quantity = SizeAtFill(o, p, volume);
    if (o.request.quantity <= 0) {
      return r.notional > 0 || r.short_budget >= 0
                 ? Finish(o, OrderStatus::kRejected, RejectReason::kInsufficientCash)
                 : Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
    }
  }
  Quantity remaining = o.request.quantity - o.filled;
  if (r.reduce_only) {
    const Quantity pos = account_.position(i).quantity;
    const Quantity reducible =
        side == Side::kBuy ? std::max<Quantity>(0, -pos) : std::max<Quantity>(0, pos);
    if (reducible == 0) {
      return Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected,
                    RejectReason::kReduceOnly);
    }
    remaining = std::min(remaining, reducible);
  }
  Quantity q = config_.fill.Cap(volume, remaining);
  if ((r.target_value >= 0 || r.cash_share > 0) && r.side == Side::kBuy) {
    // A batch-scaled target buy, or a cash-share buy, that a minimum fee or rounding still
    // leaves above the cash is cut to what the cash pays (Qlib's Exchange does the same).
    q = std::min(q, Affordable(ins, p, volume, account_.cash()));
    if (q == 0) {
      return Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected,
                    RejectReason::kInsufficientCash);
    }
  }
  if (r.display > 0) q = std::min(q, r.display);
  if (q < remaining) q -= q % ins.lot;  // partial fills stay whole lots
  if (r.tif == TimeInForce::kFok && q < remaining) {
    return Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
  }
  if (q > 0 && !Execute(o, q, p, liq, volume)) return;
  if (o.filled >= o.request.quantity) {
    Finish(o, OrderStatus::kFilled, RejectReason::kNone);
  } else if (immediate) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
  } else if (r.reduce_only && o.filled > 0 && remaining < o.request.quantity - o.filled &&
             q == remaining) {
    Finish(o, OrderStatus::kCancelled, RejectReason::kNone);  // the position is gone
  }
}

Quantity Engine::TargetQuantity(const Order& o, PriceTicks p) const {
  const auto i = static_cast<std::size_t>(o.request.instrument);
  const Instrument& ins = config_.instruments[i];
  const double lot_value =
      ins.Price(p) * ins.size_increment * ins.multiplier * static_cast<double>(ins.lot);
  const Quantity target =
      static_cast<Quantity>(std::floor(o.request.target_value / lot_value + 1e-9)) * ins.lot;
  const double k = extra_[static_cast<std::size_t>(o.id - 1)].turnover_k;
  if (k == 1) return target;
  // The turnover budget: the change toward the target, scaled, to whole lots.
  const Quantity pos = account_.position(i).quantity;
  const Quantity change = target - pos;
  const auto lots = static_cast<Quantity>(std::floor(
      static_cast<double>(change < 0 ? -change : change) * k / static_cast<double>(ins.lot) +
      1e-9));
  return pos + (change < 0 ? -lots : lots) * ins.lot;
}

void Engine::ApplyTurnoverBudgets(std::span<const std::pair<OrderId, PriceTicks>> candidates) {
  std::vector<Order*> batch;
  double bought = 0, sold = 0, equity = 0, budget = 0;
  for (const auto& [id, p] : candidates) {
    Order& o = orders_[static_cast<std::size_t>(id - 1)];
    auto& x = extra_[static_cast<std::size_t>(id - 1)];
    const OrderRequest& r = o.request;
    if (o.status != OrderStatus::kWorking || r.type != OrderType::kMarket || r.target_value < 0 ||
        !(r.turnover_max > 0) || x.turnover_done || p == kNoPrice)
      continue;
    x.turnover_done = true;
    if (x.turnover_pending) {
      x.turnover_pending = false;
      --turnover_pending_;
    }
    batch.push_back(&o);
    const auto i = static_cast<std::size_t>(r.instrument);
    const Quantity change = TargetQuantity(o, p) - account_.position(i).quantity;
    if (change < 0 && !r.any_side && r.side == Side::kBuy) continue;  // held: buys only
    const double value = config_.instruments[i].Notional(p, change < 0 ? -change : change);
    (change > 0 ? bought : sold) += value;
    equity = r.turnover_equity;
    budget = r.turnover_max;
  }
  const double needed = equity > 0 ? std::max(bought, sold) / equity : 0.0;
  if (!(needed > budget)) return;
  for (Order* o : batch)
    extra_[static_cast<std::size_t>(o->id - 1)].turnover_k = budget / needed;
}

Side Engine::TargetSide(const Order& o, PriceTicks p) const {
  const auto i = static_cast<std::size_t>(o.request.instrument);
  return TargetQuantity(o, p) < account_.position(i).quantity ? Side::kSell : Side::kBuy;
}

Quantity Engine::SizeAtFill(const Order& o, PriceTicks p, Quantity volume) {
  const OrderRequest& r = o.request;
  const auto i = static_cast<std::size_t>(r.instrument);
  const Instrument& ins = config_.instruments[i];
  if (r.notional > 0) return Affordable(ins, p, volume, std::min(r.notional, account_.cash()));
  if (r.short_budget >= 0) {
    // vectorbt's sell-all: the long, and the short the budget and the long's proceeds pay for.
    const Quantity long_q = std::max<Quantity>(0, account_.position(i).quantity);
    const double a = ins.Price(p) * (1 - config_.fill.half_spread) * ins.multiplier;
    const double rate = SellRate(config_.fees, Liquidity::kTaker, now_);
    const double budget = r.short_budget + ins.Units(long_q) * a * (1 - rate);
    const double lot_units = ins.size_increment * static_cast<double>(ins.lot);
    const double y = budget > 0 && a > 0 ? budget / (a * (1 + rate)) / lot_units : 0.0;
    Quantity lots = static_cast<Quantity>(std::floor(y + 1e-9));
    // The closed form prices the fees proportionally; a minimum commission or a per-unit term
    // can make them larger. Then the largest short whose whole sale's fees the budget still pays:
    // short_budget + L a - y a - fees((L + y) a) >= 0, by bisection on lots (fees grow with y).
    const auto pays = [&](Quantity n) {
      const double units = ins.Units(long_q + n * ins.lot);
      const double fees =
          FillFees(config_.fees, Side::kSell, Liquidity::kTaker, units * a, units, now_, 0, 0, 0)
              .Total();
      const double left =
          r.short_budget + ins.Units(long_q) * a - static_cast<double>(n) * lot_units * a - fees;
      return left >= -1e-9 * (r.short_budget + ins.Units(long_q) * a);
    };
    if (lots > 0 && !pays(lots)) lots = LargestFitting(lots - 1, pays);
    return long_q + lots * ins.lot;
  }
  if (r.cash_share > 0) {
    const double lot_value =
        ins.Price(p) * ins.size_increment * ins.multiplier * static_cast<double>(ins.lot);
    return static_cast<Quantity>(std::floor(r.cash_share * buy_pass_cash_ / lot_value + 1e-9)) *
           ins.lot;
  }
  const Quantity target = TargetQuantity(o, p);
  const Quantity delta = target - account_.position(i).quantity;
  if (target != 0 && ins.Notional(p, std::llabs(delta)) <= r.min_notional) return 0;  // dust
  if (r.side == Side::kSell) return std::max<Quantity>(0, -delta);
  return delta <= 0 ? 0 : std::min(delta, Affordable(ins, p, volume, account_.cash()));
}

Quantity Engine::Affordable(const Instrument& ins, PriceTicks p, Quantity volume, double budget) {
  const double bar_volume = ins.Units(volume) * 4;
  const auto cost = [&](Quantity q) {
    const double units = ins.Units(q);
    const double price = config_.fill.TakerPrice(Side::kBuy, ins.Price(p), units, bar_volume);
    const double value = price * units * ins.multiplier;
    return value +
           FillFees(config_.fees, Side::kBuy, Liquidity::kTaker, value, units, now_, 0, 0, 0)
               .Total();
  };
  // The largest whole number of lots that fits, by bisection on lot counts (deterministic).
  const double unit_value = ins.Price(p) * (1 + config_.fill.half_spread) * ins.size_increment *
                            ins.multiplier * static_cast<double>(ins.lot);
  if (!(unit_value > 0) || !(budget > 0)) return 0;
  const Quantity hi = static_cast<Quantity>(std::floor(budget / unit_value)) + 1;
  return LargestFitting(hi, [&](Quantity n) { return cost(n * ins.lot) <= budget; }) * ins.lot;
}

bool Engine::Execute(Order& o, Quantity q, PriceTicks p, Liquidity liq, Quantity volume) {
  const OrderRequest& r = o.request;
  const auto i = static_cast<std::size_t>(r.instrument);
  const Instrument& ins = config_.instruments[i];
  const double units = ins.Units(q);
  const double market = ins.Price(p);
  const double price = liq == Liquidity::kTaker
                           ? config_.fill.TakerPrice(r.side, market, units, ins.Units(volume) * 4)
                           : market;
  const double value = price * units * ins.multiplier;
  auto& x = extra_[static_cast<std::size_t>(o.id - 1)];
  const FeeBreakdown fees = FillFees(config_.fees, r.side, liq, value, units, now_, x.commission,
                                     x.value, ins.Units(o.filled));
  const std::int64_t day = DayOf(std::min(bar_, config_.calendar.size() - 1));
  const RejectReason refused = account_.Check(i, r.side, q, price, fees.Total(), day, marks_);
  if (refused != RejectReason::kNone) {
    Finish(o, o.filled > 0 ? OrderStatus::kCancelled : OrderStatus::kRejected, refused);
    return false;
  }
  Fill f{.order = o.id,
         .instrument = r.instrument,
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
         .slippage_cost = std::abs(price - market) * units * ins.multiplier};
  account_.Apply(f, day);
  o.avg_price = (o.avg_price * ins.Units(o.filled) + price * units) / ins.Units(o.filled + q);
  o.filled += q;
  o.fees += f.Fees();
  x.commission += fees.commission;
  x.value += value;
  bar_traded_ += value;
  bar_fees_ += f.Fees();
  fills_.push_back(f);
  to_deliver_.push_back({fills_.size() - 1, 0});
  if (o.parent != 0) {
    Order& parent = orders_[static_cast<std::size_t>(o.parent - 1)];
    if (parent.request.type == OrderType::kTwap || parent.request.type == OrderType::kVwap) {
      parent.avg_price = (parent.avg_price * ins.Units(parent.filled) + price * units) /
                         ins.Units(parent.filled + q);
      parent.filled += q;
      parent.fees += f.Fees();
      if (parent.filled >= parent.request.quantity)
        Finish(parent, OrderStatus::kFilled, RejectReason::kNone);
    }
  }
  if (r.oco != 0) CancelOcoSiblings(o);
  if (o.filled >= r.quantity && (r.take_profit != kNoPrice || r.stop_loss != kNoPrice)) {
    brackets_.push_back(o.id);
  }
  return true;
}

void Engine::Finish(Order& o, OrderStatus status, RejectReason reason) {
  o.status = status;
  o.reject = reason;
  o.done = now_;
  if (auto& x = extra_[static_cast<std::size_t>(o.id - 1)]; x.turnover_pending) {
    x.turnover_pending = false;  // ended before its budget was applied
    --turnover_pending_;
  }
  if (status != OrderStatus::kFilled) to_deliver_.push_back({kNoFill, o.id});
  // A bracket entry cancelled after a partial fill still protects what it bought.
  if (status == OrderStatus::kCancelled && o.filled > 0 &&
      (o.request.take_profit != kNoPrice || o.request.stop_loss != kNoPrice)) {
    brackets_.push_back(o.id);
  }
}

void Engine::CancelOcoSiblings(const Order& filled) {
  const auto& w = state_[static_cast<std::size_t>(filled.request.instrument)].working;
  for (const OrderId id : w) {
    Order& o = orders_[static_cast<std::size_t>(id - 1)];
    if (o.id != filled.id && o.request.oco == filled.request.oco &&
        o.status == OrderStatus::kWorking)
      Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
  }
  // OCO siblings still in flight are cancelled when they arrive.
  for (Order& o : orders_) {
    if (o.id != filled.id && o.request.oco == filled.request.oco &&
        o.status == OrderStatus::kPending)
      Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
  }
}

void Engine::Deliver() {
  // Bracket exits first (they are the engine's, not the strategy's, reaction to a fill).
  while (!brackets_.empty()) {
    const OrderId id = brackets_.front();
    brackets_.erase(brackets_.begin());
    const Order entry = orders_[static_cast<std::size_t>(id - 1)];
    const OrderRequest& r = entry.request;
    OrderRequest exit{.instrument = r.instrument,
                      .side = Opposite(r.side),
                      .tif = TimeInForce::kGtc,
                      .quantity = entry.filled,
                      .reduce_only = true,
                      .oco = -entry.id,
                      .tag = r.tag};
    if (r.take_profit != kNoPrice) {
      OrderRequest tp = exit;
      tp.type = OrderType::kLimit;
      tp.limit = r.take_profit;
      orders_[static_cast<std::size_t>(Submit(tp) - 1)].parent = entry.id;
    }
    if (r.stop_loss != kNoPrice) {
      OrderRequest sl = exit;
      sl.type = OrderType::kStopMarket;
      sl.stop = r.stop_loss;
      orders_[static_cast<std::size_t>(Submit(sl) - 1)].parent = entry.id;
    }
  }
  if (strategy_ == nullptr) {
    to_deliver_.clear();
    return;
  }
  // Callbacks may submit orders (growing orders_): deliver copies, in the order they happened.
  for (std::size_t j = 0; j < to_deliver_.size(); ++j) {
    const auto [fill, order] = to_deliver_[j];
    if (fill != kNoFill) {
      const Fill f = fills_[fill];
      strategy_->OnFill(f, *this);
    } else {
      const Order o = orders_[static_cast<std::size_t>(order - 1)];
      strategy_->OnOrderDone(o, *this);
    }
  }
  to_deliver_.clear();
}

void Engine::SliceAlgos(std::size_t bar) {
  for (const OrderId id : algos_) {
    Order& parent = orders_[static_cast<std::size_t>(id - 1)];
    if (parent.status != OrderStatus::kWorking) continue;
    const OrderRequest& r = parent.request;
    const auto i = static_cast<std::size_t>(r.instrument);
    const Instrument& ins = config_.instruments[i];
    const std::size_t first = extra_[static_cast<std::size_t>(id - 1)].algo_start;
    const std::size_t end = first + static_cast<std::size_t>(r.algo_bars);  // exclusive
    if (bar < first) continue;
    // What is left: the parent's quantity less its fills and its children still in flight.
    Quantity in_flight = 0;
    for (const OrderId child : extra_[static_cast<std::size_t>(id - 1)].children) {
      const Order& c = orders_[static_cast<std::size_t>(child - 1)];
      if (c.status == OrderStatus::kPending || c.status == OrderStatus::kWorking)
        in_flight += c.request.quantity - c.filled;
    }
    const Quantity left = r.quantity - parent.filled - in_flight;
    if (left <= 0) continue;
    Quantity slice = 0;
    if (bar >= end) {
      // The window is over: a final market child for the rest, or the parent ends.
      if (!r.algo_finish || in_flight > 0) {
        if (in_flight == 0) Finish(parent, OrderStatus::kCancelled, RejectReason::kNone);
        continue;
      }
      slice = left;
    } else if (bar + 1 == end) {
      slice = left;
    } else {
      double share = 1.0 / static_cast<double>(end - bar);
      if (r.type == OrderType::kVwap) {
        double now_volume = 0, total = 0;
        for (std::size_t b = bar; b < end; ++b) {
          const double v = ExpectedVolume(i, b, static_cast<std::size_t>(r.vwap_days));
          if (b == bar) now_volume = v;
          total += v;
        }
        if (total > 0) share = now_volume / total;
      }
      slice = static_cast<Quantity>(std::floor(
                  static_cast<double>(left) * share / static_cast<double>(ins.lot) + 1e-9)) *
              ins.lot;
    }
    if (slice <= 0) continue;
    OrderRequest child{.instrument = r.instrument,
                       .side = r.side,
                       .type = OrderType::kMarket,
                       .tif = TimeInForce::kDay,
                       .quantity = slice,
                       .reduce_only = r.reduce_only,
                       .tag = r.tag};
    const OrderId c = Submit(child);
    orders_[static_cast<std::size_t>(c - 1)].parent = id;
    extra_[static_cast<std::size_t>(id - 1)].children.push_back(c);
  }
}

double Engine::ExpectedVolume(std::size_t instrument, std::size_t bar, std::size_t days) const {
  const std::span<const double> v = config_.bars[instrument].volume;
  if (v.empty()) return 1;
  // The same bar of the day on earlier days: bars with the same offset from their day's first.
  const std::size_t per_day = bars_per_day_;
  double sum = 0;
  std::size_t n = 0;
  for (std::size_t d = 1; d <= days && d * per_day <= bar; ++d) {
    const double x = v[bar - d * per_day];
    if (std::isfinite(x) && x > 0) {
      sum += x;
      ++n;
    }
  }
  return n > 0 ? sum / static_cast<double>(n) : 1;
}

void Engine::ExpireDay(std::int64_t day) {
  for (std::size_t i = 0; i < state_.size(); ++i) {
    for (const OrderId id : state_[i].working) {
      Order& o = orders_[static_cast<std::size_t>(id - 1)];
      const bool day_order =
          o.request.tif == TimeInForce::kDay || o.request.type == OrderType::kMarketOnClose;
      if (o.status == OrderStatus::kWorking && day_order &&
          extra_[static_cast<std::size_t>(id - 1)].day <= day) {
        Finish(o, OrderStatus::kCancelled, RejectReason::kNone);
      }
    }
    Prune(i);
  }
  Deliver();
}

void Engine::ApplyFunding(std::size_t instrument, Timestamp until) {
  const BarSeries& b = config_.bars[instrument];
  InstrumentState& s = state_[instrument];
  const Instrument& ins = config_.instruments[instrument];
  while (s.funding_next < b.funding_time.size() && b.funding_time[s.funding_next] <= until) {
    const double rate = b.funding_rate[s.funding_next++];
    const Quantity q = account_.position(instrument).quantity;
    // The mark: the last price seen, else this bar's open.
    const PriceTicks mark = last_[instrument] != kNoPrice ? last_[instrument]
                            : s.has_bar                   ? s.path[0].price
                                                          : kNoPrice;
    if (q == 0 || mark == kNoPrice || !std::isfinite(rate)) continue;
    const double payment = ins.Units(q) * ins.Price(mark) * ins.multiplier * rate;
    account_.Credit(-payment);
    funding_ += payment;
    bar_fees_ += payment;
  }
}

}  // namespace qraft::precise
