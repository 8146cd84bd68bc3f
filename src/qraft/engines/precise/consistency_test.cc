#include "qraft/engines/precise/consistency.h"

#include <gtest/gtest.h>

#include "qraft/data/synth.h"

namespace qraft::precise {
namespace {

TEST(Consistency, LikeFastPassesAndFrictionsAreAttributedStepByStep) {
  data::SynthOptions so;
  so.symbols = 8;
  so.bars = 500;
  so.seed = 21;
  const auto content = data::Synthesize(so);
  ASSERT_TRUE(content.ok());
  const auto spec = strategy::ParseStrategy(R"(version: 1
params:
  fast: {values: [4, 8]}
signals:
  long: Mean(close, ${fast}) > Mean(close, 30)
  exit: Mean(close, ${fast}) < Mean(close, 30)
costs: {fee_bps: 5, tax_bps: 5, slippage: {spread_bps: 6}}
)",
                                            "s.yaml");
  ASSERT_TRUE(spec.ok()) << spec.status().ToString();
  const auto combos = spec->Combinations();
  const auto fast = engines::RunSweep(*spec, content->panel, *combos);
  ASSERT_TRUE(fast.ok());
  ConsistencyOptions o;
  o.realistic.participation = 0.02;
  o.realistic.latency.insert = 7 * kNanosPerHour;  // misses the next open
  const auto r = RunConsistency(*spec, content->panel, fast->results, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->pass);
  EXPECT_LT(r->max_difference, 1e-6);
  ASSERT_EQ(r->rows.size(), 2u);
  for (const ConsistencyRow& row : r->rows) {
    ASSERT_EQ(row.steps.size(), 5u);
    EXPECT_EQ(row.steps[0].friction, "costs");
    EXPECT_EQ(row.steps[3].friction, "partial_fills");
    EXPECT_EQ(row.steps[4].friction, "latency");
    // Without a cost pack the pack frictions change nothing, bit for bit.
    for (int k = 0; k < 3; ++k)
      EXPECT_EQ(row.steps[k].metrics.total_return, row.like_fast.total_return);
    // A 2% participation cap and a 7-hour delay do change the result.
    EXPECT_NE(row.steps[3].metrics.total_return, row.steps[2].metrics.total_return);
    EXPECT_NE(row.steps[4].metrics.total_return, row.steps[3].metrics.total_return);
  }
  const nlohmann::json j = ToJson(*r);
  EXPECT_EQ(j["rows"][0]["steps"].size(), 5u);
  EXPECT_TRUE(j["pass"].get<bool>());
}

TEST(Consistency, DifferenceIsRelativeWithAFloor) {
  EXPECT_NEAR(ConsistencyDifference(1.01, 1.0), 0.01, 1e-15);
  EXPECT_NEAR(ConsistencyDifference(0.0002, 0.0001), 0.0001 / 1e-3, 1e-15);
  EXPECT_EQ(ConsistencyDifference(std::nan(""), std::nan("")), 0.0);
}

}  // namespace
}  // namespace qraft::precise
