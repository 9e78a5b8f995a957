"""``moasim export sbml``: write a model (and optionally a regimen) as SBML L3."""

from __future__ import annotations

from ..errors import SpecError, invalid_value
from ..limits import check_days, check_interval
from ._common import check_out_path, print_json, write_atomic


#: span of the dose events when --days is not given (days)
DEFAULT_DAYS = 28.0


def run(args) -> int:
    from ..layers import layer_for

    check_out_path(args.output, (".xml", ".sbml"), "-o/--output")
    for flag in ("every", "route", "days"):
        if getattr(args, flag) is not None and not args.dose:
            raise SpecError(invalid_value(f"--{flag}", getattr(args, flag), "used with --dose (the regimen written as SBML events)"))
    export = layer_for(drug=args.drug).load("export_sbml")
    sbml, what, n_events = export(args.drug, args.population, args.dose, args.every, args.route,
                                  args.days if args.days is not None else DEFAULT_DAYS)
    write_atomic(args.output, lambda p: open(p, "w").write(sbml))
    return _report(args, what, sbml, n_events)


def platelet_model_sbml(drug: str, population: str, dose: str | None, every: str | None, route: str | None,
                        days: float) -> tuple[str, str, int]:
    """SBML of the thrombopoiesis model with ``drug`` for a typical subject, with the regimen's
    dose events if ``dose`` is given: (sbml, description, number of dose events)."""
    from ..dosing import Regimen, parse_dose
    from ..dosing._regimen import regimen_events
    from ..io import export_sbml
    from ..library.build import Subject, build_model
    from ..library.drugs import check_route, get_drug
    from ..units import to_unit

    d = get_drug(drug)
    subject = Subject(population=population or "healthy")
    model = build_model((d.name,), subject)
    events = []
    if dose:
        route = route or d.routes[0]
        check_route(d, route)
        value, unit = parse_dose(dose)
        every_days = check_interval(to_unit(every, "day", "--every"), "--every", every) if every else None
        check_days(days, "--days")
        reg = Regimen(drug=d.name, dose=value, unit=unit, route=route, every_days=every_days)
        events = regimen_events(d, reg, days, model.parameter_values, subject.weight_kg)
    sbml = export_sbml(model, events)
    return sbml, f"{model.name}, {len(model.states)} states, {len(model.parameters)} parameters", len(events)


def bone_model_sbml(drug: str, population: str, dose: str | None, every: str | None, route: str | None,
                    days: float) -> tuple[str, str, int]:
    """SBML of the bone model (drug-free steady state; every bone drug's PK is in it)."""
    from ..layers import BONE

    if population not in (None, *BONE.populations):  # the thrombopoiesis populations were ignored
        raise SpecError(invalid_value("--population", population, f"{' | '.join(BONE.populations)} for {drug} (a bone-model drug)"))
    if dose:
        raise SpecError(invalid_value("--dose", dose, "no dose for bone-model export (the model is exported drug-free)"))
    from ..library.bone import BoneSubject, bone_sbml
    from ..library.bone.covariates import subject_parameters

    subject = BoneSubject(population=population or BONE.populations[0])
    given = subject_parameters(subject.weight_kg, bool(subject.female))
    who = "typical woman" if subject.female else "typical man"
    return bone_sbml(given), f"bone remodelling + romosozumab/comparator PK at the drug-free steady state ({who})", 0


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
    s.add_argument("--population", help="healthy | itp | aplastic (default healthy); postmenopausal_osteoporosis | male_osteoporosis for a bone drug")
    s.add_argument("--dose", help="include a regimen as SBML events, e.g. '1 ug/kg'")
    s.add_argument("--every", help="dosing interval, e.g. '1 week'")
    s.add_argument("--route", help="sc | iv | oral")
    s.add_argument("--days", type=float, help="span covered by the dose events (days; default 28, with --dose)")
    s.add_argument("-o", "--output", required=True, help="output file (.xml)")
    s.add_argument("--json", action="store_true", help="print one JSON object (what was written)")
    s.set_defaults(func=run)
