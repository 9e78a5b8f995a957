"""``simulate_bone``: one typical postmenopausal woman (or man) on a bone regimen (or a sequence)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping, Sequence

import numpy as np

from ...dosing import parse_dose
from ...dosing._regimen import dose_amount_ug
from ...engine import Add, Event, get_engine, run_schedule
from ...engine._codegen import python_outputs
from ...errors import DosingError, SpecError, invalid_value, unknown_name
from ...limits import check_interval
from ...units import to_unit
from ...layers import BONE
from ..build import POPULATIONS as _CORE_POPULATIONS
from ..build import Subject
from ._model import build_bone_model
from .covariates import TYPICAL_WEIGHT_KG, subject_parameters
from ._result import BoneSimulationResult
from .fracture import FRACTURE_LINKS, relative_risk
from ..._frozen import read_only


__all__ = ["BoneSubject", "BoneRegimen", "simulate_bone", "run_bone", "bone_routes", "BONE_OUTPUTS", "BONE_POPULATIONS",
           "BONE_DRUGS_AVAILABLE"]

#: populations of the bone layer (:data:`moasim.layers.BONE`)
BONE_POPULATIONS = BONE.populations
#: drugs whose mechanism is in the bone model
BONE_DRUGS_AVAILABLE = BONE.drugs

#: drug -> route -> (state receiving the dose, parameters whose product is the fraction that arrives)
_DOSING = {
    "romosozumab": {"sc": ("DEPOT_rsz", ("F_rsz",)), "iv": ("AC_rsz", ())},
    "denosumab": {"sc": ("DEPOT_den", ("F_den",)), "iv": ("AC_den", ())},
    "alendronate": {"oral": ("BPS_aln", ("F_aln", "FB_aln"))},
    "teriparatide": {"sc": ("DEPOT_tpt", ("F_tpt",)), "iv": ("AC_tpt", ())},
}


def bone_routes(drug: str) -> tuple[str, ...]:
    """Routes of a bone drug, the default first (:attr:`moasim.layers.Layer.routes`)."""
    return tuple(_DOSING[drug])


#: outputs of simulate_bone: model output name -> result name
BONE_OUTPUTS = {
    "bmd_lumbar_spine": "bmd_lumbar_spine",
    "bmd_total_hip": "bmd_total_hip",
    "bmd_femoral_neck": "bmd_femoral_neck",
    "p1np": "p1np",
    "ctx": "ctx",
    "conc_romosozumab": "romosozumab_concentration",
    "conc_denosumab": "denosumab_concentration",
    "conc_teriparatide": "teriparatide_concentration",
    "bone_surface_alendronate": "alendronate_bone_surface",
    "sclerostin_free": "sclerostin",
    "sclerostin_total": "sclerostin_total",
    "wnt_activity": "wnt_activity",
}


@dataclass(frozen=True, slots=True, kw_only=True)
class BoneSubject(Subject):
    """A typical subject of the bone layer (postmenopausal woman by default).

    Extends :class:`moasim.library.build.Subject` to admit the populations
    ``"postmenopausal_osteoporosis"`` and ``"male_osteoporosis"``; the thrombopoiesis
    populations stay valid.

    Parameters
    ----------
    female : bool, optional
        Sex (:mod:`moasim.library.bone.covariates`); default from the population: a man for
        ``male_osteoporosis``, else a woman. A woman in ``male_osteoporosis`` is refused.
    weight_kg : float, optional
        Body weight (kg); default the typical weight of the subject's sex
        (:data:`moasim.library.bone.covariates.TYPICAL_WEIGHT_KG`).
    """

    population: str = "postmenopausal_osteoporosis"
    female: bool | None = None  # type: ignore[assignment]
    weight_kg: float | None = None  # type: ignore[assignment]

    def __post_init__(self) -> None:
        allowed = (*BONE_POPULATIONS, *_CORE_POPULATIONS)
        if self.population not in allowed:
            raise SpecError(unknown_name("population", self.population, allowed))
        male_population = self.population == "male_osteoporosis"
        if self.female is None:
            object.__setattr__(self, "female", not male_population)
        elif not isinstance(self.female, bool) or (self.female and male_population):
            raise SpecError(invalid_value("female", self.female, "false (or unset) for population male_osteoporosis; true or false otherwise"))
        if self.weight_kg is None:
            object.__setattr__(self, "weight_kg", TYPICAL_WEIGHT_KG["female" if self.female else "male"])
        if not (isinstance(self.weight_kg, (int, float)) and math.isfinite(self.weight_kg) and 20 <= self.weight_kg <= 300):
            raise SpecError(invalid_value("weight_kg", self.weight_kg, "a body weight in [20, 300] kg"))


@dataclass(frozen=True, slots=True, kw_only=True)
class BoneRegimen:
    """Repeated doses of one bone drug.

    Parameters
    ----------
    drug : str
        ``"romosozumab"``.
    dose : str
        Amount with unit (``"210 mg"``).
    every : str, optional
        Interval (``"1 month"``, ``"28 days"``); single dose if None.
    route : str, optional
        romosozumab, denosumab, teriparatide: ``"sc"`` (default) or ``"iv"``; alendronate: ``"oral"``.
    start : float
        First dose (day).
    count : int, optional
        Number of doses (default: until the end of the simulation).
    """

    drug: str
    dose: str
    every: str | None = None
    route: str | None = None
    start: float = 0.0
    count: int | None = None

    def __post_init__(self) -> None:
        if self.drug not in BONE_DRUGS_AVAILABLE:
            raise SpecError(unknown_name("bone drug", self.drug, BONE_DRUGS_AVAILABLE))
        routes = bone_routes(self.drug)
        if self.route is None:
            object.__setattr__(self, "route", routes[0])
        if self.route not in routes:
            raise DosingError(unknown_name(f"route of {self.drug}", self.route, routes))
        if not (math.isfinite(self.start) and self.start >= 0):
            raise DosingError(invalid_value("start", self.start, "a time >= 0 day"))
        if self.count is not None and (not isinstance(self.count, int) or self.count < 1):
            raise DosingError(invalid_value("count", self.count, "an integer >= 1"))
        parse_dose(self.dose)  # unit, sign and magnitude, before any work
        if self.every is not None:
            check_interval(to_unit(self.every, "day", "every"), "every", self.every)

    def events(self, t_end: float, pv: Mapping[str, float], weight_kg: float) -> list[Event]:
        value, unit = parse_dose(self.dose)
        amount = dose_amount_ug(value, unit, weight_kg)
        if self.every is None:
            times = [self.start]
        else:
            step = to_unit(self.every, "day", "every")
            n = self.count if self.count is not None else int(math.ceil((t_end - self.start) / step - 1e-9))
            times = [self.start + i * step for i in range(max(n, 0))]
        target, fractions = _DOSING[self.drug][self.route]
        arrives = amount * float(np.prod([pv[f] for f in fractions]))
        return [Event(t, Add(target, arrives), label=f"{self.drug} {self.route}", dose=(self.drug, value, unit)) for t in times if t < t_end]

    def __str__(self) -> str:
        every = f" every {self.every}" if self.every else " once"
        count = f" x{self.count}" if self.count else ""
        start = f" from day {self.start:g}" if self.start else ""
        return f"{self.drug} {self.dose} {self.route}{every}{count}{start}"


def _times(days: float, per_day: int) -> np.ndarray:
    return np.linspace(0.0, days, int(round(days * per_day)) + 1)


def run_bone(
    regimens: Sequence[BoneRegimen] = (),
    *,
    days: float = 365.0,
    subject: Subject | None = None,
    samples_per_day: int = 1,
    engine: str = "roadrunner",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    parameters: Mapping[str, float] | None = None,
    t_out: np.ndarray | None = None,
):
    """Simulate the bone model with any number of regimens (sequences, stop/offset).

    Returns a :class:`BoneSimulationResult` (a :class:`moasim.simulation.SimulationResult`;
    outputs in :data:`BONE_OUTPUTS`).
    """
    if not (isinstance(days, (int, float)) and math.isfinite(days) and 0 < days <= 3650):
        raise SpecError(invalid_value("days", days, "a duration in (0, 3650] days"))
    if not (isinstance(samples_per_day, int) and 1 <= samples_per_day <= 1000):
        raise SpecError(invalid_value("samples_per_day", samples_per_day, "an integer in [1, 1000]"))
    subject = subject or BoneSubject()
    # the subject's weight sets the antibodies' clearances and volumes (body_size); an explicit WT override wins;
    # a man's parameters are the woman's times the factors of covariates.MALE_EFFECTS
    female = not isinstance(subject, BoneSubject) or bool(subject.female)
    model = build_bone_model(subject_parameters(subject.weight_kg, female, parameters))
    t = _times(days, samples_per_day) if t_out is None else np.asarray(t_out, float)
    events: list[Event] = []
    for r in regimens:
        events += r.events(float(t[-1]), model.parameter_values, subject.weight_kg)
    eng = get_engine(engine, rtol=rtol, atol=atol)
    res = run_schedule(eng, model, t, events)
    p = model.parameter_vector()
    vals = python_outputs(model, tuple(BONE_OUTPUTS))(t, res.states, p)
    outputs = {BONE_OUTPUTS[k]: read_only(v, float) for k, v in vals.items()}
    units = {BONE_OUTPUTS[k]: model.outputs[k].unit for k in BONE_OUTPUTS}
    # BMD -> fracture link (Marshall 1996), typical subject at T-score -2.5 on the reference of the subject's sex
    for kind, link in FRACTURE_LINKS.items():
        outputs[f"{kind}_fracture_rr"] = read_only(relative_risk(outputs[link.output], kind, female=female), float)
        units[f"{kind}_fracture_rr"] = "1"
    # drug_concentration: the (first) simulated drug's serum concentration (ng/mL)
    # (alendronate has no modelled serum concentration: its bone-surface amount is reported instead)
    main = regimens[0].drug if regimens else "romosozumab"
    if f"{main}_concentration" in outputs:  # in ng/mL whatever the drug's own unit (teriparatide: pg/mL)
        scale = to_unit(f"1 {units[f'{main}_concentration']}", "ng/mL", "drug_concentration")
        outputs["drug_concentration"] = read_only(outputs[f"{main}_concentration"] * scale, float)
        units["drug_concentration"] = "ng/mL"
    doses = tuple((e.time, *e.dose) for e in res.ledger if e.dose)
    text = "; then ".join(str(r) for r in regimens) or "none (placebo)"
    drugs = sorted({r.drug for r in regimens})
    return BoneSimulationResult(
        time=read_only(t, float), outputs=MappingProxyType(outputs), units=MappingProxyType(units), doses=doses, subject=subject,
        drug=drugs[0] if len(drugs) == 1 else ("+".join(drugs) or None), regimen=f"{text} [{subject.population}]",
        engine=eng.name, parameters=model.parameter_values, model=model,
    )


#: populations a bone-layer subject may have: the layer's own and healthy volunteers (PK studies)
SUBJECT_POPULATIONS = (*BONE_POPULATIONS, "healthy")


def _check_bone_arguments(drug, population: str, titration) -> None:
    """Refuse what the bone layer would otherwise ignore: a platelet-layer drug or disease
    population, a titration rule (one clear line each). A meal is not refused: the CLI reports
    it as not applied (the bone model has no food effect)."""
    from ..drugs import DRUGS

    if drug in DRUGS:  # routed here by a bone population
        allowed = ", ".join(_CORE_POPULATIONS)
        raise SpecError(invalid_value("population", population, f"one of {allowed} for {drug} (a platelet-layer drug)"))
    if population not in SUBJECT_POPULATIONS:
        raise SpecError(invalid_value("population", population, f"one of {', '.join(SUBJECT_POPULATIONS)} for a bone drug"))
    if titration is not None:
        raise SpecError(invalid_value("titration", titration, "none: the bone drugs have no titration rule"))


def simulate_bone(
    drug: str | None = None,
    dose: str | None = None,
    *,
    every: str | None = None,
    route: str | None = None,
    days: float = 365.0,
    population: str = "postmenopausal_osteoporosis",
    subject: Subject | None = None,
    titration: str | None = None,
    food=None,
    count: int | None = None,
    samples_per_day: int = 1,
    engine: str = "roadrunner",
    rtol: float = 1e-8,
    atol: float = 1e-10,
    parameters: Mapping[str, float] | None = None,
):
    """Simulate one typical postmenopausal woman on a bone drug (the ``simulate()`` bone path).

    Parameters
    ----------
    drug : str or None
        ``"romosozumab"``, ``"denosumab"``, ``"alendronate"`` or ``"teriparatide"``; None (or
        ``"placebo"``) for the drug-free course.
    dose : str
        Amount per administration with unit, e.g. ``"210 mg"``.
    every : str, optional
        Dosing interval (``"1 month"`` = 30.44 days via pint, or ``"28 days"``); single dose if absent.
    route : {"sc", "iv", "oral"}, optional
        Default: ``"sc"`` for the antibodies, ``"oral"`` for alendronate.
    days : float
        Duration (day).
    population : {"postmenopausal_osteoporosis", "male_osteoporosis", "healthy"}
        ``"postmenopausal_osteoporosis"`` (default: the calibrated typical woman);
        ``"male_osteoporosis"``: the typical man (:mod:`moasim.library.bone.covariates`);
        ``"healthy"`` (healthy-volunteer PK studies) gives the woman's normalised bone model.
        The disease populations of the platelet layer (``"itp"``, ``"aplastic"``) are refused:
        the bone model has no such patients, and a result labelled with them would describe a
        woman without the disease.
    subject : Subject, optional
        Overrides ``population``; its weight sets ug/kg doses and the antibodies' clearances
        and volumes (:mod:`moasim.library.bone.body_size`).
    titration : None
        Must be None: the bone drugs have no titration rule (the argument exists because
        :func:`moasim.simulate` hands its arguments to every layer alike); a rule is refused
        rather than ignored.
    food : optional
        Not applied: the bone model has no food effect (``moasim simulate`` says so).
    count : int, optional
        Number of doses.
    samples_per_day : int
        Output resolution.
    engine, rtol, atol : solver choice and tolerances.
    parameters : mapping, optional
        Parameter overrides (canonical units).

    Returns
    -------
    BoneSimulationResult
        A :class:`moasim.simulation.SimulationResult` with bone ``summary`` and ``plot``.
        Outputs ``bmd_lumbar_spine``, ``bmd_total_hip``, ``bmd_femoral_neck``, ``p1np``,
        ``ctx`` (% change from baseline), ``drug_concentration`` (serum concentration of
        ``drug``, ng/mL; total romosozumab), ``romosozumab_concentration``,
        ``denosumab_concentration`` (ng/mL), ``sclerostin`` (free serum, pmol/L), ``sclerostin_total``
        (pmol/L), ``wnt_activity`` (relative to baseline), ``vertebral_fracture_rr`` and
        ``hip_fracture_rr`` (risk relative to baseline from the LS / TH BMD change,
        :mod:`moasim.library.bone.fracture`, baseline T-score -2.5).
    """
    _check_bone_arguments(drug, subject.population if subject is not None else population, titration)
    if subject is None:
        subject = BoneSubject(population=population)
    regimens: list[BoneRegimen] = []
    if drug not in (None, "placebo", "none"):
        if drug not in BONE_DRUGS_AVAILABLE:
            if drug in BONE.planned_drugs:
                raise SpecError(f"Drug {drug!r} is not in the bone model yet; allowed now: {', '.join(BONE_DRUGS_AVAILABLE)}.")
            raise SpecError(unknown_name("bone drug", drug, BONE_DRUGS_AVAILABLE))
        if dose is None:
            raise DosingError(invalid_value("dose", None, "an amount with unit, e.g. '210 mg'"))
        regimens.append(BoneRegimen(drug=drug, dose=str(dose) if not isinstance(dose, str) else dose, every=every,
                                    route=route, count=count))
    return run_bone(regimens, days=days, subject=subject, samples_per_day=samples_per_day, engine=engine, rtol=rtol, atol=atol,
                    parameters=parameters)


