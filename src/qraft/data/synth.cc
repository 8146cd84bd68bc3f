// Synthetic market data (see synth.h for the model and its options).
//
// Pipeline: validate -> time grid (calendar, intraday seasonality) -> per-symbol plans (drawn
// sequentially, cheap) -> common factors (market + the sectors in use, one stream each) ->
// symbols in parallel, each writing only its own row of every field -> snapshot content.
//
// Determinism: every random number comes from a xoshiro256** stream seeded with SplitMix64 from
// (seed, stream id); a symbol's stream depends only on its index, a factor's only on its id. The
// draw order inside a stream is fixed, so the output is bit-identical for any thread count. We use
// our own uniform/normal/Student-t/geometric sampling (std::*_distribution differs across standard
// libraries); only std::log/exp/pow/sqrt from libm remain, so results are identical across thread
// counts and runs, and across machines as far as their libm agrees (glibc on x86-64 does).
#include "qraft/data/synth.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <memory>
#include <span>
#include <utility>
#include <vector>

#include "qraft/core/calendar.h"
#include "qraft/core/parallel.h"
#include "qraft/data/market.h"

namespace qraft::data {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();

// ---- Model constants: all are recorded in provenance["parameters"]; bump kModelVersion on change.
constexpr int kModelVersion = 1;
// Every GARCH shock is Student-t with kShockDof degrees of freedom, scaled to unit variance and
// redrawn beyond +-kShockCap standard deviations (about 1 in 10^5 draws): a 15-sigma shock on top
// of a high-volatility state would be a 50% market day.
constexpr double kShockDof = 6.0;
constexpr double kShockCap = 10.0;
constexpr double kTradingDaysPerYear = 252.0;
constexpr double kCryptoDaysPerYear = 365.0;
// GARCH variance never exceeds kVarianceCap times its long-run level (volatility 5x): with
// Student-t shocks an uncapped GARCH(1,1) occasionally explodes over a few thousand bars (seen:
// 1000x), which markets do not do (2008 peaked near 5x).
constexpr double kVarianceCap = 25.0;
// Market factor: GARCH(1,1) with daily alpha and persistence (alpha + beta), annual log drift,
// and rare, negatively skewed market-wide jumps.
constexpr double kMarketDrift = 0.05;
constexpr double kMarketAlpha = 0.07, kMarketPersistence = 0.98;
constexpr double kMarketJumpsPerYear = 0.25, kMarketJumpMean = -0.02, kMarketJumpSd = 0.03;
// Sector factors: GARCH(1,1), no drift, no jumps.
constexpr double kSectorAlpha = 0.07, kSectorPersistence = 0.98;
// Idiosyncratic GARCH per symbol: alpha ~ U[lo, hi), persistence ~ U[lo, hi).
constexpr double kIdioAlphaLo = 0.04, kIdioAlphaHi = 0.08;
constexpr double kIdioPersistenceLo = 0.95, kIdioPersistenceHi = 0.98;
// Loadings: beta ~ 1 + sd * N clamped, gamma likewise; idio vol = idio_vol * exp(sd * N).
constexpr double kBetaSd = 0.25, kBetaLo = 0.3, kBetaHi = 2.0;
constexpr double kGammaSd = 0.25, kGammaLo = 0.0, kGammaHi = 2.0;
constexpr double kIdioLogSd = 0.4;
constexpr double kNormalClamp = 3.0;  // static per-symbol normals are clamped to +-3 sd
// First price: lognormal around kPriceMedian; prices keep kPriceDigits significant digits.
constexpr double kPriceMedian = 20.0, kPriceLogSd = 0.8;
constexpr int kPriceDigits = 5;
// Volume: median shares per day lognormal across symbols; log volume per bar =
//   level + AR(1) noise + kVolumeMoveLoading * (|r| / sd - kMeanAbsShock) + log(sd / sd_mean)
//   + log(season).
constexpr double kVolumeMedian = 1e6, kVolumeLogSd = 1.0;
constexpr double kVolumeAr = 0.8, kVolumeNoiseSd = 0.35;
constexpr double kVolumeMoveLoading = 0.4, kMeanAbsShock = 0.8, kVolumeMoveCap = 10.0;
// Share of a bar's variance that falls into the gap between the previous close and the open: at
// the start of a session (every daily bar; the first bar after a break intraday) and otherwise.
constexpr double kGapShareSessionStart = 0.25, kGapShareContinuous = 0.05;
constexpr int kSuspensionMaxBars = 20;
// Intraday U-shape of variance and volume over the bars of a day (markets with sessions only):
// w(u) = kSeasonBase + kSeasonCurve * (2u - 1)^2, normalised to mean 1.
constexpr double kSeasonBase = 0.6, kSeasonCurve = 1.2;

// Stream ids: factors and symbols never share one.
constexpr std::uint64_t kMarketStream = 1;
constexpr std::uint64_t kSectorStreamBase = 1ull << 20;
constexpr std::uint64_t kSymbolStreamBase = 1ull << 40;

enum FieldIndex { kOpen, kHigh, kLow, kClose, kVolume, kAmount, kVwap, kNumFields };
constexpr std::array<const char*, kNumFields> kFieldNames = {"open",   "high",   "low", "close",
                                                             "volume", "amount", "vwap"};

// ---- Random numbers ----

constexpr std::uint64_t SplitMix64(std::uint64_t z) {
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
  return z ^ (z >> 31);
}

constexpr std::uint64_t Rotl(std::uint64_t x, int k) {
  return (x << k) | (x >> (64 - k));
}

/// xoshiro256** seeded by SplitMix64 from (seed, stream), with portable samplers. A value type:
/// each symbol owns one, so no state is shared between threads.
class Rng {
 public:
  Rng() = default;
  Rng(std::uint64_t seed, std::uint64_t stream) {
    std::uint64_t x =
        SplitMix64(seed ^ 0x5851f42d4c957f2dull) ^ SplitMix64(stream * 0x9e3779b97f4a7c15ull + 1);
    for (std::uint64_t& word : s_) {
      x += 0x9e3779b97f4a7c15ull;
      word = SplitMix64(x);
    }
  }

  std::uint64_t Next() {
    const std::uint64_t result = Rotl(s_[1] * 5, 7) * 9;
    const std::uint64_t t = s_[1] << 17;
    s_[2] ^= s_[0];
    s_[3] ^= s_[1];
    s_[1] ^= s_[2];
    s_[0] ^= s_[3];
    s_[2] ^= t;
    s_[3] = Rotl(s_[3], 45);
    return result;
  }

  /// [0, 1), 53 random bits.
  double Uniform() { return static_cast<double>(Next() >> 11) * 0x1.0p-53; }
  /// (0, 1]: safe for log().
  double UniformPositive() { return static_cast<double>((Next() >> 11) + 1) * 0x1.0p-53; }

  /// A uniform point (u, v) inside the unit disc, without its centre, and w = u^2 + v^2: the
  /// rejection step both polar methods below start from.
  std::array<double, 3> UnitDiscPoint() {
    double u, v, w;
    do {
      u = 2.0 * Uniform() - 1.0;
      v = 2.0 * Uniform() - 1.0;
      w = u * u + v * v;
    } while (w >= 1.0 || w == 0.0);
    return {u, v, w};
  }

  /// Standard normal, Marsaglia's polar method; the second value of each pair is kept.
  double Normal() {
    if (has_spare_) {
      has_spare_ = false;
      return spare_;
    }
    const auto [u, v, w] = UnitDiscPoint();
    const double f = std::sqrt(-2.0 * std::log(w) / w);
    spare_ = v * f;
    has_spare_ = true;
    return u * f;
  }

  /// Student-t with kShockDof degrees of freedom scaled to unit variance, within +-kShockCap
  /// (Bailey's polar method: T = U * sqrt(nu * (W^(-2/nu) - 1) / W)).
  double StudentT() {
    static const double kUnitVariance = std::sqrt((kShockDof - 2.0) / kShockDof);
    for (;;) {
      [[maybe_unused]] const auto [u, v, w] = UnitDiscPoint();  // Bailey's method needs u only
      // W^(-2/nu) as exp(-2/nu * log W): twice as fast as std::pow here.
      const double z = kUnitVariance * u *
                       std::sqrt(kShockDof * (std::exp(-2.0 / kShockDof * std::log(w)) - 1.0) / w);
      if (std::abs(z) <= kShockCap) return z;
    }
  }

  /// Bars until the next event of a per-bar Bernoulli(p) process (0 = this bar), given
  /// log1m_p = log(1 - p). Saturates at kNever for p = 0.
  static constexpr std::size_t kNever = std::numeric_limits<std::size_t>::max() / 4;
  std::size_t Geometric(double log1m_p) {
    if (log1m_p == 0.0) return kNever;
    const double k = std::floor(std::log(UniformPositive()) / log1m_p);
    return k < static_cast<double>(kNever) ? static_cast<std::size_t>(k) : kNever;
  }

 private:
  std::uint64_t s_[4] = {1, 2, 3, 4};
  double spare_ = 0.0;
  bool has_spare_ = false;
};

/// log(1 - p) of the per-bar probability of an event arriving `per_year` times a year.
double LogNoEvent(double per_year, double bars_per_year) {
  const double p = std::min(per_year / bars_per_year, 1.0);
  return p >= 1.0 ? -kInf : std::log1p(-p);
}

// ---- GARCH(1,1) at the bar frequency ----

/// h[t+1] = min(omega + alpha * eps[t]^2 + beta * h[t], h_max), eps the deseasonalised shock.
struct Garch {
  double omega = 0, alpha = 0, beta = 0;
  double h0 = 0;     // the unconditional variance (the starting point)
  double h_max = 0;  // kVarianceCap * h0

  /// The next variance after a standardised shock z.
  double Next(double h, double z) const {
    return std::min(omega + (alpha * z * z + beta) * h, h_max);
  }
};

/// Daily dynamics (alpha, persistence) carried to bars_per_day bars a day: the persistence per
/// bar is persistence^(1/bars_per_day), so volatility shocks decay over the same calendar time,
/// and alpha / (1 - persistence) (the size of a shock relative to its decay) is kept.
Garch MakeGarch(double var_per_bar, double alpha_day, double persistence_day, double bars_per_day) {
  const double p = std::pow(persistence_day, 1.0 / bars_per_day);
  const double a = alpha_day * (1.0 - p) / (1.0 - persistence_day);
  return {var_per_bar * (1.0 - p), a, p - a, var_per_bar, kVarianceCap * var_per_bar};
}

/// Diffusive annual variance once jumps are accounted for, so the total matches `annual_vol`;
/// at least a quarter of the total stays diffusive.
double DiffusiveVariance(double annual_vol, double jumps_per_year, double jump_mean,
                         double jump_sd) {
  const double total = annual_vol * annual_vol;
  return std::max(total - jumps_per_year * (jump_mean * jump_mean + jump_sd * jump_sd),
                  0.25 * total);
}

// ---- Prices on a grid of kPriceDigits significant digits ----

/// 10^k for k in [kMinExp, kMaxExp]; all exact doubles.
constexpr int kMinExp = -22, kMaxExp = 22;
constexpr std::array<double, kMaxExp + 1> kPow10 = [] {
  std::array<double, kMaxExp + 1> p{};
  double v = 1.0;
  for (double& x : p) {
    x = v;
    v *= 10.0;
  }
  return p;
}();

/// A price grid: multiples of 10^-k. AimAt() picks k so that a price has kPriceDigits digits.
class Tick {
 public:
  /// Re-aims the grid at price p (starting from the current k: prices move slowly).
  void AimAt(double p) {
    constexpr double kLo = kPow10[kPriceDigits - 1], kHi = kPow10[kPriceDigits];
    while (k_ > kMinExp && Scaled(p) >= kHi) {
      --k_;
    }
    while (k_ < kMaxExp && Scaled(p) < kLo) {
      ++k_;
    }
  }
  double Round(double p) const { return Unscale(std::nearbyint(Scaled(p))); }
  double Floor(double p) const { return Unscale(std::floor(Scaled(p))); }
  double Ceil(double p) const { return Unscale(std::ceil(Scaled(p))); }
  /// The smallest positive price on the grid.
  double Size() const { return Unscale(1.0); }

 private:
  double Scaled(double p) const { return k_ >= 0 ? p * kPow10[k_] : p / kPow10[-k_]; }
  double Unscale(double q) const { return k_ >= 0 ? q / kPow10[k_] : q * kPow10[-k_]; }
  int k_ = 0;
};

// ---- Time grid ----

struct Grid {
  Calendar calendar;
  bool daily = true;
  Timestamp step = 0;            // bar length (intraday)
  std::size_t bars_per_day = 1;  // intraday: bars in the sessions of one day
  double bars_per_year = kTradingDaysPerYear;
  std::vector<double> season;  // variance and volume multiplier by bar of the day, mean 1
  std::vector<double> sqrt_season;

  std::size_t Position(std::size_t t) const { return bars_per_day == 1 ? 0 : t % bars_per_day; }
  /// First bar of a trading day: the price limit's reference close changes here.
  bool DayStart(std::size_t t) const { return Position(t) == 0; }
  /// First bar after a break (every daily bar): the open may gap from the previous close.
  bool SessionStart(std::size_t t) const {
    return daily || t == 0 || calendar[t] - calendar[t - 1] != step;
  }
};

bool IsWholeDay(const std::vector<Session>& sessions) {
  return sessions.empty() || (sessions.size() == 1 && sessions[0].open_minute == 0 &&
                              sessions[0].close_minute == 24 * 60);
}

Result<Grid> BuildGrid(const SynthOptions& o, const MarketSpec& spec) {
  Grid g;
  const bool every_day = spec.asset_class == "crypto";
  const auto trading = [&](Timestamp day) { return every_day || Weekday(day) < 5; };
  const double days_per_year = every_day ? kCryptoDaysPerYear : kTradingDaysPerYear;
  // Collects n trading days from the start date on.
  const auto days_from_start = [&](std::size_t n) {
    std::vector<Timestamp> days;
    days.reserve(n);
    for (Timestamp day = FloorToDay(o.start); days.size() < n; day += kNanosPerDay) {
      if (trading(day)) days.push_back(day);
    }
    return days;
  };

  if (!o.freq.intraday()) {
    g.calendar = Calendar(days_from_start(o.bars));
    g.bars_per_year = days_per_year;
    g.season = g.sqrt_season = {1.0};
    return g;
  }

  QRAFT_ASSIGN_OR_RETURN(TimeZone tz, TimeZone::Find(spec.timezone));
  g.daily = false;
  g.step = o.freq.nanos();
  // One day first: checks that the bar length divides the sessions and counts the bars.
  const std::vector<Timestamp> first_day = days_from_start(1);
  auto probe = BuildIntradayCalendar(first_day, spec.sessions, o.freq, tz);
  if (!probe.ok()) return probe.status().WithContext(fmt::format("synth: market '{}'", o.market));
  g.bars_per_day = probe->size();
  const std::size_t n_days = (o.bars + g.bars_per_day - 1) / g.bars_per_day;
  const std::vector<Timestamp> days = days_from_start(n_days);
  auto full = BuildIntradayCalendar(days, spec.sessions, o.freq, tz);
  if (!full.ok()) return full.status().WithContext(fmt::format("synth: market '{}'", o.market));
  if (full->size() != n_days * g.bars_per_day) {
    return Status::InvalidArgument(
        fmt::format("synth: market '{}': the sessions of {} trading days from {} give {} bars, "
                    "expected {} a day "
                    "(a daylight-saving change inside a session?)",
                    o.market, n_days, FormatDate(days.front()), full->size(), g.bars_per_day));
  }
  g.calendar = Calendar(std::vector<Timestamp>(
      full->times().begin(), full->times().begin() + static_cast<std::ptrdiff_t>(o.bars)));
  g.bars_per_year = days_per_year * static_cast<double>(g.bars_per_day);

  g.season.assign(g.bars_per_day, 1.0);
  if (!IsWholeDay(spec.sessions) && g.bars_per_day > 1) {
    double sum = 0;
    for (std::size_t k = 0; k < g.bars_per_day; ++k) {
      const double u = (static_cast<double>(k) + 0.5) / static_cast<double>(g.bars_per_day);
      g.season[k] = kSeasonBase + kSeasonCurve * (2 * u - 1) * (2 * u - 1);
      sum += g.season[k];
    }
    for (double& w : g.season) {
      w *= static_cast<double>(g.bars_per_day) / sum;
    }
  }
  g.sqrt_season.resize(g.bars_per_day);
  for (std::size_t k = 0; k < g.bars_per_day; ++k) {
    g.sqrt_season[k] = std::sqrt(g.season[k]);
  }
  return g;
}

// ---- Common factors ----

/// A factor's log return per bar (drift and jumps included) and its conditional diffusive
/// variance (seasonality included).
struct Factor {
  std::vector<double> ret;
  std::vector<double> var;
};

struct FactorSpec {
  std::uint64_t stream = 0;
  double annual_vol = 0, alpha = 0, persistence = 0, drift = 0;
  double jumps_per_year = 0, jump_mean = 0, jump_sd = 0;
};

Factor GenerateFactor(const FactorSpec& f, const Grid& g, std::uint64_t seed) {
  const std::size_t T = g.calendar.size();
  Factor out;
  out.ret.resize(T);
  out.var.resize(T);
  Rng rng(seed, f.stream);
  const double bpy = g.bars_per_year;
  const Garch garch =
      MakeGarch(DiffusiveVariance(f.annual_vol, f.jumps_per_year, f.jump_mean, f.jump_sd) / bpy,
                f.alpha, f.persistence, static_cast<double>(g.bars_per_day));
  const double drift = f.drift / bpy;
  const double log_no_jump = LogNoEvent(f.jumps_per_year, bpy);
  std::size_t next_jump = rng.Geometric(log_no_jump);
  double h = garch.h0;
  for (std::size_t t = 0; t < T; ++t) {
    const std::size_t k = g.Position(t);
    const double z = rng.StudentT();
    double r = drift + std::sqrt(h) * g.sqrt_season[k] * z;
    if (t == next_jump) {
      r += f.jump_mean + f.jump_sd * rng.Normal();
      next_jump = t + 1 + rng.Geometric(log_no_jump);
    }
    out.ret[t] = r;
    out.var[t] = h * g.season[k];
    h = garch.Next(h, z);
  }
  return out;
}

// ---- Symbols ----

/// What a symbol is, drawn before its path: listing span, loadings, volatility, levels.
struct SymbolPlan {
  Rng rng;                          // continues into the path
  std::size_t first = 0, last = 0;  // listing span, inclusive
  int sector = -1;                  // -1: no sector factor
  double beta = 1, gamma = 0;
  Garch garch;
  double log_price = 0;    // first fair log price
  double log_volume = 0;   // median log volume per bar
  double inv_sd_mean = 0;  // 1 / unconditional per-bar sd of the total return (0 if none)
  double log_no_jump = 0, log_no_suspension = 0;
};

double ClampedNormal(Rng& rng) {
  return std::clamp(rng.Normal(), -kNormalClamp, kNormalClamp);
}

SymbolPlan DrawPlan(const SynthOptions& o, const Grid& g, std::size_t s) {
  SymbolPlan p;
  p.rng = Rng(o.seed, kSymbolStreamBase + s);
  Rng& rng = p.rng;
  const std::size_t T = g.calendar.size();
  // A fixed number of draws, whatever the options, so changing one option does not reshuffle the
  // others' randomness.
  const double u_late = rng.Uniform(), u_first = rng.Uniform();
  const double u_delist = rng.Uniform(), u_last = rng.Uniform();
  const double u_sector = rng.Uniform(), u_alpha = rng.Uniform(), u_persistence = rng.Uniform();
  const double n_beta = ClampedNormal(rng), n_gamma = ClampedNormal(rng),
               n_idio = ClampedNormal(rng);
  const double n_price = ClampedNormal(rng), n_volume = ClampedNormal(rng);

  // Late listing: any bar after the first. Delisting: any bar from the listing to the one before
  // the last, so both ends differ from the calendar's when drawn.
  p.first =
      (T > 1 && u_late < o.late_listing)
          ? 1 + std::min(static_cast<std::size_t>(u_first * static_cast<double>(T - 1)), T - 2)
          : 0;
  p.last = T - 1;
  if (u_delist < o.delisting && p.first + 2 <= T) {
    const std::size_t choices = T - 1 - p.first;  // last in [first, T - 2]
    p.last = p.first +
             std::min(static_cast<std::size_t>(u_last * static_cast<double>(choices)), choices - 1);
  }

  const double bpy = g.bars_per_year, bpd = static_cast<double>(g.bars_per_day);
  if (o.sectors > 0) {
    p.sector = std::min(static_cast<int>(u_sector * o.sectors), o.sectors - 1);
    p.gamma = std::clamp(1.0 + kGammaSd * n_gamma, kGammaLo, kGammaHi);
  }
  p.beta = std::clamp(1.0 + kBetaSd * n_beta, kBetaLo, kBetaHi);
  const double idio_vol = o.idio_vol * std::exp(kIdioLogSd * n_idio);
  const double alpha = kIdioAlphaLo + (kIdioAlphaHi - kIdioAlphaLo) * u_alpha;
  const double persistence =
      kIdioPersistenceLo + (kIdioPersistenceHi - kIdioPersistenceLo) * u_persistence;
  p.garch = MakeGarch(DiffusiveVariance(idio_vol, o.jumps_per_year, 0.0, o.jump_sd) / bpy, alpha,
                      persistence, bpd);
  p.log_price = std::log(kPriceMedian) + kPriceLogSd * n_price;
  p.log_volume = std::log(kVolumeMedian / bpd) + kVolumeLogSd * n_volume;

  const double market_var = o.market_vol * o.market_vol;
  const double sector_var = o.sectors > 0 ? o.sector_vol * o.sector_vol : 0.0;
  const double var =
      (p.beta * p.beta * market_var + p.gamma * p.gamma * sector_var + idio_vol * idio_vol) / bpy;
  p.inv_sd_mean = var > 0 ? 1.0 / std::sqrt(var) : 0.0;
  p.log_no_jump = LogNoEvent(o.jumps_per_year, bpy);
  p.log_no_suspension = LogNoEvent(o.suspensions_per_year, bpy);
  return p;
}

/// Row pointers of one symbol, one per field.
using Rows = std::array<double*, kNumFields>;

void WriteMissing(const Rows& rows, std::size_t begin, std::size_t end) {
  for (double* row : rows) {
    std::fill(row + begin, row + end, kNaN);
  }
}

/// Simulates one symbol over its listing span and writes its rows (NaN outside the span and on
/// suspended bars).
void SimulateSymbol(SymbolPlan& p, const Grid& g, const Factor& market, const Factor* sector,
                    const SynthOptions& o, const Rows& rows) {
  const std::size_t T = g.calendar.size();
  WriteMissing(rows, 0, p.first);
  WriteMissing(rows, p.last + 1, T);

  Rng& rng = p.rng;
  const double limit = o.price_limit;
  const double beta = p.beta, gamma = sector != nullptr ? p.gamma : 0.0;
  const double beta2 = beta * beta, gamma2 = gamma * gamma;
  const double* sector_ret = sector != nullptr ? sector->ret.data() : nullptr;
  const double* sector_var = sector != nullptr ? sector->var.data() : nullptr;
  const double noise_sd = kVolumeNoiseSd * std::sqrt(1.0 - kVolumeAr * kVolumeAr);
  const double gap_session = std::sqrt(kGapShareSessionStart * (1.0 - kGapShareSessionStart));
  const double gap_continuous = std::sqrt(kGapShareContinuous * (1.0 - kGapShareContinuous));

  double h = p.garch.h0;         // idiosyncratic conditional variance (deseasonalised)
  double x = p.log_price;        // fair log price at the end of the previous bar
  double last_close = kNaN;      // last printed close
  double up = kInf, down = 0.0;  // today's price band
  double volume_noise = 0.0;
  Tick tick;
  tick.AimAt(std::exp(x));
  std::size_t next_jump = p.first + 1 + rng.Geometric(p.log_no_jump);
  std::size_t next_suspension = p.first + 1 + rng.Geometric(p.log_no_suspension);
  std::size_t suspended_until =
      0;  // bars before this one (and from the suspension's start) are NaN

  for (std::size_t t = p.first; t <= p.last; ++t) {
    // Events. Jumps happen while suspended too (often the reason for the suspension); a
    // suspension never covers the listing's first or last bar.
    double jump = 0.0;
    if (t == next_jump) {
      jump = o.jump_sd * rng.Normal();
      next_jump = t + 1 + rng.Geometric(p.log_no_jump);
    }
    if (t == next_suspension) {
      const std::size_t length = 1 + static_cast<std::size_t>(rng.Uniform() * kSuspensionMaxBars);
      suspended_until = std::min(t + length, p.last);
      next_suspension = suspended_until + 1 + rng.Geometric(p.log_no_suspension);
    }

    // Return: r = beta * m + gamma * sector + e, e = sqrt(h * w) * z.
    const std::size_t k = g.Position(t);
    const double z = rng.StudentT();
    const double h_bar = h * g.season[k];
    const double e = std::sqrt(h_bar) * z;
    h = p.garch.Next(h, z);
    double r = beta * market.ret[t] + e;
    double var = beta2 * market.var[t] + h_bar;
    if (sector_ret != nullptr) {
      r += gamma * sector_ret[t];
      var += gamma2 * sector_var[t];
    }
    const double x_prev = x;
    x += jump + r;

    if (limit > 0 && g.DayStart(t) && !std::isnan(last_close)) {
      tick.AimAt(last_close);
      up = tick.Floor(last_close * (1.0 + limit));
      down = tick.Ceil(last_close * (1.0 - limit));
    }
    if (t < suspended_until) {
      for (double* row : rows) {
        row[t] = kNaN;
      }
      continue;
    }

    // Bar shape in log space: the open splits the bar like a Brownian bridge (a share of the
    // variance falls into the gap, the jump all of it); high and low are the exact maximum and
    // minimum of a Brownian bridge from open to close: P(max > m) = exp(-2 (m - a)(m - b) / s^2).
    const double sd = std::sqrt(var);
    const bool session_start = g.SessionStart(t);
    const double share = session_start ? kGapShareSessionStart : kGapShareContinuous;
    const double xi = rng.Normal();
    const double a =
        x_prev + jump + share * r + (session_start ? gap_session : gap_continuous) * sd * xi;
    const double b = x;
    const double half_s2 = 0.5 * (1.0 - share) * var;
    const double mid = 0.5 * (a + b), half = 0.5 * (b - a);
    const double hi = mid + std::sqrt(half * half - half_s2 * std::log(rng.UniformPositive()));
    const double lo = mid - std::sqrt(half * half - half_s2 * std::log(rng.UniformPositive()));

    // Prices: on the grid, inside the band. Rounding and clamping are monotone, so the order of
    // a, b, hi, lo carries over: low <= min(open, close), high >= max(open, close).
    if (limit <= 0 || std::isnan(last_close)) {
      tick.AimAt(std::isnan(last_close) ? std::exp(x_prev) : last_close);
    }
    const double floor_price = std::max(down, tick.Size());
    const auto price = [&](double log_price) {
      return std::clamp(tick.Round(std::exp(log_price)), floor_price, std::max(up, floor_price));
    };
    const double open = price(a), close = price(b), high = price(hi), low = price(lo);

    // Volume: lognormal, persistent, rising with the volatility regime and with the bar's move.
    volume_noise = kVolumeAr * volume_noise + noise_sd * rng.Normal();
    const double move =
        sd > 0 ? std::min(std::abs(b - x_prev) / sd, kVolumeMoveCap) : kMeanAbsShock;
    const double regime = p.inv_sd_mean > 0 ? sd * p.inv_sd_mean / g.sqrt_season[k] : 1.0;
    const double volume =
        std::max(1.0, std::nearbyint(std::exp(p.log_volume + volume_noise +
                                              kVolumeMoveLoading * (move - kMeanAbsShock)) *
                                     regime * g.season[k]));

    // VWAP: inside [low, high], leaning towards the close's side of the bar.
    double vwap = close;
    if (high > low) {
      const double lean = 0.5 + 0.25 * (close - open) / (high - low) + 0.2 * (rng.Uniform() - 0.5);
      vwap = std::clamp(low + (high - low) * lean, low, high);
    }

    rows[kOpen][t] = open;
    rows[kHigh][t] = high;
    rows[kLow][t] = low;
    rows[kClose][t] = close;
    rows[kVolume][t] = volume;
    rows[kAmount][t] = vwap * volume;
    rows[kVwap][t] = vwap;
    last_close = close;
  }
}

// ---- Options ----

Status Validate(const SynthOptions& o) {
  const auto bad = [](std::string what) {
    return Status::InvalidArgument("synth: " + std::move(what));
  };
  if (o.symbols == 0) return bad("symbols must be at least 1");
  if (o.bars == 0) return bad("bars must be at least 1");
  if (o.symbols > std::numeric_limits<std::size_t>::max() / kNumFields / sizeof(double) / o.bars) {
    return bad(fmt::format("{} symbols x {} bars is too large", o.symbols, o.bars));
  }
  const bool daily = o.freq == Frequency::Daily();
  if (!daily && !(o.freq.intraday() && o.freq.nanos() > 0)) {
    return bad(
        fmt::format("frequency {} is not supported; use 1d or a fixed intraday length such as 1m",
                    o.freq.ToString()));
  }
  const auto in_range = [](double v, double lo, double hi) {
    return std::isfinite(v) && v >= lo && v <= hi;
  };
  if (!(std::isfinite(o.price_limit) && o.price_limit >= 0 && o.price_limit < 1)) {
    return bad(fmt::format("price_limit must be in [0, 1) (0.1 = +-10%; 0 = none), got {}",
                           o.price_limit));
  }
  const std::pair<const char*, double> vols[] = {{"market_vol", o.market_vol},
                                                 {"idio_vol", o.idio_vol},
                                                 {"sector_vol", o.sector_vol},
                                                 {"jump_sd", o.jump_sd}};
  for (const auto& [name, v] : vols) {
    if (!in_range(v, 0, 3)) {
      return bad(fmt::format("{} must be in [0, 3] (annualised), got {}", name, v));
    }
  }
  const std::pair<const char*, double> shares[] = {{"late_listing", o.late_listing},
                                                   {"delisting", o.delisting}};
  for (const auto& [name, v] : shares) {
    if (!in_range(v, 0, 1)) {
      return bad(fmt::format("{} must be a share in [0, 1], got {}", name, v));
    }
  }
  const std::pair<const char*, double> rates[] = {{"jumps_per_year", o.jumps_per_year},
                                                  {"suspensions_per_year", o.suspensions_per_year}};
  for (const auto& [name, v] : rates) {
    if (!in_range(v, 0, 1e6)) {
      return bad(fmt::format("{} must be a non-negative rate, got {}", name, v));
    }
  }
  if (o.sectors < 0) return bad(fmt::format("sectors must be >= 0, got {}", o.sectors));
  return Status::OK();
}

nlohmann::json Provenance(const SynthOptions& o, const MarketSpec& spec) {
  return {
      {"generator", "qraft data synth"},
      {"model_version", kModelVersion},
      {"model",
       "r = beta*market + gamma*sector + e + jump; market, sector and e are GARCH(1,1) with "
       "Student-t shocks"},
      {"options",
       {{"symbols", o.symbols},
        {"bars", o.bars},
        {"freq", o.freq.ToString()},
        {"start", FormatDate(FloorToDay(o.start))},
        {"seed", o.seed},
        {"market", o.market},
        {"market_pack", spec.from_pack},
        {"market_vol", o.market_vol},
        {"idio_vol", o.idio_vol},
        {"sector_vol", o.sector_vol},
        {"sectors", o.sectors},
        {"jumps_per_year", o.jumps_per_year},
        {"jump_sd", o.jump_sd},
        {"late_listing", o.late_listing},
        {"delisting", o.delisting},
        {"suspensions_per_year", o.suspensions_per_year},
        {"price_limit", o.price_limit}}},
      {"parameters",
       {{"shock_dof", kShockDof},
        {"shock_cap", kShockCap},
        {"market_drift", kMarketDrift},
        {"market_garch", {{"alpha", kMarketAlpha}, {"persistence", kMarketPersistence}}},
        {"market_jumps",
         {{"per_year", kMarketJumpsPerYear}, {"mean", kMarketJumpMean}, {"sd", kMarketJumpSd}}},
        {"sector_garch", {{"alpha", kSectorAlpha}, {"persistence", kSectorPersistence}}},
        {"idio_garch",
         {{"alpha", {kIdioAlphaLo, kIdioAlphaHi}},
          {"persistence", {kIdioPersistenceLo, kIdioPersistenceHi}}}},
        {"beta", {{"mean", 1.0}, {"sd", kBetaSd}, {"range", {kBetaLo, kBetaHi}}}},
        {"gamma", {{"mean", 1.0}, {"sd", kGammaSd}, {"range", {kGammaLo, kGammaHi}}}},
        {"idio_vol_log_sd", kIdioLogSd},
        {"price",
         {{"median", kPriceMedian}, {"log_sd", kPriceLogSd}, {"significant_digits", kPriceDigits}}},
        {"volume",
         {{"median_per_day", kVolumeMedian},
          {"log_sd", kVolumeLogSd},
          {"ar", kVolumeAr},
          {"noise_sd", kVolumeNoiseSd},
          {"move_loading", kVolumeMoveLoading}}},
        {"gap_share",
         {{"session_start", kGapShareSessionStart}, {"continuous", kGapShareContinuous}}},
        {"suspension_max_bars", kSuspensionMaxBars},
        {"variance_cap", kVarianceCap},
        {"intraday_season", {{"base", kSeasonBase}, {"curve", kSeasonCurve}}}}},
  };
}

}  // namespace

Result<SnapshotContent> Synthesize(const SynthOptions& options) {
  QRAFT_RETURN_NOT_OK(Validate(options));
  const MarketSpec spec = FindMarket(options.market);
  QRAFT_ASSIGN_OR_RETURN(Grid grid, BuildGrid(options, spec));
  const std::size_t S = options.symbols, T = grid.calendar.size();

  std::vector<SymbolPlan> plans;
  plans.reserve(S);
  for (std::size_t s = 0; s < S; ++s) {
    plans.push_back(DrawPlan(options, grid, s));
  }

  // The market factor and the sectors some symbol belongs to; each from its own stream, so which
  // sectors are in use does not change any of them.
  std::vector<FactorSpec> specs = {{kMarketStream, options.market_vol, kMarketAlpha,
                                    kMarketPersistence, kMarketDrift, kMarketJumpsPerYear,
                                    kMarketJumpMean, kMarketJumpSd}};
  std::vector<int> slot(static_cast<std::size_t>(options.sectors), -1);
  for (const SymbolPlan& p : plans) {
    if (p.sector >= 0 && slot[static_cast<std::size_t>(p.sector)] < 0) {
      slot[static_cast<std::size_t>(p.sector)] = static_cast<int>(specs.size());
      specs.push_back({kSectorStreamBase + static_cast<std::uint64_t>(p.sector), options.sector_vol,
                       kSectorAlpha, kSectorPersistence, 0.0, 0.0, 0.0, 0.0});
    }
  }
  std::vector<Factor> factors(specs.size());
  ParallelFor(specs.size(), 1, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i) {
      factors[i] = GenerateFactor(specs[i], grid, options.seed);
    }
  });

  // Field storage, uninitialised: every cell is written by its symbol's task (first touch happens
  // on the worker threads).
  std::array<std::shared_ptr<double[]>, kNumFields> storage;
  for (auto& f : storage) {
    f = std::shared_ptr<double[]>(new double[S * T]);
  }
  const std::size_t grain = std::clamp<std::size_t>((std::size_t{1} << 16) / T, 1, 64);
  ParallelFor(S, grain, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      Rows rows;
      for (int f = 0; f < kNumFields; ++f) {
        rows[f] = storage[f].get() + s * T;
      }
      SymbolPlan& p = plans[s];
      const Factor* sector =
          p.sector >= 0
              ? &factors[static_cast<std::size_t>(slot[static_cast<std::size_t>(p.sector)])]
              : nullptr;
      SimulateSymbol(p, grid, factors[0], sector, options, rows);
    }
  });

  // Symbols "S1".."S9", "S01".."S10", ...: zero-padded to the width of the count, so they sort.
  const int width = static_cast<int>(fmt::formatted_size("{}", S));
  std::vector<std::string> names(S);
  for (std::size_t s = 0; s < S; ++s) {
    names[s] = fmt::format("S{:0{}}", s + 1, width);
  }

  SnapshotContent content;
  content.market = options.market;
  content.freq = options.freq;
  content.timezone = spec.timezone;
  content.instruments.reserve(S);
  for (std::size_t s = 0; s < S; ++s) {
    content.instruments.push_back(
        {names[s], grid.calendar[plans[s].first], grid.calendar[plans[s].last]});
  }
  PanelBuilder builder(std::move(grid.calendar), std::move(names));
  for (int f = 0; f < kNumFields; ++f) {
    const double* data = storage[f].get();
    builder.AddExternalField(kFieldNames[f], data, std::move(storage[f]));
  }
  content.panel = std::move(builder).Build();
  content.source_rows = 0;
  content.provenance = Provenance(options, spec);
  return content;
}

}  // namespace qraft::data
