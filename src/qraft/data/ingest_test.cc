#include "qraft/data/ingest.h"

#include <gtest/gtest.h>

#include <cmath>
#include <map>

#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

IngestOptions Options(std::vector<fs::path> paths, std::string market = "us_stock") {
  IngestOptions o;
  o.paths = std::move(paths);
  o.market = std::move(market);
  return o;
}

TEST(IngestTest, PerSymbolFilesFromADirectory) {
  TempDir dir;
  dir.Write(
      "in/AAA.csv",
      "date,open,high,low,close,volume\n2014-01-02,1,2,0.5,1.5,10\n2014-01-03,1.5,2,1,1.75,20\n");
  dir.Write("in/sub/BBB.csv", "date,open,high,low,close,volume\n2014-01-03,5,6,4,5.5,7\n");
  dir.Write("in/README.md", "not data");
  auto store = *OpenLocalStore(dir / "store");
  auto r = Ingest(Options({dir / "in"}), store.get(), NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const SnapshotContent& c = r->content;
  EXPECT_EQ(c.panel.symbols().names(), (std::vector<std::string>{"AAA", "BBB"}));
  EXPECT_EQ(c.source_rows, 3u);
  EXPECT_EQ(c.timezone, "America/New_York");
  EXPECT_EQ(c.provenance["sources"].size(), 2u);
  EXPECT_EQ(c.provenance["sources"][0]["rows"], 2);
  EXPECT_EQ(c.provenance["sources"][0]["sha256"].get<std::string>().size(), 64u);
  ASSERT_EQ(c.instruments.size(), 2u);
  EXPECT_EQ(c.instruments[1].start, DateTimestamp(2014, 1, 3));
  // The same files again, from another path: the same id.
  fs::copy(dir / "in", dir / "copy", fs::copy_options::recursive);
  auto again = Ingest(Options({dir / "copy"}), store.get(), NullProgress());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(again->snapshot_id, r->snapshot_id);
}

TEST(IngestTest, StrictAndErrorsPublishNothing) {
  TempDir dir;
  auto store = *OpenLocalStore(dir / "store");
  const fs::path warn =
      dir.Write("w.csv", "date,close\n2014-01-02,1\n2014-01-03,1.01\n");  // short history
  IngestOptions o = Options({warn});
  o.strict = true;
  auto r = Ingest(o, store.get(), NullProgress());
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find(
                "ingest rejected (--strict: warnings are failures); no snapshot was written"),
            std::string::npos);
  EXPECT_NE(r.status().message().find("short_history"), std::string::npos);
  EXPECT_TRUE(store->List()->empty());

  const fs::path neg = dir.Write("n.csv", "date,close,volume\n2014-01-02,1,-3\n");
  auto e = Ingest(Options({neg}), store.get(), NullProgress());
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("negative volume"), std::string::npos);
  EXPECT_TRUE(store->List()->empty());
  EXPECT_TRUE(fs::is_empty(dir / "store" / "tmp"));

  // One bad file among good ones: nothing is published, the bad one is named.
  dir.Write("mix/A.csv", "date,close\n2014-01-02,1\n");
  dir.Write("mix/B.csv", "date,close\n2014-01-02,oops\n");
  auto m = Ingest(Options({dir / "mix"}), store.get(), NullProgress());
  ASSERT_FALSE(m.ok());
  EXPECT_NE(m.status().message().find("B.csv:2: column 'close': expected a number, got 'oops'"),
            std::string::npos);
  EXPECT_TRUE(store->List()->empty());
}

TEST(IngestTest, DryRunWritesNothing) {
  TempDir dir;
  auto r =
      Ingest(Options({dir.Write("a.csv", "date,close\n2014-01-02,1\n")}), nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_TRUE(r->snapshot_id.empty());
  EXPECT_EQ(r->content.panel.num_symbols(), 1u);
  // Source hashes are provenance of a published snapshot: a dry run does not compute them.
  EXPECT_TRUE(r->content.provenance["sources"][0]["sha256"].is_null());
}

TEST(IngestTest, CalendarAndInstrumentsFiles) {
  TempDir dir;
  const fs::path data = dir.Write("a.csv", "date,close\n2014-01-02,1\n2014-01-06,2\n");
  IngestOptions o = Options({data});
  o.calendar_file = dir.Write("cal.txt", "2014-01-02\n2014-01-03\n2014-01-06\n");
  o.instruments_file =
      dir.Write("all.txt", "a\t2013-01-02\t2014-01-06\nGONE\t2010-01-04\t2012-12-31\n");
  auto r = Ingest(o, nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->content.panel.num_times(), 3u);  // 01-03 comes from the calendar: a NaN bar
  EXPECT_TRUE(std::isnan(r->content.panel.at(0, 0, 1)));
  ASSERT_EQ(r->content.instruments.size(), 2u);  // the delisted name is kept
  EXPECT_EQ(r->content.instruments[0].symbol, "GONE");
  for (const QualityIssue& i : r->content.quality.issues) {
    EXPECT_NE(i.check, "outside_listing");
    EXPECT_NE(i.check, "unlisted_symbol");
  }
  // Data outside the listed span, and a symbol the file does not list, are warnings.
  IngestOptions outside =
      Options({data, dir.Write("b2.csv", "date,close,Name\n2014-01-06,5,NEW\n")});
  outside.instruments_file = dir.Write("short.txt", "a\t2014-01-02\t2014-01-03\n");
  auto w = Ingest(outside, nullptr, NullProgress());
  ASSERT_TRUE(w.ok()) << w.status().ToString();
  std::map<std::string, std::size_t> found;
  for (const QualityIssue& i : w->content.quality.issues)
    found[i.check] += i.count;
  EXPECT_EQ(found["outside_listing"], 1u);
  EXPECT_EQ(found["unlisted_symbol"], 1u);

  IngestOptions off = Options({dir.Write("b.csv", "date,close\n2014-01-04,1\n")});
  off.calendar_file = o.calendar_file;
  auto e = Ingest(off, nullptr, NullProgress());
  EXPECT_EQ(e.status().code(), StatusCode::kDataError);
}

TEST(IngestTest, BadOptionsAreInvalidArgument) {
  TempDir dir;
  EXPECT_EQ(Ingest(Options({dir / "nope.csv"}), nullptr, NullProgress()).status().code(),
            StatusCode::kNotFound);
  EXPECT_EQ(Ingest(Options({}), nullptr, NullProgress()).status().code(),
            StatusCode::kInvalidArgument);
  IngestOptions o = Options({dir.Write("a.csv", "date,close\n2014-01-02,1\n")}, "");
  EXPECT_EQ(Ingest(o, nullptr, NullProgress()).status().code(), StatusCode::kInvalidArgument);
  const fs::path qlib =
      fs::path(std::getenv("QRAFT_SOURCE_DIR") ? std::getenv("QRAFT_SOURCE_DIR") : ".") /
      "src/qraft/data/io/testdata/qlib_mock";
  auto two = Ingest(Options({qlib, dir.Write("x.csv", "date,close\n2014-01-02,1\n")}), nullptr,
                    NullProgress());
  EXPECT_EQ(two.status().message(), "a Qlib directory must be ingested on its own");
  EXPECT_TRUE(Ingest(Options({qlib}, "cn_stock"), nullptr, NullProgress()).ok());
  auto empty_dir = dir / "empty";
  fs::create_directories(empty_dir);
  EXPECT_EQ(Ingest(Options({empty_dir}), nullptr, NullProgress()).status().code(),
            StatusCode::kNotFound);
}

TEST(IngestTest, ResampleIntradaySnapshotsToDaily) {
  TempDir dir;
  const fs::path f =
      dir.Write("CORN.csv",
                "DATETIME,PRICE\n2014-12-19 17:32:41,432.125\n2014-12-19 23:00:00,435.25\n"
                "2014-12-22 14:42:33,434.375\n");
  IngestOptions o = Options({f}, "futures");
  o.resample = true;
  o.mapping.fields = {{"close", "PRICE"}};
  auto r = Ingest(o, nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->content.panel;
  ASSERT_EQ(p.num_times(), 2u);
  EXPECT_EQ(p.calendar()[0], DateTimestamp(2014, 12, 19));
  EXPECT_EQ(p.at(0, 0, 0), 435.25);
  // Without --resample the two rows of 12-19 collide.
  o.resample = false;
  auto dup = Ingest(o, nullptr, NullProgress());
  ASSERT_FALSE(dup.ok());
  EXPECT_NE(dup.status().message().find("or --resample if these are intraday rows"),
            std::string::npos);
}

TEST(IngestTest, SplitAndDividendColumnsGiveAFactor) {
  TempDir dir;
  const fs::path f = dir.Write("KO.csv",
                               "date,open,high,low,close,volume,dividend,split\n"
                               "2012-08-08,76,77,75,76.5,100,0,1\n"
                               "2012-08-13,38.5,39,38,38.4,200,0,2\n"
                               "2012-09-12,38.1,38.5,37.9,38,150,0.255,1\n");
  auto r = Ingest(Options({f}), nullptr, NullProgress());
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->content.panel;
  const std::size_t factor = *p.FindField("factor");
  EXPECT_DOUBLE_EQ(p.at(factor, 0, 0), 1.0);
  EXPECT_DOUBLE_EQ(p.at(factor, 0, 1), 2.0);
  EXPECT_DOUBLE_EQ(p.at(factor, 0, 2), 2.0 / (1 - 0.255 / 38.4));
  EXPECT_EQ(r->content.provenance["adjustment"],
            "factor from split and dividend (dividend method prev_close)");
}

}  // namespace
}  // namespace qraft::data
