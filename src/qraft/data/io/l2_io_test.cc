#include "qraft/data/io/l2_io.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <string>

#include "qraft/data/testing.h"

namespace qraft::data::io {
namespace {

namespace fs = std::filesystem;
using testing::SharedData;
using testing::TempDir;

std::int64_t Fixed(std::string_view text, double step) {
  std::int64_t v = -12345;
  const FixedParse r = ParseFixed(text, *DecimalStep::FromDouble(step), &v);
  EXPECT_EQ(r, FixedParse::kOk) << text;
  return v;
}

FixedParse FixedError(std::string_view text, double step) {
  std::int64_t v = 0;
  return ParseFixed(text, *DecimalStep::FromDouble(step), &v);
}

TEST(L2FixedPoint, DecimalSteps) {
  auto s = DecimalStep::FromDouble(0.1);
  ASSERT_TRUE(s.ok());
  EXPECT_EQ(s->units, 1);
  EXPECT_EQ(s->scale, 1);
  s = DecimalStep::FromDouble(0.5);
  EXPECT_EQ(s->units, 5);
  EXPECT_EQ(s->scale, 1);
  s = DecimalStep::FromDouble(10);
  EXPECT_EQ(s->units, 10);
  EXPECT_EQ(s->scale, 0);
  s = DecimalStep::FromDouble(0.00001);
  EXPECT_EQ(s->units, 1);
  EXPECT_EQ(s->scale, 5);
  s = DecimalStep::FromDouble(0.0025);
  EXPECT_EQ(s->units, 25);
  EXPECT_EQ(s->scale, 4);
  EXPECT_FALSE(DecimalStep::FromDouble(0).ok());
  EXPECT_FALSE(DecimalStep::FromDouble(-0.01).ok());
  EXPECT_FALSE(DecimalStep::FromDouble(std::numeric_limits<double>::quiet_NaN()).ok());
}

TEST(L2FixedPoint, ExactDecimalParsing) {
  EXPECT_EQ(Fixed("61737.63000000", 0.01), 6173763);  // spot price, 8 written decimals
  EXPECT_EQ(Fixed("0.00056000", 0.00001), 56);        // spot BTC quantity
  EXPECT_EQ(Fixed("61800.20", 0.1), 618002);
  EXPECT_EQ(Fixed("1001", 1), 1001);  // COIN-M contracts
  EXPECT_EQ(Fixed("6421.5", 0.5), 12843);
  EXPECT_EQ(Fixed("18640", 10), 1864);  // Deribit USD amounts, 10 USD a contract
  // 0.3 / 0.1 is 2.9999999999999996 in binary floating point; the text is exactly 3 ticks.
  EXPECT_EQ(Fixed("0.3", 0.1), 3);
  EXPECT_EQ(Fixed("1e-05", 0.00001), 1);
  EXPECT_EQ(Fixed("2.5E2", 1), 250);
  EXPECT_EQ(Fixed("-0.5", 0.1), -5);
  EXPECT_EQ(Fixed("+7", 1), 7);
  EXPECT_EQ(Fixed(".5", 0.1), 5);
  EXPECT_EQ(Fixed("1.", 1), 1);
  EXPECT_EQ(Fixed("0.00000000", 0.001), 0);
  EXPECT_EQ(Fixed("-0", 0.001), 0);
  EXPECT_EQ(Fixed("000123.4500", 0.05), 2469);
  EXPECT_EQ(Fixed("92233720368547758.07", 0.01), 9223372036854775807);
}

TEST(L2FixedPoint, RejectsOffGridMalformedAndHuge) {
  EXPECT_EQ(FixedError("61737.635", 0.01), FixedParse::kOffGrid);
  EXPECT_EQ(FixedError("6421.3", 0.5), FixedParse::kOffGrid);
  EXPECT_EQ(FixedError("15", 10), FixedParse::kOffGrid);
  EXPECT_EQ(FixedError("1e-30", 0.01), FixedParse::kOffGrid);
  EXPECT_EQ(FixedError("", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("-", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError(".", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("abc", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("1.2.3", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("1e", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("12 ", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("NaN", 0.01), FixedParse::kMalformed);
  EXPECT_EQ(FixedError("12345678901234567890", 1), FixedParse::kOverflow);
  EXPECT_EQ(Fixed("1234567890123456789", 1), 1234567890123456789);
  EXPECT_EQ(FixedError("92233720368547758.08", 0.01), FixedParse::kOverflow);
  EXPECT_EQ(FixedError("1e30", 0.01), FixedParse::kOverflow);
}

L2ReadOptions Opts(double tick, double size) {
  L2ReadOptions o;
  o.tick_size = tick;
  o.size_increment = size;
  return o;
}

// A futures-style capture (µs receive stamps, diffs with pu): two diffs arrive before the snapshot
// (one stale, one straddling it), then two that follow.
constexpr std::string_view kFuturesCapture =
    R"(1680652700400000 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1680652700410,"T":1680652700409,"s":"BTCUSDT","U":90,"u":95,"pu":89,"b":[["100.0","1.000"]],"a":[]}}
1680652700410000 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1680652700420,"T":1680652700419,"s":"BTCUSDT","U":96,"u":104,"pu":95,"b":[["100.1","2.000"],["99.9","0.000"]],"a":[["100.3","0.500"]]}}
1680652700415000 {"stream":"btcusdt@bookTicker","data":{"e":"bookTicker","u":104,"s":"BTCUSDT","b":"100.1","B":"2.000","a":"100.2","A":"1.500","T":1680652700419,"E":1680652700421}}
1680652700420000 {"lastUpdateId": 100, "E": 1680652700415, "T": 1680652700414, "bids": [["100.0", "1.000"], ["99.9", "3.000"]], "asks": [["100.2", "1.500"]]}
1680652700430000 {"stream":"btcusdt@trade","data":{"e":"trade","E":1680652700431,"T":1680652700430,"s":"BTCUSDT","t":7,"p":"100.2","q":"0.250","X":"MARKET","m":false}}
1680652700440000 {"stream":"btcusdt@markPrice@1s","data":{"e":"markPriceUpdate","E":1680652700440,"s":"BTCUSDT","p":"100.15"}}
1680652700445000 {"stream":"btcusdt@depth5@100ms","data":{"e":"depthUpdate","E":1680652700445,"T":1680652700444,"s":"BTCUSDT","U":90,"u":105,"pu":95,"b":[["100.0","1.000"]],"a":[]}}
1680652700450000 {"stream":"btcusdt@depth@0ms","data":{"e":"depthUpdate","E":1680652700450,"T":1680652700449,"s":"BTCUSDT","U":105,"u":110,"pu":104,"b":[],"a":[["100.2","1.250"]]}}
)";

TEST(L2BinanceCapture, BuffersDiffsAndReplaysThemAfterTheSnapshot) {
  TempDir dir;
  const fs::path p = dir.Write("cap.txt", kFuturesCapture);
  auto r = ReadBinanceCapture({p}, Opts(0.1, 0.001));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const L2Stats& st = r->stats;
  EXPECT_EQ(st.symbol, "BTCUSDT");
  EXPECT_EQ(st.lines, 8u);
  EXPECT_EQ(st.local_ts_digits, 16);
  EXPECT_EQ(st.snapshots, 1u);
  EXPECT_EQ(st.diffs, 3u);
  EXPECT_EQ(st.diffs_stale, 1u);  // u=95 < lastUpdateId 100
  EXPECT_EQ(st.diffs_applied, 2u);
  EXPECT_EQ(st.gaps, 0u);
  EXPECT_EQ(st.trades, 1u);
  EXPECT_EQ(st.quotes, 1u);
  EXPECT_EQ(st.skipped, 2u);  // markPrice, a partial book

  const std::vector<L2Event>& ev = r->events;
  // quote(2), clear, 3 snapshot levels, replayed diff (3 levels), trade, diff (1 level).
  ASSERT_EQ(ev.size(), 11u);
  EXPECT_EQ(ev[0].kind, L2Kind::kQuote);
  EXPECT_EQ(ev[0].side, L2Side::kBid);
  EXPECT_EQ(ev[0].price, 1001);
  EXPECT_EQ(ev[0].qty, 2000);
  EXPECT_EQ(ev[0].seq, 104);
  EXPECT_EQ(ev[0].local_ts, 1680652700415000 * kNanosPerMicro);
  EXPECT_EQ(ev[0].exchange_ts, 1680652700419 * kNanosPerMilli);  // T before E
  EXPECT_EQ(ev[1].side, L2Side::kAsk);
  EXPECT_EQ(ev[1].flags, kL2Last);

  EXPECT_EQ(ev[2].kind, L2Kind::kClear);
  EXPECT_EQ(ev[2].seq, 100);
  EXPECT_EQ(ev[2].flags, 0);
  EXPECT_EQ(ev[3].kind, L2Kind::kSnapshot);
  EXPECT_EQ(ev[3].price, 1000);
  EXPECT_EQ(ev[3].qty, 1000);
  EXPECT_EQ(ev[5].side, L2Side::kAsk);
  EXPECT_EQ(ev[5].flags, kL2Last);

  // The diff received before the snapshot, replayed at the snapshot's receive time.
  const Timestamp snap_ts = 1680652700420000 * kNanosPerMicro;
  for (int i = 6; i <= 8; ++i) {
    EXPECT_EQ(ev[i].kind, L2Kind::kDelta);
    EXPECT_EQ(ev[i].local_ts, snap_ts);
    EXPECT_EQ(ev[i].exchange_ts, 1680652700419 * kNanosPerMilli);
    EXPECT_EQ(ev[i].seq, 104);
    EXPECT_TRUE(ev[i].flags & kL2Replayed);
  }
  EXPECT_EQ(ev[7].price, 999);
  EXPECT_EQ(ev[7].qty, 0);
  EXPECT_EQ(ev[8].flags, kL2Replayed | kL2Last);

  EXPECT_EQ(ev[9].kind, L2Kind::kTrade);
  EXPECT_EQ(ev[9].side, L2Side::kBid);  // m=false: the buyer took the ask
  EXPECT_EQ(ev[9].price, 1002);
  EXPECT_EQ(ev[9].qty, 250);
  EXPECT_EQ(ev[9].seq, 7);
  EXPECT_EQ(ev[10].kind, L2Kind::kDelta);
  EXPECT_EQ(ev[10].qty, 1250);
  EXPECT_EQ(ev[10].flags, kL2Last);
  EXPECT_TRUE(std::is_sorted(ev.begin(), ev.end(), [](const L2Event& a, const L2Event& b) {
    return a.local_ts < b.local_ts;
  }));
}

TEST(L2BinanceCapture, OptionsDropTradesAndQuotes) {
  TempDir dir;
  const fs::path p = dir.Write("cap.txt", kFuturesCapture);
  L2ReadOptions o = Opts(0.1, 0.001);
  o.trades = o.quotes = false;
  auto r = ReadBinanceCapture({p}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->events.size(), 8u);
  EXPECT_EQ(r->stats.trades, 1u);  // still counted
  for (const L2Event& e : r->events) {
    EXPECT_TRUE(e.kind != L2Kind::kTrade && e.kind != L2Kind::kQuote);
  }
}

// Spot rules (no pu): U must be the previous u + 1; nanosecond stamps; a bare snapshot.
std::string SpotCapture(std::string_view third_diff) {
  std::string s =
      R"(1723161254206652067 {"lastUpdateId":200,"bids":[["10.00000000","1.00000000"]],"asks":[["10.02000000","2.00000000"]]}
1723161254306652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"X","U":199,"u":203,"b":[["10.01000000","0.50000000"]],"a":[]}}
1723161254406652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255408,"s":"X","U":204,"u":206,"b":[],"a":[["10.02000000","0.00000000"],["10.03000000","4.00000000"]]}}
)";
  s += third_diff;
  return s;
}

constexpr std::string_view kSpotGap =
    R"(1723161254506652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255508,"s":"X","U":210,"u":212,"b":[["9.99000000","1.00000000"]],"a":[]}}
)";

TEST(L2BinanceCapture, SpotSequenceAndGapPolicies) {
  TempDir dir;
  const fs::path ok = dir.Write("ok.txt", SpotCapture(""));
  auto r = ReadBinanceCapture({ok}, Opts(0.01, 0.00001));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.local_ts_digits, 19);
  EXPECT_EQ(r->stats.diffs_applied, 2u);
  EXPECT_EQ(r->events.front().exchange_ts, kNoTimestamp);  // spot snapshots carry no time
  EXPECT_EQ(r->events.front().local_ts, 1723161254206652067);

  const fs::path gap = dir.Write("gap.txt", SpotCapture(kSpotGap));
  auto fail = ReadBinanceCapture({gap}, Opts(0.01, 0.00001));
  ASSERT_FALSE(fail.ok());
  EXPECT_EQ(fail.status().code(), StatusCode::kDataError);
  EXPECT_NE(fail.status().message().find("gap.txt:4: depth update U=210 u=212 does not follow "
                                         "the previous update u=206"),
            std::string_view::npos)
      << fail.status().message();

  L2ReadOptions mark = Opts(0.01, 0.00001);
  mark.on_gap = GapPolicy::kMark;
  auto marked = ReadBinanceCapture({gap}, mark);
  ASSERT_TRUE(marked.ok()) << marked.status().ToString();
  EXPECT_EQ(marked->stats.gaps, 1u);
  EXPECT_EQ(marked->stats.diffs_applied, 3u);
  EXPECT_EQ(marked->events.back().kind, L2Kind::kDelta);
  EXPECT_EQ(marked->events.back().flags, kL2Gap | kL2Last);

  L2ReadOptions resync = mark;
  resync.on_gap = GapPolicy::kResync;
  auto cleared = ReadBinanceCapture({gap}, resync);
  ASSERT_TRUE(cleared.ok()) << cleared.status().ToString();
  EXPECT_EQ(cleared->stats.gaps, 1u);
  EXPECT_EQ(cleared->stats.diffs_applied, 2u);
  EXPECT_EQ(cleared->stats.diffs_without_book, 1u);
  EXPECT_EQ(cleared->events.back().kind, L2Kind::kClear);
  EXPECT_EQ(cleared->events.back().flags, kL2Gap | kL2Last);
}

TEST(L2BinanceCapture, ResyncReplaysDiffsAroundTheNextSnapshot) {
  // After a gap the book waits; the next snapshot (L=215) takes the buffered diff that straddles
  // it (U=213 u=216) and drops the stale one (u=212).
  const std::string text =
      SpotCapture(kSpotGap) +
      R"(1723161254606652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255608,"s":"X","U":213,"u":216,"b":[["9.98000000","1.00000000"]],"a":[]}}
1723161254706652067 {"lastUpdateId":215,"bids":[["9.97000000","1.00000000"]],"asks":[["10.05000000","2.00000000"]]}
1723161254806652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255808,"s":"X","U":217,"u":217,"b":[],"a":[["10.04000000","1.00000000"]]}}
)";
  TempDir dir;
  L2ReadOptions o = Opts(0.01, 0.00001);
  o.on_gap = GapPolicy::kResync;
  auto r = ReadBinanceCapture({dir.Write("resync.txt", text)}, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.snapshots, 2u);
  EXPECT_EQ(r->stats.gaps, 1u);
  EXPECT_EQ(r->stats.diffs, 5u);
  EXPECT_EQ(r->stats.diffs_applied, 4u);  // 2 before the gap, the straddling one, the last
  EXPECT_EQ(r->stats.diffs_stale, 1u);
  EXPECT_EQ(r->stats.diffs_without_book, 0u);
  const L2Event& replayed = r->events[r->events.size() - 2];
  EXPECT_EQ(replayed.price, 998);
  EXPECT_EQ(replayed.local_ts, 1723161254706652067);
  EXPECT_EQ(replayed.flags, kL2Replayed | kL2Last);
}

TEST(L2BinanceCapture, StartWithoutSnapshot) {
  const std::string text =
      R"(1723161254306652067 {"stream":"x@depth@100ms","data":{"e":"depthUpdate","E":1723161255308,"s":"X","U":199,"u":203,"b":[["10.01000000","0.50000000"]],"a":[]}}
)";
  TempDir dir;
  const fs::path p = dir.Write("nosnap.txt", text);
  auto strict = ReadBinanceCapture({p}, Opts(0.01, 0.00001));
  ASSERT_TRUE(strict.ok()) << strict.status().ToString();
  EXPECT_TRUE(strict->events.empty());
  EXPECT_EQ(strict->stats.diffs_without_book, 1u);
  L2ReadOptions o = Opts(0.01, 0.00001);
  o.start_without_snapshot = true;
  auto loose = ReadBinanceCapture({p}, o);
  ASSERT_TRUE(loose.ok()) << loose.status().ToString();
  ASSERT_EQ(loose->events.size(), 2u);
  EXPECT_EQ(loose->events[0].kind, L2Kind::kClear);
  EXPECT_EQ(loose->events[1].price, 1001);
  EXPECT_EQ(loose->stats.diffs_without_book, 0u);
}

TEST(L2BinanceCapture, ErrorsNameFileLineAndField) {
  TempDir dir;
  auto expect_error = [&](std::string_view name, std::string_view text, std::string_view want) {
    auto r = ReadBinanceCapture({dir.Write(name, text)}, Opts(0.01, 0.00001));
    ASSERT_FALSE(r.ok()) << name;
    EXPECT_NE(r.status().message().find(want), std::string_view::npos)
        << r.status().message() << "\nwanted: " << want;
  };
  expect_error("offgrid.txt",
               SpotCapture("").replace(SpotCapture("").find("10.01000000"), 11, "10.01500000"),
               "offgrid.txt:2: field 'b[0][0]': '10.01500000' is not a multiple of the tick "
               "size 0.01");
  expect_error("nojson.txt", "1723161254306652067 {\"e\":\n", "nojson.txt:1: not JSON at byte");
  expect_error("nostamp.txt", "{\"e\":1}\n",
               "nostamp.txt:1: expected '<receive time> <JSON message>'");
  expect_error(
      "missing.txt",
      "1723161254306652067 {\"e\":\"depthUpdate\",\"s\":\"X\",\"u\":3,\"b\":[],\"a\":[]}\n",
      "missing.txt:1: field 'U' is missing");
  expect_error(
      "units.txt",
      SpotCapture("").replace(SpotCapture("").find("1723161254306652067"), 19, "1723161254306652"),
      "units.txt:2: receive time 1723161254306652 has 16 digits where the file's first "
      "line has 19");
  expect_error("negative.txt",
               SpotCapture("").replace(SpotCapture("").find("0.50000000"), 10, "-0.5000000"),
               "negative.txt:2: field 'b[0][1]': quantity '-0.5000000' is negative");
  expect_error("other.txt",
               "1737918843893903000 {\"channel\":\"l2Book\",\"data\":{\"coin\":\"BTC\"}}\n",
               "other.txt: no Binance depth, trade or bookTicker message");
  auto bad_tick = ReadBinanceCapture({dir.Write("x.txt", "")}, Opts(0, 1));
  EXPECT_EQ(bad_tick.status().code(), StatusCode::kInvalidArgument);
}

// ---------------------------------------------------------------------------------------------
// hftbacktest's real captures (../shared/data/hftbacktest-l2); counts cross-checked with an
// independent Python reading of the same rules.

fs::path Capture(std::string_view rel) {
  return SharedData() / "hftbacktest-l2" / "examples" / rel;
}

TEST(L2SharedData, UsdmCaptureAcrossTheDayBoundary) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto r = ReadBinanceCapture(
      {Capture("usdm/btcusdt_20240718.gz"), Capture("usdm/btcusdt_20240719.gz")}, Opts(0.1, 0.001));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const L2Stats& st = r->stats;
  EXPECT_EQ(st.symbol, "BTCUSDT");
  EXPECT_EQ(st.lines, 11414u + 60570u);
  EXPECT_EQ(st.local_ts_digits, 19);
  EXPECT_EQ(st.snapshots, 1u);
  EXPECT_EQ(st.diffs, 3326u + 5696u);
  EXPECT_EQ(st.diffs_stale, 5u);
  EXPECT_EQ(st.diffs_applied, 9017u);
  EXPECT_EQ(st.diffs_without_book, 0u);
  EXPECT_EQ(st.gaps, 0u);
  EXPECT_EQ(st.trades, 974u + 9727u);
  EXPECT_EQ(st.quotes, 7113u + 45147u);
  EXPECT_EQ(st.skipped, 0u);
  // The snapshot (line 14): 1000 levels a side, best bid 63943.90 x 46.372.
  const auto snap = std::find_if(r->events.begin(), r->events.end(),
                                 [](const L2Event& e) { return e.kind == L2Kind::kClear; });
  ASSERT_NE(snap, r->events.end());
  EXPECT_EQ(snap->seq, 4984028384061);
  EXPECT_EQ(snap->local_ts, 1721347021281597601);
  EXPECT_EQ(snap->exchange_ts, 1721347022750 * kNanosPerMilli);
  EXPECT_EQ(snap[1].kind, L2Kind::kSnapshot);
  EXPECT_EQ(snap[1].price, 639439);
  EXPECT_EQ(snap[1].qty, 46372);
  EXPECT_EQ(snap[2000].flags, kL2Last);
  EXPECT_TRUE(
      std::is_sorted(r->events.begin(), r->events.end(),
                     [](const L2Event& a, const L2Event& b) { return a.local_ts < b.local_ts; }));
}

TEST(L2SharedData, MicrosecondStampsSpotAndCoinMargined) {
  QRAFT_REQUIRE_SHARED_DATA();
  auto usdm = ReadBinanceCapture(
      {Capture("usdm/btcusdt_20230404.dat.gz"), Capture("usdm/btcusdt_20230405.dat.gz")},
      Opts(0.1, 0.001));
  ASSERT_TRUE(usdm.ok()) << usdm.status().ToString();
  EXPECT_EQ(usdm->stats.local_ts_digits, 16);
  EXPECT_EQ(usdm->stats.diffs_applied, 16110u);
  EXPECT_EQ(usdm->stats.skipped, 99u + 415u);  // markPrice@1s
  EXPECT_EQ(usdm->events.front().local_ts, 1680652700423575 * kNanosPerMicro);

  auto spot =
      ReadBinanceCapture({Capture("spot/btcusdt_20240808.gz"), Capture("spot/btcusdt_20240809.gz")},
                         Opts(0.01, 0.00001));
  // Spot BTCUSDT orders step in 0.00001 BTC, yet the book holds finer quantities (25.426189 at
  // line 1886): levels must be read at the asset's precision, 1e-8.
  ASSERT_FALSE(spot.ok());
  EXPECT_NE(spot.status().message().find(
                "btcusdt_20240808.gz:1886: field 'a[6][1]': '25.42618900' is not a multiple of "
                "the size increment 0.00001"),
            std::string_view::npos)
      << spot.status().message();
  spot =
      ReadBinanceCapture({Capture("spot/btcusdt_20240808.gz"), Capture("spot/btcusdt_20240809.gz")},
                         Opts(0.01, 0.00000001));
  ASSERT_TRUE(spot.ok()) << spot.status().ToString();
  EXPECT_EQ(spot->stats.diffs_stale, 2u);
  EXPECT_EQ(spot->stats.diffs_applied, 6493u);
  EXPECT_EQ(spot->stats.gaps, 0u);

  auto cm = ReadBinanceCapture(
      {Capture("cm/ethusd_perp_20240808.gz"), Capture("cm/ethusd_perp_20240809.gz")},
      Opts(0.01, 1));
  ASSERT_TRUE(cm.ok()) << cm.status().ToString();
  EXPECT_EQ(cm->stats.symbol, "ETHUSD_PERP");
  EXPECT_EQ(cm->stats.diffs_stale, 22u);
  EXPECT_EQ(cm->stats.diffs_applied, 39133u);
  EXPECT_EQ(cm->stats.gaps, 0u);

  // The 2023 spot capture has no snapshot: its diffs have no book unless asked to start empty.
  auto bare = ReadBinanceCapture({Capture("spot/btcusdt_20230405.dat.gz")}, Opts(0.01, 1e-8));
  ASSERT_TRUE(bare.ok()) << bare.status().ToString();
  EXPECT_EQ(bare->stats.diffs_without_book, 3929u);
  EXPECT_EQ(bare->stats.diffs_applied, 0u);
  // Its prices need the 0.01 tick: a coarser one is refused with the place.
  auto coarse = ReadBinanceCapture({Capture("spot/btcusdt_20230405.dat.gz")}, Opts(0.1, 1e-8));
  ASSERT_FALSE(coarse.ok());
  EXPECT_NE(coarse.status().message().find("btcusdt_20230405.dat.gz:1: field 'p'"),
            std::string_view::npos)
      << coarse.status().message();
}

TEST(L2SharedData, TardisIncrementalL2) {
  QRAFT_REQUIRE_SHARED_DATA();
  const fs::path p = SharedData() / "nautilus-testdata/tests/test_data/tardis" /
                     "deribit_incremental_book_L2_BTC-PERPETUAL.csv";
  auto r = ReadTardisIncrementalL2(p, Opts(0.5, 10));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.symbol, "BTC-PERPETUAL");
  EXPECT_EQ(r->stats.lines, 15u);
  EXPECT_EQ(r->stats.snapshots, 1u);
  ASSERT_EQ(r->events.size(), 16u);
  EXPECT_EQ(r->events[0].kind, L2Kind::kClear);
  EXPECT_EQ(r->events[1].kind, L2Kind::kSnapshot);
  EXPECT_EQ(r->events[1].side, L2Side::kAsk);
  EXPECT_EQ(r->events[1].price, 12843);  // 6421.5 / 0.5
  EXPECT_EQ(r->events[1].qty, 1864);     // 18640 USD / 10
  EXPECT_EQ(r->events[1].exchange_ts, 1585699200245000 * kNanosPerMicro);
  EXPECT_EQ(r->events[1].local_ts, 1585699200355684 * kNanosPerMicro);
  EXPECT_EQ(r->events[14].flags, 0);
  EXPECT_EQ(r->events[15].flags, kL2Last);
}

TEST(L2Tardis, IncrementalSnapshotRunsResetTheBook) {
  TempDir dir;
  const fs::path p =
      dir.Write("inc.csv",
                "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,amount\n"
                "x,S,1,10,true,bid,1.5,2\n"
                "x,S,1,10,true,ask,2.0,3\n"
                "x,S,2,20,false,bid,1.5,0\n"
                "x,S,2,20,false,bid,1.0,4\r\n"
                "x,S,3,30,false,ask,2.5,1\n"
                "x,S,4,40,true,bid,1.0,5\n"
                "x,S,4,40,true,ask,3.0,0\n");
  auto r = ReadTardisIncrementalL2(p, Opts(0.5, 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.snapshots, 2u);
  EXPECT_EQ(r->stats.diffs, 3u);
  std::vector<std::pair<L2Kind, std::uint8_t>> got;
  for (const L2Event& e : r->events)
    got.emplace_back(e.kind, e.flags);
  const std::vector<std::pair<L2Kind, std::uint8_t>> want = {
      {L2Kind::kClear, 0}, {L2Kind::kSnapshot, 0},    {L2Kind::kSnapshot, kL2Last},
      {L2Kind::kDelta, 0}, {L2Kind::kDelta, kL2Last}, {L2Kind::kDelta, kL2Last},
      {L2Kind::kClear, 0}, {L2Kind::kSnapshot, 0},    {L2Kind::kSnapshot, kL2Last}};
  EXPECT_EQ(got, want);
  EXPECT_EQ(r->events[6].local_ts, 40 * kNanosPerMicro);

  const fs::path bad = dir.Write("bad.csv",
                                 "exchange,symbol,timestamp,local_timestamp,is_snapshot,side,price,"
                                 "amount\nx,S,1,10,yes,bid,1.5,2\n");
  auto e = ReadTardisIncrementalL2(bad, Opts(0.5, 1));
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find(
                "bad.csv:2: field 'is_snapshot': expected true or false, got 'yes'"),
            std::string_view::npos)
      << e.status().message();
  const fs::path nocol = dir.Write("nocol.csv", "exchange,symbol,timestamp\n");
  auto n = ReadTardisIncrementalL2(nocol, Opts(0.5, 1));
  ASSERT_FALSE(n.ok());
  EXPECT_NE(n.status().message().find("nocol.csv:1: header: column 'local_timestamp' is missing"),
            std::string_view::npos)
      << n.status().message();
}

TEST(L2SharedData, TardisBookSnapshots) {
  QRAFT_REQUIRE_SHARED_DATA();
  const fs::path dir = SharedData() / "nautilus-testdata/tests/test_data/tardis";
  for (const auto& [name, depth] :
       {std::pair{"binance-futures_book_snapshot_5_BTCUSDT.csv", 5},
        std::pair{"binance-futures_book_snapshot_25_BTCUSDT.csv", 25}}) {
    auto r = ReadTardisBookSnapshot(dir / name, Opts(0.01, 0.001));
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->stats.snapshots, 10u) << name;
    ASSERT_EQ(r->events.size(), 10u * (1 + 2 * depth)) << name;
    const L2Event* row = r->events.data();
    EXPECT_EQ(row[0].kind, L2Kind::kClear);
    EXPECT_EQ(row[0].exchange_ts, 1598918403696000 * kNanosPerMicro);
    EXPECT_EQ(row[1].side, L2Side::kBid);  // bids[0] 11657.07 x 10.896
    EXPECT_EQ(row[1].price, 1165707);
    EXPECT_EQ(row[1].qty, 10896);
    EXPECT_EQ(row[1 + depth].side, L2Side::kAsk);  // asks[0] 11657.08 x 1.714
    EXPECT_EQ(row[1 + depth].price, 1165708);
    EXPECT_EQ(row[1 + depth].qty, 1714);
    EXPECT_EQ(row[2 * depth].flags, kL2Last);
  }
}

TEST(L2Tardis, ShallowSnapshotRowsSkipEmptyLevels) {
  TempDir dir;
  const fs::path p = dir.Write("snap.csv",
                               "exchange,symbol,timestamp,local_timestamp,asks[0].price,"
                               "asks[0].amount,bids[0].price,bids[0].amount,asks[1].price,asks[1]."
                               "amount,bids[1].price,bids[1].amount\n"
                               "x,S,1,2,10.5,1,10.0,2,,,9.5,3\n");
  auto r = ReadTardisBookSnapshot(p, Opts(0.5, 1));
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ASSERT_EQ(r->events.size(), 4u);  // clear, two bids, one ask
  EXPECT_EQ(r->events[2].price, 19);
  EXPECT_EQ(r->events[3].side, L2Side::kAsk);
  EXPECT_EQ(r->events[3].flags, kL2Last);
}

TEST(L2SharedData, BinanceDepthCsvPairHasAGap) {
  QRAFT_REQUIRE_SHARED_DATA();
  // The snapshot (lastUpdateId 2098021528332) is ten minutes older than the diff
  // (U=2098041693435): the updates in between are not in the sample.
  const fs::path dir = SharedData() / "nautilus-testdata/tests/test_data/binance";
  const fs::path snap = dir / "btcusdt-depth-snap.csv", upd = dir / "btcusdt-depth-update.csv";
  auto strict = ReadBinanceDepthCsv(snap, upd, Opts(0.1, 0.001));
  ASSERT_FALSE(strict.ok());
  EXPECT_NE(strict.status().message().find(
                "btcusdt-depth-update.csv:2: depth update U=2098041693435 u=2098041696700 does "
                "not reach back to the snapshot's lastUpdateId 2098021528332"),
            std::string_view::npos)
      << strict.status().message();

  L2ReadOptions o = Opts(0.1, 0.001);
  o.on_gap = GapPolicy::kMark;
  auto r = ReadBinanceDepthCsv(snap, upd, o);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->stats.symbol, "BTCUSDT");
  EXPECT_EQ(r->stats.snapshots, 1u);
  EXPECT_EQ(r->stats.diffs, 1u);
  EXPECT_EQ(r->stats.gaps, 1u);
  ASSERT_EQ(r->events.size(), 201u);
  EXPECT_EQ(r->events[0].kind, L2Kind::kClear);
  EXPECT_EQ(r->events[1].price, 203770);  // 20377.00
  EXPECT_EQ(r->events[1].qty, 1770);
  EXPECT_EQ(r->events[1].exchange_ts, 1667346579146 * kNanosPerMilli);
  EXPECT_EQ(r->events[1].local_ts, r->events[1].exchange_ts);
  EXPECT_EQ(r->events[100].flags, kL2Last);
  EXPECT_EQ(r->events[101].kind, L2Kind::kDelta);
  EXPECT_EQ(r->events[101].flags, kL2Gap);
  EXPECT_EQ(r->events[101].side, L2Side::kAsk);
  EXPECT_EQ(r->events[101].seq, 2098041696700);
  EXPECT_EQ(r->events[200].flags, kL2Last);
}

}  // namespace
}  // namespace qraft::data::io
