#include "qraft/data/io/arrow_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>

#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

constexpr double N = std::numeric_limits<double>::quiet_NaN();

Panel Sample(bool intraday = false) {
  const Timestamp t0 = intraday
                           ? DateTimestamp(2021, 1, 4) + 14 * kNanosPerHour + 30 * kNanosPerMinute
                           : DateTimestamp(2014, 1, 2);
  const Timestamp step = intraday ? kNanosPerMinute : kNanosPerDay;
  PanelBuilder b(Calendar({t0, t0 + step, t0 + 2 * step}), {"AAA", "BBB"});
  auto c = b.AddField("close");
  const double cv[] = {1.5, N, 2.5, N, 3.25, 4.0};
  std::copy(std::begin(cv), std::end(cv), c.begin());
  auto v = b.AddField("volume");
  const double vv[] = {10, N, 20, N, 30, 40};
  std::copy(std::begin(vv), std::end(vv), v.begin());
  return std::move(b).Build();
}

void ExpectSamePanel(const Panel& a, const Panel& b) {
  ASSERT_EQ(a.calendar(), b.calendar());
  ASSERT_EQ(a.symbols().names(), b.symbols().names());
  ASSERT_EQ(a.field_names(), b.field_names());
  for (std::size_t f = 0; f < a.num_fields(); ++f) {
    for (std::size_t i = 0; i < a.cells(); ++i) {
      const double x = a.field(f)[i], y = b.field(f)[i];
      ASSERT_TRUE((std::isnan(x) && std::isnan(y)) || x == y) << f << " " << i;
    }
  }
}

TEST(ArrowIoTest, PanelFileRoundTripsZeroCopy) {
  testing::TempDir dir;
  Panel p = Sample();
  ASSERT_TRUE(WritePanelArrow(p, dir / "panel.arrow", {{"k", "v"}}).ok());
  auto r = ReadPanelArrow(dir / "panel.arrow");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSamePanel(p, *r);
  // The Arrow IPC format aligns buffers to 8 bytes in the file, so doubles can be read in place.
  EXPECT_EQ(reinterpret_cast<std::uintptr_t>(r->field(0).data()) % alignof(double), 0u);
}

TEST(ArrowIoTest, EmptyPanelRoundTrips) {
  testing::TempDir dir;
  PanelBuilder b(Calendar(), {});
  b.AddField("close");
  ASSERT_TRUE(WritePanelArrow(std::move(b).Build(), dir / "p.arrow", {}).ok());
  auto r = ReadPanelArrow(dir / "p.arrow");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->num_symbols(), 0u);
}

TEST(ArrowIoTest, NotAPanelFileIsAClearError) {
  testing::TempDir dir;
  auto r = ReadPanelArrow(dir.Write("junk.arrow", "not arrow at all"));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("junk.arrow"), std::string::npos);
}

TEST(ArrowIoTest, BarsParquetReadsBackAsTheSamePanel) {
  for (bool intraday : {false, true}) {
    testing::TempDir dir;
    Panel p = Sample(intraday);
    ASSERT_TRUE(WriteBarsParquet(p, !intraday, dir / "bars.parquet", {}).ok());
    auto t = ReadColumnarFile(dir / "bars.parquet", {}, TimeLabeler(!intraday, TimeZone()));
    ASSERT_TRUE(t.ok()) << t.status().ToString();
    // AAA spans bars 0..2 (bar 1 all-NaN inside), BBB spans 1..2: 5 rows, nulls read as NaN.
    EXPECT_EQ(t->rows(), 5u);
    EXPECT_EQ(t->field_names, (std::vector<std::string>{"close", "volume"}));
    EXPECT_TRUE(t->row_numbers);
    EXPECT_EQ(t->time[0], p.calendar()[0]);
    EXPECT_TRUE(std::isnan(t->fields[0][1]));
    EXPECT_EQ(t->fields[0][4], 4.0);
  }
}

}  // namespace
}  // namespace qraft::data::io
