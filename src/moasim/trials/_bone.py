"""Bone trials: postmenopausal women (or men) on romosozumab, denosumab, alendronate,
teriparatide or placebo, in sequence if the arm says so, measured at visits (DXA BMD, P1NP,
CTX) and followed for fractures.

Each subject is the bone model (:mod:`moasim.library.bone`) with her own parameter factors
(:mod:`moasim.population._bone`), simulated one at a time with libroadrunner (about 10 ms
for two years). Shards are written, resumed and aggregated exactly as for platelet trials
(:mod:`._run`, :mod:`._shards`); this module supplies the per-subject steps
(:data:`moasim.layers.BONE`).
"""

from __future__ import annotations

import math

import numpy as np

from ..library.bone import BoneRegimen, BoneSubject, run_bone
from ..library.bone._model import typical_parameter_values
from ..library.bone.fracture import FRACTURE_EVENTS, baseline_rate, event_times
from ..population import sample_bone_subjects
from ..population._bone import MEASUREMENT_SD
from ._bone_spec import BoneArmSpec
from ._endpoints import BONE_MEASURES
from ._spec import TrialSpec

__all__ = ["simulate_bone_shard", "bone_values", "bone_courses", "measure_times", "arm_regimens", "BONE_COLUMNS"]

BONE_COLUMNS = ("arm", "replicate", "subject", "t_score", "weight_kg", "female", "doses",
                *(f"m_{o}" for o in BONE_MEASURES), *(f"d_{o}" for o in BONE_MEASURES), *(f"fx_{e}" for e in FRACTURE_EVENTS))


def measure_times(spec: TrialSpec) -> np.ndarray:
    """Visit times (day) plus every endpoint time, sorted: when BMD and markers are measured."""
    return np.unique(np.round(np.concatenate([spec.visit_times, [e.at_days for e in spec.endpoints if e.kind == "percent_change"]]), 9))


def arm_regimens(arm: BoneArmSpec, start: float = 0.0) -> list[BoneRegimen]:
    """The arm's dosing as bone regimens: its own for ``for`` (or to the end), then its follow-on."""
    if arm.drug is None:
        return []
    count = None
    if arm.for_days is not None:
        count = max(1, math.ceil(arm.for_days / arm.every_days - 1e-9)) if arm.every_days else 1
    regs = [BoneRegimen(drug=arm.drug, dose=f"{arm.dose:.12g} {arm.unit}", every=f"{arm.every_days!r} day" if arm.every_days else None,
                        route=arm.route, start=start, count=count)]
    if arm.then is not None:
        regs += arm_regimens(arm.then, start + arm.for_days)
    return regs


def _measured(true_pct: np.ndarray, output: str, e0: float, e: np.ndarray) -> np.ndarray:
    """Measured % change: the visit's error minus the baseline scan's (shared by all visits)."""
    kind, sd = MEASUREMENT_SD[output]
    if kind == "add":
        return true_pct + sd * (e - e0)
    return 100.0 * ((1.0 + true_pct / 100.0) * np.exp(sd * (e - e0)) - 1.0)


def _measurement_errors(seed: np.random.SeedSequence, times: np.ndarray) -> np.ndarray:
    """Standard-normal errors (measures x (1 + times)): column 0 the baseline scan, then one column per
    measurement time drawn from a stream keyed by that time (in hours), so that a visit's error does
    not depend on which other times the spec measures (an extra endpoint time left the others alone)."""
    def stream(key: int) -> np.ndarray:
        return np.random.default_rng(np.random.SeedSequence(seed.entropy, spawn_key=(*seed.spawn_key, key))).standard_normal(len(BONE_MEASURES))

    return np.column_stack([stream(0)] + [stream(1 + int(round(t * 24.0))) for t in times])


def _subject(spec: TrialSpec, arm: BoneArmSpec, draw, typical: dict | None) -> dict:
    days = spec.duration_days
    tm = measure_times(spec)
    daily = np.arange(0.0, days + 1e-9, 1.0)
    t = np.unique(np.concatenate([daily, tm]))
    base = {**typical_parameter_values(), **(typical or {})}  # typical: absolute overrides (canonical units)
    overrides = {**(typical or {}), **{k: base[k] * f for k, f in draw.factors.items()}}
    subject = BoneSubject(population=spec.population.kind, female=draw.female, weight_kg=draw.weight_kg)
    res = run_bone(arm_regimens(arm), days=days, subject=subject, parameters=overrides or None, t_out=t, engine="roadrunner")
    out = res.outputs
    err = _measurement_errors(draw.noise_seed, tm)  # column 0: the baseline scan
    on = spec.population.measurement_error
    idx = np.searchsorted(t, tm - 1e-9)
    day = np.searchsorted(t, daily - 1e-9)
    row = {"t_score": draw.t_score, "weight_kg": draw.weight_kg, "female": draw.female, "doses": len(res.doses)}
    at_baseline = tm == 0.0  # the baseline visit's scan is the baseline itself: zero change
    for k, o in enumerate(BONE_MEASURES):
        true = np.asarray(out[o])[idx]
        e = np.where(at_baseline, err[k, 0], err[k, 1:])
        row[f"m_{o}"] = (_measured(true, o, err[k, 0], e) if on else true).astype(float).tolist()
        row[f"d_{o}"] = np.asarray(out[o])[day].astype(np.float32).tolist()
    rates = spec.population.rates
    for e in FRACTURE_EVENTS:
        row[f"fx_{e}"] = (event_times(t, np.asarray(out["bmd_total_hip"]), baseline_rate(e, rates[e], draw.t_score), e, draw.fracture_u[e])
                          if e in rates else float("nan"))
    return row


def simulate_bone_shard(spec: TrialSpec, arm_index: int, replicate: int, start: int, count: int, typical=None, engine: str = "roadrunner"):
    """One shard of a bone trial as a frame in :data:`BONE_COLUMNS` order (always libroadrunner: ``engine`` is not used)."""
    import pandas as pd

    arm = spec.arms[arm_index]
    seed = np.random.SeedSequence(spec.seed, spawn_key=(replicate, arm_index))
    draws = sample_bone_subjects(spec.population, count, seed, start=start)
    rows = [{"arm": arm.name, "replicate": replicate, "subject": d.index, **_subject(spec, arm, d, typical)} for d in draws]
    return pd.DataFrame(rows, columns=list(BONE_COLUMNS))


def _subject_values(ep, tm: np.ndarray, table) -> np.ndarray:
    if ep.kind == "percent_change":
        j = int(np.argmin(np.abs(tm - ep.at_days)))
        return np.array(table.column(f"m_{ep.output}").to_pylist(), dtype=float)[:, j]
    fx = table.column(f"fx_{ep.event}").to_numpy(zero_copy_only=False).astype(float)
    return (np.nan_to_num(fx, nan=np.inf) <= ep.at_days + 1e-9).astype(float)


def bone_values(spec: TrialSpec, table) -> tuple[dict[str, tuple[np.ndarray, np.ndarray]], dict[str, np.ndarray]]:
    """Per endpoint, the women's (values, events) from their measured changes and fracture
    times; and the fracture times themselves, for the incidence curves."""
    tm = measure_times(spec)
    out = {}
    for ep in spec.endpoints:
        v = _subject_values(ep, tm, table)
        out[ep.name] = (v, np.ones(len(v)))
    return out, {e: table.column(f"fx_{e}").to_numpy(zero_copy_only=False).astype(float) for e in FRACTURE_EVENTS}


def bone_courses(spec: TrialSpec, head, inputs: dict[str, np.ndarray]) -> tuple[dict, dict]:
    """Percentile bands (and mean) of each measured output's daily course (women in ``head``),
    and the cumulative incidence curve of each fracture event with a rate."""
    b = {"time_days": list(range(int(math.floor(spec.duration_days + 1e-9)) + 1))}
    for o in BONE_MEASURES:
        d = np.array(head.column(f"d_{o}").to_pylist(), dtype=np.float32)
        q = np.percentile(d, [5, 25, 50, 75, 95], axis=0)
        b[o] = {**{f"p{k}": q[i].tolist() for i, k in enumerate((5, 25, 50, 75, 95))}, "mean": d.mean(axis=0).tolist()}
    grid = np.array(b["time_days"], float)
    curves = {e: (np.nan_to_num(inputs[e], nan=np.inf)[:, None] <= grid[None, :]).mean(axis=0).tolist()
              for e in FRACTURE_EVENTS if e in spec.population.rates}
    return b, curves
