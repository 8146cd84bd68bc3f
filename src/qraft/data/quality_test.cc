#include "qraft/data/quality.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

namespace qraft::data {
namespace {

constexpr double N = std::numeric_limits<double>::quiet_NaN();

// One symbol, `rows` daily bars, fields given as columns.
Panel OneSymbol(const std::vector<std::pair<std::string, std::vector<double>>>& fields) {
  std::vector<Timestamp> times;
  for (std::size_t i = 0; i < fields[0].second.size(); ++i) {
    times.push_back(DateTimestamp(2020, 1, 1) + static_cast<Timestamp>(i) * kNanosPerDay);
  }
  PanelBuilder b(Calendar(times), {"AAA"});
  for (const auto& [name, values] : fields) {
    auto dst = b.AddField(name);
    std::copy(values.begin(), values.end(), dst.begin());
  }
  return std::move(b).Build();
}

std::map<std::string, QualityIssue> ByCheck(const QualityReport& r) {
  std::map<std::string, QualityIssue> m;
  for (const auto& i : r.issues) {
    std::string key = i.check;
    if (!i.field.empty()) key.append(":").append(i.field);
    m[key] = i;
  }
  return m;
}

QualityOptions Lenient() {
  QualityOptions o;
  o.min_history = 1;
  return o;
}

TEST(QualityTest, CleanDataHasNoFindings) {
  Panel p = OneSymbol({{"open", {10, 11, 12, 11}},
                       {"high", {11, 12, 13, 12}},
                       {"low", {9, 10, 11, 10}},
                       {"close", {10.5, 11.5, 12.5, 11}},
                       {"volume", {100, 200, 300, 400}}});
  QualityReport r = CheckPanel(p, Lenient(), true);
  EXPECT_TRUE(r.issues.empty()) << r.ToText(true);
}

TEST(QualityTest, EachCheckFiresWithCountAndFirstTime) {
  Panel p = OneSymbol({
      {"open", {10, 11, N, 10, 10, 10, 10, 10, 10, 30}},
      {"high", {11, 10, 12, 11, 11, 11, 11, 11, 11, 31}},  // bar 1: high below open
      {"low", {9, 10, 11, 9, 9, 9, 9, 9, 9, 29}},
      {"close",
       {10, 10.5, 11, 10, 10, 10, 10, 10, 10, 30}},  // bars 3..8: six equal closes -> stale
      {"volume", {100, -5, 0, N, 1, 1, 1, 1, 1, 1}},
  });
  QualityReport r = CheckPanel(p, Lenient(), true);
  auto m = ByCheck(r);
  ASSERT_TRUE(m.count("ohlc_inconsistent"));
  EXPECT_EQ(m["ohlc_inconsistent"].count, 1u);
  EXPECT_EQ(m["ohlc_inconsistent"].first, DateTimestamp(2020, 1, 2));
  ASSERT_TRUE(m.count("missing_values:open"));
  EXPECT_EQ(m["missing_values:open"].severity, Severity::kWarning);
  EXPECT_EQ(m["missing_values:volume"].severity, Severity::kInfo);
  EXPECT_EQ(m["negative_volume"].severity, Severity::kError);
  EXPECT_EQ(m["negative_volume"].message,
            "AAA: 1 bar(s) with negative volume (e.g. -5) (first 2020-01-02)");
  EXPECT_EQ(m["zero_volume"].count, 1u);
  EXPECT_EQ(m["stale_price"].count, 1u);
  EXPECT_EQ(m["stale_price"].first,
            DateTimestamp(2020, 1, 4));      // the first of the six equal closes
  EXPECT_EQ(m["outlier_return"].count, 1u);  // 10 -> 30
  EXPECT_EQ(m["outlier_return"].first, DateTimestamp(2020, 1, 10));
  EXPECT_TRUE(r.Failed(false));  // negative volume is an error
}

TEST(QualityTest, GapsNonPositiveShortHistoryAndSplitMismatch) {
  Panel p = OneSymbol({{"close", {N, 10, N, N, 0, 10.2, 10.1, 10, 10.1, 10.2}}});
  QualityOptions o;
  o.min_history = 20;
  auto m = ByCheck(CheckPanel(p, o, true));
  EXPECT_EQ(m["calendar_gap"].count, 2u);  // inside the listed range only
  EXPECT_EQ(m["calendar_gap"].severity, Severity::kInfo);
  EXPECT_EQ(m["non_positive_price"].count, 1u);
  EXPECT_EQ(m["short_history"].message, "AAA: only 7 bar(s) of data (fewer than 20)");

  // A 7:1 split whose prices were already divided: the price does not jump.
  Panel adj = OneSymbol({{"close", {92.2, 93.7, 94.25}}, {"split", {1, 7, 1}}});
  auto a = ByCheck(CheckPanel(adj, Lenient(), true));
  ASSERT_TRUE(a.count("split_mismatch"));
  EXPECT_EQ(a["split_mismatch"].first, DateTimestamp(2020, 1, 2));
  // The same split on raw prices is consistent.
  Panel raw = OneSymbol({{"close", {645.57, 93.7, 94.25}}, {"split", {1, 7, 1}}});
  EXPECT_FALSE(ByCheck(CheckPanel(raw, Lenient(), true)).count("split_mismatch"));
}

TEST(QualityTest, LargeAndOutlierReturnsAgainstTheirThresholds) {
  // Closes that move +-0.25% a day (scaled MAD about 0.74%), then one jump.
  auto closes = [](double jump) {
    std::vector<double> c;
    for (int i = 0; i < 20; ++i)
      c.push_back(i % 2 == 0 ? 100.0 : 100.25);
    c.push_back(c.back() * (1 + jump));
    return c;
  };
  // 20%: over min_outlier_return and about 27 MADs from the median: info.
  auto m = ByCheck(CheckPanel(OneSymbol({{"close", closes(0.2)}}), Lenient(), true));
  ASSERT_TRUE(m.count("large_return"));
  EXPECT_EQ(m["large_return"].severity, Severity::kInfo);
  EXPECT_EQ(m["large_return"].first, DateTimestamp(2020, 1, 21));
  EXPECT_FALSE(m.count("outlier_return"));
  // 12%: many MADs away but under min_outlier_return: nothing.
  EXPECT_TRUE(CheckPanel(OneSymbol({{"close", closes(0.12)}}), Lenient(), true).issues.empty());
  // The same 12% with max_abs_return below it is an outlier, whatever min_outlier_return says.
  QualityOptions o = Lenient();
  o.max_abs_return = 0.1;
  m = ByCheck(CheckPanel(OneSymbol({{"close", closes(0.12)}}), o, true));
  ASSERT_TRUE(m.count("outlier_return"));
  EXPECT_EQ(m["outlier_return"].severity, Severity::kWarning);
  EXPECT_EQ(m["outlier_return"].first, DateTimestamp(2020, 1, 21));
}

TEST(QualityTest, StrictTurnsWarningsIntoFailureAndJsonCounts) {
  Panel p = OneSymbol({{"close", {1, 1.01, 1.02}}});
  QualityReport r = CheckPanel(p, QualityOptions(), true);  // short history warning
  EXPECT_FALSE(r.Failed(false));
  EXPECT_TRUE(r.Failed(true));
  auto j = r.ToJson(true);
  EXPECT_EQ(j["warnings"], 1);
  EXPECT_EQ(j["by_check"]["short_history"]["count"], 1);
}

TEST(QualityTest, DeterministicOrderAcrossSymbols) {
  std::vector<std::string> syms;
  for (int i = 0; i < 100; ++i)
    syms.push_back("S" + std::to_string(1000 + i));
  PanelBuilder b(Calendar({1, 2, 3}), syms);
  auto c = b.AddField("close");
  for (std::size_t i = 0; i < c.size(); ++i)
    c[i] = (i % 3 == 1) ? -1 : 1;
  Panel p = std::move(b).Build();
  QualityReport a = CheckPanel(p, QualityOptions(), true),
                z = CheckPanel(p, QualityOptions(), true);
  a.Sort();
  z.Sort();
  EXPECT_EQ(a.ToJson(true).dump(), z.ToJson(true).dump());
  EXPECT_EQ(a.issues.front().check, "non_positive_price");
}

}  // namespace
}  // namespace qraft::data
