"""Blot densitometry on synthetic gels made here, independently of the code under test.

Each image is rendered with numpy from bands of known integrated mass (Gaussian along the run,
Gaussian or flat-topped across the lane), on a background with a gradient, smooth bumps and
vignetting, Gaussian noise, an optional tilt (the whole gel rotated) and an optional shift of
one lane group, then optionally clipped (saturation) and written with tifffile. The known
mass of a band is the sum of its own noise-free image.

The reference procedure, :func:`imagej_gel_analyser`, is ImageJ's ``Analyze > Gels`` as a user
runs it, written out with numpy (ImageJ itself is not run here): a rectangle per lane at the
true lane position (same width for every lane, +-2.5 lane SD), the lane profile (column mean,
per row), a straight baseline drawn across the base of each peak (3 SD either side of the
true peak row, at the profile's level there) and the area above it, times the rectangle width.
``moasim`` finds lanes and bands itself; both are compared with the known masses.

Measured errors (max |relative error| over the bands; ImageJ procedure with the true lane and
band positions, moasim finding them itself):

=========================================  ========  ============  ======  =========
image                                      profile   rolling-ball  local   ImageJ
=========================================  ========  ============  ======  =========
six identical bands, spread max/min - 1    0.3%      0.3%          0.3%    --
six identical bands, vs known mass         0.2%      0.9%          0.3%    --
tilted gel 1.5 deg on a gradient (mass)    2.2%      2.1%          2.8%    4.3%
15-lane gel, share of row, mass >= 1e5     2.9%      6.2%          10.4%   3.6%
15-lane gel, share of row, 5e4 - 1e5       3.0%      29%           22%     8.0%
15-lane gel, share of row, faint lanes     11.5%     107%          61%     16%
=========================================  ========  ============  ======  =========

(15-lane gel: noise SD 25 per pixel; a band of mass 2.4e4 peaks 140 above the background.)
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field

import numpy as np
import pytest

from moasim.assay.blot import BACKGROUNDS, blot_from_array, load_blot, quantify_blot
from moasim.cli.main import main

METHODS = [m for m in BACKGROUNDS if m != "none"]


# ----------------------------------------------------------------------------- the synthetic gel


@dataclass
class Gel:
    """A rendered gel: image (bands bright), per-band truth and geometry."""

    image: np.ndarray
    mass: dict = field(default_factory=dict)  # (lane, row) -> integrated mass (intensity x pixels)
    peak: dict = field(default_factory=dict)  # (lane, row) -> (x, y) of the band centre in the image
    lane_x: np.ndarray = field(default_factory=lambda: np.zeros(0))  # lane centres at the image's mid-height
    lane_sd: float = 0.0
    row_sd: tuple = ()
    background: np.ndarray | None = None


def render_gel(*, shape=(300, 600), lane_x, rows, masses, lane_sd=8.0, flat_top=False, row_sd=None, tilt_deg=0.0,
               shift=None, background=None, noise=0.0, seed=0) -> Gel:
    """Bands of known mass on a background.

    ``rows``: band-row centres (pixel rows); ``masses[lane][row]``: integrated mass (0 = no band);
    ``row_sd``: Gaussian SD along the run per row; ``shift[lane]``: extra vertical shift (pixels);
    ``tilt_deg``: the gel rotated about the image centre; ``background``: a callable (y, x) -> image.
    """
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(float)
    yc, xc = (h - 1) / 2, (w - 1) / 2
    t = math.radians(tilt_deg)
    u = (x - xc) * math.cos(t) + (y - yc) * math.sin(t) + xc  # gel frame: across lanes
    v = -(x - xc) * math.sin(t) + (y - yc) * math.cos(t) + yc  # gel frame: along the run
    row_sd = row_sd or [4.0] * len(rows)
    shift = shift if shift is not None else [0.0] * len(lane_x)
    img = np.zeros(shape)
    gel = Gel(image=img, lane_x=np.asarray(lane_x, dtype=float), lane_sd=lane_sd, row_sd=tuple(row_sd))
    for li, cx in enumerate(lane_x):
        if flat_top:
            gx = np.exp(-np.abs((u - cx) / (1.6 * lane_sd)) ** 6)
        else:
            gx = np.exp(-0.5 * ((u - cx) / lane_sd) ** 2)
        for ri, cy in enumerate(rows):
            m = masses[li][ri]
            if m <= 0:
                continue
            band = gx * np.exp(-0.5 * ((v - cy - shift[li]) / row_sd[ri]) ** 2)
            band *= m / band.sum()
            img += band
            gel.mass[(li, ri)] = float(band.sum())
            # band centre back in image coordinates
            du, dv = cx - xc, cy + shift[li] - yc
            gel.peak[(li, ri)] = (du * math.cos(t) - dv * math.sin(t) + xc, du * math.sin(t) + dv * math.cos(t) + yc)
    bg = background(y, x) if background is not None else np.zeros(shape)
    gel.background = bg
    rng = np.random.default_rng(seed)
    gel.image = img + bg + (rng.normal(0.0, noise, shape) if noise else 0.0)
    return gel


def uneven(h, w, level=2000.0, gx=3.0, gy=4.0, bump=1500.0, vignette=800.0):
    """Gradient + a broad bump + darker corners (intensity units, bands-bright orientation)."""

    def bg(y, x):
        r2 = ((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2
        b = bump * np.exp(-(((x - 0.7 * w) / (0.25 * w)) ** 2 + ((y - 0.35 * h) / (0.3 * h)) ** 2) / 2)
        return level + gx * x + gy * y + b - vignette * 4 * r2

    return bg


def imagej_gel_analyser(image, lane_x, half_width, peak_rows, row_sd):
    """ImageJ's gel-analyser procedure as a careful user runs it, written with numpy.

    ``Analyze > Gels``: one rectangle per lane (same width, centred on ``lane_x``), the lane
    profile (mean across the rectangle, per row), a straight line drawn across the base of each
    peak (from 3 SD above to 3 SD below the peak row ``peak_rows[lane][k]``, at the profile's
    level there, read as the mean of 5 rows) and the area between profile and line (the wand),
    times the rectangle width for integrated intensity.
    """
    out = {}
    for li, cx in enumerate(lane_x):
        x0, x1 = int(round(cx - half_width)), int(round(cx + half_width)) + 1
        prof = image[:, x0:x1].mean(axis=1)
        for k, (p, sd) in enumerate(zip(peak_rows[li], row_sd)):
            a, b = int(round(p - 3 * sd)) - 1, int(round(p + 3 * sd)) + 1
            la, lb = prof[a - 2:a + 3].mean(), prof[b - 2:b + 3].mean()
            line = la + (lb - la) * (np.arange(a, b + 1) - a) / (b - a)
            out[(li, k)] = float((prof[a:b + 1] - line).sum() * (x1 - x0))
    return out


def rel_errors(measured: dict, truth: dict) -> dict:
    return {k: measured[k] / truth[k] - 1.0 for k in truth}


def measured(q) -> dict:
    return {(b.lane, b.index): b.intensity for b in q.bands}


def assert_boxes(q, gel: Gel, n):
    assert len(q.lanes) == n
    for (a0, a1), (b0, b1) in zip(q.lanes[:-1], q.lanes[1:]):
        assert a1 <= b0, (a0, a1, b0, b1)  # non-overlapping
    for (x0, x1), cx in zip(q.lanes, gel.lane_x):
        assert x0 <= cx < x1  # each box holds its lane


# ----------------------------------------------------------------------------- six identical bands


@pytest.mark.parametrize("flat_top, lane_sd, spacing", [(False, 7.0, 60), (True, 8.0, 60), (False, 9.0, 48),
                                                        (True, 16.0, 60)])  # last: flat lanes 51 px wide, 9 px apart
def test_six_identical_bands_agree_within_2_percent(flat_top, lane_sd, spacing):
    lane_x = [spacing / 2 + spacing * i for i in range(6)]
    gel = render_gel(shape=(120, 6 * spacing), lane_x=lane_x, rows=[60.0], masses=[[2.0e6]] * 6, lane_sd=lane_sd,
                     flat_top=flat_top, background=lambda y, x: 1000.0 + 0 * x, noise=2.0, seed=1)
    for method in METHODS:
        for centres in (None, lane_x):
            q = quantify_blot(blot_from_array(gel.image), n_lanes=6, lane_centres=centres, background=method)
            assert_boxes(q, gel, 6)
            v = np.array([b.intensity for b in q.bands])
            assert v.size == 6
            assert v.max() / v.min() - 1 < 0.02, (method, centres, v / v.max())
            np.testing.assert_allclose(v, 2.0e6, rtol=0.02)


# ----------------------------------------------------------------------------- tilted gel, gradient


def tilted_gel(seed=1, tilt_deg=1.5):
    h, w = 260, 520
    lane_x = [40 + 63 * i for i in range(8)]
    m1 = [2e5, 4e5, 8e5, 1.6e6, 3.2e6, 6.4e5, 1e5, 1.2e6]
    return render_gel(shape=(h, w), lane_x=lane_x, rows=[80.0, 170.0], masses=[[a, 1.5e6] for a in m1], lane_sd=8.0,
                      row_sd=[3.5, 4.5], tilt_deg=tilt_deg, background=lambda y, x: 3000 + 6 * x + 9 * y, noise=30.0,
                      seed=seed)


@pytest.mark.parametrize("method, tol", [("profile", 0.05), ("rolling-ball", 0.08), ("local", 0.08)])
def test_tilted_gel_on_a_gradient_masses_recovered(method, tol):
    gel = tilted_gel()
    q = quantify_blot(blot_from_array(gel.image), n_lanes=8, band_names=["target", "loading"], background=method)
    assert_boxes(q, gel, 8)
    err = rel_errors(measured(q), gel.mass)
    assert max(abs(e) for e in err.values()) < tol, err
    for b in q.bands:  # each band's row found where it is (the tilt moves it 13 px across the gel)
        assert abs(b.peak - gel.peak[(b.lane, b.index)][1]) < 1.5


# ----------------------------------------------------------------------------- a 15-lane gel


N15 = 15
FAINT = (4, 11)  # lanes loaded with 8% of the others


@pytest.fixture(scope="module")
def gel15():
    return make_gel15()


def make_gel15():
    """15 lanes, 3 band rows, uneven background (gradient, bump, vignetting), 0.5 deg tilt, lanes 8-15
    run 5 px lower than lanes 1-7, two faint lanes, a dose series in the middle row."""
    h, w = 400, 900
    rng = np.random.default_rng(11)
    dose = [0.15, 0.3, 0.5, 0.8, 1.2, 1.6, 2.0] * 3
    load = np.ones(N15)
    load[list(FAINT)] = 0.08
    masses = [[load[i] * 3e5 * (0.8 + 0.4 * rng.random()), load[i] * 4e5 * dose[i], load[i] * 8e5 * (0.9 + 0.2 * rng.random())]
              for i in range(N15)]
    return render_gel(shape=(h, w), lane_x=[30 + 56 * i for i in range(N15)], rows=[95.0, 200.0, 300.0], masses=masses,
                      lane_sd=9.0, row_sd=[3.0, 4.0, 5.0], tilt_deg=0.5, shift=[0.0] * 7 + [5.0] * 8,
                      background=uneven(h, w), noise=25.0, seed=11)


def relative_errors(meas: dict, gel: Gel, n: int, rows: int) -> dict:
    """Each band's share of its row's total, measured vs known: relative error."""
    out = {}
    for r in range(rows):
        tt = sum(gel.mass[(li, r)] for li in range(n))
        mm = sum(meas[(li, r)] for li in range(n))
        for li in range(n):
            out[(li, r)] = (meas[(li, r)] / mm) / (gel.mass[(li, r)] / tt) - 1.0
    return out


def test_fifteen_lanes_all_found_boxes_apart_one_row_per_target(gel15):
    for names in (None, ["high", "target", "loading"]):
        q = quantify_blot(blot_from_array(gel15.image), n_lanes=None if names is None else N15, band_names=names)
        assert_boxes(q, gel15, N15)  # faint lanes included
        assert len(q.bands) == 3 * N15  # the 5-px shift of lanes 8-15 does not split a row in two
        for b in q.bands:
            assert abs(b.peak - gel15.peak[(b.lane, b.index)][1]) < 2.0, (b.lane, b.index, b.peak)
            assert "not-detected" not in b.flags


# tolerances on relative band masses, by known mass (intensity x pixels; noise SD 25 per pixel)
TIERS = ((1e5, 0.05), (5e4, 0.08), (0.0, 0.20))


def _tol(mass):
    return next(t for m, t in TIERS if mass >= m)


def test_fifteen_lane_relative_masses_under_uneven_background(gel15):
    q = quantify_blot(blot_from_array(gel15.image), n_lanes=N15, band_names=["high", "target", "loading"])
    err = relative_errors(measured(q), gel15, N15, 3)
    bad = {k: round(e, 3) for k, e in err.items() if abs(e) > _tol(gel15.mass[k])}
    assert not bad, bad
    # the reference procedure on the same image, with the true lane and band positions
    ys = [[gel15.peak[(li, r)][1] for r in range(3)] for li in range(N15)]
    ref = imagej_gel_analyser(gel15.image, [gel15.peak[(li, 1)][0] for li in range(N15)], 2.5 * gel15.lane_sd, ys,
                              gel15.row_sd)
    ref_err = relative_errors(ref, gel15, N15, 3)
    strong = [k for k in err if gel15.mass[k] >= 1e5]
    assert max(abs(err[k]) for k in strong) <= max(abs(ref_err[k]) for k in strong)


@pytest.mark.parametrize("method", BACKGROUNDS)
def test_no_real_band_has_a_non_positive_intensity(gel15, method):
    q = quantify_blot(blot_from_array(gel15.image), n_lanes=N15, band_names=["high", "target", "loading"],
                      background=method)
    assert_boxes(q, gel15, N15)
    assert min(b.intensity for b in q.bands) > 0
    assert not any("non-positive" in b.flags for b in q.bands)
    assert not q.notes
    base = q.baselines
    assert np.all(np.isnan(base) | (base <= q.profiles + 1e-6 * np.abs(q.profiles) + _smooth_slack(q.profiles)))


def _smooth_slack(profiles):
    """Baselines are clamped below the 1-row-smoothed profile; allow the smoothing's difference."""
    from scipy.ndimage import gaussian_filter1d

    return np.abs(gaussian_filter1d(profiles, 1.0, axis=1, mode="nearest") - profiles)


# ----------------------------------------------------------------------------- flags: saturation, missing bands


def _clipped_gel():
    lane_x = [40 + 60 * i for i in range(5)]
    return render_gel(shape=(160, 300), lane_x=lane_x, rows=[60.0, 115.0],
                      masses=[[3e5, 6e5], [6e5, 6e5], [2.4e6, 6e5], [1.2e6, 6e5], [3e5, 6e5]], lane_sd=8.0,
                      row_sd=[3.0, 4.0], background=lambda y, x: 4000 + 5 * x + 4 * y, noise=40.0, seed=2)


def test_saturated_band_flagged_in_16bit_scan_table_json_and_text(tmp_path, capsys):
    import tifffile

    gel = _clipped_gel()
    film = np.clip(np.round(46000 - 2.5 * gel.image), 0, 65535).astype(np.uint16)  # dark bands; lane 3 band hits 0
    assert (film == 0).sum() > 10
    tifffile.imwrite(tmp_path / "sat.tif", film)
    b = load_blot(tmp_path / "sat.tif")
    assert b.inverted and b.saturation == 65535
    q = quantify_blot(b, n_lanes=5, band_names=["target", "loading"])
    flagged = {(x.lane, x.index) for x in q.bands if "saturated" in x.flags}
    assert flagged == {(2, 0)}
    assert q.bands[4].saturated > 10 and q.to_frame().loc[4, "flag"] == "saturated"
    assert any("saturated" in n for n in q.notes)
    assert main(["blot", str(tmp_path / "sat.tif"), "--lanes", "5", "--bands", "target,loading", "--json"]) == 0
    obj = json.loads(capsys.readouterr().out)
    js = [x for x in obj["images"][0]["bands"] if x["flags"]]
    assert [(x["lane"], x["target"], x["flags"]) for x in js] == [(3, "target", ["saturated"])]
    assert main(["blot", str(tmp_path / "sat.tif"), "--lanes", "5", "--bands", "target,loading"]) == 0
    out = capsys.readouterr().out
    assert "saturated" in out and sum(line.startswith("warning:") for line in out.splitlines()) == 1
    # unsaturated: nothing flagged
    ok = np.clip(np.round(60000 - 2 * gel.image), 0, 65535).astype(np.uint16)
    tifffile.imwrite(tmp_path / "ok.tif", ok)
    q = quantify_blot(tmp_path / "ok.tif", n_lanes=5, band_names=["target", "loading"])
    assert load_blot(tmp_path / "ok.tif").saturation is None and not any(x.flags for x in q.bands)


def test_clipped_float_image_flagged():
    gel = _clipped_gel()
    top = np.percentile(gel.image, 99.95)
    q = quantify_blot(blot_from_array(np.minimum(gel.image, top)), n_lanes=5, band_names=["target", "loading"])
    assert {(x.lane, x.index) for x in q.bands if "saturated" in x.flags} == {(2, 0)}


def test_missing_band_flagged_not_detected_and_not_positive(capsys, tmp_path):
    import tifffile

    lane_x = [40 + 60 * i for i in range(5)]
    masses = [[3e5, 6e5], [3e5, 6e5], [0.0, 6e5], [3e5, 6e5], [3e5, 6e5]]
    gel = render_gel(shape=(160, 300), lane_x=lane_x, rows=[60.0, 115.0], masses=masses, lane_sd=8.0,
                     row_sd=[3.0, 4.0], background=lambda y, x: 500 + 2 * y + 0 * x, noise=20.0, seed=3)
    q = quantify_blot(blot_from_array(gel.image), n_lanes=5, band_names=["target", "loading"])
    miss = [b for b in q.bands if (b.lane, b.index) == (2, 0)][0]
    assert set(miss.flags) == {"not-detected", "non-positive"}
    assert abs(miss.intensity) < 0.01 * 3e5
    assert abs(miss.peak - 60) < 1
    assert not any(b.flags for b in q.bands if b is not miss)
    assert len(q.notes) == 1 and "lane 3" in q.notes[0] and "not positive" in q.notes[0]
    from moasim.assay.blot import normalise_blot

    n = normalise_blot(q, phospho="target", loading="loading")
    assert n["flag"].tolist() == ["", "", "target: non-positive;not-detected", "", ""]
    tifffile.imwrite(tmp_path / "m.tif", gel.image.astype(np.float32))
    assert main(["blot", str(tmp_path / "m.tif"), "--lanes", "5", "--bands", "target,loading", "--invert", "no",
                 "--phospho", "target", "--loading", "loading"]) == 0
    out = capsys.readouterr().out
    assert "warning: lane 3 (3) target: background-corrected intensity" in out


# ----------------------------------------------------------------------------- CLI options


def test_cli_background_and_radius_options(tmp_path, capsys):
    import tifffile

    gel = tilted_gel(tilt_deg=0.5)
    tifffile.imwrite(tmp_path / "g.tif", gel.image.astype(np.float32))
    for method in ("profile", "rolling-ball", "local", "none"):
        args = ["blot", str(tmp_path / "g.tif"), "--lanes", "8", "--bands", "t,l", "--invert", "no",
                "--background", method, "--json"]
        assert main(args + (["--radius", "30"] if method == "rolling-ball" else [])) == 0
        obj = json.loads(capsys.readouterr().out)["images"][0]
        assert obj["background"] == method and len(obj["bands"]) == 16
        if method == "rolling-ball":
            assert obj["radius"] == 30
    assert main(["blot", str(tmp_path / "g.tif"), "--radius", "0.5"]) == 2
    assert capsys.readouterr().err.count("\n") == 1
