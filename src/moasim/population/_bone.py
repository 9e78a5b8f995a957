"""Sampling virtual postmenopausal women (or men) for bone trials.

A subject is a sex (fixed by the population kind; a covariate of the bone model,
:mod:`moasim.library.bone.covariates`), a baseline lumbar-spine T-score (truncated normal:
the inclusion range of the trial), a body weight (mg/kg doses; antibody clearances and
volumes scale with it, :mod:`moasim.library.bone.body_size`), log-normal factors on the bone
model's parameters and the subject's own random streams for DXA/marker measurement error and
fracture events. As in :mod:`._sampling`, subject i of (seed, replicate, arm) draws the same
values whatever the shard size or worker count, and every variability term is drawn for
every subject so that arms differ only in their treatment.

Variability values are assumptions (tag A): no between-subject variability of romosozumab
PK or of the BMD response was read in our sources (``../shared/research/bone.md`` has none).
They set the spread of individual responses and the width of intervals, not the typical
course, which stays the calibrated one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ..errors import SpecError, invalid_value, unknown_name
from ..library.bone.covariates import TYPICAL_WEIGHT_KG
from ..library.bone.fracture import DEFAULT_FRACTURE_RATES, FRACTURE_EVENTS

__all__ = ["BoneIIV", "BONE_IIV", "MEASUREMENT_SD", "BONE_KINDS", "BonePopulationSpec", "BoneDraw", "sample_bone_subjects"]


def _omega(cv: float) -> float:
    """SD of log for a log-normal parameter with this CV: sqrt(ln(1 + CV^2))."""
    return math.sqrt(math.log(1.0 + cv * cv))


@dataclass(frozen=True, slots=True)
class BoneIIV:
    """One log-normal random effect shared by ``parameters`` (theta_i = theta*exp(eta))."""

    parameters: tuple[str, ...]
    omega: float
    source: str


#: Between-subject variability of the bone model (all A; see the module docstring).
BONE_IIV: tuple[BoneIIV, ...] = (
    BoneIIV(("CL_rsz",), _omega(0.30), "A: linear CL of IgG antibodies typically 25-35% CV"),
    BoneIIV(("VC_rsz",), _omega(0.20), "A: central volume of IgG antibodies typically ~20% CV"),
    BoneIIV(("CL_den",), _omega(0.30), "A: as CL_rsz"),
    BoneIIV(("F_aln",), _omega(0.50), "A: oral bisphosphonate absorption varies widely between women"),
    BoneIIV(("KSI_wnt",), _omega(0.30), "A: sensitivity of LRP5/6-Wnt signalling to sclerostin"),
    # one shared effect: a woman with fast remodelling gains (and loses) faster at every site
    BoneIIV(("KLS_site", "KTH_site", "KFN_site"), _omega(0.30), "A: site turnover (bone remodelling rate)"),
)

#: Error of ONE measurement (percentage points of BMD, log-scale for markers). A measured
#: change carries two errors, the visit's minus the baseline scan's (the latter shared by all
#: of a woman's visits; :mod:`moasim.trials._bone`). DXA short-term precision error: ~1-2% at
#: the spine and hip (ISCD precision assessment; LS ~1%, TH ~1%, FN ~1.5-2%, A: from practice
#: standards, not read here). Markers: within-subject variability of serum P1NP ~10% and CTX
#: ~15% (A).
MEASUREMENT_SD: Mapping[str, tuple[str, float]] = MappingProxyType({
    "bmd_lumbar_spine": ("add", 1.0),
    "bmd_total_hip": ("add", 1.0),
    "bmd_femoral_neck": ("add", 1.8),
    "p1np": ("log", 0.10),
    "ctx": ("log", 0.15),
})


#: population kinds of bone trials and the sex of their subjects (True: women)
BONE_KINDS: Mapping[str, bool] = MappingProxyType({"postmenopausal_osteoporosis": True, "male_osteoporosis": False})


def default_fracture_rates(kind: str) -> dict[str, float]:
    """Untreated rates (1/day) a population of this kind has unless its spec gives them: the
    women's sourced defaults (:data:`DEFAULT_FRACTURE_RATES`); none for men (none was read)."""
    return dict(DEFAULT_FRACTURE_RATES) if BONE_KINDS.get(kind, True) else {}


@dataclass(frozen=True, slots=True, kw_only=True)
class BonePopulationSpec:
    """The ``population:`` block of a bone trial (``kind: postmenopausal_osteoporosis`` or ``male_osteoporosis``).

    Parameters
    ----------
    kind : {"postmenopausal_osteoporosis", "male_osteoporosis"}
        Women or men: sex is a covariate of the bone model
        (:mod:`moasim.library.bone.covariates`) and sets the default median weight.
    t_score_mean, t_score_sd : float
        Baseline lumbar-spine T-score distribution (normal, A: -2.5 and 0.8 by default).
    t_score_min, t_score_max : float
        Inclusion range (the normal is truncated to it).
    weight_median_kg, weight_omega : float
        Body weight, log-normal (kg); the median defaults to the typical weight of the
        population's sex (:data:`moasim.library.bone.covariates.TYPICAL_WEIGHT_KG`).
    iiv : bool
        Apply :data:`BONE_IIV` and the spread of body weight (False: every subject is the
        typical woman or man, of the median weight).
    measurement_error : bool
        Add :data:`MEASUREMENT_SD` to measured BMD and markers.
    fracture_rates : tuple of (event, rate)
        Untreated incidence rate (1/day) per event at the reference T-score
        (:data:`moasim.library.bone.fracture.DEFAULT_FRACTURE_RATES`, women only: no rate
        for men was read, so a men's trial counts fractures only at rates it gives); a
        tuple so that the spec pickles to worker processes. :attr:`rates` gives it as a dict.
    """

    kind: str = "postmenopausal_osteoporosis"
    t_score_mean: float = -2.5
    t_score_sd: float = 0.8
    t_score_min: float = -5.0
    t_score_max: float = 0.0
    weight_median_kg: float | None = None  # type: ignore[assignment]
    weight_omega: float = 0.15
    iiv: bool = True
    measurement_error: bool = True
    fracture_rates: tuple[tuple[str, float], ...] | None = None  # type: ignore[assignment]

    @property
    def rates(self) -> dict[str, float]:
        """Event -> untreated rate (1/day) at the reference T-score."""
        return dict(self.fracture_rates)

    @property
    def female(self) -> bool:
        """Whether the subjects are women (``postmenopausal_osteoporosis``)."""
        return BONE_KINDS[self.kind]

    def __post_init__(self) -> None:
        if self.kind not in BONE_KINDS:
            raise SpecError(unknown_name("population kind of a bone trial", str(self.kind), BONE_KINDS))
        if self.weight_median_kg is None:
            object.__setattr__(self, "weight_median_kg", TYPICAL_WEIGHT_KG["female" if self.female else "male"])
        if self.fracture_rates is None:
            object.__setattr__(self, "fracture_rates", tuple(default_fracture_rates(self.kind).items()))
        if not (-6.0 <= self.t_score_min < self.t_score_max <= 4.0):
            raise SpecError(invalid_value("population.baseline_t_score", [self.t_score_min, self.t_score_max], "min < max within [-6, 4]"))
        if not (self.t_score_sd >= 0 and -6.0 <= self.t_score_mean <= 4.0):
            raise SpecError(invalid_value("population.baseline_t_score", [self.t_score_mean, self.t_score_sd], "mean in [-6, 4], sd >= 0"))
        if self.t_score_sd == 0 and not self.t_score_min <= self.t_score_mean <= self.t_score_max:
            raise SpecError(invalid_value("population.baseline_t_score.mean", self.t_score_mean, "a value within [min, max] when sd is 0"))
        if self.t_score_sd > 0:  # the sampler draws until a T-score falls in range: refuse before any work starts
            cdf = lambda v: 0.5 * (1 + math.erf((v - self.t_score_mean) / (self.t_score_sd * math.sqrt(2))))  # noqa: E731
            if cdf(self.t_score_max) - cdf(self.t_score_min) < 1e-3:
                raise SpecError(invalid_value("population.baseline_t_score", [self.t_score_min, self.t_score_max],
                                              f"a range that holds some of the T-score distribution (mean {self.t_score_mean:g}, "
                                              f"sd {self.t_score_sd:g})"))


@dataclass(frozen=True, slots=True)
class BoneDraw:
    """One sampled subject: covariates, parameter factors and the subject's random streams."""

    index: int
    t_score: float
    weight_kg: float
    female: bool
    factors: Mapping[str, float]
    noise_seed: np.random.SeedSequence
    fracture_u: Mapping[str, float]  # U(0,1) per event: the event occurs when 1 - exp(-H(t)) reaches it


def _t_score(spec: BonePopulationSpec, rng: np.random.Generator) -> float:
    if spec.t_score_sd == 0:
        return spec.t_score_mean
    for _ in range(10_000):
        t = spec.t_score_mean + spec.t_score_sd * rng.standard_normal()
        if spec.t_score_min <= t <= spec.t_score_max:
            return float(t)
    raise SpecError(invalid_value("population.baseline_t_score", [spec.t_score_min, spec.t_score_max],
                                  "a range that holds some of the T-score distribution"))


def sample_bone_subjects(spec: BonePopulationSpec, n: int, seed: np.random.SeedSequence, start: int = 0) -> list[BoneDraw]:
    """Subjects ``start .. start+n-1`` of the stream ``seed`` (one child seed per subject)."""
    out = []
    for i in range(start, start + n):
        rng = np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i)))
        noise_seed = np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, i, 1))
        t_score = _t_score(spec, rng)
        z_weight = rng.standard_normal()  # drawn for every subject, used or not
        weight = float(np.clip(spec.weight_median_kg * math.exp(spec.weight_omega * z_weight), 30, 180)) if spec.iiv else spec.weight_median_kg
        factors: dict[str, float] = {}
        for v in BONE_IIV:
            eta = rng.standard_normal()  # drawn for every subject, used or not
            if spec.iiv:
                factors.update({p: math.exp(v.omega * eta) for p in v.parameters})
        u = {event: float(rng.random()) for event in FRACTURE_EVENTS}
        out.append(BoneDraw(i, t_score, weight, spec.female, MappingProxyType(factors), noise_seed, MappingProxyType(u)))
    return out
