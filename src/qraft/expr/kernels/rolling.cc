#include "qraft/expr/kernels/rolling.h"

#include <algorithm>
#include <bit>
#include <cassert>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <vector>

namespace qraft::expr::kernels {
namespace {

using std::size_t;
using i64 = std::int64_t;

constexpr double kNaN = std::numeric_limits<double>::quiet_NaN();
constexpr double kInf = std::numeric_limits<double>::infinity();
constexpr size_t kNone = std::numeric_limits<size_t>::max();

/// Qlib's np.isclose(rolling std, 0, atol=2e-5) mask on Rsquare and Corr.
constexpr double kQlibStdTolerance = 2e-5;
/// Trend keeps Σu² of positions exactly in int64: windows up to this many rows (Σu² < 9e18).
[[maybe_unused]] constexpr size_t kMaxTrendRows = 3'000'000;

/// A running-sum window is re-summed (re-pivoted at its mean) as soon as its mean lies more than
/// this many standard deviations from the pivot: one-pass sums lose (distance / spread)^k of
/// precision in the k-th central moment, so this bounds the loss whatever the data's drift.
constexpr double kMaxPivotDrift = 4.0;

/// pandas' absolute guard on the biased variance in rolling skew/kurt.
constexpr double kPandasMomentGuard = 1e-14;
/// Order statistics use a sorted window buffer up to these lengths, a Fenwick tree above them.
/// The buffer's update moves up to w doubles; the tree's update and queries are O(log T) chains of
/// dependent loads, about flat in w. Measured on 1259-row random walks (ns per row, buffer/tree):
/// Rank w=60 55/56, w=128 85/59; Quantile w=128 56/104, w=512 72/91, w=1024 60/87.
constexpr size_t kRankBufferMaxWindow = 64;
/// Up to this window Rank counts directly instead of keeping order (measured: 5-60 bars).
constexpr size_t kRankDirectMaxWindow = 64;
constexpr size_t kQuantileBufferMaxWindow = 1024;
/// Up to this many values the buffer's replace is an insertion-sort walk (search and shift in one
/// pass over the values between the old and the new slot), beyond it a binary search and memmove.
constexpr size_t kInsertionWalkMaxSize = 64;

bool IsNan(double v) {
  return std::isnan(v);
}

/// First row of the window of row t (len 0: expanding).
size_t Lo(size_t t, size_t len) {
  return len == 0 || t + 1 < len ? 0 : t + 1 - len;
}

size_t Length(Window w) {
  assert(w.length >= 0 && w.min_periods >= 1);
  return w.length > 0 ? static_cast<size_t>(w.length) : 0;
}

/// Valid values a row needs: max(min_periods, the statistic's own minimum).
i64 Need(Window w, int stat_min) {
  return std::max<i64>(w.min_periods, stat_min);
}

/// Neumaier-compensated sum; Add(-v) removes v.
struct CSum {
  double s = 0;
  double c = 0;
  void Add(double v) {
    const double t = s + v;
    c += std::fabs(s) >= std::fabs(v) ? (s - t) + v : (v - t) + s;
    s = t;
  }
  double Value() const { return s + c; }
};

/// Length of the run of equal values at the end of the valid values pushed so far. A window of n
/// valid values is constant iff run >= n: the run may reach back beyond the window, which never
/// changes that answer, so it need not be shortened on removal.
struct EqualRun {
  double last = 0;
  i64 len = 0;
  void Push(double v) {
    if (len > 0 && v == last) {
      ++len;
    } else {
      last = v;
      len = 1;
    }
  }
};

/// Plain mean of the finite values of x[lo, hi]: the pivot running sums are shifted by, so that
/// they hold deviations of the size of the window's spread rather than of its level.
bool WindowPivot(const double* x, size_t lo, size_t hi, double* pivot) {
  double sum = 0;
  i64 n = 0;
  for (size_t i = lo; i <= hi; ++i) {
    if (std::isfinite(x[i])) {
      sum += x[i];
      ++n;
    }
  }
  if (n == 0) return false;
  *pivot = sum / static_cast<double>(n);
  return true;
}

/// Whether sums s1 = Σd, s2 = Σd² of n deviations d = x - pivot have a mean more than
/// kMaxPivotDrift standard deviations away from the pivot (or have lost the variance entirely).
bool PivotDrifted(double s1, double s2, i64 n) {
  // mean² > c²·var with mean = s1/n, var = s2/n - mean², multiplied through by n².
  constexpr double c2 = kMaxPivotDrift * kMaxPivotDrift;
  return (1 + c2) * s1 * s1 > c2 * static_cast<double>(n) * s2;
}

/// Running power sums (orders 1..K) of the valid values of a window.
template <int K>
class Moments {
 public:
  void Clear() { *this = Moments(); }

  void Add(double v) {
    if (IsNan(v)) return;
    ++n_;
    run_.Push(v);
    if (!std::isfinite(v)) {
      ++(v > 0 ? pinf_ : ninf_);
      return;
    }
    if (nf_++ == 0 && !pivoted_) {
      pivot_ = v;
      pivoted_ = true;
    }
    Accumulate(v - pivot_, 1.0);
  }

  void Remove(double v) {
    if (IsNan(v)) return;
    --n_;
    if (!std::isfinite(v)) {
      --(v > 0 ? pinf_ : ninf_);
      return;
    }
    if (--nf_ == 0) {  // empty: start afresh (and re-pivot) with the next value
      for (CSum& s : s_)
        s = CSum();
      pivoted_ = false;
      return;
    }
    Accumulate(v - pivot_, -1.0);
  }

  /// Recomputes the sums of x[lo, hi] from scratch.
  void Resum(const double* x, size_t lo, size_t hi) {
    Clear();
    pivoted_ = WindowPivot(x, lo, hi, &pivot_);
    for (size_t i = lo; i <= hi; ++i)
      Add(x[i]);
  }

  i64 n() const { return n_; }
  bool HasInf() const { return pinf_ + ninf_ > 0; }
  bool Constant() const { return run_.len >= n_; }
  /// Whether the pivot is too far from the window's values (see kMaxPivotDrift).
  bool Drifted() const {
    static_assert(K >= 2);
    return nf_ >= 2 && !Constant() && PivotDrifted(s_[0].Value(), s_[1].Value(), nf_);
  }

  double Sum() const {
    if (HasInf()) return InfSum();
    return pivot_ * static_cast<double>(nf_) + s_[0].Value();
  }
  double Mean() const {
    if (HasInf()) return InfSum();
    return pivot_ + s_[0].Value() / static_cast<double>(nf_);
  }
  /// ddof = 1; REQUIRES n() >= 2.
  double Var() const {
    if (HasInf()) return kNaN;
    if (Constant()) return 0.0;
    const double s1 = s_[0].Value();
    const double m2 = s_[1].Value() - s1 * s1 / static_cast<double>(nf_);
    return std::max(m2 / static_cast<double>(nf_ - 1), 0.0);
  }
  /// REQUIRES n() >= 3.
  double Skew(bool qlib) const {
    if (HasInf()) return kNaN;
    if (Constant()) return qlib ? 0.0 : kNaN;
    const double dn = static_cast<double>(nf_);
    const double a = s_[0].Value() / dn;
    const double b = s_[1].Value() / dn - a * a;
    const double c = s_[2].Value() / dn - a * a * a - 3 * a * b;
    if (b <= (qlib ? kPandasMomentGuard : 0.0)) return kNaN;
    const double r = std::sqrt(b);
    return std::sqrt(dn * (dn - 1.0)) * c / ((dn - 2.0) * r * r * r);
  }
  /// REQUIRES n() >= 4.
  double Kurt(bool qlib) const {
    if (HasInf()) return kNaN;
    if (Constant()) return qlib ? -3.0 : kNaN;
    const double dn = static_cast<double>(nf_);
    const double a = s_[0].Value() / dn;
    double r = a * a;
    const double b = s_[1].Value() / dn - r;
    r *= a;
    const double c = s_[2].Value() / dn - r - 3 * a * b;
    r *= a;
    const double d = s_[3].Value() / dn - r - 6 * b * a * a - 4 * c * a;
    if (b <= (qlib ? kPandasMomentGuard : 0.0)) return kNaN;
    const double k = (dn * dn - 1.0) * d / (b * b) - 3.0 * (dn - 1.0) * (dn - 1.0);
    return k / ((dn - 2.0) * (dn - 3.0));
  }

 private:
  double InfSum() const { return pinf_ > 0 && ninf_ > 0 ? kNaN : (pinf_ > 0 ? kInf : -kInf); }

  void Accumulate(double d, double sign) {
    s_[0].Add(sign * d);
    if constexpr (K >= 2) {
      const double d2 = d * d;
      s_[1].Add(sign * d2);
      if constexpr (K >= 3) s_[2].Add(sign * d2 * d);
      if constexpr (K >= 4) s_[3].Add(sign * d2 * d2);
    }
  }

  i64 n_ = 0;   // valid values (finite or infinite)
  i64 nf_ = 0;  // finite values, the ones in the sums
  i64 pinf_ = 0;
  i64 ninf_ = 0;
  double pivot_ = 0;
  bool pivoted_ = false;
  CSum s_[K];  // s_[k] = Σ (x - pivot)^(k+1) over finite values
  EqualRun run_;
};

/// Sums for an OLS of the window's valid values y on their positions u = i - t relative to the
/// current row t (u <= 0). Slope and r² do not depend on the origin of positions, and residuals
/// and WMA weights are read off at u = 0, so this is Qlib's formula with better conditioning.
class Trend {
 public:
  /// Moves the current row one step ahead: every position decreases by one.
  void Shift() {
    suy_.Add(-sy_.Value());
    suu_ += nf_ - 2 * su_;
    su_ -= nf_;
  }

  /// Adds v at position u.
  void Add(double v, i64 u) {
    if (IsNan(v)) return;
    ++n_;
    run_.Push(v);
    if (!std::isfinite(v)) {
      ++(v > 0 ? pinf_ : ninf_);
      return;
    }
    if (nf_++ == 0 && !pivoted_) {
      pivot_ = v;
      pivoted_ = true;
    }
    const double d = v - pivot_;
    sy_.Add(d);
    syy_.Add(d * d);
    suy_.Add(static_cast<double>(u) * d);
    su_ += u;
    suu_ += u * u;
  }

  /// Removes v, at position u.
  void Remove(double v, i64 u) {
    if (IsNan(v)) return;
    --n_;
    if (!std::isfinite(v)) {
      --(v > 0 ? pinf_ : ninf_);
      return;
    }
    if (--nf_ == 0) {
      sy_ = syy_ = suy_ = CSum();
      su_ = suu_ = 0;
      pivoted_ = false;
      return;
    }
    const double d = v - pivot_;
    sy_.Add(-d);
    syy_.Add(-(d * d));
    suy_.Add(-(static_cast<double>(u) * d));
    su_ -= u;
    suu_ -= u * u;
  }

  /// Recomputes the sums of x[lo, t] from scratch, positions relative to t.
  void Resum(const double* x, size_t lo, size_t t) {
    *this = Trend();
    pivoted_ = WindowPivot(x, lo, t, &pivot_);
    for (size_t i = lo; i <= t; ++i)
      Add(x[i], static_cast<i64>(i) - static_cast<i64>(t));
  }

  i64 n() const { return n_; }
  bool HasInf() const { return pinf_ + ninf_ > 0; }
  bool Constant() const { return run_.len >= n_; }
  bool Drifted() const {
    return nf_ >= 2 && !Constant() && PivotDrifted(sy_.Value(), syy_.Value(), nf_);
  }

  /// REQUIRES n() >= 2 (as all the statistics below).
  double Slope() const {
    if (HasInf()) return kNaN;
    if (Constant()) return 0.0;
    return Cov() / VarU();
  }
  /// The residual of the current value y (valid).
  double Resi(double y) const {
    if (HasInf()) return kNaN;
    if (Constant()) return 0.0;
    const double dn = static_cast<double>(nf_);
    const double slope = Cov() / VarU();
    return (y - pivot_) - (sy_.Value() / dn - slope * static_cast<double>(su_) / dn);
  }
  double Rsquare() const {
    if (HasInf() || Constant()) return kNaN;
    const double vy = VarY();
    if (!(vy > 0)) return kNaN;
    const double cov = Cov();
    return cov * cov / (VarU() * vy);
  }
  /// Standard deviation of y (ddof 1; 0 for a constant window).
  double StdY() const {
    if (HasInf()) return kNaN;
    if (Constant()) return 0.0;
    return std::sqrt(std::max(VarY(), 0.0) / static_cast<double>(nf_ - 1));
  }
  /// Σ w_i y_i and Σ w_i over the valid values with weights w_i = top + u_i. REQUIRES n() >= 1.
  /// Returns false (and the IEEE result in *num) when the window holds an infinity.
  bool Weighted(i64 top, double* num, double* den) const {
    if (HasInf()) {
      *num = pinf_ > 0 && ninf_ > 0 ? kNaN : (pinf_ > 0 ? kInf : -kInf);
      return false;
    }
    const i64 wsum = top * nf_ + su_;  // exact
    *den = static_cast<double>(wsum);
    *num = pivot_ * *den + static_cast<double>(top) * sy_.Value() + suy_.Value();
    return true;
  }

 private:
  double Cov() const {
    return suy_.Value() - static_cast<double>(su_) * sy_.Value() / static_cast<double>(nf_);
  }
  double VarU() const {
    const double su = static_cast<double>(su_);
    return static_cast<double>(suu_) - su * su / static_cast<double>(nf_);
  }
  double VarY() const {
    const double sy = sy_.Value();
    return syy_.Value() - sy * sy / static_cast<double>(nf_);
  }

  i64 n_ = 0;
  i64 nf_ = 0;
  i64 pinf_ = 0;
  i64 ninf_ = 0;
  i64 su_ = 0;   // Σu over finite values (exact)
  i64 suu_ = 0;  // Σu² (exact)
  double pivot_ = 0;
  bool pivoted_ = false;
  CSum sy_, syy_, suy_;  // of d = y - pivot
  EqualRun run_;
};

/// Sums of the pairwise-complete observations of two series.
class Pairs {
 public:
  void Add(double a, double b) {
    if (IsNan(a) || IsNan(b)) return;
    ++n_;
    ra_.Push(a);
    rb_.Push(b);
    if (!std::isfinite(a) || !std::isfinite(b)) {
      ++inf_;
      return;
    }
    if (nf_++ == 0 && !pivoted_) {
      pa_ = a;
      pb_ = b;
      pivoted_ = true;
    }
    Accumulate(a - pa_, b - pb_, 1.0);
  }
  void Remove(double a, double b) {
    if (IsNan(a) || IsNan(b)) return;
    --n_;
    if (!std::isfinite(a) || !std::isfinite(b)) {
      --inf_;
      return;
    }
    if (--nf_ == 0) {
      sa_ = sb_ = saa_ = sbb_ = sab_ = CSum();
      pivoted_ = false;
      return;
    }
    Accumulate(a - pa_, b - pb_, -1.0);
  }
  void Resum(const double* a, const double* b, size_t lo, size_t hi) {
    *this = Pairs();
    double sa = 0;
    double sb = 0;
    i64 n = 0;
    for (size_t i = lo; i <= hi; ++i) {
      if (std::isfinite(a[i]) && std::isfinite(b[i])) {
        sa += a[i];
        sb += b[i];
        ++n;
      }
    }
    if (n > 0) {
      pa_ = sa / static_cast<double>(n);
      pb_ = sb / static_cast<double>(n);
      pivoted_ = true;
    }
    for (size_t i = lo; i <= hi; ++i)
      Add(a[i], b[i]);
  }

  i64 n() const { return n_; }
  bool Drifted() const {
    return nf_ >= 2 && ra_.len < n_ && rb_.len < n_ &&
           (PivotDrifted(sa_.Value(), saa_.Value(), nf_) ||
            PivotDrifted(sb_.Value(), sbb_.Value(), nf_));
  }

  /// REQUIRES n() >= 2 (as Corr).
  double Cov() const {
    if (inf_ > 0) return kNaN;
    if (ra_.len >= n_ || rb_.len >= n_) return 0.0;
    return CoMoment() / static_cast<double>(nf_ - 1);
  }
  double Corr() const {
    if (inf_ > 0 || ra_.len >= n_ || rb_.len >= n_) return kNaN;
    const double dn = static_cast<double>(nf_);
    const double a = sa_.Value();
    const double b = sb_.Value();
    const double va = saa_.Value() - a * a / dn;
    const double vb = sbb_.Value() - b * b / dn;
    if (!(va > 0) || !(vb > 0)) return kNaN;
    return CoMoment() / std::sqrt(va * vb);
  }

 private:
  double CoMoment() const {
    return sab_.Value() - sa_.Value() * sb_.Value() / static_cast<double>(nf_);
  }
  void Accumulate(double da, double db, double sign) {
    sa_.Add(sign * da);
    sb_.Add(sign * db);
    saa_.Add(sign * da * da);
    sbb_.Add(sign * db * db);
    sab_.Add(sign * da * db);
  }

  i64 n_ = 0;
  i64 nf_ = 0;
  i64 inf_ = 0;  // pairs holding an infinity
  double pa_ = 0;
  double pb_ = 0;
  bool pivoted_ = false;
  CSum sa_, sb_, saa_, sbb_, sab_;
  EqualRun ra_, rb_;
};

/// The sliding-sum driver: rows [start, end) with start = r.begin (0 for expanding windows),
/// re-summed at `start` and at rows that are multiples of kResetPeriod, updated otherwise;
/// emit(t) for t in [r.begin, r.end). Acc: Resum(lo, t) and Advance(t) (row t enters, row
/// t - len leaves if it exists; Advance may itself re-sum when the pivot has drifted, a decision
/// taken from the state since the last reset row only, so both calls of the contract agree).
template <class Acc, class Emit>
void Slide(Acc& acc, Range r, size_t len, Emit&& emit) {
  if (r.begin >= r.end) return;
  const size_t start = len == 0 ? 0 : r.begin;
  for (size_t t = start; t < r.end; ++t) {
    if (t == start || (len != 0 && t % kResetPeriod == 0)) {
      acc.Resum(Lo(t, len), t);
    } else {
      acc.Advance(t);
    }
    if (t >= r.begin) emit(t);
  }
}

template <int K>
struct SlidingMoments {
  const double* x;
  size_t len;
  Moments<K> m;
  void Resum(size_t lo, size_t t) { m.Resum(x, lo, t); }
  void Advance(size_t t) {
    if (len != 0 && t >= len) m.Remove(x[t - len]);
    m.Add(x[t]);
    // The mean needs no pivot near the data; the central moments do.
    if constexpr (K >= 2) {
      if (m.Drifted()) Resum(Lo(t, len), t);
    }
  }
};

/// kRecenter: re-pivot when drifted (Slope/Rsquare/Resi need central sums; WMA does not).
template <bool kRecenter>
struct SlidingTrend {
  const double* x;
  size_t len;
  Trend m;
  void Resum(size_t lo, size_t t) { m.Resum(x, lo, t); }
  void Advance(size_t t) {
    assert(t - Lo(t, len) < kMaxTrendRows);  // Σu² of the window must fit in int64
    m.Shift();
    if (len != 0 && t >= len) m.Remove(x[t - len], -static_cast<i64>(len));
    m.Add(x[t], 0);
    if constexpr (kRecenter) {
      if (m.Drifted()) Resum(Lo(t, len), t);
    }
  }
};

/// Pairs plus, for Qlib's Corr mask, each side's own moments.
template <bool kWithOwn>
struct SlidingPairs {
  const double* a;
  const double* b;
  size_t len;
  Pairs p;
  Moments<2> ma, mb;
  void Resum(size_t lo, size_t t) {
    p.Resum(a, b, lo, t);
    if constexpr (kWithOwn) {
      ma.Resum(a, lo, t);
      mb.Resum(b, lo, t);
    }
  }
  void Advance(size_t t) {
    if (len != 0 && t >= len) {
      p.Remove(a[t - len], b[t - len]);
      if constexpr (kWithOwn) {
        ma.Remove(a[t - len]);
        mb.Remove(b[t - len]);
      }
    }
    p.Add(a[t], b[t]);
    if (p.Drifted()) p.Resum(a, b, Lo(t, len), t);
    if constexpr (kWithOwn) {  // only compared with 2e-5: the pivot may drift
      ma.Add(a[t]);
      mb.Add(b[t]);
    }
  }
};

/// Runs a moment statistic: out[t] = stat(m) when the window holds enough valid values.
template <int K, class Stat>
void MomentKernel(const double* x, Range r, Window w, int stat_min, double* out, Stat&& stat) {
  SlidingMoments<K> acc{x, Length(w), {}};
  const i64 need = Need(w, stat_min);
  Slide(acc, r, acc.len, [&](size_t t) { out[t] = acc.m.n() >= need ? stat(acc.m) : kNaN; });
}

/// Sample standard deviation of Moments (ddof 1), NaN below two values.
double OwnStd(const Moments<2>& m) {
  return m.n() >= 2 ? std::sqrt(m.Var()) : kNaN;
}

// ---- Max / Min / IdxMax / IdxMin ----------------------------------------------------------------

/// Monotonic deque of row indices in a ring buffer (capacity a power of two).
class IndexDeque {
 public:
  explicit IndexDeque(size_t max_size)
      : buf_(std::bit_ceil(max_size + 1)), mask_(buf_.size() - 1) {}
  bool empty() const { return head_ == tail_; }
  size_t front() const { return buf_[head_ & mask_]; }
  size_t back() const { return buf_[(tail_ - 1) & mask_]; }
  void pop_front() { ++head_; }
  void pop_back() { --tail_; }
  void push_back(size_t i) { buf_[tail_++ & mask_] = i; }

 private:
  std::vector<size_t> buf_;
  size_t mask_;
  size_t head_ = 0;
  size_t tail_ = 0;
};

/// Max/Min (kIndex false) or IdxMax/IdxMin (kIndex true); kMax picks the direction.
template <bool kMax, bool kIndex>
void Extreme(const double* x, Range r, Window w, Semantics s, double* out) {
  if (r.begin >= r.end) return;
  const size_t len = Length(w);
  const i64 need = Need(w, 1);
  const bool nan_wins = kIndex && s == Semantics::kQlib;  // numpy argmax returns the first NaN
  const auto better = [](double a, double b) { return kMax ? a > b : a < b; };
  const auto emit = [&](size_t t, size_t lo, i64 n, size_t best, size_t first_nan) {
    if (n < need) {
      out[t] = kNaN;
    } else if constexpr (kIndex) {
      const size_t at = nan_wins && first_nan != kNone ? first_nan : best;
      out[t] = static_cast<double>(at - lo + 1);
    } else {
      out[t] = x[best];
    }
  };

  if (len == 0) {  // expanding: a running best
    size_t best = kNone;
    size_t first_nan = kNone;
    i64 n = 0;
    for (size_t t = 0; t < r.end; ++t) {
      if (IsNan(x[t])) {
        if (first_nan == kNone) first_nan = t;
      } else {
        ++n;
        if (best == kNone || better(x[t], x[best])) best = t;
      }
      if (t >= r.begin) emit(t, 0, n, best, first_nan);
    }
    return;
  }

  const size_t lo0 = Lo(r.begin, len);
  IndexDeque dq(std::min(len, r.end - lo0));
  size_t nan_at = lo0;  // first NaN row >= lo(t), or > t when the window holds none
  i64 n = 0;
  for (size_t t = lo0; t < r.end; ++t) {
    const size_t lo = Lo(t, len);
    if (t >= lo0 + len && !IsNan(x[t - len])) --n;
    const double v = x[t];
    if (!IsNan(v)) {
      ++n;
      // Ties keep the older row in front: pop only strictly worse values.
      while (!dq.empty() && better(v, x[dq.back()]))
        dq.pop_back();
      dq.push_back(t);
    }
    while (!dq.empty() && dq.front() < lo)
      dq.pop_front();
    if (nan_wins) {
      while (nan_at <= t && (nan_at < lo || !IsNan(x[nan_at])))
        ++nan_at;
    }
    if (t >= r.begin) {
      emit(t, lo, n, dq.empty() ? kNone : dq.front(), nan_at <= t ? nan_at : kNone);
    }
  }
}

// ---- Order statistics ---------------------------------------------------------------------------

/// The window's valid values kept sorted in a flat buffer: O(log w) search, O(w) memmove.
class SortedWindow {
 public:
  SortedWindow(const double* x, size_t capacity) : x_(x), v_(std::max<size_t>(capacity, 1)) {}

  size_t size() const { return n_; }
  double Kth(size_t k) const { return v_[k]; }
  size_t Less(size_t row) const { return std::lower_bound(v_.data(), End(), x_[row]) - v_.data(); }
  size_t LessEq(size_t row) const {
    return std::upper_bound(v_.data(), End(), x_[row]) - v_.data();
  }

  void Insert(size_t row) {
    const double v = x_[row] + 0.0;  // -0.0 -> +0.0: equal values must be bit-identical
    double* p = std::upper_bound(v_.data(), End(), v);
    std::memmove(p + 1, p, static_cast<size_t>(End() - p) * sizeof(double));
    *p = v;
    ++n_;
  }
  void Erase(size_t row) {
    double* p = std::lower_bound(v_.data(), End(), x_[row]);
    std::memmove(p, p + 1, static_cast<size_t>(End() - p - 1) * sizeof(double));
    --n_;
  }
  /// Erase(old_row) then Insert(row), moving only the values in between.
  void Replace(size_t old_row, size_t row) {
    const double old = x_[old_row];
    const double v = x_[row] + 0.0;
    double* p = std::lower_bound(v_.data(), End(), old);
    if (n_ <= kInsertionWalkMaxSize) {  // one insertion-sort walk: search and shift together
      double* const first = v_.data();
      double* const last = End() - 1;
      while (p < last && p[1] < v) {
        p[0] = p[1];
        ++p;
      }
      while (p > first && p[-1] > v) {
        p[0] = p[-1];
        --p;
      }
      *p = v;
    } else if (v > old) {
      double* q = std::upper_bound(p + 1, End(), v);  // [p + 1, q) move one left
      std::memmove(p, p + 1, static_cast<size_t>(q - p - 1) * sizeof(double));
      q[-1] = v;
    } else {
      double* q = std::upper_bound(v_.data(), p, v);  // [q, p) move one right
      std::memmove(q + 1, q, static_cast<size_t>(p - q) * sizeof(double));
      *q = v;
    }
  }

 private:
  double* End() { return v_.data() + n_; }
  const double* End() const { return v_.data() + n_; }

  const double* x_;
  std::vector<double> v_;
  size_t n_ = 0;
};

/// Counts of the window's valid values in a Fenwick tree over the distinct valid values of
/// x[lo0, end), sorted once: O(log T) per update and query. Counts are exact, so every result is
/// a function of the window's values only.
class RankTree {
 public:
  RankTree(const double* x, size_t lo0, size_t end) : lo0_(lo0), rank_(end - lo0) {
    std::vector<std::uint32_t> rows;
    rows.reserve(end - lo0);
    for (size_t i = lo0; i < end; ++i) {
      if (!IsNan(x[i])) rows.push_back(static_cast<std::uint32_t>(i));
    }
    std::sort(rows.begin(), rows.end(),
              [x](std::uint32_t a, std::uint32_t b) { return x[a] < x[b]; });
    for (std::uint32_t i : rows) {
      if (values_.empty() || values_.back() < x[i]) values_.push_back(x[i] + 0.0);
      rank_[i - lo0] = static_cast<std::uint32_t>(values_.size() - 1);
    }
    // Padded to a power of two so the descent in Kth never leaves the array (ranks beyond the
    // distinct values are never inserted: their counts stay 0).
    top_ = std::bit_ceil(values_.size() + 1) / 2;
    tree_.assign(2 * top_, 0);
  }

  size_t size() const { return n_; }
  void Insert(size_t row) { Update(rank_[row - lo0_], 1); }
  void Erase(size_t row) { Update(rank_[row - lo0_], -1); }
  void Replace(size_t old_row, size_t row) {
    Erase(old_row);
    Insert(row);
  }
  size_t Less(size_t row) const { return Prefix(rank_[row - lo0_]); }
  size_t LessEq(size_t row) const { return Prefix(rank_[row - lo0_] + 1); }
  /// The k-th smallest value (0-based), k < size().
  double Kth(size_t k) const {
    size_t pos = 0;
    for (size_t step = top_; step != 0; step >>= 1) {  // branch-free: the path is data-dependent
      const auto count = static_cast<size_t>(tree_[pos + step]);
      const bool right = count <= k;
      k -= right ? count : 0;
      pos += right ? step : 0;
    }
    return values_[pos];
  }

 private:
  void Update(std::uint32_t rank, std::int32_t delta) {
    n_ = static_cast<size_t>(static_cast<i64>(n_) + delta);
    for (size_t i = rank + 1; i < tree_.size(); i += i & (~i + 1))
      tree_[i] += delta;
  }
  /// Number of values with rank < k.
  size_t Prefix(size_t k) const {
    i64 sum = 0;
    for (size_t i = k; i != 0; i &= i - 1)
      sum += tree_[i];
    return static_cast<size_t>(sum);
  }

  size_t lo0_;
  std::vector<std::uint32_t> rank_;  // rank_[row - lo0] (valid rows only)
  std::vector<double> values_;       // sorted distinct valid values
  std::vector<std::int32_t> tree_;   // 1-based Fenwick tree of counts
  size_t top_ = 0;
  size_t n_ = 0;
};

/// Slides `tree` over rows [lo(r.begin), r.end), emit(tree, t) for t in [r.begin, r.end).
template <class Tree, class Emit>
void SlideOrder(const double* x, Range r, size_t len, Tree& tree, Emit& emit) {
  const size_t lo0 = Lo(r.begin, len);
  for (size_t t = lo0; t < r.end; ++t) {
    const bool enters = !IsNan(x[t]);
    const bool leaves = len != 0 && t >= lo0 + len && !IsNan(x[t - len]);
    if (enters && leaves) {
      tree.Replace(t - len, t);
    } else if (enters) {
      tree.Insert(t);
    } else if (leaves) {
      tree.Erase(t - len);
    }
    if (t >= r.begin) emit(tree, t);
  }
}

/// Picks the order-statistic structure for the window and runs emit(tree, t).
template <class Emit>
void OrderKernel(const double* x, Range r, Window w, size_t buffer_max, Emit&& emit) {
  if (r.begin >= r.end) return;
  const size_t len = Length(w);
  const size_t lo0 = Lo(r.begin, len);
  if (len == 0 || len > buffer_max) {
    RankTree tree(x, lo0, r.end);
    SlideOrder(x, r, len, tree, emit);
  } else {
    SortedWindow tree(x, std::min(len, r.end - lo0));
    SlideOrder(x, r, len, tree, emit);
  }
}

}  // namespace

// ---- Moments ------------------------------------------------------------------------------------

void Mean(const double* x, Range r, Window w, Semantics, double* out) {
  MomentKernel<1>(x, r, w, 1, out, [](const Moments<1>& m) { return m.Mean(); });
}

void Sum(const double* x, Range r, Window w, Semantics, double* out) {
  MomentKernel<1>(x, r, w, 1, out, [](const Moments<1>& m) { return m.Sum(); });
}

void Std(const double* x, Range r, Window w, Semantics, double* out) {
  MomentKernel<2>(x, r, w, 2, out, [](const Moments<2>& m) { return std::sqrt(m.Var()); });
}

void Var(const double* x, Range r, Window w, Semantics, double* out) {
  MomentKernel<2>(x, r, w, 2, out, [](const Moments<2>& m) { return m.Var(); });
}

void Skew(const double* x, Range r, Window w, Semantics s, double* out) {
  const bool qlib = s == Semantics::kQlib;
  MomentKernel<3>(x, r, w, 3, out, [qlib](const Moments<3>& m) { return m.Skew(qlib); });
}

void Kurt(const double* x, Range r, Window w, Semantics s, double* out) {
  const bool qlib = s == Semantics::kQlib;
  MomentKernel<4>(x, r, w, 4, out, [qlib](const Moments<4>& m) { return m.Kurt(qlib); });
}

// ---- Order statistics ---------------------------------------------------------------------------

void Max(const double* x, Range r, Window w, Semantics s, double* out) {
  Extreme<true, false>(x, r, w, s, out);
}

void Min(const double* x, Range r, Window w, Semantics s, double* out) {
  Extreme<false, false>(x, r, w, s, out);
}

void IdxMax(const double* x, Range r, Window w, Semantics s, double* out) {
  Extreme<true, true>(x, r, w, s, out);
}

void IdxMin(const double* x, Range r, Window w, Semantics s, double* out) {
  Extreme<false, true>(x, r, w, s, out);
}

void Med(const double* x, Range r, Window w, Semantics, double* out) {
  const i64 need = Need(w, 1);
  OrderKernel(x, r, w, kQuantileBufferMaxWindow, [&](const auto& tree, size_t t) {
    const size_t n = tree.size();
    if (static_cast<i64>(n) < need) {
      out[t] = kNaN;
    } else if (n % 2 == 1) {
      out[t] = tree.Kth(n / 2);
    } else {
      out[t] = (tree.Kth(n / 2) + tree.Kth(n / 2 - 1)) / 2;
    }
  });
}

void Quantile(const double* x, Range r, Window w, double q, Semantics s, double* out) {
  Quantiles(x, r, w, {&q, 1}, s, &out);
}

void Quantiles(const double* x, Range r, Window w, std::span<const double> qs, Semantics,
               double* const* outs) {
  const i64 need = Need(w, 1);
  OrderKernel(x, r, w, kQuantileBufferMaxWindow, [&](const auto& tree, size_t t) {
    const size_t n = tree.size();
    for (size_t k = 0; k < qs.size(); ++k) {
      const double q = qs[k];
      assert(q >= 0 && q <= 1);
      if (static_cast<i64>(n) < need) {
        outs[k][t] = kNaN;
        continue;
      }
      // pandas roll_quantile, interpolation='linear'.
      const double h = q * static_cast<double>(n - 1);
      const auto f = static_cast<size_t>(h);
      const double lo = tree.Kth(f);
      outs[k][t] = h == static_cast<double>(f)
                       ? lo
                       : lo + (tree.Kth(f + 1) - lo) * (h - static_cast<double>(f));
    }
  });
}

void Rank(const double* x, Range r, Window w, Semantics, double* out) {
  const i64 need = Need(w, 1);
  const size_t len = Length(w);
  if (len > 0 && len <= kRankDirectMaxWindow) {
    // Short windows: count directly. A branch-free compare loop over a few dozen values is
    // several times faster than maintaining a sorted window, and the result is the same integer
    // counts.
    for (size_t t = r.begin; t < r.end; ++t) {
      const double v = x[t];
      const size_t lo = Lo(t, len);
      i64 less = 0, less_eq = 0, n = 0;
      for (size_t i = lo; i <= t; ++i) {
        const double y = x[i];
        less += y < v;
        less_eq += y <= v;
        n += y == y;  // not NaN
      }
      out[t] = IsNan(v) || n < need
                   ? kNaN
                   : static_cast<double>(less + 1 + less_eq) / 2 / static_cast<double>(n);
    }
    return;
  }
  OrderKernel(x, r, w, kRankBufferMaxWindow, [&](const auto& tree, size_t t) {
    const size_t n = tree.size();
    if (IsNan(x[t]) || static_cast<i64>(n) < need) {
      out[t] = kNaN;
      return;
    }
    const double average = static_cast<double>(tree.Less(t) + 1 + tree.LessEq(t)) / 2;
    out[t] = average / static_cast<double>(n);
  });
}

void Mad(const double* x, Range r, Window w, Semantics, double* out) {
  const size_t len = Length(w);
  const i64 need = Need(w, 1);
  for (size_t t = r.begin; t < r.end; ++t) {
    const size_t lo = Lo(t, len);
    CSum sum;
    i64 n = 0;
    for (size_t i = lo; i <= t; ++i) {
      if (!IsNan(x[i])) {
        sum.Add(x[i]);
        ++n;
      }
    }
    if (n < need) {
      out[t] = kNaN;
      continue;
    }
    const double mean = sum.Value() / static_cast<double>(n);
    CSum dev;
    for (size_t i = lo; i <= t; ++i) {
      if (!IsNan(x[i])) dev.Add(std::fabs(x[i] - mean));
    }
    out[t] = dev.Value() / static_cast<double>(n);
  }
}

void Count(const double* x, Range r, Window w, Semantics, double* out) {
  if (r.begin >= r.end) return;
  const size_t len = Length(w);
  const auto rows_needed = static_cast<size_t>(w.min_periods);
  const size_t lo0 = Lo(r.begin, len);
  i64 n = 0;
  for (size_t t = lo0; t < r.end; ++t) {
    if (len != 0 && t >= lo0 + len && !IsNan(x[t - len])) --n;
    if (!IsNan(x[t])) ++n;
    if (t >= r.begin) {
      out[t] = t - Lo(t, len) + 1 < rows_needed ? kNaN : static_cast<double>(n);
    }
  }
}

// ---- Regression on time -------------------------------------------------------------------------

void Slope(const double* x, Range r, Window w, Semantics, double* out) {
  SlidingTrend<true> acc{x, Length(w), {}};
  const i64 need = Need(w, 2);
  Slide(acc, r, acc.len, [&](size_t t) { out[t] = acc.m.n() >= need ? acc.m.Slope() : kNaN; });
}

void Rsquare(const double* x, Range r, Window w, Semantics s, double* out) {
  SlidingTrend<true> acc{x, Length(w), {}};
  const i64 need = Need(w, 2);
  const bool mask = s == Semantics::kQlib && acc.len != 0;
  Slide(acc, r, acc.len, [&](size_t t) {
    if (acc.m.n() < need || (mask && acc.m.StdY() <= kQlibStdTolerance)) {
      out[t] = kNaN;
    } else {
      out[t] = acc.m.Rsquare();
    }
  });
}

void Resi(const double* x, Range r, Window w, Semantics, double* out) {
  SlidingTrend<true> acc{x, Length(w), {}};
  const i64 need = Need(w, 2);
  Slide(acc, r, acc.len,
        [&](size_t t) { out[t] = acc.m.n() >= need && !IsNan(x[t]) ? acc.m.Resi(x[t]) : kNaN; });
}

// ---- Weighted / exponential means ---------------------------------------------------------------

void Wma(const double* x, Range r, Window w, Semantics s, double* out) {
  SlidingTrend<false> acc{x, Length(w), {}};
  const i64 need = Need(w, 1);
  const bool qlib = s == Semantics::kQlib;
  Slide(acc, r, acc.len, [&](size_t t) {
    if (acc.m.n() < need) {
      out[t] = kNaN;
      return;
    }
    const i64 rows = static_cast<i64>(t - Lo(t, acc.len) + 1);
    // kQlib weighs the rows present 1..rows; kNative weighs slots, the current one `length`.
    const i64 top = qlib || acc.len == 0 ? rows : static_cast<i64>(acc.len);
    double num = 0;
    double den = 0;
    if (!acc.m.Weighted(top, &num, &den)) {
      out[t] = num;
    } else if (qlib) {  // nanmean(w * x), w = (1..rows) / Σ(1..rows)
      const double total = static_cast<double>(rows * (rows + 1) / 2);
      out[t] = num / total / static_cast<double>(acc.m.n());
    } else {
      out[t] = num / den;
    }
  });
}

void Ewm(const double* x, Range r, double alpha, double* out) {
  assert(alpha > 0 && alpha <= 1);
  if (r.begin >= r.end) return;
  // pandas ewma (aggregations.pyx) with adjust=True, ignore_na=False, min_periods=1.
  const double old_wt_factor = 1.0 - alpha;
  double weighted = x[0];
  double old_wt = 1.0;
  if (r.begin == 0) out[0] = weighted;
  for (size_t t = 1; t < r.end; ++t) {
    const double cur = x[t];
    const bool observed = !IsNan(cur);
    if (!IsNan(weighted)) {
      old_wt *= old_wt_factor;
      if (observed) {
        if (weighted != cur) weighted = (old_wt * weighted + cur) / (old_wt + 1.0);
        old_wt += 1.0;
      }
    } else if (observed) {
      weighted = cur;
    }
    if (t >= r.begin) out[t] = weighted;
  }
}

void QlibEma(const double* x, Range r, int span, double* out) {
  assert(span >= 0);
  if (span > 0) {
    Ewm(x, r, 2.0 / (span + 1.0), out);
    return;
  }
  // Qlib's expanding exp_weighted_mean: w_i = a^(L-1-i) / Σ_all w, result nansum(w * x).
  for (size_t t = r.begin; t < r.end; ++t) {
    const double a = 1.0 - 2.0 / (static_cast<double>(t) + 2.0);
    double num = 0;
    double den = 0;
    for (size_t i = 0; i <= t; ++i) {  // Horner: Σ a^(t-i) x_i
      num = num * a + (IsNan(x[i]) ? 0.0 : x[i]);
      den = den * a + 1.0;
    }
    out[t] = num / den;
  }
}

// ---- Shifts -------------------------------------------------------------------------------------

namespace {

/// x[t - k] if that row is in [0, end), else NaN; k == 0 under kQlib reads x[0].
double Lagged(const double* x, size_t end, size_t t, int k, Semantics s) {
  if (k == 0) return s == Semantics::kQlib ? x[0] : x[t];
  if (k > 0) return t >= static_cast<size_t>(k) ? x[t - static_cast<size_t>(k)] : kNaN;
  const size_t ahead = t + static_cast<size_t>(-static_cast<i64>(k));
  return ahead < end ? x[ahead] : kNaN;
}

}  // namespace

void Ref(const double* x, Range r, int k, Semantics s, double* out) {
  for (size_t t = r.begin; t < r.end; ++t)
    out[t] = Lagged(x, r.end, t, k, s);
}

void Delta(const double* x, Range r, int k, Semantics s, double* out) {
  for (size_t t = r.begin; t < r.end; ++t)
    out[t] = x[t] - Lagged(x, r.end, t, k, s);
}

// ---- Two series ---------------------------------------------------------------------------------

void Cov(const double* a, const double* b, Range r, Window w, Semantics, double* out) {
  SlidingPairs<false> acc{a, b, Length(w), {}, {}, {}};
  const i64 need = Need(w, 2);
  Slide(acc, r, acc.len, [&](size_t t) { out[t] = acc.p.n() >= need ? acc.p.Cov() : kNaN; });
}

void Corr(const double* a, const double* b, Range r, Window w, Semantics s, double* out) {
  const i64 need = Need(w, 2);
  if (s == Semantics::kQlib) {
    SlidingPairs<true> acc{a, b, Length(w), {}, {}, {}};
    Slide(acc, r, acc.len, [&](size_t t) {
      if (acc.p.n() < need || OwnStd(acc.ma) <= kQlibStdTolerance ||
          OwnStd(acc.mb) <= kQlibStdTolerance) {
        out[t] = kNaN;
      } else {
        out[t] = acc.p.Corr();
      }
    });
  } else {
    SlidingPairs<false> acc{a, b, Length(w), {}, {}, {}};
    Slide(acc, r, acc.len, [&](size_t t) { out[t] = acc.p.n() >= need ? acc.p.Corr() : kNaN; });
  }
}

}  // namespace qraft::expr::kernels
