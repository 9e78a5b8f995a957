"""Reading Gating-ML 2.0 files: rectangle and polygon gates into a :class:`GatingStrategy`.

References
----------
Spidlen J, Moore W, ISAC Data Standards Task Force, Brinkman RR (2015) ISAC's Gating-ML 2.0 data
exchange standard for gating description. Cytometry A 87:683-687.
"""

from __future__ import annotations

import os
from collections.abc import Sequence

from ..errors import DataError, SpecError, invalid_value, unknown_name
from ._flow_gates import Gate, GatingStrategy, PolygonGate, RectangleGate, _num

__all__ = ["read_gatingml"]

_GML = "http://www.isac-net.org/std/Gating-ML/v2.0/gating"
_GML_DT = "http://www.isac-net.org/std/Gating-ML/v2.0/datatypes"
_G, _DT = f"{{{_GML}}}", f"{{{_GML_DT}}}"  # ElementTree's namespace prefixes


def read_gatingml(path: str | os.PathLike) -> GatingStrategy:
    """Read RectangleGate and PolygonGate elements of a Gating-ML 2.0 file (Spidlen et al. 2015).

    Supported: ``gating:id``, ``gating:parent_id``, ``fcs-dimension`` names, ``min``/``max``
    bounds and polygon vertices, on untransformed, uncompensated (or file-compensated) data.
    Gates that refer to a Gating-ML transformation, or other gate types (ellipsoid, quadrant,
    boolean), raise :class:`SpecError` naming the element: apply transforms with
    :func:`~moasim.assay.flow.transform` and express those gates as data instead.
    """
    import xml.etree.ElementTree as ET

    p = str(path)
    if not os.path.isfile(p):
        raise DataError(invalid_value("Gating-ML file", p, "an existing readable file"))
    try:
        root = ET.parse(p).getroot()
    except (ET.ParseError, UnicodeDecodeError, ValueError) as exc:
        raise DataError(invalid_value("Gating-ML file", p, f"well-formed XML ({str(exc)[:80]})")) from None
    gates = []
    for el in root:
        tag = el.tag.replace(_G, "gating:")
        if tag.startswith("gating:") and tag.endswith("Gate"):
            gates.append(_gate(el, tag, p))
    if not gates:
        raise DataError(invalid_value("Gating-ML file", p, "at least one gating:RectangleGate or gating:PolygonGate"))
    return GatingStrategy(gates=_parents_first(gates))


def _gate(el, tag: str, p: str) -> Gate:
    """One ``gating:*Gate`` element (``tag`` with the ``gating:`` prefix) as a gate."""
    gid = el.get(_G + "id")
    if not gid:
        raise SpecError(invalid_value("Gating-ML gate id", "(missing)", "a gating:id on every gate", p))
    parent = el.get(_G + "parent_id")
    dims, los, his = _dimensions(el, gid)
    if tag == "gating:RectangleGate":
        return RectangleGate(name=gid, parent=parent, dimensions=tuple(dims), min=tuple(los), max=tuple(his))
    if tag == "gating:PolygonGate":
        verts = _vertices(el, gid)
        if len(dims) != 2 or len(verts) < 3:
            raise SpecError(invalid_value("Gating-ML polygon", f"{len(dims)} dimensions, {len(verts)} vertices",
                                          "2 dimensions and >= 3 vertices", f"gate {gid!r}"))
        return PolygonGate(name=gid, parent=parent, dimensions=(dims[0], dims[1]), vertices=tuple(verts))
    raise SpecError(invalid_value("Gating-ML gate type", tag, "gating:RectangleGate or gating:PolygonGate", f"gate {gid!r}"))


def _dimensions(el, gid: str) -> tuple[list, list, list]:
    """Channel names and ``min``/``max`` bounds (``None``: unbounded) of a gate's dimensions."""
    dims, los, his = [], [], []
    for d in el.findall(_G + "dimension"):
        if d.get(_G + "transformation-ref"):
            raise SpecError(invalid_value("Gating-ML transformation-ref", d.get(_G + "transformation-ref"),
                                          "gates on untransformed data (apply transforms with moasim)", f"gate {gid!r}"))
        fd = d.find(_DT + "fcs-dimension")
        if fd is None or not fd.get(_DT + "name"):
            raise SpecError(invalid_value("Gating-ML dimension", "(no fcs-dimension name)", "data-type:fcs-dimension with a name", f"gate {gid!r}"))
        dims.append(fd.get(_DT + "name"))
        los.append(_num(d.get(_G + "min"), "min"))
        his.append(_num(d.get(_G + "max"), "max"))
    return dims, los, his


def _vertices(el, gid: str) -> list[tuple[float, float]]:
    verts = []
    for v in el.findall(_G + "vertex"):
        cs = [_num(c.get(_DT + "value"), "vertex") for c in v.findall(_G + "coordinate")]
        if len(cs) != 2 or None in cs:
            raise SpecError(invalid_value("Gating-ML vertex", cs, "two coordinates", f"gate {gid!r}"))
        verts.append((cs[0], cs[1]))
    return verts


def _parents_first(gates: Sequence[Gate]) -> tuple[Gate, ...]:
    """Gates ordered so that each parent comes before its children (Gating-ML allows any order)."""
    ordered, placed = [], set()
    while len(ordered) < len(gates):
        progress = False
        for gt in gates:
            if gt.name not in placed and (gt.parent is None or gt.parent in placed):
                ordered.append(gt)
                placed.add(gt.name)
                progress = True
        if not progress:
            bad = next(gt for gt in gates if gt.name not in placed)
            raise SpecError(unknown_name("parent gate", str(bad.parent), sorted({gt.name for gt in gates}), f"gate {bad.name!r}"))
    return tuple(ordered)
