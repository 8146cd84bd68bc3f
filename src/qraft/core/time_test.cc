#include "qraft/core/time.h"

#include <gtest/gtest.h>

namespace qraft {
namespace {

TEST(CivilTest, KnownDayNumbers) {
  EXPECT_EQ(DaysFromCivil(1970, 1, 1), 0);
  EXPECT_EQ(DaysFromCivil(2000, 3, 1), 11017);
  EXPECT_EQ(DaysFromCivil(1969, 12, 31), -1);
  EXPECT_EQ(DaysFromCivil(2013, 2, 8), 15744);
  // Round trip over four centuries, including every leap-year rule.
  for (std::int64_t d = DaysFromCivil(1900, 1, 1); d < DaysFromCivil(2300, 1, 1); ++d) {
    const CivilDate c = CivilFromDays(d);
    ASSERT_EQ(DaysFromCivil(c.year, c.month, c.day), d);
    ASSERT_TRUE(IsValidCivil(c.year, c.month, c.day));
  }
  EXPECT_FALSE(IsValidCivil(1900, 2, 29));
  EXPECT_TRUE(IsValidCivil(2000, 2, 29));
  EXPECT_FALSE(IsValidCivil(2013, 4, 31));
}

TEST(CivilTest, FloorAndWeekdayBeforeEpoch) {
  const Timestamp t = DateTimestamp(1969, 12, 31) + 5 * kNanosPerHour;
  EXPECT_EQ(FloorToDay(t), DateTimestamp(1969, 12, 31));
  EXPECT_EQ(Weekday(DateTimestamp(1970, 1, 1)), 3);    // Thursday
  EXPECT_EQ(Weekday(DateTimestamp(2013, 2, 8)), 4);    // Friday
  EXPECT_EQ(Weekday(DateTimestamp(1969, 12, 28)), 6);  // Sunday
}

TEST(ParseTest, IsoForms) {
  const Timestamp d = DateTimestamp(2013, 2, 8);
  for (const char* s : {"2013-02-08", "20130208", "2013/02/08", " 2013-02-08 "}) {
    auto t = ParseIsoDateTime(s);
    ASSERT_TRUE(t.has_value()) << s;
    EXPECT_EQ(t->value, d) << s;
    EXPECT_FALSE(t->has_time);
  }
  auto t = ParseIsoDateTime("2013-02-08 09:30");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, d + 9 * kNanosPerHour + 30 * kNanosPerMinute);
  EXPECT_TRUE(t->has_time);
  EXPECT_FALSE(t->utc);
  t = ParseIsoDateTime("2021-12-31 23:01:00.000000");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, DateTimestamp(2021, 12, 31) + 23 * kNanosPerHour + kNanosPerMinute);
  t = ParseIsoDateTime("2014-01-02 00:00:00+00:00");
  ASSERT_TRUE(t);
  EXPECT_TRUE(t->utc);
  EXPECT_EQ(t->value, DateTimestamp(2014, 1, 2));
  t = ParseIsoDateTime("2020-01-01T08:00:00.5+08:00");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, DateTimestamp(2020, 1, 1) + kNanosPerSecond / 2);
  t = ParseIsoDateTime("2020-01-01T00:00:00.123456789Z");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, DateTimestamp(2020, 1, 1) + 123456789);
}

TEST(ParseTest, RejectsNonDates) {
  for (const char* s : {"", "2013-02-30", "2013-13-01", "13-02-08", "2013-02-08x", "abc",
                        "2013-02-08 25:00", "2013-02", "2013-02-08 09:30:00+25:00"}) {
    EXPECT_FALSE(ParseIsoDateTime(s).has_value()) << s;
  }
}

TEST(ParseTest, PatternFormats) {
  auto f = TimeFormat::Compile("%m/%d/%Y");
  ASSERT_TRUE(f.ok());
  auto t = f->Parse("3/7/2014");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, DateTimestamp(2014, 3, 7));
  EXPECT_FALSE(f->Parse("3/7/2014 ").has_value());
  f = TimeFormat::Compile("%d-%b-%y %H:%M:%S.%f");
  ASSERT_TRUE(f.ok());
  t = f->Parse("07-Mar-14 10:11:12.25");
  ASSERT_TRUE(t);
  EXPECT_EQ(t->value, DateTimestamp(2014, 3, 7) + 10 * kNanosPerHour + 11 * kNanosPerMinute +
                          12 * kNanosPerSecond + kNanosPerSecond / 4);
  EXPECT_FALSE(TimeFormat::Compile("%Q").ok());
  EXPECT_FALSE(TimeFormat::Compile("%Y%").ok());
}

TEST(EpochTest, AutoUnitByMagnitude) {
  const Timestamp t = DateTimestamp(2018, 1, 20) + 4 * kNanosPerHour + 55 * kNanosPerMinute;
  EXPECT_EQ(EpochToTimestamp(1516424100, EpochUnit::kAuto), t);
  EXPECT_EQ(EpochToTimestamp(1516424100000, EpochUnit::kAuto), t);
  EXPECT_EQ(EpochToTimestamp(1516424100000000, EpochUnit::kAuto), t);
  EXPECT_EQ(EpochToTimestamp(1516424100000000000, EpochUnit::kAuto), t);
  EXPECT_EQ(EpochToTimestamp(1516424100000, EpochUnit::kMillis), t);
  // Out of the int64-nanosecond range: no wrap-around.
  EXPECT_FALSE(EpochToTimestamp(99'999'999'999LL, EpochUnit::kAuto).has_value());
  EXPECT_FALSE(EpochToTimestamp(INT64_MIN, EpochUnit::kNanos).has_value());
  EXPECT_FALSE(EpochToTimestamp(10'000'000'000'000LL, EpochUnit::kSeconds).has_value());
  EXPECT_EQ(EpochToTimestamp(-86400, EpochUnit::kSeconds), -kNanosPerDay);
}

TEST(FormatTest, DatesAndTimes) {
  EXPECT_EQ(FormatDate(DateTimestamp(2013, 2, 8)), "2013-02-08");
  EXPECT_EQ(FormatDateTime(DateTimestamp(2013, 2, 8) + 9 * kNanosPerHour + 1500),
            "2013-02-08 09:00:00.0000015");
  EXPECT_EQ(FormatTimestamp(DateTimestamp(1965, 5, 6), true), "1965-05-06");
  EXPECT_EQ(FormatTimestamp(DateTimestamp(1965, 5, 6) + kNanosPerMinute, true),
            "1965-05-06 00:01:00");
}

TEST(FrequencyTest, ParseAndPrint) {
  struct Case {
    const char* in;
    const char* out;
    Timestamp nanos;
    bool intraday;
  } cases[] = {{"1d", "1d", kNanosPerDay, false},
               {"1D", "1d", kNanosPerDay, false},
               {"day", "1d", kNanosPerDay, false},
               {"5m", "5m", 5 * kNanosPerMinute, true},
               {"5min", "5m", 5 * kNanosPerMinute, true},
               {"8h", "8h", 8 * kNanosPerHour, true},
               {"1w", "1w", 7 * kNanosPerDay, false},
               {"1mo", "1mo", 0, false},
               {"tick", "tick", 0, true},
               {"30s", "30s", 30 * kNanosPerSecond, true},
               {"1M", "1mo", 0, false},
               {"3M", "3mo", 0, false},
               {"1MIN", "1m", kNanosPerMinute, true},
               {"1H", "1h", kNanosPerHour, true}};
  for (const Case& c : cases) {
    auto f = Frequency::Parse(c.in);
    ASSERT_TRUE(f.ok()) << c.in;
    EXPECT_EQ(f->ToString(), c.out);
    EXPECT_EQ(f->nanos(), c.nanos) << c.in;
    EXPECT_EQ(f->intraday(), c.intraday) << c.in;
  }
  EXPECT_FALSE(Frequency::Parse("0d").ok());
  EXPECT_FALSE(Frequency::Parse("0M").ok());
  EXPECT_FALSE(Frequency::Parse("5x").ok());
}

TEST(TimeZoneTest, NewYorkAcrossDst) {
  auto ny = TimeZone::Find("America/New_York");
  ASSERT_TRUE(ny.ok()) << ny.status().ToString();
  const Timestamp winter = DateTimestamp(2021, 1, 4) + 9 * kNanosPerHour + 30 * kNanosPerMinute;
  EXPECT_EQ(*ny->LocalToUtc(winter), winter + 5 * kNanosPerHour);
  const Timestamp summer = DateTimestamp(2021, 7, 6) + 9 * kNanosPerHour + 30 * kNanosPerMinute;
  EXPECT_EQ(*ny->LocalToUtc(summer), summer + 4 * kNanosPerHour);
  EXPECT_EQ(ny->UtcToLocal(summer + 4 * kNanosPerHour), summer);
  // 2021-03-14 02:30 does not exist in New York.
  const Timestamp gap = DateTimestamp(2021, 3, 14) + 2 * kNanosPerHour + 30 * kNanosPerMinute;
  auto r = ny->LocalToUtc(gap);
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  // 2021-11-07 01:30 happens twice; the earlier (EDT, UTC-4) is chosen.
  const Timestamp twice = DateTimestamp(2021, 11, 7) + 1 * kNanosPerHour + 30 * kNanosPerMinute;
  EXPECT_EQ(*ny->LocalToUtc(twice), twice + 4 * kNanosPerHour);
}

TEST(TimeZoneTest, ShanghaiAndUtc) {
  auto sh = TimeZone::Find("Asia/Shanghai");
  ASSERT_TRUE(sh.ok());
  const Timestamp t = DateTimestamp(2023, 8, 28) + 9 * kNanosPerHour + 30 * kNanosPerMinute;
  EXPECT_EQ(*sh->LocalToUtc(t), t - 8 * kNanosPerHour);
  auto utc = TimeZone::Find("UTC");
  ASSERT_TRUE(utc.ok());
  EXPECT_TRUE(utc->is_utc());
  EXPECT_EQ(*utc->LocalToUtc(t), t);
  EXPECT_EQ(TimeZone::Find("Mars/Olympus").status().code(), StatusCode::kInvalidArgument);
}

}  // namespace
}  // namespace qraft
