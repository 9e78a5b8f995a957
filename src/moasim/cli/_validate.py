"""``moasim validate``: model vs published value for every covered calibration target.

The text output is one block per target (nothing is cut, whatever the terminal width):
result, id, role; model and published value with units; tolerance; note. A summary by role
follows, with the known failures (:func:`moasim.validate.known_failing`) marked.
"""

from __future__ import annotations

import math
import numbers
import shutil
import textwrap
from typing import Any, Mapping, Sequence

from ._common import check_seed, print_json

#: Roles of the targets file, in summary order.
ROLES = ("calibration", "prediction", "identity", "structural")

#: Unit shown for targets whose targets-file entry has no ``unit`` (ratios, fractions) or whose
#: published value is qualitative while the model reports a number with a unit.
FALLBACK_UNITS = {
    "tpo_itp_ratio": "x healthy",
    "tpo_amegakaryocytic_ratio": "x healthy",
    "romiplostim_hv_10ugkg_iv_fold": "x baseline",
    "romiplostim_hv_baseline_by_day28": "x baseline",
    "eltrombopag_east_asian_auc_ratio": "x non-East-Asian",
    "eltrombopag_itp_day43_responders": "fraction of subjects",
    "hetrombopag_half_life_dose_dependence": "h",
    "hetrombopag_food_effect": "x fasted",
    "hetrombopag_phase1_week6": "fraction of subjects",
    "hetrombopag_first_in_patient_day28": "fraction of subjects",
    "additivity_hetrombopag_tpo": "fraction",
    "romosozumab_japanese_12m": "percent",  # BMD % change (no ``unit`` in its entry)
    "romosozumab_single_dose_bmd_day85": "percent",
    "romosozumab_multiple_dose_phase1": "percent",
}

_UNIT_DISPLAY = {"percent": "%"}
_NBSP = "\u00a0"  # joins the words of one value so that wrapping never splits it
_INDENT = " " * 4
_LABEL = 11  # width of the "model:", "published:", ... labels


def num(v: Any, sig: int = 3) -> str:
    """A number with ``sig`` significant digits (trailing zeros dropped), no exponent between 1e-3 and 1e6."""
    if not _is_num(v):
        return str(v)
    x = float(v)
    if not math.isfinite(x):
        return str(x)
    if x == 0 or not 1e-3 <= abs(x) < 1e6:
        return f"{x:.{sig}g}"
    decimals = max(sig - 1 - math.floor(math.log10(abs(x))), 0)
    s = f"{x:.{decimals}f}"
    return s.rstrip("0").rstrip(".") if "." in s else s


def _is_num(v: Any) -> bool:
    return isinstance(v, numbers.Real) and not isinstance(v, bool)


def unit_of(target_id: str, target: Mapping | None) -> str:
    """Display unit of a target: its ``unit`` in the targets file, else :data:`FALLBACK_UNITS`."""
    u = (target or {}).get("unit") or FALLBACK_UNITS.get(target_id, "")
    return _UNIT_DISPLAY.get(u, u)


def _with_unit(v: Any, unit: str) -> str:
    s = num(v)
    if not unit or not _is_num(v):
        return s
    return f"{s}{unit}" if unit == "%" else f"{s}{_NBSP}{unit}"


def format_value(v: Any, unit: str) -> str:
    """A model or published value in full: scalars, per-key dicts (``5 mg: 6.25 h, 40 mg: 6.5 h``), ranges."""
    if isinstance(v, Mapping):
        return ", ".join(f"{k}:{_NBSP}{format_value(x, unit)}".replace(" ", _NBSP) for k, x in v.items()) or "-"
    if isinstance(v, (list, tuple)) and len(v) == 2 and all(_is_num(x) for x in v):
        return f"{num(v[0])} to {_with_unit(v[1], unit)}"
    if isinstance(v, (list, tuple)):
        return ", ".join(format_value(x, unit) for x in v)
    return _with_unit(v, unit)


def format_tolerance(tol: Any, unit: str, published: Any = None) -> str:
    """``{"abs": 10}`` -> ``+/-10 percentage points``; ``{"range": [40, 150]}`` -> ``40 to 150 pg/mL``; ..."""
    if isinstance(tol, Mapping):
        if "range" in tol:
            lo, hi = tol["range"]
            return f"{num(lo)} to {_with_unit(hi, unit)} (pass range)"
        if "abs" in tol:
            pts = "percentage points" if unit == "%" else unit
            return f"+/-{num(tol['abs'])} {pts}" if pts else f"+/-{num(tol['abs'])} (absolute)"
        if "rel" in tol:
            return f"+/-{num(tol['rel'] * 100)}% of published (relative)"
        if "fold" in tol:
            return f"within {num(tol['fold'])}-fold of published"
        return ", ".join(f"{k}: {format_tolerance(x, unit)}".replace(" ", _NBSP) for k, x in tol.items())  # per key (site, dose)
    if tol == "qualitative" or tol is None:
        if isinstance(published, (list, tuple)):
            return "model within the published range"
        return "qualitative (pass rule in the note)"
    return str(tol)


def _published(r, target: Mapping | None, unit: str) -> str:
    pub = r.published
    # a target whose ``regimen`` is a description (str) has its number in ``value``
    value = (target or {}).get("value")
    if isinstance(pub, str) and pub != "qualitative" and (_is_num(value) or isinstance(value, list)):
        return f"{format_value(value, unit)} ({pub})"
    return format_value(pub, unit)


def _wrap(label: str, text: str, width: int) -> list[str]:
    head = f"{_INDENT}{label:<{_LABEL}}"
    out = textwrap.wrap(text, width=max(width, len(head) + 20), initial_indent=head, subsequent_indent=" " * len(head),
                        break_long_words=False, break_on_hyphens=False) or [head.rstrip()]
    return [line.replace(_NBSP, " ") for line in out]


def format_results(results: Sequence, not_covered: Sequence[str] = (), targets: Mapping[str, Mapping] | None = None,
                   known_failing: Mapping[str, str] | None = None, width: int | None = None) -> str:
    """The ``moasim validate`` text report for ``results`` (:class:`moasim.validate.TargetResult`)."""
    if targets is None:
        from ..validate import load_targets

        targets = load_targets()
    if known_failing is None:
        from ..validate import known_failing as _known

        known_failing = _known()
    if width is None:
        width = shutil.get_terminal_size((100, 24)).columns
    width = max(int(width), 40)
    lines: list[str] = []
    by_role: dict[str, list[int]] = {}
    failed: list[str] = []
    for r in results:
        t = targets.get(r.id)
        role = r.role or (t or {}).get("role") or "no role"
        unit = unit_of(r.id, t)
        known = r.id in known_failing
        status = "PASS" if r.passed else ("FAIL (known failing)" if known else "FAIL")
        lines += textwrap.wrap(f"{status}  {r.id}  [{role}]", width=width, subsequent_indent=_INDENT, break_long_words=False)
        se = f" (Monte-Carlo SE {num(r.mc_se, 2)})" if r.mc_se is not None and math.isfinite(r.mc_se) else ""
        lines += _wrap("model:", format_value(r.model, unit) + se, width)
        lines += _wrap("published:", _published(r, t, unit), width)
        lines += _wrap("tolerance:", format_tolerance(r.tolerance, unit, r.published), width)
        if r.note:
            lines += _wrap("note:", r.note, width)
        if known:
            lines += _wrap("known:", known_failing[r.id], width)
        lines.append("")
        counts = by_role.setdefault(role, [0, 0])
        counts[0 if r.passed else 1] += 1
        if not r.passed:
            failed.append(f"{r.id} ({role}{'; known failing' if known else ''})")
    passed = sum(r.passed for r in results)
    n_known = sum(1 for r in results if not r.passed and r.id in known_failing)
    head = f"{passed}/{len(results)} targets pass, {len(results) - passed} fail"
    summary = [head + (f" ({n_known} known failing)." if n_known else ".")]
    roles = [k for k in ROLES if k in by_role] + sorted(k for k in by_role if k not in ROLES)
    if roles:
        summary.append("By role: " + "; ".join(f"{k} {by_role[k][0]} pass / {by_role[k][1]} fail" for k in roles) + ".")
    if failed:
        summary.append(f"Failed: {', '.join(failed)}.")
    fixed = [r.id for r in results if r.passed and r.id in known_failing]
    if fixed:
        summary.append(f"Listed as known failing but passing now: {', '.join(fixed)}.")
    summary.append(f"Not covered yet ({len(not_covered)}): {', '.join(not_covered)}." if not_covered else "Not covered yet: none.")
    for s in summary:
        lines += textwrap.wrap(s, width=width, subsequent_indent=_INDENT, break_long_words=False, break_on_hyphens=False)
    return "\n".join(lines)


def run(args) -> int:
    from ..validate import run_validation

    check_seed(args.seed)
    results, not_covered = run_validation(progress=not args.json, seed=args.seed)
    if args.json:
        print_json(validation_json(results, not_covered))
    else:
        print(format_results(results, not_covered))
    return exit_code(results)


def _tally(results, role: str) -> dict:
    rs = [r for r in results if r.role == role]
    return {"passed": sum(r.passed for r in rs), "total": len(rs)}


def validation_json(results, not_covered) -> dict:
    """The ``validate --json`` contract (DESIGN.md): targets, tallies by role, overall."""
    targets = [r.to_dict() for r in results]  # mc_se: Monte-Carlo SE of population targets (null: deterministic)
    return {"targets": targets, "calibration": _tally(results, "calibration"), "predictions": _tally(results, "prediction"),
            "passed": sum(r.passed for r in results), "total": len(results), "not_covered": not_covered}


def exit_code(results) -> int:
    """1 only when a calibration target fails (DESIGN.md); a failed prediction is reported, not an error."""
    return 1 if any(r.role == "calibration" and not r.passed for r in results) else 0


def register(sub) -> None:
    p = sub.add_parser("validate", help="run the calibration targets: model vs published value, tolerance, pass/fail")
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--seed", type=int, help="seed of the population targets' replicate trials (default: each example trial's own)")
    p.set_defaults(func=run)
