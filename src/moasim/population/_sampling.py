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

__all__ = ["IIV", "PopulationSpec", "SubjectDraw", "sample_subjects", "DEFAULT_IIV"]


@dataclass(frozen=True, slots=True, kw_only=True)
class IIV:
    """Log-normal inter-individual variability: theta_i = theta * exp(eta), eta ~ N(0, omega^2)."""

    parameter: str
    omega: float
    source: str
    drug: str | None = None  # only applied when this drug is in the model


def _omega_from_cv(cv: float) -> float:
    """SD of log from a CV reported for a log-normal parameter: sqrt(ln(1 + CV^2))."""
    return math.sqrt(math.log(1 + cv * cv))


#: IIV used by default (published where available; tags in the source text).
DEFAULT_IIV: tuple[IIV, ...] = (
    IIV(parameter="KDES", omega=_omega_from_cv(0.50), source="Petrov 2025 (R-code): ITP kdeg IIV 50% CV"),
    IIV(parameter="MTT_MK", omega=0.2, source="benchmark reference model omega 0.2 (A)"),
    IIV(parameter="PLT50_DES", omega=0.15, source="assumption (A): antibody capacity varies between patients"),
    IIV(parameter="GAM_SURV", omega=0.15, source="assumption (A)"),
    IIV(parameter="KEL_rom", omega=0.3, source="benchmark reference model omega 0.3 (A)", drug="romiplostim"),
    IIV(parameter="CL_elt", omega=0.3, source="assumption (A); Gibiansky 2011 IIV not in readable text", drug="eltrombopag"),
    IIV(parameter="CL_het", omega=_omega_from_cv(0.635), source="Wang Z 2022 BJCP 88:2084 (R): CL/F IIV 63.5%", drug="hetrombopag"),
    IIV(parameter="V2_het", omega=_omega_from_cv(0.772), source="Wang Z 2022 BJCP 88:2084 (R): Vc/F IIV 77.2%", drug="hetrombopag"),
    IIV(parameter="CL_ava", omega=0.3, source="assumption (A)", drug="avatrombopag"),
)

#: Drug-effect multiplier of non-responders (Perez-Ruixo 2012: 12 vs 351 %/100 ug/wk).
NON_RESPONDER_EFFECT = 12.0 / 351.0


#: Visit-to-visit variability of measured platelet counts in ITP (log-scale SD), covering
#: assay error and the spontaneous fluctuation of ITP counts; calibrated (C), together with
#: the spread of true baselines (``baseline_omega``), to Bussel 2007: placebo 11% >= 50 on
#: day 43 from a screening count < 30, and the steep 30 -> 50 mg step (28% -> 70%).
RESIDUAL_SD = 0.35

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
    baseline_omega: float = 0.42  # calibrated (C) with RESIDUAL_SD to Bussel 2007 (see above)
    east_asian: float = 0.0
    female: float = 0.6
    splenectomy: float = 0.35
    corticosteroids: float = 0.3
    non_responder: float = 0.19
    weight_median_kg: float = 70.0
    weight_omega: float = 0.2
    iiv: bool = True
    residual_sd: float = RESIDUAL_SD

    def __post_init__(self) -> None:
        for f in ("east_asian", "female", "splenectomy", "corticosteroids", "non_responder"):
            v = getattr(self, f)
            if not (isinstance(v, (int, float)) and 0 <= v <= 1):
                raise SpecError(invalid_value(f"population.{f}", v, "a fraction in [0, 1]"))
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
    screening_factor: float = 1.0  # measured / true count at screening (baseline visit)


def _baseline(spec: PopulationSpec, rng: np.random.Generator) -> tuple[float, float]:
    """(true steady-state count, measured/true factor at screening).

    Inclusion is decided on the MEASURED screening count, as in a real trial, so the
    enrolled subjects' true counts regress towards the mean: this, with the visit-to-visit
    variability, is the mechanism of the placebo "response" (Bussel 2007: 11%).
    """
    for _ in range(10_000):
        b = spec.baseline_median * math.exp(spec.baseline_omega * rng.standard_normal())
        f = math.exp(spec.residual_sd * rng.standard_normal())
        if spec.baseline_min <= b * f <= spec.baseline_max and b > 1.0:
            return b, f
    raise SpecError(invalid_value("population.baseline_platelets", [spec.baseline_min, spec.baseline_max], "a range that contains plausible ITP counts"))


def sample_subjects(spec: PopulationSpec, n: int, seed: np.random.SeedSequence, drugs: tuple[str, ...], start: int = 0) -> list[SubjectDraw]:
    """Sample subjects ``start .. start+n-1``; subject i uses child seed i of ``seed``
    (so a shard draws the same subjects whatever the shard size or worker count)."""
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)))
        noise_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i, 1))
        female = rng.random() < spec.female
        true_b, screen = _baseline(spec, rng) if spec.kind == "itp" else (None, 1.0)
        subj = Subject(
            population="itp" if spec.kind == "itp" else spec.kind,
            weight_kg=float(np.clip(spec.weight_median_kg * (0.88 if female else 1.08) * math.exp(spec.weight_omega * rng.standard_normal()), 35, 180)),
            east_asian=bool(rng.random() < spec.east_asian),
            female=bool(female),
            corticosteroids=bool(rng.random() < spec.corticosteroids),
            splenectomy=bool(rng.random() < spec.splenectomy),
            baseline_platelets=true_b,
        )
        factors: dict[str, float] = {}
        for v in DEFAULT_IIV:
            eta = rng.standard_normal()  # drawn for every subject: draws do not depend on the arm's drug
            if spec.iiv and (v.drug is None or v.drug in drugs):
                factors[v.parameter] = math.exp(v.omega * eta)
        nonresp = bool(rng.random() < spec.non_responder)
        if nonresp:
            factors["DRUG_EFF"] = NON_RESPONDER_EFFECT
        out.append(SubjectDraw(i, subj, MappingProxyType(factors), nonresp, noise_seed, screen))
    return out
