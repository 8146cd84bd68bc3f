"""Cross-check of Qraft's robust statistics against arch itself (reference/robust/SPEC.md §4.1), end to
end through `qraft robust`:

  * SPA / Reality Check / StepM (arch_compat mode) with fed indices: both sides draw their bootstrap
    from the same portable generator (SplitMix64, one stream, `reps` consecutive stationary-bootstrap
    index vectors, SPEC §7.0). arch's bootstrap is monkeypatched to take Qraft's index vectors, so the
    p-values must be equal exactly, the critical values to 1e-12, and better_models and StepM's
    superior set exactly.
  * Politis-White block lengths: arch.bootstrap.optimal_block_length on every column, to 1e-10.

The data follow SPEC §7.2's make_data (AR(1) losses around 1 with a linear spread of model shifts),
written as returns (the negated losses) to a CSV that `qraft robust` reads; Qraft negates them back,
exactly. Cases vary seed, T, k, shifts, block, reps and StepM's size, including searches where
StepM rejects in several steps. A case where a later StepM step would reject every remaining model
(arch crashes there, SPEC §2.7) is avoided; Qraft's unit tests cover it.

PBO has no PyPI peer (pypbo is not on PyPI); src/qraft/robust/pbo_test.cc reproduces SPEC §7.4's
vectors, which pypbo produced.

    python3 scripts/peers/robust_crosscheck.py --qraft build/bin/qraft [--out FILE]

Prints one line per case and check and exits 1 on any mismatch. --out writes the same lines (the
committed copy is scripts/peers/robust_crosscheck.out).
"""
import argparse
import json
import subprocess
import sys
import tempfile
from pathlib import Path

import numpy as np

MASK = (1 << 64) - 1


class SplitMix64:
    def __init__(self, seed):
        self.s = seed & MASK

    def next_u64(self):
        self.s = (self.s + 0x9E3779B97F4A7C15) & MASK
        z = self.s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def uniform(self):
        return (self.next_u64() >> 11) * 2.0 ** -53

    def uniforms(self, n):
        """n draws at once, the same values as n calls of uniform()."""
        golden = np.uint64(0x9E3779B97F4A7C15)
        with np.errstate(over="ignore"):
            s = np.uint64(self.s) + golden * np.arange(1, n + 1, dtype=np.uint64)
            z = (s ^ (s >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
            z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
            z = z ^ (z >> np.uint64(31))
        self.s = (self.s + 0x9E3779B97F4A7C15 * n) & MASK
        return (z >> np.uint64(11)).astype(np.float64) * 2.0 ** -53


def make_data(seed, t_len, k, lo, hi, phi=0.3):
    """SPEC §7.2: bench and model losses, AR(1) around 1, model shifts linspace(lo, hi, k)."""
    g = SplitMix64(seed)
    shift = np.linspace(lo, hi, k)
    bench = np.empty(t_len)
    models = np.empty((t_len, k))
    pb = 0.0
    pm = [0.0] * k
    for t in range(t_len):
        pb = phi * pb + (g.uniform() - 0.5)
        bench[t] = 1 + pb
        for j in range(k):
            pm[j] = phi * pm[j] + (g.uniform() - 0.5)
            models[t, j] = (1.0 + pm[j]) + shift[j]
    return bench, models


def sb_indices(seed, t_len, block, reps):
    """reps consecutive stationary-bootstrap index vectors of one SplitMix64(seed) stream (§7.0)."""
    g = SplitMix64(seed)
    p = 1.0 / block
    out = []
    for _ in range(reps):
        u = g.uniforms(2 * t_len)
        idx = (u[:t_len] * t_len).astype(np.int64)
        v = u[t_len:]
        for i in range(1, t_len):
            if v[i] > p:
                idx[i] = idx[i - 1] + 1
                if idx[i] == t_len:
                    idx[i] = 0
        out.append(idx)
    return out


def qraft_json(qraft, *args):
    proc = subprocess.run([qraft, "robust", *map(str, args), "--json"], capture_output=True, text=True)
    if proc.returncode != 0:
        raise SystemExit(f"qraft robust {' '.join(map(str, args))} failed:\n{proc.stderr}")
    return json.loads(proc.stdout)


CASES = [  # name, data seed, T, k, lo, hi, block, reps, index seed, size
    ("spread", 11, 500, 8, -0.06, 0.02, 10, 400, 99, 0.05),
    ("none_better", 12, 500, 8, 0.0, 0.10, 10, 400, 98, 0.05),
    ("mixed", 22, 300, 6, -0.03, 0.03, 5, 500, 1022, 0.10),
    ("steps", 21, 300, 6, -0.12, -0.02, 5, 300, 1021, 0.10),
    ("wide", 31, 800, 20, -0.08, 0.05, 15, 500, 7, 0.05),
    ("long_blocks", 41, 1000, 12, -0.05, 0.03, 40, 300, 8, 0.05),
]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--qraft", default="build/bin/qraft")
    ap.add_argument("--out")
    a = ap.parse_args()
    import arch
    from arch.bootstrap import SPA, StepM, optimal_block_length

    lines = [f"arch {arch.__version__}, numpy {np.__version__}"]
    failures = 0

    def check(name, ok, detail):
        nonlocal failures
        failures += not ok
        lines.append(f"{'ok  ' if ok else 'FAIL'} {name}: {detail}")
        print(lines[-1], flush=True)

    with tempfile.TemporaryDirectory() as tmp:
        for name, seed, t_len, k, lo, hi, block, reps, idx_seed, size in CASES:
            bench, models = make_data(seed, t_len, k, lo, hi)
            csv = Path(tmp) / f"{name}.csv"
            cols = [f"m{j}" for j in range(k)]
            with open(csv, "w") as f:  # returns = negated losses, shortest round-trip repr
                f.write(",".join(cols + ["bench"]) + "\n")
                for t in range(t_len):
                    f.write(",".join(repr(float(-x)) for x in [*models[t], bench[t]]) + "\n")
            q = qraft_json(a.qraft, "spa", csv, "--benchmark", "bench", "--mode", "arch_compat", "--reps", reps,
                           "--block", block, "--seed", idx_seed, "--size", size)
            indices = sb_indices(idx_seed, t_len, block, reps)
            spa = SPA(bench, models, block_size=block, reps=reps)
            it = iter(indices)
            spa.bootstrap.update_indices = lambda: next(it)
            spa.compute()
            p = spa.pvalues
            qp = q["pvalues"]
            check(f"{name} spa p-values", [qp["lower"], qp["consistent"], qp["upper"]] ==
                  [float(p["lower"]), float(p["consistent"]), float(p["upper"])],
                  f"qraft {[qp['lower'], qp['consistent'], qp['upper']]} arch {[float(x) for x in p.values]}")
            crit = spa.critical_values(size)
            qc = q["critical_values"]
            err = max(abs(qc[kk] - float(crit[kk])) / max(abs(float(crit[kk])), 1e-300)
                      for kk in ("lower", "consistent", "upper"))
            check(f"{name} critical values", err <= 1e-12, f"largest relative difference {err:.1e}")
            better = [f"m{int(j)}" for j in spa.better_models(size)]
            check(f"{name} better models", q["better_models"] == better, f"qraft {q['better_models']} arch {better}")
            sm = StepM(bench, models, size=size, block_size=block, reps=reps)
            it2 = iter(sb_indices(idx_seed, t_len, block, reps))
            sm.spa.bootstrap.update_indices = lambda: next(it2)
            sm.compute()
            superior = [f"m{int(j)}" for j in sm.superior_models]
            check(f"{name} stepm", q["stepm"] == superior, f"qraft {q['stepm']} arch {superior}")
            bl = qraft_json(a.qraft, "blocklen", csv)
            ref = optimal_block_length(-np.column_stack([models, bench]))
            err = 0.0
            for j, s in enumerate(bl["series"]):
                for col in ("stationary", "circular"):
                    r = float(ref.iloc[j][col])
                    err = max(err, abs(s[col] - r) / max(abs(r), 1e-300))
            check(f"{name} block lengths", err <= 1e-10, f"{k + 1} series, largest relative difference {err:.1e}")
    lines.append(f"{failures} failures")
    print(lines[-1])
    if a.out:
        Path(a.out).write_text("\n".join(lines) + "\n")
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
