"""NONMEM-style event datasets: read (and check) a dosing/observation record, write one back.

One row per event, as NONMEM, nlmixr2/rxode2, mrgsolve, Monolix and Pharmpy read them:

======  ===============================================================================
ID      subject; an ID's rows must be contiguous (NONMEM would treat a second block as
        another individual, a classic source of silent errors, so it is refused)
TIME    time of the event (``time_unit``, hours by default), >= 0, not decreasing in an ID
EVID    0 observation, 1 dose, 2 other (an output time), 3 reset, 4 reset and dose;
        absent: 1 where AMT > 0, else 0
AMT     amount (``amount_unit``, mg by default; ``ug/kg``-type units need a WT column)
CMT     dosing compartment: a dosable state name of the drug's model or its number
        (1-based, in ``Model.dosable`` order); absent or ``.``: the route's dosing state
RATE    zero-order input rate (amount unit per time unit); 0: bolus. -1/-2 (modelled
        rate or duration) are refused
II      interval of additional or steady-state doses; ADDL additional doses after this one
SS      1: steady state reached before this dose (prior state discarded); 2: steady
        state added to the current state (superposition; exact for linear PK only)
DV      observed value (kept with the prediction); MDV 1 marks it missing
BLQ     below the limit of quantification (0/1; ``CENS`` is read the same way)
======  ===============================================================================

Covariates (constant within an ID): ``WT`` (kg), ``SEX`` (1 male, 2 female) or ``FEMALE``
(0/1), ``EA``/``EAST_ASIAN`` (0/1), ``SPLEN``/``SPLENECTOMY`` (0/1), ``CORT``/
``CORTICOSTEROIDS`` (0/1), ``PLT0`` (drug-free platelet count, 10^9/L, ITP/aplastic) and
``PRIOR`` (earlier ITP treatment lines). Column names are case-insensitive; other columns are
carried along and ignored. ``.`` is NONMEM's empty value.

Every value is checked: a bad one is refused in one line that names the data row (1 = the
first row under the header) and the column.

References
----------
- Bauer RJ. NONMEM Users Guide, Part V (data records: EVID, AMT, RATE, II, ADDL, SS) and
  Part VI (PREDPP). ICON Development Solutions.
- Fidler M et al. 2019 CPT Pharmacometrics Syst Pharmacol 8:621 (rxode2/nlmixr event tables).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from .._headers import refuse_repeated_headers
from ..errors import DataError, invalid_value
from ..limits import MIN_INTERVAL_DAYS
from ..units import convert, dimension_of

__all__ = ["dose_in", "trial_dataset_frame", "DoseRecord", "SubjectRecord", "Dataset", "read_dataset", "dataset_frame", "COVARIATES"]

_NUMERIC = ("ID", "TIME", "EVID", "AMT", "RATE", "II", "ADDL", "SS", "DV", "MDV", "BLQ", "CENS")
#: covariate columns -> Subject field (aliases accepted)
COVARIATES = {"WT": "weight_kg", "SEX": "female", "FEMALE": "female", "EA": "east_asian", "EAST_ASIAN": "east_asian",
              "SPLEN": "splenectomy", "SPLENECTOMY": "splenectomy", "CORT": "corticosteroids", "CORTICOSTEROIDS": "corticosteroids",
              "PLT0": "baseline_platelets", "PRIOR": "prior_therapies"}
_FLAGS = {"female", "east_asian", "splenectomy", "corticosteroids"}


@dataclass(frozen=True, slots=True)
class DoseRecord:
    """One dosing row, in model units (day, ug; rate ug/day)."""

    row: int
    time: float
    amount: float
    cmt: str | None  # dosable state, or None: the route's dosing state
    rate: float = 0.0
    ii: float = 0.0
    addl: int = 0
    ss: int = 0
    reset: bool = False  # EVID 4: reset before the dose
    amount_as_given: float = 0.0  # AMT in the dataset's amount unit (for the dose ledger)
    rate_as_given: float = 0.0  # RATE as in the dataset (amount unit per time unit)


@dataclass(frozen=True, slots=True)
class SubjectRecord:
    """One ID: its doses, resets, output times and observations (model time unit: day)."""

    id: Any
    covariates: dict = field(default_factory=dict)  # Subject field -> value
    doses: tuple[DoseRecord, ...] = ()
    resets: tuple[float, ...] = ()  # EVID 3 times
    times: tuple[float, ...] = ()  # every record time (output times)
    observations: tuple[dict, ...] = ()  # EVID 0 rows: {row, time_days, dv, mdv, blq}


@dataclass(frozen=True, slots=True)
class Dataset:
    """A checked event dataset: subjects in file order and the units it was read with."""

    subjects: tuple[SubjectRecord, ...]
    time_unit: str = "h"
    amount_unit: str = "mg"
    source: str = ""


def _where(row: int, col: str) -> str:
    return f"data row {row}, column {col}"


def _number(raw: Any, row: int, col: str, *, lo: float = -math.inf, integer: bool = False, allowed: str = "a number") -> float | None:
    """A cell as a float (None if empty or '.'); text, NaN, infinities and out-of-range values refused."""
    if raw is None or (isinstance(raw, float) and math.isnan(raw)):
        return None
    text = str(raw).strip()
    if text in ("", "."):
        return None
    try:
        v = float(text)
    except ValueError:
        raise DataError(invalid_value(_where(row, col), text, allowed)) from None
    if not math.isfinite(v) or v < lo or (integer and v != int(v)):
        raise DataError(invalid_value(_where(row, col), text, allowed))
    return v


def _check_units(time_unit: str, amount_unit: str) -> tuple[float, bool]:
    """(days per time unit, amount is per body weight)."""
    from ..errors import UnitError

    try:
        days = convert(1.0, time_unit, "day", "--time-unit")
    except (UnitError, Exception):
        raise DataError(invalid_value("--time-unit", time_unit, "a time unit (h, min, day, week)")) from None
    try:
        dim = dimension_of(amount_unit)
    except Exception:  # noqa: BLE001 - pint raises several types for unknown units
        raise DataError(invalid_value("--amount-unit", amount_unit, "a mass (mg, ug) or mass per body weight (ug/kg)")) from None
    if dim not in (dimension_of("ug"), dimension_of("ug/kg")):
        raise DataError(invalid_value("--amount-unit", amount_unit, "a mass (mg, ug) or mass per body weight (ug/kg)"))
    return days, dim == dimension_of("ug/kg")


def _read_frame(source, field: str):
    import pandas as pd

    if isinstance(source, pd.DataFrame):
        refuse_repeated_headers(source.columns, "data frame", fold_case=True)  # columns are looked up case-insensitively
        return source.copy(), "data frame"
    path = str(source)
    try:
        frame = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True)
        header = pd.read_csv(path, dtype=str, keep_default_na=False, skipinitialspace=True, header=None, nrows=1)
    except FileNotFoundError:
        raise DataError(invalid_value(field, path, "an existing CSV file")) from None
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
        raise DataError(invalid_value(field, path, f"a comma-separated table with a header row ({type(e).__name__})")) from None
    refuse_repeated_headers(header.iloc[0].tolist(), path, fold_case=True)  # pandas renamed a second DV to DV.1
    return frame, path


def read_dataset(source, *, dosable: tuple[str, ...], route_state: str | None, time_unit: str = "h", amount_unit: str = "mg",
                 field: str = "--data") -> Dataset:
    """Read and check a NONMEM-style dataset.

    Parameters
    ----------
    source : str or pandas.DataFrame
        CSV path (header row; ``.`` for empty) or a data frame.
    dosable : tuple of str
        The model's dosable states (``Model.dosable``): CMT names or 1-based numbers.
    route_state : str, optional
        The route's dosing state (CMT absent/empty means it).
    time_unit, amount_unit : str
        Units of TIME (and II) and of AMT (RATE is AMT per TIME unit).
    field : str
        How the file is named in messages (the command-line option or argument).

    Raises
    ------
    DataError
        One line naming the data row and column of the first bad value.
    """
    day_per_t, per_kg = _check_units(time_unit, amount_unit)
    frame, path = _read_frame(source, field)
    cols = {str(c).strip().upper(): c for c in frame.columns}
    for need in ("ID", "TIME"):
        if need not in cols:
            raise DataError(invalid_value("dataset columns", sorted(cols), f"a header with at least ID and TIME (and AMT for doses; {need} is missing)"))
    if len(frame) == 0:
        raise DataError(invalid_value("dataset", "no rows", "at least one data row"))
    if per_kg and "WT" not in cols:
        raise DataError(invalid_value("--amount-unit", amount_unit, "a mass unit (mg, ug), or add a WT column for per-kg amounts"))
    ug_per_amt = convert(1.0, amount_unit, "ug/kg" if per_kg else "ug")

    def cell(r: int, name: str):
        return frame.iat[r, frame.columns.get_loc(cols[name])] if name in cols else None

    subjects: list[SubjectRecord] = []
    seen: dict[str, int] = {}
    current: dict | None = None
    for r in range(len(frame)):
        row = r + 1
        raw_id = str(cell(r, "ID")).strip()
        if raw_id in ("", "."):
            raise DataError(invalid_value(_where(row, "ID"), raw_id, "a subject identifier"))
        if current is None or raw_id != current["id"]:
            if raw_id in seen:
                raise DataError(invalid_value(_where(row, "ID"), raw_id, f"contiguous rows per ID (ID {raw_id} already ended at data row {seen[raw_id]})"))
            if current is not None:
                subjects.append(_finish(current))
            current = {"id": raw_id, "cov": {}, "doses": [], "resets": [], "times": [], "obs": [], "last_t": -math.inf}
        seen[raw_id] = row
        t = _number(cell(r, "TIME"), row, "TIME", lo=0.0, allowed="a time >= 0")
        if t is None:
            raise DataError(invalid_value(_where(row, "TIME"), "empty", "a time >= 0"))
        if t < current["last_t"]:
            raise DataError(invalid_value(_where(row, "TIME"), f"{t:g}", f"times that do not decrease within ID {raw_id} (previous {current['last_t']:g})"))
        current["last_t"] = t
        t_day = t * day_per_t
        amt = _number(cell(r, "AMT"), row, "AMT", lo=0.0, allowed="an amount >= 0") or 0.0
        evid = _number(cell(r, "EVID"), row, "EVID", lo=0.0, integer=True, allowed="0, 1, 2, 3 or 4")
        evid = int(evid) if evid is not None else (1 if amt > 0 else 0)
        if evid > 4:
            raise DataError(invalid_value(_where(row, "EVID"), evid, "0, 1, 2, 3 or 4"))
        _covariates(current, r, row, cell, cols)
        current["times"].append(t_day)
        if evid == 3:
            current["resets"].append(t_day)
        elif evid in (1, 4):
            current["doses"].append(_dose(row, t_day, amt, evid, cell, r, cols, dosable, route_state, day_per_t, ug_per_amt, per_kg, current))
        elif evid == 0:
            dv = _number(cell(r, "DV"), row, "DV", allowed="a number or '.'")
            mdv = _number(cell(r, "MDV"), row, "MDV", lo=0.0, integer=True, allowed="0 or 1")
            blq = _number(cell(r, "BLQ"), row, "BLQ", lo=0.0, integer=True, allowed="0 or 1")
            if blq is None:
                blq = _number(cell(r, "CENS"), row, "CENS", lo=-1.0, integer=True, allowed="-1, 0 or 1")
            if (mdv or 0) > 1:
                raise DataError(invalid_value(_where(row, "MDV"), mdv, "0 or 1"))
            current["obs"].append({"row": row, "time_days": t_day, "dv": dv, "mdv": int(mdv if mdv is not None else (dv is None)),
                                   "blq": int(blq or 0)})
    subjects.append(_finish(current))
    return Dataset(subjects=tuple(subjects), time_unit=time_unit, amount_unit=amount_unit, source=path)


def _dose(row, t_day, amt, evid, cell, r, cols, dosable, route_state, day_per_t, ug_per_amt, per_kg, current) -> DoseRecord:
    cmt = _cmt(cell(r, "CMT"), row, dosable)
    rate = _number(cell(r, "RATE"), row, "RATE", allowed="a rate > 0, or 0 for a bolus") or 0.0
    if rate < 0:
        raise DataError(invalid_value(_where(row, "RATE"), f"{rate:g}", "a rate > 0 or 0 (RATE -1/-2, modelled rate or duration, is not supported)"))
    ii = _number(cell(r, "II"), row, "II", lo=0.0, allowed="an interval >= 0") or 0.0
    addl = int(_number(cell(r, "ADDL"), row, "ADDL", lo=0.0, integer=True, allowed="a whole number >= 0") or 0)
    ss = int(_number(cell(r, "SS"), row, "SS", lo=0.0, integer=True, allowed="0, 1 or 2") or 0)
    if ss > 2:
        raise DataError(invalid_value(_where(row, "SS"), ss, "0, 1 or 2"))
    if addl > 0 and ii <= 0:
        raise DataError(invalid_value(_where(row, "II"), f"{ii:g}", "an interval > 0 when ADDL > 0"))
    if 0 < ii * day_per_t < MIN_INTERVAL_DAYS - 1e-12:  # as --every and a trial's every:
        raise DataError(invalid_value(_where(row, "II"), f"{ii:g}", "an interval >= 1 hour (or 0: none)"))
    if ss and ii <= 0 and not (rate > 0 and amt == 0):
        raise DataError(invalid_value(_where(row, "II"), f"{ii:g}", "an interval > 0 for a steady-state dose (or AMT 0 with RATE > 0: a constant infusion)"))
    if amt <= 0 and not (ss and rate > 0):
        raise DataError(invalid_value(_where(row, "AMT"), f"{amt:g}", "an amount > 0 on a dose row (EVID 1/4)"))
    if rate > 0 and cmt is None and route_state is None:
        raise DataError(invalid_value(_where(row, "CMT"), "empty", f"a compartment for an infusion: one of {list(dosable)}"))
    scale = ug_per_amt * (current["cov"].get("weight_kg", 70.0) if per_kg else 1.0)
    if per_kg and "weight_kg" not in current["cov"]:
        raise DataError(invalid_value(_where(row, "WT"), "empty", "a body weight (kg) for a per-kg amount"))
    return DoseRecord(row=row, time=t_day, amount=amt * scale, cmt=cmt, rate=rate * scale / day_per_t, ii=ii * day_per_t, addl=addl, ss=ss,
                      reset=evid == 4, amount_as_given=amt, rate_as_given=rate)


def _cmt(raw, row: int, dosable: tuple[str, ...]) -> str | None:
    """CMT as a dosable state name (names or 1-based numbers in ``dosable`` order); None when empty."""
    if raw is None:
        return None
    text = str(raw).strip()
    if text in ("", "."):
        return None
    allowed = ", ".join(f"{i + 1}={s}" for i, s in enumerate(dosable))
    for s in dosable:
        if text.upper() == s.upper():
            return s
    try:
        k = float(text)
    except ValueError:
        raise DataError(invalid_value(_where(row, "CMT"), text, f"a dosable compartment ({allowed})")) from None
    if k != int(k) or not 1 <= int(k) <= len(dosable):
        raise DataError(invalid_value(_where(row, "CMT"), text, f"a dosable compartment ({allowed})"))
    return dosable[int(k) - 1]


def _covariates(current: dict, r: int, row: int, cell, cols) -> None:
    """Read the row's covariates; they must not change within an ID."""
    for col, fieldname in COVARIATES.items():
        if col not in cols:
            continue
        v = _number(cell(r, col), row, col, lo=0.0, allowed=_ALLOWED[fieldname])
        if v is None:
            continue
        if fieldname == "female" and col == "SEX":
            if v not in (1.0, 2.0):
                raise DataError(invalid_value(_where(row, col), f"{v:g}", "1 (male) or 2 (female)"))
            v = v == 2.0
        elif fieldname in _FLAGS:
            if v not in (0.0, 1.0):
                raise DataError(invalid_value(_where(row, col), f"{v:g}", "0 or 1"))
            v = v == 1.0
        elif fieldname == "prior_therapies":
            if v != int(v):
                raise DataError(invalid_value(_where(row, col), f"{v:g}", _ALLOWED[fieldname]))
            v = int(v)
        old = current["cov"].get(fieldname)
        if old is not None and old != v:
            raise DataError(invalid_value(_where(row, col), f"{v:g}" if not isinstance(v, bool) else int(v),
                                          f"the same value on every row of ID {current['id']} (time-varying covariates are not supported)"))
        current["cov"][fieldname] = v


_ALLOWED = {"weight_kg": "a body weight in kg", "female": "0 or 1", "east_asian": "0 or 1", "splenectomy": "0 or 1",
            "corticosteroids": "0 or 1", "baseline_platelets": "a platelet count (10^9/L)", "prior_therapies": "a whole number of earlier lines"}


def _finish(d: dict) -> SubjectRecord:
    try:
        key: Any = int(d["id"]) if float(d["id"]) == int(float(d["id"])) else d["id"]
    except ValueError:
        key = d["id"]
    return SubjectRecord(id=key, covariates=dict(d["cov"]), doses=tuple(d["doses"]), resets=tuple(d["resets"]),
                         times=tuple(d["times"]), observations=tuple(d["obs"]))


# ------------------------------------------------------------------------------------------------ writing
def dataset_frame(results: dict, *, time_unit: str = "h", amount_unit: str = "mg", observations: dict | None = None,
                  records: dict | None = None):
    """A NONMEM-style frame of simulated subjects: doses as EVID 1 rows and predictions at
    every output time as EVID 0 rows (re-readable by :func:`read_dataset`).

    Parameters
    ----------
    results : dict
        ID -> :class:`~moasim.simulation.SimulationResult`.
    time_unit, amount_unit : str
        Units of TIME/II and AMT/RATE in the written frame.
    observations : dict, optional
        ID -> {time_days: DV} of observed values to write in DV (else DV is the predicted platelet count).
    records : dict, optional
        ID -> :class:`SubjectRecord` whose dose and reset rows are written as they were read
        (CMT, RATE, II, ADDL, SS kept; amounts in the record's own units, so ``time_unit`` and
        ``amount_unit`` must be the record's). Without it, the administered doses of each
        result's ledger (after titration) are written, one row each, into the route's state.

    Columns: ID, TIME, EVID, AMT, CMT, RATE, II, ADDL, SS, MDV, DV (platelets, observed where
    given, else predicted), PRED_PLT, PRED_TPO, PRED_CONC (10^9/L, pg/mL, ng/mL), WT.
    """
    import pandas as pd

    per_t = convert(1.0, "day", time_unit)
    cols = ["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "MDV", "DV", "PRED_PLT", "PRED_TPO", "PRED_CONC", "WT"]
    rows = []
    for sid, res in results.items():
        obs = (observations or {}).get(sid, {})
        wt = res.subject.weight_kg
        blank = {"DV": ".", "PRED_PLT": ".", "PRED_TPO": ".", "PRED_CONC": ".", "WT": wt, "MDV": 1}
        rec = (records or {}).get(sid)
        if rec is not None:
            for t in rec.resets:
                rows.append({"ID": sid, "TIME": t * per_t, "EVID": 3, "AMT": 0.0, "CMT": ".", "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0, **blank})
            for d in rec.doses:
                rows.append({"ID": sid, "TIME": d.time * per_t, "EVID": 4 if d.reset else 1, "AMT": d.amount_as_given,
                             "CMT": res.model.dosable.index(d.cmt) + 1 if d.cmt else ".",  # numeric, as NONMEM reads it
                             "RATE": d.rate_as_given, "II": d.ii * per_t, "ADDL": d.addl, "SS": d.ss, **blank})
        else:
            for t, _drug, amount, unit in res.doses:
                rows.append({"ID": sid, "TIME": t * per_t, "EVID": 1, "AMT": dose_in(amount, unit, wt, amount_unit), "CMT": ".", "RATE": 0.0,
                             "II": 0.0, "ADDL": 0, "SS": 0, **blank})
        conc = res.outputs.get("drug_concentration")
        for i, t in enumerate(np.asarray(res.time)):
            plt = float(res.outputs["platelets"][i])
            rows.append({"ID": sid, "TIME": float(t) * per_t, "EVID": 0, "AMT": 0.0, "CMT": ".", "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0,
                         "MDV": 0, "DV": obs.get(float(t), plt), "PRED_PLT": plt, "PRED_TPO": float(res.outputs["tpo"][i]),
                         "PRED_CONC": float(conc[i]) if conc is not None else 0.0, "WT": wt})
    return _sorted(pd.DataFrame(rows, columns=cols))


def _sorted(frame):
    """By ID and time; at a dose time the observation row comes first (a pre-dose sample, as moasim computes it)."""
    frame["_o"] = (frame["EVID"] != 0).astype(int)
    return frame.sort_values(["ID", "TIME", "_o"], kind="stable").drop(columns="_o").reset_index(drop=True)


def dose_in(amount: float, unit: str, weight_kg: float, amount_unit: str) -> float:
    """A prescribed dose (``amount`` ``unit``, per kg or not) as an amount in ``amount_unit`` for a
    subject of ``weight_kg`` (a per-kg amount unit keeps a per-kg dose per kg)."""
    if dimension_of(unit) == dimension_of("ug/kg") and dimension_of(amount_unit) != dimension_of("ug/kg"):
        amount, unit = amount * weight_kg, unit.split("/")[0]
    return float(convert(amount, unit, amount_unit))


def trial_dataset_frame(table, visit_times, *, time_unit: str = "h"):
    """A NONMEM-style frame of one ITP trial arm from its shard table (:data:`moasim.trials._itp.ITP_COLUMNS`):
    per subject the administered doses (after titration) as EVID 1 rows into the route's dosing
    state (CMT left to the route; AMT in mg), rescue therapy as EVID 2 rows (RESCUE 1), and every visit as an
    EVID 0 row with DV the measured count (MDV 1 where rescue made it non-evaluable), PRED_PLT the
    true count, PRED_TPO, PRED_CONC; covariates WT, SEX (1/2), EA, SPLEN, CORT, PRIOR, PLT0 (the
    drug-free count of the subject's model: re-read, the subject is rebuilt at it); REP and
    SUBJ name the replicate and subject. IDs number the subjects 1.. in table order.
    """
    import pandas as pd

    per_t = convert(1.0, "day", time_unit)
    cols = ["ID", "TIME", "EVID", "AMT", "CMT", "RATE", "II", "ADDL", "SS", "MDV", "DV", "PRED_PLT", "PRED_TPO", "PRED_CONC", "RESCUE",
            "WT", "SEX", "EA", "SPLEN", "CORT", "PRIOR", "PLT0", "REP", "SUBJ"]
    visit_times = np.asarray(visit_times, float)
    data = table.to_pydict()
    rows = []
    for k in range(table.num_rows):
        sid, wt = k + 1, float(data["weight_kg"][k])
        base = {"ID": sid, "AMT": 0.0, "CMT": ".", "RATE": 0.0, "II": 0.0, "ADDL": 0, "SS": 0, "RESCUE": 0, "WT": wt,
                "SEX": 2 if data["female"][k] else 1, "EA": int(data["east_asian"][k]), "SPLEN": int(data["splenectomy"][k]),
                "CORT": int(data["corticosteroids"][k]), "PRIOR": int(data["prior_therapies"][k]),
                "PLT0": float(data["plt0"][k]), "REP": int(data["replicate"][k]),
                "SUBJ": int(data["subject"][k])}
        blank = {"MDV": 1, "DV": ".", "PRED_PLT": ".", "PRED_TPO": ".", "PRED_CONC": "."}
        for t, mg in zip(data["dose_times"][k], data["dose_mg"][k]):
            rows.append({**base, **blank, "TIME": t * per_t, "EVID": 1, "AMT": mg})
        for t in data["rescue_times"][k]:
            rows.append({**base, **blank, "TIME": t * per_t, "EVID": 2, "RESCUE": 1})
        for j, t in enumerate(visit_times):
            dv = data["visits"][k][j]
            ok = dv is not None and math.isfinite(dv)
            rows.append({**base, "TIME": t * per_t, "EVID": 0, "MDV": 0 if ok else 1, "DV": dv if ok else ".",
                         "PRED_PLT": data["visit_plt"][k][j], "PRED_TPO": data["visit_tpo"][k][j], "PRED_CONC": data["visit_conc"][k][j]})
    return _sorted(pd.DataFrame(rows, columns=cols))
