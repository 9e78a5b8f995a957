"""Western-blot densitometry: lanes, bands, background, integrated intensities, normalisation.

The procedure of ImageJ's gel analyser (``Analyze > Gels``), scripted: load a TIFF/PNG (16-bit
kept) and make bands bright (chemiluminescence scans are dark-on-light and are inverted); find
the lanes from the column profile; per lane, take the lane profile (intensity summed across the
lane, row by row), draw a baseline under it, find the bands as peaks of the profile and
integrate the area between profile and baseline over each band's rows.

Lanes and bands (:mod:`._blot_lanes`)
    Lanes are peaks of the column profile of a log-compressed image, rows weighted by the band
    signal they hold (faint lanes stand out as well as strong ones); boxes share one width (2%
    edges of the lane profile) and are cut at the valley between neighbours, so they never
    overlap. Bands are peaks of each lane's row profile
    (``scipy.signal.find_peaks``), linked across lanes into band rows (targets) tolerant of tilt
    and of shifts of a few pixels between lane groups.
Background (``background=``, :mod:`._blot_background`)
    * ``'profile'`` (default): per lane, a cubic smoothing spline through the rows of the lane
      profile outside every band window, bridging the bands (smoothing length: the widest
      band's FWHM); the automated form of the baselines drawn under the peaks in ImageJ's gel
      analyser, following curved backgrounds that straight lines and rolling balls cut through.
    * ``'rolling-ball'``: a 2-D rolling ball after ImageJ's ``Subtract Background`` (ball radius
      ``radius`` pixels, default 50; not identical to ImageJ's, see
      :mod:`._blot_background`) summed across the lane.
    * ``'local'``: a straight line under each band between the profile just above and just
      below its rows (``margin`` rows each).
    * ``'none'``: the 1st percentile of the image.

    Whatever the method, the baseline is clamped below the lane profile row by row, so a
    background can never exceed the signal it is subtracted from. Bands whose corrected
    intensity is not positive beyond noise (3 SD of the integrated pixel noise) are flagged
    (``'non-positive'``), as are bands not detected in their lane (``'not-detected'``, measured
    where the band row is interpolated) and bands with saturated pixels (``'saturated'``: the
    detector's full scale, or a clipped maximum); non-positive and saturated bands also give a
    warning line in ``notes``.

Normalisation: ``phospho / total`` and ``phospho / loading`` per lane, fold change vs the mean of
the vehicle lanes.

References
----------
Schneider CA, Rasband WS, Eliceiri KW (2012) NIH Image to ImageJ: 25 years of image analysis.
Nat Methods 9:671-675.
Sternberg SR (1983) Biomedical image processing. Computer 16:22-34.
Gassmann M et al. (2009) Quantifying Western blots: pitfalls of densitometry. Electrophoresis 30:1845.
Woltring HJ (1986) A Fortran package for generalized, cross-validatory spline smoothing and
differentiation. Adv Eng Software 8:104-113.
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
from . import _blot_background as _bg
from . import _blot_lanes as _ln
from .._frozen import read_only

__all__ = ["BlotImage", "Band", "blot_from_array", "BlotQuantification", "load_blot", "subtract_background", "find_lanes",
           "quantify_blot", "normalise_blot", "plot_blot", "BACKGROUNDS", "FLAGS"]

BACKGROUNDS: tuple[str, ...] = ("profile", "rolling-ball", "local", "none")
#: band flags: corrected intensity not positive beyond noise (<= 3 SD of the pixel noise integrated over
#: the box); band not found in its lane (measured where its row runs); saturated pixels in its box
FLAGS: tuple[str, ...] = ("non-positive", "not-detected", "saturated")
_IMAGE_EXT = (".tif", ".tiff", ".png", ".jpg", ".jpeg", ".bmp")
_BALL_RADIUS = 50.0  # ImageJ's default rolling-ball radius (pixels)
_SMOOTHED_SD = 1.0 / math.sqrt(2.0 * math.sqrt(math.pi))  # noise SD left by a 1-row Gaussian smoothing


@dataclass(frozen=True, slots=True, kw_only=True)
class BlotImage:
    """A grey-scale blot image with bands bright (float64, original intensity units).

    ``saturation``: the band-bright intensity at which the detector clipped (pixels at or above
    it are saturated), ``None`` when nothing is clipped.
    """

    pixels: np.ndarray = field(repr=False)
    source: str
    inverted: bool
    bit_depth: int
    saturation: float | None = None

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

    Saturated pixels (full scale of an integer image, i.e. 0 of a dark-on-light scan, or a
    clipped maximum) are recorded in :attr:`BlotImage.saturation`.
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
    bits = int(np.iinfo(arr.dtype).bits) if np.issubdtype(arr.dtype, np.integer) else 0  # of each channel
    if arr.ndim == 3 and arr.shape[-1] in (3, 4):
        arr = arr[..., :3].astype(float) @ np.array([0.2126, 0.7152, 0.0722])  # Rec. 709 luminance
    if arr.ndim != 2 or min(arr.shape) < 16:
        raise _image_error(p, f"shape {arr.shape}; need one 2-D plane of at least 16 x 16 pixels")
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
    sat = _bg.clipped_level(px, top if bits else None)
    return BlotImage(pixels=read_only(px), source=source, inverted=bool(invert), bit_depth=bits, saturation=sat)


def blot_from_array(pixels, *, invert: bool | None = False, source: str = "array") -> BlotImage:
    """Wrap an array (bands bright unless ``invert``); a clipped maximum is recorded as saturation."""
    a = np.asarray(pixels, dtype=float)
    if a.ndim != 2 or min(a.shape) < 16 or not np.all(np.isfinite(a)):
        raise DataError(invalid_value("blot array", f"shape {a.shape}", "a finite 2-D array of at least 16 x 16"))
    return _orient(a, source, invert, 0)


# ----------------------------------------------------------------------------- background and lanes


def subtract_background(pixels: np.ndarray, radius: float = _BALL_RADIUS) -> tuple[np.ndarray, np.ndarray]:
    """ImageJ's rolling-ball background (Sternberg 1983) -> ``(signal, background)``, intensity units.

    ``radius``: ball radius in pixels (ImageJ's default 50), larger than the bands' half-height.
    See :func:`moasim.assay._blot_background.rolling_ball_background` for the details.
    """
    _check_radius(radius)
    img = np.asarray(pixels, dtype=float)
    bg = _bg.rolling_ball_background(img, float(radius))
    return img - bg, bg


def _check_radius(radius) -> None:
    if not (isinstance(radius, (int, float)) and math.isfinite(radius) and radius > 1):
        raise SpecError(invalid_value("background radius", radius, "a number of pixels > 1"))


def find_lanes(signal: np.ndarray, n_lanes: int | None = None, *,
               width_fraction: float | None = None) -> list[tuple[int, int]]:
    """Lane column ranges ``[x0, x1)`` (non-overlapping) from a background-subtracted image.

    Parameters
    ----------
    signal
        Bands bright, background about 0 (e.g. the first output of :func:`subtract_background`).
    n_lanes
        Number of lanes expected; the ``n_lanes`` most prominent peaks of the column profile.
    width_fraction
        Box width as a fraction of the median lane spacing; default: measured from the column
        profile (2% edges of the lanes, common to all lanes).
    """
    if n_lanes is not None and not (isinstance(n_lanes, (int, np.integer)) and n_lanes >= 1):
        raise SpecError(invalid_value("lanes", n_lanes, "an integer >= 1"))
    equalised, mean, sd = _ln.column_profiles(signal)
    centres = _ln.find_lane_centres(equalised, sd, n_lanes)
    return _ln.lane_boxes(mean, centres, width_fraction=width_fraction)


def _explicit_centres(centres: Sequence[float], image_width: int) -> np.ndarray:
    try:
        c = np.asarray(list(centres), dtype=float)
    except (TypeError, ValueError):
        c = np.array([np.nan])
    if c.size == 0 or not np.all(np.isfinite(c)) or np.any(np.diff(c) <= 0) or c.min() < 0 or c.max() >= image_width:
        raise SpecError(invalid_value("lane centres", list(centres)[:6], f"increasing pixel columns in 0..{image_width - 1}"))
    return c


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True, slots=True, kw_only=True)
class Band:
    """One measured band: rows ``[y0, y1)`` x lane columns ``[x0, x1)``.

    Intensities are integrated intensity units x pixels. ``peak``: the band's row (detected, or
    interpolated when ``'not-detected'``); ``saturated``: saturated pixels in the box; ``flags``:
    any of :data:`FLAGS`.
    """

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
    peak: float = float("nan")
    saturated: int = 0
    flags: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True, kw_only=True)
class BlotQuantification:
    """All bands of one blot (immutable), the image, the detection signal and the lane profiles.

    ``signal``: the image less its 2-D rolling-ball background (used to find lanes and bands);
    ``profiles`` / ``baselines``: per lane, raw lane profile and baseline (intensity x pixels per
    row; for ``'local'`` the baseline is defined under the bands only, NaN elsewhere);
    ``radius``: the rolling-ball radius used (pixels; the ``'rolling-ball'`` background and, for
    every method, the background removed to find lanes and bands); ``notes``: warnings about
    flagged bands and band rows left out.
    """

    source: str
    method: str
    lanes: tuple[tuple[int, int], ...]
    bands: tuple[Band, ...]
    signal: np.ndarray = field(repr=False)
    image: np.ndarray = field(repr=False)
    profiles: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    baselines: np.ndarray = field(repr=False, default_factory=lambda: np.zeros((0, 0)))
    radius: float = float("nan")
    notes: tuple[str, ...] = ()

    def to_frame(self) -> pd.DataFrame:
        cols = ["lane", "lane_label", "band", "target", "x0", "x1", "y0", "y1", "intensity", "background", "raw",
                "peak", "saturated_pixels", "flag"]
        return pd.DataFrame([{"lane": b.lane + 1, "lane_label": b.lane_label, "band": b.index + 1, "target": b.name,
                              "x0": b.x0, "x1": b.x1, "y0": b.y0, "y1": b.y1, "intensity": b.intensity,
                              "background": b.background, "raw": b.raw, "peak": b.peak,
                              "saturated_pixels": b.saturated, "flag": ";".join(b.flags)} for b in self.bands],
                            columns=cols)

    def to_dict(self) -> dict:
        return {"source": self.source, "background": self.method, "n_lanes": len(self.lanes),
                "radius": None if not math.isfinite(self.radius) else float(self.radius),
                "lanes": [list(map(int, lane)) for lane in self.lanes],
                "bands": [{"lane": b.lane + 1, "lane_label": b.lane_label, "band": b.index + 1, "target": b.name,
                           "box": [b.x0, b.y0, b.x1, b.y1], "intensity": float(b.intensity),
                           "background": float(b.background), "raw": float(b.raw),
                           "peak_row": None if not math.isfinite(b.peak) else float(b.peak),
                           "saturated_pixels": int(b.saturated), "flags": list(b.flags)} for b in self.bands],
                "notes": list(self.notes)}


# ----------------------------------------------------------------------------- quantification


def quantify_blot(image: BlotImage | str | os.PathLike, *, n_lanes: int | None = None,
                  lane_labels: Sequence[str] | None = None, band_names: Sequence[str] | None = None,
                  background: str = "profile", radius: float | None = None, margin: int = 3,
                  invert: bool | None = None, lane_centres: Sequence[float] | None = None,
                  lane_width: float | None = None) -> BlotQuantification:
    """Find lanes and bands and integrate background-corrected band intensities.

    Parameters
    ----------
    image
        A :class:`BlotImage` or a path (TIFF/PNG; ``invert`` as :func:`load_blot`).
    n_lanes
        Expected number of lanes (recommended); default: every lane found.
    lane_labels
        Names of the lanes left to right (e.g. ``vehicle, 1 nM, 10 nM``).
    band_names
        Targets top to bottom (e.g. ``pSTAT5, GAPDH``): the strongest band rows, as many as
        names, are measured (a note lists weaker rows left out).
    background
        ``'profile'`` (default), ``'rolling-ball'``, ``'local'`` or ``'none'`` (module docstring).
    radius
        Rolling-ball radius in pixels (default 50, ImageJ's), larger than any band's
        half-height: the ``'rolling-ball'`` background and, whatever the method, the background
        removed to find lanes and bands.
    margin
        Rows added above and below each band's window (at least 3 Gaussian SD either side of
        the peak, further while a clear band stays above 2% of its peak); also the height of
        the strips of the ``'local'`` baseline.
    lane_centres, lane_width
        Explicit lane centres (pixel columns, left to right) and width in pixels (default:
        measured from the column profile; boxes never overlap): for blots where a lane is empty
        (e.g. no phospho signal in the vehicle lane) and cannot be found from the image.

    Returns
    -------
    :class:`BlotQuantification`, one :class:`Band` per lane and band row, sorted by lane.
    """
    if background not in BACKGROUNDS:
        raise SpecError(unknown_name("background method", background, BACKGROUNDS))
    if radius is not None:
        _check_radius(radius)
    if not (isinstance(margin, (int, np.integer)) and 0 <= margin <= 1000):
        raise SpecError(invalid_value("margin", margin, "an integer number of rows >= 0"))
    if n_lanes is not None and not (isinstance(n_lanes, (int, np.integer)) and n_lanes >= 1):
        raise SpecError(invalid_value("lanes", n_lanes, "an integer >= 1"))
    if band_names is not None and len(band_names) == 0:
        raise SpecError(invalid_value("band names", "none", "one name per band row, top to bottom"))
    if lane_width is not None and not (isinstance(lane_width, (int, float)) and math.isfinite(lane_width) and lane_width >= 1):
        raise SpecError(invalid_value("lane width", lane_width, "a number of pixels >= 1"))
    img = image if isinstance(image, BlotImage) else load_blot(image, invert=invert)
    px = np.asarray(img.pixels, dtype=float)
    h, w = px.shape
    ball = float(radius) if radius is not None else _BALL_RADIUS
    bg2d = _bg.rolling_ball_background(px, ball)
    det = px - bg2d
    equalised, mean, sd = _ln.column_profiles(det)
    if lane_centres is not None:
        centres = _explicit_centres(lane_centres, w)
    else:
        centres = _ln.find_lane_centres(equalised, sd, n_lanes)
    lanes = _ln.lane_boxes(mean, centres, width=lane_width)
    if lane_labels is not None and len(lane_labels) != len(lanes):
        raise SpecError(invalid_value("lane labels", len(lane_labels), f"one label per lane ({len(lanes)} lanes found)"))
    labels = [str(s) for s in lane_labels] if lane_labels is not None else [str(i + 1) for i in range(len(lanes))]

    noise = max(_bg.pixel_noise(px), 1.0 / math.sqrt(12.0) if img.bit_depth else 0.0)  # integers: rounding noise
    row_sd = [noise * math.sqrt(x1 - x0) * _SMOOTHED_SD for x0, x1 in lanes]
    raw_prof = np.array([px[:, x0:x1].sum(axis=1) for x0, x1 in lanes])
    det_prof = [det[:, x0:x1].sum(axis=1) for x0, x1 in lanes]
    rows, dropped = _ln.find_band_rows(det_prof, row_sd, centres, len(band_names) if band_names is not None else None)
    if band_names is not None and len(band_names) > len(rows):
        raise DataError(invalid_value("band names", len(band_names), f"one name per band row ({len(rows)} band rows found)"))
    names = [str(n) for n in band_names] if band_names is not None else [f"band{i + 1}" for i in range(len(rows))]
    stiffness = max(3.0, max(r.fwhm for r in rows))  # rows: smoothing length of the profile baseline
    floor = float(np.percentile(px, 1))
    sat_mask = px >= img.saturation if img.saturation is not None else None

    bands, baselines, notes = [], [], []
    for li, (x0, x1) in enumerate(lanes):
        prof = raw_prof[li]
        smooth = _bg.smooth_profile(prof)
        others = [win for r in dropped if r.detected[li] for win in _ln.band_windows([r], li, h, margin)]
        windows = _ln.band_windows(rows, li, h, margin)
        if background == "rolling-ball":
            base = _bg.clamp_below(bg2d[:, x0:x1].sum(axis=1), prof)
        elif background == "none":
            base = _bg.clamp_below(np.full(h, floor * (x1 - x0)), prof)
        else:
            base = _bg.profile_baseline(prof, _outside(h, [*windows, *others]), stiffness)
        windows = _ln.band_windows(rows, li, h, margin, smooth - base, row_sd[li])
        if background == "profile":
            base = _bg.profile_baseline(prof, _outside(h, [*windows, *others]), stiffness)
        elif background == "local":
            base = np.full(h, np.nan)
            for y0, y1 in windows:
                base[y0:y1] = np.minimum(_bg.straight_baseline(prof, y0, y1, max(2, margin)), smooth[y0:y1])
        baselines.append(base)
        for gi, (y0, y1) in enumerate(windows):
            raw = float(prof[y0:y1].sum())
            bgi = float(base[y0:y1].sum())
            val = raw - bgi
            nsat = int(np.count_nonzero(sat_mask[y0:y1, x0:x1])) if sat_mask is not None else 0
            sd_int = noise * math.sqrt((y1 - y0) * (x1 - x0))  # integrated pixel noise over the box
            flags = tuple(f for f, on in zip(FLAGS, (val <= max(3.0 * sd_int, 1e-9 * abs(raw)),
                                                      not rows[gi].detected[li], nsat > 0)) if on)
            b = Band(lane=li, index=gi, name=names[gi], lane_label=labels[li], x0=x0, x1=x1, y0=y0, y1=y1,
                     intensity=val, background=bgi, raw=raw, peak=float(rows[gi].centres[li]), saturated=nsat,
                     flags=flags)
            bands.append(b)
            where = f"lane {li + 1} ({labels[li]}) {names[gi]}"
            if "non-positive" in flags:
                notes.append(f"{where}: background-corrected intensity {val:.4g} is not positive beyond noise "
                             f"(3 SD = {3 * sd_int:.3g}; no band above background?); ratios with it are meaningless")
            if nsat:
                notes.append(f"{where}: {nsat} saturated pixels; intensity underestimated (shorter exposure?)")
    strong = [r for r in dropped if r.strength >= 0.05 * max(x.strength for x in rows)]
    if band_names is not None and strong:
        notes.append(f"{len(strong)} more band row(s) not measured, at rows "
                     f"{', '.join(f'{r.position:.0f}' for r in strong[:8])} (only {len(rows)} targets named)")
    bands.sort(key=lambda b: (b.lane, b.index))
    return BlotQuantification(source=img.source, method=background, lanes=tuple(lanes), bands=tuple(bands),
                              signal=read_only(det), image=read_only(px), profiles=read_only(raw_prof), baselines=read_only(np.array(baselines)),
                              radius=ball, notes=tuple(notes))


def _outside(h: int, windows) -> np.ndarray:
    """Rows outside every ``[y0, y1)`` window."""
    m = np.ones(h, dtype=bool)
    for y0, y1 in windows:
        m[y0:y1] = False
    return m


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
        ``lane``, ``lane_label``, ``target``, ``intensity`` (and optionally ``flag``).
    phospho, total, loading
        Target names, e.g. ``'pSTAT5'``, ``'STAT5'``, ``'GAPDH'``.
    vehicle
        Lane label(s) of the vehicle control; fold change = ratio / mean(vehicle ratios).

    Returns
    -------
    DataFrame per lane: intensities, ``phospho_over_total``, ``phospho_over_loading``,
    ``total_over_loading`` (where available), ``normalised`` (phospho/total if a total is
    given, else phospho/loading), ``fold_change`` and, when the table has flags, ``flag``
    (``target: flags`` of the bands used).
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
    roles = [(f, t) for f, t in (("phospho", phospho), ("total", total), ("loading", loading)) if t is not None]
    for i, (f, t) in enumerate(roles):  # a band normalised by itself: a ratio of 1 in every lane
        if any(t == u for _, u in roles[:i]):
            raise SpecError(invalid_value(f"{f} target", t, f"a band other than the {next(g for g, u in roles if u == t)} target"))
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
    if "flag" in tab.columns:
        used = [t for t in (phospho, total, loading) if t is not None]
        fl = tab[tab["target"].isin(used) & (tab["flag"].fillna("") != "")]
        by_lane: dict = {}
        for lane, tgt, f in zip(fl["lane"], fl["target"], fl["flag"]):
            by_lane.setdefault(lane, []).append(f"{tgt}: {f}")
        out["flag"] = ["; ".join(by_lane.get(lane, [])) for lane in out["lane"]]
    return out


# ----------------------------------------------------------------------------- plot


def plot_blot(q: BlotQuantification, path: str | os.PathLike | None = None):
    """The blot with lane boxes, every measured band outlined and labelled, and the lane profiles.

    Left: the image with lane boxes. Middle: the detection signal with each band's box and its
    intensity relative to the largest (flagged bands in orange with ``!``). Right: each lane's
    profile less its baseline (ImageJ's gel-analyser plot with the baseline made the axis; flat
    at 0 between bands when the baseline fits), band windows shaded.
    """
    import matplotlib

    matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    h, w = q.image.shape
    fig, axes = plt.subplots(1, 3, figsize=(min(18, 6 + 3 * w / max(h, 1) * 2), 4.8))
    names = {"profile": "lane-profile baseline", "rolling-ball": "rolling ball", "local": "local straight lines",
             "none": "1st percentile"}
    labels = [b.lane_label for b in q.bands if b.index == 0] or [str(i + 1) for i in range(len(q.lanes))]
    ticks = [(a + b - 1) / 2 for a, b in q.lanes]
    for ax, im, title in ((axes[0], q.image, "image (dark = signal), lane boxes"),
                          (axes[1], q.signal, "bands found (2-D rolling ball removed)")):
        ax.imshow(im, cmap="gray_r", aspect="auto")
        ax.set_title(title, fontsize=9)
        ax.set_xticks(ticks)
        ax.set_xticklabels(labels, rotation=45, fontsize=7)
        ax.set_yticks([])
    for x0, x1 in q.lanes:
        axes[0].add_patch(Rectangle((x0 - 0.5, -0.5), x1 - x0, h, fill=False, color="C0", lw=0.6))
    peak = max((abs(b.intensity) for b in q.bands), default=1.0) or 1.0
    for b in q.bands:
        col = "C1" if b.flags else "C3"
        axes[1].add_patch(Rectangle((b.x0 - 0.5, b.y0 - 0.5), b.x1 - b.x0, b.y1 - b.y0, fill=False, color=col, lw=0.8))
        axes[1].text((b.x0 + b.x1) / 2, b.y0 - 1, f"{b.intensity / peak:.2f}" + ("!" if b.flags else ""), color=col,
                     fontsize=6, ha="center", va="bottom")
        if b.lane == 0:
            axes[0].text(-1, b.peak if math.isfinite(b.peak) else (b.y0 + b.y1) / 2, b.name, ha="right", va="center",
                         fontsize=8)
    ax = axes[2]
    rows = np.arange(h)
    if q.profiles.size:
        for li in range(len(q.lanes)):
            d = q.profiles[li] - q.baselines[li]
            span = float(np.nanmax(d)) if np.any(np.isfinite(d)) else 1.0
            ax.axvline(li, color="C3", lw=0.6, ls="--")
            ax.plot(li + 0.85 * d / (span if span > 0 else 1.0), rows, color="k", lw=0.6)
            for b in q.bands:
                if b.lane == li:
                    ax.axhspan(b.y0 - 0.5, b.y1 - 0.5, xmin=li / len(q.lanes), xmax=(li + 0.9) / len(q.lanes),
                               color="C1" if b.flags else "C2", alpha=0.2, lw=0)
        ax.set_xlim(0, len(q.lanes))
        ax.set_ylim(h - 0.5, -0.5)
        ax.set_xticks(np.arange(len(q.lanes)) + 0.45)
        ax.set_xticklabels(labels, rotation=45, fontsize=7)
        ax.set_yticks([])
    ax.set_title(f"lane profile less baseline ({names.get(q.method, q.method)}; dashed = 0)", fontsize=9)
    nflag = sum(1 for b in q.bands if b.flags)
    fig.suptitle(f"{os.path.basename(q.source)}: {len(q.lanes)} lanes; numbers = intensity / max"
                 + (f"; {nflag} flagged band(s) (!)" if nflag else ""), fontsize=9)
    fig.tight_layout()
    if path is not None:
        fig.savefig(path, dpi=110)
        plt.close(fig)
    return fig
