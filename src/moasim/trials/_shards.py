"""Shard files of a trial: one Parquet file per (arm, replicate, subject range).

A shard file is named by what it holds -- arm, replicate, first subject and count -- so any
worker count, shard size or machine can resume a trial: finished ranges are reused and only
the subjects no file covers are simulated (:func:`moasim.trials._run._plan`). Names sort in
(arm, replicate, first subject) order, so reading them sorted visits subjects in order.
"""

from __future__ import annotations

import os
import re

__all__ = ["shard_name", "existing_shards", "arm_files", "BAND_SUBJECTS"]

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
