#include "qraft/engines/precise/run.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "qraft/data/synth.h"
#include "qraft/data/testing.h"

namespace qraft::precise {
namespace {

Panel Market(std::size_t symbols, std::size_t bars, std::uint64_t seed) {
  data::SynthOptions o;
  o.symbols = symbols;
  o.bars = bars;
  o.seed = seed;
  Result<data::SnapshotContent> c = data::Synthesize(o);
  EXPECT_TRUE(c.ok());
  return std::move(c->panel);
}

strategy::StrategySpec Spec(const std::string& yaml) {
  Result<strategy::StrategySpec> s = strategy::ParseStrategy(yaml, "t.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return *s;
}

// `market` with one more field, value(market, symbol, bar) at each cell.
template <class F>
Panel WithField(const Panel& market, std::string name, F value) {
  PanelBuilder b(market.calendar(), market.symbols().names());
  for (std::size_t f = 0; f < market.num_fields(); ++f) {
    const std::span<const double> from = market.field(f);
    std::span<double> to = b.AddField(market.field_names()[f]);
    std::copy(from.begin(), from.end(), to.begin());
  }
  std::span<double> field = b.AddField(std::move(name));
  const std::size_t T = market.num_times();
  for (std::size_t i = 0; i < field.size(); ++i)
    field[i] = value(market, i / T, i % T);
  return std::move(b).Build();
}

double RelDiff(double a, double b) {
  return std::abs(a - b) / std::max(std::abs(b), 1e-12);
}

// Runs every combination of `spec` on both engines, the precise one configured like the fast
// one, and checks the two-stage bound (0.5%) on the key metrics and the final values to `exact`.
void ExpectLikeTheFastEngine(const strategy::StrategySpec& spec, const Panel& data, double exact,
                             bool same_trades, std::int64_t min_trades = 21) {
  const auto combos = spec.Combinations();
  ASSERT_TRUE(combos.ok());
  const auto fast = engines::RunSweep(spec, data, *combos);
  ASSERT_TRUE(fast.ok()) << fast.status().ToString();
  for (std::size_t c = 0; c < combos->size(); ++c) {
    const auto precise = RunPrecise(spec, data, (*combos)[c], LikeFast());
    ASSERT_TRUE(precise.ok()) << precise.status().ToString();
    const engines::Metrics& f = fast->results[c].metrics;
    const engines::Metrics& p = precise->result.metrics;
    SCOPED_TRACE("combination " + std::to_string(c));
    EXPECT_LT(RelDiff(p.total_return, f.total_return), 5e-3);
    EXPECT_LT(RelDiff(p.sharpe, f.sharpe), 5e-3);
    EXPECT_LT(RelDiff(p.max_drawdown, f.max_drawdown), 5e-3);
    EXPECT_LT(RelDiff(p.turnover, f.turnover), 5e-3);
    EXPECT_GE(p.trades, min_trades);
    if (same_trades) {
      EXPECT_EQ(p.trades, f.trades);
    }
    EXPECT_NEAR(p.fees, f.fees, 1e-6 * f.fees);
    // In fact far closer than the bound.
    EXPECT_LT(RelDiff(precise->result.final_value, fast->results[c].final_value), exact);
  }
}

// Two-stage consistency: configured like the fast engine (its fill price, no latency, no
// participation cap, the same costs), the precise engine's key metrics are within 0.5% of the
// fast engine's (they differ only by the rounding of quantities to 1e-6 units).
TEST(PreciseRun, MatchesTheFastEngineWhenConfiguredLikeIt) {
  const Panel data = Market(12, 600, 5);
  for (const char* execution : {"next_open", "close"}) {
    const std::string yaml =
        std::string(R"(version: 1
params:
  fast: {values: [5, 10]}
  slow: {values: [30]}
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs: {fee_bps: 5, min_fee: 1, tax_bps: 10, slippage: {spread_bps: 4}}
hold: {min_days: 3}
cooldown_days: 2
execution: {price: )") +
        execution + (std::string(execution) == "close" ? ", assume_close_fill: true}" : "}");
    SCOPED_TRACE(execution);
    ExpectLikeTheFastEngine(Spec(yaml), data, 1e-6, true);
  }
}

// Long-short signal strategies: vectorbt's reversals and sell-all short sales (sized by the
// sleeve's free cash, OrderRequest::short_budget), buy-backs and hold periods, with costs.
TEST(PreciseRun, LongShortSignalsMatchTheFastEngine) {
  const Panel data = Market(10, 600, 9);
  constexpr const char* kCosts = "{fee_bps: 5, tax_bps: 10, slippage: {spread_bps: 4}}";
  // The last: a minimum fee that binds on the short sales' sizing (sleeves of about 100,000).
  const std::pair<const char*, const char*> runs[] = {
      {"next_open", kCosts},
      {"close, assume_close_fill: true", kCosts},
      {"next_open", "{fee_bps: 5, min_fee: 120, tax_bps: 10}"}};
  for (const auto& [execution, costs] : runs) {
    const std::string yaml = fmt::format(R"(version: 1
params:
  fast: {{values: [5, 10]}}
signals:
  long: Mean(close, ${{fast}}) > Mean(close, 30)
  exit: Mean(close, ${{fast}}) < Mean(close, 25)
  short: Mean(close, ${{fast}}) < Mean(close, 30)
  short_exit: Mean(close, ${{fast}}) > Mean(close, 25)
costs: {}
hold: {{min_days: 2}}
execution: {{price: {}}}
)",
                                         costs, execution);
    SCOPED_TRACE(yaml);
    ExpectLikeTheFastEngine(Spec(yaml), data, 1e-6, true);
  }
}

// The same for selection strategies, traded as target values: top-k and quantile with equal
// weights, a weight cap, a minimum fee, taxes, spread and a holding period; buys of a rebalance
// that cost more than the cash are scaled together, as in the weights engine. (With close fills
// the weights engine books a decision's fills on the next bar, at this bar's close but with the
// next bar's tradability; the precise engine fills at the close itself: docs/precise.md.)
TEST(PreciseRun, SelectionsMatchTheWeightsEngine) {
  const Panel data = Market(30, 500, 13);
  {
    for (const char* selection : {"{mode: topk, score: 'ROC(close, ${w})', topk: 5}",
                                  "{mode: quantile, score: '-ROC(close, ${w})', quantile: 0.3}"}) {
      const std::string yaml = fmt::format(R"(version: 1
params:
  w: {{values: [5, 20]}}
rebalance: 5D
selection: {}
position: {{scheme: equal, max_weight: 0.15}}
hold: {{min_days: 3}}
costs: {{fee_bps: 5, min_fee: 1, tax_bps: 10, slippage: {{spread_bps: 4}}}}
execution: {{price: next_open}}
)",
                                           selection);
      SCOPED_TRACE(selection);
      ExpectLikeTheFastEngine(Spec(yaml), data, 1e-8, false);
    }
  }
}

// Qlib's TopkDropout on the precise engine: the same sell and buy lists (the shared
// engines::TopkDropoutDecision), buys of risk_degree / |buys| of the cash after the sells, dealt
// at the next open or, with close, by market-on-close orders at the next bar's close (Qlib's
// deal on the previous bar's score).
TEST(PreciseRun, TopkDropoutMatchesTheFastEngine) {
  const Panel data = Market(30, 400, 17);
  for (const char* execution : {"next_open", "close, assume_close_fill: true"}) {
    const std::string yaml = fmt::format(R"(version: 1
params:
  w: {{values: [5, 20]}}
  n: {{values: [1, 3]}}
selection: {{mode: topk, score: 'ROC(close, ${{w}})', topk: 6, n_drop: '${{n}}'}}
hold: {{min_days: 2}}
costs: {{fee_bps: 5, tax_bps: 10}}
execution: {{price: {}}}
)",
                                         execution);
    SCOPED_TRACE(execution);
    ExpectLikeTheFastEngine(Spec(yaml), data, 1e-8, false);
  }
}

// execution.price vwap: orders fill at the next bar's vwap (FillModel::kBarVwap) and signal
// strategies are valued at it, as in the fast engine; selections are valued at the close.
TEST(PreciseRun, VwapExecutionMatchesTheFastEngine) {
  const Panel data = Market(20, 400, 31);  // the synthetic panel has a vwap field
  ExpectLikeTheFastEngine(Spec(R"(version: 1
params:
  fast: {values: [5, 10]}
signals:
  long: Mean(close, ${fast}) > Mean(close, 30)
  exit: Mean(close, ${fast}) < Mean(close, 30)
costs: {fee_bps: 5, min_fee: 1, tax_bps: 10, slippage: {spread_bps: 4}}
execution: {price: vwap}
)"),
                          data, 1e-6, true);
  ExpectLikeTheFastEngine(Spec(R"(version: 1
params:
  w: {values: [5, 20]}
rebalance: 5D
selection: {mode: topk, score: 'ROC(close, ${w})', topk: 5}
position: {scheme: equal}
costs: {fee_bps: 5, tax_bps: 10, slippage: {spread_bps: 4}}
execution: {price: vwap}
)"),
                          data, 1e-6, false);  // vwaps are not on the 1e-6 tick grid
  // Without the field it says so.
  const Panel market = Market(2, 50, 1);
  const std::string fields[] = {"open", "high", "low", "close", "volume"};
  const auto missing =
      RunPrecise(Spec("version: 1\nsignals: {long: 'close > 0'}\nexecution: {price: vwap}\n"),
                 *market.SelectFields(fields), strategy::ParamValues{});
  EXPECT_NE(missing.status().message().find("needs the field 'vwap'"), std::string_view::npos)
      << missing.status().ToString();
}

// The weights engine's risk rules on the precise engine, checked at the closes as it checks them:
// stops with a cooldown after their exits, the drawdown breaker with its halt, the turnover budget.
TEST(PreciseRun, SelectionRiskRulesMatchTheWeightsEngine) {
  const Panel data = Market(24, 500, 41);
  const char* rules[] = {
      "risk: {stop_loss: 0.04, take_profit: 0.08}\ncooldown_days: 3",
      "risk: {trailing_stop: 0.05}\ncooldown_days: 2",
      "risk: {max_drawdown: 0.03}\ncooldown_days: 5",
  };
  for (const char* rule : rules) {
    const std::string yaml = fmt::format(R"(version: 1
params:
  w: {{values: [5, 20]}}
rebalance: 5D
selection: {{mode: topk, score: 'ROC(close, ${{w}})', topk: 6}}
position: {{scheme: equal}}
{}
costs: {{fee_bps: 5, tax_bps: 10, slippage: {{spread_bps: 4}}}}
execution: {{price: next_open}}
)",
                                         rule);
    SCOPED_TRACE(rule);
    ExpectLikeTheFastEngine(Spec(yaml), data, 1e-8, false);
    // The rules do fire: exits tagged stop_loss / trailing_stop / drawdown (tags 2, 4, 6).
    const auto run = RunPrecise(Spec(yaml), data, {{"w", 5}}, LikeFast());
    ASSERT_TRUE(run.ok());
    const auto fired = std::count_if(run->orders.begin(), run->orders.end(), [](const Order& o) {
      return o.request.tag == 2 || o.request.tag == 4 || o.request.tag == 6;
    });
    EXPECT_GT(fired, 0);
  }
  // The turnover budget, applied by the engine at the fill prices as the weights engine does.
  ExpectLikeTheFastEngine(Spec(R"(version: 1
params:
  w: {values: [5, 20]}
rebalance: 5D
selection: {mode: topk, score: 'ROC(close, ${w})', topk: 6}
risk: {turnover_max: 0.2}
costs: {fee_bps: 5, tax_bps: 10}
execution: {price: next_open}
)"),
                          data, 1e-8, false, /*min_trades=*/0);  // rarely flat: few round trips
  // ... and the budget binds: without it the run differs.
  const char* base =
      "version: 1\nrebalance: 5D\nselection: {mode: topk, score: 'ROC(close, 5)', "
      "topk: 6}\ncosts: {fee_bps: 5, tax_bps: 10}\n";
  const auto free = RunPrecise(Spec(base), data, {}, LikeFast());
  const auto capped =
      RunPrecise(Spec(std::string(base) + "risk: {turnover_max: 0.2}\n"), data, {}, LikeFast());
  ASSERT_TRUE(free.ok() && capped.ok());
  EXPECT_LT(capped->result.metrics.turnover, 0.8 * free->result.metrics.turnover);
}

// Every weight scheme and cap of the weights engine: the precise engine asks engines::TargetWeights
// for the same portfolio, so score, inverse-volatility and volatility-target weights, name caps
// and group caps (a data field) all stay within the two-stage bound.
TEST(PreciseRun, WeightSchemesAndCapsMatchTheWeightsEngine) {
  const Panel data =
      WithField(Market(24, 400, 21), "industry", [](const Panel&, std::size_t s, std::size_t) {
        return static_cast<double>(s % 3);  // three industries
      });
  for (const char* position :
       {"{scheme: score_weight, max_weight: 0.3}", "{scheme: inverse_vol, vol_window: 20}",
        "{scheme: vol_target, target_vol: 0.1, vol_window: 20, max_weight: 0.25}"}) {
    const std::string yaml = fmt::format(R"(version: 1
params:
  w: {{values: [10, 20]}}
rebalance: 5D
selection: {{mode: topk, score: 'ROC(close, ${{w}})', topk: 6}}
position: {}
risk: {{group_max_weight: {{field: industry, max: 0.4}}}}
costs: {{fee_bps: 5, min_fee: 1, tax_bps: 10, slippage: {{spread_bps: 4}}}}
execution: {{price: next_open}}
)",
                                         position);
    SCOPED_TRACE(position);
    ExpectLikeTheFastEngine(Spec(yaml), data, 1e-8, false);
    // The group cap binds: without it the portfolio differs.
    std::string uncapped = yaml;
    uncapped.replace(uncapped.find("risk:"), uncapped.find("costs:") - uncapped.find("risk:"), "");
    const strategy::ParamValues w{{"w", 10}};
    const auto capped = RunPrecise(Spec(yaml), data, w, LikeFast());
    const auto free = RunPrecise(Spec(uncapped), data, w, LikeFast());
    ASSERT_TRUE(capped.ok() && free.ok());
    EXPECT_NE(capped->result.final_value, free->result.final_value);
  }
}

// A-share rules from the cn_stock pack on two real codes around the stamp-duty cut of
// 2023-08-28: board lots of 100, commission 2.5 bps (minimum CNY 5), transfer fee 0.1 bps a
// side, stamp duty on sells 10 bps before the cut and 5 bps from it; and the daily limits: a
// +10% open is limit-up for the main board (600000) and blocks its buy, but not for ChiNext
// (300750, +-20% since 2020-08-24).
TEST(PreciseRun, AShareCostsLotsAndLimitsFromTheCnStockPack) {
  std::vector<Timestamp> days;
  for (int d : {21, 22, 23, 24, 25, 28, 29, 30, 31})
    days.push_back(DateTimestamp(2023, 8, d));
  const std::size_t T = days.size();
  PanelBuilder b(Calendar(days), {"SH600000", "SZ300750"});
  // Entries decided on bars 0 and 4, exits on bars 2 and 5 (fills the next bar's open).
  const double go[] = {1, 0, 0, 0, 1, 0, 0, 0, 0}, stop[] = {0, 0, 1, 0, 0, 1, 0, 0, 0};
  // Bar 1 opens at +10% on the previous close: limit-up for the main board only.
  const double px[] = {10.00, 11.00, 11.10, 11.20, 11.00, 11.30, 11.40, 11.50, 11.60};
  for (const char* f : {"open", "high", "low", "close", "volume", "go", "stop"}) {
    const std::span<double> v = b.AddField(f);
    for (std::size_t s = 0; s < 2; ++s) {
      for (std::size_t t = 0; t < T; ++t) {
        const std::string name = f;
        v[s * T + t] = name == "volume" ? 1e7
                       : name == "go"   ? go[t]
                       : name == "stop" ? stop[t]
                                        : px[t];
      }
    }
  }
  const Panel data = std::move(b).Build();
  const strategy::StrategySpec spec = Spec(R"(version: 1
signals: {long: 'go > 0', exit: 'stop > 0'}
costs: {market: cn_stock}
)");
  const auto r = RunPrecise(spec, data, {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  // 600000: the bar-1 buy is refused at limit-up; its bar-5 buy fills. 300750 trades both.
  int limit_rejects = 0;
  for (const Order& o : r->orders)
    limit_rejects += o.reject == RejectReason::kPriceLimit;
  EXPECT_EQ(limit_rejects, 1);
  ASSERT_EQ(r->fill_log.size(), 6u);
  for (const Fill& f : r->fill_log) {
    SCOPED_TRACE(FormatDate(f.time));
    EXPECT_EQ(f.quantity % 100, 0);
    const double value = f.price * static_cast<double>(f.quantity);
    EXPECT_NEAR(f.commission, std::max(2.5e-4 * value, 5.0), 1e-6);
    EXPECT_NEAR(f.transfer_fee, 1e-5 * value, 1e-6);
    const double duty = f.side == Side::kBuy                  ? 0.0
                        : f.time < DateTimestamp(2023, 8, 28) ? 1e-3 * value
                                                              : 5e-4 * value;
    EXPECT_NEAR(f.stamp_duty, duty, 1e-6);
  }
  // The first ChiNext round trip sells on 2023-08-24 at the old duty, the second on 08-29.
  EXPECT_NEAR(r->costs.stamp_duty,
              1e-3 * 11.20 * static_cast<double>(r->fill_log[1].quantity) +
                  5e-4 * 11.40 * static_cast<double>(r->fill_log[4].quantity) +
                  5e-4 * 11.40 * static_cast<double>(r->fill_log[5].quantity),
              1e-6);
}

// The first days after a listing have no limit (STAR: 5 days); ST names have their own limit
// (main board +-5%, from the data field is_st).
TEST(PreciseRun, NoLimitDaysAfterAListingAndStLimits) {
  std::vector<Timestamp> days;
  for (int d : {4, 5, 6, 7, 8, 11, 12, 13})
    days.push_back(DateTimestamp(2024, 3, d));
  const std::size_t T = days.size();
  // 688981 lists on bar 1 and opens bar 2 at +25% (above STAR's 20%: no limit yet); 600001 is ST
  // and opens bar 2 at +6% (above the ST 5%: limit-up); both buy on that open.
  PanelBuilder b(Calendar(days), {"SH688981", "SH600001"});
  const double star[] = {NAN, 20.0, 25.0, 25.5, 26.0, 26.0, 26.0, 26.0};
  const double st[] = {5.00, 5.00, 5.30, 5.30, 5.30, 5.30, 5.30, 5.30};
  for (const char* f : {"open", "high", "low", "close", "volume", "go", "is_st"}) {
    const std::span<double> v = b.AddField(f);
    for (std::size_t t = 0; t < T; ++t) {
      const std::string name = f;
      v[t] = name == "volume"  ? (std::isnan(star[t]) ? NAN : 1e7)
             : name == "go"    ? (t == 1 ? 1 : 0)
             : name == "is_st" ? 0
                               : star[t];
      v[T + t] = name == "volume"  ? 1e7
                 : name == "go"    ? (t == 1 ? 1 : 0)
                 : name == "is_st" ? 1
                                   : st[t];
    }
  }
  const auto r =
      RunPrecise(Spec("version: 1\nsignals: {long: 'go > 0'}\ncosts: {market: cn_stock}\n"),
                 std::move(b).Build(), {});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->fill_log.size(), 1u);
  EXPECT_EQ(r->symbols[static_cast<std::size_t>(r->fill_log[0].instrument)], "SH688981");
  EXPECT_EQ(r->fill_log[0].market_price, 2500);  // 25.00 in ticks of 0.01
  int limited = 0;
  for (const Order& o : r->orders)
    limited += o.reject == RejectReason::kPriceLimit;
  EXPECT_EQ(limited, 1);
}

// A perpetual under the crypto_perp pack: a margin account, taker fees, and funding from the
// data's funding_rate field, paid on the position at the last price before each settlement.
TEST(PreciseRun, PerpetualFundingFromTheData) {
  std::vector<Timestamp> days;
  for (int d = 1; d <= 6; ++d)
    days.push_back(DateTimestamp(2024, 1, d));
  PanelBuilder b(Calendar(days), {"BTCUSDT"});
  const double px[] = {40000, 41000, 42000, 43000, 44000, 45000};
  const double rate[] = {NAN, NAN, 1e-4, NAN, -2e-4, NAN};
  for (const char* f : {"open", "high", "low", "close", "volume", "go", "funding_rate"}) {
    const std::span<double> v = b.AddField(f);
    for (std::size_t t = 0; t < 6; ++t) {
      const std::string name = f;
      v[t] = name == "volume"         ? 1e4
             : name == "go"           ? (t == 0)
             : name == "funding_rate" ? rate[t]
                                      : px[t];
    }
  }
  PreciseOptions o;
  o.initial_capital = 100'000;
  const auto r =
      RunPrecise(Spec("version: 1\nsignals: {long: 'go > 0'}\ncosts: {market: crypto_perp}\n"),
                 std::move(b).Build(), {}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->fill_log.size(), 1u);
  const Fill& f = r->fill_log[0];
  const double q = static_cast<double>(f.quantity) * 0.001;  // BTC, step 0.001
  EXPECT_NEAR(f.commission, 5e-4 * q * 41000, 1e-6);         // taker 5 bps
  // Settled at bars 2 and 4's opens on the previous closes (41000, 43000).
  EXPECT_NEAR(r->costs.funding, q * 41000 * 1e-4 - q * 43000 * 2e-4, 1e-9);
  // Margin account: equity = cash + q (mark - entry) at the last open (next_open valuation).
  EXPECT_NEAR(r->result.final_value,
              100'000 - f.commission - r->costs.funding + q * (45000 - 41000), 1e-6);
}

TEST(PreciseRun, CountsOrdersFillsAndCosts) {
  const Panel data = Market(4, 300, 9);
  const strategy::StrategySpec spec = Spec(R"(version: 1
signals:
  long: Mean(close, 5) > Mean(close, 20)
  exit: Mean(close, 5) < Mean(close, 20)
risk: {stop_loss: 0.03, take_profit: 0.05}
costs: {fee_bps: 5, slippage: {spread_bps: 10}}
)");
  const strategy::ParamValues none;
  const auto r = RunPrecise(spec, data, none);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->result.orders, static_cast<std::int64_t>(r->orders.size()));
  EXPECT_EQ(r->fills, static_cast<std::int64_t>(r->fill_log.size()));
  double commission = 0, slippage = 0;
  for (const Fill& f : r->fill_log) {
    commission += f.commission;
    slippage += f.slippage_cost;
  }
  EXPECT_DOUBLE_EQ(r->costs.commission, commission);
  EXPECT_DOUBLE_EQ(r->costs.slippage, slippage);
  EXPECT_GT(slippage, 0);
  // Stops and take-profits fire intrabar, and an OCO group leaves no orphan exits behind.
  int stops = 0, targets = 0;
  for (const engines::TradeRow& t : r->detail.trades) {
    stops += t.exit_reason == "stop_loss";
    targets += t.exit_reason == "take_profit";
  }
  EXPECT_GT(stops, 0);
  EXPECT_GT(targets, 0);
  for (const Order& o : r->orders) {
    if (o.status == OrderStatus::kWorking) {
      EXPECT_NE(r->fill_log.empty(), true);
    }
  }
  // The equity identity: the final value is the initial capital plus the round trips' pnl and
  // the open positions' value change.
  EXPECT_GT(r->result.final_value, 0);
}

TEST(PreciseRun, ErrorsNameWhatIsMissing) {
  const Panel data = Market(2, 50, 1);
  const strategy::ParamValues none;
  const auto group = RunPrecise(Spec(R"(version: 1
selection: {mode: topk, score: 'close', topk: 1}
risk: {group_max_weight: {field: sector, max: 0.5}}
)"),
                                data, none);
  EXPECT_EQ(group.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(group.status().message().find("'sector'"), std::string_view::npos);
}

}  // namespace
}  // namespace qraft::precise
