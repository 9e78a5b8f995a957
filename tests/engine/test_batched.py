"""Batched population engine (RODAS4 per subject, numba) against closed form and the scipy engine."""

import numpy as np
import pytest

pytest.importorskip("numba")

from moasim.engine import Add, Event, SetParameter, Transfer, get_engine, run_schedule  # noqa: E402
from moasim.engine._batched import (BatchedEngine, SubjectSchedules, _kernel, _sparse_lu_source, batched_outputs,  # noqa: E402
                                    run_batched)
from moasim.errors import SpecError  # noqa: E402
from moasim.model import Module, Output, Parameter, State, compose  # noqa: E402


def _model():
    """1-compartment IV bolus PK + indirect-response PD with a time-dependent production (one structure:
    one compilation for every test in this file)."""
    P = lambda n, v, u: Parameter(name=n, value=v, unit=u, source="test", tag="A")  # noqa: E731
    pk = Module(
        name="pk", doc="",
        parameters=(P("CL", 5.0, "L/day"), P("V", 40.0, "L")),
        states=(State(name="A", unit="mg", dosable=True),),
        assignments={"Cc": "A/V"},
        rates={"A": "-CL/V*A"},
        outputs=(Output(name="conc", expr="1000*Cc", unit="ng/mL"),),
    )
    pd = Module(
        name="pd", doc="",
        parameters=(P("kin", 10.0, "1/day"), P("kout", 0.5, "1/day"), P("IC50", 0.05, "mg/L"), P("tau", 5.0, "day")),
        states=(State(name="R", unit="1"),),
        assignments={"inh": "Cc^2/(IC50^2 + Cc^2)", "prod": "kin*(1 + 0.5*exp(-time/tau))"},
        rates={"R": "prod*(1 - inh) - kout*R"},
        outputs=(Output(name="response", expr="R", unit="1"),),
    )
    return compose("batched_test", [pk, pd])


MODEL = _model()
PN, SN = MODEL.parameter_names, MODEL.state_names


def _population(n, seed=1):
    rng = np.random.default_rng(seed)
    params = np.tile([MODEL.parameter_values[k] for k in PN], (n, 1))
    params[:, PN.index("CL")] *= np.exp(0.4 * rng.standard_normal(n))
    params[:, PN.index("V")] *= np.exp(0.2 * rng.standard_normal(n))
    params[:, PN.index("kout")] *= np.exp(0.3 * rng.standard_normal(n))
    y0 = np.zeros((n, len(SN)))
    y0[:, SN.index("A")] = rng.uniform(1.0, 10.0, n)  # first dose (mg) at t = 0
    y0[:, SN.index("R")] = 20.0
    return params, y0


def test_one_compartment_bolus_closed_form():
    n = 40
    params, y0 = _population(n)
    doses = np.random.default_rng(2).uniform(0.5, 5.0, (n, 2))
    ev = (6.0, 13.5)
    t_out = np.unique(np.r_[np.linspace(0, 24, 49), ev])

    def decide(t, outputs):
        assert set(outputs) >= {"conc", "response", "Cc", "A"} and outputs["conc"].shape == (n,)
        return {"A": doses[:, ev.index(t)]}

    Y = run_batched(MODEL, params, y0, t_out, ev, decide, rtol=1e-8, atol=1e-12)
    k = params[:, PN.index("CL")] / params[:, PN.index("V")]
    exact = y0[:, None, 0] * np.exp(-k[:, None] * t_out)
    for j, te in enumerate(ev):  # pre-event convention: the dose at te is not in the output at te
        exact += np.where(t_out > te, doses[:, j, None] * np.exp(-k[:, None] * (t_out - te)), 0.0)
    assert Y.shape == (n, len(t_out), len(SN))
    assert np.max(np.abs(Y[:, :, SN.index("A")] / exact - 1)) < 1e-6


class _Controller:
    """Per-subject titration for run_schedule: double the dose while the response is above 12."""

    decision_times = (7.0, 14.0, 21.0)

    def __init__(self, dose):
        self.dose = dose

    def decide(self, t, observe):
        if observe("response") > 12.0:
            self.dose *= 2.0
        return [Event(t, Add("A", self.dose))]


def test_equals_scipy_engine_with_titration():
    n = 6
    params, y0 = _population(n, seed=3)
    t_out = np.arange(0.0, 29.0, 0.5)
    ref = np.empty((n, len(t_out), len(SN)))
    eng = get_engine("scipy", rtol=1e-10, atol=1e-12, method="Radau")
    for i in range(n):
        m = MODEL.with_parameters(**dict(zip(PN, params[i]))).with_initial(**dict(zip(SN, y0[i])))
        ref[i] = run_schedule(eng, m, t_out, controllers=[_Controller(float(y0[i, 0]))]).states

    dose = y0[:, 0].copy()

    def decide(t, outputs):
        dose[:] = np.where(outputs["response"] > 12.0, 2.0 * dose, dose)
        return {"A": dose.copy()}

    res = BatchedEngine(rtol=1e-9, atol=1e-12, threads=2, chunk_size=5).run(
        MODEL, params, y0, t_out, _Controller.decision_times, decide)
    scale = np.maximum(np.abs(ref), 1e-6)
    assert np.max(np.abs(res.states - ref) / scale) < 1e-6
    assert np.any(dose > y0[:, 0])  # the titration did something
    assert np.all(res.steps > 0) and np.all(res.rhs_evaluations > res.steps)


class _InfusionController:
    """Per-subject rule with a follow-up event: infuse for 1.5 days (rate by the response) at each decision."""

    decision_times = (3.0, 10.0, 17.5)

    def __init__(self, rate):
        self.rate = rate

    def decide(self, t, observe):
        r = self.rate * (2.0 if observe("response") > 12.0 else 1.0)
        return [Event(t, SetParameter("INPUT_A", r)), Event(t + 1.5, SetParameter("INPUT_A", -r, additive=True))]


@pytest.mark.parametrize("n", [5, 12])  # 12: the advance events go through the bulk (array) path
def test_subject_schedules_equal_run_schedule(n):
    """Per-subject Events and controllers (Add, SetParameter infusions with follow-up stop times;
    advance events at the controllers' decision times, several per subject at one time, a
    parameter set and incremented, a transfer)."""
    params, y0 = _population(n, seed=6)
    y0[:, 0] = 0.0
    t_out = np.arange(0.0, 24.25, 0.25)
    rates = np.linspace(1.0, 4.0, n)

    def events(i):
        return [Event(0.0, Add("A", 2.0 + i)), Event(6.0 + 0.5 * i, Add("A", 1.0)), Event(10.0, Add("A", 0.5)),
                Event(10.0, SetParameter("kin", 12.0 + i)), Event(10.0, SetParameter("kout", 0.1, additive=True)),
                Event(17.5, Transfer("A", "R", 0.1 * (i % 3)))]

    eng = get_engine("scipy", rtol=1e-10, atol=1e-12, method="Radau")
    ref, ref_ledgers = np.empty((n, len(t_out), len(SN))), []
    for i in range(n):
        m = MODEL.with_parameters(**dict(zip(PN, params[i]))).with_initial(**dict(zip(SN, y0[i])))
        r = run_schedule(eng, m, t_out, events(i), [_InfusionController(rates[i])])
        ref[i] = r.states
        ref_ledgers.append(r.ledger)
    sched = SubjectSchedules(MODEL, [events(i) for i in range(n)], [[_InfusionController(r)] for r in rates], t_out[-1])
    res = BatchedEngine(rtol=1e-9, atol=1e-12, threads=2, chunk_size=2).run(MODEL, params, y0, t_out, schedule=sched)
    assert np.max(np.abs(res.states - ref) / np.maximum(np.abs(ref), 1e-6)) < 1e-6
    assert [len(x) for x in sched.ledgers] == [len(x) for x in ref_ledgers]
    assert all(tuple(a) == tuple(b) for a, b in zip(sched.ledgers, ref_ledgers))


class _InfusionRule:
    """_InfusionController for all subjects at once (an ArrayRule): administration 0 infuses at the
    subject's rate, administration 1 at twice it (response above 12), each with its stop 1.5 days
    later; a labelled bolus with a dose record comes with the doubled one."""

    decision_times = _InfusionController.decision_times

    def __init__(self, rates):
        self.rates = rates

    def decide(self, t, outputs):
        return np.where(outputs["response"] > 12.0, 1, 0)

    def administration(self, k):
        out = []
        for r in self.rates * (2.0 if k else 1.0):
            evs = [Event(0.0, SetParameter("INPUT_A", r)), Event(1.5, SetParameter("INPUT_A", -r, additive=True))]
            out.append(evs + ([Event(0.0, Add("A", 0.5), label="top-up", dose=("x", 0.5, "mg"))] if k else []))
        return out


class _TopUpController(_InfusionController):
    def decide(self, t, observe):
        evs = super().decide(t, observe)
        return evs + ([Event(t, Add("A", 0.5), label="top-up", dose=("x", 0.5, "mg"))] if observe("response") > 12.0 else [])


def test_array_rule_equals_run_schedule_per_subject():
    """A rule over all subjects (numpy decision, per-subject administrations with a follow-up event
    1.5 days later, a labelled dose for some) gives, subject by subject, what run_schedule gives
    with the same rule as a controller object (scipy Radau at tight tolerance); the labelled events
    enter the ledger at their times."""
    n = 12
    params, y0 = _population(n, seed=9)
    t_out = np.arange(0.0, 24.25, 0.25)
    rates = np.linspace(1.0, 4.0, n)
    eng = get_engine("scipy", rtol=1e-10, atol=1e-12, method="Radau")
    ref, ref_doses = np.empty((n, len(t_out), len(SN))), []
    for i in range(n):
        m = MODEL.with_parameters(**dict(zip(PN, params[i]))).with_initial(**dict(zip(SN, y0[i])))
        r = run_schedule(eng, m, t_out, [Event(10.0, Add("A", 1.0))], [_TopUpController(rates[i])])
        ref[i] = r.states
        ref_doses.append([(e.time, e.dose) for e in r.ledger if e.dose])
    sched = SubjectSchedules(MODEL, [[Event(10.0, Add("A", 1.0))]] * n, None, t_out[-1], rules=[_InfusionRule(rates)])
    res = BatchedEngine(rtol=1e-9, atol=1e-12, threads=2, chunk_size=4).run(MODEL, params, y0, t_out, schedule=sched)
    assert np.max(np.abs(res.states - ref) / np.maximum(np.abs(ref), 1e-6)) < 1e-6
    assert [[(e.time, e.dose) for e in x if e.dose] for x in sched.ledgers] == ref_doses
    assert 0 < sum(map(len, ref_doses)) < 3 * n  # some subjects got the doubled administration, not all


class _Observer:
    """Records what a subject's controller observes (no doses)."""

    decision_times = (3.0,)

    def __init__(self):
        self.seen = []

    def decide(self, t, observe):
        self.seen.append(observe("conc"))
        return []


def test_controllers_observe_their_own_pre_event_outputs():
    """Outputs are computed on first access (lazily): when a subject without a controller gets a
    dose at the same time first (subject 0, applied before subject 1 is handled), subject 1 still
    observes its own pre-event value, as run_schedule gives it (independent, scipy Radau)."""
    n = 2
    params, y0 = _population(n, seed=8)
    t_out = np.arange(0.0, 5.0)
    events = [[Event(3.0, Add("A", 50.0))], [Event(3.0, Add("A", 50.0))]]
    observers = [_Observer(), _Observer()]
    sched = SubjectSchedules(MODEL, events, [[], [observers[1]]], t_out[-1])
    BatchedEngine(rtol=1e-10, atol=1e-12, threads=1).run(MODEL, params, y0, t_out, schedule=sched)
    ref = _Observer()
    m = MODEL.with_parameters(**dict(zip(PN, params[1]))).with_initial(**dict(zip(SN, y0[1])))
    run_schedule(get_engine("scipy", rtol=1e-11, atol=1e-13, method="Radau"), m, t_out, events[1], [ref])
    assert observers[1].seen == pytest.approx(ref.seen, rel=1e-7) and len(ref.seen) == 1


def test_decide_sets_parameters():
    params, y0 = _population(4, seed=7)
    y0[:, 0] = 0.0
    t_out = np.array([0.0, 1.0, 2.0, 3.0])
    rate = np.array([1.0, 2.0, np.nan, 0.5])  # NaN: leave that subject's parameter as it is (0)

    def decide(t, out):
        return {"INPUT_A": rate if t == 1.0 else np.zeros(4)}

    A = run_batched(MODEL, params, y0, t_out, [1.0, 2.0], decide, rtol=1e-10, atol=1e-12)[:, :, 0]
    k = params[:, PN.index("CL")] / params[:, PN.index("V")]
    r = np.nan_to_num(rate)
    np.testing.assert_allclose(A[:, 2], r / k * (1 - np.exp(-k)), rtol=1e-7, atol=1e-12)
    np.testing.assert_allclose(A[:, 3], A[:, 2] * np.exp(-k), rtol=1e-7, atol=1e-12)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_generated_sparse_lu_solves_like_numpy(seed):
    """The generated sparse LU (minimum-degree order, fill-in) as plain Python against numpy, in
    both forms (straight-line and index-array loops), which must also agree bit for bit."""
    import types

    rng = np.random.default_rng(seed)
    n = 14
    nz = {(i, j) for i in range(n) for j in range(n) if rng.random() < 0.2} | {(i, (i + 1) % n) for i in range(n)}
    fake = types.SimpleNamespace(njit=lambda **kw: (lambda f: f))
    J = np.zeros((n, n))
    for i, j in nz:
        J[i, j] = rng.standard_normal()
    fac = 3.0
    b = rng.standard_normal(n)
    results = []
    for straight in (True, False):
        ns = {"np": np, "numba": fake}
        exec("\n".join(_sparse_lu_source(n, nz, straight_line=straight)), ns)
        g, ws = np.empty(ns["NNZ_LU"]), np.empty(n)
        assert ns["lu_sparse"](J, fac, g, ws)
        x = b.copy()
        ns["solve_sparse"](g, x, ws)
        np.testing.assert_allclose(x, np.linalg.solve(fac * np.eye(n) - J, b), rtol=1e-10, atol=1e-12)
        J0 = np.zeros((n, n))
        J0[np.diag_indices(n)] = fac  # zero pivots: refused (the engine then uses dense pivoted LU)
        assert not ns["lu_sparse"](J0, fac, g.copy(), ws)
        results.append((g, x))
    assert np.array_equal(results[0][0], results[1][0]) and np.array_equal(results[0][1], results[1][1])


def test_large_factorisations_are_generated_as_loops():
    """Straight-line code only up to STRAIGHT_LINE_MAX_UPDATES updates (compile time grows with it)."""
    from moasim.engine._batched import STRAIGHT_LINE_MAX_UPDATES

    dense = {(i, j) for i in range(30) for j in range(30)}  # 30 x 29 x 59 / 6 = 8,555 updates
    assert 8555 > STRAIGHT_LINE_MAX_UPDATES
    assert any("_LU_UT" in line for line in _sparse_lu_source(30, dense))
    small = {(i, j) for i in range(8) for j in range(8)}
    assert not any("_LU_UT" in line for line in _sparse_lu_source(8, small))


def test_dense_pivoted_lu_fallback():
    mod = _kernel(MODEL)
    rng = np.random.default_rng(9)
    G = rng.standard_normal((6, 6))
    G[0, 0] = 0.0  # needs a row exchange
    b = rng.standard_normal(6)
    F, piv, x = G.copy(), np.empty(6, dtype=np.int64), b.copy()
    assert mod.dense_lu(F, piv)
    mod.dense_lu_solve(F, piv, x)
    np.testing.assert_allclose(x, np.linalg.solve(G, b), rtol=1e-10)
    assert not mod.dense_lu(np.zeros((6, 6)), piv)


def test_threads_and_chunks_do_not_change_results():
    params, y0 = _population(30, seed=4)
    t_out = np.linspace(0, 10, 11)
    a = BatchedEngine(threads=1).run(MODEL, params, y0, t_out).states
    b = BatchedEngine(threads=2, chunk_size=7).run(MODEL, params, y0, t_out).states
    np.testing.assert_array_equal(a, b)


def test_outputs_over_subjects():
    params, y0 = _population(5, seed=5)
    out = batched_outputs(MODEL)(np.zeros(5), y0, params)
    np.testing.assert_allclose(out["conc"], 1000 * y0[:, 0] / params[:, PN.index("V")])
    assert out["response"].shape == (5,)


def test_input_errors():
    params, y0 = _population(3)
    with pytest.raises(SpecError):
        run_batched(MODEL, params[:, :2], y0, [0.0, 1.0])
    with pytest.raises(SpecError):
        run_batched(MODEL, params, y0, [1.0, 0.0])
    with pytest.raises(SpecError):
        run_batched(MODEL, params, y0, [0.0, 2.0], [1.0], lambda t, o: {"nope": np.ones(3)})


def _oral_model():
    """Daily oral dose through a 4-compartment absorption transit chain into a 1-compartment body,
    driving a slow indirect response (the shape of the oral TPO-RA models)."""
    P = lambda n, v, u: Parameter(name=n, value=v, unit=u, source="test", tag="A")  # noqa: E731
    tr = ("TR1", "TR2", "TR3", "TR4")
    mod = Module(
        name="oral", doc="",
        parameters=(P("ktr", 120.0, "1/day"), P("CL", 100.0, "L/day"), P("V", 200.0, "L"), P("EC50", 5.0, "ug/L"),
                    P("kout", 0.2, "1/day")),
        states=tuple(State(name=n, unit="ug", dosable=(n == "TR1"), absorption=True) for n in tr)
        + (State(name="CENT", unit="ug"), State(name="R", unit="1")),
        assignments={"Cc": "CENT/V"},
        rates={"TR1": "-ktr*TR1", "TR2": "ktr*(TR1 - TR2)", "TR3": "ktr*(TR2 - TR3)", "TR4": "ktr*(TR3 - TR4)",
               "CENT": "ktr*TR4 - CL/V*CENT", "R": "kout*(1 + 2*Cc/(EC50 + Cc)) - kout*R"},
        outputs=(Output(name="response", expr="R", unit="1"),),
    )
    return compose("oral_transit_test", [mod])


def test_peak_error_scale_for_absorption_states():
    """error_scale="peak" controls the dose compartments relative to the dose: far fewer steps
    with daily doses, while the systemic and response states stay within the tolerance of an
    independent tight solution (scipy Radau, rtol 1e-11, restarted at each dose)."""
    from scipy.integrate import solve_ivp

    model = _oral_model()
    sn, n = model.state_names, 3
    rng = np.random.default_rng(3)
    params = np.tile(model.parameter_vector(), (n, 1))
    params[:, model.parameter_names.index("CL")] *= np.exp(0.3 * rng.standard_normal(n))
    y0 = np.tile(model.initial_vector(), (n, 1))
    y0[:, sn.index("R")] = 1.0
    dose = 1000.0 * rng.uniform(1, 20, n)  # ug
    t_out = np.arange(0.0, 15.0)
    decide = lambda t, out: {"TR1": dose}  # noqa: E731
    days = np.arange(0.0, 14.0)
    y0[:, sn.index("TR1")] = dose
    engines = {"current": BatchedEngine(threads=1), "peak": BatchedEngine(error_scale="peak", threads=1),
               # the trials' setting: absorption states to 1e-4 of their peak, everything else to rtol 1e-6
               "peak, absorption_rtol 1e-4": BatchedEngine(error_scale="peak", absorption_rtol=1e-4, threads=1)}
    runs = {s: e.run(model, params, y0, t_out, days[1:], decide) for s, e in engines.items()}
    assert runs["peak"].steps.mean() < 0.5 * runs["current"].steps.mean()
    assert runs["peak, absorption_rtol 1e-4"].steps.mean() < 0.8 * runs["peak"].steps.mean()

    mod = _kernel(model)
    atol = np.array([1e-7 if s.startswith("TR") else 1e-12 for s in sn])  # 1e-7 ug of a >= 1 mg dose: 1e-10 relative
    for i in range(n):
        y, ref = y0[i].copy(), [y0[i].copy()]
        f = lambda t, u, p=params[i]: (lambda o: (mod.rhs(t, u, p, o), o)[1])(np.empty(len(u)))  # noqa: E731
        jac = lambda t, u, p=params[i]: (lambda o: (mod.jac(t, u, p, o), o)[1])(np.empty((len(u), len(u))))  # noqa: E731
        for d in days:
            sol = solve_ivp(f, (d, d + 1), y, method="Radau", jac=jac, rtol=1e-11, atol=atol)
            y = sol.y[:, -1].copy()
            ref.append(y.copy())
            y[sn.index("TR1")] += dose[i]
        ref = np.array(ref)
        for s, r in runs.items():
            for name in ("CENT", "R"):
                k = sn.index(name)
                np.testing.assert_allclose(r.states[i, 1:, k], ref[1:, k], rtol=2e-5, err_msg=f"{s} {name}")


def test_error_scale_is_checked():
    with pytest.raises(SpecError, match="error_scale"):
        BatchedEngine(error_scale="largest")
    for bad in (0.0, 1.0, True, "1e-4", 1e-8):  # 1e-8: tighter than rtol 1e-6
        with pytest.raises(SpecError, match="absorption_rtol"):
            BatchedEngine(error_scale="peak", absorption_rtol=bad)


@pytest.mark.parametrize("seed", [0, 1])
def test_generated_jacobian_equals_sympy(seed):
    """The generated Jacobian (chain rule through the assignments, forward mode) equals sympy's
    Jacobian of the right-hand side with the assignments substituted, at random points."""
    import sympy

    from moasim.engine._codegen import _names, parse

    for model in (MODEL, _oral_model()):
        names = _names(model)
        assign = {}
        for a, e in model.assignments.items():  # dependency order: substitute earlier ones
            assign[sympy.Symbol(a)] = parse(e, names).subs(assign)
        states = [sympy.Symbol(s) for s in model.state_names]
        rates = sympy.Matrix([parse(model.rates[s], names).subs(assign) for s in model.state_names])
        params = [sympy.Symbol(p) for p in model.parameter_names]
        jac_ref = sympy.lambdify([sympy.Symbol("time"), states, params], rates.jacobian(states), "numpy")
        rng = np.random.default_rng(seed)
        y = rng.uniform(0.1, 5.0, len(states))
        p = model.parameter_vector() * rng.uniform(0.5, 2.0, len(params))
        J = np.empty((len(states), len(states)))
        _kernel(model).jac(2.5, y, p, J)
        np.testing.assert_allclose(J, np.array(jac_ref(2.5, y, p), dtype=float), rtol=1e-12, atol=1e-12)


def test_kernel_cache_index_skips_source_generation(monkeypatch):
    """A process that finds a structure in the cache index loads the compiled file without
    regenerating its source (sympy); a change of the generator's code (its hash) regenerates."""
    from moasim.engine import _batched as B

    _kernel(MODEL)  # the index entry exists now
    monkeypatch.setattr(B, "_KERNELS", {})  # as in a fresh process
    monkeypatch.setattr(B, "_kernel_source", lambda *a: (_ for _ in ()).throw(AssertionError("regenerated")))
    mod = _kernel(MODEL)
    assert hasattr(mod, "integrate")
    monkeypatch.setattr(B, "_KERNELS", {})
    monkeypatch.setattr(B, "_generator_hash", lambda: "another generator")
    with pytest.raises(AssertionError, match="regenerated"):
        _kernel(MODEL)


def test_prepare_loads_the_entry_point_a_run_uses():
    """prepare() calls the compiled entry point once (zero-length segment) with the argument
    types of a real run, so forked trial workers inherit the loaded code: a run afterwards must
    not add a second compiled signature (which would mean every worker loads it again)."""
    mod = _kernel(MODEL)
    BatchedEngine().prepare(MODEL)
    assert len(mod.integrate.overloads) == 1
    params, y0 = _population(3, seed=1)
    BatchedEngine(threads=1).run(MODEL, params, y0, np.arange(0.0, 2.0, 0.5), event_times=[1.0])
    assert len(mod.integrate.overloads) == 1


def test_a_rule_deciding_anything_but_one_index_per_subject_is_refused():
    """A rule's decision is (N,) integers; a float array or a wrong length is one clear error."""
    params, y0 = _population(3, seed=2)

    class Bad(_InfusionRule):
        def __init__(self, rates, answer):
            super().__init__(rates)
            self.answer = answer

        def decide(self, t, outputs):
            return self.answer

    for answer in (np.zeros(3), np.zeros(2, dtype=int)):
        sched = SubjectSchedules(MODEL, [[]] * 3, None, 20.0, rules=[Bad(np.ones(3), answer)])
        with pytest.raises(SpecError, match="integer administration indices"):
            BatchedEngine(threads=1).run(MODEL, params, y0, np.arange(0.0, 21.0), schedule=sched)
