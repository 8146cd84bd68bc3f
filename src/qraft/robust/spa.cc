#include "qraft/robust/spa.h"

#include <algorithm>
#include <cmath>
#include <memory>
#include <numeric>
#include <string>
#include <utility>

#include "qraft/core/parallel.h"

namespace qraft::robust {
namespace {

constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr std::size_t kTypes = 3;  // lower, consistent, upper
// Replications per parallel chunk. Any value gives the same bits (replications are independent
// and land in their own slots); this one amortizes the per-chunk buffers.
constexpr std::size_t kRepGrain = 16;
// Columns per block of the variance kernel: one 64-byte row per lag product, so the inner loop
// is a fixed-width SIMD multiply-add and a block of T rows stays in L2.
constexpr std::size_t kVarWidth = 8;
// StepM keeps one double per model and replication; beyond this it would need gigabytes.
constexpr std::size_t kMaxStepMStore = std::size_t{1} << 28;

std::size_t Idx(Recentering r) {
  return static_cast<std::size_t>(r);
}

// Everything a replication needs, prepared once per call.
struct Prepared {
  std::size_t T = 0;
  std::size_t k = 0;
  // (T+1) x k, time-major: prefix[t*k + j] = sum_{s<t} (d[s,j] - d̄_j). A run of consecutive
  // indices [a, b) contributes prefix[b] - prefix[a] to every model's bootstrap sum, and both
  // rows are contiguous over models.
  std::vector<double> prefix;
  // By recentering, d̄_j - mu_j; -inf for a model left out of the studentized maxima.
  std::array<std::vector<double>, kTypes> base;
  // 1 (kArchCompat) or sqrt(T) / w_j (kHansen2005).
  std::vector<double> scale;
  // The floor of every maximum: -inf (kArchCompat) or 0 (kHansen2005).
  double floor = -kInf;
};

// SPEC §2.3, non-nested: w^2 = (1/T) sum dm^2 + sum_{i=1}^{T-1} 2 kappa_i (1/T) sum_t
// dm_t dm_{t+i}, with kappa_i = (1 - i/T)(1-p)^i + (i/T)(1-p)^(T-i), p = 1/block. Each column is
// summed over t in order and accumulated lag by lag in arch's (numpy's) operation order; the
// columns are independent, so the blocking and the threads cannot change a bit.
std::vector<double> LongRunVariance(const std::vector<double>& dm, std::size_t T, std::size_t k,
                                    double block) {
  const auto Td = static_cast<double>(T);
  const double p = 1.0 / block;
  std::vector<double> coef(T, 0.0);  // 2 kappa_i
  for (std::size_t i = 1; i < T; ++i) {
    const double frac = static_cast<double>(i) / Td;
    const double kappa = (1.0 - frac) * std::pow(1.0 - p, static_cast<double>(i)) +
                         frac * std::pow(1.0 - p, static_cast<double>(T - i));
    coef[i] = 2.0 * kappa;
  }
  std::vector<double> out(k, 0.0);
  constexpr std::size_t W = kVarWidth;
  ParallelFor(NumChunks(k, W), 1, [&](std::size_t cb, std::size_t ce) {
    std::vector<double> buf(T * W);
    for (std::size_t c = cb; c < ce; ++c) {
      const std::size_t j0 = c * W;
      const std::size_t width = std::min(W, k - j0);
      std::fill(buf.begin(), buf.end(), 0.0);  // padding columns stay 0 and are not read back
      for (std::size_t w = 0; w < width; ++w) {
        const double* col = dm.data() + (j0 + w) * T;
        for (std::size_t t = 0; t < T; ++t)
          buf[t * W + w] = col[t];
      }
      double v[W] = {};
      for (std::size_t t = 0; t < T; ++t) {
        const double* row = buf.data() + t * W;
        for (std::size_t w = 0; w < W; ++w)
          v[w] += row[w] * row[w];
      }
      for (std::size_t w = 0; w < W; ++w)
        v[w] /= Td;
      for (std::size_t i = 1; i < T; ++i) {
        double acc[W] = {};
        const double* a = buf.data();
        const double* b = buf.data() + i * W;
        for (std::size_t t = 0, n = T - i; t < n; ++t, a += W, b += W) {
          for (std::size_t w = 0; w < W; ++w)
            acc[w] += a[w] * b[w];
        }
        for (std::size_t w = 0; w < W; ++w)
          v[w] += coef[i] * acc[w] / Td;
      }
      for (std::size_t w = 0; w < width; ++w)
        out[j0 + w] = v[w];
    }
  });
  return out;
}

Result<double> ResolveBlock(std::size_t T, double block) {
  if (block == 0.0) return std::floor(std::sqrt(static_cast<double>(T)));
  if (!(block > 0.0) || !std::isfinite(block)) {
    return Status::InvalidArgument("block must be finite and > 0 (0 for floor(sqrt(T))), got " +
                                   std::to_string(block));
  }
  return block;
}

// Shapes, values and options; then d, d̄, w^2, validity, the mode's scaling and the prefix sums.
Status Prepare(std::span<const double> benchmark, const MatrixView& models,
               const SpaOptions& options, const IndexProvider& indices, Prepared& prep,
               SpaResult& res) {
  const std::size_t T = benchmark.size();
  const std::size_t k = models.cols;
  if (models.rows != T) {
    return Status::InvalidArgument("models have " + std::to_string(models.rows) +
                                   " rows, the benchmark " + std::to_string(T));
  }
  if (models.data.size() != models.rows * models.cols) {
    return Status::InvalidArgument(
        "models: data has " + std::to_string(models.data.size()) +
        " values, expected rows * cols = " + std::to_string(models.rows * models.cols));
  }
  if (T < 3) return Status::InvalidArgument("need T >= 3 observations (ln ln T)");
  if (k < 1) return Status::InvalidArgument("need at least one model");
  if (options.reps < 1) return Status::InvalidArgument("reps must be >= 1");
  QRAFT_ASSIGN_OR_RETURN(const double block, ResolveBlock(T, options.block));
  if (indices.length() != T) {
    return Status::InvalidArgument("index provider resamples " + std::to_string(indices.length()) +
                                   " observations, the data have " + std::to_string(T));
  }
  if (indices.capacity() < options.reps) {
    return Status::InvalidArgument("index provider holds " + std::to_string(indices.capacity()) +
                                   " replications, " + std::to_string(options.reps) + " requested");
  }
  for (std::size_t t = 0; t < T; ++t) {
    if (!std::isfinite(benchmark[t])) {
      return Status::DataError("benchmark loss " + std::to_string(t) + " is not finite");
    }
  }
  for (std::size_t j = 0; j < k; ++j) {
    const std::span<const double> col = models.Column(j);
    for (std::size_t t = 0; t < T; ++t) {
      if (!std::isfinite(col[t])) {
        return Status::DataError("model " + std::to_string(j) + ", loss " + std::to_string(t) +
                                 " is not finite");
      }
    }
  }

  const auto Td = static_cast<double>(T);
  const bool hansen = options.mode == SpaMode::kHansen2005;
  prep.T = T;
  prep.k = k;
  res.mode = options.mode;
  res.periods = T;
  res.models = k;
  res.reps = options.reps;
  res.block = block;
  res.seed = indices.seed();

  // dm = d - d̄ (column-major), d = benchmark - model. numpy sums a C-ordered (T, k) array down
  // axis 0 sequentially, as here. A constant differential is demeaned to exact zeros, so its
  // bootstrap means equal d̄ exactly, as numpy's do.
  std::vector<double> dm(T * k);
  std::vector<std::uint8_t> constant(k, 0);
  res.mean_diff.assign(k, 0.0);
  for (std::size_t j = 0; j < k; ++j) {
    const std::span<const double> col = models.Column(j);
    double* out = dm.data() + j * T;
    double sum = 0.0;
    for (std::size_t t = 0; t < T; ++t) {
      out[t] = benchmark[t] - col[t];
      sum += out[t];
    }
    const double mean = sum / Td;
    res.mean_diff[j] = mean;
    const bool is_constant = std::all_of(out + 1, out + T, [&](double v) { return v == out[0]; });
    constant[j] = is_constant ? 1 : 0;
    for (std::size_t t = 0; t < T; ++t)
      out[t] = is_constant ? 0.0 : out[t] - mean;
  }
  res.variance = LongRunVariance(dm, T, k, block);

  // SPEC §2.4: valid_k = d̄_k >= -sqrt((w_k^2 / T) * 2 ln ln T), in arch's operation order.
  const double loglog = std::log(std::log(Td));
  res.valid.assign(k, 0);
  for (std::size_t j = 0; j < k; ++j) {
    const double threshold = -std::sqrt((res.variance[j] / Td) * 2.0 * loglog);
    res.valid[j] = res.mean_diff[j] >= threshold ? 1 : 0;
  }

  prep.floor = hansen ? 0.0 : -kInf;
  prep.scale.assign(k, 1.0);
  for (auto& b : prep.base)
    b.assign(k, 0.0);
  res.model_stat.assign(k, 0.0);
  std::size_t usable = 0;
  for (std::size_t j = 0; j < k; ++j) {
    const double mean = res.mean_diff[j];
    // base = d̄ - mu per recentering (SPEC §2.5); exactly 0 where mu = d̄.
    prep.base[Idx(Recentering::kLower)][j] = mean < 0.0 ? mean : 0.0;
    prep.base[Idx(Recentering::kConsistent)][j] = res.valid[j] ? 0.0 : mean;
    prep.base[Idx(Recentering::kUpper)][j] = 0.0;
    if (!hansen) {
      res.model_stat[j] = mean;
      ++usable;
    } else if (constant[j] || !(res.variance[j] > 0.0)) {
      // No t-statistic: leave the model out of every studentized maximum.
      for (auto& b : prep.base)
        b[j] = -kInf;
      res.model_stat[j] = -kInf;
    } else {
      prep.scale[j] = std::sqrt(Td) / std::sqrt(res.variance[j]);
      res.model_stat[j] = prep.scale[j] * mean;
      ++usable;
    }
  }
  if (usable == 0) {
    return Status::InvalidArgument(
        "every loss differential is constant: the studentized SPA is undefined");
  }
  res.statistic = prep.floor;
  for (double s : res.model_stat)
    res.statistic = std::max(res.statistic, s);

  // Prefix sums accumulated in long double and rounded once per entry, so a difference of two
  // entries carries two roundings of a partial sum, not T of them.
  prep.prefix.assign((T + 1) * k, 0.0);
  std::vector<long double> acc(k, 0.0L);
  for (std::size_t t = 0; t < T; ++t) {
    double* row = prep.prefix.data() + (t + 1) * k;
    for (std::size_t j = 0; j < k; ++j) {
      acc[j] += static_cast<long double>(dm[j * T + t]);
      row[j] = static_cast<double>(acc[j]);
    }
  }
  return Status::OK();
}

// What StepM keeps of each replication: by model in descending model_stat order (`order`), the
// suffix maxima of its recentred, scaled bootstrap values, so the maximum over the models still
// active after m rejections (always the last k - m in that order) is one load.
struct StepStore {
  std::size_t type = 0;
  const std::vector<std::size_t>* order = nullptr;
  double* data = nullptr;  // reps x k
};

Status RunReplications(const Prepared& prep, const IndexProvider& indices, std::size_t reps,
                       SpaResult& res, const StepStore* store) {
  const std::size_t T = prep.T;
  const std::size_t k = prep.k;
  const auto Td = static_cast<double>(T);
  for (auto& m : res.bootstrap_max)
    m.assign(reps, 0.0);
  return ParallelForStatus(reps, kRepGrain, [&](std::size_t rb, std::size_t re) -> Status {
    std::vector<std::int64_t> idx(T);
    std::vector<std::size_t> run_lo(T), run_hi(T);
    std::vector<double> sum(k), dstar(k);
    const double* prefix = prep.prefix.data();
    const double* scale = prep.scale.data();
    for (std::size_t b = rb; b < re; ++b) {
      indices.Fill(b, idx);
      // Split the replication into runs of consecutive indices; a wrap from T-1 to 0 starts a
      // new run. Out-of-range indices are caught here, once per index, outside the model loop.
      std::size_t runs = 0;
      bool bad = static_cast<std::uint64_t>(idx[0]) >= T;
      std::size_t lo = static_cast<std::size_t>(idx[0]);
      std::size_t hi = lo + 1;
      for (std::size_t t = 1; t < T; ++t) {
        const auto v = static_cast<std::uint64_t>(idx[t]);
        bad |= v >= T;
        if (v == hi) {
          ++hi;
        } else {
          run_lo[runs] = lo;
          run_hi[runs] = hi;
          ++runs;
          lo = static_cast<std::size_t>(v);
          hi = lo + 1;
        }
      }
      run_lo[runs] = lo;
      run_hi[runs] = hi;
      ++runs;
      if (bad) {
        return Status::DataError("index provider: replication " + std::to_string(b) +
                                 " holds an index outside [0, " + std::to_string(T) + ")");
      }
      {
        const double* top = prefix + run_hi[0] * k;
        const double* bottom = prefix + run_lo[0] * k;
        for (std::size_t j = 0; j < k; ++j)
          sum[j] = top[j] - bottom[j];
      }
      for (std::size_t r = 1; r < runs; ++r) {
        const double* top = prefix + run_hi[r] * k;
        const double* bottom = prefix + run_lo[r] * k;
        for (std::size_t j = 0; j < k; ++j)
          sum[j] += top[j] - bottom[j];
      }
      // d̄*_j - d̄_j, the demeaned bootstrap mean.
      for (std::size_t j = 0; j < k; ++j)
        dstar[j] = sum[j] / Td;
      for (std::size_t type = 0; type < kTypes; ++type) {
        const double* base = prep.base[type].data();
        double m = prep.floor;
        for (std::size_t j = 0; j < k; ++j) {
          const double v = scale[j] * (base[j] + dstar[j]);
          m = v > m ? v : m;
        }
        res.bootstrap_max[type][b] = m;
      }
      if (store != nullptr) {
        const double* base = prep.base[store->type].data();
        const std::vector<std::size_t>& order = *store->order;
        double* row = store->data + b * k;
        for (std::size_t pos = 0; pos < k; ++pos) {
          const std::size_t j = order[pos];
          row[pos] = scale[j] * (base[j] + dstar[j]);
        }
        for (std::size_t pos = k - 1; pos-- > 0;)
          row[pos] = std::max(row[pos], row[pos + 1]);
      }
    }
    return Status::OK();
  });
}

void FillPValues(SpaResult& res) {
  const auto B = static_cast<double>(res.reps);
  for (std::size_t type = 0; type < kTypes; ++type) {
    std::size_t above = 0;
    for (double m : res.bootstrap_max[type])
      above += m > res.statistic ? 1 : 0;  // strict, as arch
    const double p = static_cast<double>(above) / B;
    res.p_value[type] = p;
    res.p_value_se[type] = std::sqrt(p * (1.0 - p) / B);
  }
}

Result<std::unique_ptr<IndexProvider>> MakeProvider(std::size_t T, const SpaOptions& options) {
  if (T < 3) return Status::InvalidArgument("need T >= 3 observations (ln ln T)");
  QRAFT_ASSIGN_OR_RETURN(const double block, ResolveBlock(T, options.block));
  if (options.bootstrap == BootstrapKind::kStationary) {
    QRAFT_ASSIGN_OR_RETURN(StationaryBootstrap sb,
                           StationaryBootstrap::Create(T, block, options.seed));
    return std::unique_ptr<IndexProvider>(std::make_unique<StationaryBootstrap>(std::move(sb)));
  }
  if (block != std::floor(block)) {
    return Status::InvalidArgument("the circular bootstrap needs an integral block, got " +
                                   std::to_string(block));
  }
  QRAFT_ASSIGN_OR_RETURN(
      CircularBlockBootstrap cb,
      CircularBlockBootstrap::Create(T, static_cast<std::size_t>(block), options.seed));
  return std::unique_ptr<IndexProvider>(std::make_unique<CircularBlockBootstrap>(std::move(cb)));
}

Status ValidateProbability(double p, const char* what) {
  if (!(p > 0.0 && p < 1.0)) {
    return Status::InvalidArgument(std::string(what) + " must be in (0, 1), got " +
                                   std::to_string(p));
  }
  return Status::OK();
}

}  // namespace

Result<SpaResult> Spa(std::span<const double> benchmark, const MatrixView& models,
                      const SpaOptions& options, const IndexProvider& indices) {
  Prepared prep;
  SpaResult res;
  QRAFT_RETURN_NOT_OK(Prepare(benchmark, models, options, indices, prep, res));
  QRAFT_RETURN_NOT_OK(RunReplications(prep, indices, options.reps, res, nullptr));
  FillPValues(res);
  return res;
}

Result<SpaResult> Spa(std::span<const double> benchmark, const MatrixView& models,
                      const SpaOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(std::unique_ptr<IndexProvider> provider,
                         MakeProvider(benchmark.size(), options));
  return Spa(benchmark, models, options, *provider);
}

double NumpyPercentileLinear(std::span<const double> x, double q_percent) {
  if (x.empty() || !(q_percent >= 0.0 && q_percent <= 100.0)) return kNaN;
  std::vector<double> sorted(x.begin(), x.end());
  std::sort(sorted.begin(), sorted.end());
  const std::size_t n = sorted.size();
  const double q = q_percent / 100.0;  // np.percentile divides by 100 first
  const double virtual_index = static_cast<double>(n - 1) * q;
  if (virtual_index >= static_cast<double>(n - 1)) return sorted[n - 1];
  const double lo = std::floor(virtual_index);
  const auto i = static_cast<std::size_t>(lo);
  const double a = sorted[i];
  const double b = sorted[i + 1];
  const double gamma = virtual_index - lo;
  // numpy's _lerp: interpolate from the nearer end, for accuracy and monotonicity.
  const double diff = b - a;
  return gamma >= 0.5 ? b - diff * (1.0 - gamma) : a + diff * gamma;
}

Result<std::array<double, 3>> CriticalValues(const SpaResult& result, double pvalue) {
  QRAFT_RETURN_NOT_OK(ValidateProbability(pvalue, "pvalue"));
  std::array<double, 3> crit = {};
  for (std::size_t type = 0; type < kTypes; ++type)
    crit[type] = NumpyPercentileLinear(result.bootstrap_max[type], 100.0 * (1.0 - pvalue));
  return crit;
}

Result<std::vector<std::size_t>> BetterModels(const SpaResult& result, double pvalue,
                                              Recentering recentering) {
  using Crit = std::array<double, 3>;
  QRAFT_ASSIGN_OR_RETURN(const Crit crit, CriticalValues(result, pvalue));
  const double c = crit[Idx(recentering)];
  std::vector<std::size_t> better;
  for (std::size_t j = 0; j < result.model_stat.size(); ++j) {
    if (result.model_stat[j] > c) better.push_back(j);
  }
  return better;
}

Result<StepMResult> StepM(std::span<const double> benchmark, const MatrixView& models,
                          const StepMOptions& options, const IndexProvider& indices) {
  QRAFT_RETURN_NOT_OK(ValidateProbability(options.size, "StepM size"));
  const std::size_t k = models.cols;
  const std::size_t reps = options.spa.reps;
  if (k != 0 && reps > kMaxStepMStore / k) {
    return Status::InvalidArgument("StepM: " + std::to_string(reps) + " replications x " +
                                   std::to_string(k) + " models exceed the 2^28 values it stores");
  }
  Prepared prep;
  StepMResult out;
  SpaResult& res = out.spa;
  QRAFT_RETURN_NOT_OK(Prepare(benchmark, models, options.spa, indices, prep, res));

  // Models in descending model_stat order (ties by index): every step rejects the active models
  // above a threshold, so the rejected set is always a prefix of this order and the active set
  // the suffix after it.
  std::vector<std::size_t> order(k);
  std::iota(order.begin(), order.end(), std::size_t{0});
  std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
    return res.model_stat[a] > res.model_stat[b];
  });
  std::vector<double> store(reps * k);
  const StepStore step_store{Idx(options.recentering), &order, store.data()};
  QRAFT_RETURN_NOT_OK(RunReplications(prep, indices, reps, res, &step_store));
  FillPValues(res);

  // SPEC §2.7 with the loop fixed: stop when a step rejects nothing or nothing is left (arch
  // tests len(new) < k and crashes on an empty active set).
  const double q_percent = 100.0 * (1.0 - options.size);
  std::vector<double> active_max(reps);
  std::size_t rejected = 0;
  bool progressed = false;
  do {
    for (std::size_t b = 0; b < reps; ++b)
      active_max[b] = std::max(prep.floor, store[b * k + rejected]);
    const double crit = NumpyPercentileLinear(active_max, q_percent);
    std::size_t next = rejected;
    while (next < k && res.model_stat[order[next]] > crit)
      ++next;
    std::vector<std::size_t> step(order.begin() + static_cast<std::ptrdiff_t>(rejected),
                                  order.begin() + static_cast<std::ptrdiff_t>(next));
    std::sort(step.begin(), step.end());
    out.steps.push_back(std::move(step));
    progressed = next > rejected;
    rejected = next;
  } while (progressed && rejected < k);
  out.superior.assign(order.begin(), order.begin() + static_cast<std::ptrdiff_t>(rejected));
  std::sort(out.superior.begin(), out.superior.end());
  return out;
}

Result<StepMResult> StepM(std::span<const double> benchmark, const MatrixView& models,
                          const StepMOptions& options) {
  QRAFT_ASSIGN_OR_RETURN(std::unique_ptr<IndexProvider> provider,
                         MakeProvider(benchmark.size(), options.spa));
  return StepM(benchmark, models, options, *provider);
}

}  // namespace qraft::robust
