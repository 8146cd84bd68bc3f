#include "qraft/gates/gate.h"

#include <gtest/gtest.h>

#include <cmath>
#include <fstream>

#include "qraft/core/parallel.h"
#include "qraft/data/synth.h"
#include "qraft/data/testing.h"
#include "qraft/engines/results.h"
#include "qraft/engines/study.h"
#include "qraft/gates/stats.h"
#include "qraft/robust/bootstrap.h"

namespace qraft::gates {
namespace {

using data::testing::TempDir;

// T x K returns 0.02 (u - 0.5) + drift[j], column-major.
// SplitMix64 (SPEC §7.0) uniforms, for matrices with a known truth.
std::vector<double> Returns(std::size_t T, const std::vector<double>& drift, std::uint64_t seed) {
  robust::SplitMix64 u(seed);
  std::vector<double> r(T * drift.size());
  for (std::size_t j = 0; j < drift.size(); ++j)
    for (std::size_t t = 0; t < T; ++t)
      r[j * T + t] = 0.02 * (u.Uniform() - 0.5) + drift[j];
  return r;
}

// The wiring of the statistics, on matrices whose answer is known: returns become losses with
// the right sign, a trial that beats the benchmark is found, pure noise is not.
TEST(GateStats, SearchFindsTheTrialWithAnEdgeAndNotNoise) {
  const std::size_t T = 500, K = 40;
  std::vector<double> drift(K, 0.0);
  const std::vector<double> zero(T, 0.0);
  GatesConfig c;
  c.bootstrap_reps = 1000;
  const std::vector<double> noise = Returns(T, drift, 7);
  const auto none = stats::TestSearch({.data = noise, .rows = T, .cols = K}, 0, T, zero, c);
  ASSERT_TRUE(none.ok()) << none.status().ToString();
  EXPECT_GT(none->spa_consistent, 0.1);
  EXPECT_TRUE(none->stepm.empty());
  EXPECT_LE(none->spa_lower, none->spa_consistent);
  EXPECT_LE(none->spa_consistent, none->spa_upper);

  drift[17] = 0.002;  // Sharpe ~0.35 per bar
  const std::vector<double> edge = Returns(T, drift, 7);
  const robust::MatrixView m{.data = edge, .rows = T, .cols = K};
  const auto found = stats::TestSearch(m, 0, T, zero, c);
  ASSERT_TRUE(found.ok());
  EXPECT_GT(found->statistic, 0);
  EXPECT_LT(found->spa_consistent, 0.01);
  EXPECT_EQ(found->stepm, std::vector<std::size_t>{17});
  EXPECT_EQ(found->spa_upper, found->rc_p);
  // Against a benchmark that earns the same edge, nothing beats it.
  const std::vector<double> strong(T, 0.002);
  const auto beaten = stats::TestSearch(m, 0, T, strong, c);
  ASSERT_TRUE(beaten.ok());
  EXPECT_TRUE(beaten->stepm.empty());
  // The seed makes it reproducible; the thread count does not matter.
  ThreadLimit one(1);
  const auto again = stats::TestSearch(m, 0, T, zero, c);
  EXPECT_EQ(again->spa_consistent, found->spa_consistent);
  EXPECT_EQ(again->block, found->block);

  // DSR: the edge survives deflation for 40 trials; noise's best does not.
  std::vector<double> sharpes(K);
  for (std::size_t j = 0; j < K; ++j)
    sharpes[j] = stats::PerBarSharpe(m.Column(j));
  const double var = stats::SampleVariance(sharpes);
  EXPECT_GT(stats::Dsr(m.Column(17), var, K), 0.99);
  std::size_t best_noise = 0;
  for (std::size_t j = 0; j < K; ++j)
    if (j != 17 && sharpes[j] > sharpes[best_noise]) best_noise = j;
  EXPECT_LT(stats::Dsr(m.Column(best_noise), var, K), 0.95);
  EXPECT_GT(stats::Dsr(m.Column(best_noise), var, 1), stats::Dsr(m.Column(best_noise), var, K));
  // PBO: noise overfits about half the time; one real edge almost never.
  const auto pbo_noise = stats::Pbo({.data = noise, .rows = T, .cols = K}, 0, T, 8);
  const auto pbo_edge = stats::Pbo(m, 0, T, 8);
  ASSERT_TRUE(pbo_noise.ok() && pbo_edge.ok());
  EXPECT_GT(pbo_noise->pbo, 0.2);
  EXPECT_LT(pbo_edge->pbo, 0.05);
  EXPECT_EQ(pbo_edge->splits, 70u);  // C(8, 4)
  // Information ratio and MinTRL of the edge.
  EXPECT_NEAR(stats::InformationRatio(m.Column(17), zero, 252),
              stats::PerBarSharpe(m.Column(17)) * std::sqrt(252.0), 1e-12);
  EXPECT_LT(stats::MinTrl(m.Column(17), 0.95), 100);
  EXPECT_EQ(stats::MinTrl(Returns(T, {-0.002}, 3), 0.95), HUGE_VAL);  // never: Sharpe < 0
}

struct Sweep {
  TempDir dir;
  std::unique_ptr<data::SnapshotStore> store;
  std::filesystem::path out;

  Sweep() {
    data::SynthOptions o;
    o.symbols = 8;
    o.bars = 900;
    o.seed = 11;
    auto content = data::Synthesize(o);
    EXPECT_TRUE(content.ok());
    store = std::move(*data::OpenLocalStore(dir.path() / "store"));
    const std::string id = *store->Publish(*content, NullProgress());
    const auto spec = strategy::ParseStrategy(R"(version: 1
params:
  fast: {values: [3, 5, 8, 13]}
  slow: {values: [20, 40, 60]}
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs: {fee_bps: 2}
)",
                                              "cross.yaml");
    EXPECT_TRUE(spec.ok());
    const auto combos = spec->Combinations();
    engines::StudyOptions so;
    so.keep = 3;
    auto study = engines::RunStudy(*store, id, *spec, *combos, so);
    EXPECT_TRUE(study.ok()) << study.status().ToString();
    out = dir.path() / "sweep";
    EXPECT_TRUE(engines::WriteResultDir(out, *study).ok());
  }
};

TEST(Gates, RunOnASweepChoosesOnValidationAndRerunsExactly) {
  Sweep s;
  GatesConfig c;
  c.candidates = 4;
  c.bootstrap_reps = 500;
  c.pbo_blocks = 8;
  const auto r = RunGates(*s.store, s.out, c);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->trials, 12u);
  EXPECT_EQ(r->train.size() + r->validation.size() + r->holdout.size(), 900u);
  EXPECT_EQ(r->validation.begin, 540u);  // 60% of 900
  EXPECT_EQ(r->holdout.begin, 720u);
  ASSERT_EQ(r->candidates.size(), 4u);
  for (std::size_t k = 1; k < r->candidates.size(); ++k)
    EXPECT_GE(r->candidates[k - 1].objective, r->candidates[k].objective);
  for (const CandidateGates& g : r->candidates) {
    ASSERT_EQ(g.gates.size(), 10u);
    EXPECT_EQ(g.pass, std::all_of(g.gates.begin(), g.gates.end(),
                                  [](const GateResult& x) { return x.pass; }));
    const GateResult& rerun = g.gates[7];
    EXPECT_EQ(rerun.name, "rerun");
    EXPECT_EQ(rerun.value, 0.0);
    EXPECT_TRUE(rerun.pass);
    const GateResult& consistency = g.gates[6];
    EXPECT_LT(consistency.value, 1e-6);  // LikeFast reproduces the sweep
    for (const GateResult& x : g.gates) {
      EXPECT_FALSE(x.reason.empty());
      EXPECT_EQ(x.hint.empty(), x.pass) << x.name;
    }
  }
  EXPECT_EQ(r->pbo_logits.size(), 70u);
  EXPECT_EQ(r->dsr_curve.back().first, 12u);
  // Bit-identical JSON with one thread.
  {
    ThreadLimit one(1);
    const auto again = RunGates(*s.store, s.out, c);
    ASSERT_TRUE(again.ok());
    EXPECT_EQ(ToJson(*again).dump(), ToJson(*r).dump());
  }
  // Gates switched off are not listed.
  c.overlap.enabled = c.consistency.enabled = false;
  const auto fewer = RunGates(*s.store, s.out, c);
  ASSERT_TRUE(fewer.ok());
  EXPECT_EQ(fewer->candidates[0].gates.size(), 8u);
}

TEST(Gates, ErrorsNameWhatIsWrong) {
  Sweep s;
  GatesConfig c;
  c.splits = {.train = 0.96, .validation = 0.02, .holdout = 0.02};
  const auto short_window = RunGates(*s.store, s.out, c);
  EXPECT_EQ(short_window.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(short_window.status().message().find("the validation window has 18 bars"),
            std::string::npos)
      << short_window.status().message();
  c = GatesConfig{};
  c.objective = "trades";
  EXPECT_NE(RunGates(*s.store, s.out, c).status().message().find("not a return-based metric"),
            std::string::npos);
  // An edited directory: its dsl_hash no longer matches its strategy.
  const auto path = s.out / "result.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  const auto at = text.find("\"dsl_hash\": \"") + 13;
  text[at] = text[at] == 'a' ? 'b' : 'a';
  std::ofstream(path) << text;
  const auto edited = RunGates(*s.store, s.out, GatesConfig{});
  EXPECT_EQ(edited.status().code(), StatusCode::kDataError);
  EXPECT_NE(edited.status().message().find("result.json: field 'dsl_hash'"), std::string::npos)
      << edited.status().message();
}

}  // namespace
}  // namespace qraft::gates
