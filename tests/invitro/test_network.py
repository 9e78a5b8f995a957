"""Mass-action invariants of the in-vitro receptor/signalling network."""

import numpy as np
import pytest

from moasim.library.invitro import PROTEIN_TOTALS, culture_model, ligand_free_state, simulate_culture
from moasim.library.invitro._pharmacology import COLD

T = np.array([0.0, 5, 15, 30, 60, 240, 1440, 2880]) / 1440.0
MIX = {"tpo": 0.05, "romiplostim": 0.002, "hetrombopag": 1.0, "eltrombopag": 20.0}


@pytest.mark.parametrize("cells", ["32D-MPL", "CD34+"])
def test_total_receptor_conserved_without_turnover(cells):
    # binding, dimerisation, internalisation and recycling only move receptors between pools
    res = simulate_culture(MIX, cells, t_out=T, parameters={"KR0": 0.0, "KDEGI": 0.0})
    tot = res.outputs["receptor_total"]
    rt = culture_model(cells).parameter_values["RT"]
    assert np.max(np.abs(tot - rt)) < 1e-7 * rt
    assert res.outputs["active_dimers"][3] > 0.01  # something actually happened


@pytest.mark.parametrize("kind", ["proliferation", "differentiation"])
def test_each_signalling_protein_total_conserved(kind):
    res = simulate_culture(MIX, "32D-MPL" if kind == "proliferation" else "CD34+", kind=kind, t_out=T)
    for name, states in PROTEIN_TOTALS.items():
        total = sum(res.outputs[s] for s in states)
        assert np.max(np.abs(total - 1.0)) < 1e-7, name


def test_states_stay_non_negative():
    res = simulate_culture(MIX, "CD34+", kind="differentiation", t_out=np.linspace(0, 14, 15))
    for k, v in res.outputs.items():
        assert v.min() > -1e-9, k


@pytest.mark.parametrize("cells", ["32D-MPL", "CD34+"])
def test_ligand_free_state_is_a_steady_state(cells):
    y0 = ligand_free_state(cells)
    res = simulate_culture({}, cells, t_out=np.array([0.0, 1.0, 10.0]))
    for s, v in y0.items():
        if s == "V":
            continue  # cells without cytokine die; the molecular layer is what must be at rest
        assert res.outputs[s][-1] == pytest.approx(v, rel=1e-6, abs=1e-10), s
    assert y0["R"] == pytest.approx(culture_model(cells).parameter_values["RT"], rel=1e-9)
    assert res.outputs["active_dimers"].max() < 1e-20


def test_roadrunner_matches_scipy_reference():
    t = np.array([0.0, 10, 30, 120, 1440]) / 1440.0
    a = simulate_culture({"tpo": 0.1, "hetrombopag": 2.0}, "32D-MPL", t_out=t)
    b = simulate_culture({"tpo": 0.1, "hetrombopag": 2.0}, "32D-MPL", t_out=t, engine="scipy")
    for k in ("pSTAT5", "pAKT", "pERK", "receptor_surface", "V"):
        np.testing.assert_allclose(a.outputs[k], b.outputs[k], rtol=1e-4, atol=1e-7, err_msg=k)


@pytest.mark.parametrize("drug", ["hetrombopag", "eltrombopag", "avatrombopag"])
@pytest.mark.parametrize("cells", ["32D-MPL", "CD34+"])
def test_dose_response_is_monotone(drug, cells):
    t = np.array([0.0, 3.0])
    v = [simulate_culture({drug: c}, cells, t_out=t).outputs["V"][-1] for c in np.logspace(-3, 4, 15)]
    assert np.all(np.diff(v) >= -1e-9)
    assert v[-1] > 3 * v[0]


@pytest.mark.parametrize("drug,conc", [("tpo", 2.8), ("hetrombopag", 4.0), ("eltrombopag", 134.0)])
def test_signalling_peaks_within_minutes(drug, conc):
    t = np.linspace(0, 240, 481)
    res = simulate_culture({drug: conc}, "32D-MPL", t_out=t / 1440.0)
    for out in ("pJAK2", "pSTAT5", "pSTAT3", "pERK", "pAKT"):
        v = res.outputs[out]
        k = int(np.argmax(v))
        assert 2.0 <= t[k] <= 30.0, (out, t[k])
        assert v[k] > 5 * v[0], out  # a clear phospho signal over baseline
        # SOCS/DUSP feedback and internalisation bring it down (pAKT is the most sustained)
        assert v[t.searchsorted(120.0)] < (0.99 if out == "pAKT" else 0.95) * v[k], out


def test_cold_binding_has_no_internalisation():
    res = simulate_culture({"tpo": 1.0}, "32D-MPL", t_out=np.array([0.0, 1.0]), parameters=COLD)
    assert res.outputs["RI"][-1] == 0.0
