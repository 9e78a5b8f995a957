"""Romosozumab PK: SC absorption and 2-compartment QSS target-mediated disposition via sclerostin.

Structure: Stein & Peletier 2018 two-compartment quasi-steady-state TMDD (their Eq. 7,
fitted to the single-dose IV romosozumab data of Padhi 2011), plus first-order SC
absorption with the label bioavailability. The target (sclerostin) is produced by
osteocytes, so its synthesis is scaled by the osteocyte state ``OCY`` of the
remodelling model (``OCY = 1`` at baseline; Stein's fit is recovered exactly there).

Equations (amounts ug, volumes L, concentrations nM inside the TMDD algebra, day)::

    Ctot  = AC_rsz/(VC_rsz*MW_rsz)                              total drug, nM
    Cfree = 0.5*((Ctot - RTOT_scl - KSS_rsz)
                 + sqrt((Ctot - RTOT_scl - KSS_rsz)^2 + 4*KSS_rsz*Ctot))
          (coded as the algebraically equal 2*KSS*Ctot/(sqrt(...) - (Ctot - RTOT - KSS)),
           which does not cancel when the drug washes out)
    CPLX  = RTOT_scl*Cfree/(KSS_rsz + Cfree)                    drug-sclerostin complex, nM
    dDEPOT_rsz/dt = -KA_rsz*DEPOT_rsz                            (SC dose enters as F*dose)
    dAC_rsz/dt    = KA_rsz*DEPOT_rsz - (CL_rsz + Q_rsz)*Cfree*MW_rsz
                    + Q_rsz/VP_rsz*AP_rsz - KINT_scl*CPLX*VC_rsz*MW_rsz
    dAP_rsz/dt    = Q_rsz*Cfree*MW_rsz - Q_rsz/VP_rsz*AP_rsz
    dRTOT_scl/dt  = KSYN_scl*OCY - KDEG_scl*(RTOT_scl - CPLX) - KINT_scl*CPLX

CL, Q, VC and VP enter at the subject's body weight (CLW_rsz = CL_rsz*SZCL_mab, ...,
:mod:`.body_size`, Davda 2014 antibody allometry; 1 at the reference 65 kg woman).
With ``KSYN_scl = 0`` (and ``RTOT_scl(0) = 0``) this is the linear 2-compartment model
with first-order absorption (closed form in tests/bone).

Parameters and provenance
-------------------------
VC, VP, CL, Q, KSYN, KSS, KDEG, KINT: Stein & Peletier 2018 CPT:PSP 7:670 Table 1
(romosozumab column), read in nlmixr2lib ``Stein_2018_romosozumab.R`` (R-code). KDEG =
KINT = 860/day are practically unidentifiable (Stein & Peletier p. 672); with KINT =
KDEG the total sclerostin stays at KSYN/KDEG, i.e. this structure does not reproduce
the rise of total (drug-bound) serum sclerostin seen with anti-sclerostin antibodies.
F = 0.81: Evenity SmPC (R). MW 149 kDa: US label section 11 (R). KA (0.188/day) and CL
(0.159 L/day; Stein & Peletier 0.25) calibrated (C) to the label single-dose Cmax 22.2 ug/mL
and the monthly troughs 8-13 ug/mL in postmenopausal women (``calibrate.py``). NOTE:
with Stein's CL the 210 mg monthly troughs are ~4 ug/mL; with the calibrated CL the
single-dose AUC is ~510 ug.day/mL vs the label's 389 (SD 127) in healthy volunteers, i.e.
this structure cannot match the healthy-volunteer AUC and the PMO troughs at once.

References
----------
Stein AM, Peletier LA. Predicting the onset of nonlinear pharmacokinetics. CPT
Pharmacometrics Syst Pharmacol 2018;7:670-677. doi:10.1002/psp4.12316
Padhi D, et al. Single-dose, placebo-controlled, randomized study of AMG 785, a
sclerostin monoclonal antibody. J Bone Miner Res 2011;26:19-26.
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State
from .body_size import disposition_at_weight

SOURCE = "Stein & Peletier 2018 CPT:PSP 7:670 Table 1 (nlmixr2lib Stein_2018_romosozumab.R)"

#: calibrated values (calibrate.py); see module docstring
KA_CALIBRATED = 0.188404
CL_CALIBRATED = 0.159313


def module() -> Module:
    """Romosozumab PK + sclerostin (target) turnover module."""
    return Module(
        name="pk_romosozumab",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="KA_rsz", value=KA_CALIBRATED, unit="1/day", lower=0, tag="C",
                      source="calibrated to label single 210 mg SC Cmax 22.2 ug/mL, tmax 5 d (calibrate.py)", doc="SC absorption rate"),
            Parameter(name="F_rsz", value=0.81, unit="1", lower=0, upper=1, tag="R", source="Evenity SmPC (SC bioavailability 81%)",
                      doc="SC bioavailability"),
            Parameter(name="VC_rsz", value=2.4, unit="L", lower=0, tag="R-code", source=SOURCE, doc="central volume"),
            Parameter(name="VP_rsz", value=2.6, unit="L", lower=0, tag="R-code", source=SOURCE, doc="peripheral volume"),
            Parameter(name="CL_rsz", value=CL_CALIBRATED, unit="L/day", lower=0, tag="C",
                      source="calibrated to label monthly troughs 8-13 ug/mL (calibrate.py); Stein & Peletier 2018: 0.25 L/day (R-code)",
                      doc="linear clearance"),
            Parameter(name="Q_rsz", value=0.54, unit="L/day", lower=0, tag="R-code", source=SOURCE, doc="intercompartmental clearance"),
            Parameter(name="MW_rsz", value=149.0, unit="ug/nmol", lower=0, tag="R", source="Evenity US label 11 (~149 kDa)",
                      doc="molecular weight"),
            Parameter(name="KSS_rsz", value=12.0, unit="nM", lower=0, tag="R-code", source=SOURCE, doc="QSS constant drug-sclerostin"),
            Parameter(name="KSYN_scl", value=6.1, unit="nM/day", lower=0, tag="R-code", source=SOURCE,
                      doc="sclerostin synthesis at baseline osteocytes"),
            Parameter(name="KDEG_scl", value=860.0, unit="1/day", lower=0, tag="R-code", source=SOURCE + "; unidentifiable",
                      doc="free sclerostin elimination"),
            Parameter(name="KINT_scl", value=860.0, unit="1/day", lower=0, tag="R-code", source=SOURCE + "; set equal to KDEG",
                      doc="complex elimination"),
        ),
        states=(
            State(name="DEPOT_rsz", unit="ug", doc="SC depot", dosable=True, absorption=True),
            State(name="AC_rsz", unit="ug", doc="central romosozumab (free + bound)", dosable=True),
            State(name="AP_rsz", unit="ug", doc="peripheral romosozumab"),
            State(name="RTOT_scl", unit="nM", doc="total serum sclerostin (free + drug-bound)"),
        ),
        assignments={
            **disposition_at_weight("rsz"),  # CLW_rsz, QW_rsz, VCW_rsz, VPW_rsz (body_size: Davda 2014 allometry)
            "Ctot_rsz": "AC_rsz/(VCW_rsz*MW_rsz)",
            # 0.5*(a + sqrt(a^2 + 4*KSS*Ctot)) rewritten as 2*KSS*Ctot/(sqrt(...) - a): the same value, but free of
            # cancellation when a = Ctot - RTOT - KSS < 0 (washout), where the textbook form made CVODE fail
            "Cfree_rsz": "2*KSS_rsz*Ctot_rsz/(sqrt((Ctot_rsz - RTOT_scl - KSS_rsz)^2 + 4*KSS_rsz*Ctot_rsz) - (Ctot_rsz - RTOT_scl - KSS_rsz))",
            "CPLX_scl": "RTOT_scl*Cfree_rsz/(KSS_rsz + Cfree_rsz)",
            "SFREE_scl": "RTOT_scl - CPLX_scl",
        },
        rates={
            "DEPOT_rsz": "-KA_rsz*DEPOT_rsz",
            "AC_rsz": ("KA_rsz*DEPOT_rsz", "-(CLW_rsz + QW_rsz)*Cfree_rsz*MW_rsz", "QW_rsz/VPW_rsz*AP_rsz", "-KINT_scl*CPLX_scl*VCW_rsz*MW_rsz"),
            "AP_rsz": ("QW_rsz*Cfree_rsz*MW_rsz", "-QW_rsz/VPW_rsz*AP_rsz"),
            "RTOT_scl": ("KSYN_scl*OCY", "-KDEG_scl*SFREE_scl", "-KINT_scl*CPLX_scl"),
        },
        outputs=(
            Output(name="conc_romosozumab", expr="AC_rsz/VCW_rsz", unit="ng/mL", doc="total serum romosozumab"),
            Output(name="sclerostin_free", expr="1000*SFREE_scl", unit="pmol/L", doc="free serum sclerostin"),
            Output(name="sclerostin_total", expr="1000*RTOT_scl", unit="pmol/L", doc="total serum sclerostin (free + bound)"),
        ),
        references=("Stein & Peletier 2018 CPT:PSP 7:670", "Padhi 2011 JBMR 26:19"),
    )
