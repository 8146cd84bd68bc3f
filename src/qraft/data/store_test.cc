#include "qraft/data/store.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <cmath>
#include <fstream>

#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

SnapshotContent Content(double first_close = 1.5, std::string market = "us_stock") {
  PanelBuilder b(Calendar({DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3)}), {"AAA", "BBB"});
  auto c = b.AddField("close");
  c[0] = first_close, c[1] = 2, c[2] = 3, c[3] = std::nan("");
  SnapshotContent s;
  s.market = std::move(market);
  s.timezone = "America/New_York";
  s.panel = std::move(b).Build();
  s.instruments = DeriveInstruments(s.panel);
  s.source_rows = 3;
  return s;
}

TEST(StoreTest, PublishOpenAndIdempotence) {
  TempDir dir;
  auto store = OpenLocalStore(dir.path());
  ASSERT_TRUE(store.ok()) << store.status().ToString();
  auto id = (*store)->Publish(Content(), NullProgress());
  ASSERT_TRUE(id.ok()) << id.status().ToString();
  const fs::path snap = dir / "snapshots" / *id;
  for (const char* f : {"snapshot_meta.json", "panel.arrow", "bars.parquet"})
    EXPECT_TRUE(fs::exists(snap / f)) << f;
  const auto mtime = fs::last_write_time(snap / "snapshot_meta.json");
  // The same content again: same id, nothing rewritten, no temporary leftovers.
  auto again = (*store)->Publish(Content(), NullProgress());
  ASSERT_TRUE(again.ok());
  EXPECT_EQ(*again, *id);
  EXPECT_EQ(fs::last_write_time(snap / "snapshot_meta.json"), mtime);
  EXPECT_TRUE(fs::is_empty(dir / "tmp"));

  auto opened = (*store)->Open(*id);
  ASSERT_TRUE(opened.ok()) << opened.status().ToString();
  EXPECT_EQ(opened->id(), *id);
  EXPECT_EQ(opened->market(), "us_stock");
  EXPECT_EQ(opened->panel().at(0, 0, 0), 1.5);
  EXPECT_TRUE(std::isnan(opened->panel().at(0, 1, 1)));
  EXPECT_EQ(opened->instruments(), Content().instruments);
  EXPECT_TRUE((*store)->Verify(*id).ok());
}

TEST(StoreTest, ResolveByPrefixRefAndMarket) {
  TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  const std::string a = *store->Publish(Content(1.5), NullProgress());
  const std::string b = *store->Publish(Content(9.5), NullProgress());  // newer us_stock@1d
  EXPECT_EQ(*store->Resolve(a), a);
  EXPECT_EQ(*store->Resolve(a.substr(0, 8)), a);
  EXPECT_EQ(*store->Resolve("us_stock@1d"), b);
  EXPECT_EQ(*store->Resolve("us_stock"), b);
  EXPECT_EQ(store->Resolve("abc").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Resolve("nasdaq").status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->Resolve(std::string(64, 'f')).status().code(), StatusCode::kNotFound);
  auto list = store->List();
  ASSERT_TRUE(list.ok());
  ASSERT_EQ(list->size(), 2u);
  EXPECT_EQ((*list)[0].market, "us_stock");
  EXPECT_EQ((*list)[0].bars, 3u);
  EXPECT_EQ((*list)[0].start, "2014-01-02");
}

TEST(StoreTest, BadMarketNameIsRejected) {
  TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  auto r = store->Publish(Content(1.5, "../evil"), NullProgress());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(fs::is_empty(dir / "snapshots"));
}

TEST(StoreTest, VerifyDetectsDamage) {
  TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  const std::string id = *store->Publish(Content(), NullProgress());
  const fs::path bars = dir / "snapshots" / id / "bars.parquet";
  {
    std::fstream f(bars, std::ios::in | std::ios::out | std::ios::binary);
    f.seekp(10);
    f.put('\x7f');
  }
  Status st = store->Verify(id);
  ASSERT_FALSE(st.ok());
  EXPECT_NE(st.message().find("bars.parquet: file hash"), std::string::npos) << st.message();
}

TEST(StoreTest, GarbageFromDeadWritersIsCollectedLiveOnesKept) {
  TempDir dir;
  auto store = *OpenLocalStore(dir.path());
  // A writer that died (pid 999999 is beyond any default pid_max) and one that is alive (us).
  fs::create_directories(dir / "tmp" / "0123456789ab-999999-0");
  std::ofstream(dir / "tmp" / "0123456789ab-999999-0" / "panel.arrow") << "partial";
  fs::create_directories(dir / "tmp" / ("0123456789ab-" + std::to_string(::getpid()) + "-7"));
  auto n = store->CollectGarbage();
  ASSERT_TRUE(n.ok());
  EXPECT_EQ(*n, 1u);
  EXPECT_FALSE(fs::exists(dir / "tmp" / "0123456789ab-999999-0"));
  EXPECT_TRUE(fs::exists(dir / "tmp" / ("0123456789ab-" + std::to_string(::getpid()) + "-7")));
  // Leftovers are never listed as snapshots.
  EXPECT_TRUE(store->List()->empty());
}

TEST(StoreTest, DefaultRootHonoursQraftHome) {
  ::setenv("QRAFT_HOME", "/tmp/qraft-home-test", 1);
  EXPECT_EQ(DefaultStoreRoot(), fs::path("/tmp/qraft-home-test"));
  ::unsetenv("QRAFT_HOME");
  ::setenv("HOME", "/home/someone", 1);
  EXPECT_EQ(DefaultStoreRoot(), fs::path("/home/someone/.qraft"));
}

}  // namespace
}  // namespace qraft::data
