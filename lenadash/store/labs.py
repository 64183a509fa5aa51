"""Lab results: a lab file's results saved (corrections kept as history, bare patients for new MRNs), loaded."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
from sqlmodel import Session

from lenadash.errors import StoreError
from lenadash.store.models import LabResult
from lenadash.store.sql import (
    IN_CHUNK,
    chunks,
    clean_text,
    column_lengths,
    committing,
    datetime_params,
    fetch_frame,
    insert_chunk,
    placeholder,
    table_of,
    to_datetime,
)
from lenadash.store.uploads import ImportSummary, finished, start_upload
from lenadash.vocab.draws import written_twice
from lenadash.vocab.frames import LAB_COLUMNS

# Rows per batch (one COPY, or one executemany of multi-row INSERTs); small enough to keep memory flat.
CHUNK_SIZE = 50_000
# Rows per multi-row INSERT statement (SQLite): one statement step per 100 results instead of one per
# result; `rows_per_insert` lowers it below the connection's bound-value limit.
ROWS_PER_INSERT = 100
_CSV_OPTIONS = pa_csv.WriteOptions(include_header=False, quoting_style="all_valid")


def save_labs(*, session: Session, file_name: str, data: bytes, lab_import) -> ImportSummary:
    """Store one lab file's accepted results (`lab_import` from ingest.read_labs) in one transaction.

    `data` is the file's raw bytes (their SHA-256 tells a file imported before).
    - The same file again (same SHA-256) writes nothing: `already_imported=True`.
    - Per result, the key is patient + analyte + collected_at. The same value (and comparator) as the
      current stored one is `unchanged`; a different value becomes current and the older row is kept
      with `superseded_by_id` pointing at it (a correction). Within one file the later line wins and
      earlier differing lines are kept as superseded history.
    - An MRN without a patient record gets a bare patient (MRN only), counted in `patients_created`.
    - Commits on success; on any error rolls back everything and re-raises.
    """
    results = lab_import.results
    started = start_upload(
        session, kind="labs", file_name=file_name, data=data, parsed=lab_import, accepted=len(results)
    )
    if started.already:
        return started.already
    upload = started.upload
    with committing(session):
        (imported, superseding, unchanged), patients_created = _write_labs(
            session.connection(), results, started.upload_id
        )
        upload.rows_imported, upload.rows_superseding, upload.rows_unchanged = imported, superseding, unchanged
        session.add(upload)
    return finished(
        started,
        file_name=file_name,
        rows_imported=imported,
        rows_superseding=superseding,
        rows_unchanged=unchanged,
        patients_created=patients_created,
    )


def _lab_frame(results: pd.DataFrame) -> pd.DataFrame:
    missing = [c for c in ("mrn", "collected_at", "analyte", "value", "unit") if c not in results.columns]
    if missing:
        raise StoreError(f"lab results lack the column(s) {missing}; pass ingest.read_labs(...) output")
    df = pd.DataFrame(
        {
            "mrn": results["mrn"].astype("str"),
            "collected_at": pd.to_datetime(results["collected_at"]).astype("datetime64[us]"),
            "analyte": results["analyte"].astype("str"),
            "value": pd.to_numeric(results["value"]).astype("float64"),
            "unit": results["unit"].astype("str"),
        }
    )
    comparator = results["comparator"] if "comparator" in results.columns else pd.Series("", index=results.index)
    df["comparator"] = comparator.astype("str").fillna("").replace("nan", "")
    for name in ("raw_value", "raw_unit", "raw_name"):
        df[name] = results[name].astype("str").fillna("") if name in results.columns else ""
    for name in ("loinc", "flag", "status"):
        df[name] = results[name] if name in results.columns else None
    for name in ("ref_low", "ref_high"):
        df[name] = pd.to_numeric(results[name]) if name in results.columns else np.nan
    df["source_line"] = results["line"] if "line" in results.columns else None
    if df["mrn"].isna().any() or (df["mrn"].str.strip() == "").any():
        raise StoreError("lab results have rows without an MRN; ingest should reject them (reason 'missing patient')")
    if df["collected_at"].isna().any() or df["value"].isna().any():
        raise StoreError("lab results have rows without collected_at or value; ingest should reject them")
    return df


def _write_labs(connection, results: pd.DataFrame, upload_id: int) -> tuple[tuple[int, int, int], int]:
    """Plan and write; returns ((imported, superseding, unchanged), patients_created)."""
    if len(results) == 0:
        return (0, 0, 0), 0
    df = _lab_frame(results)
    ids_by_mrn, patients_created = _patient_ids(connection, df["mrn"].unique())
    codes, mrns = pd.factorize(df["mrn"])
    df["patient_id"] = np.array([ids_by_mrn[m] for m in mrns], dtype=np.int64)[codes]
    df = df.drop(columns="mrn")
    df["_order"] = np.arange(len(df))
    key_hash, df["row_hash"] = row_hashes(df)
    df, unchanged = _without_stored_keys(connection, df, key_hash)
    del key_hash
    if len(df) == 0:
        return (0, 0, unchanged), patients_created
    df = df.sort_values(["patient_id", "analyte", "collected_at", "_order"], kind="stable").reset_index(drop=True)
    imported, superseding, more_unchanged = _write_changes(connection, df, upload_id)
    return (imported, superseding, unchanged + more_unchanged), patients_created


def row_hashes(df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """Per result, two 64-bit hashes (int64): of its key (patient, test, collection time) and of the row,
    i.e. the key and what decides "unchanged" (value, comparator, and whether it is preliminary: a final
    result replaces a preliminary one of the same value). The row hash is stored with each row
    (`lab_result.row_hash`, migration 0010) and compared by `_without_stored_keys`. Equal results always
    hash alike; a hash that differs (another pandas hashing, -0.0 vs 0.0) only sends the row through the
    full comparison, which gives the same answer."""
    key = pd.DataFrame(
        {
            "patient_id": df["patient_id"].to_numpy(dtype=np.int64),
            "analyte": df["analyte"].astype("str").to_numpy(dtype=object),
            "collected_at": df["collected_at"].to_numpy(dtype="datetime64[us]").view(np.int64),
        }
    )
    content = pd.DataFrame(
        {
            "value": df["value"].to_numpy(dtype=np.float64),
            "comparator": df["comparator"].astype("str").to_numpy(dtype=object),
            "preliminary": _preliminary(df["status"]),
        }
    )
    key_hash = pd.util.hash_pandas_object(key, index=False).to_numpy()
    content_hash = pd.util.hash_pandas_object(content, index=False).to_numpy()
    row_hash = pd.util.hash_pandas_object(pd.DataFrame({"key": key_hash, "content": content_hash}), index=False)
    return key_hash.view(np.int64), row_hash.to_numpy().view(np.int64)


def _without_stored_keys(connection, df: pd.DataFrame, key_hash: np.ndarray) -> tuple[pd.DataFrame, int]:
    """`df` without the keys whose every line equals the stored current result, and how many lines were
    left out (all unchanged: the full comparison counts such a key's lines the same way).

    The stored side is one (patient, row hash) pair per current row of the file's patients and days, read
    without the rows themselves (issue 14: a 99.9% unchanged re-import). A line counts as equal only when
    a stored row of the same patient has its row hash. A key is left out only when none of its lines
    missed; a key hash shared by chance with a missed line keeps the line in the full comparison."""
    stored_patients, stored_hashes = _stored_hashes(connection, df)
    if len(stored_hashes) == 0:
        return df, 0
    order = np.argsort(stored_hashes, kind="stable")
    stored_patients, stored_hashes = stored_patients[order], stored_hashes[order]
    row_hash = df["row_hash"].to_numpy()
    by_hash = np.argsort(row_hash)  # sorted needles: searchsorted walks the stored hashes in order
    at = np.empty(len(row_hash), dtype=np.int64)
    at[by_hash] = np.minimum(np.searchsorted(stored_hashes, row_hash[by_hash]), len(stored_hashes) - 1)
    hit = (stored_hashes[at] == row_hash) & (stored_patients[at] == df["patient_id"].to_numpy())
    if not hit.any():
        return df, 0
    keep = np.isin(key_hash, key_hash[~hit])
    dropped = int((~keep).sum())
    return (df if dropped == 0 else df[keep].reset_index(drop=True)), dropped


def _stored_hashes(connection, df: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
    """(patient ids, row hashes) of the stored current results of the file's patients within its days."""
    ph = placeholder(connection)
    first, last = df["collected_at"].min().normalize(), df["collected_at"].max().normalize()
    lo, hi = datetime_params(connection, pd.Series([first, last + pd.Timedelta(days=1)]))
    # One text of "patient,hash,patient,hash,..." per chunk, parsed by numpy: a million rows come back in a
    # fraction of the time a million row tuples take through the driver.
    pair = "patient_id || ',' || row_hash"
    aggregate = f"string_agg({pair}, ',')" if connection.dialect.name == "postgresql" else f"group_concat({pair})"
    parts = [np.empty(0, dtype=np.int64)]
    for chunk in chunks(sorted(int(p) for p in df["patient_id"].unique()), IN_CHUNK):
        marks = ", ".join([ph] * len(chunk))
        text = connection.exec_driver_sql(
            f"SELECT {aggregate} FROM lab_result WHERE superseded_by_id IS NULL AND row_hash IS NOT NULL "
            f"AND collected_at >= {ph} AND collected_at <= {ph} AND patient_id IN ({marks})",
            (lo, hi, *chunk),
        ).scalar()
        if text:
            parts.append(np.fromstring(text, dtype=np.int64, sep=","))
    pairs = np.concatenate(parts).reshape(-1, 2)
    return pairs[:, 0].copy(), pairs[:, 1].copy()


def _write_changes(connection, df: pd.DataFrame, upload_id: int) -> tuple[int, int, int]:
    """The full comparison of `df` (sorted by key) with what is stored, and the writes; returns
    (imported, superseding, unchanged)."""
    key_cols = ["patient_id", "analyte", "collected_at"]
    same_key_prev = _same_as_shifted(df, key_cols, 1)
    same_value_prev = same_key_prev & _same_as_shifted(df, ["value", "comparator"], 1)
    # Consecutive identical lines for one key are one result; the repeats count as unchanged.
    chain = df[~same_value_prev.to_numpy()].reset_index(drop=True)
    unchanged = int(same_value_prev.sum())
    del df, same_key_prev, same_value_prev  # a million-row import: keep one copy alive at a time

    group = (~_same_as_shifted(chain, key_cols, 1)).cumsum().to_numpy()
    old = _current_labs(connection, chain)
    if len(old):
        chain = chain.merge(old, on=key_cols, how="left", sort=False)
    else:  # nothing stored for these patients in this time span (a first import): no merge copy
        chain["old_id"], chain["old_value"], chain["old_comparator"], chain["old_status"] = np.nan, np.nan, None, None
    has_old = chain["old_id"].notna().to_numpy()
    equals_old = (
        has_old
        & (chain["value"].to_numpy() == chain["old_value"].to_numpy())
        & (chain["comparator"].to_numpy() == chain["old_comparator"].fillna("").astype("str").to_numpy())
        & ~(_preliminary(chain["old_status"]) & ~_preliminary(chain["status"]))  # the final replaces it
    )
    is_first = np.r_[True, group[1:] != group[:-1]]
    is_last = np.r_[group[1:] != group[:-1], True]
    # The file's final value for a key is already current: nothing for that key is written.
    key_unchanged = np.zeros(group.max() + 1, dtype=bool)
    key_unchanged[group[is_last & equals_old]] = True
    # The file's first value equals the stored one and later lines correct it: skip the first only.
    drop = key_unchanged[group] | (is_first & equals_old)
    # The same result already stored with the other precision (a date-only CSV row, a timed HL7 result).
    drop |= is_first & is_last & ~has_old & _stored_with_other_precision(chain, old)
    unchanged += int(drop.sum())
    write = chain[~drop].reset_index(drop=True)
    write_group = group[~drop]
    del chain
    if len(write) == 0:
        return 0, 0, unchanged
    imported, superseding = _write_rows(connection, write, write_group, upload_id)
    return imported, superseding, unchanged


def _write_rows(connection, write: pd.DataFrame, write_group: np.ndarray, upload_id: int) -> tuple[int, int]:
    """Insert the planned rows and link corrections; returns (imported, superseding)."""
    ids = _reserve_ids(connection, "lab_result", len(write))
    first_written = np.r_[True, write_group[1:] != write_group[:-1]]
    last_written = np.r_[write_group[1:] != write_group[:-1], True]
    old_ids = write["old_id"].to_numpy()
    has_stored = ~np.isnan(old_ids.astype("float64"))
    superseding = ~first_written | (first_written & has_stored)
    # (successor id, superseded id): earlier line of the same key in this file, and the stored row.
    pairs = [(int(ids[i]), int(ids[i - 1])) for i in np.flatnonzero(~first_written)]
    pairs += [(int(ids[i]), int(old_ids[i])) for i in np.flatnonzero(first_written & has_stored)]
    # The unique index allows one current row per key at every moment, so a row that will supersede
    # or be superseded goes in "pending" (pointing at itself), and becomes current only after the
    # row it replaces is marked superseded.
    pending = ~last_written | has_stored
    _insert_labs(connection, write, ids, upload_id, pending)
    ph = placeholder(connection)
    if pairs:
        connection.exec_driver_sql(f"UPDATE lab_result SET superseded_by_id = {ph} WHERE id = {ph}", pairs)
    corrections = [(int(i),) for i in ids[last_written & has_stored]]
    if corrections:
        connection.exec_driver_sql(f"UPDATE lab_result SET superseded_by_id = NULL WHERE id = {ph}", corrections)
    n_superseding = int(superseding.sum())
    return len(write) - n_superseding, n_superseding


def _stored_with_other_precision(chain: pd.DataFrame, old: pd.DataFrame) -> np.ndarray:
    """vocab.draws: a stored current result of the same patient, test, date, value and comparator, one of
    the two timed and the other date-only, is this result (docs/import.md "The same result from two formats")."""
    stored = old.rename(columns={"old_value": "value", "old_comparator": "comparator"})
    return written_twice(chain, stored, ["patient_id", "analyte"])


def _preliminary(status: pd.Series) -> np.ndarray:
    """Results sent as preliminary (HL7 OBX-11 P, FHIR `preliminary`): a later final one of the same value
    replaces them rather than counting as unchanged, so the stored status says final."""
    return status.astype("str").str.lower().str.startswith("prelim").fillna(False).to_numpy(dtype=bool)


def _same_as_shifted(df: pd.DataFrame, columns: list[str], periods: int) -> pd.Series:
    same = pd.Series(True, index=df.index)
    for column in columns:
        current, shifted = df[column], df[column].shift(periods)
        same &= (current == shifted).fillna(False).astype(bool)
    return same


# Up to this many (patient, test, day) of a file are looked up one by one (a re-import's few new or corrected
# results); more read every current result of the file's patients and days at once.
DAY_LOOKUPS_MAX = 20_000
# (patient, test, day) per lookup statement: 4 parameters each, below every backend's limit.
DAYS_PER_LOOKUP = 2_000
_CURRENT_COLUMNS = ["patient_id", "analyte", "collected_at", "old_id", "old_value", "old_comparator", "old_status"]


def _current_labs(connection, chain: pd.DataFrame) -> pd.DataFrame:
    """Stored current results of the file's patients, tests and days (the only rows it can touch: the same
    key, or the same result on that day with the other precision)."""
    days = chain[["patient_id", "analyte"]].assign(day=chain["collected_at"].dt.normalize()).drop_duplicates()
    if len(days) <= DAY_LOOKUPS_MAX:
        return _current_labs_of_days(connection, days)
    columns = _CURRENT_COLUMNS
    ph = placeholder(connection)
    # whole days: a date-only result (00:00) of the file's first day is the same result as a timed one
    first, last = chain["collected_at"].min().normalize(), chain["collected_at"].max().normalize()
    lo, hi = datetime_params(connection, pd.Series([first, last + pd.Timedelta(days=1)]))
    frames = []
    patient_ids = sorted(int(p) for p in chain["patient_id"].unique())
    for chunk in chunks(patient_ids, IN_CHUNK):
        marks = ", ".join([ph] * len(chunk))
        frames.append(
            fetch_frame(
                connection,
                "SELECT patient_id, analyte, collected_at, id, value, comparator, status FROM lab_result "
                f"WHERE superseded_by_id IS NULL AND collected_at >= {ph} AND collected_at <= {ph} "
                f"AND patient_id IN ({marks})",
                (lo, hi, *chunk),
                columns,
                convert=_current_dtypes,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _current_labs_of_days(connection, days: pd.DataFrame) -> pd.DataFrame:
    """Stored current results of each (patient_id, analyte, day) row of `days`, through the current-key index."""
    ph = placeholder(connection)
    lows = datetime_params(connection, days["day"])
    highs = datetime_params(connection, days["day"] + pd.Timedelta(days=1))
    keys = list(zip(days["patient_id"].astype("int64").tolist(), days["analyte"].astype("str").tolist(), lows, highs))
    frames = [_current_dtypes(pd.DataFrame({c: pd.Series([], dtype=object) for c in _CURRENT_COLUMNS}))]
    for chunk in chunks(keys, DAYS_PER_LOOKUP):
        values = ", ".join([f"({ph}, {ph}, {ph}, {ph})"] * len(chunk))
        frames.append(
            fetch_frame(
                connection,
                f"WITH days (patient_id, analyte, lo, hi) AS (VALUES {values}) "
                "SELECT l.patient_id, l.analyte, l.collected_at, l.id, l.value, l.comparator, l.status "
                "FROM days JOIN lab_result l ON l.patient_id = days.patient_id AND l.analyte = days.analyte "
                "AND l.collected_at >= days.lo AND l.collected_at < days.hi WHERE l.superseded_by_id IS NULL",
                tuple(v for key in chunk for v in key),
                _CURRENT_COLUMNS,
                convert=_current_dtypes,
            )
        )
    return pd.concat(frames, ignore_index=True)


def _current_dtypes(old: pd.DataFrame) -> pd.DataFrame:
    old["patient_id"] = old["patient_id"].astype("int64")
    old["analyte"] = old["analyte"].astype("str")
    old["collected_at"] = to_datetime(old["collected_at"].tolist())
    old["old_id"] = old["old_id"].astype("float64")
    old["old_value"] = old["old_value"].astype("float64")
    old["old_comparator"] = old["old_comparator"].astype("str")
    old["old_status"] = old["old_status"].astype("str")
    return old


# The written columns of a lab result, for both writers: SQLite's INSERT binds these (upload_id is one literal
# per file and superseded_by_id a literal NULL, or a pending row's own id in statements of its own: fewer
# values per row to bind); PostgreSQL's COPY takes them and then upload_id and superseded_by_id.
_LAB_INSERT_COLUMNS = [
    "id",
    "patient_id",
    "collected_at",
    "analyte",
    "value",
    "unit",
    "comparator",
    "raw_value",
    "raw_unit",
    "raw_name",
    "loinc",
    "ref_low",
    "ref_high",
    "flag",
    "status",
    "source_line",
    "row_hash",
]


def _insert_labs(connection, write: pd.DataFrame, ids: np.ndarray, upload_id: int, pending: np.ndarray) -> None:
    """Insert in chunks of CHUNK_SIZE rows; Python values exist for one chunk at a time (memory stays flat)."""
    copying = connection.dialect.name == "postgresql" and connection.dialect.driver == "psycopg"
    names = ", ".join([*_LAB_INSERT_COLUMNS, "upload_id", "superseded_by_id"])
    # ENCODING: the CSV is UTF-8 whatever the connection's client_encoding says.
    copy_sql = f"COPY lab_result ({names}) FROM STDIN WITH (FORMAT csv, ENCODING 'UTF8')"
    for start in range(0, len(write), CHUNK_SIZE):
        stop = start + CHUNK_SIZE
        part, part_ids, waiting = write.iloc[start:stop], ids[start:stop], pending[start:stop]
        if copying:  # a pending row carries its own id in superseded_by_id
            insert_chunk(connection, copy_sql, _lab_chunk_csv(part, part_ids, upload_id, waiting))
        else:
            _insert_lab_rows(connection, _lab_chunk_values(connection, part, part_ids), upload_id, waiting)


def _insert_lab_rows(connection, values: dict[str, list], upload_id: int, waiting: np.ndarray) -> None:
    """Multi-row INSERTs of the chunk; a row that becomes current only once the row it replaces is
    superseded ("pending") binds its own id as superseded_by_id, in statements of its own."""
    columns = _LAB_INSERT_COLUMNS
    # The chunk's values as one (rows x columns) matrix of the lists' own objects, filled column by column:
    # its rows reshape into statements' parameters without a Python tuple per result.
    matrix = np.empty((len(values["id"]), len(columns)), dtype=object)
    for j, name in enumerate(columns):
        matrix[:, j] = values[name]
    if waiting.any():
        _insert_many_rows(connection, np.concatenate([matrix[waiting], matrix[waiting, :1]], axis=1), upload_id)
        matrix = matrix[~waiting]
    _insert_many_rows(connection, matrix, upload_id)


def rows_per_insert(connection, values_per_row: int) -> int:
    """Rows per multi-row INSERT: ROWS_PER_INSERT, fewer where the backend's bound-value limit
    (SQLite's SQLITE_LIMIT_VARIABLE_NUMBER, as this connection reports it) would be exceeded."""
    if connection.dialect.name == "sqlite":
        limit = connection.connection.dbapi_connection.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER)
    else:
        limit = 65_535  # PostgreSQL's protocol: a 16-bit parameter count
    return max(1, min(ROWS_PER_INSERT, limit // values_per_row))


def _insert_many_rows(connection, matrix: np.ndarray, upload_id: int) -> None:
    """`matrix`'s rows (the insert columns, and a pending row's own id last) in statements of
    `rows_per_insert` rows each, the remainder in one shorter statement."""
    count, width = matrix.shape
    if count == 0:
        return
    ph = placeholder(connection)
    pending = width > len(_LAB_INSERT_COLUMNS)
    names = ", ".join([*_LAB_INSERT_COLUMNS, "upload_id", "superseded_by_id"])
    row_sql = f"({', '.join([ph] * len(_LAB_INSERT_COLUMNS))}, {int(upload_id)}, {ph if pending else 'NULL'})"
    per = rows_per_insert(connection, width)
    full = count // per * per
    if full:
        params = matrix[:full].reshape(-1, per * width).tolist()
        insert_chunk(
            connection,
            f"INSERT INTO lab_result ({names}) VALUES {', '.join([row_sql] * per)}",
            list(map(tuple, params)),
        )
    if count > full:
        rest = tuple(matrix[full:].ravel().tolist())
        insert_chunk(
            connection, f"INSERT INTO lab_result ({names}) VALUES {', '.join([row_sql] * (count - full))}", [rest]
        )


def _lab_chunk_arrays(part: pd.DataFrame, ids: np.ndarray) -> dict[str, np.ndarray]:
    """The chunk's insert columns (_LAB_INSERT_COLUMNS) as arrays, one conversion for both writers: numbers
    typed (NaN for a missing float), times datetime64[us], texts cut to their column's length as objects,
    None for a missing text or line."""
    lengths = column_lengths(table_of(LabResult))
    arrays: dict[str, np.ndarray] = {
        "id": ids.astype(np.int64),
        "patient_id": part["patient_id"].to_numpy(dtype=np.int64),
        "collected_at": part["collected_at"].to_numpy(dtype="datetime64[us]"),
        "value": part["value"].to_numpy(dtype=np.float64),
        "ref_low": pd.to_numeric(part["ref_low"]).to_numpy(dtype=np.float64, na_value=np.nan),
        "ref_high": pd.to_numeric(part["ref_high"]).to_numpy(dtype=np.float64, na_value=np.nan),
        "source_line": _ints_or_none(part["source_line"]),
        "row_hash": part["row_hash"].to_numpy(dtype=np.int64),
    }
    for name in ("analyte", "unit", "comparator", "raw_value", "raw_unit", "raw_name"):
        arrays[name] = part[name].astype("str").str.slice(0, lengths.get(name)).to_numpy(dtype=object)
    for name in ("loinc", "flag", "status"):
        arrays[name] = _texts_or_none(part[name], lengths.get(name))
    return arrays


def _lab_chunk_values(connection, part: pd.DataFrame, ids: np.ndarray) -> dict[str, list]:
    """The chunk's insert columns as Python lists the DBAPI binds (None for a missing value)."""
    arrays = _lab_chunk_arrays(part, ids)
    values = {name: array.tolist() for name, array in arrays.items() if name not in ("ref_low", "ref_high")}
    values["collected_at"] = datetime_params(connection, part["collected_at"])
    for name in ("ref_low", "ref_high"):
        values[name] = _none_for_nan(arrays[name])
    return values


def _lab_chunk_csv(part: pd.DataFrame, ids: np.ndarray, upload_id: int, waiting: np.ndarray) -> bytes:
    """The chunk as PostgreSQL COPY CSV text (UTF-8), written by pyarrow: every value quoted, so an empty
    text stays '' and only a missing value (an unquoted empty field) is NULL; floats in their shortest
    exact form; times as 'YYYY-MM-DD HH:MM:SS.ffffff'. The columns: _LAB_INSERT_COLUMNS, upload_id,
    superseded_by_id (a pending row's own id)."""
    arrays = _lab_chunk_arrays(part, ids)
    types = {name: pa.string() for name in arrays if arrays[name].dtype == object} | {"source_line": pa.int64()}
    # from_pandas: a NaN float is NULL (a missing reference limit)
    columns = {name: pa.array(arrays[name], type=types.get(name), from_pandas=True) for name in _LAB_INSERT_COLUMNS}
    columns["upload_id"] = pa.array(np.full(len(ids), upload_id, dtype=np.int64))
    columns["superseded_by_id"] = pa.array(arrays["id"], mask=~waiting)
    out = pa.BufferOutputStream()
    pa_csv.write_csv(pa.table(columns), out, _CSV_OPTIONS)
    return out.getvalue().to_pybytes()


def _none_for_nan(numbers: np.ndarray) -> list:
    """Floats, None where missing (NaN), as the driver takes them; vectorised (no per-value checks)."""
    out = numbers.astype(object)
    out[np.isnan(numbers)] = None
    return out.tolist()


def _ints_or_none(column: pd.Series) -> np.ndarray:
    missing = column.isna().to_numpy()
    out = pd.to_numeric(column.where(~missing, 0)).to_numpy(dtype=np.int64).astype(object)
    out[missing] = None
    return out


def _texts_or_none(column: pd.Series, length: int | None) -> np.ndarray:
    """Text cut to the column's length, None where missing."""
    missing = column.isna().to_numpy()
    out = column.where(~missing, "").astype("str").str.slice(0, length).to_numpy(dtype=object)
    out[missing] = None
    return out


def load_labs(*, session: Session, mrn: str | None = None, mrns: Iterable[str] | None = None) -> pd.DataFrame:
    """Current lab results (corrected values replace older ones) in the labs contract columns.

    `mrn=None` loads every patient; `mrns` only those patients (each through the (patient, collected
    time) index: the dashboard's kept assessment reads the patients an import touched). The store's
    `source_line` comes back as `line` (nullable Int64; NA for results entered without a file).
    """
    if mrns is not None:
        wanted = sorted({str(m) for m in mrns} | ({str(mrn)} if mrn is not None else set()))
        parts = [_load_labs(session, tuple(part)) for part in chunks(wanted, IN_CHUNK)]
        return (
            pd.concat(parts, ignore_index=True) if len(parts) > 1 else (parts[0] if parts else _load_labs(session, ()))
        )
    return _load_labs(session, None if mrn is None else (mrn,))


def _load_labs(session: Session, mrns: tuple[str, ...] | None) -> pd.DataFrame:
    connection = session.connection()
    ph = placeholder(connection)
    sql = (
        "SELECT p.mrn, l.collected_at, l.analyte, l.value, l.unit, l.comparator, l.raw_value, l.raw_unit, "
        "l.raw_name, l.loinc, l.ref_low, l.ref_high, l.flag, l.status, l.source_line "
        "FROM lab_result l JOIN patient p ON p.id = l.patient_id WHERE l.superseded_by_id IS NULL"
    )
    params: tuple = ()
    if mrns is not None:
        sql += f" AND p.mrn IN ({', '.join([ph] * len(mrns)) or 'NULL'})"
        params = mrns
    sql += " ORDER BY p.mrn, l.collected_at, l.analyte"
    return fetch_frame(connection, sql, params, LAB_COLUMNS, convert=_labs_dtypes)


def _labs_dtypes(df: pd.DataFrame) -> pd.DataFrame:
    df["collected_at"] = to_datetime(df["collected_at"].tolist())
    for name in ("mrn", "analyte", "unit", "comparator", "raw_value", "raw_unit", "raw_name"):
        df[name] = df[name].astype("str")
    for name in ("value", "ref_low", "ref_high"):
        df[name] = pd.to_numeric(df[name]).astype("float64")
    for name in ("loinc", "flag", "status"):
        df[name] = _few_objects(df[name])
    df["line"] = pd.to_numeric(df["line"]).astype("Int64")
    return df


def _few_objects(column: pd.Series) -> pd.Series:
    """A str-or-None object column sharing one object per distinct value. The driver's million
    separate little strings would otherwise stay alive and pin freed memory (+~0.8 GB per 1M rows)."""
    codes, uniques = pd.factorize(column, use_na_sentinel=True)
    lookup = np.array([*(str(u) for u in uniques), None], dtype=object)
    return pd.Series(lookup[codes], index=column.index, dtype=object)


def _patient_ids(connection, mrns: Iterable[str]) -> tuple[dict[str, int], int]:
    """MRN -> patient id, creating a bare patient (MRN only) for each unknown MRN.

    Returns the mapping and how many patients were created.
    """
    wanted = sorted({str(m) for m in mrns if clean_text(m)})
    found = _lookup_patient_ids(connection, wanted)
    missing = [m for m in wanted if m not in found]
    if missing:
        ph = placeholder(connection)
        # ON CONFLICT: a patient another session created meanwhile (a Setup form, an import on a
        # database without the import lock) is found below instead of failing the whole file.
        connection.exec_driver_sql(
            f"INSERT INTO patient (mrn, name) VALUES ({ph}, {ph}) ON CONFLICT (mrn) DO NOTHING",
            [(m, "") for m in missing],
        )
        found.update(_lookup_patient_ids(connection, missing))
    return found, len(missing)


def _lookup_patient_ids(connection, mrns: list[str]) -> dict[str, int]:
    found: dict[str, int] = {}
    ph = placeholder(connection)
    for chunk in chunks(mrns, IN_CHUNK):
        marks = ", ".join([ph] * len(chunk))
        for pid, mrn in connection.exec_driver_sql(f"SELECT id, mrn FROM patient WHERE mrn IN ({marks})", tuple(chunk)):
            found[mrn] = pid
    return found


def _reserve_ids(connection, table: str, count: int) -> np.ndarray:
    """`count` primary keys for rows about to be inserted (so corrections can point at them)."""
    if count == 0:
        return np.empty(0, dtype=np.int64)
    if connection.dialect.name == "postgresql":
        # One block: the next id, then the sequence moved past the block (not nextval per row: 2-4 s at 1M).
        # Every lenadash writer of these rows holds the import lock; a row written outside lenadash meanwhile
        # takes an id of the block at most, and then one of the two inserts fails whole on the primary key.
        first = connection.exec_driver_sql(f"SELECT nextval(pg_get_serial_sequence('{table}', 'id'))").scalar_one()
        connection.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), %s)", (int(first) + count - 1,)
        )
        return np.arange(int(first), int(first) + count, dtype=np.int64)
    # SQLite: the Upload row was written first in this transaction, so this connection already holds
    # the database's single write lock and nobody else can take these ids.
    start = connection.exec_driver_sql(f"SELECT COALESCE(MAX(id), 0) FROM {table}").scalar_one()
    return np.arange(start + 1, start + 1 + count, dtype=np.int64)
