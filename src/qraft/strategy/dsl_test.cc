#include "qraft/strategy/dsl.h"

#include <gtest/gtest.h>

#include <set>
#include <string>

namespace qraft::strategy {
namespace {

StrategySpec MustParse(const std::string& yaml) {
  Result<StrategySpec> s = ParseStrategy(yaml, "s.yaml");
  EXPECT_TRUE(s.ok()) << s.status().ToString();
  return s.ok() ? std::move(*s) : StrategySpec();
}

std::string ErrorOf(const std::string& yaml) {
  Result<StrategySpec> s = ParseStrategy(yaml, "s.yaml");
  EXPECT_FALSE(s.ok()) << yaml;
  return s.ok() ? "" : std::string(s.status().message());
}

const char kCross[] = R"(version: 1
universe: us_stock
rebalance: 1D
signals:
  long: EMA(close, ${fast}) > EMA(close, ${slow})
costs: {market: us_stock, fee_bps: 2}
params:
  fast: {range: [5, 50, 5]}
  slow: {values: [20, 30, 60, 120]}
  where: fast < slow
)";

TEST(DslTest, ExamplesParse) {
  for (const char* path :
       {"examples/strategies/ma_cross.yaml", "examples/strategies/topk_momentum.yaml"}) {
    Result<StrategySpec> s = LoadStrategy(path);
    ASSERT_TRUE(s.ok()) << s.status().ToString();
    EXPECT_EQ(s->DslHash().size(), 64u);
  }
}

// A result directory's canonical strategy re-runs as the same strategy: every field survives
// the round trip (the hash and the combinations are the same).
TEST(DslTest, CanonicalFormRoundTrips) {
  std::vector<StrategySpec> specs;
  for (const char* path :
       {"examples/strategies/ma_cross.yaml", "examples/strategies/topk_momentum.yaml",
        "examples/strategies/topk_qlib.yaml", "bench/strategies/ma_grid.yaml",
        "bench/strategies/topk_synthetic.yaml"}) {
    Result<StrategySpec> s = LoadStrategy(path);
    ASSERT_TRUE(s.ok()) << path << ": " << s.status().ToString();
    specs.push_back(*s);
  }
  specs.push_back(MustParse(R"(version: 1
universe: {filter: close > 5}
signals: {long: 'close > ${a}', exit: 'close < 1', short: 'close < 0', short_exit: 'close > 0'}
risk: {stop_loss: 0.05, trailing_stop: '${t}'}
hold: {min_days: 2}
cooldown_days: 3
costs: {fee_bps: 2, min_fee: 1, tax_bps: 5, slippage: {spread_bps: 3, impact: {alpha: 0.1, beta: 0.6}}}
execution: {price: close, assume_close_fill: true}
params:
  a: {values: [1, 2]}
  t: {range: [0.01, 0.03, 0.01]}
)"));
  for (const StrategySpec& spec : specs) {
    Result<StrategySpec> back = StrategyFromCanonical(spec.Canonical());
    ASSERT_TRUE(back.ok()) << back.status().ToString();
    EXPECT_EQ(back->Canonical(), spec.Canonical());
    EXPECT_EQ(back->DslHash(), spec.DslHash());
    EXPECT_EQ(back->Combinations()->size(), spec.Combinations()->size());
    EXPECT_EQ(back->assumptions, spec.assumptions);
  }
  nlohmann::json broken = specs[0].Canonical();
  broken["execution"]["price"] = "noon";
  EXPECT_NE(StrategyFromCanonical(broken).status().message().find("execution.price"),
            std::string_view::npos);
  broken = specs[0].Canonical();
  broken.erase("risk");
  EXPECT_NE(StrategyFromCanonical(broken).status().message().find("'risk'"),
            std::string_view::npos);
}

TEST(DslTest, ParsesSectionsAndParameters) {
  StrategySpec s = MustParse(kCross);
  EXPECT_EQ(s.universe.kind, Universe::Kind::kMarket);
  EXPECT_EQ(s.universe.market, "us_stock");
  EXPECT_EQ(s.rebalance.bars, 1);
  ASSERT_EQ(s.params.size(), 2u);
  EXPECT_EQ(s.params[0].domain.values.size(), 10u);
  EXPECT_EQ(s.params[0].domain.default_value, 5);  // the first value without a default
  Result<std::vector<ParamValues>> combos = s.Combinations();
  ASSERT_TRUE(combos.ok());
  EXPECT_EQ(combos->size(), 28u);  // fast < slow
  EXPECT_EQ((*combos)[0], (ParamValues{{"fast", 5}, {"slow", 20}}));
  EXPECT_EQ(s.Bind({{"fast", 10}}).value(), (ParamValues{{"fast", 10}, {"slow", 20}}));
  EXPECT_FALSE(s.Bind({{"fats", 10}}).ok());
  EXPECT_EQ(s.Expressions().size(), 1u);

  StrategySpec t = MustParse(R"(version: 1
selection: {mode: topk, score: 'ROC(close, 20)', topk: '${k}', n_drop: 2}
position: {scheme: vol_target, target_vol: 0.15, max_weight: 0.05}
risk: {stop_loss: 0.1, group_max_weight: {field: industry, max: 0.3}}
rebalance: month_end
params: {k: {values: [10, 20]}}
)");
  EXPECT_EQ(t.selection.mode, Selection::Mode::kTopK);
  EXPECT_EQ(t.selection.topk.param, "k");
  EXPECT_EQ(t.selection.topk.Resolve({{"k", 20}}), 20);
  EXPECT_EQ(t.rebalance.kind, Rebalance::Kind::kMonthEnd);
  EXPECT_EQ(t.risk.group_max_weight->field, "industry");
}

TEST(DslTest, HashIgnoresFormattingKeyOrderAndExpressionSpacing) {
  const std::string base = MustParse(kCross).DslHash();
  const std::string reordered = R"yaml(# a comment
params:
  slow: {values: [20, 30, 60, 120]}
  fast:
    range: [5, 50, 5]
  where: fast<slow
costs:
  fee_bps: 2.0
  market: us_stock
signals: {long: "ema( $close,${fast} )>EMA(close,${slow})"}
rebalance: 1
universe: us_stock
version: 1
)yaml";
  EXPECT_EQ(MustParse(reordered).DslHash(), base);
  std::string changed = kCross;
  changed.replace(changed.find("fee_bps: 2"), 10, "fee_bps: 3");
  EXPECT_NE(MustParse(changed).DslHash(), base);
}

TEST(DslTest, ErrorsPointIntoTheFileWithHints) {
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'x'}\nslipage: 3\n"),
            "s.yaml:3:1: unknown key 'slipage' in a strategy (allowed: version, name, "
            "description, universe, rebalance, signals, selection, position, risk, costs, hold, "
            "cooldown_days, execution, params)");
  EXPECT_EQ(ErrorOf("version: 2\n"),
            "s.yaml:1:10: DSL version 2 is not supported; this Qraft reads version 1");
  // The position inside the expression is added to the expression's own position in the file.
  EXPECT_EQ(ErrorOf("version: 1\nsignals:\n  long: EMA(close, 10) > Maen(close, 5)\n"),
            "s.yaml:3:26: signals.long: unknown operator 'MAEN' (did you mean MEAN, MAX, MIN?) "
            "(hint: see docs/expressions.md for the operators; `qraft expr ops` lists them)");
  EXPECT_EQ(ErrorOf("version: 1\nsignals:\n  long: 'Ref(close, -1) > close'\n"),
            "s.yaml:3:21: signals.long: REF(…, -1) refers to the future (1 bar ahead); only "
            "labels may look ahead (hint: see docs/expressions.md for the operators; `qraft expr "
            "ops` lists them)");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'EMA(close, ${n}) > close'}\n"),
            "s.yaml:2:17: signals.long: parameter ${n} is not declared under params (hint: add "
            "it, e.g. n: {values: [10, 20]})");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'close > 1'}\nparams: {n: {values: [1, 2]}}\n"),
            "s.yaml:3:13: parameter n is declared but never used as ${n}: it would multiply the "
            "sweep for nothing");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'close > 1'}\nexecution: {price: close}\n"),
            "s.yaml:3:20: execution.price close fills at the close of the bar whose data made "
            "the decision: that is look-ahead unless you state it (hint: use next_open, or add "
            "assume_close_fill: true to accept and report the assumption)");
  EXPECT_EQ(ErrorOf("version: 1\nselection: {mode: topk, topk: 5}\n"),
            "s.yaml:2:12: selection.mode topk ranks by `score`: give selection.score");
  EXPECT_EQ(ErrorOf("version: 1\nselection: {mode: top, score: close}\n"),
            "s.yaml:2:19: selection.mode 'top': expected topk, quantile, threshold or all_signals");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'close > 1'}\nposition: {max_weight: 1.5}\n"),
            "s.yaml:3:24: position.max_weight must be within [1e-06, 1], got 1.5");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'close > 1'}\ncosts: {market: mars}\n"),
            "s.yaml:3:17: costs.market 'mars' is not a market pack (there are: cn_stock, "
            "crypto_perp, crypto_spot, futures, us_stock)");
  EXPECT_EQ(ErrorOf("version: 1\nrebalance: 2W\nsignals: {long: 'close > 1'}\n"),
            "s.yaml:2:12: rebalance '2W': expected ND (every N bars, e.g. 1D, 5D), N bars (e.g. "
            "30), 1W/week_end or month_end");
  EXPECT_EQ(ErrorOf("version: 1\n"),
            "s.yaml:1:1: nothing decides what to hold: give signals (long/short) or a selection "
            "by score (mode topk, quantile or threshold)");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: {long: 'close > ${a}'}\nparams:\n  a: {values: [1]}\n"
                    "  where: a < close\n"),
            "s.yaml:5:10: params.where: where 'a < close' must depend on parameters only "
            "(hint: a condition over the parameters, e.g. 'fast < slow')");
  EXPECT_EQ(ErrorOf("version: 1\nsignals: [1, 2\n"), "s.yaml:3:1: end of sequence flow not found");
}

TEST(DslTest, SamplingIsSeededDistinctAndRespectsWhere) {
  StrategySpec s = MustParse(kCross);
  for (auto method : {StrategySpec::Sampling::kRandom, StrategySpec::Sampling::kLatinHypercube}) {
    Result<std::vector<ParamValues>> a = s.Sample(method, 10, 7);
    ASSERT_TRUE(a.ok()) << a.status().ToString();
    EXPECT_EQ(a->size(), 10u);
    std::set<ParamValues> distinct(a->begin(), a->end());
    EXPECT_EQ(distinct.size(), 10u);
    for (const ParamValues& p : *a)
      EXPECT_LT(p.at("fast"), p.at("slow"));
    EXPECT_EQ(*s.Sample(method, 10, 7), *a);  // same seed, same draws
    EXPECT_NE(*s.Sample(method, 10, 8), *a);
    // More than the domain holds: all 28 valid combinations, once each.
    EXPECT_EQ(s.Sample(method, 1000, 1)->size(), 28u);
  }
  // Latin hypercube without constraints: n strata of each parameter, one draw per stratum.
  StrategySpec u = MustParse(R"(version: 1
signals: {long: 'Mean(close, ${a}) > Mean(close, ${b})'}
params:
  a: {range: [1, 100, 1]}
  b: {range: [1, 100, 1]}
)");
  Result<std::vector<ParamValues>> lhs = u.Sample(StrategySpec::Sampling::kLatinHypercube, 10, 3);
  ASSERT_TRUE(lhs.ok());
  std::set<int> strata;
  for (const ParamValues& p : *lhs)
    strata.insert(static_cast<int>((p.at("a") - 1) / 10));
  EXPECT_EQ(strata.size(), 10u);
}

TEST(DslTest, CloseFillsAreAReportedAssumption) {
  StrategySpec s = MustParse(
      "version: 1\nsignals: {long: 'close > 1'}\nexecution: {price: close, assume_close_fill: "
      "true}\n");
  ASSERT_EQ(s.assumptions.size(), 1u);
  EXPECT_NE(s.assumptions[0].find("assume_close_fill"), std::string::npos);
}

}  // namespace
}  // namespace qraft::strategy
