"""Individual Bayesian fit of one ITP patient: MAP estimate, Laplace approximation, SIR or MCMC draws.

For each mixture component (responder; receptor-level non-responder where the drug has a
published fraction) the -2 log posterior of :class:`~moasim.bayes._patient.PatientProblem` is
minimised (trust-region Gauss-Newton on the weighted residuals, scipy ``least_squares``, from
the typical patient; Jacobians by forward differences in one batched run), and its Gauss-Newton Hessian H = 2 J'J
gives the Laplace approximation z ~ N(z_MAP, 2 H^-1). Component weights are the prior
fraction times the Laplace marginal likelihood, exp(-OBJ/2) sqrt(det(2 pi 2 H^-1)) (Tierney &
Kadane 1986). The posterior beyond the MAP is then represented by sampling importance
resampling of Laplace draws (default; Dosne 2016), by the Laplace normal itself, or by emcee's
affine-invariant ensemble sampler (Foreman-Mackey 2013) within each component.

References
----------
- Tierney L, Kadane JB 1986 J Am Stat Assoc 81:82 (Laplace approximation of marginal likelihoods).
- Foreman-Mackey D et al. 2013 PASP 125:306 (emcee).
- Dosne AG et al. 2016 J Pharmacokinet Pharmacodyn 43:583 (sampling importance resampling for parameter uncertainty).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ..errors import DataError, FitError, invalid_value
from ..event_data import read_drug_dataset, subject_for
from ..population._sampling import RESIDUAL_SD
from ._patient import PatientProblem

__all__ = ["PatientFit", "fit_patient", "Component"]

#: largest curvature of the -2 log posterior kept in the Laplace covariance (posterior SD >= 0.014 prior SD)
MAX_CURVATURE = 1e4
#: SIR: draws from the (inflated) Laplace proposal, and draws kept
SIR_PROPOSALS, SIR_RESAMPLE = 1000, 400
#: MAP search: evaluations every component gets, and the most for one that has a chance (see :func:`_minima`)
FIRST_EVALUATIONS, MAX_EVALUATIONS = 15, 100
#: a mixture component this much worse (-2 log posterior) than the best after FIRST_EVALUATIONS is not searched further
HOPELESS = 40.0
#: the search stays within this many prior SDs of the typical patient (prior mass beyond: < 1e-9)
Z_BOUND = 6.0
#: SIR is kept only when its importance weights are spread over at least this many draws
#: (effective sample size); below, the proposals missed the posterior and the resampled
#: intervals can exclude the MAP itself: the Laplace approximation is reported instead
SIR_MIN_ESS = 50.0
#: RMS of the weighted residuals (in assay SDs) above which a fit is reported as a misfit: high,
#: because the within-patient drift of disease activity, not in the likelihood, also spreads real
#: counts beyond the assay error; meant for gross misfits (wrong units, missing doses)
MISFIT_RMS = 6.0


@dataclass(frozen=True, kw_only=True)
class Component:
    """One mixture component's MAP and Laplace covariance (standardised parameters z)."""

    non_responder: bool
    z: np.ndarray
    cov: np.ndarray
    objective: float
    weight: float


@dataclass(frozen=True, kw_only=True)
class PatientFit:
    """Result of :func:`fit_patient`.

    ``components`` holds the responder (and non-responder) fits with posterior weights;
    ``samples`` / ``sample_nonresponder`` are posterior draws (standardised z, component flag)
    from SIR or MCMC, None with ``posterior="laplace"``.
    """

    problem: PatientProblem = field(repr=False)
    components: tuple[Component, ...]
    samples: np.ndarray | None = field(default=None, repr=False)
    sample_nonresponder: np.ndarray | None = field(default=None, repr=False)
    method: str = "MAP + Laplace"
    ess: float | None = None  # effective sample size of the importance weights (SIR)

    @property
    def best(self) -> Component:
        return max(self.components, key=lambda c: c.weight)

    def parameters(self) -> dict:
        """``{NAME: {"estimate", "ci95", "prior", "unit"}}``: MAP of the likelier component and the
        95% interval of the posterior (of the samples when present, else the Laplace mixture's exact quantiles)."""
        out = {}
        for k, p in enumerate(self.problem.priors):
            if self.samples is None:  # quantiles of the Laplace mixture's marginal in z (exact)
                lo, hi = (_mixture_quantile(self.components, k, q) for q in (0.025, 0.975))
            else:
                lo, hi = np.percentile(self.samples[:, k], [2.5, 97.5])
            out[p.name] = {"estimate": float(p.typical * math.exp(p.omega * self.best.z[k])),
                           "ci95": [float(p.typical * math.exp(p.omega * lo)), float(p.typical * math.exp(p.omega * hi))],
                           "prior": {"typical": p.typical, "omega": p.omega, "source": p.source}, "unit": p.unit,
                           # the MAP on the search box (Z_BOUND prior SDs): the data push past it
                           "at_bound": bool(abs(self.best.z[k]) >= Z_BOUND * (1 - 1e-6))}
        return out

    def draw(self, n: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
        """``n`` posterior draws (z, non-responder flags): MCMC samples if present, else the Laplace mixture."""
        if self.samples is not None:
            idx = rng.integers(0, len(self.samples), n)
            return self.samples[idx], self.sample_nonresponder[idx]
        w = np.array([c.weight for c in self.components])
        which = rng.choice(len(self.components), size=n, p=w / w.sum())
        z = np.empty((n, len(self.problem.priors)))
        for i, c in enumerate(self.components):
            m = which == i
            z[m] = rng.multivariate_normal(c.z, c.cov, size=int(m.sum()), method="eigh")
        return np.clip(z, -8.0, 8.0), np.array([self.components[i].non_responder for i in which])

    def predictions(self) -> dict:
        """The individual prediction (MAP, likelier component) at the observation times."""
        p = self.problem
        pred = p.simulate(self.best.z, self.best.non_responder, p.t_sim)
        return {"time_days": p.t_obs.tolist(), "observed": np.exp(p.log_dv).tolist(), "ipred": pred[p.obs_index].tolist()}

    def caveat(self, predictions: dict | None = None) -> str | None:
        """A note when the individual prediction misses the counts by far more than the assay
        error (RMS of the weighted residuals > MISFIT_RMS): the model cannot describe the record,
        often because of a wrong --time-unit or --amount-unit, and the intervals mean little.
        ``predictions``: :meth:`predictions`, if already simulated."""
        pr = predictions or self.predictions()
        obs, ipred = np.asarray(pr["observed"]), np.asarray(pr["ipred"])
        with np.errstate(all="ignore"):
            r = np.log(obs / ipred) / self.problem.sd
            r = np.where(self.problem.blq & (ipred <= obs), 0.0, r)  # below a BLQ row's limit: as observed
            rms = float(np.sqrt(np.mean(r ** 2)))
        if not rms > MISFIT_RMS:
            return None
        return (f"the fit misses the counts by {rms:.1f} assay SDs (RMS): the model does not describe this record; check the "
                "units of TIME and AMT (--time-unit, --amount-unit) and the dosing rows")

    def to_json_dict(self) -> dict:
        pred = self.predictions()  # one simulation, for the caveat and the output
        return {"parameters": self.parameters(), "objective": self.best.objective, "caveat": self.caveat(pred),
                "non_responder_probability": float(sum(c.weight for c in self.components if c.non_responder)),
                "predictions": pred, "residual_sd": self.problem.sd,
                "id": self.problem.record.id, "drug": self.problem.drug.name,
                "method": self.method, "effective_sample_size": self.ess,
                "non_responder_probability_samples": (float(np.mean(self.sample_nonresponder)) if self.samples is not None else None)}

    def plot(self, path: str | None = None, n: int = 200):
        from ..report.plots import plot_patient_fit

        return plot_patient_fit(self, path, n)


def _mixture_quantile(components, k: int, q: float) -> float:
    """Quantile ``q`` of z_k under the mixture of the components' normal approximations."""
    from scipy.optimize import brentq
    from scipy.stats import norm

    mu = np.array([c.z[k] for c in components])
    sd = np.sqrt([c.cov[k, k] for c in components])
    w = np.array([c.weight for c in components])
    cdf = lambda x: float(np.sum(w * norm.cdf((x - mu) / sd)) / w.sum()) - q  # noqa: E731
    return brentq(cdf, float(np.min(mu - 10 * sd)), float(np.max(mu + 10 * sd)), xtol=1e-10)


def _start(problem: PatientProblem) -> np.ndarray:
    """Starting point: the typical patient, with the baseline read off the first pre-dose count."""
    z0 = np.zeros(len(problem.priors))
    first_dose = min((d.time for d in problem.record.doses), default=np.inf)
    pre = [k for k, t in enumerate(problem.t_obs) if t <= first_dose and not problem.blq[k]]
    if pre:
        b = problem.priors[0]
        z0[0] = np.clip((problem.log_dv[pre[0]] - math.log(b.typical)) / b.omega, -5.0, 5.0)
    if "KDES" in problem.names:  # a baseline the typical destruction rate cannot give: milder destruction (as trials do)
        k = problem.names.index("KDES")
        while problem.model(z0) is None and z0[k] > -Z_BOUND + 0.5:
            z0[k] -= 0.5
    return z0


@dataclass(frozen=True)
class _Minimum:
    x: np.ndarray
    fun: float  # -2 log posterior at x
    converged: bool
    jac: np.ndarray  # Jacobian of the residuals at x (least_squares evaluates it at every accepted point)


def _jacobian(problem: PatientProblem, z: np.ndarray, r0: np.ndarray, non_responder: bool, h: float = 0.01) -> np.ndarray:
    """Forward-difference Jacobian of the residuals at ``z``, all n points in one batched run;
    backward for a coordinate whose forward point leaves the box or cannot be realised."""
    n = len(z)
    step = np.where(z + h > Z_BOUND, -h, h)
    R = problem.residuals(z + np.diag(step), non_responder)
    bad = np.isnan(R[:, 0])
    if bad.any():  # the other side
        step[bad] = -step[bad]
        R[bad] = problem.residuals(z[None, :] + np.diag(step)[bad], non_responder)
    J = np.nan_to_num((R - r0[None, :]).T / step[None, :], nan=0.0)  # both sides unrealisable: no data slope
    J[-n:] = np.eye(n)  # the prior's residuals are z itself
    return J


def _minimise(problem: PatientProblem, non_responder: bool, z0: np.ndarray, max_nfev: int) -> _Minimum:
    """MAP by trust-region Gauss-Newton on the weighted residuals (scipy ``least_squares``, "trf",
    box |z| <= Z_BOUND): the -2 log posterior is a sum of squares, so J'J is a good Hessian where
    the model fits, and the search needs a handful of Jacobians (n simulations each, one batched
    run) where a quasi-Newton search needs tens of gradients. A step the model cannot realise
    (NaN residuals) shrinks the trust region. Stops when an iteration lowers the objective by
    less than 1e-4 of itself or moves z by less than 1e-4 (relative)."""
    from scipy.optimize import least_squares

    last: dict[bytes, np.ndarray] = {}

    def fun(z):
        r = problem.residuals(z[None, :], non_responder)[0]
        last.clear()
        last[z.tobytes()] = r
        return r

    def jac(z):
        r0 = last.get(z.tobytes())
        return _jacobian(problem, z, fun(z) if r0 is None else r0, non_responder)

    if np.isnan(fun(z0)[0]):
        raise FitError(f"ID {problem.record.id}: the model cannot realise the start of the search for this record")
    res = least_squares(fun, z0, jac=jac, bounds=(-Z_BOUND, Z_BOUND), method="trf", x_scale=1.0,
                        ftol=1e-4, xtol=1e-4, gtol=1e-6, max_nfev=max_nfev)
    return _Minimum(x=res.x, fun=float(2.0 * res.cost), converged=res.status > 0, jac=res.jac)


def _minima(problem: PatientProblem, flags: list[bool]) -> list[_Minimum]:
    """The MAP of each mixture component. Every component first gets FIRST_EVALUATIONS steps
    (the non-responder one also from the responder's point when that is better: a second start
    against local minima); a component that has not converged is then searched to the end
    unless it is HOPELESS worse than the best (weight ratio < exp(-HOPELESS/2): nothing its
    slow large-residual tail could still gain would give it weight)."""
    z0 = _start(problem)
    found: list[_Minimum] = []
    for nr in flags:
        m = _minimise(problem, nr, z0, FIRST_EVALUATIONS)
        if nr and found and problem.objective(found[0].x, True) < m.fun:
            m2 = _minimise(problem, True, found[0].x, FIRST_EVALUATIONS)
            m = m2 if m2.fun < m.fun else m
        found.append(m)
    best = min(m.fun for m in found)
    return [m if m.converged or m.fun > best + HOPELESS else _minimise(problem, nr, m.x, MAX_EVALUATIONS)
            for m, nr in zip(found, flags)]


def _component(problem: PatientProblem, m: _Minimum, non_responder: bool, prior_weight: float) -> Component:
    """Laplace approximation of one mixture component at its MAP ``m`` (log weight: prior x marginal likelihood)."""
    z, J = m.x, m.jac
    # Gauss-Newton Hessian of the -2 log posterior r'r: 2 J'J (J holds the prior's identity rows, so
    # its eigenvalues are >= 2, the prior's curvature). Unlike a difference Hessian it needs no point
    # beyond the MAP on both sides, which fails where the MAP lies on the edge of what the model can
    # realise (a count the destruction rate cannot give), and it is what FOCE-type methods use.
    w, v = np.linalg.eigh(2.0 * J.T @ J)
    w = np.minimum(w, MAX_CURVATURE)  # a direction the data pin (nearly) exactly
    cov = v @ np.diag(2.0 / w) @ v.T  # the objective is -2 log posterior: covariance 2 H^-1
    log_marg = -0.5 * m.fun + 0.5 * np.linalg.slogdet(2 * math.pi * cov)[1] + math.log(max(prior_weight, 1e-300))
    return Component(non_responder=non_responder, z=z, cov=cov, objective=m.fun, weight=log_marg)


def fit_patient(data, drug: str, *, route: str | None = None, population: str = "itp", subject_id=None, time_unit: str = "h",
                amount_unit: str = "mg", residual_sd: float = RESIDUAL_SD, non_responder: float | None = None,
                posterior: str = "sir", samples: int = 0, seed: int = 0, progress: bool = False) -> PatientFit:
    """Fit one patient's record (an ID of an event dataset) by MAP with the population prior.

    Parameters
    ----------
    data : str or pandas.DataFrame
        Event dataset (:mod:`moasim.io.nonmem`); DV are platelet counts (10^9/L).
    drug : str
        The drug the record doses.
    route : str, optional
        Route of doses without CMT (default the drug's first).
    population : {"itp"}
        Only ITP patients are fitted (the prior is the chronic ITP population).
    subject_id : optional
        The ID to fit (default: the dataset's only ID).
    residual_sd : float
        Proportional (log-scale) SD of a measured count (default 0.093, Petrov 2025).
    non_responder : float, optional
        Prior probability of receptor-level non-response (default: the drug's published fraction).
    posterior : {"sir", "laplace", "mcmc"}
        How the posterior is represented beyond the MAP: "sir" (default) importance-resamples
        draws of the Laplace approximation (:func:`_sir`); "laplace" keeps the normal
        approximation; "mcmc" samples with emcee.
    samples : int
        MCMC draws (``posterior="mcmc"``; default 2000).
    seed : int
        Seed of the MCMC and of posterior draws.

    Returns
    -------
    PatientFit
    """
    if posterior not in ("sir", "laplace", "mcmc"):
        raise DataError(invalid_value("--posterior", posterior, "sir | laplace | mcmc"))
    if population != "itp":
        raise DataError(invalid_value("--population", population, "itp (the prior is the chronic ITP population)"))
    if not (isinstance(residual_sd, (int, float)) and 0 < residual_sd <= 2):
        raise DataError(invalid_value("--residual-sd", residual_sd, "a log-scale SD in (0, 2]"))
    d, route, ds = read_drug_dataset(data, drug, route=route, population=population, time_unit=time_unit, amount_unit=amount_unit,
                                     field="FILE")
    ids = [r.id for r in ds.subjects]
    if subject_id is None and len(ids) > 1:
        raise DataError(invalid_value("--id", None, f"one of the dataset's IDs {ids[:10]} (the file holds {len(ids)})"))
    rec = ds.subjects[0] if subject_id is None else next((r for r in ds.subjects if str(r.id) == str(subject_id)), None)
    if rec is None:
        raise DataError(invalid_value("--id", subject_id, f"one of the dataset's IDs {ids[:10]}"))
    problem = PatientProblem(rec, d.name, route, subject_for(population, rec.covariates, rec.id), residual_sd=residual_sd,
                             non_responder=non_responder)
    flags = [False, True] if problem.p_nonresponder > 0 else [False]
    comps = [_component(problem, m, nr, problem.p_nonresponder if nr else 1 - problem.p_nonresponder)
             for m, nr in zip(_minima(problem, flags), flags)]
    lm = np.array([c.weight for c in comps])
    w = np.exp(lm - lm.max())
    w /= w.sum()
    comps = tuple(Component(non_responder=c.non_responder, z=c.z, cov=c.cov, objective=c.objective, weight=float(wi)) for c, wi in zip(comps, w))
    fit = PatientFit(problem=problem, components=comps)
    if posterior == "sir":
        fit = _sir(fit, SIR_PROPOSALS, SIR_RESAMPLE, seed)
    elif posterior == "mcmc":
        fit = _mcmc(fit, samples or 2000, seed, progress)
    return fit


def _sir(fit: PatientFit, proposals: int, resample: int, seed: int, inflate: float = 2.0) -> PatientFit:
    """Sampling importance resampling (Dosne 2016): ``proposals`` draws (z, component) from the
    Laplace mixture with covariances x ``inflate``, each weighted by target/proposal density,
    target = prior weight x exp(-OBJ/2) (all objectives in one batched run per component); then
    ``resample`` draws with replacement. Corrects the Laplace approximation where the posterior
    is skewed or curved, as it is for a nonlinear model."""
    from scipy.stats import multivariate_normal

    rng = np.random.default_rng(seed)
    comps, p = fit.components, fit.problem
    w = np.array([c.weight for c in comps])
    which = rng.choice(len(comps), size=proposals, p=w / w.sum())
    Z = np.empty((proposals, len(p.priors)))
    lw = np.empty(proposals)
    for i, c in enumerate(comps):
        m = which == i
        if not m.any():
            continue
        prop = multivariate_normal(c.z, inflate * c.cov, allow_singular=True)
        Z[m] = np.clip(prop.rvs(size=int(m.sum()), random_state=rng).reshape(-1, len(c.z)), -Z_BOUND, Z_BOUND)
        prior_w = p.p_nonresponder if c.non_responder else 1 - p.p_nonresponder
        log_target = -0.5 * p.objectives(Z[m], c.non_responder, coarse=True) + math.log(max(prior_w, 1e-300))
        lw[m] = log_target - (math.log(max(c.weight, 1e-300)) + prop.logpdf(Z[m]))
    lw = np.where(np.isfinite(lw), lw, -np.inf)  # a draw the proposal cannot explain gets no weight
    if not np.isfinite(lw.max()):
        return fit  # nothing to resample: keep the Laplace approximation
    wts = np.exp(lw - lw.max())
    wts /= wts.sum()
    ess = float(1.0 / np.sum(wts**2))
    if ess < SIR_MIN_ESS:  # collapsed onto a few draws (it reported intervals without their own MAP)
        return PatientFit(problem=p, components=comps, method=f"MAP + Laplace; SIR not used: effective sample size {ess:.1f} "
                                                               f"< {SIR_MIN_ESS:g} of {proposals} proposals", ess=ess)
    idx = rng.choice(proposals, size=resample, p=wts)
    return PatientFit(problem=p, components=comps, samples=Z[idx], sample_nonresponder=np.array([comps[k].non_responder for k in which[idx]]),
                      method="MAP + Laplace + SIR", ess=ess)


def _mcmc(fit: PatientFit, samples: int, seed: int, progress: bool) -> PatientFit:
    """emcee draws of (z, component) from the posterior; the component is a discrete parameter
    handled by sampling within each component and mixing by the Laplace weights."""
    import emcee

    rng = np.random.default_rng(seed)
    zs, flags = [], []
    for c in fit.components:
        n_c = int(round(samples * c.weight))
        if n_c == 0:
            continue
        ndim = len(c.z)
        walkers = max(2 * ndim + 2, 16)
        p0 = rng.multivariate_normal(c.z, c.cov, size=walkers, method="eigh")
        lp = lambda Z, nr=c.non_responder: -0.5 * fit.problem.objectives(Z, nr)  # noqa: E731 - all walkers in one batched run
        sampler = emcee.EnsembleSampler(walkers, ndim, lp, vectorize=True)
        sampler.random_state = np.random.RandomState(int(rng.integers(2**31))).get_state()  # explicit seed
        steps = max(200, int(math.ceil(2 * n_c / walkers)) + 100)
        sampler.run_mcmc(p0, steps, progress=progress)
        chain = sampler.get_chain(discard=100, flat=True)
        take = chain[rng.integers(0, len(chain), n_c)]
        zs.append(take)
        flags.append(np.full(n_c, c.non_responder))
    return PatientFit(problem=fit.problem, components=fit.components, samples=np.concatenate(zs), sample_nonresponder=np.concatenate(flags),
                      method="MAP + Laplace + MCMC (emcee)")
