"""``moasim trial SPEC.yaml``: run a virtual trial (DESIGN.md contract)."""

from __future__ import annotations

import sys

from ..errors import SpecError, invalid_value
from ._common import check_out_path, print_json


def run(args) -> int:
    from importlib import resources

    from ..trials import load_trial_spec, run_trial

    embedded = args.spec is None
    path = args.spec or str(resources.files("moasim.trials").joinpath("default_trial.yaml"))
    spec = load_trial_spec(path).with_run_options(n=args.n, seed=args.seed, replicates=args.replicates)
    if embedded and not args.report:
        args.report = "moasim_trial.html"
    plot = args.plot or ("moasim_trial.png" if embedded else None)
    if args.report:
        check_out_path(args.report, (".html",), "--report")
    if plot:
        check_out_path(plot, (".png", ".pdf", ".svg"), "--plot")
    if args.out_format not in ("parquet", "nonmem"):
        raise SpecError(invalid_value("--out-format", args.out_format, "parquet | nonmem"))
    if args.out_format == "nonmem" and not args.out:
        raise SpecError(invalid_value("--out-format", "nonmem", "with --out DIR (the datasets are written to DIR/nonmem/)"))
    if args.out_format == "nonmem" and spec.layer.name != "thrombopoiesis":
        raise SpecError(invalid_value("--out-format", "nonmem", f"parquet for a {spec.layer.name} trial (datasets out: ITP trials)"))
    if args.workers is not None and args.workers < 1:
        raise SpecError(invalid_value("--workers", args.workers, "an integer >= 1"))
    try:
        res = run_trial(spec, out_dir=args.out, scheduler=args.scheduler, workers=args.workers, progress=not args.json, engine=args.engine)
    except KeyboardInterrupt:
        where = f"kept in {args.out}; re-run the same command to resume" if args.out else "lost (no --out directory)"
        sys.stderr.write(f"moasim: interrupted; finished shards are {where}.\n")
        return 130
    datasets = []
    if args.out_format == "nonmem":
        from ..trials._itp import write_itp_datasets

        datasets = write_itp_datasets(spec, res.out_dir)
    if args.report:
        from ..report.trial_report import render_trial_report

        render_trial_report(res, args.report)
    if plot:
        from ..report.trial_report import _save, trial_figure

        _save(trial_figure(res), plot)
    if args.json:
        out = res.to_json_dict()
        if datasets:
            out["datasets"] = datasets
        print_json(out)
        return 0
    from ..trials._endpoints import describe

    print(f"moasim trial: {spec.name}; n = {spec.n} per arm x {spec.replicates} replicate(s); seed {spec.seed}")
    print("  endpoints:")
    for e in spec.endpoints:
        print(f"    {e.name:<28} {describe(e)}")
    for arm, a in res.arms.items():
        print(f"  {arm} (n = {a['n']})")
        for ep, v in a["endpoints"].items():
            lo, hi = v["ci95"]
            print(f"    {ep:<28} {v['estimate']:.3g}  [{lo:.3g}, {hi:.3g}]")
    kept = res.out_dir or "not kept (use --out DIR to keep the shards and resume)"
    print(f"  shards: {res.shards_run} run, {res.shards_reused} reused; output {kept}")
    for path in datasets:
        print(f"  dataset: {path}")
    if args.report:
        print(f"  report: {args.report}")
    if plot:
        print(f"  plot: {plot}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("trial", help="run a virtual trial from a YAML spec: ITP (platelets) or postmenopausal osteoporosis (BMD, markers, fractures); no spec: the embedded default, romiplostim vs placebo, 24 weeks")
    p.add_argument("spec", nargs="?", help="trial spec (YAML); default: the embedded romiplostim 24-week trial")
    p.add_argument("--n", type=int, help="subjects per arm (overrides the spec)")
    p.add_argument("--seed", type=int, help="random seed (overrides the spec)")
    p.add_argument("--replicates", type=int, help="replicate trials (overrides the spec)")
    p.add_argument("--out", help="directory for per-shard Parquet results (re-run to resume)")
    p.add_argument("--out-format", default="parquet", help="parquet (default: the shards in --out) | nonmem (also one NONMEM-style "
                   "dataset per arm, --out/nonmem/armNNN.csv: administered doses, measured and predicted counts, TPO, concentration; ITP trials)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--engine", default="auto", help="auto (default) | batched (all subjects of a shard at once; compiled) | gpu (the batched kernel on a CUDA GPU; needs numba-cuda) | roadrunner (one at a time)")
    p.add_argument("--report", help="write an HTML report")
    p.add_argument("--plot", help="write the figure (.png, .pdf, .svg): platelet bands and response; bone trials: BMD, markers, fractures")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
