"""Model representation: immutable parameters, states and modules, composed into a model.

Equations are symbolic text (infix, ``^`` for powers, functions ``exp``, ``log``,
``sqrt``), never Python callables, so that one definition compiles to the fast engine
(libroadrunner via Antimony/SBML), to the scipy reference engine, and exports to SBML.
Every parameter carries value, unit and source; conversion to the core's canonical units
(:mod:`moasim.units`) happens once, when a :class:`Model` is built.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field, replace
from functools import cached_property
from types import MappingProxyType
from typing import Mapping

from .._frozen import reduce_frozen
from ..errors import ModelSpecError, invalid_value, unknown_name
from ..units import convert

__all__ = ["Parameter", "State", "Output", "Module", "Model", "compose"]

_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_TOKEN = re.compile(r"(?<![0-9.])[A-Za-z_][A-Za-z0-9_]*")  # skips the e in 1e-3
_FUNCTIONS = frozenset({"exp", "log", "sqrt", "abs"})
# Names that clash with SBML/Antimony or sympy built-ins.
_RESERVED = frozenset({"time", "E", "I", "N", "O", "Q", "S", "pi", "e", "exp", "log", "sqrt", "abs", "rate", "delay",
                       "compartment", "species", "var", "const", "model", "end", "at", "in", "function", "import"})

# Provenance tags (research/*.md): R read in source, R-code read in public model code,
# D derived by arithmetic (formula in `source`), C calibrated to a calibration target,
# A modelling assumption (explained in `source`). U is never allowed for a default.
TAGS = frozenset({"R", "R-code", "R2", "D", "C", "A"})


def _check_name(name: str, kind: str) -> None:
    if not _NAME.match(name) or name in _RESERVED:
        raise ModelSpecError(invalid_value(f"{kind} name", name, "an identifier not in the reserved words"))


@dataclass(frozen=True, slots=True, kw_only=True)
class Parameter:
    """A model parameter with value, unit and provenance.

    Parameters
    ----------
    name : str
        Symbol used in the equations (NONMEM style for PK: ``CL_elt``, ``KA_rom``).
    value : float
        Value in ``unit`` (the unit the source reports).
    unit : str
        Unit of ``value``; ``"1"`` for dimensionless.
    model_unit : str
        Unit the equations expect (canonical system, :mod:`moasim.units`); defaults to ``unit``.
    source : str
        Citation with locator (table, equation) or the derivation.
    tag : str
        Provenance tag: R, R-code, R2, D (derived), C (calibrated), A (assumption).
    lower, upper : float
        Admissible bounds (in ``unit``).
    doc : str
        One-line meaning.
    fitted_by : tuple of str
        Calibration target ids (``moasim validate``) a tag-C parameter was fitted to; a test
        re-checks them, so a fitted value that stops reproducing its targets fails.
    """

    name: str
    value: float
    unit: str
    source: str
    tag: str = "R"
    model_unit: str = ""
    lower: float = -math.inf
    upper: float = math.inf
    doc: str = ""
    fitted_by: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_name(self.name, "parameter")
        if not isinstance(self.value, (int, float)) or not math.isfinite(self.value):
            raise ModelSpecError(invalid_value(f"value of parameter {self.name!r}", self.value, "a finite number"))
        if not (self.lower <= self.value <= self.upper):
            raise ModelSpecError(
                invalid_value(f"value of parameter {self.name!r}", self.value, f"a number in [{self.lower}, {self.upper}] {self.unit}")
            )
        if self.tag not in TAGS:
            raise ModelSpecError(invalid_value(f"tag of parameter {self.name!r}", self.tag, ", ".join(sorted(TAGS))))
        if not self.model_unit:
            object.__setattr__(self, "model_unit", self.unit)

    @property
    def model_value(self) -> float:
        """Value converted to ``model_unit`` (float)."""
        if self.unit == self.model_unit:
            return float(self.value)
        return convert(self.value, self.unit, self.model_unit, f"parameter {self.name}")

    def with_value(self, value: float, unit: str | None = None, *, source: str | None = None, tag: str | None = None) -> "Parameter":
        """Copy with a new value (optionally in another, compatible unit)."""
        if unit is not None and unit != self.unit:
            value = convert(value, unit, self.unit, f"parameter {self.name}")
        return replace(self, value=float(value), source=source or self.source, tag=tag or self.tag)


@dataclass(frozen=True, slots=True, kw_only=True)
class State:
    """A dynamic state (ODE variable) in canonical units."""

    name: str
    unit: str
    doc: str = ""
    dosable: bool = False  # may receive bolus doses and zero-order inputs (infusions)
    #: a dose compartment before the systemic circulation (SC depot, gut, absorption transit):
    #: it only passes drug on, so the batched engine may control its error relative to its
    #: peak (``BatchedEngine(error_scale="peak")``) instead of following it down to ``atol``
    absorption: bool = False

    def __post_init__(self) -> None:
        _check_name(self.name, "state")


@dataclass(frozen=True, slots=True, kw_only=True)
class Output:
    """A named model output: an expression over states, parameters and assignments."""

    name: str
    expr: str
    unit: str
    doc: str = ""


@dataclass(frozen=True, slots=True, kw_only=True)
class Module:
    """A mechanism module: the parameters, states, algebraic assignments and rate terms it owns.

    ``rates`` maps a state name to a rate term (text). A module may add terms to states
    owned by other modules (e.g. the ITP module adds platelet destruction); compose()
    sums all terms of a state.
    """

    name: str
    doc: str
    parameters: tuple[Parameter, ...] = ()
    states: tuple[State, ...] = ()
    assignments: Mapping[str, str] = field(default_factory=dict)
    rates: Mapping[str, tuple[str, ...] | str] = field(default_factory=dict)
    outputs: tuple[Output, ...] = ()
    references: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "assignments", MappingProxyType(dict(self.assignments)))
        norm = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in self.rates.items()}
        object.__setattr__(self, "rates", MappingProxyType(norm))
        for a in self.assignments:
            _check_name(a, "assignment")

    def __reduce__(self):
        return reduce_frozen(self)


def _symbols(expr: str) -> set[str]:
    """Names used in an equation (functions excluded, ``time`` included)."""
    return {t for t in _TOKEN.findall(expr) if t not in _FUNCTIONS}


@dataclass(frozen=True, kw_only=True)
class Model:
    """A composed model: what the engines compile and what SBML export writes.

    Use :func:`compose` to build one. Parameter values are held in canonical units
    (``parameter_values``); :meth:`with_parameters` returns a copy with new values.
    """

    name: str
    modules: tuple[Module, ...]
    parameters: Mapping[str, Parameter]
    states: tuple[State, ...]
    assignments: Mapping[str, str]  # in dependency order
    rates: Mapping[str, str]
    outputs: Mapping[str, Output]
    parameter_values: Mapping[str, float]
    initial: Mapping[str, float]

    def __reduce__(self):
        return reduce_frozen(self)

    # -- queries -----------------------------------------------------------------
    @cached_property
    def state_names(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states)

    @property
    def parameter_names(self) -> tuple[str, ...]:
        return tuple(self.parameters)

    @property
    def dosable(self) -> tuple[str, ...]:
        return tuple(s.name for s in self.states if s.dosable)

    def parameter_vector(self):
        """Parameter values (canonical units) as a float array in ``parameter_names`` order."""
        import numpy as np

        return np.array([self.parameter_values[n] for n in self.parameter_names], dtype=float)

    def initial_vector(self):
        """Initial state (canonical units) as a float array in ``state_names`` order."""
        import numpy as np

        return np.array([self.initial[s] for s in self.state_names], dtype=float)

    @cached_property
    def structure_key(self) -> str:
        """Hash of the equations (not the values): equal keys compile to the same code."""
        import hashlib

        text = repr((self.state_names, tuple(self.parameters), tuple(self.assignments.items()), tuple(self.rates.items())))
        return hashlib.sha1(text.encode()).hexdigest()

    # -- copies ------------------------------------------------------------------
    def with_parameters(self, **values: float) -> "Model":
        """Copy with parameter values replaced (values in canonical model units)."""
        unknown = [k for k in values if k not in self.parameters]
        if unknown:
            raise ModelSpecError(unknown_name("parameter", unknown[0], self.parameters, f"model {self.name!r}"))
        pv = dict(self.parameter_values)
        for k, v in values.items():
            v = float(v)
            if not math.isfinite(v):
                raise ModelSpecError(invalid_value(f"value of parameter {k!r}", v, "a finite number"))
            pv[k] = v
        return self._with_values(parameter_values=MappingProxyType(pv))

    def with_initial(self, **values: float) -> "Model":
        """Copy with initial state values replaced (canonical units)."""
        unknown = [k for k in values if k not in self.state_names]
        if unknown:
            raise ModelSpecError(unknown_name("state", unknown[0], self.state_names, f"model {self.name!r}"))
        init = dict(self.initial)
        init.update({k: float(v) for k, v in values.items()})
        return self._with_values(initial=MappingProxyType(init))

    #: cached properties that depend on the equations only, not on values
    _STRUCTURAL = ("state_names", "structure_key")

    def _with_values(self, **changes) -> "Model":
        """``replace`` for new values: the equations are unchanged, so the structural cached
        properties carry over (a trial copies each subject's model several times, and hashing
        its equations again cost ~1% of a trial)."""
        new = replace(self, **changes)
        for k in self._STRUCTURAL:
            if k in self.__dict__:
                new.__dict__[k] = self.__dict__[k]
        return new


def _order_assignments(assign: dict[str, str]) -> dict[str, str]:
    """Topologically sort assignments so each uses only earlier ones."""
    done: dict[str, str] = {}
    pending = dict(assign)
    while pending:
        progressed = False
        for name, expr in list(pending.items()):
            deps = _symbols(expr) & set(assign)
            if deps <= set(done):
                done[name] = expr
                del pending[name]
                progressed = True
        if not progressed:
            raise ModelSpecError(invalid_value("assignments", sorted(pending), "an acyclic set of algebraic rules"))
    return done


def compose(name: str, modules: list[Module] | tuple[Module, ...]) -> Model:
    """Compose mechanism modules into a :class:`Model`.

    Checks that every name is defined once and every symbol used in an equation
    resolves to a parameter, state, assignment or ``time``. Each dosable state gets a
    zero-order input parameter ``INPUT_<state>`` (amount/day, 0 by default) added to
    its rate, used for infusions.

    Raises
    ------
    ModelSpecError
        On duplicate or unresolved names, or a state without a rate.
    """
    params: dict[str, Parameter] = {}
    states: list[State] = []
    assign: dict[str, str] = {}
    terms: dict[str, list[str]] = {}
    outputs: dict[str, Output] = {}
    owners: dict[str, str] = {}

    def claim(n: str, mod: str) -> None:
        if n in owners:
            raise ModelSpecError(f"Name {n!r} is defined twice: in module {owners[n]!r} and {mod!r}.")
        owners[n] = mod

    for m in modules:
        for p in m.parameters:
            claim(p.name, m.name)
            params[p.name] = p
        for s in m.states:
            claim(s.name, m.name)
            states.append(s)
        for a, e in m.assignments.items():
            claim(a, m.name)
            assign[a] = e
        for o in m.outputs:
            if o.name in outputs:
                raise ModelSpecError(f"Output {o.name!r} is defined twice (module {m.name!r}).")
            outputs[o.name] = o
    for m in modules:
        for s, ts in m.rates.items():
            terms.setdefault(s, []).extend(ts)
    for s in states:
        if s.dosable:
            pname = f"INPUT_{s.name}"
            params[pname] = Parameter(name=pname, value=0.0, unit=f"({s.unit})/day", source="zero-order input (infusions)", tag="A")
            terms.setdefault(s.name, []).append(pname)
            owners[pname] = "compose"

    state_names = {s.name for s in states}
    known = set(params) | state_names | set(assign) | {"time"}
    for s in states:
        if not terms.get(s.name):
            raise ModelSpecError(f"State {s.name!r} has no rate: no module gives d{s.name}/dt.")
    for s in terms:
        if s not in state_names:
            raise ModelSpecError(unknown_name("state", s, state_names, "a module's rates"))
    for where, expr in [*assign.items(), *((k, " + ".join(v)) for k, v in terms.items()), *((o.name, o.expr) for o in outputs.values())]:
        missing = _symbols(expr) - known
        if missing:
            raise ModelSpecError(unknown_name("symbol", sorted(missing)[0], known - {"time"}, f"equation of {where!r}"))

    rates = {s.name: _join_terms(terms[s.name]) for s in states}
    pv = {k: p.model_value for k, p in params.items()}
    return Model(
        name=name,
        modules=tuple(modules),
        parameters=MappingProxyType(params),
        states=tuple(states),
        assignments=MappingProxyType(_order_assignments(assign)),
        rates=MappingProxyType(rates),
        outputs=MappingProxyType(outputs),
        parameter_values=MappingProxyType(pv),
        initial=MappingProxyType({s.name: 0.0 for s in states}),
    )


def _join_terms(ts: list[str]) -> str:
    out = ""
    for t in ts:
        t = t.strip()
        if not out:
            out = t
        elif t.startswith(("-", "+")):
            out += " " + t[0] + " " + t[1:].strip()
        else:
            out += " + " + t
    return out
