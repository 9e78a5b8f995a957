"""GPU engine: the CUDA kernel is the CPU kernel's text, and it integrates to the same states.

Without a GPU the CUDA code runs in numba's CUDA simulator (pure Python, in a subprocess
because the simulator is chosen when numba.cuda is first imported); on a machine with a
CUDA GPU, the real device is checked against the CPU engine as well.
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from moasim.engine._batched import BatchedEngine, _kernel_source
from moasim.errors import SolverError
from moasim.model import Module, Output, Parameter, State, compose

# A small stiff PK -> transit -> output chain with a nonlinear (saturable) elimination and a
# feedback: enough structure for the sparse LU, the Jacobian chain rule and the events.
MODULE = Module(
    name="chain", doc="test chain",
    parameters=(Parameter(name="ka", value=1.2, unit="1/day", tag="A", source="test"),
                Parameter(name="vmax", value=3.0, unit="ng/mL/day", tag="A", source="test"),
                Parameter(name="km", value=0.5, unit="ng/mL", tag="A", source="test"),
                Parameter(name="ktr", value=0.8, unit="1/day", tag="A", source="test"),
                Parameter(name="kout", value=0.1, unit="1/day", tag="A", source="test"),
                Parameter(name="emax", value=2.0, unit="1", tag="A", source="test")),
    states=(State(name="A", unit="ng/mL", dosable=True), State(name="C", unit="ng/mL"),
            State(name="T1", unit="1e9/L"), State(name="T2", unit="1e9/L"), State(name="PLT", unit="1e9/L")),
    assignments={"Eff": "emax*C/(km + C)"},
    rates={"A": "-ka*A", "C": "ka*A - vmax*C/(km + C) - 0.05*C*PLT/100",
           "T1": "ktr*(1 + Eff)*10 - ktr*T1", "T2": "ktr*(T1 - T2)", "PLT": "ktr*T2 - kout*PLT"},
    outputs=(Output(name="platelets", expr="PLT", unit="1e9/L"),),
)
MODEL = compose("chain", [MODULE])
T_OUT = np.arange(0.0, 15.0)
EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def _population(n: int = 3) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(7)
    P = np.tile(MODEL.parameter_vector(), (n, 1)) * np.exp(0.3 * rng.standard_normal((n, len(MODEL.parameter_names))))
    Y = np.tile(MODEL.initial_vector(), (n, 1))
    Y[:, MODEL.state_names.index("PLT")] = 80.0 * np.exp(0.2 * rng.standard_normal(n))
    Y[:, MODEL.state_names.index("A")] = 5.0
    return P, Y


def _decide(t, out):  # a titration-like rule on the pre-event output
    return {"A": np.where(out["platelets"] < 100.0, 5.0, 2.0)}


def test_cuda_kernel_is_the_cpu_kernel_text():
    """Both targets compile one generated text: mapping the CUDA work arrays back to numpy
    allocations and dropping the target's header and entry point gives the CPU source."""
    import re

    def body(src: str) -> str:
        src = src[src.index("N_STATES ="):src.index("def integrate(")]
        src = re.sub(r"cuda\.local\.array\((.+), numba\.int64\)", r"np.empty(\1, np.int64)", src)
        return re.sub(r"cuda\.local\.array\((.+), numba\.float64\)", r"np.empty(\1)", src)

    cpu, cuda = _kernel_source(MODEL, "cpu"), _kernel_source(MODEL, "cuda")
    assert body(cuda) == body(cpu).replace("@numba.njit(cache=True, nogil=True)", "@cuda.jit(cache=True)")
    assert "np.empty(" not in cuda[cuda.index("# ---- SOLVER:"):] and "device = cuda.jit(device=True)" in cuda
    assert "device = numba.njit(cache=True)" in cpu


_SIM_SCRIPT = textwrap.dedent("""
    import json, sys
    import numpy as np
    sys.path.insert(0, {tests!r})
    from engine.test_gpu import MODEL, T_OUT, _decide, _population
    from moasim.engine._gpu import GpuEngine
    P, Y = _population()
    r = GpuEngine(block=2).run(MODEL, P, Y, T_OUT, (4.0, 9.0), _decide)
    print(json.dumps(dict(states=r.states.tolist(), steps=r.steps.tolist())))
""")


def test_cuda_kernel_in_simulator_matches_cpu_engine():
    """The CUDA kernel, run by numba's CUDA simulator, gives the CPU engine's states (same
    step sequence; both are IEEE double arithmetic of the same operations)."""
    pytest.importorskip("numba.cuda")
    import json

    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    script = _SIM_SCRIPT.format(tests=os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    done = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    got = json.loads(done.stdout.strip().splitlines()[-1])
    P, Y = _population()
    ref = BatchedEngine(threads=1).run(MODEL, P, Y, T_OUT, (4.0, 9.0), _decide)
    np.testing.assert_array_equal(got["steps"], ref.steps)
    np.testing.assert_allclose(np.array(got["states"]), ref.states, rtol=1e-12, atol=1e-12)


def _real_gpu() -> bool:
    if os.environ.get("NUMBA_ENABLE_CUDASIM") == "1":
        return False
    from moasim.engine._gpu import gpu_available

    return gpu_available()


@pytest.mark.skipif(_real_gpu(), reason="a CUDA GPU is present")
def test_no_gpu_is_one_clear_error():
    from moasim.engine._gpu import GpuEngine

    P, Y = _population()
    with pytest.raises(SolverError, match="engine gpu: .*") as e:
        GpuEngine().run(MODEL, P, Y, T_OUT)
    assert "\n" not in str(e.value)


@pytest.mark.skipif(not _real_gpu(), reason="needs a CUDA GPU (runs on the accelerator machine)")
def test_gpu_matches_cpu_engine_on_device():
    """On a real GPU: 2,000 subjects agree with the CPU engine at the solver tolerance
    (fused multiply-adds on the GPU may change roundings, hence not bitwise)."""
    from moasim.engine._gpu import GpuEngine

    P, Y = _population(2000)
    gpu = GpuEngine().run(MODEL, P, Y, T_OUT, (4.0, 9.0), _decide)
    cpu = BatchedEngine().run(MODEL, P, Y, T_OUT, (4.0, 9.0), _decide)
    np.testing.assert_allclose(gpu.states, cpu.states, rtol=1e-6, atol=1e-9)


def test_numba_cuda_numpy_incompatibility_is_one_clear_error():
    """numba-cuda <= 0.30.4 with numpy >= 2.5 (no np.row_stack) fails inside numba at the first
    launch; the engine says so, and what to do, before trying."""
    from moasim.engine._gpu import _check_numba_cuda_numpy

    with pytest.raises(SolverError, match=r"numba-cuda 0\.30\.4 .*numpy<2\.5"):
        _check_numba_cuda_numpy("0.30.4", has_row_stack=False)
    _check_numba_cuda_numpy("0.30.4", has_row_stack=True)
    _check_numba_cuda_numpy("0.31.0", has_row_stack=False)
    _check_numba_cuda_numpy(None, has_row_stack=False)


@pytest.mark.skipif(_real_gpu(), reason="a CUDA GPU is present")
def test_trial_on_gpu_without_gpu_refuses_before_writing(tmp_path):
    from moasim.trials import run_trial

    out = tmp_path / "run"
    with pytest.raises(SolverError, match="engine gpu"):
        run_trial(str(EXAMPLES / "romiplostim_24wk.yaml"), out_dir=str(out), engine="gpu", progress=False)
    assert not out.exists()
