#include "qraft/core/calendar.h"

#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>

namespace qraft {
namespace {

TEST(CalendarTest, LookupAndSlice) {
  Calendar c = Calendar::FromUnsorted({30, 10, 20, 10, 40});
  ASSERT_EQ(c.size(), 4u);
  EXPECT_EQ(c[0], 10);
  EXPECT_EQ(*c.Find(30), 2u);
  EXPECT_FALSE(c.Find(25).has_value());
  EXPECT_EQ(c.LowerBound(25), 2u);
  EXPECT_EQ(c.UpperBound(30), 3u);
  EXPECT_EQ(c.Slice(15, 30), Calendar({20, 30}));
  EXPECT_EQ(c.Slice(kNoTimestamp, 10), Calendar({10}));
  EXPECT_TRUE(c.Slice(41, kNoTimestamp).empty());
  EXPECT_EQ(Calendar::Union(Calendar({1, 3}), Calendar({2, 3, 4})), Calendar({1, 2, 3, 4}));
}

TEST(CalendarTest, LoadQlibStyleFile) {
  const auto path = std::filesystem::temp_directory_path() / "qraft_cal_test.txt";
  {
    std::ofstream out(path);
    out << "# exchange calendar\n2013-02-08\n\n2013-02-11\r\n2013-02-12\n";
  }
  auto c = Calendar::Load(path);
  ASSERT_TRUE(c.ok()) << c.status().ToString();
  EXPECT_EQ(*c, Calendar({DateTimestamp(2013, 2, 8), DateTimestamp(2013, 2, 11),
                          DateTimestamp(2013, 2, 12)}));
  {
    std::ofstream out(path);
    out << "2013-02-08\n2013-02-07\n";
  }
  auto bad = Calendar::Load(path);
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find(":2: '2013-02-07' is not after"), std::string::npos)
      << bad.status().message();
  {
    std::ofstream out(path);
    out << "2013-02-08\nFeb 9\n";
  }
  bad = Calendar::Load(path);
  EXPECT_EQ(bad.status().code(), StatusCode::kDataError);
  EXPECT_NE(bad.status().message().find(":2: expected a date"), std::string::npos);
  std::filesystem::remove(path);
}

TEST(CalendarTest, SessionParsing) {
  auto s = ParseSession("09:30-16:00");
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->open_minute, 570);
  EXPECT_EQ(s->close_minute, 960);
  auto night = ParseSession("21:00-02:30");
  ASSERT_TRUE(night.ok());
  EXPECT_EQ(night->close_minute, 24 * 60 + 150);
  EXPECT_FALSE(ParseSession("9:30-16:00").ok());
  EXPECT_FALSE(ParseSession("09:30-16:61").ok());
}

TEST(CalendarTest, IntradayGridFollowsDst) {
  auto ny = TimeZone::Find("America/New_York");
  ASSERT_TRUE(ny.ok());
  const Timestamp days[] = {DateTimestamp(2021, 3, 12),
                            DateTimestamp(2021, 3, 15)};  // DST starts 03-14
  const Session regular[] = {*ParseSession("09:30-16:00")};
  auto cal = BuildIntradayCalendar(days, regular, *Frequency::Parse("1m"), *ny);
  ASSERT_TRUE(cal.ok()) << cal.status().ToString();
  ASSERT_EQ(cal->size(), 2u * 390);
  EXPECT_EQ((*cal)[0], DateTimestamp(2021, 3, 12) + 14 * kNanosPerHour + 30 * kNanosPerMinute);
  EXPECT_EQ((*cal)[389], DateTimestamp(2021, 3, 12) + 20 * kNanosPerHour + 59 * kNanosPerMinute);
  EXPECT_EQ((*cal)[390], DateTimestamp(2021, 3, 15) + 13 * kNanosPerHour + 30 * kNanosPerMinute);

  // China A-shares: two sessions, 240 one-minute bars a day.
  auto sh = TimeZone::Find("Asia/Shanghai");
  const Session cn[] = {*ParseSession("09:30-11:30"), *ParseSession("13:00-15:00")};
  const Timestamp one[] = {DateTimestamp(2023, 8, 28)};
  auto cn_cal = BuildIntradayCalendar(one, cn, *Frequency::Parse("1m"), *sh);
  ASSERT_TRUE(cn_cal.ok());
  EXPECT_EQ(cn_cal->size(), 240u);
  EXPECT_EQ((*cn_cal)[120], DateTimestamp(2023, 8, 28) + 5 * kNanosPerHour);  // 13:00 CST

  const Session odd[] = {*ParseSession("09:30-16:00")};
  EXPECT_FALSE(BuildIntradayCalendar(days, odd, *Frequency::Parse("7m"), *ny).ok());
}

}  // namespace
}  // namespace qraft
