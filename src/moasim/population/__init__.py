"""Virtual populations: covariates, inter-individual variability and inclusion criteria."""

from ._sampling import IIV, PopulationSpec, SubjectDraw, sample_subjects

__all__ = ["PopulationSpec", "SubjectDraw", "IIV", "sample_subjects"]
