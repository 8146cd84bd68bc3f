#include "qraft/robust/spa.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <iostream>
#include <limits>
#include <memory>
#include <numbers>
#include <string>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/robust/bootstrap.h"

namespace qraft::robust {
namespace {

constexpr std::size_t kL = 0, kC = 1, kU = 2;  // Recentering indices

// Losses for one benchmark and k models, models column-major.
struct Losses {
  std::vector<double> bench;
  std::vector<double> models;
  std::size_t T = 0, k = 0;
  MatrixView view() const { return MatrixView{models, T, k}; }
};

// SPEC §7.2 `make_data(seed, T, k, lo, hi, phi = 0.3)`: one SplitMix64 stream, for each t the
// benchmark uniform then the k model uniforms; shift = numpy linspace(lo, hi, k).
Losses MakeData(std::uint64_t seed, std::size_t T, std::size_t k, double lo, double hi,
                double phi = 0.3) {
  Losses d;
  d.T = T;
  d.k = k;
  d.bench.resize(T);
  d.models.resize(T * k);
  std::vector<double> shift(k);
  const double step = (hi - lo) / static_cast<double>(k - 1);
  for (std::size_t j = 0; j < k; ++j)
    shift[j] = static_cast<double>(j) * step + lo;
  shift[k - 1] = hi;
  SplitMix64 rng(seed);
  double pb = 0.0;
  std::vector<double> pm(k, 0.0);
  for (std::size_t t = 0; t < T; ++t) {
    pb = phi * pb + (rng.Uniform() - 0.5);
    d.bench[t] = 1.0 + pb;
    for (std::size_t j = 0; j < k; ++j) {
      pm[j] = phi * pm[j] + (rng.Uniform() - 0.5);
      d.models[j * T + t] = (1.0 + pm[j]) + shift[j];
    }
  }
  return d;
}

// SPEC §7.2: `reps` consecutive sb_indices(T, block) calls on one SplitMix64(idx_seed) stream,
// materialized serially as they would be fed to arch.
FixedIndices FedIndices(std::uint64_t idx_seed, std::size_t T, double block, std::size_t reps) {
  SplitMix64 rng(idx_seed);
  std::vector<std::int64_t> all(T * reps);
  for (std::size_t r = 0; r < reps; ++r)
    StationaryBootstrapIndices(rng, block, std::span<std::int64_t>(all.data() + r * T, T));
  auto fixed = FixedIndices::Create(T, std::move(all));
  EXPECT_TRUE(fixed.ok());
  return std::move(fixed).value();
}

// One row of the SPEC §7.2 table, with d̄ and w^2 from ref_spa_final.out.
struct ArchCase {
  const char* name;
  std::uint64_t data_seed;
  std::size_t T, k;
  double lo, hi;
  double block;
  std::size_t reps;
  std::uint64_t idx_seed;
  double size;
  std::vector<std::uint8_t> valid;
  std::array<double, 3> p_arch, crit, p_hansen;
  std::vector<std::size_t> better, stepm;
  std::vector<double> dbar, omega2;  // printed to 10 decimals
};

std::vector<ArchCase> ArchCases() {
  return {
      {"A",
       11,
       500,
       8,
       -0.06,
       0.02,
       10,
       200,
       99,
       0.05,
       {1, 1, 1, 1, 1, 1, 1, 1},
       {0.005, 0.005, 0.005},
       {0.05803045864393589, 0.05803045864393589, 0.05803045864393589},
       {0.005, 0.005, 0.005},
       {0, 1, 2},
       {0, 1, 2},
       {0.0692094981, 0.0793499451, 0.0641061053, 0.0407735966, 0.0501878039, 0.0305545081,
        0.0222439813, -0.0038179484},
       {0.2941527766, 0.293218957, 0.268219244, 0.2357683007, 0.3078042537, 0.3158328699,
        0.316482932, 0.2798331527}},
      {"B",
       12,
       500,
       8,
       0.0,
       0.10,
       10,
       200,
       98,
       0.05,
       {1, 1, 1, 0, 0, 1, 0, 0},
       {0.59, 0.955, 0.985},
       {0.02203139384221977, 0.05651684116257046, 0.058277098168872866},
       {0.315, 0.8, 0.915},
       {},
       {},
       {-0.0174043919, -0.0418782757, -0.0298508428, -0.094390363, -0.0818088933, -0.0490509078,
        -0.0786992105, -0.1276390045},
       {0.2868758023, 0.3339311444, 0.3634595678, 0.3002229308, 0.337813137, 0.4081672805,
        0.3010568128, 0.3835660268}},
      {"D",
       22,
       300,
       6,
       -0.03,
       0.03,
       5,
       200,
       1022,
       0.10,
       {1, 1, 1, 1, 1, 0},
       {0.19, 0.28, 0.345},
       {0.049901611791421385, 0.056869978532892336, 0.058515830475057595},
       {0.22, 0.3, 0.33},
       {},
       {},
       {0.0374928881, 0.0387023626, -0.0160834024, -0.0454734567, 0.0212787149, -0.0764222965},
       {0.2843782006, 0.2950117404, 0.2748699448, 0.2614890754, 0.2568049542, 0.372783288}},
      {"E",
       21,
       300,
       6,
       -0.12,
       -0.02,
       5,
       200,
       1021,
       0.10,
       {1, 1, 1, 1, 1, 1},
       {0.0, 0.0, 0.0},
       {0.06064228709705606, 0.06064228709705606, 0.06064228709705606},
       {0.0, 0.0, 0.0},
       {0, 1, 2, 3},
       {0, 1, 2, 3, 4},
       {0.0834977209, 0.1132974724, 0.1073543037, 0.0656333707, 0.0515737917, 0.0175141625},
       {0.2976010751, 0.2910547068, 0.3679438897, 0.3101656142, 0.2920188183, 0.2533570588}},
      {"F",
       24,
       300,
       6,
       -0.12,
       -0.02,
       5,
       200,
       1024,
       0.10,
       {1, 1, 1, 1, 1, 1},
       {0.0, 0.0, 0.0},
       {0.06599153674294976, 0.06599153674294976, 0.06599153674294976},
       {0.0, 0.0, 0.0},
       {0, 1, 2, 3, 4},
       {0, 1, 2, 3, 4, 5},
       {0.1546132098, 0.1506050702, 0.1161582649, 0.0902062085, 0.1263005412, 0.0460334042},
       {0.3195510841, 0.2817057725, 0.2445873816, 0.2993094006, 0.3180836525, 0.3158036906}},
  };
}

SpaOptions Options(SpaMode mode, double block, std::size_t reps) {
  SpaOptions o;
  o.mode = mode;
  o.block = block;
  o.reps = reps;
  return o;
}

// SPEC §7.2, ArchCompat mode fed arch's index arrays: p-values exactly, critical values to
// 1e-12, better_models and StepM exactly, d̄ and w^2 to the 10 printed decimals.
TEST(SpaArchCompatTest, ReproducesTheSpecVectors) {
  for (const ArchCase& c : ArchCases()) {
    SCOPED_TRACE(c.name);
    const Losses d = MakeData(c.data_seed, c.T, c.k, c.lo, c.hi);
    const FixedIndices fed = FedIndices(c.idx_seed, c.T, c.block, c.reps);
    auto r = Spa(d.bench, d.view(), Options(SpaMode::kArchCompat, c.block, c.reps), fed);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    EXPECT_EQ(r->valid, c.valid);
    for (std::size_t j = 0; j < c.k; ++j) {
      EXPECT_NEAR(r->mean_diff[j], c.dbar[j], 5.1e-11) << j;
      EXPECT_NEAR(r->variance[j], c.omega2[j], 5.1e-11) << j;
    }
    for (std::size_t t = 0; t < 3; ++t)
      EXPECT_DOUBLE_EQ(r->p_value[t], c.p_arch[t]) << t;
    auto crit = CriticalValues(*r, c.size);
    ASSERT_TRUE(crit.ok());
    for (std::size_t t = 0; t < 3; ++t)
      EXPECT_NEAR((*crit)[t], c.crit[t], 1e-12) << t;
    auto better = BetterModels(*r, c.size, Recentering::kConsistent);
    ASSERT_TRUE(better.ok());
    EXPECT_EQ(*better, c.better);

    StepMOptions so;
    so.spa = Options(SpaMode::kArchCompat, c.block, c.reps);
    so.size = c.size;
    auto sm = StepM(d.bench, d.view(), so, fed);
    ASSERT_TRUE(sm.ok()) << sm.status().ToString();
    EXPECT_EQ(sm->superior, c.stepm);
    // StepM's first step is the SPA on the same draws.
    EXPECT_EQ(sm->spa.p_value, r->p_value);
    EXPECT_EQ(sm->spa.bootstrap_max, r->bootstrap_max);
  }
}

// SPEC §7.2 last column: Hansen (2005) studentized, floored p-values (the spec author's
// implementation, the same draws).
TEST(SpaHansenTest, ReproducesTheSpecVectors) {
  for (const ArchCase& c : ArchCases()) {
    SCOPED_TRACE(c.name);
    const Losses d = MakeData(c.data_seed, c.T, c.k, c.lo, c.hi);
    const FixedIndices fed = FedIndices(c.idx_seed, c.T, c.block, c.reps);
    auto r = Spa(d.bench, d.view(), Options(SpaMode::kHansen2005, c.block, c.reps), fed);
    ASSERT_TRUE(r.ok()) << r.status().ToString();
    for (std::size_t t = 0; t < 3; ++t)
      EXPECT_DOUBLE_EQ(r->p_value[t], c.p_hansen[t]) << t;
    EXPECT_EQ(r->valid, c.valid);  // the same threshold in both modes
    EXPECT_GE(r->statistic, 0.0);
    for (std::size_t j = 0; j < c.k; ++j) {
      EXPECT_DOUBLE_EQ(r->model_stat[j], std::sqrt(static_cast<double>(c.T)) * r->mean_diff[j] /
                                             std::sqrt(r->variance[j]));
    }
  }
}

// ref_stepm_variants.out: per-step rejections of cases E and F under every recentering. In F the
// second step rejects the last model; arch's `len(new) < k` loop then reduces over an empty set
// and crashes (SPEC §2.7); the fixed loop stops.
TEST(StepMTest, StepsOfCasesEAndFUnderEveryRecentering) {
  struct Want {
    const char* name;
    std::uint64_t data_seed, idx_seed;
    std::vector<std::vector<std::size_t>> steps;
    std::vector<std::size_t> superior;
  };
  const Want wants[] = {
      {"E", 21, 1021, {{0, 1, 2, 3}, {4}, {}}, {0, 1, 2, 3, 4}},
      {"F", 24, 1024, {{0, 1, 2, 3, 4}, {5}}, {0, 1, 2, 3, 4, 5}},
  };
  for (const Want& w : wants) {
    const Losses d = MakeData(w.data_seed, 300, 6, -0.12, -0.02);
    const FixedIndices fed = FedIndices(w.idx_seed, 300, 5, 200);
    for (Recentering rc : {Recentering::kConsistent, Recentering::kUpper, Recentering::kLower}) {
      SCOPED_TRACE(std::string(w.name) + " recentering " + std::to_string(static_cast<int>(rc)));
      StepMOptions so;
      so.spa = Options(SpaMode::kArchCompat, 5, 200);
      so.size = 0.10;
      so.recentering = rc;
      auto sm = StepM(d.bench, d.view(), so, fed);
      ASSERT_TRUE(sm.ok()) << sm.status().ToString();
      EXPECT_EQ(sm->steps, w.steps);
      EXPECT_EQ(sm->superior, w.superior);
    }
  }
}

// Case F has every model rejected by the second step in Hansen mode as well: no crash, no
// further step, and everything superior.
TEST(StepMTest, LaterStepRejectingEverythingStopsInHansenMode) {
  const Losses d = MakeData(24, 300, 6, -0.12, -0.02);
  const FixedIndices fed = FedIndices(1024, 300, 5, 200);
  StepMOptions so;
  so.spa = Options(SpaMode::kHansen2005, 5, 200);
  so.size = 0.10;
  auto sm = StepM(d.bench, d.view(), so, fed);
  ASSERT_TRUE(sm.ok()) << sm.status().ToString();
  EXPECT_EQ(sm->superior, (std::vector<std::size_t>{0, 1, 2, 3, 4, 5}));
  ASSERT_GE(sm->steps.size(), 1u);
  EXPECT_FALSE(sm->steps.back().empty());  // stopped because nothing was left
  std::size_t total = 0;
  for (const auto& s : sm->steps)
    total += s.size();
  EXPECT_EQ(total, 6u);
}

// arch's TestStepM.test_all_superior: a shift of -100 in the model losses makes all superior in
// one step; and models identical to the benchmark (d = 0, arch's exact-ties case) never are.
TEST(StepMTest, AllSuperiorAndExactTies) {
  Losses d = MakeData(5, 200, 5, 0.0, 0.0);
  for (double& v : d.models)
    v -= 100.0;
  for (SpaMode mode : {SpaMode::kArchCompat, SpaMode::kHansen2005}) {
    StepMOptions so;
    so.spa = Options(mode, 0, 300);
    so.spa.seed = 3;
    auto sm = StepM(d.bench, d.view(), so);
    ASSERT_TRUE(sm.ok()) << sm.status().ToString();
    EXPECT_EQ(sm->superior, (std::vector<std::size_t>{0, 1, 2, 3, 4}));
    EXPECT_EQ(sm->steps.size(), 1u);
    EXPECT_EQ(sm->spa.block, 14.0);  // floor(sqrt(200))
  }

  Losses ties = MakeData(6, 200, 4, -0.5, 0.5);
  for (std::size_t t = 0; t < ties.T; ++t) {
    ties.models[0 * ties.T + t] = ties.bench[t];
    ties.models[1 * ties.T + t] = ties.bench[t];
  }
  StepMOptions so;
  so.spa = Options(SpaMode::kArchCompat, 10, 300);
  auto sm = StepM(ties.bench, ties.view(), so);
  ASSERT_TRUE(sm.ok());
  for (std::size_t j : sm->superior)
    EXPECT_GE(j, 2u);
  EXPECT_EQ(sm->spa.mean_diff[0], 0.0);
  // In Hansen mode the two constant differentials have no t-statistic and are left out.
  so.spa.mode = SpaMode::kHansen2005;
  sm = StepM(ties.bench, ties.view(), so);
  ASSERT_TRUE(sm.ok());
  EXPECT_EQ(sm->spa.model_stat[0], -std::numeric_limits<double>::infinity());
  for (std::size_t j : sm->superior)
    EXPECT_GE(j, 2u);
}

TEST(SpaTest, PValuesAreOrderedAndCarryTheirErrors) {
  for (SpaMode mode : {SpaMode::kArchCompat, SpaMode::kHansen2005}) {
    for (std::uint64_t seed : {1, 2, 3, 4, 5, 6}) {
      const Losses d = MakeData(100 + seed, 250, 12, -0.05, 0.05);
      SpaOptions o = Options(mode, 8, 499);
      o.seed = seed;
      auto r = Spa(d.bench, d.view(), o);
      ASSERT_TRUE(r.ok()) << r.status().ToString();
      EXPECT_LE(r->p_value[kL], r->p_value[kC]);
      EXPECT_LE(r->p_value[kC], r->p_value[kU]);
      for (std::size_t t = 0; t < 3; ++t) {
        const double p = r->p_value[t];
        EXPECT_DOUBLE_EQ(r->p_value_se[t], std::sqrt(p * (1.0 - p) / 499.0));
      }
      EXPECT_EQ(r->reality_check_pvalue(), r->p_value[kU]);
      EXPECT_EQ(r->seed, std::optional<std::uint64_t>(seed));
      EXPECT_EQ(r->reps, 499u);
      EXPECT_EQ(r->block, 8.0);
      EXPECT_EQ(r->bootstrap_max[kC].size(), 499u);
    }
  }
}

// The seeded overloads draw exactly the §7.0 serial stream, replication by replication.
TEST(SpaTest, SeededBootstrapEqualsTheFedSerialStream) {
  const Losses d = MakeData(12, 500, 8, 0.0, 0.10);
  SpaOptions o = Options(SpaMode::kArchCompat, 10, 200);
  o.seed = 98;
  auto seeded = Spa(d.bench, d.view(), o);
  auto fed = Spa(d.bench, d.view(), o, FedIndices(98, 500, 10, 200));
  ASSERT_TRUE(seeded.ok() && fed.ok());
  EXPECT_EQ(seeded->bootstrap_max, fed->bootstrap_max);
  EXPECT_EQ(seeded->p_value, (std::array<double, 3>{0.59, 0.955, 0.985}));  // case B
  EXPECT_FALSE(fed->seed.has_value());

  o.bootstrap = BootstrapKind::kCircular;
  auto circular = Spa(d.bench, d.view(), o);
  ASSERT_TRUE(circular.ok()) << circular.status().ToString();
  EXPECT_LE(circular->p_value[kL], circular->p_value[kC]);
  EXPECT_LE(circular->p_value[kC], circular->p_value[kU]);
  o.block = 10.5;
  EXPECT_EQ(Spa(d.bench, d.view(), o).status().code(), StatusCode::kInvalidArgument);
}

// The run/prefix-sum evaluation against arch's definition computed naively: for each
// replication, max_k (mean_t d[idx_t, k] - mu_k), scaled by sqrt(T)/w_k in Hansen mode. IID
// (block 1), short and long blocks, and the circular bootstrap exercise every run shape,
// including wrap-around.
TEST(SpaTest, BootstrapMaximaEqualTheNaiveGatherMeans) {
  const Losses d = MakeData(31, 301, 7, -0.2, 0.1);
  const std::size_t T = d.T, k = d.k, reps = 40;
  for (SpaMode mode : {SpaMode::kArchCompat, SpaMode::kHansen2005}) {
    for (double block : {1.0, 3.0, 50.0, 400.0}) {
      for (BootstrapKind kind : {BootstrapKind::kStationary, BootstrapKind::kCircular}) {
        SpaOptions o = Options(mode, block, reps);
        o.bootstrap = kind;
        o.seed = 8;
        auto r = Spa(d.bench, d.view(), o);
        ASSERT_TRUE(r.ok()) << r.status().ToString();
        std::unique_ptr<IndexProvider> p;
        if (kind == BootstrapKind::kStationary) {
          p = std::make_unique<StationaryBootstrap>(*StationaryBootstrap::Create(T, block, 8));
        } else {
          p = std::make_unique<CircularBlockBootstrap>(
              *CircularBlockBootstrap::Create(T, static_cast<std::size_t>(block), 8));
        }
        std::vector<std::int64_t> idx(T);
        for (std::size_t b = 0; b < reps; ++b) {
          p->Fill(b, idx);
          for (std::size_t t = 0; t < 3; ++t) {
            double m = mode == SpaMode::kHansen2005 ? 0.0 : -1e300;
            for (std::size_t j = 0; j < k; ++j) {
              double s = 0.0;
              for (std::size_t i = 0; i < T; ++i) {
                const auto row = static_cast<std::size_t>(idx[i]);
                s += d.bench[row] - d.models[j * T + row];
              }
              const double dbar = r->mean_diff[j];
              const double mu = t == kU      ? dbar
                                : t == kC    ? (r->valid[j] ? dbar : 0.0)
                                : dbar < 0.0 ? 0.0
                                             : dbar;
              double v = s / static_cast<double>(T) - mu;
              if (mode == SpaMode::kHansen2005) v *= std::sqrt(T / r->variance[j]);
              m = std::max(m, v);
            }
            EXPECT_NEAR(r->bootstrap_max[t][b], m, 1e-13)
                << "block " << block << " kind " << static_cast<int>(kind) << " rep " << b;
          }
        }
      }
    }
  }
}

template <class T>
bool SameBits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0;
}

TEST(SpaTest, BitIdenticalForOneAndTwoThreads) {
  const Losses d = MakeData(77, 400, 40, -0.1, 0.05);
  for (SpaMode mode : {SpaMode::kArchCompat, SpaMode::kHansen2005}) {
    StepMOptions so;
    so.spa = Options(mode, 9, 700);
    so.spa.seed = 4242;
    so.recentering = Recentering::kUpper;
    Result<StepMResult> one = Status::Internal("unset"), two = Status::Internal("unset");
    {
      ThreadLimit limit(1);
      one = StepM(d.bench, d.view(), so);
    }
    {
      ThreadLimit limit(2);
      two = StepM(d.bench, d.view(), so);
    }
    ASSERT_TRUE(one.ok() && two.ok());
    for (std::size_t t = 0; t < 3; ++t)
      EXPECT_TRUE(SameBits(one->spa.bootstrap_max[t], two->spa.bootstrap_max[t]));
    EXPECT_TRUE(SameBits(one->spa.variance, two->spa.variance));
    EXPECT_EQ(std::memcmp(one->spa.p_value.data(), two->spa.p_value.data(), sizeof(double) * 3), 0);
    EXPECT_EQ(one->steps, two->steps);
  }
}

// A replication provider that breaks its contract.
class OutOfRange final : public IndexProvider {
 public:
  explicit OutOfRange(std::size_t T) : T_(T) {}
  std::size_t length() const override { return T_; }
  void Fill(std::size_t rep, std::span<std::int64_t> out) const override {
    for (std::size_t t = 0; t < out.size(); ++t)
      out[t] = static_cast<std::int64_t>(t);
    if (rep == 3) out[5] = static_cast<std::int64_t>(T_);
  }

 private:
  std::size_t T_;
};

TEST(SpaTest, InvalidInputs) {
  const Losses d = MakeData(1, 50, 3, -0.1, 0.1);
  const SpaOptions o = Options(SpaMode::kHansen2005, 5, 10);
  auto code = [](const Result<SpaResult>& r) { return r.status().code(); };
  // Shapes.
  EXPECT_EQ(code(Spa(std::span<const double>(d.bench).first(49), d.view(), o)),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Spa(d.bench, MatrixView{d.models, 50, 4}, o)), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Spa(d.bench, MatrixView{{}, 50, 0}, o)), StatusCode::kInvalidArgument);
  const std::vector<double> two = {1.0, 2.0};
  EXPECT_EQ(code(Spa(two, MatrixView{two, 2, 1}, o)), StatusCode::kInvalidArgument);
  // Options.
  SpaOptions bad = o;
  bad.reps = 0;
  EXPECT_EQ(code(Spa(d.bench, d.view(), bad)), StatusCode::kInvalidArgument);
  bad = o;
  bad.block = -2;
  EXPECT_EQ(code(Spa(d.bench, d.view(), bad)), StatusCode::kInvalidArgument);
  bad.block = std::numeric_limits<double>::quiet_NaN();
  EXPECT_EQ(code(Spa(d.bench, d.view(), bad)), StatusCode::kInvalidArgument);
  // Values.
  Losses nan = d;
  nan.models[2 * 50 + 7] = std::numeric_limits<double>::infinity();
  const auto r = Spa(nan.bench, nan.view(), o);
  EXPECT_EQ(code(r), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("model 2, loss 7"), std::string_view::npos);
  // Providers.
  EXPECT_EQ(code(Spa(d.bench, d.view(), o, FedIndices(1, 49, 5, 10))),
            StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Spa(d.bench, d.view(), o, FedIndices(1, 50, 5, 9))), StatusCode::kInvalidArgument);
  EXPECT_EQ(code(Spa(d.bench, d.view(), o, OutOfRange(50))), StatusCode::kDataError);
  // Every differential constant: no studentized statistic exists.
  Losses flat = d;
  for (std::size_t j = 0; j < 3; ++j)
    for (std::size_t t = 0; t < 50; ++t)
      flat.models[j * 50 + t] = flat.bench[t] - 0.01 * static_cast<double>(j);
  EXPECT_EQ(code(Spa(flat.bench, flat.view(), o)), StatusCode::kInvalidArgument);
  EXPECT_TRUE(Spa(flat.bench, flat.view(), Options(SpaMode::kArchCompat, 5, 10)).ok());
  // Probabilities.
  auto ok = Spa(d.bench, d.view(), o);
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(CriticalValues(*ok, 0.0).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(BetterModels(*ok, 1.0).status().code(), StatusCode::kInvalidArgument);
  StepMOptions so;
  so.spa = o;
  so.size = 1.5;
  EXPECT_EQ(StepM(d.bench, d.view(), so).status().code(), StatusCode::kInvalidArgument);
}

TEST(NumpyPercentileTest, LinearInterpolationAsNumpy) {
  const std::vector<double> x = {4.0, 1.0, 3.0, 2.0};  // unsorted on purpose
  EXPECT_DOUBLE_EQ(NumpyPercentileLinear(x, 50), 2.5);
  EXPECT_DOUBLE_EQ(NumpyPercentileLinear(x, 95), 3.85);  // h = 2.85, from the upper end
  EXPECT_DOUBLE_EQ(NumpyPercentileLinear(x, 10), 1.3);   // h = 0.3, from the lower end
  EXPECT_EQ(NumpyPercentileLinear(x, 0), 1.0);
  EXPECT_EQ(NumpyPercentileLinear(x, 100), 4.0);
  EXPECT_EQ(NumpyPercentileLinear(std::vector<double>{7.0}, 95), 7.0);
  EXPECT_TRUE(std::isnan(NumpyPercentileLinear(x, 101)));
  EXPECT_TRUE(std::isnan(NumpyPercentileLinear(std::vector<double>{}, 50)));
}

// ---- Size and power (SPEC §4.2, §7.2b) ----------------------------------------------------

// d = AR(1), phi = 0.3, unit stationary variance, Gaussian (Box–Muller on SplitMix64), plus mu_j;
// benchmark losses 0 and model losses -d. Independent across models.
Losses Ar1Differentials(SplitMix64& rng, std::size_t T, const std::vector<double>& mu) {
  const double phi = 0.3;
  const double innov_sd = std::sqrt(1.0 - phi * phi);
  auto normal = [&rng]() {
    const double u1 = 1.0 - rng.Uniform();  // (0, 1]
    const double u2 = rng.Uniform();
    return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * std::numbers::pi * u2);
  };
  Losses d;
  d.T = T;
  d.k = mu.size();
  d.bench.assign(T, 0.0);
  d.models.resize(T * d.k);
  for (std::size_t j = 0; j < d.k; ++j) {
    double x = normal();  // stationary start
    for (std::size_t t = 0; t < T; ++t) {
      if (t > 0) x = phi * x + innov_sd * normal();
      d.models[j * T + t] = -(x + mu[j]);
    }
  }
  return d;
}

struct Rates {
  std::array<double, 3> arch = {}, hansen = {};
};

Rates RejectionRates(std::uint64_t seed, std::size_t sims, const std::vector<double>& mu) {
  SplitMix64 rng(seed);
  std::array<std::size_t, 3> arch = {}, hansen = {};
  for (std::size_t s = 0; s < sims; ++s) {
    const Losses d = Ar1Differentials(rng, 250, mu);
    SpaOptions o = Options(SpaMode::kArchCompat, 5, 299);
    o.seed = rng.NextU64();
    auto a = Spa(d.bench, d.view(), o);
    o.mode = SpaMode::kHansen2005;
    auto h = Spa(d.bench, d.view(), o);
    EXPECT_TRUE(a.ok() && h.ok());
    for (std::size_t t = 0; t < 3; ++t) {
      arch[t] += a->p_value[t] < 0.05 ? 1 : 0;
      hansen[t] += h->p_value[t] < 0.05 ? 1 : 0;
    }
  }
  Rates r;
  for (std::size_t t = 0; t < 3; ++t) {
    r.arch[t] = static_cast<double>(arch[t]) / static_cast<double>(sims);
    r.hansen[t] = static_cast<double>(hansen[t]) / static_cast<double>(sims);
  }
  return r;
}

// Difference of two independent binomial proportions, each from its own simulations.
double Band(double ref, std::size_t n_ref, std::size_t n) {
  return 3.5 * std::sqrt(ref * (1.0 - ref) *
                         (1.0 / static_cast<double>(n_ref) + 1.0 / static_cast<double>(n)));
}

// ArchCompat must reproduce arch's rejection rates at 5% (ref_spa_mc_1000.out: 1000 sims,
// T = 250, k = 10, block 5, reps 299), including its over-rejection under the least-favourable
// null, within the Monte Carlo error of both experiments (3.5 sd of the difference).
TEST(SpaStatisticalTest, ArchCompatSizeAndPowerMatchArch) {
  constexpr std::size_t kSims = 1000, kRef = 1000;
  struct Scenario {
    const char* name;
    std::vector<double> mu;
    std::array<double, 3> arch_rate;
  };
  const std::vector<double> zero(10, 0.0);
  std::vector<double> half(10, 0.0);
  for (std::size_t j = 5; j < 10; ++j)
    half[j] = -0.3;
  std::vector<double> one(10, 0.0);
  one[0] = 0.25;
  const Scenario scenarios[] = {
      {"null_all0", zero, {0.126, 0.084, 0.081}},
      {"null_half_bad", half, {0.121, 0.077, 0.037}},
      {"alt_one_good", one, {0.760, 0.715, 0.711}},
  };
  std::uint64_t seed = 2025;
  for (const Scenario& s : scenarios) {
    SCOPED_TRACE(s.name);
    const Rates r = RejectionRates(seed++, kSims, s.mu);
    std::cout << "[ stats    ] " << s.name << " reject@5% arch-compat [" << r.arch[0] << ", "
              << r.arch[1] << ", " << r.arch[2] << "] (arch [" << s.arch_rate[0] << ", "
              << s.arch_rate[1] << ", " << s.arch_rate[2] << "]); hansen2005 [" << r.hansen[0]
              << ", " << r.hansen[1] << ", " << r.hansen[2] << "]\n";
    for (std::size_t t = 0; t < 3; ++t)
      EXPECT_NEAR(r.arch[t], s.arch_rate[t], Band(s.arch_rate[t], kRef, kSims)) << t;
    if (s.name == std::string("null_all0")) {
      // Hansen2005 has no external reference (SPEC §4.2 asks for it to be validated
      // separately). With w-hat from the sample on both sides it over-rejects more than the raw
      // statistic here (measured 0.157 / 0.104 / 0.100 at T = 250, block 5); this only guards
      // against gross breakage (a sign error gives about 0 or 1).
      EXPECT_GT(r.hansen[kC], 0.02);
      EXPECT_LT(r.hansen[kC], 0.15);
    }
  }
  // A strong alternative (one model with mu = +1, t about 9) is always found.
  one[0] = 1.0;
  const Rates strong = RejectionRates(99, 100, one);
  for (std::size_t t = 0; t < 3; ++t) {
    EXPECT_EQ(strong.arch[t], 1.0);
    EXPECT_EQ(strong.hansen[t], 1.0);
  }
}

}  // namespace
}  // namespace qraft::robust
