"""``moasim trial SPEC.yaml``: run a virtual trial (DESIGN.md contract)."""

from __future__ import annotations

from ..errors import SpecError, invalid_value
from ._common import check_out_path, print_json


def run(args) -> int:
    from ..trials import load_trial_spec, run_trial

    spec = load_trial_spec(args.spec).with_run_options(n=args.n, seed=args.seed, replicates=args.replicates)
    if args.report:
        check_out_path(args.report, (".html",), "--report")
    if args.workers is not None and args.workers < 1:
        raise SpecError(invalid_value("--workers", args.workers, "an integer >= 1"))
    res = run_trial(spec, out_dir=args.out, scheduler=args.scheduler, workers=args.workers, progress=not args.json)
    if args.report:
        from ..report.trial_report import render_trial_report

        render_trial_report(res, args.report)
    if args.json:
        print_json(res.to_json_dict())
        return 0
    print(f"moasim trial: {spec.name}; n = {spec.n} per arm x {spec.replicates} replicate(s); seed {spec.seed}")
    for arm, a in res.arms.items():
        print(f"  {arm} (n = {a['n']})")
        for ep, v in a["endpoints"].items():
            lo, hi = v["ci95"]
            print(f"    {ep:<28} {v['estimate']:.3g}  [{lo:.3g}, {hi:.3g}]")
    print(f"  shards: {res.shards_run} run, {res.shards_reused} reused; output {res.out_dir}")
    if args.report:
        print(f"  report: {args.report}")
    return 0


def register(sub) -> None:
    p = sub.add_parser("trial", help="run a virtual trial from a YAML spec")
    p.add_argument("spec", help="trial spec (YAML)")
    p.add_argument("--n", type=int, help="subjects per arm (overrides the spec)")
    p.add_argument("--seed", type=int, help="random seed (overrides the spec)")
    p.add_argument("--replicates", type=int, help="replicate trials (overrides the spec)")
    p.add_argument("--out", help="directory for per-shard Parquet results (re-run to resume)")
    p.add_argument("--scheduler", help="Dask scheduler address, e.g. tcp://127.0.0.1:8786")
    p.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    p.add_argument("--report", help="write an HTML report")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
