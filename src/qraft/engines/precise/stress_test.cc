#include "qraft/engines/precise/stress.h"

#include <gtest/gtest.h>

#include <cmath>

#include "qraft/data/synth.h"

namespace qraft::precise {
namespace {

TEST(Stress, EveryScenarioRunsAndAccountsForEveryOrder) {
  data::SynthOptions so;
  so.symbols = 6;
  so.bars = 300;
  so.seed = 8;
  so.suspensions_per_year = 0;
  so.late_listing = 0;
  so.delisting = 0;
  const auto content = data::Synthesize(so);
  ASSERT_TRUE(content.ok());
  const Panel& data = content->panel;
  const auto spec = strategy::ParseStrategy(R"(version: 1
signals:
  long: Mean(close, 2) > Mean(close, 5)
  exit: Mean(close, 2) < Mean(close, 5)
costs: {fee_bps: 5}
)",
                                            "s.yaml");
  ASSERT_TRUE(spec.ok());
  const strategy::ParamValues none;
  const std::size_t T = data.num_times(), from = T / 2;
  for (const std::string& scenario : StressScenarios()) {
    SCOPED_TRACE(scenario);
    StressOptions o{.scenario = scenario};
    const auto r = RunStress(*spec, data, none, o);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->filled + r->cancelled + r->rejected + r->working, r->stressed.result.orders);
    EXPECT_EQ(r->from, data.calendar()[from]);
    const Timestamp end = data.calendar()[from + r->bars - 1] + kNanosPerDay;
    auto fills_in_window = [&](Side side, auto&& symbol_filter) {
      int n = 0;
      for (const Fill& f : r->stressed.fill_log) {
        n += f.side == side && f.time >= r->from && f.time < end &&
             symbol_filter(static_cast<std::size_t>(f.instrument));
      }
      return n;
    };
    auto any = [](std::size_t) { return true; };
    if (scenario == "gap_crash") {
      const auto injected = InjectStress(data, o);
      ASSERT_TRUE(injected.ok());
      const std::size_t c = *data.FindField("open");
      EXPECT_DOUBLE_EQ(injected->field(c)[from], data.field(c)[from] * 0.8);
      EXPECT_LT(r->stressed.result.final_value, r->baseline.result.final_value);
    } else if (scenario == "limit_lock") {
      EXPECT_EQ(fills_in_window(Side::kSell, any), 0);
    } else if (scenario == "data_outage") {
      EXPECT_EQ(fills_in_window(Side::kSell, any) + fills_in_window(Side::kBuy, any), 0);
    } else if (scenario == "suspension") {
      auto even = [](std::size_t s) { return s % 2 == 0; };
      EXPECT_EQ(fills_in_window(Side::kSell, even) + fills_in_window(Side::kBuy, even), 0);
    } else if (scenario == "reject_burst") {
      // Every order arriving in the window is refused (orders that arrived before it still
      // fill inside it).
      int exchange = 0, arrived = 0;
      for (const Order& ord : r->stressed.orders) {
        exchange += ord.reject == RejectReason::kExchange;
        arrived += ord.arrived >= r->from && ord.arrived < data.calendar()[from + r->bars];
      }
      EXPECT_GT(exchange, 0);
      EXPECT_EQ(exchange, arrived);
    } else if (scenario == "liquidity_drought") {
      EXPECT_NE(r->stressed.result.final_value, r->baseline.result.final_value);
    }
  }
  EXPECT_FALSE(RunStress(*spec, data, none, StressOptions{.scenario = "meteor"}).ok());
  EXPECT_FALSE(
      RunStress(*spec, data, none, StressOptions{.scenario = "gap_crash", .from = T}).ok());
}

}  // namespace
}  // namespace qraft::precise
