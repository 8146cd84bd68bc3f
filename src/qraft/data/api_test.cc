#include "qraft/data/api.h"

#include <gtest/gtest.h>

#include <cmath>

#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

// Two symbols, four days; AAA has a 2:1 split on day 3 (factor 1,1,2,2).
std::string Publish(SnapshotStore& store) {
  PanelBuilder b(Calendar({DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3),
                           DateTimestamp(2014, 1, 6), DateTimestamp(2014, 1, 7)}),
                 {"AAA", "BBB"});
  const double close[] = {100, 102, 51, 52, 10, 11, 12, 13};
  const double volume[] = {1, 1, 2, 2, 5, 5, 5, 5};
  const double factor[] = {1, 1, 2, 2, 1, 1, 1, 1};
  std::copy(std::begin(close), std::end(close), b.AddField("close").begin());
  std::copy(std::begin(volume), std::end(volume), b.AddField("volume").begin());
  std::copy(std::begin(factor), std::end(factor), b.AddField("factor").begin());
  SnapshotContent c;
  c.market = "us_stock";
  c.panel = std::move(b).Build();
  c.instruments = DeriveInstruments(c.panel);
  return *store.Publish(c, NullProgress());
}

TEST(ApiTest, WholeSnapshotIsZeroCopy) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  const std::string id = Publish(*store);
  auto snap = store->Open(id);
  DataRequest req;
  req.snapshot = id;
  auto p = GetData(*store, req);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->num_fields(), 3u);
  EXPECT_EQ(p->at(0, 1, 3), 13);
}

TEST(ApiTest, SymbolsRangeFieldsAndAdjustment) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  Publish(*store);
  const std::string syms[] = {"AAA"};
  const std::string fields[] = {"close", "volume"};
  // The market's latest snapshot, days 2..3, forward-adjusted: normalised by the *last* factor of
  // the whole history (2), so 2014-01-03 becomes 102 * 1/2 = 51.
  auto p = GetData(*store, "us_stock", syms, DateTimestamp(2014, 1, 3), DateTimestamp(2014, 1, 6),
                   fields, Adjust::kForward);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->symbols().names(), std::vector<std::string>{"AAA"});
  EXPECT_EQ(p->field_names(), (std::vector<std::string>{"close", "volume"}));
  ASSERT_EQ(p->num_times(), 2u);
  EXPECT_DOUBLE_EQ(p->at(0, 0, 0), 51);
  EXPECT_DOUBLE_EQ(p->at(0, 0, 1), 51);
  EXPECT_DOUBLE_EQ(p->at(1, 0, 0), 2);  // volume doubles as the price halves
  auto b = GetData(*store, "us_stock", syms, kNoTimestamp, kNoTimestamp, fields, Adjust::kBackward);
  ASSERT_TRUE(b.ok());
  EXPECT_DOUBLE_EQ(b->at(0, 0, 3), 104);
}

TEST(ApiTest, ErrorsNameWhatIsMissing) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  Publish(*store);
  const std::string bad_sym[] = {"ZZZ"};
  const std::string bad_field[] = {"vwap"};
  const std::string ok_field[] = {"close"};
  auto a =
      GetData(*store, "us_stock", bad_sym, kNoTimestamp, kNoTimestamp, ok_field, Adjust::kNone);
  EXPECT_EQ(a.status().message(), "symbol 'ZZZ' is not in this panel");
  auto b = GetData(*store, "us_stock", {}, kNoTimestamp, kNoTimestamp, bad_field, Adjust::kNone);
  EXPECT_EQ(b.status().code(), StatusCode::kNotFound);
  EXPECT_NE(b.status().message().find("field 'vwap' is not in snapshot"), std::string::npos);
  auto c = GetData(*store, "cn_stock", {}, kNoTimestamp, kNoTimestamp, ok_field, Adjust::kNone);
  EXPECT_EQ(c.status().code(), StatusCode::kNotFound);
}

TEST(ApiTest, CheckSnapshotVerifiesAndReports) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  const std::string id = Publish(*store);
  auto r = CheckSnapshot(*store, id, QualityOptions());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->Count(Severity::kError), 0u);
  EXPECT_GE(r->Count(Severity::kWarning),
            1u);  // AAA's unadjusted split jump (102 -> 51), short history
}

}  // namespace
}  // namespace qraft::data
