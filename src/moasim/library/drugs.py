"""The drug catalogue: mechanism, routes, dose units, covariate effects and sources.

Each :class:`Drug` knows its PK module, where a dose of each route goes (as engine
events), and how subject covariates change its parameters. ``moasim drugs`` prints it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, Mapping

from ..engine import Add, Event, SetParameter, Transfer
from ..errors import DosingError, SpecError, invalid_value, unknown_name
from ..model import Module
from ._layers import BONE_DRUGS_AVAILABLE
from .pk import gibiansky2011_eltrombopag as elt
from .pk import hetrombopag as het
from .pk import liu2025_avatrombopag as ava
from .pk import rhtpo, wang2010_romiplostim as rom

__all__ = ["Drug", "Food", "DRUGS", "get_drug", "FOOD_KINDS"]

#: meal kinds understood by ``Food`` (what the chelation/food-effect parameters describe)
FOOD_KINDS = ("high_fat", "high_calcium", "antacid", "standard")


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


@dataclass(frozen=True, slots=True, kw_only=True)
class Drug:
    """A catalogue entry."""

    name: str
    kind: str
    site: str  # "extracellular" | "transmembrane" | "endogenous ligand"
    mechanism: str
    routes: tuple[str, ...]
    dose_units: tuple[str, ...]
    module: Callable[[], Module]
    concentration: str  # output name of the plasma concentration
    events: Callable[[str, float, float, Mapping[str, float], Food | None], list[Event]]
    covariates: Callable[[Mapping[str, float], "object"], dict[str, float]] = lambda p, c: {}
    food_parameters: Mapping[str, str] = field(default_factory=dict)
    references: tuple[str, ...] = ()


def _sc_iv(depot: str, central: str, f_param: str):
    def events(route: str, t: float, amount: float, p: Mapping[str, float], food: Food | None) -> list[Event]:
        if route == "sc":
            return [Event(t, Add(depot, amount * p[f_param]))]
        return [Event(t, Add(central, amount))]

    return events


def _oral(gut: str, lag: str, kfood: str, food_params: Mapping[str, str], switch: tuple[str, str, str] | None = None):
    """Oral dose: food state set at the dose; drug enters ``gut`` after the lag;
    optional dual sequential absorption (``switch`` = (tsw_param, from, to))."""

    def events(route: str, t: float, amount: float, p: Mapping[str, float], food: Food | None) -> list[Event]:
        out: list[Event] = []
        if kfood:
            k_food = p[food_params[food.kind]] if food and food.kind in food_params else 0.0
            t_meal = t + max(food.after_h, 0.0) / 24.0 if food else t
            out.append(Event(t, SetParameter(kfood, 0.0)))
            if k_food > 0:
                out.append(Event(t_meal, SetParameter(kfood, k_food)))
        t_abs = t + (p[lag] if lag else 0.0)
        out.append(Event(t_abs, Add(gut, amount)))
        if switch:
            tsw, a, b = switch
            out.append(Event(t_abs + p[tsw], Transfer(a, b)))
        return out

    return events


def _tpo_events(route: str, t: float, amount: float, p: Mapping[str, float], food: Food | None) -> list[Event]:
    if route == "sc":
        return [Event(t, Add("DEPOT_tpo", amount * p["F_tpo"]))]
    return [Event(t, Add("TPO", amount * 1000.0 / (p["VP_tpo"] * p["WT"])))]


def _elt_covariates(p: Mapping[str, float], cov) -> dict[str, float]:
    f = (cov.weight_kg / 70.0) ** elt.WT_EXP_CL
    for name, factor in elt.COV_CL.items():
        if getattr(cov, name, False):
            f *= factor
    return {"CL_elt": p["CL_elt"] * f}


DRUGS: dict[str, Drug] = {
    "romiplostim": Drug(
        name="romiplostim", kind="peptibody (Fc-peptide fusion, ~59 kDa), SC weekly",
        site="extracellular", mechanism="binds the TPO site of c-Mpl (competitive with TPO); cleared by c-Mpl (TMDD)",
        routes=("sc", "iv"), dose_units=("ug/kg", "ug"), module=rom.module, concentration="conc_romiplostim",
        events=_sc_iv("DEPOT_rom", "AC_rom", "F_rom"), references=("Wang 2010 AAPS J 12:729", "Nplate USPI"),
    ),
    "eltrombopag": Drug(
        name="eltrombopag", kind="small molecule, oral daily",
        site="transmembrane", mechanism="binds the c-Mpl transmembrane domain; additive with TPO",
        routes=("oral",), dose_units=("mg",), module=elt.module, concentration="conc_eltrombopag",
        events=_oral("GUT1_elt", "ALAG_elt", "KFOOD_elt", {"high_calcium": "KCHEL_CA_elt", "antacid": "KCHEL_ANTACID_elt"},
                     switch=("TSW_elt", "GUT1_elt", "GUT2_elt")),
        covariates=_elt_covariates,
        food_parameters={"high_calcium": "KCHEL_CA_elt", "antacid": "KCHEL_ANTACID_elt"},
        references=("Gibiansky 2011 J Clin Pharmacol 51:842", "Farrell 2014 BJCP 77:717", "Williams 2009 Clin Ther 31:764"),
    ),
    "hetrombopag": Drug(
        name="hetrombopag", kind="small molecule (herombopag olamine), oral daily",
        site="transmembrane", mechanism="binds the c-Mpl transmembrane domain; additive with TPO; nonlinear (target-binding) PK",
        routes=("oral",), dose_units=("mg",), module=het.module, concentration="conc_hetrombopag",
        events=_oral("GUT_het", "ALAG_het", "KFOOD_het", {"high_fat": "KFAT_het", "standard": "KFAT_het"}),
        food_parameters={"high_fat": "KFAT_het", "standard": "KFAT_het"},
        references=("Zheng 2017 BCPT", "Wang Z 2022 BJCP 88:2084", "Wang Z 2020 Clin Ther", "Xie 2018 JCMM 22:5367"),
    ),
    "avatrombopag": Drug(
        name="avatrombopag", kind="small molecule, oral daily with food",
        site="transmembrane", mechanism="binds the c-Mpl transmembrane domain; additive with TPO",
        routes=("oral",), dose_units=("mg",), module=ava.module, concentration="conc_avatrombopag",
        events=_oral("TR1_ava", "", "", {}), references=("Liu 2025 Pharmaceuticals 18:903", "Nomoto 2018 CPDD 7:188"),
    ),
    "tpo": Drug(
        name="tpo", kind="recombinant human TPO (rhTPO), SC",
        site="extracellular", mechanism="the endogenous ligand; adds to the TPO pool",
        routes=("sc", "iv"), dose_units=("ug/kg", "ug"), module=rhtpo.module, concentration="tpo",
        events=_tpo_events, references=("Chin J Clin Pharmacol 2001", "Song 1999 Acta Pharmacol Sin 20:244"),
    ),
}


def get_drug(name: str) -> Drug:
    """Catalogue entry by name; raise :class:`SpecError` for an unknown drug."""
    if name not in DRUGS:
        if name in BONE_DRUGS_AVAILABLE:
            raise SpecError(f"Drug {name!r} acts on bone, not on platelets: simulate it with population postmenopausal_osteoporosis "
                            f"(moasim simulate) or in a bone trial; platelet drugs: {', '.join(DRUGS)}.")
        raise SpecError(unknown_name("drug", name, (*DRUGS, *BONE_DRUGS_AVAILABLE)))
    return DRUGS[name]


def check_route(drug: Drug, route: str) -> None:
    if route not in drug.routes:
        raise DosingError(invalid_value(f"route for {drug.name}", route, " | ".join(drug.routes)))
