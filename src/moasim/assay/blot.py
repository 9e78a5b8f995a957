"""Western-blot densitometry: lanes, bands, background, integrated intensities, normalisation.

Pipeline (as ImageJ's gel analyser, scripted): load a TIFF/PNG (16-bit kept), make bands
bright (chemiluminescence scans are usually dark-on-light and are inverted), subtract the
background, find lanes from the column profile, find bands by Otsu segmentation
(scikit-image ``regionprops``), and integrate the background-subtracted signal over each
band's box (lane width x band rows).

Background:

* ``'rolling-ball'``: grey-scale rolling ball (Sternberg 1983; scikit-image
  ``rolling_ball`` with an ellipsoid kernel, on a min-shrunken image for speed, as ImageJ does).
  A ball wider than the bands removes any smooth background; planes are preserved exactly.
* ``'local'``: per band, a straight baseline between the medians of thin strips just above
  and below the band in the same lane (ImageJ's "straight line" baseline), column by column.

Normalisation: ``phospho / total`` and ``phospho / loading`` per lane, fold change vs the
mean of the vehicle lanes.

References
----------
Sternberg SR (1983) Biomedical image processing. Computer 16:22-34.
Gassmann M et al. (2009) Quantifying Western blots: pitfalls of densitometry. Electrophoresis 30:1845.
Otsu N (1979) A threshold selection method from gray-level histograms. IEEE Trans SMC 9:62-66.
"""

from __future__ import annotations

import math
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from ..errors import DataError, SpecError, invalid_value, unknown_name

__all__ = ["BlotImage", "Band", "blot_from_array", "BlotQuantification", "load_blot", "subtract_background", "find_lanes",
           "quantify_blot", "normalise_blot", "plot_blot", "BACKGROUNDS"]

BACKGROUNDS: tuple[str, ...] = ("rolling-ball", "local", "none")
_IMAGE_EXT = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")


def _ro(a) -> np.ndarray:
    a = np.array(a, copy=True)
    a.flags.writeable = False
    return a


@dataclass(frozen=True, slots=True, kw_only=True)
class BlotImage:
    """A grey-scale blot image with bands bright (float64, original intensity units)."""

    pixels: np.ndarray = field(repr=False)
    source: str
    inverted: bool
    bit_depth: int

    @property
    def shape(self) -> tuple[int, int]:
        return tuple(self.pixels.shape)


def _image_error(path, why: str) -> DataError:
    return DataError(invalid_value("blot image", str(path), f"a readable grey-scale or RGB TIFF/PNG ({why})"))


def load_blot(path: str | os.PathLike, *, invert: bool | None = None) -> BlotImage:
    """Read a blot image (TIFF via tifffile, keeping 16-bit data; PNG/JPEG via imageio).

    Parameters
    ----------
    invert
        ``True``: dark bands on light background (film, most scanners) -> inverted as
        ``max_value - pixel``; ``False``: already bright bands (fluorescence); ``None``: decide
        from the image (inverted when the median is nearer the maximum than the minimum).
    """
    p = str(path)
    if not os.path.isfile(p):
        raise DataError(invalid_value("blot image", p, "an existing readable file"))
    ext = os.path.splitext(p)[1].lower()
    if ext not in _IMAGE_EXT:
        raise DataError(invalid_value("blot image extension", ext or "(none)", ", ".join(_IMAGE_EXT)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ext in (".tif", ".tiff"):
                import tifffile

                arr = tifffile.imread(p)
            else:
                import imageio.v3 as iio

                arr = iio.imread(p, extension=ext)
    except Exception as exc:  # decoders raise many types on corrupt input
        raise _image_error(p, (str(exc).splitlines() or [type(exc).__name__])[0][:80]) from None
    arr = np.asarray(arr)
    if arr.dtype == object or arr.size == 0 or not np.issubdtype(arr.dtype, np.number):
        raise _image_error(p, "no numeric pixel data")
    arr = np.squeeze(arr)
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].astype(float) @ np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance
    if arr.ndim != 2 or min(arr.shape) < 16:
        raise _image_error(p, f"shape {arr.shape}; need one 2-D plane of at least 16 x 16 pixels")
    bits = int(np.iinfo(arr.dtype).bits) if np.issubdtype(arr.dtype, np.integer) else 0
    img = arr.astype(float)
    if not np.all(np.isfinite(img)):
        raise _image_error(p, "non-finite pixels")
    return _orient(img, p, invert, bits)


def _orient(img: np.ndarray, source: str, invert: bool | None, bits: int) -> BlotImage:
    lo, hi = float(img.min()), float(img.max())
    if hi <= lo:
        raise DataError(invalid_value("blot image", source, "an image with contrast (it is uniform)"))
    if invert is None:
        invert = float(np.median(img)) > 0.5 * (lo + hi)
    top = float(2**bits - 1) if bits else hi
    px = top - img if invert else img
    return BlotImage(pixels=_ro(px), source=source, inverted=bool(invert), bit_depth=bits)


def blot_from_array(pixels, *, invert: bool | None = False, source: str = "array") -> BlotImage:
    """Wrap an array (bands bright unless ``invert``)."""
    a = np.asarray(pixels, dtype=float)
    if a.ndim != 2 or min(a.shape) < 16 or not np.all(np.isfinite(a)):
        raise DataError(invalid_value("blot array", f"shape {a.shape}", "a finite 2-D array of at least 16 x 16"))
    return _orient(a, source, invert, 0)


# ----------------------------------------------------------------------------- background


def subtract_background(pixels: np.ndarray, radius: float = 50.0) -> tuple[np.ndarray, np.ndarray]:
    """Rolling-ball background (Sternberg 1983) -> (signal, background).

    The background is the grey-scale opening of the image by a ball of ``radius`` (pixels and
    intensity units alike, as ImageJ): erosion then dilation with a spherical structuring
    element, which leaves any plane unchanged and removes features narrower than the ball.
    For speed the image is shrunk by block means (factor ~radius/10; plane-exact), opened,
    and interpolated back bilinearly. Edges are padded by odd reflection (planes continue).
    The opening sits at the noise minima; the background is raised by the median residual
    of the background pixels (those below the Otsu threshold of the residual) to remove that bias.
    """
    from scipy import ndimage
    from skimage.filters import threshold_otsu

    if not radius > 1:
        raise SpecError(invalid_value("rolling-ball radius", radius, "a number of pixels > 1"))
    img0 = np.asarray(pixels, dtype=float)
    plane = _background_plane(img0)
    img = img0 - plane  # detrended: even reflection at the edges then adds no false dips or ramps
    f = max(1, int(radius // 10))
    h, w = img.shape
    H, W = -(-h // f), -(-w // f)
    padded = np.pad(img, ((0, H * f - h), (0, W * f - w)), mode="reflect")
    small = padded.reshape(H, f, W, f).mean(axis=(1, 3))
    r = max(2, int(math.ceil(radius / f)))
    yy, xx = np.mgrid[-r:r + 1, -r:r + 1] * float(f)
    d2 = yy**2 + xx**2
    footprint = d2 <= radius**2
    ball = np.where(footprint, np.sqrt(np.clip(radius**2 - d2, 0, None)) - radius, 0.0)  # sphere cap, apex 0
    big = np.pad(small, r, mode="reflect")
    opened = ndimage.grey_opening(big, footprint=footprint, structure=ball)[r:-r, r:-r]
    if f > 1:
        # block centres -> full-resolution pixel grid, bilinear (exact for planes)
        cy = (np.arange(h) - (f - 1) / 2) / f
        cx = (np.arange(w) - (f - 1) / 2) / f
        Y, X = np.meshgrid(cy, cx, indexing="ij")
        bg = ndimage.map_coordinates(np.pad(opened, 1, mode="reflect"), [Y + 1, X + 1], order=1, mode="nearest")
    else:
        bg = opened
    resid = img - bg
    try:
        t = threshold_otsu(resid)
        floor = resid[resid <= t]
        if floor.size > 0.2 * resid.size:
            bg = bg + float(np.median(floor))
    except ValueError:
        pass
    bg = bg + plane
    return img0 - bg, bg


def _background_plane(img: np.ndarray, iterations: int = 4) -> np.ndarray:
    """Least-squares plane through the background pixels (iteratively: pixels below the median residual)."""
    h, w = img.shape
    step = max(1, int(math.sqrt(h * w / 40000)))
    yy, xx = np.mgrid[0:h:step, 0:w:step]
    z = img[::step, ::step].ravel()
    A = np.column_stack([np.ones(z.size), yy.ravel(), xx.ravel()])
    keep = np.ones(z.size, dtype=bool)
    coef = np.zeros(3)
    for _ in range(iterations):
        coef = np.linalg.lstsq(A[keep], z[keep], rcond=None)[0]
        res = z - A @ coef
        keep = res <= np.median(res[keep])
    Y, X = np.mgrid[0:h, 0:w]
    return coef[0] + coef[1] * Y + coef[2] * X


# ----------------------------------------------------------------------------- lanes and bands


def find_lanes(signal: np.ndarray, n_lanes: int | None = None, *, width_fraction: float = 0.8) -> list[tuple[int, int]]:
    """Lane column ranges ``[x0, x1)`` from peaks of the column profile.

    With ``n_lanes`` the most prominent ``n_lanes`` peaks are kept. Lane width is
    ``width_fraction`` of the median spacing between lane centres.
    """
    from scipy import ndimage, signal as sps

    prof = np.clip(signal, 0, None).sum(axis=0)
    w = signal.shape[1]
    sm = ndimage.gaussian_filter1d(prof, max(1.0, w / 200))
    if sm.max() <= 0:
        raise DataError(invalid_value("blot", "no signal above background", "an image with bands"))
    peaks, props = sps.find_peaks(sm, prominence=0.05 * sm.max(), distance=max(3, w // 60))
    if n_lanes is not None:
        if n_lanes < 1:
            raise SpecError(invalid_value("lanes", n_lanes, "an integer >= 1"))
        if peaks.size < n_lanes:
            raise DataError(invalid_value("lanes", f"{peaks.size} found", f"{n_lanes} lanes with signal (--lanes)"))
        keep = np.sort(np.argsort(props["prominences"])[::-1][:n_lanes])
        peaks = peaks[keep]
    if peaks.size == 0:
        raise DataError(invalid_value("blot", "no lanes found", "an image with lanes of bands"))
    spacing = float(np.median(np.diff(peaks))) if peaks.size > 1 else float(w) / 2
    half = max(1, int(round(width_fraction * spacing / 2)))
    return [(max(0, int(c) - half), min(w, int(c) + half + 1)) for c in peaks]


def _band_rows(signal: np.ndarray, lanes: list[tuple[int, int]], min_rows: int) -> list[list[tuple[int, int]]]:
    """Per lane, row ranges of bands: Otsu mask -> connected regions -> row extents (merged if overlapping)."""
    from skimage.filters import threshold_otsu
    from skimage.measure import label, regionprops

    pos = np.clip(signal, 0, None)
    try:
        t = threshold_otsu(pos)
    except ValueError:
        t = 0.0
    mask = pos > t
    out = []
    for x0, x1 in lanes:
        lab = label(mask[:, x0:x1])
        spans = sorted((r.bbox[0], r.bbox[2]) for r in regionprops(lab) if r.area >= 4)
        merged: list[list[int]] = []
        for a, b in spans:
            if merged and a <= merged[-1][1] + 1:
                merged[-1][1] = max(merged[-1][1], b)
            else:
                merged.append([a, b])
        out.append([(a, b) for a, b in merged if b - a >= min_rows])
    return out


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One measured band: box rows ``[y0, y1)`` x lane columns ``[x0, x1)``; intensities in pixel units x pixels."""

    lane: int
    index: int  # 0 = top band of the lane (highest molecular weight)
    name: str
    lane_label: str
    x0: int
    x1: int
    y0: int
    y1: int
    intensity: float  # background-subtracted integrated intensity
    background: float  # integrated background under the box
    raw: float  # raw integrated intensity


@dataclass(frozen=True, slots=True, kw_only=True)
class BlotQuantification:
    """All bands of one blot (immutable) with the background-subtracted image used."""

    source: str
    method: str
    lanes: tuple[tuple[int, int], ...]
    bands: tuple[Band, ...]
    signal: np.ndarray = field(repr=False)
    image: np.ndarray = field(repr=False)

    def to_frame(self) -> pd.DataFrame:
        return pd.DataFrame([{"lane": b.lane + 1, "lane_label": b.lane_label, "band": b.index + 1, "target": b.name,
                              "x0": b.x0, "x1": b.x1, "y0": b.y0, "y1": b.y1, "intensity": b.intensity,
                              "background": b.background, "raw": b.raw} for b in self.bands])

    def to_dict(self) -> dict:
        return {"source": self.source, "background": self.method, "n_lanes": len(self.lanes),
                "lanes": [list(map(int, lane)) for lane in self.lanes],
                "bands": [{"lane": b.lane + 1, "lane_label": b.lane_label, "band": b.index + 1, "target": b.name,
                           "box": [b.x0, b.y0, b.x1, b.y1], "intensity": float(b.intensity),
                           "background": float(b.background), "raw": float(b.raw)} for b in self.bands]}


def _local_baseline(img: np.ndarray, x0: int, x1: int, y0: int, y1: int, strip: int) -> np.ndarray:
    """Straight baseline per column between strips above and below the band (median of each)."""
    h = img.shape[0]
    top = img[max(0, y0 - strip):y0, x0:x1]
    bot = img[y1:min(h, y1 + strip), x0:x1]
    if top.size == 0 and bot.size == 0:
        return np.zeros((y1 - y0, x1 - x0))
    mt = np.median(top, axis=0) if top.size else np.median(bot, axis=0)
    mb = np.median(bot, axis=0) if bot.size else mt
    yt, yb = y0 - (top.shape[0] + 1) / 2, y1 + (bot.shape[0] - 1) / 2 if bot.size else y1
    frac = (np.arange(y0, y1)[:, None] - yt) / max(yb - yt, 1e-9)
    return mt[None, :] + frac * (mb - mt)[None, :]


def _explicit_lanes(centres: Sequence[float], width: float | None, image_width: int) -> list[tuple[int, int]]:
    c = np.asarray(list(centres), dtype=float)
    if c.size == 0 or not np.all(np.isfinite(c)) or np.any(np.diff(c) <= 0) or c.min() < 0 or c.max() >= image_width:
        raise SpecError(invalid_value("lane centres", list(centres)[:6], f"increasing pixel columns in 0..{image_width - 1}"))
    if width is None:
        width = 0.8 * float(np.median(np.diff(c))) if c.size > 1 else image_width / 2
    if not (np.isfinite(width) and width >= 1):
        raise SpecError(invalid_value("lane width", width, "a number of pixels >= 1"))
    half = max(1, int(round(width / 2)))
    return [(max(0, int(round(x)) - half), min(image_width, int(round(x)) + half + 1)) for x in c]


def _band_extents(sig: np.ndarray, lanes, cores: list[tuple[int, int]], margin: int, frac: float = 0.01):
    """Rows of each band target: from its detected core, extend while the lane-summed row profile
    stays above ``frac`` of the band's peak (tails), not past the midpoint to the next band; add ``margin``."""
    h = sig.shape[0]
    prof = sum(np.clip(sig[:, x0:x1], 0, None).sum(axis=1) for x0, x1 in lanes)
    out = []
    for i, (a, b) in enumerate(cores):
        lo_lim = 0 if i == 0 else (cores[i - 1][1] + a) // 2
        hi_lim = h if i == len(cores) - 1 else (b + cores[i + 1][0]) // 2
        peak = float(prof[a:b].max()) if b > a else 0.0
        y0, y1 = a, b
        while y0 > lo_lim and prof[y0 - 1] > frac * peak:
            y0 -= 1
        while y1 < hi_lim and prof[y1] > frac * peak:
            y1 += 1
        out.append((max(lo_lim, y0 - margin), min(hi_lim, y1 + margin)))
    return out


def quantify_blot(image: BlotImage | str | os.PathLike, *, n_lanes: int | None = None,
                  lane_labels: Sequence[str] | None = None, band_names: Sequence[str] | None = None,
                  background: str = "local", radius: float = 50.0, margin: int = 3,
                  invert: bool | None = None, lane_centres: Sequence[float] | None = None,
                  lane_width: float | None = None) -> BlotQuantification:
    """Find lanes and bands and integrate background-subtracted band intensities.

    Parameters
    ----------
    image
        A :class:`BlotImage` or a path (TIFF/PNG; ``invert`` as :func:`load_blot`).
    n_lanes
        Expected number of lanes (recommended); default: every lane found.
    lane_labels
        Names of the lanes left to right (e.g. ``vehicle, 1 nM, 10 nM``).
    band_names
        Targets top to bottom (e.g. ``pSTAT5, GAPDH``); each lane's bands are matched by their
        row position to the bands found across all lanes.
    background
        ``'local'`` (default), ``'rolling-ball'`` or ``'none'``.
    radius
        Rolling-ball radius in pixels (larger than the bands' half-height).
    margin
        Rows added above and below each detected band before integrating (captures tails);
        also the strip height of the local baseline.
    lane_centres, lane_width
        Explicit lane centres (pixel columns, left to right) and width (default 80% of the
        spacing): for blots where a lane is empty (e.g. no phospho signal in the vehicle lane)
        and cannot be found from the image.
    """
    if background not in BACKGROUNDS:
        raise SpecError(unknown_name("background method", background, BACKGROUNDS))
    img = image if isinstance(image, BlotImage) else load_blot(image, invert=invert)
    px = np.asarray(img.pixels, dtype=float)
    if background == "rolling-ball":
        sig, _ = subtract_background(px, radius)
    elif background == "local":
        sig, _ = subtract_background(px, max(radius, 2.0))  # only to find lanes/bands; integration uses local baselines
    else:
        sig = px - float(np.percentile(px, 1))
    if lane_centres is not None:
        lanes = _explicit_lanes(lane_centres, lane_width, px.shape[1])
    else:
        lanes = find_lanes(sig, n_lanes)
    if lane_labels is not None and len(lane_labels) != len(lanes):
        raise SpecError(invalid_value("lane labels", len(lane_labels), f"one label per lane ({len(lanes)} lanes found)"))
    labels = [str(s) for s in lane_labels] if lane_labels is not None else [str(i + 1) for i in range(len(lanes))]
    rows = _band_rows(sig, lanes, min_rows=2)
    # band "rows" (targets) across lanes: cluster band centres by position
    centres = sorted(((a + b) / 2, li, (a, b)) for li, rs in enumerate(rows) for a, b in rs)
    if not centres:
        raise DataError(invalid_value("blot", "no bands found", "an image with bands above background"))
    groups: list[list] = []
    tol = max(4.0, 0.03 * px.shape[0])
    for c in centres:
        if groups and c[0] - np.mean([g[0] for g in groups[-1]]) <= tol:
            groups[-1].append(c)
        else:
            groups.append([c])
    if band_names is not None and len(band_names) != len(groups):
        raise DataError(invalid_value("band names", len(band_names), f"one name per band row ({len(groups)} band rows found)"))
    names = [str(n) for n in band_names] if band_names is not None else [f"band{i + 1}" for i in range(len(groups))]
    bands = []
    extents = _band_extents(sig, lanes, [(min(g[2][0] for g in grp), max(g[2][1] for g in grp)) for grp in groups], margin)
    for gi, (y0, y1) in enumerate(extents):
        for li, (x0, x1) in enumerate(lanes):
            raw = float(px[y0:y1, x0:x1].sum())
            if background == "local":
                base = _local_baseline(px, x0, x1, y0, y1, max(2, margin))
                bgi = float(base.sum())
                val = raw - bgi
            else:
                val = float(sig[y0:y1, x0:x1].sum())
                bgi = raw - val
            bands.append(Band(lane=li, index=gi, name=names[gi], lane_label=labels[li], x0=x0, x1=x1, y0=y0, y1=y1,
                              intensity=val, background=bgi, raw=raw))
    bands.sort(key=lambda b: (b.lane, b.index))
    return BlotQuantification(source=img.source, method=background, lanes=tuple(lanes), bands=tuple(bands),
                              signal=_ro(sig), image=_ro(px))


# ----------------------------------------------------------------------------- normalisation


def normalise_blot(measurements: pd.DataFrame | BlotQuantification | Mapping[str, BlotQuantification], *,
                   phospho: str, total: str | None = None, loading: str | None = None,
                   vehicle: str | Sequence[str] | None = None) -> pd.DataFrame:
    """Per-lane ratios and fold change vs vehicle.

    Parameters
    ----------
    measurements
        A quantification (targets as band names), a mapping target -> quantification of
        separate images/strips with the same lane order, or a table with columns
        ``lane``, ``lane_label``, ``target``, ``intensity``.
    phospho, total, loading
        Target names, e.g. ``'pSTAT5'``, ``'STAT5'``, ``'GAPDH'``.
    vehicle
        Lane label(s) of the vehicle control; fold change = ratio / mean(vehicle ratios).

    Returns
    -------
    DataFrame per lane: intensities, ``phospho_over_total``, ``phospho_over_loading``,
    ``total_over_loading`` (where available), ``normalised`` (phospho/total if a total is
    given, else phospho/loading) and ``fold_change``.
    """
    if isinstance(measurements, BlotQuantification):
        tab = measurements.to_frame()
    elif isinstance(measurements, Mapping):
        parts = []
        for tgt, q in measurements.items():
            t = q.to_frame()
            t["target"] = tgt
            parts.append(t)
        tab = pd.concat(parts, ignore_index=True)
    else:
        tab = measurements
    for c in ("lane", "lane_label", "target", "intensity"):
        if c not in tab.columns:
            raise DataError(unknown_name("column", c, list(tab.columns), "blot measurements"))
    wide = tab.pivot_table(index=["lane", "lane_label"], columns="target", values="intensity", aggfunc="sum").reset_index()
    targets = [str(c) for c in wide.columns if c not in ("lane", "lane_label")]
    for t in (phospho, total, loading):
        if t is not None and t not in targets:
            raise SpecError(unknown_name("target", t, targets))
    out = wide[["lane", "lane_label"]].copy()
    for t in (phospho, total, loading):
        if t is not None:
            out[t] = wide[t].to_numpy(dtype=float)
    with np.errstate(divide="ignore", invalid="ignore"):
        if total:
            out["phospho_over_total"] = out[phospho] / out[total]
        if loading:
            out["phospho_over_loading"] = out[phospho] / out[loading]
            if total:
                out["total_over_loading"] = out[total] / out[loading]
    if not total and not loading:
        raise SpecError(invalid_value("normalisation", "neither total nor loading control", "--total and/or --loading"))
    out["normalised"] = out["phospho_over_total"] if total else out["phospho_over_loading"]
    if vehicle is not None:
        veh = [vehicle] if isinstance(vehicle, str) else list(vehicle)
        m = out["lane_label"].isin(veh)
        if not m.any():
            raise SpecError(unknown_name("vehicle lane", veh[0], out["lane_label"].astype(str).tolist()))
        ref = float(out.loc[m, "normalised"].mean())
        out["fold_change"] = out["normalised"] / ref if ref != 0 else np.nan
    return out


# ----------------------------------------------------------------------------- plot


def plot_blot(q: BlotQuantification, path: str | os.PathLike | None = None):
    """The blot with every measured box outlined and labelled (lane, target, intensity)."""
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    h, w = q.image.shape
    fig, axes = plt.subplots(1, 2, figsize=(min(16, 4 + 2 * w / max(h, 1) * 3), 4.8))
    right = ("background removed (rolling ball, used to find lanes/bands); intensities use local baselines"
             if q.method == "local" else f"background removed ({q.method})")
    for ax, im, title in ((axes[0], q.image, "image (dark = signal)"), (axes[1], q.signal, right)):
        ax.imshow(im, cmap="gray_r", aspect="auto")
        ax.set_title(title, fontsize=9)
        ax.set_xticks([(a + b) / 2 for a, b in q.lanes])
        ax.set_xticklabels([b.lane_label for b in q.bands if b.index == 0] or [str(i + 1) for i in range(len(q.lanes))],
                           rotation=45, fontsize=7)
        ax.set_yticks([])
    peak = max((abs(b.intensity) for b in q.bands), default=1.0) or 1.0
    for b in q.bands:
        axes[1].add_patch(Rectangle((b.x0 - 0.5, b.y0 - 0.5), b.x1 - b.x0, b.y1 - b.y0, fill=False, color="C3", lw=0.8))
        axes[1].text((b.x0 + b.x1) / 2, b.y0 - 1, f"{b.intensity / peak:.2f}", color="C3", fontsize=6, ha="center", va="bottom")
        if b.lane == 0:
            axes[0].text(-1, (b.y0 + b.y1) / 2, b.name, ha="right", va="center", fontsize=8)
    fig.suptitle(f"{os.path.basename(q.source)}: {len(q.lanes)} lanes; numbers = intensity / max", fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
