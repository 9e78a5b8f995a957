"""Simulated assays: seeded noise, EC50 recovery by the lab 4PL fitter, flow and blot readouts."""

import numpy as np
import pytest

from moasim.library import receptor_params as rp
from moasim.library.invitro import (plate_layout, run_differentiation_assay, run_proliferation_assay, run_signaling_assay,
                                    simulate_culture)
from moasim.library.invitro._pharmacology import combination_response, tpo_binding_change
from moasim.errors import SpecError

PUBLISHED = {("hetrombopag", "32D-MPL"): 0.4, ("eltrombopag", "32D-MPL"): 13.4,
             ("hetrombopag", "CD34+"): 2.3, ("eltrombopag", "CD34+"): 86.2}


def _true_ec50(drug, cells):
    """EC50 of the noise-free 72 h response (interpolated on a fine grid), for comparison."""
    t = np.array([0.0, 3.0])
    c = np.logspace(-3, 5, 161)
    v = np.array([simulate_culture({drug: x}, cells, t_out=t).outputs["V"][-1] for x in c])
    half = (v[0] + v[-1]) / 2
    return float(10 ** np.interp(half, v, np.log10(c)))


def test_plate_layout_and_same_seed_same_plate():
    lay = plate_layout([1.0] * 10, "hetrombopag")
    assert len(lay) == 96
    assert lay.role.value_counts().to_dict() == {"empty": 36, "sample": 30, "blank": 20, "vehicle": 5, "positive": 5}
    a = run_proliferation_assay("hetrombopag", "32D-MPL", seed=7)
    b = run_proliferation_assay("hetrombopag", "32D-MPL", seed=7)
    c = run_proliferation_assay("hetrombopag", "32D-MPL", seed=8)
    assert np.array_equal(a.plate.rlu.to_numpy(), b.plate.rlu.to_numpy(), equal_nan=True)
    assert a.ec50_nM == b.ec50_nM and a.ec50_nM != c.ec50_nM


@pytest.mark.parametrize("drug,cells", list(PUBLISHED))
def test_ec50_recovered_from_noisy_plates(drug, cells):
    truth = _true_ec50(drug, cells)
    assert truth == pytest.approx(PUBLISHED[(drug, cells)], rel=0.15)  # calibration
    hits = 0
    for seed in range(5):
        a = run_proliferation_assay(drug, cells, seed=seed)
        assert PUBLISHED[(drug, cells)] / 1.5 <= a.ec50_nM <= PUBLISHED[(drug, cells)] * 1.5, seed
        lo, hi = a.ci95
        hits += lo <= truth <= hi
    assert hits >= 4  # 95% profile intervals cover the noise-free EC50


def test_receptor_reserve_one_cell_parameter():
    # the drugs differ only in KA, so the CD34+/32D-MPL EC50 ratio is the same for both
    r_het = _true_ec50("hetrombopag", "CD34+") / _true_ec50("hetrombopag", "32D-MPL")
    r_elt = _true_ec50("eltrombopag", "CD34+") / _true_ec50("eltrombopag", "32D-MPL")
    assert r_het == pytest.approx(r_elt, rel=0.02)
    assert 5.0 <= r_het <= 7.0  # published 5.8 and 6.4


def test_competitive_vs_transmembrane_site():
    assert tpo_binding_change("romiplostim") <= -0.8
    assert abs(tpo_binding_change("hetrombopag")) <= 0.1
    assert abs(tpo_binding_change("eltrombopag")) <= 0.1
    comb = combination_response("hetrombopag", 0.1)
    assert comb["both"] > max(comb["tpo"], comb["drug"]) + 0.05


def test_differentiation_culture_matches_guerriero_2006():
    ctrl = run_differentiation_assay("tpo", seed=3)
    assert 96.0 <= ctrl.percent_cd41 <= 99.5  # Guerriero 2006: 97-99% CD41+/CD61+ with TPO (model 98.8%)
    assert ctrl.panel.percent_positive["CD41+CD61+"] >= 90.0
    pf = ctrl.ploidy_fractions
    assert pf["2N"] + pf["4N"] + pf["8N"] + pf["16N"] >= 0.95  # most cells 2N-16N
    poly = 1 - pf["2N"]
    assert 0.3 <= poly <= 0.6  # 45% polyploid in control cultures
    mek = run_differentiation_assay("tpo", seed=3, parameters={"FMEKI": 0.7})
    assert (1 - mek.ploidy_fractions["2N"]) >= poly + 0.15  # low-dose PD98059: 45% -> 70%
    # ERK is still needed (Rojnuckarin 1999): no MEK activity, no endomitosis; rapamycin suppresses it
    none = simulate_culture({"tpo": 2.8}, "CD34+", kind="differentiation", t_out=np.array([0.0, 14.0]), parameters={"FMEKI": 1.0})
    assert none.outputs["MK4I"][-1] + none.outputs["MK4M"][-1] < 1e-6
    rapa = run_differentiation_assay("tpo", seed=3, parameters={"FMTORI": 0.9})
    assert rapa.model_fractions["2N"] > ctrl.model_fractions["2N"] + 0.2
    # CD42b is a late marker: fewer CD42b+ than CD41+ cells
    assert ctrl.panel.percent_positive["CD42b+"] < ctrl.percent_cd41


def test_signaling_blot_peaks_in_minutes():
    s = run_signaling_assay("hetrombopag", seed=1)
    assert all(2 <= v <= 30 for v in s.peak_minutes().values())
    g = s.bands[s.bands.target == "STAT5"]
    assert g.ratio_norm.iloc[1:].min() > 3  # phospho bands well above the unstimulated lane
    assert set(s.to_dict()["blot"]) == {"JAK2", "STAT5", "STAT3", "AKT", "ERK"}


def test_bad_input_is_refused():
    with pytest.raises(SpecError, match="Unknown drug 'foo'"):
        run_proliferation_assay("foo")
    with pytest.raises(SpecError, match="Unknown cell type"):
        run_proliferation_assay("hetrombopag", "HeLa")
    with pytest.raises(SpecError, match="seed"):
        run_proliferation_assay("hetrombopag", seed=-1)
    with pytest.raises(SpecError, match="concentrations"):
        run_proliferation_assay("hetrombopag", concentrations_nM=[1, 2, -3, 4])


def test_receptor_params_units_and_in_vivo_mapping():
    assert rp.ligand("TPO").KA.model_value == pytest.approx(0.163)
    assert rp.ligand("tpo").nM(100, "ng/mL") == pytest.approx(2.817, rel=1e-3)
    m = rp.in_vivo_mapping()
    assert m["KD_TPO"]["value"] == pytest.approx(5790, rel=0.01)  # as in physiology/thrombopoiesis.py
    assert m["KD_rom"]["value"] == pytest.approx(0.131, rel=1e-6)
    assert m["EC50V_elt"]["value"] == rp.ligand("eltrombopag").KA.value
    for lg in rp.LIGANDS.values():
        assert lg.KA.tag != "U" and lg.EFF.tag != "U"
        assert lg.site in (rp.EXTRACELLULAR, rp.TRANSMEMBRANE)


def test_simulated_plate_goes_through_the_lab_fitter_unchanged(tmp_path):
    # the plate written to CSV and read back by the real-data path gives the same EC50
    from moasim.assay import fit_dose_response

    a = run_proliferation_assay("eltrombopag", "32D-MPL", seed=4)
    path = tmp_path / "plate.csv"
    a.plate[a.plate.role.isin(["sample", "vehicle"])].to_csv(path, index=False)
    r = fit_dose_response(str(path), concentration="concentration_nM", response="percent_of_tpo")
    (fit,) = r.groups.values()
    assert fit.estimates["ec50"] == pytest.approx(a.ec50_nM, rel=1e-6)


def test_invitro_model_exports_to_sbml():
    import libsbml

    from moasim.engine._roadrunner import sbml_of
    from moasim.library.invitro import culture_model

    doc = libsbml.readSBMLFromString(sbml_of(culture_model("CD34+", "differentiation")))
    assert doc.getNumErrors(libsbml.LIBSBML_SEV_ERROR) == 0
    assert doc.getModel().getNumRules() > 50


def test_in_vivo_mapping_keeps_transmembrane_exposure_scaling():
    # EC50V x FVIVO (what xS_<drug> divides by) is unchanged by the proposed reparameterisation
    m = rp.in_vivo_mapping()
    cur = rp.current_in_vivo_potency()
    for sfx in ("elt", "het", "ava"):
        new = m[f"EC50V_{sfx}"]["value"] * m["FVIVO"]["value"]
        assert new == pytest.approx(cur[f"EC50V_{sfx}"] * cur["FVIVO"], rel=2e-3), sfx
