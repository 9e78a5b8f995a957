"""Whole-body thrombopoiesis: endogenous TPO, megakaryopoiesis, platelets, ITP."""

from .thrombopoiesis import (
    N_MK,
    N_PLT,
    itp_module,
    megakaryopoiesis_module,
    receptor_module,
    subject_module,
    tpo_module,
)

__all__ = ["N_MK", "N_PLT", "tpo_module", "megakaryopoiesis_module", "itp_module", "receptor_module", "subject_module"]
