"""Mass-action modules of the in-vitro layer: c-Mpl binding with dimerisation, signalling, cells.

All equations are symbolic text (compiled by the engines, exported to SBML). Time is the
canonical day; minute-scale rate constants are given in 1/min and converted once.
Receptor amounts are per cell in thousands; signalling proteins are fractions of their
total (total = 1), so phospho/total ratios read directly.

Receptor (per cell; X = extracellular ligand T (TPO) or rom; S = transmembrane drug)::

    L_X + R  <-> C_X            KON_X, KOFF_X = KD_X*KON_X        (site: cytokine-receptor domain)
    C_X + R  <-> D_X            KX, KRX                            (ligand bridges a second receptor)
    R (TM-bound, theta_S = L_S/(L_S + KD_S)) + R <-> DS_S   KX*theta_S, KRX    (TM site, rapid equilibrium)
    L_X + DS_S -> D_X           2*KON      (TPO/romiplostim bind the free extracellular sites of a TM dimer)
    D_X, DS_S -> 2 RI           KINT       (internalisation of active dimers)
    RI -> R (KREC), RI -> 0 (KDEGI);   0 -> R (KSYN = KR0*RT), R -> 0 (KR0)     (turnover; 0 in closed tests)
    SIG = sum EFF_X*D_X + sum EFF_S*DS_S            (JAK2-activating dimers, thousand/cell)

TPO and romiplostim share R's extracellular site (competitive); a transmembrane drug's
occupancy theta_S does not depend on the extracellular site, so it does not displace
TPO (additive): it forms its own dimers from free receptor, whose extracellular sites TPO
can still bind. NOTE: the DS -> D_X conversion has no reverse path, so the binding scheme
is not in detailed balance (acceptable here: internalisation already drives it out of
equilibrium).

Signalling (fractions of total; SOCS and DUSP are induced feedback proteins)::

    JAK2  -> pJAK2     (KJ0 + KJ*SIG)*JAK2;      pJAK2 -> JAK2   (KJD + KSOCS*SOCS)*pJAK2
    TYK2  -> pTYK2     (KJ0 + KTY*SIG)*TYK2;     pTYK2 -> TYK2   (KJD + KSOCS*SOCS)*pTYK2
    STATk:  Sc -> pSc (K5|K3 * pJAK [+pTYK]) ; pSc -> pSn (KIMP) ; pSn -> Sn (KDN) ; Sn -> Sc (KEXP) ; pSc -> Sc (KDC)
    PI3K  -> aPI3K     KP*pJAK2;  AKT -> pAKT   KAK*aPI3K      (PTEN/PP2A: KPD, KAD)
    MEK   -> pMEK      KM*(1 - FMEKI)*pJAK2;  ERK -> pERK  KE*pMEK  (phosphatases KMD; KED + KDUSP*DUSP)
    SOCS' = KSS*(B_SOCS + pS5n) - KSDEG*SOCS;   DUSP' = KDS*(B_DUSP + pERK) - KDDEG*DUSP

Cells (72 h proliferation; 10-14 day CD34+ -> megakaryocyte culture)::

    GRO  = KGMAX*X^NG/(KG50^NG + X^NG),  X = (pS5n/FN5 + pERK)/2          (STAT5 and ERK drive division)
    SURV = pAKT^NS/(KS50^NS + pAKT^NS);  death = KDTH*(1 - SURV)            (AKT/BCL-XL survival)
    V' = (GRO - death)*V                                                    (viable cells; CellTiter-Glo ~ ATP ~ V)
    P' = (GRO - KDIFF*DIFF - death)*P ,  DIFF = pS5n^2/(K5D^2 + pS5n^2)     (CD34+ -> CD41+ MK; JAK-STAT needed)
    M2' = KDIFF*DIFF*P + (MIT - ENDO - death)*M2      (2N MKs; MIT = KMIT*pERK^4/(KEH^4+pERK^4): ERK-driven mitosis)
    Mk' = ENDO_(k/2)*M(k/2) - (ENDO_k + death)*Mk     (ENDO_k = KENDO*PEN^j*ERKP*AKTE: ERK permissive, AKT/mTOR driven)
    each ploidy class splits into CD42b- (immature) and CD42b+ (mature, KMAT)

References
----------
- Li J et al. 1999 Br J Haematol: TPO Kd 163 pM; 80% of bound TPO internalised in 1 h.
- Jin F, Krzyzanski W 2004 AAPS PharmSci 6:E9: TPO kon 0.055 /h/pM.
- Xie 2018 J Cell Mol Med 22:5367: pSTAT3/5, pAKT, pERK; BCL-XL anti-apoptosis; additive with TPO.
- Drachman 1997 Blood 89:483: JAK-STAT-deficient c-Mpl still proliferates but fails MK differentiation.
- Rojnuckarin 1999 Blood 94:1273 (ERK needed for endomitosis, murine) and Guerriero 2006 J Cell Sci
  119:744 (partial MEK inhibition raises polyploid MKs 45% -> 70%; rapamycin blocks polyploidisation).
"""

from __future__ import annotations

from ...model import Module, Output, Parameter, State
from ..receptor_params import EXTRACELLULAR, LIGANDS, TRANSMEMBRANE

__all__ = ["receptor_module", "signaling_module", "proliferation_module", "differentiation_module",
           "PLOIDY", "PROTEIN_TOTALS", "ECD", "TMD"]

ECD = tuple(lg for lg in LIGANDS.values() if lg.site == EXTRACELLULAR)
TMD = tuple(lg for lg in LIGANDS.values() if lg.site == TRANSMEMBRANE)

#: Ploidy classes of megakaryocytes (N).
PLOIDY = (2, 4, 8, 16, 32, 64)

A = "A"
CAL_SIG = ("calibrated jointly (random + local search) with RT of CD34+ so that the 72 h response window and the CD34+/32D-MPL "
           "EC50 ratio (seeds 003/004) are reproduced; not identifiable one by one")
GUER = "Guerriero 2006 J Cell Sci 119:744 (R): TPO culture of CD34+ gives 97-99% CD41+/CD61+; low-dose PD98059 raises polyploid MKs 45% -> 70%"


def _p(name, value, unit, doc, source="modelling assumption (no quantitative source; qualitative kinetics U in research doc 4)",
       tag=A, model_unit=None, lower=0.0, upper=float("inf")) -> Parameter:
    return Parameter(name=name, value=value, unit=unit, model_unit=model_unit or unit, doc=doc, source=source, tag=tag,
                     lower=lower, upper=upper)


def _pmin(name, value, doc, **kw) -> Parameter:
    return _p(name, value, "1/min", doc, model_unit="1/day", **kw)


# ------------------------------------------------------------------------------------------------ receptor
def receptor_module(rt: Parameter) -> Module:
    """c-Mpl binding (competitive extracellular site, separate transmembrane site), dimerisation, turnover.

    Parameters
    ----------
    rt : Parameter
        Receptor density of the cell type (``RT``, thousand per cell), from :mod:`..receptor_params`.
    """
    params = [
        rt,
        _p("KON", 0.917, "1/nM/min", "association rate constant at the extracellular site", model_unit="1/nM/day",
           source="Jin & Krzyzanski 2004 AAPS PharmSci 6:E9: kon 0.055 /h/pM (R) = 0.917 /nM/min", tag="D"),
        _pmin("KX", 0.05, "receptor dimerisation rate (per thousand receptors per cell)"),
        _pmin("KRX", 0.05, "dimer dissociation rate"),
        _pmin("KINT", 0.0268, "internalisation of ligand-bound dimers",
              source="Li 1999 Br J Haematol: 80% of bound TPO internalised within 1 h (R): -ln(0.2)/60 min", tag="D"),
        _pmin("KREC", 0.005, "recycling of internalised receptor to the surface"),
        _pmin("KDEGI", 0.02, "lysosomal degradation of internalised receptor"),
        _pmin("KR0", 0.002, "constitutive turnover of free surface receptor (t1/2 ~6 h); synthesis KR0*RT"),
    ]
    states = [State(name="R", unit="1", doc="free surface c-Mpl (thousand/cell)"),
              State(name="RI", unit="1", doc="internalised c-Mpl (thousand/cell)")]
    assign = {}
    r_terms = ["KR0*RT", "-KR0*R", "KREC*RI"]
    ri_terms = ["-(KREC + KDEGI)*RI"]
    sig = []
    rates = {}
    for lg in ECD:
        x = lg.suffix
        params += [lg.KA, lg.EFF, _p(f"L_{x}", 0.0, "nM", f"{lg.name} concentration in the medium (constant: no depletion)")]
        states += [State(name=f"C_{x}", unit="1", doc=f"{lg.name}-c-Mpl 1:1 complex"),
                   State(name=f"D_{x}", unit="1", doc=f"{lg.name}-bridged active c-Mpl dimer")]
        bind, dim = f"(KON*L_{x}*R - KD_{x}*KON*C_{x})", f"(KX*C_{x}*R - KRX*D_{x})"
        r_terms += [f"-{bind}", f"-{dim}"]
        rates[f"C_{x}"] = (bind, f"-{dim}")
        rates[f"D_{x}"] = (dim, f"-KINT*D_{x}")
        ri_terms.append(f"2*KINT*D_{x}")
        sig.append(f"EFF_{x}*D_{x}")
    for lg in TMD:
        x = lg.suffix
        params += [lg.KA, lg.EFF, _p(f"L_{x}", 0.0, "nM", f"{lg.name} concentration in the medium (constant: no depletion)")]
        states.append(State(name=f"DS_{x}", unit="1", doc=f"{lg.name}-stabilised active c-Mpl dimer (TM site)"))
        assign[f"TH_{x}"] = f"L_{x}/(L_{x} + KD_{x})"
        dim = f"(KX*TH_{x}*R^2 - KRX*DS_{x})"
        r_terms.append(f"-2*{dim}")
        # the extracellular sites of a TM-stabilised dimer stay free: TPO/romiplostim binding converts it
        # into their own bridged dimer (so a TM agonist does not hide receptors from TPO)
        conv = [f"KON*L_{e.suffix}*2*DS_{x}" for e in ECD]
        rates[f"DS_{x}"] = (dim, f"-KINT*DS_{x}", *(f"-{c}" for c in conv))
        for e, c in zip(ECD, conv):
            rates[f"D_{e.suffix}"] = rates[f"D_{e.suffix}"] + (c,)
        ri_terms.append(f"2*KINT*DS_{x}")
        sig.append(f"EFF_{x}*DS_{x}")
    rates["R"] = tuple(r_terms)
    rates["RI"] = tuple(ri_terms)
    assign["SIG"] = " + ".join(sig)
    surf = " + ".join(["R"] + [f"C_{lg.suffix} + 2*D_{lg.suffix}" for lg in ECD] + [f"2*DS_{lg.suffix}" for lg in TMD])
    assign["RSURF"] = surf
    outputs = (
        Output(name="receptor_total", expr=f"{surf} + RI", unit="1", doc="total c-Mpl per cell (thousands): surface + internalised"),
        Output(name="receptor_surface", expr="RSURF", unit="1", doc="surface c-Mpl (thousands/cell)"),
        Output(name="active_dimers", expr="SIG", unit="1", doc="efficacy-weighted active dimers (thousands/cell)"),
        Output(name="tpo_bound", expr="C_T + 2*D_T", unit="1", doc="receptors with TPO at the extracellular site"),
    )
    return Module(name="cmpl_receptor", doc=receptor_module.__doc__ or "", parameters=tuple(params), states=tuple(states),
                  assignments=assign, rates=rates, outputs=outputs,
                  references=("Li 1999 Br J Haematol", "Jin & Krzyzanski 2004 AAPS PharmSci 6:E9", "Xie 2018 J Cell Mol Med 22:5367"))


# ------------------------------------------------------------------------------------------------ signalling
#: (total-protein name, its states) for the conservation checks.
PROTEIN_TOTALS = {
    "JAK2": ("JAK2", "pJAK2"), "TYK2": ("TYK2", "pTYK2"),
    "STAT5": ("S5c", "pS5c", "pS5n", "S5n"), "STAT3": ("S3c", "pS3c", "pS3n", "S3n"),
    "PI3K": ("PI3K", "aPI3K"), "AKT": ("AKT", "pAKT"), "MEK": ("MEK", "pMEK"), "ERK": ("ERK", "pERK"),
}


def signaling_module() -> Module:
    """JAK2/TYK2 -> STAT3/STAT5 (with nuclear shuttling), PI3K/AKT, MEK/ERK; SOCS and DUSP feedback."""
    params = (
        _pmin("KJ0", 0.002, "basal (ligand-independent) JAK2/TYK2 activation"),
        _pmin("KJ", 1.46, "JAK2 activation per thousand active dimers per cell", source=CAL_SIG, tag="C"),
        _pmin("KTY", 0.73, "TYK2 activation per thousand active dimers per cell", source=CAL_SIG, tag="C"),
        _pmin("KJD", 0.3, "JAK dephosphorylation (SHP-1)"),
        _pmin("KSOCS", 3.0, "SOCS-mediated JAK inhibition per unit SOCS"),
        _pmin("K5", 0.75, "STAT5 phosphorylation by pJAK2", source=CAL_SIG, tag="C"),
        _pmin("K3", 0.35, "STAT3 phosphorylation by pJAK2 + pTYK2", source=CAL_SIG, tag="C"),
        _pmin("KIMP", 0.3, "nuclear import of phospho-STAT dimers"),
        _pmin("KDN", 0.08, "nuclear STAT dephosphorylation (TC45)"),
        _pmin("KEXP", 0.1, "nuclear export of unphosphorylated STAT"),
        _pmin("KDC", 0.05, "cytoplasmic STAT dephosphorylation"),
        _pmin("KP", 1.0, "PI3K activation by pJAK2 (Gab/p85 docking, lumped)"),
        _pmin("KPD", 0.3, "PI3K inactivation (PTEN/SHIP, lumped)"),
        _pmin("KAK", 0.83, "AKT phosphorylation by active PI3K (PDK1/mTORC2 lumped)", source=CAL_SIG, tag="C"),
        _pmin("KAD", 0.15, "AKT dephosphorylation (PP2A/PHLPP)"),
        _pmin("KM", 2.0, "MEK phosphorylation by pJAK2 (Shc-Grb2-SOS-Ras-Raf lumped)"),
        _pmin("KMD", 0.4, "MEK dephosphorylation"),
        _pmin("KE", 0.5, "ERK phosphorylation by pMEK", source=CAL_SIG, tag="C"),
        _pmin("KED", 0.2, "ERK dephosphorylation (constitutive phosphatases)"),
        _pmin("KDUSP", 1.0, "ERK dephosphorylation per unit induced DUSP"),
        _pmin("KSS", 0.02, "SOCS induction by nuclear pSTAT5"),
        _pmin("KSDEG", 0.02, "SOCS degradation (t1/2 ~35 min)"),
        _pmin("KDS", 0.01, "DUSP induction by pERK"),
        _pmin("KDDEG", 0.02, "DUSP degradation"),
        _p("B_SOCS", 0.01, "1", "basal SOCS drive (pSTAT5 equivalents)"),
        _p("B_DUSP", 0.01, "1", "basal DUSP drive (pERK equivalents)"),
        _p("FMEKI", 0.0, "1", "fractional MEK inhibition (PD98059 experiments; 0 = none)", upper=1.0),
    )
    states = tuple(State(name=n, unit="1", doc=f"{n} (fraction of its total protein)")
                   for n in ("JAK2", "pJAK2", "TYK2", "pTYK2", "S5c", "pS5c", "pS5n", "S5n", "S3c", "pS3c", "pS3n", "S3n",
                             "PI3K", "aPI3K", "AKT", "pAKT", "MEK", "pMEK", "ERK", "pERK")) + (
        State(name="SOCS", unit="1", doc="induced SOCS1/3 (arbitrary units)"),
        State(name="DUSP", unit="1", doc="induced dual-specificity phosphatase (arbitrary units)"),
    )
    assign = {
        "VJ": "(KJ0 + KJ*SIG)*JAK2", "VJD": "(KJD + KSOCS*SOCS)*pJAK2",
        "VT": "(KJ0 + KTY*SIG)*TYK2", "VTD": "(KJD + KSOCS*SOCS)*pTYK2",
        "V5": "K5*pJAK2*S5c", "V3": "K3*(pJAK2 + pTYK2)*S3c",
        "VP": "KP*pJAK2*PI3K", "VA": "KAK*aPI3K*AKT",
        "VM": "KM*(1 - FMEKI)*pJAK2*MEK", "VE": "KE*pMEK*ERK",
    }
    rates = {
        "JAK2": ("-VJ", "VJD"), "pJAK2": ("VJ", "-VJD"),
        "TYK2": ("-VT", "VTD"), "pTYK2": ("VT", "-VTD"),
        "PI3K": ("-VP", "KPD*aPI3K"), "aPI3K": ("VP", "-KPD*aPI3K"),
        "AKT": ("-VA", "KAD*pAKT"), "pAKT": ("VA", "-KAD*pAKT"),
        "MEK": ("-VM", "KMD*pMEK"), "pMEK": ("VM", "-KMD*pMEK"),
        "ERK": ("-VE", "(KED + KDUSP*DUSP)*pERK"), "pERK": ("VE", "-(KED + KDUSP*DUSP)*pERK"),
        "SOCS": ("KSS*(B_SOCS + pS5n)", "-KSDEG*SOCS"),
        "DUSP": ("KDS*(B_DUSP + pERK)", "-KDDEG*DUSP"),
    }
    for k, v in (("5", "V5"), ("3", "V3")):
        rates[f"S{k}c"] = (f"-{v}", f"KDC*pS{k}c", f"KEXP*S{k}n")
        rates[f"pS{k}c"] = (v, f"-KIMP*pS{k}c", f"-KDC*pS{k}c")
        rates[f"pS{k}n"] = (f"KIMP*pS{k}c", f"-KDN*pS{k}n")
        rates[f"S{k}n"] = (f"KDN*pS{k}n", f"-KEXP*S{k}n")
    outputs = (
        Output(name="pJAK2", expr="pJAK2", unit="1", doc="pJAK2/JAK2"),
        Output(name="pTYK2", expr="pTYK2", unit="1", doc="pTYK2/TYK2"),
        Output(name="pSTAT5", expr="pS5c + pS5n", unit="1", doc="pSTAT5/STAT5 (whole cell)"),
        Output(name="pSTAT3", expr="pS3c + pS3n", unit="1", doc="pSTAT3/STAT3 (whole cell)"),
        Output(name="nuclear_pSTAT5", expr="pS5n", unit="1", doc="nuclear pSTAT5 / total STAT5"),
        Output(name="pAKT", expr="pAKT", unit="1", doc="pAKT/AKT"),
        Output(name="pERK", expr="pERK", unit="1", doc="pERK/ERK"),
        Output(name="SOCS", expr="SOCS", unit="1", doc="induced SOCS"),
    )
    return Module(name="mpl_signaling", doc=signaling_module.__doc__ or "", parameters=params, states=states,
                  assignments=assign, rates=rates, outputs=outputs,
                  references=("Xie 2018 J Cell Mol Med 22:5367", "Drachman 1997 Blood 89:483"))


# ------------------------------------------------------------------------------------------------ cells
def _cell_params() -> tuple[Parameter, ...]:
    return (
        _p("KGMAX", 1.0, "1/day", "maximal net division rate with full c-Mpl signal (32D doubling ~17 h)"),
        _p("KG50", 0.354, "1", "growth signal (STAT5-nuclear/ERK mean) at half-maximal division", source=CAL_SIG, tag="C"),
        _p("NG", 3.0, "1", "steepness of the division response", source=CAL_SIG, tag="C"),
        _p("FN5", 1.0, "1", "nuclear pSTAT5 scale in the growth signal"),
        _p("KDTH", 0.8, "1/day", "apoptosis rate without survival signal (cytokine-deprived)"),
        _p("KS50", 0.115, "1", "pAKT/AKT at half-maximal survival (AKT -> BCL-XL)", source=CAL_SIG, tag="C"),
        _p("NS", 2.0, "1", "steepness of the survival response"),
    )


def _cell_assign() -> dict[str, str]:
    return {
        "XG": "(pS5n/FN5 + pERK)/2",
        "GRO": "KGMAX*XG^NG/(KG50^NG + XG^NG)",
        "SURV": "pAKT^NS/(KS50^NS + pAKT^NS)",
        "DEATH": "KDTH*(1 - SURV)",
    }


def proliferation_module() -> Module:
    """Viable cell number in a 72 h proliferation culture (CellTiter-Glo reads ATP ~ viable cells)."""
    return Module(
        name="proliferation", doc=proliferation_module.__doc__ or "",
        parameters=_cell_params(),
        states=(State(name="V", unit="1", doc="viable cells relative to the seeded number"),),
        assignments=_cell_assign(),
        rates={"V": ("(GRO - DEATH)*V",)},
        outputs=(Output(name="viable_cells", expr="V", unit="1", doc="viable cells / seeded"),),
    )


def differentiation_module() -> Module:
    """CD34+ -> CD41+/CD61+ megakaryocytes, endomitosis 2N-64N, CD42b maturation."""
    params = _cell_params() + (
        _p("KDIFF", 0.45, "1/day", "maximal commitment of CD34+ progenitors to the MK lineage",
           source="calibrated: 98.8% CD41+ at day 14 with rhTPO; " + GUER, tag="C"),
        _p("K5D", 0.08, "1", "nuclear pSTAT5 at half-maximal MK commitment (JAK-STAT needed; Drachman 1997)"),
        _p("KMIT", 0.6, "1/day", "maximal mitotic division of 2N MKs (ERK-driven)", source="calibrated: 41% -> 68% polyploid (>=4N) CD41+ cells with 70% MEK inhibition; " + GUER, tag="C"),
        _p("KEH", 0.3, "1", "pERK/ERK at half-maximal 2N MK mitosis (high threshold)", source="calibrated: 41% -> 68% polyploid (>=4N) CD41+ cells with 70% MEK inhibition; " + GUER, tag="C"),
        _p("KENDO", 0.2, "1/day", "maximal endomitosis rate 2N -> 4N", source="calibrated: 41% -> 68% polyploid (>=4N) CD41+ cells with 70% MEK inhibition; " + GUER, tag="C"),
        _p("PEN", 0.5, "1", "relative rate of each further endomitotic round"),
        _p("KEL", 0.01, "1", "pERK/ERK at half-maximal permissive effect on endomitosis (low threshold: ERK needed)"),
        _p("KAE", 0.2, "1", "pAKT/AKT at half-maximal mTOR-driven endomitosis (rapamycin blocks; Guerriero 2006)"),
        _p("KMAT", 0.12, "1/day", "CD42b acquisition (maturation) of MKs"),
        _p("KDMK", 0.08, "1/day", "apoptosis of MKs without survival signal"),
        _p("FMTORI", 0.0, "1", "fractional mTOR inhibition (rapamycin experiments; 0 = none)", upper=1.0),
    )
    assign = dict(_cell_assign())
    assign.update({
        "DIFF": "KDIFF*pS5n^2/(K5D^2 + pS5n^2)",
        "MIT": "KMIT*pERK^4/(KEH^4 + pERK^4)",
        "ENDO": "KENDO*(1 - FMTORI)*(pERK/(KEL + pERK))*(pAKT/(KAE + pAKT))",
        "DMK": "KDMK*(1 - SURV)",
    })
    states = [State(name="P", unit="1", doc="CD34+/CD41- progenitors (relative to seeded)")]
    rates: dict[str, tuple[str, ...]] = {"P": ("(GRO - DIFF - DEATH)*P",)}
    for j, k in enumerate(PLOIDY):
        for m, lab in (("I", "CD42b-"), ("M", "CD42b+")):
            states.append(State(name=f"MK{k}{m}", unit="1", doc=f"{k}N {lab} megakaryocytes"))
        endo = f"ENDO*PEN^{j}" if k < PLOIDY[-1] else "0"
        for m in ("I", "M"):
            terms = [f"-DMK*MK{k}{m}"]
            if k < PLOIDY[-1]:
                terms.append(f"-{endo}*MK{k}{m}")
            if j > 0:
                terms.append(f"ENDO*PEN^{j - 1}*MK{PLOIDY[j - 1]}{m}")
            if k == 2:
                terms.append(f"MIT*MK2{m}")
            rates[f"MK{k}{m}"] = tuple(terms)
        rates[f"MK{k}I"] += ("-KMAT*MK{0}I".format(k),) + (("DIFF*P",) if k == 2 else ())
        rates[f"MK{k}M"] += (f"KMAT*MK{k}I",)
    mk_all = " + ".join(s.name for s in states[1:])
    assign["MKTOT"] = mk_all
    outputs = [Output(name="progenitors", expr="P", unit="1", doc="CD41- cells / seeded"),
               Output(name="megakaryocytes", expr="MKTOT", unit="1", doc="CD41+ cells / seeded")]
    return Module(name="mk_differentiation", doc=differentiation_module.__doc__ or "", parameters=params, states=tuple(states),
                  assignments=assign, rates=rates, outputs=tuple(outputs),
                  references=("Drachman 1997 Blood 89:483", "Rojnuckarin 1999 Blood 94:1273", "Guerriero 2006 J Cell Sci 119:744"))
