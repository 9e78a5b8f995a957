"""Pickling of frozen dataclasses that hold read-only mappings and arrays.

:class:`types.MappingProxyType` cannot be pickled, so :class:`moasim.model.Model`,
:class:`moasim.model.Module` and :class:`moasim.simulation.SimulationResult` reduce to their
fields with those mappings as plain dicts. They are rebuilt without running ``__init__`` (the
values were checked when the object was first made), with the mappings read-only again and
every numpy array in a field or in a mapping read-only (unpickled arrays are writeable).
Derived caches (``functools.cached_property``) are not pickled; they are recomputed.
"""

from __future__ import annotations

from dataclasses import fields
from types import MappingProxyType

import numpy as np

__all__ = ["reduce_frozen", "read_only"]


def reduce_frozen(obj) -> tuple:
    """``__reduce__`` value of the frozen dataclass instance ``obj``."""
    state = {f.name: getattr(obj, f.name) for f in fields(obj)}
    proxies = tuple(k for k, v in state.items() if isinstance(v, MappingProxyType))
    return _restore, (type(obj), {k: dict(v) if k in proxies else v for k, v in state.items()}, proxies)


def _read_only(v):
    if isinstance(v, np.ndarray):
        v.setflags(write=False)
    return v


def _restore(cls: type, state: dict, proxies: tuple[str, ...]):
    obj = object.__new__(cls)
    for k, v in state.items():
        v = MappingProxyType({n: _read_only(x) for n, x in v.items()}) if k in proxies else _read_only(v)
        object.__setattr__(obj, k, v)
    return obj


def read_only(a, dtype=None) -> np.ndarray:
    """A read-only copy of ``a`` (``dtype``: convert, e.g. ``float``; None keeps the dtype):
    results, event matrices and images cannot be changed after the fact."""
    a = np.array(a, dtype=dtype, copy=True)
    a.setflags(write=False)
    return a
