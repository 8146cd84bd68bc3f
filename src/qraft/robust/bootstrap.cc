#include "qraft/robust/bootstrap.h"

#include <algorithm>
#include <cmath>
#include <string>
#include <utility>

#include "qraft/core/parallel.h"

namespace qraft::robust {
namespace {

// Sequential dot product of a[0..n) and b[0..n). numpy's `@` goes through BLAS, whose order
// differs; SPEC §4.1 compares block lengths to 1e-10 relative, far above the difference.
double Dot(const double* a, const double* b, std::size_t n) {
  double s = 0.0;
  for (std::size_t i = 0; i < n; ++i)
    s += a[i] * b[i];
  return s;
}

std::size_t NumBlocks(std::size_t length, std::size_t block) {
  return (length + block - 1) / block;
}

}  // namespace

void StationaryBootstrapIndices(SplitMix64& rng, double block, std::span<std::int64_t> out) {
  const std::size_t n = out.size();
  if (n == 0) return;
  const auto T = static_cast<std::int64_t>(n);
  const double p = 1.0 / block;
  // The reference draws all T block starts, then all T uniforms. Two cursors on the same stream
  // (the second jumped T draws ahead) consume them in one pass without a buffer; a start that a
  // continued block does not use is skipped, not hashed, since only the state matters.
  SplitMix64 starts = rng;
  SplitMix64 uniforms = rng;
  uniforms.Advance(n + 1);  // u[0] is drawn but unused
  out[0] = starts.RandInt(T);
  for (std::size_t t = 1; t < n; ++t) {
    if (uniforms.Uniform() > p) {
      starts.Advance(1);
      const std::int64_t next = out[t - 1] + 1;
      out[t] = next == T ? 0 : next;
    } else {
      out[t] = starts.RandInt(T);
    }
  }
  rng.Advance(2 * static_cast<std::uint64_t>(n));
}

void CircularBlockBootstrapIndices(SplitMix64& rng, std::size_t block,
                                   std::span<std::int64_t> out) {
  const std::size_t n = out.size();
  if (n == 0) return;
  const auto T = static_cast<std::int64_t>(n);
  std::size_t t = 0;
  const std::size_t blocks = NumBlocks(n, block);
  for (std::size_t b = 0; b < blocks; ++b) {
    std::int64_t i = rng.RandInt(T);
    for (std::size_t j = 0; j < block && t < n; ++j, ++t) {
      out[t] = i;
      if (++i == T) i = 0;
    }
  }
}

Result<StationaryBootstrap> StationaryBootstrap::Create(std::size_t length, double block,
                                                        std::uint64_t seed) {
  if (length == 0) return Status::InvalidArgument("stationary bootstrap: length must be >= 1");
  if (!(block > 0.0) || !std::isfinite(block)) {
    return Status::InvalidArgument("stationary bootstrap: block must be finite and > 0, got " +
                                   std::to_string(block));
  }
  return StationaryBootstrap(length, block, seed);
}

void StationaryBootstrap::Fill(std::size_t rep, std::span<std::int64_t> out) const {
  SplitMix64 rng(seed_);
  // Replications 0..rep-1 consumed 2T draws each (mod 2^64, as the state itself).
  rng.Advance(2 * static_cast<std::uint64_t>(length_) * static_cast<std::uint64_t>(rep));
  StationaryBootstrapIndices(rng, block_, out);
}

Result<CircularBlockBootstrap> CircularBlockBootstrap::Create(std::size_t length, std::size_t block,
                                                              std::uint64_t seed) {
  if (length == 0) return Status::InvalidArgument("circular bootstrap: length must be >= 1");
  if (block == 0) return Status::InvalidArgument("circular bootstrap: block must be >= 1");
  return CircularBlockBootstrap(length, block, seed);
}

void CircularBlockBootstrap::Fill(std::size_t rep, std::span<std::int64_t> out) const {
  SplitMix64 rng(seed_);
  rng.Advance(static_cast<std::uint64_t>(NumBlocks(length_, block_)) *
              static_cast<std::uint64_t>(rep));
  CircularBlockBootstrapIndices(rng, block_, out);
}

Result<FixedIndices> FixedIndices::Create(std::size_t length, std::vector<std::int64_t> indices) {
  if (length == 0) return Status::InvalidArgument("fixed indices: length must be >= 1");
  if (indices.empty() || indices.size() % length != 0) {
    return Status::InvalidArgument("fixed indices: " + std::to_string(indices.size()) +
                                   " values are not a positive multiple of length " +
                                   std::to_string(length));
  }
  const auto T = static_cast<std::int64_t>(length);
  for (std::size_t i = 0; i < indices.size(); ++i) {
    if (indices[i] < 0 || indices[i] >= T) {
      return Status::DataError("fixed indices: replication " + std::to_string(i / length) +
                               ", position " + std::to_string(i % length) + ": index " +
                               std::to_string(indices[i]) + " is outside [0, " +
                               std::to_string(length) + ")");
    }
  }
  return FixedIndices(length, std::move(indices));
}

void FixedIndices::Fill(std::size_t rep, std::span<std::int64_t> out) const {
  const auto first = indices_.begin() + static_cast<std::ptrdiff_t>(rep * length_);
  std::copy(first, first + static_cast<std::ptrdiff_t>(length_), out.begin());
}

Result<BlockLength> OptimalBlockLength(std::span<const double> x) {
  const std::size_t n = x.size();
  for (std::size_t t = 0; t < n; ++t) {
    if (!std::isfinite(x[t])) {
      return Status::DataError("optimal block length: observation " + std::to_string(t) +
                               " is not finite");
    }
  }
  const auto nd = static_cast<double>(n);
  // arch: kn = max(5, int(log10(n))), m_max = int(ceil(sqrt(n))) + kn. The lag search reads
  // lags up to m_max with slices of n - m_max - 1 values, which must not be empty.
  const std::size_t kn =
      n == 0 ? 5 : std::max<std::size_t>(5, static_cast<std::size_t>(std::log10(nd)));
  const std::size_t m_max = static_cast<std::size_t>(std::ceil(std::sqrt(nd))) + kn;
  if (n < m_max + 2) {
    return Status::InvalidArgument("optimal block length: " + std::to_string(n) +
                                   " observations are too few (need at least " +
                                   std::to_string(m_max + 2) + ")");
  }
  double mean = 0.0;
  for (double v : x)
    mean += v;
  mean /= nd;
  std::vector<double> eps(n);
  for (std::size_t t = 0; t < n; ++t)
    eps[t] = x[t] - mean;

  const double b_max = std::ceil(std::min(3.0 * std::sqrt(nd), nd / 3.0));
  const double cv = 2.0 * std::sqrt(std::log10(nd) / nd);
  std::vector<double> acv(m_max + 1), abs_acorr(m_max + 1);
  std::optional<std::size_t> opt_m;
  const double* e = eps.data();
  for (std::size_t i = 0; i <= m_max; ++i) {
    // arch normalizes lag i by the sums of squares of eps[i+1:] and eps[:-(i+1)] (i+1, not i:
    // SPEC §5 notes the quirk), so abs_acorr[0] is about 1 and lag 0 never counts as small.
    const double v1 = Dot(e + i + 1, e + i + 1, n - i - 1);
    const double v2 = Dot(e, e, n - i - 1);
    const double cross = Dot(e + i, e, n - i);
    acv[i] = cross / nd;
    abs_acorr[i] = std::abs(cross) / std::sqrt(v1 * v2);
    if (i >= kn && !opt_m) {
      // The first kn consecutive insignificant lags i-kn .. i-1 fix m-hat = i - kn.
      if (std::all_of(abs_acorr.begin() + static_cast<std::ptrdiff_t>(i - kn),
                      abs_acorr.begin() + static_cast<std::ptrdiff_t>(i),
                      [cv](double a) { return a < cv; })) {
        opt_m = i - kn;
      }
    }
  }
  if (!(acv[0] > 0.0)) {
    return Status::InvalidArgument("optimal block length: the series is constant");
  }
  std::size_t m = opt_m ? 2 * std::max<std::size_t>(*opt_m, 1) : m_max;
  m = std::min(m, m_max);

  // Flat-top (trapezoid) window h(k/m) = min(1, 2(1 - k/m)).
  double g = 0.0;
  double lr_acv = acv[0];
  const auto md = static_cast<double>(m);
  for (std::size_t k = 1; k <= m; ++k) {
    const auto kd = static_cast<double>(k);
    const double ratio = kd / md;
    const double lam = ratio <= 0.5 ? 1.0 : 2.0 * (1.0 - ratio);
    g += 2.0 * lam * kd * acv[k];
    lr_acv += 2.0 * lam * acv[k];
  }
  const double lr2 = lr_acv * lr_acv;
  const double d_sb = 2.0 * lr2;
  const double d_cb = (4.0 / 3.0) * lr2;
  if (!(d_sb > 0.0)) {
    return Status::InvalidArgument("optimal block length: the long-run variance estimate is 0");
  }
  const double two_g2 = 2.0 * (g * g);
  const double n13 = std::pow(nd, 1.0 / 3.0);
  BlockLength out;
  out.stationary = std::min(std::pow(two_g2 / d_sb, 1.0 / 3.0) * n13, b_max);
  out.circular = std::min(std::pow(two_g2 / d_cb, 1.0 / 3.0) * n13, b_max);
  return out;
}

Result<std::vector<BlockLength>> OptimalBlockLengths(const MatrixView& x) {
  if (x.data.size() != x.rows * x.cols) {
    return Status::InvalidArgument(
        "optimal block length: data has " + std::to_string(x.data.size()) +
        " values, expected rows * cols = " + std::to_string(x.rows * x.cols));
  }
  std::vector<BlockLength> out(x.cols);
  Status st = ParallelForStatus(x.cols, 1, [&](std::size_t b, std::size_t e) -> Status {
    for (std::size_t j = b; j < e; ++j) {
      Result<BlockLength> r = OptimalBlockLength(x.Column(j));
      if (!r.ok()) return r.status().WithContext("column " + std::to_string(j));
      out[j] = *r;
    }
    return Status::OK();
  });
  if (!st.ok()) return st;
  return out;
}

double BootstrapBlock(std::span<const BlockLength> lengths, BootstrapKind kind) {
  double block = 1.0;
  for (const BlockLength& l : lengths) {
    const double b = kind == BootstrapKind::kStationary ? l.stationary : l.circular;
    block = std::max(block, std::round(b));
  }
  return block;
}

}  // namespace qraft::robust
