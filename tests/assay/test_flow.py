"""Flow cytometry: FCS reading against independent references, gates with known counts, ploidy.

References: (1) first event rows of two MACSQuant files as published in fcsparser's test
suite (an independent FCS parser; files and values MIT-licensed, see data/README.md);
(2) FCS 3.1 files written here by a minimal struct-based writer (big-endian float32,
independent of FlowIO) with a known number of events placed in each gate region;
(3) simulated DNA-content data with known ploidy-class fractions.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from moasim.assay.flow import (
    PolygonGate, QuadrantGate, RectangleGate, apply_gates, arcsinh, compensate, fit_ploidy, gating_strategy_from_dict,
    logicle, megakaryocyte_panel, positivity_thresholds, read_fcs, transform, write_fcs,
)
from moasim.cli.main import main
from moasim.errors import DataError, MoasimError, SpecError

FCS = Path(__file__).parent / "data" / "fcs"

# Reference arrays copied from fcsparser 0.2.8, fcsparser/tests/test_fcs_reader.py (MIT).
MQ20_FIRST_ROWS = np.array([[1.60764902830123901367e-03, 1.46554875373840332031e+00,
                        2.03116130828857421875e+00, 3.60766235351562500000e+02,
                        1.57965099811553955078e+00, 1.90790867805480957031e+00,
                        4.13974487304687500000e+02, -3.39318931102752685547e-01,
                        7.84086048603057861328e-01, -2.16378631591796875000e+02,
                        2.23477900028228759766e-01, 5.51754534244537353516e-01,
                        2.02515670776367187500e+02, -2.45075762271881103516e-01,
                        7.51648128032684326172e-01, -1.64115936279296875000e+02],
                       [1.73421576619148254395e-03, 2.02872133255004882812e+00,
                        1.45744156837463378906e+00, 6.95987243652343750000e+02,
                        2.53075432777404785156e+00, 2.87364006042480468750e+00,
                        4.40339477539062500000e+02, -4.55530643463134765625e-01,
                        5.64715683460235595703e-01, -4.03327392578125000000e+02,
                        4.40459489822387695312e-01, 6.26768946647644042969e-01,
                        3.51373107910156250000e+02, 9.75054726004600524902e-02,
                        8.04706454277038574219e-01, 5.41634635925292968750e+01],
                       [2.33519822359085083008e-03, 1.64427363872528076172e+00,
                        1.39029204845428466797e+00, 5.91341064453125000000e+02,
                        3.27396273612976074219e+00, 3.31171727180480957031e+00,
                        4.94299865722656250000e+02, 6.40093326568603515625e-01,
                        8.14603626728057861328e-01, 3.92886383056640625000e+02,
                        -5.28994854539632797241e-03, 2.77096331119537353516e-01,
                        -9.54532432556152343750e+00, 9.36367154121398925781e-01,
                        1.11724865436553955078e+00, 4.18674407958984375000e+02],
                       [3.37790674529969692230e-03, 1.01516211032867431641e+00,
                        1.84805572032928466797e+00, 2.74656768798828125000e+02,
                        1.72263097763061523438e+00, 1.75532078742980957031e+00,
                        4.90688354492187500000e+02, -2.24935024976730346680e-01,
                        6.62015736103057861328e-01, -1.69886459350585937500e+02,
                        5.19020110368728637695e-02, 3.99166643619537353516e-01,
                        6.50129623413085937500e+01, 3.03109139204025268555e-01,
                        8.76159846782684326172e-01, 1.67871810913085937500e+02]])

MQ31_FIRST_ROWS = np.array([
            [1.2572854e-05, 3.3333333e-04, 3.3333333e-04, 8.3999999e-02, 6.2567286e-02,
             2.0574589e+00, 1.5204989e+01, 2.6814053e+00, 3.0260124e+00, 4.4305920e+02,
             2.6206520e-01, 1.0939966e+00, 1.1977422e+02, 2.3151575e-01, 5.0724781e-01,
             2.2820773e+02, -4.5996591e-01, 3.7070319e-01, -5.7914429e+02],
            [4.7575682e-03, 6.6666666e-04, 6.6666666e-04, 8.3999999e-02, 1.6067501e+00,
             2.2405643e+00, 3.5855927e+02, 1.9021651e+00, 1.9273795e+00, 4.9345886e+02,
             1.3695779e-01, 8.0407977e-01, 8.5164307e+01, 5.2790873e-02, 5.0724781e-01,
             5.2036572e+01, 5.7199156e-01, 6.8167728e-01, 4.1184045e+02]])


def fcs_bytes(events, names, markers=None, extra=None, version="FCS3.1", byteorder=">", nextdata=0):
    """Minimal FCS writer (list mode, float32): HEADER + TEXT + DATA, offsets per FCS 3.1 sec. 3."""
    ev = np.asarray(events, dtype=np.float32)
    n, p = ev.shape
    data = ev.astype(byteorder + "f4").tobytes()
    kw = {"$BYTEORD": "4,3,2,1" if byteorder == ">" else "1,2,3,4", "$DATATYPE": "F", "$MODE": "L", "$NEXTDATA": f"{nextdata:010d}",
          "$PAR": str(p), "$TOT": str(n)}
    for i, nm in enumerate(names, 1):
        kw.update({f"$P{i}N": nm, f"$P{i}B": "32", f"$P{i}E": "0,0", f"$P{i}R": "262144"})
        if markers:
            kw[f"$P{i}S"] = markers[i - 1]
    kw.update(extra or {})

    def text(begin, end):
        kw2 = dict(kw, **{"$BEGINDATA": str(begin), "$ENDDATA": str(end), "$BEGINANALYSIS": "0", "$ENDANALYSIS": "0",
                          "$BEGINSTEXT": "0", "$ENDSTEXT": "0"})
        return ("|" + "|".join(f"{k}|{v}" for k, v in kw2.items()) + "|").encode("ascii")

    t = text(0, 0)
    for _ in range(3):  # offsets change the TEXT length: iterate to a fixed point
        begin = 58 + len(t)
        t = text(begin, begin + len(data) - 1)
    header = version.encode() + b"    " + b"".join(f"{v:>8}".encode() for v in (58, 58 + len(t) - 1, begin, begin + len(data) - 1, 0, 0))
    return header + t + data


def write_fcs_independent(path, events, names, markers=None, extra=None, version="FCS3.1", byteorder=">"):
    Path(path).write_bytes(fcs_bytes(events, names, markers, extra, version, byteorder))


# ----------------------------------------------------------------------------- reading


@pytest.mark.reference
def test_macsquant_fcs20_and_fcs31_match_independent_parser_values():
    s20 = read_fcs(FCS / "miltenyi_fcs2.0.fcs")
    assert s20.version == "2.0" and s20.n_events == 10000
    np.testing.assert_array_almost_equal(s20.events[:4], MQ20_FIRST_ROWS, decimal=4)
    s31 = read_fcs(FCS / "miltenyi_fcs3.1.fcs")  # $BEGINDATA off by one in the file: corrected
    assert s31.version == "3.1"
    np.testing.assert_array_almost_equal(s31.events[:2], MQ31_FIRST_ROWS, decimal=4)


def test_real_instrument_file_reads():
    s = read_fcs(FCS / "cyflow_cube_8.fcs")
    assert s.version == "3.0" and s.n_events == 725 and s.channels[:2] == ("FSC", "SSC")
    assert s.to_frame().shape == (725, 10)


@pytest.mark.parametrize("content", [b"", b"FCS3.1", b"NOTFCS" + b" " * 100, b"FCS3.0    " + b"x" * 60])
def test_malformed_fcs_raise_data_error(tmp_path, content):
    f = tmp_path / "bad.fcs"
    f.write_bytes(content)
    with pytest.raises(DataError):
        read_fcs(f)


def test_corrupted_example_raises_data_error():
    with pytest.raises(DataError):
        read_fcs(FCS / "corrupted.fcs")


def test_truncated_data_segment(tmp_path):
    f = tmp_path / "t.fcs"
    write_fcs_independent(f, np.ones((100, 2)), ["A", "B"])
    f.write_bytes(f.read_bytes()[:-200])
    with pytest.raises(MoasimError):
        read_fcs(f)


# ----------------------------------------------------------------------------- gates with known counts


def _known_events(rng):
    """Events with known membership: counts per quadrant of (CD41, CD42b) split at (1000, 1000)."""
    blocks = {"++": (500, (2000, 5000), (2000, 5000)), "+-": (300, (2000, 5000), (0, 500)),
              "-+": (120, (0, 500), (2000, 5000)), "--": (80, (0, 500), (0, 500))}
    rows = []
    for _, (n, (x0, x1), (y0, y1)) in blocks.items():
        rows.append(np.column_stack([rng.uniform(x0, x1, n), rng.uniform(y0, y1, n), rng.uniform(100, 200, n)]))
    ev = np.vstack(rows)
    # exact boundary values (float32-representable): rectangle min inclusive, max exclusive
    edge = np.array([[1000.0, 1000.0, 150.0], [6000.0, 1000.0, 150.0]])
    return np.vstack([ev, edge]), {k: v[0] for k, v in blocks.items()}


@pytest.mark.reference
@pytest.mark.parametrize("byteorder", [">", "<"])
def test_independent_writer_known_gate_counts(tmp_path, byteorder):
    rng = np.random.default_rng(0)
    ev, n = _known_events(rng)
    f = tmp_path / "mk.fcs"
    write_fcs_independent(f, ev, ["FL1-A", "FL2-A", "FL3-A"], ["CD41", "CD42b", "PI"], byteorder=byteorder)
    s = read_fcs(f)
    assert s.n_events == 1002 and s.markers == ("CD41", "CD42b", "PI")
    q = QuadrantGate(name="Q", dimensions=("CD41", "CD42b"), split=(1000.0, 1000.0))
    rect = RectangleGate(name="CD41hi", dimensions=("CD41",), min=(1000.0,), max=(6000.0,))
    poly = PolygonGate(name="tri", dimensions=("CD41", "CD42b"), vertices=((1500, 1500), (5500, 1500), (5500, 5500), (1500, 5500)))
    r = apply_gates(s, [q, rect, poly])
    assert r.counts["Q:CD41+CD42b+"] == n["++"] + 2  # both edge events (split value is +) are ++
    assert r.counts["Q:CD41+CD42b-"] == n["+-"]
    assert r.counts["Q:CD41-CD42b+"] == n["-+"]
    assert r.counts["Q:CD41-CD42b-"] == n["--"]
    assert r.counts["CD41hi"] == n["++"] + n["+-"] + 1  # min inclusive (1000), max exclusive (6000)
    assert r.counts["tri"] == n["++"]


def test_gating_hierarchy_from_dict_and_percentages(tmp_path):
    rng = np.random.default_rng(1)
    ev, n = _known_events(rng)
    f = tmp_path / "mk.fcs"
    write_fcs_independent(f, ev[:-2], ["FL1-A", "FL2-A", "FL3-A"], ["CD41", "CD42b", "PI"])
    s = read_fcs(f)
    strat = gating_strategy_from_dict(json.loads(json.dumps({"gates": [
        {"type": "rectangle", "name": "cd41pos", "dimensions": ["CD41"], "min": [1000], "max": [None]},
        {"type": "quadrant", "name": "mk", "parent": "cd41pos", "dimensions": ["CD41", "CD42b"], "split": [1000, 1000]},
    ]})))
    r = apply_gates(s, strat)
    assert r.counts["cd41pos"] == n["++"] + n["+-"]
    assert r.percent_of_parent("mk:CD41+CD42b+") == pytest.approx(100 * n["++"] / (n["++"] + n["+-"]))
    assert r.counts["mk:CD41-CD42b+"] == 0
    tab = r.to_frame()
    assert set(tab.columns) >= {"population", "count", "percent_of_parent", "percent_of_total"}


@pytest.mark.parametrize("bad", [
    {"gates": []},
    {"gates": [{"type": "ellipse", "name": "a", "dimensions": ["A"]}]},
    {"gates": [{"type": "rectangle", "name": "a", "dimensions": ["A"], "min": [1, 2], "max": [None]}]},
    {"gates": [{"type": "polygon", "name": "a", "dimensions": ["A", "B"], "vertices": [[0, 0], [1, 1]]}]},
    {"gates": [{"type": "rectangle", "name": "a", "parent": "nope", "dimensions": ["A"], "min": [0], "max": [1]}]},
    {"gates": [{"type": "quadrant", "name": "a", "dimensions": ["A", "B"], "split": ["x", 1]}]},
    # a misspelt key was ignored (the gate then had no parent), and min > max gated nothing
    {"gates": [{"type": "rectangle", "name": "a", "parnet": "cells", "dimensions": ["A"], "min": [0], "max": [1]}]},
    {"gates": [{"type": "polygon", "name": "a", "dimensions": ["A", "B"], "vertices": [[0, 0], [1, 0], [1, 1]], "colour": "red"}]},
    {"gates": [{"type": "rectangle", "name": "a", "dimensions": ["A", "B"], "min": [30000, 5000], "max": [10, None]}]},
])
def test_bad_gating_specs(bad):
    with pytest.raises(SpecError):
        gating_strategy_from_dict(bad)


def test_megakaryocyte_panel_known_fractions(tmp_path):
    rng = np.random.default_rng(2)
    n = 4000
    cd41 = rng.random(n) < 0.6
    cd61 = cd41 & (rng.random(n) < 0.9)
    cd42b = cd41 & (rng.random(n) < 0.5)
    ev = np.column_stack([np.where(m, rng.uniform(3000, 9000, n), rng.uniform(-200, 300, n)) for m in (cd41, cd61, cd42b)])
    f = tmp_path / "mk.fcs"
    write_fcs_independent(f, ev, ["FL1-A", "FL2-A", "FL4-A"], ["CD41", "CD61", "CD42b"])
    s = read_fcs(f)
    p = megakaryocyte_panel(s, {"CD41": 1000, "CD61": 1000, "CD42b": 1000})
    assert p.percent_positive["CD41+"] == pytest.approx(100 * cd41.mean())
    assert p.percent_positive["CD61+"] == pytest.approx(100 * cd61.mean())
    assert p.percent_positive["CD41+CD61+"] == pytest.approx(100 * (cd41 & cd61).mean())
    assert p.counts["CD41+CD42b+"] == int((cd41 & cd42b).sum())
    ctrl = positivity_thresholds(s, ["CD41"], quantile=0.3)
    assert ctrl["CD41"] < 1000


# ----------------------------------------------------------------------------- transforms and compensation


def test_arcsinh_and_logicle_reference_values():
    assert arcsinh([150.0, 0.0], cofactor=150) == pytest.approx([np.arcsinh(1.0), 0.0])
    # Logicle (Parks 2006): with T=262144, M=4.5, W=0.5, A=0, x=T maps to 1 and is monotone,
    # symmetric about zero in the linear region: S(-x) = -S(x) around the zero point.
    y = logicle(np.array([-1000.0, 0.0, 1000.0, 262144.0]))
    assert y[3] == pytest.approx(1.0, abs=1e-6)
    zero = y[1]
    assert zero == pytest.approx(0.5 / 4.5, abs=1e-9)  # W / M: display position of 0
    assert (y[2] - zero) == pytest.approx(zero - y[0], rel=1e-6)
    assert np.all(np.diff(logicle(np.linspace(-500, 1e5, 200))) > 0)


def test_compensation_recovers_true_signal(tmp_path):
    rng = np.random.default_rng(3)
    true = rng.uniform(0, 5000, size=(500, 2))
    S = np.array([[1.0, 0.15], [0.05, 1.0]])  # row: detector spilling into column
    obs = true @ S
    spill = "2,FL1-A,FL2-A," + ",".join(f"{v:g}" for v in S.ravel())
    f = tmp_path / "c.fcs"
    write_fcs_independent(f, obs, ["FL1-A", "FL2-A"], extra={"$SPILLOVER": spill})
    s = compensate(read_fcs(f))
    np.testing.assert_allclose(s.events, true, rtol=1e-4, atol=1e-2)
    t = transform(s, ["FL1-A"], "arcsinh", cofactor=150)
    assert t.transforms["FL1-A"] == "arcsinh"
    with pytest.raises(SpecError):
        transform(s, ["FL1-A"], "log9")


# ----------------------------------------------------------------------------- ploidy


@pytest.mark.reference
def test_ploidy_fractions_recovered(tmp_path):
    rng = np.random.default_rng(4)
    frac = np.array([0.35, 0.30, 0.18, 0.10, 0.05, 0.02])
    n = 30000
    k = rng.choice(6, n, p=frac)
    pi = rng.normal(800 * 2.0**k, 0.06 * 800 * 2.0**k)
    debris = rng.uniform(50, 60000, 600)
    ev = np.r_[pi, debris][:, None]
    f = tmp_path / "pi.fcs"
    write_fcs_independent(f, ev, ["FL3-A"], ["PI"])
    r = fit_ploidy(read_fcs(f), "PI")
    assert r.mu_2n == pytest.approx(800, rel=0.01)
    assert r.cv == pytest.approx(0.06, rel=0.05)
    got = np.array([r.fractions[c] for c in ("2N", "4N", "8N", "16N", "32N", "64N")])
    np.testing.assert_allclose(got, frac, atol=0.01)
    assert r.background_fraction == pytest.approx(600 / (n + 600), abs=0.01)


# ----------------------------------------------------------------------------- CLI


def _cli_file(tmp_path):
    rng = np.random.default_rng(5)
    n = 3000
    cd41 = rng.random(n) < 0.5
    k = rng.choice(4, n, p=[0.4, 0.3, 0.2, 0.1])
    ev = np.column_stack([np.where(cd41, rng.uniform(3000, 9000, n), rng.uniform(-100, 300, n)),
                          np.where(cd41 & (rng.random(n) < 0.5), 5000.0, 10.0),
                          rng.normal(1000 * 2.0**k, 50 * 2.0**k)])
    f = tmp_path / "mk.fcs"
    write_fcs(f, ev, ["FL1-A", "FL2-A", "FL3-A"], ["CD41", "CD42b", "PI"])
    return f, cd41


def test_cli_flow_json(tmp_path, capsys):
    f, cd41 = _cli_file(tmp_path)
    gates = tmp_path / "gates.json"
    gates.write_text(json.dumps({"gates": [{"type": "quadrant", "name": "mk", "dimensions": ["CD41", "CD42b"], "split": [1000, 1000]}]}))
    png = tmp_path / "flow.png"
    rc = main(["flow", str(f), "--gates", str(gates), "--threshold", "CD41=1000", "--threshold", "CD42b=1000",
               "--ploidy", "PI", "--plot", str(png), "--json"])
    assert rc == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["n_events"] == 3000
    assert obj["panel"]["percent_positive"]["CD41+"] == pytest.approx(100 * cd41.mean())
    assert "mk:CD41+CD42b+" in obj["gates"]["populations"]
    assert set(obj["ploidy"]["fractions"]) >= {"2N", "4N"}
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_cli_flow_human_and_errors(tmp_path, capsys):
    f, _ = _cli_file(tmp_path)
    assert main(["flow", str(f)]) == 0
    assert "FL1-A" in capsys.readouterr().out
    bad = tmp_path / "bad.fcs"
    bad.write_bytes(b"garbage")
    assert main(["flow", str(bad), "--json"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("moasim: error:") and err.count("\n") == 1
    assert main(["flow", str(f), "--threshold", "CD99=5"]) == 2
    assert main(["flow", str(f), "--threshold", "CD41"]) == 2


GATINGML = """<?xml version="1.0" encoding="UTF-8"?>
<gating:Gating-ML xmlns:gating="http://www.isac-net.org/std/Gating-ML/v2.0/gating"
                  xmlns:data-type="http://www.isac-net.org/std/Gating-ML/v2.0/datatypes">
  <gating:PolygonGate gating:id="mk" gating:parent_id="cd41pos">
    <gating:dimension><data-type:fcs-dimension data-type:name="FL1-A"/></gating:dimension>
    <gating:dimension><data-type:fcs-dimension data-type:name="FL2-A"/></gating:dimension>
    <gating:vertex><gating:coordinate data-type:value="1500"/><gating:coordinate data-type:value="1500"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="5500"/><gating:coordinate data-type:value="1500"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="5500"/><gating:coordinate data-type:value="5500"/></gating:vertex>
    <gating:vertex><gating:coordinate data-type:value="1500"/><gating:coordinate data-type:value="5500"/></gating:vertex>
  </gating:PolygonGate>
  <gating:RectangleGate gating:id="cd41pos">
    <gating:dimension gating:min="1000"><data-type:fcs-dimension data-type:name="FL1-A"/></gating:dimension>
  </gating:RectangleGate>
</gating:Gating-ML>
"""


def test_gatingml_rectangle_and_polygon(tmp_path, capsys):
    from moasim.assay.flow import read_gatingml

    rng = np.random.default_rng(6)
    ev, n = _known_events(rng)
    f = tmp_path / "mk.fcs"
    write_fcs_independent(f, ev[:-2], ["FL1-A", "FL2-A", "FL3-A"], ["CD41", "CD42b", "PI"])
    xml = tmp_path / "gates.xml"
    xml.write_text(GATINGML)
    strat = read_gatingml(xml)
    assert [g.name for g in strat.gates] == ["cd41pos", "mk"]
    r = apply_gates(read_fcs(f), strat)
    assert r.counts["cd41pos"] == n["++"] + n["+-"] and r.counts["mk"] == n["++"]
    assert main(["flow", str(f), "--gates", str(xml), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["gates"]["populations"]["mk"]["count"] == n["++"]
    bad = tmp_path / "bad.xml"
    bad.write_text(GATINGML.replace("RectangleGate", "EllipsoidGate"))
    with pytest.raises(SpecError):
        read_gatingml(bad)
    bad.write_text("<not-xml")
    with pytest.raises(DataError):
        read_gatingml(bad)


def test_multiple_data_sets(tmp_path):
    a, b = np.full((30, 2), 1.0), np.full((50, 2), 2.0)
    first = fcs_bytes(a, ["A", "B"], nextdata=0)
    first = fcs_bytes(a, ["A", "B"], nextdata=len(first))  # fixed-width $NEXTDATA: same length
    f = tmp_path / "multi.fcs"
    f.write_bytes(first + fcs_bytes(b, ["A", "B"]))
    s0, s1 = read_fcs(f, dataset=0), read_fcs(f, dataset=1)
    assert (s0.n_events, s1.n_events) == (30, 50) and s1.events[0, 0] == 2.0
    with pytest.raises(SpecError):
        read_fcs(f, dataset=2)


def test_logicle_top_of_scale_defaults_to_channel_range(tmp_path):
    f = tmp_path / "r.fcs"
    write_fcs_independent(f, np.array([[1024.0, 1024.0], [0.0, 0.0]]), ["A", "B"], extra={"$P1R": "1024"})
    t = transform(read_fcs(f), ["A", "B"], "logicle")
    assert t.column("A")[0] == pytest.approx(1.0, abs=1e-6)  # $P1R = 1024 -> T = 1024
    assert t.column("B")[0] == pytest.approx(logicle(np.array([1024.0]), T=262144.0)[0])  # $P2R = 262144
