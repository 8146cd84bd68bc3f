#include "qraft/factor/evaluate.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bit>
#include <cmath>
#include <cstdint>
#include <limits>
#include <numeric>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "qraft/core/parallel.h"
#include "qraft/core/radix_sort.h"

namespace qraft::factor {
namespace {

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// Dates per parallel chunk. Fixed, so per-chunk work (and any reduction) does not depend on the
/// thread count; 32 dates of one symbol are 4 cache lines read per symbol when transposing.
constexpr std::size_t kDateGrain = 32;
/// Dates per chunk of CorrelateFactors (each chunk transposes every factor).
constexpr std::size_t kCorrelationGrain = 16;

// ---- Validation ----

Status CheckView(const FieldView& v, std::string_view name) {
  if (v.values.size() != v.num_symbols * v.num_times) {
    return Status::InvalidArgument(fmt::format("{}: {} values, expected {} symbols x {} times = {}",
                                               name, v.values.size(), v.num_symbols, v.num_times,
                                               v.num_symbols * v.num_times));
  }
  if (v.num_symbols > std::numeric_limits<std::uint32_t>::max()) {
    return Status::InvalidArgument(fmt::format("{}: too many symbols ({})", name, v.num_symbols));
  }
  return Status::OK();
}

Status CheckSameShape(const FieldView& v, std::string_view name, const FieldView& factor) {
  QRAFT_RETURN_NOT_OK(CheckView(v, name));
  if (v.num_symbols != factor.num_symbols || v.num_times != factor.num_times) {
    return Status::InvalidArgument(fmt::format("{}: {} symbols x {} times, the factor has {} x {}",
                                               name, v.num_symbols, v.num_times, factor.num_symbols,
                                               factor.num_times));
  }
  return Status::OK();
}

Status CheckHorizon(int h) {
  if (h <= 0) {
    return Status::InvalidArgument(fmt::format("horizon must be positive, was {}", h));
  }
  return Status::OK();
}

Status CheckHorizons(std::span<const int> horizons) {
  if (horizons.empty()) return Status::InvalidArgument("horizons: none given");
  for (std::size_t i = 0; i < horizons.size(); ++i) {
    QRAFT_RETURN_NOT_OK(CheckHorizon(horizons[i]));
    for (std::size_t j = 0; j < i; ++j) {
      if (horizons[j] == horizons[i]) {
        return Status::InvalidArgument(fmt::format("horizon {} appears twice", horizons[i]));
      }
    }
  }
  return Status::OK();
}

Status CheckMinPairs(std::size_t min_pairs) {
  if (min_pairs < 2) {
    return Status::InvalidArgument(fmt::format("min_pairs must be at least 2, was {}", min_pairs));
  }
  return Status::OK();
}

// ---- Per-date statistics ----

/// Forward return at t of one symbol's close series row[0, num_times).
double ForwardReturn(const double* row, std::size_t t, std::size_t num_times, int horizon) {
  const std::size_t h = static_cast<std::size_t>(horizon);
  if (h >= num_times - t) return kNaN;
  const double r = row[t + h] / row[t] - 1.0;
  return std::isfinite(r) ? r : kNaN;
}

/// Average-tie ranks (1-based) of v[0, n) into rank[0, n), like pandas rank(method="average").
class Ranker {
 public:
  void operator()(const double* v, std::size_t n, double* rank) {
    items_.resize(n);
    for (std::size_t i = 0; i < n; ++i)
      items_[i] = {SortKey(v[i]), static_cast<std::uint32_t>(i)};
    sorter_.Sort(items_);
    for (std::size_t i = 0; i < n;) {
      std::size_t e = i + 1;
      while (e < n && items_[e].key == items_[i].key)
        ++e;
      const double r = static_cast<double>(i + 1 + e) * 0.5;  // mean of i+1 .. e, exact
      for (std::size_t k = i; k < e; ++k)
        rank[items_[k].pos] = r;
      i = e;
    }
  }

 private:
  KeySorter sorter_;
  std::vector<KeySorter::Item> items_;
};

/// A cross-section's valid names and their ranks among themselves.
struct RankedSection {
  std::size_t count = 0;     // valid names
  std::vector<double> rank;  // rank[s], meaningful where the value is valid

  explicit RankedSection(std::size_t num_symbols) : rank(num_symbols) {}
};

/// Pearson correlation of a[0, n) and b[0, n) (two-pass); NaN when n < 2 or a side is constant.
double Pearson(const double* a, const double* b, std::size_t n) {
  if (n < 2) return kNaN;
  double sa = 0;
  double sb = 0;
  bool a_const = true;
  bool b_const = true;
  for (std::size_t i = 0; i < n; ++i) {
    sa += a[i];
    sb += b[i];
    a_const = a_const && a[i] == a[0];
    b_const = b_const && b[i] == b[0];
  }
  if (a_const || b_const) return kNaN;
  const double ma = sa / static_cast<double>(n);
  const double mb = sb / static_cast<double>(n);
  double sab = 0;
  double saa = 0;
  double sbb = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double da = a[i] - ma;
    const double db = b[i] - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return std::clamp(sab / std::sqrt(saa * sbb), -1.0, 1.0);
}

/// Correlations over the names valid in two cross-sections; scratch allocated once per chunk.
class PairCorrelator {
 public:
  explicit PairCorrelator(std::size_t num_symbols)
      : idx_(num_symbols), a_(num_symbols), b_(num_symbols), ra_(num_symbols), rb_(num_symbols) {}

  /// Ranks the valid values of x[0, S) into `out`.
  void RankSection(const double* x, RankedSection& out) {
    std::size_t n = 0;
    for (std::size_t s = 0; s < out.rank.size(); ++s) {
      if (std::isnan(x[s])) continue;
      idx_[n] = static_cast<std::uint32_t>(s);
      a_[n++] = x[s];
    }
    out.count = n;
    ranker_(a_.data(), n, ra_.data());
    for (std::size_t k = 0; k < n; ++k)
      out.rank[idx_[k]] = ra_[k];
  }

  /// Pearson (unless nullptr) and Spearman of x and y[0, S) over the names valid in both; left
  /// as they are with fewer than min_pairs such names. xr / yr (optional) are x's and y's ranks
  /// over their own valid names: reused when no name drops out, which gives the same bits as
  /// ranking again.
  void Correlate(const double* x, const double* y, std::size_t num_symbols, std::size_t min_pairs,
                 const RankedSection* xr, const RankedSection* yr, double* pearson,
                 double* spearman) {
    std::size_t n = 0;
    for (std::size_t s = 0; s < num_symbols; ++s) {
      if (std::isnan(x[s]) || std::isnan(y[s])) continue;
      idx_[n] = static_cast<std::uint32_t>(s);
      a_[n] = x[s];
      b_[n++] = y[s];
    }
    if (n < min_pairs) return;
    if (pearson != nullptr) *pearson = Pearson(a_.data(), b_.data(), n);
    RanksOf(a_, xr, n, ra_);
    RanksOf(b_, yr, n, rb_);
    *spearman = Pearson(ra_.data(), rb_.data(), n);
  }

 private:
  void RanksOf(const std::vector<double>& v, const RankedSection* own, std::size_t n,
               std::vector<double>& out) {
    if (own != nullptr && own->count == n) {
      for (std::size_t k = 0; k < n; ++k)
        out[k] = own->rank[idx_[k]];
    } else {
      ranker_(v.data(), n, out.data());
    }
  }

  Ranker ranker_;
  std::vector<std::uint32_t> idx_;
  std::vector<double> a_, b_, ra_, rb_;
};

SeriesSummary Summarize(const std::vector<double>& series) {
  SeriesSummary out;
  double sum = 0;
  std::size_t positive = 0;
  for (double v : series) {
    if (std::isnan(v)) continue;
    ++out.num_dates;
    sum += v;
    positive += v > 0;
  }
  if (out.num_dates == 0) return out;
  const double n = static_cast<double>(out.num_dates);
  out.mean = sum / n;
  out.positive = static_cast<double>(positive) / n;
  if (out.num_dates < 2) return out;
  double ss = 0;
  for (double v : series) {
    if (!std::isnan(v)) ss += (v - out.mean) * (v - out.mean);
  }
  out.std = std::sqrt(ss / (n - 1));
  if (out.std > 0) {
    out.ir = out.mean / out.std;
    out.t_stat = out.ir * std::sqrt(n);
  }
  return out;
}

/// Mean of the non-NaN values, in order; NaN when there are none.
double MeanDefined(const double* v, std::size_t n, std::size_t stride = 1) {
  double sum = 0;
  std::size_t count = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const double x = v[i * stride];
    if (std::isnan(x)) continue;
    sum += x;
    ++count;
  }
  return count > 0 ? sum / static_cast<double>(count) : kNaN;
}

// ---- EvaluateFactor ----

/// One horizon's labels: a forward-return array, or a close array to derive them from.
struct Label {
  int horizon = 0;
  const double* returns = nullptr;
  const double* close = nullptr;
};

struct EvaluationJob {
  const double* factor = nullptr;
  std::size_t num_symbols = 0;
  std::size_t num_times = 0;
  std::vector<Label> labels;
  const double* bars = nullptr;  // nullptr: every symbol has a bar at every date
  std::size_t min_pairs = 0;
  int n_quantiles = 0;
};

/// Per-date results, each written by the chunk that owns the date.
struct PerDate {
  std::vector<std::vector<double>> ic, rank_ic;                        // [label][t]
  std::vector<std::vector<double>> quantile;                           // [label][t * Q + q]
  std::vector<std::size_t> bars, valued;                               // [t]
  std::vector<double> top_turnover, bottom_turnover, autocorrelation;  // [t]

  PerDate(std::size_t labels, std::size_t num_times, std::size_t q)
      : ic(labels, std::vector<double>(num_times, kNaN)),
        rank_ic(labels, std::vector<double>(num_times, kNaN)),
        quantile(labels, std::vector<double>(num_times * q, kNaN)),
        bars(num_times, 0),
        valued(num_times, 0),
        top_turnover(num_times, kNaN),
        bottom_turnover(num_times, kNaN),
        autocorrelation(num_times, kNaN) {}
};

/// One date's factor cross-section: its ranks and quantile buckets (-1 = none).
struct Section {
  RankedSection ranked;
  std::vector<int> bucket;
  bool has_buckets = false;

  explicit Section(std::size_t num_symbols) : ranked(num_symbols), bucket(num_symbols, -1) {}
};

/// Evaluates the dates of one chunk, writing their entries of PerDate.
class ChunkEvaluator {
 public:
  ChunkEvaluator(const EvaluationJob& job, PerDate& out)
      : job_(job),
        out_(out),
        num_symbols_(job.num_symbols),
        quantiles_(static_cast<std::size_t>(job.n_quantiles)),
        pairs_(num_symbols_),
        current_(num_symbols_),
        previous_(num_symbols_),
        qsum_(quantiles_),
        qcount_(quantiles_) {}

  void Run(std::size_t begin, std::size_t end) {
    const std::size_t ns = num_symbols_;
    const std::size_t nt = job_.num_times;
    const std::size_t base = begin > 0 ? begin - 1 : 0;  // the date before, for lag-1 measures
    const std::size_t width = end - begin;

    // Transpose the chunk so each date's cross-section is contiguous.
    std::vector<double> ft((end - base) * ns);
    std::vector<double> rt(job_.labels.size() * width * ns);
    for (std::size_t s = 0; s < ns; ++s) {
      const double* row = job_.factor + s * nt;
      for (std::size_t t = base; t < end; ++t)
        ft[(t - base) * ns + s] = row[t];
      for (std::size_t l = 0; l < job_.labels.size(); ++l) {
        const Label& label = job_.labels[l];
        double* dst = rt.data() + l * width * ns;
        if (label.returns != nullptr) {
          const double* r = label.returns + s * nt;
          for (std::size_t t = begin; t < end; ++t)
            dst[(t - begin) * ns + s] = r[t];
        } else {
          const double* c = label.close + s * nt;
          for (std::size_t t = begin; t < end; ++t)
            dst[(t - begin) * ns + s] = ForwardReturn(c, t, nt, label.horizon);
        }
      }
      for (std::size_t t = begin; t < end; ++t) {
        const bool bar = job_.bars == nullptr || !std::isnan(job_.bars[s * nt + t]);
        out_.bars[t] += bar;
        out_.valued[t] += bar && !std::isnan(row[t]);
      }
    }

    if (begin > 0) Prepare(ft.data(), previous_);
    for (std::size_t t = begin; t < end; ++t) {
      const double* f = ft.data() + (t - base) * ns;
      Prepare(f, current_);
      for (std::size_t l = 0; l < job_.labels.size(); ++l) {
        const double* r = rt.data() + (l * width + (t - begin)) * ns;
        pairs_.Correlate(f, r, ns, job_.min_pairs, &current_.ranked, nullptr, &out_.ic[l][t],
                         &out_.rank_ic[l][t]);
        if (current_.has_buckets) QuantileReturns(r, out_.quantile[l].data() + t * quantiles_);
      }
      if (current_.has_buckets && previous_.has_buckets) {
        out_.top_turnover[t] = Turnover(static_cast<int>(quantiles_) - 1);
        out_.bottom_turnover[t] = Turnover(0);
      }
      if (t > 0) {
        pairs_.Correlate(f, f - ns, ns, job_.min_pairs, &current_.ranked, &previous_.ranked,
                         nullptr, &out_.autocorrelation[t]);
      }
      std::swap(current_, previous_);
    }
  }

 private:
  /// Ranks of the factor cross-section f and, with at least n_quantiles valid values, buckets.
  void Prepare(const double* f, Section& section) {
    pairs_.RankSection(f, section.ranked);
    const std::size_t n = section.ranked.count;
    section.has_buckets = n >= quantiles_;
    std::fill(section.bucket.begin(), section.bucket.end(), -1);
    if (!section.has_buckets) return;
    const auto q = static_cast<double>(quantiles_);
    for (std::size_t s = 0; s < num_symbols_; ++s) {
      if (std::isnan(f[s])) continue;
      const double r = section.ranked.rank[s];
      section.bucket[s] = static_cast<int>(std::floor((r - 1) * q / static_cast<double>(n)));
    }
  }

  /// Mean return per bucket of current_ into q[0, Q) (NaN for a bucket without valid returns).
  void QuantileReturns(const double* r, double* q) {
    std::fill(qsum_.begin(), qsum_.end(), 0.0);
    std::fill(qcount_.begin(), qcount_.end(), 0);
    for (std::size_t s = 0; s < num_symbols_; ++s) {
      const int bucket = current_.bucket[s];
      if (bucket < 0 || std::isnan(r[s])) continue;
      const auto b = static_cast<std::size_t>(bucket);
      qsum_[b] += r[s];
      ++qcount_[b];
    }
    for (std::size_t b = 0; b < quantiles_; ++b)
      q[b] = qcount_[b] > 0 ? qsum_[b] / static_cast<double>(qcount_[b]) : kNaN;
  }

  /// Fraction of the names in `bucket` now that were not in it at the previous date.
  double Turnover(int bucket) const {
    std::size_t now = 0;
    std::size_t entered = 0;
    for (std::size_t s = 0; s < num_symbols_; ++s) {
      if (current_.bucket[s] != bucket) continue;
      ++now;
      entered += previous_.bucket[s] != bucket;
    }
    return now > 0 ? static_cast<double>(entered) / static_cast<double>(now) : kNaN;
  }

  const EvaluationJob& job_;
  PerDate& out_;
  std::size_t num_symbols_;
  std::size_t quantiles_;
  PairCorrelator pairs_;
  Section current_;
  Section previous_;
  std::vector<double> qsum_;
  std::vector<std::size_t> qcount_;
};

FactorEvaluation Evaluate(const EvaluationJob& job) {
  const std::size_t nt = job.num_times;
  const auto q = static_cast<std::size_t>(job.n_quantiles);
  PerDate per(job.labels.size(), nt, q);
  ParallelFor(nt, kDateGrain,
              [&](std::size_t b, std::size_t e) { ChunkEvaluator(job, per).Run(b, e); });

  FactorEvaluation out;
  out.num_symbols = job.num_symbols;
  out.num_times = nt;
  for (std::size_t l = 0; l < job.labels.size(); ++l) {
    HorizonEvaluation h;
    h.horizon = job.labels[l].horizon;
    h.ic_summary = Summarize(per.ic[l]);
    h.rank_ic_summary = Summarize(per.rank_ic[l]);
    h.ic = std::move(per.ic[l]);
    h.rank_ic = std::move(per.rank_ic[l]);
    const std::vector<double>& qr = per.quantile[l];
    h.quantile_returns.resize(q);
    for (std::size_t b = 0; b < q; ++b)
      h.quantile_returns[b] = MeanDefined(qr.data() + b, nt, q);
    h.spread.resize(nt);
    for (std::size_t t = 0; t < nt; ++t)
      h.spread[t] = qr[t * q + q - 1] - qr[t * q];  // NaN if either is
    h.spread_mean = MeanDefined(h.spread.data(), nt);
    out.horizons.push_back(std::move(h));
  }

  double coverage_sum = 0;
  std::size_t coverage_dates = 0;
  std::size_t bars = 0;
  std::size_t valued = 0;
  for (std::size_t t = 0; t < nt; ++t) {
    if (per.bars[t] == 0) continue;
    coverage_sum += static_cast<double>(per.valued[t]) / static_cast<double>(per.bars[t]);
    ++coverage_dates;
    bars += per.bars[t];
    valued += per.valued[t];
  }
  if (coverage_dates > 0) {
    out.coverage = coverage_sum / static_cast<double>(coverage_dates);
    out.missing_rate = static_cast<double>(bars - valued) / static_cast<double>(bars);
  }
  out.top_turnover = MeanDefined(per.top_turnover.data(), nt);
  out.bottom_turnover = MeanDefined(per.bottom_turnover.data(), nt);
  out.rank_autocorrelation = MeanDefined(per.autocorrelation.data(), nt);
  return out;
}

Status CheckEvaluateOptions(const EvaluateOptions& options) {
  QRAFT_RETURN_NOT_OK(CheckMinPairs(options.min_pairs));
  if (options.n_quantiles < 2) {
    return Status::InvalidArgument(
        fmt::format("n_quantiles must be at least 2, was {}", options.n_quantiles));
  }
  return Status::OK();
}

EvaluationJob MakeJob(const FieldView& factor, const EvaluateOptions& options) {
  EvaluationJob job;
  job.factor = factor.values.data();
  job.num_symbols = factor.num_symbols;
  job.num_times = factor.num_times;
  job.min_pairs = options.min_pairs;
  job.n_quantiles = options.n_quantiles;
  return job;
}

// ---- CorrelateFactors ----

struct CorrelationSums {
  std::vector<double> sum;
  std::vector<std::size_t> count;
};

/// Sums over dates [begin, end) of the per-date Spearman correlation of every pair i <= j.
CorrelationSums CorrelateChunk(std::span<const FieldView> factors, std::size_t min_pairs,
                               std::size_t begin, std::size_t end) {
  const std::size_t nf = factors.size();
  const std::size_t ns = factors[0].num_symbols;
  const std::size_t nt = factors[0].num_times;
  const std::size_t width = end - begin;
  CorrelationSums acc{std::vector<double>(nf * nf, 0.0), std::vector<std::size_t>(nf * nf, 0)};

  std::vector<double> ft(nf * width * ns);
  for (std::size_t i = 0; i < nf; ++i) {
    for (std::size_t s = 0; s < ns; ++s) {
      const double* row = factors[i].values.data() + s * nt;
      for (std::size_t t = begin; t < end; ++t)
        ft[(i * width + t - begin) * ns + s] = row[t];
    }
  }
  std::vector<RankedSection> ranked(nf, RankedSection(ns));  // over each factor's own names
  PairCorrelator pairs(ns);
  for (std::size_t t = begin; t < end; ++t) {
    auto col = [&](std::size_t i) { return ft.data() + (i * width + t - begin) * ns; };
    for (std::size_t i = 0; i < nf; ++i)
      pairs.RankSection(col(i), ranked[i]);
    for (std::size_t i = 0; i < nf; ++i) {
      for (std::size_t j = i; j < nf; ++j) {
        double c = kNaN;
        pairs.Correlate(col(i), col(j), ns, min_pairs, &ranked[i], &ranked[j], nullptr, &c);
        if (std::isnan(c)) continue;
        acc.sum[i * nf + j] += c;
        ++acc.count[i * nf + j];
      }
    }
  }
  return acc;
}

}  // namespace

Result<std::vector<double>> ComputeForwardReturns(FieldView close, int horizon) {
  QRAFT_RETURN_NOT_OK(CheckView(close, "close"));
  QRAFT_RETURN_NOT_OK(CheckHorizon(horizon));
  const std::size_t nt = close.num_times;
  std::vector<double> out(close.values.size());
  ParallelFor(close.num_symbols, 64, [&](std::size_t b, std::size_t e) {
    for (std::size_t s = b; s < e; ++s) {
      const double* row = close.values.data() + s * nt;
      for (std::size_t t = 0; t < nt; ++t)
        out[s * nt + t] = ForwardReturn(row, t, nt, horizon);
    }
  });
  return out;
}

Result<FactorEvaluation> EvaluateFactor(FieldView factor, FieldView close,
                                        const EvaluateOptions& options) {
  QRAFT_RETURN_NOT_OK(CheckView(factor, "factor"));
  QRAFT_RETURN_NOT_OK(CheckSameShape(close, "close", factor));
  QRAFT_RETURN_NOT_OK(CheckHorizons(options.horizons));
  QRAFT_RETURN_NOT_OK(CheckEvaluateOptions(options));
  EvaluationJob job = MakeJob(factor, options);
  job.bars = close.values.data();
  for (int h : options.horizons)
    job.labels.push_back({h, nullptr, close.values.data()});
  return Evaluate(job);
}

Result<FactorEvaluation> EvaluateFactorOnReturns(FieldView factor,
                                                 std::span<const ForwardReturns> returns,
                                                 FieldView bars, const EvaluateOptions& options) {
  QRAFT_RETURN_NOT_OK(CheckView(factor, "factor"));
  std::vector<int> horizons;
  for (const ForwardReturns& r : returns) {
    QRAFT_RETURN_NOT_OK(
        CheckSameShape(r.values, fmt::format("returns (horizon {})", r.horizon), factor));
    horizons.push_back(r.horizon);
  }
  QRAFT_RETURN_NOT_OK(CheckHorizons(horizons));
  if (!bars.empty()) QRAFT_RETURN_NOT_OK(CheckSameShape(bars, "bars", factor));
  QRAFT_RETURN_NOT_OK(CheckEvaluateOptions(options));
  EvaluationJob job = MakeJob(factor, options);
  job.bars = bars.empty() ? nullptr : bars.values.data();
  for (const ForwardReturns& r : returns)
    job.labels.push_back({r.horizon, r.values.values.data(), nullptr});
  return Evaluate(job);
}

Result<FactorCorrelation> CorrelateFactors(std::span<const FieldView> factors,
                                           const CorrelationOptions& options) {
  if (factors.empty()) return Status::InvalidArgument("factors: none given");
  for (std::size_t i = 0; i < factors.size(); ++i) {
    QRAFT_RETURN_NOT_OK(CheckSameShape(factors[i], fmt::format("factor {}", i), factors[0]));
  }
  QRAFT_RETURN_NOT_OK(CheckMinPairs(options.min_pairs));
  if (!(options.cluster_threshold >= 0 && options.cluster_threshold <= 1)) {
    return Status::InvalidArgument(
        fmt::format("cluster_threshold must be in [0, 1], was {}", options.cluster_threshold));
  }
  const std::size_t nf = factors.size();
  CorrelationSums sums = ParallelReduce(
      factors[0].num_times, kCorrelationGrain,
      CorrelationSums{std::vector<double>(nf * nf, 0.0), std::vector<std::size_t>(nf * nf, 0)},
      [&](std::size_t b, std::size_t e) {
        return CorrelateChunk(factors, options.min_pairs, b, e);
      },
      [](CorrelationSums acc, const CorrelationSums& part) {
        for (std::size_t k = 0; k < acc.sum.size(); ++k) {
          acc.sum[k] += part.sum[k];
          acc.count[k] += part.count[k];
        }
        return acc;
      });

  FactorCorrelation out;
  out.num_factors = nf;
  out.matrix.assign(nf * nf, kNaN);
  for (std::size_t i = 0; i < nf; ++i) {
    for (std::size_t j = i; j < nf; ++j) {
      const std::size_t k = i * nf + j;
      if (sums.count[k] == 0) continue;
      const double mean = sums.sum[k] / static_cast<double>(sums.count[k]);
      out.matrix[i * nf + j] = mean;
      out.matrix[j * nf + i] = mean;
    }
  }
  out.cluster = ClusterByCorrelation(out.matrix, nf, options.cluster_threshold);
  out.num_clusters = nf > 0 ? *std::max_element(out.cluster.begin(), out.cluster.end()) + 1 : 0;
  return out;
}

std::vector<int> ClusterByCorrelation(std::span<const double> matrix, std::size_t n,
                                      double threshold) {
  QRAFT_CHECK(matrix.size() == n * n);
  std::vector<double> d(n * n);
  for (std::size_t k = 0; k < n * n; ++k)
    d[k] = std::isnan(matrix[k]) ? 1.0 : 1.0 - std::abs(matrix[k]);
  // Each cluster is named by its smallest factor index; merging keeps the smaller name.
  std::vector<std::size_t> size(n, 1);
  std::vector<bool> active(n, true);
  std::vector<std::size_t> root(n);
  std::iota(root.begin(), root.end(), std::size_t{0});
  for (;;) {
    std::size_t best_a = n;
    std::size_t best_b = n;
    double best = std::numeric_limits<double>::infinity();
    for (std::size_t a = 0; a < n; ++a) {
      if (!active[a]) continue;
      for (std::size_t b = a + 1; b < n; ++b) {
        if (active[b] && d[a * n + b] < best) {
          best = d[a * n + b];
          best_a = a;
          best_b = b;
        }
      }
    }
    if (best_a == n || !(best <= threshold)) break;
    const auto na = static_cast<double>(size[best_a]);
    const auto nb = static_cast<double>(size[best_b]);
    for (std::size_t k = 0; k < n; ++k) {
      if (!active[k] || k == best_a || k == best_b) continue;
      // Lance-Williams for average linkage: the mean of all pairwise member distances.
      const double merged = (na * d[best_a * n + k] + nb * d[best_b * n + k]) / (na + nb);
      d[best_a * n + k] = merged;
      d[k * n + best_a] = merged;
    }
    size[best_a] += size[best_b];
    active[best_b] = false;
    for (std::size_t& r : root) {
      if (r == best_b) r = best_a;
    }
  }
  std::vector<int> id(n, -1);
  std::vector<int> cluster(n);
  int next = 0;
  for (std::size_t i = 0; i < n; ++i) {
    if (id[root[i]] < 0) id[root[i]] = next++;
    cluster[i] = id[root[i]];
  }
  return cluster;
}

}  // namespace qraft::factor
