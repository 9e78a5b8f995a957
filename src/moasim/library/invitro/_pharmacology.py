"""Site pharmacology: competition binding (4 degC) and combination responses with TPO.

Definitions used by the ``additivity_hetrombopag_tpo`` calibration target (Xie 2018: the
transmembrane agonist adds to TPO; romiplostim binds TPO's own site):

- **competition binding** (a 125I-TPO displacement experiment at 4 degC: no internalisation,
  no receptor turnover; 24 h to equilibrium; TPO tracer 0.05 nM ~ KA/3): the change in
  TPO-bound receptor caused by a competitor at 10 x its KA. Same site (competitive):
  TPO binding falls >= 80%. Separate site: it changes by <= 10%.
- **response additivity** (72 h viable cells, % of the rhTPO 100 ng/mL response): with TPO
  at a sub-maximal dose (about EC25) and the drug at about its EC25, the combination exceeds
  the larger single-agent response by >= 5 points (about twice the SD of a triplicate mean).
  NOTE: at sub-maximal doses any two agonists add in this sense (romiplostim too, as a
  second agonist at the same site); only the binding experiment discriminates the sites.
"""

from __future__ import annotations

import numpy as np

from .. import receptor_params as rp
from ._build import simulate_culture

__all__ = ["tpo_binding_change", "combination_response", "TRACER_TPO_NM", "TPO_SUBMAX_NM", "COLD"]

TRACER_TPO_NM = 0.05
#: TPO dose giving ~25% of the rhTPO maximum in 32D-MPL at 72 h (model; about 7 pg/mL)
TPO_SUBMAX_NM = 0.0002
#: 4 degC: binding only (no internalisation, recycling, degradation or synthesis)
COLD = {"KINT": 0.0, "KR0": 0.0, "KREC": 0.0, "KDEGI": 0.0}


def tpo_binding_change(drug: str, multiple_of_ka: float = 10.0, cells: str = "32D-MPL", tracer_nM: float = TRACER_TPO_NM) -> float:
    """Fractional change of TPO-bound c-Mpl at equilibrium (4 degC) caused by ``drug`` at ``multiple_of_ka`` x KA."""
    lg = rp.ligand(drug)
    c = multiple_of_ka * lg.KA.value
    t = np.array([0.0, 1.0])
    alone = simulate_culture({"tpo": tracer_nM}, cells, t_out=t, parameters=COLD).outputs["tpo_bound"][-1]
    both = simulate_culture({"tpo": tracer_nM, lg.name: c}, cells, t_out=t, parameters=COLD).outputs["tpo_bound"][-1]
    return float(both / alone - 1.0)


def combination_response(drug: str, drug_nM: float, tpo_nM: float = TPO_SUBMAX_NM, cells: str = "32D-MPL", days: float = 3.0) -> dict[str, float]:
    """72 h viable-cell responses (fraction of the rhTPO 100 ng/mL response): TPO, drug, both."""
    t = np.array([0.0, days])

    def v(d):
        return float(simulate_culture(d, cells, t_out=t).outputs["V"][-1])

    v0 = v({})
    vmax = v({"tpo": rp.ligand("tpo").nM(100.0, "ng/mL")})
    e = {k: (v(d) - v0) / (vmax - v0) for k, d in
         (("tpo", {"tpo": tpo_nM}), ("drug", {drug: drug_nM}), ("both", {"tpo": tpo_nM, drug: drug_nM}))}
    e["added_fraction"] = (e["both"] - e["tpo"]) / e["drug"] if e["drug"] > 0 else float("nan")
    return e
