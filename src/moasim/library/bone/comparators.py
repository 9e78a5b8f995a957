"""Comparator drugs whose mechanism is in the bone model: denosumab (RANKL neutralisation).

Denosumab PK (Peterson et al. 2004, AAPS J 6(S1) abstract W4340, as coded in OpenBoneMin.cpp,
R-code): SC first-order absorption, two compartments, linear + Michaelis-Menten
(target-mediated) elimination; time in hours there, converted here by the unit system::

    Cden = AC_den/VC_den                                       ng/mL (= ug/L)
    dDEPOT_den/dt = -KA_den*DEPOT_den                          (SC dose enters as F*dose)
    dAC_den/dt    = KA_den*DEPOT_den - (CL_den + Q_den)*Cden + Q_den/VP_den*AP_den
                    - VMAX_den*Cden/(KM_den + Cden)
    dAP_den/dt    = Q_den*Cden - Q_den/VP_den*AP_den

RANKL neutralisation: OpenBoneMin removes RANKL at kdenosl*DEN(pM)*L besides its own
turnover koutL*L. With RANKL at quasi-steady state the free fraction is
``FDEN_rankl = 1/(1 + KDEN_rankl*Cden)``, KDEN_rankl = kdenosl/koutL * (1e6/150000 pM per
ng/mL) = 2e-6/2.93273e-3 * 6.667 = 4.55e-3 mL/ng (D from R-code: half-maximal at 220 ng/mL).
It multiplies free RANKL in :mod:`remodeling`. NOTE: in OpenBoneMin a steep RANKL effect on
osteoclasts (Hill 8.5) amplifies this; with the hyperbolic RANK occupancy used here CTX
suppression by 60 mg (-93% at day 30, -78% at day 90) is lost between months 4 and 6 (CTX
back at baseline by day ~170), earlier than in the clinic (suppression through month 6), and
LS BMD at 12 months is ~+3.4%. Not calibrated (no
denosumab target in the calibration set): treat denosumab results as qualitative.

Bisphosphonate hook: ``KILL_bp`` (extra OC apoptosis, relative to baseline) is a parameter
held at 0; an alendronate module (bone-bound pool -> OC apoptosis) is not implemented yet.

References
----------
Peterson MC, et al. AAPS J 2004;6(S1):W4340 (abstract). Peterson MC, Riggs MM. Bone
2010;46:49-63 (OpenBoneMin, metrumresearchgroup; GPL, read not copied).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

OBM = "Peterson 2004 AAPS J W4340 via OpenBoneMin.cpp (R-code)"


def denosumab_module() -> Module:
    P = Parameter
    return Module(
        name="pk_denosumab",
        doc=__doc__ or "",
        parameters=(
            P(name="KA_den", value=0.00592, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=OBM + " DENKA", doc="SC absorption"),
            P(name="F_den", value=0.729, unit="1", lower=0, upper=1, tag="R-code", source=OBM + " DENF", doc="SC bioavailability"),
            P(name="VC_den", value=2340.0, unit="mL", model_unit="L", lower=0, tag="R-code", source=OBM + " DENVC", doc="central volume"),
            P(name="VP_den", value=1324.0, unit="mL", model_unit="L", lower=0, tag="R-code", source=OBM + " DENVP", doc="peripheral volume"),
            P(name="CL_den", value=2.75, unit="mL/h", model_unit="L/day", lower=0, tag="R-code", source=OBM + " DENCL", doc="linear clearance"),
            P(name="Q_den", value=18.67, unit="mL/h", model_unit="L/day", lower=0, tag="R-code", source=OBM + " DENQ", doc="intercompartmental CL"),
            P(name="VMAX_den", value=3110.0, unit="ng/h", model_unit="ug/day", lower=0, tag="R-code", source=OBM + " DENVMAX",
              doc="saturable elimination capacity"),
            P(name="KM_den", value=188.0, unit="ng/mL", lower=0, tag="R-code", source=OBM + " DENKM", doc="saturable elimination Km"),
            P(name="KDEN_rankl", value=2e-6 / 2.93273e-3 * 1e6 / 150000, unit="mL/ng", lower=0, tag="D",
              source="kdenosl/koutL x (1e6/150000) from OpenBoneMin.cpp (R-code)", doc="RANKL neutralisation per ng/mL"),
            P(name="KILL_bp", value=0.0, unit="1", lower=0, tag="A", source="bisphosphonate hook (no bisphosphonate module yet)",
              doc="extra OC apoptosis relative to baseline"),
        ),
        states=(
            State(name="DEPOT_den", unit="ug", doc="SC depot", dosable=True),
            State(name="AC_den", unit="ug", doc="central denosumab", dosable=True),
            State(name="AP_den", unit="ug", doc="peripheral denosumab"),
        ),
        assignments={
            "Cden": "AC_den/VC_den",
            "FDEN_rankl": "1/(1 + KDEN_rankl*Cden)",
        },
        rates={
            "DEPOT_den": "-KA_den*DEPOT_den",
            "AC_den": ("KA_den*DEPOT_den", "-(CL_den + Q_den)*Cden", "Q_den/VP_den*AP_den", "-VMAX_den*Cden/(KM_den + Cden)"),
            "AP_den": ("Q_den*Cden", "-Q_den/VP_den*AP_den"),
        },
        outputs=(Output(name="conc_denosumab", expr="Cden", unit="ng/mL", doc="serum denosumab"),),
        references=("Peterson 2004 AAPS J W4340",),
    )
