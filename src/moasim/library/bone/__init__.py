"""Bone layer (issue 6): romosozumab PK with sclerostin TMDD, a mechanistic remodelling
model (osteocytes/sclerostin -> Wnt -> osteoblasts; RANKL/OPG -> osteoclasts; P1NP, CTX,
site BMD), comparators whose mechanism is in the model (denosumab: RANKL neutralisation;
alendronate: osteoclast apoptosis), and a BMD-to-fracture link (Marshall 1996).

Public API: :func:`simulate_bone` (what ``moasim.simulate`` calls for bone drugs and the
``postmenopausal_osteoporosis`` or ``male_osteoporosis`` population; sex and weight as
covariates, :mod:`.covariates`), :func:`run_bone` with :class:`BoneRegimen`
for sequences and treatment stop, :func:`build_bone_model`, :func:`bone_sbml`,
:class:`BoneSubject`, :func:`fracture_relative_risk`. Calibration: ``python -m
moasim.library.bone.calibrate``.

Virtual bone trials (populations of women or men, visits, fracture events, sequencing) run
through :func:`moasim.trials.run_trial` with ``population: {kind: postmenopausal_osteoporosis}``
or ``{kind: male_osteoporosis}``
(:mod:`moasim.trials._bone`, :mod:`moasim.population._bone`).
"""

from ._model import bone_sbml, build_bone_model
from .fracture import relative_risk as fracture_relative_risk
from ._result import BoneSimulationResult
from ._simulate import BONE_OUTPUTS, BONE_POPULATIONS, BoneRegimen, BoneSubject, run_bone, simulate_bone

__all__ = ["simulate_bone", "run_bone", "BoneRegimen", "BoneSubject", "BoneSimulationResult", "build_bone_model", "bone_sbml", "BONE_OUTPUTS",
           "BONE_POPULATIONS", "fracture_relative_risk"]
