"""``moasim drugs``: the drug catalogue with mechanism and parameters with sources."""

from __future__ import annotations

from ._common import print_json


def catalogue() -> dict:
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
            "parameters": {
                p.name: {"value": p.value, "unit": p.unit, "source": p.source, "tag": p.tag, "meaning": p.doc} for p in mod.parameters
            },
        }
    return {"drugs": out}


def run(args) -> int:
    cat = catalogue()
    if args.json:
        print_json(cat)
        return 0
    for name, d in cat["drugs"].items():
        print(f"{name}: {d['kind']}")
        print(f"  site: {d['binding_site']}; {d['mechanism']}")
        print(f"  routes: {', '.join(d['routes'])}; dose units: {', '.join(d['dose_units'])}")
        for pname, p in d["parameters"].items():
            print(f"    {pname:<18} {p['value']:>10g} {p['unit']:<8} [{p['tag']}] {p['source']}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("drugs", help="the drug catalogue with mechanism and PK parameters and their sources")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
