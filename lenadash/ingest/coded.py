"""The coded column: a text column as integer codes into its distinct values, so Python work runs once per value."""

from __future__ import annotations

import numpy as np
import pandas as pd


class Coded:
    """A text column as integer codes into its distinct (stripped) values.

    Lab exports repeat a few distinct names, units, dates and values over many rows, so all Python
    work runs once per distinct value and is broadcast back with a numpy take.
    """

    __slots__ = ("codes", "uniques")

    def __init__(self, codes: np.ndarray, uniques: pd.Series):
        self.codes = codes
        self.uniques = uniques

    @classmethod
    def of(cls, s: pd.Series | np.ndarray) -> Coded:
        codes, uniq = pd.factorize(s, use_na_sentinel=False)
        text = pd.Series(np.asarray(uniq, dtype=object), dtype="str").fillna("").str.strip()
        return cls(np.asarray(codes, dtype=np.intp), text.reset_index(drop=True))

    @classmethod
    def constant(cls, n: int, text: str = "") -> Coded:
        return cls(np.zeros(n, dtype=np.intp), pd.Series([text], dtype="str"))

    def __len__(self) -> int:
        return len(self.codes)

    def take(self, per_unique) -> np.ndarray:
        """Broadcast an array with one entry per distinct value to one entry per row."""
        arr = np.asarray(per_unique)
        return arr[self.codes] if len(self.codes) else arr[:0]

    def where(self, predicate: pd.Series | np.ndarray) -> np.ndarray:
        return self.take(np.asarray(predicate, dtype=bool))

    def rows(self, mask) -> np.ndarray:
        """The (stripped) text of the selected rows, for problem reports."""
        return self.uniques.to_numpy(dtype=object)[self.codes[mask]]

    def column(self, mask, *, blank_as_na: bool = False) -> pd.Series:
        """The selected rows as a `str` Series (Arrow take: no Python object per row)."""
        uniq = self.uniques
        if blank_as_na:
            uniq = uniq.where(uniq != "")
        return pd.Series(uniq.array.take(self.codes[mask]), dtype="str")

    @property
    def blank(self) -> np.ndarray:
        return self.where(self.uniques == "")

    def select(self, keep: np.ndarray) -> Coded:
        """The same column restricted to the kept rows (the distinct values are shared)."""
        return Coded(self.codes[keep], self.uniques)
