"""``moasim drugs``: the drug catalogue with mechanism and parameters with sources."""

from __future__ import annotations

from ._common import print_json


def catalogue() -> dict:
    from ..layers import LAYERS

    out = {}
    for layer in LAYERS:
        out.update(layer.load("catalogue")())
    return {"drugs": out}


def platelet_entries() -> dict:
    """Entries of the thrombopoiesis drugs (the catalogue :data:`moasim.library.drugs.DRUGS`)."""
    from ..library.drugs import DRUGS

    out = {}
    for name, d in DRUGS.items():
        mod = d.module()
        out[name] = {
            "kind": d.kind,
            "binding_site": d.site,
            "mechanism": d.mechanism,
            "routes": list(d.routes),
            "dose_units": list(d.dose_units),
            "references": list(d.references),
            "parameters": _parameters(mod),
        }
    return out


def _parameters(mod) -> dict:
    return {p.name: {"value": p.value, "unit": p.unit, "source": p.source, "tag": p.tag, "meaning": p.doc} for p in mod.parameters}


#: Drugs of the bone layer (simulated with ``population postmenopausal_osteoporosis`` or ``male_osteoporosis``).
_BONE = {  # name: (kind, binding site, mechanism, module, module function, dose units: label first, then weight-based)
    "romosozumab": ("humanised anti-sclerostin IgG2 antibody (~149 kDa), SC monthly", "sclerostin (osteocytes)",
                    "neutralises sclerostin: Wnt signalling up -> bone formation up, resorption down (dual effect)",
                    "moasim.library.bone.stein2018_romosozumab", "module", ("mg", "mg/kg")),
    "denosumab": ("human anti-RANKL IgG2 antibody, SC every 6 months", "RANKL",
                  "neutralises RANKL: osteoclast formation and resorption down", "moasim.library.bone.comparators", "denosumab_module",
                  ("mg", "mg/kg")),
    "alendronate": ("bisphosphonate, oral weekly", "bone mineral surface (osteoclasts)",
                    "binds bone mineral; taken up by resorbing osteoclasts, which it inhibits", "moasim.library.bone.comparators",
                    "alendronate_module", ("mg",)),
    "teriparatide": ("recombinant PTH 1-34 (4.1 kDa), SC daily", "PTH1 receptor (osteoblast lineage, osteocytes)",
                     "daily PTH pulses: osteoblast survival up (formation up) and RANKL up (resorption up, later)",
                     "moasim.library.bone.comparators", "teriparatide_module", ("ug",)),
}


def bone_entries() -> dict:
    """Entries of the bone-layer drugs."""
    import importlib

    from ..library.bone._simulate import bone_routes

    out = {}
    for name, (kind, site, mechanism, module, fn, units) in _BONE.items():
        mod = getattr(importlib.import_module(module), fn)()
        out[name] = {"kind": kind, "binding_site": site, "mechanism": mechanism, "routes": list(bone_routes(name)),
                     "dose_units": list(units), "layer": "bone (populations postmenopausal_osteoporosis, male_osteoporosis)",
                     "references": list(mod.references), "parameters": _parameters(mod)}
    return out


def run(args) -> int:
    cat = catalogue()
    if args.json:
        print_json(cat)
        return 0
    for name, d in cat["drugs"].items():
        print(f"{name}: {d['kind']}")
        print(f"  site: {d['binding_site']}; {d['mechanism']}")
        print(f"  routes: {', '.join(d['routes'])}; dose units: {', '.join(d['dose_units'])}" + (f"; layer: {d['layer']}" if "layer" in d else ""))
        for pname, p in d["parameters"].items():
            print(f"    {pname:<18} {p['value']:>10g} {p['unit']:<8} [{p['tag']}] {p['source']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("drugs", help="the drug catalogue with mechanism and PK parameters and their sources")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
