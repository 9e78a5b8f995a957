"""``moasim simulate``: one typical subject on a regimen."""

from __future__ import annotations

from ..errors import SpecError, invalid_value
from ._common import check_out_path, print_json, write_atomic

#: The embedded default (README's main job): romiplostim by the label rule in ITP, 24 weeks.
DEFAULT = dict(drug="romiplostim", route="sc", days=168.0, population="itp", titration="label")


def run(args) -> int:
    from ..library.drugs import Food
    from ..layers import layer_for
    from ..simulation import simulate

    out_format = _check_format(args)
    if args.data is not None:
        return _run_dataset(args, out_format)
    embedded = args.drug is None
    drug = args.drug or DEFAULT["drug"]
    if args.days is not None and not args.days > 0:
        raise SpecError(invalid_value("--days", args.days, "a number of days > 0"))
    days = args.days if args.days is not None else (DEFAULT["days"] if embedded else 28.0)
    titration = args.titration or (DEFAULT["titration"] if embedded else None)
    population = args.population or (DEFAULT["population"] if embedded else layer_for(drug).populations[0])
    route = args.route or (DEFAULT["route"] if embedded else None)
    plot = args.plot or ("moasim_simulation.png" if embedded else None)
    if args.out:
        check_out_path(args.out, (".csv", ".parquet"), "--out")
    if plot:
        check_out_path(plot, (".png", ".pdf", ".svg"), "--plot")
    if args.out and out_format == "nonmem" and layer_for(drug, population).name != "thrombopoiesis":
        raise SpecError(invalid_value("--format", "nonmem", f"csv or parquet for {drug} (a NONMEM dataset carries platelet "
                                                            "observations; write --out FILE.csv)"))
    food = Food(kind=args.food) if args.food else None
    if args.count is not None and (args.count < 1 or titration or args.every is None):
        raise SpecError(invalid_value("--count", args.count, "a number of doses >= 1, with --every and without --titration "
                                                             "(without --every there is one dose; with a rule, the rule decides)"))
    res = simulate(drug, args.dose, every=args.every, route=route, days=days, population=population, titration=titration, food=food,
                   count=args.count)
    if args.out and out_format == "nonmem":
        _write_nonmem(args, {1: res})
    elif args.out:
        frame = res.to_frame()
        if args.out.lower().endswith(".csv"):
            write_atomic(args.out, lambda p: frame.to_csv(p, index=False))
        else:
            write_atomic(args.out, lambda p: frame.to_parquet(p, index=False))
    if plot:
        res.plot(plot)
    food_applied, food_text = _food_status(drug, route, args.food, population)
    if args.json:
        out = res.to_json_dict()
        out["summary"] = res.summary()
        if hasattr(res, "summary_units"):
            out["summary_units"] = res.summary_units()
        out["food"] = args.food or None  # meal kind with each oral dose (None: fasted / no meal given)
        out["food_applied"] = food_applied  # False where the meal has no modelled effect on this drug and route
        print_json(out)
        return 0
    s = res.summary()
    print(f"moasim simulate: {drug}, {res.regimen}, {population} typical subject, {days:g} days ({res.engine})")
    if args.food or route == "oral" or (route is None and _default_route(drug) == "oral"):
        print(f"  food: {food_text}")
    if "baseline_platelets" not in s:  # other layers (bone): their own summary keys
        if hasattr(res, "summary_lines"):
            for line in res.summary_lines():
                print(f"  {line}")
        else:
            units = res.summary_units() if hasattr(res, "summary_units") else {}
            for k, v in s.items():
                u = _unit_text(units.get(k, ""))
                print(f"  {k}: {v:.4g}{u}" if isinstance(v, float) else f"  {k}: {v}{u}")
        _print_written(plot, args.out)
        return 0
    print(f"  platelets: baseline {s['baseline_platelets']:.0f} x10^9/L, peak {s['peak_platelets']:.0f} x10^9/L on day {s['peak_day']:.1f} "
          f"({s['peak_fold']:.2f}x baseline), nadir {s['nadir_platelets']:.0f} x10^9/L, final {s['final_platelets']:.0f} x10^9/L")
    print(f"  TPO baseline {s['baseline_tpo']:.0f} pg/mL; doses given: {len(res.doses)}", end="")
    if res.doses:
        amounts = sorted({a for _, _, a, _ in res.doses})
        print(f" (levels {', '.join(f'{a:g}' for a in amounts)} {res.doses[0][3]})")
    else:
        print()
    if "cmax_ng_per_mL" in s:
        print(f"  drug Cmax {s['cmax_ng_per_mL']:.4g} ng/mL")
    _print_written(plot, args.out)
    return 0


def _print_written(plot: str | None, out: str | None) -> None:
    if plot:
        print(f"  plot: {plot}")
    if out:
        print(f"  table: {out}")


def _check_format(args) -> str:
    """The --out format (tidy | nonmem); nonmem is written as CSV."""
    fmt = args.format or "tidy"
    if fmt not in ("tidy", "nonmem"):
        raise SpecError(invalid_value("--format", fmt, "tidy | nonmem"))
    if fmt == "nonmem" and not (args.out and args.out.lower().endswith(".csv")):
        raise SpecError(invalid_value("--out", args.out, "a .csv path for --format nonmem"))
    if args.data is None and (args.time_unit or args.amount_unit) and fmt != "nonmem":
        raise SpecError(invalid_value("--time-unit/--amount-unit", args.time_unit or args.amount_unit, "used with --data or --format nonmem"))
    if args.data is None and args.dv is not None:
        raise SpecError(invalid_value("--dv", args.dv, "used with --data (the output the dataset's DV column is compared with)"))
    return fmt


def _write_nonmem(args, results: dict, observations: dict | None = None, records: dict | None = None) -> None:
    """Write simulated subjects as a NONMEM-style dataset (doses, predictions; atomically)."""
    from ..io.nonmem import dataset_frame

    frame = dataset_frame(results, time_unit=args.time_unit or "h", amount_unit=args.amount_unit or "mg", observations=observations,
                          records=records)
    write_atomic(args.out, lambda p: frame.to_csv(p, index=False))


def _run_dataset(args, out_format: str) -> int:
    """``moasim simulate --data FILE``: every ID of a NONMEM-style dataset."""
    from ..event_data import DV_OUTPUTS, simulate_dataset
    from ..library.drugs import Food

    for flag in ("dose", "every", "titration", "count"):
        if getattr(args, flag) is not None:
            raise SpecError(invalid_value(f"--{flag}", getattr(args, flag), "nothing with --data (doses come from the dataset)"))
    if args.drug is None:
        raise SpecError(invalid_value("--drug", None, "the dosed drug, with --data"))
    if args.days is not None and not args.days > 0:
        raise SpecError(invalid_value("--days", args.days, "a number of days > 0"))
    if args.dv and args.dv not in DV_OUTPUTS:
        raise SpecError(invalid_value("--dv", args.dv, " | ".join(DV_OUTPUTS)))
    if args.out:
        check_out_path(args.out, (".csv", ".parquet"), "--out")
    if args.plot:
        check_out_path(args.plot, (".png", ".pdf", ".svg"), "--plot")
    res = simulate_dataset(args.data, args.drug, route=args.route, population=args.population or "healthy",
                           time_unit=args.time_unit or "h", amount_unit=args.amount_unit or "mg", days=args.days,
                           dv_output=args.dv or "platelets", food=Food(kind=args.food) if args.food else None)
    if args.out and out_format == "nonmem":
        obs = {sid: {o["time_days"]: o["dv"] for o in res.observations[sid] if o["dv"] is not None and not o["mdv"]}
               for sid in res.subjects} if res.dv_output == "platelets" else None
        _write_nonmem(args, dict(res.subjects), obs, {r.id: r for r in res.dataset.subjects})
    elif args.out:
        import pandas as pd

        frame = pd.concat([r.to_frame().assign(ID=sid) for sid, r in res.subjects.items()], ignore_index=True)
        write = (lambda p: frame.to_csv(p, index=False)) if args.out.lower().endswith(".csv") else (lambda p: frame.to_parquet(p, index=False))
        write_atomic(args.out, write)
    if args.plot:
        res.plot(args.plot)
    food_applied, food_text = _food_status(args.drug, args.route, args.food, args.population or "healthy")
    if args.json:
        out = res.to_json_dict()
        out["food"], out["food_applied"] = args.food or None, food_applied  # as without --data
        print_json(out)
        return 0
    print(f"moasim simulate: {args.drug}, event dataset {args.data} ({len(res.subjects)} IDs), {args.population or 'healthy'}")
    for sid, r in res.subjects.items():
        s, obs = r.summary(), res.observations[sid]
        n = sum(1 for o in obs if o["dv"] is not None and not o["mdv"])
        print(f"  ID {sid}: {len(r.doses)} doses over {float(r.time[-1]):g} days; platelets {s['baseline_platelets']:.0f} -> peak "
              f"{s['peak_platelets']:.0f} x10^9/L (day {s['peak_day']:.1f}); {n} observations of {res.dv_output}")
    if args.food:
        print(f"  food: {food_text}")
    _print_written(args.plot, args.out)
    return 0


def _default_route(drug: str) -> str | None:
    from ..layers import layer_for

    try:
        return layer_for(drug=drug).load("routes")(drug)[0]
    except Exception:  # noqa: BLE001 - only for the text; simulate() has already checked the drug
        return None


def _food_status(drug: str, route: str | None, food: str | None, population: str) -> tuple[bool, str]:
    """(is the meal applied in the model, text for the ``food:`` line)."""
    from ..layers import layer_for

    route = route or _default_route(drug)
    if not food:
        return False, "none (fasted)" if route == "oral" else "none"
    layer = layer_for(drug, population)
    if not layer.food_effect:
        return False, f"{food} (not applied: the {layer.name} model has no food effect)"
    if route != "oral":
        return False, f"{food} (not applied: food acts on oral doses only, route is {route})"
    from ..library.drugs import get_drug

    if food not in get_drug(drug).food_parameters:
        return False, f"{food} with each oral dose (no effect of this meal is modelled for {drug})"
    return True, f"{food} with each oral dose"


def _unit_text(unit: str) -> str:
    if not unit or unit == "1":
        return ""
    return unit if unit == "%" else f" {'x10^9/L' if unit == '1e9/L' else unit}"


def register(sub) -> None:
    from ..library.drugs import DRUGS

    p = sub.add_parser("simulate", help="simulate one typical subject (no arguments: the embedded default, romiplostim in ITP)")
    p.add_argument("--drug", help=" | ".join((*DRUGS, "romosozumab")))
    p.add_argument("--dose", help='amount per administration with unit, e.g. "1 ug/kg", "50 mg"')
    p.add_argument("--every", help='dosing interval, e.g. "1 week", "1 day" (single dose if absent)')
    p.add_argument("--count", type=int, help="number of doses with --every (default: until the end of --days)")
    p.add_argument("--route", help="sc | iv | oral")
    p.add_argument("--days", type=float, help="duration in days")
    p.add_argument("--population", help="healthy | itp | aplastic | postmenopausal_osteoporosis | male_osteoporosis (default: the drug's "
                                        "layer's first, healthy or postmenopausal_osteoporosis)")
    p.add_argument("--titration", help="label: the drug's label titration rule at weekly visits")
    p.add_argument("--food", help="meal with each oral dose: high_fat | high_calcium | antacid | standard")
    p.add_argument("--data", help="NONMEM-style event dataset (CSV: ID, TIME, EVID, AMT, CMT, RATE, II, ADDL, SS, DV, MDV, covariates)")
    p.add_argument("--time-unit", dest="time_unit", help="unit of TIME and II in --data / --format nonmem (default h)")
    p.add_argument("--amount-unit", dest="amount_unit", help="unit of AMT in --data / --format nonmem (default mg; ug/kg needs WT)")
    p.add_argument("--dv", help="model output the DV column is compared with: platelets | drug_concentration | tpo (default platelets)")
    p.add_argument("--format", help="--out format: tidy (default; .csv or .parquet) | nonmem (a NONMEM-style dataset, .csv)")
    p.add_argument("--out", help="write the tidy table (.csv or .parquet)")
    p.add_argument("--plot", help="write a plot (.png, .pdf, .svg)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
