#include "qraft/robust/pbo.h"

#include <algorithm>
#include <boost/math/distributions/students_t.hpp>
#include <cmath>
#include <string>

#include "qraft/core/parallel.h"
#include "qraft/robust/math_policy.h"

namespace qraft::robust {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kEps = std::numeric_limits<double>::epsilon();
constexpr std::size_t kMaxBlocks = 24;
// Splits per parallel work item: a split costs O(S N), so 32 of them amortize the task overhead
// even for small N, and 12,870 splits still make ~400 items to balance over the cores.
constexpr std::size_t kSplitGrain = 32;

// NaN ranks as -inf (SPEC §3.3). Inputs are finite, so no metric is -inf on its own.
inline double RankKey(double v) {
  return std::isnan(v) ? -std::numeric_limits<double>::infinity() : v;
}

// Per-block sufficient statistics of every column, block-major so that summing the blocks of a
// split is a unit-stride loop over columns.
struct BlockStats {
  std::size_t blocks = 0, cols = 0, rows_per_block = 0;
  std::vector<double> shift;  // K_j: column mean over the kept rows
  std::vector<double> s1;     // [b * cols + j]: sum of (x - K_j) over block b
  std::vector<double> s2;     // [b * cols + j]: sum of (x - K_j)^2 over block b
};

BlockStats ComputeBlockStats(const MatrixView& m, std::size_t first_row, std::size_t S,
                             std::size_t L) {
  BlockStats bs;
  bs.blocks = S;
  bs.cols = m.cols;
  bs.rows_per_block = L;
  bs.shift.resize(m.cols);
  bs.s1.resize(S * m.cols);
  bs.s2.resize(S * m.cols);
  ParallelFor(m.cols, 16, [&](std::size_t jb, std::size_t je) {
    for (std::size_t j = jb; j < je; ++j) {
      const double* x = m.Column(j).data() + first_row;
      double sum = 0.0;
      for (std::size_t t = 0; t < S * L; ++t)
        sum += x[t];
      const double k = sum / static_cast<double>(S * L);
      bs.shift[j] = k;
      for (std::size_t b = 0; b < S; ++b) {
        double a1 = 0.0, a2 = 0.0;
        for (std::size_t t = b * L; t < (b + 1) * L; ++t) {
          const double d = x[t] - k;
          a1 += d;
          a2 += d * d;
        }
        bs.s1[b * m.cols + j] = a1;
        bs.s2[b * m.cols + j] = a2;
      }
    }
  });
  return bs;
}

// Metric of every column over the n rows whose shifted sums are s1, s2 (built-in metrics).
void MetricFromSums(PboMetric metric, const double* shift, const double* s1, const double* s2,
                    std::size_t cols, std::size_t n, double* out) {
  const double nd = static_cast<double>(n);
  if (metric == PboMetric::kMean) {
    for (std::size_t j = 0; j < cols; ++j)
      out[j] = shift[j] + s1[j] / nd;
    return;
  }
  // s2 - s1^2/n carries a rounding error of a few n eps s2; below 8 n eps s2 the rows are
  // constant to rounding, and a "Sharpe ratio" of rounding noise would be huge and meaningless.
  const double tol = 8.0 * nd * kEps;
  for (std::size_t j = 0; j < cols; ++j) {
    const double ss = s2[j] - s1[j] * (s1[j] / nd);
    out[j] = ss > tol * s2[j] ? (shift[j] + s1[j] / nd) / std::sqrt(ss / (nd - 1.0)) : kNaN;
  }
}

// Everything one split produces.
struct SplitOut {
  double logit = 0.0, is_star = 0.0, oos_star = 0.0, oos_rank = 0.0;
  std::size_t n_star = 0, nans = 0;
};

// n*, the OOS rank of n* and the logit from the IS and OOS metrics of one split.
SplitOut Evaluate(const double* is, const double* oos, std::size_t cols) {
  SplitOut o;
  // n* = argmax R, lowest column on ties (np.argmax(rankdata(R)), R's which.max).
  std::size_t best = 0;
  double best_key = RankKey(is[0]);
  for (std::size_t j = 1; j < cols; ++j) {
    const double k = RankKey(is[j]);
    if (k > best_key) {
      best_key = k;
      best = j;
    }
  }
  // Average rank (scipy rankdata 'average'): below + (ties incl. itself + 1) / 2.
  const double target = RankKey(oos[best]);
  std::size_t below = 0, equal = 0, nans = 0;
  for (std::size_t j = 0; j < cols; ++j) {
    const double k = RankKey(oos[j]);
    below += k < target;
    equal += k == target;
    nans += std::isnan(is[j]) + std::isnan(oos[j]);
  }
  o.n_star = best;
  o.is_star = is[best];
  o.oos_star = oos[best];
  o.oos_rank = static_cast<double>(below) + (static_cast<double>(equal) + 1.0) / 2.0;
  const double w = o.oos_rank / (static_cast<double>(cols) + 1.0);
  o.logit = std::log(w / (1.0 - w));
  o.nans = nans;
  return o;
}

// linregress(x, y) over the pairs where both are numbers.
void Regress(const std::vector<double>& x, const std::vector<double>& y, PboResult& r) {
  std::size_t n = 0;
  double sx = 0.0, sy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) continue;
    ++n;
    sx += x[i];
    sy += y[i];
  }
  r.regression_points = n;
  if (n < 2) return;
  const double nd = static_cast<double>(n);
  const double xm = sx / nd, ym = sy / nd;
  double sxx = 0.0, sxy = 0.0, syy = 0.0;
  for (std::size_t i = 0; i < x.size(); ++i) {
    if (std::isnan(x[i]) || std::isnan(y[i])) continue;
    const double dx = x[i] - xm, dy = y[i] - ym;
    sxx += dx * dx;
    sxy += dx * dy;
    syy += dy * dy;
  }
  if (!(sxx > 0.0)) return;
  // scipy.stats.linregress (1.10): biased (co)variances, r clipped to [-1, 1].
  const double ssxm = sxx / nd, ssxym = sxy / nd, ssym = syy / nd;
  double rr = ssym == 0.0 ? 0.0 : ssxym / std::sqrt(ssxm * ssym);
  rr = std::clamp(rr, -1.0, 1.0);
  r.slope = ssxym / ssxm;
  r.intercept = ym - r.slope * xm;
  r.r2 = rr * rr;
  if (n < 3) return;
  const double df = nd - 2.0;
  constexpr double kTiny = 1.0e-20;  // scipy's guard against r = +-1
  const double t = rr * std::sqrt(df / ((1.0 - rr + kTiny) * (1.0 + rr + kTiny)));
  const boost::math::students_t_distribution<double, NoThrowPolicy> dist(df);
  r.slope_pvalue = 2.0 * boost::math::cdf(boost::math::complement(dist, std::abs(t)));
}

}  // namespace

Result<std::vector<std::uint32_t>> CscvSplits(std::size_t blocks) {
  if (blocks < 2 || blocks % 2 != 0 || blocks > kMaxBlocks) {
    return Status::InvalidArgument("pbo: blocks (S) must be even and in [2, " +
                                   std::to_string(kMaxBlocks) + "], got " + std::to_string(blocks));
  }
  const std::size_t h = blocks / 2;
  std::vector<std::uint32_t> out;
  std::vector<std::size_t> idx(h);
  for (std::size_t i = 0; i < h; ++i)
    idx[i] = i;
  while (true) {
    std::uint32_t mask = 0;
    for (std::size_t i : idx)
      mask |= std::uint32_t{1} << i;
    out.push_back(mask);
    // Next combination in lexicographic order: bump the rightmost index that can move.
    std::size_t i = h;
    while (i > 0 && idx[i - 1] == blocks - h + (i - 1))
      --i;
    if (i == 0) break;
    ++idx[i - 1];
    for (std::size_t k = i; k < h; ++k)
      idx[k] = idx[k - 1] + 1;
  }
  return out;
}

Result<PboResult> PboCscv(const MatrixView& returns, const PboOptions& options) {
  const std::size_t T = returns.rows, N = returns.cols, S = options.blocks;
  if (returns.data.size() != T * N) {
    return Status::InvalidArgument("pbo: data has " + std::to_string(returns.data.size()) +
                                   " values, expected rows " + std::to_string(T) + " x cols " +
                                   std::to_string(N));
  }
  if (N < 2) {
    return Status::InvalidArgument("pbo: need at least 2 strategies (columns), got " +
                                   std::to_string(N));
  }
  QRAFT_ASSIGN_OR_RETURN(const std::vector<std::uint32_t> splits, CscvSplits(S));
  const std::size_t L = T / S;
  if (L < 2) {
    return Status::InvalidArgument("pbo: " + std::to_string(T) + " rows in " + std::to_string(S) +
                                   " blocks leave fewer than 2 rows per block");
  }
  if (options.metric == PboMetric::kCustom && !options.custom_metric) {
    return Status::InvalidArgument("pbo: metric kCustom without a custom_metric function");
  }
  if (!std::isfinite(options.loss_threshold)) {
    return Status::InvalidArgument("pbo: loss_threshold must be finite");
  }
  for (std::size_t j = 0; j < N; ++j) {
    const auto col = returns.Column(j);
    for (std::size_t t = 0; t < T; ++t) {
      if (!std::isfinite(col[t])) {
        return Status::DataError("pbo: value at row " + std::to_string(t) + ", column " +
                                 std::to_string(j) + " is not finite");
      }
    }
  }

  // pypbo drops the first T mod S rows so that the blocks are equal (SPEC §3.1 step 1).
  const std::size_t first = T - S * L;
  const std::size_t half_rows = (S / 2) * L;
  const std::size_t n_splits = splits.size();

  PboResult res;
  res.n_combos = n_splits;
  res.dropped_rows = first;
  res.rows_per_block = L;

  BlockStats bs;
  if (options.metric != PboMetric::kCustom) bs = ComputeBlockStats(returns, first, S, L);

  std::vector<SplitOut> outs(n_splits);
  ParallelFor(n_splits, kSplitGrain, [&](std::size_t cb, std::size_t ce) {
    // Scratch owned by this chunk.
    std::vector<double> is(N), oos(N);
    std::vector<double> is_s1, is_s2, oos_s1, oos_s2, is_rows, oos_rows;
    if (options.metric == PboMetric::kCustom) {
      is_rows.resize(half_rows * N);
      oos_rows.resize(half_rows * N);
    } else {
      is_s1.resize(N);
      is_s2.resize(N);
      oos_s1.resize(N);
      oos_s2.resize(N);
    }
    for (std::size_t c = cb; c < ce; ++c) {
      const std::uint32_t mask = splits[c];
      if (options.metric == PboMetric::kCustom) {
        // Materialize the IS and OOS rows, blocks in ascending order, column-major.
        for (std::size_t j = 0; j < N; ++j) {
          const double* x = returns.Column(j).data() + first;
          double* di = is_rows.data() + j * half_rows;
          double* doos = oos_rows.data() + j * half_rows;
          for (std::size_t b = 0; b < S; ++b) {
            double*& dst = (mask >> b) & 1u ? di : doos;
            std::copy(x + b * L, x + (b + 1) * L, dst);
            dst += L;
          }
        }
        options.custom_metric(MatrixView{.data = is_rows, .rows = half_rows, .cols = N}, is);
        options.custom_metric(MatrixView{.data = oos_rows, .rows = half_rows, .cols = N}, oos);
      } else {
        // Sum the block statistics in ascending block order: a fixed order, so every split
        // gives the same bits on any thread.
        std::fill(is_s1.begin(), is_s1.end(), 0.0);
        std::fill(is_s2.begin(), is_s2.end(), 0.0);
        std::fill(oos_s1.begin(), oos_s1.end(), 0.0);
        std::fill(oos_s2.begin(), oos_s2.end(), 0.0);
        for (std::size_t b = 0; b < S; ++b) {
          const bool in = (mask >> b) & 1u;
          double* __restrict a1 = in ? is_s1.data() : oos_s1.data();
          double* __restrict a2 = in ? is_s2.data() : oos_s2.data();
          const double* __restrict b1 = bs.s1.data() + b * N;
          const double* __restrict b2 = bs.s2.data() + b * N;
          for (std::size_t j = 0; j < N; ++j) {
            a1[j] += b1[j];
            a2[j] += b2[j];
          }
        }
        MetricFromSums(options.metric, bs.shift.data(), is_s1.data(), is_s2.data(), N, half_rows,
                       is.data());
        MetricFromSums(options.metric, bs.shift.data(), oos_s1.data(), oos_s2.data(), N, half_rows,
                       oos.data());
      }
      outs[c] = Evaluate(is.data(), oos.data(), N);
    }
  });

  // Fixed-order reductions over the splits.
  res.logits.resize(n_splits);
  res.is_star.resize(n_splits);
  res.oos_star.resize(n_splits);
  res.oos_rank.resize(n_splits);
  res.n_star.resize(n_splits);
  std::size_t overfit = 0, losses = 0;
  for (std::size_t c = 0; c < n_splits; ++c) {
    const SplitOut& o = outs[c];
    res.logits[c] = o.logit;
    res.is_star[c] = o.is_star;
    res.oos_star[c] = o.oos_star;
    res.oos_rank[c] = o.oos_rank;
    res.n_star[c] = o.n_star;
    res.nan_metrics += o.nans;
    overfit += o.logit <= 0.0;
    // A NaN Rbar[n*] ranks as -inf, so it is a loss.
    losses += std::isnan(o.oos_star) || o.oos_star < options.loss_threshold;
  }
  // count / total, not pypbo's sum of 1/total terms (which gives 0.9999999999999999 for 1).
  res.pbo = static_cast<double>(overfit) / static_cast<double>(n_splits);
  res.prob_oos_loss = static_cast<double>(losses) / static_cast<double>(n_splits);
  Regress(res.is_star, res.oos_star, res);
  return res;
}

}  // namespace qraft::robust
