#include "qraft/data/io/qlib_io.h"

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <initializer_list>
#include <limits>
#include <map>
#include <random>
#include <sstream>
#include <string>
#include <vector>

#include "qraft/data/assemble.h"
#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

namespace fs = std::filesystem;
using testing::TempDir;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

std::string ReadBytes(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// float32 little-endian bytes, as a Qlib .bin holds them.
std::string LeFloats(std::initializer_list<float> values) {
  std::string out;
  for (float v : values) {
    const auto u = std::bit_cast<std::uint32_t>(v);
    for (int b = 0; b < 4; ++b)
      out += static_cast<char>((u >> (8 * b)) & 0xff);
  }
  return out;
}

std::vector<float> DecodeBin(const fs::path& p) {
  const std::string bytes = ReadBytes(p);
  std::vector<float> out(bytes.size() / 4);
  for (std::size_t i = 0; i < out.size(); ++i) {
    std::uint32_t u = 0;
    for (int b = 0; b < 4; ++b)
      u |= static_cast<std::uint32_t>(static_cast<unsigned char>(bytes[4 * i + b])) << (8 * b);
    out[i] = std::bit_cast<float>(u);
  }
  return out;
}

// Every regular file under `dir` (relative path -> bytes), README.md excluded.
std::map<std::string, std::string> Tree(const fs::path& dir) {
  std::map<std::string, std::string> out;
  for (const auto& e : fs::recursive_directory_iterator(dir)) {
    if (!e.is_regular_file() || e.path().filename() == "README.md") continue;
    out[fs::relative(e.path(), dir).string()] = ReadBytes(e.path());
  }
  return out;
}

Calendar Days(std::initializer_list<CivilDate> days) {
  std::vector<Timestamp> t;
  for (const CivilDate& d : days)
    t.push_back(DateTimestamp(d.year, d.month, d.day));
  return Calendar(std::move(t));
}

// fields: name -> per symbol, per time value.
Panel MakePanel(
    const Calendar& cal, std::vector<std::string> symbols,
    const std::vector<std::pair<std::string, std::vector<std::vector<double>>>>& fields) {
  PanelBuilder b(cal, std::move(symbols));
  for (const auto& [name, rows] : fields) {
    std::span<double> data = b.AddField(name);
    for (std::size_t s = 0; s < rows.size(); ++s) {
      for (std::size_t t = 0; t < rows[s].size(); ++t)
        data[s * cal.size() + t] = rows[s][t];
    }
  }
  return std::move(b).Build();
}

const SourceTable* FindTable(const QlibData& q, std::string_view symbol) {
  for (const SourceTable& t : q.tables) {
    if (t.symbols.size() == 1 && t.symbols[0] == symbol) return &t;
  }
  return nullptr;
}

const std::vector<double>& Column(const SourceTable& t, std::string_view field) {
  const int i = t.FieldIndex(field);
  EXPECT_GE(i, 0) << field;
  return t.fields.at(static_cast<std::size_t>(i < 0 ? 0 : i));
}

// ReadQlibDir -> Assemble on the read calendar -> Panel.
Panel ReadAsPanel(const fs::path& dir, Frequency freq, const TimeZone& tz) {
  auto q = ReadQlibDir(dir, freq, tz);
  EXPECT_TRUE(q.ok()) << q.status().ToString();
  if (!q.ok()) return Panel();
  AssembleOptions opt;
  opt.freq = freq;
  opt.tz = tz;
  opt.calendar = q->calendar;
  auto a = Assemble(std::move(q->tables), opt);
  EXPECT_TRUE(a.ok()) << a.status().ToString();
  if (!a.ok()) return Panel();
  return std::move(a->panel);
}

fs::path FixtureDir() {
  // Next to this file in the source tree; __FILE__ is absolute in CMake builds.
  fs::path here = fs::path(__FILE__).parent_path() / "testdata" / "qlib_mock";
  if (fs::exists(here)) return here;
  const char* src = std::getenv("QRAFT_SOURCE_DIR");
  return fs::path(src ? src : ".") / "src" / "qraft" / "data" / "io" / "testdata" / "qlib_mock";
}

void ExpectError(const Status& st, StatusCode code, std::initializer_list<std::string_view> parts) {
  EXPECT_EQ(st.code(), code) << st.ToString();
  for (std::string_view p : parts)
    EXPECT_NE(st.message().find(p), std::string_view::npos)
        << "'" << p << "' not in: " << st.message();
}

// A valid one-symbol daily directory to break in the error tests.
void WriteSmallDir(const TempDir& d) {
  d.Write("q/calendars/day.txt", "2020-01-02\n2020-01-03\n2020-01-06\n");
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-02\t2020-01-06\n");
  d.Write("q/features/sh600000/close.day.bin", LeFloats({0.0f, 1.0f, 2.0f, 3.0f}));
}

// ---------------------------------------------------------------------------------------------

TEST(QlibIo, FrequencyNames) {
  auto name = [](std::string_view f) { return QlibFreqName(*Frequency::Parse(f)); };
  EXPECT_EQ(name("1d"), "day");
  EXPECT_EQ(name("1m"), "1min");
  EXPECT_EQ(name("5m"), "5min");
  EXPECT_EQ(name("1h"), "60min");
  EXPECT_EQ(name("2h"), "120min");
  EXPECT_EQ(name("1w"), "week");
  EXPECT_EQ(name("1mo"), "month");
}

TEST(QlibIo, IsQlibDir) {
  TempDir d;
  EXPECT_FALSE(IsQlibDir(d.path()));
  fs::create_directories(d / "calendars");
  EXPECT_FALSE(IsQlibDir(d.path()));
  fs::create_directories(d / "features");
  EXPECT_TRUE(IsQlibDir(d.path()));
  EXPECT_TRUE(IsQlibDir(FixtureDir()));
}

// (1) Exact bytes of what WriteQlibDir produces.
TEST(QlibIo, WriteGoldenBytes) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}, {2024, 1, 3}, {2024, 1, 4}, {2024, 1, 5}});
  const Panel p = MakePanel(cal, {"AAA", "BBB"},
                            {{"close", {{10, 11, kNaN, 12.5}, {kNaN, 20, 21.25, kNaN}}},
                             {"volume", {{100, 200, kNaN, 300}, {kNaN, 5, kNaN, kNaN}}}});
  const fs::path out = d / "qlib";
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), out).ok());

  EXPECT_EQ(ReadBytes(out / "calendars/day.txt"),
            "2024-01-02\n2024-01-03\n2024-01-04\n2024-01-05\n");
  // BBB: first..last bar with any value = 2024-01-03..2024-01-04 (calendar indices 1..2).
  EXPECT_EQ(ReadBytes(out / "instruments/all.txt"),
            "AAA\t2024-01-02\t2024-01-05\nBBB\t2024-01-03\t2024-01-04\n");
  // start index 1.0f = 0x3f800000, 20.0f = 0x41a00000, 21.25f = 0x41aa0000.
  EXPECT_EQ(ReadBytes(out / "features/bbb/close.day.bin"),
            std::string("\x00\x00\x80\x3f\x00\x00\xa0\x41\x00\x00\xaa\x41", 12));
  // NaN is the quiet float32 NaN 0x7fc00000, as numpy writes it.
  EXPECT_EQ(ReadBytes(out / "features/bbb/volume.day.bin"),
            std::string("\x00\x00\x80\x3f\x00\x00\xa0\x40\x00\x00\xc0\x7f", 12));
  EXPECT_EQ(ReadBytes(out / "features/aaa/close.day.bin"),
            LeFloats({0.0f, 10.0f, 11.0f, NAN, 12.5f}));
  EXPECT_EQ(ReadBytes(out / "features/aaa/close.day.bin").substr(12, 4),
            std::string("\x00\x00\xc0\x7f", 4));
  EXPECT_EQ(ReadBytes(out / "features/aaa/volume.day.bin"),
            LeFloats({0.0f, 100.0f, 200.0f, NAN, 300.0f}));

  // Exactly these files, and no temporary directory left beside the output.
  const auto tree = Tree(out);
  std::vector<std::string> names;
  for (const auto& [k, v] : tree)
    names.push_back(k);
  EXPECT_EQ(names,
            (std::vector<std::string>{"calendars/day.txt", "features/aaa/close.day.bin",
                                      "features/aaa/volume.day.bin", "features/bbb/close.day.bin",
                                      "features/bbb/volume.day.bin", "instruments/all.txt"}));
  std::size_t siblings = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path()))
    ++siblings;
  EXPECT_EQ(siblings, 1u);

  // Reading it back gives the same values (exact: they are float32 numbers).
  auto q = ReadQlibDir(out, Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->calendar, cal);
  EXPECT_EQ(q->instruments,
            (std::vector<InstrumentSpan>{{"AAA", cal[0], cal[3]}, {"BBB", cal[1], cal[2]}}));
  ASSERT_EQ(q->tables.size(), 2u);
  EXPECT_EQ(q->tables[0].symbols, std::vector<std::string>{"AAA"});
  EXPECT_EQ(q->tables[1].symbols, std::vector<std::string>{"BBB"});
  const SourceTable& bbb = q->tables[1];
  EXPECT_EQ(bbb.time, (std::vector<Timestamp>{cal[1], cal[2]}));
  EXPECT_EQ(bbb.symbol, (std::vector<std::uint32_t>{0, 0}));
  EXPECT_EQ(bbb.field_names, (std::vector<std::string>{"close", "volume"}));
  EXPECT_EQ(Column(bbb, "close"), (std::vector<double>{20.0, 21.25}));
  EXPECT_EQ(Column(bbb, "volume")[0], 5.0);
  EXPECT_TRUE(std::isnan(Column(bbb, "volume")[1]));
  EXPECT_EQ(bbb.source, (out / "features" / "bbb").string());
}

TEST(QlibIo, WriteSkipsSymbolsWithoutDataAndRefusesExistingDir) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}, {2024, 1, 3}});
  const Panel p = MakePanel(cal, {"AAA", "EMPTY"}, {{"close", {{1, 2}, {kNaN, kNaN}}}});
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "q").ok());
  EXPECT_EQ(ReadBytes(d / "q/instruments/all.txt"), "AAA\t2024-01-02\t2024-01-03\n");
  EXPECT_FALSE(fs::exists(d / "q/features/empty"));

  const Status again = WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "q");
  ExpectError(again, StatusCode::kAlreadyExists, {(d / "q").string(), "already exists"});
}

TEST(QlibIo, WriteCastsToFloat32WithInfinityBeyondItsRange) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}, {2024, 1, 3}, {2024, 1, 4}, {2024, 1, 5}});
  const Panel p = MakePanel(cal, {"A"}, {{"x", {{0.1, 1e39, -1e300, 16777217.0}}}});
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "q").ok());
  // 0.1 rounds to the nearest float32; 2^24 + 1 rounds to 2^24 (ties to even).
  EXPECT_EQ(ReadBytes(d / "q/features/a/x.day.bin"),
            LeFloats({0.0f, 0.1f, INFINITY, -INFINITY, 16777216.0f}));
}

// (3) Raw <-> adjusted, including NaN and zero factors.
TEST(QlibIo, FactorAdjustsPricesAndVolumeBothWays) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}, {2024, 1, 3}, {2024, 1, 4}, {2024, 1, 5}, {2024, 1, 8}});
  // factor: 1, 0.5, NaN (no adjustment), 4, 0 (treated as no adjustment).
  const Panel p = MakePanel(cal, {"X"},
                            {{"open", {{10, 20, 30, 40, 50}}},
                             {"high", {{11, 21, 31, 41, 51}}},
                             {"low", {{9, 19, 29, 39, 49}}},
                             {"close", {{10.5, 20.5, 30.5, 40.5, 50.5}}},
                             {"vwap", {{10.25, 20.25, 30.25, 40.25, 50.25}}},
                             {"volume", {{1000, 2000, 3000, 4000, 5000}}},
                             {"amount", {{7, 8, 9, 10, 11}}},
                             {"factor", {{1.0, 0.5, kNaN, 4.0, 0.0}}}});
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "q").ok());
  const fs::path f = d / "q/features/x";
  EXPECT_EQ(ReadBytes(f / "close.day.bin"), LeFloats({0, 10.5f, 10.25f, 30.5f, 162.0f, 50.5f}));
  EXPECT_EQ(ReadBytes(f / "open.day.bin"), LeFloats({0, 10, 10, 30, 160, 50}));
  EXPECT_EQ(ReadBytes(f / "high.day.bin"), LeFloats({0, 11, 10.5f, 31, 164, 51}));
  EXPECT_EQ(ReadBytes(f / "low.day.bin"), LeFloats({0, 9, 9.5f, 29, 156, 49}));
  EXPECT_EQ(ReadBytes(f / "vwap.day.bin"), LeFloats({0, 10.25f, 10.125f, 30.25f, 161, 50.25f}));
  EXPECT_EQ(ReadBytes(f / "volume.day.bin"), LeFloats({0, 1000, 4000, 3000, 1000, 5000}));
  EXPECT_EQ(ReadBytes(f / "amount.day.bin"),
            LeFloats({0, 7, 8, 9, 10, 11}));  // not a price: unchanged
  EXPECT_EQ(ReadBytes(f / "factor.day.bin"), LeFloats({0, 1, 0.5f, NAN, 4, 0}));

  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->tables.size(), 1u);
  const SourceTable& t = q->tables[0];
  for (std::size_t k = 0; k < p.num_fields(); ++k) {
    const std::vector<double>& got = Column(t, p.field_names()[k]);
    for (std::size_t r = 0; r < cal.size(); ++r) {
      const double want = p.at(k, 0, r);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got[r])) << p.field_names()[k] << " row " << r;
      } else {
        EXPECT_EQ(got[r], want) << p.field_names()[k] << " row " << r;
      }
    }
  }
}

TEST(QlibIo, ReadConvertsAdjustedToRaw) {
  // Hand-written the Qlib way: adjusted close 3 with factor 0.75 is raw 4; volume 100 is raw 75.
  TempDir d;
  d.Write("q/calendars/day.txt", "2020-01-02\n2020-01-03\n2020-01-06\n");
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-02\t2020-01-06\n");
  d.Write("q/features/sh600000/close.day.bin", LeFloats({1.0f, 3.0f, 0.1f}));
  d.Write("q/features/sh600000/volume.day.bin", LeFloats({1.0f, 100.0f, 10.0f}));
  d.Write("q/features/sh600000/factor.day.bin", LeFloats({1.0f, 0.75f, NAN}));
  d.Write("q/features/sh600000/change.day.bin", LeFloats({0.0f, NAN, 0.5f, -0.25f}));
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->tables.size(), 1u);
  const SourceTable& t = q->tables[0];
  EXPECT_EQ(t.symbols, std::vector<std::string>{"SH600000"});
  // Rows: the union of the files' ranges, indices 0..2.
  EXPECT_EQ(t.time, (std::vector<Timestamp>{DateTimestamp(2020, 1, 2), DateTimestamp(2020, 1, 3),
                                            DateTimestamp(2020, 1, 6)}));
  EXPECT_EQ(t.field_names, (std::vector<std::string>{"change", "close", "factor", "volume"}));
  EXPECT_TRUE(std::isnan(Column(t, "close")[0]));
  EXPECT_EQ(Column(t, "close")[1], 4.0);
  EXPECT_EQ(Column(t, "close")[2], static_cast<double>(0.1f));  // NaN factor: kept as stored
  EXPECT_EQ(Column(t, "volume")[1], 75.0);
  EXPECT_EQ(Column(t, "volume")[2], 10.0);
  EXPECT_EQ(Column(t, "factor")[1], 0.75);
  EXPECT_TRUE(std::isnan(Column(t, "factor")[2]));
  EXPECT_EQ(Column(t, "change")[1], 0.5);  // not a price: never divided
  EXPECT_EQ(Column(t, "change")[2], -0.25);
}

// (2) Qlib directory (written by Qlib's own storage classes) -> Qraft -> Qlib directory: same
// bytes.
TEST(QlibIo, RoundTripOfQlibWrittenFixtureIsByteIdentical) {
  const fs::path fixture = FixtureDir();
  ASSERT_TRUE(fs::exists(fixture / "calendars/day.txt")) << fixture;
  TempDir d;
  const Panel p = ReadAsPanel(fixture, Frequency::Daily(), TimeZone());
  EXPECT_EQ(p.symbols().names(), (std::vector<std::string>{"0050", "1101"}));
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "out").ok());
  const auto want = Tree(fixture);
  const auto got = Tree(d / "out");
  ASSERT_EQ(want.size(), 16u);  // calendar, all.txt, 2 x 7 fields
  ASSERT_EQ(got.size(), want.size());
  for (const auto& [name, bytes] : want) {
    auto it = got.find(name);
    ASSERT_NE(it, got.end()) << name;
    EXPECT_TRUE(it->second == bytes) << name << " differs";
  }
}

TEST(QlibIo, RoundTripOfRandomPanelWithFactorIsByteIdentical) {
  // Many symbols (parallel chunks), gaps, NaN factors, ragged spans.
  TempDir d;
  std::vector<Timestamp> days;
  for (int i = 0; i < 60; ++i)
    days.push_back(DateTimestamp(2023, 1, 2) + i * kNanosPerDay);
  const Calendar cal(days);
  std::vector<std::string> symbols;
  for (int s = 0; s < 37; ++s)
    symbols.push_back(fmt::format("S{:03d}", s));
  std::mt19937 rng(42);
  std::uniform_real_distribution<double> u(1.0, 500.0);
  std::vector<std::pair<std::string, std::vector<std::vector<double>>>> fields;
  for (const char* name : {"open", "high", "low", "close", "volume", "vwap", "factor", "change"}) {
    fields.push_back({name, std::vector<std::vector<double>>(
                                symbols.size(), std::vector<double>(days.size(), kNaN))});
  }
  for (std::size_t s = 0; s < symbols.size(); ++s) {
    const std::size_t first = s % 7, last = days.size() - 1 - s % 5;
    for (std::size_t t = first; t <= last; ++t) {
      if ((s + t) % 11 == 0) continue;  // suspension
      for (auto& [name, rows] : fields) {
        rows[s][t] = name == std::string("factor")
                         ? ((s + t) % 13 == 0 ? kNaN : 0.25 * static_cast<double>(1 + t / 20))
                         : u(rng);
      }
    }
  }
  const Panel p = MakePanel(cal, symbols, fields);
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "a").ok());
  const Panel back = ReadAsPanel(d / "a", Frequency::Daily(), TimeZone());
  EXPECT_EQ(back.symbols().names(), symbols);
  ASSERT_TRUE(WriteQlibDir(back, Frequency::Daily(), TimeZone(), d / "b").ok());
  const auto a = Tree(d / "a"), b = Tree(d / "b");
  EXPECT_EQ(a.size(), 2 + symbols.size() * fields.size());
  EXPECT_TRUE(a == b);

  // Values come back as the float32 of the raw input (relative error of float32, no more).
  const std::size_t close = *p.FindField("close");
  const std::size_t back_close = *back.FindField("close");
  for (std::size_t s = 0; s < symbols.size(); ++s) {
    for (std::size_t t = 0; t < days.size(); ++t) {
      const double want = p.at(close, s, t), got = back.at(back_close, s, t);
      if (std::isnan(want)) {
        EXPECT_TRUE(std::isnan(got));
      } else {
        EXPECT_NEAR(got, want, want * 2e-7) << symbols[s] << " " << t;
      }
    }
  }
}

// (6) Qlib's own writer: values equal the mock CSV inputs as float32, prices raw again.
std::vector<std::vector<std::string>> ReadCsv(const fs::path& p) {
  std::vector<std::vector<std::string>> rows;
  std::ifstream in(p);
  std::string line;
  while (std::getline(in, line)) {
    std::vector<std::string> cells;
    std::stringstream ss(line);
    std::string c;
    while (std::getline(ss, c, ','))
      cells.push_back(c);
    rows.push_back(cells);
  }
  return rows;
}

TEST(QlibIo, ReadsQlibWrittenFixtureAsRawCsvValues) {
  const fs::path fixture = FixtureDir();
  const fs::path golden = fs::path(testing::SharedData()) / ".." / "reference" / "qlib" / "golden";
  auto q = ReadQlibDir(fixture, Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->calendar.size(), 55u);
  EXPECT_EQ(q->calendar.front(), DateTimestamp(2021, 12, 1));
  EXPECT_EQ(q->calendar.back(), DateTimestamp(2022, 2, 25));
  EXPECT_EQ(q->instruments, (std::vector<InstrumentSpan>{
                                {"0050", DateTimestamp(2022, 1, 3), DateTimestamp(2022, 1, 26)},
                                {"1101", DateTimestamp(2021, 12, 1), DateTimestamp(2022, 2, 25)}}));
  ASSERT_EQ(q->tables.size(), 2u);

  // The script dropped 0050's 2022-01-12 (a suspension) and set factor 0.5 from 2022-01-17.
  const Timestamp suspended = DateTimestamp(2022, 1, 12), split = DateTimestamp(2022, 1, 17);
  const SourceTable* t0050 = FindTable(*q, "0050");
  ASSERT_NE(t0050, nullptr);
  EXPECT_EQ(t0050->rows(), 18u);  // 17 CSV rows kept + the NaN suspension row
  for (std::size_t r = 0; r < t0050->rows(); ++r) {
    if (t0050->time[r] != suspended) continue;
    for (const auto& col : t0050->fields)
      EXPECT_TRUE(std::isnan(col[r]));
  }

  if (!fs::exists(golden / "input_mock_0050.csv"))
    GTEST_SKIP() << "mock CSVs not found at " << golden;
  std::size_t checked = 0;
  for (const std::string sym : {"0050", "1101"}) {
    const auto csv = ReadCsv(golden / fmt::format("input_mock_{}.csv", sym));
    const SourceTable* t = FindTable(*q, sym);
    ASSERT_NE(t, nullptr) << sym;
    for (std::size_t i = 1; i < csv.size(); ++i) {
      const Timestamp day = ParseIsoDateTime(csv[i][0])->value;
      if (sym == "0050" && day == suspended) continue;
      const auto r = static_cast<std::size_t>(std::find(t->time.begin(), t->time.end(), day) -
                                              t->time.begin());
      ASSERT_LT(r, t->rows()) << sym << " " << csv[i][0];
      for (std::size_t c = 1; c < csv[0].size(); ++c) {
        const double want = static_cast<float>(std::stod(csv[i][c]));  // raw price, as float32
        EXPECT_EQ(Column(*t, csv[0][c])[r], want) << sym << " " << csv[i][0] << " " << csv[0][c];
        ++checked;
      }
      EXPECT_EQ(Column(*t, "factor")[r], day < split ? 1.0 : 0.5);
    }
  }
  EXPECT_EQ(checked, (17u + 55u) * 6u);

  // And the file really holds adjusted prices: 0050 close on 2022-01-17 is 152 raw, 76 stored.
  const std::vector<float> stored = DecodeBin(fixture / "features/0050/close.day.bin");
  EXPECT_EQ(stored[0], 22.0f);  // 2022-01-03 is calendar index 22
  EXPECT_EQ(stored[1 + 10], 76.0f);
}

// (4) Several spans per symbol, reserved names, case-insensitive directory matching.
TEST(QlibIo, MultiSpanInstruments) {
  TempDir d;
  d.Write("q/calendars/day.txt", "2020-01-02\n2020-01-03\n2020-01-06\n2020-01-07\n2020-01-08\n");
  d.Write("q/instruments/all.txt",
          "SH600000\t2020-01-02\t2020-01-03\nSZ000001\t2020-01-02\t2020-01-08\nSH600000\t2020-01-"
          "07\t2020-01-08\n");
  d.Write("q/features/sh600000/close.day.bin", LeFloats({0, 1, 2, NAN, 4, 5}));
  d.Write("q/features/sz000001/close.day.bin", LeFloats({2, 7}));
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->instruments,
            (std::vector<InstrumentSpan>{
                {"SH600000", DateTimestamp(2020, 1, 2), DateTimestamp(2020, 1, 3)},
                {"SH600000", DateTimestamp(2020, 1, 7), DateTimestamp(2020, 1, 8)},
                {"SZ000001", DateTimestamp(2020, 1, 2), DateTimestamp(2020, 1, 8)}}));
  // The data is not clipped to the spans: the file's whole range is read.
  const SourceTable* t = FindTable(*q, "SH600000");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->rows(), 5u);
  EXPECT_EQ(Column(*t, "close")[4], 5.0);
  const SourceTable* z = FindTable(*q, "SZ000001");
  ASSERT_NE(z, nullptr);
  EXPECT_EQ(z->time, std::vector<Timestamp>{DateTimestamp(2020, 1, 6)});
}

TEST(QlibIo, ReservedNamesGetQlibPrefix) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}, {2024, 1, 3}});
  const Panel p = MakePanel(cal, {"AAPL", "CON", "com1", "lpt9", "NULX"},
                            {{"close", {{1, 2}, {3, 4}, {5, 6}, {7, 8}, {9, 10}}}});
  ASSERT_TRUE(WriteQlibDir(p, Frequency::Daily(), TimeZone(), d / "q").ok());
  EXPECT_TRUE(fs::exists(d / "q/features/aapl/close.day.bin"));
  EXPECT_TRUE(fs::exists(d / "q/features/_qlib_con/close.day.bin"));
  EXPECT_TRUE(fs::exists(d / "q/features/_qlib_com1/close.day.bin"));
  EXPECT_TRUE(fs::exists(d / "q/features/_qlib_lpt9/close.day.bin"));
  EXPECT_TRUE(fs::exists(d / "q/features/nulx/close.day.bin"));  // not a device name
  EXPECT_EQ(
      ReadBytes(d / "q/instruments/all.txt"),
      "AAPL\t2024-01-02\t2024-01-03\nCON\t2024-01-02\t2024-01-03\nNULX\t2024-01-02\t2024-01-03\n"
      "com1\t2024-01-02\t2024-01-03\nlpt9\t2024-01-02\t2024-01-03\n");

  // Symbols come back as all.txt spells them.
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<std::string> names;
  for (const SourceTable& t : q->tables)
    names.push_back(t.symbols.at(0));
  EXPECT_EQ(names, (std::vector<std::string>{"AAPL", "CON", "NULX", "com1", "lpt9"}));
  EXPECT_EQ(Column(*FindTable(*q, "CON"), "close"), (std::vector<double>{3, 4}));

  // Without all.txt: directory names upper-cased, the prefix removed only before a device name.
  fs::remove(d / "q/instruments/all.txt");
  fs::create_directories(d / "q/features/_qlib_foo");
  fs::copy_file(d / "q/features/aapl/close.day.bin", d / "q/features/_qlib_foo/close.day.bin");
  q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_TRUE(q->instruments.empty());
  names.clear();
  for (const SourceTable& t : q->tables)
    names.push_back(t.symbols.at(0));
  EXPECT_EQ(names, (std::vector<std::string>{"AAPL", "COM1", "CON", "LPT9", "NULX", "_QLIB_FOO"}));
}

TEST(QlibIo, DirectoriesMatchInstrumentsCaseInsensitively) {
  TempDir d;
  d.Write("q/calendars/day.txt", "2020-01-02\n");
  d.Write("q/instruments/all.txt",
          "SH600000\t2020-01-02\t2020-01-02\nbtcUsdt\t2020-01-02\t2020-01-02\n");
  d.Write("q/features/sh600000/close.day.bin", LeFloats({0, 1}));
  d.Write("q/features/BTCUSDT/close.day.bin",
          LeFloats({0, 2}));  // not how Qlib writes it, still found
  d.Write("q/features/ethusdt/close.day.bin", LeFloats({0, 3}));  // no instruments line
  d.Write("q/features/aapl/close.1min.bin", LeFloats({0, 4}));    // another frequency only: skipped
  d.Write("q/features/sh600000/close.1min.bin", LeFloats({0, 5}));
  d.Write("q/features/sh600000/notes.txt", "ignored");
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  std::vector<std::string> names;
  for (const SourceTable& t : q->tables)
    names.push_back(t.symbols.at(0));
  EXPECT_EQ(names, (std::vector<std::string>{"ETHUSDT", "SH600000", "btcUsdt"}));
  EXPECT_EQ(Column(*FindTable(*q, "btcUsdt"), "close")[0], 2.0);
  EXPECT_EQ(FindTable(*q, "SH600000")->field_names, std::vector<std::string>{"close"});
}

TEST(QlibIo, IntradayCalendarInMarketTimeZone) {
  auto tz = TimeZone::Find("America/New_York");
  ASSERT_TRUE(tz.ok());
  const Frequency freq = *Frequency::Parse("30m");
  // EST (UTC-5) on 2024-03-08, EDT (UTC-4) on 2024-03-11.
  const Timestamp a = DateTimestamp(2024, 3, 8) + 14 * kNanosPerHour + 30 * kNanosPerMinute;
  const Timestamp b = a + 30 * kNanosPerMinute;
  const Timestamp c = DateTimestamp(2024, 3, 11) + 13 * kNanosPerHour + 30 * kNanosPerMinute;
  const Calendar cal({a, b, c});
  const Panel p = MakePanel(cal, {"SPY", "QQQ"}, {{"close", {{500, 501, 502}, {kNaN, 400, 401}}}});
  TempDir d;
  ASSERT_TRUE(WriteQlibDir(p, freq, *tz, d / "q").ok());
  EXPECT_EQ(ReadBytes(d / "q/calendars/30min.txt"),
            "2024-03-08 09:30:00\n2024-03-08 10:00:00\n2024-03-11 09:30:00\n");
  EXPECT_EQ(ReadBytes(d / "q/instruments/all.txt"),
            "QQQ\t2024-03-08 10:00:00\t2024-03-11 09:30:00\nSPY\t2024-03-08 09:30:00\t2024-03-11 "
            "09:30:00\n");
  EXPECT_EQ(ReadBytes(d / "q/features/qqq/close.30min.bin"), LeFloats({1, 400, 401}));

  auto q = ReadQlibDir(d / "q", freq, *tz);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->calendar, cal);
  EXPECT_EQ(q->instruments, (std::vector<InstrumentSpan>{{"QQQ", b, c}, {"SPY", a, c}}));
  EXPECT_EQ(FindTable(*q, "QQQ")->time, (std::vector<Timestamp>{b, c}));

  // Round trip through a Panel: same bytes.
  const Panel back = ReadAsPanel(d / "q", freq, *tz);
  ASSERT_TRUE(WriteQlibDir(back, freq, *tz, d / "q2").ok());
  EXPECT_TRUE(Tree(d / "q") == Tree(d / "q2"));

  // Read in the wrong zone, the same text means other instants.
  auto utc = ReadQlibDir(d / "q", freq, TimeZone());
  ASSERT_TRUE(utc.ok());
  EXPECT_EQ(utc->calendar[0], a - 5 * kNanosPerHour);
}

TEST(QlibIo, IntradayInstrumentDatesCoverTheWholeLocalDay) {
  auto tz = TimeZone::Find("Asia/Shanghai");
  ASSERT_TRUE(tz.ok());
  TempDir d;
  d.Write("q/calendars/1min.txt",
          "2020-01-02 09:31:00\n2020-01-02 09:32:00\n2020-01-03 09:31:00\n");
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-02\t2020-01-03\n");
  d.Write("q/features/sh600000/close.1min.bin", LeFloats({1, 10.5f, 11}));
  auto q = ReadQlibDir(d / "q", *Frequency::Parse("1m"), *tz);
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  const Timestamp day2 = DateTimestamp(2020, 1, 2);
  EXPECT_EQ(q->calendar[0],
            day2 + 1 * kNanosPerHour + 31 * kNanosPerMinute);  // 09:31 CST = 01:31 UTC
  ASSERT_EQ(q->instruments.size(), 1u);
  EXPECT_EQ(q->instruments[0].start, day2 - 8 * kNanosPerHour);  // local midnight
  EXPECT_EQ(q->instruments[0].end,
            day2 + 2 * kNanosPerDay - 8 * kNanosPerHour - 1);  // end of 01-03 local
  const SourceTable* t = FindTable(*q, "SH600000");
  ASSERT_NE(t, nullptr);
  EXPECT_EQ(t->time, (std::vector<Timestamp>{q->calendar[1], q->calendar[2]}));
  EXPECT_EQ(Column(*t, "close"), (std::vector<double>{10.5, 11}));
}

TEST(QlibIo, WeekCalendarIsWrittenAsDumpBinDoes) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 1}, {2024, 1, 8}});
  const Panel p = MakePanel(cal, {"A"}, {{"close", {{1, 2}}}});
  ASSERT_TRUE(WriteQlibDir(p, *Frequency::Parse("1w"), TimeZone(), d / "q").ok());
  EXPECT_EQ(ReadBytes(d / "q/calendars/week.txt"), "2024-01-01 00:00:00\n2024-01-08 00:00:00\n");
  EXPECT_TRUE(fs::exists(d / "q/features/a/close.week.bin"));
  auto q = ReadQlibDir(d / "q", *Frequency::Parse("1w"), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->calendar, cal);
}

// (5) Errors name the file and what was expected.
TEST(QlibIo, ErrorMissingCalendar) {
  TempDir d;
  WriteSmallDir(d);
  auto q = ReadQlibDir(d / "q", *Frequency::Parse("1m"), TimeZone());
  ExpectError(q.status(), StatusCode::kNotFound, {"calendars/1min.txt", "calendars present: day"});
  fs::remove_all(d / "q/features");
  q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ExpectError(q.status(), StatusCode::kNotFound, {"features", "no such directory"});
}

TEST(QlibIo, ErrorBinSizes) {
  TempDir d;
  WriteSmallDir(d);
  d.Write("q/features/sh600000/close.day.bin", std::string("\x00\x00", 2));
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"sh600000/close.day.bin", "2 bytes", "multiple of 4"});
  d.Write("q/features/sh600000/close.day.bin", LeFloats({0, 1}) + "x");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"sh600000/close.day.bin", "9 bytes"});
  d.Write("q/features/sh600000/close.day.bin", "");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"sh600000/close.day.bin", "0 bytes"});
  // Just the start index: a valid, empty series.
  d.Write("q/features/sh600000/close.day.bin", LeFloats({0}));
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  ASSERT_EQ(q->tables.size(), 1u);
  EXPECT_EQ(q->tables[0].rows(), 0u);
}

TEST(QlibIo, ErrorBadStartIndex) {
  TempDir d;
  WriteSmallDir(d);
  for (float bad : {-1.0f, 1.5f, NAN, INFINITY}) {
    d.Write("q/features/sh600000/close.day.bin", LeFloats({bad, 1}));
    ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(),
                StatusCode::kDataError, {"sh600000/close.day.bin", "not a non-negative integer"});
  }
  // Indices 2..3, but the calendar has 3 entries (0..2).
  d.Write("q/features/sh600000/close.day.bin", LeFloats({2, 1, 2}));
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"sh600000/close.day.bin", "2..3", "calendars/day.txt", "3 entries"});
  d.Write("q/features/sh600000/close.day.bin", LeFloats({2, 1}));  // last index exactly
  EXPECT_TRUE(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).ok());
}

TEST(QlibIo, ErrorBadCalendarLines) {
  TempDir d;
  WriteSmallDir(d);
  d.Write("q/calendars/day.txt", "2020-01-02\n\n2020-13-03\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"calendars/day.txt:3", "expected a date", "2020-13-03"});
  d.Write("q/calendars/day.txt", "2020-01-02\n2020-01-06\n2020-01-03\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"calendars/day.txt:3", "not after the previous line"});
  d.Write("q/calendars/day.txt", "2020-01-02\n2020-01-03 09:30:00\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"calendars/day.txt:2", "expected a date"});
  // CRLF, surrounding blanks and "00:00:00" are fine.
  d.Write("q/calendars/day.txt", "2020-01-02\r\n  2020-01-03 00:00:00 \r\n\r\n2020-01-06\r\n");
  auto q = ReadQlibDir(d / "q", Frequency::Daily(), TimeZone());
  ASSERT_TRUE(q.ok()) << q.status().ToString();
  EXPECT_EQ(q->calendar, Days({{2020, 1, 2}, {2020, 1, 3}, {2020, 1, 6}}));
}

TEST(QlibIo, ErrorIntradayCalendarInDstGap) {
  auto tz = TimeZone::Find("America/New_York");
  ASSERT_TRUE(tz.ok());
  TempDir d;
  d.Write("q/calendars/60min.txt", "2024-03-10 01:00:00\n2024-03-10 02:30:00\n");
  d.Write("q/features/x/close.60min.bin", LeFloats({0, 1}));
  ExpectError(ReadQlibDir(d / "q", *Frequency::Parse("1h"), *tz).status(), StatusCode::kDataError,
              {"calendars/60min.txt:2", "does not exist"});
}

TEST(QlibIo, ErrorBadInstrumentsLines) {
  TempDir d;
  WriteSmallDir(d);
  d.Write("q/instruments/all.txt",
          "SH600000\t2020-01-02\t2020-01-06\nSZ000001 2020-01-02 2020-01-06\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"instruments/all.txt:2", "SYMBOL<TAB>start<TAB>end"});
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-02\tsoon\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"instruments/all.txt:1", "soon"});
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-06\t2020-01-02\n");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"instruments/all.txt:1", "before start"});
  // Extra columns are ignored, as pandas usecols=[0,1,2] does.
  d.Write("q/instruments/all.txt", "SH600000\t2020-01-02\t2020-01-06\textra\n");
  EXPECT_TRUE(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).ok());
}

TEST(QlibIo, ErrorUnreadableFiles) {
  TempDir d;
  WriteSmallDir(d);
  // A directory where a file should be.
  fs::remove(d / "q/instruments/all.txt");
  fs::create_directories(d / "q/instruments/all.txt");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kIOError,
              {"instruments/all.txt", "not a regular file"});
  fs::remove_all(d / "q/instruments/all.txt");
  // A dangling link named like a feature file.
  fs::create_symlink(d / "nowhere", d / "q/features/sh600000/open.day.bin");
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kNotFound,
              {"sh600000/open.day.bin"});
  fs::remove(d / "q/features/sh600000/open.day.bin");
  if (::geteuid() != 0) {  // root reads anything
    ::chmod((d / "q/features/sh600000/close.day.bin").c_str(), 0);
    ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kIOError,
                {"sh600000/close.day.bin", "cannot open"});
  }
}

TEST(QlibIo, ErrorTwoDirectoriesForOneSymbol) {
  TempDir d;
  d.Write("q/calendars/day.txt", "2020-01-02\n");
  d.Write("q/features/_qlib_con/close.day.bin", LeFloats({0, 1}));
  d.Write("q/features/con/close.day.bin", LeFloats({0, 2}));
  ExpectError(ReadQlibDir(d / "q", Frequency::Daily(), TimeZone()).status(), StatusCode::kDataError,
              {"features/_qlib_con", "features/con", "symbol CON"});
}

TEST(QlibIo, ErrorUnsupportedInputsOnWrite) {
  TempDir d;
  const Calendar cal = Days({{2024, 1, 2}});
  ExpectError(WriteQlibDir(MakePanel(cal, {"A"}, {{"close", {{1}}}, {"Close", {{2}}}}),
                           Frequency::Daily(), TimeZone(), d / "q"),
              StatusCode::kInvalidArgument, {"'close'", "'Close'", "close.day.bin"});
  ExpectError(WriteQlibDir(MakePanel(cal, {"a/b"}, {{"close", {{1}}}}), Frequency::Daily(),
                           TimeZone(), d / "q"),
              StatusCode::kInvalidArgument, {"symbol 'a/b'"});
  ExpectError(WriteQlibDir(MakePanel(cal, {"abc", "ABC"}, {{"close", {{1}, {2}}}}),
                           Frequency::Daily(), TimeZone(), d / "q"),
              StatusCode::kInvalidArgument, {"features/abc"});
  ExpectError(WriteQlibDir(MakePanel(cal, {"A"}, {{"close", {{1}}}}), *Frequency::Parse("30s"),
                           TimeZone(), d / "q"),
              StatusCode::kInvalidArgument, {"30s"});
  ExpectError(ReadQlibDir(d / "q", *Frequency::Parse("tick"), TimeZone()).status(),
              StatusCode::kInvalidArgument, {"tick"});
  // Daily data must be dates.
  const Calendar odd({DateTimestamp(2024, 1, 2) + kNanosPerHour});
  ExpectError(WriteQlibDir(MakePanel(odd, {"A"}, {{"close", {{1}}}}), Frequency::Daily(),
                           TimeZone(), d / "q"),
              StatusCode::kInvalidArgument, {"not a date"});
  // Two UTC bars in the repeated hour of a DST change have the same local time.
  auto tz = TimeZone::Find("America/New_York");
  ASSERT_TRUE(tz.ok());
  const Timestamp first =
      DateTimestamp(2024, 11, 3) + 5 * kNanosPerHour + 30 * kNanosPerMinute;  // 01:30 EDT
  const Calendar fold({first, first + kNanosPerHour});                        // 01:30 EST
  ExpectError(WriteQlibDir(MakePanel(fold, {"A"}, {{"close", {{1, 2}}}}), *Frequency::Parse("1h"),
                           *tz, d / "q"),
              StatusCode::kInvalidArgument, {"2024-11-03 01:30:00", "America/New_York"});
  EXPECT_FALSE(fs::exists(d / "q"));
  std::size_t left = 0;
  for ([[maybe_unused]] const auto& e : fs::directory_iterator(d.path()))
    ++left;
  EXPECT_EQ(left, 0u);
}

}  // namespace
}  // namespace qraft::data::io
