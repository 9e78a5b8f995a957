"""Calibrated (tag C) parameters of the thrombopoiesis models name the targets they were
fitted to (``Parameter.fitted_by``), and those targets still pass: a refit of one parameter
that silently breaks what another was fitted to fails here (issue 11: SMAX and FR_TPO had
drifted from the numbers their sources claimed and nothing failed).

Population targets (simulated trials) are re-checked by the slow ``moasim validate`` test;
the deterministic ones run here.
"""

from __future__ import annotations

import pytest

from moasim.library.build import build_model
from moasim.library.drugs import DRUGS
from moasim.validate import load_targets, run_validation
from moasim.validate import _trials

ITP_DRUGS = sorted(n for n, d in DRUGS.items() if d.site in ("extracellular", "transmembrane"))


def _calibrated() -> dict[str, tuple[str, ...]]:
    out: dict[str, tuple[str, ...]] = {}
    for drug in ITP_DRUGS:
        for pop in ("healthy", "itp"):
            from moasim.library.build import Subject

            model = build_model((drug,), Subject(population=pop))
            for p in model.parameters.values():
                if p.tag == "C":
                    out[p.name] = p.fitted_by
    return out


CALIBRATED = _calibrated()


def test_every_calibrated_parameter_names_known_targets():
    targets = load_targets()
    assert CALIBRATED, "no calibrated parameters found"
    missing = [n for n, ids in CALIBRATED.items() if not ids]
    assert not missing, f"tag-C parameters without fitted_by: {missing}"
    unknown = {n: [i for i in ids if i not in targets] for n, ids in CALIBRATED.items()}
    assert not any(unknown.values()), f"fitted_by names unknown targets: {unknown}"


DETERMINISTIC = sorted({i for ids in CALIBRATED.values() for i in ids if i not in _trials.CHECKS})


@pytest.mark.parametrize("target_id", DETERMINISTIC)
def test_targets_of_calibrated_parameters_still_pass(target_id):
    (res,), _ = run_validation([target_id])
    assert res.passed, f"{target_id}: model {res.model} vs published {res.published} ({res.tolerance})"
