// Cross-sectional portfolio simulator: Qlib's TopkDropoutStrategy dealt by its SimulatorExecutor
// and Exchange, over flat symbol-major arrays (x[s * T + t], the layout of a Panel field). Like
// SimulateSignals it is a pure function of its inputs (it allocates O(S) scratch per call): no
// shared state, bit-identical results for identical inputs.
//
// Semantics (pyqlib 0.9.7: qlib/contrib/strategy/signal_strategy.py TopkDropoutStrategy,
// qlib/backtest/exchange.py Exchange, account.py Account, position.py Position;
// reference/qlib/SPEC.md §4; checked against Qlib itself by portfolio_sim_test.cc on the three
// golden cases of scripts/peers/topk_golden.py: returns and values agree within 1e-15) with
// method_buy = "top", method_sell = "bottom", SimulatorExecutor(time_per_step = "day", trade_type =
// "serial"), impact_cost 0, no volume limit:
//
//  * Bars and scores. Bar t trades on the score of bar t - 1 (Qlib: get_step_time(step, shift=1)),
//    so bar 0 never trades. score NaN = the symbol has no row in Qlib's signal that day (it is
//    never a buy candidate; if held it sorts last). A bar whose previous bar has no finite score at
//    all places no order (Qlib's get_signal returns None), so positions are kept.
//  * Tradability (Exchange.is_stock_tradable). close NaN = suspended = not tradable.
//    limit_buy / limit_sell flags: given directly, or from `change` and `limit_threshold`
//    (Exchange._update_limit: limit_buy = change >= thr, limit_sell = change <= -thr, NaN change
//    is no limit), or none. With forbid_all_trade_at_limit (the default) a stock at either limit
//    is neither bought nor sold; otherwise buys check limit_buy only and sells limit_sell only.
//  * Decision for bar t (generate_trade_decision), s_i = score[i, t-1]:
//      last  = held symbols by score descending, NaN last;
//      today = the first n_drop + topk - |last| symbols not held, by score descending (Python
//              slice semantics: a negative count drops that many from the end); with
//              only_tradable, only tradable symbols, and at least one (Qlib's get_first_n);
//      comb  = last ∪ today by score descending, NaN last;
//      sell  = the held symbols among the last n_drop of comb (n_drop = 0 is Python's li[-0:], the
//              whole of comb: every held stock is a sell candidate; with only_tradable the last
//              n_drop tradable ones, at least one);
//      buy   = today[: |sell| + topk - |last|] (Python slice).
//    Ties between equal scores go by symbol index (Qlib's pandas quicksort leaves them unordered).
//  * Sells first, in symbol order: a held symbol in `sell`, tradable, with hold count >=
//    hold_thresh, sells its whole amount at its deal price. Then value = cash * risk_degree /
//    |buy| with the cash after the sells (untradable buy symbols still count in |buy|), and each
//    tradable buy symbol orders round_amount_by_trade_unit(value / deal price, factor).
//  * Dealing (Exchange._calc_trade_info_by_order, deal_order). Deal price = deal_price[s, t], or
//    close when that is NaN or <= 1e-8 (deal_price empty = close: Qlib's default $close).
//    round(a, f) = (a f + 0.1) // trade_unit * trade_unit / f (Python floor division), skipped
//    with trade_unit NaN (None) or when some factor is NaN where close is not (Qlib's
//    trade_w_adj_price); factor empty = 1. BUY, cash C, val = a p, ratio r = open_cost:
//    C < max(val r, min_cost): nothing; C < val + max(val r, min_cost): a = round(min(a, max_buy))
//    with max_buy = C / (1 + r) / p if C >= min_cost / r + min_cost, else (C - min_cost) / p
//    (0 if C < min_cost); else a = round(a). SELL (r = close_cost): the whole amount, nothing if
//    C + val < max(val r, min_cost). cost = max(val r, min_cost), 0 if val <= 1e-5; a deal of
//    val <= 1e-5 changes nothing. Buy: cash -= val + cost, amount = val / p, price = p, count 0.
//    Sell: cash += val - cost, the symbol leaves the position.
//  * Bar end (Account.update_current_position): every held symbol with a close is marked to it
//    (a suspended one keeps its last price), then every hold count += 1 (add_count_all), so with
//    hold_thresh 1 a stock bought on bar t can be sold on t + 1.
//  * Report (Account.update_portfolio_metrics, SPEC §4.3), V_{-1} = init_cash:
//      account_t = cash_t + Σ amount price; return_t = (account_t - account_{t-1} + cost_t) /
//      account_{t-1} (before costs); cost = cost_t / account_{t-1}; turnover = (value bought +
//      value sold)_t / account_{t-1} (two-sided).
//
// Metrics feed (optional MetricsAccumulator, docs/metrics.md): per bar ret = account_t /
// account_{t-1} - 1 (after costs), fees = cost_t (money), turnover = Qlib's turnover fraction
// above, gross_exposure = stock value / account_t; one TradeRecord {pnl, ret, holding_bars} per
// closed round trip (TopkDropoutTrade), at its exit.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/engines/metrics.h"

namespace qraft::engines {

struct TopkDropoutOptions {
  std::int64_t topk = 50;        ///< Qlib topk, >= 1
  std::int64_t n_drop = 5;       ///< Qlib n_drop, >= 0
  std::int64_t hold_thresh = 1;  ///< bars a stock must be held before it may be sold
  double risk_degree = 0.95;     ///< fraction of cash spent on each rebalance, (0, 1]
  double open_cost = 0.0015;     ///< buy cost rate (Exchange default), >= 0
  double close_cost = 0.0025;    ///< sell cost rate, >= 0
  double min_cost = 5.0;         ///< money per dealt order, >= 0
  double trade_unit = 100.0;     ///< shares per lot (cn 100); NaN = None, no rounding
  double limit_threshold = std::numeric_limits<double>::quiet_NaN();  ///< with `change`; NaN = none
  double init_cash = 1e9;  ///< Qlib backtest() account, finite > 0
  bool forbid_all_trade_at_limit = true;
  bool only_tradable = false;
};

/// Status::InvalidArgument naming the first bad option.
Status ValidateTopkDropoutOptions(const TopkDropoutOptions& options);

/// The symbols with a finite score on each bar, best first (score descending, ties by symbol
/// index): bar t's list is order[offset[t], offset[t + 1]). A sweep ranks each distinct score
/// once and shares the ranking among every combination that differs only in topk, n_drop or
/// costs; each bar then costs O(topk + n_drop) instead of O(S log S).
struct ScoreRanking {
  std::vector<std::int32_t> order;
  std::vector<std::int64_t> offset;  // T + 1 entries
};

/// Ranks a symbol-major S x T score (NaN = no score), bars in parallel; deterministic.
/// REQUIRES: score.size() == S * T, S < 2^31.
ScoreRanking RankScores(std::span<const double> score, std::int64_t symbols, std::int64_t bars);

/// TopkDropout's decision at one bar (the header's "Decision"): which held symbols to sell and
/// which to buy, from the scores of the decision bar. SimulateTopkDropout and the precise
/// engine's TopkDropout strategy share it, so both engines trade the same lists. Scratch is
/// allocated once (O(S)); not thread-safe, one per simulation.
class TopkDropoutDecision {
 public:
  TopkDropoutDecision(std::int64_t symbols, const TopkDropoutOptions& options);

  /// Decides at score bar `b` of the symbol-major S x T `score`: `ranked` the symbols with a
  /// finite score at b, best first (a ScoreRanking's bar); `held` the symbols held, ascending;
  /// `is_held(s)` and, with options.only_tradable, `tradable(s)` (Qlib's any-direction check
  /// on the dealing bar; ignored otherwise).
  template <class IsHeld, class Tradable>
  void Decide(std::span<const std::int32_t> ranked, std::span<const std::int64_t> held,
              std::span<const double> score, std::int64_t bars, std::int64_t b, IsHeld&& is_held,
              Tradable&& tradable);

  /// The held symbols to sell, ascending (before tradability and hold_thresh).
  std::span<const std::int64_t> sells() const { return sell_; }
  /// The symbols to buy, best first; untradable ones among them still count in the split of
  /// the cash (value = cash x risk_degree / buys().size()).
  std::span<const std::int64_t> buys() const { return {today_.data(), n_buy_}; }

 private:
  // Sorted by score at b descending, NaN last, ties by symbol index (stable on ascending input).
  void SortByScore(std::vector<std::int64_t>* v, std::span<const double> score, std::int64_t bars,
                   std::int64_t b) const;

  const TopkDropoutOptions& o_;
  std::vector<std::int64_t> last_, today_, comb_, tail_, sell_;
  std::size_t n_buy_ = 0;
};

/// Inputs, all symbol-major S x T (x[s * T + t]); optional ones may be empty.
struct TopkDropoutInputs {
  std::int64_t symbols = 0;                      ///< S
  std::int64_t bars = 0;                         ///< T
  std::span<const double> score = {};            ///< required; NaN = no score
  std::span<const double> close = {};            ///< required; NaN = suspended ($close)
  std::span<const double> deal_price = {};       ///< empty = close
  std::span<const std::uint8_t> limit_buy = {};  ///< non-zero = at the up limit; empty = use change
  std::span<const std::uint8_t> limit_sell = {};  ///< non-zero = at the down limit
  std::span<const double> change = {};            ///< $change, with options.limit_threshold
  std::span<const double> factor = {};            ///< $factor for trade-unit rounding; empty = 1
  /// RankScores(score, S, T), or null to rank here.
  const ScoreRanking* ranking = nullptr;
};

/// One row of Qlib's daily portfolio report.
struct TopkDropoutBar {
  double account = 0.0;       ///< Qlib "account": cash + stock value at the bar's end
  double cash = 0.0;          ///< "cash"
  double stock_value = 0.0;   ///< "value"
  double ret = 0.0;           ///< "return", before costs
  double cost = 0.0;          ///< "cost", fraction of the previous account
  double turnover = 0.0;      ///< "turnover", two-sided, fraction of the previous account
  double cost_money = 0.0;    ///< costs paid on the bar
  double traded_money = 0.0;  ///< value bought + value sold on the bar
  std::int32_t holdings = 0;  ///< symbols held at the bar's end
  std::int32_t orders = 0;    ///< orders dealt (value > 1e-5) on the bar
};

/// One round trip: from the buy of a symbol not held to the sell that empties it.
struct TopkDropoutTrade {
  std::int64_t symbol = 0;
  std::int64_t entry_bar = 0;
  std::int64_t exit_bar = -1;  ///< -1 = still held after the last bar
  double entry_price = 0.0;    ///< deal price of the buy
  double exit_price = 0.0;     ///< value-weighted deal price of the sells (last mark if open)
  double amount = 0.0;         ///< shares bought
  double pnl = 0.0;            ///< sell values - buy value - all costs (open: marked, no exit cost)
  double ret = 0.0;            ///< pnl / buy value
  std::int64_t holding_bars = 0;
};

struct TopkDropoutResult {
  double final_value = 0.0;  ///< account after the last bar (init_cash for T = 0)
  double cash = 0.0;
  double total_cost = 0.0;
  std::int64_t orders = 0;
};

/// Runs the strategy. `report` is empty or of length T; `amounts` is empty or of length S and
/// receives the final holdings (adjusted shares); `trades`, if not null, receives the round trips
/// (closed ones in the order they close, then the open ones in symbol order), and every closed one
/// is also fed to `metrics` as a TradeRecord. InvalidArgument for bad options or lengths (nothing
/// is written then); otherwise OK.
Status SimulateTopkDropout(const TopkDropoutInputs& inputs, const TopkDropoutOptions& options,
                           TopkDropoutResult* result, std::span<TopkDropoutBar> report = {},
                           std::span<double> amounts = {}, MetricsAccumulator* metrics = nullptr,
                           std::vector<TopkDropoutTrade>* trades = nullptr);

// ---- TopkDropoutDecision::Decide ----------------------------------------------------------------

namespace detail {
/// Python's li[:n] length for a list of `len` (a negative n drops that many from the end).
inline std::size_t SliceHead(std::size_t len, std::int64_t n) {
  if (n >= 0) return std::min<std::size_t>(len, static_cast<std::size_t>(n));
  const auto drop = static_cast<std::size_t>(-n);
  return drop >= len ? 0 : len - drop;
}
}  // namespace detail

template <class IsHeld, class Tradable>
void TopkDropoutDecision::Decide(std::span<const std::int32_t> ranked,
                                 std::span<const std::int64_t> held, std::span<const double> score,
                                 std::int64_t bars, std::int64_t b, IsHeld&& is_held,
                                 Tradable&& tradable) {
  const auto at = [&](std::int64_t s) {
    return score[static_cast<std::size_t>(s) * static_cast<std::size_t>(bars) +
                 static_cast<std::size_t>(b)];
  };
  last_.assign(held.begin(), held.end());
  SortByScore(&last_, score, bars, b);
  const auto n_last = static_cast<std::int64_t>(last_.size());
  const std::int64_t n_today = o_.n_drop + o_.topk - n_last;
  // Candidates: not held, finite score, best first; a prefix of them is all any rule reads.
  std::size_t held_ranked = 0;
  for (const std::int64_t s : held)
    held_ranked += !std::isnan(at(s));
  const std::size_t n_candidates = ranked.size() - held_ranked;
  today_.clear();
  if (o_.only_tradable) {
    // Qlib's get_first_n: tradable ones, stopping once n_today are taken (at least one).
    for (const std::int32_t s : ranked) {
      if (is_held(s) || !tradable(s)) continue;
      today_.push_back(s);
      if (static_cast<std::int64_t>(today_.size()) >= n_today) break;
    }
  } else {
    const std::size_t take = detail::SliceHead(n_candidates, n_today);
    for (std::size_t k = 0; k < ranked.size() && today_.size() < take; ++k) {
      if (!is_held(ranked[k])) today_.push_back(ranked[k]);
    }
  }
  comb_.assign(last_.begin(), last_.end());
  comb_.insert(comb_.end(), today_.begin(), today_.end());
  std::sort(comb_.begin(), comb_.end());
  SortByScore(&comb_, score, bars, b);
  tail_.clear();
  if (o_.only_tradable) {
    // The last n_drop tradable ones (at least one when any is).
    for (std::size_t k = comb_.size(); k-- > 0;) {
      if (!tradable(comb_[k])) continue;
      tail_.push_back(comb_[k]);
      if (static_cast<std::int64_t>(tail_.size()) >= o_.n_drop) break;
    }
  } else {
    // li[-n:]; n = 0 is li[-0:] = li.
    const std::size_t k =
        o_.n_drop == 0 ? comb_.size()
                       : std::min<std::size_t>(comb_.size(), static_cast<std::size_t>(o_.n_drop));
    tail_.assign(comb_.end() - static_cast<std::ptrdiff_t>(k), comb_.end());
  }
  sell_.clear();
  for (const std::int64_t s : held) {
    if (std::find(tail_.begin(), tail_.end(), s) != tail_.end()) sell_.push_back(s);
  }
  n_buy_ =
      detail::SliceHead(today_.size(), static_cast<std::int64_t>(sell_.size()) + o_.topk - n_last);
}

}  // namespace qraft::engines
