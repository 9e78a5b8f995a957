"""GPU path of the batched engine: the same generated RODAS4 kernel, one subject per GPU thread.

The model's right-hand side, analytic Jacobian, sparse LU and the RODAS4 step with its
continuous extension are generated from the model text exactly as for the CPU engine
(:mod:`._batched`; ``_kernel_source(model, "cuda")`` differs only in the decorators, the
thread-local work arrays and the entry point) and compiled with numba's CUDA target
(``numba-cuda``; Lam, Pitrou & Seibert 2015, *Numba: a LLVM-based Python JIT compiler*).
Event handling is shared with the CPU engine: between event times every subject is
integrated on the GPU; at an event time the schedule (a vectorised ``decide``, or
:class:`~moasim.engine._batched.SubjectSchedules`) sees the pre-event outputs on the host.

Requires an NVIDIA GPU with a CUDA driver and ``pip install "moasim[gpu]"`` (numba-cuda with
the CUDA toolkit's wheels, and numpy < 2.5: numba-cuda 0.30.4, the last release, cannot launch
kernels with numpy 2.5, NVIDIA/numba-cuda#907). Without them, :class:`GpuEngine` refuses in one
line.
With ``NUMBA_ENABLE_CUDASIM=1`` numba's CUDA simulator runs the same kernel on the CPU in
pure Python (very slow; the test suite uses it to check the generated CUDA code).
"""

from __future__ import annotations

import math
import re
from contextlib import contextmanager

import numpy as np

from ..errors import SolverError
from ..model import Model
from ._batched import BatchedEngine, _kernel, batched_outputs

__all__ = ["GpuEngine", "gpu_available", "require_gpu"]


def require_gpu():
    """numba's CUDA module, or a one-line SolverError saying what is missing."""
    try:
        from numba import cuda
    except ImportError as exc:  # pragma: no cover - numba is a dependency
        raise SolverError(f"engine gpu: numba's CUDA target is not importable ({exc}); pip install numba-cuda") from exc
    _check_numpy_for_numba_cuda()
    if not cuda.is_available():
        raise SolverError("engine gpu: no CUDA GPU found (needs an NVIDIA GPU, its driver and pip install numba-cuda); "
                          "use engine batched on the CPU")
    return cuda


def _check_numba_cuda_numpy(numba_cuda: str | None, has_row_stack: bool) -> None:
    """numba-cuda up to 0.30.4 registers ``np.row_stack``, which numpy 2.5 removed: every kernel
    launch then fails inside numba (NVIDIA/numba-cuda#907; seen on an H200 with numpy 2.5.2)."""
    if numba_cuda is None or has_row_stack:
        return
    if tuple(int(x) for x in re.findall(r"\d+", numba_cuda)[:3]) <= (0, 30, 4):
        raise SolverError(f"engine gpu: numba-cuda {numba_cuda} cannot launch kernels with numpy {np.__version__} "
                          "(np.row_stack was removed in numpy 2.5; NVIDIA/numba-cuda#907); pip install 'numpy<2.5'")


def _check_numpy_for_numba_cuda() -> None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        numba_cuda = version("numba-cuda")
    except PackageNotFoundError:
        numba_cuda = None
    _check_numba_cuda_numpy(numba_cuda, hasattr(np, "row_stack"))


def gpu_available() -> bool:
    """Whether a CUDA GPU (or numba's CUDA simulator) can run :class:`GpuEngine`."""
    try:
        require_gpu()
    except SolverError:
        return False
    return True


class GpuEngine(BatchedEngine):
    """Integrates a population of one model on a CUDA GPU: RODAS4 per subject, one subject per thread.

    Same results as :class:`~moasim.engine._batched.BatchedEngine` (same method, step control
    and event semantics; floating-point contraction on the GPU can move values at the
    solver-tolerance level) and the same ``run`` signature.

    Parameters
    ----------
    rtol, atol : float
        Relative and absolute tolerance of the per-subject step control.
    block : int
        Threads per CUDA block (subjects per block).
    max_steps : int
        Step limit per subject between two event times.
    hmax : float
        Largest step (day).
    error_scale : {"current", "peak"}
        As for :class:`~moasim.engine._batched.BatchedEngine`.
    absorption_rtol : float, optional
        As for :class:`~moasim.engine._batched.BatchedEngine`.
    """

    name = "gpu"

    def __init__(self, rtol: float = 1e-6, atol: float = 1e-9, *, block: int = 64, max_steps: int = 100_000,
                 hmax: float = math.inf, error_scale: str = "current", absorption_rtol: float | None = None) -> None:
        super().__init__(rtol, atol, threads=1, max_steps=max_steps, hmax=hmax, error_scale=error_scale,
                         absorption_rtol=absorption_rtol)
        self.block = int(block)

    def prepare(self, model: Model) -> None:
        """Generate and load the CUDA kernel module for this model structure (compiled at first launch)."""
        require_gpu()
        _kernel(model, "cuda")
        batched_outputs(model)

    @contextmanager
    def _integrator(self, model: Model, n: int):
        """``integrate(...)`` of the CPU engine on the GPU: states and parameters go to the device
        before each segment (events change them on the host) and states come back after it."""
        cuda = require_gpu()
        mod = _kernel(model, "cuda")
        grid = max(1, -(-n // self.block))
        dev: dict[str, object] = {}

        def integrate(Y, params, t, t_next, tobs, seg, status, stats, ypeak, peakmask) -> None:
            host = dict(Y=Y, P=params, status=status, stats=stats, ypeak=ypeak, peakmask=peakmask)
            if not dev:
                dev.update({k: cuda.device_array_like(v) for k, v in host.items()})
            for k, v in host.items():
                dev[k].copy_to_device(v)
            d_seg = cuda.device_array(seg.shape if seg.size else (len(Y), 1, Y.shape[1]))
            d_tobs = cuda.to_device(np.ascontiguousarray(tobs, dtype=float))
            mod.integrate[grid, self.block](dev["Y"], dev["P"], float(t), float(t_next), d_tobs, d_seg, self.rtol,
                                            self.atol, self.max_steps, self.hmax, dev["status"], dev["stats"], dev["ypeak"],
                                            dev["peakmask"])
            for k in ("Y", "status", "stats", "ypeak"):
                dev[k].copy_to_host(host[k])
            if seg.size:
                d_seg.copy_to_host(seg)

        yield integrate
