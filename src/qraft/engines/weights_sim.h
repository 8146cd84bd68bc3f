// Cross-sectional weights simulator: the fast engine's general portfolio mode. At the end of
// every rebalance bar it selects names by score, weights them (equal, score, inverse
// volatility, volatility target), caps the weights per name and per group, and trades toward the
// target weights on the next bar with fees, taxes, spread, market impact, lots, price limits,
// a turnover budget and a minimum holding period; per-position stops and a portfolio drawdown
// breaker run on every bar. (Qlib's TopkDropout, which is not a target-weights strategy, is
// portfolio_sim.h.)
//
// Like SimulateSignals it is a pure function of its inputs over flat symbol-major arrays
// (x[s * T + t], the layout of a Panel field): it allocates O(S + vol_window) scratch once per
// call and nothing per bar (the optional trade log grows by push_back), keeps no shared state,
// and gives bit-identical outputs for identical inputs, so a sweep may call it for many
// parameter combinations from many threads at once.
//
// Costs are the fast engine's vectorised approximation of the precise engine (issue 5): one fill
// per order at the bar's deal price moved by a closed-form spread + impact, no queue, no partial
// fills, no intrabar path.
//
// Notation: S symbols, T bars, s a symbol, t the decision bar, u = t + 1 the fill bar.
// c[s,t] close, p[s,u] deal price, v[s,u] volume, E_t equity at the end of bar t. A name is
// *held* when its shares are > 0. Prices in money per share, shares in shares, weights and
// rates as fractions (0.01 = 1%), money in the account currency.
//
// Look-ahead guard. Every decision uses data of bars <= t only (score, close, group at t, and
// the closes before t) and fills at bar u = t + 1, never on bar t. The fill bar's own deal price,
// volume and limit flags decide whether and at what price an order fills (orders are sized in
// money: E_t x weight, converted to shares at p[s,u]). A decision on the last bar never fills.
//
// Each bar u runs, in order:
//  1. Fills (only if something was decided at the end of bar u - 1 or an exit is pending).
//     Tradable on u: p[s,u] finite and > 0, and v[s,u] finite and > 0 when volume is given;
//     buys also need limit_up[s,u] == 0, sells limit_down[s,u] == 0 (when given).
//     a. Target shares. A pending exit (stop or drawdown, below) sells the whole position.
//        Otherwise, after a rebalance decision: target = Lots(w_s E_t / p[s,u]) and delta =
//        target - shares. A buy delta needs buy-tradable, a sell delta sell-tradable, and a
//        rebalance sell also needs u - entry_bar >= hold_min_bars (entry_bar = the bar of the
//        first buy of the current holding); otherwise the delta is 0 (the position is kept).
//        Lots(x) = floor(x / lot + 1e-9) x lot (the 1e-9 lot absorbs representation error);
//        without lots (lot_size NaN or 0) Lots(x) = x, fractional shares. Dust: a rebalance
//        order worth |q| p <= 1e-9 E_t, unless it sells the whole position, is dropped here and
//        after each scaling below (it could only be rounding residue of targets and cash).
//     b. Turnover budget (turnover_max, one rebalance's trades only, not the exits): needed =
//        max(Σ buy |delta| p, Σ sell |delta| p) / E_t (one-sided: the larger side). If needed >
//        turnover_max, every rebalance delta becomes sign x Lots(|delta| x turnover_max /
//        needed).
//     c. Sells, in symbol order, exits and rebalance sells alike. Fill price a = p (1 - h)
//        clamped at >= 0, with h = half_spread + impact_alpha x (q / v[s,u])^impact_beta (the
//        impact term only when volume is given; the fill bar's volume, known only after the
//        bar, is the fast engine's proxy; h is not capped, so orders far above the bar's volume
//        can fill at a = 0); value V = q a; fee = max(fee_rate V, min_fee)
//        if V > 0 (else 0); tax = sell_tax_rate V; cash += V - fee - tax. A sell that would make
//        cash negative (fees above its proceeds and no cash) is skipped, and an exit stays
//        pending.
//     d. Buys, in symbol order. Fill price b = p (1 + h); cost K(q) = q b + fee(q b). With C the
//        cash after the sells and B = Σ K(delta) over the buys: if B > C every buy becomes
//        Lots(delta x C / B). A buy whose K still exceeds the remaining cash (min_fee or
//        rounding) is cut to the largest lot multiple (fractional: bisection, 64 steps) that is
//        affordable. Cash never goes negative.
//     Slippage cost of an order = q |fill price - p|, money (in the prices, not a fee).
//  2. Marking. Every held name with a finite close is marked to it (a suspended one keeps its
//     last close; a name bought on u before any finite close is marked to c[s,t]).
//     E_u = cash + Σ shares x mark; stock value = Σ shares x mark.
//  3. Stops, on held names with a finite close c = c[s,u] and no exit pending, in this priority:
//     stop_loss if c <= A (1 - stop_loss), trailing_stop if c <= M (1 - trailing_stop),
//     take_profit if c >= A (1 + take_profit); A = the average fill price of the holding's buys
//     (shares-weighted, spread and impact included, fees excluded; sells do not change it),
//     M = the highest close since entry_bar (the entry bar's close included). A triggered stop
//     makes the whole position a pending exit that fills at the next tradable bar (it stays
//     pending until it fills, whatever the price does). When it fills on bar x, the name is not
//     eligible at decisions on bars < x + cooldown_bars: re-entry fills no earlier than
//     x + cooldown_bars + 1. Only stop exits set this block.
//  4. Drawdown breaker (max_drawdown). Peak P starts at init_cash and is max(P, E_u). If E_u <
//     (1 - max_drawdown) P: every held name without a pending exit becomes a pending exit
//     (kDrawdown), and decisions are halted on bars u .. u + cooldown_bars, so the account stays
//     flat through bar u + cooldown_bars + 1 (re-entry fills from u + cooldown_bars + 2). While
//     halted the breaker is off and P = E (the peak restarts from the equity of the last halted
//     bar).
//  5. Decision, if rebalance[u] != 0 (rebalance empty = every bar), the breaker is not halted,
//     and some symbol has a finite score at u (no finite score at all = no data: the positions
//     are kept, as Qlib does). Eligible: finite score, finite close > 0, no pending exit, no
//     stop block; for inverse_vol and vol_target also a full volatility window (below) with
//     sigma > 0. Ranked by score descending, ties by symbol index ascending.
//     Selection: kTopK the first min(topk, n) eligible; kQuantile the first
//     ceil(quantile n - 1e-9) of the n eligible; kThreshold the eligible with score >=
//     threshold.
//     Base weights b: kEqual 1; kScoreWeight max(score, 0) (all zero: 1); kInverseVol and
//     kVolTarget 1 / sigma_s, sigma_s the sample standard deviation (ddof 1) of the vol_window
//     close-to-close returns r[s,k] = c[s,k] / c[s,k-1] - 1, k = u - vol_window + 1 .. u (all
//     vol_window + 1 closes finite and > 0). Weights w = b / Σ b (gross 1), then capped:
//     Caps (water-filling, repeated until no cap is violated): free names share what the frozen
//     ones leave of the gross pro rata to b; a free name above max_weight is frozen at
//     max_weight; only when no name is above it, every not yet capped group (finite group code
//     at (s,u); NaN = no group) whose weight sum exceeds group_max has all its members scaled
//     to sum group_max and frozen. What no free name can take stays in cash.
//     kVolTarget then scales every weight by min(1, target_vol / (sigma_B sqrt(periods_per_year)))
//     where sigma_B is the sample std (ddof 1) of the basket returns R_k = Σ_s w_s r[s,k] over
//     the same window (sigma_B = 0: factor 1). Capping before scaling keeps both exact: the caps
//     hold (the factor is <= 1, no leverage) and the ex-ante volatility is target_vol unless the
//     gross hit 1. Names not selected get weight 0: held ones are sold (subject to hold_min_bars),
//     including held names not eligible at u (no score, suspended, no volatility window).
//
// Round trips (trades): from a buy of a flat name to the sell that brings it back to 0.
// entry_price = A above, exit_price = average sell fill price, pnl = Σ sell values - Σ buy values
// - all fees and taxes of its orders (so spread and impact are included), ret = pnl / Σ buy
// values, holding_bars = exit_bar - entry_bar, reason = what closed it. A holding still open after
// the last bar is logged with exit_bar -1, reason kEnd, its remaining shares valued at their mark
// without costs (exit_price averages those with the sells, pnl counts them), holding_bars =
// T - 1 - entry_bar; open trades are not fed to the metrics. Closed trades are logged in fill
// order (bar, then symbol), open ones after them in symbol order. Σ pnl over the whole log =
// final_value - init_cash exactly up to rounding.
//
// Metrics feed (optional MetricsAccumulator, docs/metrics.md): per bar u, ret = E_u / E_{u-1} - 1
// (E_{-1} = init_cash), fees = fees + taxes paid on u (money; slippage is not a fee, it is in the
// return), turnover = (value bought + value sold at fill prices on u) / E_{u-1} (two-sided, as
// Qlib and portfolio_sim), gross_exposure = stock value / E_u; one TradeRecord {pnl, ret,
// holding_bars} per closed round trip, at its exit. Reserve(T) the accumulator first for tail
// metrics without allocation in the loop.
#pragma once

#include <cstdint>
#include <span>
#include <string_view>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/engines/metrics.h"

namespace qraft::engines {

struct WeightsSimOptions {
  enum class Select : std::uint8_t { kTopK, kQuantile, kThreshold };
  enum class Scheme : std::uint8_t { kEqual, kScoreWeight, kInverseVol, kVolTarget };

  Select select = Select::kTopK;
  std::int64_t topk = 50;  ///< kTopK: names held, >= 1
  double quantile = 0.1;   ///< kQuantile: top ceil(quantile x eligible), (0, 1]
  double threshold = 0.0;  ///< kThreshold: score >= threshold, finite

  Scheme scheme = Scheme::kEqual;
  double target_vol = kNaN;       ///< kVolTarget: annualised volatility, finite > 0
  double periods_per_year = 252;  ///< annualises sigma_B (kVolTarget), finite > 0
  std::int64_t vol_window = 20;   ///< returns per volatility estimate, >= 2
  double max_weight = kNaN;       ///< per-name cap, fraction of equity, (0, 1]; NaN = none
  double group_max = kNaN;        ///< per-group cap, (0, 1], needs inputs.group; NaN = none
  double turnover_max = kNaN;     ///< per rebalance, one-sided, fraction of E_t, >= 0; NaN = none

  double stop_loss = kNaN;         ///< fraction below the entry price, [0, 1); NaN = off
  double take_profit = kNaN;       ///< fraction above the entry price, >= 0; NaN = off
  double trailing_stop = kNaN;     ///< fraction below the peak close, [0, 1); NaN = off
  double max_drawdown = kNaN;      ///< breaker, fraction of the equity peak, (0, 1); NaN = off
  std::int64_t cooldown_bars = 0;  ///< re-entry block after a stop exit / breaker halt, >= 0
  std::int64_t hold_min_bars = 0;  ///< bars before a rebalance may reduce a holding, >= 0

  double fee_rate = 0.0;       ///< fraction of order value, both sides, [0, 1)
  double min_fee = 0.0;        ///< money per order with value > 0, >= 0
  double sell_tax_rate = 0.0;  ///< fraction of sell value, [0, 1)
  double half_spread = 0.0;    ///< fraction of price paid per side (spread_bps / 2 / 1e4), [0, 1)
  double impact_alpha = 0.0;   ///< impact = alpha x participation^beta, fraction of price, >= 0
  double impact_beta = 0.5;    ///< > 0
  double lot_size = kNaN;      ///< shares per lot, > 0; NaN or 0 = fractional shares
  double init_cash = 1e6;      ///< finite > 0
};

/// Status::InvalidArgument naming the first bad option.
Status ValidateWeightsSimOptions(const WeightsSimOptions& options);

/// Inputs, symbol-major S x T (x[s * T + t]) unless stated; optional ones may be empty.
struct WeightsSimInputs {
  std::int64_t symbols = 0;                      ///< S
  std::int64_t bars = 0;                         ///< T
  std::span<const double> score = {};            ///< required; NaN = not eligible
  std::span<const std::uint8_t> rebalance = {};  ///< T flags, non-zero = decide at the bar's end;
                                                 ///< empty = every bar
  std::span<const double> deal_price = {};       ///< required; fills (e.g. the open); NaN = no fill
  std::span<const double> close = {};            ///< required; marks, stops, vols; NaN = suspended
  std::span<const double> volume = {};           ///< shares; impact, and 0/NaN = no fill
  std::span<const double> group = {};            ///< group code (e.g. industry); NaN = no group
  std::span<const std::uint8_t> limit_up = {};   ///< non-zero = no buy fills on that bar
  std::span<const std::uint8_t> limit_down = {};  ///< non-zero = no sell fills on that bar
};

enum class WeightsSimExit : std::uint8_t {
  kRebalance,     ///< sold to 0 by a rebalance
  kStopLoss,      ///< stop_loss
  kTakeProfit,    ///< take_profit
  kTrailingStop,  ///< trailing_stop
  kDrawdown,      ///< the max_drawdown breaker
  kEnd,           ///< still open after the last bar
};

/// "rebalance", "stop_loss", "take_profit", "trailing_stop", "drawdown", "end".
std::string_view WeightsSimExitName(WeightsSimExit reason);

/// One round trip of one symbol (see the header comment).
struct WeightsSimTrade {
  std::int64_t symbol = 0;     ///< symbol index s
  std::int64_t entry_bar = 0;  ///< bar of the first buy
  std::int64_t exit_bar = -1;  ///< bar of the closing sell; -1 = open at the end
  double entry_price = 0.0;    ///< average buy fill price
  double exit_price = 0.0;     ///< average sell fill price (open: with the mark)
  double max_shares = 0.0;     ///< largest holding during the trade
  double pnl = 0.0;            ///< money, net of every cost of its orders
  double ret = 0.0;            ///< pnl / value bought
  std::int64_t holding_bars = 0;
  WeightsSimExit reason = WeightsSimExit::kRebalance;
};

/// One bar, after its fills and marking.
struct WeightsSimBar {
  double equity = 0.0;  ///< E_u = cash + stock_value
  double cash = 0.0;
  double stock_value = 0.0;   ///< Σ shares x mark
  double traded = 0.0;        ///< value bought + value sold at fill prices on the bar
  double fees = 0.0;          ///< fees + taxes paid on the bar
  double slippage = 0.0;      ///< Σ q |fill price - deal price| on the bar
  std::int32_t holdings = 0;  ///< names held at the bar's end
  std::int32_t orders = 0;    ///< orders filled on the bar
};

struct WeightsSimResult {
  double final_value = 0.0;          ///< E_{T-1} (init_cash for T = 0)
  double cash = 0.0;                 ///< after the last bar
  double total_fees = 0.0;           ///< fees + taxes
  double total_taxes = 0.0;          ///< the taxes in total_fees
  double total_slippage_cost = 0.0;  ///< spread + impact, money
  double total_traded = 0.0;         ///< value bought + value sold
  std::int64_t orders = 0;           ///< filled orders
  std::int64_t rebalances = 0;       ///< decisions taken (step 5)
  std::int64_t trades = 0;           ///< round trips opened (closed + open at the end)
  std::int64_t closed_trades = 0;
  std::int64_t stop_exits = 0;      ///< round trips closed by stop_loss/take_profit/trailing_stop
  std::int64_t drawdown_halts = 0;  ///< times the breaker fired
};

/// Step 5's target weights (selection, base weights, caps, volatility target; the header
/// comment), for a caller that decides which names are eligible: the weights engine (no pending
/// exit, no stop block) and the precise engine's selection strategy share it, so the two engines
/// aim at the same portfolio. Reads inputs.score, close and group, and options' selection,
/// scheme, vol_window, target_vol, periods_per_year, max_weight and group_max; both must outlive
/// it and be valid (SimulateWeights' checks). Allocates O(S) once, nothing per call.
/// Not thread-safe: one per simulation.
class TargetWeights {
 public:
  TargetWeights(const WeightsSimInputs& inputs, const WeightsSimOptions& options);

  /// The caller fills this with the names eligible at the decision bar (finite score, finite
  /// close > 0, and its own conditions); Compute reorders it.
  std::vector<std::size_t>& candidates() { return cand_; }
  /// Computes the weights at decision bar t over candidates().
  void Compute(std::int64_t t);
  /// The selected names in rank order (score descending, ties by symbol index) and their
  /// weights (fractions of equity), valid until the next Compute.
  std::span<const std::size_t> selected() const { return sel_; }
  std::span<const double> weights() const { return {w_.data(), sel_.size()}; }

 private:
  std::size_t Idx(std::size_t s, std::int64_t t) const {
    return s * static_cast<std::size_t>(T_) + static_cast<std::size_t>(t);
  }
  double Close(std::size_t s, std::int64_t t) const { return in_.close[Idx(s, t)]; }
  bool Sigma(std::size_t s, std::int64_t t, double* sigma) const;
  void Select(std::int64_t t);
  void Weigh(std::int64_t t);
  void Cap(std::int64_t t);
  std::size_t GroupIds(std::int64_t t);

  const WeightsSimInputs& in_;
  const WeightsSimOptions& o_;
  const std::int64_t T_;
  const bool needs_vol_;
  std::vector<std::size_t> cand_, sel_, group_order_;
  std::vector<double> base_, w_, sigma_, group_sum_, basket_;
  std::vector<std::uint8_t> frozen_, group_capped_;
  std::vector<std::int64_t> gid_;
};

/// Runs the strategy. `report` is empty or of length T; `trades`, if not null, is cleared and
/// receives the round trips; `metrics`, if not null, is fed as above; `positions` is empty or
/// S x T symbol-major and receives the shares held at each bar's end. InvalidArgument for bad
/// options or lengths (group_max without group, nothing written then); otherwise OK.
Status SimulateWeights(const WeightsSimInputs& inputs, const WeightsSimOptions& options,
                       WeightsSimResult* result, std::span<WeightsSimBar> report = {},
                       std::vector<WeightsSimTrade>* trades = nullptr,
                       MetricsAccumulator* metrics = nullptr, std::span<double> positions = {});

}  // namespace qraft::engines
