"""``moasim export sbml``: write a model (and optionally a regimen) as SBML L3."""

from __future__ import annotations

from ..errors import SpecError, invalid_value
from ..limits import check_days, check_interval
from ._common import check_out_path, print_json, write_atomic


def run(args) -> int:
    from ..dosing import Regimen, parse_dose
    from ..dosing._regimen import regimen_events
    from ..io import export_sbml
    from ..library.build import Subject, build_model
    from ..library.drugs import check_route, get_drug
    from ..units import to_unit

    check_out_path(args.output, (".xml", ".sbml"), "-o/--output")
    from ..simulation import BONE_DRUGS

    if args.drug in BONE_DRUGS:
        if args.dose:
            raise SpecError(invalid_value("--dose", args.dose, "no dose for bone-model export (the model is exported drug-free)"))
        from ..library.bone import bone_sbml

        sbml = bone_sbml()
        write_atomic(args.output, lambda p: open(p, "w").write(sbml))
        return _report(args, "bone remodelling + romosozumab/comparator PK at the drug-free steady state", sbml, 0)
    d = get_drug(args.drug)
    subject = Subject(population=args.population)
    model = build_model((d.name,), subject)
    events = []
    if args.dose:
        route = args.route or d.routes[0]
        check_route(d, route)
        value, unit = parse_dose(args.dose)
        every = check_interval(to_unit(args.every, "day", "--every"), "--every", args.every) if args.every else None
        check_days(args.days, "--days")
        reg = Regimen(drug=d.name, dose=value, unit=unit, route=route, every_days=every)
        events = regimen_events(d, reg, args.days, model.parameter_values, subject.weight_kg)
    sbml = export_sbml(model, events)
    write_atomic(args.output, lambda p: open(p, "w").write(sbml))
    return _report(args, f"{model.name}, {len(model.states)} states, {len(model.parameters)} parameters", sbml, len(events))


def _report(args, what: str, sbml: str, n_events: int) -> int:
    if args.json:
        print_json({"output": args.output, "format": "sbml", "level": 3, "model": what, "dose_events": n_events,
                    "time_unit": "day", "bytes": len(sbml.encode())})
    else:
        print(f"wrote {args.output}: {what}, {n_events} dose events (time in days)")
    return 0


def register(sub) -> None:
    p = sub.add_parser("export", help="export a model (sbml)")
    fmt = p.add_subparsers(dest="format", metavar="FORMAT")
    s = fmt.add_parser("sbml", help="SBML Level 3 via Antimony; time in days, canonical units")
    s.add_argument("--drug", required=True)
    s.add_argument("--population", default="healthy", help="healthy | itp | aplastic")
    s.add_argument("--dose", help="include a regimen as SBML events, e.g. '1 ug/kg'")
    s.add_argument("--every", help="dosing interval, e.g. '1 week'")
    s.add_argument("--route", help="sc | iv | oral")
    s.add_argument("--days", type=float, default=28.0, help="span covered by the dose events (days)")
    s.add_argument("-o", "--output", required=True, help="output file (.xml)")
    s.add_argument("--json", action="store_true", help="print one JSON object (what was written)")
    s.set_defaults(func=run)
