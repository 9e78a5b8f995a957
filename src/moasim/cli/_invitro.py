"""``moasim invitro proliferation|differentiation|signaling``: simulated in-vitro assays."""

from __future__ import annotations

import math

from ..errors import SpecError, invalid_value
from ._common import check_out_path, check_seed, print_json, write_atomic

_PLOTS = (".png", ".pdf", ".svg")


def _conc_nM(text: str | None, drug: str, field: str) -> float | None:
    if text is None:
        return None
    from ..library.receptor_params import ligand
    from ..units import parse_quantity

    v, u = parse_quantity(text, field, default_unit="nM")
    if v < 0:
        raise SpecError(invalid_value(field, text, "a concentration >= 0, e.g. '10 nM' or '100 ng/mL'"))
    return ligand(drug).nM(v, u)


def _proliferation(args) -> int:
    from ..library.invitro import run_proliferation_assay

    if args.plot:
        check_out_path(args.plot, _PLOTS, "--plot")
    if args.plate:
        check_out_path(args.plate, (".csv",), "--plate")
    top = _conc_nM(args.top, args.drug, "--top")
    if args.dilution is not None and not (math.isfinite(args.dilution) and args.dilution > 1):
        raise SpecError(invalid_value("--dilution", args.dilution, "a dilution factor > 1"))
    a = run_proliferation_assay(args.drug, args.cells, seed=check_seed(args.seed), top_nM=top,
                                dilution=args.dilution or math.sqrt(10.0), n_conc=args.points)
    if args.plot:
        a.plot(args.plot)
    if args.plate:
        write_atomic(args.plate, lambda p: a.plate.to_csv(p, index=False))
    if args.json:
        print_json(a.to_dict())
        return 0
    e = a.fit.estimates
    print(f"moasim invitro proliferation: {a.drug} on {a.cells}, 72 h CellTiter-Glo, seed {args.seed}")
    print(f"  4PL fit (% of rhTPO 100 ng/mL): EC50 {a.ec50_nM:.4g} nM (95% CI {a.ci95[0]:.4g}-{a.ci95[1]:.4g}), "
          f"top {e['top']:.1f}%, bottom {e['bottom']:.1f}%, Hill {e['hill']:.2f}")
    if args.plot:
        print(f"  plot: {args.plot}")
    if args.plate:
        print(f"  plate: {args.plate}")
    return 0


def _differentiation(args) -> int:
    from ..library.invitro import run_differentiation_assay
    from ..library.receptor_params import cell

    if cell(args.cells).name != "CD34+":
        raise SpecError(invalid_value("--cells", args.cells, "CD34+ (32D-MPL cells do not differentiate into megakaryocytes)"))
    if args.plot:
        check_out_path(args.plot, _PLOTS, "--plot")
    if not (0 <= args.mek_inhibition <= 1):
        raise SpecError(invalid_value("--mek-inhibition", args.mek_inhibition, "a fraction in [0, 1]"))
    a = run_differentiation_assay(args.drug, _conc_nM(args.conc, args.drug, "--conc"), args.cells, days=args.days,
                                  seed=check_seed(args.seed), n_events=args.events,
                                  parameters={"FMEKI": args.mek_inhibition} if args.mek_inhibition else None)
    if args.plot:
        a.plot(args.plot)
    if args.json:
        print_json(a.to_dict())
        return 0
    d = a.to_dict()
    m = d["markers_percent"]
    print(f"moasim invitro differentiation: {a.drug} {a.concentration_nM:.4g} nM on {a.cells}, day {a.days:g}, seed {args.seed}")
    print(f"  flow ({a.panel.n_events} events): CD41+ {m['CD41+']:.1f}%, CD61+ {m['CD61+']:.1f}%, CD41+CD61+ {m['CD41+CD61+']:.1f}%, "
          f"CD42b+ {m['CD42b+']:.1f}%")
    print("  ploidy of CD41+ cells (PI mixture fit): "
          + ", ".join(f"{k} {100 * v:.1f}%" for k, v in d["ploidy_fractions_cd41"].items()) + f"; mean {d['mean_ploidy']:.2f}N")
    if args.plot:
        print(f"  plot: {args.plot}")
    return 0


def _signaling(args) -> int:
    from ..library.invitro import run_signaling_assay

    if args.plot:
        check_out_path(args.plot, _PLOTS, "--plot")
    try:
        times = [float(x) for x in args.times.split(",") if x.strip()]
    except ValueError:
        raise SpecError(invalid_value("--times", args.times, "comma-separated minutes, e.g. 0,5,15,30,60")) from None
    a = run_signaling_assay(args.drug, _conc_nM(args.conc, args.drug, "--conc"), args.cells, times_min=times, seed=check_seed(args.seed))
    if args.plot:
        a.plot(args.plot)
    if args.json:
        print_json(a.to_dict())
        return 0
    d = a.to_dict()
    print(f"moasim invitro signaling: {a.drug} {a.concentration_nM:.4g} nM on {a.cells}, seed {args.seed} (western blot, phospho/total)")
    print("  " + "time (min)".ljust(12) + "".join(f"{t:>8g}" for t in d["blot"]["STAT5"]["time_min"]))
    for tgt, b in d["blot"].items():
        print(f"  p{tgt:<11}" + "".join(f"{v:8.3f}" for v in b["phospho_total"]) + f"   model peak {d['peak_min'][tgt]:.0f} min")
    if args.plot:
        print(f"  plot: {args.plot}")
    return 0


def register(sub) -> None:
    from ..library.receptor_params import LIGANDS

    p = sub.add_parser("invitro", help="simulated in-vitro assays: proliferation (4PL EC50), differentiation (flow), signaling (blots)")
    ss = p.add_subparsers(dest="assay", metavar="ASSAY", required=True, parser_class=type(p))

    def common(q, cells_default):
        q.add_argument("--drug", required=True, help=" | ".join(LIGANDS))
        q.add_argument("--cells", default=cells_default, help=f"32D-MPL | CD34+ (default {cells_default})")
        q.add_argument("--seed", type=int, default=0, help="noise seed (default 0)")
        q.add_argument("--plot", help="write a plot (.png, .pdf, .svg)")
        q.add_argument("--json", action="store_true", help="print one JSON object")

    q = ss.add_parser("proliferation", help="72 h CellTiter-Glo plate, 4PL-fitted EC50 (nM)")
    common(q, "32D-MPL")
    q.add_argument("--top", help='top concentration, e.g. "1000 nM" or "10 ug/mL" (default ~300x the expected EC50)')
    q.add_argument("--dilution", type=float, help="serial dilution factor (default 3.16)")
    q.add_argument("--points", type=int, default=10, help="number of concentrations, 4-10 (default 10)")
    q.add_argument("--plate", help="write the simulated plate (well, role, concentration, RLU) as .csv")
    q.set_defaults(func=_proliferation)

    q = ss.add_parser("differentiation", help="CD34+ megakaryocyte culture: CD41/CD61/CD42b flow and PI ploidy")
    common(q, "CD34+")
    q.add_argument("--conc", help='drug concentration, e.g. "23 nM" or "100 ng/mL" (default: rhTPO 100 ng/mL or ~10x CD34+ EC50)')
    q.add_argument("--days", type=float, default=14.0, help="culture days (default 14)")
    q.add_argument("--events", type=int, default=20000, help="flow events (default 20000)")
    q.add_argument("--mek-inhibition", type=float, default=0.0, help="fractional MEK inhibition, e.g. 0.7 (PD98059)")
    q.set_defaults(func=_differentiation)

    q = ss.add_parser("signaling", help="stimulation time course: pJAK2, pSTAT5, pSTAT3, pAKT, pERK western blots")
    common(q, "32D-MPL")
    q.add_argument("--conc", help='drug concentration, e.g. "4 nM" (default ~10x the 32D-MPL EC50; rhTPO 100 ng/mL)')
    q.add_argument("--times", default="0,5,15,30,60,120", help="lane times in minutes (default 0,5,15,30,60,120)")
    q.set_defaults(func=_signaling)
