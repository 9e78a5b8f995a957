"""Avatrombopag oral PK: one compartment, first-order absorption after a transit chain.

Food does not change the extent of absorption (Nomoto 2018), so there is no food effect.

Equations (ug, L, day)::

    dTR1/dt = -KTR*TR1;  dTRi/dt = KTR*(TR(i-1) - TRi)  (i = 2..9),  KTR = 10/MTT  (Savic 2007)
    dGUT/dt = KTR*TR9 - KA*GUT
    dCENT/dt = KA*GUT - CL/V*CENT

References
----------
- Liu 2025 Pharmaceuticals 18:903 (nlmixr2lib Liu_2025_avatrombopag.R): CL/F 7.85 L/h,
  V/F 199 L, ka 0.582/h, 9 transit compartments with MTT 1.33 h (Chinese healthy volunteers).
- Nomoto M et al. 2018 Clin Pharmacol Drug Dev 7:188 (food: no change in extent; healthy
  subjects: tmax 5-8 h, t1/2 16-18 h, platelet peak by day 11, baseline by day 27).
- Bussel JB et al. 2014 Blood 123:3887 (phase 2 ITP, day-28 response by dose: FUREL_ava).
- Fukushima-Shintani M et al. 2009 Eur J Haematol (EC50 3.3 nM, Ba/F3-hMpl), as quoted by a
  vendor technical page (R2).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State

LIU = "Liu 2025 Pharmaceuticals 18:903 (nlmixr2lib Liu_2025_avatrombopag.R)"
N_TR = 9


def module(ec50v_nM: float) -> Module:
    """The PK module; ``ec50v_nM`` is the transmembrane-site KD (nM) of the drug's c-Mpl ligand entry
    (:mod:`moasim.library.drugs.avatrombopag`), the affinity the receptor occupancy ``xS`` divides by."""
    tr = [f"TR{i}_ava" for i in range(1, N_TR + 1)]
    rates = {tr[0]: f"-KTR_ava*{tr[0]}"}
    for a, b in zip(tr, tr[1:]):
        rates[b] = (f"KTR_ava*{a}", f"-KTR_ava*{b}")
    rates["GUT_ava"] = (f"KTR_ava*{tr[-1]}", "-KA_ava*GUT_ava")
    rates["CENT_ava"] = ("KA_ava*GUT_ava", "-CL_ava/V_ava*CENT_ava")
    return Module(
        name="pk_avatrombopag",
        doc=__doc__ or "",
        parameters=(
            Parameter(name="CL_ava", value=7.85, unit="L/h", model_unit="L/day", lower=0, tag="R-code", source=LIU, doc="apparent clearance"),
            Parameter(name="V_ava", value=199.0, unit="L", lower=0, tag="R-code", source=LIU, doc="apparent volume"),
            Parameter(name="KA_ava", value=0.582, unit="1/h", model_unit="1/day", lower=0, tag="R-code", source=LIU, doc="absorption rate"),
            Parameter(name="MTT_ava", value=1.33, unit="h", model_unit="day", lower=0, tag="R-code", source=LIU, doc="transit mean time"),
            Parameter(name="MW_ava", value=649.6, unit="g/mol", lower=0, tag="D", source="C29H34Cl2N6O3S2 (free base)", doc="molar mass"),
            Parameter(name="FUREL_ava", value=35.0, unit="1", lower=0, tag="C",
                      source="calibrated to avatrombopag_itp_day28_responders (Bussel 2014 Blood 123:3887, phase 2; n = 300 x 1 per arm "
                             "at FUREL 30 and 40 bracketed the published rates): the in-vivo potency relative to eltrombopag at equal "
                             "in-vitro site KD. Plasma binding alone would give >= 4 (avatrombopag > 96% bound, eltrombopag > 99%, labels); "
                             "the rest lumps what the class factor FVIVO does not carry for this drug (its in-vitro EC50 is a vendor "
                             "quote, R2). Was 1 (eltrombopag's), which left avatrombopag at placebo level in ITP (issue 11)",
                      fitted_by=("avatrombopag_itp_day28_responders",),
                      doc="unbound fraction in plasma relative to eltrombopag (in-vivo potency factor)"),
            Parameter(name="EC50V_ava", value=ec50v_nM, unit="nM", lower=0, tag="D",
                      source="transmembrane-site KD from moasim.library.receptor_params (fitted there so the simulated 32D-MPL/CD34+ assays give the published EC50s)",
                      doc="dissociation constant at the c-Mpl transmembrane site (same value as the in-vitro model)"),
        ),
        states=tuple(State(name=n, unit="ug", doc="absorption transit", dosable=(n == tr[0]), absorption=True) for n in tr)
        + (State(name="GUT_ava", unit="ug", doc="absorption compartment", absorption=True), State(name="CENT_ava", unit="ug", doc="central", dosable=True)),
        assignments={
            "KTR_ava": f"{N_TR + 1}/MTT_ava",
            "C_ava": "CENT_ava/V_ava",
            "xS_ava": "FUREL_ava*(C_ava*1000/MW_ava)/(EC50V_ava*FVIVO)",
        },
        rates=rates,
        outputs=(Output(name="conc_avatrombopag", expr="C_ava", unit="ng/mL", doc="plasma avatrombopag"),),
        references=(LIU, "Nomoto 2018 Clin Pharmacol Drug Dev 7:188"),
    )
