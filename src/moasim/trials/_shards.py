"""Shard files of a trial: one Parquet file per (arm, replicate, subject range).

A shard file is named by what it holds -- arm, replicate, first subject and count -- so any
worker count, shard size or machine can resume a trial: finished ranges are reused and only
the subjects no file covers are simulated (:func:`moasim.trials._run._plan`). Names sort in
(arm, replicate, first subject) order, so reading them sorted visits subjects in order.
"""

from __future__ import annotations

import os
import re

__all__ = ["shard_name", "existing_shards", "arm_files", "aggregate", "BAND_SUBJECTS"]

#: percentile bands of the report use at most about this many subjects per arm (the first
#: shards of the arm in subject order, :func:`arm_files`), so aggregation memory stays flat
BAND_SUBJECTS = 20_000

_SHARD_NAME = re.compile(r"^arm(\d+)_rep(\d+)_s(\d+)_n(\d+)\.parquet$")


def shard_name(arm: int, replicate: int, start: int, count: int) -> str:
    """File name of the shard holding subjects ``start .. start+count-1`` of (arm, replicate)."""
    return f"arm{arm:03d}_rep{replicate:05d}_s{start:07d}_n{count:07d}.parquet"


def existing_shards(shard_dir: str) -> dict[tuple[int, int], list[tuple[int, int, str]]]:
    """Finished shards by (arm, replicate): sorted (start, count, file name)."""
    found: dict[tuple[int, int], list[tuple[int, int, str]]] = {}
    if not os.path.isdir(shard_dir):
        return found
    for f in os.listdir(shard_dir):
        m = _SHARD_NAME.match(f)
        if m:
            a, r, start, count = map(int, m.groups())
            found.setdefault((a, r), []).append((start, count, f))
    return {k: sorted(v) for k, v in found.items()}


def arm_files(files: list[str], arm: int) -> list[str]:
    """The shard files of one arm, in subject order."""
    prefix = f"arm{arm:03d}_"
    return sorted(f for f in files if f.startswith(prefix) and _SHARD_NAME.match(f))


def aggregate(spec, shard_dir: str, files: list[str], subject_values, courses):
    """Endpoints per arm (with contrasts ``vs`` another arm), and each arm's bands and curves,
    from the shard files of a trial of either model layer.

    Reads each arm's shard files in subject order, one at a time; the layer supplies the
    per-subject steps (:class:`moasim.layers.Layer`): ``subject_values(spec, table)`` gives,
    per endpoint, the subjects' (values, events) and the per-subject arrays the curves need;
    ``courses(spec, head, inputs)`` gives the arm's bands (from ``head``, the shard table of
    its first :data:`BAND_SUBJECTS` or so subjects, so memory stays flat) and curves (from the
    arrays of all its subjects).

    Returns (arms, bands, curves) for :class:`moasim.trials.TrialResult`.
    """
    import numpy as np
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ._endpoints import evaluate_contrast, evaluate_endpoint

    values: dict[str, dict[str, list[tuple[np.ndarray, np.ndarray]]]] = {}
    bands, curves = {}, {}
    for a, arm in enumerate(spec.arms):
        per_ep: dict[str, dict[int, list[tuple[np.ndarray, np.ndarray]]]] = {ep.name: {} for ep in spec.endpoints}
        head, inputs = [], {}
        for f in arm_files(files, a):
            t = pq.read_table(os.path.join(shard_dir, f))
            rep = t.column("replicate").to_numpy()
            endpoint_values, arrays = subject_values(spec, t)
            for name, (v, e) in endpoint_values.items():
                for r in np.unique(rep):
                    per_ep[name].setdefault(int(r), []).append((v[rep == r], e[rep == r]))
            for k, x in arrays.items():
                inputs.setdefault(k, []).append(x)
            if sum(h.num_rows for h in head) < BAND_SUBJECTS:
                head.append(t)
        values[arm.name] = {name: [(np.concatenate([v for v, _ in parts]), np.concatenate([e for _, e in parts]))
                                   for _, parts in sorted(reps.items())] for name, reps in per_ep.items()}
        bands[arm.name], curves[arm.name] = courses(spec, pa.concat_tables(head, promote_options="default"), {k: np.concatenate(x) for k, x in inputs.items()})
    arms = {}
    for arm in spec.arms:
        eps = {}
        for ep in spec.endpoints:
            per_rep = values[arm.name][ep.name]
            vs = getattr(ep, "vs", None)  # only bone endpoints compare arms
            if vs is None:
                eps[ep.name] = evaluate_endpoint(ep, per_rep, seed=spec.seed)
            elif vs == arm.name:
                eps[ep.name] = {"estimate": 1.0 if ep.kind == "incidence" else 0.0, "ci95": [1.0, 1.0] if ep.kind == "incidence" else [0.0, 0.0]}
            else:
                eps[ep.name] = evaluate_contrast(ep, per_rep, values[vs][ep.name], seed=spec.seed)
        arms[arm.name] = {"n": spec.n, "endpoints": eps}
    return arms, bands, curves
