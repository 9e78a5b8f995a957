import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


import importlib.util
import sys
from pathlib import Path

import pytest

TESTS = Path(__file__).resolve().parent
LAB = TESTS.parent / "examples" / "lab"


def _module(name: str, path: Path):
    """The file ``path`` as module ``name`` (loaded once; independent of pytest's import mode)."""
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, path)
        mod = importlib.util.module_from_spec(spec)
        sys.modules[name] = mod
        spec.loader.exec_module(mod)
    return sys.modules[name]


@pytest.fixture(scope="session")
def lab_script():
    """``lab_script("make_examples.py")``: a generator script of ``examples/lab`` as a module (loaded once)."""
    return lambda filename: _module("moasim_examples_lab_" + filename.removesuffix(".py"), LAB / filename)


@pytest.fixture(scope="session")
def closed_form():
    """``tests/_closed_form.py``: the closed-form two-compartment PK every engine test compares with."""
    return _module("moasim_tests_closed_form", TESTS / "_closed_form.py")
