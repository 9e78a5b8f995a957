"""Body weight on the disposition of the bone layer's antibodies (romosozumab, denosumab).

Clearances and volumes of an IgG antibody scale with body weight by a power law; neither the
romosozumab nor the denosumab sources read here give drug-specific exponents, so both use the
class values of a model-based meta-analysis of monoclonal antibody PK::

    SZCL_mab = (WT/WTREF_mab)^ACL_mab     multiplies CL and Q (both antibodies)
    SZV_mab  = (WT/WTREF_mab)^AV_mab      multiplies the central and peripheral volumes

ACL_mab 0.865 and AV_mab 0.957: Davda 2014 (mAbs 6:1094), read in nlmixr2lib
``PK_2cmt_mAb_Davda_2014.R`` (R-code; reference weight 70 kg there). WTREF_mab 65 kg: the
woman the romosozumab PK was calibrated for (tag A: the default median weight of the
postmenopausal population, :class:`moasim.population.BonePopulationSpec`), so the typical
woman keeps the calibrated clearance and a woman of other weight departs from it. Target-
mediated elimination (sclerostin binding, denosumab's saturable pathway) is not scaled.

References
----------
Davda JP, Dodds MG, Gibbs MA, Wisdom W, Gibbs JP. A model-based meta-analysis of monoclonal
antibody pharmacokinetics to guide optimal first-in-human study design. mAbs 2014;6:1094-1102.
"""

from __future__ import annotations

from ...model import Module, Parameter

DAVDA = "Davda 2014 mAbs 6:1094 (nlmixr2lib PK_2cmt_mAb_Davda_2014.R)"

#: reference body weight of the calibrated typical woman (kg)
WTREF_KG = 65.0


def module() -> Module:
    """Subject body weight and the allometric factors of antibody clearance and volume."""
    P = Parameter
    return Module(
        name="body_size",
        doc=__doc__ or "",
        parameters=(
            P(name="WT", value=WTREF_KG, unit="kg", lower=1, upper=400, tag="A",
              source="the subject's body weight (set from the subject by run_bone); default: the reference woman",
              doc="body weight"),
            P(name="WTREF_mab", value=WTREF_KG, unit="kg", lower=1, tag="A",
              source="median weight of the default postmenopausal population, for which the romosozumab PK was calibrated",
              doc="reference body weight of the antibody disposition parameters"),
            P(name="ACL_mab", value=0.865, unit="1", lower=0, tag="R-code", source=DAVDA + ": allometric exponent on CL and Q (class value)",
              doc="body-weight exponent of antibody clearances"),
            P(name="AV_mab", value=0.957, unit="1", lower=0, tag="R-code", source=DAVDA + ": allometric exponent on volumes (class value)",
              doc="body-weight exponent of antibody volumes"),
        ),
        assignments={
            "SZCL_mab": "(WT/WTREF_mab)^ACL_mab",
            "SZV_mab": "(WT/WTREF_mab)^AV_mab",
        },
        references=(DAVDA,),
    )


def disposition_at_weight(suffix: str) -> dict[str, str]:
    """Assignments of one antibody's CL, Q, VC and VP at the subject's weight, e.g. for ``"rsz"``:
    ``CLW_rsz = CL_rsz*SZCL_mab``, ``QW_rsz``, ``VCW_rsz = VC_rsz*SZV_mab``, ``VPW_rsz``."""
    factor = {"CL": "SZCL_mab", "Q": "SZCL_mab", "VC": "SZV_mab", "VP": "SZV_mab"}
    return {f"{p}W_{suffix}": f"{p}_{suffix}*{f}" for p, f in factor.items()}
