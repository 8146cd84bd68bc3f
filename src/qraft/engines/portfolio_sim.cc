#include "qraft/engines/portfolio_sim.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <string>
#include <utility>
#include <vector>

#include "qraft/core/parallel.h"

namespace qraft::engines {
namespace {

// Python's float floor division (Objects/floatobject.c float_floor_div), which Qlib's
// round_amount_by_trade_unit uses.
double PyFloorDiv(double vx, double wx) {
  double mod = std::fmod(vx, wx);
  double div = (vx - mod) / wx;
  if (mod != 0.0 && ((wx < 0) != (mod < 0))) div -= 1.0;
  if (div == 0.0) return std::copysign(0.0, vx / wx);
  double floordiv = std::floor(div);
  if (div - floordiv > 0.5) floordiv += 1.0;
  return floordiv;
}

// numpy.isclose(a, b) with its defaults rtol 1e-5, atol 1e-8.
bool NpIsClose(double a, double b) {
  return std::abs(a - b) <= 1e-8 + 1e-5 * std::abs(b);
}

// Python's li[:n] length for a list of length len.

enum class Dir { kAny, kBuy, kSell };

struct Stock {
  bool held = false;
  double amount = 0.0;
  double price = 0.0;
  std::int64_t count = 0;
  // The round trip in progress.
  std::int64_t entry_bar = 0;
  double bought = 0.0, bought_amount = 0.0, sold = 0.0, sold_amount = 0.0, costs = 0.0;
};

class Sim {
 public:
  Sim(const TopkDropoutInputs& in, const TopkDropoutOptions& o)
      : in_(in), o_(o), decision_(in.symbols, o) {
    const auto n = static_cast<std::size_t>(in.symbols);
    stocks_.resize(n);
    round_ = !std::isnan(o.trade_unit);
    if (round_ && !in.factor.empty()) {
      for (std::size_t i = 0; i < in.factor.size(); ++i)
        if (std::isnan(in.factor[i]) && !std::isnan(in.close[i])) round_ = false;
    }
    cash_ = o.init_cash;
    if (in.ranking == nullptr) {
      own_ranking_ = RankScores(in.score, in.symbols, in.bars);
      ranking_ = &own_ranking_;
    } else {
      ranking_ = in.ranking;
    }
  }

  double Close(std::int64_t s, std::int64_t t) const { return in_.close[Idx(s, t)]; }

  bool Suspended(std::int64_t s, std::int64_t t) const { return std::isnan(Close(s, t)); }

  bool LimitBuy(std::int64_t s, std::int64_t t) const {
    if (!in_.limit_buy.empty()) return in_.limit_buy[Idx(s, t)] != 0;
    if (!in_.change.empty() && !std::isnan(o_.limit_threshold))
      return in_.change[Idx(s, t)] >= o_.limit_threshold;
    return false;
  }

  bool LimitSell(std::int64_t s, std::int64_t t) const {
    if (!in_.limit_sell.empty()) return in_.limit_sell[Idx(s, t)] != 0;
    if (!in_.change.empty() && !std::isnan(o_.limit_threshold))
      return in_.change[Idx(s, t)] <= -o_.limit_threshold;
    return false;
  }

  // Exchange.is_stock_tradable(direction): direction kAny is Qlib's None.
  bool Tradable(std::int64_t s, std::int64_t t, Dir dir) const {
    if (Suspended(s, t)) return false;
    switch (dir) {
      case Dir::kAny:
        return !(LimitBuy(s, t) || LimitSell(s, t));
      case Dir::kBuy:
        return !LimitBuy(s, t);
      case Dir::kSell:
        return !LimitSell(s, t);
    }
    return false;
  }

  double DealPrice(std::int64_t s, std::int64_t t) const {
    if (in_.deal_price.empty()) return Close(s, t);
    const double p = in_.deal_price[Idx(s, t)];
    if (std::isnan(p) || p <= 1e-8) return Close(s, t);
    return p;
  }

  double Factor(std::int64_t s, std::int64_t t) const {
    return in_.factor.empty() ? 1.0 : in_.factor[Idx(s, t)];
  }

  double Round(double amount, std::int64_t s, std::int64_t t) const {
    if (!round_) return amount;
    const double f = Factor(s, t);
    return PyFloorDiv(amount * f + 0.1, o_.trade_unit) * o_.trade_unit / f;
  }

  // Exchange.deal_order + Account.update_order for one order; returns true if dealt.
  bool Deal(std::int64_t s, std::int64_t t, bool buy, double amount) {
    const double price = DealPrice(s, t);
    Stock& st = stocks_[static_cast<std::size_t>(s)];
    double deal = amount;
    double ratio = 0.0;
    if (buy) {
      ratio = o_.open_cost;
      const double val = deal * price;
      if (cash_ < std::max(val * ratio, o_.min_cost)) {
        deal = 0.0;
      } else if (cash_ < val + std::max(val * ratio, o_.min_cost)) {
        double max_buy = 0.0;
        if (cash_ >= o_.min_cost) {
          const double critical = o_.min_cost / ratio + o_.min_cost;
          max_buy = cash_ >= critical ? cash_ / (1 + ratio) / price : (cash_ - o_.min_cost) / price;
        }
        deal = Round(std::min(max_buy, deal), s, t);
      } else {
        deal = Round(deal, s, t);
      }
    } else {
      ratio = o_.close_cost;
      const double current = st.held ? st.amount : 0.0;
      if (!NpIsClose(deal, current)) deal = Round(std::min(current, deal), s, t);
      if (cash_ + deal * price < std::max(deal * price * ratio, o_.min_cost)) deal = 0.0;
    }
    const double val = deal * price;
    if (val <= 1e-5) return false;
    const double cost = std::max(val * ratio, o_.min_cost);
    bar_cost_ += cost;
    bar_traded_ += val;
    const double traded_amount = val / price;
    if (buy) {
      cash_ -= val + cost;
      if (st.held) {
        st.amount += traded_amount;
      } else {
        st = Stock{.held = true, .amount = traded_amount, .price = price, .entry_bar = t};
        held_.insert(std::lower_bound(held_.begin(), held_.end(), s), s);
      }
      st.bought += val;
      st.bought_amount += traded_amount;
      st.costs += cost;
    } else {
      cash_ += val - cost;
      st.sold += val;
      st.sold_amount += traded_amount;
      st.costs += cost;
      if (NpIsClose(st.amount, traded_amount)) {
        CloseTrade(s, t, 0.0);
        st = Stock{};
        held_.erase(std::lower_bound(held_.begin(), held_.end(), s));
      } else {
        st.amount -= traded_amount;
      }
    }
    return true;
  }

  // Logs the round trip of `s` ending on bar t (exit_bar -1: open, its remaining `open_value`
  // counted at the last mark), and feeds closed ones to the metrics.
  void CloseTrade(std::int64_t s, std::int64_t t, double open_value) {
    const Stock& st = stocks_[static_cast<std::size_t>(s)];
    TopkDropoutTrade tr;
    tr.symbol = s;
    tr.entry_bar = st.entry_bar;
    tr.exit_bar = open_value > 0 ? -1 : t;
    tr.amount = st.bought_amount;
    tr.entry_price = st.bought_amount > 0 ? st.bought / st.bought_amount : 0.0;
    const double exit_amount = st.sold_amount + (open_value > 0 ? st.amount : 0.0);
    tr.exit_price = exit_amount > 0 ? (st.sold + open_value) / exit_amount : 0.0;
    tr.pnl = st.sold + open_value - st.bought - st.costs;
    tr.ret = st.bought > 0 ? tr.pnl / st.bought : 0.0;
    tr.holding_bars = t - st.entry_bar;
    if (open_value <= 0 && metrics_ != nullptr) {
      metrics_->AddTrade(
          TradeRecord{.pnl = tr.pnl, .ret = tr.ret, .holding_bars = tr.holding_bars});
    }
    if (trades_ != nullptr) trades_->push_back(tr);
  }

  std::int32_t Step(std::int64_t t) {
    std::int32_t orders = 0;
    if (t < 1) return orders;
    // Symbols with a finite score[., t-1], best first.
    const std::int32_t* ranked = ranking_->order.data() + ranking_->offset[t - 1];
    const auto n_ranked = static_cast<std::size_t>(ranking_->offset[t] - ranking_->offset[t - 1]);
    if (n_ranked == 0) return orders;  // get_signal returns None: no decision

    decision_.Decide(
        std::span<const std::int32_t>(ranked, n_ranked), held_, in_.score, in_.bars, t - 1,
        [&](std::int64_t s) { return stocks_[static_cast<std::size_t>(s)].held; },
        [&](std::int64_t s) { return Tradable(s, t, Dir::kAny); });
    const std::size_t n_buy = decision_.buys().size();

    // Sells in symbol order (the decision's own list: dealing removes sold symbols from held_).
    const Dir sell_dir = o_.forbid_all_trade_at_limit ? Dir::kAny : Dir::kSell;
    for (const std::int64_t s : decision_.sells()) {
      const Stock& st = stocks_[static_cast<std::size_t>(s)];
      if (!Tradable(s, t, sell_dir) || st.count < o_.hold_thresh) continue;
      if (Deal(s, t, false, st.amount)) ++orders;
    }
    if (n_buy == 0) return orders;
    const double value = cash_ * o_.risk_degree / static_cast<double>(n_buy);
    const Dir buy_dir = o_.forbid_all_trade_at_limit ? Dir::kAny : Dir::kBuy;
    // Orders are computed from the cash after the sells, then dealt in order.
    std::vector<std::pair<std::int64_t, double>>& buys = buys_;
    buys.clear();
    for (const std::int64_t s : decision_.buys()) {
      if (!Tradable(s, t, buy_dir)) continue;
      buys.emplace_back(s, Round(value / DealPrice(s, t), s, t));
    }
    for (const auto& [s, amount] : buys) {
      if (!Tradable(s, t, Dir::kBuy)) continue;  // the executor's check_order
      if (Deal(s, t, true, amount)) ++orders;
    }
    return orders;
  }

  void EndBar(std::int64_t t, TopkDropoutBar* bar) {
    double stock_value = 0.0;
    std::int32_t holdings = 0;
    for (const std::int64_t s : held_) {  // symbol order
      Stock& st = stocks_[static_cast<std::size_t>(s)];
      if (!Suspended(s, t)) st.price = Close(s, t);
      ++st.count;
      stock_value += st.amount * st.price;
      ++holdings;
    }
    const double account = stock_value + cash_;
    bar->account = account;
    bar->cash = cash_;
    bar->stock_value = stock_value;
    bar->ret = (account - prev_account_ + bar_cost_) / prev_account_;
    bar->cost = bar_cost_ / prev_account_;
    bar->turnover = bar_traded_ / prev_account_;
    bar->cost_money = bar_cost_;
    bar->traded_money = bar_traded_;
    bar->holdings = holdings;
  }

  void Run(TopkDropoutResult* result, std::span<TopkDropoutBar> report, std::span<double> amounts,
           MetricsAccumulator* metrics, std::vector<TopkDropoutTrade>* trades) {
    metrics_ = metrics;
    trades_ = trades;
    prev_account_ = o_.init_cash;
    for (std::int64_t t = 0; t < in_.bars; ++t) {
      bar_cost_ = 0.0;
      bar_traded_ = 0.0;
      TopkDropoutBar bar;
      bar.orders = Step(t);
      EndBar(t, &bar);
      if (metrics != nullptr) {
        metrics->AddBar(BarRecord{.ret = bar.account / prev_account_ - 1.0,
                                  .turnover = bar.turnover,
                                  .fees = bar.cost_money,
                                  .gross_exposure = bar.stock_value / bar.account});
      }
      result->total_cost += bar.cost_money;
      result->orders += bar.orders;
      prev_account_ = bar.account;
      if (!report.empty()) report[static_cast<std::size_t>(t)] = bar;
    }
    for (const std::int64_t s : held_) {
      const Stock& st = stocks_[static_cast<std::size_t>(s)];
      CloseTrade(s, in_.bars - 1, st.amount * st.price);
    }
    result->final_value = prev_account_;
    result->cash = cash_;
    for (std::size_t s = 0; s < amounts.size(); ++s)
      amounts[s] = stocks_[s].held ? stocks_[s].amount : 0.0;
  }

 private:
  std::size_t Idx(std::int64_t s, std::int64_t t) const {
    return static_cast<std::size_t>(s * in_.bars + t);
  }

  const TopkDropoutInputs& in_;
  const TopkDropoutOptions& o_;
  std::vector<Stock> stocks_;
  std::vector<std::int64_t> held_;  // held symbols, ascending
  MetricsAccumulator* metrics_ = nullptr;
  std::vector<TopkDropoutTrade>* trades_ = nullptr;
  ScoreRanking own_ranking_;
  const ScoreRanking* ranking_ = nullptr;
  TopkDropoutDecision decision_;
  // Per-bar scratch, kept to avoid allocating on every bar.
  std::vector<std::pair<std::int64_t, double>> buys_;
  bool round_ = true;
  double cash_ = 0.0;
  double prev_account_ = 0.0;
  double bar_cost_ = 0.0;
  double bar_traded_ = 0.0;
};

}  // namespace

ScoreRanking RankScores(std::span<const double> score, std::int64_t symbols, std::int64_t bars) {
  const auto S = static_cast<std::size_t>(symbols), T = static_cast<std::size_t>(bars);
  ScoreRanking r;
  r.offset.assign(T + 1, 0);
  for (std::size_t s = 0; s < S; ++s)
    for (std::size_t t = 0; t < T; ++t)
      r.offset[t + 1] += !std::isnan(score[s * T + t]);
  for (std::size_t t = 0; t < T; ++t)
    r.offset[t + 1] += r.offset[t];
  r.order.resize(static_cast<std::size_t>(r.offset[T]));
  // Chunks of bars: each symbol's scores for the chunk are contiguous (read once, in order), and
  // each bar sorts its own (score, symbol) pairs.
  constexpr std::size_t kBars = 32;
  ParallelFor(T, kBars, [&](std::size_t t0, std::size_t t1) {
    std::vector<std::vector<std::pair<double, std::int32_t>>> bar(t1 - t0);
    for (std::size_t t = t0; t < t1; ++t)
      bar[t - t0].reserve(static_cast<std::size_t>(r.offset[t + 1] - r.offset[t]));
    for (std::size_t s = 0; s < S; ++s) {
      const double* x = score.data() + s * T;
      for (std::size_t t = t0; t < t1; ++t)
        if (!std::isnan(x[t])) bar[t - t0].emplace_back(x[t], static_cast<std::int32_t>(s));
    }
    for (std::size_t t = t0; t < t1; ++t) {
      auto& v = bar[t - t0];
      std::sort(v.begin(), v.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
      });
      std::int32_t* out = r.order.data() + r.offset[t];
      for (std::size_t k = 0; k < v.size(); ++k)
        out[k] = v[k].second;
    }
  });
  return r;
}

TopkDropoutDecision::TopkDropoutDecision(std::int64_t symbols, const TopkDropoutOptions& options)
    : o_(options) {
  const auto n = static_cast<std::size_t>(symbols);
  last_.reserve(n);
  today_.reserve(n);
  comb_.reserve(n);
  tail_.reserve(n);
  sell_.reserve(n);
}

void TopkDropoutDecision::SortByScore(std::vector<std::int64_t>* v, std::span<const double> score,
                                      std::int64_t bars, std::int64_t b) const {
  const auto at = [&](std::int64_t s) {
    return score[static_cast<std::size_t>(s) * static_cast<std::size_t>(bars) +
                 static_cast<std::size_t>(b)];
  };
  std::stable_sort(v->begin(), v->end(), [&](std::int64_t x, std::int64_t y) {
    const double sx = at(x), sy = at(y);
    if (std::isnan(sx)) return false;
    if (std::isnan(sy)) return true;
    return sx > sy;
  });
}

Status ValidateTopkDropoutOptions(const TopkDropoutOptions& o) {
  if (o.topk < 1) return Status::InvalidArgument("topk must be >= 1");
  if (o.n_drop < 0) return Status::InvalidArgument("n_drop must be >= 0");
  if (o.hold_thresh < 0) return Status::InvalidArgument("hold_thresh must be >= 0");
  if (!(o.risk_degree > 0.0 && o.risk_degree <= 1.0))
    return Status::InvalidArgument("risk_degree must be in (0, 1]");
  if (!(o.open_cost >= 0.0 && std::isfinite(o.open_cost)))
    return Status::InvalidArgument("open_cost must be finite and >= 0");
  if (!(o.close_cost >= 0.0 && std::isfinite(o.close_cost)))
    return Status::InvalidArgument("close_cost must be finite and >= 0");
  if (!(o.min_cost >= 0.0 && std::isfinite(o.min_cost)))
    return Status::InvalidArgument("min_cost must be finite and >= 0");
  if (!std::isnan(o.trade_unit) && !(o.trade_unit > 0.0 && std::isfinite(o.trade_unit)))
    return Status::InvalidArgument("trade_unit must be NaN (none) or finite and > 0");
  if (!std::isnan(o.limit_threshold) && !std::isfinite(o.limit_threshold))
    return Status::InvalidArgument("limit_threshold must be NaN (none) or finite");
  if (!(o.init_cash > 0.0 && std::isfinite(o.init_cash)))
    return Status::InvalidArgument("init_cash must be finite and > 0");
  return Status::OK();
}

Status SimulateTopkDropout(const TopkDropoutInputs& inputs, const TopkDropoutOptions& options,
                           TopkDropoutResult* result, std::span<TopkDropoutBar> report,
                           std::span<double> amounts, MetricsAccumulator* metrics,
                           std::vector<TopkDropoutTrade>* trades) {
  if (Status st = ValidateTopkDropoutOptions(options); !st.ok()) return st;
  if (inputs.symbols < 0 || inputs.bars < 0)
    return Status::InvalidArgument("symbols and bars must be >= 0");
  const auto n = static_cast<std::size_t>(inputs.symbols * inputs.bars);
  auto bad = [n](std::size_t size, bool optional) {
    return optional ? (size != 0 && size != n) : size != n;
  };
  if (bad(inputs.score.size(), false)) return Status::InvalidArgument("score must have S*T values");
  if (bad(inputs.close.size(), false)) return Status::InvalidArgument("close must have S*T values");
  if (bad(inputs.deal_price.size(), true))
    return Status::InvalidArgument("deal_price must be empty or have S*T values");
  if (bad(inputs.limit_buy.size(), true) || bad(inputs.limit_sell.size(), true) ||
      inputs.limit_buy.empty() != inputs.limit_sell.empty())
    return Status::InvalidArgument(
        "limit_buy and limit_sell must both be empty or have S*T values");
  if (bad(inputs.change.size(), true))
    return Status::InvalidArgument("change must be empty or have S*T values");
  if (bad(inputs.factor.size(), true))
    return Status::InvalidArgument("factor must be empty or have S*T values");
  if (!report.empty() && report.size() != static_cast<std::size_t>(inputs.bars))
    return Status::InvalidArgument("report must be empty or have T rows");
  if (!amounts.empty() && amounts.size() != static_cast<std::size_t>(inputs.symbols))
    return Status::InvalidArgument("amounts must be empty or have S values");
  if (result == nullptr) return Status::InvalidArgument("result must not be null");
  *result = TopkDropoutResult{};
  Sim sim(inputs, options);
  sim.Run(result, report, amounts, metrics, trades);
  return Status::OK();
}

}  // namespace qraft::engines
