"""CSV files: reading and :func:`write_csv`."""

from __future__ import annotations

import csv
import io as _io
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np

from ..band import BAND_SUFFIXES
from ..leads import normalize_lead_name
from ..record import ABSENT, DEIDENTIFIED_NOTE, GENERATED, Record
from ._common import (
    _Info,
    _is_number,
    _magic,
    _parse_l2g,
    raw_from_channels,
)
from ._raw import RawECG, Reader
from ._xml import root_name

_TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
                 "ms": 1e-3, "time_ms": 1e-3, "milliseconds": 1e-3}
_GENERATED_SUFFIX = "_generated"


def write_csv(record: Record, path: str | os.PathLike[str], *, deidentify: bool = False,
              columns: Mapping[str, np.ndarray] | None = None, comments: Sequence[str] = (),
              start: int = 0, append: bool = False) -> Path:
    """Write a record as CSV: a ``time_s`` column, then one column per present lead (mV).

    Recorded leads are named canonically (``V1``); generated leads get the
    suffix ``_generated`` (``V1_generated``) so that :func:`read_record` can
    restore their status. Absent leads are left out. Voltages are written with
    6 decimals (1 nV), times with 9 (so that the reader recovers a rate such as
    360 Hz even from a few samples); metadata and provenance are not kept
    unless given as ``comments`` (:func:`l2g.export.write_export` passes the
    ``L2G:`` provenance lines: the export of the CLI, library and dashboard).

    Parameters
    ----------
    record : Record
    path : str or Path
        Output file (parent directory created if missing).
    deidentify : bool
        CSV never holds a patient's name, identifiers or birth date; with ``True`` the file
        starts with the line ``# L2G: de-identified by L2G-ECG`` to say so.
    columns : mapping of str to ndarray, optional
        Extra columns after the leads, each of shape (samples,) (mV, 6 decimals), e.g.
        the band of :func:`l2g.export.band_columns` (``V1_low``, ``V1_high``), which
        :func:`read_record` ignores. Their names must not be lead names.
    comments : sequence of str
        Lines written first, each as ``# <line>`` (``L2G: ...`` lines are read back
        by :func:`read_record`; ``pandas.read_csv(..., comment="#")`` skips them).
    start : int
        Sample index of the record's first row in a longer record: its times start at
        ``start / fs`` (a chunk of a streamed record, :mod:`l2g.stream`).
    append : bool
        Append the rows to ``path`` without comments or column names (the next chunk of a
        streamed record, written by a first call with ``append=False``).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the record has no present lead, or an extra column has the wrong length
        or a lead's name.
    """
    rec = record.standardize()
    present = [i for i, st in enumerate(rec.status) if st != ABSENT]
    if not present:
        raise ValueError(f"{rec.name}: no recorded or generated lead to write; expected at least one")
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    header = ["time_s"] + [
        rec.leads[i] + (_GENERATED_SUFFIX if rec.status[i] == GENERATED else "") for i in present
    ]
    extra = dict(columns or {})
    for col, values in extra.items():
        if normalize_lead_name(col) is not None or np.shape(values) != (rec.n_samples,):
            raise ValueError(f"{rec.name}: extra CSV column {col!r} of shape {np.shape(values)}; expected a "
                             f"name that is not a lead's and shape ({rec.n_samples},)")
    header += list(extra)
    if any("\n" in line or "\r" in line for line in comments):
        raise ValueError(f"{rec.name}: a CSV comment holds a line break; expected one line per comment")
    times = rec.time if start == 0 else np.arange(start, start + rec.n_samples) / rec.fs
    table = np.column_stack([times, rec.signal[present].T.astype(np.float64),
                             *(np.asarray(v, np.float64) for v in extra.values())])
    with open(out, "a" if append else "w", encoding="utf-8", newline="") as fh:
        if not append:
            fh.writelines(f"# {line}\n" for line in comments)
            if deidentify:
                fh.write(f"# L2G: {DEIDENTIFIED_NOTE}\n")
            fh.write(",".join(header) + "\n")
        np.savetxt(fh, table, fmt=["%.9f"] + ["%.6f"] * (len(header) - 1), delimiter=",")
    return out



# =================================================================== CSV
def read(path: Path) -> RawECG:
    """Read a CSV record: a first row of lead names (and perhaps a time column), then samples in mV."""
    file = str(path)
    if b"\x00" in _magic(path, 4096):
        raise ValueError(f"{file}: binary data (NUL bytes), not text; expected a CSV file with a first row of "
                         "lead names")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    info = _Info()
    while text.startswith("# L2G:"):  # provenance lines of the CSV export (l2g.export.write_export)
        line, _, text = text.partition("\n")
        _parse_l2g(line.removeprefix("# L2G:").strip(), info)
    lines = text.splitlines()
    if not lines or not lines[0].strip():
        raise ValueError(f"{file}: empty file; expected a first row of lead names, then samples")
    first = lines[0]
    delimiter = "," if "," in first else ";" if ";" in first else "\t" if "\t" in first else ","
    rows = list(csv.reader(_io.StringIO(text), delimiter=delimiter))
    names = [c.strip() for c in rows[0]]
    if all(_is_number(c) for c in names if c):
        raise ValueError(f"{file}: the first row holds numbers; expected lead names (e.g. I,II,V1)")
    body = [r for r in rows[1:] if any(c.strip() for c in r)]
    n = len(body)
    if n == 0:
        raise ValueError(f"{file}: the record has zero samples; expected at least one row of samples")
    values = np.full((len(names), n), np.nan)
    for j, row in enumerate(body, start=2):
        if len(row) > len(names):
            raise ValueError(f"{file}: line {j} has {len(row)} cells; expected at most {len(names)}")
        for k, cell in enumerate(row):
            cell = cell.strip()
            if cell and cell.lower() not in ("nan", "na", "n/a", "null"):
                try:
                    values[k, j - 2] = float(cell)
                except ValueError:
                    if normalize_lead_name(_strip_generated(names[k])[0]) is not None:
                        raise ValueError(f"{file}: line {j}, column {names[k]!r}: {cell!r} is not a number; "
                                         "expected a voltage in mV") from None
    time_keys = [re.sub(r"[\s()\[\]]+", "_", c.lower()).strip("_") for c in names]  # "Time (ms)" -> time_ms
    time_idx = [k for k, c in enumerate(time_keys) if c in _TIME_COLUMNS]
    if len(time_idx) > 1:
        raise ValueError(f"{file}: several time columns {[names[k] for k in time_idx]}; expected at most one")
    if time_idx:
        k = time_idx[0]
        t = values[k] * _TIME_COLUMNS[time_keys[k]]
        file_fs: float | None = _fs_from_time(t, file, names[k])
    else:
        file_fs = None  # the caller's fs, else MissingSampleRate (l2g.io._common.from_raw)
    channels, rows_idx = [], []
    for k, c in enumerate(names):
        if k in time_idx or _is_band_column(c):  # the band beside the signal (l2g.export.band_columns)
            continue
        base, generated = _strip_generated(c)
        if generated and (lead := normalize_lead_name(base)):
            info.generated.add(lead)
        channels.append(base if generated else c)
        rows_idx.append(k)
    return raw_from_channels(file, channels, values[rows_idx], file_fs, fmt="CSV", info=info,
                             rate_missing="no time column and no fs given; expected a column named "
                                          "time/t/time_s/seconds/ms/time_ms or the fs argument (Hz)")


def _is_band_column(column: str) -> bool:
    """Whether ``column`` is an edge of a generated lead's band (``V1_low``, ``V1_high``): never a lead."""
    return any(column.endswith(sfx) and normalize_lead_name(column[: -len(sfx)]) is not None
               for sfx in BAND_SUFFIXES)


def _strip_generated(column: str) -> tuple[str, bool]:
    if column.lower().endswith(_GENERATED_SUFFIX):
        return column[: -len(_GENERATED_SUFFIX)], True
    return column, False


def _fs_from_time(t: np.ndarray, file: str, column: str) -> float:
    """Sampling rate from a time column (seconds): mean spacing, checked to be uniform within half a sample."""
    if t.size < 2 or not np.isfinite(t).all():
        raise ValueError(f"{file}: time column {column!r} has missing values or fewer than 2 rows; "
                         "expected a complete, increasing time column")
    step = (t[-1] - t[0]) / (t.size - 1)
    if not step > 0 or np.any(np.diff(t) <= 0):
        raise ValueError(f"{file}: time column {column!r} is not strictly increasing; expected increasing times")
    drift = np.abs(t - (t[0] + step * np.arange(t.size))).max()
    if drift > 0.5 * step:
        raise ValueError(f"{file}: time column {column!r} is not uniformly sampled (off by up to {drift:.4g} s); "
                         "expected a constant sampling interval")
    rate = 1.0 / step
    return float(round(rate)) if abs(rate - round(rate)) < 1e-5 * rate else float(rate)




def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` looks like a text table: UTF-8 text without NUL bytes that is not XML."""
    if not head or b"\x00" in head or root_name(head) is not None:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        if exc.start < len(head) - 3:  # not just a character cut at the end of the head
            return False
    return True


READER = Reader(name="csv", kind="CSV", suffixes=(".csv",), sniff=sniff, read=read, companions=(".txt", ".tsv"))
