"""Lanes and band rows of a blot: the geometric parts of :mod:`moasim.assay.blot`.

Lanes
    Peaks of the column profile (``scipy.signal.find_peaks``) of a log-compressed image,
    ``log(1 + signal / (3 x noise SD))``, rows weighted by the band signal they hold:
    contrast counts rather than intensity, so faint lanes stand out about as well as strong
    ones, and background left over in band-free rows does not. Lane centre: midpoint of the peak's
    width at half prominence. Box width: common to all lanes (as ImageJ's gel analyser), the
    median width at which each lane's column profile falls to 2% of its peak; neighbouring
    boxes are cut at the valley between them, so they never overlap.
Bands
    Peaks of each lane's row profile (``find_peaks``, prominence >= 5 noise SD, FWHM at most
    3 x the median: broader ones are background undulations). Peaks are linked from lane to lane (``scipy.optimize.linear_sum_assignment``; a link spans at most
    one band FWHM, so a tilt or a shift of a few pixels between lane groups keeps one band
    row), and rows found in disjoint sets of lanes at about the same height are merged. A
    lane without a detected band in a row is measured where the row is interpolated between
    its neighbours.

References
----------
Schneider CA, Rasband WS, Eliceiri KW (2012) NIH Image to ImageJ: 25 years of image analysis.
Nat Methods 9:671-675 (``Analyze > Gels``).
Virtanen P et al. (2020) SciPy 1.0. Nat Methods 17:261-272 (``signal.find_peaks``, ``peak_widths``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..errors import DataError, invalid_value
from ._blot_background import pixel_noise, smooth_profile

__all__ = ["column_profiles", "find_lane_centres", "lane_boxes", "BandRow", "find_band_rows", "band_windows"]

_LANE_EDGE = 0.02  # lane box: where the column profile falls to this fraction of the lane's peak
_BAND_EDGE = 0.02  # band window: where the baseline-corrected profile falls to this fraction of the peak


def column_profiles(signal: np.ndarray) -> tuple[np.ndarray, np.ndarray, float]:
    """Column profiles of a background-subtracted image.

    Returns
    -------
    equalised
        Weighted mean over rows of ``log(1 + s / t)`` (``s``: signal smoothed with a 1-pixel
        Gaussian, clipped at 0; ``t``: 3 noise SD, at least 0.1% of the brightest signal): lanes
        as peaks. A row's weight is its mean ``log(1 + s / t)`` above the median row's: band
        rows count, rows of background (and of what is left of it at the borders) do not.
    mean
        Same weighted mean of ``s`` (intensity units): lane shapes for box widths and valleys.
    sd
        Noise SD of ``equalised`` (from its background pixels' SD, the weights and the
        smoothing).
    """
    from scipy import ndimage

    sig = np.asarray(signal, dtype=float)
    s = ndimage.gaussian_filter(sig, 1.0, mode="nearest")
    noise = pixel_noise(sig) / (2.0 * math.sqrt(math.pi))  # SD left after a 2-D Gaussian of SD 1 pixel
    hi = float(np.percentile(s, 99.9))
    if not hi > 0:
        raise DataError(invalid_value("blot", "no signal above background", "an image with bands"))
    t = max(3.0 * noise, 0.001 * hi)
    e = np.log1p(np.clip(s, 0.0, None) / t)
    r = e.mean(axis=1)
    wt = np.clip(r - np.median(r), 0.0, None)  # rows weighted by how much band they hold
    if not wt.sum() > 0:
        wt = np.ones_like(r)
    wt = wt / wt.sum()
    bg = e[s < t]
    sd_e = float(bg.std()) if bg.size > 10 else 0.0
    sd = sd_e * math.sqrt(2.0 * math.sqrt(math.pi)) * math.sqrt(float(np.sum(wt**2)))
    return wt @ e, wt @ s, sd


def _spaced(peaks: np.ndarray, prom: np.ndarray, min_gap: float) -> np.ndarray:
    """Indices into ``peaks``, most prominent first, none closer than ``min_gap`` to a kept one."""
    kept: list[int] = []
    for i in np.argsort(prom)[::-1]:
        if all(abs(peaks[i] - peaks[j]) >= min_gap for j in kept):
            kept.append(int(i))
    return np.array(kept, dtype=int)


def find_lane_centres(equalised: np.ndarray, sd: float, n_lanes: int | None = None) -> np.ndarray:
    """Lane centres (pixel columns, increasing) from the equalised column profile.

    A lane is a peak whose prominence is at least 5 noise SD and 8% of the most prominent
    lane's; with ``n_lanes``, the ``n_lanes`` most prominent (down to 5 noise SD if needed).
    Peaks closer than 0.4 x the median lane spacing to a more prominent one are dropped.
    """
    from scipy.signal import find_peaks, peak_widths

    ce = np.asarray(equalised, dtype=float)
    floor = max(5.0 * sd, 1e-6)
    peaks, props = find_peaks(ce, prominence=floor)
    if peaks.size == 0:
        raise DataError(invalid_value("blot", "no lanes found", "an image with lanes of bands"))
    prom = props["prominences"]

    def pick(threshold: float) -> np.ndarray:
        ok = np.flatnonzero(prom >= threshold)
        if ok.size > 1:
            gap = 0.4 * float(np.median(np.diff(np.sort(peaks[ok]))))
            ok = ok[_spaced(peaks[ok], prom[ok], gap)]
        return ok

    sel = pick(max(floor, 0.08 * float(prom.max())))
    if n_lanes is not None and sel.size < n_lanes:
        sel = pick(floor)
    if n_lanes is not None:
        if sel.size < n_lanes:
            raise DataError(invalid_value("lanes", f"{sel.size} found", f"{n_lanes} lanes with signal (--lanes; "
                                          "give --lane-centres for empty lanes)"))
        sel = sel[np.argsort(prom[sel])[::-1][:n_lanes]]
    sel = np.sort(peaks[sel])
    _, _, left, right = peak_widths(ce, sel, rel_height=0.5)
    mid = (left + right) / 2.0
    if np.any(np.diff(mid) < 1.0):  # half-width midpoints of merged neighbours crossed: keep the peaks
        mid = sel.astype(float)
    return mid


def lane_boxes(mean_profile: np.ndarray, centres, width: float | None = None,
               width_fraction: float | None = None) -> list[tuple[int, int]]:
    """Non-overlapping column ranges ``[x0, x1)`` around lane ``centres`` (pixel columns).

    Width: ``width`` pixels if given; else ``width_fraction`` x the median centre spacing; else
    the median over lanes of the width at which the column profile ``mean_profile`` falls to 2%
    of the lane's peak (walking out from the centre, at most half-way to the next lane), plus 2
    pixels. Boxes that would overlap are cut at the profile's minimum between the two centres.
    """
    cr = smooth_profile(mean_profile)
    w = cr.size
    c = np.asarray(centres, dtype=float)
    spacing = float(np.median(np.diff(c))) if c.size > 1 else float(w)
    if width is not None:
        half = width / 2.0
    elif width_fraction is not None:
        half = width_fraction * spacing / 2.0
    else:
        halves = []
        for i, ci in enumerate(c):
            lo_lim = 0 if i == 0 else int(math.ceil((c[i - 1] + ci) / 2))
            hi_lim = w - 1 if i == c.size - 1 else int(math.floor((ci + c[i + 1]) / 2))
            j = int(np.clip(round(ci), lo_lim, hi_lim))
            peak = float(cr[max(lo_lim, j - 1):max(lo_lim, min(hi_lim, j + 1)) + 1].max()) if hi_lim >= lo_lim else 0.0
            if not peak > 0:
                continue
            a = b = j
            while a > lo_lim and cr[a - 1] > _LANE_EDGE * peak:
                a -= 1
            while b < hi_lim and cr[b + 1] > _LANE_EDGE * peak:
                b += 1
            halves.append((b - a) / 2.0)
        half = (float(np.median(halves)) if halves else 0.4 * spacing) + 2.0
    half = max(half, 0.5)
    boxes = [[max(0, int(round(ci - half))), min(w, int(round(ci + half)) + 1)] for ci in c]
    for i in range(len(boxes) - 1):
        if boxes[i][1] > boxes[i + 1][0]:
            a, b = int(round(c[i])) + 1, int(round(c[i + 1]))
            cut = a + int(np.argmin(cr[a:b])) if b > a else b
            boxes[i][1], boxes[i + 1][0] = cut, cut
    return [(int(a), int(max(b, a + 1))) for a, b in boxes]


@dataclass(frozen=True, slots=True)
class BandRow:
    """One band row (target) across lanes: per lane the band's peak row, detected or interpolated."""

    centres: tuple[float, ...]  # pixel rows, one per lane
    detected: tuple[bool, ...]
    fwhm: float  # median FWHM of its detected bands (rows)
    strength: float  # summed prominence of its detected bands (profile units)

    @property
    def position(self) -> float:
        return float(np.median([c for c, d in zip(self.centres, self.detected) if d] or self.centres))


def _lane_peaks(profile: np.ndarray, noise_sd: float, floor: float):
    from scipy.signal import find_peaks, peak_widths

    ps = smooth_profile(profile)
    peaks, props = find_peaks(ps, prominence=max(5.0 * noise_sd, floor, 1e-12))
    widths = peak_widths(ps, peaks, rel_height=0.5)[0] if peaks.size else np.zeros(0)
    return peaks, props["prominences"] if peaks.size else np.zeros(0), widths


def _link(positions: list[np.ndarray], tol: float) -> list[dict[int, int]]:
    """Tracks lane -> peak index, linking each lane's peaks to the tracks' last positions."""
    from scipy.optimize import linear_sum_assignment

    tracks: list[dict[int, int]] = []
    last: list[float] = []
    for lane, ys in enumerate(positions):
        taken: set[int] = set()
        if tracks and ys.size:
            cost = np.abs(np.subtract.outer(np.array(last), ys))
            rows, cols = linear_sum_assignment(np.where(cost <= tol, cost, 1e9))
            for r, k in zip(rows, cols):
                if cost[r, k] <= tol:
                    tracks[r][lane] = int(k)
                    last[r] = float(ys[k])
                    taken.add(int(k))
        for k in range(ys.size):
            if k not in taken:
                tracks.append({lane: k})
                last.append(float(ys[k]))
    merged = True
    while merged:  # rows seen in disjoint lanes (a gap of empty lanes) at about the same height
        merged = False
        med = [float(np.median([positions[ln][k] for ln, k in t.items()])) for t in tracks]
        order = np.argsort(med)
        for a, b in zip(order[:-1], order[1:]):
            if abs(med[b] - med[a]) <= tol and not set(tracks[a]) & set(tracks[b]):
                tracks[a].update(tracks[b])
                del tracks[b]
                merged = True
                break
    return tracks


def find_band_rows(profiles: list[np.ndarray], noise_sds: list[float], lane_x: np.ndarray,
                   n_rows: int | None = None) -> tuple[list[BandRow], list[BandRow]]:
    """Band rows (targets) from background-subtracted lane row profiles.

    Parameters
    ----------
    profiles
        Per lane, the background-subtracted intensity summed across the lane, per row.
    noise_sds
        Per lane, the noise SD of the smoothed profile (same units).
    lane_x
        Lane centres (pixel columns): interpolation of rows in lanes where a band is missing.
    n_rows
        Number of targets named; the strongest ``n_rows`` rows are kept (summed prominence).
        Without it, rows whose strength is at least 5% of the strongest row's.

    Returns
    -------
    (kept rows top to bottom, weaker rows left out)
    """
    top = max((float(smooth_profile(p).max()) for p in profiles), default=0.0)
    found = [_lane_peaks(p, sd, 0.01 * top) for p, sd in zip(profiles, noise_sds)]
    all_w = np.concatenate([f[2] for f in found]) if found else np.zeros(0)
    if all_w.size == 0:
        raise DataError(invalid_value("blot", "no bands found", "an image with bands above background"))
    wide = 3.0 * float(np.median(all_w))  # broader peaks are background undulations, not bands
    found = [tuple(a[f[2] <= wide] for a in f) for f in found]
    positions = [f[0].astype(float) for f in found]
    all_w = np.concatenate([f[2] for f in found])
    gaps = [float(np.min(np.diff(p))) for p in positions if p.size > 1]
    tol = max(2.0, float(np.median(all_w)))
    if gaps:
        tol = max(2.0, min(tol, 0.45 * float(np.median(gaps))))
    tracks = _link(positions, tol)
    rows = []
    n = len(profiles)
    for t in tracks:
        lanes = sorted(t)
        ys = np.array([positions[ln][t[ln]] for ln in lanes])
        xs = np.asarray(lane_x, dtype=float)
        centres = np.interp(xs, xs[lanes], ys) if len(lanes) > 1 else np.full(n, ys[0])
        centres[lanes] = ys
        rows.append(BandRow(centres=tuple(float(v) for v in centres), detected=tuple(i in t for i in range(n)),
                            fwhm=float(np.median([found[ln][2][t[ln]] for ln in lanes])),
                            strength=float(sum(found[ln][1][t[ln]] for ln in lanes))))
    rows.sort(key=lambda r: -r.strength)
    if n_rows is None:
        keep = [r for r in rows if r.strength >= 0.05 * rows[0].strength]
    else:
        keep = rows[:n_rows]
    left = rows[len(keep):]
    return sorted(keep, key=lambda r: r.position), sorted(left, key=lambda r: r.position)


def band_windows(rows: list[BandRow], lane: int, height: int, margin: int, corrected: np.ndarray | None = None,
                 noise_sd: float = 0.0) -> list[tuple[int, int]]:
    """Row ranges ``[y0, y1)`` of each band row in one lane (rows sorted top to bottom).

    Every window reaches 1.3 FWHM of its row (3 Gaussian SD) either side of the band's peak,
    plus ``margin`` rows, so faint and missing bands are integrated over the same rows as clear
    ones. With ``corrected`` (the lane's baseline-corrected smoothed profile) a clear band's
    window (peak > 20 ``noise_sd``) extends further while the profile stays above 2% of its
    peak and 2 ``noise_sd`` (tails; at most 2.5 FWHM). Windows of neighbouring rows that would
    overlap are cut at the lowest point of ``corrected`` between the two peaks (half-way
    without it).
    """
    h = int(height)
    spans = []
    for r in rows:
        yc = r.centres[lane]
        up = down = 1.3 * r.fwhm
        if corrected is not None and r.detected[lane]:
            c = int(np.clip(round(yc), 0, h - 1))
            peak = float(corrected[max(0, c - 1):c + 2].max())
            if peak > 20.0 * noise_sd:
                a, b = _extent(corrected, c, max(_BAND_EDGE * peak, 2.0 * noise_sd), 0, h, 2.5 * r.fwhm)
                up, down = max(up, yc - a), max(down, b - yc)
        spans.append([max(0, int(math.floor(yc - up - margin))), min(h, int(math.ceil(yc + down + margin)) + 1)])
    for k in range(len(spans) - 1):
        if spans[k][1] > spans[k + 1][0]:
            ya, yb = rows[k].centres[lane], rows[k + 1].centres[lane]
            cut = _valley(corrected, ya, yb) if corrected is not None else int(round((ya + yb) / 2))
            spans[k][1] = spans[k + 1][0] = int(np.clip(cut, spans[k][0] + 1, h - 1))
    return [(int(a), int(max(b, a + 1))) for a, b in spans]


def _valley(d: np.ndarray, ya: float, yb: float) -> int:
    a, b = int(round(ya)) + 1, int(round(yb))
    return a + int(np.argmin(d[a:b])) if b > a else max(0, min(d.size - 1, a))


def _extent(d: np.ndarray, c: int, level: float, lo: int, hi: int, cap: float) -> tuple[int, int]:
    """Rows ``a..b`` around ``c`` where ``d`` stays above ``level`` (at most ``cap`` rows either side)."""
    a = b = c
    while a > lo and c - a < cap and d[a - 1] > level:
        a -= 1
    while b < hi - 1 and b - c < cap and d[b + 1] > level:
        b += 1
    return a, b
