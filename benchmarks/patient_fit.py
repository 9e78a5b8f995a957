"""One-patient Bayesian fit (``moasim fit patient``): time and optimum vs a generic quasi-Newton search.

Virtual ITP patients on romiplostim 3 ug/kg weekly (0.21 mg SC) with parameters drawn from the
population prior and weekly counts with the assay error (sd 0.093), records of 5-20 counts. Per
record, side by side in one run:

- ``moasim``: :func:`moasim.bayes.fit.fit_patient` (trust-region Gauss-Newton MAP of both mixture
  components + Laplace; then SIR, the default, with 1000 proposals);
- ``lbfgs``: scipy L-BFGS-B on the same -2 log posterior from the same start, with central-difference
  gradients whose 2n + 1 points run in one batched call (what a user writes with scipy alone),
  responder component only.

Reported: wall time, simulations, the -2 log posterior reached (lower is better) and the time
ratio lbfgs / moasim (responder component MAP only, the like-for-like part).

    python benchmarks/patient_fit.py [--weeks 4 9 14 19] [--patients 3]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def main() -> None:
    from scipy.optimize import minimize
    from test_patient_fit import _virtual_patient

    from moasim.bayes.fit import FIRST_EVALUATIONS, Z_BOUND, _minimise, _start, fit_patient

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--weeks", type=int, nargs="+", default=[4, 9, 14, 19])
    ap.add_argument("--patients", type=int, default=3)
    args = ap.parse_args()
    rng = np.random.default_rng(2026)
    warm, *_ = _virtual_patient(rng, 2, 0.21, 0.093)
    fit_patient(warm, "romiplostim", posterior="laplace")  # compile the kernels once
    print(f"{'counts':>6} {'MAP+Laplace s':>13} {'default (SIR) s':>15} {'GN MAP s':>8} {'GN sims':>7} {'GN -2LP':>9} "
          f"{'L-BFGS s':>8} {'L-BFGS sims':>11} {'L-BFGS -2LP':>11} {'ratio':>6}")
    for weeks in args.weeks:
        for _ in range(args.patients):
            seen, *_ = _virtual_patient(rng, weeks, 0.21, 0.093)
            t0 = time.perf_counter()
            fit = fit_patient(seen, "romiplostim", posterior="laplace")
            t_laplace = time.perf_counter() - t0
            t0 = time.perf_counter()
            fit_patient(seen, "romiplostim")
            t_sir = time.perf_counter() - t0
            p = fit.problem
            calls = [0]
            orig = p.residuals

            def counted(Z, nr=False, coarse=False):
                calls[0] += len(np.atleast_2d(Z))
                return orig(Z, nr, coarse)

            p.residuals = counted
            z0 = _start(p)
            t0 = time.perf_counter()
            gn = _minimise(p, False, z0, FIRST_EVALUATIONS * 8)
            t_gn, n_gn = time.perf_counter() - t0, calls[0]
            calls[0] = 0

            def f_and_g(z, h=0.02):
                n = len(z)
                E = np.eye(n) * h
                f = p.objectives(np.vstack([z, z + E, z - E]))
                return f[0], (f[1:n + 1] - f[n + 1:]) / (2 * h)

            t0 = time.perf_counter()
            lb = minimize(f_and_g, z0, jac=True, method="L-BFGS-B", bounds=[(-Z_BOUND, Z_BOUND)] * len(z0),
                          options={"maxiter": 200, "ftol": 1e-9, "gtol": 1e-4})
            t_lb, n_lb = time.perf_counter() - t0, calls[0]
            print(f"{len(p.t_obs):>6} {t_laplace:>13.2f} {t_sir:>15.2f} {t_gn:>8.2f} {n_gn:>7} {gn.fun:>9.3f} "
                  f"{t_lb:>8.2f} {n_lb:>11} {lb.fun:>11.3f} {t_lb / t_gn:>6.1f}")


if __name__ == "__main__":
    main()
