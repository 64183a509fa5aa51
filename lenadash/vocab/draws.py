"""One result written twice: the same draw timed in one export and date-only in another (HL7 vs a wide CSV).

The rule (docs/import.md "The same result from two formats"): two results of the same patient and test on
the same calendar date, one timed and one at 00:00 (a date without a time), with the same value and the same
comparator, are one result. Different values on that date stay two results (a second draw that day, or a
correction the lab sent with another time: the clinician sees both). A result really drawn at 00:00 is
indistinguishable from a date-only one; the rule treats it as date-only.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SAME_RESULT_COLUMNS = ("collected_at", "value", "comparator")


def written_twice(new: pd.DataFrame, old: pd.DataFrame, key: list[str]) -> np.ndarray:
    """Per row of `new`: True when a row of `old` is the same result with the other precision (timed vs
    date-only). Both frames have the `key` columns (patient and test) and SAME_RESULT_COLUMNS."""
    if len(new) == 0 or len(old) == 0:
        return np.zeros(len(new), dtype=bool)
    cols = [*key, "value", "comparator", "_day"]
    left = _with_day(new, key).assign(_row=np.arange(len(new)))
    right = _with_day(old, key).drop_duplicates(subset=[*cols, "_date_only"])
    pairs = left.merge(right, on=cols, how="inner", suffixes=("", "_old"))
    pairs = pairs[pairs["_date_only"] != pairs["_date_only_old"]]
    mask = np.zeros(len(new), dtype=bool)
    mask[pairs["_row"].to_numpy(dtype=np.int64)] = True
    return mask


def _with_day(frame: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    when = pd.to_datetime(frame["collected_at"])
    out = frame[key].copy()
    out["value"] = pd.to_numeric(frame["value"]).round(9).to_numpy()
    out["comparator"] = frame["comparator"].fillna("").astype("str").to_numpy()
    out["_day"] = when.dt.normalize().to_numpy()
    out["_date_only"] = (when == when.dt.normalize()).to_numpy()
    return out.reset_index(drop=True)


def drop_written_twice(labs: pd.DataFrame, key: list[str]) -> pd.DataFrame:
    """`labs` from several files read together (assess --labs): a result in two of them (the same time,
    value and comparator) is kept once, and a date-only row that is also there as a timed row is dropped
    (the timed one says more)."""
    labs = labs[~labs.duplicated(subset=[*key, *SAME_RESULT_COLUMNS], keep="first")].reset_index(drop=True)
    date_only = (labs["collected_at"] == labs["collected_at"].dt.normalize()).to_numpy()
    if not date_only.any() or date_only.all():
        return labs
    twice = written_twice(labs[date_only], labs[~date_only], key)
    drop = np.zeros(len(labs), dtype=bool)
    drop[np.flatnonzero(date_only)[twice]] = True
    return labs[~drop].reset_index(drop=True)
