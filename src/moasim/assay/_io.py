"""Reading lab tables (tidy CSV/TSV/Excel files, plate-reader layouts) and writing JSON-safe numbers.

Every failure on malformed input raises :class:`moasim.errors.DataError` with one line
in the house template (what, where, value received, what is allowed). Results of the assay
modules write themselves out through :func:`json_number` and :func:`json_interval`.
"""

from __future__ import annotations

import os
import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from .._headers import refuse_repeated_headers
from ..errors import DataError, invalid_value, unknown_name

__all__ = ["read_table", "read_plate", "require_columns", "numeric_column", "json_number", "json_interval",
           "PLATE_FORMATS"]

#: Plate formats: wells -> (rows, columns).
PLATE_FORMATS: dict[int, tuple[int, int]] = {96: (8, 12), 384: (16, 24), 1536: (32, 48)}

_TABLE_EXT = (".csv", ".tsv", ".txt", ".xlsx", ".xls")


def _row_label(i: int) -> str:
    """Row label of a plate row index (0 -> 'A', 26 -> 'AA', as readers write 1536-well plates)."""
    return chr(65 + i) if i < 26 else "A" + chr(65 + i - 26)


def read_table(path: str | os.PathLike, *, sheet: str | int = 0) -> pd.DataFrame:
    """Read a tidy table (CSV, TSV or Excel) into a DataFrame.

    Parameters
    ----------
    path
        ``.csv``/``.txt`` (comma or auto-detected delimiter), ``.tsv`` or ``.xlsx``.
    sheet
        Excel sheet name or index.

    Raises
    ------
    DataError
        Missing, empty, binary or unparsable file; a table without data rows.
    """
    p = Path(path)
    if not p.is_file():
        raise DataError(invalid_value("data file", str(path), "an existing readable file"))
    ext = p.suffix.lower()
    if ext not in _TABLE_EXT:
        raise DataError(invalid_value("data file extension", ext or "(none)", ", ".join(_TABLE_EXT)))
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ext in (".xlsx", ".xls"):
                with pd.ExcelFile(p) as book:  # the workbook is loaded once for the table and its raw header
                    df = book.parse(sheet)
                    header = book.parse(sheet, header=None, nrows=1)
            else:
                sep = "\t" if ext == ".tsv" else None
                df = pd.read_csv(p, sep=sep, engine="python", skipinitialspace=True, encoding_errors="strict")
                header = pd.read_csv(p, sep=sep, engine="python", skipinitialspace=True, encoding_errors="strict", header=None, nrows=1)
    except DataError:
        raise
    except Exception as exc:  # pandas/openpyxl raise many types for malformed files
        msg = str(exc).splitlines()[0][:120] if str(exc) else type(exc).__name__
        raise DataError(invalid_value("table file", str(path), f"a well-formed CSV/TSV/Excel table ({msg})")) from None
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise DataError(invalid_value("table file", str(path), "a header row and at least one data row"))
    refuse_repeated_headers(header.iloc[0].tolist(), str(path))
    df.columns = [str(c).strip() for c in df.columns]
    return df


def require_columns(df: pd.DataFrame, columns: list[str | None], where: str = "data") -> None:
    """Raise :class:`DataError` naming the first requested column not in ``df``."""
    for c in columns:
        if c is not None and c not in df.columns:
            raise DataError(unknown_name("column", c, [str(x) for x in df.columns], where))


def numeric_column(df: pd.DataFrame, col: str, *, minimum: float | None = None, where: str = "data") -> np.ndarray:
    """Column as float array; non-numeric, non-finite or too-small values raise :class:`DataError`."""
    raw = df[col]
    vals = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
    bad = ~np.isfinite(vals)
    if minimum is not None:
        bad |= np.isfinite(vals) & (vals < minimum)
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        allowed = "a finite number" + (f" >= {minimum:g}" if minimum is not None else "")
        raise DataError(invalid_value(f"{col!r} value", raw.iloc[i], allowed, f"{where} row {i + 1}"))
    return vals


def _grid_from_frame(df: pd.DataFrame, where: str) -> pd.DataFrame:
    """Locate a plate grid (row letters in the first column, 1..N header) in a raw table."""
    first = df.columns[0]
    labels = df[first].astype(str).str.strip()
    df = df.set_index(labels).drop(columns=first)
    df.columns = [str(c).strip() for c in df.columns]
    n_rows, n_cols = df.shape
    fmt = next((w for w, (r, c) in PLATE_FORMATS.items() if (r, c) == (n_rows, n_cols)), None)
    if fmt is None:
        allowed = ", ".join(f"{w}-well ({r}x{c})" for w, (r, c) in PLATE_FORMATS.items())
        raise DataError(invalid_value("plate grid shape", f"{n_rows}x{n_cols}", allowed, where))
    want_rows = [_row_label(i) for i in range(n_rows)]
    want_cols = [str(j + 1) for j in range(n_cols)]
    if list(df.index.str.upper()) != want_rows or [re.sub(r"\.0$", "", c) for c in df.columns] != want_cols:
        raise DataError(invalid_value("plate grid labels", f"rows {list(df.index)[:3]}..., columns {list(df.columns)[:3]}...",
                                      f"rows {want_rows[0]}..{want_rows[-1]} and columns 1..{n_cols}", where))
    df.index = want_rows
    df.columns = want_cols
    return df


def _normalise_well(w: object) -> str:
    m = re.fullmatch(r"\s*([A-Za-z]{1,2})\s*0*(\d{1,2})\s*", str(w))
    if not m:
        raise DataError(invalid_value("well", w, "a well name like 'A1' or 'P24'"))
    return f"{m.group(1).upper()}{int(m.group(2))}"


def _grid_in_rows(raw: list[list[str]]) -> pd.DataFrame | None:
    for i, row in enumerate(raw):
        cells = [re.sub(r"\.0$", "", c) for c in row if c != ""]
        if cells and not cells[0].isdigit():  # a label in the corner cell ("row", "<>", plate name)
            cells = cells[1:]
        for n_cols in (48, 24, 12):
            if cells != [str(j + 1) for j in range(n_cols)]:
                continue
            n_rows = PLATE_FORMATS[{12: 96, 24: 384, 48: 1536}[n_cols]][0]
            body = raw[i + 1:i + 1 + n_rows]
            labels = [_row_label(k) for k in range(n_rows)]
            if len(body) == n_rows and all(r and r[0].upper() == lab for r, lab in zip(body, labels)):
                vals = [(r[1:1 + n_cols] + [""] * n_cols)[:n_cols] for r in body]
                df = pd.DataFrame(vals, columns=[str(j + 1) for j in range(n_cols)])
                df.insert(0, "row", labels)
                return df.replace("", np.nan)
    return None


def _find_grid_in_file(path: str | os.PathLike) -> pd.DataFrame:
    """Locate a plate grid inside a reader export (metadata lines before/after are skipped).

    The grid is the first row whose cells (after an optional label cell) read ``1, 2, ..., N``
    for N = 12, 24 or 48, followed by rows labelled ``A, B, ...``.
    """
    import csv

    p = Path(path)
    if not p.is_file():
        raise DataError(invalid_value("plate file", str(path), "an existing readable file"))
    if p.suffix.lower() in (".xlsx", ".xls"):
        try:
            tables = [pd.read_excel(p, header=None, dtype=str).fillna("").to_numpy().tolist()]
        except Exception as exc:
            raise DataError(invalid_value("plate file", str(path), f"a readable Excel file ({str(exc)[:60]})")) from None
    else:
        try:
            lines = p.read_text(encoding="utf-8-sig").splitlines()
        except (UnicodeDecodeError, OSError):
            raise DataError(invalid_value("plate file", str(path), "a UTF-8 text (CSV/TSV) or Excel file")) from None
        tables = [list(csv.reader(lines, delimiter=d)) for d in (",", ";", "\t")]
    for raw in tables:
        grid = _grid_in_rows([[str(c).strip() for c in r] for r in raw])
        if grid is not None:
            return grid
    raise DataError(invalid_value("plate file", str(path), "a 96/384/1536-well grid: a header row 1..12 (24, 48) then rows A..H (P, AF)"))


def read_plate(readout: str | os.PathLike | pd.DataFrame, plate_map: str | os.PathLike | pd.DataFrame,
               *, response: str = "response") -> pd.DataFrame:
    """Combine a plate-reader grid with a tidy plate map into a tidy table.

    Parameters
    ----------
    readout
        A 96/384/1536-well grid: first column row letters (A, B, ...), header 1..12 (or 24, 48),
        cells the reading (e.g. luminescence, RLU). Empty cells are unread wells. In a file, the
        grid is found inside a reader export (metadata lines around it are skipped; comma,
        semicolon or tab delimited; or Excel).
    plate_map
        Tidy table with a ``well`` column (``A1``, ``B03``...) and any other columns
        (``concentration``, ``group``, ``replicate`` ...). Wells absent from the map are ignored
        (edge wells, blanks).
    response
        Name given to the readout column.

    Returns
    -------
    pandas.DataFrame
        One row per mapped well: ``well``, ``row``, ``column``, ``response`` + map columns.
    """
    grid_src = readout if isinstance(readout, pd.DataFrame) else _find_grid_in_file(readout)
    grid = _grid_from_frame(grid_src, "plate readout")
    pmap = plate_map.copy() if isinstance(plate_map, pd.DataFrame) else read_table(plate_map)
    require_columns(pmap, ["well"], "plate map")
    pmap["well"] = [_normalise_well(w) for w in pmap["well"]]
    if pmap["well"].duplicated().any():
        dup = pmap.loc[pmap["well"].duplicated(), "well"].iloc[0]
        raise DataError(invalid_value("well", dup, "each well once", "plate map"))
    long = grid.stack(future_stack=True).rename(response).reset_index()
    long.columns = ["row", "column", response]
    long["well"] = long["row"] + long["column"]
    long["column"] = long["column"].astype(int)
    unknown = sorted(set(pmap["well"]) - set(long["well"]))
    if unknown:
        raise DataError(invalid_value("well", unknown[0], f"a well of the {grid.size}-well plate", "plate map"))
    out = pmap.merge(long, on="well", how="left")
    out[response] = pd.to_numeric(out[response], errors="coerce")
    if out[response].isna().any():
        w = out.loc[out[response].isna(), "well"].iloc[0]
        raise DataError(invalid_value("reading", "(empty or non-numeric)", "a number for every mapped well", f"well {w}"))
    cols = ["well", "row", "column", response] + [c for c in pmap.columns if c != "well"]
    return out[cols]


# ---------------------------------------------------------------------------------------
# Writing results
# ---------------------------------------------------------------------------------------


def json_number(v) -> float | None:
    """``v`` as a JSON-safe float: ``None``, ``NaN`` and infinities become ``None`` (``null``)."""
    return float(v) if v is not None and np.isfinite(v) else None


def json_interval(ci: tuple[float, float], open_ends: tuple[bool, bool] = (False, False)) -> list:
    """A JSON-safe ``[lower, upper]``: open ends (no bound found) and non-finite ends are ``null``."""
    return [None if o else json_number(c) for c, o in zip(ci, open_ends)]
