"""Assemble the bone model (romosozumab PK + sclerostin, the comparators' PK, remodelling) at its baseline."""

from __future__ import annotations

from functools import lru_cache
from typing import Mapping

from ...model import Model, compose
from . import body_size, comparators, remodeling, stein2018_romosozumab

__all__ = ["build_bone_model", "baseline_state", "bone_sbml", "typical_parameter_values", "BONE_STATES_AT_ONE"]

#: remodelling states normalised to 1 at the drug-free steady state
BONE_STATES_AT_ONE = ("OBP", "OBA", "LC", "OCP", "OCA", "OCY", "BMD_LS", "BMD_TH", "BMD_FN")


@lru_cache(maxsize=1)
def _base() -> Model:
    return compose("bone", [body_size.module(), stein2018_romosozumab.module(), comparators.denosumab_module(), comparators.alendronate_module(),
                                  comparators.teriparatide_module(), remodeling.module()])


def typical_parameter_values() -> Mapping[str, float]:
    """The typical woman's parameter values (canonical units), as :func:`build_bone_model` gives
    them without overrides (its derived SCL0_bone equals the module value)."""
    return _base().parameter_values


def baseline_state(pv: Mapping[str, float]) -> dict[str, float]:
    """The drug-free steady state (closed form): cells and BMD at 1, sclerostin at KSYN/KDEG."""
    init = {s: 1.0 for s in BONE_STATES_AT_ONE}
    init.update(DEPOT_rsz=0.0, AC_rsz=0.0, AP_rsz=0.0, DEPOT_den=0.0, AC_den=0.0, AP_den=0.0, BPS_aln=0.0, DEPOT_tpt=0.0, AC_tpt=0.0, S_tpt=0.0, RTOT_scl=pv["KSYN_scl"] / pv["KDEG_scl"])
    return init


def build_bone_model(parameters: Mapping[str, float] | None = None) -> Model:
    """The bone model at its drug-free steady state.

    Parameters
    ----------
    parameters : mapping, optional
        Overrides in canonical units (``moasim.units``), applied before the baseline is
        set. ``SCL0_bone`` (baseline free sclerostin) is derived from KSYN_scl/KDEG_scl
        unless given explicitly; with ``KSYN_scl = 0`` (no target, PK tests) it is 1 so
        that the remodelling part stays finite.
    """
    model = _base()
    if parameters:
        model = model.with_parameters(**parameters)
    pv = model.parameter_values
    if not parameters or "SCL0_bone" not in parameters:
        s0 = pv["KSYN_scl"] / pv["KDEG_scl"]
        model = model.with_parameters(SCL0_bone=s0 if s0 > 0 else 1.0)
    return model.with_initial(**baseline_state(model.parameter_values))


def bone_sbml(parameters: Mapping[str, float] | None = None) -> str:
    """SBML (Level 3, via Antimony) of the bone model at its drug-free steady state (time in days)."""
    from ...io.sbml import sbml_of

    return sbml_of(build_bone_model(parameters))
