#include "qraft/engines/weights_sim.h"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <limits>
#include <string>

namespace qraft::engines {
namespace {

using Exit = WeightsSimExit;

// Orders worth at most this fraction of the decision equity are rounding residue (see IsDust).
constexpr double kDust = 1e-9;

std::string Num(double x) {
  return std::to_string(x);
}

bool Finite(double x) {
  return std::isfinite(x);
}

bool IsStop(Exit e) {
  return e == Exit::kStopLoss || e == Exit::kTakeProfit || e == Exit::kTrailingStop;
}

// One symbol's holding and the bookkeeping of its current round trip.
struct Pos {
  double shares = 0.0;
  double mark = kNaN;
  std::int64_t entry_bar = -1;
  double buy_shares = 0.0, buy_value = 0.0;
  double sell_shares = 0.0, sell_value = 0.0;
  double costs = 0.0;  // fees + taxes of the round trip's orders
  double max_shares = 0.0;
  double peak_close = kNaN;
  std::int64_t blocked_until = -1;  // not eligible at decisions on bars <= this
  bool exiting = false;
  Exit exit_reason = Exit::kRebalance;
};

class Sim {
 public:
  Sim(const WeightsSimInputs& in, const WeightsSimOptions& o)
      : in_(in),
        o_(o),
        S_(static_cast<std::size_t>(in.symbols)),
        T_(in.bars),
        lots_(Finite(o.lot_size) && o.lot_size > 0.0),
        weights_(in, o) {
    pos_.resize(S_);
    weight_.assign(S_, 0.0);
    delta_.assign(S_, 0.0);
    cash_ = o.init_cash;
    peak_ = o.init_cash;
  }

  void Run(WeightsSimResult* result, std::span<WeightsSimBar> report,
           std::vector<WeightsSimTrade>* trades, MetricsAccumulator* metrics,
           std::span<double> positions) {
    trades_ = trades;
    metrics_ = metrics;
    result_ = result;
    double prev_equity = o_.init_cash;
    for (std::int64_t u = 0; u < T_; ++u) {
      bar_ = WeightsSimBar{};
      if (pending_rebalance_ || exits_pending_ > 0) Fill(u);
      pending_rebalance_ = false;
      Mark(u);
      const double equity = bar_.equity;
      if (metrics_ != nullptr) {
        metrics_->AddBar(
            BarRecord{.ret = equity / prev_equity - 1.0,
                      .turnover = prev_equity > 0.0 ? bar_.traded / prev_equity : 0.0,
                      .fees = bar_.fees,
                      .gross_exposure = equity > 0.0 ? bar_.stock_value / equity : 0.0});
      }
      if (!report.empty()) report[static_cast<std::size_t>(u)] = bar_;
      if (!positions.empty()) {
        for (std::size_t s = 0; s < S_; ++s)
          positions[Idx(s, u)] = pos_[s].shares;
      }
      result_->orders += bar_.orders;
      result_->total_fees += bar_.fees;
      result_->total_slippage_cost += bar_.slippage;
      result_->total_traded += bar_.traded;
      prev_equity = equity;
      if (u + 1 < T_) {
        Stops(u);
        Breaker(u, equity);
        if (u > halt_until_ && (in_.rebalance.empty() || in_.rebalance[Idx0(u)] != 0)) {
          Decide(u, equity);
        }
      }
    }
    result_->final_value = prev_equity;
    result_->cash = cash_;
    for (std::size_t s = 0; s < S_; ++s) {
      if (pos_[s].shares > 0.0) LogTrade(static_cast<std::int64_t>(s), -1, Exit::kEnd);
    }
  }

 private:
  std::size_t Idx(std::size_t s, std::int64_t t) const {
    return s * static_cast<std::size_t>(T_) + static_cast<std::size_t>(t);
  }
  static std::size_t Idx0(std::int64_t t) { return static_cast<std::size_t>(t); }

  double Close(std::size_t s, std::int64_t t) const { return in_.close[Idx(s, t)]; }
  double Deal(std::size_t s, std::int64_t t) const { return in_.deal_price[Idx(s, t)]; }

  double Lots(double x) const {
    if (!lots_) return x;
    return std::floor(x / o_.lot_size + 1e-9) * o_.lot_size;
  }

  double Fee(double value) const {
    return value > 0.0 ? std::max(o_.fee_rate * value, o_.min_fee) : 0.0;
  }

  // Tradable on bar u in the given direction.
  bool CanTrade(std::size_t s, std::int64_t u, bool buy) const {
    const double p = Deal(s, u);
    if (!(Finite(p) && p > 0.0)) return false;
    if (!in_.volume.empty()) {
      const double v = in_.volume[Idx(s, u)];
      if (!(Finite(v) && v > 0.0)) return false;
    }
    if (buy) return in_.limit_up.empty() || in_.limit_up[Idx(s, u)] == 0;
    return in_.limit_down.empty() || in_.limit_down[Idx(s, u)] == 0;
  }

  // Price move against the trader, a fraction of the deal price.
  double Slip(std::size_t s, std::int64_t u, double q) const {
    double h = o_.half_spread;
    if (!in_.volume.empty() && o_.impact_alpha > 0.0) {
      h += o_.impact_alpha * std::pow(q / in_.volume[Idx(s, u)], o_.impact_beta);
    }
    return h;
  }

  double BuyCost(std::size_t s, std::int64_t u, double q) const {
    if (q <= 0.0) return 0.0;
    const double value = q * (Deal(s, u) * (1.0 + Slip(s, u, q)));
    return value + Fee(value);
  }

  // ---- step 1: fills ------------------------------------------------------------------------

  void Fill(std::int64_t u) {
    const double eq = decision_equity_;
    double buy_need = 0.0;
    double sell_need = 0.0;
    bool any_rebalance_trade = false;
    for (std::size_t s = 0; s < S_; ++s) {
      Pos& p = pos_[s];
      double d = 0.0;
      if (p.exiting) {
        if (p.shares > 0.0 && CanTrade(s, u, false)) d = -p.shares;
        delta_[s] = d;
        continue;
      }
      if (pending_rebalance_ && (weight_[s] > 0.0 || p.shares > 0.0)) {
        const double price = Deal(s, u);
        if (Finite(price) && price > 0.0) {
          const double target = weight_[s] > 0.0 ? Lots(weight_[s] * eq / price) : 0.0;
          d = target - p.shares;
          if (IsDust(s, u, d, p.shares)) d = 0.0;
          if (d > 0.0 && !CanTrade(s, u, true)) d = 0.0;
          if (d < 0.0 && (!CanTrade(s, u, false) || u - p.entry_bar < o_.hold_min_bars)) d = 0.0;
          if (d > 0.0) buy_need += d * price;
          if (d < 0.0) sell_need -= d * price;
          any_rebalance_trade = any_rebalance_trade || d != 0.0;
        }
      }
      delta_[s] = d;
    }
    // b. Turnover budget on the rebalance trades (exits are exempt).
    if (any_rebalance_trade && Finite(o_.turnover_max)) {
      const double needed = std::max(buy_need, sell_need) / eq;
      if (needed > o_.turnover_max) {
        const double f = o_.turnover_max / needed;
        for (std::size_t s = 0; s < S_; ++s) {
          const double d = delta_[s];
          if (d == 0.0 || pos_[s].exiting) continue;
          const double q = Lots(std::abs(d) * f);
          delta_[s] = IsDust(s, u, q, pos_[s].shares) ? 0.0 : (d > 0.0 ? q : -q);
        }
      }
    }
    // c. Sells.
    for (std::size_t s = 0; s < S_; ++s) {
      if (delta_[s] < 0.0) Sell(s, u, -delta_[s]);
    }
    // d. Buys: pro rata to the cash, then each within what is left.
    double buy_cost = 0.0;
    for (std::size_t s = 0; s < S_; ++s) {
      if (delta_[s] > 0.0) buy_cost += BuyCost(s, u, delta_[s]);
    }
    if (buy_cost <= 0.0) return;
    const double k = buy_cost > cash_ ? cash_ / buy_cost : 1.0;
    for (std::size_t s = 0; s < S_; ++s) {
      if (delta_[s] <= 0.0) continue;
      double q = k < 1.0 ? Lots(delta_[s] * k) : delta_[s];
      if (q > 0.0 && BuyCost(s, u, q) > cash_) q = Affordable(s, u, q);
      if (q > 0.0 && !IsDust(s, u, q, 0.0)) Buy(s, u, q);
    }
  }

  // A rebalance order of |d| shares, other than the sale of all `held` shares, worth at most
  // kDust x E_t: floating-point residue of targets and cash, never placed.
  bool IsDust(std::size_t s, std::int64_t u, double d, double held) const {
    if (d == 0.0 || -d == held) return false;
    return std::abs(d) * Deal(s, u) <= kDust * decision_equity_;
  }

  // The largest q' <= q (a lot multiple with lots) with BuyCost(q') <= cash (BuyCost is
  // increasing in q).
  double Affordable(std::size_t s, std::int64_t u, double q) const {
    if (lots_) {
      std::int64_t lo = 0;  // affordable
      auto hi = static_cast<std::int64_t>(std::floor(q / o_.lot_size + 1e-9));
      while (lo < hi) {
        const std::int64_t mid = lo + (hi - lo + 1) / 2;
        if (BuyCost(s, u, static_cast<double>(mid) * o_.lot_size) <= cash_) {
          lo = mid;
        } else {
          hi = mid - 1;
        }
      }
      return static_cast<double>(lo) * o_.lot_size;
    }
    double lo = 0.0;
    double hi = q;
    for (int i = 0; i < 64; ++i) {
      const double mid = 0.5 * (lo + hi);
      if (BuyCost(s, u, mid) <= cash_) {
        lo = mid;
      } else {
        hi = mid;
      }
    }
    return lo;
  }

  void Sell(std::size_t s, std::int64_t u, double q) {
    Pos& p = pos_[s];
    const double price = Deal(s, u);
    const double fill = price * std::max(0.0, 1.0 - Slip(s, u, q));
    const double value = q * fill;
    const double fee = Fee(value);
    const double tax = o_.sell_tax_rate * value;
    if (cash_ + (value - fee - tax) < 0.0) return;  // cannot pay its costs
    cash_ += value - fee - tax;
    Book(value, fee + tax, q * (price - fill));
    result_->total_taxes += tax;
    p.sell_shares += q;
    p.sell_value += value;
    p.costs += fee + tax;
    p.shares = q >= p.shares ? 0.0 : p.shares - q;
    if (p.shares > 0.0) return;
    const Exit reason = p.exiting ? p.exit_reason : Exit::kRebalance;
    if (p.exiting) --exits_pending_;
    LogTrade(static_cast<std::int64_t>(s), u, reason);
    if (IsStop(reason)) {
      ++result_->stop_exits;
      p.blocked_until = u + o_.cooldown_bars - 1;
    }
    const std::int64_t blocked = p.blocked_until;
    const double mark = p.mark;
    p = Pos{};
    p.blocked_until = blocked;
    p.mark = mark;
  }

  void Buy(std::size_t s, std::int64_t u, double q) {
    Pos& p = pos_[s];
    const double price = Deal(s, u);
    const double fill = price * (1.0 + Slip(s, u, q));
    const double value = q * fill;
    const double fee = Fee(value);
    cash_ -= value + fee;
    Book(value, fee, q * (fill - price));
    if (p.shares <= 0.0) {
      p.entry_bar = u;
      ++result_->trades;
      // Selected on bar u - 1, so its close there is finite.
      const double c = u > 0 ? Close(s, u - 1) : kNaN;
      if (Finite(c)) {
        p.mark = c;
      } else if (!Finite(p.mark)) {
        p.mark = price;
      }
    }
    p.shares += q;
    p.buy_shares += q;
    p.buy_value += value;
    p.costs += fee;
    p.max_shares = std::max(p.max_shares, p.shares);
  }

  void Book(double value, double costs, double slippage) {
    bar_.traded += value;
    bar_.fees += costs;
    bar_.slippage += slippage;
    ++bar_.orders;
  }

  void LogTrade(std::int64_t s, std::int64_t exit_bar, Exit reason) {
    const Pos& p = pos_[static_cast<std::size_t>(s)];
    const double out_shares = p.sell_shares + p.shares;
    const double out_value = p.sell_value + p.shares * p.mark;
    const double pnl = out_value - p.buy_value - p.costs;
    WeightsSimTrade tr{
        .symbol = s,
        .entry_bar = p.entry_bar,
        .exit_bar = exit_bar,
        .entry_price = p.buy_value / p.buy_shares,
        .exit_price = out_value / out_shares,
        .max_shares = p.max_shares,
        .pnl = pnl,
        .ret = p.buy_value > 0.0 ? pnl / p.buy_value : 0.0,
        .holding_bars = (exit_bar < 0 ? T_ - 1 : exit_bar) - p.entry_bar,
        .reason = reason,
    };
    if (exit_bar >= 0) {
      ++result_->closed_trades;
      if (metrics_ != nullptr) {
        metrics_->AddTrade(
            TradeRecord{.pnl = tr.pnl, .ret = tr.ret, .holding_bars = tr.holding_bars});
      }
    }
    if (trades_ != nullptr) trades_->push_back(tr);
  }

  // ---- step 2: marking ----------------------------------------------------------------------

  void Mark(std::int64_t u) {
    double stock = 0.0;
    std::int32_t holdings = 0;
    for (std::size_t s = 0; s < S_; ++s) {
      Pos& p = pos_[s];
      if (p.shares <= 0.0) continue;
      const double c = Close(s, u);
      if (Finite(c)) {
        p.mark = c;
        if (!(p.peak_close >= c)) p.peak_close = c;  // NaN peak too
      }
      stock += p.shares * p.mark;
      ++holdings;
    }
    bar_.cash = cash_;
    bar_.stock_value = stock;
    bar_.equity = cash_ + stock;
    bar_.holdings = holdings;
  }

  // ---- steps 3 and 4: stops and the drawdown breaker ----------------------------------------

  void Stops(std::int64_t u) {
    const bool sl = Finite(o_.stop_loss);
    const bool tp = Finite(o_.take_profit);
    const bool ts = Finite(o_.trailing_stop);
    if (!sl && !tp && !ts) return;
    for (std::size_t s = 0; s < S_; ++s) {
      Pos& p = pos_[s];
      if (p.shares <= 0.0 || p.exiting) continue;
      const double c = Close(s, u);
      if (!Finite(c)) continue;
      const double entry = p.buy_value / p.buy_shares;
      if (sl && c <= entry * (1.0 - o_.stop_loss)) {
        StartExit(&p, Exit::kStopLoss);
      } else if (ts && c <= p.peak_close * (1.0 - o_.trailing_stop)) {
        StartExit(&p, Exit::kTrailingStop);
      } else if (tp && c >= entry * (1.0 + o_.take_profit)) {
        StartExit(&p, Exit::kTakeProfit);
      }
    }
  }

  void StartExit(Pos* p, Exit reason) {
    p->exiting = true;
    p->exit_reason = reason;
    ++exits_pending_;
  }

  void Breaker(std::int64_t u, double equity) {
    if (!Finite(o_.max_drawdown)) return;
    if (u <= halt_until_) {
      peak_ = equity;
      return;
    }
    peak_ = std::max(peak_, equity);
    if (!(equity < (1.0 - o_.max_drawdown) * peak_)) return;
    ++result_->drawdown_halts;
    halt_until_ = u + o_.cooldown_bars;
    for (Pos& p : pos_) {
      if (p.shares > 0.0 && !p.exiting) StartExit(&p, Exit::kDrawdown);
    }
  }

  // ---- step 5: decisions (the weights: TargetWeights) -----------------------------------

  void Decide(std::int64_t t, double equity) {
    bool any_score = false;
    std::vector<std::size_t>& cand = weights_.candidates();
    cand.clear();
    for (std::size_t s = 0; s < S_; ++s) {
      const double sc = in_.score[Idx(s, t)];
      if (!Finite(sc)) continue;
      any_score = true;
      const Pos& p = pos_[s];
      if (p.exiting || p.blocked_until >= t) continue;
      const double c = Close(s, t);
      if (!(Finite(c) && c > 0.0)) continue;
      cand.push_back(s);
    }
    if (!any_score) return;  // no data: keep the positions
    weights_.Compute(t);
    std::fill(weight_.begin(), weight_.end(), 0.0);
    const std::span<const std::size_t> sel = weights_.selected();
    const std::span<const double> w = weights_.weights();
    for (std::size_t i = 0; i < sel.size(); ++i)
      weight_[sel[i]] = w[i];
    pending_rebalance_ = true;
    decision_equity_ = equity;
    ++result_->rebalances;
  }

  const WeightsSimInputs& in_;
  const WeightsSimOptions& o_;
  const std::size_t S_;
  const std::int64_t T_;
  const bool lots_;

  std::vector<Pos> pos_;
  std::vector<double> weight_;  // per symbol, the pending rebalance's target weights
  std::vector<double> delta_;   // per symbol, shares to trade on the fill bar
  TargetWeights weights_;

  double cash_ = 0.0;
  double peak_ = 0.0;
  std::int64_t halt_until_ = -1;
  bool pending_rebalance_ = false;
  double decision_equity_ = 0.0;
  std::int64_t exits_pending_ = 0;

  WeightsSimBar bar_;
  WeightsSimResult* result_ = nullptr;
  std::vector<WeightsSimTrade>* trades_ = nullptr;
  MetricsAccumulator* metrics_ = nullptr;
};

Status Bad(const std::string& what) {
  return Status::InvalidArgument("weights_sim: " + what);
}

bool NanOr(double x, double lo, double hi, bool lo_open, bool hi_open) {
  if (std::isnan(x)) return true;
  if (!Finite(x)) return false;
  const bool above = lo_open ? x > lo : x >= lo;
  const bool below = hi_open ? x < hi : x <= hi;
  return above && below;
}

}  // namespace

// ---- TargetWeights: step 5's selection and weights -------------------------------------------

TargetWeights::TargetWeights(const WeightsSimInputs& inputs, const WeightsSimOptions& options)
    : in_(inputs),
      o_(options),
      T_(inputs.bars),
      needs_vol_(options.scheme == WeightsSimOptions::Scheme::kInverseVol ||
                 options.scheme == WeightsSimOptions::Scheme::kVolTarget) {
  const auto S = static_cast<std::size_t>(inputs.symbols);
  cand_.reserve(S);
  sel_.reserve(S);
  base_.assign(S, 0.0);
  w_.assign(S, 0.0);
  frozen_.assign(S, 0);
  sigma_.assign(S, 0.0);
  group_order_.reserve(S);
  gid_.assign(S, -1);
  group_sum_.assign(S, 0.0);
  group_capped_.assign(S, 0);
  if (needs_vol_) basket_.assign(static_cast<std::size_t>(options.vol_window), 0.0);
}

void TargetWeights::Compute(std::int64_t t) {
  Select(t);
  Weigh(t);
}

// Sample std of the vol_window returns ending at t; false without a full window or sigma 0.
bool TargetWeights::Sigma(std::size_t s, std::int64_t t, double* sigma) const {
  const std::int64_t w = o_.vol_window;
  if (t < w) return false;
  double sum = 0.0;
  for (std::int64_t k = t - w + 1; k <= t; ++k) {
    const double c0 = Close(s, k - 1);
    const double c1 = Close(s, k);
    if (!(Finite(c0) && c0 > 0.0 && Finite(c1) && c1 > 0.0)) return false;
    sum += c1 / c0 - 1.0;
  }
  const double mean = sum / static_cast<double>(w);
  double ss = 0.0;
  for (std::int64_t k = t - w + 1; k <= t; ++k) {
    const double r = Close(s, k) / Close(s, k - 1) - 1.0 - mean;
    ss += r * r;
  }
  *sigma = std::sqrt(ss / static_cast<double>(w - 1));
  return *sigma > 0.0 && Finite(*sigma);
}

// sel_ = the selected symbols in rank order (score descending, then symbol index: a strict
// total order, so partial and full sorts agree); sigma_ filled for them with vol schemes.
// Only as much of cand_ is sorted as the selection reads.
void TargetWeights::Select(std::int64_t t) {
  sel_.clear();
  using Sel = WeightsSimOptions::Select;
  auto before = [&](std::size_t a, std::size_t b) {
    const double sa = in_.score[Idx(a, t)];
    const double sb = in_.score[Idx(b, t)];
    return sa > sb || (sa == sb && a < b);
  };
  auto valid = [&](std::size_t s) { return !needs_vol_ || Sigma(s, t, &sigma_[s]); };
  const auto first = cand_.begin();
  switch (o_.select) {
    case Sel::kTopK: {
      // Rank the first topk; names skipped for want of a volatility window make the walk go
      // on, and the ranked prefix at least doubles each time the walk reaches its end.
      std::size_t ranked = 0;
      auto rank_more = [&] {
        const std::size_t want = std::max<std::size_t>(static_cast<std::size_t>(o_.topk), ranked);
        const std::size_t upto = std::min(cand_.size(), ranked + want);
        std::partial_sort(first + static_cast<std::ptrdiff_t>(ranked),
                          first + static_cast<std::ptrdiff_t>(upto), cand_.end(), before);
        ranked = upto;
      };
      for (std::size_t i = 0; i < cand_.size(); ++i) {
        if (static_cast<std::int64_t>(sel_.size()) >= o_.topk) break;
        if (i == ranked) rank_more();
        if (valid(cand_[i])) sel_.push_back(cand_[i]);
      }
      break;
    }
    case Sel::kThreshold: {
      const auto pass = std::partition(
          first, cand_.end(), [&](std::size_t s) { return in_.score[Idx(s, t)] >= o_.threshold; });
      std::sort(first, pass, before);
      for (auto it = first; it != pass; ++it) {
        if (valid(*it)) sel_.push_back(*it);
      }
      break;
    }
    case Sel::kQuantile: {
      std::sort(first, cand_.end(), before);
      for (std::size_t s : cand_) {
        if (valid(s)) sel_.push_back(s);
      }
      const double n = static_cast<double>(sel_.size());
      const auto keep = static_cast<std::size_t>(std::ceil(o_.quantile * n - 1e-9));
      sel_.resize(std::min(sel_.size(), keep));
      break;
    }
  }
}

// w_[i] = the final weight of sel_[i].
void TargetWeights::Weigh(std::int64_t t) {
  const std::size_t n = sel_.size();
  if (n == 0) return;
  using Sch = WeightsSimOptions::Scheme;
  double total = 0.0;
  for (std::size_t i = 0; i < n; ++i) {
    const std::size_t s = sel_[i];
    double b = 1.0;
    if (o_.scheme == Sch::kScoreWeight) b = std::max(in_.score[Idx(s, t)], 0.0);
    if (needs_vol_) b = 1.0 / sigma_[s];
    base_[i] = b;
    total += b;
  }
  if (total <= 0.0) {  // score_weight with no positive score: equal
    for (std::size_t i = 0; i < n; ++i)
      base_[i] = 1.0;
  }
  Cap(t);
  if (o_.scheme == Sch::kVolTarget) {
    const std::int64_t w = o_.vol_window;
    double sum = 0.0;
    for (std::int64_t j = 0; j < w; ++j) {
      const std::int64_t k = t - w + 1 + j;
      double r = 0.0;
      for (std::size_t i = 0; i < n; ++i)
        r += w_[i] * (Close(sel_[i], k) / Close(sel_[i], k - 1) - 1.0);
      basket_[static_cast<std::size_t>(j)] = r;
      sum += r;
    }
    const double mean = sum / static_cast<double>(w);
    double ss = 0.0;
    for (double r : basket_)
      ss += (r - mean) * (r - mean);
    const double vol = std::sqrt(ss / static_cast<double>(w - 1)) * std::sqrt(o_.periods_per_year);
    const double f = vol > 0.0 ? std::min(1.0, o_.target_vol / vol) : 1.0;
    for (std::size_t i = 0; i < n; ++i)
      w_[i] *= f;
  }
}

// Water-filling of the gross (1) under the per-name and per-group caps: see the header.
void TargetWeights::Cap(std::int64_t t) {
  const std::size_t n = sel_.size();
  const bool name_cap = Finite(o_.max_weight);
  const bool group_cap = Finite(o_.group_max);
  std::fill_n(frozen_.begin(), n, std::uint8_t{0});
  std::size_t groups = 0;
  if (group_cap) groups = GroupIds(t);
  std::fill_n(group_capped_.begin(), groups, std::uint8_t{0});
  // Each pass freezes at least one name or caps one group: at most n + groups + 1 passes.
  for (std::size_t pass = 0; pass <= n + groups; ++pass) {
    double fixed = 0.0;
    double free_base = 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (frozen_[i] != 0) {
        fixed += w_[i];
      } else {
        free_base += base_[i];
      }
    }
    const double budget = std::max(1.0 - fixed, 0.0);
    const double scale = free_base > 0.0 ? budget / free_base : 0.0;
    for (std::size_t i = 0; i < n; ++i) {
      if (frozen_[i] == 0) w_[i] = base_[i] * scale;
    }
    bool changed = false;
    if (name_cap) {
      for (std::size_t i = 0; i < n; ++i) {
        if (frozen_[i] == 0 && w_[i] > o_.max_weight) {
          w_[i] = o_.max_weight;
          frozen_[i] = 1;
          changed = true;
        }
      }
    }
    if (changed) continue;
    if (group_cap) {
      std::fill_n(group_sum_.begin(), groups, 0.0);
      for (std::size_t i = 0; i < n; ++i) {
        if (gid_[i] >= 0) group_sum_[static_cast<std::size_t>(gid_[i])] += w_[i];
      }
      for (std::size_t g = 0; g < groups; ++g) {
        if (group_capped_[g] != 0 || !(group_sum_[g] > o_.group_max)) continue;
        group_capped_[g] = 1;
        changed = true;
        const double f = o_.group_max / group_sum_[g];
        for (std::size_t i = 0; i < n; ++i) {
          if (gid_[i] != static_cast<std::int64_t>(g)) continue;
          w_[i] *= f;
          frozen_[i] = 1;
        }
      }
    }
    if (!changed) break;
  }
}

// gid_[i] = dense id of sel_[i]'s group code at t (-1 for NaN); returns the number of groups.
std::size_t TargetWeights::GroupIds(std::int64_t t) {
  const std::size_t n = sel_.size();
  group_order_.clear();
  for (std::size_t i = 0; i < n; ++i) {
    gid_[i] = -1;
    if (Finite(in_.group[Idx(sel_[i], t)])) group_order_.push_back(i);
  }
  std::sort(group_order_.begin(), group_order_.end(), [&](std::size_t a, std::size_t b) {
    const double ga = in_.group[Idx(sel_[a], t)];
    const double gb = in_.group[Idx(sel_[b], t)];
    return ga < gb || (ga == gb && a < b);
  });
  std::int64_t id = -1;
  double last = kNaN;
  for (std::size_t i : group_order_) {
    const double g = in_.group[Idx(sel_[i], t)];
    if (id < 0 || g != last) {
      ++id;
      last = g;
    }
    gid_[i] = id;
  }
  return static_cast<std::size_t>(id + 1);
}

std::string_view WeightsSimExitName(WeightsSimExit reason) {
  switch (reason) {
    case Exit::kRebalance:
      return "rebalance";
    case Exit::kStopLoss:
      return "stop_loss";
    case Exit::kTakeProfit:
      return "take_profit";
    case Exit::kTrailingStop:
      return "trailing_stop";
    case Exit::kDrawdown:
      return "drawdown";
    case Exit::kEnd:
      return "end";
  }
  return "unknown";
}

Status ValidateWeightsSimOptions(const WeightsSimOptions& o) {
  using Sel = WeightsSimOptions::Select;
  using Sch = WeightsSimOptions::Scheme;
  constexpr double kInf = std::numeric_limits<double>::infinity();
  if (o.select == Sel::kTopK && o.topk < 1) {
    return Bad("topk must be >= 1, got " + std::to_string(o.topk));
  }
  if (o.select == Sel::kQuantile && !(o.quantile > 0.0 && o.quantile <= 1.0)) {
    return Bad("quantile must be in (0, 1], got " + Num(o.quantile));
  }
  if (o.select == Sel::kThreshold && !Finite(o.threshold)) {
    return Bad("threshold must be finite, got " + Num(o.threshold));
  }
  if (o.scheme == Sch::kVolTarget && !(Finite(o.target_vol) && o.target_vol > 0.0)) {
    return Bad("target_vol must be finite and > 0 with vol_target, got " + Num(o.target_vol));
  }
  if (!(Finite(o.periods_per_year) && o.periods_per_year > 0.0)) {
    return Bad("periods_per_year must be finite and > 0, got " + Num(o.periods_per_year));
  }
  if (o.vol_window < 2) {
    return Bad("vol_window must be >= 2, got " + std::to_string(o.vol_window));
  }
  if (!NanOr(o.max_weight, 0.0, 1.0, true, false)) {
    return Bad("max_weight must be NaN (none) or in (0, 1], got " + Num(o.max_weight));
  }
  if (!NanOr(o.group_max, 0.0, 1.0, true, false)) {
    return Bad("group_max must be NaN (none) or in (0, 1], got " + Num(o.group_max));
  }
  if (!NanOr(o.turnover_max, 0.0, kInf, false, true)) {
    return Bad("turnover_max must be NaN (none) or finite and >= 0, got " + Num(o.turnover_max));
  }
  if (!NanOr(o.stop_loss, 0.0, 1.0, false, true)) {
    return Bad("stop_loss must be NaN (off) or in [0, 1), got " + Num(o.stop_loss));
  }
  if (!NanOr(o.take_profit, 0.0, kInf, false, true)) {
    return Bad("take_profit must be NaN (off) or finite and >= 0, got " + Num(o.take_profit));
  }
  if (!NanOr(o.trailing_stop, 0.0, 1.0, false, true)) {
    return Bad("trailing_stop must be NaN (off) or in [0, 1), got " + Num(o.trailing_stop));
  }
  if (!NanOr(o.max_drawdown, 0.0, 1.0, true, true)) {
    return Bad("max_drawdown must be NaN (off) or in (0, 1), got " + Num(o.max_drawdown));
  }
  if (o.cooldown_bars < 0) {
    return Bad("cooldown_bars must be >= 0, got " + std::to_string(o.cooldown_bars));
  }
  if (o.hold_min_bars < 0) {
    return Bad("hold_min_bars must be >= 0, got " + std::to_string(o.hold_min_bars));
  }
  if (!(Finite(o.fee_rate) && o.fee_rate >= 0.0 && o.fee_rate < 1.0)) {
    return Bad("fee_rate must be in [0, 1), got " + Num(o.fee_rate));
  }
  if (!(Finite(o.min_fee) && o.min_fee >= 0.0)) {
    return Bad("min_fee must be finite and >= 0, got " + Num(o.min_fee));
  }
  if (!(Finite(o.sell_tax_rate) && o.sell_tax_rate >= 0.0 && o.sell_tax_rate < 1.0)) {
    return Bad("sell_tax_rate must be in [0, 1), got " + Num(o.sell_tax_rate));
  }
  if (!(Finite(o.half_spread) && o.half_spread >= 0.0 && o.half_spread < 1.0)) {
    return Bad("half_spread must be in [0, 1), got " + Num(o.half_spread));
  }
  if (!(Finite(o.impact_alpha) && o.impact_alpha >= 0.0)) {
    return Bad("impact_alpha must be finite and >= 0, got " + Num(o.impact_alpha));
  }
  if (!(Finite(o.impact_beta) && o.impact_beta > 0.0)) {
    return Bad("impact_beta must be finite and > 0, got " + Num(o.impact_beta));
  }
  if (!NanOr(o.lot_size, 0.0, kInf, false, true)) {
    return Bad("lot_size must be NaN or 0 (fractional) or finite and > 0, got " + Num(o.lot_size));
  }
  if (!(Finite(o.init_cash) && o.init_cash > 0.0)) {
    return Bad("init_cash must be finite and > 0, got " + Num(o.init_cash));
  }
  return Status::OK();
}

Status SimulateWeights(const WeightsSimInputs& inputs, const WeightsSimOptions& options,
                       WeightsSimResult* result, std::span<WeightsSimBar> report,
                       std::vector<WeightsSimTrade>* trades, MetricsAccumulator* metrics,
                       std::span<double> positions) {
  if (Status st = ValidateWeightsSimOptions(options); !st.ok()) return st;
  if (inputs.symbols < 0 || inputs.bars < 0) return Bad("symbols and bars must be >= 0");
  const auto n = static_cast<std::size_t>(inputs.symbols) * static_cast<std::size_t>(inputs.bars);
  const auto bars = static_cast<std::size_t>(inputs.bars);
  if (inputs.score.size() != n) return Bad("score must have S*T values");
  if (inputs.deal_price.size() != n) return Bad("deal_price must have S*T values");
  if (inputs.close.size() != n) return Bad("close must have S*T values");
  if (!inputs.rebalance.empty() && inputs.rebalance.size() != bars) {
    return Bad("rebalance must be empty or have T flags");
  }
  auto optional_bad = [n](std::size_t size) { return size != 0 && size != n; };
  if (optional_bad(inputs.volume.size())) return Bad("volume must be empty or have S*T values");
  if (optional_bad(inputs.group.size())) return Bad("group must be empty or have S*T values");
  if (optional_bad(inputs.limit_up.size())) {
    return Bad("limit_up must be empty or have S*T values");
  }
  if (optional_bad(inputs.limit_down.size())) {
    return Bad("limit_down must be empty or have S*T values");
  }
  if (Finite(options.group_max) && inputs.group.empty()) {
    return Bad("group_max needs the group input");
  }
  if (!report.empty() && report.size() != bars) return Bad("report must be empty or have T rows");
  if (!positions.empty() && positions.size() != n) {
    return Bad("positions must be empty or have S*T values");
  }
  if (result == nullptr) return Bad("result must not be null");
  *result = WeightsSimResult{};
  if (trades != nullptr) trades->clear();
  Sim sim(inputs, options);
  sim.Run(result, report, trades, metrics, positions);
  return Status::OK();
}

}  // namespace qraft::engines
