"""The tolerance rule every target uses: is a model value within the published value's tolerance?"""

from __future__ import annotations

__all__ = ["within"]


def within(value: float, published: float, tol: dict) -> bool:
    """Is ``value`` within the target's tolerance (range, fold, abs, rel)?"""
    if "range" in tol:
        lo, hi = tol["range"]
        return lo <= value <= hi
    if "fold" in tol:
        return published / tol["fold"] <= value <= published * tol["fold"]
    if "abs" in tol:
        return abs(value - published) <= tol["abs"]
    if "rel" in tol:
        return abs(value / published - 1) <= tol["rel"]
    raise ValueError(f"unknown tolerance {tol}")
