// TA-Lib compatible indicator kernels; the contract is in ta.h.
//
// Two drivers carry the NaN rule and the incremental contract so that each indicator only says
// how to compute itself:
//  * RunWindowed: windowed kernels are small structs (Missing/Skip/Start/Next); the driver
//    tracks the run of complete rows and calls Start (rebuild the window from scratch) where a
//    window first becomes complete, at r.begin and at multiples of kResetPeriod, Next (slide)
//    elsewhere. A chunk between reset rows without a missing row (the common case) runs in one
//    optimistic pass with no per-row branching on missing rows; see RunWindowed.
//  * RunRecursive: recursive kernels are a step function of row t, fed every row from 0 (so the
//    state at r.begin is the same as in a full run); it skips missing rows itself.
// Where TA-Lib compares against zero with a tolerance (TA_IS_ZERO) the code below does the same,
// so that degenerate windows give TA-Lib's answer too. Arithmetic differs from TA-Lib's in the last
// bits where that is much faster: x * (1/n) for x / n (a division per row bounds SMA-like loops),
// e * (1 - k) + v * k for EMA updates (a shorter loop-carried chain), branch-free conditionals
// where the branch is a coin flip (price up or down), running sums re-summed every kResetPeriod
// rows. On real data the results agree with TA-Lib to ~1e-13 relative; the contract is 1e-9.
#include "qraft/expr/kernels/ta.h"

#include <emmintrin.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <utility>
#include <vector>

namespace qraft::expr::kernels::ta {
namespace {

using std::size_t;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();

/// TA-Lib 0.6's TA_IS_ZERO.
inline bool IsZero(double v) {
  return -1e-8 < v && v < 1e-8;
}

inline bool Empty(Range r) {
  return r.begin >= r.end;
}

void FillNan(double* out, Range r) {
  if (out != nullptr && !Empty(r)) std::fill(out + r.begin, out + r.end, kNaN);
}

/// TA-Lib's true range: the largest of h - l, |c[-1] - h| and |c[-1] - l|.
inline double TrueRange(double high, double low, double prev_close) {
  double tr = high - low;
  double v = std::fabs(prev_close - high);
  tr = v > tr ? v : tr;
  v = std::fabs(prev_close - low);
  return v > tr ? v : tr;
}

inline double Typical(double high, double low, double close) {
  return (high + low + close) / 3.0;
}

// Two-lane double vectors (GCC/Clang vector extensions; SSE2 on x86-64) for the stateless kernels
// (ROC, MOM, TRANGE). GCC does not vectorise a loop that both stores doubles and folds a comparison
// into an integer, and the blend it does vectorise costs ~50% on these memory-speed loops (10M
// bars vs TA-Lib C: MOM 5.1 ms with it, 3.3 ms with this, TA-Lib 3.3 ms).
using V2 = double __attribute__((vector_size(16)));

// On series longer than the caches (a single long minute series, not a panel's per-symbol
// slices, whose results the next operator reads at once) TRANGE stores with non-temporal
// writes: the output lines are not read first, a fifth of its memory traffic (10M bars:
// 10.7 ms -> 9.6 ms). MOM and ROC, with one input stream, measured slower that way.
constexpr size_t kStreamMinRows = size_t{1} << 20;
using M2 = std::int64_t __attribute__((vector_size(16)));

inline V2 Load2(const double* p) {
  V2 v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

inline void Store2(double* p, V2 v) {
  std::memcpy(p, &v, sizeof v);
}

// Store2, or a non-temporal store when `stream` and the address allows it.
inline void StoreOut(double* p, V2 v, bool stream) {
  if (stream && (reinterpret_cast<std::uintptr_t>(p) & 15) == 0) {
    _mm_stream_pd(p, reinterpret_cast<__m128d>(v));
  } else {
    Store2(p, v);
  }
}

inline V2 Abs2(V2 v) {
  const M2 no_sign = {INT64_MAX, INT64_MAX};
  return reinterpret_cast<V2>(reinterpret_cast<M2>(v) & no_sign);
}

// ---- Drivers -----------------------------------------------------------------------------------

// Runs a windowed kernel K over r. K provides
//   bool Missing(size_t t) const  row t lacks an input the kernel reads;
//   void Skip(size_t t)           writes NaN to row t;
//   void Start(size_t t)          builds its state from the rows [t - lookback, t] (all complete)
//                                 and writes row t;
//   void Next(size_t t)           slides its state from row t - 1 to row t and writes row t;
//   bool Slide(size_t a, size_t b) (optional, for kernels without state, whose Start is their
//                                 Next) writes the rows [a, b) in a loop that vectorises; returns
//                                 whether one of them was missing;
//   bool Poisoned() const         (optional) true if a missing row was slid over since Start:
//                                 for kernels whose running sum a NaN input turns NaN for good,
//                                 which spares the per-row check.
// Start happens where the window becomes complete, at r.begin and at multiples of kResetPeriod,
// so out[t] does not depend on r.begin (kernel.h) and running sums never drift far.
template <class K>
void RunWindowed(K& k, Range r, size_t lookback) {
  // `run` is the first row of the stretch of complete rows ending at t - 1, looked for only as far
  // back as it matters.
  const size_t floor = r.begin > lookback ? r.begin - lookback : 0;
  size_t run = r.begin;
  while (run > floor && !k.Missing(run - 1))
    --run;
  bool live = false;
  bool dirty = false;  // the last chunk had a missing row: do not expect better of this one
  size_t t = r.begin;
  while (t < r.end) {
    // Chunks end at reset rows. A chunk whose first window is complete gets an optimistic pass
    // that starts with Start(t) exactly as the row-by-row path would (so the two paths give the
    // same bits) and does not branch on missing rows.
    const size_t stop = std::min(r.end, (t / kResetPeriod + 1) * kResetPeriod);
    if (!dirty && t - run >= lookback && !k.Missing(t)) {
      // One read of the inputs: slide, count the missing rows, and if there were any redo the
      // chunk row by row (the NaN arithmetic on the way is harmless).
      bool missing = false;
      if constexpr (requires { k.Slide(t, stop); }) {
        missing = k.Slide(t, stop);
      } else if constexpr (requires { k.Poisoned(); }) {
        k.Start(t);
        for (size_t u = t + 1; u < stop; ++u)
          k.Next(u);
        missing = k.Poisoned();
      } else {
        k.Start(t);
        int count = 0;
        for (size_t u = t + 1; u < stop; ++u) {
          count += k.Missing(u);
          k.Next(u);
        }
        missing = count != 0;
      }
      if (!missing) {
        live = true;
        t = stop;
        continue;
      }
      live = false;
    }
    dirty = false;
    for (; t < stop; ++t) {
      if (k.Missing(t)) {
        run = t + 1;
        live = false;
        dirty = true;
        k.Skip(t);
      } else if (t - run < lookback) {
        k.Skip(t);
      } else if (live && t % kResetPeriod != 0) {
        k.Next(t);
      } else {
        k.Start(t);
        live = true;
      }
    }
  }
}

// Runs a recursive kernel: `step(t)` advances the state over row t and returns out[t]. Rows before
// r.begin are stepped through without writing.
template <class Step>
void RunRecursive(Range r, double* out, Step&& step) {
  size_t t = 0;
  for (; t < r.begin; ++t)
    step(t);
  for (; t < r.end; ++t)
    out[t] = step(t);
}

// ---- Building blocks ---------------------------------------------------------------------------

/// TA-Lib's EMA fed one value at a time. NaN values are skipped (the state carries over them and
/// the result is NaN). The first `period` values (after `skip` ignored ones) seed it with their
/// mean, which is also its first output.
class EmaState {
 public:
  explicit EmaState(int period, int skip = 0)
      : period_(period), k_(2.0 / (period + 1)), keep_(1.0 - k_), count_(-skip) {}

  double Push(double v) {
    if (std::isnan(v)) return kNaN;
    if (count_ >= period_) {
      ema_ = ema_ * keep_ + v * k_;  // TA-Lib: (v - e) * k + e; this chain is one op shorter
      return ema_;
    }
    if (count_ < 0) {
      ++count_;
      return kNaN;
    }
    sum_ += v;
    if (++count_ < period_) return kNaN;
    ema_ = sum_ / period_;
    return ema_;
  }

 private:
  int period_;
  double k_;
  double keep_;
  int count_;
  double sum_ = 0.0;
  double ema_ = 0.0;
};

/// Sliding maximum of `hi` and minimum of `lo` over the last `width` rows (van Herk / Gil-Werman):
/// rows are cut into blocks of `width` from the first row pushed; the window ending at row u is
/// the tail of the previous block (suffix extremes, computed once per block from the inputs) and
/// the head of the current one (running extremes). Three comparisons per row, no data-dependent
/// branches, O(1) whatever the data.
class RollingRange {
 public:
  RollingRange(const double* hi, const double* lo, size_t width)
      : hi_(hi), lo_(lo), width_(width), suf_hi_(width), suf_lo_(width) {}

  /// Restarts with `first` as the next row pushed.
  void Reset(size_t first) {
    first_ = first;
    pos_ = width_ - 1;
  }

  /// Pushes row u (rows come one by one from `first`); High()/Low() are then the extremes of the
  /// rows (u - width, u], valid once `width` rows were pushed.
  void Push(size_t u) {
    if (++pos_ == width_) {
      pos_ = 0;
      if (u != first_) {  // the block [u - width, u) just ended: its suffix extremes
        double h = hi_[u - 1];
        double l = lo_[u - 1];
        suf_hi_[width_ - 1] = h;
        suf_lo_[width_ - 1] = l;
        for (size_t i = width_ - 1; i-- > 0;) {
          h = std::max(h, hi_[u - width_ + i]);
          l = std::min(l, lo_[u - width_ + i]);
          suf_hi_[i] = h;
          suf_lo_[i] = l;
        }
      }
      pre_hi_ = hi_[u];
      pre_lo_ = lo_[u];
    } else {
      pre_hi_ = std::max(pre_hi_, hi_[u]);
      pre_lo_ = std::min(pre_lo_, lo_[u]);
    }
    if (pos_ + 1 < width_) {
      high_ = std::max(suf_hi_[pos_ + 1], pre_hi_);
      low_ = std::min(suf_lo_[pos_ + 1], pre_lo_);
    } else {
      high_ = pre_hi_;
      low_ = pre_lo_;
    }
  }

  double High() const { return high_; }
  double Low() const { return low_; }

 private:
  const double* hi_;
  const double* lo_;
  size_t width_;
  std::vector<double> suf_hi_;
  std::vector<double> suf_lo_;
  size_t first_ = 0;
  size_t pos_ = 0;
  double pre_hi_ = 0.0;
  double pre_lo_ = 0.0;
  double high_ = 0.0;
  double low_ = 0.0;
};

// ---- Windowed kernels --------------------------------------------------------------------------

// sum * (1/n) rather than TA-Lib's sum / n: a division per row is the bottleneck (2x).
struct SmaKernel {
  const double* x;
  double* out;
  size_t n;
  double inv;
  double sum = 0.0;

  bool Missing(size_t t) const { return std::isnan(x[t]); }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) {
    sum = 0.0;
    for (size_t u = t + 1 - n; u <= t; ++u)
      sum += x[u];
    out[t] = sum * inv;
  }
  void Next(size_t t) {
    sum += x[t] - x[t - n];
    out[t] = sum * inv;
  }
  bool Poisoned() const { return std::isnan(sum); }
};

// Weighted sum W = sum of i * x (i = 1 oldest .. n newest) and plain sum S of the window; sliding
// by one row: W += n * x_new - S_old, S += x_new - x_leaving.
struct WmaKernel {
  const double* x;
  double* out;
  size_t n;
  double dn;
  double inv_divider;  // 1 / (n (n + 1) / 2)
  double sum = 0.0;
  double wsum = 0.0;

  bool Missing(size_t t) const { return std::isnan(x[t]); }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) {
    sum = 0.0;
    wsum = 0.0;
    double w = 1.0;
    for (size_t u = t + 1 - n; u <= t; ++u, w += 1.0) {
      sum += x[u];
      wsum += x[u] * w;
    }
    out[t] = wsum * inv_divider;
  }
  void Next(size_t t) {
    const double v = x[t];
    wsum += v * dn - sum;
    sum += v - x[t - n];
    out[t] = wsum * inv_divider;
  }
  bool Poisoned() const { return std::isnan(sum); }
};

struct RocKernel {
  const double* x;
  double* out;
  size_t n;

  bool Missing(size_t t) const { return std::isnan(x[t]); }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) { Next(t); }
  void Next(size_t t) {
    const double prev = x[t - n];
    out[t] = prev != 0.0 ? (x[t] / prev - 1.0) * 100.0 : 0.0;
  }
  bool Slide(size_t a, size_t b) {
    const V2 zero = {0.0, 0.0};
    M2 bad = {0, 0};
    size_t u = a;
    for (; u + 2 <= b; u += 2) {
      const V2 v = Load2(x + u);
      const V2 prev = Load2(x + u - n);
      bad |= v != v;
      const V2 roc = (v / prev - 1.0) * 100.0;  // inf or NaN where prev == 0: replaced by 0
      Store2(out + u, prev != zero ? roc : zero);
    }
    bool missing = (bad[0] | bad[1]) != 0;
    for (; u < b; ++u) {
      missing |= Missing(u);
      Next(u);
    }
    return missing;
  }
};

struct MomKernel {
  const double* x;
  double* out;
  size_t n;

  bool Missing(size_t t) const { return std::isnan(x[t]); }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) { Next(t); }
  void Next(size_t t) { out[t] = x[t] - x[t - n]; }
  bool Slide(size_t a, size_t b) {
    M2 bad = {0, 0};
    size_t u = a;
    for (; u + 2 <= b; u += 2) {
      const V2 v = Load2(x + u);
      bad |= v != v;
      Store2(out + u, v - Load2(x + u - n));
    }
    bool missing = (bad[0] | bad[1]) != 0;
    for (; u < b; ++u) {
      missing |= Missing(u);
      Next(u);
    }
    return missing;
  }
};

struct TrangeKernel {
  const double* high;
  const double* low;
  const double* close;
  double* out;
  bool stream = false;  // non-temporal stores (see kStreamMinRows)

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]);
  }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) { Next(t); }
  void Next(size_t t) { out[t] = TrueRange(high[t], low[t], close[t - 1]); }
  bool Slide(size_t a, size_t b) {
    M2 bad = {0, 0};
    size_t u = a;
    for (; u + 2 <= b; u += 2) {
      const V2 h = Load2(high + u);
      const V2 l = Load2(low + u);
      const V2 c = Load2(close + u);
      const V2 pc = Load2(close + u - 1);
      // NaN in any input makes the sum NaN (inf - inf too: a false alarm only costs the slow
      // path, which decides exactly).
      const V2 sum = h + l + c;
      bad |= sum != sum;
      V2 tr = h - l;  // TrueRange, lane-wise
      V2 d = Abs2(pc - h);
      tr = d > tr ? d : tr;
      d = Abs2(pc - l);
      StoreOut(out + u, d > tr ? d : tr, stream);
    }
    if (stream) _mm_sfence();
    bool missing = (bad[0] | bad[1]) != 0;
    for (; u < b; ++u) {
      missing |= Missing(u);
      Next(u);
    }
    return missing;
  }
};

// Running sum and sum of squares, sigma^2 = E[d^2] - E[d]^2 as TA-Lib computes it, but of
// d = x - K with K the window's last value at Start: the same number without E[x^2] - mean^2's
// cancellation when the mean is large against sigma (an index at 30000 moving by 1).
struct BbandsKernel {
  const double* x;
  double* upper;
  double* middle;
  double* lower;
  size_t n;
  double inv;  // 1 / n
  double dev_up;
  double dev_dn;
  double shift = 0.0;  // K
  double sum = 0.0;
  double sum2 = 0.0;

  bool Missing(size_t t) const { return std::isnan(x[t]); }
  void Skip(size_t t) {
    if (upper != nullptr) upper[t] = kNaN;
    if (middle != nullptr) middle[t] = kNaN;
    if (lower != nullptr) lower[t] = kNaN;
  }
  void Start(size_t t) {
    shift = x[t];
    sum = 0.0;
    sum2 = 0.0;
    for (size_t u = t + 1 - n; u <= t; ++u) {
      const double d = x[u] - shift;
      sum += d;
      sum2 += d * d;
    }
    Emit(t);
  }
  void Next(size_t t) {
    const double d = x[t] - shift;
    const double old = x[t - n] - shift;
    sum += d - old;
    sum2 += d * d - old * old;
    Emit(t);
  }
  bool Poisoned() const { return std::isnan(sum); }
  void Emit(size_t t) {
    const double mean_d = sum * inv;
    const double mean = shift + mean_d;
    const double var = sum2 * inv - mean_d * mean_d;
    const double sd = var < 1e-8 ? 0.0 : std::sqrt(var);  // TA_IS_ZERO_OR_NEG
    if (upper != nullptr) upper[t] = mean + sd * dev_up;
    if (middle != nullptr) middle[t] = mean;
    if (lower != nullptr) lower[t] = mean - sd * dev_dn;
  }
};

// fastk over a RollingRange, then two SMAs over rings of the last slowk / slowd values.
struct StochKernel {
  const double* high;
  const double* low;
  const double* close;
  double* slowk;
  double* slowd;
  size_t fk;
  size_t sk;
  size_t sd;
  size_t lookback;
  double inv_sk;
  double inv_sd;
  RollingRange range;
  std::vector<double> kring;
  std::vector<double> dring;
  size_t first = 0;
  size_t kpos = 0;
  size_t dpos = 0;
  double ksum = 0.0;
  double dsum = 0.0;

  StochKernel(const double* h, const double* l, const double* c, double* k_out, double* d_out,
              size_t fastk, size_t slow_k, size_t slow_d)
      : high(h),
        low(l),
        close(c),
        slowk(k_out),
        slowd(d_out),
        fk(fastk),
        sk(slow_k),
        sd(slow_d),
        lookback(fastk + slow_k + slow_d - 3),
        inv_sk(1.0 / static_cast<double>(slow_k)),
        inv_sd(1.0 / static_cast<double>(slow_d)),
        range(h, l, fastk),
        kring(slow_k),
        dring(slow_d) {}

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]);
  }
  void Skip(size_t t) {
    if (slowk != nullptr) slowk[t] = kNaN;
    if (slowd != nullptr) slowd[t] = kNaN;
  }
  void Start(size_t t) {
    first = t - lookback;
    range.Reset(first);
    kpos = dpos = 0;
    ksum = dsum = 0.0;
    for (size_t u = first; u < t; ++u)
      Row(u, false);
    Row(t, true);
  }
  void Next(size_t t) { Row(t, true); }

  // Rows since `first`: fastk from age fk - 1, slowk from fk + sk - 2, slowd from `lookback`.
  void Row(size_t u, bool emit) {
    range.Push(u);
    const size_t age = u - first;
    if (age + 1 < fk) return;
    const double lo = range.Low();
    const double diff = (range.High() - lo) / 100.0;
    const double fastk = diff != 0.0 ? (close[u] - lo) / diff : 0.0;
    const size_t nk = age + 2 - fk;  // fastk values so far, this one included
    if (nk > sk) {
      ksum += fastk - kring[kpos];
    } else {
      ksum += fastk;
    }
    kring[kpos] = fastk;
    if (++kpos == sk) kpos = 0;
    if (nk < sk) return;
    const double k = ksum * inv_sk;
    const size_t nd = nk + 1 - sk;
    if (nd > sd) {
      dsum += k - dring[dpos];
    } else {
      dsum += k;
    }
    dring[dpos] = k;
    if (++dpos == sd) dpos = 0;
    if (!emit) return;
    if (slowk != nullptr) slowk[u] = k;
    if (slowd != nullptr) slowd[u] = dsum * inv_sd;
  }
};

struct WillrKernel {
  const double* high;
  const double* low;
  const double* close;
  double* out;
  size_t n;
  RollingRange range;

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]);
  }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) {
    range.Reset(t + 1 - n);
    for (size_t u = t + 1 - n; u < t; ++u)
      range.Push(u);
    Next(t);
  }
  void Next(size_t t) {
    range.Push(t);
    const double hh = range.High();
    const double diff = (hh - range.Low()) / -100.0;
    out[t] = diff != 0.0 ? (hh - close[t]) / diff : 0.0;
  }
};

// Typical prices in a ring (slot = row % n) with a running sum for the mean; the absolute
// deviations from the mean are summed over the ring each row (four partial sums, to break the add
// chain): the mean absolute deviation has no running form, so this is O(n) per row, as in TA-Lib.
struct CciKernel {
  const double* high;
  const double* low;
  const double* close;
  double* out;
  size_t n;
  double inv;  // 1 / n
  std::vector<double> ring;
  size_t slot = 0;
  double sum = 0.0;

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]);
  }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) {
    slot = (t + 1 - n) % n;
    sum = 0.0;
    for (size_t u = t + 1 - n; u < t; ++u) {
      const double tp = Typical(high[u], low[u], close[u]);
      ring[slot] = tp;
      sum += tp;
      if (++slot == n) slot = 0;
    }
    ring[slot] = 0.0;  // row t's slot: Next takes it out of the sum
    Next(t);
  }
  void Next(size_t t) {
    const double last = Typical(high[t], low[t], close[t]);
    sum += last - ring[slot];
    ring[slot] = last;
    if (++slot == n) slot = 0;
    const double mean = sum * inv;
    const double* v = ring.data();
    double d0 = 0.0, d1 = 0.0, d2 = 0.0, d3 = 0.0;
    unsigned flat = 1;
    size_t j = 0;
    for (; j + 4 <= n; j += 4) {
      d0 += std::fabs(v[j] - mean);
      d1 += std::fabs(v[j + 1] - mean);
      d2 += std::fabs(v[j + 2] - mean);
      d3 += std::fabs(v[j + 3] - mean);
      flat &= (v[j] == last) & (v[j + 1] == last) & (v[j + 2] == last) & (v[j + 3] == last);
    }
    for (; j < n; ++j) {
      d0 += std::fabs(v[j] - mean);
      flat &= v[j] == last;
    }
    if (flat != 0) {  // TA-Lib 0.6 gives 0 or +-66.7 here, depending on how its mean rounds
      out[t] = 0.0;
      return;
    }
    const double dev = (d0 + d1) + (d2 + d3);
    const double diff = last - mean;
    out[t] = diff != 0.0 && dev != 0.0 ? diff / (0.015 * (dev * inv)) : 0.0;
  }
  bool Poisoned() const { return std::isnan(sum); }
};

// Positive and negative money flows of the last n rows in a ring (slot = row % n) with running
// sums; a row's flow needs the previous row's typical price.
struct MfiKernel {
  const double* high;
  const double* low;
  const double* close;
  const double* volume;
  double* out;
  size_t n;
  std::vector<double> pos_ring;
  std::vector<double> neg_ring;
  size_t slot = 0;
  double prev_tp = 0.0;
  double pos_sum = 0.0;
  double neg_sum = 0.0;

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]) ||
           std::isnan(volume[t]);
  }
  void Skip(size_t t) { out[t] = kNaN; }
  void Start(size_t t) {
    const size_t from = t - n;
    prev_tp = Typical(high[from], low[from], close[from]);
    pos_sum = neg_sum = 0.0;
    slot = (from + 1) % n;
    for (size_t u = from + 1; u <= t; ++u) {
      double pos = 0.0, neg = 0.0;
      Flow(u, pos, neg);
      pos_sum += pos;
      neg_sum += neg;
      pos_ring[slot] = pos;
      neg_ring[slot] = neg;
      if (++slot == n) slot = 0;
    }
    Emit(t);
  }
  void Next(size_t t) {
    double pos = 0.0, neg = 0.0;
    Flow(t, pos, neg);
    pos_sum += pos - pos_ring[slot];
    neg_sum += neg - neg_ring[slot];
    pos_ring[slot] = pos;
    neg_ring[slot] = neg;
    if (++slot == n) slot = 0;
    Emit(t);
  }
  void Flow(size_t u, double& pos, double& neg) {
    const double tp = Typical(high[u], low[u], close[u]);
    const double change = tp - prev_tp;
    prev_tp = tp;
    const double flow = tp * volume[u];
    neg = change < 0 ? flow : 0.0;
    pos = change > 0 ? flow : 0.0;
  }
  void Emit(size_t t) {
    const double total = pos_sum + neg_sum;
    out[t] = total < 1.0 ? 0.0 : 100.0 * (pos_sum / total);
  }
};

// Running sums of (h + l + c) * volume and volume, and a count of non-zero volumes so that an
// all-zero window is recognised exactly (running sums may leave a residue).
struct VwapKernel {
  const double* high;
  const double* low;
  const double* close;
  const double* volume;
  double* out;
  size_t n;
  double pv = 0.0;
  double vol = 0.0;
  size_t nonzero = 0;

  bool Missing(size_t t) const {
    return std::isnan(high[t]) || std::isnan(low[t]) || std::isnan(close[t]) ||
           std::isnan(volume[t]);
  }
  void Skip(size_t t) { out[t] = kNaN; }
  // (h + l + c) * v; the division by 3 is done once on the ratio.
  double Pv(size_t u) const { return (high[u] + low[u] + close[u]) * volume[u]; }
  void Start(size_t t) {
    pv = vol = 0.0;
    nonzero = 0;
    for (size_t u = t + 1 - n; u <= t; ++u) {
      pv += Pv(u);
      vol += volume[u];
      nonzero += volume[u] != 0.0;
    }
    Emit(t);
  }
  void Next(size_t t) {
    const size_t old = t - n;
    pv += Pv(t) - Pv(old);
    vol += volume[t] - volume[old];
    nonzero += volume[t] != 0.0;
    nonzero -= volume[old] != 0.0;
    Emit(t);
  }
  void Emit(size_t t) {
    if (nonzero == 0) {
      pv = vol = 0.0;
      out[t] = kNaN;
    } else {
      out[t] = pv / (3.0 * vol);
    }
  }
};

// Squared log returns in a ring (slot = row % n) with a running sum, and a count of non-zero
// returns so that a flat window gives exactly 0.
struct RvolKernel {
  const double* close;
  double* out;
  size_t n;
  std::vector<double> ring;
  size_t slot = 0;
  double sum = 0.0;
  size_t nonzero = 0;

  // A non-positive close has no log return: treated as missing.
  bool Missing(size_t t) const { return !(close[t] > 0.0); }
  void Skip(size_t t) { out[t] = kNaN; }
  double Sq(size_t u) const {
    const double r = std::log(close[u] / close[u - 1]);
    return r * r;
  }
  void Start(size_t t) {
    sum = 0.0;
    nonzero = 0;
    slot = (t + 1 - n) % n;
    for (size_t u = t + 1 - n; u <= t; ++u) {
      const double sq = Sq(u);
      sum += sq;
      nonzero += sq != 0.0;
      ring[slot] = sq;
      if (++slot == n) slot = 0;
    }
    Emit(t);
  }
  void Next(size_t t) {
    const double sq = Sq(t);
    const double old = ring[slot];
    sum += sq - old;
    nonzero += sq != 0.0;
    nonzero -= old != 0.0;
    ring[slot] = sq;
    if (++slot == n) slot = 0;
    Emit(t);
  }
  void Emit(size_t t) {
    if (nonzero == 0) sum = 0.0;
    out[t] = sum > 0.0 ? std::sqrt(sum) : 0.0;
  }
};

inline bool AnyNan(double a, double b, double c) {
  return std::isnan(a) || std::isnan(b) || std::isnan(c);
}

}  // namespace

// ---- Lookbacks ---------------------------------------------------------------------------------

namespace {

/// TA-Lib's parameter range: [lo, 100000] (which also keeps 3 * period in an int).
inline bool Valid(int period, int lo) {
  return period >= lo && period <= 100000;
}

}  // namespace

int LookbackSma(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackEma(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackWma(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackDema(int period) {
  return Valid(period, 2) ? 2 * (period - 1) : -1;
}
int LookbackTema(int period) {
  return Valid(period, 2) ? 3 * (period - 1) : -1;
}
int LookbackKama(int period) {
  return Valid(period, 2) ? period : -1;
}
int LookbackRoc(int period) {
  return Valid(period, 1) ? period : -1;
}
int LookbackMom(int period) {
  return Valid(period, 1) ? period : -1;
}
int LookbackRsi(int period) {
  return Valid(period, 2) ? period : -1;
}
int LookbackMacd(int fast_period, int slow_period, int signal_period) {
  if (!Valid(fast_period, 2) || !Valid(slow_period, 2) || !Valid(signal_period, 1)) return -1;
  return std::max(fast_period, slow_period) - 1 + signal_period - 1;
}
int LookbackBbands(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackStoch(int fastk_period, int slowk_period, int slowd_period) {
  if (!Valid(fastk_period, 1) || !Valid(slowk_period, 1) || !Valid(slowd_period, 1)) return -1;
  return fastk_period - 1 + slowk_period - 1 + slowd_period - 1;
}
int LookbackCci(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackWillr(int period) {
  return Valid(period, 2) ? period - 1 : -1;
}
int LookbackMfi(int period) {
  return Valid(period, 2) ? period : -1;
}
int LookbackObv() {
  return 0;
}
int LookbackTrange() {
  return 1;
}
int LookbackAtr(int period) {
  return Valid(period, 1) ? period : -1;
}
int LookbackNatr(int period) {
  return Valid(period, 1) ? period : -1;
}
int LookbackAdx(int period) {
  return Valid(period, 2) ? 2 * period - 1 : -1;
}
int LookbackVwap(int window) {
  return Valid(window, 1) ? window - 1 : -1;
}
int LookbackRvol(int window) {
  return Valid(window, 1) ? window : -1;
}

// ---- Windowed kernels --------------------------------------------------------------------------

void Sma(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackSma(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  SmaKernel k{x, out, n, 1.0 / static_cast<double>(n)};
  RunWindowed(k, r, n - 1);
}

void Wma(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackWma(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  const double dn = static_cast<double>(n);
  WmaKernel k{x, out, n, dn, 2.0 / (dn * (dn + 1.0))};
  RunWindowed(k, r, n - 1);
}

void Roc(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackRoc(period) < 0) return FillNan(out, r);
  RocKernel k{x, out, static_cast<size_t>(period)};
  RunWindowed(k, r, static_cast<size_t>(period));
}

void Mom(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackMom(period) < 0) return FillNan(out, r);
  MomKernel k{x, out, static_cast<size_t>(period)};
  RunWindowed(k, r, static_cast<size_t>(period));
}

void Trange(const double* high, const double* low, const double* close, Range r, double* out) {
  if (Empty(r)) return;
  TrangeKernel k{high, low, close, out, r.end - r.begin >= kStreamMinRows};
  RunWindowed(k, r, 1);
}

void Bbands(const double* x, Range r, int period, double nbdev_up, double nbdev_dn, double* upper,
            double* middle, double* lower) {
  if (Empty(r)) return;
  if (LookbackBbands(period) < 0 || !std::isfinite(nbdev_up) || !std::isfinite(nbdev_dn)) {
    FillNan(upper, r);
    FillNan(middle, r);
    FillNan(lower, r);
    return;
  }
  if (upper == nullptr && middle == nullptr && lower == nullptr) return;
  const auto n = static_cast<size_t>(period);
  BbandsKernel k{x, upper, middle, lower, n, 1.0 / static_cast<double>(n), nbdev_up, nbdev_dn};
  RunWindowed(k, r, n - 1);
}

void Stoch(const double* high, const double* low, const double* close, Range r, int fastk_period,
           int slowk_period, int slowd_period, double* slowk, double* slowd) {
  if (Empty(r)) return;
  const int lookback = LookbackStoch(fastk_period, slowk_period, slowd_period);
  if (lookback < 0) {
    FillNan(slowk, r);
    FillNan(slowd, r);
    return;
  }
  if (slowk == nullptr && slowd == nullptr) return;
  StochKernel k(high, low, close, slowk, slowd, static_cast<size_t>(fastk_period),
                static_cast<size_t>(slowk_period), static_cast<size_t>(slowd_period));
  RunWindowed(k, r, static_cast<size_t>(lookback));
}

void Cci(const double* high, const double* low, const double* close, Range r, int period,
         double* out) {
  if (Empty(r)) return;
  if (LookbackCci(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  CciKernel k{high, low, close, out, n, 1.0 / static_cast<double>(n), std::vector<double>(n)};
  RunWindowed(k, r, n - 1);
}

void Willr(const double* high, const double* low, const double* close, Range r, int period,
           double* out) {
  if (Empty(r)) return;
  if (LookbackWillr(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  WillrKernel k{high, low, close, out, n, RollingRange(high, low, n)};
  RunWindowed(k, r, n - 1);
}

void Mfi(const double* high, const double* low, const double* close, const double* volume, Range r,
         int period, double* out) {
  if (Empty(r)) return;
  if (LookbackMfi(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  MfiKernel k{high, low, close, volume, out, n, std::vector<double>(n), std::vector<double>(n)};
  RunWindowed(k, r, n);
}

void Vwap(const double* high, const double* low, const double* close, const double* volume, Range r,
          int window, double* out) {
  if (Empty(r)) return;
  if (LookbackVwap(window) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(window);
  VwapKernel k{high, low, close, volume, out, n};
  RunWindowed(k, r, n - 1);
}

void Rvol(const double* close, Range r, int window, double* out) {
  if (Empty(r)) return;
  if (LookbackRvol(window) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(window);
  RvolKernel k{close, out, n, std::vector<double>(n)};
  RunWindowed(k, r, n);
}

// ---- Recursive kernels -------------------------------------------------------------------------

void Ema(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackEma(period) < 0) return FillNan(out, r);
  EmaState ema(period);
  RunRecursive(r, out, [&](size_t t) { return ema.Push(x[t]); });
}

void Dema(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackDema(period) < 0) return FillNan(out, r);
  EmaState e1(period), e2(period);
  RunRecursive(r, out, [&](size_t t) {
    const double a = e1.Push(x[t]);
    const double b = e2.Push(a);
    return 2.0 * a - b;
  });
}

void Tema(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackTema(period) < 0) return FillNan(out, r);
  EmaState e1(period), e2(period), e3(period);
  RunRecursive(r, out, [&](size_t t) {
    const double a = e1.Push(x[t]);
    const double b = e2.Push(a);
    const double c = e3.Push(b);
    return c + (3.0 * a - 3.0 * b);
  });
}

void Kama(const double* x, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackKama(period) < 0) return FillNan(out, r);
  const auto n = static_cast<size_t>(period);
  constexpr double kConstMax = 2.0 / (30.0 + 1.0);
  constexpr double kConstDiff = 2.0 / (2.0 + 1.0) - kConstMax;
  // The last n complete values (ring[pos] is the oldest once full), the one before them
  // (`trailing`) and the latest (`prev`); sum_roc is the sum of |changes| over the window.
  std::vector<double> ring(n);
  size_t count = 0;
  size_t pos = 0;
  double prev = 0.0;
  double trailing = 0.0;
  double sum_roc = 0.0;
  double kama = 0.0;
  RunRecursive(r, out, [&](size_t t) {
    const double v = x[t];
    if (std::isnan(v)) return kNaN;
    if (count < n) {  // warm-up: collect the first n values
      if (count > 0) sum_roc += std::fabs(prev - v);
      ring[count++] = v;
      prev = v;
      return kNaN;
    }
    const double old = ring[pos];  // n values back
    const double period_roc = v - old;
    if (count == n) {  // first output: TA-Lib's seed is the previous value
      sum_roc += std::fabs(prev - v);
      kama = prev;
      ++count;
    } else {
      sum_roc -= std::fabs(trailing - old);
      sum_roc += std::fabs(v - prev);
    }
    trailing = old;
    ring[pos] = v;
    if (++pos == n) pos = 0;
    prev = v;
    double er = 1.0;
    if (!(sum_roc <= period_roc || IsZero(sum_roc))) er = std::fabs(period_roc / sum_roc);
    double sc = er * kConstDiff + kConstMax;
    sc *= sc;
    kama = kama * (1.0 - sc) + v * sc;  // TA-Lib: (v - k) * sc + k
    return kama;
  });
}

void Rsi(const double* close, Range r, int period, double* out) {
  if (Empty(r)) return;
  if (LookbackRsi(period) < 0) return FillNan(out, r);
  const double dp = period;
  const double dp1 = period - 1;
  const double inv = 1.0 / dp;
  int count = -1;  // changes seen; -1 before the first value
  double prev = 0.0;
  double gain = 0.0;
  double loss = 0.0;
  auto value = [&] {
    const double total = gain + loss;
    return IsZero(total) ? 0.0 : 100.0 * (gain / total);
  };
  RunRecursive(r, out, [&](size_t t) {
    const double v = close[t];
    if (std::isnan(v)) return kNaN;
    const double change = v - prev;
    prev = v;
    if (count >= period) {
      // TA-Lib: if (change < 0) loss -= change; else gain += change. Branch-free (maxsd): the
      // sign of a price change is a coin flip. Adding a zero is exact.
      const double up = std::max(change, 0.0);
      const double down = up - change;  // -change or 0, exactly
      loss = (loss * dp1 + down) * inv;
      gain = (gain * dp1 + up) * inv;
      return value();
    }
    if (count++ < 0) return kNaN;
    if (change < 0.0) {
      loss -= change;
    } else {
      gain += change;
    }
    if (count < period) return kNaN;
    loss /= dp;
    gain /= dp;
    return value();
  });
}

void Macd(const double* x, Range r, int fast_period, int slow_period, int signal_period,
          double* macd, double* signal, double* hist) {
  if (Empty(r)) return;
  if (LookbackMacd(fast_period, slow_period, signal_period) < 0) {
    FillNan(macd, r);
    FillNan(signal, r);
    FillNan(hist, r);
    return;
  }
  if (macd == nullptr && signal == nullptr && hist == nullptr) return;
  if (slow_period < fast_period) std::swap(slow_period, fast_period);
  // TA-Lib seeds the fast EMA on the `fast` values that end where the slow EMA's seed ends.
  EmaState slow(slow_period), fast(fast_period, slow_period - fast_period), sig(signal_period);
  auto step = [&](size_t t, double& m, double& s) {
    const double v = x[t];
    const double diff = fast.Push(v) - slow.Push(v);
    s = sig.Push(diff);
    m = std::isnan(s) ? kNaN : diff;
  };
  double m = 0.0, s = 0.0;
  size_t t = 0;
  for (; t < r.begin; ++t)
    step(t, m, s);
  for (; t < r.end; ++t) {
    step(t, m, s);
    if (macd != nullptr) macd[t] = m;
    if (signal != nullptr) signal[t] = s;
    if (hist != nullptr) hist[t] = m - s;
  }
}

namespace {

// ATR and NATR share the Wilder average of the true range; kNormalise divides it by close.
template <bool kNormalise>
void AtrImpl(const double* high, const double* low, const double* close, Range r, int period,
             double* out) {
  const double dp = period;
  const double dp1 = period - 1;
  const double inv = 1.0 / dp;
  int count = -1;  // true ranges seen; -1 before the first complete row
  double prev_close = 0.0;
  double atr = 0.0;
  auto value = [&](double c) {
    if constexpr (kNormalise) {
      return IsZero(c) ? 0.0 : (atr / c) * 100.0;
    } else {
      static_cast<void>(c);
      return atr;
    }
  };
  RunRecursive(r, out, [&](size_t t) {
    const double h = high[t], l = low[t], c = close[t];
    if (AnyNan(h, l, c)) return kNaN;
    const double tr = TrueRange(h, l, prev_close);
    prev_close = c;
    if (count >= period) {
      atr = (atr * dp1 + tr) * inv;
      return value(c);
    }
    if (count++ < 0) return kNaN;
    atr += tr;
    if (count < period) return kNaN;
    atr /= dp;
    return value(c);
  });
}

}  // namespace

void Atr(const double* high, const double* low, const double* close, Range r, int period,
         double* out) {
  if (Empty(r)) return;
  if (LookbackAtr(period) < 0) return FillNan(out, r);
  AtrImpl<false>(high, low, close, r, period, out);
}

void Natr(const double* high, const double* low, const double* close, Range r, int period,
          double* out) {
  if (Empty(r)) return;
  if (LookbackNatr(period) < 0) return FillNan(out, r);
  // TA-Lib answers period 1 with the plain true range.
  if (period == 1) return AtrImpl<false>(high, low, close, r, period, out);
  AtrImpl<true>(high, low, close, r, period, out);
}

void Adx(const double* high, const double* low, const double* close, Range r, int period,
         double* out) {
  if (Empty(r)) return;
  if (LookbackAdx(period) < 0) return FillNan(out, r);
  const double dp = period;
  const double dp1 = period - 1;
  const double inv = 1.0 / dp;
  // Complete rows seen minus one, saturating at 2 * period: 1 .. period-1 sum DM and TR,
  // period .. 2*period-1 smooth them and sum DX, then ADX is smoothed.
  int count = -1;
  double prev_high = 0.0, prev_low = 0.0, prev_close = 0.0;
  double plus_dm = 0.0, minus_dm = 0.0, tr_sum = 0.0;
  double sum_dx = 0.0, adx = 0.0;
  RunRecursive(r, out, [&](size_t t) {
    const double h = high[t], l = low[t], c = close[t];
    if (AnyNan(h, l, c)) return kNaN;
    if (count < 2 * period) ++count;
    const int n = count;
    if (n == 0) {
      prev_high = h;
      prev_low = l;
      prev_close = c;
      return kNaN;
    }
    const double diff_p = h - prev_high;
    const double diff_m = prev_low - l;
    prev_high = h;
    prev_low = l;
    const double tr = TrueRange(h, l, prev_close);
    prev_close = c;
    if (n < period) {
      if (diff_m > 0 && diff_p < diff_m) {
        minus_dm += diff_m;
      } else if (diff_p > 0 && diff_p > diff_m) {
        plus_dm += diff_p;
      }
      tr_sum += tr;
      return kNaN;
    }
    // Branch-free form of TA-Lib's "if -DM then ... else if +DM then ..." (adding 0 is exact).
    // (The directions are a coin flip on real data: a branch here mispredicts half the time.)
    const bool minus_move = (diff_m > 0) & (diff_p < diff_m);
    const bool plus_move = !minus_move & (diff_p > 0) & (diff_p > diff_m);
    minus_dm = minus_dm - minus_dm * inv + diff_m * static_cast<double>(minus_move);
    plus_dm = plus_dm - plus_dm * inv + diff_p * static_cast<double>(plus_move);
    tr_sum = tr_sum - tr_sum * inv + tr;
    double dx = kNaN;  // NaN: no DX on this row (TA-Lib leaves ADX unchanged)
    if (!IsZero(tr_sum)) {
      const double scale = 100.0 / tr_sum;
      const double minus_di = minus_dm * scale;
      const double plus_di = plus_dm * scale;
      const double di_sum = minus_di + plus_di;
      if (!IsZero(di_sum)) dx = 100.0 * (std::fabs(minus_di - plus_di) / di_sum);
    }
    if (n < 2 * period - 1) {
      if (!std::isnan(dx)) sum_dx += dx;
      return kNaN;
    }
    if (n == 2 * period - 1) {
      if (!std::isnan(dx)) sum_dx += dx;
      adx = sum_dx / dp;
      return adx;
    }
    if (!std::isnan(dx)) adx = (adx * dp1 + dx) * inv;
    return adx;
  });
}

void Obv(const double* close, const double* volume, Range r, double* out) {
  if (Empty(r)) return;
  bool started = false;
  double prev_close = 0.0;
  double obv = 0.0;
  RunRecursive(r, out, [&](size_t t) {
    const double c = close[t], v = volume[t];
    if (std::isnan(c) || std::isnan(v)) return kNaN;
    if (!started) {
      started = true;
      obv = v;
    } else {  // +v, -v or 0, without a branch on the direction
      obv += v * static_cast<double>((c > prev_close) - (c < prev_close));
    }
    prev_close = c;
    return obv;
  });
}

}  // namespace qraft::expr::kernels::ta
