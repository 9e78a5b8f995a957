"""The header check shared by the table readers (lab-data tables, NONMEM-style event datasets)."""

from __future__ import annotations

import math
from typing import Iterable

from .errors import DataError, invalid_value


def refuse_repeated_headers(names: Iterable[object], where: str, *, fold_case: bool = False) -> None:
    """Raise :class:`DataError` if a column name appears twice in a header row.

    pandas renames a repeated header (``response``, ``response.1``) and a case-insensitive
    lookup keeps one of ``dv``/``DV``, so a column asked for by name would silently be one of
    the two. Empty header cells are left out.

    Parameters
    ----------
    names : iterable
        The header row as read (before pandas renames anything).
    where : str
        The file or table, for the message.
    fold_case : bool
        Compare names case-insensitively (for readers that look columns up that way).
    """
    keys = [str(c).strip() for c in names if not (isinstance(c, float) and math.isnan(c)) and c is not None and str(c).strip()]
    folded = [k.upper() if fold_case else k for k in keys]
    for k, f in zip(keys, folded):
        if folded.count(f) > 1:
            case = ", ignoring case" if fold_case else ""
            raise DataError(invalid_value("column header", k, f"unique column names{case} (it names {folded.count(f)} columns)", where))
