#include "qraft/data/snapshot.h"

#include <gtest/gtest.h>

#include <cmath>

#include "qraft/core/parallel.h"
#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

constexpr double N = std::numeric_limits<double>::quiet_NaN();

SnapshotContent Content(std::vector<std::string> order = {"close", "volume"}) {
  PanelBuilder b(Calendar({DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3)}), {"AAA", "BBB"});
  for (const std::string& f : order) {
    auto d = b.AddField(f);
    if (f == "close") d[0] = 1.5, d[1] = N, d[2] = 2.5, d[3] = 3.5;
    if (f == "volume") d[0] = 100, d[1] = N, d[2] = 200, d[3] = 300;
  }
  SnapshotContent c;
  c.market = "us_stock";
  c.freq = Frequency::Daily();
  c.timezone = "America/New_York";
  c.panel = std::move(b).Build();
  c.instruments = DeriveInstruments(c.panel);
  return c;
}

TEST(SnapshotTest, IdIsStableAndIndependentOfFieldOrderAndMetadata) {
  const std::string id = ComputeHashes(Content()).id;
  EXPECT_EQ(id.size(), 64u);
  EXPECT_EQ(ComputeHashes(Content({"volume", "close"})).id, id);
  SnapshotContent with_meta = Content();
  with_meta.provenance["sources"] = {{{"path", "/somewhere/else.csv"}}};
  with_meta.source_rows = 12345;
  EXPECT_EQ(ComputeHashes(with_meta).id, id);
}

TEST(SnapshotTest, IdChangesWithEveryPartOfTheContent) {
  const std::string id = ComputeHashes(Content()).id;
  auto changed = [&](auto mutate) {
    SnapshotContent c = Content();
    mutate(c);
    return ComputeHashes(c).id != id;
  };
  EXPECT_TRUE(changed([](SnapshotContent& c) { c.market = "cn_stock"; }));
  EXPECT_TRUE(changed([](SnapshotContent& c) { c.freq = *Frequency::Parse("1w"); }));
  EXPECT_TRUE(changed([](SnapshotContent& c) { c.timezone = "UTC"; }));
  EXPECT_TRUE(changed([](SnapshotContent& c) { c.instruments[0].end += kNanosPerDay; }));
  EXPECT_TRUE(changed([](SnapshotContent& c) {
    PanelBuilder b(c.panel.calendar(), c.panel.symbols().names());
    for (std::size_t f = 0; f < c.panel.num_fields(); ++f) {
      auto d = b.AddField(c.panel.field_names()[f]);
      std::copy(c.panel.field(f).begin(), c.panel.field(f).end(), d.begin());
      if (f == 0) d[0] = std::nextafter(d[0], 2.0);  // one ulp
    }
    c.panel = std::move(b).Build();
  }));
}

TEST(SnapshotTest, AllNaNBitPatternsHashAlike) {
  SnapshotContent a = Content(), b = Content();
  PanelBuilder pb(b.panel.calendar(), b.panel.symbols().names());
  for (std::size_t f = 0; f < b.panel.num_fields(); ++f) {
    auto d = pb.AddField(b.panel.field_names()[f]);
    std::copy(b.panel.field(f).begin(), b.panel.field(f).end(), d.begin());
    d[1] = -std::nan("0x123");  // a different NaN payload and sign
  }
  b.panel = std::move(pb).Build();
  EXPECT_EQ(ComputeHashes(a).id, ComputeHashes(b).id);
}

TEST(SnapshotTest, HashIndependentOfThreadCount) {
  SnapshotContent c = Content();
  std::string one, two;
  {
    ThreadLimit l(1);
    one = ComputeHashes(c).id;
  }
  {
    ThreadLimit l(2);
    two = ComputeHashes(c).id;
  }
  EXPECT_EQ(one, two);
}

TEST(SnapshotTest, InstrumentsAndActiveSymbols) {
  SnapshotContent c = Content();
  ASSERT_EQ(c.instruments.size(), 2u);
  EXPECT_EQ(c.instruments[0],
            (InstrumentSpan{"AAA", DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 2)}));
  EXPECT_EQ(c.instruments[1],
            (InstrumentSpan{"BBB", DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3)}));
  EXPECT_EQ(ActiveSymbols(c.instruments, DateTimestamp(2014, 1, 3)),
            std::vector<std::string>{"BBB"});

  testing::TempDir dir;
  auto spans = LoadInstrumentsFile(dir.Write("all.txt",
                                             "SH600000\t2008-01-02\t2010-05-04\nSH600000\t2011-01-"
                                             "04\t2020-09-25\nAAA\t2014-01-02\t2014-01-03\n"));
  ASSERT_TRUE(spans.ok()) << spans.status().ToString();
  ASSERT_EQ(spans->size(), 3u);
  EXPECT_EQ((*spans)[0].symbol, "AAA");
  EXPECT_EQ(ActiveSymbols(*spans, DateTimestamp(2010, 6, 1)), std::vector<std::string>{});
  EXPECT_EQ(ActiveSymbols(*spans, DateTimestamp(2012, 6, 1)), std::vector<std::string>{"SH600000"});
  auto bad = LoadInstrumentsFile(dir.Write("bad.txt", "AAA\t2014-01-03\t2014-01-02\n"));
  EXPECT_NE(bad.status().message().find("bad.txt:1: end 2014-01-02 is before start 2014-01-03"),
            std::string::npos);
}

TEST(SnapshotTest, MetaCarriesCountsCoverageAndHashes) {
  SnapshotContent c = Content();
  c.source_rows = 3;
  const SnapshotHashes h = ComputeHashes(c);
  nlohmann::json m = BuildMeta(c, h);
  EXPECT_EQ(m["snapshot_id"], h.id);
  EXPECT_EQ(m["symbols"], 2);
  EXPECT_EQ(m["bars"], 3);
  EXPECT_EQ(m["rows"], 3);
  EXPECT_EQ(m["start"], "2014-01-02");
  EXPECT_EQ(m["end"], "2014-01-03");
  EXPECT_EQ(m["fields"][0]["name"], "close");
  EXPECT_EQ(m["fields"][0]["sha256"], h.fields[0].second);
  EXPECT_EQ(m["coverage"]["AAA"]["bars"], 1);
  EXPECT_DOUBLE_EQ(m["fields"][0]["missing_rate"].get<double>(), 0.0);
  EXPECT_EQ(BuildMeta(c, h).dump(), m.dump());  // deterministic
}

}  // namespace
}  // namespace qraft::data
