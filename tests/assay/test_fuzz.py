"""Fuzzed malformed inputs: only moasim errors (one line), never another exception or a traceback."""

from __future__ import annotations

import io
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from moasim.assay import fit_curve, fit_dose_response, quantify_blot, read_fcs
from moasim.cli.main import main
from moasim.errors import MoasimError

FCS = Path(__file__).parent / "data" / "fcs"
# no shrinking: a failure is reported as found (shrinking slow fits can take minutes)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture],
                    phases=[Phase.explicit, Phase.reuse, Phase.generate], derandomize=True)


def _only_moasim_errors(fn, *a, **kw):
    try:
        fn(*a, **kw)
    except MoasimError as exc:
        assert "\n" not in str(exc)


cell = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.integers(-10, 10**6).map(str),
    st.sampled_from(["", "nan", "inf", "-1", "x", '"1,5"', "1e309", " ", "0"]),
    st.text(max_size=5),
)
row = st.lists(cell, min_size=0, max_size=4).map(",".join)
csv_text = st.tuples(st.sampled_from(["concentration,response", "concentration,response,group", "a,b", ""]),
                     st.lists(row, max_size=12)).map(lambda t: "\n".join([t[0], *t[1]]))


@SETTINGS
@given(text=csv_text)
def test_fuzzed_csv(tmp_path, text):
    f = tmp_path / "f.csv"
    f.write_bytes(text.encode("utf-8", "surrogatepass"))
    _only_moasim_errors(fit_dose_response, f, group=None)
    _only_moasim_errors(fit_dose_response, f, group="group")


@SETTINGS
@given(data=st.binary(max_size=300))
def test_fuzzed_binary_csv(tmp_path, data):
    f = tmp_path / "f.csv"
    f.write_bytes(data)
    _only_moasim_errors(fit_dose_response, f)


finite = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)


@SETTINGS
@given(conc=st.lists(st.floats(min_value=0, max_value=1e4, allow_nan=False), min_size=0, max_size=20),
       resp=st.lists(finite, min_size=0, max_size=20), model=st.sampled_from(["3pl", "4pl", "5pl"]))
def test_fuzzed_arrays_to_fitter(conc, resp, model):
    n = min(len(conc), len(resp))
    _only_moasim_errors(fit_curve, conc[:n], resp[:n], model=model)


_VALID_FCS = (FCS / "cyflow_cube_8.fcs").read_bytes()


@SETTINGS
@given(cut=st.integers(0, len(_VALID_FCS)), flips=st.lists(st.tuples(st.integers(0, 3000), st.integers(0, 255)), max_size=6))
def test_fuzzed_fcs(tmp_path, cut, flips):
    b = bytearray(_VALID_FCS[:cut])
    for pos, val in flips:
        if pos < len(b):
            b[pos] = val
    f = tmp_path / "f.fcs"
    f.write_bytes(bytes(b))
    _only_moasim_errors(read_fcs, f)


def _png_bytes() -> bytes:
    import imageio.v3 as iio

    rng = np.random.default_rng(0)
    img = (rng.random((40, 60)) * 255).astype(np.uint8)
    return iio.imwrite("<bytes>", img, extension=".png")


def _tif_bytes() -> bytes:
    import tifffile

    buf = io.BytesIO()
    tifffile.imwrite(buf, (np.random.default_rng(1).random((40, 60)) * 60000).astype(np.uint16))
    return buf.getvalue()


_IMAGES = {".png": _png_bytes(), ".tif": _tif_bytes()}


@SETTINGS
@given(ext=st.sampled_from([".png", ".tif"]), cut=st.integers(0, 5000),
       flips=st.lists(st.tuples(st.integers(0, 400), st.integers(0, 255)), max_size=6))
def test_fuzzed_images(tmp_path, ext, cut, flips):
    b = bytearray(_IMAGES[ext][: max(cut, 0) or None])
    for pos, val in flips:
        if pos < len(b):
            b[pos] = val
    f = tmp_path / f"f{ext}"
    f.write_bytes(bytes(b))
    _only_moasim_errors(quantify_blot, f)


@SETTINGS
@given(arr=st.lists(st.lists(st.floats(allow_nan=True, allow_infinity=True, width=32), min_size=1, max_size=30),
                    min_size=1, max_size=30))
def test_fuzzed_pixel_arrays(tmp_path, arr):
    import tifffile

    w = min(len(r) for r in arr)
    a = np.array([r[:w] for r in arr], dtype=np.float32)
    f = tmp_path / "a.tif"
    tifffile.imwrite(f, a)
    _only_moasim_errors(quantify_blot, f)


@pytest.mark.parametrize("cmd", [["fit", "dose-response"], ["flow"], ["blot"]])
@SETTINGS
@given(data=st.binary(max_size=200))
def test_cli_never_tracebacks(tmp_path, capsys, cmd, data):
    ext = {"fit": ".csv", "flow": ".fcs", "blot": ".png"}[cmd[0]]
    f = tmp_path / f"in{ext}"
    f.write_bytes(data)
    assert main([*cmd, str(f), "--json"]) in (0, 2)
    err = capsys.readouterr().err
    assert "Traceback" not in err and err.count("\n") <= 1


@SETTINGS
@given(head=st.lists(row, max_size=3), n_rows=st.integers(0, 9), body=st.lists(row, max_size=9),
       sep=st.sampled_from([",", ";", "\t"]))
def test_fuzzed_plate_exports(tmp_path, head, n_rows, body, sep):
    from moasim.assay import read_plate

    header = sep.join([""] + [str(j) for j in range(1, 13)])
    rows = [sep.join([chr(65 + i)] + (body[i].split(",") if i < len(body) else [])) for i in range(n_rows)]
    (tmp_path / "p.csv").write_text("\n".join([*head, header, *rows]), encoding="utf-8", errors="replace")
    (tmp_path / "m.csv").write_text("well,concentration\nA1,0\nA2,1\nB3,10\n")
    _only_moasim_errors(read_plate, tmp_path / "p.csv", tmp_path / "m.csv")


def test_regressions_found_by_fuzzing(tmp_path):
    # FCS with a corrupted $PnN keyword (fd.channels lacked parameter 3)
    b = bytearray(_VALID_FCS[:39349])
    b[528], b[551] = 104, 205
    (tmp_path / "f.fcs").write_bytes(bytes(b))
    _only_moasim_errors(read_fcs, tmp_path / "f.fcs")
    # exact interpolation (RSS = 0) and subnormal concentrations
    tiny = [0.0, 0.0, 2.2250738585e-313, 2.225073858507e-311, 0.0]
    _only_moasim_errors(fit_curve, tiny, tiny, model="3pl")
    # EC50 estimate underflowing to 0
    _only_moasim_errors(fit_curve, [5e-324, 0.5, 25.0, 7443.4, 9314.8, 3231.0, 6603.0, 2103.2],
                        [438205.9, -572864.2, -857608.4, -1.2e-38, -277742.0, -4.1e-34, -1.7e-171, -544862.0])
