"""Per-cell checks for what the database enforces: text length, control characters, MRN shape, look-alike MRNs.

Each check runs once per distinct value and returns one bool per distinct value; the readers turn the
failures into problems on their own lines, so no single cell can lose a file at the database.
"""

from __future__ import annotations

import unicodedata

import numpy as np
import pandas as pd

from lenadash.ingest.coded import Coded
from lenadash.ingest.problems import Problems, cat
from lenadash.vocab.frames import MAX_LENGTH, field_words

# C0 control characters, DEL and C1 (NUL included: PostgreSQL refuses it). Tab is allowed in any cell
# but an MRN; newline and carriage return only in free text (a quoted comment may span lines).
CONTROL = r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]"
STRICT_CONTROL = r"[\x00-\x08\x0a-\x1f\x7f-\x9f]"
MRN_CONTROL = r"[\x00-\x1f\x7f-\x9f]"
# A spreadsheet reads a cell starting with one of these as a formula; markup characters and quotes
# have no place in an identifier and are how injected text would reach a page or an export.
FORMULA_START = ("=", "+", "-", "@")
MARKUP = r"[<>\"'`]"
# Characters that do not show: zero-width space/joiners, word joiner, BOM, soft hyphen, direction marks.
_INVISIBLE = r"[\u00ad\u180e\u200b-\u200f\u202a-\u202e\u2060-\u2064\ufeff\s]"


def too_long(uniques: pd.Series, max_length: int) -> np.ndarray:
    """Per distinct value: longer than the database stores."""
    return (uniques.str.len() > max_length).to_numpy(dtype=bool)


def has_control(uniques: pd.Series, *, mrn: bool = False, free_text: bool = True) -> np.ndarray:
    """Per distinct value: holds a control character (NUL, ESC, DEL, C1; newlines outside free text)."""
    pattern = MRN_CONTROL if mrn else CONTROL if free_text else STRICT_CONTROL
    return uniques.str.contains(pattern, regex=True).to_numpy(dtype=bool)


def unsafe_mrn_messages(uniques: pd.Series) -> np.ndarray:
    """Per distinct MRN: what makes it unsafe, naming the character (never the MRN), or "" when it is safe."""
    first = uniques.str[:1]
    markup = uniques.str.extract(f"({MARKUP})", expand=False).fillna("")
    return np.where(
        first.isin(FORMULA_START).to_numpy(dtype=bool),
        "The MRN starts with '"
        + first.to_numpy(dtype=object)
        + "', which a spreadsheet runs as a formula; not imported.",
        np.where(
            markup.to_numpy(dtype=object) != "",
            "The MRN holds "
            + markup.map(lambda c: _CHARACTER_WORDS.get(c, "")).to_numpy(dtype=object)
            + ", a markup or quoting character "
            "no identifier needs; not imported.",
            "",
        ),
    ).astype(object)


_CHARACTER_WORDS = {"<": "'<'", ">": "'>'", '"': "a double quote", "'": "a single quote", "`": "a backtick"}


def look_alikes(uniques: pd.Series) -> np.ndarray:
    """Per distinct MRN: the index of the first distinct MRN it looks like, or -1 (itself first, or alone).

    Two MRNs look alike when they differ only by case, full-width forms or invisible characters
    (zero-width space, NBSP); the MRN is kept as written, so the two stay two patients.
    """
    keys = pd.Series(
        [unicodedata.normalize("NFKC", u) for u in uniques.to_numpy(dtype=object)], dtype="str"
    ).str.replace(_INVISIBLE, "", regex=True)
    keys = keys.str.casefold()
    codes, _ = pd.factorize(keys)
    first = pd.Series(np.arange(len(codes))).groupby(codes).transform("min").to_numpy()
    out = np.where(first == np.arange(len(codes)), -1, first)
    return np.where(uniques.to_numpy(dtype=object) == "", -1, out)


def reject_bad_text(
    coded: Coded,
    *,
    field: str,
    lines: np.ndarray,
    column,
    problems: Problems,
    stored_as: str = "",
    words: str = "",
    free_text: bool = False,
) -> np.ndarray:
    """Report and return the rows whose cell the database cannot store or no reader should parse (too long,
    control characters, for the MRN also a formula or markup shape). Runs before any parse of the cell, so a
    result `1.2<ESC>[31m` is a control character, not a non-numeric result. `column(mask)` names the file
    column of the masked rows; `stored_as` is the stored field whose length applies when it is not `field`
    (a lab's value is raw_value; a field the database does not store as text has no length limit);
    `words` names the cell in messages (default: the field's words); a `free_text` cell (a name, a note)
    may hold line breaks.

    Messages say what is wrong, never the cell itself (it may be a name); `value` keeps it for the table.
    """
    words = "MRN" if field == "mrn" else words or f"{field_words(field)} cell"
    mrn = field == "mrn"
    limit = MAX_LENGTH.get(stored_as or field)
    checks: list[tuple[np.ndarray, str, str | np.ndarray, str]] = []
    if limit is not None:
        checks.append(
            (
                too_long(coded.uniques, limit),
                "text too long",
                f"The {words} is longer than the {limit} characters the database stores; not imported.",
                f"Shorten the {words} to at most {limit} characters, or check that the column is the {words}.",
            )
        )
    checks.append(
        (
            has_control(coded.uniques, mrn=mrn, free_text=free_text),
            "control character",
            f"The {words} holds a control character (such as NUL or ESC"
            + ("" if free_text else ", or a line break")
            + "); not imported.",
            "Remove the control character in the source system and export the file again.",
        )
    )
    if mrn:
        why = unsafe_mrn_messages(coded.uniques)
        checks.append(
            (
                why != "",
                "unsafe MRN",
                why,
                "Correct the MRN in the source system (an MRN is letters and digits, maybe with inner dashes, "
                "dots or slashes); a spreadsheet would run it as a formula, a page could show it as markup.",
            )
        )
    bad = np.zeros(len(coded), dtype=bool)
    for per_unique, reason, message, hint in checks:
        fail = coded.where(per_unique) & ~bad  # one problem per cell: the first that applies
        if fail.any():
            problems.add(
                line=lines[fail],
                column=column(fail),
                value=coded.rows(fail),
                reason=reason,
                message=coded.take(message)[fail] if isinstance(message, np.ndarray) else message,
                hint=hint,
            )
            bad |= fail
    return bad


def warn_look_alikes(mrn: Coded, *, lines: np.ndarray, column: str, problems: Problems) -> None:
    """A warning on each row whose MRN differs from an earlier one only by case, width or invisible characters."""
    target = look_alikes(mrn.uniques)
    if not (target >= 0).any():
        return
    first_line = np.full(len(mrn.uniques), np.iinfo(np.int64).max, dtype=np.int64)
    np.minimum.at(first_line, mrn.codes, lines.astype(np.int64))
    row_target = mrn.take(target)
    hit = row_target >= 0
    problems.add(
        line=lines[hit],
        column=column,
        value=mrn.rows(hit),
        reason="look-alike MRN",
        message=cat(
            "The MRN differs from the MRN on line ",
            first_line[row_target[hit]],
            " only by case, full-width characters or invisible characters; imported as written, as another patient.",
        ),
        hint="Check both lines: if they are one patient, correct the MRN in the source system.",
        severity="warning",
    )
