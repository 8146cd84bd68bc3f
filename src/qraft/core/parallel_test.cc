#include "qraft/core/parallel.h"

#include <gtest/gtest.h>

#include <atomic>
#include <cmath>
#include <cstring>
#include <vector>

namespace qraft {
namespace {

// A float sum whose result depends on association order: the reduction must not.
double ChunkedSum(const std::vector<double>& v) {
  return ParallelReduce(
      v.size(), 1000, 0.0,
      [&](std::size_t b, std::size_t e) {
        double s = 0;
        for (std::size_t i = b; i < e; ++i)
          s += v[i];
        return s;
      },
      [](double a, double b) { return a + b; });
}

TEST(ParallelTest, ReductionIsBitIdenticalAcrossThreadCounts) {
  std::vector<double> v(1'000'003);
  for (std::size_t i = 0; i < v.size(); ++i)
    v[i] = std::sin(static_cast<double>(i)) * 1e6 / (1.0 + i);
  double one, two, many;
  {
    ThreadLimit limit(1);
    one = ChunkedSum(v);
  }
  {
    ThreadLimit limit(2);
    two = ChunkedSum(v);
  }
  many = ChunkedSum(v);
  EXPECT_EQ(std::memcmp(&one, &two, sizeof one), 0);
  EXPECT_EQ(std::memcmp(&one, &many, sizeof one), 0);
  // And it equals the sequential sum of chunk sums.
  double seq = 0;
  for (std::size_t b = 0; b < v.size(); b += 1000) {
    double s = 0;
    for (std::size_t i = b; i < std::min(v.size(), b + 1000); ++i)
      s += v[i];
    seq += s;
  }
  EXPECT_EQ(one, seq);
}

TEST(ParallelTest, ForVisitsEveryIndexOnce) {
  std::vector<std::atomic<int>> hits(12345);
  ParallelFor(hits.size(), 7, [&](std::size_t b, std::size_t e) {
    for (std::size_t i = b; i < e; ++i)
      hits[i]++;
  });
  for (auto& h : hits)
    ASSERT_EQ(h.load(), 1);
  int calls = 0;
  ParallelFor(0, 7, [&](std::size_t, std::size_t) { ++calls; });
  EXPECT_EQ(calls, 0);
}

TEST(ParallelTest, StatusIsLowestFailingChunk) {
  Status s = ParallelForStatus(100, 10, [](std::size_t b, std::size_t) {
    if (b == 30 || b == 70) return Status::DataError("chunk " + std::to_string(b));
    return Status::OK();
  });
  EXPECT_EQ(s.message(), "chunk 30");
  EXPECT_TRUE(
      ParallelForStatus(100, 10, [](std::size_t, std::size_t) { return Status::OK(); }).ok());
}

}  // namespace
}  // namespace qraft
