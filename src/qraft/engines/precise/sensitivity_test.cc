#include "qraft/engines/precise/sensitivity.h"

#include <gtest/gtest.h>

#include <cmath>

#include "qraft/data/synth.h"

namespace qraft::precise {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

TEST(Sensitivity, TopNOverlapJaccardAndSpearmanByHand) {
  const std::vector<double> base{0.9, 0.8, 0.7, 0.6, 0.5};
  const std::vector<double> moved{0.9, 0.5, 0.7, 0.8, 0.6};
  EXPECT_EQ(TopN(base, 2), (std::vector<std::size_t>{0, 1}));
  EXPECT_EQ(TopN(moved, 2), (std::vector<std::size_t>{0, 3}));
  EXPECT_DOUBLE_EQ(TopNOverlap(base, moved, 2), 0.5);
  EXPECT_DOUBLE_EQ(TopNJaccard(base, moved, 2), 1.0 / 3);
  // Ranks 5 4 3 2 1 against 5 1 3 4 2: d^2 = 0 + 9 + 0 + 4 + 1 = 14, rho = 1 - 6 * 14 / 120.
  EXPECT_NEAR(SpearmanRho(base, moved), 1 - 6.0 * 14 / 120, 1e-15);
  // Ties: by index; NaN ranks last.
  EXPECT_EQ(TopN(std::vector<double>{1, kNaN, 1, 2}, 3), (std::vector<std::size_t>{3, 0, 2}));
  // Average ranks for ties: (1, 1, 2) vs (1, 2, 3) gives ranks (1.5, 1.5, 3) and (1, 2, 3).
  const double r = SpearmanRho(std::vector<double>{1, 1, 2}, std::vector<double>{1, 2, 3});
  EXPECT_NEAR(r, 0.8660254037844386, 1e-12);
  EXPECT_TRUE(std::isnan(SpearmanRho(std::vector<double>{1}, std::vector<double>{2})));
}

TEST(Sensitivity, CostCurvesMoveTheMetricsAndTheBaseIsTheBase) {
  data::SynthOptions so;
  so.symbols = 6;
  so.bars = 400;
  so.seed = 3;
  const auto content = data::Synthesize(so);
  ASSERT_TRUE(content.ok());
  const auto spec = strategy::ParseStrategy(R"(version: 1
params:
  fast: {values: [3, 5, 8, 12]}
  slow: {values: [20, 40]}
signals:
  long: Mean(close, ${fast}) > Mean(close, ${slow})
  exit: Mean(close, ${fast}) < Mean(close, ${slow})
costs: {fee_bps: 10, tax_bps: 10, slippage: {spread_bps: 10}}
)",
                                            "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const auto combos = spec->Combinations();
  SensitivityOptions o;
  o.top = 3;
  const auto r = RunSensitivity(*spec, content->panel, *combos, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->points.size(), 4u * 5u);
  for (const SensitivityPoint& p : r->points) {
    ASSERT_EQ(p.metrics.size(), combos->size());
    if (p.scale == 1.0) {
      // Scale 1 is the base run, bit for bit.
      EXPECT_DOUBLE_EQ(p.overlap, 1.0);
      for (std::size_t k = 0; k < combos->size(); ++k)
        EXPECT_EQ(p.metrics[k].total_return, r->base[k].total_return);
    }
    // Scaling every cost up lowers every candidate's return, down raises it (the same
    // decisions; only with a minimum fee or whole lots could a size change reverse this).
    if (p.component != "all" || p.scale == 1.0) continue;
    for (std::size_t k = 0; k < combos->size(); ++k) {
      if (p.scale > 1) {
        EXPECT_LT(p.metrics[k].total_return, r->base[k].total_return);
      } else {
        EXPECT_GT(p.metrics[k].total_return, r->base[k].total_return);
      }
    }
  }
  EXPECT_LE(r->min_overlap, 1.0);
  const nlohmann::json j = ToJson(*r);
  EXPECT_EQ(j["points"].size(), 20u);
  EXPECT_EQ(j["candidates"].size(), combos->size());
}

}  // namespace
}  // namespace qraft::precise
