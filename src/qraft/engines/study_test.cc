#include "qraft/engines/study.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>

#include "qraft/data/synth.h"
#include "qraft/data/testing.h"

namespace qraft::engines {
namespace {

using data::testing::TempDir;

const char kCross[] = R"(version: 1
name: cross
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs:
  fee_bps: 5
params:
  fast: {values: [3, 5, 10, 15]}
  slow: {values: [20, 40, 60]}
)";

struct Fixture {
  TempDir dir;
  std::unique_ptr<data::SnapshotStore> store;
  std::string snapshot;
  strategy::StrategySpec spec;
  std::vector<strategy::ParamValues> combos;

  Fixture() {
    data::SynthOptions o;
    o.symbols = 6;
    o.bars = 600;
    o.seed = 5;
    Result<data::SnapshotContent> content = data::Synthesize(o);
    EXPECT_TRUE(content.ok());
    auto opened = data::OpenLocalStore(dir.path());
    EXPECT_TRUE(opened.ok());
    store = std::move(*opened);
    Result<std::string> id = store->Publish(*content, NullProgress());
    EXPECT_TRUE(id.ok()) << id.status().ToString();
    snapshot = *id;
    Result<strategy::StrategySpec> s = strategy::ParseStrategy(kCross, "cross.yaml");
    EXPECT_TRUE(s.ok()) << s.status().ToString();
    spec = *s;
    combos = *spec.Combinations();
  }
  const Panel& panel() const {
    static Result<data::Snapshot> snap = store->Open(snapshot);
    return snap->panel();
  }
};

std::string Dump(const CombinationResult& r) {
  return nlohmann::json{{"p", r.params},
                        {"m", ToJson(r.metrics)},
                        {"o", r.orders},
                        {"v", r.final_value},
                        {"s", r.stopped}}
      .dump();
}

CombinationResult WithMetrics(double sharpe, double max_drawdown) {
  CombinationResult r;
  r.metrics.sharpe = sharpe;
  r.metrics.max_drawdown = max_drawdown;
  return r;
}

TEST(ParetoFrontTest, NonDominatedPointsOnly) {
  const std::vector<CombinationResult> results = {
      WithMetrics(1.0, -0.2),   // 0: front
      WithMetrics(2.0, -0.3),   // 1: front (best sharpe)
      WithMetrics(0.5, -0.1),   // 2: front (best drawdown)
      WithMetrics(0.4, -0.3),   // 3: dominated by 0, 1 and 2
      WithMetrics(NAN, -0.05),  // 4: NaN objective: never on the front
      WithMetrics(1.0, -0.2),   // 5: equal to 0: neither dominates
      WithMetrics(0.9, -0.2),   // 6: dominated by 0
  };
  const std::vector<std::string> objectives = {"sharpe", "max_drawdown"};
  Result<std::vector<std::size_t>> front = ParetoFront(results, objectives);
  ASSERT_TRUE(front.ok());
  EXPECT_EQ(*front, (std::vector<std::size_t>{0, 1, 2, 5}));
  // Minimising the drawdown's depth instead ("-max_drawdown") turns the second axis around.
  const std::vector<std::string> flipped = {"sharpe", "-max_drawdown"};
  EXPECT_EQ(*ParetoFront(results, flipped), (std::vector<std::size_t>{1}));
  const std::vector<std::string> bad = {"sharp"};
  EXPECT_FALSE(ParetoFront(results, bad).ok());
}

// The study's results are RunSweep's, bit for bit; the kept details are the best `keep`,
// best first, and their curves end at each result's final value.
TEST(StudyTest, ResultsRankingAndDetails) {
  const Fixture f;
  StudyOptions options;
  options.keep = 3;
  Result<SweepOutput> out = RunStudy(*f.store, f.snapshot, f.spec, f.combos, options);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  EXPECT_EQ(out->periods_per_year, 252);  // daily stock bars
  BacktestOptions same;
  same.metrics.periods_per_year = out->periods_per_year;
  Result<SweepResult> direct = RunSweep(f.spec, f.panel(), f.combos, same);
  ASSERT_TRUE(direct.ok());
  ASSERT_EQ(out->results.size(), f.combos.size());
  for (std::size_t i = 0; i < f.combos.size(); ++i)
    EXPECT_EQ(Dump(out->results[i]), Dump(direct->results[i])) << i;
  Result<std::vector<std::size_t>> ranked = RankResults(direct->results, "sharpe", 0);
  EXPECT_EQ(out->top, *ranked);
  // The best 3, then the Pareto front's other members.
  std::size_t extra = 0;
  for (const std::size_t i : out->pareto)
    extra += std::find(ranked->begin(), ranked->begin() + 3, i) == ranked->begin() + 3;
  ASSERT_EQ(out->details.size(), 3u + std::min<std::size_t>(extra, 3));
  for (std::size_t k = 0; k < 3; ++k) {
    const CandidateDetail& d = out->details[k];
    EXPECT_EQ(d.index, (*ranked)[k]);
    ASSERT_EQ(d.curve.size(), f.panel().num_times());
    EXPECT_EQ(d.curve.back().equity, out->results[d.index].final_value);
    EXPECT_EQ(d.curve.front().time, f.panel().calendar()[0]);
  }
  EXPECT_EQ(out->kind, "sweep");
  EXPECT_EQ(out->dsl_hash, f.spec.DslHash());
  EXPECT_EQ(out->snapshot_id, f.snapshot);
  EXPECT_FALSE(out->pareto.empty());
}

// Annualisation follows the data: 252 trading days, 365 for a 24/7 market, and bars per day
// times days for intraday bars (crypto minutes: 1,440 a day, every day).
TEST(StudyTest, PeriodsPerYearFromTheSnapshot) {
  TempDir dir;
  auto store = data::OpenLocalStore(dir.path());
  ASSERT_TRUE(store.ok());
  auto publish = [&](const char* market, const char* freq, std::size_t bars) {
    data::SynthOptions o;
    o.symbols = 2;
    o.bars = bars;
    o.market = market;
    o.freq = *Frequency::Parse(freq);
    Result<data::SnapshotContent> c = data::Synthesize(o);
    EXPECT_TRUE(c.ok()) << c.status().ToString();
    Result<std::string> id = (*store)->Publish(*c, NullProgress());
    EXPECT_TRUE(id.ok());
    return *(*store)->Open(*id);
  };
  EXPECT_EQ(PeriodsPerYear(publish("us_stock", "1d", 50)), 252);
  EXPECT_EQ(PeriodsPerYear(publish("crypto_spot", "1d", 50)), 365);
  EXPECT_EQ(PeriodsPerYear(publish("crypto_spot", "1m", 5000)), 1440 * 365);
  EXPECT_EQ(PeriodsPerYear(publish("cn_stock", "1m", 2400)), 240 * 252);
}

TEST(StudyTest, CacheReturnsTheSameBitsAndIgnoresDirtyBuilds) {
  const Fixture f;
  Result<std::unique_ptr<ResultCache>> cache =
      ResultCache::Open(f.dir / "cache" / "results.db", "0.1.0+gabc");
  ASSERT_TRUE(cache.ok()) << cache.status().ToString();
  StudyOptions options;
  options.cache = cache->get();
  Result<SweepOutput> first = RunStudy(*f.store, f.snapshot, f.spec, f.combos, options);
  ASSERT_TRUE(first.ok());
  BacktestOptions used = options.backtest;
  used.metrics.periods_per_year = first->periods_per_year;
  const std::string key = ResultCacheKey(f.spec.DslHash(), used);
  Result<std::vector<std::optional<CombinationResult>>> hits =
      (*cache)->Lookup(f.snapshot, key, f.combos);
  ASSERT_TRUE(hits.ok());
  for (std::size_t i = 0; i < f.combos.size(); ++i) {
    ASSERT_TRUE((*hits)[i].has_value()) << i;
    EXPECT_EQ(Dump(*(*hits)[i]), Dump(first->results[i])) << i;
  }
  Result<SweepOutput> second = RunStudy(*f.store, f.snapshot, f.spec, f.combos, options);
  ASSERT_TRUE(second.ok());
  for (std::size_t i = 0; i < f.combos.size(); ++i)
    EXPECT_EQ(Dump(second->results[i]), Dump(first->results[i])) << i;
  // Another snapshot or DSL misses; a dirty build neither reads nor writes.
  EXPECT_FALSE((*(*cache)->Lookup("other", key, f.combos))[0].has_value());
  // Other metrics options are another key: a change of annualisation recomputes.
  used.metrics.periods_per_year = 365;
  EXPECT_FALSE((*(*cache)->Lookup(f.snapshot, ResultCacheKey(f.spec.DslHash(), used), f.combos))[0]
                   .has_value());
  Result<std::unique_ptr<ResultCache>> dirty =
      ResultCache::Open(f.dir / "cache" / "results.db", "0.1.0+gabc-dirty");
  ASSERT_TRUE(dirty.ok());
  EXPECT_FALSE((*(*dirty)->Lookup(f.snapshot, key, f.combos))[0].has_value());
}

// Early stop: stopped combinations carry exactly the warm-up run's metrics; the others are
// untouched by it.
TEST(StudyTest, EarlyStopKeepsWarmupMetricsAndLeavesSurvivorsExact) {
  const Fixture f;
  constexpr std::size_t kWarmup = 250;
  StudyOptions options;
  options.keep = 2;
  std::vector<std::size_t> asked;
  options.early_stop = EarlyStop{kWarmup, [&](const CombinationResult& r, std::size_t i) {
                                   asked.push_back(i);
                                   // Any rule of the warm-up result; this one stops half.
                                   return r.params.at("fast") >= 10 && r.metrics.bars > 0;
                                 }};
  Result<SweepOutput> out = RunStudy(*f.store, f.snapshot, f.spec, f.combos, options);
  ASSERT_TRUE(out.ok()) << out.status().ToString();
  std::vector<std::size_t> all(f.combos.size());
  for (std::size_t i = 0; i < all.size(); ++i)
    all[i] = i;
  EXPECT_EQ(asked, all);  // every combination, in order

  Result<Panel> prefix = f.panel().Select(f.panel().symbols().names(), kNoTimestamp,
                                          f.panel().calendar()[kWarmup - 1]);
  ASSERT_TRUE(prefix.ok());
  BacktestOptions same;
  same.metrics.periods_per_year = out->periods_per_year;
  Result<SweepResult> warm = RunSweep(f.spec, *prefix, f.combos, same);
  Result<SweepResult> full = RunSweep(f.spec, f.panel(), f.combos, same);
  ASSERT_TRUE(warm.ok() && full.ok());
  std::size_t stopped = 0;
  for (std::size_t i = 0; i < f.combos.size(); ++i) {
    const CombinationResult& r = out->results[i];
    if (r.stopped) {
      ++stopped;
      EXPECT_EQ(r.metrics.bars, static_cast<std::int64_t>(kWarmup));
      CombinationResult expected = warm->results[i];
      expected.stopped = true;
      EXPECT_EQ(Dump(r), Dump(expected)) << i;
    } else {
      EXPECT_EQ(Dump(r), Dump(full->results[i])) << i;
    }
  }
  EXPECT_GT(stopped, 0u);
  EXPECT_LT(stopped, f.combos.size());
  // Stopped combinations rank last and are never kept with details.
  for (std::size_t k = 0; k + 1 < out->top.size(); ++k) {
    EXPECT_FALSE(out->results[out->top[k]].stopped && !out->results[out->top[k + 1]].stopped);
  }
  for (const CandidateDetail& d : out->details)
    EXPECT_FALSE(out->results[d.index].stopped);
}

}  // namespace
}  // namespace qraft::engines
