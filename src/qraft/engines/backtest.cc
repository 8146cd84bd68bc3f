#include "qraft/engines/backtest.h"

#include <fmt/format.h>

#include <algorithm>
#include <cmath>

#include "qraft/core/parallel.h"
#include "qraft/core/time.h"
#include "qraft/engines/portfolio_sim.h"
#include "qraft/engines/signal_sim.h"
#include "qraft/expr/compiler.h"
#include "qraft/expr/evaluator.h"

namespace qraft::engines {
namespace {

using strategy::Execution;
using strategy::StrategySpec;

Status Unsupported(std::string_view what) {
  return Status::Unimplemented(
      fmt::format("{} is not supported by the signal engine yet (issue 4)", what));
}

// Everything RunSweep cannot run is refused up front, by name.
Status CheckSupported(const StrategySpec& s) {
  if (s.selection.mode != strategy::Selection::Mode::kAllSignals) {
    return Unsupported("selection.mode quantile or threshold");
  }
  if (s.position.scheme != strategy::Position::Scheme::kEqual) {
    return Unsupported("position.scheme other than equal");
  }
  if (!s.signals.short_entry.empty()) return Unsupported("signals.short");
  if (s.signals.long_entry.empty())
    return Status::InvalidArgument("the strategy has no signals.long");
  const auto& r = s.risk;
  if (r.take_profit) return Unsupported("risk.take_profit");
  if (r.trailing_stop) return Unsupported("risk.trailing_stop");
  if (r.max_drawdown) return Unsupported("risk.max_drawdown");
  if (r.turnover_max) return Unsupported("risk.turnover_max");
  if (r.group_max_weight) return Unsupported("risk.group_max_weight");
  if (s.hold_min_bars) return Unsupported("hold.min_days");
  if (s.cooldown_bars) return Unsupported("cooldown_days");
  const auto& c = s.costs;
  if (c.min_fee) return Unsupported("costs.min_fee");
  if (c.tax_bps) return Unsupported("costs.tax_bps");
  if (c.impact_alpha) return Unsupported("costs.slippage.impact");
  if (c.latency_ms) return Unsupported("costs.slippage.latency_ms");
  if (s.universe.kind == strategy::Universe::Kind::kFilter) return Unsupported("universe.filter");
  if (s.universe.kind == strategy::Universe::Kind::kInstrumentsFile) {
    return Unsupported("universe.instruments");
  }
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

// Keeps evaluated signals as one byte per (symbol, bar): 1 where the value is non-zero and not
// NaN. A batch of combinations then costs S×T bytes per signal instead of 8 S×T.
class SignalSink : public expr::ResultSink {
 public:
  SignalSink(std::size_t outputs, std::size_t num_times, std::size_t num_symbols)
      : T_(num_times), bits_(outputs, std::vector<std::uint8_t>(num_symbols * num_times)) {}
  Status Consume(std::size_t output, std::size_t s0, std::size_t s1,
                 std::span<const double> values) override {
    std::uint8_t* out = bits_[output].data() + s0 * T_;
    const double* v = values.data();
    for (std::size_t i = 0; i < (s1 - s0) * T_; ++i) {
      // Branch-free (vectorises): NaN != 0 is true, NaN == NaN is false.
      out[i] = static_cast<std::uint8_t>((v[i] != 0) & (v[i] == v[i]));
    }
    return Status::OK();
  }
  std::span<const std::uint8_t> series(std::size_t output, std::size_t s) const {
    return {bits_[output].data() + s * T_, T_};
  }

 private:
  std::size_t T_;
  std::vector<std::vector<std::uint8_t>> bits_;
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

// One batch of a sweep: combinations [first, first + combos.size()) compiled into one program,
// so that nodes that do not depend on a parameter are computed once for all of them.
struct Batch {
  std::size_t first = 0;
  std::vector<strategy::ParamValues> combos;
  expr::Program program;
};

Result<Batch> CompileBatch(const std::vector<expr::ExprSpec>& exprs,
                           std::span<const strategy::ParamValues> combinations, std::size_t first,
                           std::size_t size, const Panel& panel) {
  Batch b;
  b.first = first;
  const std::size_t last = std::min(combinations.size(), first + size);
  b.combos.assign(combinations.begin() + first, combinations.begin() + last);
  expr::CompileOptions compile;
  compile.known_fields = panel.field_names();
  QRAFT_ASSIGN_OR_RETURN(expr::GridProgram grid,
                         expr::CompileCombinations(exprs, b.combos, compile));
  b.program = std::move(grid.program);
  return b;
}

// ---- cross-sectional top-k (Qlib TopkDropout) --------------------------------------------

Status CheckTopkSupported(const StrategySpec& s) {
  if (!s.signals.long_entry.empty() || !s.signals.short_entry.empty()) {
    return Unsupported("signals together with selection.mode topk");
  }
  if (s.position.scheme != strategy::Position::Scheme::kEqual) {
    return Unsupported("position.scheme other than equal");
  }
  const auto& r = s.risk;
  if (r.stop_loss || r.take_profit || r.trailing_stop || r.max_drawdown || r.turnover_max ||
      r.group_max_weight) {
    return Unsupported("risk rules with selection.mode topk");
  }
  if (s.cooldown_bars) return Unsupported("cooldown_days");
  const auto& c = s.costs;
  if (c.spread_bps || c.impact_alpha || c.latency_ms) return Unsupported("costs.slippage");
  if (s.universe.kind == strategy::Universe::Kind::kFilter) return Unsupported("universe.filter");
  if (s.universe.kind == strategy::Universe::Kind::kInstrumentsFile) {
    return Unsupported("universe.instruments");
  }
  return Status::OK();
}

Result<SweepResult> RunTopkSweep(const StrategySpec& spec, const Panel& panel,
                                 std::span<const strategy::ParamValues> combinations,
                                 const BacktestOptions& options, Progress& progress) {
  QRAFT_RETURN_NOT_OK(CheckTopkSupported(spec));
  SweepResult out;
  out.dsl_hash = spec.DslHash();
  const std::size_t S = panel.num_symbols(), T = panel.num_times();
  const char* deal_field = FillOf(spec).field;  // decisions already use the previous bar
  const auto deal = panel.FindField(deal_field);
  const auto close = panel.FindField("close");
  if (!deal || !close) {
    return Status::InvalidArgument(
        fmt::format("selection topk needs the fields close and {}", deal_field));
  }
  const std::vector<std::uint8_t> rebalance = RebalanceBars(spec.rebalance, panel.calendar());
  MetricsOptions metric_options = options.metrics;
  metric_options.initial_capital = options.initial_capital;
  std::vector<expr::ExprSpec> exprs = {{"score", spec.selection.score}};
  std::size_t batch = options.batch;
  if (batch == 0) {
    batch = std::clamp<std::size_t>((std::size_t{256} << 20) / (S * T * 8 + 1), 1, 256);
  }
  out.results.resize(combinations.size());
  progress.Start("sweep", combinations.size());
  for (std::size_t first = 0; first < combinations.size(); first += batch) {
    QRAFT_ASSIGN_OR_RETURN(const Batch b, CompileBatch(exprs, combinations, first, batch, panel));
    const std::size_t b0 = b.first;
    const std::vector<strategy::ParamValues>& combos = b.combos;
    QRAFT_ASSIGN_OR_RETURN(Panel scores, expr::Evaluate(b.program, panel));
    QRAFT_RETURN_NOT_OK(
        ParallelForStatus(combos.size(), 1, [&](std::size_t c0, std::size_t c1) -> Status {
          std::vector<double> score(S * T);
          for (std::size_t c = c0; c < c1; ++c) {
            const strategy::ParamValues& params = combos[c];
            // Scores exist only on rebalance bars: elsewhere TopkDropout places no orders.
            const std::span<const double> raw = scores.field(c);
            for (std::size_t i = 0; i < S * T; ++i) {
              score[i] = rebalance[i % T] ? raw[i] : std::nan("");
            }
            TopkDropoutOptions o;
            o.topk = static_cast<std::int64_t>(spec.selection.topk.Resolve(params));
            // Without n_drop every name that left the top k may be replaced at once.
            o.n_drop = spec.selection.n_drop.param.empty() && spec.selection.n_drop.value == 0
                           ? o.topk
                           : static_cast<std::int64_t>(spec.selection.n_drop.Resolve(params));
            if (spec.hold_min_bars) {
              o.hold_thresh = static_cast<std::int64_t>(spec.hold_min_bars->Resolve(params));
            }
            const double fee = spec.costs.fee_bps ? spec.costs.fee_bps->Resolve(params) / 1e4 : 0;
            const double tax = spec.costs.tax_bps ? spec.costs.tax_bps->Resolve(params) / 1e4 : 0;
            o.open_cost = fee;
            o.close_cost = fee + tax;
            o.min_cost = spec.costs.min_fee ? spec.costs.min_fee->Resolve(params) : 0;
            o.trade_unit = std::nan("");  // lot sizes come with the market packs (issue 5)
            o.init_cash = options.initial_capital;
            TopkDropoutInputs in;
            in.symbols = static_cast<std::int64_t>(S);
            in.bars = static_cast<std::int64_t>(T);
            in.score = score;
            in.close = panel.field(*close);
            in.deal_price = panel.field(*deal);
            MetricsAccumulator acc(metric_options);
            acc.Reserve(T);
            TopkDropoutResult r;
            QRAFT_RETURN_NOT_OK(SimulateTopkDropout(in, o, &r, {}, {}, &acc));
            CombinationResult& res = out.results[b0 + c];
            res.params = params;
            res.metrics = acc.Finish();
            res.orders = r.orders;
            res.final_value = r.final_value;
            progress.Advance();
          }
          return Status::OK();
        }));
  }
  progress.Finish();
  return out;
}

// ---- per-symbol signals (vectorbt from_signals) -------------------------------------------

Result<SweepResult> RunSignalSweep(const StrategySpec& spec, const Panel& panel,
                                   std::span<const strategy::ParamValues> combinations,
                                   const BacktestOptions& options, Progress& progress) {
  QRAFT_RETURN_NOT_OK(CheckSupported(spec));
  SweepResult out;
  out.dsl_hash = spec.DslHash();
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

  SignalSimOptions sim;
  sim.init_cash = options.initial_capital / static_cast<double>(S);
  MetricsOptions metric_options = options.metrics;
  metric_options.initial_capital = options.initial_capital;

  std::vector<expr::ExprSpec> exprs = {{"long", spec.signals.long_entry}};
  if (!spec.signals.long_exit.empty()) exprs.push_back({"exit", spec.signals.long_exit});
  const std::size_t per = exprs.size();
  std::size_t batch = options.batch;
  if (batch == 0) {
    batch = std::clamp<std::size_t>((std::size_t{256} << 20) / (per * S * T + 1), 1, 1024);
  }
  out.results.resize(combinations.size());
  progress.Start("sweep", combinations.size());
  for (std::size_t first = 0; first < combinations.size(); first += batch) {
    QRAFT_ASSIGN_OR_RETURN(const Batch b, CompileBatch(exprs, combinations, first, batch, panel));
    const std::size_t b0 = b.first;
    const std::vector<strategy::ParamValues>& combos = b.combos;
    SignalSink signals(b.program.outputs().size(), T, S);
    QRAFT_RETURN_NOT_OK(expr::Evaluate(b.program, panel, signals));

    QRAFT_RETURN_NOT_OK(
        ParallelForStatus(combos.size(), 1, [&](std::size_t c0, std::size_t c1) -> Status {
          std::vector<std::uint8_t> entries(T), exits(T);
          std::vector<double> equity(T), traded(T), fees(T), exposure(T);
          std::vector<double> p_equity(T), p_traded(T), p_fees(T), p_exposure(T);
          std::vector<TradeRecord> trades;
          for (std::size_t c = c0; c < c1; ++c) {
            const strategy::ParamValues& params = combos[c];
            SignalSimOptions o = sim;
            if (spec.costs.fee_bps) o.fees = spec.costs.fee_bps->Resolve(params) / 1e4;
            if (spec.costs.spread_bps) o.slippage = spec.costs.spread_bps->Resolve(params) / 2e4;
            if (spec.risk.stop_loss) o.sl_stop = spec.risk.stop_loss->Resolve(params);
            std::fill(p_equity.begin(), p_equity.end(), 0.0);
            std::fill(p_traded.begin(), p_traded.end(), 0.0);
            std::fill(p_fees.begin(), p_fees.end(), 0.0);
            std::fill(p_exposure.begin(), p_exposure.end(), 0.0);
            trades.clear();
            std::int64_t orders = 0;
            const SignalSimTrace trace{traded, fees, exposure, &trades};
            for (std::size_t s = 0; s < S; ++s) {
              const std::span<const std::uint8_t> entry_sig = signals.series(c * per, s);
              std::fill(entries.begin(), entries.end(), 0);
              std::fill(exits.begin(), exits.end(), 0);
              for (std::size_t t = 0; t + shift < T; ++t) {
                entries[t + shift] = rebalance[t] & entry_sig[t];
              }
              if (per > 1) {
                const std::span<const std::uint8_t> exit_sig = signals.series(c * per + 1, s);
                std::copy(exit_sig.begin(), exit_sig.end() - static_cast<std::ptrdiff_t>(shift),
                          exits.begin() + static_cast<std::ptrdiff_t>(shift));
              }
              SignalSimResult r;
              QRAFT_RETURN_NOT_OK(SimulateSignals(price.subspan(s * T, T), entries, exits, o, &r,
                                                  equity, nullptr, &trace));
              orders += r.orders;
              for (std::size_t t = 0; t < T; ++t) {
                p_equity[t] += equity[t];
                p_traded[t] += traded[t];
                p_fees[t] += fees[t];
                p_exposure[t] += exposure[t];
              }
            }
            MetricsAccumulator acc(metric_options);
            acc.Reserve(T);
            double prev = options.initial_capital;
            for (std::size_t t = 0; t < T; ++t) {
              const double e = p_equity[t];
              acc.AddBar(BarRecord{.ret = e / prev - 1,
                                   .turnover = p_traded[t] / e,
                                   .fees = p_fees[t],
                                   .gross_exposure = p_exposure[t] / e});
              prev = e;
            }
            for (const TradeRecord& tr : trades)
              acc.AddTrade(tr);
            CombinationResult& res = out.results[b0 + c];
            res.params = params;
            res.metrics = acc.Finish();
            res.orders = orders;
            res.final_value = prev;
            progress.Advance();
          }
          return Status::OK();
        }));
  }
  progress.Finish();
  return out;
}

}  // namespace

Result<SweepResult> RunSweep(const StrategySpec& spec, const Panel& data,
                             std::span<const strategy::ParamValues> combinations,
                             const BacktestOptions& options, Progress& progress) {
  const std::vector<std::string>& symbols = spec.universe.kind == strategy::Universe::Kind::kSymbols
                                                ? spec.universe.symbols
                                                : data.symbols().names();
  QRAFT_ASSIGN_OR_RETURN(Panel panel, data.Select(symbols, kNoTimestamp, kNoTimestamp));
  if (panel.num_symbols() == 0 || panel.num_times() == 0) {
    return Status::InvalidArgument("the universe has no data");
  }
  if (spec.selection.mode == strategy::Selection::Mode::kTopK) {
    return RunTopkSweep(spec, panel, combinations, options, progress);
  }
  return RunSignalSweep(spec, panel, combinations, options, progress);
}

Result<SnapshotSweep> RunSweepOnSnapshot(const data::SnapshotStore& store,
                                         std::string_view snapshot, const StrategySpec& spec,
                                         std::span<const strategy::ParamValues> combinations,
                                         const BacktestOptions& options, Progress& progress) {
  QRAFT_ASSIGN_OR_RETURN(data::Snapshot snap, store.Open(snapshot));
  if (spec.universe.kind == strategy::Universe::Kind::kMarket &&
      spec.universe.market != snap.market()) {
    return Status::InvalidArgument(
        fmt::format("the strategy's universe is market '{}' but snapshot {} is market '{}'",
                    spec.universe.market, snap.id().substr(0, 12), snap.market()));
  }
  QRAFT_ASSIGN_OR_RETURN(SweepResult sweep,
                         RunSweep(spec, snap.panel(), combinations, options, progress));
  return SnapshotSweep{snap.id(), std::move(sweep)};
}

Result<std::vector<std::size_t>> RankResults(std::span<const CombinationResult> results,
                                             std::string_view objective, std::size_t top) {
  const MetricField* field = nullptr;
  for (const MetricField& f : MetricFields()) {
    if (f.name == objective) field = &f;
  }
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
