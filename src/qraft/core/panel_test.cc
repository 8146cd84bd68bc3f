#include "qraft/core/panel.h"

#include <gtest/gtest.h>

#include <cmath>

namespace qraft {
namespace {

Panel TwoByThree() {
  PanelBuilder b(Calendar({10, 20, 30}), {"AAA", "BBB"});
  auto close = b.AddField("close");
  for (std::size_t i = 0; i < close.size(); ++i)
    close[i] = static_cast<double>(i);
  auto vol = b.AddField("volume");
  vol[4] = 7.0;
  return std::move(b).Build();
}

TEST(PanelTest, LayoutIsSymbolMajor) {
  Panel p = TwoByThree();
  EXPECT_EQ(p.num_symbols(), 2u);
  EXPECT_EQ(p.num_times(), 3u);
  EXPECT_EQ(p.num_fields(), 2u);
  const std::size_t close = *p.FindField("close");
  EXPECT_EQ(p.series(close, 1)[0], 3.0);
  EXPECT_EQ(p.at(close, 1, 2), 5.0);
  const std::size_t vol = *p.FindField("volume");
  EXPECT_TRUE(std::isnan(p.at(vol, 0, 0)));  // fields start as NaN, never zero
  EXPECT_EQ(p.at(vol, 1, 1), 7.0);
  EXPECT_EQ(*p.symbols().Find("BBB"), 1u);
  EXPECT_FALSE(p.symbols().Find("CCC").has_value());
}

TEST(PanelTest, BarsExistWhereAnyFieldHasAValue) {
  PanelBuilder b(Calendar({10, 20, 30, 40}), {"AAA", "BBB", "CCC"});
  auto close = b.AddField("close");
  auto vol = b.AddField("volume");
  close[1] = 1;      // AAA: close at 20 ...
  vol[3] = 5;        // ... and only volume at 40
  close[4 + 2] = 2;  // BBB: one bar at 30
  Panel p = std::move(b).Build();
  EXPECT_FALSE(p.HasBar(0, 0));
  EXPECT_TRUE(p.HasBar(0, 1));
  EXPECT_FALSE(p.HasBar(0, 2));
  EXPECT_TRUE(p.HasBar(0, 3));
  EXPECT_EQ(p.BarSpan(0), (std::pair<std::size_t, std::size_t>{1, 3}));
  EXPECT_EQ(p.BarSpan(1), (std::pair<std::size_t, std::size_t>{2, 2}));
  EXPECT_FALSE(p.BarSpan(2).has_value());
}

TEST(PanelTest, SelectFieldsSharesStorage) {
  Panel p = TwoByThree();
  const std::string want[] = {"volume"};
  auto sel = p.SelectFields(want);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->num_fields(), 1u);
  EXPECT_EQ(sel->field(0).data(), p.field(*p.FindField("volume")).data());
  const std::string missing[] = {"vwap"};
  EXPECT_EQ(p.SelectFields(missing).status().code(), StatusCode::kNotFound);
}

TEST(PanelTest, SelectSymbolsAndRangeCopies) {
  Panel p = TwoByThree();
  const std::string syms[] = {"BBB"};
  auto sel = p.Select(syms, 20, kNoTimestamp);
  ASSERT_TRUE(sel.ok());
  EXPECT_EQ(sel->num_symbols(), 1u);
  ASSERT_EQ(sel->num_times(), 2u);
  EXPECT_EQ(sel->calendar()[0], 20);
  EXPECT_EQ(sel->at(0, 0, 0), 4.0);
  EXPECT_EQ(sel->at(0, 0, 1), 5.0);
  EXPECT_EQ(sel->at(1, 0, 0), 7.0);
  const std::string bad[] = {"ZZZ"};
  EXPECT_FALSE(p.Select(bad, kNoTimestamp, kNoTimestamp).ok());
}

TEST(PanelTest, PanelOutlivesBuilderAndCopiesShare) {
  Panel copy;
  {
    Panel p = TwoByThree();
    copy = p;
  }
  EXPECT_EQ(copy.at(0, 1, 2), 5.0);
}

}  // namespace
}  // namespace qraft
