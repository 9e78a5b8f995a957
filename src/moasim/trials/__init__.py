"""Virtual clinical trials: specs, endpoints as trials define them, replicates, parallel runs."""

from ._bone_spec import BoneArmSpec, BoneEndpointSpec
from ._endpoints import ENDPOINT_KINDS, evaluate_endpoint
from ._itp_spec import ItpArmSpec, ItpEndpointSpec
from ._run import TrialResult, run_trial
from ._spec import TrialSpec, load_trial_spec, parse_trial_spec

#: an arm of either kind of trial (ITP or bone)
ArmSpec = ItpArmSpec | BoneArmSpec
#: an endpoint of either kind of trial (ITP or bone)
EndpointSpec = ItpEndpointSpec | BoneEndpointSpec

__all__ = [
    "TrialSpec", "ArmSpec", "EndpointSpec", "ItpArmSpec", "ItpEndpointSpec", "BoneArmSpec", "BoneEndpointSpec",
    "parse_trial_spec", "load_trial_spec", "run_trial", "TrialResult", "evaluate_endpoint", "ENDPOINT_KINDS",
]
