#include "qraft/robust/bootstrap.h"

#include <gtest/gtest.h>

#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <vector>

namespace qraft::robust {
namespace {

// SPEC §7.1 portable data: e_t = uniform() - 0.5, y_t = phi * y_{t-1} + e_t, y_{-1} = 0.
std::vector<double> Ar1Uniform(std::uint64_t seed, std::size_t n, double phi) {
  SplitMix64 rng(seed);
  std::vector<double> y(n);
  double prev = 0.0;
  for (std::size_t t = 0; t < n; ++t) {
    prev = phi * prev + (rng.Uniform() - 0.5);
    y[t] = prev;
  }
  return y;
}

TEST(SplitMix64Test, MatchesTheReferenceStream) {
  // Vigna's splitmix64.c from state 0 (the published first outputs).
  SplitMix64 rng(0);
  EXPECT_EQ(rng.NextU64(), 0xE220A8397B1DCDAFULL);
  EXPECT_EQ(rng.NextU64(), 0x6E789E6AA1B965F4ULL);
  EXPECT_EQ(rng.NextU64(), 0x06C45D188009454FULL);
  // SPEC §7.1: the first value of the seed-42 series is uniform() - 0.5, bit for bit.
  SplitMix64 s42(42);
  EXPECT_EQ(s42.Uniform() - 0.5, 0.2415648787718233);
}

TEST(SplitMix64Test, UniformAndRandIntAreTheSpecFormulas) {
  SplitMix64 a(123), b(123);
  for (int i = 0; i < 1000; ++i) {
    const std::uint64_t bits = a.NextU64();
    const double u = b.Uniform();
    EXPECT_EQ(u, static_cast<double>(bits >> 11) * 0x1.0p-53);
    EXPECT_GE(u, 0.0);
    EXPECT_LT(u, 1.0);
  }
  SplitMix64 c(7), d(7);
  for (int i = 0; i < 1000; ++i) {
    const std::int64_t r = c.RandInt(500);
    EXPECT_EQ(r, static_cast<std::int64_t>(std::floor(d.Uniform() * 500.0)));
    EXPECT_GE(r, 0);
    EXPECT_LT(r, 500);
  }
}

TEST(SplitMix64Test, AdvanceSkipsDraws) {
  SplitMix64 walked(99), jumped(99);
  for (int i = 0; i < 12345; ++i)
    walked.NextU64();
  jumped.Advance(12345);
  EXPECT_EQ(walked.state(), jumped.state());
  EXPECT_EQ(walked.NextU64(), jumped.NextU64());
}

// SPEC §7.2 "further checks": the first index vectors of cases A and B (T = 500, block 10).
TEST(StationaryBootstrapTest, ReproducesTheSpecIndexVectors) {
  std::vector<std::int64_t> idx(500);
  {
    SplitMix64 rng(98);  // case B
    StationaryBootstrapIndices(rng, 10.0, idx);
    for (int t = 0; t < 10; ++t)
      EXPECT_EQ(idx[t], 470 + t);
    StationaryBootstrapIndices(rng, 10.0, idx);
    for (int t = 0; t < 5; ++t)
      EXPECT_EQ(idx[t], 166 + t);
  }
  {
    SplitMix64 rng(99);  // case A
    StationaryBootstrapIndices(rng, 10.0, idx);
    for (int t = 0; t < 10; ++t)
      EXPECT_EQ(idx[t], 130 + t);
    StationaryBootstrapIndices(rng, 10.0, idx);
    const std::vector<std::int64_t> want = {110, 111, 112, 113, 139};
    for (int t = 0; t < 5; ++t)
      EXPECT_EQ(idx[t], want[t]);
  }
}

// The §7.0 reference written the obvious way (all starts, then all uniforms, then the
// recursion), against the one-pass implementation.
TEST(StationaryBootstrapTest, OnePassEqualsTheTwoArrayReference) {
  for (double block : {1.0, 2.5, 10.0, 40.0}) {
    const std::size_t T = 257;
    SplitMix64 ref(5), impl(5);
    std::vector<std::int64_t> got(T);
    for (int rep = 0; rep < 20; ++rep) {
      std::vector<std::int64_t> idx(T);
      std::vector<double> u(T);
      for (auto& v : idx)
        v = ref.RandInt(static_cast<std::int64_t>(T));
      for (auto& v : u)
        v = ref.Uniform();
      for (std::size_t t = 1; t < T; ++t) {
        if (u[t] > 1.0 / block) {
          idx[t] = idx[t - 1] + 1;
          if (idx[t] == static_cast<std::int64_t>(T)) idx[t] = 0;
        }
      }
      StationaryBootstrapIndices(impl, block, got);
      ASSERT_EQ(got, idx) << "block " << block << " rep " << rep;
      ASSERT_EQ(impl.state(), ref.state());
    }
  }
}

TEST(StationaryBootstrapTest, ProviderIsTheSerialStreamAtRandomAccess) {
  const std::size_t T = 300;
  auto sb = StationaryBootstrap::Create(T, 7.0, 2024);
  ASSERT_TRUE(sb.ok()) << sb.status().ToString();
  EXPECT_EQ(sb->seed(), std::optional<std::uint64_t>(2024));
  SplitMix64 serial(2024);
  std::vector<std::vector<std::int64_t>> stream(30, std::vector<std::int64_t>(T));
  for (auto& rep : stream)
    StationaryBootstrapIndices(serial, 7.0, rep);
  std::vector<std::int64_t> got(T);
  for (std::size_t rep : {29u, 0u, 13u, 1u, 28u}) {
    sb->Fill(rep, got);
    EXPECT_EQ(got, stream[rep]) << "rep " << rep;
  }
}

TEST(StationaryBootstrapTest, MeanBlockLengthIsTheBlock) {
  // Blocks start where the recursion takes a fresh start: with probability 1/block per step.
  const std::size_t T = 2000;
  auto sb = StationaryBootstrap::Create(T, 8.0, 1);
  ASSERT_TRUE(sb.ok());
  std::vector<std::int64_t> idx(T);
  std::size_t starts = 0, steps = 0;
  for (std::size_t rep = 0; rep < 50; ++rep) {
    sb->Fill(rep, idx);
    for (std::size_t t = 1; t < T; ++t) {
      const bool continued = idx[t] == (idx[t - 1] + 1) % static_cast<std::int64_t>(T);
      starts += continued ? 0 : 1;
      ++steps;
    }
  }
  // Binomial(99950, 1/8) fraction: sd 0.001; a fresh start can also continue by chance (1/T).
  EXPECT_NEAR(static_cast<double>(starts) / static_cast<double>(steps), 1.0 / 8.0, 0.005);
}

TEST(CircularBlockBootstrapTest, BlocksWrapAndTruncate) {
  const std::size_t T = 23, block = 5;  // 5 blocks, the last truncated to 3
  SplitMix64 rng(11), check(11);
  std::vector<std::int64_t> idx(T);
  CircularBlockBootstrapIndices(rng, block, idx);
  for (std::size_t b = 0; b < 5; ++b) {
    const std::int64_t start = check.RandInt(static_cast<std::int64_t>(T));
    for (std::size_t j = 0; j < block && b * block + j < T; ++j)
      EXPECT_EQ(idx[b * block + j], (start + static_cast<std::int64_t>(j)) % 23);
  }
  EXPECT_EQ(rng.state(), check.state());  // ceil(T / block) draws
}

TEST(CircularBlockBootstrapTest, ProviderIsTheSerialStreamAtRandomAccess) {
  const std::size_t T = 101, block = 10;
  auto cb = CircularBlockBootstrap::Create(T, block, 77);
  ASSERT_TRUE(cb.ok());
  SplitMix64 serial(77);
  std::vector<std::vector<std::int64_t>> stream(12, std::vector<std::int64_t>(T));
  for (auto& rep : stream)
    CircularBlockBootstrapIndices(serial, block, rep);
  std::vector<std::int64_t> got(T);
  for (std::size_t rep : {11u, 0u, 5u}) {
    cb->Fill(rep, got);
    EXPECT_EQ(got, stream[rep]);
  }
}

TEST(IndexProviderTest, InvalidArguments) {
  EXPECT_EQ(StationaryBootstrap::Create(0, 5.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StationaryBootstrap::Create(10, 0.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(StationaryBootstrap::Create(10, -1.0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(
      StationaryBootstrap::Create(10, std::numeric_limits<double>::infinity(), 1).status().code(),
      StatusCode::kInvalidArgument);
  EXPECT_EQ(CircularBlockBootstrap::Create(10, 0, 1).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedIndices::Create(0, {0}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedIndices::Create(3, {0, 1}).status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(FixedIndices::Create(3, {}).status().code(), StatusCode::kInvalidArgument);
  const auto bad = FixedIndices::Create(3, {0, 1, 2, 2, 3, 0});
  EXPECT_EQ(bad.status().code(), StatusCode::kDataError);
  EXPECT_NE(bad.status().message().find("replication 1, position 1"), std::string_view::npos)
      << bad.status().ToString();
  EXPECT_EQ(FixedIndices::Create(3, {0, 1, -1}).status().code(), StatusCode::kDataError);
}

TEST(IndexProviderTest, FixedIndicesReplayInOrder) {
  auto fixed = FixedIndices::Create(3, {0, 1, 2, 2, 2, 0});
  ASSERT_TRUE(fixed.ok());
  EXPECT_EQ(fixed->capacity(), 2u);
  EXPECT_FALSE(fixed->seed().has_value());
  std::vector<std::int64_t> out(3);
  fixed->Fill(1, out);
  EXPECT_EQ(out, (std::vector<std::int64_t>{2, 2, 0}));
  fixed->Fill(0, out);
  EXPECT_EQ(out, (std::vector<std::int64_t>{0, 1, 2}));
}

// SPEC §7.1 portable vectors (arch 543f44c `optimal_block_length`). SPEC §4.1 asks for 1e-10
// relative; x[0] is compared bit for bit (it is one generator draw).
struct BlockCase {
  std::uint64_t seed;
  std::size_t n;
  double phi, x0, sum, b_sb, b_cb;
};

TEST(OptimalBlockLengthTest, MatchesArchOnThePortableVectors) {
  const BlockCase cases[] = {
      {42, 1000, 0.5, 0.2415648787718233, -20.090549345973848, 9.988424332206742,
       11.433891593743308},
      {7, 250, 0.0, -0.11017025160872851, 1.5166814272997438, 1.8423161103764396,
       2.1089254908333666},
      {2024, 5000, 0.8, 0.12276553664610967, 37.29840216586729, 39.68153922958002,
       45.424023122539026},
      {1, 100, -0.4, 0.0665615751722809, 1.7670402794329076, 4.059752778309562, 4.647256826576416},
  };
  for (const BlockCase& c : cases) {
    SCOPED_TRACE(c.seed);
    const std::vector<double> x = Ar1Uniform(c.seed, c.n, c.phi);
    EXPECT_EQ(x[0], c.x0);
    // numpy sums pairwise, this sums left to right: equal to a few ulps of the partial sums.
    EXPECT_NEAR(std::accumulate(x.begin(), x.end(), 0.0), c.sum, 1e-12 * static_cast<double>(c.n));
    auto b = OptimalBlockLength(x);
    ASSERT_TRUE(b.ok()) << b.status().ToString();
    EXPECT_NEAR(b->stationary, c.b_sb, 1e-10 * c.b_sb);
    EXPECT_NEAR(b->circular, c.b_cb, 1e-10 * c.b_cb);
  }
}

TEST(OptimalBlockLengthTest, ColumnsOfAMatrix) {
  const std::vector<double> a = Ar1Uniform(42, 1000, 0.5);
  const std::vector<double> b = Ar1Uniform(7, 1000, 0.0);
  std::vector<double> data(a);
  data.insert(data.end(), b.begin(), b.end());
  auto cols = OptimalBlockLengths(MatrixView{data, 1000, 2});
  ASSERT_TRUE(cols.ok()) << cols.status().ToString();
  ASSERT_EQ(cols->size(), 2u);
  EXPECT_EQ((*cols)[0].stationary, OptimalBlockLength(a)->stationary);
  EXPECT_EQ((*cols)[1].circular, OptimalBlockLength(b)->circular);
  EXPECT_EQ(BootstrapBlock(*cols, BootstrapKind::kStationary), std::round((*cols)[0].stationary));

  std::vector<double> short_col(data.begin(), data.begin() + 10);
  short_col.insert(short_col.end(), data.begin(), data.begin() + 10);
  const auto err = OptimalBlockLengths(MatrixView{short_col, 10, 2});
  EXPECT_EQ(err.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(err.status().message().find("column 0"), std::string_view::npos);
  EXPECT_EQ(OptimalBlockLengths(MatrixView{data, 999, 2}).status().code(),
            StatusCode::kInvalidArgument);
}

TEST(OptimalBlockLengthTest, RejectsShortConstantAndNonFiniteSeries) {
  EXPECT_EQ(OptimalBlockLength(std::vector<double>(10, 1.0)).status().code(),
            StatusCode::kInvalidArgument);                       // n = 10 < m_max + 2 = 11
  EXPECT_TRUE(OptimalBlockLength(Ar1Uniform(3, 11, 0.2)).ok());  // the shortest accepted
  EXPECT_EQ(OptimalBlockLength(std::vector<double>(100, 0.25)).status().code(),
            StatusCode::kInvalidArgument);
  std::vector<double> x = Ar1Uniform(3, 100, 0.2);
  x[17] = std::numeric_limits<double>::quiet_NaN();
  const auto r = OptimalBlockLength(x);
  EXPECT_EQ(r.status().code(), StatusCode::kDataError);
  EXPECT_NE(r.status().message().find("17"), std::string_view::npos);
}

TEST(OptimalBlockLengthTest, BootstrapBlockIsTheRoundedMaximumAtLeastOne) {
  const BlockLength ls[] = {{0.3, 0.4}, {2.5, 7.49}, {1.2, 3.0}};
  EXPECT_EQ(BootstrapBlock(ls, BootstrapKind::kStationary), 3.0);  // round(2.5) = 3
  EXPECT_EQ(BootstrapBlock(ls, BootstrapKind::kCircular), 7.0);
  EXPECT_EQ(BootstrapBlock(std::span<const BlockLength>(ls, 1), BootstrapKind::kStationary), 1.0);
  EXPECT_EQ(BootstrapBlock({}, BootstrapKind::kCircular), 1.0);
}

}  // namespace
}  // namespace qraft::robust
