"""Which drugs and populations ``simulate`` hands to the bone layer (:mod:`moasim.library.bone`).

Names only, with no imports, so that the drug catalogue (:mod:`moasim.library.drugs`),
:func:`moasim.simulate` and the bone layer all read them without importing each other.
"""

__all__ = ["BONE_DRUGS", "BONE_DRUGS_AVAILABLE", "BONE_POPULATIONS"]

#: drugs handled by the bone layer
BONE_DRUGS = ("romosozumab", "alendronate", "denosumab", "teriparatide")
#: drugs whose mechanism is in the bone model now (the others in BONE_DRUGS are refused)
BONE_DRUGS_AVAILABLE = ("romosozumab", "denosumab", "alendronate")
#: populations handled by the bone layer
BONE_POPULATIONS = ("postmenopausal_osteoporosis",)
