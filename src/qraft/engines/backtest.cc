#include "qraft/engines/backtest.h"

#include <fmt/format.h>
#include <tbb/enumerable_thread_specific.h>
#include <tbb/task_arena.h>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <algorithm>
#include <array>
#include <cmath>
#include <cstring>
#include <map>
#include <optional>

#include "qraft/core/parallel.h"
#include "qraft/core/time.h"
#include "qraft/data/market.h"
#include "qraft/data/snapshot.h"
#include "qraft/engines/portfolio_sim.h"
#include "qraft/engines/signal_sim.h"
#include "qraft/engines/weights_sim.h"
#include "qraft/expr/compiler.h"
#include "qraft/expr/evaluator.h"

namespace qraft::engines {
namespace {

using strategy::Execution;
using strategy::StrategySpec;

Status Unsupported(std::string_view what) {
  return Status::Unimplemented(fmt::format("{} is not supported by the fast engine yet", what));
}

// Everything RunSweep cannot run is refused up front, by name.
Status CheckSupported(const StrategySpec& s, std::size_t symbols) {
  if (s.position.scheme != strategy::Position::Scheme::kEqual) {
    return Unsupported("position.scheme other than equal with signals");
  }
  if (s.signals.long_entry.empty() && s.signals.short_entry.empty()) {
    return Status::InvalidArgument("the strategy has neither signals.long nor signals.short");
  }
  // Each symbol trades its own sleeve of capital / S: a cap below that cannot be met.
  if (s.position.max_weight && s.position.max_weight->param.empty() &&
      s.position.max_weight->value * static_cast<double>(symbols) < 1 - 1e-12) {
    return Status::InvalidArgument(fmt::format(
        "position.max_weight {} is below 1/{}: signal strategies give each of the {} symbols an "
        "equal sleeve of the capital",
        s.position.max_weight->value, symbols, symbols));
  }
  const auto& r = s.risk;
  if (r.max_drawdown) return Unsupported("risk.max_drawdown with signals");
  if (r.turnover_max) return Unsupported("risk.turnover_max with signals");
  if (r.group_max_weight) return Unsupported("risk.group_max_weight with signals");
  const auto& c = s.costs;
  if (c.latency_ms) return Unsupported("costs.slippage.latency_ms (the precise engine's)");
  return Status::OK();
}

// Whether bar t may open positions.
std::vector<std::uint8_t> RebalanceBars(const strategy::Rebalance& rb, const Calendar& cal) {
  const std::size_t T = cal.size();
  std::vector<std::uint8_t> on(T, 0);
  for (std::size_t t = 0; t < T; ++t) {
    switch (rb.kind) {
      case strategy::Rebalance::Kind::kEveryBars:
        on[t] = t % static_cast<std::size_t>(rb.bars) == 0;
        break;
      case strategy::Rebalance::Kind::kWeekEnd: {
        // The last bar of its week (weeks start on Monday; day 0 = 1970-01-01, a Thursday).
        const auto week = [&](std::size_t i) { return (DayNumber(cal[i]) + 3) / 7; };
        on[t] = t + 1 == T || week(t + 1) != week(t);
        break;
      }
      case strategy::Rebalance::Kind::kMonthEnd: {
        const auto month = [&](std::size_t i) {
          const CivilDate d = ToCivil(cal[i]);
          return d.year * 12 + d.month;
        };
        on[t] = t + 1 == T || month(t + 1) != month(t);
        break;
      }
    }
  }
  return on;
}

// Eight 0/1 bytes (bars 8i..8i+7, little-endian in a uint64) <-> one byte: a multiply gathers
// the low bit of each byte into the top byte; the unpacking table is built from the same map.
std::uint8_t PackByte(std::uint64_t bytes) {
  return static_cast<std::uint8_t>((bytes * 0x0102040810204080ULL) >> 56);
}

// Bit i (i < 8) set where v[i] is non-zero and not NaN: two doubles per SSE2 compare, their
// masks gathered by movemask.
unsigned SignalBits8(const double* v) {
  unsigned bits = 0;
#if defined(__SSE2__)
  const __m128d zero = _mm_setzero_pd();
  for (int i = 0; i < 4; ++i) {
    const __m128d x = _mm_loadu_pd(v + 2 * i);
    const __m128d on = _mm_and_pd(_mm_cmpneq_pd(x, zero), _mm_cmpord_pd(x, x));
    bits |= static_cast<unsigned>(_mm_movemask_pd(on)) << (2 * i);
  }
#else
  for (int i = 0; i < 8; ++i)
    bits |= static_cast<unsigned>((v[i] != 0) & (v[i] == v[i])) << i;
#endif
  return bits;
}

const std::array<std::uint64_t, 256>& UnpackTable() {
  static const std::array<std::uint64_t, 256> table = [] {
    std::array<std::uint64_t, 256> t{};
    for (std::uint64_t v = 0; v < 256; ++v) {
      std::uint64_t bytes = 0;
      for (int i = 0; i < 8; ++i)
        bytes |= ((v >> i) & 1) << (8 * i);
      t[PackByte(bytes)] = bytes;
    }
    return t;
  }();
  return table;
}

// Keeps evaluated signals as one bit per (symbol, bar), already in the form the simulator reads:
// 1 where the value is non-zero and not NaN, moved `shift` bars later (the look-ahead guard), and
// for entry outputs only where the decision bar is a rebalance bar. A batch of combinations then
// costs S×T/8 bytes per signal instead of 8 S×T, so batches are large and share more nodes. The
// buffers are reused by every batch of a sweep (Reset).
class SignalSink : public expr::ResultSink {
 public:
  /// Output o of a batch is expression o % is_entry.size() of its combination; entry
  /// expressions act only on rebalance bars.
  SignalSink(std::size_t num_times, std::size_t num_symbols, std::size_t shift,
             std::span<const std::uint8_t> rebalance, std::vector<std::uint8_t> is_entry)
      : T_(num_times),
        S_(num_symbols),
        W_((num_times + 7) / 8),
        shift_(shift),
        rebalance_bits_(W_, 0),
        is_entry_(std::move(is_entry)) {
    for (std::size_t t = 0; t < T_; ++t)
      rebalance_bits_[t / 8] |= static_cast<std::uint8_t>((rebalance[t] != 0) << (t % 8));
  }
  void Reset(std::size_t outputs) {
    if (bits_.size() < outputs) bits_.resize(outputs);
    for (std::size_t o = 0; o < outputs; ++o)
      bits_[o].resize(S_ * W_);
  }
  Status Consume(std::size_t output, std::size_t s0, std::size_t s1,
                 std::span<const double> values) override {
    for (std::size_t s = s0; s < s1; ++s) {
      for (std::size_t t0 = 0; t0 < T_; t0 += kRowTile) {
        QRAFT_RETURN_NOT_OK(ConsumeRows(
            output, s, t0, values.subspan((s - s0) * T_ + t0, std::min(kRowTile, T_ - t0))));
      }
    }
    return Status::OK();
  }
  bool WantsRowTiles() const override { return true; }
  // A tile of rows [t0, t0 + n) of one symbol: 1 where the value is non-zero and not NaN (NaN
  // != 0 is true, NaN == NaN false), and for entries only on rebalance bars; packed from t0 (a
  // multiple of 8) and OR-ed in `shift` bits further. The first tile clears the row.
  Status ConsumeRows(std::size_t output, std::size_t s, std::size_t t0,
                     std::span<const double> values) override {
    const bool entry = is_entry_[output % is_entry_.size()] != 0;
    std::uint8_t* row = bits_[output].data() + s * W_;
    if (t0 == 0) std::fill(row, row + W_, 0);
    // Rows from T - shift on would land beyond the last bar.
    const std::size_t n = std::min(values.size(), T_ > shift_ + t0 ? T_ - shift_ - t0 : 0);
    const double* v = values.data();
    const std::size_t base = (t0 + shift_) / 8;
    const unsigned k = (t0 + shift_) % 8;
    for (std::size_t w = 0; w < (n + 7) / 8; ++w) {
      unsigned p = 0;
      if (8 * w + 8 <= n) {
        p = SignalBits8(v + 8 * w);
      } else {
        for (std::size_t i = 8 * w; i < n; ++i)
          p |= static_cast<unsigned>((v[i] != 0) & (v[i] == v[i])) << (i % 8);
      }
      if (entry) p &= rebalance_bits_[t0 / 8 + w];
      if (base + w < W_) row[base + w] |= static_cast<std::uint8_t>(p << k);
      if (k != 0 && base + w + 1 < W_) row[base + w + 1] |= static_cast<std::uint8_t>(p >> (8 - k));
    }
    return Status::OK();
  }
  /// Writes the signals of (output, symbol) at bars [t0, t0 + n) into `out` as 0/1 bytes.
  /// REQUIRES: t0 a multiple of 8, t0 + n <= T; `out` has room for ceil(n / 8) * 8.
  void Unpack(std::size_t output, std::size_t s, std::size_t t0, std::size_t n,
              std::uint8_t* out) const {
    const std::uint8_t* in = bits_[output].data() + s * W_ + t0 / 8;
    const std::array<std::uint64_t, 256>& table = UnpackTable();
    for (std::size_t w = 0; w < (n + 7) / 8; ++w)
      std::memcpy(out + 8 * w, &table[in[w]], 8);
  }

 private:
  std::size_t T_, S_, W_, shift_;
  std::vector<std::uint8_t> rebalance_bits_;  // bit t: bar t is a rebalance bar
  std::vector<std::uint8_t> is_entry_;
  std::vector<std::vector<std::uint8_t>> bits_;
};

// The order in which a sweep batches its combinations: along a Z-order (Morton) curve over the
// parameters' value indices, so that consecutive combinations — one batch — form a near-square
// tile of the grid and share most of their parameter-dependent nodes (a 20 x 20 tile of a fast x
// slow grid needs 40 moving averages; a 4 x 100 strip needs 104). Ties keep grid order.
std::vector<std::size_t> LocalityOrder(std::span<const strategy::ParamValues> combinations) {
  std::vector<std::size_t> order(combinations.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  if (combinations.size() < 2 || combinations[0].empty()) return order;
  std::vector<std::vector<double>> values;  // distinct values per parameter, sorted
  for (const auto& [name, v] : combinations[0]) {
    std::vector<double> distinct;
    for (const strategy::ParamValues& c : combinations)
      distinct.push_back(c.at(name));
    std::sort(distinct.begin(), distinct.end());
    distinct.erase(std::unique(distinct.begin(), distinct.end()), distinct.end());
    values.push_back(std::move(distinct));
  }
  const std::size_t dims = values.size();
  const std::size_t bits = std::max<std::size_t>(1, 64 / dims);
  std::vector<std::uint64_t> key(combinations.size(), 0);
  for (std::size_t i = 0; i < combinations.size(); ++i) {
    std::size_t d = 0;
    for (const auto& [name, v] : combinations[i]) {
      const auto index = static_cast<std::uint64_t>(
          std::lower_bound(values[d].begin(), values[d].end(), v) - values[d].begin());
      for (std::size_t b = 0; b < bits && b * dims + d < 64; ++b)
        key[i] |= ((index >> b) & 1) << (b * dims + d);
      ++d;
    }
  }
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return key[a] < key[b]; });
  return order;
}

// Forwards outputs to another sink, numbered from `offset` (a part of a batch).
class OffsetSink : public expr::ResultSink {
 public:
  OffsetSink(expr::ResultSink& to, std::size_t offset) : to_(to), offset_(offset) {}
  Status Consume(std::size_t output, std::size_t s0, std::size_t s1,
                 std::span<const double> values) override {
    return to_.Consume(offset_ + output, s0, s1, values);
  }
  bool WantsRowTiles() const override { return to_.WantsRowTiles(); }
  Status ConsumeRows(std::size_t output, std::size_t s, std::size_t t0,
                     std::span<const double> values) override {
    return to_.ConsumeRows(offset_ + output, s, t0, values);
  }

 private:
  expr::ResultSink& to_;
  std::size_t offset_;
};

// The execution price's field and the signal shift of the look-ahead guard: a decision from
// bar t's data fills at bar t+1 (next_open, vwap), or at bar t's close when the strategy states
// assume_close_fill.
struct Fill {
  const char* field;
  std::size_t shift;
};

Fill FillOf(const StrategySpec& s) {
  switch (s.execution.price) {
    case Execution::Price::kClose:
      return {"close", 0};
    case Execution::Price::kVwap:
      return {"vwap", 1};
    case Execution::Price::kNextOpen:
      break;
  }
  return {"open", 1};
}

// Combinations [first, first + size) compiled into one program, so that nodes that do not
// depend on a parameter are computed once for all of them.
Result<expr::Program> CompileBatch(const std::vector<expr::ExprSpec>& exprs,
                                   std::span<const strategy::ParamValues> combinations,
                                   std::size_t first, std::size_t size, const Panel& panel) {
  const std::size_t last = std::min(combinations.size(), first + size);
  expr::CompileOptions compile;
  compile.known_fields = panel.field_names();
  QRAFT_ASSIGN_OR_RETURN(
      expr::GridProgram grid,
      expr::CompileCombinations(exprs, combinations.subspan(first, last - first), compile));
  return std::move(grid.program);
}

// ---- cross-sectional top-k (Qlib TopkDropout) --------------------------------------------

// The field universe.instruments adds to the panel: 1 inside a listing span, 0 outside.
constexpr std::string_view kListedField = "qraft_listed";

// A round trip of symbol `s` as a result-directory row (exit_bar < 0: open at the end).
TradeRow MakeTradeRow(const Panel& panel, std::int64_t s, std::int64_t entry_bar,
                      std::int64_t exit_bar, double entry_price, double exit_price, double size,
                      double pnl, double ret, std::int64_t holding_bars, std::string_view reason,
                      bool is_short = false) {
  const Calendar& cal = panel.calendar();
  return TradeRow{
      .symbol = panel.symbols().names()[static_cast<std::size_t>(s)],
      .is_short = is_short,
      .entry_time = cal[static_cast<std::size_t>(entry_bar)],
      .exit_time = exit_bar < 0 ? kNoTimestamp : cal[static_cast<std::size_t>(exit_bar)],
      .entry_price = entry_price,
      .exit_price = exit_price,
      .size = size,
      .pnl = pnl,
      .ret = ret,
      .holding_bars = holding_bars,
      .exit_reason = exit_bar < 0 ? "end" : std::string(reason)};
}

// What the portfolio engines cannot run is refused up front, by name.
Status CheckPortfolioSupported(const StrategySpec& s) {
  const bool dropout = s.selection.n_drop.has_value();
  if (!s.signals.long_entry.empty() || !s.signals.short_entry.empty()) {
    return Unsupported("signals together with a selection mode");
  }
  if (dropout && s.selection.mode != strategy::Selection::Mode::kTopK) {
    return Status::InvalidArgument("selection.n_drop needs selection.mode topk");
  }
  const auto& r = s.risk;
  const auto& c = s.costs;
  if (dropout) {
    // Qlib's TopkDropout has no weights, stops or slippage of its own.
    if (s.position.scheme != strategy::Position::Scheme::kEqual || s.position.max_weight)
      return Unsupported("position (scheme, max_weight) with selection.n_drop (TopkDropout)");
    if (r.stop_loss || r.take_profit || r.trailing_stop || r.max_drawdown || r.turnover_max ||
        r.group_max_weight)
      return Unsupported("risk rules with selection.n_drop (TopkDropout)");
    if (s.cooldown_bars) return Unsupported("cooldown_days with selection.n_drop (TopkDropout)");
    if (c.spread_bps || c.impact_alpha)
      return Unsupported("costs.slippage with selection.n_drop (TopkDropout)");
  }
  if (c.latency_ms) return Unsupported("costs.slippage.latency_ms (the precise engine's)");
  return Status::OK();
}

// Costs of a combination as rates (fractions) and money.
struct CostRates {
  double fee = 0, tax = 0, min_fee = 0, half_spread = 0, impact_alpha = 0, impact_beta = 0.5;
};

CostRates CostsOf(const StrategySpec& spec, const strategy::ParamValues& params) {
  const strategy::Costs& c = spec.costs;
  auto get = [&](const std::optional<strategy::Num>& n, double scale, double fallback) {
    return n ? n->Resolve(params) / scale : fallback;
  };
  return CostRates{.fee = get(c.fee_bps, 1e4, 0),
                   .tax = get(c.tax_bps, 1e4, 0),
                   .min_fee = get(c.min_fee, 1, 0),
                   .half_spread = get(c.spread_bps, 2e4, 0),
                   .impact_alpha = get(c.impact_alpha, 1, 0),
                   .impact_beta = get(c.impact_beta, 1, 0.5)};
}

// With keep_returns: combination c's per-bar returns into out->returns (its T slots).
void KeepReturns(const MetricsAccumulator& acc, std::size_t c, std::size_t T, SweepResult* out) {
  if (out->returns.empty()) return;
  const std::span<const double> r = acc.returns();
  std::copy_n(r.begin(), std::min(r.size(), T),
              out->returns.begin() + static_cast<std::ptrdiff_t>(c * T));
}

double Optional(const std::optional<strategy::Num>& n, const strategy::ParamValues& params) {
  return n ? n->Resolve(params) : kNaN;
}

std::int64_t OptionalBars(const std::optional<strategy::Num>& n,
                          const strategy::ParamValues& params, std::int64_t absent) {
  return n ? static_cast<std::int64_t>(n->Resolve(params)) : absent;
}

// The cost pack's trading rules (costs.market; none without it).
data::MarketSpec PackOf(const StrategySpec& spec) {
  return spec.costs.market.empty() ? data::MarketSpec{} : data::FindMarket(spec.costs.market);
}

// Cross-sectional strategies. With selection.n_drop: Qlib's TopkDropout + Exchange on the score
// (SimulateTopkDropout; decisions on the previous bar's score, dealt at the execution price).
// Otherwise: target weights (SimulateWeights; decided at the end of a rebalance bar, filled at
// the next bar's execution price). Combinations that differ only in parameters the score does not
// read share it: each distinct score (one node of the compiled graph) is evaluated (and, for
// TopkDropout, ranked) once, then every combination using it runs on it in parallel.
Result<SweepResult> RunPortfolioSweep(const StrategySpec& spec, const Panel& panel,
                                      std::span<const strategy::ParamValues> combinations,
                                      const BacktestOptions& options, Progress& progress) {
  QRAFT_RETURN_NOT_OK(CheckPortfolioSupported(spec));
  const bool dropout = spec.selection.n_drop.has_value();
  SweepResult out;
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  const Fill fill = FillOf(spec);
  const auto deal = panel.FindField(fill.field);
  const auto close = panel.FindField("close");
  if (!deal || !close) {
    return Status::InvalidArgument(
        fmt::format("a selection strategy needs the fields close and {}", fill.field));
  }
  // The weights engine fills at bar t+1's deal price; a close fill (assume_close_fill) is bar
  // t's close, i.e. the close moved one bar later.
  std::vector<double> shifted_close;
  std::span<const double> deal_price = panel.field(*deal);
  if (!dropout && fill.shift == 0) {
    shifted_close.assign(S * T, kNaN);
    const std::span<const double> c = panel.field(*close);
    for (std::size_t sym = 0; sym < S; ++sym)
      for (std::size_t t = 1; t < T; ++t)
        shifted_close[sym * T + t] = c[sym * T + t - 1];
    deal_price = shifted_close;
  }
  std::span<const double> volume;
  if (!dropout && spec.costs.impact_alpha) {
    const auto v = panel.FindField("volume");
    if (!v) return Status::InvalidArgument("costs.slippage.impact needs the field volume");
    volume = panel.field(*v);
  }
  QRAFT_ASSIGN_OR_RETURN(const std::span<const double> group, GroupField(spec, panel));
  const std::vector<std::uint8_t> rebalance = RebalanceBars(spec.rebalance, panel.calendar());
  MetricsOptions metric_options = options.metrics;
  metric_options.initial_capital = options.initial_capital;
  // The cost pack's trading rules: whole lots, and no buys on limit-up / sells on limit-down
  // days, detected from the daily change as Qlib does (|close / previous close - 1| >= limit -
  // 0.005, on the fill bar).
  const data::MarketSpec pack = PackOf(spec);
  const PriceLimits limits = DetectPriceLimits(pack, panel, panel.field(*close));
  const std::vector<std::uint8_t>& limit_up = limits.up;
  const std::vector<std::uint8_t>& limit_down = limits.down;

  const std::vector<expr::ExprSpec> exprs = {{"score", spec.selection.score}};
  std::vector<std::vector<std::size_t>> groups;
  {
    expr::CompileOptions compile;
    compile.known_fields = panel.field_names();
    QRAFT_ASSIGN_OR_RETURN(expr::GridProgram grid,
                           expr::CompileCombinations(exprs, combinations, compile));
    std::map<expr::NodeId, std::size_t> group_of;
    for (std::size_t c = 0; c < combinations.size(); ++c) {
      const expr::NodeId node = grid.program.outputs()[c].node;
      const auto [it, added] = group_of.emplace(node, groups.size());
      if (added) groups.emplace_back();
      groups[it->second].push_back(c);
    }
  }
  out.results.resize(combinations.size());
  if (options.keep_details) out.details.resize(combinations.size());
  if (options.keep_returns) out.returns.assign(combinations.size() * T, kNaN);
  progress.Start("sweep", combinations.size());
  std::vector<double> score;
  for (const std::vector<std::size_t>& group_combos : groups) {
    QRAFT_ASSIGN_OR_RETURN(const expr::Program program,
                           CompileBatch(exprs, combinations, group_combos[0], 1, panel));
    QRAFT_ASSIGN_OR_RETURN(Panel scores, expr::Evaluate(program, panel));
    const std::span<const double> raw = scores.field(0);
    ScoreRanking ranking;
    if (dropout) {
      // Scores exist only on rebalance bars: elsewhere TopkDropout places no orders.
      score.resize(S * T);
      for (std::size_t i = 0; i < S * T; ++i)
        score[i] = rebalance[i % T] ? raw[i] : kNaN;
      ranking = RankScores(score, static_cast<std::int64_t>(S), static_cast<std::int64_t>(T));
    }
    QRAFT_RETURN_NOT_OK(
        ParallelForStatus(group_combos.size(), 1, [&](std::size_t g0, std::size_t g1) -> Status {
          for (std::size_t g = g0; g < g1; ++g) {
            const std::size_t c = group_combos[g];
            const strategy::ParamValues& params = combinations[c];
            const CostRates costs = CostsOf(spec, params);
            MetricsAccumulator acc(metric_options);
            acc.Reserve(T);
            CombinationResult& res = out.results[c];
            res.params = params;
            std::vector<CurvePoint> curve;  // kept details: one point per bar
            double prev = options.initial_capital;
            auto add_bar = [&](std::size_t t, double equity, double stock_value, double traded,
                               double fees) {
              curve.push_back({.time = panel.calendar()[t],
                               .equity = equity,
                               .exposure = stock_value / equity,
                               .turnover = traded / prev,
                               .fees = fees});
              prev = equity;
            };
            std::vector<TradeRow> rows;
            if (dropout) {
              TopkDropoutOptions o;
              o.topk = static_cast<std::int64_t>(spec.selection.topk.Resolve(params));
              o.n_drop = static_cast<std::int64_t>(spec.selection.n_drop->Resolve(params));
              o.hold_thresh = OptionalBars(spec.hold_min_bars, params, o.hold_thresh);
              o.open_cost = costs.fee;
              o.close_cost = costs.fee + costs.tax;
              o.min_cost = costs.min_fee;
              o.trade_unit = pack.lot_size;
              o.init_cash = options.initial_capital;
              TopkDropoutInputs in;
              in.symbols = static_cast<std::int64_t>(S);
              in.bars = static_cast<std::int64_t>(T);
              in.score = score;
              in.close = panel.field(*close);
              in.deal_price = deal_price;
              in.limit_buy = limit_up;
              in.limit_sell = limit_down;
              in.ranking = &ranking;
              std::vector<TopkDropoutBar> report(options.keep_details ? T : 0);
              std::vector<TopkDropoutTrade> trades;
              TopkDropoutResult r;
              QRAFT_RETURN_NOT_OK(SimulateTopkDropout(in, o, &r, report, {}, &acc,
                                                      options.keep_details ? &trades : nullptr));
              for (const TopkDropoutTrade& tr : trades) {
                rows.push_back(MakeTradeRow(panel, tr.symbol, tr.entry_bar, tr.exit_bar,
                                            tr.entry_price, tr.exit_price, tr.amount, tr.pnl,
                                            tr.ret, tr.holding_bars, "rebalance"));
              }
              res.orders = r.orders;
              res.final_value = r.final_value;
              for (std::size_t t = 0; t < report.size(); ++t) {
                const TopkDropoutBar& bar = report[t];
                add_bar(t, bar.account, bar.stock_value, bar.traded_money, bar.cost_money);
              }
            } else {
              WeightsSimOptions o =
                  SelectionWeightsOptions(spec, params, metric_options.periods_per_year);
              o.fee_rate = costs.fee;
              o.min_fee = costs.min_fee;
              o.sell_tax_rate = costs.tax;
              o.half_spread = costs.half_spread;
              o.impact_alpha = costs.impact_alpha;
              o.impact_beta = costs.impact_beta;
              o.lot_size = pack.lot_size;
              o.init_cash = options.initial_capital;
              WeightsSimInputs in;
              in.symbols = static_cast<std::int64_t>(S);
              in.bars = static_cast<std::int64_t>(T);
              in.score = raw;
              in.rebalance = rebalance;
              in.deal_price = deal_price;
              in.close = panel.field(*close);
              in.volume = volume;
              in.group = group;
              in.limit_up = limit_up;
              in.limit_down = limit_down;
              std::vector<WeightsSimBar> report(options.keep_details ? T : 0);
              std::vector<WeightsSimTrade> trades;
              WeightsSimResult r;
              QRAFT_RETURN_NOT_OK(SimulateWeights(in, o, &r, report,
                                                  options.keep_details ? &trades : nullptr, &acc));
              for (const WeightsSimTrade& tr : trades) {
                rows.push_back(MakeTradeRow(
                    panel, tr.symbol, tr.entry_bar, tr.exit_bar, tr.entry_price, tr.exit_price,
                    tr.max_shares, tr.pnl, tr.ret, tr.holding_bars, WeightsSimExitName(tr.reason)));
              }
              res.orders = r.orders;
              res.final_value = r.final_value;
              for (std::size_t t = 0; t < report.size(); ++t) {
                const WeightsSimBar& bar = report[t];
                add_bar(t, bar.equity, bar.stock_value, bar.traded, bar.fees);
              }
            }
            res.metrics = acc.Finish();
            KeepReturns(acc, c, T, &out);
            if (options.keep_details) {
              out.details[c].index = c;
              out.details[c].curve = std::move(curve);
              out.details[c].trades = std::move(rows);
            }
            progress.Advance();
          }
          return Status::OK();
        }));
  }
  progress.Finish();
  return out;
}

// ---- per-symbol signals (vectorbt from_signals) -------------------------------------------

// Bars folded into the metrics per step: a multiple of MetricsAccumulator's block (256), small
// enough for the chunk's columns to stay in cache.
constexpr std::size_t kFoldChunk = 4096;

// One worker's buffers, allocated once per sweep and reused by every combination. A combination
// runs one bar chunk at a time, all symbols side by side, and folds the chunk into its metrics
// while it is in cache: at 2.6M minute bars, whole-series arrays made the sweep memory-bound.
struct SignalScratch {
  std::array<std::vector<std::uint8_t>, 4> signals;    // one chunk, by role; unused roles stay 0
  std::vector<double> equity, traded, fees, exposure;  // one symbol's chunk
  std::vector<double> p_equity, p_traded, p_fees, p_exposure;  // the portfolio's chunk
  std::vector<double> chunk;                     // returns, turnover and exposure of the chunk
  std::vector<SignalSimulator> sims;             // by symbol
  std::vector<std::vector<TradeRecord>> trades;  // by symbol
  std::vector<std::vector<SignalTrade>> logs;    // by symbol
  std::vector<SignalSimTrace> traces;            // by symbol: the two above
  std::optional<MetricsAccumulator> metrics;
  void Resize(std::size_t symbols) {
    for (auto& v : signals)
      v.resize(kFoldChunk, 0);
    for (auto* v : {&equity, &traded, &fees, &exposure, &p_equity, &p_traded, &p_fees, &p_exposure})
      v->resize(kFoldChunk);
    chunk.resize(3 * kFoldChunk);
    trades.resize(symbols);
    logs.resize(symbols);
    traces.resize(symbols);
  }
};

Result<SweepResult> RunSignalSweep(const StrategySpec& spec, const Panel& panel,
                                   std::span<const strategy::ParamValues> combinations,
                                   const BacktestOptions& options, Progress& progress) {
  QRAFT_RETURN_NOT_OK(CheckSupported(spec, panel.num_symbols()));
  SweepResult out;
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  const Fill fill = FillOf(spec);
  const std::size_t shift = fill.shift;
  const auto price_index = panel.FindField(fill.field);
  if (!price_index) {
    return Status::InvalidArgument(
        fmt::format("execution.price needs the field '{}', which the data lacks", fill.field));
  }
  const std::span<const double> price = panel.field(*price_index);
  const std::vector<std::uint8_t> rebalance = RebalanceBars(spec.rebalance, panel.calendar());
  // The cost pack's lots and price limits (as the cross-sectional engines), and the volume for
  // impact.
  const data::MarketSpec pack = PackOf(spec);
  PriceLimits limits;
  if (data::HasPriceLimits(pack)) {
    const auto close = panel.FindField("close");
    if (!close) {
      return Status::InvalidArgument(fmt::format(
          "costs.market {}: its price limits need the field close, which the data lacks",
          spec.costs.market));
    }
    limits = DetectPriceLimits(pack, panel, panel.field(*close));
  }
  std::span<const double> volume;
  if (spec.costs.impact_alpha) {
    const auto v = panel.FindField("volume");
    if (!v) return Status::InvalidArgument("costs.slippage.impact needs the field volume");
    volume = panel.field(*v);
  }

  SignalSimOptions sim;
  sim.init_cash = options.initial_capital / static_cast<double>(S);
  sim.lot_size = pack.lot_size;
  MetricsOptions metric_options = options.metrics;
  metric_options.initial_capital = options.initial_capital;

  // The signal expressions of a combination, in this order, and where each goes.
  enum Role { kLongEntry, kLongExit, kShortEntry, kShortExit };
  std::vector<expr::ExprSpec> exprs;
  std::vector<Role> roles;
  for (const auto& [role, text] : {std::pair{kLongEntry, &spec.signals.long_entry},
                                   std::pair{kLongExit, &spec.signals.long_exit},
                                   std::pair{kShortEntry, &spec.signals.short_entry},
                                   std::pair{kShortExit, &spec.signals.short_exit}}) {
    if (text->empty()) continue;
    exprs.push_back({std::to_string(roles.size()), *text});
    roles.push_back(role);
  }
  const std::size_t per = exprs.size();
  std::vector<std::uint8_t> is_entry;
  for (const Role role : roles)
    is_entry.push_back(role == kLongEntry || role == kShortEntry);
  const bool shorts = !spec.signals.short_entry.empty();
  sim.direction = shorts ? SignalDirection::kBoth : SignalDirection::kLongOnly;
  std::size_t batch = options.batch;
  if (batch == 0) {
    // About 256 MiB of signal bits per batch (large batches share more nodes).
    batch = std::clamp<std::size_t>((std::size_t{256} << 23) / (per * S * T + 1), 1, 1024);
  }
  out.results.resize(combinations.size());
  if (options.keep_details) out.details.resize(combinations.size());
  if (options.keep_returns) out.returns.assign(combinations.size() * T, kNaN);
  progress.Start("sweep", combinations.size());
  SignalSink signals(T, S, shift, rebalance, is_entry);
  tbb::enumerable_thread_specific<SignalScratch> scratch;  // reused by every batch
  // The evaluator runs symbol chunks in parallel; with fewer symbols than workers (one long
  // intraday series) each batch is instead split into one program per worker, evaluated side by
  // side. Outputs are the same bits either way; only shared nodes are computed more than once.
  const auto workers = static_cast<std::size_t>(tbb::this_task_arena::max_concurrency());
  // Batches follow LocalityOrder; results go back to combination order.
  const std::vector<std::size_t> order = LocalityOrder(combinations);
  std::vector<strategy::ParamValues> ordered;
  ordered.reserve(order.size());
  for (const std::size_t i : order)
    ordered.push_back(combinations[i]);
  for (std::size_t first = 0; first < ordered.size(); first += batch) {
    const std::vector<strategy::ParamValues> combos(
        ordered.begin() + static_cast<std::ptrdiff_t>(first),
        ordered.begin() + static_cast<std::ptrdiff_t>(std::min(ordered.size(), first + batch)));
    signals.Reset(combos.size() * per);
    const std::size_t parts = S >= 2 * workers ? 1 : std::min(workers, combos.size());
    QRAFT_RETURN_NOT_OK(ParallelForStatus(parts, 1, [&](std::size_t p0, std::size_t p1) -> Status {
      for (std::size_t p = p0; p < p1; ++p) {
        const std::size_t c0 = combos.size() * p / parts, c1 = combos.size() * (p + 1) / parts;
        QRAFT_ASSIGN_OR_RETURN(const expr::Program program,
                               CompileBatch(exprs, ordered, first + c0, c1 - c0, panel));
        OffsetSink part(signals, c0 * per);
        QRAFT_RETURN_NOT_OK(expr::Evaluate(program, panel, part));
      }
      return Status::OK();
    }));

    QRAFT_RETURN_NOT_OK(
        ParallelForStatus(combos.size(), 1, [&](std::size_t c0, std::size_t c1) -> Status {
          SignalScratch& w = scratch.local();
          w.Resize(S);
          if (!w.metrics) w.metrics.emplace(metric_options);
          auto& [sig, equity, traded, fees, exposure, p_equity, p_traded, p_fees, p_exposure, chunk,
                 sims, trades, logs, traces, metrics] = w;
          for (std::size_t c = c0; c < c1; ++c) {
            const strategy::ParamValues& params = combos[c];
            SignalSimOptions o = sim;
            const CostRates costs = CostsOf(spec, params);
            o.fees = costs.fee;
            o.slippage = costs.half_spread;
            o.min_fee = costs.min_fee;
            o.sell_tax = costs.tax;
            o.impact_alpha = costs.impact_alpha;
            o.impact_beta = costs.impact_beta;
            o.sl_stop = Optional(spec.risk.stop_loss, params);
            o.tp_stop = Optional(spec.risk.take_profit, params);
            o.tsl_stop = Optional(spec.risk.trailing_stop, params);
            o.hold_min_bars = OptionalBars(spec.hold_min_bars, params, 0);
            o.cooldown_bars = OptionalBars(spec.cooldown_bars, params, 0);
            QRAFT_RETURN_NOT_OK(ValidateSignalSimOptions(o));
            sims.clear();
            for (std::size_t s = 0; s < S; ++s) {
              trades[s].clear();
              logs[s].clear();
              traces[s] = {.trades = &trades[s],
                           .trade_log = options.keep_details ? &logs[s] : nullptr};
              sims.emplace_back(o, shorts, nullptr, &traces[s]);
            }
            MetricsAccumulator& acc = *metrics;
            acc.Reset();
            CandidateDetail* detail = nullptr;
            if (options.keep_details) {
              detail = &out.details[order[first + c]];
              detail->index = order[first + c];
              detail->curve.resize(T);
            }
            double* r = chunk.data();
            double* turnover = r + kFoldChunk;
            double* exposed = turnover + kFoldChunk;
            double prev_equity = options.initial_capital;
            for (std::size_t t0 = 0; t0 < T; t0 += kFoldChunk) {
              const std::size_t n = std::min(kFoldChunk, T - t0);
              // One symbol writes the portfolio's series directly; more are summed.
              const bool direct = S == 1;
              if (!direct) {
                std::fill_n(p_equity.begin(), n, 0.0);
                std::fill_n(p_traded.begin(), n, 0.0);
                std::fill_n(p_fees.begin(), n, 0.0);
                std::fill_n(p_exposure.begin(), n, 0.0);
              }
              auto series = [&](Role role) {
                return std::span<const std::uint8_t>(sig[role].data(), n);
              };
              auto part = [&](std::vector<double>& v) { return std::span<double>(v.data(), n); };
              for (std::size_t s = 0; s < S; ++s) {
                for (std::size_t k = 0; k < per; ++k)
                  signals.Unpack(c * per + k, s, t0, n, sig[roles[k]].data());
                SignalSimInputs in{.price = price.subspan(s * T + t0, n),
                                   .entries = series(kLongEntry),
                                   .exits = series(kLongExit)};
                if (shorts) {
                  in.short_entries = series(kShortEntry);
                  in.short_exits = series(kShortExit);
                }
                if (!volume.empty()) in.volume = volume.subspan(s * T + t0, n);
                if (!limits.up.empty()) {
                  in.limit_up = std::span(limits.up).subspan(s * T + t0, n);
                  in.limit_down = std::span(limits.down).subspan(s * T + t0, n);
                }
                // One symbol's turnover is the portfolio's, straight from the simulator (which
                // divides only on bars that trade); only the curve needs the value traded.
                const std::span<double> curve_traded =
                    detail != nullptr ? part(p_traded) : std::span<double>();
                sims[s].Run(in, direct ? SignalSimBars{.equity = part(p_equity),
                                                       .traded = curve_traded,
                                                       .fees = part(p_fees),
                                                       .exposure = part(p_exposure),
                                                       .turnover = {turnover, n}}
                                       : SignalSimBars{.equity = part(equity),
                                                       .traded = part(traded),
                                                       .fees = part(fees),
                                                       .exposure = part(exposure)});
                if (direct) continue;
                for (std::size_t t = 0; t < n; ++t) {
                  p_equity[t] += equity[t];
                  p_traded[t] += traded[t];
                  p_fees[t] += fees[t];
                  p_exposure[t] += exposure[t];
                }
              }
              // Per-bar returns and fractions of equity, folded while the chunk is in cache (a
              // multiple of the accumulator's block, so the bits are those of one call).
              const double* e = p_equity.data();
              r[0] = e[0] / prev_equity - 1;
              for (std::size_t k = 1; k < n; ++k)
                r[k] = e[k] / e[k - 1] - 1;
              for (std::size_t k = 0; k < n; ++k)
                exposed[k] = p_exposure[k] / e[k];
              if (!direct) {
                // Trades are rare: a predicted branch is cheaper than a division on every bar.
                for (std::size_t k = 0; k < n; ++k)
                  turnover[k] = p_traded[k] != 0 ? p_traded[k] / e[k] : 0.0;
              }
              acc.AddBars(BarColumns{.ret = {r, n},
                                     .turnover = {turnover, n},
                                     .fees = {p_fees.data(), n},
                                     .gross_exposure = {exposed, n},
                                     .equity = {e, n}});
              prev_equity = e[n - 1];
              if (detail != nullptr) {
                for (std::size_t k = 0; k < n; ++k) {
                  detail->curve[t0 + k] = CurvePoint{.time = panel.calendar()[t0 + k],
                                                     .equity = e[k],
                                                     .exposure = p_exposure[k] / e[k],
                                                     .turnover = p_traded[k] / e[k],
                                                     .fees = p_fees[k]};
                }
              }
            }
            // Trades in symbol order, each symbol's in time order (the open one last).
            std::int64_t orders = 0;
            std::vector<TradeRow> rows;
            for (std::size_t s = 0; s < S; ++s) {
              SignalSimResult sr;
              sims[s].Finish(&sr);
              orders += sr.orders;
              for (const TradeRecord& tr : trades[s])
                acc.AddTrade(tr);
              for (const SignalTrade& tr : logs[s]) {
                rows.push_back(MakeTradeRow(
                    panel, static_cast<std::int64_t>(s), tr.entry_bar, tr.exit_bar, tr.entry_price,
                    tr.exit_price, tr.size, tr.pnl, tr.ret,
                    (tr.exit_bar < 0 ? static_cast<std::int64_t>(T) - 1 : tr.exit_bar) -
                        tr.entry_bar,
                    ExitReasonName(tr.reason), tr.direction == TradeDirection::kShort));
              }
            }
            const double final_value = prev_equity;
            CombinationResult& res = out.results[order[first + c]];
            res.params = params;
            res.metrics = acc.Finish();
            KeepReturns(acc, order[first + c], T, &out);
            res.orders = orders;
            res.final_value = final_value;
            if (detail != nullptr) detail->trades = std::move(rows);
            progress.Advance();
          }
          return Status::OK();
        }));
  }
  progress.Finish();
  return out;
}

// The universe's panel and the strategy as the engines run it: universe.instruments becomes a
// listing field and universe.filter gates the entries (or the score).
struct PreparedUniverse {
  Panel panel;
  StrategySpec effective;
};

Result<PreparedUniverse> PrepareUniverse(const StrategySpec& spec, const Panel& data) {
  const std::vector<std::string>& symbols = spec.universe.kind == strategy::Universe::Kind::kSymbols
                                                ? spec.universe.symbols
                                                : data.symbols().names();
  // universe.instruments: the listed symbols, each eligible only inside its listing spans (a
  // field the universe filter below reads).
  std::vector<std::string> listed;
  std::vector<data::InstrumentSpan> spans;
  if (spec.universe.kind == strategy::Universe::Kind::kInstrumentsFile) {
    std::filesystem::path file = spec.universe.file;
    if (file.is_relative() && !spec.base_dir.empty()) file = spec.base_dir / file;
    QRAFT_ASSIGN_OR_RETURN(spans, data::LoadInstrumentsFile(file));
    for (const data::InstrumentSpan& span : spans) {
      if (std::find(listed.begin(), listed.end(), span.symbol) == listed.end())
        listed.push_back(span.symbol);
    }
  }
  QRAFT_ASSIGN_OR_RETURN(Panel panel,
                         data.Select(spans.empty() ? symbols : listed, kNoTimestamp, kNoTimestamp));
  if (panel.num_symbols() == 0 || panel.num_times() == 0) {
    return Status::InvalidArgument("the universe has no data");
  }
  StrategySpec effective = spec;
  if (!spans.empty()) {
    // The panel again, with the listing field beside the data's.
    PanelBuilder builder(panel.calendar(), panel.symbols().names());
    for (std::size_t f = 0; f < panel.num_fields(); ++f) {
      const std::span<double> to = builder.AddField(panel.field_names()[f]);
      std::copy(panel.field(f).begin(), panel.field(f).end(), to.begin());
    }
    const std::span<double> on = builder.AddField(std::string(kListedField));
    std::fill(on.begin(), on.end(), 0.0);
    const Calendar& cal = panel.calendar();
    for (const data::InstrumentSpan& span : spans) {
      const std::size_t s = *panel.symbols().Find(span.symbol);
      for (std::size_t t = 0; t < cal.size(); ++t) {
        if ((span.start == kNoTimestamp || cal[t] >= span.start) &&
            (span.end == kNoTimestamp || cal[t] <= span.end)) {
          on[s * cal.size() + t] = 1;
        }
      }
    }
    panel = std::move(builder).Build();
    effective.universe.kind = strategy::Universe::Kind::kFilter;
    effective.universe.filter = std::string(kListedField) + " > 0";
  }
  // A universe filter makes a symbol eligible only on the bars where it is true: it gates the
  // entry signals, or the score (elsewhere NaN = not eligible). Cross-sectional operators inside
  // the score still see every symbol of the data.
  if (effective.universe.kind == strategy::Universe::Kind::kFilter) {
    const std::string f = effective.universe.filter;
    for (std::string* signal : {&effective.signals.long_entry, &effective.signals.short_entry}) {
      if (!signal->empty()) *signal = fmt::format("({}) and ({})", *signal, f);
    }
    if (!effective.selection.score.empty()) {
      effective.selection.score = fmt::format("IF({}, {}, 0 / 0)", f, effective.selection.score);
    }
    effective.universe.kind = strategy::Universe::Kind::kAll;
  }
  return PreparedUniverse{std::move(panel), std::move(effective)};
}

}  // namespace

std::vector<std::string> FastEngineWarnings(const StrategySpec& spec) {
  const strategy::Costs& c = spec.costs;
  if (c.market.empty() || !data::ChargesFees(data::FindMarket(c.market).costs)) return {};
  std::vector<std::string> given;
  if (c.fee_bps) given.emplace_back("fee_bps");
  if (c.min_fee) given.emplace_back("min_fee");
  if (c.tax_bps) given.emplace_back("tax_bps");
  return {fmt::format(
      "costs.market {}: the fast engine does not charge the pack's fee schedule, only "
      "costs.fee_bps, min_fee and tax_bps ({}); run --engine precise for the pack's fees",
      c.market,
      given.empty() ? "none given: no fees at all"
                    : fmt::format("given: {}", fmt::join(given, ", ")))};
}

Result<SweepResult> RunSweep(const StrategySpec& spec, const Panel& data,
                             std::span<const strategy::ParamValues> combinations,
                             const BacktestOptions& options, Progress& progress) {
  MetricsOptions metrics = options.metrics;
  metrics.initial_capital = options.initial_capital;
  QRAFT_RETURN_NOT_OK(ValidateMetricsOptions(metrics));
  if (options.keep_returns && !metrics.tail_metrics) {
    return Status::InvalidArgument("keep_returns needs metrics.tail_metrics");
  }
  QRAFT_ASSIGN_OR_RETURN(PreparedUniverse u, PrepareUniverse(spec, data));
  const Panel& panel = u.panel;
  const StrategySpec& effective = u.effective;
  Result<SweepResult> out =
      spec.selection.mode != strategy::Selection::Mode::kAllSignals
          ? RunPortfolioSweep(effective, panel, combinations, options, progress)
          : RunSignalSweep(effective, panel, combinations, options, progress);
  if (out.ok()) out->dsl_hash = spec.DslHash();
  return out;
}

PriceLimits DetectPriceLimits(const data::MarketSpec& pack, const Panel& panel,
                              std::span<const double> close) {
  PriceLimits out;
  if (!data::HasPriceLimits(pack)) return out;
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  const Calendar& cal = panel.calendar();
  out.up.assign(S * T, 0);
  out.down.assign(S * T, 0);
  for (std::size_t sym = 0; sym < S; ++sym) {
    const data::Schedule& limit = data::PriceLimitSchedule(pack, panel.symbols()[sym]);
    std::size_t k = 0;  // the schedule entry in force (dates ascend with t)
    double prev = kNaN;
    for (std::size_t t = 0; t < T; ++t) {
      while (k < limit.size() && cal[t] >= limit[k].from)
        ++k;
      const double threshold = k == 0 ? kNaN : limit[k - 1].value - 0.005;
      const std::size_t i = sym * T + t;
      if (std::isnan(close[i])) continue;
      const double change = close[i] / prev - 1;
      out.up[i] = change >= threshold;
      out.down[i] = change <= -threshold;
      prev = close[i];
    }
  }
  return out;
}

WeightsSimOptions SelectionWeightsOptions(const StrategySpec& spec,
                                          const strategy::ParamValues& params,
                                          double periods_per_year) {
  WeightsSimOptions o;
  using Mode = strategy::Selection::Mode;
  using Scheme = strategy::Position::Scheme;
  o.select = spec.selection.mode == Mode::kQuantile    ? WeightsSimOptions::Select::kQuantile
             : spec.selection.mode == Mode::kThreshold ? WeightsSimOptions::Select::kThreshold
                                                       : WeightsSimOptions::Select::kTopK;
  o.topk = static_cast<std::int64_t>(spec.selection.topk.Resolve(params));
  o.quantile = spec.selection.quantile.Resolve(params);
  o.threshold = spec.selection.threshold.Resolve(params);
  switch (spec.position.scheme) {
    case Scheme::kEqual:
      o.scheme = WeightsSimOptions::Scheme::kEqual;
      break;
    case Scheme::kScoreWeight:
      o.scheme = WeightsSimOptions::Scheme::kScoreWeight;
      break;
    case Scheme::kInverseVol:
      o.scheme = WeightsSimOptions::Scheme::kInverseVol;
      break;
    case Scheme::kVolTarget:
      o.scheme = WeightsSimOptions::Scheme::kVolTarget;
      break;
  }
  o.target_vol = Optional(spec.position.target_vol, params);
  o.periods_per_year = periods_per_year;
  o.vol_window = static_cast<std::int64_t>(spec.position.vol_window.Resolve(params));
  o.max_weight = Optional(spec.position.max_weight, params);
  o.turnover_max = Optional(spec.risk.turnover_max, params);
  o.group_max = spec.risk.group_max_weight ? spec.risk.group_max_weight->max.Resolve(params) : kNaN;
  o.stop_loss = Optional(spec.risk.stop_loss, params);
  o.take_profit = Optional(spec.risk.take_profit, params);
  o.trailing_stop = Optional(spec.risk.trailing_stop, params);
  o.max_drawdown = Optional(spec.risk.max_drawdown, params);
  o.cooldown_bars = OptionalBars(spec.cooldown_bars, params, 0);
  o.hold_min_bars = OptionalBars(spec.hold_min_bars, params, 0);
  return o;
}

Result<std::span<const double>> GroupField(const StrategySpec& spec, const Panel& panel) {
  if (!spec.risk.group_max_weight) return std::span<const double>();
  const auto g = panel.FindField(spec.risk.group_max_weight->field);
  if (!g) {
    return Status::InvalidArgument(
        fmt::format("risk.group_max_weight.field '{}' is not a field of the data",
                    spec.risk.group_max_weight->field));
  }
  return panel.field(*g);
}

Result<Decisions> Decide(const StrategySpec& spec, const Panel& data,
                         const strategy::ParamValues& params) {
  QRAFT_ASSIGN_OR_RETURN(PreparedUniverse u, PrepareUniverse(spec, data));
  const std::size_t S = u.panel.num_symbols(), T = u.panel.num_times();
  Decisions out;
  out.rebalance = RebalanceBars(spec.rebalance, u.panel.calendar());
  const std::vector<strategy::ParamValues> one{params};
  if (spec.selection.mode != strategy::Selection::Mode::kAllSignals) {
    QRAFT_RETURN_NOT_OK(CheckPortfolioSupported(u.effective));
    // The score, whole.
    struct ScoreSink : expr::ResultSink {
      std::vector<double>* to;
      std::size_t T;
      Status Consume(std::size_t, std::size_t s0, std::size_t s1,
                     std::span<const double> values) override {
        std::copy(values.begin(), values.end(), to->begin() + static_cast<std::ptrdiff_t>(s0 * T));
        (void)s1;
        return Status::OK();
      }
    } sink;
    out.score.assign(S * T, kNaN);
    sink.to = &out.score;
    sink.T = T;
    QRAFT_ASSIGN_OR_RETURN(
        const expr::Program program,
        CompileBatch({{"score", u.effective.selection.score}}, one, 0, 1, u.panel));
    QRAFT_RETURN_NOT_OK(expr::Evaluate(program, u.panel, sink));
    out.panel = std::move(u.panel);
    return out;
  }
  QRAFT_RETURN_NOT_OK(CheckSupported(u.effective, S));
  std::vector<std::vector<std::uint8_t>*> roles;
  std::vector<expr::ExprSpec> exprs;
  std::vector<std::uint8_t> is_entry;
  const strategy::Signals& sig = u.effective.signals;
  for (const auto& [text, to, entry] : {std::tuple{&sig.long_entry, &out.long_entry, true},
                                        std::tuple{&sig.long_exit, &out.long_exit, false},
                                        std::tuple{&sig.short_entry, &out.short_entry, true},
                                        std::tuple{&sig.short_exit, &out.short_exit, false}}) {
    if (text->empty()) continue;
    exprs.push_back({std::to_string(exprs.size()), *text});
    roles.push_back(to);
    is_entry.push_back(entry);
  }
  SignalSink sink(T, S, /*shift=*/0, out.rebalance, is_entry);
  sink.Reset(exprs.size());
  QRAFT_ASSIGN_OR_RETURN(const expr::Program program, CompileBatch(exprs, one, 0, 1, u.panel));
  QRAFT_RETURN_NOT_OK(expr::Evaluate(program, u.panel, sink));
  std::vector<std::uint8_t> row((T + 7) / 8 * 8);
  for (std::size_t k = 0; k < roles.size(); ++k) {
    roles[k]->resize(S * T);
    for (std::size_t s = 0; s < S; ++s) {
      sink.Unpack(k, s, 0, T, row.data());
      std::copy_n(row.begin(), T, roles[k]->begin() + static_cast<std::ptrdiff_t>(s * T));
    }
  }
  out.panel = std::move(u.panel);
  return out;
}

Result<std::vector<std::size_t>> RankResults(std::span<const CombinationResult> results,
                                             std::string_view objective, std::size_t top) {
  const MetricField* field = FindMetricField(objective);
  if (field == nullptr) {
    return Status::InvalidArgument(
        fmt::format("unknown objective '{}' (a metric name such as "
                    "sharpe, total_return, calmar)",
                    objective));
  }
  std::vector<std::size_t> order(results.size());
  for (std::size_t i = 0; i < order.size(); ++i)
    order[i] = i;
  auto key = [&](std::size_t i) {
    const double v = MetricValue(results[i].metrics, *field);
    return std::isnan(v) ? -INFINITY : v;
  };
  std::stable_sort(order.begin(), order.end(),
                   [&](std::size_t a, std::size_t b) { return key(a) > key(b); });
  if (top > 0 && order.size() > top) order.resize(top);
  return order;
}

}  // namespace qraft::engines
