// Bootstrap machinery of the quality gates: the portable SplitMix64 generator, the stationary
// (Politis–Romano) and circular block bootstrap index streams, and the Politis–White optimal
// block length. ../shared/reference/robust/SPEC.md §2.2, §5 and §7.0 are normative.
//
// Index streams. A bootstrap is an IndexProvider: replication r's T row indices are a pure
// function of r, so replications can be generated on any thread, in any order, and regenerated,
// and every result built on them is bit-identical whatever the thread count. The seeded streams
// are defined as ONE SplitMix64(seed) stream consumed replication after replication (SPEC §7.0:
// "reps consecutive calls to sb_indices"); SplitMix64's state advances by a constant per draw,
// so replication r starts by jumping over the draws of replications 0..r-1 in O(1). That is how
// the parallel bootstrap reproduces the serial reference stream exactly.
//
// Exact parity with numpy's PCG64 is deliberately not attempted (SPEC §2.2): cross-checks with
// arch feed the same index arrays to both sides (FixedIndices).
//
// Thread-safety: SplitMix64 is a value (one per thread). IndexProvider::Fill is const and safe to
// call concurrently. OptimalBlockLength is a pure function.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <span>
#include <utility>
#include <vector>

#include "qraft/core/status.h"
#include "qraft/robust/matrix.h"

namespace qraft::robust {

/// SplitMix64 (Steele, Lea & Flood 2014) exactly as SPEC §7.0, so that C++ and the Python
/// reference scripts draw the same numbers on every machine.
class SplitMix64 {
 public:
  /// The state increment per draw (the golden-ratio constant).
  static constexpr std::uint64_t kGamma = 0x9E3779B97F4A7C15ULL;

  explicit SplitMix64(std::uint64_t seed) : state_(seed) {}

  /// The next 64 random bits.
  std::uint64_t NextU64() {
    std::uint64_t z = (state_ += kGamma);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
  }

  /// (next_u64 >> 11) * 2^-53: uniform on [0, 1), exact in double.
  double Uniform() { return static_cast<double>(NextU64() >> 11) * 0x1.0p-53; }

  /// floor(Uniform() * n): uniform on [0, n) for 0 < n < 2^53 (one draw). The product never
  /// rounds up to n: Uniform() <= 1 - 2^-53, and n * 2^-53 is at least half an ulp of n.
  std::int64_t RandInt(std::int64_t n) {
    return static_cast<std::int64_t>(Uniform() * static_cast<double>(n));
  }

  /// Skips n draws in O(1): the state after n draws is seed + n * kGamma (mod 2^64).
  void Advance(std::uint64_t n) { state_ += n * kGamma; }

  std::uint64_t state() const { return state_; }

 private:
  std::uint64_t state_;
};

/// One stationary-bootstrap replication (SPEC §2.2 recursion, §7.0 `sb_indices`): fills out
/// (T = out.size() > 0) by drawing T block starts RandInt(T) and then T uniforms u from rng (so rng
/// advances by exactly 2T draws), with idx[0] = start[0] and, for t >= 1, idx[t] = idx[t-1] + 1
/// (wrapping T to 0) when u[t] > 1/block, else start[t]. The expected block length is `block`
/// (> 0; any block <= 1 gives the IID bootstrap). u[0] is drawn but unused, as in arch.
void StationaryBootstrapIndices(SplitMix64& rng, double block, std::span<std::int64_t> out);

/// One circular-block-bootstrap replication, arch's CircularBlockBootstrap with the portable
/// generator: nb = ceil(T / block) block starts s_b = RandInt(T) are drawn (rng advances by nb
/// draws), idx = [s_0, s_0+1, ..., s_0+block-1, s_1, ...] mod T, truncated to T. block >= 1.
void CircularBlockBootstrapIndices(SplitMix64& rng, std::size_t block, std::span<std::int64_t> out);

/// Which block bootstrap a seeded statistic draws its replications from.
enum class BootstrapKind : std::uint8_t {
  kStationary,  ///< Politis & Romano (1994), geometric block lengths (arch's default)
  kCircular,    ///< Politis & Romano (1992), fixed block length, wrap-around
};

/// A source of bootstrap replications: replication `rep` is a vector of length() row indices in
/// [0, length()). Implementations must make Fill a pure, thread-safe function of `rep` (it is
/// called concurrently, in any order, possibly more than once for the same rep).
class IndexProvider {
 public:
  virtual ~IndexProvider() = default;

  /// T, the number of observations resampled.
  virtual std::size_t length() const = 0;
  /// How many replications can be drawn (unbounded for the seeded streams).
  virtual std::size_t capacity() const { return std::numeric_limits<std::size_t>::max(); }
  /// The seed of a seeded stream, recorded in results for reproducibility; none for fed indices.
  virtual std::optional<std::uint64_t> seed() const { return std::nullopt; }

  /// Writes replication `rep`'s indices. REQUIRES: out.size() == length(), rep < capacity().
  virtual void Fill(std::size_t rep, std::span<std::int64_t> out) const = 0;
};

/// The seeded stationary bootstrap: replication r is the (r+1)-th consecutive
/// StationaryBootstrapIndices call on one SplitMix64(seed) stream (SPEC §7.0).
class StationaryBootstrap final : public IndexProvider {
 public:
  /// InvalidArgument unless length >= 1 and block is finite and > 0.
  static Result<StationaryBootstrap> Create(std::size_t length, double block, std::uint64_t seed);

  std::size_t length() const override { return length_; }
  std::optional<std::uint64_t> seed() const override { return seed_; }
  double block() const { return block_; }
  void Fill(std::size_t rep, std::span<std::int64_t> out) const override;

 private:
  StationaryBootstrap(std::size_t length, double block, std::uint64_t seed)
      : length_(length), block_(block), seed_(seed) {}
  std::size_t length_;
  double block_;
  std::uint64_t seed_;
};

/// The seeded circular block bootstrap: replication r is the (r+1)-th consecutive
/// CircularBlockBootstrapIndices call on one SplitMix64(seed) stream.
class CircularBlockBootstrap final : public IndexProvider {
 public:
  /// InvalidArgument unless length >= 1 and block >= 1.
  static Result<CircularBlockBootstrap> Create(std::size_t length, std::size_t block,
                                               std::uint64_t seed);

  std::size_t length() const override { return length_; }
  std::optional<std::uint64_t> seed() const override { return seed_; }
  std::size_t block() const { return block_; }
  void Fill(std::size_t rep, std::span<std::int64_t> out) const override;

 private:
  CircularBlockBootstrap(std::size_t length, std::size_t block, std::uint64_t seed)
      : length_(length), block_(block), seed_(seed) {}
  std::size_t length_;
  std::size_t block_;
  std::uint64_t seed_;
};

/// Replications given in advance, e.g. the index arrays fed to arch in a cross-check (SPEC §4.1)
/// or a serial stream materialized once. Owns reps * length int64 values (8 bytes each).
class FixedIndices final : public IndexProvider {
 public:
  /// `indices` holds the replications one after another (replication r at
  /// [r * length, (r + 1) * length)). InvalidArgument unless length >= 1 and indices.size() is a
  /// positive multiple of length; DataError naming the first index outside [0, length).
  static Result<FixedIndices> Create(std::size_t length, std::vector<std::int64_t> indices);

  std::size_t length() const override { return length_; }
  std::size_t capacity() const override { return indices_.size() / length_; }
  void Fill(std::size_t rep, std::span<std::int64_t> out) const override;

 private:
  FixedIndices(std::size_t length, std::vector<std::int64_t> indices)
      : length_(length), indices_(std::move(indices)) {}
  std::size_t length_;
  std::vector<std::int64_t> indices_;
};

/// Politis & White (2004) optimal block lengths with the Patton, Politis & White (2009)
/// corrected constants, computed exactly as arch's `_single_optimal_block` (SPEC §5). Lengths
/// are in observations and real-valued; there is no lower bound (near-IID data gives values
/// below 2, and below 1 as the autocovariances vanish), the upper bound is
/// ceil(min(3 sqrt(n), n / 3)).
struct BlockLength {
  double stationary = 0.0;  ///< expected block length for the stationary bootstrap
  double circular = 0.0;    ///< block length for the circular block bootstrap
};

/// Block lengths of one series. InvalidArgument when x is too short for arch's lag search
/// (n < ceil(sqrt(n)) + max(5, floor(log10 n)) + 2, i.e. n < 11) or constant (the long-run
/// variance is 0 and the formula is 0/0); DataError naming the first non-finite value.
/// Cost O(n sqrt(n)).
Result<BlockLength> OptimalBlockLength(std::span<const double> x);

/// Block lengths of every column of x (T x k, column-major), in column order; the first
/// failing column's error, prefixed with its index. Columns run in parallel; deterministic.
Result<std::vector<BlockLength>> OptimalBlockLengths(const MatrixView& x);

/// The block length a multi-series bootstrap should use: the MAXIMUM over series of
/// max(1, round(length)) (std::round, halves away from zero), of the stationary or circular
/// estimate. The maximum, not the mean, because every series must keep its dependence: a block
/// too long costs a little variance, one too short biases the p-values of the most persistent
/// series. 1 for an empty span.
double BootstrapBlock(std::span<const BlockLength> lengths, BootstrapKind kind);

}  // namespace qraft::robust
