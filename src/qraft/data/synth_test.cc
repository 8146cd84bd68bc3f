#include "qraft/data/synth.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/data/snapshot.h"

namespace qraft::data {
namespace {

const std::vector<std::string> kFields = {"open",   "high",   "low", "close",
                                          "volume", "amount", "vwap"};

SnapshotContent Make(const SynthOptions& o) {
  auto r = Synthesize(o);
  EXPECT_TRUE(r.ok()) << r.status().ToString();
  return std::move(r).value();
}

std::span<const double> Series(const SnapshotContent& c, std::string_view field, std::size_t s) {
  return c.panel.series(*c.panel.FindField(field), s);
}

bool SameBits(const Panel& a, const Panel& b) {
  if (a.field_names() != b.field_names() || a.cells() != b.cells() ||
      !(a.calendar() == b.calendar()))
    return false;
  for (std::size_t f = 0; f < a.num_fields(); ++f) {
    if (std::memcmp(a.field(f).data(), b.field(f).data(), a.cells() * sizeof(double)) != 0) {
      return false;
    }
  }
  return true;
}

/// Log close-to-close returns of one symbol; NaN where either close is missing.
std::vector<double> LogReturns(const SnapshotContent& c, std::size_t s) {
  auto close = Series(c, "close", s);
  std::vector<double> r(close.size(), std::nan(""));
  for (std::size_t t = 1; t < close.size(); ++t) {
    r[t] = std::log(close[t] / close[t - 1]);
  }
  return r;
}

std::vector<double> Finite(const std::vector<double>& x) {
  std::vector<double> out;
  for (double v : x) {
    if (std::isfinite(v)) out.push_back(v);
  }
  return out;
}

double Mean(const std::vector<double>& x) {
  return std::accumulate(x.begin(), x.end(), 0.0) / static_cast<double>(x.size());
}

double Sd(const std::vector<double>& x) {
  const double m = Mean(x);
  double ss = 0;
  for (double v : x) {
    ss += (v - m) * (v - m);
  }
  return std::sqrt(ss / static_cast<double>(x.size() - 1));
}

double ExcessKurtosis(const std::vector<double>& x) {
  const double m = Mean(x);
  double m2 = 0, m4 = 0;
  for (double v : x) {
    m2 += (v - m) * (v - m);
    m4 += (v - m) * (v - m) * (v - m) * (v - m);
  }
  m2 /= static_cast<double>(x.size());
  m4 /= static_cast<double>(x.size());
  return m4 / (m2 * m2) - 3.0;
}

/// Correlation over the positions where both are finite (NaN with fewer than `min_n`).
double Corr(const std::vector<double>& x, const std::vector<double>& y, std::size_t min_n = 30) {
  double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
  std::size_t n = 0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (!std::isfinite(x[i]) || !std::isfinite(y[i])) continue;
    sx += x[i], sy += y[i], sxx += x[i] * x[i], syy += y[i] * y[i], sxy += x[i] * y[i];
    ++n;
  }
  if (n < min_n) return std::nan("");
  const double dn = static_cast<double>(n);
  return (sxy - sx * sy / dn) / std::sqrt((sxx - sx * sx / dn) * (syy - sy * sy / dn));
}

/// Autocorrelation of x^2 at `lag` over pairs where both are finite.
double SquaredAutocorr(const std::vector<double>& x, std::size_t lag) {
  std::vector<double> a(x.size(), std::nan("")), b(x.size(), std::nan(""));
  for (std::size_t t = lag; t < x.size(); ++t) {
    a[t] = x[t] * x[t];
    b[t] = x[t - lag] * x[t - lag];
  }
  return Corr(a, b);
}

double Median(std::vector<double> x) {
  std::sort(x.begin(), x.end());
  return x[x.size() / 2];
}

TEST(Synth, SameSeedIsBitIdentical) {
  SynthOptions o;
  o.symbols = 60;
  o.bars = 400;
  o.price_limit = 0.1;
  const SnapshotContent a = Make(o), b = Make(o);
  EXPECT_TRUE(SameBits(a.panel, b.panel));
  EXPECT_EQ(a.instruments, b.instruments);
  EXPECT_EQ(a.provenance, b.provenance);
  EXPECT_EQ(ComputeHashes(a).id, ComputeHashes(b).id);
}

TEST(Synth, ThreadCountDoesNotChangeTheResult) {
  SynthOptions o;
  o.symbols = 300;  // many parallel chunks
  o.bars = 300;
  SnapshotContent one, two;
  {
    ThreadLimit limit(1);
    one = Make(o);
  }
  {
    ThreadLimit limit(2);
    two = Make(o);
  }
  EXPECT_TRUE(SameBits(one.panel, two.panel));
  EXPECT_EQ(ComputeHashes(one).id, ComputeHashes(two).id);

  // Intraday too (the factors are generated in parallel across factors).
  o.symbols = 8;
  o.bars = 240 * 3;
  o.freq = Frequency(Frequency::Unit::kMinute, 1);
  o.market = "cn_stock";
  {
    ThreadLimit limit(1);
    one = Make(o);
  }
  {
    ThreadLimit limit(2);
    two = Make(o);
  }
  EXPECT_TRUE(SameBits(one.panel, two.panel));
}

TEST(Synth, DifferentSeedGivesDifferentData) {
  SynthOptions o;
  o.symbols = 20;
  o.bars = 100;
  const SnapshotContent a = Make(o);
  o.seed = 2;
  const SnapshotContent b = Make(o);
  EXPECT_FALSE(SameBits(a.panel, b.panel));
  EXPECT_NE(ComputeHashes(a).id, ComputeHashes(b).id);
  // Not merely shifted: the closes of symbols listed on both sides differ nearly everywhere.
  std::size_t both = 0, equal = 0;
  for (std::size_t s = 0; s < o.symbols; ++s) {
    auto x = Series(a, "close", s), y = Series(b, "close", s);
    for (std::size_t t = 0; t < o.bars; ++t) {
      if (std::isnan(x[t]) || std::isnan(y[t])) continue;
      ++both;
      equal += x[t] == y[t];
    }
  }
  ASSERT_GT(both, 500u);
  EXPECT_LT(equal, both / 100);
}

/// Checks every bar: all seven fields present or all missing; positive prices; low <= min(open,
/// close), high >= max(open, close), low <= vwap <= high, amount == vwap * volume exactly,
/// volume a whole number >= 1. Returns the number of valid bars.
std::size_t CheckBars(const SnapshotContent& c) {
  const Panel& p = c.panel;
  EXPECT_EQ(p.field_names(), kFields);
  std::size_t valid = 0;
  for (std::size_t s = 0; s < p.num_symbols(); ++s) {
    auto open = Series(c, "open", s), high = Series(c, "high", s), low = Series(c, "low", s);
    auto close = Series(c, "close", s), volume = Series(c, "volume", s),
         amount = Series(c, "amount", s);
    auto vwap = Series(c, "vwap", s);
    for (std::size_t t = 0; t < p.num_times(); ++t) {
      const std::size_t nan = std::isnan(open[t]) + std::isnan(high[t]) + std::isnan(low[t]) +
                              std::isnan(close[t]) + std::isnan(volume[t]) + std::isnan(amount[t]) +
                              std::isnan(vwap[t]);
      if (nan == 7) continue;
      EXPECT_EQ(nan, 0u) << p.symbols()[s] << " bar " << t << ": some fields missing, not all";
      if (nan != 0) return valid;
      ++valid;
      const bool ok = low[t] > 0 && low[t] <= std::min(open[t], close[t]) &&
                      high[t] >= std::max(open[t], close[t]) && low[t] <= vwap[t] &&
                      vwap[t] <= high[t] && amount[t] == vwap[t] * volume[t] && volume[t] >= 1 &&
                      volume[t] == std::floor(volume[t]) && std::isfinite(high[t]) &&
                      std::isfinite(amount[t]);
      EXPECT_TRUE(ok) << p.symbols()[s] << " bar " << t << ": o=" << open[t] << " h=" << high[t]
                      << " l=" << low[t] << " c=" << close[t] << " v=" << volume[t]
                      << " a=" << amount[t] << " vwap=" << vwap[t];
      if (!ok) return valid;
    }
  }
  return valid;
}

TEST(Synth, EveryBarIsConsistent) {
  SynthOptions o;
  o.symbols = 200;
  o.bars = 1000;
  EXPECT_GT(CheckBars(Make(o)), 100'000u);
  o.price_limit = 0.1;
  o.seed = 7;
  EXPECT_GT(CheckBars(Make(o)), 100'000u);
  o.freq = Frequency(Frequency::Unit::kMinute, 5);
  o.market = "us_stock";
  o.symbols = 20;
  o.bars = 78 * 40;
  EXPECT_GT(CheckBars(Make(o)), 20'000u);
}

TEST(Synth, NaNOutsideListingSpansAndInsideSuspensions) {
  SynthOptions o;
  o.symbols = 300;
  o.bars = 1000;
  o.suspensions_per_year = 2.0;
  const SnapshotContent c = Make(o);
  // The instruments are the listing spans, exactly as DeriveInstruments reads them off the data.
  EXPECT_EQ(c.instruments, DeriveInstruments(c.panel));
  ASSERT_EQ(c.instruments.size(), o.symbols);

  const Calendar& cal = c.panel.calendar();
  std::size_t suspended = 0, span_bars = 0, suspensions = 0;
  for (std::size_t s = 0; s < o.symbols; ++s) {
    const InstrumentSpan& span = c.instruments[s];
    ASSERT_EQ(span.symbol, c.panel.symbols()[s]);
    const std::size_t first = *cal.Find(span.start), last = *cal.Find(span.end);
    for (const std::string& f : kFields) {
      auto x = Series(c, f, s);
      for (std::size_t t = 0; t < o.bars; ++t) {
        if (t < first || t > last) {
          ASSERT_TRUE(std::isnan(x[t])) << span.symbol << " " << f << " bar " << t;
        }
      }
      ASSERT_FALSE(std::isnan(x[first]));
      ASSERT_FALSE(std::isnan(x[last]));
    }
    // Inside the span, a missing close means the whole bar is missing (CheckBars below) and is a
    // suspension; count them and the spans they form.
    auto close = Series(c, "close", s);
    for (std::size_t t = first; t <= last; ++t) {
      if (std::isnan(close[t])) {
        ++suspended;
        suspensions += !std::isnan(close[t - 1]);
      }
    }
    span_bars += last - first + 1;
  }
  CheckBars(c);
  // 2 suspensions a year of 1-20 bars (mean 10.5): about 2 / 252 * 10.5 = 8% of bars. Events
  // cannot start while a suspension lasts, so the rate is a little lower; allow 5%-10%.
  const double share = static_cast<double>(suspended) / static_cast<double>(span_bars);
  EXPECT_GT(share, 0.05);
  EXPECT_LT(share, 0.10);
  const double per_year =
      static_cast<double>(suspensions) / (static_cast<double>(span_bars) / 252.0);
  EXPECT_NEAR(per_year, 2.0 * (1 - share), 0.3);

  // No suspensions when the rate is zero.
  o.suspensions_per_year = 0;
  const SnapshotContent none = Make(o);
  for (std::size_t s = 0; s < o.symbols; ++s) {
    auto close = Series(none, "close", s);
    const auto valid =
        std::count_if(close.begin(), close.end(), [](double v) { return !std::isnan(v); });
    const std::size_t first = *cal.Find(none.instruments[s].start),
                      last = *cal.Find(none.instruments[s].end);
    EXPECT_EQ(static_cast<std::size_t>(valid), last - first + 1);
  }
}

TEST(Synth, ListedSharesFollowTheOptions) {
  SynthOptions o;
  o.symbols = 2000;
  o.bars = 250;
  o.late_listing = 0.3;
  o.delisting = 0.1;
  const SnapshotContent c = Make(o);
  const Calendar& cal = c.panel.calendar();
  std::size_t late = 0, delisted = 0;
  for (const InstrumentSpan& sp : c.instruments) {
    late += sp.start > cal.front();
    delisted += sp.end < cal.back();
  }
  // Binomial: sd = sqrt(p (1 - p) / n) = 0.0102 for 0.3, 0.0067 for 0.1; allow 4 sd. (A symbol
  // listing on the last bar cannot also delist: 1 in 250 of the late ones, negligible.)
  EXPECT_NEAR(static_cast<double>(late) / 2000, 0.3, 0.041);
  EXPECT_NEAR(static_cast<double>(delisted) / 2000, 0.1, 0.027);

  o.late_listing = 0;
  o.delisting = 0;
  o.symbols = 100;
  for (const InstrumentSpan& sp : Make(o).instruments) {
    EXPECT_EQ(sp.start, cal.front());
    EXPECT_EQ(sp.end, cal.back());
  }
  o.late_listing = 1;
  o.delisting = 1;
  for (const InstrumentSpan& sp : Make(o).instruments) {
    EXPECT_GT(sp.start, cal.front());
    EXPECT_LE(sp.start, sp.end);
    // Listing on the last bar leaves no room to delist.
    if (sp.start < cal.back()) {
      EXPECT_LT(sp.end, cal.back());
    }
  }
}

/// Largest |close / previous valid close - 1| and the number of moves within 0.2% of `limit`.
struct LimitStats {
  double max_move = 0;
  std::size_t up = 0, down = 0;
  bool inside_band = true;  // high and low stay within the band as well
};

LimitStats MeasureDailyLimit(const SnapshotContent& c, double limit) {
  LimitStats st;
  for (std::size_t s = 0; s < c.panel.num_symbols(); ++s) {
    auto close = Series(c, "close", s), high = Series(c, "high", s), low = Series(c, "low", s);
    double prev = std::nan("");
    for (std::size_t t = 0; t < close.size(); ++t) {
      if (std::isnan(close[t])) continue;
      if (!std::isnan(prev)) {
        const double move = close[t] / prev - 1;
        st.max_move = std::max(st.max_move, std::abs(move));
        st.up += move > limit - 0.002;
        st.down += move < -limit + 0.002;
        if (high[t] > prev * (1 + limit) * (1 + 1e-12) ||
            low[t] < prev * (1 - limit) * (1 - 1e-12)) {
          st.inside_band = false;
        }
      }
      prev = close[t];
    }
  }
  return st;
}

TEST(Synth, PriceLimitBoundsEveryMove) {
  SynthOptions o;
  o.symbols = 300;
  o.bars = 1000;
  o.price_limit = 0.1;
  const SnapshotContent c = Make(o);
  const LimitStats st = MeasureDailyLimit(c, 0.1);
  // Limit prices are rounded inwards, so the only slack is floating-point rounding.
  EXPECT_LE(st.max_move, 0.1 + 1e-12);
  EXPECT_TRUE(st.inside_band);
  // Jumps (sd 6%) and fat tails hit the limit regularly, on both sides.
  EXPECT_GT(st.up, 50u);
  EXPECT_GT(st.down, 50u);

  // Without a limit the same model moves more than 10% now and then.
  o.price_limit = 0;
  EXPECT_GT(MeasureDailyLimit(Make(o), 0.1).max_move, 0.2);
}

TEST(Synth, IntradayPriceLimitIsRelativeToThePreviousDaysClose) {
  SynthOptions o;
  o.symbols = 40;
  o.bars = 240 * 30;
  o.freq = Frequency(Frequency::Unit::kMinute, 1);
  o.market = "cn_stock";
  o.price_limit = 0.02;  // tight, so that it binds intraday
  o.late_listing = 0;
  o.delisting = 0;
  o.suspensions_per_year = 0;
  const SnapshotContent c = Make(o);
  CheckBars(c);
  std::size_t at_limit = 0;
  for (std::size_t s = 0; s < o.symbols; ++s) {
    auto close = Series(c, "close", s), high = Series(c, "high", s), low = Series(c, "low", s);
    for (std::size_t day = 1; day < 30; ++day) {
      const double ref = close[day * 240 - 1];
      for (std::size_t t = day * 240; t < (day + 1) * 240; ++t) {
        ASSERT_LE(high[t], ref * 1.02 * (1 + 1e-12)) << "symbol " << s << " bar " << t;
        ASSERT_GE(low[t], ref * 0.98 * (1 - 1e-12)) << "symbol " << s << " bar " << t;
        at_limit += std::abs(close[t] / ref - 1) > 0.0199;
      }
    }
  }
  EXPECT_GT(at_limit, 100u);
}

/// Equal-weighted mean return across the symbols with a return at t (NaN with fewer than 20).
std::vector<double> MeanReturn(const std::vector<std::vector<double>>& returns) {
  std::vector<double> out(returns[0].size(), std::nan(""));
  for (std::size_t t = 1; t < out.size(); ++t) {
    double sum = 0;
    std::size_t n = 0;
    for (const auto& r : returns) {
      if (std::isfinite(r[t])) sum += r[t], ++n;
    }
    if (n >= 20) out[t] = sum / static_cast<double>(n);
  }
  return out;
}

std::vector<std::vector<double>> AllReturns(const SnapshotContent& c) {
  std::vector<std::vector<double>> out(c.panel.num_symbols());
  for (std::size_t s = 0; s < out.size(); ++s) {
    out[s] = LogReturns(c, s);
  }
  return out;
}

TEST(Synth, FactorAndIdiosyncraticVolatilityMatchTheOptions) {
  // Market factor alone (no sectors, no idiosyncratic part): the mean return of 50 symbols is
  // mean(beta) * m, mean(beta) = 1 +- 0.035. One 10-year path of this GARCH gives a realised
  // volatility between 0.80x and 1.37x the target (1%-99%, by simulation), mean about 0.98x; the
  // mean over 20 seeds has a standard error of about 3%, so allow +-10%.
  SynthOptions o;
  o.symbols = 50;
  o.bars = 2520;
  o.sectors = 0;
  o.idio_vol = 0;
  o.jumps_per_year = 0;
  o.late_listing = 0;
  o.delisting = 0;
  o.suspensions_per_year = 0;
  double sum = 0;
  for (std::uint64_t seed = 1; seed <= 20; ++seed) {
    o.seed = seed;
    sum += Sd(Finite(MeanReturn(AllReturns(Make(o))))) * std::sqrt(252.0);
  }
  EXPECT_NEAR(sum / 20, 0.16, 0.016);

  // Idiosyncratic part alone (jumps included): the median across 300 symbols of their realised
  // volatility is the median idio_vol, 0.25 (each estimate is noisy, their median is not).
  o.seed = 1;
  o.symbols = 300;
  o.market_vol = 0;
  o.idio_vol = 0.25;
  o.jumps_per_year = 1.5;
  std::vector<double> vols;
  for (const auto& r : AllReturns(Make(o))) {
    vols.push_back(Sd(Finite(r)) * std::sqrt(252.0));
  }
  EXPECT_NEAR(Median(vols), 0.25, 0.025);
}

TEST(Synth, StatisticsAreRealistic) {
  SynthOptions o;
  o.symbols = 300;
  o.bars = 2520;  // 10 years
  const SnapshotContent c = Make(o);
  const std::size_t S = o.symbols, T = o.bars;
  const std::vector<std::vector<double>> returns = AllReturns(c);

  // Market: the equal-weighted mean return. Its variance is market + sectors / K + idio / N:
  // sqrt(0.16^2 + 0.10^2 / 10 + 0.29^2 / 300) = 0.164 (0.29: idio vol's root mean square with its
  // lognormal spread). One 10-year GARCH path lands within 0.80x-1.37x of that (1%-99%).
  const std::vector<double> market = MeanReturn(returns);
  const double market_vol = Sd(Finite(market)) * std::sqrt(252.0);
  EXPECT_GT(market_vol, 0.164 * 0.80);
  EXPECT_LT(market_vol, 0.164 * 1.40);

  // Symbols: median total volatility sqrt(0.16^2 + 0.10^2 + 0.25^2) = 0.313 (median idio vol),
  // give or take the market path's luck (above).
  std::vector<double> vols, kurtosis, clustering;
  for (std::size_t s = 0; s < S; ++s) {
    const std::vector<double> r = Finite(returns[s]);
    if (r.size() < 500) continue;
    vols.push_back(Sd(r) * std::sqrt(252.0));
    kurtosis.push_back(ExcessKurtosis(r));
    double acf = 0;
    for (std::size_t lag = 1; lag <= 5; ++lag) {
      acf += SquaredAutocorr(returns[s], lag) / 5;
    }
    clustering.push_back(acf);
  }
  ASSERT_GT(vols.size(), 150u);
  EXPECT_GT(Median(vols), 0.313 * 0.85);
  EXPECT_LT(Median(vols), 0.313 * 1.25);
  // Fat tails: t(5) shocks, GARCH and jumps. A normal sample would give ~0 (sd 0.1 at n = 2500).
  EXPECT_GT(Median(kurtosis), 1.0);
  // Volatility clustering: squared returns are positively autocorrelated (lags 1-5), for the
  // typical symbol and clearly for the market (independent returns: 0 +- 0.02).
  EXPECT_GT(Mean(clustering), 0.03);
  double market_acf = 0;
  for (std::size_t lag = 1; lag <= 5; ++lag) {
    market_acf += SquaredAutocorr(market, lag) / 5;
  }
  EXPECT_GT(market_acf, 0.08);

  // Co-movement: average pairwise correlation, expected about 0.0256 / 0.12 = 0.21 (market
  // variance over a typical symbol's), higher within sectors and in a volatile market.
  double sum = 0;
  std::size_t pairs = 0;
  for (std::size_t i = 0; i < 100; ++i) {
    for (std::size_t j = i + 1; j < 100; ++j) {
      const double r = Corr(returns[i], returns[j], 250);
      if (std::isnan(r)) continue;
      sum += r;
      ++pairs;
    }
  }
  ASSERT_GT(pairs, 2000u);
  EXPECT_GT(sum / static_cast<double>(pairs), 0.12);
  EXPECT_LT(sum / static_cast<double>(pairs), 0.45);

  // Volume: rises with |return| (same bar).
  std::vector<double> volume_corr;
  for (std::size_t s = 0; s < S; ++s) {
    auto v = Series(c, "volume", s);
    std::vector<double> log_volume(T), abs_return(T);
    for (std::size_t t = 0; t < T; ++t) {
      log_volume[t] = std::log(v[t]);
      abs_return[t] = std::abs(returns[s][t]);
    }
    const double r = Corr(log_volume, abs_return, 250);
    if (!std::isnan(r)) volume_corr.push_back(r);
  }
  EXPECT_GT(Mean(volume_corr), 0.2);
}

TEST(Synth, DailyCalendarIsWeekdaysFromStart) {
  SynthOptions o;
  o.symbols = 2;
  o.bars = 30;
  o.start = DateTimestamp(2024, 1, 6);  // a Saturday: the first bar is Monday the 8th
  const SnapshotContent c = Make(o);
  const Calendar& cal = c.panel.calendar();
  ASSERT_EQ(cal.size(), 30u);
  EXPECT_EQ(cal.front(), DateTimestamp(2024, 1, 8));
  for (std::size_t t = 0; t < cal.size(); ++t) {
    EXPECT_EQ(cal[t], FloorToDay(cal[t]));
    EXPECT_LT(Weekday(cal[t]), 5);
    if (t > 0) {
      EXPECT_EQ(cal[t] - cal[t - 1], (Weekday(cal[t]) == 0 ? 3 : 1) * kNanosPerDay);
    }
  }
  EXPECT_EQ(cal.back(), DateTimestamp(2024, 2, 16));  // 6 weeks of 5 days
  EXPECT_EQ(c.timezone, "UTC");

  // A crypto market trades every day.
  o.market = "crypto_spot";
  const SnapshotContent crypto = Make(o);
  EXPECT_EQ(crypto.panel.calendar().front(), DateTimestamp(2024, 1, 6));
  EXPECT_EQ(crypto.panel.calendar().back(), DateTimestamp(2024, 2, 4));
}

TEST(Synth, CnStockIntradayHas240BarsInTwoSessions) {
  SynthOptions o;
  o.symbols = 3;
  o.bars = 240 * 5 + 17;  // five days and part of a sixth
  o.freq = Frequency(Frequency::Unit::kMinute, 1);
  o.market = "cn_stock";
  o.start = DateTimestamp(2024, 1, 5);  // Friday; then Monday 8th ...
  const SnapshotContent c = Make(o);
  EXPECT_EQ(c.timezone, "Asia/Shanghai");
  const Calendar& cal = c.panel.calendar();
  ASSERT_EQ(cal.size(), o.bars);
  // Beijing is UTC+8: 09:30-11:30 and 13:00-15:00 local are 01:30-03:30 and 05:00-07:00 UTC.
  const Timestamp days[] = {DateTimestamp(2024, 1, 5),  DateTimestamp(2024, 1, 8),
                            DateTimestamp(2024, 1, 9),  DateTimestamp(2024, 1, 10),
                            DateTimestamp(2024, 1, 11), DateTimestamp(2024, 1, 12)};
  for (std::size_t t = 0; t < cal.size(); ++t) {
    const std::size_t day = t / 240, k = t % 240;
    const Timestamp open =
        k < 120 ? days[day] + 90 * kNanosPerMinute + static_cast<Timestamp>(k) * kNanosPerMinute
                : days[day] + 5 * kNanosPerHour + static_cast<Timestamp>(k - 120) * kNanosPerMinute;
    ASSERT_EQ(cal[t], open) << "bar " << t << " " << FormatDateTime(cal[t]);
  }
  EXPECT_EQ(FormatDateTime(cal[119]), "2024-01-05 03:29:00");
  EXPECT_EQ(FormatDateTime(cal[120]), "2024-01-05 05:00:00");
  CheckBars(c);

  // 7 minutes do not divide a 120-minute session.
  o.freq = Frequency(Frequency::Unit::kMinute, 7);
  auto bad = Synthesize(o);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(bad.status().message().find("does not divide"), std::string_view::npos)
      << bad.status().ToString();
}

TEST(Synth, CryptoIntradayRunsAroundTheClock) {
  SynthOptions o;
  o.symbols = 2;
  o.bars = 24 * 10;
  o.freq = Frequency(Frequency::Unit::kHour, 1);
  o.market = "crypto_spot";
  o.start = DateTimestamp(2024, 1, 5);
  const SnapshotContent c = Make(o);
  const Calendar& cal = c.panel.calendar();
  ASSERT_EQ(cal.size(), 240u);
  EXPECT_EQ(cal.front(), DateTimestamp(2024, 1, 5));
  for (std::size_t t = 1; t < cal.size(); ++t) {
    ASSERT_EQ(cal[t] - cal[t - 1], kNanosPerHour);  // weekends too
  }
}

TEST(Synth, NamesMetadataAndProvenance) {
  SynthOptions o;
  o.symbols = 12;
  o.bars = 20;
  o.seed = 42;
  o.market = "cn_stock";
  o.price_limit = 0.1;
  const SnapshotContent c = Make(o);
  ASSERT_EQ(c.panel.num_symbols(), 12u);
  EXPECT_EQ(c.panel.symbols()[0], "S01");
  EXPECT_EQ(c.panel.symbols()[11], "S12");
  EXPECT_TRUE(std::is_sorted(c.panel.symbols().names().begin(), c.panel.symbols().names().end()));
  EXPECT_EQ(c.market, "cn_stock");
  EXPECT_EQ(c.freq, Frequency::Daily());
  EXPECT_EQ(c.timezone, "Asia/Shanghai");
  EXPECT_EQ(c.source_rows, 0u);

  const nlohmann::json& p = c.provenance;
  EXPECT_EQ(p["generator"], "qraft data synth");
  const nlohmann::json& opt = p["options"];
  EXPECT_EQ(opt["symbols"], 12);
  EXPECT_EQ(opt["bars"], 20);
  EXPECT_EQ(opt["seed"], 42);
  EXPECT_EQ(opt["freq"], "1d");
  EXPECT_EQ(opt["start"], "2005-01-03");
  EXPECT_EQ(opt["market"], "cn_stock");
  EXPECT_EQ(opt["price_limit"], 0.1);
  for (const char* key : {"market_vol", "idio_vol", "sector_vol", "jumps_per_year", "jump_sd",
                          "late_listing", "delisting", "suspensions_per_year", "sectors"}) {
    EXPECT_TRUE(opt.contains(key)) << key;
  }
  EXPECT_TRUE(p.contains("parameters"));

  o.symbols = 5000;
  o.bars = 2;
  const SnapshotContent big = Make(o);
  EXPECT_EQ(big.panel.symbols()[0], "S0001");
  EXPECT_EQ(big.panel.symbols()[4999], "S5000");
  o.symbols = 1;
  EXPECT_EQ(Make(o).panel.symbols()[0], "S1");
}

TEST(Synth, RejectsImpossibleOptions) {
  const auto expect_invalid = [](const SynthOptions& o, std::string_view needle) {
    auto r = Synthesize(o);
    ASSERT_FALSE(r.ok()) << needle;
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    EXPECT_NE(r.status().message().find(needle), std::string_view::npos) << r.status().ToString();
  };
  SynthOptions o;
  o.symbols = 0;
  expect_invalid(o, "symbols");
  o = {};
  o.bars = 0;
  expect_invalid(o, "bars");
  for (double limit : {1.0, -0.1, std::nan("")}) {
    o = {};
    o.price_limit = limit;
    expect_invalid(o, "price_limit");
  }
  o = {};
  o.late_listing = 1.5;
  expect_invalid(o, "late_listing");
  o = {};
  o.idio_vol = -0.1;
  expect_invalid(o, "idio_vol");
  o = {};
  o.suspensions_per_year = std::nan("");
  expect_invalid(o, "suspensions_per_year");
  o = {};
  o.sectors = -1;
  expect_invalid(o, "sectors");
  o = {};
  o.freq = Frequency(Frequency::Unit::kWeek, 1);
  expect_invalid(o, "frequency 1w");
  o.freq = Frequency(Frequency::Unit::kTick, 1);
  expect_invalid(o, "frequency tick");
  o = {};
  o.freq = Frequency(Frequency::Unit::kMinute, 7);  // the whole day is 1440 minutes
  expect_invalid(o, "does not divide");
}

TEST(Synth, GoldenValues) {
  // Regression values observed from this implementation for seed 1 (not external truth): they
  // change only when the model or its random streams change, which must bump kModelVersion.
  // libm's exp/log enter the computation; these were observed with glibc on x86-64.
  SynthOptions o;
  o.symbols = 3;
  o.bars = 5;
  o.late_listing = 0;
  o.delisting = 0;
  const SnapshotContent c = Make(o);
  const double expected_close[3][5] = {{13.659, 13.487, 13.514, 13.604, 13.538},
                                       {16.957, 16.992, 16.782, 16.273, 15.862},
                                       {55.45, 55.296, 54.621, 55.298, 56.963}};
  for (std::size_t s = 0; s < 3; ++s) {
    auto close = Series(c, "close", s);
    for (std::size_t t = 0; t < 5; ++t) {
      EXPECT_EQ(close[t], expected_close[s][t]) << "symbol " << s << " bar " << t;
    }
  }
  EXPECT_EQ(c.panel.calendar().front(), DateTimestamp(2005, 1, 3));
}

// Manual timing, not run by default:
//   ./build-synth/tests/synth_test --gtest_also_run_disabled_tests --gtest_filter='*Timing*'
TEST(Synth, DISABLED_Timing) {
  const auto time = [](const char* what, const SynthOptions& o) {
    const auto t0 = std::chrono::steady_clock::now();
    auto r = Synthesize(o);
    const double secs =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    std::printf("%s: %zu symbols x %zu bars x %zu fields in %.2f s\n", what, r->panel.num_symbols(),
                r->panel.num_times(), r->panel.num_fields(), secs);
  };
  SynthOptions daily;
  daily.symbols = 5000;
  daily.bars = 5040;
  time("daily", daily);
  SynthOptions minutes;
  minutes.symbols = 1;
  minutes.bars = 5 * 365 * 1440;
  minutes.freq = Frequency(Frequency::Unit::kMinute, 1);
  minutes.market = "crypto_spot";
  time("crypto 1m", minutes);
}

}  // namespace
}  // namespace qraft::data
