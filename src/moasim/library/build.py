"""Assemble the whole-body model for a subject and a set of drugs."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from functools import lru_cache

from ..errors import SpecError, invalid_value, unknown_name
from ..layers import THROMBOPOIESIS
from ..model import Model, compose
from .drugs import get_drug
from .drugs._core import EXTRACELLULAR, TRANSMEMBRANE
from .physiology import itp_module, megakaryopoiesis_module, receptor_module, subject_module, tpo_module
from .steady_state import steady_state

__all__ = ["Subject", "build_model", "POPULATIONS"]

POPULATIONS = THROMBOPOIESIS.populations

#: typical baseline platelet counts (10^9/L): Petrov 2025 (nlmixr2lib Petrov_2024_romiplostim.R,
#: R-code): simulated ITP baseline ~18 non-splenectomised, ~14 splenectomised.
ITP_BASELINE = {False: 18.0, True: 14.0}
#: marrow failure scenario (very severe aplastic anaemia: MKs and platelets depleted): platelets 10 x10^9/L (A)
APLASTIC_BASELINE = 10.0


@dataclass(frozen=True, slots=True, kw_only=True)
class Subject:
    """One (virtual) subject: population and covariates.

    Parameters
    ----------
    population : {"healthy", "itp", "aplastic"}
    weight_kg : float
        Body weight (kg); weight-based doses (ug/kg) and weight covariates (``Drug.covariates``) use it.
    east_asian, female, corticosteroids, splenectomy : bool
        Covariates (eltrombopag CL/F: Gibiansky 2011; ITP: splenectomised patients destroy
        platelets faster and have lower typical baselines, Petrov 2025).
    baseline_platelets : float, optional
        Drug-free platelet count (10^9/L) for ITP/aplastic subjects; the MK attrition
        rate (ITP) or marrow supply (aplastic) is solved to match it.
    prior_therapies : int
        Number of earlier ITP treatment lines (refractoriness): each line beyond the
        reference ``PRIOR_REF`` multiplies the count at which platelet destruction saturates,
        ``PLT50_DES``, by ``PRIOR_PLT50`` (fewer lines divide it), at an unchanged destruction
        rate at the baseline count (itp module).
    """

    population: str = "healthy"
    weight_kg: float = 70.0
    east_asian: bool = False
    female: bool = False
    corticosteroids: bool = False
    splenectomy: bool = False
    baseline_platelets: float | None = None
    prior_therapies: int = 2

    def __post_init__(self) -> None:
        if self.population not in POPULATIONS:
            raise SpecError(unknown_name("population", self.population, POPULATIONS))
        if not (isinstance(self.weight_kg, (int, float)) and math.isfinite(self.weight_kg) and 20 <= self.weight_kg <= 300):
            raise SpecError(invalid_value("weight_kg", self.weight_kg, "a body weight in [20, 300] kg"))
        b = self.baseline_platelets
        if b is not None and not (isinstance(b, (int, float)) and math.isfinite(b) and 0 < b < 1000):
            raise SpecError(invalid_value("baseline_platelets", b, "a count in (0, 1000) x10^9/L"))
        n = self.prior_therapies
        if isinstance(n, bool) or not isinstance(n, int) or not 0 <= n <= 20:
            raise SpecError(invalid_value("prior_therapies", n, "a whole number of earlier ITP treatment lines in [0, 20]"))

    @property
    def healthy(self) -> bool:
        return self.population == "healthy"


def _prior_lines(pv: Mapping[str, float], baseline: float, lines: int) -> dict[str, float]:
    """Refractoriness of a patient with ``lines`` earlier treatment lines (itp module): the
    destruction saturates at PLT50_DES x PRIOR_PLT50^(lines - PRIOR_REF), and KDES is rescaled
    so that KDES/(1 + b/PLT50_DES), the destruction rate at the baseline count b, is unchanged:
    the drug-free patient is the same, the count a TPO-RA can reach is lower."""
    plt50 = pv["PLT50_DES"] * pv["PRIOR_PLT50"] ** (lines - pv["PRIOR_REF"])
    return {"PLT50_DES": plt50, "KDES": pv["KDES"] * (1 + baseline / plt50) / (1 + baseline / pv["PLT50_DES"])}


@lru_cache(maxsize=64)
def _composed(drugs: tuple[str, ...], population: str) -> Model:
    """The composed model for a drug set and population (cached: structure and typical values)."""
    entries = [get_drug(d) for d in drugs]
    occupying = [e for e in entries if e.occupancy]
    receptor = receptor_module(tuple(e.occupancy for e in occupying if e.site == EXTRACELLULAR),
                               tuple(e.occupancy for e in occupying if e.site == TRANSMEMBRANE),
                               tuple(p for e in entries for p in e.receptor_parameters))
    modules = [subject_module(), tpo_module(), receptor, megakaryopoiesis_module()]
    if population == "itp":
        modules.append(itp_module())
    modules += [e.module() for e in entries]
    return compose("_".join(["thrombopoiesis", population, *drugs]), modules)


def build_model(drugs: tuple[str, ...] | list[str], subject: Subject | None = None, factors: dict[str, float] | None = None,
                typical: dict[str, float] | None = None, **parameters: float) -> Model:
    """Whole-body model for ``subject`` with ``drugs``, at its drug-free steady state.

    Parameters
    ----------
    drugs : sequence of str
        Catalogue names (``moasim drugs``); may be empty (physiology only).
    subject : Subject
        Population and covariates (default: healthy 70 kg adult).
    typical : dict, optional
        Typical-value overrides (canonical units) applied before covariates and IIV
        (used by calibration).
    factors : dict, optional
        Multiplicative factors (inter-individual variability, exp(eta)) applied after the
        covariate effects; names absent from the model are ignored.
    **parameters : float
        Parameter overrides in canonical units, applied before the steady state is solved.
    """
    subject = subject or Subject()
    entries = [get_drug(d) for d in drugs]
    model = _composed(tuple(e.name for e in entries), subject.population)
    if typical:
        model = model.with_parameters(**{k: v for k, v in typical.items() if k in model.parameter_values})
    model = model.with_parameters(WT=subject.weight_kg)
    for e in entries:
        upd = e.covariates(model.parameter_values, subject)
        if upd:
            model = model.with_parameters(**upd)
    if subject.population == "itp":  # refractoriness: splenectomy (faster destruction, Petrov 2025)
        pv0 = model.parameter_values
        model = model.with_parameters(KDES=pv0["KDES"] * (pv0["SPLEN_KDES"] if subject.splenectomy else 1.0))
    if factors:
        pv0 = model.parameter_values
        model = model.with_parameters(**{k: pv0[k] * f for k, f in factors.items() if k in pv0})
    if parameters:
        model = model.with_parameters(**parameters)
    pv = model.parameter_values
    if subject.population == "itp":
        b = subject.baseline_platelets if subject.baseline_platelets is not None else ITP_BASELINE[subject.splenectomy]
        model = model.with_parameters(**_prior_lines(pv, b, subject.prior_therapies))
        pv = model.parameter_values
        states, upd = steady_state(pv, b, "KMKD")
    elif subject.population == "aplastic":
        b = subject.baseline_platelets if subject.baseline_platelets is not None else APLASTIC_BASELINE
        states, upd = steady_state(pv, b, "F_MARROW")
    else:
        states, upd = steady_state(pv)
    return model.with_parameters(**upd).with_initial(**states)
