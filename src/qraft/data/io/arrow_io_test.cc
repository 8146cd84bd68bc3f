#include "qraft/data/io/arrow_io.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>

#include "qraft/core/parallel.h"
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

std::string FileBytes(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  return {std::istreambuf_iterator<char>(in), std::istreambuf_iterator<char>()};
}

TEST(ArrowIoTest, BarsParquetSkipsEmptySymbolsAndIsIndependentOfThreads) {
  // CCC has no bar at all: no rows, but the file is still complete and readable.
  PanelBuilder b(Calendar({DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3)}),
                 {"AAA", "BBB", "CCC"});
  for (const char* f : {"open", "high", "low", "close", "volume"}) {
    auto x = b.AddField(f);
    const double v[] = {1, 2, 3, N, N, N};
    std::copy(std::begin(v), std::end(v), x.begin());
  }
  const Panel p = std::move(b).Build();
  testing::TempDir dir;
  // Columns are built and encoded in parallel unless one thread is allowed: the same bytes.
  {
    ThreadLimit one(1);
    ASSERT_TRUE(WriteBarsParquet(p, true, dir / "one.parquet", {}).ok());
  }
  ASSERT_TRUE(WriteBarsParquet(p, true, dir / "all.parquet", {}).ok());
  EXPECT_EQ(FileBytes(dir / "one.parquet"), FileBytes(dir / "all.parquet"));
  auto t = ReadColumnarFile(dir / "one.parquet", {}, TimeLabeler(true, TimeZone()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->rows(), 3u);  // AAA's two bars and BBB's first
  EXPECT_EQ(t->symbols, (std::vector<std::string>{"AAA", "BBB"}));
  EXPECT_EQ(t->fields[3][2], 3.0);

  // No bar at all: a valid file of no rows.
  PanelBuilder nb(Calendar({DateTimestamp(2014, 1, 2)}), {"CCC"});
  nb.AddField("close")[0] = N;
  ASSERT_TRUE(WriteBarsParquet(std::move(nb).Build(), true, dir / "none.parquet", {}).ok());
  auto none = ReadColumnarFile(dir / "none.parquet", {}, TimeLabeler(true, TimeZone()));
  ASSERT_FALSE(none.ok());  // readable, but a file of no rows is not data to ingest
  EXPECT_NE(none.status().message().find("none.parquet: no rows"), std::string::npos)
      << none.status().ToString();
}

TEST(ArrowIoTest, TableParquetReadsBackWithTypesAndNulls) {
  testing::TempDir dir;
  const std::vector<TableColumn> columns = {
      {"date", std::vector<std::string>{"2014-01-02", "2014-01-03", "2014-01-06"}},
      {"symbol", std::vector<std::string>{"AAA", "AAA", "BBB"}},
      {"close", std::vector<double>{1.5, N, -2.25}},
      {"trades", std::vector<std::int64_t>{3, 0, -7}}};
  ASSERT_TRUE(WriteTableParquet(columns, dir / "t.parquet", {{"k", "v"}}).ok());
  auto t = ReadColumnarFile(dir / "t.parquet", {}, TimeLabeler(true, TimeZone()));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 3u);
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"close", "trades"}));
  EXPECT_EQ(t->time[2], DateTimestamp(2014, 1, 6));
  EXPECT_EQ(t->fields[0][0], 1.5);
  EXPECT_TRUE(std::isnan(t->fields[0][1]));  // NaN was written as null
  EXPECT_EQ(t->fields[0][2], -2.25);
  EXPECT_EQ(t->fields[1][2], -7.0);
}

TEST(ArrowIoTest, TableParquetRejectsRaggedAndDuplicateColumns) {
  testing::TempDir dir;
  const std::vector<TableColumn> ragged = {{"a", std::vector<double>{1, 2}},
                                           {"b", std::vector<std::int64_t>{1}}};
  Status st = WriteTableParquet(ragged, dir / "r.parquet");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_NE(st.message().find("column 'b' has 1 rows"), std::string::npos) << st.ToString();
  const std::vector<TableColumn> twice = {{"a", std::vector<double>{1}},
                                          {"a", std::vector<double>{2}}};
  st = WriteTableParquet(twice, dir / "d.parquet");
  EXPECT_NE(st.message().find("duplicate column name 'a'"), std::string::npos) << st.ToString();
  // No columns at all is an empty file, not an error.
  EXPECT_TRUE(WriteTableParquet({}, dir / "e.parquet").ok());
}

}  // namespace
}  // namespace qraft::data::io
