"""Flow-cytometry events: the :class:`FlowSample` and reading/writing FCS files.

FCS 2.0/3.0/3.1 files (any data set of multi-data-set files) are read and written by FlowIO
(White et al. 2021), through the thin adapters of :mod:`moasim.assay._fcs` for what it gets
wrong (empty FCS 2.0 keyword values, the decoded top of scale, ...).

References
----------
Spidlen J et al. (2010) Data File Standard for Flow Cytometry, version FCS 3.1. Cytometry A 77:97-100.
White S et al. (2021) FlowKit: a Python toolkit for integrated manual and automated cytometry
analysis workflows. Front Immunol 12:768541 (FlowIO, FlowUtils).
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import MappingProxyType

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, invalid_value, unknown_name
from .._frozen import read_only

__all__ = ["FlowSample", "read_fcs", "write_fcs"]


@dataclass(frozen=True, slots=True, kw_only=True)
class FlowSample:
    """Events of one FCS data set (immutable).

    ``channels`` are the $PnN short names, ``markers`` the $PnS stain labels (``''`` when
    absent); ``events`` is events x channels (float64, after $PnG/$PnE scaling); ``ranges``
    the top of scale of each channel on that decoded scale.
    """

    channels: tuple[str, ...]
    markers: tuple[str, ...]
    events: np.ndarray = field(repr=False)
    metadata: Mapping[str, str] = field(repr=False)
    version: str
    source: str = ""
    transforms: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    ranges: tuple[float, ...] = ()  # top of scale per channel after decoding ($PnE/$PnG), when known
    dataset: int = 0  # which data set of the file (0 = the first)
    n_datasets: int = 1  # how many data sets the file holds ($NEXTDATA chain)
    notes: tuple[str, ...] = ()  # repairs made while reading (offsets, empty keywords, ...)

    @property
    def n_events(self) -> int:
        return int(self.events.shape[0])

    def index(self, name: str) -> int:
        """Column of a channel, by $PnN name or $PnS marker (case-insensitive)."""
        for names in (self.channels, self.markers):
            for i, c in enumerate(names):
                if c == name:
                    return i
        low = name.lower()
        for names in (self.channels, self.markers):
            for i, c in enumerate(names):
                if c.lower() == low:
                    return i
        known = [c for c in self.channels] + [m for m in self.markers if m]
        raise SpecError(unknown_name("channel", name, known, self.source or "FCS file"))

    def column(self, name: str) -> np.ndarray:
        return self.events[:, self.index(name)]

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame(np.asarray(self.events), columns=list(self.channels))


def _fcs_error(path, why: str) -> DataError:
    return DataError(invalid_value("FCS file", str(path), f"a readable FCS 2.0/3.0/3.1 file ({why})"))


def read_fcs(path: str | os.PathLike, *, dataset: int = 0) -> FlowSample:
    """Read one data set of an FCS 2.0/3.0/3.1 list-mode file.

    FlowIO parses the file and decodes the values (:mod:`moasim.assay._fcs` adapts it):
    log-amplified integer channels ($PnE = f1,f2, f1 > 0) to ``f2 * 10**(f1 * x / $PnR)``,
    linear ones divided by $PnG, the time channel times $TIMESTEP. ``ranges`` holds each
    channel's top of scale *after* decoding (``f2 * 10**f1`` for log channels, ``$PnR / $PnG``
    for linear ones). Repairs of instrument quirks (an end offset one byte off, empty
    FCS 2.0 keyword values, an empty $TOT) apply to every data set and are listed in ``notes``.

    Parameters
    ----------
    path
        The ``.fcs`` (or ``.lmd``) file.
    dataset
        Index of the data set (0 = the first) in files that chain several with $NEXTDATA,
        e.g. Beckman Coulter LMD files (an FCS 2.0 and an FCS 3.0 copy of the events).
        ``n_datasets`` of the result says how many the file holds.

    Raises
    ------
    DataError
        Missing, truncated, corrupt or empty file; a keyword the DATA segment needs is
        missing or empty (the message names it).
    SpecError
        ``dataset`` outside ``0..n_datasets - 1``.
    """
    p = str(path)
    if isinstance(dataset, bool) or not isinstance(dataset, (int, np.integer)):
        raise SpecError(invalid_value("dataset", dataset, "a data set index 0, 1, ...", p))
    if not os.path.isfile(p):
        raise DataError(invalid_value("FCS file", p, "an existing readable file"))
    fd = _read_dataset(p, int(dataset))
    events = fd.events
    n_ch = len(fd.channels)
    if events.ndim != 2 or events.shape[1] != n_ch or n_ch == 0:
        raise _fcs_error(p, "event matrix does not match $PAR")
    if events.shape[0] == 0:
        raise _fcs_error(p, "no events")
    marks = tuple(c.marker for c in fd.channels)
    meta = dict(fd.keywords)  # FlowIO's names (lower case, '$' removed): metadata["spillover"]
    return FlowSample(channels=_unique_names(tuple(c.name for c in fd.channels)), markers=marks, events=read_only(events),
                      metadata=MappingProxyType(meta), version=fd.version, source=p,
                      ranges=tuple(float(c.top) for c in fd.channels), dataset=fd.dataset, n_datasets=fd.n_datasets,
                      notes=fd.notes)


def _read_dataset(p: str, dataset: int):
    """FlowIO's reading of data set ``dataset`` of ``p``; every failure as a one-line moasim error."""
    from . import _fcs

    try:
        return _fcs.read(p, dataset)
    except _fcs.DataSetIndexError as exc:
        raise SpecError(invalid_value("dataset", dataset, f"0..{exc.n - 1} (the file holds {exc.n} data "
                                      f"set{'s' if exc.n != 1 else ''})", p)) from None
    except _fcs.FCSFormatError as exc:
        raise _fcs_error(p, str(exc)) from None
    except (MemoryError, OSError) as exc:
        raise _fcs_error(p, f"{type(exc).__name__}: {str(exc)[:80]}") from None
    except Exception as exc:  # defensive: corrupt input must end in a DataError, never a traceback
        msg = (str(exc).splitlines() or [type(exc).__name__])[0][:100]
        raise _fcs_error(p, msg) from None


def _unique_names(chans: tuple[str, ...]) -> tuple[str, ...]:
    """$PnN names made unique (FCS 3.1 requires it; some instruments repeat them): ``FL1``, ``FL1_2``."""
    if len(set(chans)) == len(chans):
        return chans
    seen: dict[str, int] = {}
    uniq = []
    for c in chans:
        seen[c] = seen.get(c, 0) + 1
        uniq.append(c if seen[c] == 1 else f"{c}_{seen[c]}")
    return tuple(uniq)


def write_fcs(path: str | os.PathLike, events, channels: Sequence[str], markers: Sequence[str] | None = None,
              metadata: Mapping[str, str] | None = None) -> None:
    """Write events (events x channels) as an FCS 3.1 file (FlowIO writer, float32)."""
    import flowio

    ev = np.asarray(events, dtype=float)
    if ev.ndim != 2 or ev.shape[1] != len(channels):
        raise DataError(invalid_value("events", f"shape {ev.shape}", f"events x {len(channels)} channels"))
    with open(path, "wb") as fh:
        flowio.create_fcs(fh, ev.ravel().tolist(), list(channels), opt_channel_names=list(markers) if markers else None,
                          metadata_dict=dict(metadata or {}))
