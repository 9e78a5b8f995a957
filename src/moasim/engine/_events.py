"""The event loop: piecewise integration between dosing events and decision times.

The integrator restarts at every event, so dose discontinuities are never stepped over.
Observations at an event time are taken *before* the event (NONMEM convention: a
sample at a dose time is pre-dose). Decision points (visits) let a controller read the
current outputs and schedule new events (state-dependent titration).
"""

from __future__ import annotations

import heapq
import math
from dataclasses import dataclass
from typing import Protocol, Sequence

import numpy as np

from ..errors import DosingError, invalid_value
from ..model import Model
from ._base import AbstractEngine
from ._codegen import python_outputs

__all__ = ["Add", "SetParameter", "Transfer", "SetState", "Event", "cycle_steady_state", "Controller", "ScheduleResult", "run_schedule"]


@dataclass(frozen=True, slots=True)
class Add:
    """Add ``amount`` (canonical unit of the state) to a state: a bolus dose."""

    state: str
    amount: float


@dataclass(frozen=True, slots=True)
class SetParameter:
    """Set (or, with ``additive``, increment) a parameter: infusion rates, food state."""

    name: str
    value: float
    additive: bool = False


@dataclass(frozen=True, slots=True)
class Transfer:
    """Move a fraction of one state's content into another (sequential absorption)."""

    source: str
    target: str
    fraction: float = 1.0


@dataclass(frozen=True, slots=True)
class SetState:
    """Replace (or, with ``additive``, add to) the whole state vector, in ``model.state_names``
    order; ``parameters``, if given, replaces the parameter vector (stopping infusions and
    restoring food state). NONMEM-style resets (EVID 3/4) and steady-state doses (SS 1/2)."""

    values: tuple[float, ...]
    additive: bool = False
    parameters: tuple[float, ...] | None = None


@dataclass(frozen=True, slots=True)
class Event:
    """An action at a time (day). ``label`` and ``dose`` feed the dose ledger."""

    time: float
    action: Add | SetParameter | Transfer | SetState
    label: str = ""
    dose: tuple[str, float, str] | None = None  # (drug, amount, unit) as prescribed

    def __post_init__(self) -> None:
        if not math.isfinite(self.time) or self.time < 0:
            raise DosingError(invalid_value("event time", self.time, "a finite time >= 0 day"))


class Controller(Protocol):
    """Something that decides doses at visits from the observed outputs (titration)."""

    decision_times: Sequence[float]

    def decide(self, time: float, observe) -> list[Event]:  # pragma: no cover - protocol
        ...


@dataclass(frozen=True, slots=True)
class ScheduleResult:
    time: np.ndarray
    states: np.ndarray  # (n_times, n_states)
    ledger: tuple[Event, ...]


def _apply(ev: Event, y: np.ndarray, p: np.ndarray, sidx: dict, pidx: dict) -> None:
    a = ev.action
    if isinstance(a, Add):
        y[sidx[a.state]] += a.amount
    elif isinstance(a, SetState):
        v = np.asarray(a.values, float)
        y[:] = y + v if a.additive else v
        if a.parameters is not None:
            p[:] = np.asarray(a.parameters, float)
    elif isinstance(a, SetParameter):
        i = pidx[a.name]
        p[i] = p[i] + a.value if a.additive else a.value
        if abs(p[i]) < 1e-12 * max(1.0, abs(a.value)):
            p[i] = 0.0  # infusion on/off pairs cancel exactly
    else:
        i, j = sidx[a.source], sidx[a.target]
        moved = y[i] * a.fraction
        y[i] -= moved
        y[j] += moved


def run_schedule(
    engine: AbstractEngine,
    model: Model,
    t_out: np.ndarray,
    events: Sequence[Event] = (),
    controllers: Sequence[Controller] = (),
) -> ScheduleResult:
    """Simulate ``model`` from its initial state with events, returning states at ``t_out``.

    Parameters
    ----------
    engine : AbstractEngine
        Integrator.
    model : Model
        Model with parameter values and initial state (canonical units).
    t_out : array
        Output times (day), sorted, >= 0.
    events : sequence of Event
        Scheduled actions (doses, infusion switches, food, transfers).
    controllers : sequence of Controller
        Decide extra events at their decision times from the current outputs.
    """
    t_out = np.asarray(t_out, float)
    if t_out.ndim != 1 or len(t_out) == 0 or np.any(np.diff(t_out) < 0) or t_out[0] < 0:
        raise DosingError(invalid_value("output times", "unsorted/negative", "sorted times >= 0 day"))
    compiled = engine.prepare(model)
    sidx = {s: i for i, s in enumerate(model.state_names)}
    pidx = {p: i for i, p in enumerate(model.parameter_names)}
    y = model.initial_vector()
    p = model.parameter_vector()
    t_end = float(t_out[-1])
    queue: list[tuple[float, int, Event]] = []
    seq = 0
    for ev in events:
        heapq.heappush(queue, (ev.time, seq, ev))
        seq += 1
    decisions = sorted({float(t) for c in controllers for t in c.decision_times if t <= t_end})
    outs = python_outputs(model, tuple(model.outputs)) if controllers else None

    Y = np.empty((len(t_out), len(y)))
    ledger: list[Event] = []
    t = 0.0
    k = 0  # next output index
    while True:
        # record outputs due at t (pre-event)
        while k < len(t_out) and t_out[k] <= t:
            Y[k] = y
            k += 1
        if controllers and decisions and decisions[0] <= t:
            decisions.pop(0)
            view = outs(np.array([t]), y[None, :], p)
            observe = lambda name: float(view[name][0])  # noqa: E731
            for c in controllers:
                if t in c.decision_times:
                    for ev in c.decide(t, observe):
                        heapq.heappush(queue, (ev.time, seq, ev))
                        seq += 1
        while queue and queue[0][0] <= t:
            _, _, ev = heapq.heappop(queue)
            if ev.time > t_end:
                continue
            _apply(ev, y, p, sidx, pidx)
            ledger.append(ev)
        if t >= t_end:
            break
        t_next = min(t_end, queue[0][0] if queue else math.inf, decisions[0] if decisions else math.inf)
        j = np.searchsorted(t_out, t_next, side="right")
        Yseg, y = engine.segment(compiled, p, y, t, t_next, t_out[k:j])
        Y[k:j] = Yseg
        k = j
        t = t_next
    return ScheduleResult(time=t_out, states=Y, ledger=tuple(ledger))


def _advance(engine: AbstractEngine, compiled, y: np.ndarray, p: np.ndarray, events: Sequence[Event], t0: float, t1: float,
             sidx: dict, pidx: dict) -> tuple[np.ndarray, np.ndarray]:
    """State and parameters at ``t1`` (before events at ``t1``) from ``t0``, applying ``events`` in [t0, t1)."""
    t = t0
    empty = np.empty(0)
    for ev in sorted(events, key=lambda e: e.time):
        if ev.time > t:
            _, y = engine.segment(compiled, p, y, t, ev.time, empty)
            t = ev.time
        _apply(ev, y, p, sidx, pidx)
    if t1 > t:
        _, y = engine.segment(compiled, p, y, t, t1, empty)
    return np.asarray(y, float).copy(), p


def cycle_steady_state(engine: AbstractEngine, model: Model, events: Sequence[Event], period: float, *, rtol: float = 1e-8,
                       start_events: bool = False, max_days: float = 20 * 365.0) -> tuple[np.ndarray, np.ndarray]:
    """The periodic steady state of ``model`` under ``events`` repeated every ``period`` (day).

    From the model's initial state, whole periods are integrated until no state changes by
    more than ``rtol`` (relative; floor 1e-12 x the largest state) over one period: NONMEM's
    steady-state dose (SS = 1) for a general ODE model. The map from one period to the next
    is deterministic, so the iteration converges to its fixed point; with a contraction
    ratio q per period the remaining error is about ``rtol`` x q/(1 - q).

    Parameters
    ----------
    events : sequence of Event
        One period's events, times in [0, period) (day).
    period : float
        Dosing interval (day).
    start_events : bool
        Apply ``events`` once at the start and then integrate without them (the steady state of
        a constant infusion switched on by ``events``); the parameters returned are those
        before the events.

    Returns
    -------
    (states, parameters) : arrays
        Just before the next period's events.

    Raises
    ------
    RuntimeError
        If no steady state is reached within ``max_days``.
    """
    compiled = engine.prepare(model)
    sidx = {s: i for i, s in enumerate(model.state_names)}
    pidx = {p: i for i, p in enumerate(model.parameter_names)}
    y = model.initial_vector().astype(float)
    p0 = model.parameter_vector().astype(float)
    p = p0.copy()
    per_cycle: Sequence[Event] = events
    if start_events:
        for ev in events:
            _apply(ev, y, p, sidx, pidx)
        per_cycle = ()
    for _ in range(int(max_days / period) + 1):
        prev = y
        y, p = _advance(engine, compiled, y.copy(), p, per_cycle, 0.0, period, sidx, pidx)
        floor = 1e-12 * max(1.0, float(np.max(np.abs(y))))
        if np.all(np.abs(y - prev) <= rtol * np.maximum(np.abs(y), np.abs(prev)) + floor):
            return y, (p0 if start_events else p)
    raise RuntimeError(f"no steady state within {max_days:g} days")
