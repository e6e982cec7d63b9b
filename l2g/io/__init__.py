"""Read ECG records from files and uploads; write them as WFDB or CSV.

One entry point, :func:`read_record`, reads

* WFDB records (``.hea`` + ``.dat``, any format ``wfdb`` reads), including the
  PhysioNet Challenge layout ``.hea`` + ``.mat`` (MATLAB v4, read by ``wfdb``;
  MATLAB v5 files are read with :func:`scipy.io.loadmat` and scaled with the
  header's gain and baseline),
* EDF / EDF+ (continuous) files,
* CSV files (first row: lead names),
* SPH-style HDF5 files (dataset ``ecg``, shape (12, N), mV),
* a ``.zip`` holding one of the above, and
* browser uploads: a list of ``(filename, bytes)`` pairs or objects with
  ``.name`` and ``.getvalue()`` (Streamlit ``UploadedFile``).

and returns a :class:`~l2g.record.Record` in millivolts with the 12 canonical
leads in canonical order; leads the file does not hold are *absent*.

Conventions
-----------
Units
    Signals are converted to mV from the unit each file states: ``mV`` (any
    case) x1, ``uV``/``µV`` x0.001, ``nV`` x1e-6, ``V`` x1000. Any other unit on
    an ECG lead is an error. CSV and HDF5 files carry no units: they are taken
    to be in mV.
Sampling rate
    The ``fs`` argument is needed only for a CSV file without a time column.
    For SPH HDF5 files it defaults to the ``fs`` column of a ``metadata.csv``
    beside the file, else to 500 Hz (the SPH rate). For every other format the
    file states the rate; an ``fs`` that disagrees with it is an error (this
    module never resamples: see :mod:`l2g.preprocess`).
Missing samples (``nan_policy``)
    WFDB "invalid" samples (-32768 in format 16) and empty CSV cells are NaN.
    A lead that is NaN everywhere is simply absent. A lead with *some* NaN:
    ``"raise"`` (default) raises a ValueError naming the lead, the number of
    missing samples and the first time; ``"absent"`` drops the lead (warning);
    ``"interpolate"`` fills each gap shorter than 0.2 s linearly (gaps at the
    start or end hold the nearest value) and raises on longer gaps.
EDF
    EDF stores whole data records, so the record length is a multiple of the
    data-record duration (a writer's padding of the last record cannot be told
    from signal). EDF+D (discontinuous) and BDF files are refused.
Channels
    Channel names are mapped to canonical leads with
    :func:`~l2g.leads.normalize_lead_name` (``"avr"``, ``"Lead II"``,
    ``"ECG V1"``...). Other channels (respiration, pleth...) are dropped with a
    warning and listed in ``meta.other_channels``. Two channels naming the same
    lead, or no ECG lead at all, are errors.
Plausibility
    Odd but possible signals are read with a warning (the lead stays
    recorded): a *flat* lead (peak-to-peak below :data:`FLAT_MV`, an electrode
    off), a *saturated* lead (at least :data:`SATURATED_FRACTION` of its
    samples in runs at its maximum or minimum, an amplifier at its limit), and
    an *implausible amplitude* (peak-to-peak above :data:`MAX_PLAUSIBLE_MV`,
    typically µV values labelled as mV). A WFDB signal file holding more
    samples than its header declares is read up to the declared length, with
    a warning (the header's format or length is probably wrong).
Generated leads
    :func:`write_wfdb` marks generated leads in header comments
    (``L2G: lead status: ...``, ``L2G: generated from: ...``), and
    :func:`read_record` restores their status and provenance from them.
    :func:`write_csv` names a generated lead's column ``<lead>_generated``
    (e.g. ``V1_generated``); the CSV reader maps it back. CSV keeps no
    metadata: use WFDB for a faithful copy. Leading ``# L2G: ...`` lines (the
    dashboard's CSV export, :func:`l2g.export.csv_bytes`) are read as in WFDB.

Every error is a ``ValueError`` of the form ``"<file>: <problem>; expected <what>"``.
"""

from __future__ import annotations

import contextvars
import csv
import datetime as _dt
import io as _io
import math
import os
import re
import struct
import sys
import tempfile
import warnings
import zipfile
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from ..leads import LEADS, normalize_lead_name
from ..record import ABSENT, GENERATED, RECORDED, Diagnosis, LeadStatus, Metadata, Provenance, Record
from ..snomed import snomed_name

__all__ = [
    "read_record",
    "RecordTooLong",
    "write_wfdb",
    "write_csv",
    "header_comments",
    "NAN_POLICIES",
    "MAX_UPLOAD_BYTES",
    "MAX_ZIP_RATIO",
    "MAX_ZIP_ENTRIES",
    "MAX_GAP_S",
    "SPH_FS",
    "FLAT_MV",
    "SATURATED_FRACTION",
    "MAX_PLAUSIBLE_MV",
    "to_mv_factor",
]

#: Accepted values of ``nan_policy``.
NAN_POLICIES: tuple[str, ...] = ("raise", "absent", "interpolate")
#: Largest total size of an upload or of a zip's uncompressed content (bytes).
MAX_UPLOAD_BYTES: int = 200 * 1024 * 1024
#: Largest uncompressed/compressed size ratio of one zip entry (bigger entries are zip bombs).
MAX_ZIP_RATIO: float = 200.0
#: Largest number of files in an uploaded zip.
MAX_ZIP_ENTRIES: int = 1000
#: Longest gap (seconds) that ``nan_policy="interpolate"`` fills.
MAX_GAP_S: float = 0.2
#: Sampling rate (Hz) assumed for SPH HDF5 files when neither ``fs`` nor metadata.csv gives one.
SPH_FS: float = 500.0
#: Peak-to-peak range (mV) below which a lead is flat (lead off); the same rule as l2g.dataset.
FLAT_MV: float = 0.02
#: Share of a lead's samples in runs at its maximum or minimum above which it is saturated (clipped).
SATURATED_FRACTION: float = 0.05
#: Peak-to-peak range (mV) above which a lead is implausible for an ECG (the largest seen in the
#: shared archives is ~20 mV; µV labelled as mV gives ~1000 mV).
MAX_PLAUSIBLE_MV: float = 30.0

_WFDB_EXT = (".hea", ".dat", ".mat")
_CSV_EXT = (".csv", ".txt", ".tsv")
_HDF5_EXT = (".h5", ".hdf5", ".hdf")
_EDF_EXT = (".edf",)
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_EDF_MAGIC = b"0       "

_UNIT_FACTORS = {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3,
                 "microvolt": 1e-3, "microvolts": 1e-3, "nv": 1e-6, "v": 1e3, "volt": 1e3, "volts": 1e3}

_TIME_COLUMNS = {"time": 1.0, "t": 1.0, "time_s": 1.0, "seconds": 1.0, "sec": 1.0, "s": 1.0,
                 "ms": 1e-3, "time_ms": 1e-3, "milliseconds": 1e-3}
_GENERATED_SUFFIX = "_generated"

# PhysioNet Challenge 2024 classes written to PTB-XL headers as "# Labels:".
_PTBXL_LABELS = {
    "NORM": "normal ECG", "ACUTE MI": "acute myocardial infarction", "OLD MI": "old myocardial infarction",
    "STTC": "ST/T change", "CD": "conduction disturbance", "HYP": "hypertrophy",
    "PAC": "premature atrial contraction", "PVC": "premature ventricular contraction",
    "AFIB/AFL": "atrial fibrillation or flutter", "TACHY": "tachycardia", "BRADY": "bradycardia",
    "MI": "myocardial infarction",
}


# =============================================================== public API
def read_record(
    source: Any,
    *,
    fs: float | None = None,
    nan_policy: str = "raise",
    name: str | None = None,
    max_samples: int | None = None,
) -> Record:
    """Read one ECG record from a file or from uploaded files.

    Parameters
    ----------
    source : str, Path, or uploads
        A path to a ``.hea`` (or the record path without extension, or its
        ``.dat``/``.mat``), ``.edf``, ``.csv``, ``.h5``/``.hdf5`` or ``.zip``
        file; or uploads: a list of ``(filename, bytes)`` pairs or of objects
        with ``.name`` and ``.getvalue()`` (e.g. ``[("1.hea", b"..."),
        ("1.dat", b"...")]`` or a single ``.zip``). Uploads are written only to
        a private temporary directory that is removed before returning.
    fs : float, optional
        Sampling rate in Hz. Required for a CSV file without a time column;
        the SPH HDF5 default otherwise. For formats that state their rate it
        must agree with the file.
    nan_policy : {"raise", "absent", "interpolate"}
        What to do with a lead that is partly missing (see the module notes).
    name : str, optional
        Record name; defaults to the file stem.
    max_samples : int, optional
        Refuse a record longer than this many samples per lead. Checked
        against the length the header declares *before* the signal is decoded
        (WFDB/Challenge, EDF, HDF5), so an over-long file costs no memory;
        CSV is checked after parsing (its size is bounded by the upload limit).

    Returns
    -------
    Record
        Signal of shape (12, samples), float32, mV, canonical lead order; leads
        not in the file are absent. ``source_format`` is ``"wfdb"``,
        ``"wfdb-mat"``, ``"edf"``, ``"csv"`` or ``"hdf5"``.

    Raises
    ------
    ValueError
        For a missing, truncated, unparseable or inconsistent file, an unknown
        unit, duplicate or no ECG leads, zero samples, disallowed NaN, or an
        unsafe upload. The message names the file and what was expected.

    Examples
    --------
    >>> rec = read_record("../shared/data/ludb/data/1.hea")  # doctest: +SKIP
    >>> rec.fs, rec.signal.shape, rec.leads[:3]  # doctest: +SKIP
    (500.0, (12, 5000), ('I', 'II', 'III'))
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy={nan_policy!r} is not valid; expected one of {NAN_POLICIES}")
    if fs is not None:
        try:
            fs = float(fs)
        except (TypeError, ValueError):
            fs = math.nan
        if not (math.isfinite(fs) and fs > 0):
            raise ValueError(f"fs={fs!r} is not valid; expected a positive sampling rate in Hz")
    if max_samples is not None and (isinstance(max_samples, bool) or int(max_samples) != max_samples
                                    or max_samples < 1):
        raise ValueError(f"max_samples={max_samples!r} is not valid; expected a positive number of samples")
    token = _MAX_SAMPLES.set(None if max_samples is None else int(max_samples))
    try:
        uploads = _as_uploads(source)
        if uploads is None:
            return _read_path(Path(os.fspath(source)), fs=fs, nan_policy=nan_policy, name=name)
        return _read_uploads(uploads, fs=fs, nan_policy=nan_policy, name=name)
    finally:
        _MAX_SAMPLES.reset(token)


# the caller's max_samples for the read in progress (set by read_record only)
_MAX_SAMPLES: contextvars.ContextVar[int | None] = contextvars.ContextVar("l2g_max_samples", default=None)


def _check_length(file: str, n_samples: int | None, fs: float | None = None) -> None:
    """Refuse a record whose declared length exceeds read_record's ``max_samples`` (before decoding)."""
    limit = _MAX_SAMPLES.get()
    if limit is None or n_samples is None or n_samples <= limit:
        return
    seconds = n_samples / fs if fs else None
    dur = "" if seconds is None else (f" ({seconds / 3600:.1f} h at {fs:g} Hz)" if seconds >= 3600
                                      else f" ({seconds:g} s at {fs:g} Hz)")
    raise RecordTooLong(f"{file}: {n_samples:,} samples per lead{dur} is longer than the {limit:,} samples "
                        "accepted here (max_samples); the record was not decoded")


class RecordTooLong(ValueError):
    """A record longer than ``read_record``'s ``max_samples``; raised before its signal is decoded."""


def write_wfdb(record: Record, directory: str | os.PathLike[str], name: str | None = None) -> Path:
    """Write a record as a WFDB record (``<name>.hea`` + ``<name>.dat``).

    Every recorded or generated lead is written with its canonical name, in
    canonical order; absent leads are left out (the ``L2G: lead status``
    comment lists them). Samples are stored as integers with baseline 0 and
    a per-lead gain (ADC units per mV) chosen so that the quantisation error
    is at most 0.5 µV: gain = min(100000, floor(32000 / max|x|)), which is at
    least 1000 whenever max|x| <= 32 mV (format 16). If any lead exceeds
    32 mV the whole record is written in format 32 instead (same rule with
    2e9 in place of 32000).

    Header comments (Challenge style) hold ``Age``, ``Sex``, ``Dx`` (SNOMED-CT
    codes), ``Labels`` (PTB-XL), ``AHA``, ``Diagnosis`` (free text), the
    record's other fields and comments, and ``L2G:`` lines with the lead
    status and, for generated leads, how they were made. :func:`read_record`
    restores all of these.

    Parameters
    ----------
    record : Record
    directory : str or Path
        Output directory (created if missing).
    name : str, optional
        Record name; defaults to ``record.name``. Characters other than
        letters, digits, ``_`` and ``-`` become ``_``.

    Returns
    -------
    Path
        The written ``.hea`` file.

    Raises
    ------
    ValueError
        If the record has no present lead, or a lead exceeds 2e6 mV.
    """
    import wfdb

    rec = record.standardize()
    present = [i for i, st in enumerate(rec.status) if st != ABSENT]
    if not present:
        raise ValueError(f"{rec.name}: no recorded or generated lead to write; expected at least one")
    record_name = re.sub(r"[^-\w]", "_", name if name is not None else rec.name) or "record"
    out_dir = Path(directory)
    out_dir.mkdir(parents=True, exist_ok=True)

    x = rec.signal[present].astype(np.float64)  # (leads, samples) mV
    peak = np.max(np.abs(x), axis=1)
    fmt = "16" if float(peak.max()) <= 32.0 else "32"
    limit = 32000.0 if fmt == "16" else 2.0e9
    if float(peak.max()) * 1000.0 > limit:
        raise ValueError(f"{rec.name}: peak amplitude {peak.max():g} mV; expected at most {limit / 1000:g} mV")
    gains = np.floor(np.minimum(100000.0, limit / np.maximum(peak, 1e-12)))
    gains = np.maximum(gains, 1000.0)
    digital = np.round(x * gains[:, None]).astype(np.int64).T  # (samples, leads)

    wfdb.wrsamp(
        record_name,
        fs=rec.fs,
        units=["mV"] * len(present),
        sig_name=[rec.leads[i] for i in present],
        d_signal=digital,
        fmt=[fmt] * len(present),
        adc_gain=[float(g) for g in gains],
        baseline=[0] * len(present),
        comments=header_comments(rec),
        write_dir=str(out_dir),
    )
    return out_dir / f"{record_name}.hea"


def write_csv(record: Record, path: str | os.PathLike[str]) -> Path:
    """Write a record as CSV: a ``time_s`` column, then one column per present lead (mV).

    Recorded leads are named canonically (``V1``); generated leads get the
    suffix ``_generated`` (``V1_generated``) so that :func:`read_record` can
    restore their status. Absent leads are left out. Voltages are written with
    6 decimals (1 nV), times with 9 (so that the reader recovers a rate such as
    360 Hz even from a few samples); metadata and provenance are not kept.

    Parameters
    ----------
    record : Record
    path : str or Path
        Output file (parent directory created if missing).

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        If the record has no present lead.
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
    table = np.column_stack([rec.time, rec.signal[present].T.astype(np.float64)])
    with open(out, "w", encoding="utf-8", newline="") as fh:
        fh.write(",".join(header) + "\n")
        np.savetxt(fh, table, fmt=["%.9f"] + ["%.6f"] * len(present), delimiter=",")
    return out


def to_mv_factor(unit: str) -> float | None:
    """Factor converting a value in ``unit`` to mV, or None for an unknown unit.

    >>> to_mv_factor("uV"), to_mv_factor("mv"), to_mv_factor("V"), to_mv_factor("mmHg")
    (0.001, 1.0, 1000.0, None)
    """
    return _UNIT_FACTORS.get(str(unit).strip().lower())


# ============================================================ shared pieces
@dataclass
class _Info:
    """What a reader found besides the samples (all optional)."""

    age: float | None = None
    sex: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    provenance: Provenance | None = None
    generated: set[str] = field(default_factory=set)
    other_channels: list[str] = field(default_factory=list)


def _warn(message: str, category: type[Warning] = UserWarning) -> None:
    """``warnings.warn`` attributed to the first caller outside this module."""
    level, frame = 2, sys._getframe(1)  # stacklevel 2 is the frame calling _warn
    while frame is not None and frame.f_code.co_filename == __file__:
        frame, level = frame.f_back, level + 1
    warnings.warn(message, category, stacklevel=level)


def _check_fs(file: str, file_fs: float, fs: float | None) -> float:
    if fs is not None and not math.isclose(float(fs), float(file_fs), rel_tol=1e-6):
        raise ValueError(
            f"{file}: the file is sampled at {file_fs:g} Hz but fs={fs:g} was given; "
            "expected no fs or the file's rate (resample with l2g.preprocess)"
        )
    return float(file_fs)


def _assemble(
    signal: np.ndarray,
    channels: Sequence[str],
    fs: float,
    *,
    file: str,
    name: str,
    nan_policy: str,
    source_format: str,
    units: Sequence[str] | None = None,
    info: _Info | None = None,
) -> Record:
    """Turn (channels, samples) samples into a standard 12-lead Record.

    Maps channel names to leads, converts ECG leads to mV from ``units``,
    applies the NaN policy and the statuses found in L2G comments.
    """
    info = info or _Info()
    signal = np.asarray(signal, dtype=np.float64)
    if signal.ndim != 2 or signal.shape[0] != len(channels):
        raise ValueError(f"{file}: {len(channels)} channel names for samples of shape {signal.shape}; "
                         "expected one name per channel")
    if signal.shape[1] == 0:
        raise ValueError(f"{file}: the record has zero samples; expected at least one sample per lead")
    leads: list[str] = []
    rows: list[np.ndarray] = []
    raw_of: dict[str, str] = {}
    other = list(info.other_channels)
    for k, raw in enumerate(channels):
        canon = normalize_lead_name(raw)
        if canon is None:
            other.append(str(raw).strip())
            continue
        if canon in raw_of:
            raise ValueError(
                f"{file}: channels {raw_of[canon]!r} and {raw!r} are both lead {canon}; "
                "expected each lead at most once"
            )
        raw_of[canon] = raw
        row = signal[k]
        if units is not None:
            factor = to_mv_factor(units[k])
            if factor is None:
                raise ValueError(
                    f"{file}: lead {raw!r} has unit {units[k]!r}; expected mV, uV (µV), nV or V"
                )
            row = row * factor if factor != 1.0 else row
        leads.append(canon)
        rows.append(row)
    if other:
        _warn(f"{file}: ignoring channel(s) that are not ECG leads: {', '.join(other)}")
    if not leads:
        raise ValueError(
            f"{file}: no ECG lead among the channels {list(channels)}; expected names such as "
            f"{', '.join(LEADS)}"
        )
    status: list[LeadStatus] = []
    for i, (lead, row) in enumerate(zip(leads, rows, strict=True)):
        bad = ~np.isfinite(row)
        if bad.all():
            rows[i] = np.full_like(row, np.nan)
            status.append(ABSENT)
            continue
        if bad.any():
            rows[i] = _apply_nan_policy(row, bad, lead, fs=fs, file=file, nan_policy=nan_policy)
            if nan_policy == "absent":
                status.append(ABSENT)
                continue
        status.append(GENERATED if lead in info.generated else RECORDED)
    _check_plausible(leads, rows, status, file=file)
    meta = Metadata(
        age=info.age,
        sex=info.sex,
        diagnoses=tuple(info.diagnoses),
        comments=tuple(info.comments),
        fields=dict(info.fields),
        other_channels=tuple(other),
        provenance=info.provenance,
    )
    # straight into the 12 canonical rows: one (leads, samples) copy less than Record(...).standardize(),
    # which matters for a 24-hour record
    signal12 = np.full((len(LEADS), signal.shape[1]), np.nan, dtype=np.float32)
    status12: list[LeadStatus] = [ABSENT] * len(LEADS)
    for lead, row, st in zip(leads, rows, status, strict=True):
        signal12[LEADS.index(lead)] = row
        status12[LEADS.index(lead)] = st
    return Record(signal=signal12, fs=fs, leads=LEADS, status=tuple(status12), name=name, meta=meta,
                  source_format=source_format)


def _check_plausible(leads: Sequence[str], rows: Sequence[np.ndarray], status: Sequence[LeadStatus], *,
                     file: str) -> None:
    """Warn about flat, saturated and implausibly large leads (one warning per kind, naming the leads)."""
    flat, saturated, huge = [], [], []
    for lead, row, st in zip(leads, rows, status, strict=True):
        if st == ABSENT:
            continue
        lo, hi = float(row.min()), float(row.max())
        if hi - lo < FLAT_MV:
            flat.append(lead)
            continue
        if hi - lo > MAX_PLAUSIBLE_MV:
            huge.append(f"{lead} {hi - lo:.4g} mV")
        share = _saturated_share(row, lo, hi)
        if share >= SATURATED_FRACTION:
            saturated.append((lead, share))
    if flat:
        _warn(f"{file}: {_leads_are(flat)} flat (peak-to-peak below {FLAT_MV:g} mV over the whole record): "
              "electrode off? Kept as recorded")
    if saturated:
        shares = ", ".join(f"{share:.1%}" for _, share in saturated)
        _warn(f"{file}: {_leads_are([lead for lead, _ in saturated])} saturated: {shares} of the samples sit at "
              f"the lead's maximum or minimum (expected under {SATURATED_FRACTION:.0%}); clipped by the amplifier?")
    if huge:
        _warn(f"{file}: peak-to-peak amplitude {', '.join(huge)}; expected at most {MAX_PLAUSIBLE_MV:g} mV "
              "for an ECG: values in µV labelled as mV? Check the file's units")


def _leads_are(items: Sequence[str]) -> str:
    return f"lead {items[0]} is" if len(items) == 1 else f"leads {', '.join(items)} are"


def _saturated_share(row: np.ndarray, lo: float, hi: float) -> float:
    """Share of samples in runs of at least 3 equal samples at ``lo`` or ``hi`` (a real ECG never sits still)."""
    stuck = 0
    for level in (lo, hi):
        at = np.concatenate([[False], row == level, [False]])
        edges = np.flatnonzero(at[1:] != at[:-1])
        runs = edges[1::2] - edges[::2]
        stuck += int(runs[runs >= 3].sum())
    return stuck / row.size


def _apply_nan_policy(
    row: np.ndarray, bad: np.ndarray, lead: str, *, fs: float, file: str, nan_policy: str
) -> np.ndarray:
    first = int(np.flatnonzero(bad)[0])
    count = int(bad.sum())
    if nan_policy == "raise":
        raise ValueError(
            f"{file}: lead {lead} has {count} missing (NaN) samples, the first at t={first / fs:.3f} s; "
            "expected finite samples (or pass nan_policy='absent' or 'interpolate')"
        )
    if nan_policy == "absent":
        _warn(f"{file}: lead {lead} has {count} missing samples (first at t={first / fs:.3f} s); "
              "it is treated as absent")
        return np.full_like(row, np.nan)
    # interpolate: runs of NaN must each be shorter than MAX_GAP_S
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = stops - starts
    worst = int(np.argmax(lengths))
    if lengths[worst] / fs >= MAX_GAP_S:
        raise ValueError(
            f"{file}: lead {lead} has a gap of {lengths[worst]} missing samples "
            f"({lengths[worst] / fs:.3f} s) at t={starts[worst] / fs:.3f} s; expected gaps shorter than "
            f"{MAX_GAP_S} s for nan_policy='interpolate' (use nan_policy='absent' to drop the lead)"
        )
    idx = np.arange(row.size)
    out = row.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], row[~bad])
    _warn(f"{file}: lead {lead}: interpolated {count} missing samples in {lengths.size} gap(s)")
    return out


# ================================================================= uploads
def _as_uploads(source: Any) -> list[tuple[str, bytes]] | None:
    """The uploads in ``source`` as (name, bytes) pairs, or None if ``source`` is a path."""
    if isinstance(source, (str, os.PathLike)):
        return None
    if isinstance(source, (bytes, bytearray, memoryview)):
        raise ValueError("raw bytes without a file name; expected [(filename, bytes)] so the format is known")
    if hasattr(source, "getvalue") and hasattr(source, "name"):
        source = [source]
    elif (isinstance(source, tuple) and len(source) == 2 and isinstance(source[0], str)
          and isinstance(source[1], (bytes, bytearray, memoryview))):
        source = [source]
    if not isinstance(source, Iterable):
        raise ValueError(f"cannot read {type(source).__name__}; expected a path or a list of "
                         "(filename, bytes) uploads")
    out: list[tuple[str, bytes]] = []
    for item in source:
        if hasattr(item, "getvalue") and hasattr(item, "name"):
            out.append((str(item.name), bytes(item.getvalue())))
        elif isinstance(item, (tuple, list)) and len(item) == 2:
            fname, data = item
            if not isinstance(data, (bytes, bytearray, memoryview)):
                raise ValueError(f"upload {fname!r}: content is {type(data).__name__}; expected bytes")
            out.append((str(fname), bytes(data)))
        else:
            raise ValueError(f"upload item {item!r} is not valid; expected (filename, bytes) "
                             "or an object with .name and .getvalue()")
    if not out:
        raise ValueError("no files uploaded; expected a record (.hea + .dat/.mat, .edf, .csv, .h5 or .zip)")
    return out


def _safe_basename(fname: str) -> str:
    base = re.split(r"[\\/]", fname)[-1].strip()
    if base in ("", ".", "..") or "\x00" in base:
        raise ValueError(f"upload {fname!r}: not a usable file name; expected a plain file name")
    return base


def _read_uploads(uploads: list[tuple[str, bytes]], *, fs: float | None, nan_policy: str,
                  name: str | None) -> Record:
    total = sum(len(data) for _, data in uploads)
    if total > MAX_UPLOAD_BYTES:
        more = f" and {len(uploads) - 3} more" if len(uploads) > 3 else ""
        names = ", ".join(name for name, _ in uploads[:3]) + more
        raise ValueError(f"upload {names}: {total} bytes in all; expected at most {MAX_UPLOAD_BYTES} bytes")
    with tempfile.TemporaryDirectory(prefix="l2g-upload-") as tmp:
        root = Path(tmp)
        os.chmod(root, 0o700)
        seen: set[str] = set()
        for fname, data in uploads:
            base = _safe_basename(fname)
            if base in seen:
                raise ValueError(f"uploads: two files named {base!r}; expected distinct file names")
            seen.add(base)
            (root / base).write_bytes(data)
        files = sorted(root.iterdir())
        zips = [p for p in files if p.suffix.lower() == ".zip"]
        if len(files) == 1 and _magic(files[0], 4) == _ZIP_MAGIC:
            zips = files
        if zips:
            if len(files) > 1:
                raise ValueError(f"uploads: a zip together with other files ({', '.join(p.name for p in files)});"
                                 " expected one zip or the record's files")
            inner = root / "unzipped"
            inner.mkdir(mode=0o700)
            _extract_zip(zips[0], inner)
            files = sorted(p for p in inner.iterdir() if p.is_file())
        main = _pick_main(files, what="uploads")
        _refuse_nested_zip(main)
        prefix = str(main.parent) + os.sep
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                rec = _read_path(main, fs=fs, nan_policy=nan_policy, name=name or main.stem)
            except ValueError as exc:
                # the private temporary path means nothing to the user
                raise type(exc)(str(exc).replace(prefix, "")) from None
        for w in caught:
            _warn(str(w.message).replace(prefix, ""), w.category)
        return rec


def _extract_zip(archive: Path, dest: Path) -> None:
    """Extract ``archive`` into ``dest`` by basename, refusing unsafe paths and zip bombs."""
    try:
        zf = zipfile.ZipFile(archive)
    except (zipfile.BadZipFile, OSError) as exc:
        raise ValueError(f"{archive.name}: not a readable zip file ({exc}); expected a .zip archive") from exc
    with zf:
        infos = [i for i in zf.infolist() if not i.is_dir()]
        for info in infos:
            parts = re.split(r"[\\/]", info.filename)
            if info.filename.startswith(("/", "\\")) or re.match(r"^[A-Za-z]:", info.filename) or ".." in parts:
                raise ValueError(f"{archive.name}: entry {info.filename!r} has an absolute or parent path; "
                                 "expected plain relative names")
        infos = [i for i in infos if not i.filename.startswith("__MACOSX")
                 and not _safe_basename(i.filename).startswith(".")]
        if len(infos) > MAX_ZIP_ENTRIES:
            raise ValueError(f"{archive.name}: {len(infos)} files; expected at most {MAX_ZIP_ENTRIES}")
        declared = sum(i.file_size for i in infos)
        if declared > MAX_UPLOAD_BYTES:
            raise ValueError(f"{archive.name}: {declared} bytes uncompressed; expected at most "
                             f"{MAX_UPLOAD_BYTES} bytes")
        written = 0
        seen: set[str] = set()
        for info in infos:
            base = _safe_basename(info.filename)
            if base in seen:
                raise ValueError(f"{archive.name}: two entries named {base!r}; expected distinct file names")
            seen.add(base)
            if info.file_size > 1024 * 1024 and info.file_size > MAX_ZIP_RATIO * max(info.compress_size, 1):
                raise ValueError(
                    f"{archive.name}: entry {info.filename!r} expands {info.file_size / max(info.compress_size, 1):.0f}"
                    f"-fold; expected a compression ratio below {MAX_ZIP_RATIO:.0f} (zip bomb?)"
                )
            size = 0
            try:
                with zf.open(info) as src, open(dest / base, "wb") as dst:
                    while chunk := src.read(1 << 20):
                        size += len(chunk)
                        written += len(chunk)
                        if size > info.file_size or written > MAX_UPLOAD_BYTES:
                            raise ValueError(f"{archive.name}: entry {info.filename!r} is larger than declared; "
                                             "expected an intact archive (zip bomb?)")
                        dst.write(chunk)
            except (zipfile.BadZipFile, RuntimeError, NotImplementedError, OSError, EOFError) as exc:
                raise ValueError(f"{archive.name}: cannot extract {info.filename!r} ({exc}); "
                                 "expected an unencrypted, intact zip") from exc


def _refuse_nested_zip(path: Path) -> None:
    if path.suffix.lower() == ".zip" or _magic(path, 4) == _ZIP_MAGIC:
        raise ValueError(f"{path.name}: a zip inside a zip; expected the record's files directly in the zip")


def _pick_main(files: Sequence[Path], *, what: str) -> Path:
    """The file to read among uploaded/unzipped files: .hea > .h5 > .edf > .csv."""
    by_kind: dict[str, list[Path]] = {}
    for p in files:
        ext = p.suffix.lower()
        kind = ("hea" if ext == ".hea" else "hdf5" if ext in _HDF5_EXT else "edf" if ext in _EDF_EXT
                else "csv" if ext in _CSV_EXT else "mat" if ext in (".mat", ".dat") else "other")
        by_kind.setdefault(kind, []).append(p)
    for kind in ("hea", "hdf5", "edf"):
        if kind in by_kind:
            if len(by_kind[kind]) > 1:
                raise ValueError(f"{what}: several records ({', '.join(p.name for p in by_kind[kind])}); "
                                 "expected one record per upload")
            return by_kind[kind][0]
    csvs = [p for p in by_kind.get("csv", []) if p.name.lower() != "metadata.csv"] or by_kind.get("csv", [])
    if len(csvs) == 1:
        return csvs[0]
    if len(csvs) > 1:
        raise ValueError(f"{what}: several CSV files ({', '.join(p.name for p in csvs)}); expected one record")
    if "mat" in by_kind:
        raise ValueError(f"{what}: {by_kind['mat'][0].name} without its .hea header; "
                         "expected the .hea uploaded together with the .dat/.mat")
    if len(files) == 1:
        return files[0]  # unknown extension: let content sniffing decide
    names = ", ".join(p.name for p in files) or "nothing"
    raise ValueError(f"{what}: no record found among {names}; expected .hea + .dat/.mat, .edf, .csv, .h5 or .zip")


# ================================================================ dispatch
def _magic(path: Path, n: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _read_path(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; expected a record file")
    ext = path.suffix.lower()
    if not path.exists():
        hea = Path(str(path) + ".hea")
        if ext not in (*_WFDB_EXT, *_CSV_EXT, *_HDF5_EXT, *_EDF_EXT, ".zip") and hea.exists():
            return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
        raise ValueError(f"{path}: file not found; expected an existing record file")
    if ext in _WFDB_EXT:
        hea = path.with_suffix(".hea")
        if not hea.exists():
            raise ValueError(f"{path}: no header {hea.name} beside it; expected a WFDB/Challenge record "
                             "with its .hea file")
        return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
    head = _magic(path, 8)
    if head == _HDF5_MAGIC:
        return _read_hdf5(path, fs=fs, nan_policy=nan_policy, name=name)
    if head[:4] == _ZIP_MAGIC:
        with tempfile.TemporaryDirectory(prefix="l2g-zip-") as tmp:
            root = Path(tmp)
            os.chmod(root, 0o700)
            _extract_zip(path, root)
            main = _pick_main(sorted(p for p in root.iterdir() if p.is_file()), what=path.name)
            _refuse_nested_zip(main)
            prefix = str(root) + os.sep
            try:
                return _read_path(main, fs=fs, nan_policy=nan_policy, name=name or main.stem)
            except ValueError as exc:
                raise type(exc)(f"{path.name}: " + str(exc).replace(prefix, "")) from None
    if ext in _EDF_EXT or head == _EDF_MAGIC:
        return _read_edf(path, fs=fs, nan_policy=nan_policy, name=name)
    if ext in _HDF5_EXT:
        raise ValueError(f"{path}: not an HDF5 file (bad signature); expected an HDF5 file")
    if ext == ".zip":
        raise ValueError(f"{path}: not a zip file (bad signature); expected a .zip archive")
    if ext in _CSV_EXT or _looks_like_text(path):
        return _read_csv(path, fs=fs, nan_policy=nan_policy, name=name)
    raise ValueError(f"{path}: unknown file type; expected .hea/.dat/.mat (WFDB), .edf, .csv, .h5 or .zip")


def _looks_like_text(path: Path) -> bool:
    head = _magic(path, 4096)
    if not head or b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True


# ============================================================ WFDB header
_NUM = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
_RECORD_LINE = re.compile(
    rf"^(?P<name>[-\w]+)(?:/(?P<nseg>\d+))?\s+(?P<nsig>\d+)"
    rf"(?:\s+(?P<fs>{_NUM})(?:/{_NUM}(?:\({_NUM}\))?)?(?:\s+(?P<len>\d+)(?:\s+\S.*)?)?)?\s*$"
)
_SIGNAL_LINE = re.compile(
    rf"^(?P<file>\S+)\s+(?P<fmt>\d+)(?:x(?P<spf>\d+))?(?::(?P<skew>\d+))?(?:\+(?P<off>\d+))?"
    rf"(?:\s+(?P<gain>{_NUM})(?:\((?P<base>[-+]?\d+)\))?(?:/(?P<units>\S+))?"
    r"(?:\s+(?P<res>\d+)(?:\s+(?P<zero>[-+]?\d+)(?:\s+(?P<init>[-+]?\d+)(?:\s+(?P<cksum>[-+]?\d+)"
    r"(?:\s+(?P<bsize>\d+)(?:\s+(?P<desc>\S.*?))?)?)?)?)?)?)?\s*$"
)
_RECORD_EXPECT = "'<record> <n_signals> <fs> <n_samples> [time [date]]'"
_SIGNAL_EXPECT = ("'<file> <format>[x<spf>][:<skew>][+<offset>] <gain>[(<baseline>)][/<units>] "
                  "<adc_res> <adc_zero> <init> <checksum> <block_size> <lead name>'")
_BYTES_PER_SAMPLE = {"8": 1.0, "16": 2.0, "24": 3.0, "32": 4.0, "61": 2.0, "80": 1.0, "160": 2.0,
                     "212": 1.5, "310": 4 / 3, "311": 4 / 3, "508": 0.0, "516": 0.0, "524": 0.0}


@dataclass
class _SignalSpec:
    line: int
    file: str
    fmt: str
    spf: int
    offset: int
    gain: float
    baseline: int
    units: str | None
    name: str


@dataclass
class _Header:
    n_sig: int
    fs: float | None
    sig_len: int | None
    signals: list[_SignalSpec]
    comments: list[str]


def _excerpt(line: str, width: int = 60) -> str:
    """``repr`` of a header line, cut to ``width`` characters (binary garbage makes very long lines)."""
    return repr(line) if len(line) <= width else repr(line[:width]) + "..."


def _parse_header(hea: Path) -> _Header:
    """Validate a WFDB header line by line (wfdb's own errors give no line number)."""
    raw = hea.read_bytes()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        text = raw.decode("latin-1")
    record: re.Match[str] | None = None
    signals: list[_SignalSpec] = []
    comments: list[str] = []
    n_sig = 0
    for lineno, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            comments.append(stripped[1:].strip())
            continue
        if record is None:
            record = _RECORD_LINE.match(stripped)
            if record is None:
                raise ValueError(f"{hea}: line {lineno}: cannot parse the record line {_excerpt(stripped)}; "
                                 f"expected {_RECORD_EXPECT}")
            if record["nseg"]:
                raise ValueError(f"{hea}: line {lineno}: multi-segment records are not supported; "
                                 "expected a single-segment record")
            n_sig = int(record["nsig"])
            continue
        if len(signals) >= n_sig:
            raise ValueError(f"{hea}: line {lineno}: unexpected line {_excerpt(stripped)} after {n_sig} signal lines; "
                             "expected only '#' comments")
        m = _SIGNAL_LINE.match(stripped)
        if m is None or m["fmt"] not in _BYTES_PER_SAMPLE:
            what = f"unknown format {m['fmt']!r}" if m else f"cannot parse the signal line {_excerpt(stripped)}"
            raise ValueError(f"{hea}: line {lineno}: {what}; expected {_SIGNAL_EXPECT}")
        if re.search(r"[\\/]", m["file"]) or m["file"] in (".", ".."):
            raise ValueError(f"{hea}: line {lineno}: signal file {m['file']!r} is outside the header's folder; "
                             "expected a plain file name next to the header")
        gain = float(m["gain"]) if m["gain"] else 200.0
        signals.append(_SignalSpec(
            line=lineno, file=m["file"], fmt=m["fmt"], spf=int(m["spf"] or 1), offset=int(m["off"] or 0),
            gain=gain if gain != 0 else 200.0,
            baseline=int(m["base"]) if m["base"] else int(m["zero"] or 0),  # WFDB default: adc_zero
            units=m["units"], name=(m["desc"] or "").strip(),
        ))
    if record is None:
        raise ValueError(f"{hea}: no record line; expected a WFDB header starting with {_RECORD_EXPECT}")
    if len(signals) < n_sig:
        raise ValueError(f"{hea}: the header declares {n_sig} signals but has {len(signals)} signal lines; "
                         f"expected {n_sig} lines like {_SIGNAL_EXPECT}")
    return _Header(
        n_sig=n_sig,
        fs=float(record["fs"]) if record["fs"] else None,
        sig_len=int(record["len"]) if record["len"] else None,
        signals=signals,
        comments=comments,
    )


# ===================================================== header comments
_KEY_VALUE = re.compile(r"^<?(?P<key>[A-Za-z][\w .\-/()]{0,40}?)>?\s*:\s*(?P<value>.*)$")


def _parse_age(value: str, file: str) -> float | None:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)", value)
    if m is None:
        return None  # NaN, Unknown, empty...
    age = float(m.group(1))
    if not 0 <= age <= 130:
        # PTB-XL codes ages over 89 as 300; the raw value is kept in meta.fields["Age"]
        _warn(f"{file}: age {value!r} is outside 0-130 years; kept only as the field 'Age'")
        return None
    return age


def _parse_sex(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("f", "female", "woman", "w"):
        return "F"
    if v in ("m", "male", "man"):
        return "M"
    return None


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,;]", value) if c.strip()]


def _snomed_diagnoses(value: str) -> list[Diagnosis]:
    out = []
    for code in _split_codes(value):
        if code.isdigit():
            out.append(Diagnosis(code=code, name=snomed_name(code), system="SNOMED-CT"))
        else:
            out.append(Diagnosis(code="", name=code, system="text"))
    return out


def _parse_comments(lines: Iterable[str], file: str) -> _Info:
    """Header comment lines (without '#') -> metadata, tolerant of the Challenge/LUDB/PTB-XL styles."""
    info = _Info()
    in_ludb_diagnoses = False
    for line in lines:
        text = line.strip()
        if not text:
            continue
        if in_ludb_diagnoses:
            info.diagnoses.append(Diagnosis(code="", name=text, system="text"))
            continue
        m = _KEY_VALUE.match(text)
        if m is None:
            info.comments.append(text)
            continue
        key, value = m["key"].strip(), m["value"].strip()
        low = key.lower()
        if low == "age":
            info.age = _parse_age(value, file)
            if info.age is None and re.match(r"^\s*\d", value):
                info.fields[key] = value  # out of range (e.g. PTB-XL's 300): keep the raw value
        elif low in ("sex", "gender"):
            info.sex = _parse_sex(value)
        elif low == "dx":
            info.diagnoses += _snomed_diagnoses(value)
        elif low == "labels":
            info.diagnoses += [Diagnosis(code=c, name=_PTBXL_LABELS.get(c.upper(), ""), system="PTB-XL")
                               for c in _split_codes(value)]
        elif low in ("aha", "aha_code"):
            info.diagnoses += [Diagnosis(code=c, name="", system="AHA") for c in _split_codes(value)]
        elif low == "diagnosis":
            info.diagnoses.append(Diagnosis(code="", name=value, system="text"))
        elif low == "diagnoses" and text.startswith("<"):
            in_ludb_diagnoses = True  # LUDB: every following comment line is a diagnosis
            if value:
                info.diagnoses.append(Diagnosis(code="", name=value, system="text"))
        elif low == "l2g":
            if not _parse_l2g(value, info):
                info.comments.append(text)
        else:
            info.fields[key] = value
    return info


def _parse_l2g(value: str, info: _Info) -> bool:
    """Parse one ``L2G: ...`` comment into ``info``; False if it is not one we write."""
    m = re.match(r"^lead status:\s*(.*)$", value)
    if m:
        for item in _split_codes(m.group(1)):
            lead, _, st = item.partition("=")
            canon = normalize_lead_name(lead)
            if canon and st.strip() == GENERATED:
                info.generated.add(canon)
        return True
    m = re.match(r"^generated leads:\s*([^()]*)", value)
    if m:
        info.generated.update(c for c in (normalize_lead_name(x) for x in _split_codes(m.group(1))) if c)
        return True
    m = re.match(r"^generated from:\s*(?P<avail>.*?)\s+by\s+(?P<method>\S+)(?:\s+(?P<version>.*))?$", value)
    if m:
        avail = tuple(c for c in (normalize_lead_name(x) for x in _split_codes(m["avail"])) if c)
        info.provenance = Provenance(method=m["method"], model_version=(m["version"] or "").strip(),
                                     available=avail)
        return True
    return False


def header_comments(rec: Record) -> list[str]:
    """The header comment lines :func:`write_wfdb` writes for ``rec`` (what :func:`read_record` parses back).

    Challenge-style ``Age:``, ``Sex:``, ``Dx:`` lines plus, when ``rec`` holds
    generated leads, the ``L2G:`` lines: lead status, which leads are generated
    (not recorded), and from which leads by which model. A record with canonical
    lead order is expected (see :meth:`l2g.record.Record.standardize`).

    Returns
    -------
    list of str
        One comment per line, without the leading ``#``.
    """
    meta = rec.meta
    out: list[str] = []
    if meta.age is not None:
        out.append(f"Age: {meta.age:g}")
    if meta.sex is not None:
        out.append(f"Sex: {'Female' if meta.sex == 'F' else 'Male'}")
    by_system: dict[str, list[Diagnosis]] = {}
    for d in meta.diagnoses:
        by_system.setdefault(d.system, []).append(d)
    coded = {"SNOMED-CT": ("Dx", ","), "PTB-XL": ("Labels", ", "), "AHA": ("AHA", ",")}
    for system, items in by_system.items():  # systems in order of first appearance
        if system in coded and all(d.code for d in items):
            key, sep = coded[system]
            out.append(f"{key}: " + sep.join(d.code for d in items))
        else:
            out += [f"Diagnosis: {d.label()}" for d in items]
    out += [f"{k}: {v}" for k, v in meta.fields.items()]
    out += list(meta.comments)
    out.append("L2G: lead status: " + ",".join(f"{lead}={st}" for lead, st in zip(rec.leads, rec.status,
                                                                                    strict=True)))
    if rec.generated_leads:
        out.append(f"L2G: generated leads: {','.join(rec.generated_leads)} (not recorded)")
    if meta.provenance is not None:
        p = meta.provenance
        out.append(f"L2G: generated from: {','.join(p.available) or '-'} by {p.method} {p.model_version}".rstrip())
    return [" ".join(str(c).split()) for c in out]  # one line each


# =========================================================== WFDB reading
def _check_signal_files(hea: Path, header: _Header) -> list[str]:
    """Every signal file exists and holds the samples the header promises (more: a warning).

    Returns the names of the signal files that are larger than the header declares.
    """
    larger: list[str] = []
    per_file: dict[str, list[_SignalSpec]] = {}
    for s in header.signals:
        per_file.setdefault(s.file, []).append(s)
    for fname, specs in per_file.items():
        path = hea.parent / fname
        if not path.is_file():
            raise ValueError(f"{hea}: signal file {fname!r} (line {specs[0].line}) not found; expected it "
                             f"next to the header")
        bps = _BYTES_PER_SAMPLE[specs[0].fmt]
        if header.sig_len is None or bps == 0 or path.suffix.lower() == ".mat" or _magic(path, 6) == b"MATLAB":
            continue  # length inferred by wfdb / compressed format / checked by _mat_layout
        frame = sum(s.spf for s in specs)
        need = specs[0].offset + math.floor(header.sig_len * frame * bps)
        have = path.stat().st_size
        if have < need:
            held = int((have - specs[0].offset) / (frame * bps)) if have > specs[0].offset else 0
            raise ValueError(
                f"{path}: truncated: holds {have} bytes ({held} samples per signal) but the header promises "
                f"{header.sig_len} samples; expected at least {need} bytes"
            )
        if have - need >= frame * bps:  # at least one whole frame more than declared
            _warn(f"{path}: holds {have} bytes but {header.sig_len} samples of {len(specs)} signal(s) in format "
                  f"{specs[0].fmt} take {need}; only those are read (wrong format or length in {hea.name}?)")
            larger.append(fname)
    return larger


def _mat_layout(mat: Path, hea: Path, header: _Header) -> str:
    """``"v4"`` if wfdb can read ``mat`` as the header says, ``"loadmat"`` if scipy must, else raise."""
    head = _magic(mat, 128)
    if head.startswith(b"MATLAB"):
        if b"MATLAB 7.3" in head[:20]:
            raise ValueError(f"{mat}: MATLAB v7.3 (HDF5) files are not supported; expected a v4 or v5 MAT file")
        return "loadmat"  # v5: 116-byte text header, tagged data; wfdb would read garbage
    if len(head) < 20:
        raise ValueError(f"{mat}: {len(head)} bytes, too short for a MAT file; expected a MATLAB v4 header")
    mopt, mrows, ncols, imagf, namlen = struct.unpack("<5i", head[:20])
    if not (0 <= mopt < 1000 and mopt % 10 == 0 and imagf == 0 and 0 < namlen < 64 and mrows > 0 and ncols >= 0):
        mopt_be = struct.unpack(">5i", head[:20])[0]
        if 1000 <= mopt_be < 2000:
            return "loadmat"  # big-endian v4
        raise ValueError(f"{mat}: not a MATLAB v4 or v5 MAT file (header {head[:20].hex()}); "
                         "expected a Challenge .mat file")
    precision = (mopt // 10) % 10  # 0 double, 1 single, 2 int32, 3 int16, 4 uint16, 5 uint8
    itemsize = {0: 8, 1: 4, 2: 4, 3: 2, 4: 2, 5: 1}.get(precision)
    if itemsize is None:
        raise ValueError(f"{mat}: unknown MATLAB v4 data type {mopt}; expected int16 data")
    data_off = 20 + namlen
    have_cols = (mat.stat().st_size - data_off) // (itemsize * mrows)
    if mrows != header.n_sig:
        raise ValueError(f"{mat}: holds a {mrows}x{ncols} matrix but {hea.name} declares {header.n_sig} signals; "
                         f"expected {header.n_sig} rows")
    if have_cols < ncols:
        raise ValueError(f"{mat}: truncated: holds {have_cols} of the {ncols} samples its MAT header declares; "
                         "expected a complete file")
    if header.sig_len is not None and ncols < header.sig_len:
        raise ValueError(f"{mat}: holds {ncols} samples per signal but {hea.name} promises {header.sig_len}; "
                         "expected a complete file")
    s = header.signals
    wfdb_ok = (
        len({x.file for x in s}) == 1
        and all(x.spf == 1 for x in s)
        and all(x.offset == data_off for x in s)
        and all((x.fmt, precision) in (("16", 3), ("32", 2)) for x in s)
    )
    if wfdb_ok and header.sig_len is not None and ncols > header.sig_len:  # loadmat layouts: warned when read
        _warn(f"{mat}: holds {ncols} samples per signal but {hea.name} declares {header.sig_len}; "
              "only those are read (wrong length in the header?)")
    return "v4" if wfdb_ok else "loadmat"


def _read_wfdb(hea: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    import wfdb

    header = _parse_header(hea)
    info = _parse_comments(header.comments, str(hea))
    if header.n_sig == 0:
        raise ValueError(f"{hea}: the header declares no signals; expected ECG leads")
    if header.sig_len == 0:
        raise ValueError(f"{hea}: the record has zero samples; expected at least one sample per lead")
    _check_length(str(hea), header.sig_len, header.fs)
    larger = _check_signal_files(hea, header)
    files = {s.file for s in header.signals}
    mats = [f for f in files if f.lower().endswith(".mat") or _magic(hea.parent / f, 6) == b"MATLAB"]
    if mats and len(files) > 1:
        raise ValueError(f"{hea}: signals split over several files including a .mat; expected one .mat file")
    layout = _mat_layout(hea.parent / mats[0], hea, header) if mats else "dat"
    rec_name = name or hea.stem
    source_format = "wfdb-mat" if mats else "wfdb"
    if layout == "loadmat":
        signal = _read_mat_loadmat(hea.parent / mats[0], hea, header)
        names = [s.name for s in header.signals]
        units = [s.units or "mV" for s in header.signals]
    else:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")  # wfdb warns about things we check ourselves
                wrec = wfdb.rdrecord(str(hea.with_suffix("")), physical=True)
        except Exception as exc:  # wfdb raises many exception types; report them uniformly
            raise ValueError(f"{hea}: wfdb cannot read the record ({type(exc).__name__}: {exc}); "
                             "expected a valid WFDB record") from exc
        if wrec.p_signal is None:
            raise ValueError(f"{hea}: wfdb returned no samples; expected a single-segment record")
        signal = np.asarray(wrec.p_signal, dtype=np.float64).T
        if header.sig_len is not None and signal.shape[1] != header.sig_len:
            raise ValueError(f"{hea}: read {signal.shape[1]} samples per signal but the header promises "
                             f"{header.sig_len}; expected a complete signal file")
        names = list(wrec.sig_name)
        units = [s.units or "mV" for s in header.signals]  # as written (wfdb mangles e.g. "µV")
    if header.fs is not None:
        fs = _check_fs(str(hea), header.fs, fs)
    elif fs is None:  # the WFDB default of 250 Hz is a guess we do not make for an ECG
        raise ValueError(f"{hea}: no sampling rate on the record line; expected {_RECORD_EXPECT} "
                         "or the fs argument")
    try:
        return _assemble(signal, names, fs, file=str(hea), name=rec_name,
                         nan_policy=nan_policy, source_format=source_format, units=units, info=info)
    except ValueError as exc:
        if larger and "missing (NaN) samples" in str(exc):
            # invalid-sample codes in data decoded with the wrong format: say so, not just "missing samples"
            raise ValueError(f"{exc}; {', '.join(larger)} is larger than {hea.name} declares, so the format "
                             f"code in {hea.name} is probably wrong") from None
        raise


def _read_mat_loadmat(mat: Path, hea: Path, header: _Header) -> np.ndarray:
    """Read a Challenge .mat with scipy (v4 with an unusual layout, or v5) and apply the .hea scaling."""
    import scipy.io

    try:
        content = scipy.io.loadmat(str(mat))
    except (ValueError, TypeError, OSError, NotImplementedError) as exc:
        raise ValueError(f"{mat}: scipy cannot read it ({exc}); expected a MATLAB v4/v5 file with 'val'") from exc
    variables = {k: v for k, v in content.items() if not k.startswith("__")}
    if "val" in variables:
        val = variables["val"]
    elif len(variables) == 1:
        val = next(iter(variables.values()))
    else:
        raise ValueError(f"{mat}: variables {sorted(variables)}; expected one named 'val'")
    val = np.asarray(val)
    if val.ndim != 2 or val.shape[0] != header.n_sig or not np.issubdtype(val.dtype, np.number):
        raise ValueError(f"{mat}: 'val' has shape {val.shape} ({val.dtype}); expected a numeric "
                         f"({header.n_sig}, samples) matrix")
    n = val.shape[1] if header.sig_len is None else header.sig_len
    if val.shape[1] < n:
        raise ValueError(f"{mat}: holds {val.shape[1]} samples per signal but {hea.name} promises {n}; "
                         "expected a complete file")
    if val.shape[1] > n:
        _warn(f"{mat}: holds {val.shape[1]} samples per signal but {hea.name} declares {n}; "
              "only those are read (wrong length in the header?)")
    digital = val[:, :n].astype(np.float64)
    if val.dtype == np.int16:
        digital[val[:, :n] == -32768] = np.nan  # WFDB invalid sample
    gains = np.array([s.gain for s in header.signals])[:, None]
    base = np.array([s.baseline for s in header.signals], dtype=np.float64)[:, None]
    return (digital - base) / gains


# =================================================================== EDF
def _read_edf(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    """Read EDF / EDF+C (16-bit) per the EDF specification.

    Written here rather than with ``wfdb.io.convert.edf.read_edf`` because
    that (wfdb 4.3) truncates the baseline to an integer plus one (an offset
    of up to one quantisation step), prints to stdout on EDF+ annotation
    channels, averages mixed-rate channels wrongly and fails cryptically on
    truncated files.
    """
    file = str(path)
    raw_size = path.stat().st_size
    with open(path, "rb") as fh:
        fixed = fh.read(256)
        if len(fixed) < 256:
            raise ValueError(f"{file}: {len(fixed)} bytes, too short for an EDF header; expected 256 + 256 per signal")
        if fixed[:8] != _EDF_MAGIC:
            what = "a BDF (24-bit) file" if fixed[1:8] == b"BIOSEMI" else f"version {fixed[:8]!r}"
            raise ValueError(f"{file}: {what} is not supported; expected EDF (version '0')")

        def field_(block: bytes, start: int, width: int, label: str, conv: Any = str) -> Any:
            text = block[start:start + width].decode("latin-1").strip()
            try:
                return conv(text)
            except ValueError:
                raise ValueError(f"{file}: EDF header field '{label}' (bytes {start}-{start + width}) is "
                                 f"{text!r}; expected a {conv.__name__}") from None

        patient = field_(fixed, 8, 80, "patient")
        recording = field_(fixed, 88, 80, "recording")
        header_bytes = field_(fixed, 184, 8, "header bytes", int)
        reserved = field_(fixed, 192, 44, "reserved")
        n_records = field_(fixed, 236, 8, "number of data records", int)
        duration = field_(fixed, 244, 8, "duration of a data record", float)
        ns = field_(fixed, 252, 4, "number of signals", int)
        if reserved.startswith("EDF+D"):
            raise ValueError(f"{file}: EDF+D (interrupted recording) is not supported; expected EDF or EDF+C")
        if ns < 1 or header_bytes != 256 * (ns + 1):
            raise ValueError(f"{file}: header declares {ns} signals and {header_bytes} header bytes; "
                             f"expected 256 * (signals + 1) bytes")
        if duration <= 0:
            raise ValueError(f"{file}: data record duration {duration}; expected a positive number of seconds")
        sh = fh.read(256 * ns)
        if len(sh) < 256 * ns:
            raise ValueError(f"{file}: truncated header; expected {header_bytes} bytes")

    def column(offset: int, width: int, label: str, conv: Any = str) -> list[Any]:
        base = offset * ns
        return [field_(sh, base + i * width, width, label, conv) for i in range(ns)]

    labels = column(0, 16, "label")
    units = column(16 + 80, 8, "physical dimension")
    pmin = np.array(column(16 + 80 + 8, 8, "physical minimum", float))
    pmax = np.array(column(16 + 80 + 16, 8, "physical maximum", float))
    dmin = np.array(column(16 + 80 + 24, 8, "digital minimum", float))
    dmax = np.array(column(16 + 80 + 32, 8, "digital maximum", float))
    nsamp = np.array(column(16 + 80 + 40 + 80, 8, "samples per data record", int))
    if (nsamp < 1).any():
        raise ValueError(f"{file}: samples per data record {nsamp.tolist()}; expected positive numbers")
    record_bytes = 2 * int(nsamp.sum())
    complete = (raw_size - header_bytes) // record_bytes if record_bytes else 0
    if n_records == -1:
        n_records = complete
    if complete < n_records:
        raise ValueError(f"{file}: truncated: holds {complete} complete data records but the header promises "
                         f"{n_records}; expected {header_bytes + n_records * record_bytes} bytes")
    _check_length(file, n_records * int(nsamp.max()), float(nsamp.max()) / duration)
    data = np.fromfile(path, dtype="<i2", count=n_records * record_bytes // 2, offset=header_bytes)
    data = data.reshape(n_records, int(nsamp.sum()))
    starts = np.concatenate([[0], np.cumsum(nsamp)])

    keep = [i for i in range(ns) if labels[i] != "EDF Annotations"]
    ecg = [i for i in keep if normalize_lead_name(labels[i]) is not None]
    rates = {labels[i]: nsamp[i] / duration for i in ecg}
    if len(set(rates.values())) > 1:
        listing = ", ".join(f"{k} {v:g} Hz" for k, v in rates.items())
        raise ValueError(f"{file}: ECG leads sampled at different rates ({listing}); expected one rate")
    if not ecg:
        raise ValueError(f"{file}: no ECG lead among the signals {labels}; expected names such as "
                         f"{', '.join(LEADS)}")
    file_fs = nsamp[ecg[0]] / duration
    other = [labels[i] for i in keep if i not in ecg]
    signal = np.empty((len(ecg), n_records * nsamp[ecg[0]]))
    for row, i in enumerate(ecg):
        if dmax[i] == dmin[i] or pmax[i] == pmin[i]:
            raise ValueError(f"{file}: signal {labels[i]!r} has an empty digital or physical range; "
                             "expected minimum < maximum")
        digital = data[:, starts[i]:starts[i + 1]].reshape(-1).astype(np.float64)
        signal[row] = pmin[i] + (digital - dmin[i]) * (pmax[i] - pmin[i]) / (dmax[i] - dmin[i])
    info = _edf_info(patient, recording, reserved)
    info.other_channels = other
    return _assemble(signal, [labels[i] for i in ecg], _check_fs(file, file_fs, fs), file=file,
                     name=name or path.stem, nan_policy=nan_policy, source_format="edf",
                     units=[units[i] for i in ecg], info=info)


def _edf_info(patient: str, recording: str, reserved: str) -> _Info:
    """Sex and age from the EDF+ patient/recording fields ('code sex birthdate name', 'Startdate dd-MMM-yyyy')."""
    info = _Info()
    if not reserved.startswith("EDF+"):
        return info  # plain EDF: the patient field is free text (often a name); not kept
    parts = patient.split()
    if len(parts) >= 2:
        info.sex = _parse_sex(parts[1])
    rec_parts = recording.split()
    if len(parts) >= 3 and len(rec_parts) >= 2 and rec_parts[0] == "Startdate":
        try:
            born = _dt.datetime.strptime(parts[2].title(), "%d-%b-%Y").date()
            start = _dt.datetime.strptime(rec_parts[1].title(), "%d-%b-%Y").date()
        except ValueError:
            return info
        age = (start - born).days / 365.25
        if 0 <= age <= 130:
            info.age = float(int(age))
    return info


# =================================================================== CSV
def _read_csv(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    file = str(path)
    if b"\x00" in _magic(path, 4096):
        raise ValueError(f"{file}: binary data (NUL bytes), not text; expected a CSV file with a first row of "
                         "lead names")
    text = path.read_text(encoding="utf-8-sig", errors="replace")
    info = _Info()
    while text.startswith("# L2G:"):  # provenance lines of the dashboard's CSV export (l2g.export.csv_bytes)
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
        file_fs = _fs_from_time(t, file, names[k])
        fs = _check_fs(file, file_fs, fs)
    elif fs is None:
        raise ValueError(f"{file}: no time column and no fs given; expected a column named "
                         "time/t/time_s/seconds/ms/time_ms or the fs argument (Hz)")
    channels, rows_idx = [], []
    for k, c in enumerate(names):
        if k in time_idx:
            continue
        base, generated = _strip_generated(c)
        if generated and (lead := normalize_lead_name(base)):
            info.generated.add(lead)
        channels.append(base if generated else c)
        rows_idx.append(k)
    _check_length(file, int(values.shape[1]), float(fs))
    return _assemble(values[rows_idx], channels, float(fs), file=file, name=name or path.stem,
                     nan_policy=nan_policy, source_format="csv", info=info)


def _strip_generated(column: str) -> tuple[str, bool]:
    if column.lower().endswith(_GENERATED_SUFFIX):
        return column[: -len(_GENERATED_SUFFIX)], True
    return column, False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


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


# ================================================================== HDF5
def _read_hdf5(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    """SPH-style HDF5: dataset ``ecg`` of shape (12, N) in mV, rows I, II, III, aVR, aVL, aVF, V1-V6."""
    import h5py

    file = str(path)
    try:
        with h5py.File(path, "r") as h5:
            if "ecg" not in h5 or not isinstance(h5["ecg"], h5py.Dataset):
                raise ValueError(f"{file}: no dataset 'ecg' (found {sorted(h5.keys())}); "
                                 "expected an SPH-style HDF5 file")
            ds = h5["ecg"]
            if len(ds.shape) == 2:
                _check_length(file, int(ds.shape[1]))
            signal = np.asarray(ds[()], dtype=np.float64)
            attr_fs = ds.attrs.get("fs", h5.attrs.get("fs"))
    except OSError as exc:
        raise ValueError(f"{file}: h5py cannot read it ({exc}); expected an HDF5 file") from exc
    if signal.ndim != 2 or signal.shape[0] != len(LEADS):
        raise ValueError(f"{file}: dataset 'ecg' has shape {signal.shape}; expected (12, samples)")
    info, meta_fs = _sph_metadata(path)
    file_fs = float(attr_fs) if attr_fs is not None else meta_fs
    if fs is None:
        fs = file_fs if file_fs is not None else SPH_FS
    elif file_fs is not None:
        fs = _check_fs(file, file_fs, fs)
    return _assemble(signal, LEADS, float(fs), file=file, name=name or path.stem, nan_policy=nan_policy,
                     source_format="hdf5", info=info)


def _sph_metadata(path: Path) -> tuple[_Info, float | None]:
    """Age, sex, diagnoses and fs for ``path`` from the SPH ``metadata.csv`` beside it, if any."""
    info = _Info()
    table = path.with_name("metadata.csv")
    if not table.is_file():
        return info, None
    with open(table, encoding="utf-8-sig", newline="") as fh:
        for row in csv.DictReader(fh):
            ident = (row.get("ECG_ID") or "").strip()
            if ident not in (path.name, path.stem):
                continue
            info.age = _parse_age(row.get("Age") or "", str(table))
            info.sex = _parse_sex(row.get("Sex") or "")
            aha = _split_codes(row.get("AHA_Code") or "")
            info.diagnoses += [Diagnosis(code=c, name="", system="AHA") for c in aha]
            info.diagnoses += _snomed_diagnoses(row.get("SNOMEDCTCode") or "")
            used = {"ECG_ID", "Age", "Sex", "AHA_Code", "SNOMEDCTCode", "fs"}
            info.fields.update({k: v.strip() for k, v in row.items() if k and k not in used and v and v.strip()})
            rate = (row.get("fs") or "").strip()
            return info, float(rate) if _is_number(rate) and float(rate) > 0 else None
    return info, None
