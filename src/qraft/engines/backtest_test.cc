#include "qraft/engines/backtest.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <bit>
#include <cmath>
#include <cstring>

#include "qraft/core/parallel.h"
#include "qraft/data/synth.h"
#include "qraft/data/testing.h"
#include "qraft/engines/portfolio_sim.h"
#include "qraft/engines/signal_sim.h"
#include "qraft/engines/weights_sim.h"
#include "qraft/expr/evaluator.h"

namespace qraft::engines {
namespace {

Panel Market(std::size_t symbols = 8, std::size_t bars = 400) {
  data::SynthOptions o;
  o.symbols = symbols;
  o.bars = bars;
  o.seed = 11;
  Result<data::SnapshotContent> c = data::Synthesize(o);
  EXPECT_TRUE(c.ok());
  return std::move(c->panel);
}

strategy::StrategySpec Spec(const std::string& yaml) {
  Result<strategy::StrategySpec> s = strategy::ParseStrategy(yaml, "t.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// The signal series the engine derives, rebuilt by hand for SimulateSignals: expression k of
// `texts` evaluated on `data`, true where it is 1, moved `shift` bars later (the look-ahead
// guard); the expressions listed in `entries` only where the decision bar t has t % every == 0
// (rebalance bars). Indexed [symbol][expression][bar].
std::vector<std::vector<std::vector<std::uint8_t>>> HandSignals(
    const Panel& data, const std::vector<std::string>& texts, std::size_t shift,
    const std::vector<std::size_t>& entries = {}, std::size_t every = 1) {
  std::vector<expr::ExprSpec> exprs;
  for (std::size_t k = 0; k < texts.size(); ++k)
    exprs.push_back({fmt::format("e{}", k), texts[k]});
  Result<Panel> sig = expr::EvaluateExpressions(exprs, data, {});
  EXPECT_TRUE(sig.ok()) << sig.status().ToString();
  const std::size_t S = data.num_symbols(), T = data.num_times();
  std::vector<std::vector<std::vector<std::uint8_t>>> out(
      S, std::vector<std::vector<std::uint8_t>>(texts.size(), std::vector<std::uint8_t>(T, 0)));
  if (!sig.ok()) return out;
  for (std::size_t s = 0; s < S; ++s) {
    for (std::size_t k = 0; k < texts.size(); ++k) {
      const bool entry = std::find(entries.begin(), entries.end(), k) != entries.end();
      for (std::size_t t = 0; t + shift < T; ++t)
        out[s][k][t + shift] = sig->at(k, s, t) == 1 && (!entry || t % every == 0);
    }
  }
  return out;
}

const char kCross[] = R"(version: 1
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs:
  fee_bps: ${fee}
  slippage: {spread_bps: 4}
params:
  fast: {values: [3, 5, 10]}
  slow: {values: [20, 40]}
  fee: {values: [0, 5, 10]}
)";

TEST(BacktestTest, WarnsThatThePacksFeeScheduleIsNotCharged) {
  auto with_costs = [](const std::string& costs) {
    return Spec("version: 1\nsignals:\n  long: close > 1\ncosts: " + costs + "\n");
  };
  EXPECT_TRUE(FastEngineWarnings(Spec(kCross)).empty());  // no pack
  std::vector<std::string> w = FastEngineWarnings(with_costs("{market: cn_stock}"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_EQ(w[0],
            "costs.market cn_stock: the fast engine does not charge the pack's fee schedule, only "
            "costs.fee_bps, min_fee and tax_bps (none given: no fees at all); run --engine "
            "precise for the pack's fees");
  w = FastEngineWarnings(with_costs("{market: us_stock, fee_bps: 1, tax_bps: 0}"));
  ASSERT_EQ(w.size(), 1u);
  EXPECT_NE(w[0].find("(given: fee_bps, tax_bps)"), std::string::npos) << w[0];
}

// The engine is the sum of independent per-symbol simulations fed next-open fills: rebuild one
// combination by hand from the expression values and SimulateSignals.
TEST(BacktestTest, EqualsHandBuiltPerSymbolSimulations) {
  const Panel data = Market();
  const strategy::StrategySpec spec = Spec(kCross);
  const strategy::ParamValues params = {{"fast", 5}, {"slow", 20}, {"fee", 5}};
  BacktestOptions options;
  options.initial_capital = 8000;
  Result<SweepResult> got = RunSweep(spec, data, {&params, 1}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();

  const auto sig = HandSignals(
      data, {"Mean(close, 5) > Mean(close, 20)", "Mean(close, 5) < Mean(close, 20)"}, 1);
  double total = 0;
  std::int64_t orders = 0;
  for (std::size_t s = 0; s < data.num_symbols(); ++s) {
    SignalSimOptions o;
    o.init_cash = 1000;
    o.fees = 5e-4;
    o.slippage = 2e-4;
    SignalSimResult r;
    ASSERT_TRUE(
        SimulateSignals(data.series(*data.FindField("open"), s), sig[s][0], sig[s][1], o, &r).ok());
    total += r.final_value;
    orders += r.orders;
  }
  EXPECT_DOUBLE_EQ(got->results[0].final_value, total);
  EXPECT_EQ(got->results[0].orders, orders);
  EXPECT_GT(orders, 10);
  EXPECT_NEAR(got->results[0].metrics.total_return, total / 8000 - 1, 1e-12);
}

// One long series (several fold chunks and row tiles, a length that is no multiple of 8), fills
// at the signal bar's own close (no shift), entries every third bar: the same as SimulateSignals
// on the series, and the metrics those of its equity curve.
TEST(BacktestTest, LongSeriesCloseFillsEqualOneSimulation) {
  const Panel data = Market(1, 9001);
  const strategy::StrategySpec spec = Spec(R"(version: 1
rebalance: 3
signals:
  long: Mean(close, 2) > Mean(close, 6)
  exit: Mean(close, 2) < Mean(close, 6)
costs: {fee_bps: 4, slippage: {spread_bps: 2}}
execution: {price: close, assume_close_fill: true}
)");
  const strategy::ParamValues none;
  BacktestOptions options;
  options.initial_capital = 5000;
  options.keep_details = true;
  Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();

  const auto sig = HandSignals(
      data, {"Mean(close, 2) > Mean(close, 6)", "Mean(close, 2) < Mean(close, 6)"}, 0, {0}, 3);
  const std::size_t T = data.num_times();
  const std::vector<std::uint8_t>& entries = sig[0][0];
  const std::vector<std::uint8_t>& exits = sig[0][1];
  SignalSimOptions o;
  o.init_cash = 5000;
  o.fees = 4e-4;
  o.slippage = 1e-4;
  std::vector<double> equity(T), traded(T), fees(T), exposure(T);
  const SignalSimTrace trace{.traded = traded, .fees = fees, .exposure = exposure};
  SignalSimResult r;
  ASSERT_TRUE(
      SimulateSignals(
          {.price = data.series(*data.FindField("close"), 0), .entries = entries, .exits = exits},
          o, &r, equity, nullptr, &trace)
          .ok());
  const CombinationResult& res = got->results[0];
  EXPECT_EQ(res.final_value, r.final_value);
  EXPECT_EQ(res.orders, r.orders);
  EXPECT_GT(r.orders, 100);
  ASSERT_EQ(got->details[0].curve.size(), T);
  double turnover = 0;
  for (std::size_t t = 0; t < T; ++t) {
    EXPECT_EQ(got->details[0].curve[t].equity, equity[t]) << t;
    turnover += traded[t] / equity[t];
  }
  EXPECT_NEAR(res.metrics.turnover, turnover / static_cast<double>(T), 1e-15);
  EXPECT_NEAR(res.metrics.total_return, r.final_value / 5000 - 1, 1e-15);
  EXPECT_EQ(res.metrics.trades, r.closed_trades);
}

// Long and short signals with every stop: each symbol is SimulateSignals with direction both,
// the four signal series shifted one bar (entries only on rebalance bars) and the DSL's stops.
TEST(BacktestTest, LongShortWithStopsEqualsHandBuiltSimulations) {
  const Panel data = Market();
  const strategy::StrategySpec spec = Spec(R"(version: 1
rebalance: 2D
signals:
  long: Mean(close, 5) > Mean(close, 20)
  exit: Mean(close, 5) < Mean(close, 10)
  short: Mean(close, 5) < Mean(close, 20)
  short_exit: Mean(close, 5) > Mean(close, 10)
risk: {stop_loss: 0.05, take_profit: 0.08, trailing_stop: 0.06}
costs: {fee_bps: 3, slippage: {spread_bps: 2}}
)");
  const strategy::ParamValues none;
  BacktestOptions options;
  options.initial_capital = 8000;
  options.keep_details = true;
  Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();

  const auto sig =
      HandSignals(data,
                  {"Mean(close, 5) > Mean(close, 20)", "Mean(close, 5) < Mean(close, 10)",
                   "Mean(close, 5) < Mean(close, 20)", "Mean(close, 5) > Mean(close, 10)"},
                  1, {0, 2}, 2);
  double total = 0;
  std::int64_t orders = 0, trades = 0, shorts = 0;
  for (std::size_t s = 0; s < data.num_symbols(); ++s) {
    const auto& series = sig[s];
    SignalSimOptions o;
    o.init_cash = 1000;
    o.fees = 3e-4;
    o.slippage = 1e-4;
    o.sl_stop = 0.05;
    o.tp_stop = 0.08;
    o.tsl_stop = 0.06;
    o.direction = SignalDirection::kBoth;
    std::vector<SignalTrade> log;
    const SignalSimTrace trace{.trade_log = &log};
    SignalSimResult r;
    ASSERT_TRUE(SimulateSignals({.price = data.series(*data.FindField("open"), s),
                                 .entries = series[0],
                                 .exits = series[1],
                                 .short_entries = series[2],
                                 .short_exits = series[3]},
                                o, &r, {}, nullptr, &trace)
                    .ok());
    total += r.final_value;
    orders += r.orders;
    trades += static_cast<std::int64_t>(log.size());
    for (const SignalTrade& t : log)
      shorts += t.direction == TradeDirection::kShort;
  }
  EXPECT_DOUBLE_EQ(got->results[0].final_value, total);
  EXPECT_EQ(got->results[0].orders, orders);
  EXPECT_GT(shorts, 5);
  ASSERT_EQ(got->details.size(), 1u);
  EXPECT_EQ(static_cast<std::int64_t>(got->details[0].trades.size()), trades);
  std::int64_t short_rows = 0;
  for (const TradeRow& row : got->details[0].trades)
    short_rows += row.is_short;
  EXPECT_EQ(short_rows, shorts);
}

// Long-only signals with a minimum fee and a sell tax: SimulateSignals with min_fee and sell_tax.
TEST(BacktestTest, SignalsWithMinimumFeeAndTax) {
  const Panel data = Market();
  const strategy::StrategySpec spec = Spec(R"(version: 1
signals:
  long: Mean(close, 5) > Mean(close, 20)
  exit: Mean(close, 5) < Mean(close, 20)
costs: {fee_bps: 3, min_fee: 2, tax_bps: 10}
)");
  const strategy::ParamValues none;
  BacktestOptions options;
  options.initial_capital = 8000;
  Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  const auto sig = HandSignals(
      data, {"Mean(close, 5) > Mean(close, 20)", "Mean(close, 5) < Mean(close, 20)"}, 1);
  double total = 0, fees = 0;
  for (std::size_t s = 0; s < data.num_symbols(); ++s) {
    const std::vector<std::uint8_t>& entries = sig[s][0];
    const std::vector<std::uint8_t>& exits = sig[s][1];
    SignalSimOptions o;
    o.init_cash = 1000;
    o.fees = 3e-4;
    o.min_fee = 2;
    o.sell_tax = 1e-3;
    SignalSimResult r;
    ASSERT_TRUE(
        SimulateSignals(data.series(*data.FindField("open"), s), entries, exits, o, &r).ok());
    total += r.final_value;
    fees += r.total_fees;
  }
  EXPECT_DOUBLE_EQ(got->results[0].final_value, total);
  EXPECT_NEAR(got->results[0].metrics.fees, fees, 1e-9 * fees);
  // Short signals take them too (SignalsWithCostPackImpactHoldAndCooldown compares them).
  const strategy::StrategySpec shorts = Spec(R"(version: 1
signals: {long: 'close > 0', short: 'close < 0'}
costs: {min_fee: 2}
)");
  EXPECT_TRUE(RunSweep(shorts, data, {&none, 1}).ok());
}

// cn_stock's limits are per board and dated: on 2020-08-25 a +15% day is limit-up on the main
// board (±10%) but not on ChiNext (±20% since 2020-08-24), so the main-board symbol's entry
// waits a bar and the ChiNext one fills at once; a week earlier both boards were at ±10%.
TEST(BacktestTest, PriceLimitsFollowTheBoardAndTheDate) {
  for (const bool after_reform : {true, false}) {
    std::vector<Timestamp> days;
    const int first_day = after_reform ? 20 : 13;  // Thursdays in August 2020
    for (const int d : {0, 1, 4, 5, 6, 7})
      days.push_back(DateTimestamp(2020, 8, first_day + d));
    const Calendar cal(days);
    PanelBuilder b(cal, {"SH600001", "SZ300001"});
    const std::vector<double> closes = {10, 10, 10, 11.5, 11.5, 11.5};
    for (const char* field : {"open", "close"}) {
      std::span<double> f = b.AddField(field);
      for (std::size_t s = 0; s < 2; ++s)
        std::copy(closes.begin(), closes.end(), f.begin() + static_cast<std::ptrdiff_t>(s * 6));
    }
    const Panel data = std::move(b).Build();
    const strategy::StrategySpec spec = Spec(R"(version: 1
signals: {long: 'close > 11'}
costs: {market: cn_stock}
execution: {price: close, assume_close_fill: true}
)");
    const strategy::ParamValues none;
    BacktestOptions options;
    options.keep_details = true;
    options.initial_capital = 100000;
    Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
    ASSERT_TRUE(got.ok()) << got.status().ToString();
    ASSERT_EQ(got->details[0].trades.size(), 2u);
    for (const TradeRow& row : got->details[0].trades) {
      const bool blocked = row.symbol == "SH600001" || !after_reform;
      EXPECT_EQ(row.entry_time, cal[blocked ? 4 : 3]) << row.symbol << " " << after_reform;
      EXPECT_EQ(std::fmod(row.size, 100.0), 0.0) << row.symbol;  // whole lots
    }
  }
}

// A cn_stock-like signal strategy (costs.market cn_stock: lots of 100, ±10% limits) with a
// minimum fee, a sell tax, spread, impact, a stop loss, hold and cooldown, long-only and with
// short signals: each symbol is SimulateSignals with the pack's lot size, the limit flags
// detected by hand from the closes (|close / previous finite close - 1| >= 0.095 on the fill
// bar), the volume field and the DSL's costs.
TEST(BacktestTest, SignalsWithCostPackImpactHoldAndCooldown) {
  data::SynthOptions so;
  so.symbols = 10;
  so.bars = 500;
  so.seed = 5;
  so.price_limit = 0.1;
  Result<data::SnapshotContent> content = data::Synthesize(so);
  ASSERT_TRUE(content.ok());
  const Panel& data = content->panel;
  const std::size_t S = data.num_symbols(), T = data.num_times();
  const std::span<const double> close = data.field(*data.FindField("close"));
  std::vector<std::uint8_t> up(S * T, 0), down(S * T, 0);
  std::size_t limit_bars = 0;
  for (std::size_t s = 0; s < S; ++s) {
    double prev = kNaN;
    for (std::size_t t = 0; t < T; ++t) {
      const double c = close[s * T + t];
      if (std::isnan(c)) continue;
      up[s * T + t] = c / prev - 1 >= 0.095;
      down[s * T + t] = c / prev - 1 <= -0.095;
      limit_bars += up[s * T + t] + down[s * T + t];
      prev = c;
    }
  }
  EXPECT_GT(limit_bars, 10u);
  const std::string costs =
      "risk: {stop_loss: 0.06}\n"
      "costs: {market: cn_stock, fee_bps: 3, min_fee: 5, tax_bps: 10,\n"
      "        slippage: {spread_bps: 4, impact: {alpha: 0.1, beta: 0.5}}}\n"
      "hold: {min_days: 3}\n"
      "cooldown_days: 2\n";
  for (const bool shorts : {false, true}) {
    const std::string yaml =
        "version: 1\nsignals:\n  long: Mean(close, 5) > Mean(close, 20)\n"
        "  exit: Mean(close, 5) < Mean(close, 20)\n" +
        std::string(shorts ? "  short: Mean(close, 5) < Mean(close, 20)\n"
                             "  short_exit: Mean(close, 5) > Mean(close, 10)\n"
                           : "") +
        costs;
    const strategy::StrategySpec spec = Spec(yaml);
    const strategy::ParamValues none;
    BacktestOptions options;
    options.initial_capital = 1e6;
    Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
    ASSERT_TRUE(got.ok()) << got.status().ToString();

    const auto sig =
        HandSignals(data,
                    {"Mean(close, 5) > Mean(close, 20)", "Mean(close, 5) < Mean(close, 20)",
                     "Mean(close, 5) < Mean(close, 20)", "Mean(close, 5) > Mean(close, 10)"},
                    1);
    const std::span<const double> volume = data.field(*data.FindField("volume"));
    double total = 0, total_free = 0;
    std::int64_t orders = 0;
    for (std::size_t s = 0; s < S; ++s) {
      const auto& series = sig[s];
      SignalSimOptions o;
      o.init_cash = 1e5;
      o.fees = 3e-4;
      o.min_fee = 5;
      o.sell_tax = 1e-3;
      o.slippage = 2e-4;
      o.impact_alpha = 0.1;
      o.impact_beta = 0.5;
      o.sl_stop = 0.06;
      o.hold_min_bars = 3;
      o.cooldown_bars = 2;
      o.lot_size = 100;
      o.direction = shorts ? SignalDirection::kBoth : SignalDirection::kLongOnly;
      SignalSimInputs in{.price = data.series(*data.FindField("open"), s),
                         .entries = series[0],
                         .exits = series[1],
                         .volume = volume.subspan(s * T, T),
                         .limit_up = std::span(up).subspan(s * T, T),
                         .limit_down = std::span(down).subspan(s * T, T)};
      if (shorts) {
        in.short_entries = series[2];
        in.short_exits = series[3];
      }
      SignalSimResult r;
      ASSERT_TRUE(SimulateSignals(in, o, &r).ok());
      total += r.final_value;
      orders += r.orders;
      // The same without the pack's rules (fractional shares, no limits).
      o.lot_size = kNaN;
      in.limit_up = {};
      in.limit_down = {};
      ASSERT_TRUE(SimulateSignals(in, o, &r).ok());
      total_free += r.final_value;
    }
    EXPECT_DOUBLE_EQ(got->results[0].final_value, total) << shorts;
    EXPECT_EQ(got->results[0].orders, orders) << shorts;
    EXPECT_GT(orders, 50) << shorts;
    EXPECT_NE(total_free, total) << shorts;  // lots and limits matter
  }
  // Impact needs the volume field: a clear error names both.
  std::vector<std::string> fields;
  for (const std::string& f : data.field_names())
    if (f != "volume") fields.push_back(f);
  Result<Panel> no_volume = data.SelectFields(fields);
  ASSERT_TRUE(no_volume.ok());
  const strategy::StrategySpec impact = Spec(
      "version: 1\nsignals: {long: 'close > 0'}\ncosts: {slippage: {impact: {alpha: 0.1, beta: "
      "0.5}}}\n");
  const strategy::ParamValues none;
  EXPECT_TRUE(RunSweep(impact, data, {&none, 1}).ok());
  const Status missing = RunSweep(impact, *no_volume, {&none, 1}).status();
  EXPECT_EQ(missing.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(missing.message().find("costs.slippage.impact"), std::string::npos);
  EXPECT_NE(missing.message().find("volume"), std::string::npos);
}

TEST(BacktestTest, InvariantsAndDeterminism) {
  const Panel data = Market();
  const strategy::StrategySpec spec = Spec(kCross);
  Result<std::vector<strategy::ParamValues>> combos = spec.Combinations();
  ASSERT_TRUE(combos.ok());
  ASSERT_EQ(combos->size(), 18u);
  Result<SweepResult> a = RunSweep(spec, data, *combos);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  // Bit-identical with one thread and with small batches.
  {
    ThreadLimit one(1);
    BacktestOptions small;
    small.batch = 4;
    Result<SweepResult> b = RunSweep(spec, data, *combos, small);
    ASSERT_TRUE(b.ok());
    for (std::size_t i = 0; i < combos->size(); ++i) {
      EXPECT_EQ(std::bit_cast<std::uint64_t>(a->results[i].final_value),
                std::bit_cast<std::uint64_t>(b->results[i].final_value));
      EXPECT_EQ(a->results[i].params, (*combos)[i]);
    }
  }
  // Higher fees never raise the result of the same signals (fee is the last, fastest parameter).
  for (std::size_t i = 0; i + 2 < combos->size(); i += 3) {
    EXPECT_GE(a->results[i].final_value, a->results[i + 1].final_value);
    EXPECT_GE(a->results[i + 1].final_value, a->results[i + 2].final_value);
    EXPECT_GT(a->results[i].metrics.trades, 0);
  }
  // A strategy that never signals is flat and pays nothing.
  const strategy::StrategySpec never = Spec("version: 1\nsignals: {long: 'close < 0'}\n");
  const strategy::ParamValues none;
  Result<SweepResult> flat = RunSweep(never, data, {&none, 1});
  ASSERT_TRUE(flat.ok());
  EXPECT_EQ(flat->results[0].metrics.total_return, 0);
  EXPECT_EQ(flat->results[0].metrics.trades, 0);
  EXPECT_EQ(flat->results[0].metrics.fees, 0);
  Result<std::vector<std::size_t>> top = RankResults(a->results, "sharpe", 3);
  ASSERT_TRUE(top.ok());
  EXPECT_EQ(top->size(), 3u);
  EXPECT_GE(a->results[(*top)[0]].metrics.sharpe, a->results[(*top)[2]].metrics.sharpe);
  EXPECT_FALSE(RankResults(a->results, "shrp", 3).ok());
}

// keep_returns keeps each combination's per-bar returns: they compound to its final value, for
// signal, target-weight and TopkDropout sweeps alike, whatever the thread count.
TEST(BacktestTest, KeepReturnsCompoundToTheFinalValue) {
  const Panel data = Market();
  for (const char* yaml :
       {kCross,
        "version: 1\nparams: {w: {values: [5, 10]}}\nselection: {mode: topk, score: "
        "'ROC(close, ${w})', topk: 2}\n",
        "version: 1\nparams: {w: {values: [5, 10]}}\nselection: {mode: topk, score: "
        "'ROC(close, ${w})', topk: 2, n_drop: 1}\n"}) {
    const strategy::StrategySpec spec = Spec(yaml);
    const auto combos = spec.Combinations();
    ASSERT_TRUE(combos.ok());
    BacktestOptions o;
    o.keep_returns = true;
    const auto a = RunSweep(spec, data, *combos, o);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    const std::size_t T = data.num_times();
    ASSERT_EQ(a->returns.size(), combos->size() * T);
    for (std::size_t c = 0; c < combos->size(); ++c) {
      double wealth = o.initial_capital;
      for (std::size_t t = 0; t < T; ++t)
        wealth *= 1 + a->returns[c * T + t];
      EXPECT_NEAR(wealth, a->results[c].final_value, 1e-9 * a->results[c].final_value);
    }
    ThreadLimit one(1);
    const auto b = RunSweep(spec, data, *combos, o);
    ASSERT_TRUE(b.ok());
    EXPECT_EQ(std::memcmp(a->returns.data(), b->returns.data(), a->returns.size() * 8), 0);
  }
  BacktestOptions no_tail;
  no_tail.keep_returns = true;
  no_tail.metrics.tail_metrics = false;
  const strategy::ParamValues none;
  EXPECT_EQ(RunSweep(Spec("version: 1\nsignals: {long: 'close > 0'}\n"), data, {&none, 1}, no_tail)
                .status()
                .code(),
            StatusCode::kInvalidArgument);
}

TEST(BacktestTest, RefusesWhatItCannotRunByName) {
  const Panel data = Market();
  const strategy::ParamValues none;
  const strategy::StrategySpec dropout_stop = Spec(
      "version: 1\nselection: {mode: topk, score: 'ROC(close, 20)', topk: 3, n_drop: 1}\n"
      "risk: {stop_loss: 0.1}\n");
  EXPECT_EQ(RunSweep(dropout_stop, data, {&none, 1}).status().message(),
            "risk rules with selection.n_drop (TopkDropout) is not supported by the fast engine "
            "yet");
  const strategy::StrategySpec latency =
      Spec("version: 1\nsignals: {long: 'close > 0'}\ncosts: {slippage: {latency_ms: 50}}\n");
  EXPECT_EQ(RunSweep(latency, data, {&none, 1}).status().code(), StatusCode::kUnimplemented);
  // Quantile selection runs on the weights engine.
  const strategy::StrategySpec quantile =
      Spec("version: 1\nselection: {mode: quantile, score: 'ROC(close, 20)', quantile: 0.25}\n");
  Result<SweepResult> q = RunSweep(quantile, data, {&none, 1});
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_GT(q->results[0].orders, 0);
}

// selection topk runs Qlib's TopkDropout on the score of the previous bar: the same as calling
// the portfolio simulator directly with the evaluated scores.
TEST(BacktestTest, TopkRunsTheTopkDropoutSimulator) {
  const Panel data = Market(12, 300);
  const strategy::StrategySpec spec = Spec(R"(version: 1
selection:
  mode: topk
  score: ROC(close, ${n})
  topk: 3
  n_drop: 1
costs: {fee_bps: 5, tax_bps: 10, min_fee: 1}
params:
  n: {values: [5, 20]}
)");
  Result<std::vector<strategy::ParamValues>> combos = spec.Combinations();
  ASSERT_TRUE(combos.ok());
  BacktestOptions options;
  options.initial_capital = 1e6;
  Result<SweepResult> got = RunSweep(spec, data, *combos, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  ASSERT_EQ(got->results.size(), 2u);
  for (std::size_t c = 0; c < 2; ++c) {
    std::vector<expr::ExprSpec> exprs = {
        {"s", fmt::format("ROC(close, {})", (*combos)[c].at("n"))}};
    Result<Panel> score = expr::EvaluateExpressions(exprs, data, {});
    ASSERT_TRUE(score.ok());
    TopkDropoutOptions o;
    o.topk = 3;
    o.n_drop = 1;
    o.open_cost = 5e-4;
    o.close_cost = 15e-4;
    o.min_cost = 1;
    o.trade_unit = std::nan("");
    o.init_cash = 1e6;
    TopkDropoutInputs in;
    in.symbols = 12;
    in.bars = 300;
    in.score = score->field(0);
    in.close = data.field(*data.FindField("close"));
    in.deal_price = data.field(*data.FindField("open"));
    TopkDropoutResult r;
    ASSERT_TRUE(SimulateTopkDropout(in, o, &r).ok());
    EXPECT_DOUBLE_EQ(got->results[c].final_value, r.final_value);
    EXPECT_EQ(got->results[c].orders, r.orders);
    EXPECT_GT(r.orders, 20);
    EXPECT_NEAR(got->results[c].metrics.total_return, r.final_value / 1e6 - 1, 1e-12);
  }
}

// Without n_drop a selection runs on the weights engine: every DSL field maps onto
// SimulateWeights as documented in backtest.h; rebuild two combinations by hand.
TEST(BacktestTest, SelectionRunsTheWeightsSimulator) {
  const Panel data = Market(12, 300);
  const strategy::StrategySpec spec = Spec(R"(version: 1
rebalance: 5D
selection: {mode: topk, score: 'ROC(close, ${n})', topk: 4}
position: {scheme: inverse_vol, max_weight: 0.3, vol_window: 10}
risk: {stop_loss: 0.08, trailing_stop: 0.15, turnover_max: 0.5}
costs: {fee_bps: 5, tax_bps: 10, min_fee: 1, slippage: {spread_bps: 4}}
hold: {min_days: 3}
cooldown_days: 2
params:
  n: {values: [5, 20]}
)");
  Result<std::vector<strategy::ParamValues>> combos = spec.Combinations();
  ASSERT_TRUE(combos.ok());
  BacktestOptions options;
  options.initial_capital = 1e6;
  Result<SweepResult> got = RunSweep(spec, data, *combos, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();
  std::vector<std::uint8_t> rebalance(300, 0);
  for (std::size_t t = 0; t < 300; t += 5)
    rebalance[t] = 1;
  for (std::size_t c = 0; c < 2; ++c) {
    std::vector<expr::ExprSpec> exprs = {
        {"s", fmt::format("ROC(close, {})", (*combos)[c].at("n"))}};
    Result<Panel> score = expr::EvaluateExpressions(exprs, data, {});
    ASSERT_TRUE(score.ok());
    WeightsSimOptions o;
    o.select = WeightsSimOptions::Select::kTopK;
    o.topk = 4;
    o.scheme = WeightsSimOptions::Scheme::kInverseVol;
    o.vol_window = 10;
    o.max_weight = 0.3;
    o.stop_loss = 0.08;
    o.trailing_stop = 0.15;
    o.turnover_max = 0.5;
    o.hold_min_bars = 3;
    o.cooldown_bars = 2;
    o.fee_rate = 5e-4;
    o.sell_tax_rate = 10e-4;
    o.min_fee = 1;
    o.half_spread = 2e-4;
    o.init_cash = 1e6;
    WeightsSimInputs in;
    in.symbols = 12;
    in.bars = 300;
    in.score = score->field(0);
    in.rebalance = rebalance;
    in.close = data.field(*data.FindField("close"));
    in.deal_price = data.field(*data.FindField("open"));
    WeightsSimResult r;
    MetricsAccumulator acc(MetricsOptions{.initial_capital = 1e6});
    ASSERT_TRUE(SimulateWeights(in, o, &r, {}, nullptr, &acc).ok());
    EXPECT_EQ(got->results[c].final_value, r.final_value);
    EXPECT_EQ(got->results[c].orders, r.orders);
    EXPECT_GT(r.orders, 20);
    EXPECT_EQ(ToJson(got->results[c].metrics).dump(), ToJson(acc.Finish()).dump());
  }
}

// The cost pack's trading rules: cn_stock's board lots of 100 and ±10% limit days reach the
// weights engine as lot_size and limit flags from the daily change.
TEST(BacktestTest, CostPackLotsAndPriceLimits) {
  data::SynthOptions so;
  so.symbols = 20;
  so.bars = 500;
  so.seed = 3;
  so.price_limit = 0.1;
  Result<data::SnapshotContent> content = data::Synthesize(so);
  ASSERT_TRUE(content.ok());
  const Panel& data = content->panel;
  const strategy::StrategySpec spec = Spec(R"(version: 1
selection: {mode: topk, score: 'ROC(close, 5)', topk: 3}
costs: {market: cn_stock, fee_bps: 3}
)");
  const strategy::ParamValues none;
  BacktestOptions options;
  options.initial_capital = 1e6;
  Result<SweepResult> got = RunSweep(spec, data, {&none, 1}, options);
  ASSERT_TRUE(got.ok()) << got.status().ToString();

  const std::size_t S = 20, T = 500;
  const std::span<const double> close = data.field(*data.FindField("close"));
  std::vector<std::uint8_t> up(S * T, 0), down(S * T, 0);
  std::size_t limit_days = 0;
  for (std::size_t s = 0; s < S; ++s) {
    for (std::size_t t = 1; t < T; ++t) {
      const double change = close[s * T + t] / close[s * T + t - 1] - 1;
      up[s * T + t] = change >= 0.095;
      down[s * T + t] = change <= -0.095;
      limit_days += up[s * T + t] + down[s * T + t];
    }
  }
  EXPECT_GT(limit_days, 0u);  // the synthetic market pins at its limits now and then
  Result<Panel> score = expr::EvaluateExpressions({{{"s", "ROC(close, 5)"}}}, data, {});
  ASSERT_TRUE(score.ok());
  WeightsSimOptions o;
  o.topk = 3;
  o.fee_rate = 3e-4;
  o.lot_size = 100;
  o.init_cash = 1e6;
  WeightsSimInputs in;
  in.symbols = static_cast<std::int64_t>(S);
  in.bars = static_cast<std::int64_t>(T);
  in.score = score->field(0);
  in.close = close;
  in.deal_price = data.field(*data.FindField("open"));
  in.limit_up = up;
  in.limit_down = down;
  WeightsSimResult r;
  ASSERT_TRUE(SimulateWeights(in, o, &r).ok());
  EXPECT_EQ(got->results[0].final_value, r.final_value);
  EXPECT_EQ(got->results[0].orders, r.orders);
  // Without the pack's rules the run differs (lots and limits matter).
  WeightsSimOptions free = o;
  free.lot_size = kNaN;
  WeightsSimResult unconstrained;
  ASSERT_TRUE(SimulateWeights(in, free, &unconstrained).ok());
  EXPECT_NE(unconstrained.final_value, r.final_value);
}

// universe.filter: a bar where it is false admits no entry (signals) and no selection (scores).
TEST(BacktestTest, UniverseFilterGatesEntriesAndSelection) {
  const Panel data = Market();
  const strategy::ParamValues none;
  auto run = [&](const std::string& yaml) {
    Result<SweepResult> r = RunSweep(Spec(yaml), data, {&none, 1});
    EXPECT_TRUE(r.ok()) << r.status().ToString();
    return r->results[0];
  };
  const std::string signals =
      "signals: {long: 'Mean(close, 5) > Mean(close, 20)', exit: 'Mean(close, 5) < Mean(close, "
      "20)'}\n";
  const std::string topk = "selection: {mode: topk, score: 'ROC(close, 10)', topk: 2}\n";
  for (const std::string& body : {signals, topk}) {
    const CombinationResult base = run("version: 1\n" + body);
    const CombinationResult always = run("version: 1\nuniverse: {filter: 'close > 0'}\n" + body);
    const CombinationResult never = run("version: 1\nuniverse: {filter: 'close < 0'}\n" + body);
    const CombinationResult some =
        run("version: 1\nuniverse: {filter: 'volume > Mean(volume, 10)'}\n" + body);
    EXPECT_GT(base.orders, 0);
    EXPECT_EQ(always.final_value, base.final_value);  // true everywhere: the same run
    EXPECT_EQ(always.orders, base.orders);
    EXPECT_EQ(never.orders, 0);  // false everywhere: nothing is ever entered
    EXPECT_EQ(never.metrics.total_return, 0);
    EXPECT_GT(some.orders, 0);
    EXPECT_NE(some.final_value, base.final_value);
  }
}

// universe.instruments: only the listed symbols, each entered only inside its listing spans; a
// relative path resolves against the strategy file's directory.
TEST(BacktestTest, InstrumentsFileListsSymbolsAndSpans) {
  const Panel data = Market();
  const std::vector<std::string>& names = data.symbols().names();
  const Calendar& cal = data.calendar();
  const std::size_t T = cal.size();
  data::testing::TempDir dir;
  auto listing = [&](std::size_t second_from) {
    return fmt::format("{}\t{}\t{}\n{}\t{}\t{}\n", names[0], FormatDate(cal[0]),
                       FormatDate(cal[T - 1]), names[1], FormatDate(cal[second_from]),
                       FormatDate(cal[T - 1]));
  };
  dir.Write("whole.txt", listing(0));
  const std::string body =
      "signals: {long: 'Mean(close, 5) > Mean(close, 20)', exit: 'Mean(close, 5) < Mean(close, "
      "20)'}\n";
  auto spec_of = [&](const std::string& universe) {
    strategy::StrategySpec spec = Spec("version: 1\nuniverse: " + universe + "\n" + body);
    spec.base_dir = dir.path();
    return spec;
  };
  const strategy::ParamValues none;
  BacktestOptions options;
  options.keep_details = true;
  Result<SweepResult> listed =
      RunSweep(spec_of("{instruments: whole.txt}"), data, {&none, 1}, options);
  Result<SweepResult> named =
      RunSweep(spec_of(fmt::format("[{}, {}]", names[0], names[1])), data, {&none, 1}, options);
  ASSERT_TRUE(listed.ok() && named.ok()) << listed.status().ToString();
  // Listed over the whole calendar: the same run as naming the two symbols.
  EXPECT_EQ(listed->results[0].final_value, named->results[0].final_value);
  EXPECT_EQ(listed->results[0].orders, named->results[0].orders);
  // List the second symbol only from its first entry's fill bar on: that entry (decided the bar
  // before) cannot happen, and no trade of it starts before the listing.
  Timestamp first_entry = kNoTimestamp;
  for (const TradeRow& t : listed->details[0].trades) {
    if (t.symbol == names[1] && (first_entry == kNoTimestamp || t.entry_time < first_entry))
      first_entry = t.entry_time;
  }
  ASSERT_NE(first_entry, kNoTimestamp);
  std::size_t from = 0;
  while (cal[from] < first_entry)
    ++from;
  dir.Write("later.txt", listing(from));
  Result<SweepResult> late =
      RunSweep(spec_of("{instruments: later.txt}"), data, {&none, 1}, options);
  ASSERT_TRUE(late.ok());
  for (const TradeRow& t : late->details[0].trades) {
    ASSERT_TRUE(t.symbol == names[0] || t.symbol == names[1]) << t.symbol;
    if (t.symbol == names[1]) {
      EXPECT_GT(t.entry_time, first_entry);
    }
  }
  EXPECT_NE(late->results[0].final_value, listed->results[0].final_value);
  // A missing file is an error naming it.
  Result<SweepResult> missing = RunSweep(spec_of("{instruments: nope.txt}"), data, {&none, 1});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("nope.txt"), std::string::npos);
}

}  // namespace
}  // namespace qraft::engines
