// Times the gates' statistics (src/qraft/robust) on the input bench/peers_robust.py gives arch:
// K strategies x T days, SplitMix64(2026) uniforms in column-major order, daily return
// 0.02 (u - 0.5) + 1e-4 j / K for strategy j and 0.02 (u - 0.5) for the benchmark (drawn last),
// losses = negated returns (reference/robust/SPEC.md §2.1).
//
//   robust_bench [--strategies 1000] [--days 1259] [--reps 10000] [--block 10] [--repeat 3]
//
// Timed: StepM (size 0.05) with its first step's SPA, whose three p-values include White's
// Reality Check (the upper one): one bootstrap of `reps` replications serves all three, in each
// mode (arch_compat, hansen2005); PBO by CSCV with S = 16 on the strategies' returns; the
// Politis-White block length of every strategy's differential. Best of --repeat, after one
// untimed run. Prints one JSON line per benchmark (bench/run.sh's rows).
#include <fmt/format.h>
#include <tbb/global_control.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "qraft/robust/bootstrap.h"
#include "qraft/robust/pbo.h"
#include "qraft/robust/spa.h"

namespace {

using Clock = std::chrono::steady_clock;
using namespace qraft;

template <class F>
double Best(int repeat, F f) {
  f();  // warm-up
  double best = 1e300;
  for (int r = 0; r < repeat; ++r) {
    const auto t0 = Clock::now();
    f();
    best = std::min(best, std::chrono::duration<double>(Clock::now() - t0).count());
  }
  return best;
}

void Die(const Status& st) {
  std::fprintf(stderr, "robust_bench: %s\n", st.ToString().c_str());
  std::exit(1);
}

}  // namespace

int main(int argc, char** argv) {
#ifndef NDEBUG
  std::fprintf(stderr,
               "robust_bench: WARNING: assertions are enabled; numbers are not meaningful\n");
#endif
  std::size_t K = 1000, T = 1259, reps = 10000;
  double block = 10;
  int repeat = 3;
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string k = argv[i];
    const double v = std::atof(argv[i + 1]);
    if (k == "--strategies")
      K = static_cast<std::size_t>(v);
    else if (k == "--days")
      T = static_cast<std::size_t>(v);
    else if (k == "--reps")
      reps = static_cast<std::size_t>(v);
    else if (k == "--block")
      block = v;
    else if (k == "--repeat")
      repeat = static_cast<int>(v);
  }
  robust::SplitMix64 rng(2026);
  std::vector<double> returns(K * T), loss(K * T), bench(T), bench_loss(T);
  for (std::size_t j = 0; j < K; ++j) {
    for (std::size_t t = 0; t < T; ++t) {
      returns[j * T + t] =
          0.02 * (rng.Uniform() - 0.5) + 1e-4 * static_cast<double>(j) / static_cast<double>(K);
      loss[j * T + t] = -returns[j * T + t];
    }
  }
  for (std::size_t t = 0; t < T; ++t) {
    bench[t] = 0.02 * (rng.Uniform() - 0.5);
    bench_loss[t] = -bench[t];
  }
  const robust::MatrixView models{.data = loss, .rows = T, .cols = K};
  const std::size_t threads =
      tbb::global_control::active_value(tbb::global_control::max_allowed_parallelism);

  for (const auto mode : {robust::SpaMode::kArchCompat, robust::SpaMode::kHansen2005}) {
    robust::StepMOptions o;
    o.spa.mode = mode;
    o.spa.reps = reps;
    o.spa.block = block;
    o.spa.seed = 1;
    o.size = 0.05;
    robust::StepMResult result;
    const double s = Best(repeat, [&] {
      auto r = robust::StepM(bench_loss, models, o);
      if (!r.ok()) Die(r.status());
      result = std::move(*r);
    });
    const char* name = mode == robust::SpaMode::kArchCompat ? "arch_compat" : "hansen2005";
    std::printf(
        "%s\n",
        fmt::format(R"({{"benchmark": "robust_spa_qraft_{}", "contender": "qraft", "mode": "{}", )"
                    R"("strategies": {}, "days": {}, "reps": {}, "block": {}, "threads": {}, )"
                    R"("best_s": {:.6f}, "p_consistent": {}, "rc_p": {}, "stepm_superior": {}, )"
                    R"("steps": {}}})",
                    name, name, K, T, reps, block, threads, s,
                    result.spa.pvalue(robust::Recentering::kConsistent),
                    result.spa.reality_check_pvalue(), result.superior.size(), result.steps.size())
            .c_str());
  }

  {
    robust::PboOptions o;
    o.blocks = 16;
    robust::PboResult result;
    const robust::MatrixView r{.data = returns, .rows = T, .cols = K};
    const double s = Best(repeat, [&] {
      auto p = robust::PboCscv(r, o);
      if (!p.ok()) Die(p.status());
      result = std::move(*p);
    });
    std::printf("%s\n", fmt::format(R"({{"benchmark": "robust_pbo_qraft", "contender": "qraft", )"
                                    R"("strategies": {}, "days": {}, "blocks": 16, "splits": {}, )"
                                    R"("threads": {}, "best_s": {:.6f}, "pbo": {}}})",
                                    K, T, result.n_combos, threads, s, result.pbo)
                            .c_str());
  }

  {
    std::vector<double> diff(K * T);
    for (std::size_t j = 0; j < K; ++j)
      for (std::size_t t = 0; t < T; ++t)
        diff[j * T + t] = returns[j * T + t] - bench[t];
    const robust::MatrixView d{.data = diff, .rows = T, .cols = K};
    double longest = 0;
    const double s = Best(repeat, [&] {
      auto b = robust::OptimalBlockLengths(d);
      if (!b.ok()) Die(b.status());
      longest = robust::BootstrapBlock(*b, robust::BootstrapKind::kStationary);
    });
    std::printf("%s\n",
                fmt::format(R"({{"benchmark": "robust_blocklen_qraft", "contender": "qraft", )"
                            R"("strategies": {}, "days": {}, "threads": {}, )"
                            R"("best_s": {:.6f}, "block": {}}})",
                            K, T, threads, s, longest)
                    .c_str());
  }
  return 0;
}
