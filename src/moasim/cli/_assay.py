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
        exclude_outliers=args.exclude_outliers, se=args.se,
    )
    comparisons = {}
    if args.compare:
        from ..assay import compare_models

        other = fit_dose_response(
            data, concentration=args.concentration, response=args.response, group=args.group, model=args.compare,
            weights=args.weights, reference=args.reference, fix_bottom=args.fix_bottom, profile=False, se=args.se,
        )
        for g, c in res.groups.items():
            o = other.groups[g]
            reduced, full = (c, o) if len(c.parameters) < len(o.parameters) else (o, c)
            if len(reduced.parameters) == len(full.parameters):
                raise SpecError(invalid_value("--compare", args.compare, "a model nested with --model (3pl < 4pl < 5pl)"))
            # a group with no fitted curve under either model has no comparison (null)
            comparisons[g] = compare_models(reduced, full) if c.curve is not None and o.curve is not None else None
    if args.plot:
        write_atomic(args.plot, lambda tmp: plot_dose_response(res, tmp, unit=args.unit or ""))
    if args.out:
        write_atomic(args.out, lambda tmp: res.to_frame().to_csv(tmp, index=False))
    code = 0 if res.any_ec50 else 1  # 1: the fit ran but no group has an EC50 (see --help)
    if args.json:
        obj = res.to_dict()
        if comparisons:
            obj["model_comparison"] = {g: c.to_dict() if c is not None else None for g, c in comparisons.items()}
        print_json(obj)
        return code
    unit = f" {args.unit}" if args.unit else ""
    for g, c in res.groups.items():
        print(f"group {g}: {c.model.upper()}, n={c.n}, residual SD {_fmt(c.sigma)}" + (f", outliers at rows {list(map(int, c.outlier.nonzero()[0]))}" if c.outlier.any() else "")
)
        if c.status != "ok":
            print(f"  status: {c.status}")
        for note in c.notes:
            print(f"  note: {note}")
        if c.curve is None:
            continue
        print(f"  {'parameter':<10} {'estimate':>12} {'SE':>12} {'95% CI':>28}")
        for k, v in c.estimates.items():
            lo, hi = c.ci95[k]
            if k == "ec50" and c.ec50_bound is not None:
                b_lo, b_hi = c.ec50_bound
                bound = f"> {_fmt(b_lo)}" if b_lo is not None else f"< {_fmt(b_hi)}"
                print(f"  {k:<10} {bound:>12} {'-':>12} {'-':>28}{unit} (bound)")
                continue
            if k == "ec50":
                lo, hi = (None if o else e for e, o in zip((lo, hi), c.ec50_ci_open))
            note = " (fixed)" if k in c.fixed else (" (profile)" if k == "ec50" else "")
            print(f"  {k:<10} {_fmt(v):>12} {_fmt(c.se[k]):>12} {'[' + _fmt(lo) + ', ' + _fmt(hi) + ']':>28}{unit if k == 'ec50' else ''}{note}")
    for g, rp in res.relative_potency.items():
        lo, hi = (None if o else e for e, o in zip(rp.ci95, rp.ci_open))
        print(f"relative potency {g} vs {rp.reference} (EC50_ref/EC50_test, parallel model): {_fmt(rp.estimate)} "
              f"[{_fmt(lo)}, {_fmt(hi)}]")
        for note in rp.notes:
            print(f"  note: {note}")
    for g, c in comparisons.items():
        if c is None:
            print(f"model comparison, group {g}: not available (no fitted curve)")
            continue
        print(f"model comparison, group {g}: {c.reduced} vs {c.full}: F({c.df_num},{c.df_den}) = {_fmt(c.f_statistic)}, "
              f"p = {_fmt(c.p_value)}; AIC {_fmt(c.aic_reduced)} vs {_fmt(c.aic_full)} (prefers {c.preferred_by_aic})")
    if res.parallelism is not None:
        p = res.parallelism
        print(f"parallelism F-test (shared shape vs separate curves): F({p.df_num},{p.df_den}) = {_fmt(p.f_statistic)}, p = {_fmt(p.p_value)}")
    for note in res.notes:
        print(f"note: {note}")
    return code


_DR_EPILOG = """\
groups without an EC50 (JSON "status" and "notes" per group; estimates null):
  ec50_bound        the fitted EC50 lies beyond the tested concentrations: reported as a
                    bound ("ec50_bound": [highest, null] = "EC50 above the highest
                    concentration", or [null, lowest]), with no SE or CI
  no_dose_response  all responses equal, or the curve fits no better than a horizontal
                    line (F-test, p >= 0.05), e.g. only one plateau within the tested range
  not_identifiable  a single positive concentration (with or without zero-dose wells),
                    fewer concentrations than parameters, or no finite fit
A step-like fit (no concentration within the 10-90% transition) keeps its EC50 with the
profile interval but no SE for ec50 and hill. An end of a profile-likelihood interval the
data do not close is null, with a note. Relative potency involving a group without an EC50
is null, with a note.

exit status:
  0  at least one group has an EC50 estimate (others may carry notes and nulls)
  1  the fit ran but no group has an EC50 estimate; the JSON, table and plot are still written
  2  invalid input or options, including fewer observations than free parameters
"""


def _register_fit(sub) -> None:
    p = sub.add_parser("fit", help="fit models to data: dose-response curves (lab), one patient's platelet counts (Bayesian)")
    fsub = p.add_subparsers(dest="fit_command", metavar="WHAT", parser_class=type(p))
    import argparse

    d = fsub.add_parser("dose-response", help="3PL/4PL/5PL fit per group: estimates, SEs, 95%% CIs, relative potency",
                        description="Fit 3PL/4PL/5PL log-logistic curves per group: estimates, standard errors, 95% CIs "
                                    "(profile likelihood for the EC50), relative potency and a parallelism test.",
                        epilog=_DR_EPILOG, formatter_class=argparse.RawDescriptionHelpFormatter)
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
    d.add_argument("--compare", default=None, metavar="MODEL", help="also fit MODEL (nested: 3pl < 4pl < 5pl): F-test and AIC")
    d.add_argument("--se", default="gauss-newton", choices=("gauss-newton", "hessian"),
                   help="standard errors: gauss-newton, s^2 (J'WJ)^-1 as R's nls and Prism (default); hessian, "
                        "s^2 (H/2)^-1 with H the Hessian of the RSS, as R's drc")
    d.add_argument("--plate-map", default=None, metavar="MAP.csv", help="FILE is a 96/384-well grid; MAP has well + columns")
    d.add_argument("--unit", default=None, help="concentration unit for labels (e.g. nM)")
    d.add_argument("--plot", default=None, metavar="FILE.png", help="write curves with data")
    d.add_argument("--out", default=None, metavar="FILE.csv", help="write the parameter table")
    d.add_argument("--json", action="store_true", help="print one JSON object")
    d.set_defaults(func=_run_dose_response)
    from ._patient import register_fit_patient

    register_fit_patient(fsub)

    def _no_sub(args) -> int:
        raise SpecError(invalid_value("fit command", "(none)", "dose-response | patient"))

    p.set_defaults(func=_no_sub)


# ----------------------------------------------------------------------------- flow


def _parse_thresholds(items) -> dict[str, float]:
    out = {}
    for it in items or []:
        name, sep, val = it.partition("=")
        try:
            v = float(val)
        except ValueError:
            v = float("nan")
        if not sep or not name.strip() or not math.isfinite(v):
            raise SpecError(invalid_value("--threshold", it, "MARKER=VALUE, e.g. CD41=1000"))
        out[name.strip()] = v
    return out


def _load_gates(path: str):
    import json
    import os

    import yaml

    from ..assay.flow import gating_strategy_from_dict
    from ..errors import DataError

    if not os.path.isfile(path):
        raise DataError(invalid_value("gates file", path, "an existing JSON, YAML or Gating-ML (.xml) file"))
    if path.lower().endswith(".xml"):
        from ..assay.flow import read_gatingml

        return read_gatingml(path)
    try:
        with open(path, encoding="utf-8") as fh:
            obj = json.load(fh) if path.lower().endswith(".json") else yaml.safe_load(fh)
    except (ValueError, yaml.YAMLError, UnicodeDecodeError) as exc:
        raise DataError(invalid_value("gates file", path, f"valid JSON/YAML ({str(exc).splitlines()[0][:80]})")) from None
    return gating_strategy_from_dict(obj)


def _run_flow(args) -> int:
    from ..assay import flow

    if args.plot:
        check_out_path(args.plot, (".png", ".pdf", ".svg"), "--plot")
    thresholds = _parse_thresholds(args.threshold)
    strategy = _load_gates(args.gates) if args.gates else None
    sample = flow.read_fcs(args.file, dataset=args.dataset)
    if args.compensate:
        sample = flow.compensate(sample)
    if args.transform != "none":
        chans = [c.strip() for c in args.transform_channels.split(",")] if args.transform_channels else list(thresholds)
        if not chans:  # a transform of nothing would leave gates drawn on the transformed scale applied to raw values
            raise SpecError(invalid_value("--transform", args.transform, "with --transform-channels CH1,CH2 or at least one --threshold "
                                          "(the channels to transform)"))
        sample = flow.transform(sample, chans, args.transform)
    for m in thresholds:
        sample.index(m)  # unknown marker -> one-line SpecError before any work
    if args.control:
        control = flow.read_fcs(args.control, dataset=args.dataset)  # same data set: same scale as FILE
        for m, v in flow.positivity_thresholds(control, args.markers.split(","), args.quantile).items():
            thresholds.setdefault(m, v)
    gating = flow.apply_gates(sample, strategy) if strategy else None
    within = None
    if args.within:
        if gating is None or args.within not in gating.masks:
            from ..errors import unknown_name

            raise SpecError(unknown_name("population", args.within, list(gating.masks) if gating else [], "--within"))
        within = gating.masks[args.within]
    panel = flow.megakaryocyte_panel(sample, thresholds, within=within) if thresholds else None
    ploidy = flow.fit_ploidy(sample, args.ploidy, within=within) if args.ploidy else None
    if args.plot:
        names = list(thresholds)
        x = names[0] if names else None
        y = names[1] if len(names) > 1 else None
        write_atomic(args.plot, lambda tmp: flow.plot_flow(sample, tmp, x=x, y=y, thresholds=thresholds, ploidy=ploidy, within=within))
    out = {"file": args.file, "version": sample.version, "n_events": sample.n_events, "channels": list(sample.channels),
           "markers": list(sample.markers), "transforms": dict(sample.transforms),
           "gates": gating.to_dict() if gating else None, "panel": panel.to_dict() if panel else None,
           "ploidy": ploidy.to_dict() if ploidy else None, "dataset": sample.dataset, "n_datasets": sample.n_datasets,
           "top_of_scale": [v if math.isfinite(v) else None for v in sample.ranges], "notes": list(sample.notes)}
    if args.json:
        print_json(out)
        return 0
    sets = (f"; data set {sample.dataset} of the {sample.n_datasets} in the file (--dataset 0..{sample.n_datasets - 1})"
            if sample.n_datasets > 1 else ", 1 data set")
    print(f"{args.file}: FCS {sample.version}, {sample.n_events} events, {len(sample.channels)} channels{sets}")
    for note in sample.notes:
        print(f"  note: {note}")
    for c, m in zip(sample.channels, sample.markers):
        print(f"  {c:<16} {m if m != c else ''}")
    if gating:
        print(gating.to_frame().to_string(index=False, float_format=lambda v: f"{v:.2f}"))
    if panel:
        print(f"marker positivity (of {panel.n_events} events): " + ", ".join(f"{k} {v:.2f}%" for k, v in panel.percent_positive.items()))
    if ploidy:
        print(f"ploidy ({ploidy.channel}, 2N at {ploidy.mu_2n:.4g}, CV {100 * ploidy.cv:.1f}%): "
              + ", ".join(f"{k} {100 * v:.1f}%" for k, v in ploidy.fractions.items()))
    return 0


def _register_flow(sub) -> None:
    p = sub.add_parser("flow", help="flow cytometry: FCS events, gates, CD41/CD61/CD42b positivity, PI ploidy")
    p.add_argument("file", metavar="FILE.fcs")
    p.add_argument("--dataset", type=int, default=0, metavar="K",
                   help="data set K (0 = the first, the default) of a multi-data-set file, e.g. a Coulter .LMD; "
                        "also used for --control")
    p.add_argument("--gates", default=None, metavar="GATES.yaml", help="gating strategy: JSON/YAML (rectangle, polygon, quadrant) or Gating-ML 2.0 .xml")
    p.add_argument("--compensate", action="store_true", help="apply the file's $SPILLOVER matrix")
    p.add_argument("--transform", default="none", choices=("none", "logicle", "arcsinh"), help="transform before gating")
    p.add_argument("--transform-channels", default=None, metavar="CH1,CH2", help="channels to transform (default: thresholded markers)")
    p.add_argument("--threshold", action="append", metavar="MARKER=VALUE",
                   help="positivity cut-off (repeatable); on the transformed scale when --transform is given")
    p.add_argument("--control", default=None, metavar="CONTROL.fcs", help="unstained/isotype control: cut-offs at --quantile")
    p.add_argument("--markers", default="CD41,CD61,CD42b", help="markers cut from --control (default CD41,CD61,CD42b)")
    p.add_argument("--quantile", type=float, default=0.99, help="control quantile for cut-offs (default 0.99)")
    p.add_argument("--within", default=None, metavar="POPULATION", help="restrict panel and ploidy to a gated population")
    p.add_argument("--ploidy", default=None, metavar="CHANNEL", help="fit DNA-content classes 2N-64N on this (PI) channel")
    p.add_argument("--plot", default=None, metavar="FILE.png")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_flow)


# ----------------------------------------------------------------------------- blot


def _split(v: str | None) -> list[str] | None:
    return [x.strip() for x in v.split(",")] if v else None


def _run_blot(args) -> int:
    import pandas as pd

    from ..assay import blot

    if args.plot:
        check_out_path(args.plot, (".png", ".pdf", ".svg"), "--plot")
    if args.out:
        check_out_path(args.out, (".csv",), "--out")
    invert = {"auto": None, "yes": True, "no": False}[args.invert]
    extra = []
    for item in args.image or []:
        tgt, sep, path = item.partition("=")
        if not sep or not tgt.strip() or not path.strip():
            raise SpecError(invalid_value("--image", item, "TARGET=FILE, e.g. STAT5=total.tif"))
        extra.append((tgt.strip(), path.strip()))
    centres = None
    if args.lane_centres:
        try:
            centres = [float(v) for v in args.lane_centres.split(",")]
        except ValueError:
            raise SpecError(invalid_value("--lane-centres", args.lane_centres, "comma-separated pixel columns")) from None
    opts = dict(n_lanes=args.lanes, lane_labels=_split(args.lane_labels), background=args.background,
                radius=args.radius, invert=invert, lane_centres=centres, lane_width=args.lane_width)
    main_q = blot.quantify_blot(args.file, band_names=_split(args.bands), **opts)
    quants = [main_q] + [blot.quantify_blot(path, band_names=[tgt], **opts) for tgt, path in extra]
    table = pd.concat([q.to_frame().assign(image=q.source) for q in quants], ignore_index=True)
    norm = None
    for flag in ("total", "loading", "vehicle"):  # they only act through the normalisation (ignored before)
        if getattr(args, flag) is not None and not args.phospho:
            raise SpecError(invalid_value(f"--{flag}", getattr(args, flag), "used with --phospho (the target to normalise)"))
    if args.phospho:
        norm = blot.normalise_blot(table, phospho=args.phospho, total=args.total, loading=args.loading, vehicle=args.vehicle)
    if args.plot:
        write_atomic(args.plot, lambda tmp: blot.plot_blot(main_q, tmp))
    if args.out:
        write_atomic(args.out, lambda tmp: table.to_csv(tmp, index=False))
    if args.json:
        out = {"images": [q.to_dict() for q in quants],
               "normalised": None if norm is None else [{k: (None if isinstance(v, float) and not math.isfinite(v) else v)
                                                        for k, v in r.items()} for r in norm.to_dict(orient="records")]}
        print_json(out)
        return 0
    for q in quants:
        radius = f", radius {q.radius:g} px" if q.method == "rolling-ball" else ""
        print(f"{q.source}: {len(q.lanes)} lanes, background {q.method}{radius}")
        print(q.to_frame()[["lane", "lane_label", "target", "intensity", "background", "flag"]]
              .to_string(index=False, float_format=lambda v: f"{v:.6g}"))
    if norm is not None:
        print(norm.to_string(index=False, float_format=lambda v: f"{v:.4g}"))
    for q in quants:
        for note in q.notes:
            print(f"warning: {note}" + (f" [{q.source}]" if len(quants) > 1 else ""))
    return 0


def _register_blot(sub) -> None:
    p = sub.add_parser("blot", help="western-blot densitometry: lanes, bands, background, normalised fold change")
    p.add_argument("file", metavar="IMAGE", help="TIFF/PNG blot image")
    p.add_argument("--lanes", type=int, default=None, help="number of lanes (recommended)")
    p.add_argument("--lane-labels", default=None, metavar="L1,L2,...", help="lane names left to right (e.g. vehicle,1nM,10nM)")
    p.add_argument("--lane-centres", default=None, metavar="X1,X2,...", help="explicit lane centres in pixels (when a lane is empty)")
    p.add_argument("--lane-width", type=float, default=None, metavar="PX", help="lane width in pixels (default: measured; boxes never overlap)")
    p.add_argument("--bands", default=None, metavar="T1,T2,...", help="targets top to bottom (e.g. pSTAT5,GAPDH)")
    p.add_argument("--image", action="append", metavar="TARGET=FILE", help="another strip/membrane, same lanes, one target (repeatable)")
    p.add_argument("--background", default="profile", choices=("profile", "rolling-ball", "local", "none"),
                   help="profile: smooth baseline under each lane profile (default); rolling-ball: ImageJ's 2-D "
                        "rolling ball; local: straight line under each band; none: 1st percentile. Every baseline "
                        "stays below the signal; non-positive, undetected and saturated bands are flagged")
    p.add_argument("--radius", type=float, default=None, metavar="PX",
                   help="rolling-ball radius in pixels, larger than the bands' half-height (default 50, ImageJ's); "
                        "also used to find lanes and bands")
    p.add_argument("--invert", default="auto", choices=("auto", "yes", "no"), help="dark bands on light background? (default auto)")
    p.add_argument("--phospho", default=None, metavar="TARGET", help="phospho target to normalise (e.g. pSTAT5)")
    p.add_argument("--total", default=None, metavar="TARGET", help="total protein target (e.g. STAT5)")
    p.add_argument("--loading", default=None, metavar="TARGET", help="loading control (e.g. GAPDH)")
    p.add_argument("--vehicle", default=None, metavar="LABEL", help="vehicle lane label for fold change")
    p.add_argument("--plot", default=None, metavar="FILE.png", help="labelled picture of lanes and bands measured")
    p.add_argument("--out", default=None, metavar="FILE.csv", help="write the band table")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=_run_blot)


def register(sub) -> None:
    _register_fit(sub)
    _register_flow(sub)
    _register_blot(sub)
