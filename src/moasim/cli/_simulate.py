"""``moasim simulate``: one typical subject on a regimen."""

from __future__ import annotations

from ..errors import SpecError, invalid_value
from ._common import check_out_path, print_json, write_atomic

#: The embedded default (README's main job): romiplostim by the label rule in ITP, 24 weeks.
DEFAULT = dict(drug="romiplostim", route="sc", days=168.0, population="itp", titration="label")


def run(args) -> int:
    from ..library.drugs import Food
    from ..simulation import simulate

    embedded = args.drug is None
    drug = args.drug or DEFAULT["drug"]
    if args.days is not None and not args.days > 0:
        raise SpecError(invalid_value("--days", args.days, "a number of days > 0"))
    days = args.days if args.days is not None else (DEFAULT["days"] if embedded else 28.0)
    titration = args.titration or (DEFAULT["titration"] if embedded else None)
    population = args.population or (DEFAULT["population"] if embedded else "healthy")
    route = args.route or (DEFAULT["route"] if embedded else None)
    plot = args.plot or ("moasim_simulation.png" if embedded else None)
    if args.out:
        check_out_path(args.out, (".csv", ".parquet"), "--out")
    if plot:
        check_out_path(plot, (".png", ".pdf", ".svg"), "--plot")
    food = Food(kind=args.food) if args.food else None
    res = simulate(drug, args.dose, every=args.every, route=route, days=days, population=population, titration=titration, food=food)
    if args.out:
        frame = res.to_frame()
        if args.out.lower().endswith(".csv"):
            write_atomic(args.out, lambda p: frame.to_csv(p, index=False))
        else:
            write_atomic(args.out, lambda p: frame.to_parquet(p, index=False))
    if plot:
        res.plot(plot)
    if args.json:
        out = res.to_json_dict()
        out["summary"] = res.summary()
        print_json(out)
        return 0
    s = res.summary()
    print(f"moasim simulate: {drug}, {res.regimen}, {population} typical subject, {days:g} days ({res.engine})")
    if "baseline_platelets" not in s:  # other layers (bone): their own summary keys
        for k, v in s.items():
            print(f"  {k}: {v:.4g}" if isinstance(v, float) else f"  {k}: {v}")
        if plot:
            print(f"  plot: {plot}")
        if args.out:
            print(f"  table: {args.out}")
        return 0
    print(f"  platelets: baseline {s['baseline_platelets']:.0f}, peak {s['peak_platelets']:.0f} x10^9/L on day {s['peak_day']:.1f} "
          f"({s['peak_fold']:.2f}x), nadir {s['nadir_platelets']:.0f}, final {s['final_platelets']:.0f}")
    print(f"  TPO baseline {s['baseline_tpo']:.0f} pg/mL; doses given: {len(res.doses)}", end="")
    if res.doses:
        amounts = sorted({a for _, _, a, _ in res.doses})
        print(f" (levels {', '.join(f'{a:g}' for a in amounts)} {res.doses[0][3]})")
    else:
        print()
    if "cmax_ng_per_mL" in s:
        print(f"  drug Cmax {s['cmax_ng_per_mL']:.4g} ng/mL")
    if plot:
        print(f"  plot: {plot}")
    if args.out:
        print(f"  table: {args.out}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("simulate", help="simulate one typical subject (no arguments: the embedded default, romiplostim in ITP)")
    p.add_argument("--drug", help="romiplostim | eltrombopag | hetrombopag | avatrombopag | tpo | romosozumab")
    p.add_argument("--dose", help='amount per administration with unit, e.g. "1 ug/kg", "50 mg"')
    p.add_argument("--every", help='dosing interval, e.g. "1 week", "1 day" (single dose if absent)')
    p.add_argument("--route", help="sc | iv | oral")
    p.add_argument("--days", type=float, help="duration in days")
    p.add_argument("--population", help="healthy | itp | aplastic")
    p.add_argument("--titration", help="label: the drug's label titration rule at weekly visits")
    p.add_argument("--food", help="meal with each oral dose: high_fat | high_calcium | antacid | standard")
    p.add_argument("--out", help="write the tidy table (.csv or .parquet)")
    p.add_argument("--plot", help="write a plot (.png, .pdf, .svg)")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
