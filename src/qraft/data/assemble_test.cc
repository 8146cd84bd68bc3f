#include "qraft/data/assemble.h"

#include <gtest/gtest.h>

#include <cmath>

namespace qraft::data {
namespace {

const Timestamp D1 = DateTimestamp(2014, 1, 2), D2 = DateTimestamp(2014, 1, 3),
                D3 = DateTimestamp(2014, 1, 6);

SourceTable Table(std::string source, std::string symbol, std::vector<Timestamp> times,
                  std::vector<double> close, std::string field = "close") {
  SourceTable t;
  t.source = std::move(source);
  t.symbols = {std::move(symbol)};
  t.symbol.assign(times.size(), 0);
  t.time = std::move(times);
  for (std::size_t i = 0; i < t.time.size(); ++i)
    t.line.push_back(static_cast<std::uint32_t>(i + 2));
  t.field_names = {std::move(field)};
  t.fields = {std::move(close)};
  return t;
}

TEST(AssembleTest, UnionCalendarAndNaNForMissingBars) {
  std::vector<SourceTable> ts;
  ts.push_back(Table("b.csv", "BBB", {D1, D3}, {1, 3}));
  ts.push_back(Table("a.csv", "AAA", {D2}, {20}));
  auto a = Assemble(std::move(ts), {});
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const Panel& p = a->panel;
  EXPECT_EQ(p.calendar(), Calendar({D1, D2, D3}));
  EXPECT_EQ(p.symbols().names(), (std::vector<std::string>{"AAA", "BBB"}));
  EXPECT_TRUE(std::isnan(p.at(0, 0, 0)));
  EXPECT_EQ(p.at(0, 0, 1), 20);
  EXPECT_EQ(p.at(0, 1, 0), 1);
  EXPECT_TRUE(std::isnan(p.at(0, 1, 1)));  // never forward-filled
  EXPECT_EQ(p.at(0, 1, 2), 3);
  EXPECT_TRUE(a->report.issues.empty());
}

TEST(AssembleTest, UnsortedRowsAreSortedAndReported) {
  std::vector<SourceTable> ts;
  ts.push_back(Table("a.csv", "AAA", {D2, D1}, {2, 1}));
  auto a = Assemble(std::move(ts), {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->panel.at(0, 0, 0), 1);
  ASSERT_EQ(a->report.issues.size(), 1u);
  EXPECT_EQ(a->report.issues[0].check, "unsorted_time");
  EXPECT_EQ(a->report.issues[0].message,
            "a.csv: rows are not in time order (first at a.csv:3); they were sorted");
}

TEST(AssembleTest, IdenticalDuplicatesWarnConflictingOnesFail) {
  std::vector<SourceTable> same;
  same.push_back(Table("a.csv", "AAA", {D1, D1, D2}, {1, 1, 2}));
  auto a = Assemble(std::move(same), {});
  ASSERT_TRUE(a.ok());
  ASSERT_EQ(a->report.issues.size(), 1u);
  EXPECT_EQ(a->report.issues[0].check, "duplicate_timestamp");
  EXPECT_EQ(a->report.issues[0].severity, Severity::kWarning);

  std::vector<SourceTable> diff;
  diff.push_back(Table("a.csv", "AAA", {D1, D1}, {1, 5}));
  auto b = Assemble(std::move(diff), {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "a.csv:2 and a.csv:3: two different rows for AAA at 2014-01-02 (duplicate timestamp); "
            "remove one, or pass "
            "--on-duplicate first|last, or --resample if these are intraday rows");

  for (auto [policy, want] :
       {std::pair{DuplicatePolicy::kFirst, 1.0}, std::pair{DuplicatePolicy::kLast, 5.0}}) {
    std::vector<SourceTable> again;
    again.push_back(Table("a.csv", "AAA", {D1, D1}, {1, 5}));
    AssembleOptions o;
    o.on_duplicate = policy;
    auto c = Assemble(std::move(again), o);
    ASSERT_TRUE(c.ok());
    EXPECT_EQ(c->panel.at(0, 0, 0), want);
  }
}

TEST(AssembleTest, FilesMergeFieldsAndConflictsNameBothFiles) {
  std::vector<SourceTable> ts;
  ts.push_back(Table("candles.json", "XRP", {D1, D2}, {1, 2}));
  ts.push_back(Table("funding.json", "XRP", {D1}, {0.0001}, "funding_rate"));
  auto a = Assemble(std::move(ts), {});
  ASSERT_TRUE(a.ok());
  EXPECT_EQ(a->panel.field_names(), (std::vector<std::string>{"close", "funding_rate"}));
  EXPECT_EQ(a->panel.at(1, 0, 0), 0.0001);

  std::vector<SourceTable> clash;
  clash.push_back(Table("x.csv", "AAA", {D1}, {1}));
  clash.push_back(Table("y.csv", "AAA", {D1}, {2}));
  auto b = Assemble(std::move(clash), {});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().message(),
            "y.csv:2: AAA at 2014-01-02 field 'close' is 2, but x.csv already gave 1; remove the "
            "overlap or pass "
            "--on-duplicate first|last");
}

TEST(AssembleTest, ExplicitCalendarRejectsOffCalendarRows) {
  std::vector<SourceTable> ts;
  ts.push_back(Table("a.csv", "AAA", {D1, DateTimestamp(2014, 1, 4)}, {1, 2}));  // a Saturday
  AssembleOptions o;
  o.calendar = Calendar({D1, D2, D3});
  auto a = Assemble(std::move(ts), o);
  ASSERT_FALSE(a.ok());
  EXPECT_EQ(a.status().message(),
            "a.csv:3: AAA at 2014-01-04 is not a day of the exchange calendar; fix the data or the "
            "--calendar file");
}

TEST(AssembleTest, IntradayGridHasNaNForMissingMinutesAndDropsOffSession) {
  auto ny = *TimeZone::Find("America/New_York");
  const Timestamp open =
      DateTimestamp(2021, 7, 6) + 13 * kNanosPerHour + 30 * kNanosPerMinute;  // 09:30 EDT
  std::vector<SourceTable> ts;
  ts.push_back(Table("m.csv", "SPY",
                     {open - kNanosPerHour, open, open + 2 * kNanosPerMinute + 5 * kNanosPerSecond},
                     {9, 1, 3}));
  AssembleOptions o;
  o.freq = *Frequency::Parse("1m");
  o.tz = ny;
  o.sessions = {*ParseSession("09:30-16:00")};
  auto a = Assemble(std::move(ts), o);
  ASSERT_TRUE(a.ok()) << a.status().ToString();
  const Panel& p = a->panel;
  EXPECT_EQ(p.num_times(), 390u);
  EXPECT_EQ(p.at(0, 0, 0), 1);
  EXPECT_TRUE(std::isnan(p.at(0, 0, 1)));
  EXPECT_EQ(p.at(0, 0, 2), 3);  // 09:32:05 belongs to the 09:32 bar
  ASSERT_EQ(a->report.issues.size(), 1u);
  EXPECT_EQ(a->report.issues[0].check, "off_session");
  EXPECT_EQ(a->report.issues[0].count, 1u);
}

TEST(AssembleTest, ResampleAggregatesIntoDailyBars) {
  SourceTable t;
  t.source = "snap.csv";
  t.symbols = {"CORN"};
  const Timestamp d = DateTimestamp(2014, 12, 22);
  t.time = {d + 14 * kNanosPerHour, d + 16 * kNanosPerHour, d + 23 * kNanosPerHour,
            d + kNanosPerDay + 15 * kNanosPerHour};
  t.symbol.assign(4, 0);
  t.line = {2, 3, 4, 5};
  t.field_names = {"open", "high", "low", "close", "volume", "carry"};
  const double nan = std::nan("");
  t.fields = {{10, 11, 12, 20}, {10, 15, 12, 21}, {9, 11, 8, 19},
              {10, 14, 12, 20}, {1, 2, 3, 4},     {nan, 7, nan, nan}};
  SourceTable r = Resample(t, Frequency::Daily(), TimeLabeler(true, TimeZone()));
  ASSERT_EQ(r.rows(), 2u);
  EXPECT_EQ(r.time[0], d);
  EXPECT_EQ(r.fields[0][0], 10);  // first open
  EXPECT_EQ(r.fields[1][0], 15);  // max high
  EXPECT_EQ(r.fields[2][0], 8);   // min low
  EXPECT_EQ(r.fields[3][0], 12);  // last close
  EXPECT_EQ(r.fields[4][0], 6);   // summed volume
  EXPECT_EQ(r.fields[5][0], 7);   // last non-missing
  EXPECT_EQ(r.line[0], 4u);
  EXPECT_EQ(r.fields[3][1], 20);
}

}  // namespace
}  // namespace qraft::data
