"""A subject's NONMEM-style dose records (:mod:`moasim.io.nonmem`) expanded into engine events.

Semantics (NONMEM Users Guide VI, PREDPP; the same in rxode2 and mrgsolve):

- ADDL/II: the dose is repeated ADDL more times, every II after it.
- RATE > 0: zero-order input of AMT at RATE into the compartment (``INPUT_<state>`` switched on
  and off); the input ends AMT/RATE later.
- CMT: absent or the route's own dosing state -> the route's administration (bioavailability,
  lag, food and sequential absorption as with ``--dose``); another dosable state -> the amount
  goes straight into it (e.g. the central compartment: an IV dose).
- EVID 3 (reset), EVID 4 (reset and dose) and SS = 1 (steady state, prior state discarded):
  every state and parameter returns to the subject's drug-free steady state, and the pending
  additional doses and infusions of earlier rows are cancelled.
- SS = 1: just before the dose the system is at the steady state of this dose given every II
  (or, with AMT 0 and RATE > 0, of a constant infusion that then continues): found by
  integrating whole intervals until the state repeats (relative change < ``SS_RTOL``), as
  NONMEM does for general ($DES) models. SS = 2: that steady state, less the drug-free state,
  is added to the current state (superposition: exact for linear PK, an approximation for
  the nonlinear parts).
"""

from __future__ import annotations

from ..engine import Add, Event, SetParameter, SetState
from ..engine._events import cycle_steady_state
from ..errors import DataError, invalid_value
from ..io.nonmem import DoseRecord, SubjectRecord
from ..library.drugs._core import Bolus
from ._regimen import _shifted

__all__ = ["record_events", "record_end_time", "route_state", "SS_RTOL"]

#: relative change of every state over one interval below which the steady state is reached
SS_RTOL = 1e-8


def _where(d: DoseRecord, col: str) -> str:
    return f"data row {d.row}, column {col}"


def route_state(drug, route: str) -> str | None:
    """The state a dose by ``route`` enters (an empty CMT means it)."""
    adm = drug.administration[route]
    return getattr(adm, "state", None) or getattr(adm, "gut", None)


def record_end_time(rec: SubjectRecord) -> float:
    """Last time the record speaks about (day): its rows, additional doses and infusion ends."""
    t = max(rec.times, default=0.0)
    for d in rec.doses:
        last = d.time + d.addl * d.ii
        t = max(t, last + (d.amount / d.rate if d.rate > 0 else 0.0))
    return t


def _administration(drug, route: str, d: DoseRecord, t: float, params, food, rstate: str | None, unit: str) -> list[Event]:
    """Events of one administration of record ``d`` at ``t`` (day)."""
    ledger = (drug.name, d.amount_as_given, unit)
    direct = d.cmt is not None and d.cmt != rstate
    if d.rate > 0:
        state = d.cmt or rstate
        if not direct and not isinstance(drug.administration[route], Bolus):  # F, lag or food would act on it
            raise DataError(invalid_value(_where(d, "RATE"), f"{d.rate:g}",
                                          f"0 (bolus) for the {route} dosing state {state}: give an infusion into another compartment (CMT)"))
        on = Event(t, SetParameter(f"INPUT_{state}", d.rate, additive=True), label="dose", dose=ledger)
        if d.amount <= 0:  # a constant infusion (SS with AMT 0): no end
            return [on]
        return [on, Event(t + d.amount / d.rate, SetParameter(f"INPUT_{state}", -d.rate, additive=True), label="infusion end")]
    if direct:
        return [Event(t, Add(d.cmt, d.amount), label="dose", dose=ledger)]
    evs = drug.events(route, 0.0, d.amount, params, food)  # at time 0, shifted: the same times as a regimen's
    return [Event(t, evs[0].action, label="dose", dose=ledger), *_shifted(evs[1:], t)]


def _steady_state(engine, model, drug, route, d: DoseRecord, params, food, rstate, unit) -> tuple[tuple, tuple]:
    """(states, parameters) just before a dose of record ``d`` at steady state."""
    one = _administration(drug, route, d, 0.0, params, food, rstate, unit)
    if d.ii > 0 and any(e.time >= d.ii for e in one):
        raise DataError(invalid_value(_where(d, "II"), f"{d.ii:g} day",
                                      "an interval longer than the dose's infusion and absorption lag at steady state"))
    try:
        y, p = cycle_steady_state(engine, model, one, d.ii if d.ii > 0 else 1.0, rtol=SS_RTOL, start_events=d.ii <= 0)
    except RuntimeError as e:
        raise DataError(invalid_value(_where(d, "SS"), d.ss, f"a regimen that reaches a steady state ({e})")) from None
    return tuple(y.tolist()), tuple(p.tolist())


def record_events(drug, route: str, rec: SubjectRecord, model, engine, food=None, unit: str = "mg") -> list[Event]:
    """Engine events of one subject's record (doses, infusions, resets, steady states).

    Parameters
    ----------
    drug : Drug
        The dosed drug (catalogue entry).
    route : str
        Route of the doses without CMT (and of CMT = the route's dosing state).
    rec : SubjectRecord
        The subject's checked rows.
    model : Model
        The subject's model (its initial state is the drug-free steady state a reset returns to).
    engine : AbstractEngine
        Integrator for steady-state doses.
    food : Food, optional
        Meal with each oral dose.
    unit : str
        The dataset's amount unit (for the dose ledger).
    """
    params = model.parameter_values
    rstate = route_state(drug, route)
    y0 = tuple(model.initial_vector().tolist())
    p0 = tuple(model.parameter_vector().tolist())
    timeline: list[tuple[float, int, list[Event]]] = [(t, -1, [Event(t, SetState(y0, parameters=p0), label="reset")])
                                                      for t in sorted(rec.resets)]
    for k, d in enumerate(rec.doses):
        evs: list[Event] = []
        if d.reset or d.ss == 1:
            evs.append(Event(d.time, SetState(y0, parameters=p0), label="reset"))
        if d.ss:
            y, p = _steady_state(engine, model, drug, route, d, params, food, rstate, unit)
            if d.ss == 1:
                evs.append(Event(d.time, SetState(y, parameters=p), label="steady state"))
            else:
                evs.append(Event(d.time, SetState(tuple(a - b for a, b in zip(y, y0)), additive=True), label="steady state (added)"))
        for j in range(d.addl + 1):
            evs += _administration(drug, route, d, d.time + j * d.ii, params, food, rstate, unit)
        timeline.append((d.time, k, evs))
    # a reset cancels what earlier rows still had pending (later doses, infusion ends, lagged absorption)
    timeline.sort(key=lambda x: (x[0], x[1]))
    out: list[Event] = []
    for t, k, evs in timeline:
        if any(e.action.__class__ is SetState and not e.action.additive and e.label == "reset" for e in evs):
            out = [e for e in out if e.time < t]
        out += evs
    return out
