"""Speed of arch's multiple-comparison tests, the peer of Qraft's robust library (bench/robust_bench.cc):
Hansen's SPA, White's Reality Check and Romano-Wolf's StepM for K strategies x T days x B bootstrap
replications, on the same input Qraft times.

    python3 bench/peers_robust.py [--strategies 1000] [--days 1259] [--reps 10000] [--block 10]

The input (seeded, portable, identical in both: reference/robust/SPEC.md §7.0): SplitMix64(2026), one
uniform u per value in column-major order (strategy j's T days, then j + 1's), daily return
0.02 (u - 0.5) + 1e-4 j / K for strategy j and 0.02 (u - 0.5) for the benchmark (drawn last). Losses
are the negated returns. arch: SPA(studentize=True, nested=False), RealityCheck (its "upper" p-value is
White's, SPEC §2.1), StepM(size=0.05),
each with a stationary bootstrap of mean block length --block and seed 1; compute() of each is timed
(arch draws its own indices, so its p-values are only statistically comparable to Qraft's).

Prints one JSON object: {"benchmark": "robust_spa_arch", "contender": "arch", "strategies", "days",
"reps", "block", "spa_s", "rc_s", "stepm_s", "best_s" (their sum), "p_consistent", "rc_p",
"stepm_superior", "versions"}.
"""
import argparse
import json
import sys
import time

import numpy as np


def splitmix_uniforms(seed, n):
    """The first n uniforms of SplitMix64(seed): (z >> 11) * 2^-53, as the C++ generator."""
    golden = np.uint64(0x9E3779B97F4A7C15)
    with np.errstate(over="ignore"):
        s = np.uint64(seed) + golden * np.arange(1, n + 1, dtype=np.uint64)
        z = s
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def make_input(k, t):
    u = splitmix_uniforms(2026, k * t + t)
    models = (0.02 * (u[: k * t] - 0.5)).reshape(k, t).T.copy()  # column-major: strategy j = column j
    models += 1e-4 * np.arange(k) / k
    bench = 0.02 * (u[k * t:] - 0.5)
    return models, bench


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--strategies", type=int, default=1000)
    ap.add_argument("--days", type=int, default=1259)
    ap.add_argument("--reps", type=int, default=10000)
    ap.add_argument("--block", type=float, default=10)
    a = ap.parse_args()
    import arch
    from arch.bootstrap import SPA, RealityCheck, StepM

    models, bench = make_input(a.strategies, a.days)
    out = {"benchmark": "robust_spa_arch", "contender": "arch", "strategies": a.strategies,
           "days": a.days, "reps": a.reps, "block": a.block}
    t0 = time.perf_counter()
    spa = SPA(-bench, -models, reps=a.reps, block_size=a.block, studentize=True, nested=False, seed=1)
    spa.compute()
    t1 = time.perf_counter()
    rc = RealityCheck(-bench, -models, reps=a.reps, block_size=a.block, seed=1)
    rc.compute()
    t2 = time.perf_counter()
    stepm = StepM(-bench, -models, size=0.05, reps=a.reps, block_size=a.block, seed=1)
    stepm.compute()
    t3 = time.perf_counter()
    out.update(spa_s=t1 - t0, rc_s=t2 - t1, stepm_s=t3 - t2, best_s=t3 - t0,
               p_consistent=float(spa.pvalues["consistent"]), rc_p=float(rc.pvalues["upper"]),
               stepm_superior=len(stepm.superior_models),
               versions={"arch": arch.__version__, "numpy": np.__version__,
                         "python": sys.version.split()[0]})
    print(json.dumps(out))


if __name__ == "__main__":
    main()
