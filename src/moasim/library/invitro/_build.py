"""Composed in-vitro models and their deterministic simulation (no noise; assays add it)."""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import Mapping

import numpy as np

from ...engine import get_engine, run_schedule
from ...engine._codegen import python_outputs
from ...errors import SpecError, invalid_value
from ...model import Model, compose
from .. import receptor_params as rp
from ._network import PLOIDY, PROTEIN_TOTALS, differentiation_module, proliferation_module, receptor_module, signaling_module

__all__ = ["culture_model", "ligand_free_state", "simulate_culture", "ploidy_fractions", "CultureResult", "ligand_concentrations", "MIN_PER_DAY"]

MIN_PER_DAY = 1440.0
KINDS = ("proliferation", "differentiation")


@lru_cache(maxsize=8)
def culture_model(cells: str, kind: str = "proliferation") -> Model:
    """Receptor + signalling + cell model for a cell type (``32D-MPL``/``CD34+``) and culture kind."""
    c = rp.cell(cells)
    if kind not in KINDS:
        raise SpecError(invalid_value("culture kind", kind, ", ".join(KINDS)))
    cellmod = proliferation_module() if kind == "proliferation" else differentiation_module()
    return compose(f"invitro_{kind}", [receptor_module(c.RT), signaling_module(), cellmod])


def _fresh_cells(model: Model) -> dict[str, float]:
    """Cell states at seeding: 1 (relative) in V or P, no megakaryocytes."""
    out = {}
    for s in model.state_names:
        if s in ("V", "P"):
            out[s] = 1.0
        elif s.startswith("MK"):
            out[s] = 0.0
    return out


_CELL_STATES = ("V", "P")


def _is_cell_state(s: str) -> bool:
    return s in _CELL_STATES or s.startswith("MK")


@lru_cache(maxsize=32)
def _ligand_free(cells: str, kind: str, overrides: tuple[tuple[str, float], ...]) -> Mapping[str, float]:
    model = culture_model(cells, kind).with_parameters(**dict(overrides))
    init = {s: 0.0 for s in model.state_names}
    init["R"] = model.parameter_values["RT"]
    for states in PROTEIN_TOTALS.values():
        init[states[0]] = 1.0
    init.update(_fresh_cells(model))
    # freeze cells while the receptor/signalling layer relaxes (cells are reset afterwards)
    m = model.with_initial(**init).with_parameters(KGMAX=0.0, KDTH=0.0, **({"KDIFF": 0.0, "KMIT": 0.0, "KENDO": 0.0, "KMAT": 0.0, "KDMK": 0.0}
                                                                          if kind == "differentiation" else {}))
    res = run_schedule(get_engine("roadrunner", rtol=1e-10, atol=1e-14), m, np.array([0.0, 60.0]))
    # NOTE: denormal negatives (~-1e-40) left by the solver make CVODE fail at t=0 of the next run
    y = {k: (float(v) if abs(v) > 1e-15 else 0.0) for k, v in zip(model.state_names, res.states[-1])}
    y.update(_fresh_cells(model))
    return MappingProxyType(y)


def ligand_free_state(cells: str, kind: str = "proliferation", **overrides: float) -> dict[str, float]:
    """Ligand-free steady state of the receptor and signalling states (cells at seeding values).

    Found by integrating 60 days without ligand (cell growth frozen); ``overrides`` are
    model parameter values (canonical units) applied before relaxing.
    """
    return dict(_ligand_free(cells, kind, tuple(sorted(overrides.items()))))


def ligand_concentrations(drugs: Mapping[str, float]) -> dict[str, float]:
    """Map ``{drug name: concentration in nM}`` to the model parameters ``L_<suffix>``."""
    out = {}
    for name, c in drugs.items():
        lg = rp.ligand(name)
        if not (isinstance(c, (int, float)) and math.isfinite(c) and c >= 0):
            raise SpecError(invalid_value(f"concentration of {lg.name}", c, "a finite number >= 0 nM"))
        out[f"L_{lg.suffix}"] = float(c)
    return out


@dataclass(frozen=True, slots=True)
class CultureResult:
    """A deterministic in-vitro simulation: time (day), model outputs and named states."""

    cells: str
    kind: str
    ligands_nM: Mapping[str, float]
    time: np.ndarray
    outputs: Mapping[str, np.ndarray]

    @property
    def time_min(self) -> np.ndarray:
        return self.time * MIN_PER_DAY


def simulate_culture(drugs: Mapping[str, float], cells: str = "32D-MPL", *, kind: str = "proliferation", t_out=None,
                     days: float = 3.0, parameters: Mapping[str, float] | None = None, engine: str = "roadrunner",
                     extra: tuple[str, ...] = ()) -> CultureResult:
    """Simulate a culture from the ligand-free steady state with constant ligand concentrations.

    Parameters
    ----------
    drugs : mapping
        ``{drug name: concentration (nM)}``; ligands not named are absent.
    cells : str
        ``32D-MPL`` or ``CD34+``.
    kind : str
        ``proliferation`` (viable cells ``V``) or ``differentiation`` (progenitors and MK ploidy classes).
    t_out : array, optional
        Output times (day); default ``linspace(0, days, 73)``.
    parameters : mapping, optional
        Parameter overrides (canonical units), e.g. ``{"FMEKI": 0.7}``; also applied while relaxing.
    extra : tuple of str
        Additional assignment/state names to return (e.g. ``"GRO"``).
    """
    parameters = dict(parameters or {})
    model = culture_model(cells, kind)
    t = np.linspace(0.0, days, 73) if t_out is None else np.asarray(t_out, float)
    init = ligand_free_state(cells, kind, **parameters)
    m = model.with_initial(**init).with_parameters(**parameters, **ligand_concentrations(drugs))
    eng = get_engine(engine, rtol=1e-8, atol=1e-12)
    res = run_schedule(eng, m, t)
    names = tuple(m.outputs) + tuple(n for n in extra if n not in m.outputs)
    pv = m.parameter_vector()
    outs = python_outputs(m, names)(t, res.states, pv)
    full = {n: np.asarray(outs[n], float) * np.ones_like(t) for n in names}
    for i, s in enumerate(m.state_names):
        full.setdefault(s, res.states[:, i].copy())
    for v in full.values():
        v.setflags(write=False)
    return CultureResult(cells=rp.cell(cells).name, kind=kind, ligands_nM=MappingProxyType({rp.ligand(k).name: float(v) for k, v in drugs.items()}),
                         time=t, outputs=MappingProxyType(full))


def ploidy_fractions(res: CultureResult, index: int = -1) -> dict[int, float]:
    """Fraction of CD41+ cells in each ploidy class at one output time."""
    tot = {k: res.outputs[f"MK{k}I"][index] + res.outputs[f"MK{k}M"][index] for k in PLOIDY}
    s = sum(tot.values())
    return {k: float(v / s) if s > 0 else 0.0 for k, v in tot.items()}
