"""Sampling virtual subjects: covariates, log-normal IIV, non-responder mixture, inclusion.

Every draw comes from an explicit ``numpy.random.Generator``; a subject's draw depends
only on (seed, arm, replicate, subject index), never on the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import SpecError, invalid_value
from ..library.build import Subject
from ..library.drugs import DRUGS, IIV
from ..library.drugs._core import omega_from_cv as _omega_from_cv

__all__ = ["IIV", "PopulationSpec", "SubjectDraw", "sample_subjects", "fluctuation_path", "DEFAULT_IIV"]


#: IIV used by default (published where available; tags in the source text): the physiology's,
#: then each drug's (``Drug.iiv``). NOTE: one eta is drawn per entry for every subject, in this
#: order, so that draws do not depend on the arm's drug; a drug's entries shift the later draws.
DEFAULT_IIV: tuple[IIV, ...] = (
    IIV(parameter="KDES", omega=_omega_from_cv(0.50), source="Petrov 2025 (R-code): ITP kdeg IIV 50% CV"),
    IIV(parameter="MTT_MK", omega=0.2, source="benchmark reference model omega 0.2 (A)"),
    IIV(parameter="PLT50_DES", omega=0.15, source="assumption (A): antibody capacity varies between patients"),
    IIV(parameter="GAM_SURV", omega=0.15, source="assumption (A)"),
) + tuple(v for d in DRUGS.values() for v in d.iiv)  # each drug's entries (Drug.iiv), in catalogue order

#: Drug-effect multiplier of non-responders (Perez-Ruixo 2012: 12 vs 351 %/100 ug/wk).
NON_RESPONDER_EFFECT = 12.0 / 351.0

#: Fraction of receptor-level non-responders by drug (mixture models of ITP PD), where published
#: (``Drug.non_responder_fraction``, sources in the drug modules): romiplostim 32% (Perez-Ruixo
#: 2012 J Clin Pharmacol 52:1540, R); eltrombopag 19% (Hayes 2011 J Clin Pharmacol 51:1403, R).
NON_RESPONDER_FRACTION: Mapping[str, float] = MappingProxyType(
    {n: d.non_responder_fraction for n, d in DRUGS.items() if d.non_responder_fraction is not None})
#: Drugs without a published mixture take eltrombopag's 19% (the transmembrane-site class, A), and so
#: does the drug-free model (the draw only matters when a drug is given).
NON_RESPONDER_DEFAULT = 0.19


def non_responder_fraction(spec_value: float | None, drugs: tuple[str, ...]) -> float:
    """The population's non-responder fraction: the spec's if given, else the drug's published one."""
    if spec_value is not None:
        return spec_value
    return max((NON_RESPONDER_FRACTION.get(d, NON_RESPONDER_DEFAULT) for d in drugs), default=NON_RESPONDER_DEFAULT)


#: Measurement error of a platelet count (log-scale SD, proportional): Petrov 2025 Clin
#: Pharmacol Drug Dev 14:116, Table S1 (nlmixr2lib Petrov_2024_romiplostim.R, R-code):
#: proportional residual error b = 0.093 on the platelet count.
RESIDUAL_SD = 0.093

#: Within-patient fluctuation of ITP disease activity: the platelet destruction rate of a
#: subject is KDES x exp(x(t)), x an Ornstein-Uhlenbeck process (mean 0, stationary SD
#: ``FLUCTUATION_SD``, correlation time ``FLUCTUATION_DAYS``), drawn per subject from the seed
#: and applied as a piecewise-constant multiplier every ``FLUCTUATION_STEP_DAYS``. The SD is
#: calibrated (C, a scan of 0.45-0.55 at n = 300-600) to the Bussel 2007 placebo arm (11% >= 50
#: on day 43 from a screening count < 30: regression to the mean of a subject screened at a bad
#: time; the pooled expected value is 0.08); the correlation time is
#: an assumption (A): ITP counts drift over weeks, not from day to day (Ballem 1987 measured
#: kinetics in steady chronic disease).
FLUCTUATION_SD = 0.55
FLUCTUATION_DAYS = 21.0
FLUCTUATION_STEP_DAYS = 3.5

#: Splenectomised patients with chronic ITP (refractory to splenectomy): Petrov 2025 (R-code,
#: Table S1 and p. 119) -- IIV of the degradation rate 70% vs 50% CV, simulated baselines ~14
#: vs ~18 x10^9/L (the faster destruction itself, x1.3, is the model parameter SPLEN_KDES).
SPLENECTOMY_KDES_CV = 0.70
SPLENECTOMY_BASELINE = 14.0 / 18.0

@dataclass(frozen=True, slots=True, kw_only=True)
class PopulationSpec:
    """What a trial's ``population:`` block describes.

    Fractions are probabilities per subject; ``baseline_platelets`` bounds are the
    inclusion criterion (10^9/L).
    """

    kind: str = "itp"
    baseline_min: float = 0.0
    baseline_max: float = 30.0
    baseline_median: float = 20.0  # true (not screening) count of chronic ITP patients (A)
    baseline_omega: float = 0.42  # calibrated (C) to Bussel 2007 with the former iid visit SD 0.35; not re-fitted with the fluctuation process (issue 11)
    east_asian: float = 0.0
    female: float = 0.6
    splenectomy: float = 0.35
    corticosteroids: float = 0.3
    prior_therapies: float = 2.0  # mean number of earlier ITP treatment lines (>= 1 each: 1 + Poisson(mean - 1))
    non_responder: float | None = None  # None: the drug's published fraction (NON_RESPONDER_FRACTION)
    weight_median_kg: float = 70.0
    weight_omega: float = 0.2
    iiv: bool = True
    residual_sd: float = RESIDUAL_SD
    fluctuation_sd: float = FLUCTUATION_SD
    fluctuation_days: float = FLUCTUATION_DAYS

    def __post_init__(self) -> None:
        for f in ("east_asian", "female", "splenectomy", "corticosteroids", "non_responder"):
            v = getattr(self, f)
            if f == "non_responder" and v is None:
                continue
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise SpecError(invalid_value(f"population.{f}", v, "a fraction in [0, 1]"))
        if isinstance(self.prior_therapies, bool) or not (isinstance(self.prior_therapies, (int, float)) and 1 <= self.prior_therapies <= 10):
            raise SpecError(invalid_value("population.prior_therapies", self.prior_therapies, "a mean number of earlier treatment lines in [1, 10]"))
        if not (0 <= self.baseline_min < self.baseline_max) or self.baseline_median <= 0 or self.baseline_omega < 0:
            raise SpecError(invalid_value("population.baseline_platelets", [self.baseline_min, self.baseline_max], "min < max, both >= 0"))


@dataclass(frozen=True, slots=True)
class SubjectDraw:
    """One sampled subject: covariates and multiplicative parameter factors exp(eta)."""

    index: int
    subject: Subject
    factors: Mapping[str, float] = field(default_factory=dict)
    non_responder: bool = False
    noise_seed: np.random.SeedSequence | None = None  # stream for visit-to-visit count variability
    screening_factor: float = 1.0  # measured / typical count at screening (baseline visit)
    fluctuation0: float = 0.0  # disease-activity state x(0) at screening (log destruction multiplier)
    fluctuation_seed: np.random.SeedSequence | None = None  # stream for the subject's x(t) path


def fluctuation_path(draw: SubjectDraw, spec: PopulationSpec, t_end: float) -> list[tuple[float, float]]:
    """(time, destruction multiplier exp(x)) every FLUCTUATION_STEP_DAYS from day 0 up to ``t_end``.

    Exact discretisation of the Ornstein-Uhlenbeck process: x(t + h) = x(t) e^(-h/tau) +
    sd sqrt(1 - e^(-2h/tau)) eps, started at the screening state ``draw.fluctuation0``.
    """
    if spec.fluctuation_sd <= 0 or draw.fluctuation_seed is None:
        return []
    rng = np.random.default_rng(draw.fluctuation_seed)
    h = FLUCTUATION_STEP_DAYS
    a = math.exp(-h / spec.fluctuation_days)
    s = spec.fluctuation_sd * math.sqrt(1 - a * a)
    x, out, t = draw.fluctuation0, [], 0.0
    while t < t_end:
        out.append((t, math.exp(x)))
        x = a * x + s * rng.standard_normal()
        t += h
    return out


def _baseline(spec: PopulationSpec, rng: np.random.Generator, splenectomy: bool) -> tuple[float, float, float]:
    """(typical steady-state count, measured/typical factor at screening, disease state x(0)).

    Inclusion is decided on the MEASURED screening count, as in a real trial: the typical
    count b (x = 0), lowered by the disease activity at screening (count ~ 1/destruction, so
    exp(-x0)) and by measurement error. Subjects screened at a bad time regress towards their
    typical count: with measurement error, the mechanism of the placebo "response" (Bussel
    2007: 11%).
    """
    median = spec.baseline_median * (SPLENECTOMY_BASELINE if splenectomy else 1.0)
    for _ in range(10_000):
        b = median * math.exp(spec.baseline_omega * rng.standard_normal())
        x0 = spec.fluctuation_sd * rng.standard_normal()
        f = math.exp(-x0 + spec.residual_sd * rng.standard_normal())
        if spec.baseline_min <= b * f <= spec.baseline_max and b > 1.0:
            return b, f, x0
    raise SpecError(invalid_value("population.baseline_platelets", [spec.baseline_min, spec.baseline_max], "a range that contains plausible ITP counts"))


def sample_subjects(spec: PopulationSpec, n: int, seed: np.random.SeedSequence, drugs: tuple[str, ...], start: int = 0) -> list[SubjectDraw]:
    """Sample subjects ``start .. start+n-1``; subject i uses child seed i of ``seed``
    (so a shard draws the same subjects whatever the shard size or worker count)."""
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)))
        noise_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i, 1))
        fluct_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i, 2))
        prior_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i, 3))  # own stream: other draws unchanged
        female = rng.random() < spec.female
        weight = float(np.clip(spec.weight_median_kg * (0.88 if female else 1.08) * math.exp(spec.weight_omega * rng.standard_normal()), 35, 180))
        east_asian = bool(rng.random() < spec.east_asian)
        steroids = bool(rng.random() < spec.corticosteroids)
        splenectomy = bool(rng.random() < spec.splenectomy)
        true_b, screen, x0 = _baseline(spec, rng, splenectomy) if spec.kind == "itp" else (None, 1.0, 0.0)
        prior = 1 + int(np.random.default_rng(prior_seed).poisson(spec.prior_therapies - 1))
        subj = Subject(population="itp" if spec.kind == "itp" else spec.kind, weight_kg=weight, east_asian=east_asian,
                       female=bool(female), corticosteroids=steroids, splenectomy=splenectomy, baseline_platelets=true_b,
                       prior_therapies=min(prior, 20))
        factors: dict[str, float] = {}
        for v in DEFAULT_IIV:
            eta = rng.standard_normal()  # drawn for every subject: draws do not depend on the arm's drug
            omega = v.omega
            if v.parameter == "KDES" and splenectomy:
                omega = _omega_from_cv(SPLENECTOMY_KDES_CV)  # Petrov 2025: IIV 70% after splenectomy
            if spec.iiv and (v.drug is None or v.drug in drugs):
                factors[v.parameter] = math.exp(omega * eta)

        # one uniform per subject whatever the drug (common random numbers across arms)
        nonresp = bool(rng.random() < non_responder_fraction(spec.non_responder, drugs))
        if nonresp:
            factors["DRUG_EFF"] = NON_RESPONDER_EFFECT
        out.append(SubjectDraw(i, subj, MappingProxyType(factors), nonresp, noise_seed, screen, x0,
                               fluct_seed if spec.kind == "itp" and spec.fluctuation_sd > 0 else None))
    return out
