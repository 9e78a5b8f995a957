"""Cross-check moasim's blot densitometry against ImageJ itself (rolling-ball background).

What it checks
    Three synthetic western blots are rendered here with numpy (fixed seeds; no moasim code):
    Gaussian bands of known integrated mass on a light background with a gradient (and, for
    the 15-lane gel, a broad bump and vignetting), Gaussian noise, written as dark-on-light
    16-bit TIFFs like a film/scanner image:

    * ``straight``: 10 lanes x 2 band rows, a dose series, linear gradient;
    * ``tilted``:   8 lanes x 3 rows, the gel rotated 1.2 degrees, gradient + bump;
    * ``lanes15``:  15 lanes x 3 rows, lanes 4 and 11 loaded at 8% (faint), uneven background.

    On each, :func:`moasim.quantify_blot` runs with ``background="rolling-ball"`` (radius 50)
    and with the default (``"profile"``), given the lane count. ImageJ (1.x, headless batch
    macro ``tools/imagej/blot_rolling_ball.ijm``) then subtracts its own rolling-ball
    background (``Subtract Background... rolling=50``) and measures RawIntDen in the very
    lane x band boxes moasim reported. Three ImageJ variants: ``float-inverted`` (32-bit,
    65535 - pixel, no clipping; the reference), ``16bit-inverted`` (``Edit > Invert`` then
    subtract; results clipped at 0) and ``16bit-light`` (the original with the ``light``
    option; signal = 65535 x area - RawIntDen, clipped at 65535).

    Printed per band: known mass, moasim rolling-ball intensity, ImageJ's, their relative
    difference, and each method's error of the band's *share of its row* vs the known masses
    (absolute scales differ by what falls outside a box). Summary per gel: max / median
    |moasim - ImageJ| / ImageJ, the max share error of every method, ImageJ 16-bit vs 32-bit,
    and both rolling-ball backgrounds (moasim's, and ImageJ's own from ``create``) less the
    true background, averaged over each band box (counts per pixel): what explains the
    differences.

How to run
    ``. .venv/bin/activate && python tools/imagej_blot_check.py [--keep DIR] [--quiet]``

Requirements
    The moasim venv (numpy, tifffile, scikit-image); Java and ImageJ 1.x
    (Debian: ``apt-get install imagej``, jar ``/usr/share/java/ij.jar``; or set ``IMAGEJ_JAR``);
    without an X display, ``xvfb-run`` (Debian ``xvfb``), because ImageJ 1.53's ``run()``
    builds its AWT menus even in ``-batch`` mode (``-Djava.awt.headless=true`` fails with
    ``HeadlessException``). Not part of the test suite (nothing imports it).
"""

from __future__ import annotations

import argparse
import csv
import math
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np
import tifffile

HERE = os.path.dirname(os.path.abspath(__file__))
MACRO = os.path.join(HERE, "imagej", "blot_rolling_ball.ijm")
RADIUS = 50
WHITE = 60000.0  # film level of an empty, background-free spot (16-bit, dark bands on light)


# ----------------------------------------------------------------------------- synthetic gels


def render(shape, lane_x, rows, masses, *, lane_sd, row_sd, tilt_deg, background, noise, seed):
    """Bands-bright image (float) and truth: ``mass[(lane, row)]``, ``centre[(lane, row)] = (x, y)``, background."""
    h, w = shape
    y, x = np.mgrid[0:h, 0:w].astype(float)
    yc, xc, t = (h - 1) / 2, (w - 1) / 2, math.radians(tilt_deg)
    u = (x - xc) * math.cos(t) + (y - yc) * math.sin(t) + xc  # gel frame, across lanes
    v = -(x - xc) * math.sin(t) + (y - yc) * math.cos(t) + yc  # gel frame, along the run
    img, mass, centre = np.zeros(shape), {}, {}
    for li, cx in enumerate(lane_x):
        gx = np.exp(-0.5 * ((u - cx) / lane_sd) ** 2)
        for ri, cy in enumerate(rows):
            band = gx * np.exp(-0.5 * ((v - cy) / row_sd[ri]) ** 2)
            band *= masses[li][ri] / band.sum()
            img += band
            mass[(li, ri)] = float(masses[li][ri])
            du, dv = cx - xc, cy - yc
            centre[(li, ri)] = (du * math.cos(t) - dv * math.sin(t) + xc, du * math.sin(t) + dv * math.cos(t) + yc)
    bg = background(y, x)
    img += bg + np.random.default_rng(seed).normal(0.0, noise, shape)
    return img, mass, centre, bg


def gels():
    """name -> (bands-bright float image, mass, centre, true background, n_lanes, n_rows)."""
    rng = np.random.default_rng(7)
    out = {}
    # 10 lanes, dose series in row 0, near-constant loading control in row 1, linear gradient
    dose = [0.1, 0.2, 0.35, 0.5, 0.7, 1.0, 1.3, 1.6, 2.0, 2.4]
    m = [[8e5 * d, 1.2e6 * (0.9 + 0.2 * rng.random())] for d in dose]
    out["straight"] = render((280, 640), [35 + 63 * i for i in range(10)], [90.0, 190.0], m, lane_sd=8.0,
                             row_sd=[3.5, 4.5], tilt_deg=0.0, noise=40.0, seed=1,
                             background=lambda y, x: 9000 + 8.0 * x + 5.0 * y)
    # 8 lanes x 3 rows, tilted 1.2 deg, gradient + broad bump
    m = [[4e5 * (0.5 + rng.random()), 1e6 * (0.3 + 1.5 * rng.random()), 1.5e6 * (0.9 + 0.2 * rng.random())]
         for _ in range(8)]
    out["tilted"] = render((300, 560), [40 + 68 * i for i in range(8)], [70.0, 150.0, 230.0], m, lane_sd=9.0,
                           row_sd=[3.0, 4.0, 5.0], tilt_deg=1.2, noise=30.0, seed=2,
                           background=lambda y, x: 7000 + 5.0 * x + 7.0 * y
                           + 1200 * np.exp(-((x - 380) ** 2 + (y - 120) ** 2) / (2 * 120.0**2)))
    # 15 lanes x 3 rows, two faint lanes, gradient + bump + vignetting
    h, w = 400, 900
    load = np.ones(15)
    load[[3, 10]] = 0.08
    m = [[load[i] * 3e5 * (0.8 + 0.4 * rng.random()), load[i] * 4e5 * (0.2 + 1.8 * rng.random()),
          load[i] * 8e5 * (0.9 + 0.2 * rng.random())] for i in range(15)]

    def uneven(y, x):
        r2 = ((x - w / 2) / w) ** 2 + ((y - h / 2) / h) ** 2
        bump = 1500 * np.exp(-(((x - 0.7 * w) / (0.25 * w)) ** 2 + ((y - 0.35 * h) / (0.3 * h)) ** 2) / 2)
        return 8000 + 3.0 * x + 4.0 * y + bump - 3200 * r2

    out["lanes15"] = render((h, w), [30 + 60 * i for i in range(15)], [95.0, 200.0, 300.0], m, lane_sd=9.0,
                            row_sd=[3.0, 4.0, 5.0], tilt_deg=0.4, noise=25.0, seed=3, background=uneven)
    return {k: (*v, 1 + max(li for li, _ in v[1]), 1 + max(ri for _, ri in v[1])) for k, v in out.items()}


def write_film(path, bright):
    """Dark bands on a light background, 16-bit: ``WHITE - bright`` (65535 - film = bright + 5535)."""
    film = np.round(WHITE - bright)
    assert film.min() > 0 and film.max() < 65535, "synthetic gel clipped"
    tifffile.imwrite(path, film.astype(np.uint16))


# ----------------------------------------------------------------------------- the two programs


def run_moasim(path, n_lanes, centre, n_rows):
    """Per band (lane, known row): dict of box and intensities, for rolling-ball and profile."""
    from moasim import quantify_blot

    res = {}
    for method in ("rolling-ball", "profile"):
        q = quantify_blot(path, n_lanes=n_lanes, background=method, radius=RADIUS if method == "rolling-ball" else None)
        assert len(q.lanes) == n_lanes, (path, method, q.lanes)
        for b in q.bands:
            row = min(range(n_rows), key=lambda r: abs(centre[(b.lane, r)][1] - b.peak))  # nearest known row
            x_true = centre[(b.lane, row)][0]
            key = (b.lane, row)
            if not (b.x0 <= x_true < b.x1) or abs(centre[key][1] - b.peak) > 3 or key in res.get(method, {}):
                print(f"  ! {method}: band lane {b.lane + 1} #{b.index + 1} at row {b.peak:.1f} matches no known band")
                continue
            res.setdefault(method, {})[key] = dict(
                box=(b.x0, b.y0, b.x1 - b.x0, b.y1 - b.y0), intensity=b.intensity, flags=b.flags,
                signal2d=float(q.signal[b.y0:b.y1, b.x0:b.x1].sum()))  # 2-D rolling ball, no clamping
        if method == "rolling-ball":
            res["bg2d"] = q.image - q.signal  # moasim's 2-D rolling-ball background (bands-bright units)
    return res


def imagej_command():
    jar = os.environ.get("IMAGEJ_JAR", "/usr/share/java/ij.jar")
    java = shutil.which("java")
    if not (java and os.path.isfile(jar)):
        sys.exit(f"need java and ImageJ's jar (IMAGEJ_JAR, default {jar}); Debian: apt-get install imagej")
    cmd = [java, "-Xmx1g", "-jar", jar, "-batch", MACRO]
    if not os.environ.get("DISPLAY"):
        if not shutil.which("xvfb-run"):
            sys.exit("no X display and no xvfb-run (Debian: apt-get install xvfb); ImageJ 1.x run() needs AWT")
        cmd = ["xvfb-run", "-a"] + cmd
    return cmd


def run_imagej(tif, boxes):
    """RawIntDen per variant and band (bands-bright units), ImageJ's background image, ImageJ's log line."""
    bcsv, ocsv = tif[:-4] + "_boxes.csv", tif[:-4] + "_imagej.csv"
    keys = sorted(boxes)
    with open(bcsv, "w", newline="") as f:
        wr = csv.writer(f)
        wr.writerow(["id", "x", "y", "w", "h"])
        for i, k in enumerate(keys):
            wr.writerow([i, *boxes[k]])
    p = subprocess.run(imagej_command() + [f"{tif}|{bcsv}|{ocsv}|{RADIUS}"], capture_output=True, text=True,
                       timeout=300)
    if p.returncode != 0 or not os.path.isfile(ocsv):
        sys.exit(f"ImageJ failed (rc {p.returncode}):\n{p.stdout}\n{p.stderr}")
    out = {}
    with open(ocsv) as f:
        for r in csv.DictReader(f):
            n, s = float(r["n"]), float(r["rawintden"])
            out.setdefault(r["variant"], {})[keys[int(r["id"])]] = 65535.0 * n - s if "light" in r["variant"] else s
    return out, tifffile.imread(ocsv + ".background.tif").astype(float), p.stdout.strip()


# ----------------------------------------------------------------------------- comparison


def share_errors(meas, mass, n_lanes, n_rows):
    """Relative error of each band's share of its row total (rows with every band measured)."""
    out = {}
    for r in range(n_rows):
        ks = [(li, r) for li in range(n_lanes)]
        if not all(k in meas for k in ks):
            continue
        tm, tt = sum(meas[k] for k in ks), sum(mass[k] for k in ks)
        out.update({k: (meas[k] / tm) / (mass[k] / tt) - 1.0 for k in ks})
    return out


def check(name, bright, mass, centre, true_bg, n_lanes, n_rows, work, quiet):
    tif = os.path.join(work, f"{name}.tif")
    write_film(tif, bright)
    mo = run_moasim(tif, n_lanes, centre, n_rows)
    rb, pr = mo.get("rolling-ball", {}), mo.get("profile", {})
    ij, ij_bg, log = run_imagej(tif, {k: v["box"] for k, v in rb.items()})
    truth = true_bg + (65535.0 - WHITE)  # the true background in inverted (bands-bright) units

    def bg_err(bg, k):  # mean error of a background over a band's box, counts per pixel
        x, y, w, h = rb[k]["box"]
        return float((bg - truth)[y:y + h, x:x + w].mean())

    bge = {"ImageJ": {k: bg_err(ij_bg, k) for k in rb}, "moasim": {k: bg_err(mo["bg2d"], k) for k in rb}}
    ref = ij["float-inverted"]
    series = {"moasim-rb": {k: v["intensity"] for k, v in rb.items()},
              "moasim-rb-2d": {k: v["signal2d"] for k, v in rb.items()},
              "moasim-profile": {k: v["intensity"] for k, v in pr.items()},
              **{f"ij-{v}": d for v, d in ij.items()}}
    err = {s: share_errors(d, mass, n_lanes, n_rows) for s, d in series.items()}
    diff = {k: rb[k]["intensity"] / ref[k] - 1.0 for k in rb}
    diff2d = {k: rb[k]["signal2d"] / ref[k] - 1.0 for k in rb}

    print(f"\n== {name}: {bright.shape[1]}x{bright.shape[0]}, {n_lanes} lanes x {n_rows} rows; {log}")
    if not quiet:
        print(f"{'lane':>4} {'row':>3} {'known':>10} {'moasim-rb':>10} {'ImageJ-rb':>10} {'rb diff':>8} "
              f"{'err mo-rb':>9} {'err IJ-rb':>9} {'err mo-pr':>9} {'bgerr IJ':>8} {'bgerr mo':>8}  flags")
        for k in sorted(mass, key=lambda k: (k[1], k[0])):
            if k not in rb:
                print(f"{k[0] + 1:>4} {k[1] + 1:>3} {mass[k]:10.4g}  (not measured by moasim rolling-ball)")
                continue
            e = [err[s].get(k, math.nan) for s in ("moasim-rb", "ij-float-inverted", "moasim-profile")]
            print(f"{k[0] + 1:>4} {k[1] + 1:>3} {mass[k]:10.4g} {rb[k]['intensity']:10.4g} {ref[k]:10.4g} "
                  f"{diff[k]:+8.2%} {e[0]:+9.2%} {e[1]:+9.2%} {e[2]:+9.2%} {bge['ImageJ'][k]:8.1f} {bge['moasim'][k]:8.1f}"
                  f"  {';'.join(rb[k]['flags'])}")
    ad = np.abs(list(diff.values()))
    ad2 = np.abs(list(diff2d.values()))
    print(f"  |moasim-rb - ImageJ-rb| / ImageJ per band: max {ad.max():.2%}, median {np.median(ad):.2%} "
          f"(moasim 2-D before clamping: max {ad2.max():.2%}, median {np.median(ad2):.2%})")
    d16 = np.abs([ij["16bit-inverted"][k] / ref[k] - 1.0 for k in rb])
    d16l = np.abs([ij["16bit-light"][k] / ij["16bit-inverted"][k] - 1.0 for k in rb])
    print(f"  ImageJ 16-bit (clipped) vs 32-bit: max {d16.max():.2%}, median {np.median(d16):.2%}; "
          f"'light' vs inverted 16-bit: max {d16l.max():.3%}")
    for who, e in bge.items():
        v = np.array(list(e.values()))
        print(f"  {who} rolling-ball background - true, mean over a box: median {np.median(v):+.1f}, "
              f"range {v.min():+.1f} .. {v.max():+.1f} counts/pixel")
    strong = {k for k in mass if mass[k] >= 0.2 * max(mass[j] for j in mass if j[1] == k[1])}
    print("  max |share error| vs known mass (all bands / bands >= 20% of the row's largest):")
    summary = {"max_diff": ad.max(), "median_diff": float(np.median(ad))}
    for s, e in err.items():
        a = [abs(v) for v in e.values()]
        b = [abs(v) for k, v in e.items() if k in strong]
        if a:
            print(f"    {s:<20} {max(a):8.2%}  {max(b):8.2%}   (median {np.median(a):.2%}, {len(a)} bands)")
            summary[s] = max(a)
    return summary


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--keep", help="write the TIFFs and CSVs to this directory (default: a temporary one)")
    ap.add_argument("--quiet", action="store_true", help="summaries only, no per-band table")
    a = ap.parse_args(argv)
    work = a.keep or tempfile.mkdtemp(prefix="imagej_blot_")
    os.makedirs(work, exist_ok=True)
    try:
        res = {name: check(name, *g, work, a.quiet) for name, g in gels().items()}
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)
    print("\nsummary  (rb diff = |moasim - ImageJ| / ImageJ, rolling ball 50; err = max |share error| vs known)")
    print(f"{'gel':<9} {'diff max':>9} {'median':>8} {'mo-rb':>8} {'IJ-rb':>8} {'IJ16inv':>8} {'IJ16lt':>8} {'mo-prof':>8}")
    for name, s in res.items():
        print(f"{name:<9} {s['max_diff']:9.2%} {s['median_diff']:8.2%} {s['moasim-rb']:8.2%} "
              f"{s['ij-float-inverted']:8.2%} {s['ij-16bit-inverted']:8.2%} {s['ij-16bit-light']:8.2%} "
              f"{s['moasim-profile']:8.2%}")


if __name__ == "__main__":
    main()
