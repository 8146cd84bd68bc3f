#include "qraft/data/io/csv_reader.h"

#include <gtest/gtest.h>
#include <zlib.h>

#include <cmath>

#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

using testing::TempDir;

CsvOptions Daily() {
  CsvOptions o;
  o.labeler = TimeLabeler(true, TimeZone());
  return o;
}

Result<SourceTable> Parse(std::string_view text, std::string symbol = "AAA",
                          CsvOptions o = Daily()) {
  return ParseCsv(text, "t.csv", std::move(symbol), o);
}

// The error message of a parse that must fail, or "" if it did not.
std::string Error(std::string_view text, CsvOptions o = Daily(), std::string symbol = "AAA") {
  auto r = ParseCsv(text, "t.csv", symbol, o);
  if (r.ok()) return "";
  EXPECT_EQ(r.status().code(), StatusCode::kDataError) << r.status().ToString();
  return std::string(r.status().message());
}

TEST(CsvReaderTest, Sp500StyleFileWithNameColumn) {
  auto t = Parse(
      "date,open,high,low,close,volume,Name\n"
      "2013-02-08,67.7142,68.4014,66.8928,67.8542,158168416,AAPL\n"
      "2013-02-11,68.0714,69.2771,67.6071,68.5614,129029425,AAPL\n",
      "");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  ASSERT_EQ(t->rows(), 2u);
  EXPECT_EQ(t->symbols, std::vector<std::string>{"AAPL"});
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"open", "high", "low", "close", "volume"}));
  EXPECT_EQ(t->time[0], DateTimestamp(2013, 2, 8));
  EXPECT_EQ(t->fields[3][1], 68.5614);
  EXPECT_EQ(t->fields[4][0], 158168416.0);
  EXPECT_EQ(t->line, (std::vector<std::uint32_t>{2, 3}));
}

TEST(CsvReaderTest, BlankCellsAreMissingNotZero) {
  auto t = Parse(
      "date,open,high,low,close,volume\n2017-07-26,,,,69.0842,3\n2017-07-27,NaN,N/A,null,70,-\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_TRUE(std::isnan(t->fields[0][0]));
  EXPECT_EQ(t->fields[3][0], 69.0842);
  for (int f = 0; f < 3; ++f)
    EXPECT_TRUE(std::isnan(t->fields[static_cast<std::size_t>(f)][1]));
  EXPECT_TRUE(std::isnan(t->fields[4][1]));
}

TEST(CsvReaderTest, ColumnAliasesCaseAndSeparators) {
  auto t = Parse(
      "Date;Open;High;Low;Close;Adj Close;Volume\r\n"
      "2014-01-02;555.68;557.03;552.021;553.13;73.52;8381600\r\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->field_names,
            (std::vector<std::string>{"open", "high", "low", "close", "adj_close", "volume"}));
  EXPECT_EQ(t->fields[4][0], 73.52);
}

TEST(CsvReaderTest, QuotedFieldsAndQuotedSymbol) {
  auto t = Parse("\"date\",\"symbol\",\"close\"\n\"2014-01-02\",\"BRK \"\"A\"\"\",\"1.5\"\n", "");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->symbols[0], "BRK \"A\"");
  EXPECT_EQ(t->fields[0][0], 1.5);
}

TEST(CsvReaderTest, TabSeparatedAndDateTimeColumns) {
  CsvOptions o;
  auto ny = TimeZone::Find("America/New_York");
  o.labeler = TimeLabeler(false, *ny);
  auto t = Parse("date\ttime\tclose\n2021-07-06\t09:30\t1\n2021-07-06\t0931\t2\n", "X", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  const Timestamp open_utc = DateTimestamp(2021, 7, 6) + 13 * kNanosPerHour + 30 * kNanosPerMinute;
  EXPECT_EQ(t->time[0], open_utc);
  EXPECT_EQ(t->time[1], open_utc + kNanosPerMinute);
}

TEST(CsvReaderTest, EpochTimesInMillisAndMicros) {
  CsvOptions o;
  o.labeler = TimeLabeler(false, TimeZone());
  auto t = Parse("timestamp,close\n1637971200000,1\n1637971260000000,2\n", "X", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->time[0], DateTimestamp(2021, 11, 27));
  EXPECT_EQ(t->time[1], DateTimestamp(2021, 11, 27) + kNanosPerMinute);
}

TEST(CsvReaderTest, DailyLabelIsTheWrittenDate) {
  // Yahoo samples write "2014-01-02 00:00:00+00:00"; a US market must still read 2014-01-02.
  CsvOptions o;
  o.labeler = TimeLabeler(true, *TimeZone::Find("America/New_York"));
  auto t = Parse(
      "Date,Close\n2014-01-02 00:00:00+00:00,1\n2014-01-03 00:00:00+08:00,2\n2014-01-06 "
      "16:00-05:00,3\n",
      "X", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->time, (std::vector<Timestamp>{DateTimestamp(2014, 1, 2), DateTimestamp(2014, 1, 3),
                                             DateTimestamp(2014, 1, 6)}));
}

TEST(CsvReaderTest, ExplicitMappingAndDateFormat) {
  CsvOptions o = Daily();
  o.mapping.time = "DATETIME";
  o.mapping.fields = {{"close", "PRICE"}, {"contract", "PRICE_CONTRACT"}};
  o.mapping.ignore = {"CARRY"};
  auto t = Parse("DATETIME,PRICE,CARRY,PRICE_CONTRACT\n1981-09-25 00:00:00,780.25,324.0,198212\n",
                 "CORN", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->field_names, (std::vector<std::string>{"close", "contract"}));
  EXPECT_EQ(t->fields[1][0], 198212.0);

  CsvOptions us = Daily();
  us.mapping.time_format = "%m/%d/%Y";
  auto u = Parse("day,close\n3/7/2014,1\n12/31/2014,2\n", "X", us);
  ASSERT_TRUE(u.ok()) << u.status().ToString();
  EXPECT_EQ(u->time[1], DateTimestamp(2014, 12, 31));
}

TEST(CsvReaderTest, UnknownTextColumnIsLeftOutAndNoted) {
  auto t = Parse("date,close,exchange\n2014-01-02,1,NYSE\n");
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->field_names, std::vector<std::string>{"close"});
  ASSERT_EQ(t->notes.size(), 1u);
  EXPECT_NE(t->notes[0].find("exchange"), std::string::npos);
}

// The malformed-input corpus: each gives a clear error naming file, line and problem.
TEST(CsvReaderTest, MalformedCorpus) {
  EXPECT_EQ(Error(""), "t.csv: file is empty; expected a header line and data rows");
  EXPECT_EQ(Error("\n\n"), "t.csv: file is empty; expected a header line and data rows");
  EXPECT_EQ(Error("date,close\n"), "t.csv: no data rows after the header");
  EXPECT_EQ(Error("date,close\n2014-01-02,1\n2014-01-03\n"),
            "t.csv:3: expected 2 fields (as in the header), got 1 (truncated last line?): "
            "'2014-01-03\\x0a'");
  EXPECT_EQ(Error("date,close\n2014-01-02,1.2.3\n"),
            "t.csv:2: column 'close': expected a number, got '1.2.3'");
  EXPECT_EQ(Error("date,close\n2014-01-02,abc\n"),
            "t.csv:2: column 'close': expected a number, got 'abc'");
  EXPECT_EQ(Error("date,close\n2014-01-02,inf\n"),
            "t.csv:2: column 'close': expected a finite number, got 'inf'");
  EXPECT_EQ(Error("date,close\n2014-13-02,1\n"),
            "t.csv:2: column 'date': expected a date such as 2013-02-08, a date-time, or an epoch "
            "number (or give "
            "--date-format), got '2014-13-02'");
  EXPECT_EQ(
      Error("date,close\n2014-01-02,1\nyesterday,2\n"),
      "t.csv:3: column 'date': expected a date or date-time like the first row, got 'yesterday'");
  EXPECT_EQ(Error("date,close,Close\n2014-01-02,1,2\n"),
            "t.csv: duplicate header column 'Close' (columns 2 and 3)");
  EXPECT_EQ(
      Error("date,close,last\n2014-01-02,1,2\n"),
      "t.csv: columns 'close' and 'last' both mean field 'close'; map one explicitly or ignore it");
  EXPECT_EQ(Error("open,close\n1,2\n"),
            "t.csv: no time column found in header (open,close); expected one named date, datetime "
            "or timestamp, or "
            "map it with --time-col");
  EXPECT_EQ(Error("date,close,Name\n2014-01-02,1,\n", Daily(), ""),
            "t.csv:2: column 'Name': symbol is empty");
  EXPECT_EQ(Error("date,close\n2014-01-02,\"1\n"), "t.csv:2: malformed quotes");
  // Wrong encodings.
  EXPECT_EQ(Error(std::string_view("d\0a\0t\0e\0", 8)),
            "t.csv: file contains NUL bytes; expected UTF-8 or ASCII text (is it binary, or UTF-16 "
            "without a "
            "byte-order mark?)");
  EXPECT_EQ(Error("d\xe9te,close\n2014-01-02,1\n"),
            "t.csv:1: header is not valid UTF-8 ('d\\xe9te'); expected UTF-8 or ASCII text");
  EXPECT_EQ(Error("date,close,Name\n2014-01-02,1,Soci\xe9t\xe9\n", Daily(), ""),
            "t.csv:2: column 'Name': symbol is not valid UTF-8 ('Soci\\xe9t\\xe9')");
}

TEST(CsvReaderTest, MissingMappedColumnIsInvalidArgument) {
  CsvOptions o = Daily();
  o.mapping.fields = {{"close", "PRICE"}};
  auto r = Parse("date,close\n2014-01-02,1\n", "X", o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(r.status().message(),
            "t.csv: field 'close' column 'PRICE' is not in the header (date,close)");
}

TEST(CsvReaderTest, HeaderlessBinanceStyleFile) {
  CsvOptions o;
  o.labeler = TimeLabeler(false, TimeZone());
  o.headerless_names = {"open_time", "open", "close"};
  auto t = Parse("1637971200000,0.00002853,0.00002854\n", "ADABTC", o);
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->line[0], 1u);
  EXPECT_EQ(t->fields[1][0], 0.00002854);
  // A header line is still used when present.
  auto h = Parse("open_time,open,close\n1637971200000,1,2\n", "ADABTC", o);
  ASSERT_TRUE(h.ok());
  EXPECT_EQ(h->fields[1][0], 2.0);
}

TEST(CsvReaderTest, ReadsGzipAndNamesSymbolFromFile) {
  TempDir dir;
  const std::string text = "date,close\n2014-01-02,1.25\n";
  const auto path = dir / "MSFT.csv.gz";
  gzFile gz = gzopen(path.c_str(), "wb");
  gzwrite(gz, text.data(), static_cast<unsigned>(text.size()));
  gzclose(gz);
  auto t = ReadCsvFile(path, Daily());
  ASSERT_TRUE(t.ok()) << t.status().ToString();
  EXPECT_EQ(t->symbols[0], "MSFT");
  EXPECT_EQ(t->fields[0][0], 1.25);

  CsvOptions pattern = Daily();
  pattern.mapping.symbol_pattern = "(.+)_carrydata";
  auto p = ReadCsvFile(dir.Write("CORN_carrydata.csv", text), pattern);
  ASSERT_TRUE(p.ok()) << p.status().ToString();
  EXPECT_EQ(p->symbols[0], "CORN");
  auto miss = ReadCsvFile(dir.Write("CORN.csv", text), pattern);
  EXPECT_EQ(miss.status().code(), StatusCode::kInvalidArgument);

  // A truncated gzip stream is reported, not half-read.
  std::string whole;
  {
    std::ifstream in(path, std::ios::binary);
    whole.assign(std::istreambuf_iterator<char>(in), {});
  }
  auto cut = ReadCsvFile(dir.Write("CUT.csv.gz", whole.substr(0, whole.size() / 2)), Daily());
  ASSERT_FALSE(cut.ok());
  EXPECT_NE(cut.status().message().find("CUT.csv.gz: not a valid gzip stream"), std::string::npos)
      << cut.status().message();
}

}  // namespace
}  // namespace qraft::data::io
