"""Virtual populations: covariates, inter-individual variability and inclusion criteria.

``PopulationSpec``/``sample_subjects``: chronic ITP (platelet trials);
``BonePopulationSpec``/``sample_bone_subjects``: postmenopausal women (bone trials).
"""

from ._bone import BonePopulationSpec, BoneDraw, sample_bone_subjects
from ._sampling import IIV, PopulationSpec, SubjectDraw, fluctuation_path, sample_subjects

__all__ = ["PopulationSpec", "SubjectDraw", "IIV", "sample_subjects", "fluctuation_path", "BonePopulationSpec", "BoneDraw", "sample_bone_subjects"]
