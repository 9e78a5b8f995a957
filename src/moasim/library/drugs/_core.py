"""What a drug module declares: the :class:`Drug` record and the small objects it is made of.

Every drug of the thrombopoiesis layer is one module of :mod:`moasim.library.drugs` that
defines ``DRUG = Drug(...)``; nothing outside that module names the drug. The objects here
hold no drug-specific data and import nothing from the rest of the library, so that the drug
modules, :mod:`moasim.library.receptor_params`, :mod:`moasim.dosing` and
:mod:`moasim.population` can all read them without import cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Callable, Mapping

from ...engine import Add, Event, SetParameter, Transfer
from ...errors import DosingError, SpecError, invalid_value, unknown_name
from ...model import Module, Parameter

__all__ = ["Drug", "Food", "FOOD_KINDS", "LigandParams", "ligand_params", "EXTRACELLULAR", "TRANSMEMBRANE",
           "TitrationRule", "IIV", "omega_from_cv", "InVitroDefaults", "Depot", "Bolus", "Oral", "EFF_TM", "EFF_TM_SRC",
           "CAL_32D", "XIE", "TM_MECHANISM"]

#: meal kinds understood by ``Food`` (what the chelation/food-effect parameters describe)
FOOD_KINDS = ("high_fat", "high_calcium", "antacid", "standard")

EXTRACELLULAR = "extracellular"
TRANSMEMBRANE = "transmembrane"
#: what every transmembrane-site agonist does (its ``Drug.mechanism``, with drug-specific additions)
TM_MECHANISM = "binds the c-Mpl transmembrane domain; additive with TPO"

XIE = "Xie 2018 J Cell Mol Med 22:5367"
CAL_32D = "calibrated: 4PL EC50 of simulated 72 h 32D-MPL CellTiter-Glo plates = {v} nM (" + XIE + ", R)"
EFF_TM_SRC = ("assumption: one class efficacy for the transmembrane agonists (they share the His499 TM site; "
              "no per-drug Emax published in a readable source). Half of a TPO dimer's JAK2 activation, so the "
              "class is a partial agonist at native receptor density and looks full in over-expressing 32D-MPL")
#: Class efficacy of the transmembrane agonists (assumption A; see EFF_TM_SRC).
EFF_TM = 0.5


@dataclass(frozen=True, slots=True, kw_only=True)
class Food:
    """A meal or cation-containing product relative to an oral dose.

    Parameters
    ----------
    kind : str
        One of ``FOOD_KINDS``.
    after_h : float
        Hours after the dose (0 = with the dose; negative = before, treated as with the dose).
    """

    kind: str
    after_h: float = 0.0

    def __post_init__(self) -> None:
        if self.kind not in FOOD_KINDS:
            raise DosingError(unknown_name("food kind", self.kind, FOOD_KINDS))


# ------------------------------------------------------------------------------------------- receptor
@dataclass(frozen=True, slots=True)
class LigandParams:
    """Receptor parameters of one ligand.

    Attributes
    ----------
    name : str
        Drug name as in the catalogue (``tpo``, ``romiplostim``, ...).
    suffix : str
        Short symbol suffix used in model equations (``T``, ``rom``, ``elt``, ...).
    site : str
        ``"extracellular"`` (competes with TPO) or ``"transmembrane"`` (additive with TPO).
    KA : Parameter
        Affinity: dissociation constant of the binding site (nM); the operational model's KA.
        Its equation symbol is ``KD_<suffix>`` (not ``KA_``, which the PK modules use for
        absorption rate constants).
    EFF : Parameter
        Intrinsic efficacy: JAK2 activation per stabilised receptor dimer, relative to TPO (1).
    MW : Parameter
        Molar mass (g/mol), to convert mass concentrations.
    """

    name: str
    suffix: str
    site: str
    KA: Parameter
    EFF: Parameter
    MW: Parameter

    def nM(self, value: float, unit: str) -> float:
        """Convert a concentration (``nM``, ``uM``, ``ng/mL``, ...) of this ligand to nM."""
        from ...units import convert, dimension_of

        if dimension_of(unit) == dimension_of("nM"):
            return convert(value, unit, "nM", f"{self.name} concentration")
        ngml = convert(value, unit, "ng/mL", f"{self.name} concentration")
        return ngml * 1e3 / self.MW.value  # (ng/mL)/(g/mol) = 1e-6 mol/L / 1e3 ... = 1e3/MW nM per ng/mL


def ligand_params(name, suffix, site, ka, ka_unit, ka_src, ka_tag, eff, eff_src, eff_tag, mw, mw_src, mw_tag) -> LigandParams:
    """A :class:`LigandParams` from values, units, sources and provenance tags (KA in ``ka_unit``, MW in g/mol)."""
    return LigandParams(
        name=name, suffix=suffix, site=site,
        KA=Parameter(name=f"KD_{suffix}", value=ka, unit=ka_unit, model_unit="nM", lower=0, source=ka_src, tag=ka_tag,
                     doc=f"{name}: dissociation constant at the {site} site"),
        EFF=Parameter(name=f"EFF_{suffix}", value=eff, unit="1", lower=0, source=eff_src, tag=eff_tag,
                      doc=f"{name}: JAK2 activation per receptor dimer relative to TPO"),
        MW=Parameter(name=f"MWR_{suffix}", value=mw, unit="g/mol", lower=0, source=mw_src, tag=mw_tag, doc=f"{name}: molar mass"),
    )


# ------------------------------------------------------------------------------------------- dosing
@dataclass(frozen=True, slots=True, kw_only=True)
class TitrationRule:
    """A label-style titration rule (platelets in 10^9/L, times in days).

    At each visit (every ``visit_days``) with platelet count ``p``:

    1. while held: resume one level lower when ``p < resume_below``;
    2. ``p > hold_above``: hold (no dose);
    3. ``p > decrease_above`` for ``decrease_consecutive`` visits in a row: one level down;
    4. ``p < increase_below`` and >= ``increase_interval_days`` since the last increase: one level up.
    """

    name: str
    drug: str
    levels: tuple[float, ...]
    unit: str
    start: float
    every_days: float
    visit_days: float
    increase_below: float
    increase_interval_days: float
    decrease_above: float
    decrease_consecutive: int
    hold_above: float
    resume_below: float
    start_east_asian: float | None = None
    source: str = ""

    def start_index(self, east_asian: bool = False) -> int:
        s = self.start_east_asian if (east_asian and self.start_east_asian is not None) else self.start
        return self.levels.index(s)


@dataclass(frozen=True, slots=True)
class Depot:
    """SC dose: ``amount x p[bioavailability]`` into ``state`` (ug)."""

    state: str
    bioavailability: str

    def events(self, t: float, amount: float, p: Mapping[str, float], food: Food | None, food_parameters: Mapping[str, str]) -> list[Event]:
        return [Event(t, Add(self.state, amount * p[self.bioavailability]))]


@dataclass(frozen=True, slots=True)
class Bolus:
    """IV bolus: the whole amount into ``state`` (ug)."""

    state: str

    def events(self, t: float, amount: float, p: Mapping[str, float], food: Food | None, food_parameters: Mapping[str, str]) -> list[Event]:
        return [Event(t, Add(self.state, amount))]


@dataclass(frozen=True, slots=True)
class Oral:
    """Oral dose: the food state is set at the dose, the drug enters ``gut`` after the lag.

    Parameters
    ----------
    gut : str
        State that receives the dose (ug).
    lag : str
        Parameter holding the absorption lag (day); ``""`` for none.
    kfood : str
        Parameter of the current gut loss by food (1/day), set by meal events; ``""`` if the
        drug has no food effect.
    switch : tuple of str, optional
        Dual sequential absorption: ``(tsw_param, from_state, to_state)``.
    """

    gut: str
    lag: str = ""
    kfood: str = ""
    switch: tuple[str, str, str] | None = None

    def events(self, t: float, amount: float, p: Mapping[str, float], food: Food | None, food_parameters: Mapping[str, str]) -> list[Event]:
        out: list[Event] = []
        if self.kfood:
            k_food = p[food_parameters[food.kind]] if food and food.kind in food_parameters else 0.0
            t_meal = t + max(food.after_h, 0.0) / 24.0 if food else t
            out.append(Event(t, SetParameter(self.kfood, 0.0)))
            if k_food > 0:
                out.append(Event(t_meal, SetParameter(self.kfood, k_food)))
        t_abs = t + (p[self.lag] if self.lag else 0.0)
        out.append(Event(t_abs, Add(self.gut, amount)))
        if self.switch:
            tsw, a, b = self.switch
            out.append(Event(t_abs + p[tsw], Transfer(a, b)))
        return out


# ------------------------------------------------------------------------------------------- population
@dataclass(frozen=True, slots=True, kw_only=True)
class IIV:
    """Log-normal inter-individual variability: theta_i = theta * exp(eta), eta ~ N(0, omega^2)."""

    parameter: str
    omega: float
    source: str
    drug: str | None = None  # only applied when this drug is in the model


def omega_from_cv(cv: float) -> float:
    """SD of log from a CV reported for a log-normal parameter: sqrt(ln(1 + CV^2))."""
    return math.sqrt(math.log(1 + cv * cv))


# ------------------------------------------------------------------------------------------- in vitro
@dataclass(frozen=True, slots=True, kw_only=True)
class InVitroDefaults:
    """What an experimenter would pick for the simulated assays (:mod:`moasim.library.invitro`).

    Attributes
    ----------
    expected_ec50_nM : float
        Published (or typical) EC50 in a c-Mpl over-expressing line (nM): the dilution series
        starts ~300x above it (6x higher on CD34+ cells).
    differentiation_nM, signaling_nM : float or None
        Default concentration (nM) of the differentiation culture and of the signalling time
        course; None: the rhTPO positive-control concentration (100 ng/mL).
    """

    expected_ec50_nM: float
    differentiation_nM: float | None = None
    signaling_nM: float | None = None


# ------------------------------------------------------------------------------------------- the drug
def _no_covariates(p: Mapping[str, float], subject: object) -> dict[str, float]:
    return {}


@dataclass(frozen=True, slots=True, kw_only=True)
class Drug:
    """Everything the thrombopoiesis layer knows about one drug (one module of :mod:`moasim.library.drugs`).

    Attributes
    ----------
    name, kind, mechanism : str
        Catalogue name and the ``moasim drugs`` text.
    site : str
        ``"extracellular"`` or ``"transmembrane"`` (c-Mpl binding site).
    order : float
        Position in the catalogue (``moasim drugs`` lists drugs by it).
    ligand : LigandParams
        Receptor parameters (affinity, efficacy, molar mass): the drug's row of
        :data:`moasim.library.receptor_params.LIGANDS`; ``ligand.suffix`` is its symbol suffix.
    administration : mapping
        Route -> :class:`Depot` | :class:`Bolus` | :class:`Oral` (or any object with the same
        ``events`` method); its keys, in order, are the routes (the first is the default).
    dose_units : tuple of str
        Dose units offered (``mg``; ``ug/kg`` for weight-based doses).
    module : callable
        Factory of the PK module (:class:`moasim.model.Module`).
    concentration : str
        Output name of the plasma concentration.
    occupancy : str or None
        Expression of the receptor occupancy ratio the drug adds to its site in the in-vivo
        receptor module (``xS_<suffix>`` for a transmembrane agonist); None for a drug that acts
        through another state (rhTPO adds to the TPO pool).
    receptor_parameters : tuple of Parameter
        Parameters that ``occupancy`` needs beyond the PK module (added to the receptor module).
    covariates : callable
        ``(parameter values, subject) -> {name: value}``: covariate effects on the PK.
    food_parameters : mapping
        Food kind -> parameter of the gut loss it causes (oral drugs with a food or cation effect).
    titration : TitrationRule or None
        The label titration rule; None with ``no_titration`` saying why.
    iiv : tuple of IIV
        Inter-individual variability of the drug's parameters (population defaults).
    endogenous : bool
        The drug is the endogenous ligand (rhTPO): the reference of efficacy, first in the ligand table.
    non_responder_fraction : float or None
        Published fraction of receptor-level non-responders in ITP (None: the class default).
    invitro : InVitroDefaults
        Defaults of the simulated assays.
    references : tuple of str
    """

    name: str
    kind: str
    site: str
    mechanism: str
    order: float
    ligand: LigandParams
    administration: Mapping[str, object]
    dose_units: tuple[str, ...]
    module: Callable[[], Module]
    concentration: str
    invitro: InVitroDefaults
    occupancy: str | None = None
    receptor_parameters: tuple[Parameter, ...] = ()
    covariates: Callable[[Mapping[str, float], object], dict[str, float]] = _no_covariates
    food_parameters: Mapping[str, str] = field(default_factory=dict)
    titration: TitrationRule | None = None
    no_titration: str = ""
    iiv: tuple[IIV, ...] = ()
    endogenous: bool = False
    non_responder_fraction: float | None = None
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        where = f"drug module {self.name!r}"
        if self.site not in (EXTRACELLULAR, TRANSMEMBRANE):
            raise SpecError(invalid_value("site", self.site, f"{EXTRACELLULAR} | {TRANSMEMBRANE}", where))
        if self.ligand.name != self.name:
            raise SpecError(invalid_value("ligand name", self.ligand.name, f"the drug's name {self.name!r}", where))
        if not self.administration:
            raise SpecError(invalid_value("administration", dict(self.administration), "at least one route", where))
        unknown = [k for k in self.food_parameters if k not in FOOD_KINDS]
        if unknown:
            raise SpecError(unknown_name("food kind", unknown[0], FOOD_KINDS, where))
        if (self.titration is None) == (not self.no_titration):
            raise SpecError(invalid_value("titration", self.titration, "a TitrationRule, or None with no_titration saying why", where))
        if self.titration is not None and self.titration.drug != self.name:
            raise SpecError(invalid_value("titration.drug", self.titration.drug, self.name, where))
        if any(v.drug != self.name for v in self.iiv):
            raise SpecError(invalid_value("iiv drug", [v.drug for v in self.iiv], f"{self.name!r} for every entry", where))
        f = self.non_responder_fraction
        if f is not None and not 0 <= f <= 1:
            raise SpecError(invalid_value("non_responder_fraction", f, "a fraction in [0, 1]", where))
        object.__setattr__(self, "administration", MappingProxyType(dict(self.administration)))
        object.__setattr__(self, "food_parameters", MappingProxyType(dict(self.food_parameters)))

    @property
    def routes(self) -> tuple[str, ...]:
        """Routes of administration (the first is the default)."""
        return tuple(self.administration)

    @property
    def suffix(self) -> str:
        """Symbol suffix of the drug's parameters and states (``elt``, ``rom``, ...)."""
        return self.ligand.suffix

    @property
    def molar_mass(self) -> float:
        """Molar mass (g/mol)."""
        return self.ligand.MW.value

    def events(self, route: str, t: float, amount: float, p: Mapping[str, float], food: Food | None) -> list[Event]:
        """Engine events of one administration of ``amount`` ug at ``t`` (day) by ``route``."""
        return self.administration[route].events(t, amount, p, food, self.food_parameters)  # type: ignore[attr-defined]
