"""Compile a :class:`~moasim.model.Model`'s symbolic equations to Antimony text and to Python.

One definition, two targets: Antimony (-> SBML -> libroadrunner, and SBML export) and
Python source for the scipy reference engine and for evaluating outputs over arrays.
"""

from __future__ import annotations

import sympy
from sympy.parsing.sympy_parser import convert_xor, parse_expr, standard_transformations
from sympy.printing.numpy import NumPyPrinter
from sympy.printing.pycode import PythonCodePrinter

from ..model import Model

__all__ = ["to_antimony", "python_rhs", "python_outputs", "parse"]

_TRANSFORMS = standard_transformations + (convert_xor,)


def parse(expr: str, names: tuple[str, ...]) -> sympy.Expr:
    """Parse equation text to sympy, treating every model name as a plain symbol."""
    local = {n: sympy.Symbol(n) for n in names}
    return parse_expr(expr, local_dict=local, transformations=_TRANSFORMS, evaluate=False)


def _names(model: Model) -> tuple[str, ...]:
    return (*model.parameter_names, *model.state_names, *model.assignments, "time")


def to_antimony(model: Model, *, initial: dict[str, float] | None = None, events: str = "") -> str:
    """Antimony text of the model (parameters at their current values).

    States become variables with rate rules (``X' = ...``), assignments become
    assignment rules (``A := ...``). Values are in the canonical units of
    :mod:`moasim.units`; the model's time unit is the day.
    """
    init = dict(model.initial)
    if initial:
        init.update(initial)
    lines = [f"model {model.name.replace('-', '_')}()", "  // time unit: day (moasim canonical units)"]
    lines.append("  // parameters")
    for name, p in model.parameters.items():
        lines.append(f"  {name} = {model.parameter_values[name]!r};  // {p.model_unit}; {p.doc}".rstrip("; "))
    lines.append("  // states (rate rules)")
    for s in model.states:
        lines.append(f"  var {s.name} = {init[s.name]!r};")
    for s in model.states:
        lines.append(f"  {s.name}' = {model.rates[s.name]};")
    lines.append("  // algebraic assignments")
    for a, e in model.assignments.items():
        lines.append(f"  {a} := {e};")
    if events:
        lines.append(events)
    lines.append("end")
    return "\n".join(lines)


class _MathPrinter(PythonCodePrinter):
    def _print_Pow(self, expr, rational=False):  # noqa: N802 - sympy API
        base, exp = expr.as_base_exp()
        if exp == sympy.Rational(1, 2):
            return f"math.sqrt({self._print(base)})"
        return f"({self._print(base)})**({self._print(exp)})"


def _assign_lines(model: Model, printer) -> list[str]:
    names = _names(model)
    return [f"    {a} = {printer.doprint(parse(e, names))}" for a, e in model.assignments.items()]


_RHS_SOURCE: dict[str, str] = {}


def _rhs_source(model: Model) -> str:
    if model.structure_key in _RHS_SOURCE:
        return _RHS_SOURCE[model.structure_key]
    names = _names(model)
    pr = _MathPrinter()
    lines = ["def rhs(time, y, p):"]
    lines += [f"    {s} = y[{i}]" for i, s in enumerate(model.state_names)]
    lines += [f"    {n} = p[{i}]" for i, n in enumerate(model.parameter_names)]
    lines += _assign_lines(model, pr)
    rates = ", ".join(pr.doprint(parse(model.rates[s], names)) for s in model.state_names)
    lines.append(f"    return [{rates}]")
    _RHS_SOURCE[model.structure_key] = "\n".join(lines)
    return _RHS_SOURCE[model.structure_key]


def python_rhs(model: Model):
    """A Python function ``rhs(time, y, p)`` (p: parameter values in ``parameter_names`` order)."""
    import math

    src = _rhs_source(model)
    ns: dict = {"math": math}
    exec(compile(src, f"<moasim rhs {model.name}>", "exec"), ns)
    return ns["rhs"]


_OUTPUT_FUNCS: dict[tuple[str, tuple[str, ...]], object] = {}


def python_outputs(model: Model, names: tuple[str, ...] | None = None):
    """A vectorised function ``f(time, Y, p) -> dict`` of outputs and assignments.

    ``Y`` has shape (n_times, n_states); values are numpy arrays over time. Compiled
    once per model structure and set of names.
    """
    wanted = tuple(names) if names is not None else tuple(model.outputs)
    key = (model.structure_key, wanted)
    if key not in _OUTPUT_FUNCS:
        _OUTPUT_FUNCS[key] = _compile_outputs(model, wanted)
    return _OUTPUT_FUNCS[key]


def _compile_outputs(model: Model, wanted: tuple[str, ...]):
    import numpy

    allnames = _names(model)
    pr = NumPyPrinter()
    lines = ["def outputs(time, Y, p):"]
    lines += [f"    {s} = Y[:, {i}]" for i, s in enumerate(model.state_names)]
    lines += [f"    {n} = p[{i}]" for i, n in enumerate(model.parameter_names)]
    lines += _assign_lines(model, pr)
    items = []
    for o in wanted:
        expr = model.outputs[o].expr if o in model.outputs else o
        items.append(f"{o!r}: numpy.broadcast_to({pr.doprint(parse(expr, allnames))} + 0.0*time, time.shape).copy()")
    lines.append("    return {" + ", ".join(items) + "}")
    ns: dict = {"numpy": numpy}
    exec(compile("\n".join(lines), f"<moasim outputs {model.name}>", "exec"), ns)
    return ns["outputs"]
