"""FCS 2.0/3.0/3.1 reading: FlowIO parses and decodes; moasim adapts what it gets wrong.

FlowIO (White et al. 2021) reads a data set (``FlowData(..., nextdata_offset=...)``: HEADER,
TEXT, DATA, integers masked to $PnR, an end offset one byte past the DATA with
``ignore_offset_error``) and decodes it (``as_array(preprocess=True)``: $PnE = f1,f2, f1 > 0
to ``f2 * 10**(f1 * x / $PnR)``, f2 = 0 read as 1, FCS 3.1 sec. 3.2; linear / $PnG; time x
$TIMESTEP). Adapters, each checked against FlowIO 1.4 in ``tests/assay/test_fcs_files.py``:

1. Empty values (FCS 2.0, Dean et al. 1990, TEXT ``/$SRC//$FIL/``; FCS 3.1 sec. 3.2 forbids
   them): FlowIO reads every doubled delimiter as an escaped one and shifts the keywords after
   it (``KeyError 'tot'``). :func:`_prepare` tokenizes the TEXT (:func:`parse_text`), cuts each
   empty pair out of an in-memory copy and pads the TEXT after its last delimiter with as many
   blanks: same length, so all offsets hold; FlowIO ignores the blank tail and sees the keyword
   absent (default $PnG 1, $PnE 0,0, $PnS ''). An empty FCS 2.0 $TOT becomes ``TOT<d>0<d>``
   (same length: FlowIO drops every '$'); the DATA length gives the count. A keyword the DATA
   need, empty or missing, is an error naming it (:func:`_check`).
2. Data sets (FCS 3.1 sec. 3.2, $NEXTDATA, counted from the data set's first byte): _chain
   follows it, preparing each TEXT; FlowIO reads the one asked for (``read_multiple_data_sets``
   fails on in-memory files: FlowIO closes the handle after the first data set).
3. FlowIO's silent choices: an off-by-one end offset or a HEADER/TEXT discrepancy becomes a
   note; a $BYTEORD it would read as native, $MODE not L, $DATATYPE A are refused; events
   beyond $TOT are dropped, fewer are an error.
4. FCS 3.1 sec. 3.2 ($PnG, $PnE): gain is for linear amplification, F/D data have $PnE 0,0;
   FlowIO applies both anyway, so its channel table is corrected first (as flowCore's
   ``linearize-with-PnG-scaling``), the second with a note.
5. Top of scale after decoding, for logicle's T (FlowIO keeps $PnR): ``f2 * 10**f1`` (log),
   ``$PnR / $PnG`` (linear), ``$PnR * $TIMESTEP`` (time).

Unsupported, as in FlowIO: ASCII data, 64-bit integers, other byte orders than 1,2,3,4 and
4,3,2,1 (ascending ones pass on little-endian machines).
"""

from __future__ import annotations

import io
import math
import re
import sys
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import flowio
import numpy as np

__all__ = ["FCSFormatError", "DataSetIndexError", "FCSChannel", "FCSData", "read", "parse_text"]

_MAGIC = re.compile(rb"FCS[23]\.[01]")


class FCSFormatError(ValueError):
    """The file cannot be read as FCS; the message says why (one line)."""


class DataSetIndexError(IndexError):
    def __init__(self, index: int, n: int):
        super().__init__(f"data set {index} requested; the file holds {n}")
        self.index, self.n = index, n


@dataclass(frozen=True, slots=True)
class FCSChannel:
    name: str  # $PnN
    marker: str  # $PnS ('' when absent)
    top: float  # top of scale of the decoded values (5)


@dataclass(frozen=True, slots=True)
class FCSData:
    version: str
    keywords: dict[str, str]  # FlowIO's TEXT keywords (lower case, no '$'), empty values restored as ''
    channels: tuple[FCSChannel, ...]
    events: np.ndarray  # events x channels, float64, decoded by FlowIO
    dataset: int
    n_datasets: int
    notes: tuple[str, ...] = field(default=())


def _pairs(raw: bytes) -> list[tuple[bytes, bytes, int, int]]:
    """(keyword, value, start, stop) of each pair of a TEXT segment, ``raw[start:stop]`` its bytes."""
    d, out, key, buf, pos, start = raw[:1], [], None, b"", 1, 1
    for m in re.compile(re.escape(d) + b"+").finditer(raw, 1) if d else ():
        n, buf, pos = m.end() - m.start(), buf + raw[pos: m.start()], m.end()
        if key is None:
            if not buf.strip():  # nothing where a keyword should be: skip
                buf, start = b"", pos
            elif n % 2 == 0:
                out.append((buf.strip(), d * ((n - 2) // 2), start, pos))
                buf, start = b"", pos
            else:
                key, buf = buf.strip(), d * ((n - 1) // 2)
        else:
            buf += d * (n // 2)
            if n % 2:
                out.append((key, buf, start, pos))
                key, buf, start = None, b"", pos
    if key is not None:  # TEXT ends without its final delimiter
        out.append((key, (buf + raw[pos:]).rstrip(b"\x00"), start, len(raw)))
    return out


def _codec(raw: bytes) -> str:
    try:  # as FlowIO: UTF-8, else Latin-1
        raw.decode("utf-8")
    except UnicodeDecodeError:
        return "latin-1"
    return "utf-8"


def parse_text(raw: bytes) -> dict[str, str]:
    """Keyword -> value pairs of a TEXT segment (keyword names upper-cased, values as written).

    The first byte is the delimiter. A run of ``n`` delimiters after a keyword ends the keyword:
    for even ``n`` it also ends a value of ``(n - 2) / 2`` delimiters (``n = 2``: an empty value,
    FCS 2.0), for odd ``n`` the value starts with ``(n - 1) / 2`` delimiters. Inside a value an
    even run is ``n / 2`` escaped delimiters, an odd run ``(n - 1) / 2`` of them and the end.
    """
    c = _codec(raw)
    return {k.decode(c).upper(): v.decode(c) for k, v, _, _ in _pairs(raw)}


def _prepare(buf: bytearray, off: int) -> tuple[str, dict[str, str], list[str]]:
    """Version, keywords and empty keywords of the data set at ``off``; its TEXT rewritten in place (1)."""
    head = bytes(buf[off: off + 58])
    if len(head) < 58 or not _MAGIC.fullmatch(head[:6]):
        raise FCSFormatError(f"no FCS2.0/3.0/3.1 HEADER at byte {off} (it starts {head[:6]!r})")
    t0, t1 = (int(v) if v.strip().isdigit() else -1 for v in (head[10:18], head[18:26]))
    if not 58 <= t0 < t1 < len(buf) - off:
        raise FCSFormatError(f"HEADER TEXT offsets {head[10:26].decode('latin-1')!r} lie outside the file")
    text = bytes(buf[off + t0: off + t1 + 1])
    c, d, pairs = _codec(text), text[:1], _pairs(text)
    new, pos, empty = bytearray(), 0, []
    for key, val, s, e in pairs:
        if not val and text[e - 2: e] == d * 2:  # KEY<d><d>: an empty value
            new += text[pos:s] + (text[s: e - 2].replace(b"$", b"", 1) + d + b"0" + d if key.upper() == b"$TOT" else b"")
            pos = e
            empty.append(key.decode(c).upper())
    if empty:
        new += text[pos:]
        buf[off + t0: off + t1 + 1] = new + b" " * (len(text) - len(new))
    return head[3:6].decode(), {k.decode(c).upper(): v.decode(c) for k, v, _, _ in pairs}, empty


def _chain(buf: bytearray) -> tuple[list[tuple[int, str, dict[str, str], list[str]]], list[str]]:
    """Offset, version, keywords and empty keywords of each data set, following $NEXTDATA (2)."""
    sets, notes, off = [], [], 0
    while True:  # ends: each $NEXTDATA moves forward, and no HEADER lies past the end of the file
        try:
            sets.append((off, *_prepare(buf, off)))
        except FCSFormatError as exc:
            if not sets:
                raise
            notes.append(f"$NEXTDATA of data set {len(sets) - 1}: {exc}; no further data sets read")
            break
        nxt = sets[-1][2].get("$NEXTDATA", "").strip() or "0"
        if not nxt.isdigit():
            notes.append(f"$NEXTDATA {nxt[:20]!r} of data set {len(sets) - 1} is not a number; no further data sets read")
        if not nxt.isdigit() or int(nxt) == 0:
            break
        off += int(nxt)
    return sets, notes


def _need(kw: dict[str, str], name: str) -> str:
    v = kw.get(name)
    if v is None or not v.strip():
        raise FCSFormatError(f"keyword {name} is {'missing' if v is None else 'empty'} (needed to read the DATA segment)")
    return v.strip()


def _check(kw: dict[str, str], version: str) -> None:
    """Name the keywords FlowIO needs but lacks; refuse what it would misread (1, 3)."""
    for name in ("$PAR", "$DATATYPE", "$BYTEORD", "$MODE") + (("$BEGINDATA", "$ENDDATA") if version != "2.0" else ()):
        _need(kw, name)
    if "$TOT" not in kw or version != "2.0":  # an empty FCS 2.0 $TOT was rewritten by _prepare
        _need(kw, "$TOT")
    p = int(kw["$PAR"]) if kw["$PAR"].strip().isdigit() else 0
    dtype, mode = kw["$DATATYPE"].strip().upper(), kw["$MODE"].strip().upper()
    if p == 0 or mode != "L" or dtype not in ("I", "F", "D"):
        raise FCSFormatError(f"$PAR {kw['$PAR'][:9]!r}, $MODE {mode[:5]!r}, $DATATYPE {dtype[:5]!r}: "
                             "only list mode (L) of 1 or more I, F or D parameters is supported")
    bits = {_need(kw, f"$P{i}B") if dtype == "I" else "" for i in range(1, p + 1)}
    for name in (f"$P{i}{x}" for i in range(1, p + 1) for x in "NR"):  # FlowIO needs both of every parameter
        _need(kw, name)
    order = kw["$BYTEORD"]
    if order not in ("1,2,3,4", "1,2", "4,3,2,1", "2,1") and bits != {"8"}:  # FlowIO would read native order
        digits = re.findall(r"\d+", order)
        if digits != [str(i) for i in range(1, len(digits) + 1)] or sys.byteorder != "little":
            raise FCSFormatError(f"keyword $BYTEORD = {order.strip()[:20]!r}: byte order not supported")


def _channels(fd, notes: list[str]) -> tuple[FCSChannel, ...]:
    """Correct FlowIO's channel table before it decodes (4); the decoded top of scale (5)."""
    ts = fd.text.get("timestep", "").strip()
    timestep = float(ts) if ts and fd.time_index is not None else 1.0
    out = []
    for n in range(1, fd.channel_count + 1):
        ch = fd.channels[n]
        f1, f2 = ch["pne"]
        if f1 > 0 and fd.data_type.upper() in ("F", "D"):
            notes.append(f"$P{n}E = {f1:g},{f2:g} on floating-point data (FCS 3.1: 0,0); values taken as linear")
            ch["pne"] = f1, f2 = 0.0, 0.0
        if f1 > 0:
            ch["png"] = 1.0
            top = f2 * 10.0 ** f1 if f1 < 300 else math.inf
        else:
            top = ch["pnr"] * (timestep if n - 1 == fd.time_index else 1.0) / (ch["png"] or 1.0)
        out.append(FCSChannel(ch["pnn"].strip(), (ch["pns"] or "").strip(), top))
    return tuple(out)


def _decode(buf: bytes, off: int, kw: dict[str, str], notes: list[str]):
    """FlowIO's reading and decoding of the data set at ``off``, its warnings as notes (3)."""
    with warnings.catch_warnings(record=True) as caught:  # FlowIO closes the handle: a new one per try
        warnings.simplefilter("always")
        try:
            fd = flowio.FlowData(io.BytesIO(buf), ignore_offset_error=True, nextdata_offset=off)
        except flowio.exceptions.DataOffsetDiscrepancyError:
            notes.append("DATA offsets in the HEADER and in $BEGINDATA/$ENDDATA differ; $BEGINDATA/$ENDDATA used")
            fd = flowio.FlowData(io.BytesIO(buf), ignore_offset_error=True, ignore_offset_discrepancy=True,
                                 nextdata_offset=off)
        chans = _channels(fd, notes)
        events = fd.as_array(preprocess=True)
    if any("incorrect data offset" in str(w.message) for w in caught):
        notes.append("DATA end offset 1 byte past the last event byte; corrected")
    tot = kw["$TOT"].strip()
    if not tot:
        notes.append(f"$TOT empty: {len(events)} events from the DATA segment's length")
    elif tot.isdigit() and len(events) < int(tot):
        raise FCSFormatError(f"DATA segment holds {len(events)} events; $TOT = {tot}")
    elif tot.isdigit() and len(events) > int(tot):
        notes.append(f"DATA segment holds {len(events) - int(tot)} events more than $TOT; the excess ignored")
        events = events[: int(tot)]
    return fd, chans, events


def read(path, dataset: int = 0) -> FCSData:
    """Decode data set ``dataset`` (0 = the first) of an FCS file.

    Raises :class:`FCSFormatError` (why, one line) or :class:`DataSetIndexError`.
    """
    buf = bytearray(Path(path).read_bytes())
    if len(buf) < 58:
        raise FCSFormatError("shorter than the 58-byte FCS header")
    sets, notes = _chain(buf)
    if not 0 <= dataset < len(sets):
        raise DataSetIndexError(dataset, len(sets))
    off, version, kw, empty = sets[dataset]
    where = f"data set {dataset} (FCS {version})" if len(sets) > 1 else f"FCS {version}"
    try:
        _check(kw, version)
        fd, chans, events = _decode(bytes(buf), off, kw, notes)
    except MemoryError:
        raise
    except Exception as exc:  # FlowIO raises many types on corrupt input
        msg = (str(exc).splitlines() or [""])[0][:100] or type(exc).__name__
        raise FCSFormatError(f"{where}: {msg}") from None
    if empty:
        notes.append("empty keyword values: " + ", ".join(empty[:8]) + (" ..." if len(empty) > 8 else ""))
    keywords = dict(fd.text, **{k.replace("$", "").lower(): "" for k in empty})
    return FCSData(version, keywords, chans, events, dataset, len(sets), tuple(notes))
