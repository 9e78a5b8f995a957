"""Endpoints as trials define them, computed from platelet counts at visits.

Per subject, from the counts at visit times (pre-dose, 10^9/L). A count "responds" when it
is >= ``threshold`` and, if the endpoint sets ``min_rise``, at least that much above the
subject's baseline (visit 0) count (Bussel 2014: >= 50 and >= 20 above baseline):

- ``responder``: count >= threshold at the visit ``at``;
- ``ever_responder``: count >= threshold at any post-baseline visit;
- ``time_to_first_response``: first visit (weeks) with count >= threshold; subjects who
  never respond are censored at the last visit, and the arm statistic is the
  Kaplan-Meier median (as Mei 2022 reported it);
- ``responder_in_k_of_visits``: >= threshold on at least ``k`` visits within ``window``
  (durable response, e.g. Kuter 2008: 6 of the last 8 weeks);
- ``cumulative_weeks``: weeks with count >= threshold (visits x visit interval);
- ``relapse``: among subjects responding (>= threshold) at ``at`` (e.g. the end of
  treatment), the fraction whose count falls below ``below`` (default: the threshold) at
  any later visit; subjects not responding at ``at`` are excluded;
- ``rescue_use``: fraction of subjects given rescue therapy.

Bone trials (:mod:`._bone`), per subject from measured values at visits:

- ``percent_change``: the measured % change from baseline of ``output`` at ``at`` (BMD with
  DXA precision error, markers with assay/biological variability); arm statistic mean or
  median; with ``vs: ARM`` the difference (percentage points) from that arm's statistic.
- ``incidence``: 1 if the subject's first ``event`` fracture happened by ``by``; arm
  statistic the proportion; with ``vs: ARM`` the relative risk (this arm / that arm), so
  1 - estimate is the relative risk reduction trials report.
"""

from __future__ import annotations

import numpy as np

__all__ = ["ENDPOINT_KINDS", "BONE_ENDPOINT_KINDS", "BONE_MEASURES", "subject_values", "arm_statistic", "km_median",
           "evaluate_endpoint", "evaluate_contrast", "wilson", "describe"]

ENDPOINT_KINDS = ("responder", "ever_responder", "time_to_first_response", "responder_in_k_of_visits", "cumulative_weeks",
                  "relapse", "rescue_use")
BONE_ENDPOINT_KINDS = ("percent_change", "incidence")
#: outputs a bone trial measures at its visits (% change from baseline)
BONE_MEASURES = ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck", "p1np", "ctx")
_PROPORTIONS = ("responder", "ever_responder", "responder_in_k_of_visits", "relapse", "rescue_use", "incidence")


def describe(ep) -> str:
    """What an endpoint's estimate is, in words (for tables; the JSON keeps estimate/ci95 only)."""
    if ep.kind == "percent_change":
        what = f"{ep.statistic} % change of {ep.output} at day {ep.at_days:g}"
        return f"difference in {what} vs {ep.vs} (percentage points)" if ep.vs else what
    if ep.kind == "incidence":
        what = f"{ep.event.replace('_', ' ')} by day {ep.at_days:g}"
        return f"relative risk of {what} vs {ep.vs}" if ep.vs else f"proportion with {what}"
    if ep.kind == "time_to_first_response":
        return f"{'Kaplan-Meier median' if ep.statistic != 'mean' else 'mean'} weeks to platelets >= {ep.threshold:g}"
    if ep.kind == "cumulative_weeks":
        return f"{ep.statistic} weeks with platelets >= {ep.threshold:g}"
    return f"proportion: {ep.kind.replace('_', ' ')} (threshold {ep.threshold:g})"


def subject_values(ep, visits: np.ndarray, counts: np.ndarray, rescued: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
    """Per-subject endpoint values and event flags.

    Parameters
    ----------
    ep : EndpointSpec
    visits : (n_visits,) visit times (day), first = 0 (baseline)
    counts : (n_subjects, n_visits) platelet counts at visits
    rescued : (n_subjects,) bool, optional: rescue therapy given

    Returns
    -------
    (values, events): events is 1 where the value is an observed event (time-to-event
    endpoints) and 1 everywhere otherwise.
    """
    ok = counts >= ep.threshold
    if ep.min_rise > 0:
        ok &= counts - counts[:, :1] >= ep.min_rise
    post = visits > 0
    n = counts.shape[0]
    if ep.kind == "responder":
        j = int(np.argmin(np.abs(visits - ep.at_days)))
        return ok[:, j].astype(float), np.ones(n)
    if ep.kind == "ever_responder":
        return ok[:, post].any(axis=1).astype(float), np.ones(n)
    if ep.kind == "time_to_first_response":
        okp = ok[:, post]
        vp = visits[post]
        hit = okp.any(axis=1)
        first = np.where(hit, vp[np.argmax(okp, axis=1)], vp[-1]) / 7.0
        return first, hit.astype(float)
    if ep.kind == "responder_in_k_of_visits":
        a, b = ep.window_days
        w = (visits >= a - 1e-9) & (visits <= b + 1e-9)
        return (ok[:, w].sum(axis=1) >= ep.k).astype(float), np.ones(n)
    if ep.kind == "relapse":
        j = int(np.argmin(np.abs(visits - ep.at_days)))
        below = ep.below if ep.below is not None else ep.threshold
        relapsed = (counts[:, j + 1:] < below).any(axis=1).astype(float)
        return np.where(ok[:, j], relapsed, np.nan), np.ones(n)
    if ep.kind == "rescue_use":
        return (np.zeros(n) if rescued is None else np.asarray(rescued, float)), np.ones(n)
    if ep.kind == "cumulative_weeks":
        dt = np.diff(visits).mean() if len(visits) > 1 else 7.0
        return ok[:, post].sum(axis=1) * dt / 7.0, np.ones(n)
    raise ValueError(ep.kind)


def km_median(times: np.ndarray, events: np.ndarray) -> float:
    """Kaplan-Meier median (first time survival <= 0.5); inf if not reached."""
    return float(km_medians(np.asarray(times)[None], np.asarray(events)[None])[0])


def km_medians(times: np.ndarray, events: np.ndarray, ordered: bool = False) -> np.ndarray:
    """:func:`km_median` of every row of ``times``/``events`` (R, n) at once (bootstrap draws);
    ``ordered``: each row is already sorted by time, events before censorings at equal times."""
    n = times.shape[-1]
    if n == 0:
        return np.full(times.shape[0], np.inf)
    if ordered:
        t, e = times, events != 0
    else:
        order = np.lexsort((1 - events, times), axis=-1)  # per row: events before censorings at equal times
        t, e = np.take_along_axis(times, order, -1), np.take_along_axis(events, order, -1) != 0
    # product-limit estimate after each ordered time: the running product (left to right) of
    # 1 - 1/at_risk over events, at_risk = n - k subjects before the k-th time; censorings x 1
    s = np.cumprod(np.where(e, 1 - 1 / (n - np.arange(n)), 1.0), axis=-1)
    hit = e & (s <= 0.5 + 1e-12)
    first = hit.argmax(axis=-1)
    return np.where(hit.any(axis=-1), t[np.arange(len(t)), first], np.inf)


def arm_statistics(ep, values: np.ndarray, events: np.ndarray) -> np.ndarray:
    """The arm statistic of every row of ``values``/``events`` (R, n) at once: the Kaplan-Meier
    median (or mean) of a time to response, a proportion over the defined (finite) values, or
    the median or mean of a measure."""
    if ep.kind == "time_to_first_response":
        return km_medians(values, events) if ep.statistic != "mean" else np.mean(values, axis=-1)
    if ep.kind in _PROPORTIONS:
        fin = np.isfinite(values)
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(fin.any(axis=-1), np.nansum(values, axis=-1) / fin.sum(axis=-1), np.nan)
    return np.median(values, axis=-1) if ep.statistic == "median" else np.mean(values, axis=-1)


def arm_statistic(ep, values: np.ndarray, events: np.ndarray) -> float:
    """:func:`arm_statistics` of one arm (one row)."""
    return float(arm_statistics(ep, np.asarray(values, float)[None], np.asarray(events, float)[None])[0])


def wilson(p: float, n: int, z: float = 1.959964) -> tuple[float, float]:
    """Wilson score interval for a proportion (Wilson 1927)."""
    if n == 0:
        return (float("nan"), float("nan"))
    den = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / den
    half = z * np.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / den
    return (float(max(0.0, centre - half)), float(min(1.0, centre + half)))


def evaluate_endpoint(ep, per_replicate: list[tuple[np.ndarray, np.ndarray]], seed: int = 0) -> dict:
    """Arm estimate and 95% interval.

    With several replicate trials: the mean of the replicate estimates and the 2.5-97.5
    percentiles across replicates (the spread of the trial's result at this sample size).
    With one: Wilson for proportions, otherwise a seeded percentile bootstrap (2000 draws).
    """
    ests = [arm_statistic(ep, v, e) for v, e in per_replicate]
    finite = [x for x in ests if np.isfinite(x)]
    if len(per_replicate) > 1:
        est = float(np.mean(finite)) if finite else float("inf")
        lo, hi = np.quantile(np.array(ests), [0.025, 0.975], method="inverted_cdf")
        return {"estimate": est, "ci95": [float(lo), float(hi)]}
    v, e = per_replicate[0]
    est = ests[0]
    if ep.kind in _PROPORTIONS:  # Wilson over the subjects the proportion is defined for
        return {"estimate": est, "ci95": list(wilson(est, int(np.isfinite(v).sum())))}
    if np.isfinite(v).sum() < 2:  # one subject: a bootstrap has nothing to resample (it gave [x, x])
        return {"estimate": est, "ci95": [float("nan"), float("nan")]}
    # the same draws as one resample at a time (numpy draws bounded integers one by one); the
    # test of this function checks it against that loop
    idx = np.random.default_rng(seed).integers(0, len(v), (2000, len(v)))
    if ep.kind == "time_to_first_response" and ep.statistic != "mean":
        # Kaplan-Meier needs each resample in time order: sort the subjects once, and a resample
        # of their ranks, sorted, lists the same subjects in that order (equal pairs are interchangeable)
        order = np.lexsort((1 - e, v))
        rank = np.empty(len(v), dtype=np.int64)
        rank[order] = np.arange(len(v))
        ranks = np.sort(rank[idx], axis=1)
        boots = km_medians(v[order][ranks], e[order][ranks], ordered=True)
    else:
        boots = arm_statistics(ep, v[idx], e[idx])  # all 2,000 resamples at once
    lo, hi = np.quantile(boots, [0.025, 0.975], method="inverted_cdf")  # no interpolation: inf-safe
    return {"estimate": est, "ci95": [float(lo), float(hi)]}


def evaluate_contrast(ep, arm: list[tuple[np.ndarray, np.ndarray]], ref: list[tuple[np.ndarray, np.ndarray]], seed: int = 0) -> dict:
    """Arm versus reference arm: difference of statistics (``percent_change``) or ratio of
    proportions (``incidence``: relative risk), with a 95% interval.

    With replicates: mean and 2.5-97.5 percentiles of the per-replicate contrasts. With one:
    ``incidence`` uses the Katz log interval of a risk ratio (Katz et al. 1978, Biometrics
    34:469; a 0.5 continuity correction when a count is 0); ``percent_change`` a seeded
    bootstrap resampling both arms.
    """
    ratio = ep.kind == "incidence"

    def contrast(a, r):
        sa, sr = arm_statistic(ep, *a), arm_statistic(ep, *r)
        if ratio:
            return sa / sr if sr > 0 else float("nan")
        return sa - sr

    if len(arm) > 1:
        vals = np.array([contrast(a, r) for a, r in zip(arm, ref)])
        fin = vals[np.isfinite(vals)]
        if not len(fin):
            return {"estimate": float("nan"), "ci95": [float("nan"), float("nan")]}
        lo, hi = np.quantile(fin, [0.025, 0.975], method="inverted_cdf")
        return {"estimate": float(np.mean(fin)), "ci95": [float(lo), float(hi)]}
    (va, ea), (vr, er) = arm[0], ref[0]
    est = contrast((va, ea), (vr, er))
    if ratio:
        xa, na, xr, nr = float(np.nansum(va)), int(np.isfinite(va).sum()), float(np.nansum(vr)), int(np.isfinite(vr).sum())
        if xa == 0 and xr == 0:  # 0/0: no ratio, and no interval either (it printed nan [0.02, 48])
            return {"estimate": float("nan"), "ci95": [float("nan"), float("nan")]}
        zero_a, zero_r = xa == 0, xr == 0
        if zero_a or zero_r:
            xa, xr, na, nr = xa + 0.5, xr + 0.5, na + 0.5, nr + 0.5
        rr = (xa / na) / (xr / nr)
        se = np.sqrt(1 / xa - 1 / na + 1 / xr - 1 / nr)
        lo, hi = float(rr * np.exp(-1.959964 * se)), float(rr * np.exp(1.959964 * se))
        # a zero count: the estimate is 0 (or infinite), so the interval reaches it (it ended at 0.008)
        return {"estimate": float("inf") if zero_r else est, "ci95": [0.0 if zero_a else lo, float("inf") if zero_r else hi]}
    if np.isfinite(va).sum() < 2 or np.isfinite(vr).sum() < 2:  # as evaluate_endpoint: no resampling of one subject
        return {"estimate": est, "ci95": [float("nan"), float("nan")]}
    rng = np.random.default_rng(seed)
    boots = [contrast((va[ia], ea[ia]), (vr[ir], er[ir]))
             for ia, ir in ((rng.integers(0, len(va), len(va)), rng.integers(0, len(vr), len(vr))) for _ in range(2000))]
    lo, hi = np.quantile(np.array(boots), [0.025, 0.975])
    return {"estimate": est, "ci95": [float(lo), float(hi)]}
