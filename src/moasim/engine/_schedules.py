"""Event schedules of the batched engine: what happens to which subject at which time.

The batched loop (:meth:`~moasim.engine._batched.BatchedEngine.run`) integrates all subjects
between event times shared by the population and asks a :class:`BatchedSchedule` what to do
at each of them. Three kinds of event source, from the fastest:

- a vectorised ``decide(t, outputs)`` (:class:`_DecideSchedule`);
- :class:`ArrayRule` objects: a dosing or rescue rule evaluated for all subjects at once with
  numpy (the label titration rules of :mod:`moasim.dosing`), whose administrations are built
  once per subject and applied as array operations: no per-subject Python at decisions;
- per-subject moasim :class:`~moasim.engine.Event` lists and ``Controller`` objects, with
  :func:`~moasim.engine.run_schedule`'s semantics (:class:`SubjectSchedules`).

Observations at an event time are pre-event (NONMEM convention): every rule and controller
decides on the outputs before any event at that time is applied.
"""

from __future__ import annotations

import bisect
import heapq
import math
from typing import Callable, Mapping, Protocol, Sequence

import numpy as np

from ..errors import SpecError, invalid_value, unknown_name
from ..model import Model
from ._events import Add, Controller, Event, SetParameter, Transfer, _apply

__all__ = ["BatchedSchedule", "ArrayRule", "SubjectSchedules", "Decide"]

Decide = Callable[[float, dict[str, np.ndarray]], Mapping[str, np.ndarray] | None]


class BatchedSchedule(Protocol):
    """What the batched loop asks at event times (shared by all subjects)."""

    def has_event(self, t: float) -> bool:
        """Whether anything happens at ``t`` (the loop then calls :meth:`apply`)."""

    def next_time(self, t: float) -> float:
        """The next event time strictly after ``t`` (``inf`` if none)."""

    def apply(self, t: float, outputs: dict[str, np.ndarray], Y: np.ndarray, P: np.ndarray) -> None:
        """Apply the events at ``t`` to states ``Y`` (N, n_states) and parameters ``P`` (N, n_params) in place."""


class _LazyOutputs(Mapping):
    """The pre-event outputs of every subject at ``t``, computed on first access: most event times
    (doses of a fixed regimen, disease-activity steps) have no controller that looks at them."""

    def __init__(self, outs, t: float, Y: np.ndarray, P: np.ndarray) -> None:
        self._args, self._values = (outs, t, Y, P), None

    def _get(self) -> dict:
        if self._values is None:
            outs, t, Y, P = self._args
            # on first access, which SubjectSchedules.apply makes before it applies any event at t
            # (every controller and rule decides first): every subject's pre-event outputs
            self._values = outs(np.full(Y.shape[0], t), Y, P)
        return self._values

    def __getitem__(self, name: str) -> np.ndarray:
        return self._get()[name]

    def __iter__(self):
        return iter(self._get())

    def __len__(self) -> int:
        return len(self._get())


class _DecideSchedule:
    """Fixed shared event times and a vectorised ``decide`` (increments to states, values of parameters)."""

    def __init__(self, model: Model, event_times: Sequence[float], decide: Decide | None) -> None:
        self.times = sorted({float(t) for t in event_times}) if decide is not None else []
        self.decide = decide
        self.sidx = {s: i for i, s in enumerate(model.state_names)}
        self.pidx = {p: i for i, p in enumerate(model.parameter_names)}

    def has_event(self, t: float) -> bool:
        i = bisect.bisect_left(self.times, t)
        return i < len(self.times) and self.times[i] == t

    def next_time(self, t: float) -> float:
        i = bisect.bisect_right(self.times, t)
        return self.times[i] if i < len(self.times) else math.inf

    def apply(self, t, outputs, Y, P) -> None:
        n = Y.shape[0]
        outputs = dict(outputs)  # a snapshot: decide() may keep it (the loop's mapping is computed lazily)
        for name, value in (self.decide(t, outputs) or {}).items():
            v = np.broadcast_to(np.asarray(value, dtype=float), (n,))
            if name in self.sidx:
                Y[:, self.sidx[name]] += v
            elif name in self.pidx:
                keep = np.isnan(v)
                P[:, self.pidx[name]] = np.where(keep, P[:, self.pidx[name]], v)
            else:
                raise SpecError(unknown_name("state or parameter", name, [*self.sidx, *self.pidx], "decide()'s result"))


class ArrayRule(Protocol):
    """A dosing or rescue rule for all N subjects of a schedule at once (numpy, no per-subject
    Python at decisions): e.g. :class:`moasim.dosing.ArrayTitration`.

    At each of its decision times the rule picks, from every subject's pre-event outputs, which
    of its administrations each subject gets; an administration is a fixed list of events per
    subject (built once, when first given), moved to the decision time.
    """

    decision_times: Sequence[float]

    def decide(self, t: float, outputs: Mapping[str, np.ndarray]) -> np.ndarray:
        """(N,) integers: the administration each subject gets at ``t`` (-1: none)."""

    def administration(self, k: int) -> Sequence[Sequence[Event]]:
        """Per subject, the events of administration ``k`` given at time 0."""


#: layers of fewer subjects than this are applied event by event (numpy's per-call cost)
_BULK_MIN = 8


def _array_ops(pairs, sidx: dict, pidx: dict) -> tuple[list, list]:
    """(subject, event) pairs as array operations ``(kind, index, subjects, values)``: boluses
    (``add``), parameter settings (``pset``, ``padd``) and transfers between states (``move``,
    index: (source, target)), one per kind and target; and the pairs of other actions."""
    groups: dict[tuple[str, object], tuple[list[int], list[float]]] = {}
    other = []
    for i, ev in pairs:
        a = ev.action
        if type(a) is Add:
            key, value = ("add", sidx[a.state]), a.amount
        elif type(a) is SetParameter:
            key, value = ("padd" if a.additive else "pset", pidx[a.name]), a.value
        elif type(a) is Transfer:
            key, value = ("move", (sidx[a.source], sidx[a.target])), a.fraction
        else:
            other.append((i, ev))
            continue
        rows, vals = groups.setdefault(key, ([], []))
        rows.append(i)
        vals.append(value)
    return [(kind, idx, np.array(rows), np.array(vals, float)) for (kind, idx), (rows, vals) in groups.items()], other


def _apply_ops(ops, other, Y: np.ndarray, P: np.ndarray, sidx: dict, pidx: dict) -> None:
    """Apply array operations (:func:`_array_ops`) and the other (subject, event) pairs, with
    :func:`~moasim.engine._events._apply`'s semantics."""
    for kind, idx, rows, vals in ops:
        if kind == "add":
            Y[rows, idx] += vals
        elif kind == "move":  # as _apply: moved = y[source] * fraction
            moved = Y[rows, idx[0]] * vals
            Y[rows, idx[0]] -= moved
            Y[rows, idx[1]] += moved
        else:
            new = P[rows, idx] + vals if kind == "padd" else vals
            # infusion on/off pairs cancel exactly (as _apply)
            P[rows, idx] = np.where(np.abs(new) < 1e-12 * np.maximum(1.0, np.abs(vals)), 0.0, new)
    for i, ev in other:
        _apply(ev, Y[i], P[i], sidx, pidx)


class SubjectSchedules:
    """Per-subject moasim :class:`~moasim.engine.Event` lists and controllers, as in
    :func:`~moasim.engine.run_schedule` (same semantics, for N subjects at once), and rules
    over all subjects (:class:`ArrayRule`).

    Event times are the union over subjects; controllers' and rules' follow-up events (e.g.
    the end of an infusion, the meal after a fasting dose) add times as they are scheduled.
    ``ledgers[i]`` lists the events applied to subject ``i``: every event of its lists and
    controllers, and the events of the rules' administrations that carry a label or a dose
    (the dose ledger). Controllers are called per subject (Python); rules and a vectorised
    ``decide`` are faster.

    The events known in advance (the lists given) are applied in bulk: at each time, the
    k-th event of every subject that has one there forms a layer, and a layer's boluses and
    parameter settings are applied with one array operation per state or parameter. At a
    time, a subject's controllers decide first (on its pre-event outputs), then the rules (on
    the same outputs), then its advance events apply in their order, then the events its
    controllers scheduled, in order, then the rules' events, in the order they were scheduled:
    as in :func:`~moasim.engine.run_schedule` with each rule as the subject's last controller.
    """

    def __init__(self, model: Model, events: Sequence[Sequence[Event]], controllers: Sequence[Sequence[Controller]] | None,
                 t_end: float, *, rules: Sequence[ArrayRule] = ()) -> None:
        n = len(events)
        controllers = controllers if controllers is not None else [()] * n
        if len(controllers) != n:
            raise SpecError(invalid_value("controllers", len(controllers), f"one sequence per subject ({n})"))
        self.n, self.model, self.t_end = n, model, float(t_end)
        self.sidx = {s: i for i, s in enumerate(model.state_names)}
        self.pidx = {p: i for i, p in enumerate(model.parameter_names)}
        self.controllers = [tuple(c) for c in controllers]
        self.rules = tuple(rules)
        self.queues: list[list] = [[] for _ in range(n)]  # events scheduled by controllers
        self.ledgers: list[list[Event]] = [[] for _ in range(n)]
        self._due: dict[float, set[int]] = {}  # subjects whose controllers decide, or whose queue has events, at a time
        self._seq = 0
        self._now = -math.inf
        # advance events: time -> layers; layer k = [(subject, event)] of each subject's k-th event at that time
        layers: dict[float, list[list[tuple[int, Event]]]] = {}
        for i in range(n):
            count: dict[float, int] = {}
            for ev in events[i]:
                t = float(ev.time)
                if t > self.t_end:
                    continue  # never reached
                k = count.get(t, 0)
                count[t] = k + 1
                at = layers.setdefault(t, [])
                if k == len(at):
                    at.append([])
                at[k].append((i, ev))
            for c in self.controllers[i]:
                for t in c.decision_times:
                    if t <= self.t_end:
                        self._due.setdefault(float(t), set()).add(i)
        self._bulk = {t: [self._grouped(layer) for layer in at] for t, at in layers.items()}
        self._decisions: dict[float, list[int]] = {}  # time -> the rules that decide then
        for r, rule in enumerate(self.rules):
            for t in rule.decision_times:
                if t <= self.t_end:
                    self._decisions.setdefault(float(t), []).append(r)
        self._administrations: dict[tuple[int, int], list] = {}  # (rule, k) -> its operations by time offset
        self._later: dict[float, list] = {}  # time -> the rules' operations due then, in the order scheduled
        self._times: list[float] = sorted(set(self._due) | set(self._bulk) | set(self._decisions))

    def _grouped(self, layer: list[tuple[int, Event]]) -> tuple[list, list[tuple[int, Event]], list[tuple[int, Event]]]:
        """One layer as array operations (:func:`_array_ops`) and the (subject, event) pairs of other
        actions (applied one by one); plus the pairs themselves for the ledgers."""
        if len(layer) < _BULK_MIN:  # a few subjects (a patient fit): one by one is cheaper than arrays
            return [], layer, layer
        ops, other = _array_ops(layer, self.sidx, self.pidx)
        return ops, other, layer

    def _administration(self, r: int, k: int) -> list:
        """Rule ``r``'s administration ``k`` as ``[(offset, ops, other, ledger)]``: the subjects whose
        events have the same times and targets (in practice all) form one group, whose j-th
        events are array operations at their common time offset (day); ``ledger``: the
        (subject, event) pairs that carry a label or a dose."""
        key = (r, k)
        if key not in self._administrations:
            per_subject = self.rules[r].administration(k)
            if len(per_subject) != self.n:
                raise SpecError(invalid_value(f"administration {k} of rule {r}", len(per_subject), f"one event list per subject ({self.n})"))
            groups: dict[tuple, list[int]] = {}
            for i, evs in enumerate(per_subject):
                groups.setdefault(tuple((e.time, type(e.action), _target(e.action)) for e in evs), []).append(i)
            out = []
            for sig, rows in groups.items():
                for j, (offset, *_) in enumerate(sig):
                    pairs = [(i, per_subject[i][j]) for i in rows]
                    ops, other = _array_ops(pairs, self.sidx, self.pidx)
                    out.append((float(offset), ops, other, [(i, e) for i, e in pairs if e.label or e.dose]))
            self._administrations[key] = out
        return self._administrations[key]

    def _schedule(self, r: int, t: float, given: np.ndarray) -> None:
        """Schedule rule ``r``'s administrations given at ``t`` (``given``: (N,) index, -1 none)."""
        for k in np.unique(given[given >= 0]).tolist():
            mask = given == k
            for offset, ops, other, ledger in self._administration(r, k):
                at = t + offset
                if at > self.t_end:
                    continue  # never reached
                sel = [(kind, idx, rows[m], vals[m]) for kind, idx, rows, vals in ops if (m := mask[rows]).any()]
                if at not in self._later:
                    self._later[at] = []
                    if at > t and at not in self._due and at not in self._bulk and at not in self._decisions:
                        bisect.insort(self._times, at)
                self._later[at].append((sel, [(i, e) for i, e in other if mask[i]], [(i, e) for i, e in ledger if mask[i]]))

    def _mark(self, i: int, t: float) -> None:
        if t <= self._now:
            return  # due at the time being applied: apply() handles it now
        if t not in self._due:
            self._due[t] = set()
            if t not in self._bulk and t not in self._decisions and t not in self._later:
                bisect.insort(self._times, t)
        self._due[t].add(i)

    def _push(self, i: int, t: float, ev: Event) -> None:
        heapq.heappush(self.queues[i], (float(t), self._seq, ev))
        self._seq += 1
        self._mark(i, float(t))

    def has_event(self, t: float) -> bool:
        return t in self._due or t in self._bulk or t in self._decisions or t in self._later

    def next_time(self, t: float) -> float:
        i = bisect.bisect_right(self._times, t)
        return self._times[i] if i < len(self._times) else math.inf

    def apply(self, t, outputs, Y, P) -> None:
        self._now = t
        sidx, pidx, t_end, ledgers = self.sidx, self.pidx, self.t_end, self.ledgers
        due = sorted(self._due.pop(t, ()))
        for i in due:  # controllers decide on the pre-event outputs
            ctl = [c for c in self.controllers[i] if t in c.decision_times] if self.controllers[i] else ()
            if ctl:
                observe = lambda name, i=i: float(outputs[name][i])  # noqa: E731
                for c in ctl:
                    for ev in c.decide(t, observe):
                        self._push(i, max(float(ev.time), t), ev)
        for r in self._decisions.pop(t, ()):  # then the rules, on the same outputs
            given = np.asarray(self.rules[r].decide(t, outputs))
            if given.shape != (self.n,) or given.dtype.kind not in "iu":
                raise SpecError(invalid_value(f"decision of rule {r} at t={t:g} day", f"{given.dtype} array of shape {given.shape}",
                                              f"({self.n},) integer administration indices"))
            self._schedule(r, t, given)
        for ops, other, layer in self._bulk.pop(t, ()):  # the advance events, layer by layer
            _apply_ops(ops, other, Y, P, sidx, pidx)
            for i, ev in layer:
                ledgers[i].append(ev)
        for i in due:  # then the events the controllers scheduled
            q, y, p, ledger = self.queues[i], Y[i], P[i], ledgers[i]
            while q and q[0][0] <= t:
                ev = heapq.heappop(q)[2]
                if ev.time > t_end:
                    continue
                _apply(ev, y, p, sidx, pidx)
                ledger.append(ev)
        for ops, other, ledger in self._later.pop(t, ()):  # then the rules' events
            _apply_ops(ops, other, Y, P, sidx, pidx)
            for i, ev in ledger:
                ledgers[i].append(Event(t, ev.action, ev.label, ev.dose))


def _target(action) -> object:
    """What an event action acts on (its signature in a rule's administration)."""
    if type(action) is Add:
        return action.state
    if type(action) is SetParameter:
        return (action.name, action.additive)
    if type(action) is Transfer:
        return (action.source, action.target)
    return None
