#include "qraft/gates/returns_csv.h"

#include <gtest/gtest.h>

#include "qraft/data/testing.h"

namespace qraft::gates {
namespace {

using data::testing::TempDir;

TEST(ReturnsCsvTest, ReadsSeriesColumnMajorWithOptionalLabels) {
  TempDir dir;
  auto t =
      ReadReturnsCsv(dir.Write("r.csv", "Date,a,b\n2020-01-02,0.01,-0.02\n2020-01-03,0,0.5\n"));
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->names, (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(t->labels, (std::vector<std::string>{"2020-01-02", "2020-01-03"}));
  EXPECT_EQ(t->rows, 2u);
  EXPECT_EQ(t->values, (std::vector<double>{0.01, 0, -0.02, 0.5}));
  ASSERT_NE(t->Find("b"), nullptr);
  EXPECT_EQ(t->Find("c"), nullptr);

  // No time column: every column is a series.
  auto u = ReadReturnsCsv(dir.Write("u.csv", "x\n1\n2\n"));
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_TRUE(u->labels.empty());
  EXPECT_EQ(u->values, (std::vector<double>{1, 2}));
}

TEST(ReturnsCsvTest, BadInputNamesFileLineAndColumn) {
  TempDir dir;
  auto error = [&](const std::string& text) {
    const auto path = dir.Write("bad.csv", text);
    auto r = ReadReturnsCsv(path);
    EXPECT_FALSE(r.ok()) << text;
    const std::string m(r.status().message());
    return m.substr(m.find("bad.csv"));
  };
  EXPECT_EQ(error("date,a\n2020-01-02,0.1\n2020-01-03,\n"),
            "bad.csv:3: field 'a': expected a number, got ''");
  EXPECT_EQ(error("a\n0.1\ninf\n"), "bad.csv:3: field 'a': expected a finite number, got 'inf'");
  EXPECT_EQ(error("a,b\n0.1,0.2\n0.3\n"), "bad.csv:3: expected 2 fields, got 1");
  EXPECT_EQ(error("a\n0.1\n"), "bad.csv: 1 rows of returns, at least 2 are needed");
  EXPECT_EQ(error("date\n2020-01-02\n2020-01-03\n"), "bad.csv:1: no series in the header");
  EXPECT_EQ(error(""), "bad.csv: empty file");
}

}  // namespace
}  // namespace qraft::gates
