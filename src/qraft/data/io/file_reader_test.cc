#include "qraft/data/io/file_reader.h"

#include <gtest/gtest.h>
#include <zip.h>
#include <zstd.h>

#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

using testing::TempDir;

TEST(FileReaderTest, StemsAndExtensions) {
  EXPECT_EQ(BareStem("/x/AAPL_data.csv.gz"), "AAPL_data");
  EXPECT_EQ(BareStem("ADA_BTC-1m.json"), "ADA_BTC-1m");
  EXPECT_EQ(BareStem("a.b.parquet"), "a.b");
  EXPECT_EQ(DataExtension("x/A.CSV.GZ"), ".csv");
  EXPECT_EQ(DataExtension("A.parquet"), ".parquet");
}

TEST(FileReaderTest, PlainZstdAndZip) {
  TempDir dir;
  const std::string text = "date,close\n2014-01-02,1\n";
  EXPECT_EQ(*ReadDecompressed(dir.Write("a.csv", "\xEF\xBB\xBF" + text)), text);  // BOM dropped

  std::string z(ZSTD_compressBound(text.size()), '\0');
  z.resize(ZSTD_compress(z.data(), z.size(), text.data(), text.size(), 3));
  EXPECT_EQ(*ReadDecompressed(dir.Write("a.csv.zst", z)), text);
  EXPECT_EQ(ReadDecompressed(dir.Write("b.csv.zst", z.substr(0, z.size() - 3))).status().code(),
            StatusCode::kDataError);

  const auto zip_path = dir / "a.zip";
  int err = 0;
  zip_t* zp = zip_open(zip_path.c_str(), ZIP_CREATE | ZIP_TRUNCATE, &err);
  ASSERT_NE(zp, nullptr);
  zip_source_t* src = zip_source_buffer(zp, text.data(), text.size(), 0);
  ASSERT_GE(zip_file_add(zp, "table.csv", src, ZIP_FL_OVERWRITE), 0);
  ASSERT_EQ(zip_close(zp), 0);
  EXPECT_EQ(*ReadDecompressed(zip_path), text);
}

TEST(FileReaderTest, Utf16IsRejectedWithAHint) {
  TempDir dir;
  auto r = ReadDecompressed(dir.Write("w.csv", std::string("\xFF\xFE"
                                                           "d\0a\0",
                                                           6)));
  ASSERT_FALSE(r.ok());
  EXPECT_NE(r.status().message().find("w.csv: file is UTF-16/UTF-32 encoded"), std::string::npos);
  EXPECT_EQ(ReadDecompressed(dir / "none.csv").status().code(), StatusCode::kNotFound);
}

}  // namespace
}  // namespace qraft::data::io
