"""Teriparatide in the bone model: its PK against the closed form, the derived tmax, and the
direction of its bone effects (formation, then resorption and BMD at every site)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from moasim.library.bone import BoneRegimen, run_bone
from moasim.library.bone import comparators as c


def _one_dose(samples_per_day: int = 1000, days: float = 0.5):
    return run_bone([BoneRegimen(drug="teriparatide", dose="20 ug")], days=days, samples_per_day=samples_per_day, rtol=1e-10, atol=1e-14)


def test_single_dose_pk_matches_the_one_compartment_closed_form():
    """C(t) = F*D*ka/(V*(ka - k))*(exp(-k t) - exp(-ka t)), k = CL/V (Bateman), in pg/mL."""
    r = _one_dose()
    t_h = np.asarray(r.time) * 24.0
    ka, k = c.KA_TPT_PER_H, c.CL_TPT_L_PER_H / c.V_TPT_L
    expected = 1000.0 * c.F_TPT * 20.0 * ka / (c.V_TPT_L * (ka - k)) * (np.exp(-k * t_h) - np.exp(-ka * t_h))
    got = np.asarray(r.outputs["teriparatide_concentration"])
    assert np.allclose(got, expected, rtol=1e-6, atol=1e-6 * expected.max())
    assert np.allclose(np.asarray(r.outputs["drug_concentration"]), got / 1000.0)  # drug_concentration in ng/mL


def test_tmax_is_the_label_half_hour_it_was_derived_from():
    r = _one_dose()
    tmax_h = float(r.time[int(np.argmax(r.outputs["teriparatide_concentration"]))]) * 24.0
    assert tmax_h == pytest.approx(0.5, abs=0.01)
    # the apparent volume of the flip-flop profile, CL/ka, is the SmPC's ~1.7 L/kg (a ~55 kg woman: 94 L)
    assert c.CL_TPT_L_PER_H / c.KA_TPT_PER_H == pytest.approx(89.4, rel=0.01)
    assert math.log(2) / c.KA_TPT_PER_H == pytest.approx(1.0)  # the SC half-life of ~1 h reflects absorption


def test_twenty_ug_daily_raises_formation_resorption_and_bmd_at_every_site():
    r = run_bone([BoneRegimen(drug="teriparatide", dose="20 ug", every="1 day")], days=365.25)
    o = r.outputs
    assert o["p1np"][-1] > o["ctx"][-1] > 0  # both markers rise, formation more than resorption
    for site in ("bmd_lumbar_spine", "bmd_total_hip", "bmd_femoral_neck"):
        assert o[site][-1] > 0, site
    assert o["bmd_lumbar_spine"][-1] > o["bmd_total_hip"][-1] > o["bmd_femoral_neck"][-1]


def test_no_teriparatide_leaves_the_baseline_untouched():
    r = run_bone([], days=30)
    assert np.allclose(r.outputs["p1np"], 0, atol=1e-9) and np.allclose(r.outputs["ctx"], 0, atol=1e-9)


def test_pk_is_dose_proportional():
    """Linear PK: the concentration curve of 40 ug is twice that of 20 ug at every time."""
    t = np.linspace(0.0, 0.5, 301)
    c20, c40 = (np.asarray(run_bone([BoneRegimen(drug="teriparatide", dose=d)], t_out=t, days=0.5, rtol=1e-10, atol=1e-14)
                           .outputs["teriparatide_concentration"]) for d in ("20 ug", "40 ug"))
    assert np.allclose(c40, 2 * c20, rtol=1e-6, atol=1e-9)
