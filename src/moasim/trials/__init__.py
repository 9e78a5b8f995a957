"""Virtual clinical trials: specs, endpoints as trials define them, replicates, parallel runs."""

from ._endpoints import ENDPOINT_KINDS, evaluate_endpoint
from ._run import TrialResult, run_trial
from ._spec import ArmSpec, EndpointSpec, TrialSpec, load_trial_spec, parse_trial_spec

__all__ = [
    "TrialSpec", "ArmSpec", "EndpointSpec", "parse_trial_spec", "load_trial_spec",
    "run_trial", "TrialResult", "evaluate_endpoint", "ENDPOINT_KINDS",
]
