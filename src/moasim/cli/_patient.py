"""``moasim fit patient`` and ``moasim forecast``: one patient's record -> Bayesian fit -> dose recommendation."""

from __future__ import annotations

import re

from ..errors import SpecError, invalid_value
from ._common import check_out_path, check_seed, print_json

#: "50-200", "50-200 10^9/L", "50 - 200 x10^9/L", "50-200 1e9/L"
_TARGET = re.compile(r"^\s*([0-9.]+)\s*-\s*([0-9.]+)\s*(x?10\^9/L|1e9/L|G/L)?\s*$")


def parse_target(text: str) -> tuple[float, float]:
    m = _TARGET.match(text or "")
    if not m:
        raise SpecError(invalid_value("--target", text, "LO-HI platelets in 10^9/L, e.g. '50-200 10^9/L'"))
    lo, hi = float(m.group(1)), float(m.group(2))
    if not 0 < lo < hi:
        raise SpecError(invalid_value("--target", text, "LO-HI with 0 < LO < HI"))
    return lo, hi


def _regimens(args, drug):
    from ..dosing import Regimen, parse_dose
    from ..limits import check_interval
    from ..units import to_unit

    if not args.regimens:
        if args.every:  # it would be silently ignored: the default candidates are the label's levels at the label's interval
            raise SpecError(invalid_value("--every", args.every, "an interval only together with --regimens (the default "
                                                                 "candidates use the label rule's interval)"))
        return None
    rule = drug.titration
    every = check_interval(to_unit(args.every, "day", "--every"), "--every", args.every) if args.every else (rule.every_days if rule else None)
    if every is None:
        raise SpecError(invalid_value("--every", None, f"a dosing interval for the regimens of {drug.name}"))
    out = []
    for item in args.regimens.split(","):
        value, unit = parse_dose(item.strip(), "--regimens")
        out.append(Regimen(drug=drug.name, dose=value, unit=unit, route=args.route or drug.routes[0], every_days=every))
    return out


def _fit(args):
    from ..bayes.fit import fit_patient

    if args.drug is None:
        raise SpecError(invalid_value("--drug", None, "the drug the record doses"))
    check_seed(args.seed)
    if args.plot:
        check_out_path(args.plot, (".png", ".pdf", ".svg"), "--plot")
    samples = getattr(args, "samples", None)  # None: the default number of MCMC draws
    if samples is not None and args.posterior != "mcmc":
        raise SpecError(invalid_value("--samples", samples, "a number of MCMC draws, only with --posterior mcmc"))
    if samples is not None and samples < 1:
        raise SpecError(invalid_value("--samples", samples, "a number of MCMC draws >= 1"))
    return fit_patient(args.file, args.drug, route=args.route, population=args.population, subject_id=args.id,
                       time_unit=args.time_unit, amount_unit=args.amount_unit, residual_sd=args.residual_sd,
                       posterior=args.posterior, samples=samples or 0, seed=args.seed)


def _emit(args, result, as_json: dict, lines) -> int:
    """Write the plot, then print the JSON object or the text lines (and where the plot went)."""
    if args.plot:
        result.plot(args.plot)
    if args.json:
        print_json(as_json)
        return 0
    for line in lines():
        print(line)
    if args.plot:
        print(f"  plot: {args.plot}")
    return 0


def _run_fit(args) -> int:
    from ..bayes.fit import Z_BOUND

    fit = _fit(args)
    d = fit.to_json_dict()

    def lines():
        yield f"moasim fit patient: ID {d['id']}, {d['drug']}, {len(d['predictions']['time_days'])} counts ({d['method']})"
        yield f"  -2 log posterior {d['objective']:.2f}; P(receptor-level non-responder) {d['non_responder_probability']:.3f}"
        for name, v in d["parameters"].items():
            yield (f"  {name:20s} {v['estimate']:10.4g} {v['unit']:8s} 95% {v['ci95'][0]:.4g}-{v['ci95'][1]:.4g}   "
                   f"(prior {v['prior']['typical']:.4g}, omega {v['prior']['omega']:.2f})"
                   + (f"   AT BOUND: {Z_BOUND:g} prior SDs from typical, the data push further" if v["at_bound"] else ""))
        if d["caveat"]:
            yield f"  caveat: {d['caveat']}"

    return _emit(args, fit, d, lines)


def _run_forecast(args) -> int:
    from ..bayes.forecast import forecast
    from ..library.drugs import get_drug
    from ..units import to_unit

    target = parse_target(args.target)
    horizon = to_unit(args.horizon, "day", "--horizon")
    if not 7 <= horizon <= 365:
        raise SpecError(invalid_value("--horizon", args.horizon, "1 to 52 weeks"))
    if not 10 <= args.draws <= 5000:
        raise SpecError(invalid_value("--draws", args.draws, "a number of posterior draws in [10, 5000]"))
    regimens = _regimens(args, get_drug(args.drug)) if args.drug else None
    fit = _fit(args)
    fc = forecast(fit, regimens, horizon_days=horizon, target=target, draws=args.draws, seed=args.seed)

    def lines():
        yield (f"moasim forecast: ID {fit.problem.record.id}, {fit.problem.drug.name}, from day {fc.start_day:g} for {horizon:g} days, "
               f"target {target[0]:g}-{target[1]:g} x10^9/L, {fc.draws} posterior draws")
        for name, r in fc.regimens.items():
            mark = "  <- recommended" if name == fc.recommended else ""
            yield (f"  {name:24s} P(in target) {r['p_in_target']:.2f}  P(<50) {r['p_below_50']:.2f}  P(>400) {r['p_above_400']:.2f}  "
                   f"day {r['time_days'][-1]:g}: median {r['median'][-1]:.0f} (90% {r['p5'][-1]:.0f}-{r['p95'][-1]:.0f}){mark}")
        yield ("  P: every true weekly count of the horizon (no assay error); median and 90% band: the measured count "
               f"(residual SD {fit.problem.sd:g})")
        if fc.caveat:
            yield f"  caveat: {fc.caveat}"

    return _emit(args, fc, {**fc.to_json_dict(), "fit": fit.to_json_dict()}, lines)


def _common(p) -> None:
    p.add_argument("file", metavar="FILE.csv", help="the patient's NONMEM-style record (doses, platelet counts as DV)")
    p.add_argument("--drug", help="the drug the record doses")
    p.add_argument("--route", help="route of doses without CMT (default: the drug's first)")
    p.add_argument("--population", default="itp", help="itp (the prior is the chronic ITP population)")
    p.add_argument("--id", help="the ID to fit when the file holds several")
    p.add_argument("--time-unit", dest="time_unit", default="h", help="unit of TIME and II (default h)")
    p.add_argument("--amount-unit", dest="amount_unit", default="mg", help="unit of AMT (default mg; ug/kg needs WT)")
    p.add_argument("--residual-sd", dest="residual_sd", type=float, default=0.093,
                   help="proportional (log-scale) SD of a measured count (default 0.093, Petrov 2025)")
    p.add_argument("--seed", type=int, default=0, help="seed of posterior draws and MCMC")
    p.add_argument("--posterior", default="sir", help="sir (default: Laplace draws importance-resampled) | laplace | mcmc (emcee)")
    p.add_argument("--plot", help="write a plot (.png, .pdf, .svg)")
    p.add_argument("--json", action="store_true", help="print one JSON object")


def register_fit_patient(fsub) -> None:
    """``moasim fit patient`` (added to the ``fit`` command's subcommands)."""
    p = fsub.add_parser("patient", help="Bayesian fit of one patient's platelet counts (MAP, Laplace, optional MCMC)")
    _common(p)
    p.add_argument("--samples", type=int, default=None, help="MCMC draws with --posterior mcmc (default 2000)")
    p.set_defaults(func=_run_fit)


def register(sub) -> None:
    p = sub.add_parser("forecast", help="posterior-predictive platelets of one patient under candidate regimens; recommended dose")
    _common(p)
    p.add_argument("--target", default="50-200 10^9/L", help="target range, e.g. '50-200 10^9/L'")
    p.add_argument("--horizon", default="8 weeks", help="forecast length, e.g. '8 weeks'")
    p.add_argument("--regimens", help="candidate doses, e.g. '1 ug/kg,2 ug/kg,3 ug/kg' (default: the label's levels)")
    p.add_argument("--every", help="interval of the candidate doses (default: the label rule's)")
    p.add_argument("--draws", type=int, default=200, help="posterior draws (default 200)")
    p.set_defaults(func=_run_forecast)
