#include "qraft/data/export.h"

#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "qraft/data/ingest.h"
#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

namespace fs = std::filesystem;

std::string Read(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

IngestOptions Options(std::vector<fs::path> paths) {
  IngestOptions o;
  o.paths = std::move(paths);
  o.market = "us_stock";
  return o;
}

// Two symbols with a gap, a blank field and awkward numbers (0.1, 1e-7, a 17-digit value).
constexpr const char* kCsv =
    "date,open,close,volume,Name\n"
    "2014-01-02,0.1,553.13,8381600,AAPL\n"
    "2014-01-03,,540.98,1e-7,AAPL\n"
    "2014-01-07,552.5,540.0375,11328900,AAPL\n"
    "2014-01-02,37.35,37.16,30643745,MSFT\n"
    "2014-01-06,36.85,36.13,0.30000000000000004,MSFT\n";

TEST(ExportTest, CsvAndParquetRoundTripToTheSameSnapshotId) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir / "store");
  auto first = Ingest(Options({dir.Write("in.csv", kCsv)}), store.get(), NullProgress());
  ASSERT_TRUE(first.ok()) << first.status().ToString();
  auto snap = store->Open(first->snapshot_id);
  ASSERT_TRUE(snap.ok());

  ASSERT_TRUE(ExportSnapshot(*snap, ExportFormat::kCsv, Adjust::kNone, dir / "out.csv").ok());
  EXPECT_EQ(Read(dir / "out.csv"),
            "symbol,date,open,close,volume\n"
            "AAPL,2014-01-02,0.1,553.13,8381600\n"
            "AAPL,2014-01-03,,540.98,1e-07\n"
            "AAPL,2014-01-07,552.5,540.0375,11328900\n"
            "MSFT,2014-01-02,37.35,37.16,30643745\n"
            "MSFT,2014-01-06,36.85,36.13,0.30000000000000004\n");
  ASSERT_TRUE(
      ExportSnapshot(*snap, ExportFormat::kParquet, Adjust::kNone, dir / "out.parquet").ok());

  for (const char* out : {"out.csv", "out.parquet"}) {
    auto again = Ingest(Options({dir / out}), store.get(), NullProgress());
    ASSERT_TRUE(again.ok()) << out << ": " << again.status().ToString();
    EXPECT_EQ(again->snapshot_id, first->snapshot_id) << out;
  }
  // The snapshot's own bars.parquet is an input too.
  auto own = Ingest(Options({snap->dir() / "bars.parquet"}), store.get(), NullProgress());
  ASSERT_TRUE(own.ok()) << own.status().ToString();
  EXPECT_EQ(own->snapshot_id, first->snapshot_id);
}

TEST(ExportTest, RefusesToOverwriteAndLeavesNothingHalfWritten) {
  testing::TempDir dir;
  auto store = *OpenLocalStore(dir / "store");
  auto first = Ingest(Options({dir.Write("in.csv", kCsv)}), store.get(), NullProgress());
  auto snap = *store->Open(first->snapshot_id);
  dir.Write("taken.csv", "x");
  Status st = ExportSnapshot(snap, ExportFormat::kCsv, Adjust::kNone, dir / "taken.csv");
  EXPECT_EQ(st.code(), StatusCode::kAlreadyExists);
  EXPECT_EQ(Read(dir / "taken.csv"), "x");
  // Adjusting without a factor fails before anything is written.
  st = ExportSnapshot(snap, ExportFormat::kParquet, Adjust::kForward, dir / "adj.parquet");
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  EXPECT_FALSE(fs::exists(dir / "adj.parquet"));
  for (const auto& e : fs::directory_iterator(dir.path())) {
    EXPECT_EQ(e.path().filename().string().find(".tmp-"), std::string::npos) << e.path();
  }
}

}  // namespace
}  // namespace qraft::data
