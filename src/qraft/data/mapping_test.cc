#include "qraft/data/mapping.h"

#include <gtest/gtest.h>

#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

TEST(MappingTest, CanonicalNames) {
  EXPECT_EQ(CanonicalFieldName("Adj Close"), "adj_close");
  EXPECT_EQ(CanonicalFieldName("ex-dividend"), "dividend");
  EXPECT_EQ(CanonicalFieldName("split_ratio"), "split");
  EXPECT_EQ(CanonicalFieldName("Turnover"), "amount");
  EXPECT_EQ(CanonicalFieldName("OI"), "open_interest");
  EXPECT_EQ(CanonicalFieldName("CARRY_CONTRACT"), "carry_contract");
  EXPECT_EQ(CanonicalFieldName(" My Field (x) "), "my_field_x");
  EXPECT_TRUE(IsStandardField("close"));
  EXPECT_FALSE(IsStandardField("carry"));
}

TEST(MappingTest, SortFieldNamesPutsStandardFirst) {
  std::vector<std::string> v = {"zeta", "volume", "close", "alpha", "open"};
  SortFieldNames(v);
  EXPECT_EQ(v, (std::vector<std::string>{"open", "close", "volume", "alpha", "zeta"}));
}

TEST(MappingTest, PlanDetectsTimeSymbolAndFields) {
  auto p = PlanColumns({"date", "open", "close", "Name"}, {}, "f");
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->time_col, 0);
  EXPECT_EQ(p->symbol_col, 3);
  EXPECT_EQ(p->roles[1], ColumnRole::kField);
  EXPECT_EQ(p->field_names[2], "close");
}

TEST(MappingTest, SymbolValueSuppressesDetection) {
  ColumnMapping m;
  m.symbol_value = "X";
  auto p = PlanColumns({"date", "close", "name"}, m, "f");
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->symbol_col, -1);
}

TEST(MappingTest, LoadMappingFile) {
  testing::TempDir dir;
  auto path =
      dir.Write("m.yaml",
                "time: DATETIME\nsymbol_pattern: \"(.+)_carrydata\"\nfields:\n  close: PRICE\n"
                "  contract: PRICE_CONTRACT\nignore: [X]\n");
  auto m = LoadMappingFile(path);
  ASSERT_TRUE(m.ok()) << m.status().ToString();
  EXPECT_EQ(m->time, "DATETIME");
  EXPECT_EQ(m->fields.size(), 2u);
  EXPECT_EQ(m->fields[0], (std::pair<std::string, std::string>{"close", "PRICE"}));
  EXPECT_EQ(m->ignore, std::vector<std::string>{"X"});

  auto bad = LoadMappingFile(dir.Write("b.yaml", "time: t\nsymbl: x\n"));
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("b.yaml:2:1: unknown key 'symbl'"), std::string::npos)
      << bad.status().message();
  auto broken = LoadMappingFile(dir.Write("c.yaml", "fields: [a\n"));
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("c.yaml:"), std::string::npos);
}

TEST(MappingTest, OverlayLetsFlagsWin) {
  ColumnMapping file;
  file.time = "DATETIME";
  file.fields = {{"close", "PRICE"}};
  ColumnMapping flags;
  flags.fields = {{"close", "SETTLE"}};
  flags.timezone = "Asia/Shanghai";
  file.Overlay(flags);
  EXPECT_EQ(file.time, "DATETIME");
  ASSERT_EQ(file.fields.size(), 1u);
  EXPECT_EQ(file.fields[0].second, "SETTLE");
  EXPECT_EQ(file.timezone, "Asia/Shanghai");
}

}  // namespace
}  // namespace qraft::data
