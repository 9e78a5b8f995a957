"""Covariates of the bone layer's subjects: sex and body weight.

The bone model is calibrated for a typical postmenopausal woman of :data:`REFERENCE_WEIGHT_KG`
(:mod:`.calibrate`). Body weight acts through antibody disposition (:mod:`.body_size`, Davda
2014 allometry) for every subject. A man differs from her in the ways :data:`MALE_EFFECTS`
lists, each a factor on model parameters with its source; what no source quantifies is left
equal (the cell-level responses to Wnt, RANKL and PTH signalling, the OC-precursor pool) and
said so in :data:`NOT_SEX_SPECIFIC`. A man's body weight is the woman's times the NHANES III
reference ratio (:data:`TYPICAL_WEIGHT_KG`)::

    theta_man = theta_woman * male_factor       for each parameter of each effect

Factors multiply whatever the woman's value is in that simulation, so they compose with a
trial subject's random effects (:mod:`moasim.population._bone`) and with explicit overrides
(``parameters=`` gives the woman's value; a man gets it times the factor).

What is not known: no romosozumab response in men was read (the phase 1 multiple-dose study,
NCT01825785 / Padhi 2014, dosed 16 men, but its per-sex results were not in what we read;
phase 3 results in men are held out), so a man's course is a prediction from these three
differences, not a calibrated response.

References
----------
Modder UI, et al. Relation of age, gender, and bone mass to circulating sclerostin levels in
women and men. J Bone Miner Res 2011;26:373-379.
Michelsen J, et al. Reference intervals for serum concentrations of three bone turnover
markers for men and women. Bone 2013;57:399-404.
Institute of Medicine. Dietary Reference Intakes (NHANES III reference weights), 1997.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from types import MappingProxyType
from typing import Mapping

from .body_size import WTREF_KG

__all__ = ["SexEffect", "MALE_EFFECTS", "NOT_SEX_SPECIFIC", "REFERENCE_WEIGHT_KG", "TYPICAL_WEIGHT_KG", "sex_parameters",
           "subject_parameters"]

#: the calibrated typical postmenopausal woman (kg), the reference weight of :mod:`.body_size`
REFERENCE_WEIGHT_KG = WTREF_KG


@dataclass(frozen=True, slots=True)
class SexEffect:
    """A man's parameter values relative to the calibrated woman's: ``theta * male_factor``.

    Parameters
    ----------
    name : str
        What differs (domain words).
    parameters : tuple of str
        Model parameters the factor multiplies.
    male_factor : float
        Man / postmenopausal woman (dimensionless, unit ``"1"``).
    tag : str
        R (read in the source), D (derived from read values), A (assumption).
    source : str
        Where the values were read and how the factor follows from them.
    """

    name: str
    parameters: tuple[str, ...]
    male_factor: float
    tag: str
    source: str
    unit: str = "1"


MODDER = ("Modder 2011 JBMR 26:373 (abstract, pubmed 20721932; R): serum sclerostin 33.3 +- 1.0 pmol/L in 318 men vs "
          "23.7 +- 0.6 in 362 women aged 21-97 (mean +- SEM)")
MICHELSEN = ("Michelsen 2013 Bone 57:399 (abstract; R): 95% reference intervals, IDS-iSYS, SHIP cohort: men 75-79 y P1NP "
             "15.7-68.1 ng/mL, CTX 0.05-0.58 ng/mL; postmenopausal women 50-79 y P1NP 18.2-102.3, CTX 0.09-1.05")
DRI_WEIGHT = ("Dietary Reference Intakes reference weights adapted from NHANES III 1988-94 (NAP record 9810 p. 32; R): "
              "men 76 kg, women 61 kg (19-30 y, applied to all adult ages)")

#: Typical body weight (kg) by sex of the bone populations' subjects: the reference woman and
#: a man heavier by the NHANES III reference ratio 76/61 (D, :data:`DRI_WEIGHT`).
TYPICAL_WEIGHT_KG: Mapping[str, float] = MappingProxyType({"female": REFERENCE_WEIGHT_KG,
                                                           "male": round(REFERENCE_WEIGHT_KG * 76.0 / 61.0, 1)})

#: How a man's bone model differs from the calibrated woman's.
MALE_EFFECTS: tuple[SexEffect, ...] = (
    # sclerostin production by osteocytes (KSYN_scl, nM/day): the baseline serum level scales
    # with it (RTOT = KSYN/KDEG), so more antibody is needed to neutralise a man's sclerostin
    SexEffect("sclerostin production", ("KSYN_scl",), round(33.3 / 23.7, 4), "D",
              MODDER + "; factor 33.3/23.7 (both sexes over all ages; the excess in men grows with age, 4.6- vs "
                       "2.4-fold over life, so older men may differ more)"),
    # bone turnover at the DXA sites: BMD changes at KX_site*(formation - resorption), and the
    # rate of remodelling of an older man is lower than of a postmenopausal woman. Factor: the
    # ratio of the reference intervals' geometric centres sqrt(lo*hi) (log-normal markers),
    # CTX 0.170/0.307 = 0.554 and P1NP 32.7/43.1 = 0.758, averaged on the log scale
    SexEffect("bone turnover at the DXA sites", ("KLS_site", "KTH_site", "KFN_site"),
              round(math.sqrt(math.sqrt(0.05 * 0.58) / math.sqrt(0.09 * 1.05) * math.sqrt(15.7 * 68.1) / math.sqrt(18.2 * 102.3)), 4), "D",
              MICHELSEN + "; factor sqrt(CTX ratio 0.554 x P1NP ratio 0.758) = 0.648 (men 75-79 y: the age group of "
                          "male osteoporosis; marker per unit skeletal mass would be lower still, men's bones being larger)"),
)

#: Parts of the model with no sourced sex difference (kept equal; listed so that nobody reads
#: the equality as a finding).
NOT_SEX_SPECIFIC = (
    "Wnt response to free sclerostin (KSI_wnt), lining-cell activation (AMOD_ob, KACT_ob, KLC_ob)",
    "RANKL/OPG/RANK signalling (GO_opg, RO_opg, KL_rank) and the OC-precursor pool (KOP_ocp, FD_ocp)",
    "cell lifespans (KB_ob, KC_oc), teriparatide's PTH effects, romosozumab absorption (F_rsz, KA_rsz)",
)


def subject_parameters(weight_kg: float, female: bool, parameters: Mapping[str, float] | None = None) -> dict[str, float]:
    """Parameter overrides of a subject of this weight and sex, on top of ``parameters``.

    Parameters
    ----------
    weight_kg : float
        Body weight (kg): ``WT`` of :mod:`.body_size` (an explicit ``WT`` in ``parameters`` wins).
    female : bool
        Sex; a man's values are the woman's times :data:`MALE_EFFECTS` (:func:`sex_parameters`).
    parameters : mapping, optional
        The woman's overrides (canonical units).

    Returns
    -------
    dict
        Overrides for :func:`moasim.library.bone.build_bone_model`.
    """
    from ._model import typical_parameter_values

    given = {"WT": float(weight_kg), **(parameters or {})}
    if not female:
        given.update(sex_parameters({**typical_parameter_values(), **given}, female=False))
    return given


def sex_parameters(values: Mapping[str, float], female: bool) -> dict[str, float]:
    """Parameter values of a man (``female=False``) from the woman's ``values``; {} for a woman.

    Parameters
    ----------
    values : mapping
        The woman's parameter values (canonical units), overrides included.
    female : bool
        The subject's sex.

    Returns
    -------
    dict
        Parameter -> value for every parameter a :data:`MALE_EFFECTS` factor touches.
    """
    if female:
        return {}
    return {p: values[p] * e.male_factor for e in MALE_EFFECTS for p in e.parameters}
