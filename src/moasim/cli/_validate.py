"""``moasim validate``: model vs published value for every covered calibration target."""

from __future__ import annotations

import json

from ._common import print_json


def run(args) -> int:
    from ..validate import run_validation

    results, not_covered = run_validation(progress=not args.json)
    passed = sum(r.passed for r in results)
    if args.json:
        print_json({"targets": [r.to_dict() for r in results], "passed": passed, "total": len(results), "not_covered": not_covered})
        return 0 if passed == len(results) else 1
    print(f"{'target':<40} {'model':<44} {'published':<30} {'tolerance':<22} result")
    for r in results:
        m = json.dumps(r.to_dict()["model"])
        pub = json.dumps(r.to_dict()["published"])
        print(f"{r.id:<40} {m[:44]:<44} {pub[:30]:<30} {json.dumps(r.tolerance)[:22]:<22} {'PASS' if r.passed else 'FAIL'}")
    print(f"\n{passed}/{len(results)} targets pass. Not covered yet ({len(not_covered)}): {', '.join(not_covered)}")
    return 0 if passed == len(results) else 1


def register(sub) -> None:
    p = sub.add_parser("validate", help="run the calibration targets: model vs published value, tolerance, pass/fail")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.set_defaults(func=run)
