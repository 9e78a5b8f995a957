"""Romiplostim SC/IV PK with target-mediated disposition via c-Mpl (Wang 2010 structure).

Quasi-equilibrium TMDD (Gibiansky & Gibiansky 2008 form) with a peripheral compartment.
As in Wang 2010, the total receptor pool that disposes of romiplostim is proportional
to the platelet count (Rtot = xi*PLT; 5.4 ng/mL at 250 x10^9/L). NOTE: a variant with
receptors on megakaryocytes too (Rtot proportional to the c-Mpl mass M, as used for
TPO clearance) shortened the drug's action as MKs expanded and could not reproduce the
day-14 platelet peak of Wang 2004, so Wang's calibrated structure is kept.

Equations (ng/mL, ug, L, day); the serum concentration is ``Cfree`` (serum has no platelets)::

    Ctot  = AC_rom/VC                  Rtot = RTOT_rom*PLT/PLT0_H
    Cfree = 0.5*((Ctot - Rtot - KD) + sqrt((Ctot - Rtot - KD)^2 + 4*KD*Ctot))
    dDEPOT/dt = -KA*DEPOT                                     (SC dose enters as F*dose)
    dAC/dt    = KA*DEPOT - (KEL + KCP)*Cfree*VC - KINT*(Ctot - Cfree)*VC + KPC*AP
    dAP/dt    = KCP*Cfree*VC - KPC*AP

References
----------
Wang YM, Krzyzanski W, Doshi S, Xiao JJ, Perez-Ruixo JJ, Chow AT. Pharmacodynamics-
mediated drug disposition (PDMDD) and precursor pool lifespan model for single dose of
romiplostim in healthy subjects. AAPS J 2010;12:729-740. doi:10.1208/s12248-010-9234-9
(Table I as transcribed in nlmixr2lib Wang_2010_romiplostim.R; KD, kint, xi from the abstract).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

SOURCE = "Wang 2010 AAPS J 12:729 Table I (nlmixr2lib Wang_2010_romiplostim.R)"


def module() -> Module:
    return Module(
        name="pk_romiplostim",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="KA_rom", value=0.0254, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=SOURCE, doc="SC absorption rate"),
            Parameter(name="F_rom", value=0.499, unit="1", lower=0, upper=1, tag="R-code", source=SOURCE, doc="SC bioavailability"),
            Parameter(name="VC_rom", value=0.0683, unit="L/kg", lower=0, tag="R-code", source=SOURCE, doc="central volume per kg"),
            Parameter(name="KEL_rom", value=0.0382, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=SOURCE, doc="linear elimination"),
            Parameter(name="KCP_rom", value=0.0806, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=SOURCE, doc="central->peripheral"),
            Parameter(name="KPC_rom", value=0.0148, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=SOURCE, doc="peripheral->central"),
            Parameter(name="KINT_rom", value=0.173, unit="1/h", model_unit="1/day", lower=0, tag="R", source="Wang 2010 abstract", doc="complex internalisation"),
            Parameter(name="RTOT_rom", value=5.4, unit="ng/mL", lower=0, tag="D",
                      source="Wang 2010 xi 0.0215 fg/platelet (R) x 250e9 platelets/L = 5.4 ng/mL", doc="total receptor at healthy c-Mpl mass"),
        ),
        states=(
            State(name="DEPOT_rom", unit="ug", doc="SC depot", dosable=True, absorption=True),
            State(name="AC_rom", unit="ug", doc="central total romiplostim (free + bound)", dosable=True),
            State(name="AP_rom", unit="ug", doc="peripheral romiplostim"),
        ),
        assignments={
            "VC": "VC_rom*WT",
            "Ctot_rom": "AC_rom/VC",
            "Rtot_rom": "RTOT_rom*M",
            "Cfree_rom": "0.5*((Ctot_rom - Rtot_rom - KD_rom) + sqrt((Ctot_rom - Rtot_rom - KD_rom)^2 + 4*KD_rom*Ctot_rom))",
        },
        rates={
            "DEPOT_rom": "-KA_rom*DEPOT_rom",
            "AC_rom": ("KA_rom*DEPOT_rom", "-(KEL_rom + KCP_rom)*Cfree_rom*VC", "-KINT_rom*(Ctot_rom - Cfree_rom)*VC", "KPC_rom*AP_rom"),
            "AP_rom": ("KCP_rom*Cfree_rom*VC", "-KPC_rom*AP_rom"),
        },
        # Serum excludes platelets: the serum assay sees drug not bound to (platelet) c-Mpl.
        outputs=(Output(name="conc_romiplostim", expr="Cfree_rom", unit="ng/mL", doc="serum (unbound) romiplostim"),),
        references=("Wang 2010 AAPS J 12:729",),
    )
