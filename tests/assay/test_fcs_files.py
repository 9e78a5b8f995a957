"""FCS reading on files made independently of moasim's reader: multi-data-set files,
log-amplified FCS 2.0 channels, FCS 2.0 empty keyword values, and a ploidy example; and
the FlowIO defects that moasim's adapters (``moasim.assay._fcs``) work around.

Independent sources:

* :func:`data_set` below builds FCS data sets byte by byte from the standards (FCS 2.0,
  Dean et al. 1990; FCS 3.0/3.1, Spidlen et al. 2010, sec. 3): a 58-byte HEADER of ASCII
  offsets counted from the data set's first byte, a TEXT segment (first byte the delimiter,
  a delimiter inside a keyword or value doubled, nothing between the delimiters of an empty
  FCS 2.0 value), a DATA segment, and ``$NEXTDATA`` (offset of the next data set from the
  start of this one). The expected values are computed here from the same standard
  (``f2 * 10**(f1 * x / $PnR)``, f2 = 0 read as 1; integers masked to the power of two >= $PnR;
  linear values / $PnG).
* ``data/fcs/flowio_data1.fcs``: a FACSCalibur FCS 2.0 file (log-amplified channels, empty
  keyword values) from the FlowIO repository (BSD 3-Clause; see data/README.md); its events
  are checked against FlowIO's parser and against a decoding of its raw bytes done here.
* ``examples/lab/ploidy.fcs``: written by FlowIO's writer from numpy data with exact
  2N..64N class counts (``examples/lab/make_ploidy_example.py``).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

import moasim
from moasim.assay._fcs import parse_text
from moasim.assay.flow import logicle, read_fcs, transform
from moasim.cli.main import main
from moasim.errors import DataError, SpecError

FCS = Path(__file__).parent / "data" / "fcs"
LAB = Path(__file__).resolve().parents[2] / "examples" / "lab"


# ----------------------------------------------------------------------------- an FCS writer from the standard


def _text(pairs, delim: str) -> bytes:
    out = delim
    for k, v in pairs:
        out += k.replace(delim, delim * 2) + delim + v.replace(delim, delim * 2) + delim
    return out.encode("latin-1")


def data_set(version: str, pairs, data: bytes, *, delim: str = "\\", text_at: int = 256, end_past: int = 0,
             data_keywords: bool = False, nextdata: int | None = None, blank_analysis: bool = False) -> bytes:
    """One data set: HEADER, blanks up to ``text_at``, TEXT, DATA (offsets from this data set's first byte).

    ``end_past``: the DATA end offset written that many bytes past the last data byte (the
    off-by-one of Coulter/MACSQuant files). ``data_keywords``: also write $BEGINDATA/$ENDDATA
    (FCS 3.x). ``nextdata``: write $NEXTDATA with this value (10 digits, so the TEXT length is fixed).
    """
    pairs = list(pairs)
    if nextdata is not None:
        pairs.append(("$NEXTDATA", f"{nextdata:010d}"))
    if data_keywords:
        pairs += [("$BEGINDATA", "0" * 10), ("$ENDDATA", "0" * 10)]
    n_text = len(_text(pairs, delim))
    begin = text_at + n_text
    end = begin + len(data) - 1 + end_past
    if data_keywords:
        pairs[-2:] = [("$BEGINDATA", f"{begin:010d}"), ("$ENDDATA", f"{end:010d}")]
    text = _text(pairs, delim)
    assert len(text) == n_text
    offsets = [text_at, text_at + n_text - 1, begin, end]
    header = version.encode() + b"    " + b"".join(f"{v:>8}".encode() for v in offsets)
    header += b" " * 16 if blank_analysis else b"       0       0"
    assert len(header) == 58
    return header + b" " * (text_at - 58) + text + data


def chain(*builders) -> bytes:
    """Data sets linked by $NEXTDATA; each builder maps a $NEXTDATA value to the data set's bytes."""
    parts = []
    for i, build in enumerate(builders):
        last = i == len(builders) - 1
        first = build(0)
        parts.append(first if last else build(len(first)))
    return b"".join(parts)


def _params(i, name, bits, rng, e="0,0", g=None, s=None):
    out = [(f"$P{i}N", name), (f"$P{i}B", str(bits)), (f"$P{i}E", e), (f"$P{i}R", str(rng))]
    if g is not None:
        out.append((f"$P{i}G", g))
    if s is not None:
        out.append((f"$P{i}S", s))
    return out


# ----------------------------------------------------------------------------- multiple data sets


def _lmd_like(tmp_path, end_past_second: int = 0):
    """A Coulter-LMD-like file: FCS 2.0 (16-bit, 10-bit values, HEADER end offset one byte past) + FCS 3.0 (float)."""
    rng = np.random.default_rng(11)
    n0, n1 = 400, 250
    raw = rng.integers(0, 1024, size=(n0, 3)).astype(np.uint16)
    junk = raw.copy()
    junk[::7, 0] |= 1 << 12  # bits above $PnR = 1024 must be masked off (FCS 3.1 sec. 3.3.27)
    set0 = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$PAR", "3"), ("$TOT", str(n0)),
            ("$CYT", "Cytomics FC 500"), ("$SRC", "")]
    set0 += _params(1, "FS Lin", 16, 1024, g="1.000000") + _params(2, "SS Lin", 16, 1024, g="2.000000")
    set0 += _params(3, "FL1 Log", 16, 1024, e=" 4.0,0.1024", g="1.000000")
    fl = rng.uniform(0, 5e5, size=(n1, 3)).astype(np.float32)
    set1 = [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$PAR", "3"), ("$TOT", str(n1))]
    set1 += _params(1, "FS", 32, 1048576) + _params(2, "SS", 32, 1048576) + _params(3, "FL1", 32, 1048576)
    blob = chain(
        lambda nd: data_set("FCS2.0", set0, junk.astype("<u2").tobytes(), end_past=1, nextdata=nd, blank_analysis=True),
        lambda nd: data_set("FCS3.0", set1, fl.astype("<f4").tobytes(), text_at=58, data_keywords=True, nextdata=nd,
                            end_past=end_past_second),
    )
    f = tmp_path / "two_sets.lmd"
    f.write_bytes(blob)
    expect0 = np.column_stack([raw[:, 0], raw[:, 1] / 2.0, 0.1024 * 10 ** (4.0 * raw[:, 2] / 1024)])
    return f, expect0, fl.astype(float)


@pytest.mark.reference
@pytest.mark.parametrize("end_past_second", [0, 1])
def test_multi_data_set_file_with_off_by_one_end_offsets(tmp_path, end_past_second):
    f, expect0, expect1 = _lmd_like(tmp_path, end_past_second)
    s0 = moasim.read_fcs(f)  # default: the first data set
    assert (s0.version, s0.dataset, s0.n_datasets, s0.n_events) == ("2.0", 0, 2, 400)
    assert s0.channels == ("FS Lin", "SS Lin", "FL1 Log")
    np.testing.assert_allclose(s0.events, expect0, rtol=1e-12)
    assert any("past the last event byte" in n for n in s0.notes)
    assert s0.ranges == pytest.approx((1024.0, 512.0, 1024.0))  # FL1 Log: 0.1024 * 10**4
    s1 = read_fcs(f, dataset=1)
    assert (s1.version, s1.dataset, s1.n_datasets, s1.n_events) == ("3.0", 1, 2, 250)
    np.testing.assert_array_equal(s1.events, expect1)
    assert any("past the last event byte" in n for n in s1.notes) == bool(end_past_second)
    with pytest.raises(SpecError, match=r"0\.\.1"):
        read_fcs(f, dataset=2)


def test_cli_dataset_option_and_data_set_count(tmp_path, capsys):
    f, expect0, _ = _lmd_like(tmp_path)
    assert main(["flow", str(f)]) == 0
    out = capsys.readouterr().out
    assert "FCS 2.0, 400 events, 3 channels; data set 0 of the 2 in the file (--dataset 0..1)" in out
    assert main(["flow", str(f), "--dataset", "1", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert (obj["version"], obj["n_events"], obj["dataset"], obj["n_datasets"]) == ("3.0", 250, 1, 2)
    assert main(["flow", str(f), "--dataset", "2"]) == 2
    err = capsys.readouterr().err
    assert err.startswith("moasim: error:") and err.count("\n") == 1 and "0..1" in err
    single = tmp_path / "one.fcs"
    single.write_bytes(data_set("FCS3.0", [("$BYTEORD", "1,2,3,4"), ("$DATATYPE", "F"), ("$MODE", "L"), ("$PAR", "1"),
                                           ("$TOT", "3"), ("$NEXTDATA", "0")] + _params(1, "A", 32, 1024),
                                np.arange(3, dtype="<f4").tobytes(), data_keywords=True))
    assert main(["flow", str(single)]) == 0
    assert "FCS 3.0, 3 events, 1 channels, 1 data set" in capsys.readouterr().out


# ----------------------------------------------------------------------------- log-amplified FCS 2.0


def _log_file(tmp_path):
    """FACSCalibur-like FCS 2.0: 16-bit big-endian, $PnR 1024, FL1-H/FL2-H $PnE 4,0 (f2 = 0 -> 1), FL3-H 3,0.5."""
    rng = np.random.default_rng(12)
    n = 2000
    raw = rng.integers(0, 1024, size=(n, 4)).astype(np.uint16)
    pairs = [("$BYTEORD", "4,3,2,1"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$PAR", "4"), ("$TOT", str(n)),
             ("$NEXTDATA", "0"), ("$CYT", "FACSCalibur")]
    pairs += _params(1, "FSC-H", 16, 1024, g="2") + _params(2, "FL1-H", 16, 1024, e="4,0", s="CD41 FITC")
    pairs += _params(3, "FL2-H", 16, 1024, e="4,0", s="CD42b PE") + _params(4, "FL3-H", 16, 1024, e="3,0.5")
    f = tmp_path / "log.fcs"
    f.write_bytes(data_set("FCS2.0", pairs, raw.astype(">u2").tobytes(), delim="/"))
    expect = np.column_stack([raw[:, 0] / 2.0, 10 ** (4 * raw[:, 1] / 1024.0), 10 ** (4 * raw[:, 2] / 1024.0),
                              0.5 * 10 ** (3 * raw[:, 3] / 1024.0)])
    return f, expect


@pytest.mark.reference
def test_log_amplified_channels_decoded_with_decoded_top_of_scale(tmp_path):
    f, expect = _log_file(tmp_path)
    s = read_fcs(f)
    np.testing.assert_allclose(s.events, expect, rtol=1e-12)
    assert s.ranges == pytest.approx((512.0, 1e4, 1e4, 500.0))  # $PnR/$PnG; f2 * 10**f1
    # with T = $PnR (1024) a quarter of the decoded FL1-H values (raw > 770) were above the top of scale
    assert (logicle(s.column("FL1-H"), T=1024.0) > 1).mean() == pytest.approx(0.25, abs=0.03)
    t = transform(s, ["FL1-H", "FL2-H", "FL3-H"], "logicle")
    for ch in ("FL1-H", "FL2-H", "FL3-H"):
        y = t.column(ch)
        assert y.max() <= 1.0 + 1e-9 and y.max() > 0.99  # the top raw channel (1023) sits just below 1
    assert logicle(np.array([1e4]), T=s.ranges[1])[0] == pytest.approx(1.0, abs=1e-9)


def test_cli_logicle_uses_decoded_range(tmp_path, capsys):
    f, expect = _log_file(tmp_path)
    assert main(["flow", str(f), "--transform", "logicle", "--threshold", "CD41 FITC=0.5", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    assert obj["top_of_scale"] == pytest.approx([512.0, 1e4, 1e4, 500.0])
    y = logicle(expect[:, 1], T=1e4)
    assert obj["panel"]["counts"]["CD41 FITC+"] == int((y >= 0.5).sum())


# ----------------------------------------------------------------------------- empty keyword values (FCS 2.0)


def _empty_values_pairs(**override):
    pairs = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$PAR", "2"), ("$TOT", ""), ("$SRC", ""),
             ("$FIL", "run/1.fcs"), ("$NEXTDATA", "0")]
    pairs += _params(1, "FSC-H", 16, 1024, s="FSC-Height") + _params(2, "FL1-H", 16, 1024, e="4,0", s="")
    pairs.append(("$COM", ""))  # an empty value as the last pair
    return [(k, override.get(k, v)) for k, v in pairs]


def test_parse_text_empty_values_and_escaped_delimiters():
    # an empty value (doubled delimiter right after a keyword) vs an escaped delimiter inside a value
    assert parse_text(b"/A/1/B//C/x//y/D/3/") == {"A": "1", "B": "", "C": "x/y", "D": "3"}
    assert parse_text(b"\\K\\\\L\\v\\") == {"K": "", "L": "v"}
    assert parse_text(b"/K/a////b/E//") == {"K": "a//b", "E": ""}  # 4 delimiters in a value: 2 escaped ones
    assert parse_text(b"|$P1N|FSC|$P1S|FSC-A| ") == {"$P1N": "FSC", "$P1S": "FSC-A"}  # trailing blank


@pytest.mark.reference
def test_fcs20_empty_keyword_values_read(tmp_path):
    raw = np.arange(60, dtype=np.uint16).reshape(30, 2) * 17  # < $PnR = 1024
    f = tmp_path / "empty.fcs"
    f.write_bytes(data_set("FCS2.0", _empty_values_pairs(), raw.astype("<u2").tobytes(), delim="/"))
    assert b"/$SRC//$FIL/run//1.fcs/" in f.read_bytes()  # empty value, then an escaped delimiter
    s = read_fcs(f)
    assert s.n_events == 30 and s.channels == ("FSC-H", "FL1-H") and s.markers == ("FSC-Height", "")
    np.testing.assert_allclose(s.events, np.column_stack([raw[:, 0], 10 ** (4 * raw[:, 1] / 1024.0)]))
    assert s.metadata["src"] == "" and s.metadata["com"] == "" and s.metadata["fil"] == "run/1.fcs"
    assert any("$TOT" in n for n in s.notes) and any("empty keyword values" in n for n in s.notes)


@pytest.mark.parametrize("key", ["$PAR", "$DATATYPE", "$BYTEORD", "$P2B", "$P2R"])
def test_fcs20_empty_keyword_the_data_need_is_named(tmp_path, key):
    raw = np.arange(60, dtype=np.uint16).reshape(30, 2)
    f = tmp_path / "bad.fcs"
    f.write_bytes(data_set("FCS2.0", _empty_values_pairs(**{key: ""}), raw.astype("<u2").tobytes(), delim="/"))
    with pytest.raises(DataError, match=rf"keyword \{key} is empty"):
        read_fcs(f)


# ----------------------------------------------------------------------------- a public FCS 2.0 file


@pytest.mark.reference
def test_public_facscalibur_file_log_channels_and_empty_values():
    import flowio

    f = FCS / "flowio_data1.fcs"
    s = read_fcs(f)
    assert (s.version, s.n_events, s.n_datasets) == ("2.0", 13367, 1)
    assert s.channels == ("FSC-H", "SSC-H", "FL1-H", "FL2-H", "FL3-H", "FL2-A", "FL4-H", "Time")
    assert s.markers[2:5] == ("CD4 FITC", "CD8 B PE", "CD3 PerCP")
    # FCS 2.0 empty values (BD keywords &5..&7, &13) no longer shift the keywords after them
    assert s.metadata["&6data file prefix part #2"] == "" and s.metadata["&8acquisition doc."] == "LYMPH SUBSET ACQ"
    assert s.metadata["&13analysis doc."] == ""
    # an independent parser (FlowIO) and a decoding of the raw bytes done here agree
    np.testing.assert_array_equal(s.events, flowio.FlowData(str(f)).as_array())
    blob = f.read_bytes()
    start, stop = int(blob[26:34]), int(blob[34:42])
    raw = np.frombuffer(blob[start: stop + 1], dtype=">u2").reshape(-1, 8).astype(float)
    np.testing.assert_allclose(s.column("FL1-H"), 10 ** (4 * raw[:, 2] / 1024), rtol=1e-12)
    np.testing.assert_allclose(s.column("FSC-H"), raw[:, 0] / 3.67, rtol=1e-12)  # $P1G 3.67
    assert s.ranges[2:5] == pytest.approx((1e4, 1e4, 1e4))
    t = transform(s, ["FL1-H", "FL2-H", "FL3-H", "FL4-H"], "logicle")
    assert all(t.column(c).max() <= 1.0 + 1e-9 for c in ("FL1-H", "FL2-H", "FL3-H", "FL4-H"))


# ----------------------------------------------------------------------------- what FlowIO alone gets wrong


def test_flowio_defects_the_adapters_work_around(tmp_path):
    """Canary for ``moasim.assay._fcs``: each assertion on FlowIO alone shows why an adapter exists.

    If one of them starts failing, FlowIO has fixed that defect: drop the matching adapter.
    """
    import io
    import warnings

    import flowio

    # (1) an empty FCS 2.0 value read as an escaped delimiter: keywords merge, or $TOT is lost
    assert "&6data file prefix part #2" not in flowio.FlowData(str(FCS / "flowio_data1.fcs")).text
    empty = data_set("FCS2.0", _empty_values_pairs(), np.zeros(60, "<u2").tobytes(), delim="/")
    with pytest.raises(KeyError):
        flowio.FlowData(io.BytesIO(empty))
    # (2) read_multiple_data_sets cannot read an in-memory file: it closes the handle after one data set
    f, _, _ = _lmd_like(tmp_path)
    with warnings.catch_warnings(), pytest.raises(ValueError, match="closed file"):
        warnings.simplefilter("ignore")
        flowio.read_multiple_data_sets(io.BytesIO(f.read_bytes()), ignore_offset_error=True)
    # (3) a byte order FlowIO does not know is read in native order, silently
    ev = np.arange(6, dtype=float).reshape(3, 2)
    pairs = [("$BYTEORD", "8,7,6,5,4,3,2,1"), ("$DATATYPE", "D"), ("$MODE", "L"), ("$PAR", "2"), ("$TOT", "3")]
    g = tmp_path / "be.fcs"
    g.write_bytes(data_set("FCS3.0", pairs + _params(1, "A", 64, 1024) + _params(2, "B", 64, 1024),
                           ev.astype(">f8").tobytes(), data_keywords=True))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert not np.array_equal(flowio.FlowData(str(g)).as_array(), ev)
    with pytest.raises(DataError, match=r"\$BYTEORD"):
        read_fcs(g)
    # (4) $PnG divides log-amplified values too (FCS 3.1: gain is for linear amplification)
    raw = np.arange(40, dtype=np.uint16).reshape(20, 2) * 25  # < $PnR: no masking
    pairs = [("$BYTEORD", "1,2"), ("$DATATYPE", "I"), ("$MODE", "L"), ("$PAR", "2"), ("$TOT", "20")]
    h = tmp_path / "gain.fcs"
    pairs += _params(1, "FSC-H", 16, 1024, g="2") + _params(2, "FL1-H", 16, 1024, e="4,0", g="2")
    h.write_bytes(data_set("FCS2.0", pairs, raw.astype("<u2").tobytes(), delim="/"))
    expect = np.column_stack([raw[:, 0] / 2.0, 10 ** (4 * raw[:, 1] / 1024.0)])
    np.testing.assert_allclose(flowio.FlowData(str(h)).as_array()[:, 1], expect[:, 1] / 2, rtol=1e-12)
    s = read_fcs(h)
    np.testing.assert_allclose(s.events, expect, rtol=1e-12)
    assert s.ranges == pytest.approx((512.0, 1e4))


# ----------------------------------------------------------------------------- ploidy example


def test_ploidy_example_is_what_its_generator_writes(tmp_path, lab_script):
    mk = lab_script("make_ploidy_example.py")
    mk.make_ploidy_fcs(tmp_path / "ploidy.fcs")
    assert (tmp_path / "ploidy.fcs").read_bytes() == (LAB / "ploidy.fcs").read_bytes()
    assert (LAB / "ploidy.fcs").stat().st_size < 300_000
    s = read_fcs(LAB / "ploidy.fcs")
    ev, _ = mk.events()
    np.testing.assert_array_equal(s.events, ev.astype(np.float32).astype(float))
    assert s.metadata["cyt"].startswith("synthetic (moasim examples/lab/")  # '/' escaped by FlowIO's writer


@pytest.mark.reference
def test_cli_ploidy_recovers_known_fractions(capsys, lab_script):
    mk = lab_script("make_ploidy_example.py")
    assert main(["flow", str(LAB / "ploidy.fcs"), "--ploidy", "PI", "--json"]) == 0
    pl = json.loads(capsys.readouterr().out)["ploidy"]
    # tolerance: 0.01 absolute per class (the fit is within ~0.002 of the exact class counts)
    for cls, frac in mk.PLOIDY_FRACTIONS.items():
        assert pl["fractions"][cls] == pytest.approx(frac, abs=0.01), cls
    assert pl["mu_2n"] == pytest.approx(mk.PI_2N, rel=0.02)
    assert pl["cv"] == pytest.approx(mk.PI_CV, abs=0.005)
    assert pl["background_fraction"] == pytest.approx(mk.N_DEBRIS / (mk.N_NUCLEI + mk.N_DEBRIS), abs=0.01)
    true_mean = sum(2 ** (i + 1) * f for i, f in enumerate(mk.PLOIDY_FRACTIONS.values()))
    assert pl["mean_ploidy"] == pytest.approx(true_mean, rel=0.03)
