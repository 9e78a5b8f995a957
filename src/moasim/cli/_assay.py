"""``moasim fit dose-response``, ``moasim flow``, ``moasim blot``: lab-data analysis commands."""

from __future__ import annotations

import math

from ..errors import SpecError, invalid_value
from ._common import check_out_path, print_json, write_atomic


def _fmt(v) -> str:
    return "-" if v is None or not math.isfinite(v) else f"{v:.4g}"


# ----------------------------------------------------------------------------- dose-response


def _run_dose_response(args) -> int:
    from ..assay import fit_dose_response, plot_dose_response, read_plate

    if args.plot:
        check_out_path(args.plot, (".png", ".pdf", ".svg"), "--plot")
    if args.out:
        check_out_path(args.out, (".csv",), "--out")
    shared = tuple(s.strip() for s in args.shared.split(",") if s.strip()) if args.shared else ()
    data = read_plate(args.file, args.plate_map, response=args.response) if args.plate_map else args.file
    res = fit_dose_response(
        data, concentration=args.concentration, response=args.response, group=args.group, model=args.model,
        weights=args.weights, shared=shared, reference=args.reference, fix_bottom=args.fix_bottom,
        exclude_outliers=args.exclude_outliers,
    )
    if args.plot:
        write_atomic(args.plot, lambda tmp: plot_dose_response(res, tmp, unit=args.unit or ""))
    if args.out:
        write_atomic(args.out, lambda tmp: res.to_frame().to_csv(tmp, index=False))
    if args.json:
        print_json(res.to_dict())
        return 0
    unit = f" {args.unit}" if args.unit else ""
    for g, c in res.groups.items():
        print(f"group {g}: {c.model.upper()}, n={c.n}, residual SD {_fmt(c.sigma)}" + (f", outliers at rows {list(map(int, c.outlier.nonzero()[0]))}" if c.outlier.any() else ""))
        print(f"  {'parameter':<10} {'estimate':>12} {'SE':>12} {'95% CI':>28}")
        for k, v in c.estimates.items():
            lo, hi = c.ci95[k]
            note = " (fixed)" if k in c.fixed else (" (profile)" if k == "ec50" else "")
            print(f"  {k:<10} {_fmt(v):>12} {_fmt(c.se[k]):>12} {'[' + _fmt(lo) + ', ' + _fmt(hi) + ']':>28}{unit if k == 'ec50' else ''}{note}")
    for g, rp in res.relative_potency.items():
        print(f"relative potency {g} vs {rp.reference} (EC50_ref/EC50_test, parallel model): {_fmt(rp.estimate)} "
              f"[{_fmt(rp.ci95[0])}, {_fmt(rp.ci95[1])}]")
    if res.parallelism is not None:
        p = res.parallelism
        print(f"parallelism F-test (shared shape vs separate curves): F({p.df_num},{p.df_den}) = {_fmt(p.f_statistic)}, p = {_fmt(p.p_value)}")
    return 0


def _register_fit(sub) -> None:
    p = sub.add_parser("fit", help="fit models to lab data (dose-response curves)")
    fsub = p.add_subparsers(dest="fit_command", metavar="WHAT", parser_class=type(p))
    d = fsub.add_parser("dose-response", help="3PL/4PL/5PL fit per group: estimates, SEs, 95%% CIs, relative potency")
    d.add_argument("file", metavar="FILE", help="tidy CSV/TSV/Excel table (or a plate grid with --plate-map)")
    d.add_argument("--model", default="4pl", help="3pl, 4pl or 5pl (default 4pl)")
    d.add_argument("--group", default=None, metavar="COL", help="column that splits the data into curves")
    d.add_argument("--concentration", default="concentration", metavar="COL", help="concentration column (default: concentration)")
    d.add_argument("--response", default="response", metavar="COL", help="response column (default: response)")
    d.add_argument("--weights", default=None, metavar="COL", help="column of per-row weights")
    d.add_argument("--shared", default=None, metavar="P1,P2", help="parameters shared by all groups, e.g. bottom,top")
    d.add_argument("--reference", default=None, metavar="GROUP", help="reference group for relative potency (default: first)")
    d.add_argument("--fix-bottom", type=float, default=None, metavar="VALUE", help="hold the bottom plateau at VALUE")
    d.add_argument("--exclude-outliers", action="store_true", help="refit without flagged outliers")
    d.add_argument("--plate-map", default=None, metavar="MAP.csv", help="FILE is a 96/384-well grid; MAP has well + columns")
    d.add_argument("--unit", default=None, help="concentration unit for labels (e.g. nM)")
    d.add_argument("--plot", default=None, metavar="FILE.png", help="write curves with data")
    d.add_argument("--out", default=None, metavar="FILE.csv", help="write the parameter table")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=_run_dose_response)

    def _no_sub(args) -> int:
        raise SpecError(invalid_value("fit command", "(none)", "dose-response"))

    p.set_defaults(func=_no_sub)


def register(sub) -> None:
    _register_fit(sub)
