#include "qraft/data/adjust.h"

#include <gtest/gtest.h>

#include <cmath>

namespace qraft::data {
namespace {

constexpr double N = std::numeric_limits<double>::quiet_NaN();

Panel Make(std::vector<std::pair<std::string, std::vector<double>>> fields) {
  std::vector<Timestamp> times;
  for (std::size_t i = 0; i < fields[0].second.size(); ++i)
    times.push_back(static_cast<Timestamp>(i + 1) * kNanosPerDay);
  PanelBuilder b(Calendar(times), {"AAA"});
  for (auto& [name, v] : fields)
    std::copy(v.begin(), v.end(), b.AddField(name).begin());
  return std::move(b).Build();
}

TEST(AdjustTest, SplitAndDividendFactorPrevClose) {
  // Day 2: 2:1 split. Day 3: dividend 1 with previous close 50 -> ratio 0.98.
  Panel p = Make({{"close", {100, 50, 49, 49.5}},
                  {"volume", {10, 20, 20, 20}},
                  {"split", {1, 2, 1, 1}},
                  {"dividend", {0, 0, 1, 0}}});
  std::string note;
  auto r = AddAdjustmentFactor(p, DividendMethod::kPrevClose, &note);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const std::size_t f = *r->FindField("factor");
  EXPECT_DOUBLE_EQ(r->at(f, 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(r->at(f, 0, 1), 2.0);
  EXPECT_DOUBLE_EQ(r->at(f, 0, 2), 2.0 / 0.98);
  EXPECT_DOUBLE_EQ(r->at(f, 0, 3), 2.0 / 0.98);
  EXPECT_EQ(note, "factor from split and dividend (dividend method prev_close)");

  auto fwd = ApplyAdjustment(*r, Adjust::kForward);
  ASSERT_TRUE(fwd.ok());
  const std::size_t c = *fwd->FindField("close"), v = *fwd->FindField("volume");
  EXPECT_DOUBLE_EQ(fwd->at(c, 0, 3), 49.5);            // latest price is real
  EXPECT_DOUBLE_EQ(fwd->at(c, 0, 0), 100 * 0.98 / 2);  // earlier prices scaled by later events
  EXPECT_DOUBLE_EQ(fwd->at(c, 0, 2), 49.0);
  EXPECT_DOUBLE_EQ(fwd->at(v, 0, 0), 10 / (0.98 / 2));  // volume inversely
  auto bwd = ApplyAdjustment(*r, Adjust::kBackward);
  ASSERT_TRUE(bwd.ok());
  EXPECT_DOUBLE_EQ(bwd->at(c, 0, 0), 100.0);  // first price is real
  EXPECT_DOUBLE_EQ(bwd->at(c, 0, 1), 100.0);  // the split is invisible
  EXPECT_DOUBLE_EQ(bwd->at(c, 0, 3), 49.5 * 2 / 0.98);
  // Unadjusted fields are shared, not copied.
  EXPECT_EQ(bwd->field(*bwd->FindField("split")).data(), r->field(*r->FindField("split")).data());
}

TEST(AdjustTest, ExCloseMethodMatchesQuandlConvention) {
  Panel p = Make({{"close", {100, 98}}, {"dividend", {0, 2}}});
  auto r = AddAdjustmentFactor(p, DividendMethod::kExClose, nullptr);
  ASSERT_TRUE(r.ok());
  auto fwd = ApplyAdjustment(*r, Adjust::kForward);
  EXPECT_DOUBLE_EQ(fwd->at(*fwd->FindField("close"), 0, 0), 100 * 98.0 / 100.0);
}

TEST(AdjustTest, FactorFromAdjClose) {
  Panel p = Make({{"close", {10, 20}}, {"adj_close", {5, 20}}});
  auto r = AddAdjustmentFactor(p, DividendMethod::kPrevClose, nullptr);
  ASSERT_TRUE(r.ok());
  EXPECT_DOUBLE_EQ(r->at(*r->FindField("factor"), 0, 0), 0.5);
  auto fwd = ApplyAdjustment(*r, Adjust::kForward);
  EXPECT_DOUBLE_EQ(fwd->at(*fwd->FindField("close"), 0, 0), 5.0);
}

TEST(AdjustTest, MissingBarsKeepNaNAndFactorCarriesOver) {
  Panel p = Make({{"close", {10, N, 5}}, {"split", {1, 2, N}}});  // split on a day without a bar
  auto r = AddAdjustmentFactor(p, DividendMethod::kPrevClose, nullptr);
  ASSERT_TRUE(r.ok());
  const std::size_t f = *r->FindField("factor");
  EXPECT_TRUE(std::isnan(r->at(f, 0, 1)));
  EXPECT_DOUBLE_EQ(r->at(f, 0, 2), 2.0);
  auto fwd = ApplyAdjustment(*r, Adjust::kForward);
  EXPECT_DOUBLE_EQ(fwd->at(*fwd->FindField("close"), 0, 0), 5.0);
  EXPECT_TRUE(std::isnan(fwd->at(*fwd->FindField("close"), 0, 1)));
}

TEST(AdjustTest, BadActionsAreErrors) {
  auto r = AddAdjustmentFactor(Make({{"close", {10, 9}}, {"dividend", {0, 12}}}),
                               DividendMethod::kPrevClose, nullptr);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().message(), "AAA at 1970-01-03: dividend 12 is not below the close 10");
  auto s = AddAdjustmentFactor(Make({{"close", {10, 9}}, {"split", {1, -2}}}),
                               DividendMethod::kPrevClose, nullptr);
  EXPECT_EQ(s.status().message(), "AAA at 1970-01-03: split ratio -2 is negative");
  auto none = ApplyAdjustment(Make({{"close", {1}}}), Adjust::kForward);
  EXPECT_EQ(none.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(ApplyAdjustment(Make({{"close", {1}}}), Adjust::kNone).ok());
}

TEST(AdjustTest, ParseNames) {
  EXPECT_EQ(*ParseAdjust("qfq"), Adjust::kForward);
  EXPECT_EQ(*ParseAdjust("hfq"), Adjust::kBackward);
  EXPECT_EQ(*ParseAdjust("raw"), Adjust::kNone);
  EXPECT_FALSE(ParseAdjust("sideways").ok());
}

}  // namespace
}  // namespace qraft::data
