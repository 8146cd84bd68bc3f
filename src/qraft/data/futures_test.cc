#include "qraft/data/futures.h"

#include <fmt/format.h>
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "qraft/core/progress.h"
#include "qraft/data/ingest.h"
#include "qraft/data/mapping.h"
#include "qraft/data/testing.h"

namespace qraft::data {
namespace {

constexpr double N = std::numeric_limits<double>::quiet_NaN();
constexpr double kA = 202303, kB = 202306, kC = 202309;

using Series = std::vector<double>;
// field -> one series per symbol
using Fields = std::vector<std::pair<std::string, std::vector<Series>>>;

Panel MakePanel(const std::vector<std::string>& symbols, std::vector<Timestamp> times,
                const Fields& fields) {
  PanelBuilder b(Calendar(std::move(times)), symbols);
  for (const auto& [name, per_symbol] : fields) {
    auto out = b.AddField(name);
    for (std::size_t s = 0; s < per_symbol.size(); ++s) {
      std::copy(per_symbol[s].begin(), per_symbol[s].end(),
                out.begin() + static_cast<std::ptrdiff_t>(s * b.num_times()));
    }
  }
  return std::move(b).Build();
}

std::vector<Timestamp> Days(std::size_t n) {
  std::vector<Timestamp> t;
  for (std::size_t i = 0; i < n; ++i)
    t.push_back(DateTimestamp(2023, 1, 2) + static_cast<Timestamp>(i) * kNanosPerDay);
  return t;
}

Series Get(const Panel& p, std::string_view field, std::size_t s = 0) {
  const auto f = p.FindField(field);
  EXPECT_TRUE(f.has_value()) << "no field " << field;
  if (!f) return {};
  auto x = p.series(*f, s);
  return {x.begin(), x.end()};
}

// Element-wise equality with NaN == NaN and a tolerance of 4 ulps (EXPECT_DOUBLE_EQ's).
void ExpectSeries(const Series& actual, const Series& expected, std::string_view what) {
  ASSERT_EQ(actual.size(), expected.size()) << what;
  for (std::size_t t = 0; t < actual.size(); ++t) {
    if (std::isnan(expected[t])) {
      EXPECT_TRUE(std::isnan(actual[t])) << what << " at " << t << ": " << actual[t];
    } else {
      EXPECT_DOUBLE_EQ(actual[t], expected[t]) << what << " at " << t;
    }
  }
}

void ExpectRoll(const RollEvent& r, std::string_view symbol, Timestamp time, double from, double to,
                double old_price, double new_price, double gap, bool same_day) {
  EXPECT_EQ(r.symbol, symbol);
  EXPECT_EQ(r.time, time) << FormatDate(r.time);
  EXPECT_EQ(r.from_contract, from);
  EXPECT_EQ(r.to_contract, to);
  EXPECT_DOUBLE_EQ(r.old_price, old_price);
  EXPECT_DOUBLE_EQ(r.new_price, new_price);
  EXPECT_DOUBLE_EQ(r.gap, gap);
  EXPECT_EQ(r.same_day, same_day);
}

bool Contains(const Status& s, std::string_view text) {
  return s.message().find(text) != std::string_view::npos;
}

// ---- parsing --------------------------------------------------------------------------------

TEST(FuturesTest, ParseRollRule) {
  ContinuousOptions base;
  base.adjust = RollAdjust::kRatio;
  base.contract_pattern = "^(.+)(\\d{4})(\\d{2})$";
  EXPECT_EQ(ParseRollRule("held", base)->rule, RollRule::kHeld);
  EXPECT_EQ(ParseRollRule("volume", base)->rule, RollRule::kVolume);
  EXPECT_EQ(ParseRollRule("open_interest", base)->rule, RollRule::kOpenInterest);
  EXPECT_EQ(ParseRollRule("oi", base)->rule, RollRule::kOpenInterest);
  auto cal = ParseRollRule("calendar", base);
  ASSERT_TRUE(cal.ok());
  EXPECT_EQ(cal->rule, RollRule::kCalendar);
  EXPECT_EQ(cal->days_before_expiry, 5);
  auto cal3 = ParseRollRule("calendar:3", base);
  ASSERT_TRUE(cal3.ok());
  EXPECT_EQ(cal3->rule, RollRule::kCalendar);
  EXPECT_EQ(cal3->days_before_expiry, 3);
  EXPECT_EQ(ParseRollRule("calendar:0")->days_before_expiry, 0);
  // The rest of `base` is kept.
  EXPECT_EQ(cal3->adjust, RollAdjust::kRatio);
  EXPECT_EQ(cal3->contract_pattern, "^(.+)(\\d{4})(\\d{2})$");

  for (const char* bad :
       {"", "Held", "vol", "calendar:", "calendar:-1", "calendar:x", "calendar:2.5", "calendar5"}) {
    auto r = ParseRollRule(bad);
    ASSERT_FALSE(r.ok()) << bad;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_TRUE(Contains(r.status(), fmt::format("roll rule '{}'", bad))) << r.status().message();
  }
  EXPECT_TRUE(Contains(ParseRollRule("weekly").status(),
                       "expected held, volume, open_interest (oi), calendar or calendar:N"));
}

TEST(FuturesTest, ParseRollAdjust) {
  EXPECT_EQ(*ParseRollAdjust("back"), RollAdjust::kBack);
  EXPECT_EQ(*ParseRollAdjust("difference"), RollAdjust::kBack);
  EXPECT_EQ(*ParseRollAdjust("panama"), RollAdjust::kBack);
  EXPECT_EQ(*ParseRollAdjust("ratio"), RollAdjust::kRatio);
  EXPECT_EQ(*ParseRollAdjust("none"), RollAdjust::kNone);
  auto bad = ParseRollAdjust("forward");
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(bad.status().message(),
            "roll adjustment 'forward': expected back (also difference, panama), ratio or none");
}

// ---- held-contract input --------------------------------------------------------------------

// ES holds A (bars 0-2), B (3-5), C (6-7). Bar 2 carries B's price (109): the roll into B is
// measured on bar 2, same day. Bar 5's carry is another contract's: the roll into C is close to
// close.
Panel HeldPanel() {
  return MakePanel({"ES"}, Days(8),
                   {{"close", {{100, 101, 102, 110, 111, 112, 120, 121}}},
                    {"open", {{99, 100.5, 101.5, 109, 110.5, 111, 119, 120.5}}},
                    {"contract", {{kA, kA, kA, kB, kB, kB, kC, kC}}},
                    {"carry", {{108.5, 108, 109, 117, 117.5, 118, N, N}}},
                    {"carry_contract", {{kB, kB, kB, kC, kC, 202312, N, N}}}});
}

TEST(FuturesTest, HeldBackAdjustment) {
  const Panel in = HeldPanel();
  auto r = BuildContinuous(in, ContinuousOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->panel;
  EXPECT_EQ(p.symbols().names(), std::vector<std::string>{"ES"});
  // gap B-A = 109 - 102 = 7 (same day), gap C-B = 120 - 112 = 8 (close to close).
  ExpectSeries(Get(p, "close"), {115, 116, 117, 118, 119, 120, 120, 121}, "close");
  ExpectSeries(Get(p, "open"), {114, 115.5, 116.5, 117, 118.5, 119, 119, 120.5}, "open");
  ExpectSeries(Get(p, "raw_close"), Get(in, "close"), "raw_close");
  ExpectSeries(Get(p, "contract"), {kA, kA, kA, kB, kB, kB, kC, kC}, "contract");
  // carry and carry_contract are kept raw.
  ExpectSeries(Get(p, "carry"), Get(in, "carry"), "carry");
  ExpectSeries(Get(p, "carry_contract"), Get(in, "carry_contract"), "carry_contract");
  ASSERT_EQ(r->rolls.size(), 2u);
  ExpectRoll(r->rolls[0], "ES", p.calendar()[3], kA, kB, 102, 109, 7, true);
  ExpectRoll(r->rolls[1], "ES", p.calendar()[6], kB, kC, 112, 120, 8, false);
  // Same-day roll: the adjusted move into the roll bar is B's own move (110 - 109).
  EXPECT_DOUBLE_EQ(Get(p, "close")[3] - Get(p, "close")[2], 110 - 109);
  // Close-to-close roll: no move.
  EXPECT_DOUBLE_EQ(Get(p, "close")[6] - Get(p, "close")[5], 0);
}

TEST(FuturesTest, HeldRatioAdjustment) {
  ContinuousOptions opt;
  opt.adjust = RollAdjust::kRatio;
  auto r = BuildContinuous(HeldPanel(), opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const double g1 = 109.0 / 102.0, g2 = 120.0 / 112.0;
  const double m1 = g2 * g1;  // bars before the first roll see both rolls
  ExpectSeries(Get(r->panel, "close"),
               {100 * m1, 101 * m1, 102 * m1, 110 * g2, 111 * g2, 112 * g2, 120, 121}, "close");
  ExpectSeries(Get(r->panel, "open"),
               {99 * m1, 100.5 * m1, 101.5 * m1, 109 * g2, 110.5 * g2, 111 * g2, 119, 120.5},
               "open");
  ASSERT_EQ(r->rolls.size(), 2u);
  ExpectRoll(r->rolls[0], "ES", r->panel.calendar()[3], kA, kB, 102, 109, g1, true);
  ExpectRoll(r->rolls[1], "ES", r->panel.calendar()[6], kB, kC, 112, 120, g2, false);
  const Series c = Get(r->panel, "close");
  // Same-day roll: the adjusted return into the roll bar is B's own return (110 / 109).
  EXPECT_NEAR(c[3] / c[2], 110.0 / 109.0, 1e-15);
  EXPECT_NEAR(c[6] / c[5], 1.0, 1e-15);
}

TEST(FuturesTest, HeldNoAdjustmentKeepsRawPricesAndRecordsGaps) {
  ContinuousOptions opt;
  opt.adjust = RollAdjust::kNone;
  const Panel in = HeldPanel();
  auto r = BuildContinuous(in, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  ExpectSeries(Get(r->panel, "close"), Get(in, "close"), "close");
  ExpectSeries(Get(r->panel, "open"), Get(in, "open"), "open");
  ASSERT_EQ(r->rolls.size(), 2u);
  EXPECT_DOUBLE_EQ(r->rolls[0].gap, 7);
  EXPECT_DOUBLE_EQ(r->rolls[1].gap, 8);
}

TEST(FuturesTest, HeldMissingValues) {
  // ES: bar 1 has a price and no contract (holds A); bar 2 has nothing; bar 4 is on B without a
  // close,
  //     so the close-to-close gap uses B's first close (bar 5): 15 - 12 = 3.
  // NQ: no contract at all: passed through, no rolls.
  // YM: leading bars without a contract hold the first contract.
  const Panel in = MakePanel(
      {"ES", "NQ", "YM"}, Days(7),
      {{"close", {{10, 11, N, 12, N, 15, 16}, {1, 2, 3, 4, 5, 6, 7}, {5, 6, 7, 8, 20, 21, 22}}},
       {"contract",
        {{kA, N, N, kA, kB, N, kB}, {N, N, N, N, N, N, N}, {N, N, kA, kA, kB, kB, kB}}}});
  auto r = BuildContinuous(in, ContinuousOptions{});
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->panel;
  ExpectSeries(Get(p, "close", 0), {13, 14, N, 15, N, 15, 16}, "ES close");
  ExpectSeries(Get(p, "contract", 0), {kA, kA, N, kA, kB, kB, kB}, "ES contract");
  ExpectSeries(Get(p, "close", 1), {1, 2, 3, 4, 5, 6, 7}, "NQ close");
  ExpectSeries(Get(p, "contract", 1), {N, N, N, N, N, N, N}, "NQ contract");
  ExpectSeries(Get(p, "close", 2), {17, 18, 19, 20, 20, 21, 22}, "YM close");
  ExpectSeries(Get(p, "contract", 2), {kA, kA, kA, kA, kB, kB, kB}, "YM contract");
  ASSERT_EQ(r->rolls.size(), 2u);
  ExpectRoll(r->rolls[0], "ES", p.calendar()[4], kA, kB, 12, 15, 3, false);
  ExpectRoll(r->rolls[1], "YM", p.calendar()[4], kA, kB, 8, 20, 12, false);
}

TEST(FuturesTest, HeldRollWithoutAnyEarlierPriceIsRecordedNeutral) {
  const Panel in =
      MakePanel({"ES"}, Days(4), {{"close", {{N, N, 10, 11}}}, {"contract", {{kA, kA, kB, kB}}}});
  auto r = BuildContinuous(in, ContinuousOptions{});
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->rolls.size(), 1u);
  EXPECT_TRUE(std::isnan(r->rolls[0].old_price));
  EXPECT_DOUBLE_EQ(r->rolls[0].new_price, 10);
  EXPECT_EQ(r->rolls[0].gap, 0);
  ExpectSeries(Get(r->panel, "close"), {N, N, 10, 11}, "close");
}

// Deterministic pseudo-random numbers in [0, 1) (same on every platform).
struct Lcg {
  std::uint64_t state;
  double Next() {
    state = state * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<double>(state >> 11) / static_cast<double>(1ULL << 53);
  }
};

// The invariants of the file comment, on long generated series with many rolls of both kinds,
// missing bars and missing carry prices.
TEST(FuturesTest, HeldInvariantsOnGeneratedSeries) {
  constexpr std::size_t T = 600;
  Lcg rng{42};
  std::vector<Series> close(2, Series(T, N)), contract(2, Series(T, N)), carry(2, Series(T, N)),
      carry_contract(2, Series(T, N));
  for (std::size_t s = 0; s < 2; ++s) {
    double id = 200001, px = 50 + 50 * rng.Next(), next_px = px * (1 + 0.05 * (rng.Next() - 0.5));
    for (std::size_t t = 0; t < T; ++t) {
      px *= 1 + 0.02 * (rng.Next() - 0.5);
      next_px *= 1 + 0.02 * (rng.Next() - 0.5);
      if (rng.Next() < 0.04) {  // roll: the next contract becomes the held one
        id += 3;
        px = next_px;
        next_px = px * (1 + 0.05 * (rng.Next() - 0.5));
      }
      if (rng.Next() < 0.05) continue;  // no bar
      close[s][t] = px;
      contract[s][t] = id;
      if (rng.Next() < 0.6) {  // carry quoted: the next contract's price
        carry[s][t] = next_px;
        carry_contract[s][t] = id + 3;
      }
    }
  }
  const Panel in = MakePanel({"X", "Y"}, Days(T),
                             {{"close", close},
                              {"contract", contract},
                              {"carry", carry},
                              {"carry_contract", carry_contract}});
  for (RollAdjust adjust : {RollAdjust::kBack, RollAdjust::kRatio}) {
    ContinuousOptions opt;
    opt.adjust = adjust;
    auto r = BuildContinuous(in, opt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::size_t same_day = 0, close_to_close = 0, plain = 0;
    for (std::size_t s = 0; s < 2; ++s) {
      const Series adj = Get(r->panel, "close", s), raw = close[s];
      std::map<Timestamp, const RollEvent*> rolls;
      for (const RollEvent& e : r->rolls) {
        if (e.symbol == r->panel.symbols()[s]) rolls[e.time] = &e;
      }
      std::size_t a = T;
      for (std::size_t b = 0; b < T; ++b) {
        if (std::isnan(raw[b])) continue;
        if (a == T) {
          a = b;
          continue;
        }
        const RollEvent* roll = nullptr;
        for (auto it = rolls.upper_bound(r->panel.calendar()[a]);
             it != rolls.end() && it->first <= r->panel.calendar()[b]; ++it) {
          ASSERT_EQ(roll, nullptr) << "two rolls between consecutive bars";
          roll = it->second;
        }
        // Expected adjusted move from a to b: the raw one, B's own move, or none.
        double from = raw[a];
        if (roll != nullptr && roll->same_day) {
          from = roll->new_price;
          EXPECT_EQ(roll->new_price, carry[s][a]);
          ++same_day;
        } else if (roll != nullptr) {
          from = raw[b];
          ++close_to_close;
        } else {
          ++plain;
        }
        if (adjust == RollAdjust::kBack) {
          EXPECT_NEAR(adj[b] - adj[a], raw[b] - from, 1e-9) << s << " " << b;
        } else {
          EXPECT_NEAR(adj[b] / adj[a], raw[b] / from, 1e-12) << s << " " << b;
        }
        a = b;
      }
      // The last stretch is never adjusted.
      ASSERT_LT(a, T);
      EXPECT_EQ(adj[a], raw[a]);
    }
    EXPECT_GT(same_day, 10u);
    EXPECT_GT(close_to_close, 5u);
    EXPECT_GT(plain, 1000u);
    // Rolls come per symbol, in time order.
    for (std::size_t i = 1; i < r->rolls.size(); ++i) {
      const RollEvent &x = r->rolls[i - 1], &y = r->rolls[i];
      EXPECT_TRUE(x.symbol < y.symbol || (x.symbol == y.symbol && x.time < y.time));
    }
  }
}

// ---- per-contract input -------------------------------------------------------------------

// ES H23 / M23 / U23 over 12 bars. Volumes: M ties H on bar 3 (not enough) and first beats it on
// bar 4 (so M is held from bar 5);
// U first beats M on bar 9 (held from bar 10). H's volume spike on bar 6 must not roll back.
TEST(FuturesTest, VolumeRule) {
  const Panel in = MakePanel({"ESH23", "ESM23", "ESU23"}, Days(12),
                             {{"close",
                               {{100, 101, 102, 103, 104, 105, 106, 107, N, N, N, N},
                                {103, 105, 107, 109, 111, 113, 115, 117, 119, 121, 123, 125},
                                {110, 113, 116, 119, 122, 125, 128, 131, 134, 137, 140, 143}}},
                              {"volume",
                               {{1000, 900, 800, 700, 300, 200, 5000, 50, N, N, N, N},
                                {100, 200, 300, 700, 600, 700, 900, 1000, 1100, 800, 700, 600},
                                {10, 20, 30, 40, 50, 100, 200, 400, 1000, 1200, 1300, 1400}}}});
  ContinuousOptions opt;
  opt.rule = RollRule::kVolume;
  auto r = BuildContinuous(in, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->panel;
  EXPECT_EQ(p.symbols().names(), std::vector<std::string>{"ES"});
  ExpectSeries(Get(p, "contract"), {kA, kA, kA, kA, kA, kB, kB, kB, kB, kB, kC, kC}, "contract");
  ExpectSeries(Get(p, "raw_close"), {100, 101, 102, 103, 104, 113, 115, 117, 119, 121, 140, 143},
               "raw_close");
  // Gaps on the bar before each roll: M - H on bar 4 = 7, U - M on bar 9 = 16.
  ExpectSeries(Get(p, "close"), {123, 124, 125, 126, 127, 129, 131, 133, 135, 137, 140, 143},
               "close");
  ExpectSeries(Get(p, "volume"), {1000, 900, 800, 700, 300, 700, 900, 1000, 1100, 800, 1300, 1400},
               "volume");
  ASSERT_EQ(r->rolls.size(), 2u);
  ExpectRoll(r->rolls[0], "ES", p.calendar()[5], kA, kB, 104, 111, 7, true);
  ExpectRoll(r->rolls[1], "ES", p.calendar()[10], kB, kC, 121, 137, 16, true);
  // Same-day rolls: the adjusted move into the roll bar is the new contract's own.
  const Series c = Get(p, "close");
  EXPECT_DOUBLE_EQ(c[5] - c[4], 113 - 111);
  EXPECT_DOUBLE_EQ(c[10] - c[9], 140 - 137);
}

// Crude-style symbols (root, year, month). Z23 expires after bar 2 while F24 still has less open
// interest: bar 3 has no price; bar 4 holds F24 (Z23 had no value on bar 3). G24 beats F24 on
// bar 5.
TEST(FuturesTest, OpenInterestRuleWithYearMonthSymbolsAndRatio) {
  const Panel in = MakePanel({"CL202312", "CL202401", "CL202402"}, Days(8),
                             {{"close",
                               {{70, 71, 72, N, N, N, N, N},
                                {72, 72.5, 73, 73.5, 74, 74.5, 75, 75.5},
                                {73, 73.25, 73.5, 73.75, 74, 74, 74.25, 74.5}}},
                              {"open_interest",
                               {{500, 450, 400, N, N, N, N, N},
                                {100, 200, 300, 350, 400, 300, 200, 100},
                                {10, 20, 30, 40, 100, 350, 500, 600}}}});
  ContinuousOptions opt;
  opt.rule = RollRule::kOpenInterest;
  opt.adjust = RollAdjust::kRatio;
  opt.contract_pattern = "^(.+?)(\\d{4})(\\d{2})$";
  for (bool month_code_first : {false, true}) {  // a 4-digit group is the year either way
    opt.month_code_first = month_code_first;
    auto r = BuildContinuous(in, opt);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    const Panel& p = r->panel;
    EXPECT_EQ(p.symbols().names(), std::vector<std::string>{"CL"});
    ExpectSeries(Get(p, "contract"), {202312, 202312, 202312, N, 202401, 202401, 202402, 202402},
                 "contract");
    const double g1 = 73.0 / 72.0, g2 = 74.0 / 74.5;
    ExpectSeries(Get(p, "close"),
                 {70 * g2 * g1, 71 * g2 * g1, 72 * g2 * g1, N, 74 * g2, 74.5 * g2, 74.25, 74.5},
                 "close");
    ExpectSeries(Get(p, "open_interest"), {500, 450, 400, N, 400, 300, 500, 600}, "open_interest");
    ASSERT_EQ(r->rolls.size(), 2u);
    // The first roll is measured on bar 2, the last bar Z23 traded.
    ExpectRoll(r->rolls[0], "CL", p.calendar()[4], 202312, 202401, 72, 73, g1, true);
    ExpectRoll(r->rolls[1], "CL", p.calendar()[6], 202401, 202402, 74.5, 74, g2, true);
  }
}

// Sparse dates so that expiry months are a few bars apart.
std::vector<Timestamp> CalendarDates() {
  std::vector<Timestamp> t;
  for (auto [m, d] : std::vector<std::pair<int, int>>{{1, 2},
                                                      {1, 16},
                                                      {2, 1},
                                                      {2, 15},
                                                      {3, 1},
                                                      {3, 15},
                                                      {4, 3},
                                                      {5, 1},
                                                      {5, 15},
                                                      {6, 1},
                                                      {6, 15},
                                                      {7, 3},
                                                      {8, 1},
                                                      {8, 15},
                                                      {9, 1}}) {
    t.push_back(DateTimestamp(2023, m, d));
  }
  return t;
}

TEST(FuturesTest, CalendarRule) {
  // Every contract trades every bar; M = H + 2 and U = H + 5, all moving +1 a bar, so the
  // back-adjusted series is a straight line whatever the roll dates.
  Series h, m, u;
  for (std::size_t t = 0; t < 15; ++t) {
    h.push_back(100.0 + static_cast<double>(t));
    m.push_back(h.back() + 2);
    u.push_back(h.back() + 5);
  }
  const Panel in =
      MakePanel({"ESH2023", "ESM2023", "ESU2023"}, CalendarDates(), {{"close", {h, m, u}}});
  auto build = [&](const char* rule) {
    auto opt = ParseRollRule(rule);
    EXPECT_TRUE(opt.ok());
    return BuildContinuous(in, *opt);
  };
  // calendar:2: H is left 2 bars before 2023-03-01 (bar 4), M 2 bars before 2023-06-01 (bar 9),
  // U 2 bars before 2023-09-01 (bar 14); there is no later contract, so bars 12-14 hold nothing.
  auto r = build("calendar:2");
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  const Panel& p = r->panel;
  ExpectSeries(Get(p, "contract"), {kA, kA, kB, kB, kB, kB, kB, kC, kC, kC, kC, kC, N, N, N},
               "contract");
  ExpectSeries(Get(p, "close"),
               {105, 106, 107, 108, 109, 110, 111, 112, 113, 114, 115, 116, N, N, N}, "close");
  ExpectSeries(Get(p, "raw_close"),
               {100, 101, 104, 105, 106, 107, 108, 112, 113, 114, 115, 116, N, N, N}, "raw_close");
  ASSERT_EQ(r->rolls.size(), 2u);
  ExpectRoll(r->rolls[0], "ES", DateTimestamp(2023, 2, 1), kA, kB, 101, 103, 2, true);
  ExpectRoll(r->rolls[1], "ES", DateTimestamp(2023, 5, 1), kB, kC, 108, 111, 3, true);

  // calendar:0 rolls on the first bar of the expiry month.
  auto r0 = build("calendar:0");
  ASSERT_TRUE(r0.ok());
  ExpectSeries(Get(r0->panel, "contract"),
               {kA, kA, kA, kA, kB, kB, kB, kB, kB, kC, kC, kC, kC, kC, N}, "contract");
  ASSERT_EQ(r0->rolls.size(), 2u);
  EXPECT_EQ(r0->rolls[0].time, DateTimestamp(2023, 3, 1));
  EXPECT_EQ(r0->rolls[1].time, DateTimestamp(2023, 6, 1));

  // The default is 5 bars; and kNone keeps the raw jumps.
  auto none_opt = *ParseRollRule("calendar");
  none_opt.adjust = RollAdjust::kNone;
  auto rn = BuildContinuous(in, none_opt);
  ASSERT_TRUE(rn.ok());
  ExpectSeries(Get(rn->panel, "contract"), {kB, kB, kB, kB, kC, kC, kC, kC, kC, N, N, N, N, N, N},
               "contract");
  ExpectSeries(Get(rn->panel, "close"),
               {102, 103, 104, 105, 109, 110, 111, 112, 113, N, N, N, N, N, N}, "close");
}

TEST(FuturesTest, PerContractGroupsRoots) {
  // Two roots interleaved; 2-digit and 4-digit years side by side.
  const Panel in = MakePanel({"NQH24", "ESH2024", "ESM2024", "NQM24"}, Days(3),
                             {{"close", {{1, 2, 3}, {10, 11, 12}, {20, 21, 22}, {4, 5, 6}}},
                              {"volume", {{5, 5, 5}, {9, 1, 1}, {1, 9, 9}, {1, 1, 1}}}});
  ContinuousOptions opt;
  opt.rule = RollRule::kVolume;
  auto r = BuildContinuous(in, opt);
  ASSERT_TRUE(r.ok()) << r.status().ToString();
  EXPECT_EQ(r->panel.symbols().names(), (std::vector<std::string>{"ES", "NQ"}));
  ExpectSeries(Get(r->panel, "contract", 0), {202403, 202403, 202406}, "ES");
  ExpectSeries(Get(r->panel, "contract", 1), {202403, 202403, 202403}, "NQ");
  ExpectSeries(Get(r->panel, "close", 0), {20, 21, 22}, "ES close");  // gap 21 - 11 on bar 1
  ASSERT_EQ(r->rolls.size(), 1u);
  EXPECT_EQ(r->rolls[0].symbol, "ES");
}

// ---- errors ---------------------------------------------------------------------------------

TEST(FuturesTest, Errors) {
  const Panel no_contract = MakePanel({"ES"}, Days(2), {{"close", {{1, 2}}}});
  auto held = BuildContinuous(no_contract, ContinuousOptions{});
  ASSERT_FALSE(held.ok());
  EXPECT_EQ(held.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(held.status(), "no 'contract' field")) << held.status().message();
  EXPECT_TRUE(Contains(held.status(), "fields are: close")) << held.status().message();

  const Panel no_close =
      MakePanel({"ES"}, Days(2), {{"settle", {{1, 2}}}, {"contract", {{kA, kA}}}});
  EXPECT_TRUE(
      Contains(BuildContinuous(no_close, ContinuousOptions{}).status(), "no 'close' field"));

  const Panel contracts = MakePanel({"ESH23", "ESM23"}, Days(2), {{"close", {{1, 2}, {3, 4}}}});
  ContinuousOptions vol;
  vol.rule = RollRule::kVolume;
  EXPECT_TRUE(Contains(BuildContinuous(contracts, vol).status(), "no 'volume' field"));
  ContinuousOptions oi;
  oi.rule = RollRule::kOpenInterest;
  EXPECT_TRUE(Contains(BuildContinuous(contracts, oi).status(), "no 'open_interest' field"));

  ContinuousOptions cal;
  cal.rule = RollRule::kCalendar;
  const Panel odd = MakePanel({"ESH23", "ES_CONT"}, Days(2), {{"close", {{1, 2}, {3, 4}}}});
  auto unmatched = BuildContinuous(odd, cal);
  ASSERT_FALSE(unmatched.ok());
  EXPECT_EQ(unmatched.status().code(), StatusCode::kDataError);
  EXPECT_TRUE(Contains(
      unmatched.status(),
      "symbol 'ES_CONT' does not match the contract pattern '^(.+?)([A-Z])(\\d{2}|\\d{4})$'"))
      << unmatched.status().message();

  const Panel bad_month = MakePanel({"ESA23"}, Days(2), {{"close", {{1, 2}}}});
  auto month = BuildContinuous(bad_month, cal);
  ASSERT_FALSE(month.ok());
  EXPECT_TRUE(Contains(month.status(), "symbol 'ESA23'")) << month.status().message();
  EXPECT_TRUE(Contains(month.status(), "month 'A'")) << month.status().message();

  const Panel twice = MakePanel({"ESZ23", "ESZ2023"}, Days(2), {{"close", {{1, 2}, {3, 4}}}});
  auto dup = BuildContinuous(twice, cal);
  ASSERT_FALSE(dup.ok());
  EXPECT_TRUE(
      Contains(dup.status(), "symbols 'ESZ23' and 'ESZ2023' are the same contract (ES 2023-12)"))
      << dup.status().message();

  ContinuousOptions bad_re = cal;
  bad_re.contract_pattern = "^(.+";
  auto re = BuildContinuous(contracts, bad_re);
  ASSERT_FALSE(re.ok());
  EXPECT_EQ(re.status().code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Contains(re.status(), "contract pattern '^(.+'")) << re.status().message();
  bad_re.contract_pattern = "^(.+)([A-Z]\\d+)$";
  EXPECT_TRUE(Contains(BuildContinuous(contracts, bad_re).status(),
                       "needs three groups (root, month, year), has 2"));

  cal.days_before_expiry = -1;
  EXPECT_TRUE(Contains(BuildContinuous(contracts, cal).status(), "must be >= 0, was -1"));

  // Ratio adjustment needs positive prices at the roll (back adjustment does not).
  const Panel negative =
      MakePanel({"CL"}, Days(3), {{"close", {{-5, -3, 10}}}, {"contract", {{kA, kA, kB}}}});
  ContinuousOptions ratio;
  ratio.adjust = RollAdjust::kRatio;
  auto neg = BuildContinuous(negative, ratio);
  ASSERT_FALSE(neg.ok());
  EXPECT_EQ(neg.status().code(), StatusCode::kDataError);
  EXPECT_EQ(neg.status().message(),
            "CL at 2023-01-04: cannot ratio-adjust the roll from 202303 to 202306: prices -3 and "
            "10 must be positive "
            "(use --roll-adjust back)");
  auto back = BuildContinuous(negative, ContinuousOptions{});
  ASSERT_TRUE(back.ok());
  ExpectSeries(Get(back->panel, "close"), {8, 10, 10}, "close");
}

// ---- real data: pysystemtrade's legacy carry files -------------------------------------------

std::filesystem::path SourceDir() {
  const char* src = std::getenv("QRAFT_SOURCE_DIR");
  return src ? src : ".";
}

double ParseNumber(const std::string& s) {
  if (s.empty()) return N;
  char* end = nullptr;
  const double v = std::strtod(s.c_str(), &end);
  return end == s.c_str() ? N : v;
}

struct RawFile {
  std::vector<std::string> dates;            // per row, "YYYY-MM-DD"
  std::vector<std::vector<double>> columns;  // per column after the first, per row
};

// Reads a DATETIME,... CSV by hand (independently of the library's reader).
RawFile ReadRaw(const std::filesystem::path& path) {
  RawFile out;
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);  // header
  while (std::getline(in, line)) {
    if (!line.empty() && line.back() == '\r') line.pop_back();
    if (line.empty()) continue;
    std::vector<std::string> cells;
    std::size_t start = 0;
    while (true) {
      const std::size_t comma = line.find(',', start);
      cells.push_back(
          line.substr(start, comma == std::string::npos ? std::string::npos : comma - start));
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    out.dates.push_back(cells[0].substr(0, 10));
    if (out.columns.size() < cells.size() - 1) out.columns.resize(cells.size() - 1);
    for (std::size_t c = 1; c < cells.size(); ++c) {
      out.columns[c - 1].resize(out.dates.size() - 1, N);
      out.columns[c - 1].push_back(ParseNumber(cells[c]));
    }
  }
  for (auto& col : out.columns)
    col.resize(out.dates.size(), N);
  return out;
}

// Daily resampling as the ingest does it: the last known value of each column per day.
std::map<std::string, double> LastPerDay(const RawFile& f, std::size_t column) {
  std::map<std::string, double> out;
  for (std::size_t i = 0; i < f.dates.size(); ++i) {
    const double v = f.columns[column][i];
    if (!std::isnan(v)) out[f.dates[i]] = v;
  }
  return out;
}

TEST(FuturesSharedDataTest, PysystemtradeCarryDataHeldBackAdjusted) {
  QRAFT_REQUIRE_SHARED_DATA();
  const std::filesystem::path dir =
      testing::SharedData() / "futures-pst-legacy" / "sysdata" / "legacycsv";
  if (!std::filesystem::exists(dir)) GTEST_SKIP() << dir << " not found";
  std::vector<std::filesystem::path> files;
  for (const auto& e : std::filesystem::directory_iterator(dir)) {
    const std::string name = e.path().filename().string();
    if (name.size() > 14 && name.ends_with("_carrydata.csv")) files.push_back(e.path());
  }
  std::sort(files.begin(), files.end());
  ASSERT_EQ(files.size(), 38u);

  IngestOptions opt;
  opt.paths = files;
  opt.market = "futures";
  opt.freq = Frequency::Daily();
  opt.resample = true;
  auto mapping = LoadMappingFile(SourceDir() / "examples" / "mappings" / "pst_carrydata.yaml");
  ASSERT_TRUE(mapping.ok()) << mapping.status().ToString();
  opt.mapping = *mapping;
  auto cont = ParseRollRule("held");
  ASSERT_TRUE(cont.ok());
  cont->adjust = RollAdjust::kBack;
  opt.continuous = *cont;
  auto ingested = Ingest(opt, nullptr, NullProgress());
  ASSERT_TRUE(ingested.ok()) << ingested.status().ToString();
  const Panel& p = ingested->content.panel;
  ASSERT_EQ(p.num_symbols(), 38u);
  const std::size_t close_f = *p.FindField("close"), raw_f = *p.FindField("raw_close"),
                    contract_f = *p.FindField("contract");
  std::map<std::string, std::size_t> date_index;
  for (std::size_t t = 0; t < p.num_times(); ++t)
    date_index[FormatDate(p.calendar()[t])] = t;

  // Rolls from the snapshot metadata, per symbol.
  const nlohmann::json& rolls = ingested->content.provenance.at("rolls");
  std::map<std::string, std::vector<const nlohmann::json*>> rolls_of;
  for (const nlohmann::json& r : rolls)
    rolls_of[r.at("symbol").get<std::string>()].push_back(&r);

  std::size_t raw_changes = 0, daily_changes = 0, same_day = 0, expected_same_day = 0,
              checked_rolls = 0;
  std::size_t pairs = 0, roll_pairs = 0, roll_pairs_equal = 0, intraday_round_trips = 0;
  double worst = 0;
  for (const auto& path : files) {
    const std::string instr =
        path.filename().string().substr(0, path.filename().string().size() - 14);
    SCOPED_TRACE(instr);
    const std::size_t s = *p.symbols().Find(instr);
    // Independent count: PRICE_CONTRACT changes, intraday and after daily resampling.
    const RawFile carry = ReadRaw(path);
    const auto& price_contract = carry.columns[3];
    std::set<std::string> change_dates;  // days on which some row changed contract
    for (std::size_t i = 1; i < price_contract.size(); ++i) {
      if (price_contract[i] != price_contract[i - 1]) {
        ++raw_changes;
        change_dates.insert(carry.dates[i]);
      }
    }
    const auto daily_contract = LastPerDay(carry, 3);
    const auto daily_close = LastPerDay(carry, 0), daily_carry = LastPerDay(carry, 1),
               daily_carry_contract = LastPerDay(carry, 2);
    std::size_t changes = 0;
    double prev = N;
    for (const auto& [date, c] : daily_contract) {
      if (!std::isnan(prev) && c != prev) {
        ++changes;
        // Same day when the last day with a price before the roll quotes the new contract's carry.
        auto last = daily_close.lower_bound(date);
        if (last != daily_close.begin()) {
          const std::string& before = std::prev(last)->first;
          const auto cc = daily_carry_contract.find(before);
          if (cc != daily_carry_contract.end() && cc->second == c && daily_carry.count(before))
            ++expected_same_day;
        }
      }
      prev = c;
      EXPECT_EQ(p.at(contract_f, s, date_index.at(date)), c) << date;
    }
    daily_changes += changes;
    const auto& mine = rolls_of[instr];
    EXPECT_EQ(mine.size(), changes);

    // Continuity at every roll.
    std::set<std::size_t> roll_bars;
    for (const nlohmann::json* r : mine) {
      const std::size_t t = date_index.at(r->at("date").get<std::string>());
      roll_bars.insert(t);
      std::size_t a = t;
      while (a > 0 && std::isnan(p.at(raw_f, s, a - 1)))
        --a;
      ASSERT_GT(a, 0u);
      --a;
      std::size_t b = t;
      while (b < p.num_times() && std::isnan(p.at(raw_f, s, b)))
        ++b;
      ASSERT_LT(b, p.num_times());
      const double move = p.at(close_f, s, b) - p.at(close_f, s, a);
      EXPECT_EQ(r->at("old_price").get<double>(), p.at(raw_f, s, a));
      EXPECT_EQ(r->at("from").get<double>(), p.at(contract_f, s, a));
      EXPECT_EQ(r->at("to").get<double>(), p.at(contract_f, s, t));
      if (r->at("gap_source") == "same_day") {
        ++same_day;
        // The new contract's own move, from its carry price the bar before.
        EXPECT_NEAR(move, p.at(raw_f, s, b) - r->at("new_price").get<double>(),
                    1e-9 * std::max(1.0, std::fabs(move)));
      } else {
        EXPECT_NEAR(move, 0.0, 1e-9 * std::max(1.0, std::fabs(p.at(close_f, s, b)))) << r->dump();
      }
      ++checked_rolls;
    }

    // Daily differences against pysystemtrade's back-adjusted series, resampled the same way.
    const auto pst = LastPerDay(ReadRaw(dir / (instr + "_price.csv")), 0);
    std::size_t a = p.num_times();
    for (std::size_t b = 0; b < p.num_times(); ++b) {
      if (std::isnan(p.at(close_f, s, b))) continue;
      if (a == p.num_times()) {
        a = b;
        continue;
      }
      const std::string da = FormatDate(p.calendar()[a]), db = FormatDate(p.calendar()[b]);
      const auto pa = pst.find(da), pb = pst.find(db);
      if (pa != pst.end() && pb != pst.end()) {
        const double ours = p.at(close_f, s, b) - p.at(close_f, s, a),
                     theirs = pb->second - pa->second;
        // pysystemtrade wrote 12 significant digits: compare relative to the price level.
        const double tol = 1e-9 * std::max(1.0, std::fabs(pb->second));
        const bool roll =
            roll_bars.lower_bound(a + 1) != roll_bars.end() && *roll_bars.lower_bound(a + 1) <= b;
        const bool intraday_change = change_dates.upper_bound(da) != change_dates.end() &&
                                     *change_dates.upper_bound(da) <= db;
        if (roll) {
          ++roll_pairs;
          if (std::fabs(ours - theirs) <= tol) ++roll_pairs_equal;
        } else if (intraday_change) {
          // The contract changed and changed back within the day: invisible in daily data, but
          // pysystemtrade adjusted its intraday series twice.
          ++intraday_round_trips;
        } else {
          ++pairs;
          worst = std::max(worst, std::fabs(ours - theirs) / std::max(1.0, std::fabs(pb->second)));
          EXPECT_NEAR(ours, theirs, tol) << da << " -> " << db;
        }
      }
      a = b;
    }
  }
  EXPECT_EQ(raw_changes, 2525u);  // the figure in PROVENANCE.md
  EXPECT_EQ(rolls.size(), daily_changes);
  EXPECT_EQ(checked_rolls, rolls.size());
  EXPECT_EQ(same_day, expected_same_day);
  EXPECT_EQ(roll_pairs, rolls.size());
  EXPECT_GT(pairs, 150000u);
  std::printf(
      "[  figures ] PRICE_CONTRACT changes: %zu intraday, %zu after daily resampling; rolls: %zu "
      "(%zu same-day, %zu "
      "close-to-close)\n"
      "[  figures ] vs pysystemtrade back-adjusted: %zu non-roll day pairs equal (worst relative "
      "difference %.2g); "
      "roll days: %zu, of which %zu equal; %zu non-roll pairs skipped (intraday contract round "
      "trips)\n",
      raw_changes, daily_changes, rolls.size(), same_day, rolls.size() - same_day, pairs, worst,
      roll_pairs, roll_pairs_equal, intraday_round_trips);
}

}  // namespace
}  // namespace qraft::data
