import os

import matplotlib

matplotlib.use("Agg")
os.environ.setdefault("MPLBACKEND", "Agg")


import importlib.util
import sys
from pathlib import Path

import pytest

LAB = Path(__file__).resolve().parents[1] / "examples" / "lab"


@pytest.fixture(scope="session")
def lab_script():
    """``lab_script("make_examples.py")``: a generator script of ``examples/lab`` as a module (loaded once)."""

    def load(filename: str):
        name = "moasim_examples_lab_" + filename.removesuffix(".py")
        if name not in sys.modules:
            spec = importlib.util.spec_from_file_location(name, LAB / filename)
            mod = importlib.util.module_from_spec(spec)
            sys.modules[name] = mod
            spec.loader.exec_module(mod)
        return sys.modules[name]

    return load
