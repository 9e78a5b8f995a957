"""SBML export is reproduced by an independent SBML simulator (COPASI via basico)."""

import numpy as np
import pytest

from moasim.cli.main import main
from moasim.simulation import simulate

basico = pytest.importorskip("basico")


@pytest.mark.reference
@pytest.mark.parametrize("drug,dose,every,route,pop", [
    ("romiplostim", "3 ug/kg", "1 week", "sc", "itp"),
    ("eltrombopag", "50 mg", "1 day", "oral", "healthy"),
])
def test_copasi_reproduces_exported_sbml(tmp_path, capsys, drug, dose, every, route, pop):
    days = 28
    out = tmp_path / "m.xml"
    assert main(["export", "sbml", "--drug", drug, "--population", pop, "--dose", dose, "--every", every,
                 "--route", route, "--days", str(days), "-o", str(out)]) == 0
    ours = simulate(drug, dose, every=every, route=route, days=days, population=pop, samples_per_day=4, rtol=1e-10, atol=1e-12)
    basico.load_model(str(out))
    basico.set_task_settings(basico.T.TIME_COURSE, {"method": {"Relative Tolerance": 1e-10, "Absolute Tolerance": 1e-12, "Max Internal Steps": 1000000}})
    tc = basico.run_time_course(duration=days, intervals=days * 4, automatic=False)
    t = tc.index.to_numpy()
    plt_copasi = sum(tc[f"Values[PLT{j}]"].to_numpy() for j in range(1, 11))
    np.testing.assert_allclose(t, ours.time, atol=1e-9)
    # compare away from dose instants (COPASI reports post-event values at event times)
    mask = np.ones_like(t, bool)
    assert np.max(np.abs(plt_copasi[mask] / ours.outputs["platelets"][mask] - 1)) < 1e-5
    tpo = tc["Values[TPO]"].to_numpy()
    assert np.max(np.abs(tpo / ours.outputs["tpo"] - 1)) < 1e-5
