"""Engine + event loop against closed-form PK (house style tier 1: max relative error).

The closed forms are in ``tests/_closed_form.py`` (fixture ``closed_form``), shared with the bone tests."""

import numpy as np
import pytest

from moasim.engine import Add, Event, SetParameter, get_engine, run_schedule
from moasim.model import Module, Output, Parameter, State, compose


def _two_cmt():
    P = lambda n, v, u, mu=None: Parameter(name=n, value=v, unit=u, model_unit=mu or u, source="test", tag="A")  # noqa: E731
    return compose("pk2", [Module(
        name="pk2", doc="",
        parameters=(P("KA", 1.2, "1/h", "1/day"), P("CL", 5.0, "L/h", "L/day"), P("V1", 40.0, "L"), P("QC", 8.0, "L/h", "L/day"), P("V2", 60.0, "L")),
        states=(State(name="DEPOT", unit="ug", dosable=True), State(name="C1", unit="ug", dosable=True), State(name="C2", unit="ug")),
        rates={"DEPOT": "-KA*DEPOT", "C1": ("KA*DEPOT", "-(CL + QC)/V1*C1", "QC/V2*C2"), "C2": ("QC/V1*C1", "-QC/V2*C2")},
        outputs=(Output(name="conc", expr="C1/V1", unit="ng/mL"),),
    )])


PARS_DAY = (1.2 * 24, 5.0 * 24, 40.0, 8.0 * 24, 60.0)
T = np.linspace(0, 6, 6 * 48 + 1)


@pytest.mark.reference
@pytest.mark.parametrize("engine", ["roadrunner", "scipy"])
def test_repeated_oral_doses_match_superposition(engine, closed_form):
    m = _two_cmt()
    times = [0.0, 1.0, 2.0, 3.5]
    res = run_schedule(get_engine(engine, rtol=1e-10, atol=1e-12), m, T, [Event(t, Add("DEPOT", 1000.0)) for t in times])
    conc = res.states[:, 1] / 40.0
    exact = sum(closed_form.oral(T - t, 1000.0, PARS_DAY) for t in times)
    mask = exact > 1e-3 * exact.max()
    assert np.max(np.abs(conc[mask] / exact[mask] - 1)) < 1e-6


@pytest.mark.reference
@pytest.mark.parametrize("engine", ["roadrunner", "scipy"])
def test_iv_bolus_and_infusion_match_closed_form(engine, closed_form):
    m = _two_cmt()
    rate = 2400.0  # ug/day for 0.5 day
    events = [Event(0.0, Add("C1", 500.0)), Event(1.0, SetParameter("INPUT_C1", rate, additive=True)), Event(1.5, SetParameter("INPUT_C1", -rate, additive=True))]
    res = run_schedule(get_engine(engine, rtol=1e-10, atol=1e-12), m, T, events)
    conc = res.states[:, 1] / 40.0
    exact = closed_form.iv_bolus(T, 500.0, PARS_DAY) + closed_form.infusion(T - 1.0, rate, 0.5, PARS_DAY)
    assert conc[0] == 0.0  # the t=0 sample is pre-dose
    assert np.max(np.abs(conc[1:] / exact[1:] - 1)) < 1e-6


def test_observation_at_a_dose_time_is_pre_dose(closed_form):
    m = _two_cmt()
    t = np.array([0.0, 1.0, 1.0 + 1e-9])
    res = run_schedule(get_engine("roadrunner", rtol=1e-10, atol=1e-12), m, t, [Event(0.0, Add("C1", 100.0)), Event(1.0, Add("C1", 100.0))])
    assert res.states[0, 1] == 0.0
    assert res.states[1, 1] == pytest.approx(closed_form.iv_bolus(np.array([1.0]), 100.0, PARS_DAY)[0] * 40, rel=1e-6)
    assert res.states[2, 1] - res.states[1, 1] == pytest.approx(100.0, rel=1e-6)
