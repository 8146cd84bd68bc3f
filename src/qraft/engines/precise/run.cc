#include "qraft/engines/precise/run.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>
#include <map>

#include "qraft/core/file_io.h"
#include "qraft/core/version.h"
#include "qraft/data/io/arrow_io.h"
#include "qraft/data/market.h"
#include "qraft/engines/portfolio_sim.h"
#include "qraft/engines/study.h"

namespace qraft::precise {

namespace {

using engines::kNaN;
using strategy::StrategySpec;

// Exit reasons, as order tags.
enum Tag : std::int64_t {
  kSignal = 1,
  kStopLoss,
  kTakeProfit,
  kTrailingStop,
  kRebalance,
  kDrawdown
};

std::string_view TagReason(std::int64_t tag) {
  switch (tag) {
    case kStopLoss:
      return "stop_loss";
    case kTakeProfit:
      return "take_profit";
    case kTrailingStop:
      return "trailing_stop";
    case kRebalance:
      return "rebalance";
    case kDrawdown:
      return "drawdown";
    default:
      return "signal";
  }
}

double Resolve(const std::optional<strategy::Num>& n, const strategy::ParamValues& params,
               double absent) {
  return n ? n->Resolve(params) : absent;
}

// The bar a time falls in (the last bar starting at or before it).
std::size_t BarOf(std::span<const Timestamp> calendar, Timestamp t) {
  const auto it = std::upper_bound(calendar.begin(), calendar.end(), t);
  return it == calendar.begin() ? 0 : static_cast<std::size_t>(it - calendar.begin()) - 1;
}

// Each symbol's entry bar: the bar of the fill that opened its long position (-1 while flat).
class EntryBars {
 public:
  explicit EntryBars(std::size_t symbols) : bar_(symbols, -1) {}
  void OnFill(const Fill& f, const Engine& engine) {
    const auto s = static_cast<std::size_t>(f.instrument);
    const Quantity q = engine.account().position(s).quantity;
    if (f.side == Side::kBuy && q == f.quantity) {
      bar_[s] = static_cast<std::int64_t>(BarOf(engine.config().calendar, f.time));
    }
    if (q == 0) bar_[s] = -1;
  }
  std::int64_t& operator[](std::size_t s) { return bar_[s]; }

 private:
  std::vector<std::int64_t> bar_;
};

// The decisions of the fast engine traded order by order (see run.h).
class SignalStrategy : public Strategy {
 public:
  struct Rules {
    double stop_loss = kNaN, take_profit = kNaN, trailing_stop = kNaN;
    std::int64_t hold_bars = 0, cooldown_bars = 0;
    std::size_t shift = 1;  // fill bar - decision bar
  };

  SignalStrategy(const engines::Decisions& d, std::size_t symbols, std::size_t bars, double sleeve,
                 const Rules& rules)
      : d_(d),
        S_(symbols),
        T_(bars),
        rules_(rules),
        cash_(symbols, sleeve),
        free_cash_(symbols, sleeve),
        debt_(symbols, 0.0),
        state_(symbols) {}

  void OnBar(std::size_t t, Engine& engine) override {
    const auto flag = [&](const std::vector<std::uint8_t>& v, std::size_t s) {
      return !v.empty() && v[s * T_ + t] != 0;
    };
    for (std::size_t s = 0; s < S_; ++s) {
      Sleeve& x = state_[s];
      if (x.in_flight != 0) continue;  // its last order has not finished yet
      const auto i = static_cast<std::int32_t>(s);
      const Quantity q = engine.account().position(s).quantity;
      bool le = flag(d_.long_entry, s), lx = flag(d_.long_exit, s);
      bool se = flag(d_.short_entry, s), sx = flag(d_.short_exit, s);
      // vectorbt's conflicts, only when an entry is present: an entry with its own exit is
      // dropped with it, then opposite entries drop each other.
      if (le || se) {
        if (le && lx) le = lx = false;
        if (se && sx) se = sx = false;
        if (le && se) le = se = false;
      }
      const auto fill_bar = static_cast<std::int64_t>(t + rules_.shift);
      const bool may_close = fill_bar >= x.entry_bar + rules_.hold_bars;
      const OrderRequest market{.instrument = i,
                                .side = Side::kBuy,
                                .type = OrderType::kMarket,
                                .tif = TimeInForce::kDay,
                                .tag = kSignal};
      OrderRequest order = market;
      if (q > 0 && (se || lx) && may_close) {
        // Reverse into a short (vectorbt's sell-all), or close the long.
        order.side = Side::kSell;
        if (se) {
          order.short_budget = free_cash_[s];
        } else {
          order.quantity = q;
        }
      } else if (q < 0 && (le || sx) && may_close) {
        // Reverse into a long with all the cash, or buy the short back.
        if (le) {
          order.notional = cash_[s];
        } else {
          order.quantity = -q;
        }
      } else if (q == 0 && (le || se) &&
                 (x.flat_bar < 0 || fill_bar > x.flat_bar + rules_.cooldown_bars)) {
        if (le && cash_[s] > 0) {
          order.notional = cash_[s];
        } else if (se) {
          order.side = Side::kSell;
          order.short_budget = free_cash_[s];
        } else {
          continue;
        }
      } else {
        if (q != 0 && !x.protected_) Protect(engine, s, q);
        continue;
      }
      CancelProtection(engine, x);
      x.in_flight = engine.Submit(order);
    }
  }

  void OnFill(const Fill& f, Engine& engine) override {
    const auto s = static_cast<std::size_t>(f.instrument);
    Sleeve& x = state_[s];
    const Instrument& ins = engine.config().instruments[s];
    const double value = f.price * ins.Units(f.quantity) * ins.multiplier;
    const bool buy = f.side == Side::kBuy;
    cash_[s] += (buy ? -value : value) - f.Fees();
    const Quantity after = engine.account().position(s).quantity;
    const Quantity before = after + (buy ? -f.quantity : f.quantity);
    // vectorbt's debt and free cash, which size short sales (signal_sim.h).
    if (buy) {
      const double cost = value + f.Fees();
      if (before < 0) {
        const Quantity covered = after < 0 ? f.quantity : -before;
        const double released =
            debt_[s] * static_cast<double>(covered) / static_cast<double>(-before);
        debt_[s] -= released;
        free_cash_[s] += 2 * released - cost;
      } else {
        free_cash_[s] -= cost;
      }
    } else {
      const double net = value - f.Fees();
      if (after < 0) {
        const Quantity shorted = before < 0 ? f.quantity : -after;
        const double sold = f.price * ins.Units(shorted) * ins.multiplier;
        debt_[s] += sold;
        free_cash_[s] += net - 2 * sold;
      } else {
        free_cash_[s] += net;
      }
    }
    const auto bar = static_cast<std::int64_t>(BarOf(engine.config().calendar, f.time));
    if ((before == 0 && after != 0) || (before > 0 && after < 0) || (before < 0 && after > 0)) {
      x.entry_bar = bar;  // opened or reversed
      x.entry_price = ins.Price(f.market_price);
      x.protected_ = false;
    }
    const Order& o = engine.order(f.order);
    if (o.status == OrderStatus::kFilled && x.in_flight == f.order) x.in_flight = 0;
    if (after == 0) {
      x.flat_bar = bar;
      x.protected_ = false;
      x.protection.clear();  // the exit signal cancelled them, or the OCO group
    }
  }

  void OnOrderDone(const Order& o, Engine& engine) override {
    (void)engine;
    Sleeve& x = state_[static_cast<std::size_t>(o.request.instrument)];
    if (x.in_flight == o.id) x.in_flight = 0;
  }

 private:
  struct Sleeve {
    OrderId in_flight = 0;
    std::int64_t entry_bar = 0, flat_bar = -1;
    double entry_price = 0;
    bool protected_ = false;
    std::int64_t oco = 0;
    std::vector<OrderId> protection;
  };

  // The risk rules as resting orders of one OCO group, on the side that closes q.
  void Protect(Engine& engine, std::size_t s, Quantity q) {
    Sleeve& x = state_[s];
    x.protected_ = true;
    const Instrument& ins = engine.config().instruments[s];
    const auto i = static_cast<std::int32_t>(s);
    const bool long_ = q > 0;
    const double sign = long_ ? 1 : -1;  // a long's stop is below, a short's above
    x.oco = static_cast<std::int64_t>(s) + 1 + static_cast<std::int64_t>(S_) * ++episodes_;
    OrderRequest exit{.instrument = i,
                      .side = long_ ? Side::kSell : Side::kBuy,
                      .tif = TimeInForce::kGtc,
                      .quantity = long_ ? q : -q,
                      .reduce_only = true,
                      .oco = x.oco};
    x.protection.clear();
    if (std::isfinite(rules_.stop_loss)) {
      OrderRequest o = exit;
      o.type = OrderType::kStopMarket;
      o.stop = ins.ToTicks(x.entry_price * (1 - sign * rules_.stop_loss));
      o.tag = kStopLoss;
      x.protection.push_back(engine.Submit(o));
    }
    if (std::isfinite(rules_.take_profit)) {
      OrderRequest o = exit;
      o.type = OrderType::kLimit;
      o.limit = ins.ToTicks(x.entry_price * (1 + sign * rules_.take_profit));
      o.tag = kTakeProfit;
      x.protection.push_back(engine.Submit(o));
    }
    if (std::isfinite(rules_.trailing_stop)) {
      OrderRequest o = exit;
      o.type = OrderType::kTrailingStop;
      o.trail_fraction = rules_.trailing_stop;
      o.tag = kTrailingStop;
      x.protection.push_back(engine.Submit(o));
    }
  }

  static void CancelProtection(Engine& engine, Sleeve& x) {
    for (const OrderId id : x.protection) {
      const OrderStatus st = engine.order(id).status;
      if (st == OrderStatus::kWorking || st == OrderStatus::kPending) engine.Cancel(id);
    }
    x.protection.clear();
  }

  const engines::Decisions& d_;
  std::size_t S_, T_;
  Rules rules_;
  std::vector<double> cash_;       // each sleeve's cash, from its fills
  std::vector<double> free_cash_;  // vectorbt's free cash and debt: the short sales' budget
  std::vector<double> debt_;
  std::vector<Sleeve> state_;
  std::int64_t episodes_ = 0;
};

// A selection strategy (topk, quantile, threshold; any weight scheme and caps; the weights
// engine's risk rules) traded as target values, with the weights engine's rules (weights_sim.h),
// checked at each close:
//  * stops on held names: stop_loss at A (1 - s), trailing_stop at M (1 - r), take_profit at
//    A (1 + g), A the holding's average buy fill price, M its highest close since the entry bar;
//    a hit sells the whole position at the next fill (tried again while refused), and after it
//    fills on bar x the name is not eligible at decisions before x + cooldown_days;
//  * the drawdown breaker: equity below (1 - max_drawdown) of its peak sells everything and
//    halts decisions for cooldown_days bars (the peak restarts from the halted equity);
//  * at each rebalance bar with a finite score, engines::TargetWeights picks and weighs the
//    eligible names (finite score and close > 0, no exit pending, not blocked), and every symbol
//    gets a market order toward weight x equity (0 for the others), sized at its fill price
//    (OrderRequest::target_value), with turnover_max the engine's turnover budget over the
//    rebalance at the fill prices (OrderRequest::turnover_max). A name bought less than
//    hold.min_days fill bars ago is only ever bought, never sold.
class SelectionStrategy : public Strategy {
 public:
  struct Rules {
    std::int64_t hold_bars = 0;
    std::size_t shift = 1;
  };
  /// `inputs` (score, close, group) and `options` (selection, weights, risk) must outlive it.
  SelectionStrategy(const engines::Decisions& d, const engines::WeightsSimInputs& inputs,
                    const engines::WeightsSimOptions& options, double initial_cash,
                    const Rules& rules)
      : d_(d),
        o_(options),
        close_(inputs.close),
        S_(static_cast<std::size_t>(inputs.symbols)),
        T_(static_cast<std::size_t>(inputs.bars)),
        rules_(rules),
        weights_(inputs, options),
        entry_bar_(S_),
        in_flight_(S_, 0),
        held_(S_),
        peak_(initial_cash) {}

  void OnBar(std::size_t t, Engine& engine) override {
    const auto u = static_cast<std::int64_t>(t);
    Stops(t, engine);
    const double equity = engine.equity();
    Breaker(u, equity, engine);
    SubmitExits(engine);
    if (u <= halt_until_ || (!d_.rebalance.empty() && d_.rebalance[t] == 0)) return;
    std::vector<std::size_t>& eligible = weights_.candidates();
    eligible.clear();
    bool any_score = false;
    for (std::size_t s = 0; s < S_; ++s) {
      const double score = d_.score[s * T_ + t], c = close_[s * T_ + t];
      if (!std::isfinite(score)) continue;
      any_score = true;
      if (held_[s].exiting || held_[s].blocked_until >= u) continue;
      if (std::isfinite(c) && c > 0) eligible.push_back(s);
    }
    if (!any_score) return;  // no data: positions are kept
    weights_.Compute(u);
    std::vector<double> weight(S_, 0.0);
    const std::span<const std::size_t> selected = weights_.selected();
    for (std::size_t k = 0; k < selected.size(); ++k)
      weight[selected[k]] = weights_.weights()[k];
    const auto fill_bar = static_cast<std::int64_t>(t + rules_.shift);
    const double turnover_max = std::isfinite(o_.turnover_max) ? o_.turnover_max : 0.0;
    // Each symbol's value now and its target.
    std::vector<double> value(S_, 0.0), target(S_, 0.0);
    for (std::size_t s = 0; s < S_; ++s) {
      const Quantity q = engine.account().position(s).quantity;
      const double c = close_[s * T_ + t];
      value[s] = q != 0 && std::isfinite(c) ? engine.config().instruments[s].Units(q) * c : 0.0;
      target[s] = weight[s] * equity;
    }
    // Orders that may sell go first (with fills at once at the close, the order they fill in).
    std::vector<std::pair<bool, std::size_t>> order;
    for (std::size_t s = 0; s < S_; ++s) {
      const Quantity q = engine.account().position(s).quantity;
      if (in_flight_[s] != 0 || held_[s].exiting || (q == 0 && weight[s] == 0)) continue;
      order.emplace_back(!(target[s] < value[s]), s);
    }
    std::stable_sort(order.begin(), order.end());
    for (const auto& [buy_first, s] : order) {
      (void)buy_first;
      const bool may_sell = entry_bar_[s] < 0 || fill_bar >= entry_bar_[s] + rules_.hold_bars;
      in_flight_[s] = engine.Submit(OrderRequest{.instrument = static_cast<std::int32_t>(s),
                                                 .side = Side::kBuy,
                                                 .type = OrderType::kMarket,
                                                 .tif = TimeInForce::kDay,
                                                 .target_value = target[s],
                                                 .any_side = may_sell,
                                                 .min_notional = 1e-9 * equity,
                                                 .turnover_max = turnover_max,
                                                 .turnover_equity = equity,
                                                 .tag = kRebalance});
    }
  }

  void OnFill(const Fill& f, Engine& engine) override {
    entry_bar_.OnFill(f, engine);
    const auto s = static_cast<std::size_t>(f.instrument);
    Holding& h = held_[s];
    const Quantity q = engine.account().position(s).quantity;
    const double units = engine.config().instruments[s].Units(f.quantity);
    if (f.side == Side::kBuy) {
      if (q == f.quantity) h = Holding{.blocked_until = h.blocked_until};  // a new holding
      h.buy_value += f.price * units;
      h.buy_units += units;
    }
    if (q == 0) {
      // A stop exit blocks re-entry; a drawdown exit is covered by the halt.
      const auto bar = static_cast<std::int64_t>(BarOf(engine.config().calendar, f.time));
      if (h.exiting && h.reason != kDrawdown) h.blocked_until = bar + o_.cooldown_bars - 1;
      h = Holding{.blocked_until = h.blocked_until};
    }
    if (engine.order(f.order).status == OrderStatus::kFilled && in_flight_[s] == f.order)
      in_flight_[s] = 0;
  }

  void OnOrderDone(const Order& o, Engine&) override {
    const auto s = static_cast<std::size_t>(o.request.instrument);
    if (in_flight_[s] == o.id) in_flight_[s] = 0;  // a refused exit is tried again
  }

 private:
  struct Holding {
    double buy_value = 0, buy_units = 0;  // the holding's buys at fill prices
    double peak_close = std::numeric_limits<double>::quiet_NaN();
    bool exiting = false;
    std::int64_t reason = kRebalance;
    std::int64_t blocked_until = -1;  // not eligible at decisions on bars <= this
  };

  // The stops of the held names at bar t's close, in the weights engine's priority.
  void Stops(std::size_t t, Engine& engine) {
    for (std::size_t s = 0; s < S_; ++s) {
      Holding& h = held_[s];
      const double c = close_[s * T_ + t];
      if (engine.account().position(s).quantity <= 0 || !std::isfinite(c)) continue;
      h.peak_close = std::isnan(h.peak_close) ? c : std::max(h.peak_close, c);
      if (h.exiting || !(h.buy_units > 0)) continue;
      const double a = h.buy_value / h.buy_units;
      std::int64_t hit = 0;
      if (std::isfinite(o_.stop_loss) && c <= a * (1 - o_.stop_loss)) {
        hit = kStopLoss;
      } else if (std::isfinite(o_.trailing_stop) && c <= h.peak_close * (1 - o_.trailing_stop)) {
        hit = kTrailingStop;
      } else if (std::isfinite(o_.take_profit) && c >= a * (1 + o_.take_profit)) {
        hit = kTakeProfit;
      }
      if (hit != 0) h.exiting = true, h.reason = hit;
    }
  }

  void Breaker(std::int64_t u, double equity, Engine& engine) {
    if (!std::isfinite(o_.max_drawdown)) return;
    if (u <= halt_until_) {
      peak_ = equity;
      return;
    }
    peak_ = std::max(peak_, equity);
    if (!(equity < (1 - o_.max_drawdown) * peak_)) return;
    halt_until_ = u + o_.cooldown_bars;
    for (std::size_t s = 0; s < S_; ++s) {
      if (engine.account().position(s).quantity > 0 && !held_[s].exiting) {
        held_[s].exiting = true;
        held_[s].reason = kDrawdown;
      }
    }
  }

  // Sells the whole position of every name with an exit pending and nothing in flight.
  void SubmitExits(Engine& engine) {
    for (std::size_t s = 0; s < S_; ++s) {
      const Quantity q = engine.account().position(s).quantity;
      if (!held_[s].exiting || in_flight_[s] != 0 || q <= 0) continue;
      in_flight_[s] = engine.Submit(OrderRequest{.instrument = static_cast<std::int32_t>(s),
                                                 .side = Side::kSell,
                                                 .type = OrderType::kMarket,
                                                 .tif = TimeInForce::kDay,
                                                 .quantity = q,
                                                 .tag = held_[s].reason});
    }
  }

  const engines::Decisions& d_;
  const engines::WeightsSimOptions& o_;
  std::span<const double> close_;
  std::size_t S_, T_;
  Rules rules_;
  engines::TargetWeights weights_;
  EntryBars entry_bar_;
  std::vector<OrderId> in_flight_;
  std::vector<Holding> held_;
  double peak_;
  std::int64_t halt_until_ = -1;
};

// Qlib's TopkDropout (selection.n_drop) order by order. At the close of bar t the weights
// engine's twin, engines::TopkDropoutDecision, decides on bar t's scores (the fast engine uses
// them to deal bar t + 1): each held name to sell gets an order for its whole position, unless
// it was bought fewer than hold_thresh bars before the fill bar; each name to buy a buy of
// risk_degree / |buys| of the cash after the sells (OrderRequest::cash_share). Orders that meet
// a suspended or limit-locked bar are refused, as Qlib skips them. Execution next_open: market
// orders at bar t + 1's open; close: market-on-close orders at bar t + 1's close (Qlib's deal).
class DropoutStrategy : public Strategy {
 public:
  DropoutStrategy(const engines::Decisions& d, const engines::TopkDropoutOptions& options,
                  std::size_t S, std::size_t T, bool close_fill)
      : d_(d),
        o_(options),
        S_(S),
        T_(T),
        type_(close_fill ? OrderType::kMarketOnClose : OrderType::kMarket),
        ranking_(engines::RankScores(d.score, static_cast<std::int64_t>(S),
                                     static_cast<std::int64_t>(T))),
        decision_(static_cast<std::int64_t>(S), options),
        entry_bar_(S) {}

  void OnBar(std::size_t t, Engine& engine) override {
    const std::span<const std::int32_t> ranked(
        ranking_.order.data() + ranking_.offset[t],
        static_cast<std::size_t>(ranking_.offset[t + 1] - ranking_.offset[t]));
    if (ranked.empty()) return;  // no scores: no decision (Qlib's get_signal returns None)
    held_.clear();
    for (std::size_t s = 0; s < S_; ++s) {
      if (engine.account().position(s).quantity <= 0) continue;
      held_.push_back(static_cast<std::int64_t>(s));
      // Bought at this bar's close: the fill is delivered after this call.
      if (entry_bar_[s] < 0) entry_bar_[s] = static_cast<std::int64_t>(t);
    }
    decision_.Decide(
        ranked, held_, d_.score, static_cast<std::int64_t>(T_), static_cast<std::int64_t>(t),
        [&](std::int64_t s) {
          return engine.account().position(static_cast<std::size_t>(s)).quantity > 0;
        },
        [](std::int64_t) { return true; });
    const auto fill_bar = static_cast<std::int64_t>(t + 1);
    for (const std::int64_t s : decision_.sells()) {
      const auto i = static_cast<std::size_t>(s);
      if (fill_bar - entry_bar_[i] < o_.hold_thresh) continue;
      engine.Submit(OrderRequest{.instrument = static_cast<std::int32_t>(s),
                                 .side = Side::kSell,
                                 .type = type_,
                                 .tif = TimeInForce::kDay,
                                 .quantity = engine.account().position(i).quantity,
                                 .tag = kRebalance});
    }
    const std::span<const std::int64_t> buys = decision_.buys();
    for (const std::int64_t s : buys) {
      engine.Submit(OrderRequest{.instrument = static_cast<std::int32_t>(s),
                                 .side = Side::kBuy,
                                 .type = type_,
                                 .tif = TimeInForce::kDay,
                                 .cash_share = o_.risk_degree / static_cast<double>(buys.size()),
                                 .tag = kRebalance});
    }
  }

  void OnFill(const Fill& f, Engine& engine) override { entry_bar_.OnFill(f, engine); }

 private:
  const engines::Decisions& d_;
  engines::TopkDropoutOptions o_;
  std::size_t S_, T_;
  OrderType type_;
  engines::ScoreRanking ranking_;
  engines::TopkDropoutDecision decision_;
  EntryBars entry_bar_;
  std::vector<std::int64_t> held_;
};

// The pack's daily limit prices of one symbol, per bar (kNoPrice where none): the previous
// finite close x (1 +- limit), to the nearest tick, with the limit of data::PriceLimitOn: the
// ST limit where `is_st` (a data field; empty = never) is non-zero, none in the no-limit days
// after a listing. The listing is the first bar with a close, when that is not the data's first
// bar (a symbol with data from the start has an unknown listing: no exemption).
void LimitPrices(const data::MarketSpec& pack, const Instrument& ins, const Calendar& cal,
                 std::span<const double> close, std::span<const double> is_st,
                 std::vector<PriceTicks>* up, std::vector<PriceTicks>* down) {
  up->assign(cal.size(), kNoPrice);
  down->assign(cal.size(), kNoPrice);
  double prev = kNaN;
  std::int64_t days = -1;  // trading days since the listing; -1 = unknown
  for (std::size_t t = 0; t < cal.size(); ++t) {
    if (std::isfinite(close[t])) {
      if (days >= 0) {
        ++days;
      } else if (t > 0 && std::isnan(prev)) {
        days = 0;
      }
    }
    const bool st = !is_st.empty() && is_st[t] != 0 && !std::isnan(is_st[t]);
    const double pct = data::PriceLimitOn(pack, ins.symbol, cal[t], st, days);
    if (std::isfinite(prev) && std::isfinite(pct)) {
      (*up)[t] = ins.ToTicks(prev * (1 + pct));
      (*down)[t] = ins.ToTicks(prev * (1 - pct));
    }
    if (std::isfinite(close[t])) prev = close[t];
    if (days < 0 && std::isfinite(close[t])) days = -2;  // listed before the data: unknown
  }
}

}  // namespace

Result<PreciseResult> RunPrecise(const StrategySpec& spec, const Panel& data,
                                 const strategy::ParamValues& params,
                                 const PreciseOptions& options) {
  const bool selection = spec.selection.mode != strategy::Selection::Mode::kAllSignals;
  engines::MetricsOptions metric_options = options.metrics;
  metric_options.initial_capital = options.initial_capital;
  QRAFT_RETURN_NOT_OK(engines::ValidateMetricsOptions(metric_options));
  QRAFT_ASSIGN_OR_RETURN(const engines::Decisions decisions, engines::Decide(spec, data, params));
  const Panel& panel = decisions.panel;
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  const Calendar& cal = panel.calendar();
  auto field = [&](std::string_view name) -> Result<std::span<const double>> {
    const auto f = panel.FindField(name);
    if (!f) {
      return Status::InvalidArgument(
          fmt::format("the precise engine needs the field '{}', which the data lacks", name));
    }
    return panel.field(*f);
  };
  QRAFT_ASSIGN_OR_RETURN(const auto open, field("open"));
  QRAFT_ASSIGN_OR_RETURN(const auto high, field("high"));
  QRAFT_ASSIGN_OR_RETURN(const auto low, field("low"));
  QRAFT_ASSIGN_OR_RETURN(const auto close, field("close"));
  std::span<const double> volume;
  if (const auto v = panel.FindField("volume")) volume = panel.field(*v);
  const bool vwap_fill = spec.execution.price == strategy::Execution::Price::kVwap;
  std::span<const double> vwap;
  if (vwap_fill) {
    QRAFT_ASSIGN_OR_RETURN(vwap, field("vwap"));
  }
  if (spec.costs.impact_alpha && volume.empty()) {
    return Status::InvalidArgument("costs.slippage.impact needs the field volume");
  }

  // The market: instruments, fees and rules from the pack, the DSL overriding its fees.
  const data::MarketSpec pack =
      spec.costs.market.empty() ? data::MarketSpec{} : data::FindMarket(spec.costs.market);
  FeeSchedule fees;
  if (options.pack_fees) {
    QRAFT_ASSIGN_OR_RETURN(fees, FeesFromPack(pack));
  }
  const auto opt = [&](const std::optional<strategy::Num>& n) -> std::optional<double> {
    return n ? std::optional<double>(n->Resolve(params)) : std::nullopt;
  };
  fees = WithOverrides(fees, opt(spec.costs.fee_bps), opt(spec.costs.min_fee),
                       opt(spec.costs.tax_bps));
  fees = Scaled(fees, options.fee_scale, options.tax_scale);

  EngineConfig config;
  config.calendar = cal.times();
  Timestamp step = kNanosPerDay;
  for (std::size_t t = 1; t < T; ++t)
    step = std::min(step, cal[t] - cal[t - 1]);
  config.bar_duration = step;
  const bool lots = std::isfinite(pack.lot_size) && pack.lot_size >= 1;
  std::vector<std::vector<PriceTicks>> up(S), down(S);
  std::span<const double> is_st;         // optional data field: non-zero on ST days
  std::span<const double> funding_rate;  // optional data field: perpetual funding rates
  if (const auto f = panel.FindField("funding_rate")) funding_rate = panel.field(*f);
  std::vector<std::vector<Timestamp>> funding_time(S);
  std::vector<std::vector<double>> funding_value(S);
  if (const auto f = panel.FindField("is_st")) is_st = panel.field(*f);
  engines::PriceLimits flags;
  if (!options.intrabar_limits && data::HasPriceLimits(pack))
    flags = engines::DetectPriceLimits(pack, panel, close);
  std::vector<std::uint8_t> no_sell = std::move(flags.down);
  if (const auto lock = panel.FindField(kNoSellField)) {
    const std::span<const double> v = panel.field(*lock);
    no_sell.resize(S * T, 0);
    for (std::size_t i = 0; i < S * T; ++i)
      no_sell[i] |= v[i] != 0 && !std::isnan(v[i]);
  }
  for (std::size_t s = 0; s < S; ++s) {
    Instrument ins;
    ins.symbol = panel.symbols()[s];
    // Without a pack's grid, prices and quantities are (nearly) continuous, as in the fast
    // engine: ticks of 1e-6 and size increments of 1e-6 units.
    ins.tick_size = options.pack_ticks && std::isfinite(pack.tick_size) ? pack.tick_size : 1e-6;
    ins.size_increment = lots ? 1
                         : options.pack_ticks && std::isfinite(pack.size_increment)
                             ? pack.size_increment
                             : 1e-6;
    ins.lot = lots ? static_cast<Quantity>(pack.lot_size) : 1;
    config.instruments.push_back(ins);
    BarSeries b{.open = open.subspan(s * T, T),
                .high = high.subspan(s * T, T),
                .low = low.subspan(s * T, T),
                .close = close.subspan(s * T, T)};
    if (!volume.empty()) b.volume = volume.subspan(s * T, T);
    if (vwap_fill) b.vwap = vwap.subspan(s * T, T);
    if (options.intrabar_limits && data::HasPriceLimits(pack)) {
      LimitPrices(pack, ins, cal, b.close, is_st.empty() ? is_st : is_st.subspan(s * T, T), &up[s],
                  &down[s]);
      b.limit_up = up[s];
      b.limit_down = down[s];
    }
    if (!flags.up.empty()) b.no_buy = std::span(flags.up).subspan(s * T, T);
    if (!no_sell.empty()) b.no_sell = std::span(no_sell).subspan(s * T, T);
    // Perpetual funding from the data field funding_rate: settled at each bar with a finite rate.
    if (!funding_rate.empty()) {
      for (std::size_t t = 0; t < T; ++t) {
        if (std::isfinite(funding_rate[s * T + t])) {
          funding_time[s].push_back(cal[t]);
          funding_value[s].push_back(funding_rate[s * T + t]);
        }
      }
      b.funding_time = funding_time[s];
      b.funding_rate = funding_value[s];
    }
    config.bars.push_back(b);
  }
  config.account.initial_cash = options.initial_capital;
  config.account.sell_after_days = pack.sell_after_days;
  // Short signals sell beyond the position; the proceeds stay in the cash (vectorbt's model).
  config.account.allow_short = !spec.signals.short_entry.empty();
  if (options.pack_ticks && std::isfinite(pack.margin)) {
    // Futures and perpetuals: a margin account (the DSL's sleeves still size at 1x notional).
    config.account.type = AccountConfig::Type::kMargin;
    config.account.margin = pack.margin;
  }
  const bool close_fill = spec.execution.price == strategy::Execution::Price::kClose;
  config.fill.market_fill = close_fill  ? FillModel::MarketFill::kLastPrice
                            : vwap_fill ? FillModel::MarketFill::kBarVwap
                                        : FillModel::MarketFill::kNextPrice;
  config.fill.participation = options.participation;
  config.fill.half_spread = Resolve(spec.costs.spread_bps, params, 0) / 2e4 * options.spread_scale;
  config.fill.impact_alpha = Resolve(spec.costs.impact_alpha, params, 0) * options.impact_scale;
  config.fill.impact_beta = Resolve(spec.costs.impact_beta, params, 0.5);
  config.latency = options.latency;
  if (spec.costs.latency_ms) {
    config.latency.insert =
        static_cast<Timestamp>(std::llround(spec.costs.latency_ms->Resolve(params) * 1e6));
  }
  config.fees = fees;
  // Valuation as the fast engine's: signal strategies at their fill price, selections at the
  // close.
  config.mark_point = close_fill || selection ? 3 : 0;
  config.mark_vwap = vwap_fill && !selection;  // signals are valued at their fill series
  config.reject_windows = options.reject_windows;
  QRAFT_ASSIGN_OR_RETURN(std::unique_ptr<Engine> engine, Engine::Create(std::move(config)));

  const auto hold_bars = static_cast<std::int64_t>(Resolve(spec.hold_min_bars, params, 0));
  const std::size_t shift = close_fill ? 0 : 1;
  if (spec.selection.n_drop) {
    engines::TopkDropoutOptions o;
    o.topk = static_cast<std::int64_t>(spec.selection.topk.Resolve(params));
    o.n_drop = static_cast<std::int64_t>(spec.selection.n_drop->Resolve(params));
    o.hold_thresh = spec.hold_min_bars ? hold_bars : o.hold_thresh;
    QRAFT_RETURN_NOT_OK(engines::ValidateTopkDropoutOptions(o));
    DropoutStrategy strategy(decisions, o, S, T, close_fill);
    QRAFT_RETURN_NOT_OK(engine->Run(strategy));
  } else if (selection) {
    const engines::WeightsSimOptions weigh =
        engines::SelectionWeightsOptions(spec, params, metric_options.periods_per_year);
    QRAFT_RETURN_NOT_OK(engines::ValidateWeightsSimOptions(weigh));
    QRAFT_ASSIGN_OR_RETURN(const std::span<const double> group, engines::GroupField(spec, panel));
    const engines::WeightsSimInputs inputs{.symbols = static_cast<std::int64_t>(S),
                                           .bars = static_cast<std::int64_t>(T),
                                           .score = decisions.score,
                                           .close = close,
                                           .group = group};
    SelectionStrategy strategy(decisions, inputs, weigh, options.initial_capital,
                               SelectionStrategy::Rules{.hold_bars = hold_bars, .shift = shift});
    QRAFT_RETURN_NOT_OK(engine->Run(strategy));
  } else {
    SignalStrategy strategy(
        decisions, S, T, options.initial_capital / static_cast<double>(S),
        SignalStrategy::Rules{
            .stop_loss = Resolve(spec.risk.stop_loss, params, kNaN),
            .take_profit = Resolve(spec.risk.take_profit, params, kNaN),
            .trailing_stop = Resolve(spec.risk.trailing_stop, params, kNaN),
            .hold_bars = hold_bars,
            .cooldown_bars = static_cast<std::int64_t>(Resolve(spec.cooldown_bars, params, 0)),
            .shift = shift});
    QRAFT_RETURN_NOT_OK(engine->Run(strategy));
  }

  // Results: metrics as the fast engine folds them, logs, costs and round trips.
  PreciseResult out;
  const BarSeriesOut& series = engine->series();
  std::vector<double> ret(T), turnover(T), exposure(T);
  double prev = options.initial_capital;
  for (std::size_t t = 0; t < T; ++t) {
    const double e = series.equity[t];
    ret[t] = e / prev - 1;
    // Turnover as each fast engine reports it: against this bar's equity for signals, the
    // previous bar's for selections (Qlib's convention).
    turnover[t] = series.traded[t] != 0 ? series.traded[t] / (selection ? prev : e) : 0.0;
    exposure[t] = series.exposure[t] / e;
    prev = e;
  }
  engines::MetricsAccumulator acc(metric_options);
  acc.AddBars(engines::BarColumns{.ret = ret,
                                  .turnover = turnover,
                                  .fees = series.fees,
                                  .gross_exposure = exposure,
                                  .equity = series.equity});
  out.detail.curve.resize(T);
  for (std::size_t t = 0; t < T; ++t) {
    out.detail.curve[t] = engines::CurvePoint{.time = cal[t],
                                              .equity = series.equity[t],
                                              .exposure = exposure[t],
                                              .turnover = turnover[t],
                                              .fees = series.fees[t]};
  }
  // Round trips, as the fast engines count them: a trade opens with a fill from flat and closes
  // when the position is flat again; a fill that reverses the position closes the trade with the
  // part that flattens it (its share of the fill's fees) and opens the next with the rest.
  struct Open {
    std::int64_t bar = -1;
    double bought = 0, sold = 0, fees = 0, units_bought = 0, units_sold = 0;  // at fill prices
  };
  std::vector<Open> open_trade(S);
  std::vector<Quantity> pos(S, 0);
  for (const Fill& f : engine->fills()) {
    const auto s = static_cast<std::size_t>(f.instrument);
    const Instrument& ins = engine->config().instruments[s];
    out.costs.commission += f.commission;
    out.costs.stamp_duty += f.stamp_duty;
    out.costs.transfer_fee += f.transfer_fee;
    out.costs.exchange_fee += f.exchange_fee;
    out.costs.slippage += f.slippage_cost;
    const auto bar = static_cast<std::int64_t>(BarOf(cal.times(), f.time));
    const bool buy = f.side == Side::kBuy;
    Quantity left = f.quantity;
    while (left > 0) {
      Open& o = open_trade[s];
      // The part that reduces the open position, then (from flat) the part that opens one.
      const bool reduces = pos[s] != 0 && (pos[s] > 0) != buy;
      const Quantity part =
          reduces ? std::min<Quantity>(left, pos[s] > 0 ? pos[s] : -pos[s]) : left;
      if (pos[s] == 0) o = Open{.bar = bar};
      const double share = static_cast<double>(part) / static_cast<double>(f.quantity);
      const double units = ins.Units(part);
      const double value = f.price * units * ins.multiplier;
      (buy ? o.bought : o.sold) += value;
      (buy ? o.units_bought : o.units_sold) += units;
      o.fees += f.Fees() * share;
      pos[s] += buy ? part : -part;
      left -= part;
      if (pos[s] != 0) continue;
      // As the fast engines: pnl net of every fee, ret on the entry value.
      const bool short_trade = !buy;  // the closing fill of a short buys
      const double entry_value = short_trade ? o.sold : o.bought;
      const double pnl = o.sold - o.bought - o.fees;
      acc.AddTrade(
          engines::TradeRecord{.pnl = pnl, .ret = pnl / entry_value, .holding_bars = bar - o.bar});
      out.detail.trades.push_back(engines::TradeRow{
          .symbol = ins.symbol,
          .is_short = short_trade,
          .entry_time = cal[static_cast<std::size_t>(o.bar)],
          .exit_time = cal[static_cast<std::size_t>(bar)],
          .entry_price = short_trade ? o.sold / o.units_sold : o.bought / o.units_bought,
          .exit_price = short_trade ? o.bought / o.units_bought : o.sold / o.units_sold,
          .size = short_trade ? o.units_sold : o.units_bought,
          .pnl = pnl,
          .ret = pnl / entry_value,
          .holding_bars = bar - o.bar,
          .exit_reason = std::string(TagReason(engine->order(f.order).request.tag))});
    }
  }
  for (std::size_t s = 0; s < S; ++s) {
    if (pos[s] == 0) continue;
    const Open& o = open_trade[s];
    const bool short_trade = pos[s] < 0;
    out.detail.trades.push_back(engines::TradeRow{
        .symbol = engine->config().instruments[s].symbol,
        .is_short = short_trade,
        .entry_time = cal[static_cast<std::size_t>(o.bar)],
        .entry_price = short_trade ? o.sold / o.units_sold : o.bought / o.units_bought,
        .size = std::abs(o.units_bought - o.units_sold),
        .holding_bars = static_cast<std::int64_t>(T) - 1 - o.bar,
        .exit_reason = "end"});
  }
  out.costs.funding = engine->funding_paid();
  std::map<std::string, std::int64_t> rejects;
  for (const Order& o : engine->orders()) {
    if (o.status == OrderStatus::kRejected) ++out.rejected;
    if (o.status == OrderStatus::kCancelled) ++out.cancelled;
    if (o.reject != RejectReason::kNone) ++rejects[std::string(RejectReasonName(o.reject))];
  }
  out.rejects.assign(rejects.begin(), rejects.end());
  out.fills = static_cast<std::int64_t>(engine->fills().size());
  out.result.params = params;
  out.result.metrics = acc.Finish();
  out.result.orders = static_cast<std::int64_t>(engine->orders().size());
  out.result.final_value = series.equity.back();
  for (const Instrument& ins : engine->config().instruments) {
    out.symbols.push_back(ins.symbol);
    out.ticks.push_back(ins.tick_size);
    out.units.push_back(ins.size_increment);
  }
  if (options.keep_logs) {
    out.orders = engine->orders();
    out.fill_log = engine->fills();
  }
  return out;
}

Result<PreciseStudy> RunPreciseStudy(const data::SnapshotStore& store, std::string_view snapshot,
                                     const StrategySpec& spec, const strategy::ParamValues& params,
                                     PreciseOptions options) {
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store.Open(snapshot));
  if (spec.universe.kind == strategy::Universe::Kind::kMarket &&
      spec.universe.market != snap.market()) {
    return Status::InvalidArgument(
        fmt::format("the strategy's universe is market '{}' but snapshot {} is market '{}'",
                    spec.universe.market, snap.id().substr(0, 12), snap.market()));
  }
  if (!(options.metrics.periods_per_year > 0))
    options.metrics.periods_per_year = engines::PeriodsPerYear(snap);
  PreciseStudy study;
  QRAFT_ASSIGN_OR_RETURN(study.result, RunPrecise(spec, snap.panel(), params, options));
  engines::SweepOutput& out = study.output;
  out.kind = "backtest";
  out.name = spec.name;
  out.dsl_hash = spec.DslHash();
  out.snapshot_id = snap.id();
  out.code_version = std::string(CodeVersion());
  out.strategy = spec.Canonical();
  for (const auto& [name, value] : params)
    out.param_names.push_back(name);
  out.daily = snap.date_only();
  out.periods_per_year = options.metrics.periods_per_year;
  out.initial_capital = options.initial_capital;
  out.results = {study.result.result};
  out.top = {0};
  out.pareto = {0};
  out.details = {study.result.detail};
  return study;
}

Status WritePreciseResultDir(const std::filesystem::path& dir, const PreciseStudy& study) {
  QRAFT_RETURN_NOT_OK(engines::WriteResultDir(dir, study.output));
  const std::filesystem::path candidate =
      dir / "candidates" / engines::ParamsHash(study.result.result.params);
  QRAFT_RETURN_NOT_OK(WritePreciseLogs(candidate, study.result, study.output.daily));
  return FsyncPath(candidate, true);
}

namespace {

using Columns = std::vector<data::io::TableColumn>;

std::string CsvOf(const Columns& columns) {
  fmt::memory_buffer out;
  for (std::size_t c = 0; c < columns.size(); ++c)
    fmt::format_to(std::back_inserter(out), "{}{}", c ? "," : "", columns[c].name);
  out.push_back('\n');
  const std::size_t rows =
      columns.empty() ? 0 : std::visit([](const auto& v) { return v.size(); }, columns[0].values);
  for (std::size_t r = 0; r < rows; ++r) {
    for (std::size_t c = 0; c < columns.size(); ++c) {
      if (c) out.push_back(',');
      std::visit(
          [&](const auto& v) {
            using T = std::decay_t<decltype(v[r])>;
            if constexpr (std::is_same_v<T, double>) {
              if (!std::isnan(v[r])) fmt::format_to(std::back_inserter(out), "{}", v[r]);
            } else {
              fmt::format_to(std::back_inserter(out), "{}", v[r]);  // names without commas
            }
          },
          columns[c].values);
    }
    out.push_back('\n');
  }
  return fmt::to_string(out);
}

}  // namespace

Status WriteTableFiles(const std::filesystem::path& dir, std::string_view name,
                       const std::vector<data::io::TableColumn>& columns) {
  QRAFT_RETURN_NOT_OK(WriteFileAtomically(dir / fmt::format("{}.csv", name), CsvOf(columns)));
  const std::filesystem::path path = dir / fmt::format("{}.parquet", name);
  const std::filesystem::path tmp = TempSibling(path);
  if (Status st = data::io::WriteTableParquet(columns, tmp); !st.ok()) {
    std::error_code ec;
    std::filesystem::remove(tmp, ec);
    return Status(st.code(), fmt::format("{}: {}", path.string(), st.message()));
  }
  return PublishFile(tmp, path);
}

Status WritePreciseLogs(const std::filesystem::path& dir, const PreciseResult& result, bool daily) {
  auto time = [&](Timestamp t) {
    return t == kNoTimestamp ? std::string() : FormatTimestamp(t, daily);
  };
  auto symbol = [&](std::int32_t i) { return result.symbols[static_cast<std::size_t>(i)]; };
  {
    std::vector<std::int64_t> id, tag;
    std::vector<std::string> submitted, done, sym, side, type, tif, status, reject;
    std::vector<double> quantity, notional, limit, stop, filled, avg_price, fees;
    for (const Order& o : result.orders) {
      const OrderRequest& r = o.request;
      const double unit = result.units[static_cast<std::size_t>(r.instrument)];
      const double tick = result.ticks[static_cast<std::size_t>(r.instrument)];
      id.push_back(o.id);
      submitted.push_back(time(o.submitted));
      done.push_back(time(o.done));
      sym.push_back(symbol(r.instrument));
      side.push_back(r.side == Side::kBuy ? "buy" : "sell");
      type.push_back(std::string(OrderTypeName(r.type)));
      tif.push_back(std::string(TimeInForceName(r.tif)));
      quantity.push_back(static_cast<double>(r.quantity) * unit);
      notional.push_back(r.notional > 0 ? r.notional : kNaN);
      limit.push_back(r.limit == kNoPrice ? kNaN : static_cast<double>(r.limit) * tick);
      stop.push_back(r.stop == kNoPrice ? kNaN : static_cast<double>(r.stop) * tick);
      status.push_back(std::string(OrderStatusName(o.status)));
      reject.push_back(std::string(RejectReasonName(o.reject)));
      filled.push_back(static_cast<double>(o.filled) * unit);
      avg_price.push_back(o.filled > 0 ? o.avg_price : kNaN);
      fees.push_back(o.fees);
      tag.push_back(r.tag);
    }
    QRAFT_RETURN_NOT_OK(WriteTableFiles(dir, "orders",
                                        Columns{{"id", id},
                                                {"submitted", submitted},
                                                {"done", done},
                                                {"symbol", sym},
                                                {"side", side},
                                                {"type", type},
                                                {"tif", tif},
                                                {"quantity", quantity},
                                                {"notional", notional},
                                                {"limit", limit},
                                                {"stop", stop},
                                                {"status", status},
                                                {"reject", reject},
                                                {"filled", filled},
                                                {"avg_price", avg_price},
                                                {"fees", fees},
                                                {"tag", tag}}));
  }
  std::vector<std::int64_t> order;
  std::vector<std::string> t, sym, side, liquidity;
  std::vector<double> quantity, market, price, commission, stamp, transfer, exchange, slippage;
  for (const Fill& f : result.fill_log) {
    const auto i = static_cast<std::size_t>(f.instrument);
    order.push_back(f.order);
    t.push_back(time(f.time));
    sym.push_back(symbol(f.instrument));
    side.push_back(f.side == Side::kBuy ? "buy" : "sell");
    liquidity.push_back(f.liquidity == Liquidity::kMaker ? "maker" : "taker");
    quantity.push_back(static_cast<double>(f.quantity) * result.units[i]);
    market.push_back(static_cast<double>(f.market_price) * result.ticks[i]);
    price.push_back(f.price);
    commission.push_back(f.commission);
    stamp.push_back(f.stamp_duty);
    transfer.push_back(f.transfer_fee);
    exchange.push_back(f.exchange_fee);
    slippage.push_back(f.slippage_cost);
  }
  return WriteTableFiles(dir, "fills",
                         Columns{{"order", order},
                                 {"time", t},
                                 {"symbol", sym},
                                 {"side", side},
                                 {"liquidity", liquidity},
                                 {"quantity", quantity},
                                 {"market_price", market},
                                 {"price", price},
                                 {"commission", commission},
                                 {"stamp_duty", stamp},
                                 {"transfer_fee", transfer},
                                 {"exchange_fee", exchange},
                                 {"slippage", slippage}});
}

}  // namespace qraft::precise
