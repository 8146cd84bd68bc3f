// Times Qraft's TA-Lib compatible indicator kernels (qraft/expr/kernels/ta.h) on one long
// synthetic OHLCV series, single-threaded, as TA-Lib runs. Prints one JSON line.
//
//   ta_bench --data FILE [--bars N] [--seed S] [--repeat R] [--only SMA,EMA,...]
//
// FILE holds the series as five consecutive little-endian float64 arrays of N values (open, high,
// low, close, volume). If it is missing or has another size it is generated (seeded, so the same
// bytes every time) and written first; bench/peers_expr.py then hands the same file to TA-Lib
// (numpy.fromfile), so both sides compute on identical inputs.
//
// Each call allocates its outputs (uninitialised, the way numpy allocates the arrays TA-Lib's
// Python wrapper returns: see AllocLikeNumpy) and computes the whole series; every output of a
// multi-output indicator is computed (MACD 3, BBANDS 3, STOCH 2). Per indicator: first call
// untimed, then best and median of R calls; a checksum (sum of the finite values, NaN count) and a
// few sampled values of the last call's outputs let the peer check that both computed the same
// numbers.
#include <fmt/format.h>
#include <sys/mman.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <functional>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "qraft/expr/kernels/ta.h"

namespace {

namespace ta = qraft::expr::kernels::ta;
using qraft::expr::kernels::Range;
using Clock = std::chrono::steady_clock;

struct Series {
  std::size_t n = 0;
  std::vector<double> open, high, low, close, volume;
};

std::uint64_t SplitMix64(std::uint64_t& s) {
  std::uint64_t z = (s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// A standard normal draw (Box-Muller; one value per call, the second discarded for simplicity).
double Normal(std::uint64_t& s) {
  const double u1 = (static_cast<double>(SplitMix64(s) >> 11) + 0.5) * 0x1.0p-53;
  const double u2 = static_cast<double>(SplitMix64(s) >> 11) * 0x1.0p-53;
  return std::sqrt(-2.0 * std::log(u1)) * std::cos(2.0 * M_PI * u2);
}

// A mean-reverting log-price random walk around 100 (daily sigma 1%; it stays within a few
// multiples of 100 over any length), with open/high/low/volume around it.
Series Generate(std::size_t n, std::uint64_t seed) {
  Series x;
  x.n = n;
  x.open.resize(n), x.high.resize(n), x.low.resize(n), x.close.resize(n), x.volume.resize(n);
  std::uint64_t s = seed;
  double logp = std::log(100.0), prev_close = 100.0;
  for (std::size_t t = 0; t < n; ++t) {
    logp += 0.01 * Normal(s) - 0.001 * (logp - std::log(100.0));
    const double c = std::exp(logp);
    const double o = prev_close * std::exp(0.002 * Normal(s));
    x.open[t] = o;
    x.close[t] = c;
    x.high[t] = std::max(o, c) * (1.0 + std::abs(0.005 * Normal(s)));
    x.low[t] = std::min(o, c) * (1.0 - std::abs(0.005 * Normal(s)));
    x.volume[t] = std::round(1e6 * std::exp(0.5 * Normal(s)));
    prev_close = c;
  }
  return x;
}

bool Load(const std::string& path, std::size_t n, Series& x) {
  std::error_code ec;
  if (std::filesystem::file_size(path, ec) != 5 * n * sizeof(double) || ec) return false;
  std::FILE* f = std::fopen(path.c_str(), "rb");
  if (f == nullptr) return false;
  x.n = n;
  bool ok = true;
  for (auto* v : {&x.open, &x.high, &x.low, &x.close, &x.volume}) {
    v->resize(n);
    ok = ok && std::fread(v->data(), sizeof(double), n, f) == n;
  }
  std::fclose(f);
  return ok;
}

void Save(const std::string& path, const Series& x) {
  const std::string tmp = path + ".tmp";
  std::FILE* f = std::fopen(tmp.c_str(), "wb");
  if (f == nullptr) {
    std::fprintf(stderr, "ta_bench: cannot write %s\n", tmp.c_str());
    std::exit(1);
  }
  for (const auto* v : {&x.open, &x.high, &x.low, &x.close, &x.volume})
    std::fwrite(v->data(), sizeof(double), x.n, f);
  std::fclose(f);
  std::filesystem::rename(tmp, path);
}

struct FreeDeleter {
  void operator()(double* p) const { std::free(p); }
};
using Buffer = std::unique_ptr<double[], FreeDeleter>;
using Outputs = std::vector<Buffer>;

// An output array allocated as numpy allocates one (numpy/_core/src/multiarray/alloc.c): malloc,
// and for 4 MiB or more madvise(MADV_HUGEPAGE) from the first page boundary, so that both sides
// pay the same page faults (with transparent huge pages in "madvise" mode the hint matters).
Buffer AllocLikeNumpy(std::size_t n) {
  const std::size_t bytes = n * sizeof(double);
  auto* p = static_cast<double*>(std::malloc(bytes));
  if (p == nullptr) std::abort();
  if (bytes >= (std::size_t{1} << 22)) {
    const auto addr = reinterpret_cast<std::uintptr_t>(p);
    const std::uintptr_t offset = 4096u - addr % 4096u;
    madvise(reinterpret_cast<void*>(addr + offset), bytes - offset, MADV_HUGEPAGE);
  }
  return Buffer(p);
}

struct Indicator {
  const char* name;
  int outputs;
  std::function<void(const Series&, Range, double**)> run;
};

// TA-Lib's default parameters throughout (ta.h defaults), as talib.FUNC(...) without arguments.
std::vector<Indicator> Indicators() {
  namespace d = ta::defaults;
  return {
      {"SMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Sma(x.close.data(), r, d::kSmaPeriod, o[0]);
       }},
      {"EMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Ema(x.close.data(), r, d::kEmaPeriod, o[0]);
       }},
      {"WMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Wma(x.close.data(), r, d::kWmaPeriod, o[0]);
       }},
      {"DEMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Dema(x.close.data(), r, d::kDemaPeriod, o[0]);
       }},
      {"TEMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Tema(x.close.data(), r, d::kTemaPeriod, o[0]);
       }},
      {"KAMA", 1,
       [](const Series& x, Range r, double** o) {
         ta::Kama(x.close.data(), r, d::kKamaPeriod, o[0]);
       }},
      {"ROC", 1,
       [](const Series& x, Range r, double** o) {
         ta::Roc(x.close.data(), r, d::kRocPeriod, o[0]);
       }},
      {"MOM", 1,
       [](const Series& x, Range r, double** o) {
         ta::Mom(x.close.data(), r, d::kMomPeriod, o[0]);
       }},
      {"RSI", 1,
       [](const Series& x, Range r, double** o) {
         ta::Rsi(x.close.data(), r, d::kRsiPeriod, o[0]);
       }},
      {"MACD", 3,
       [](const Series& x, Range r, double** o) {
         ta::Macd(x.close.data(), r, d::kMacdFast, d::kMacdSlow, d::kMacdSignal, o[0], o[1], o[2]);
       }},
      {"BBANDS", 3,
       [](const Series& x, Range r, double** o) {
         ta::Bbands(x.close.data(), r, d::kBbandsPeriod, d::kBbandsDevUp, d::kBbandsDevDn, o[0],
                    o[1], o[2]);
       }},
      {"STOCH", 2,
       [](const Series& x, Range r, double** o) {
         ta::Stoch(x.high.data(), x.low.data(), x.close.data(), r, d::kStochFastK, d::kStochSlowK,
                   d::kStochSlowD, o[0], o[1]);
       }},
      {"CCI", 1,
       [](const Series& x, Range r, double** o) {
         ta::Cci(x.high.data(), x.low.data(), x.close.data(), r, d::kCciPeriod, o[0]);
       }},
      {"WILLR", 1,
       [](const Series& x, Range r, double** o) {
         ta::Willr(x.high.data(), x.low.data(), x.close.data(), r, d::kWillrPeriod, o[0]);
       }},
      {"MFI", 1,
       [](const Series& x, Range r, double** o) {
         ta::Mfi(x.high.data(), x.low.data(), x.close.data(), x.volume.data(), r, d::kMfiPeriod,
                 o[0]);
       }},
      {"OBV", 1,
       [](const Series& x, Range r, double** o) {
         ta::Obv(x.close.data(), x.volume.data(), r, o[0]);
       }},
      {"TRANGE", 1,
       [](const Series& x, Range r, double** o) {
         ta::Trange(x.high.data(), x.low.data(), x.close.data(), r, o[0]);
       }},
      {"ATR", 1,
       [](const Series& x, Range r, double** o) {
         ta::Atr(x.high.data(), x.low.data(), x.close.data(), r, d::kAtrPeriod, o[0]);
       }},
      {"NATR", 1,
       [](const Series& x, Range r, double** o) {
         ta::Natr(x.high.data(), x.low.data(), x.close.data(), r, d::kNatrPeriod, o[0]);
       }},
      {"ADX", 1,
       [](const Series& x, Range r, double** o) {
         ta::Adx(x.high.data(), x.low.data(), x.close.data(), r, d::kAdxPeriod, o[0]);
       }},
  };
}

}  // namespace

int main(int argc, char** argv) {
  std::string data_path, only;
  std::size_t bars = 10'000'000;
  std::uint64_t seed = 7;
  int repeat = 5;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string arg = argv[i];
    if (arg == "--data")
      data_path = argv[i + 1];
    else if (arg == "--bars")
      bars = std::stoull(argv[i + 1]);
    else if (arg == "--seed")
      seed = std::stoull(argv[i + 1]);
    else if (arg == "--repeat")
      repeat = std::max(1, std::atoi(argv[i + 1]));
    else if (arg == "--only")
      only = std::string(",") + argv[i + 1] + ",";
    else {
      std::fprintf(stderr, "ta_bench: unknown argument %s\n", arg.c_str());
      return 2;
    }
  }
  if (data_path.empty()) {
    std::fprintf(stderr,
                 "usage: ta_bench --data FILE [--bars N] [--seed S] [--repeat R] [--only A,B]\n");
    return 2;
  }
  Series x;
  if (!Load(data_path, bars, x)) {
    x = Generate(bars, seed);
    Save(data_path, x);
  }
  const Range all{0, x.n};
  const std::size_t samples[] = {x.n / 3, x.n / 2, x.n - 1};
  std::string json = fmt::format(R"({{"bars": {}, "repeat": {}, "indicators": {{)", x.n, repeat);
  bool first = true;
  for (const Indicator& ind : Indicators()) {
    if (!only.empty() && only.find(std::string(",") + ind.name + ",") == std::string::npos)
      continue;
    std::vector<double> times;
    Outputs outs;
    for (int r = 0; r <= repeat; ++r) {
      const auto t0 = Clock::now();
      outs.clear();  // the previous call's outputs are freed before the next call, as in Python
      std::vector<double*> ptrs;
      for (int k = 0; k < ind.outputs; ++k) {
        outs.push_back(AllocLikeNumpy(x.n));
        ptrs.push_back(outs.back().get());
      }
      ind.run(x, all, ptrs.data());
      const auto t1 = Clock::now();
      if (r > 0) times.push_back(std::chrono::duration<double>(t1 - t0).count());
    }
    std::sort(times.begin(), times.end());
    std::string sums, nans, sampled;
    for (int k = 0; k < ind.outputs; ++k) {
      double s = 0, comp = 0;  // Neumaier-compensated, as accurate as numpy's pairwise nansum
      std::size_t nan = 0;
      for (std::size_t i = 0; i < x.n; ++i) {
        const double v = outs[k][i];
        nan += std::isnan(v);
        if (!std::isfinite(v)) continue;
        const double t = s + v;
        comp += std::abs(s) >= std::abs(v) ? (s - t) + v : (v - t) + s;
        s = t;
      }
      s += comp;
      sums += fmt::format("{}{:.17g}", k ? ", " : "", s);
      nans += fmt::format("{}{}", k ? ", " : "", nan);
      for (std::size_t i : samples) {
        const double v = outs[k][i];
        sampled += (sampled.empty() ? "" : ", ") +
                   (std::isfinite(v) ? fmt::format("{:.17g}", v) : std::string("null"));
      }
    }
    json += fmt::format(
        R"({}"{}": {{"best_s": {:.5f}, "median_s": {:.5f}, "checksum": [{}], "nan": [{}], "samples": [{}]}})",
        first ? "" : ", ", ind.name, times.front(), times[times.size() / 2], sums, nans, sampled);
    first = false;
  }
  json += fmt::format(R"(}}, "sample_index": [{}, {}, {}]}})", samples[0], samples[1], samples[2]);
  std::printf("%s\n", json.c_str());
  return 0;
}
