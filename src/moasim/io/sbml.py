"""SBML Level 3 export (via Antimony), with a dosing regimen as SBML events.

Events at t = 0 are applied to the initial values; later events become SBML events
``at time >= t`` whose assignments use pre-event values (SBML semantics), so a
sequential-absorption transfer ``GUT2 = GUT2 + GUT1, GUT1 = 0`` is exact.

Units: :func:`add_units` declares the model's units in the SBML (the core's canonical
system, :mod:`moasim.units`; time unit day). Parameters and states carry their model
unit; algebraic assignments and the numbers inside formulas get the unit that their
equations force (a conversion factor such as the ``1000`` in ``C*1000/MW`` for ng/mL
-> nM gets the unit that makes its equation consistent, e.g. nmol/umol), and a number
that nothing constrains is dimensionless. Every unit is reduced to SI base units with
pint and written as an SBML UnitDefinition, so libSBML's unit consistency check runs
fully, without "cannot be fully checked" warnings.
"""

from __future__ import annotations

import logging
import math
import re
from fractions import Fraction
from functools import lru_cache
from typing import Sequence

import libsbml

from ..engine import Add, Event, SetParameter, Transfer
from ..engine._roadrunner import antimony_sbml
from ..errors import ModelSpecError
from ..model import Model

__all__ = ["export_sbml", "sbml_of", "events_to_antimony", "add_units", "unit_problems", "unit_definition"]


def sbml_of(model: Model, events: str = "", initial: dict[str, float] | None = None, *, units: bool = True) -> str:
    """SBML (Level 3) text of a model, via Antimony.

    With ``units`` (the default), the SBML declares the model's units (time in days,
    canonical units of :mod:`moasim.units`; see :func:`add_units`), so that libSBML's unit
    consistency check passes; the engine compiles the text without them
    (:func:`moasim.engine._roadrunner.antimony_sbml`).
    """
    sbml = antimony_sbml(model, events=events, initial=initial)
    return add_units(sbml, model) if units else sbml


def _assignments(action) -> str:
    if isinstance(action, Add):
        return f"{action.state} = {action.state} + {action.amount!r}"
    if isinstance(action, SetParameter):
        return f"{action.name} = {action.name} + {action.value!r}" if action.additive else f"{action.name} = {action.value!r}"
    f = action.fraction
    return f"{action.target} = {action.target} + {f!r}*{action.source}, {action.source} = {action.source} - {f!r}*{action.source}"


def events_to_antimony(events: Sequence[Event]) -> str:
    """Antimony event lines for events at t > 0 (grouped by time)."""
    by_time: dict[float, list[str]] = {}
    for ev in events:
        if ev.time > 0:
            by_time.setdefault(ev.time, []).append(_assignments(ev.action))
    lines = []
    for i, (t, assigns) in enumerate(sorted(by_time.items())):
        lines.append(f"  dose_{i}: at (time >= {t!r}): {', '.join(assigns)};")
    return "\n".join(lines)


def export_sbml(model: Model, events: Sequence[Event] = ()) -> str:
    """SBML L3 text of ``model`` at its initial state, with ``events`` as SBML events.

    Raises
    ------
    ModelSpecError
        If libSBML reports an error in the document.
    """
    init = dict(model.initial)
    pv = dict(model.parameter_values)
    for ev in sorted((e for e in events if e.time == 0), key=lambda e: e.time):
        a = ev.action
        if isinstance(a, Add):
            init[a.state] += a.amount
        elif isinstance(a, SetParameter):
            pv[a.name] = pv[a.name] + a.value if a.additive else a.value
        elif isinstance(a, Transfer):
            moved = init[a.source] * a.fraction
            init[a.source] -= moved
            init[a.target] += moved
    m = model.with_parameters(**pv)
    sbml = sbml_of(m, events=events_to_antimony(events), initial=init)
    doc = libsbml.readSBMLFromString(sbml)
    if doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) > 0:  # pragma: no cover - a bug
        raise ModelSpecError(f"SBML export of {model.name!r} is invalid: {doc.getError(0).getMessage()}")
    return sbml


# -- units -----------------------------------------------------------------------------------
# A unit is (factor, exponents of the SI base units); factor * prod(base ** exponent).
_BASE = (("meter", libsbml.UNIT_KIND_METRE), ("kilogram", libsbml.UNIT_KIND_KILOGRAM), ("second", libsbml.UNIT_KIND_SECOND),
         ("mole", libsbml.UNIT_KIND_MOLE), ("ampere", libsbml.UNIT_KIND_AMPERE), ("kelvin", libsbml.UNIT_KIND_KELVIN),
         ("candela", libsbml.UNIT_KIND_CANDELA))
_BASE_INDEX = {name: i for i, (name, _) in enumerate(_BASE)}
_Unit = tuple  # (float factor, tuple[Fraction, ...] exponents)
_ONE: _Unit = (1.0, (Fraction(0),) * len(_BASE))
_REL = 1e-9


def _frac(x: float) -> Fraction:
    return Fraction(x).limit_denominator(1000)


@lru_cache(maxsize=1024)
def _si(text: str) -> _Unit:
    """A unit text (pint syntax, e.g. ``'1e9/L'``, ``'ug/kg'``) reduced to SI base units."""
    from ..units import _unit, ureg

    q = _unit(text).to_base_units()
    exps = [Fraction(0)] * len(_BASE)
    for name, e in q.unit_items():
        if name in _BASE_INDEX:
            exps[_BASE_INDEX[name]] = _frac(e)
        elif not ureg.Quantity(1, name).dimensionless:  # radian, count, ...: dimensionless
            raise ModelSpecError(f"Unit {text!r} has base unit {name!r}, which SBML has no kind for.")
    return (float(q.magnitude), tuple(exps))


def _mul(a: _Unit, b: _Unit, power: Fraction = Fraction(1)) -> _Unit:
    """``a * b**power``."""
    return (a[0] * b[0] ** float(power), tuple(x + power * y for x, y in zip(a[1], b[1])))


def _pow(a: _Unit, power: Fraction) -> _Unit:
    return _mul(_ONE, a, power)


def _same(a: _Unit, b: _Unit) -> bool:
    return a[1] == b[1] and math.isclose(a[0], b[0], rel_tol=_REL)


def _clean(f: float) -> float:
    """Round a factor to 12 significant digits (float noise of unit arithmetic)."""
    return float(f"{f:.12g}")


def unit_definition(unit: str | _Unit, ud: libsbml.UnitDefinition) -> libsbml.UnitDefinition:
    """Fill an SBML UnitDefinition with ``unit`` (a pint unit text, or a reduced unit).

    The factor goes into one base unit, as its ``scale`` when it is a power of ten there,
    else as its ``multiplier``; a dimensionless unit with a factor is ``dimensionless``
    with that multiplier.
    """
    factor, exps = _si(unit) if isinstance(unit, str) else unit
    used = [(kind, e) for (_, kind), e in zip(_BASE, exps) if e != 0]
    if not used:
        used = [(libsbml.UNIT_KIND_DIMENSIONLESS, Fraction(1))]
    # the factor goes to the unit with the smallest |exponent| (exact root)
    carrier = min(range(len(used)), key=lambda i: abs(used[i][1]))
    for i, (kind, e) in enumerate(used):
        u = ud.createUnit()
        u.setKind(kind)
        u.setExponent(float(e))
        mult, scale = 1.0, 0
        if i == carrier and not math.isclose(factor, 1.0, rel_tol=_REL):
            m = factor ** (1.0 / float(e))
            lg = math.log10(m)
            if abs(lg - round(lg)) < 1e-9:
                scale = int(round(lg))
            else:
                mult = _clean(m)
        u.setScale(scale)
        u.setMultiplier(mult)
    return ud


_SBML_KINDS = frozenset(libsbml.UnitKind_toString(k) for k in range(libsbml.UNIT_KIND_INVALID))


class _Units:
    """The model's UnitDefinitions: one per distinct unit, named after the first text that needed it."""

    def __init__(self, model: libsbml.Model):
        self.model = model
        self.ids: dict[tuple, str] = {}
        self.units: dict[str, _Unit] = {"dimensionless": _ONE}

    @staticmethod
    def _key(u: _Unit) -> tuple:
        return (float(f"{u[0]:.9g}"), u[1])

    def id(self, u: _Unit, text: str | None = None) -> str:
        if u[1] == _ONE[1] and math.isclose(u[0], 1.0, rel_tol=_REL):
            return "dimensionless"
        key = self._key(u)
        if key in self.ids:
            return self.ids[key]
        if text is None:
            text = next((c for c in self._candidates() if _same(_si(c), u)), None)
        name = self._name(text if text is not None else _describe(u))
        ud = self.model.createUnitDefinition()
        ud.setId(name)
        ud.setName(text if text is not None else _describe(u))
        unit_definition((_clean(u[0]), u[1]), ud)
        self.ids[key] = name
        self.units[name] = u
        return name

    def _candidates(self):
        """Texts to name a derived unit by: the model's and the canonical units, their inverses, per and times day."""
        from ..units import CANONICAL

        texts = [ud.getName() for ud in self.model.getListOfUnitDefinitions() if ud.isSetName()]
        texts += [t for t in CANONICAL.values() if t not in texts]
        yield from texts
        for t in texts:
            yield f"({t})/day" if t != "day" else "1/day**2"
            yield f"({t})*day" if t != "1/day" else "1"
            yield f"1/({t})"

    def _name(self, text: str) -> str:
        t = text.strip().replace("µ", "u").replace("μ", "u").replace("**", "").replace("^", "")
        t = re.sub(r"^1\s*/\s*\((.*)\)$", r"inv_\1", t)
        t = re.sub(r"[()]", "", t)
        t = re.sub(r"^1\s*/", "per_", t)
        t = t.replace("/", "_per_").replace("*", "_").replace("+", "").replace("-", "m").replace(".", "p")
        t = re.sub(r"[^A-Za-z0-9_]", "_", t)
        t = re.sub(r"_+", "_", t).strip("_") or "unit"
        if not re.match(r"[A-Za-z]", t) or t in _SBML_KINDS:
            t = "u_" + t
        name, i = t, 1
        while name in self.units:
            i += 1
            name = f"{t}_{i}"
        return name


def _describe(u: _Unit) -> str:
    """A text for a reduced unit, e.g. ``1e-06 kg/m3/s`` (used for the names of derived units)."""
    short = ("m", "kg", "s", "mol", "A", "K", "cd")
    num = [f"{s}{e if e != 1 else ''}" for s, e in zip(short, u[1]) if e > 0]
    den = [f"{s}{-e if e != -1 else ''}" for s, e in zip(short, u[1]) if e < 0]
    text = "_".join(num) or "1"
    if den:
        text += "/" + "/".join(den)
    f = _clean(u[0])
    if text == "1":
        return f"{f:g} dimensionless"
    return text if f == 1.0 else f"{f:g}*{text}".replace("e", "E")


# -- unit inference over the SBML math -------------------------------------------------------
_SAME_AS_ARGS = {libsbml.AST_PLUS, libsbml.AST_MINUS, libsbml.AST_FUNCTION_MAX, libsbml.AST_FUNCTION_MIN}
_RELATIONAL = {libsbml.AST_RELATIONAL_EQ, libsbml.AST_RELATIONAL_GEQ, libsbml.AST_RELATIONAL_GT, libsbml.AST_RELATIONAL_LEQ,
               libsbml.AST_RELATIONAL_LT, libsbml.AST_RELATIONAL_NEQ}
_LOGICAL = {libsbml.AST_LOGICAL_AND, libsbml.AST_LOGICAL_OR, libsbml.AST_LOGICAL_NOT, libsbml.AST_LOGICAL_XOR,
            libsbml.AST_LOGICAL_IMPLIES, libsbml.AST_CONSTANT_TRUE, libsbml.AST_CONSTANT_FALSE}
_UNIT_OF_ARG = {libsbml.AST_FUNCTION_ABS, libsbml.AST_FUNCTION_FLOOR, libsbml.AST_FUNCTION_CEILING}
_DIMENSIONLESS_FN = {getattr(libsbml, n) for n in dir(libsbml) if n.startswith("AST_FUNCTION_") and n[13:] in {
    "EXP", "LN", "LOG", "SIN", "COS", "TAN", "SEC", "CSC", "COT", "SINH", "COSH", "TANH", "SECH", "CSCH", "COTH",
    "ARCSIN", "ARCCOS", "ARCTAN", "ARCSEC", "ARCCSC", "ARCCOT", "ARCSINH", "ARCCOSH", "ARCTANH", "ARCSECH", "ARCCSCH",
    "ARCCOTH", "FACTORIAL"}} | {libsbml.AST_CONSTANT_PI, libsbml.AST_CONSTANT_E}


class _Node:
    """A math node with its libSBML node (kept to write the unit of a number back)."""

    __slots__ = ("ast", "type", "kids", "name", "value", "unit", "additive")

    def __init__(self, ast: libsbml.ASTNode, additive: bool = False):
        self.ast = ast
        self.type = ast.getType()
        self.additive = additive  # a number added to / compared with other terms
        self.unit: _Unit | None = None
        self.name = ast.getName() if self.type == libsbml.AST_NAME else None
        self.value = ast.getValue() if ast.isNumber() else None
        adds = self.type in _SAME_AS_ARGS or self.type in _RELATIONAL or self.type == libsbml.AST_FUNCTION_PIECEWISE
        self.kids = [_Node(ast.getChild(i), adds) for i in range(ast.getNumChildren())]


class _Solver:
    """Units of assignment variables and numbers, from the declared units and the equations.

    Only what an equation forces is set (a term added to a term of known unit, the one
    unknown factor of a product of known unit, ...); when that stalls, one unconstrained
    number is made dimensionless (first those added to other terms, like the 1 in
    ``1 + x``) and propagation resumes.
    """

    def __init__(self, known: dict[str, _Unit], unknown: set[str], time: _Unit):
        self.known = known
        self.unknown = unknown
        self.time = time
        self.changed = False
        self.problems: list[str] | None = None
        self.where = ""

    def set_unit(self, name: str, u: _Unit) -> None:
        self.known[name] = u
        self.changed = True

    def _check(self, got: _Unit | None, want: _Unit | None, what: str) -> None:
        if self.problems is not None and got is not None and want is not None and not _same(got, want):
            self.problems.append(f"{self.where}: {what} has unit {_describe(got)}, expected {_describe(want)}")

    def walk(self, n: _Node, want: _Unit | None) -> _Unit | None:  # noqa: C901 - one case per operator
        t = n.type
        if n.value is not None:
            if n.unit is None and want is not None:
                n.unit = (_clean(want[0]), want[1])
                self.changed = True
            self._check(n.unit, want, f"number {n.value:g}")
            return n.unit
        if t == libsbml.AST_NAME:
            u = self.known.get(n.name)
            if u is None and want is not None and n.name in self.unknown:
                self.set_unit(n.name, want)
                u = want
            self._check(u, want, n.name)
            return u
        if t == libsbml.AST_NAME_TIME:
            self._check(self.time, want, "time")
            return self.time
        if t in _SAME_AS_ARGS:
            return self._same_units(n.kids, want)
        if t in _RELATIONAL:
            self._same_units(n.kids, None)
            return _ONE
        if t in _LOGICAL:
            for k in n.kids:
                self.walk(k, None)
            return _ONE
        if t == libsbml.AST_FUNCTION_PIECEWISE:
            values = [k for i, k in enumerate(n.kids) if i % 2 == 0]
            for i, k in enumerate(n.kids):
                if i % 2:
                    self.walk(k, None)
            return self._same_units(values, want)
        if t == libsbml.AST_TIMES:
            return self._product([(k, Fraction(1)) for k in n.kids], want)
        if t == libsbml.AST_DIVIDE and len(n.kids) == 2:
            return self._product([(n.kids[0], Fraction(1)), (n.kids[1], Fraction(-1))], want)
        if t in (libsbml.AST_POWER, libsbml.AST_FUNCTION_POWER) and len(n.kids) == 2:
            base, ex = n.kids
            self.walk(ex, _ONE)
            p = _constant(ex)
            if p is None:  # a symbolic exponent needs a dimensionless base
                self.walk(base, _ONE)
                self._check(_ONE, want, "power")
                return _ONE
            if p == 0:
                self.walk(base, None)
                return _ONE
            ub = self.walk(base, _pow(want, 1 / p) if want is not None else None)
            return _pow(ub, p) if ub is not None else None
        if t == libsbml.AST_FUNCTION_ROOT:
            deg, arg = (n.kids[0], n.kids[1]) if len(n.kids) == 2 else (None, n.kids[0])
            if deg is not None:
                self.walk(deg, _ONE)
            d = _constant(deg) if deg is not None else Fraction(2)
            if not d:  # a symbolic degree needs a dimensionless radicand
                self.walk(arg, _ONE)
                return _ONE
            ua = self.walk(arg, _pow(want, d) if want is not None else None)
            return _pow(ua, 1 / d) if ua is not None else None
        if t == libsbml.AST_FUNCTION_DELAY and len(n.kids) == 2:
            self.walk(n.kids[1], self.time)
            return self.walk(n.kids[0], want)
        if t in _UNIT_OF_ARG and len(n.kids) == 1:
            return self.walk(n.kids[0], want)
        if t in _DIMENSIONLESS_FN:
            for k in n.kids:
                self.walk(k, _ONE)
            self._check(_ONE, want, "function value")
            return _ONE
        for k in n.kids:  # anything else (user functions, ...): no unit is inferred
            self.walk(k, None)
        return None

    def _same_units(self, kids: list[_Node], want: _Unit | None) -> _Unit | None:
        ref = want
        if ref is None:
            for k in kids:
                ref = self.walk(k, None)
                if ref is not None:
                    break
        if ref is None:
            return None
        for k in kids:
            self.walk(k, ref)
        return ref

    def _product(self, factors: list[tuple[_Node, Fraction]], want: _Unit | None) -> _Unit | None:
        units = [self.walk(k, None) for k, _ in factors]
        missing = [i for i, u in enumerate(units) if u is None]
        if len(missing) == 1 and want is not None:
            i = missing[0]
            rest = _ONE
            for j, (u, (_, p)) in enumerate(zip(units, factors)):
                if j != i:
                    rest = _mul(rest, u, p)
            # want = rest * x**p  =>  x = (want / rest)**(1/p)
            units[i] = self.walk(factors[i][0], _pow(_mul(want, rest, Fraction(-1)), 1 / factors[i][1]))
            missing = [] if units[i] is not None else missing
        if missing:
            return None
        out = _ONE
        for u, (_, p) in zip(units, factors):
            out = _mul(out, u, p)
        self._check(out, want, "product")
        return out


def _constant(n: _Node) -> Fraction | None:
    """Value of a constant exponent (``2``, ``-1``, ``1/3``), or None if it uses names."""
    if n.value is not None:
        return _frac(n.value)
    vals = [_constant(k) for k in n.kids]
    if not vals or any(v is None for v in vals):
        return None
    if n.type == libsbml.AST_MINUS:
        return -vals[0] if len(vals) == 1 else vals[0] - sum(vals[1:])
    if n.type == libsbml.AST_PLUS:
        return sum(vals)
    if n.type == libsbml.AST_TIMES:
        return math.prod(vals)
    if n.type == libsbml.AST_DIVIDE and len(vals) == 2 and vals[1] != 0:
        return vals[0] / vals[1]
    return None


def _equations(model: libsbml.Model):
    """(where, variable or None, root node, kind) of every math element of the model."""
    eqs = []
    for i in range(model.getNumRules()):
        r = model.getRule(i)
        if r.isSetMath():
            kind = "rate" if r.isRate() else "assignment" if r.isAssignment() else "algebraic"
            eqs.append((f"{kind} rule for {r.getVariable()}", r.getVariable() if kind != "algebraic" else None, _Node(r.getMath()), kind))
    for i in range(model.getNumInitialAssignments()):
        a = model.getInitialAssignment(i)
        eqs.append((f"initial assignment for {a.getSymbol()}", a.getSymbol(), _Node(a.getMath()), "assignment"))
    for i in range(model.getNumEvents()):
        ev = model.getEvent(i)
        if ev.isSetTrigger() and ev.getTrigger().isSetMath():
            eqs.append((f"trigger of event {ev.getId()}", None, _Node(ev.getTrigger().getMath()), "condition"))
        if ev.isSetDelay() and ev.getDelay().isSetMath():
            eqs.append((f"delay of event {ev.getId()}", None, _Node(ev.getDelay().getMath()), "time"))
        for j in range(ev.getNumEventAssignments()):
            ea = ev.getEventAssignment(j)
            eqs.append((f"event {ev.getId()} assignment to {ea.getVariable()}", ea.getVariable(), _Node(ea.getMath()), "assignment"))
    return eqs


def _numbers(n: _Node):
    if n.value is not None:
        yield n
    for k in n.kids:
        yield from _numbers(k)


def add_units(sbml: str, model: Model) -> str:
    """``sbml`` (from Antimony, of ``model``) with its units declared; see the module docstring.

    Model units: time in days (``timeUnits``); parameters and states in their
    :attr:`~moasim.model.Parameter.model_unit` / :attr:`~moasim.model.State.unit`;
    assignment variables and numbers in formulas in the units their equations force.
    """
    doc = libsbml.readSBMLFromString(sbml)
    for problem in _annotate(doc, model):  # none in the library models (tests/reliability/test_sbml_units.py)
        logging.getLogger(__name__).warning("SBML units of model %r: %s", model.name, problem)
    return libsbml.writeSBMLToString(doc)


def unit_problems(sbml: str, model: Model) -> list[str]:
    """Unit mismatches (dimension *or* factor) that :func:`add_units` finds in the model's equations.

    libSBML compares only dimensions; this also catches a wrong scale (e.g. ng/mL added to
    pg/mL). Empty for a consistent model.
    """
    doc = libsbml.readSBMLFromString(sbml)
    return _annotate(doc, model)


def _annotate(doc: libsbml.SBMLDocument, model: Model) -> list[str]:
    """Declare the units in ``doc`` (in place); return the unit mismatches found."""
    m = doc.getModel()
    reg = _Units(m)
    time = _si("day")
    m.setTimeUnits(reg.id(time, "day"))
    declared: dict[str, tuple[str, _Unit]] = {s.name: (s.unit, _si(s.unit)) for s in model.states}
    declared.update({name: (p.model_unit, _si(p.model_unit)) for name, p in model.parameters.items()})
    for text, u in declared.values():  # unit definitions named after the model's unit texts
        reg.id(u, text)
    known = {k: u for k, (_, u) in declared.items()}
    unknown = {m.getParameter(i).getId() for i in range(m.getNumParameters())} - set(known)
    solver = _Solver(known, unknown, time)
    eqs = _equations(m)

    def sweep() -> None:
        for where, var, root, kind in eqs:
            solver.where = where
            want = None
            if kind == "rate":
                want = _mul(known[var], time, Fraction(-1)) if var in known else None
            elif kind == "assignment":
                want = known.get(var)
            elif kind == "time":
                want = time
            got = solver.walk(root, want)
            if kind == "assignment" and var in unknown and var not in known and got is not None:
                solver.set_unit(var, got)

    def propagate() -> None:
        solver.changed = True
        while solver.changed:
            solver.changed = False
            sweep()

    numbers = [n for _, _, root, _ in eqs for n in _numbers(root)]
    propagate()
    for additive in (True, False):  # what no equation forces: dimensionless, one number at a time
        while (free := next((n for n in numbers if n.unit is None and n.additive == additive), None)) is not None:
            free.unit = _ONE
            propagate()
    solver.problems = []
    sweep()  # a last pass that records mismatches
    for n in numbers:
        n.ast.setUnits(reg.id(n.unit))
    for i in range(m.getNumParameters()):
        p = m.getParameter(i)
        pid = p.getId()
        if pid in declared:
            p.setUnits(reg.id(declared[pid][1], declared[pid][0]))
        elif pid in known:
            p.setUnits(reg.id(known[pid]))
        else:
            solver.problems.append(f"parameter {pid}: no unit could be inferred")
    for i in range(m.getNumCompartments()):  # none in moasim models (states are parameters); volume in L
        c = m.getCompartment(i)
        if not c.isSetUnits():
            c.setUnits(reg.id(_si("L"), "L"))
    return solver.problems
