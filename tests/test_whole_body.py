"""Whole-body model: engines agree, drug-free steady state holds, mass balance, invariants."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from moasim.engine import get_engine, run_schedule
from moasim.engine._codegen import python_rhs
from moasim.library.build import Subject, build_model
from moasim.model import Module, State, compose
from moasim.simulation import simulate


@pytest.mark.reference
@pytest.mark.parametrize("drug,dose,route,pop", [
    ("romiplostim", None, "sc", "itp"),          # label titration, state-dependent doses
    ("eltrombopag", "50 mg", "oral", "itp"),
    ("hetrombopag", "5 mg", "oral", "itp"),
    ("avatrombopag", "20 mg", "oral", "healthy"),
    ("tpo", "1 ug/kg", "sc", "healthy"),
])
def test_roadrunner_matches_scipy_reference(drug, dose, route, pop):
    """libroadrunner (CVODE) vs scipy LSODA at tight tolerance, same event loop."""
    kw = dict(route=route, days=56, population=pop, samples_per_day=2)
    if dose is None:
        kw["titration"] = "label"
    else:
        kw["every"] = "1 day" if route == "oral" else "1 week"
    a = simulate(drug, dose, engine="roadrunner", rtol=1e-9, atol=1e-12, **kw)
    b = simulate(drug, dose, engine="scipy", rtol=1e-10, atol=1e-13, **kw)
    assert a.doses == b.doses  # same titration decisions
    for name in ("platelets", "tpo", "drug_concentration"):
        x, y = a.outputs[name], b.outputs[name]
        scale = np.max(np.abs(y))
        assert np.max(np.abs(x - y)) / scale < 1e-5, name


@pytest.mark.parametrize("pop", ["healthy", "itp", "aplastic"])
def test_drug_free_steady_state_holds(pop):
    """The solved initial state is an equilibrium: zero derivatives and no drift over 3 years."""
    m = build_model(("romiplostim", "eltrombopag"), Subject(population=pop))
    rhs = python_rhs(m)
    y0 = np.array([m.initial[s] for s in m.state_names])
    p = [m.parameter_values[n] for n in m.parameter_names]
    dy = np.abs(np.array(rhs(0.0, y0, p)))
    assert np.all(dy <= 1e-9 * np.maximum(np.abs(y0), 1.0))
    r = simulate(None, days=3 * 365, population=pop, samples_per_day=1)
    for name in ("platelets", "tpo"):
        v = r.outputs[name]
        assert np.max(np.abs(v / v[0] - 1)) < 1e-7


def test_itp_baseline_matches_requested_count():
    for b in (5.0, 18.0, 25.0):
        r = simulate(None, days=10, subject=Subject(population="itp", baseline_platelets=b), samples_per_day=1)
        assert r.outputs["platelets"][-1] == pytest.approx(b, rel=1e-8)


def _with_elimination_ledger(subject):
    """Romiplostim model + a module that accumulates every eliminated microgram."""
    base = build_model(("romiplostim",), subject)
    ledger = Module(
        name="ledger", doc="cumulative romiplostim eliminated (ug)",
        states=(State(name="ELIM_rom", unit="ug"),),
        rates={"ELIM_rom": ("KEL_rom*Cfree_rom*VC", "KINT_rom*(Ctot_rom - Cfree_rom)*VC")},
    )
    m = compose(base.name + "_ledger", [*base.modules, ledger])
    return m.with_parameters(**base.parameter_values).with_initial(**base.initial)


@settings(max_examples=15, deadline=None)
@given(dose=st.floats(0.1, 20.0), n=st.integers(1, 4), iv=st.booleans())
def test_romiplostim_mass_balance(dose, n, iv):
    """Dosed (x F for SC) = depot + central + peripheral + eliminated, at every time."""
    from moasim.dosing import Regimen
    from moasim.dosing._regimen import regimen_events
    from moasim.library.drugs import get_drug

    subj = Subject(population="itp")
    m = _with_elimination_ledger(subj)
    reg = Regimen(drug="romiplostim", dose=dose, unit="ug/kg", route="iv" if iv else "sc", every_days=7.0, count=n)
    t = np.linspace(0, 35, 71)
    ev = regimen_events(get_drug("romiplostim"), reg, 35, m.parameter_values, subj.weight_kg)
    res = run_schedule(get_engine("roadrunner", rtol=1e-10, atol=1e-12), m, t, ev)
    idx = [m.state_names.index(s) for s in ("DEPOT_rom", "AC_rom", "AP_rom", "ELIM_rom")]
    total = res.states[:, idx].sum(axis=1)
    f = 1.0 if iv else m.parameter_values["F_rom"]
    dosed = np.array([sum(dose * 70.0 * f for td in reg.times(35) if td < ti) for ti in t])  # pre-dose at dose times
    assert np.max(np.abs(total - dosed)) <= 1e-6 * max(dosed.max(), 1.0)
    assert np.all(res.states >= -1e-9)  # non-negative states


@settings(max_examples=10, deadline=None)
@given(dose=st.floats(5.0, 100.0), k=st.floats(1.5, 4.0))
def test_eltrombopag_pk_is_dose_proportional(dose, k):
    """Linear PK: concentrations scale exactly with dose (no food)."""
    a = simulate("eltrombopag", f"{dose} mg", every="1 day", days=5, samples_per_day=8)
    b = simulate("eltrombopag", f"{dose * k} mg", every="1 day", days=5, samples_per_day=8)
    ca, cb = a.outputs["drug_concentration"], b.outputs["drug_concentration"]
    m = ca > 1e-6 * ca.max()
    assert np.max(np.abs(cb[m] / ca[m] / k - 1)) < 1e-6


def test_hetrombopag_auc_more_than_dose_proportional():
    """Saturable elimination (Zheng 2017): AUC/dose rises with dose."""
    from moasim.validate.metrics import auc, oral_single_dose_pk

    r = [auc(*oral_single_dose_pk("hetrombopag", d)) / d for d in (5, 10, 20, 40)]
    assert all(b > a for a, b in zip(r, r[1:]))


@pytest.mark.parametrize("a,b", [("1 mg", "1000 ug"), ("0.05 g", "50 mg")])
def test_unit_invariance_of_doses(a, b):
    x = simulate("eltrombopag", a, every="1 day", days=3, samples_per_day=4)
    y = simulate("eltrombopag", b, every="24 h", days=3, samples_per_day=4)
    np.testing.assert_allclose(x.outputs["drug_concentration"], y.outputs["drug_concentration"], rtol=1e-9, atol=0)


def test_weight_based_dose_scales_with_weight():
    light = simulate("romiplostim", "1 ug/kg", days=3, subject=Subject(weight_kg=50.0))
    heavy = simulate("romiplostim", "1 ug/kg", days=3, subject=Subject(weight_kg=100.0))
    assert heavy.doses[0][2] == light.doses[0][2] == 1.0
    assert heavy.parameters["WT"] == 100.0


def test_romiplostim_is_competitive_and_small_molecules_additive_with_tpo():
    """Receptor mechanism: romiplostim displaces TPO from c-Mpl (TPO clearance falls, TPO rises);
    eltrombopag adds activation without touching TPO binding."""
    r = simulate("romiplostim", "10 ug/kg", route="iv", days=2, samples_per_day=24)
    assert r.outputs["tpo"][12] > 1.5 * r.outputs["tpo"][0]
    e = simulate("eltrombopag", "75 mg", every="1 day", days=3, samples_per_day=24)
    assert e.outputs["receptor_activation"].max() > 1.5 * e.outputs["receptor_activation"][0]
    # no displacement: within the first 2 h (before the MK mass grows) TPO does not move
    assert np.max(np.abs(e.outputs["tpo"][:3] / e.outputs["tpo"][0] - 1)) < 1e-5
