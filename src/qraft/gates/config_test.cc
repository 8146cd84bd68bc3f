#include "qraft/gates/config.h"

#include <gtest/gtest.h>

#include <cstdlib>

namespace qraft::gates {
namespace {

std::filesystem::path SourceDir() {
  const char* dir = std::getenv("QRAFT_SOURCE_DIR");
  return dir != nullptr ? std::filesystem::path(dir) : std::filesystem::current_path();
}

// The shipped gates.yaml spells out GatesConfig{}: the two cannot drift apart.
TEST(GatesConfig, ShippedFileEqualsTheDefaults) {
  auto c = LoadGatesConfig(SourceDir() / "gates.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  const GatesConfig d;
  EXPECT_EQ(c->objective, d.objective);
  EXPECT_EQ(c->candidates, d.candidates);
  EXPECT_EQ(c->splits.train, d.splits.train);
  EXPECT_EQ(c->splits.validation, d.splits.validation);
  EXPECT_EQ(c->splits.holdout, d.splits.holdout);
  EXPECT_EQ(c->benchmark, d.benchmark);
  EXPECT_EQ(c->bootstrap_reps, d.bootstrap_reps);
  EXPECT_EQ(c->block, d.block);
  EXPECT_EQ(c->seed, d.seed);
  EXPECT_EQ(c->effective_trials, d.effective_trials);
  EXPECT_EQ(c->pbo_blocks, d.pbo_blocks);
  EXPECT_EQ(c->spa_mode, d.spa_mode);
  EXPECT_EQ(c->overlap_scale, d.overlap_scale);
  EXPECT_EQ(c->overlap_top, d.overlap_top);
  const Threshold GatesConfig::*gates[] = {&GatesConfig::dsr,         &GatesConfig::spa,
                                           &GatesConfig::stepm,       &GatesConfig::pbo,
                                           &GatesConfig::oos_ir,      &GatesConfig::overlap,
                                           &GatesConfig::consistency, &GatesConfig::rerun,
                                           &GatesConfig::min_trades,  &GatesConfig::min_trl};
  for (const auto g : gates) {
    EXPECT_EQ(((*c).*g).enabled, (d.*g).enabled);
    EXPECT_EQ(((*c).*g).value, (d.*g).value);
  }
}

TEST(GatesConfig, OverridesKeepTheRest) {
  auto c = ParseGatesConfig(R"(candidates: 3
splits: {validation: 2019-01-01, holdout: '2021-06-30'}
benchmark: cash
bootstrap: {reps: 500, block: 7.5}
gates:
  dsr: {min: 0.9}
  spa: {enabled: false, mode: arch_compat}
  pbo: {blocks: 8}
  overlap: {scale: 0.25}
)",
                            "run.yaml");
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(c->candidates, 3u);
  EXPECT_EQ(c->splits.validation_start, DateTimestamp(2019, 1, 1));
  EXPECT_EQ(c->splits.holdout_start, DateTimestamp(2021, 6, 30));
  EXPECT_EQ(c->benchmark, "cash");
  EXPECT_EQ(c->bootstrap_reps, 500u);
  EXPECT_EQ(c->block, 7.5);
  EXPECT_EQ(c->seed, 42u);
  EXPECT_EQ(c->dsr.value, 0.9);
  EXPECT_FALSE(c->spa.enabled);
  EXPECT_EQ(c->spa.value, 0.05);
  EXPECT_EQ(c->spa_mode, "arch_compat");
  EXPECT_TRUE(c->pbo.enabled);
  EXPECT_EQ(c->pbo.value, 0.5);
  EXPECT_EQ(c->pbo_blocks, 8u);
  EXPECT_EQ(c->overlap_scale, 0.25);
  EXPECT_EQ(c->overlap.value, 0.7);
  EXPECT_TRUE(ParseGatesConfig("", "empty.yaml").ok());
}

TEST(GatesConfig, ErrorsNameTheLineAndWhatWasExpected) {
  auto expect = [](const char* text, const char* message) {
    auto c = ParseGatesConfig(text, "g.yaml");
    ASSERT_FALSE(c.ok()) << text;
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(c.status().message().find(message), std::string::npos) << c.status().message();
  };
  expect("objectiv: sharpe\n", "g.yaml:1:1: unknown key 'objectiv' in the gates file");
  expect("gates:\n  dsr: {min: 1.5}\n", "g.yaml:2:14: gates.dsr.min must be in [0, 1]");
  expect("gates:\n  pbo: {blocks: 5}\n", "g.yaml:2:17: gates.pbo.blocks must be even");
  expect("splits: {train: 0.5, validation: 0.2, holdout: 0.2}\n", "splits must sum to 1");
  expect("splits: {validation: 2021-01-01, holdout: 2020-01-01}\n",
         "splits.holdout must start after splits.validation");
  expect("benchmark: spy\n", "benchmark must be equal_weight or cash, got 'spy'");
  expect("gates:\n  spa: {mode: white}\n",
         "g.yaml:2:15: gates.spa.mode must be hansen2005 or arch_compat");
  expect("bootstrap: {reps: 10}\n", "bootstrap.reps must be a whole number >= 100");
  expect("candidates: [1\n", "g.yaml:");
  EXPECT_EQ(LoadGatesConfig("/nonexistent/gates.yaml").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace qraft::gates
