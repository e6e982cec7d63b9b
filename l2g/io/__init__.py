"""Read ECG records from files and uploads; write them as WFDB or CSV.

One entry point, :func:`read_record`, reads

* WFDB records (``.hea`` + ``.dat``, any format ``wfdb`` reads), including the
  PhysioNet Challenge layout ``.hea`` + ``.mat`` (MATLAB v4, read by ``wfdb``;
  MATLAB v5 files are read with :func:`scipy.io.loadmat` and scaled with the
  header's gain and baseline),
* EDF / EDF+ (continuous) files,
* CSV files (first row: lead names),
* SPH-style HDF5 files (dataset ``ecg``, shape (12, N), mV),
* ECG cart and PACS exports, recognised by content (:data:`FORMATS`, derived from the reader registry
  :func:`readers`: each format module declares ``READER = Reader(...)``): DICOM waveforms, SCP-ECG, ISHNE Holter,
  HL7 aECG, Philips SierraECG XML, GE MUSE XML, GE CardioSoft XML (see docs/DATA.md, "Formats"),
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
    Every rate, stated by a file or passed as ``fs``, is checked in one place (:func:`check_rate`): a
    rate that is not a finite number from 1 Hz to 100 kHz (:data:`FS_RANGE`) raises
    :class:`InvalidSampleRate` naming the file. The ``fs`` argument is needed only for a CSV file without a time column.
    For SPH HDF5 files it defaults to the ``fs`` column of a ``metadata.csv``
    beside the file, else to 500 Hz (the SPH rate). For every other format the
    file states the rate; an ``fs`` that disagrees with it is an error (this
    module never resamples: see :mod:`l2g.preprocess`).
Missing samples (``nan_policy``)
    WFDB "invalid" samples (-32768 in format 16) and empty CSV cells are NaN.
    A lead that is NaN everywhere is simply absent. A lead with *some* NaN:
    ``"raise"`` (default) raises :class:`MissingSamples` (a ValueError) naming the lead, the
    number of missing samples and the first time; ``"absent"`` drops the lead (a note);
    ``"interpolate"`` fills each gap shorter than 0.2 s linearly (gaps at the
    start or end hold the nearest value) and raises :class:`MissingSamples` on longer gaps.
EDF
    EDF stores whole data records, so the record length is a multiple of the
    data-record duration (a writer's padding of the last record cannot be told
    from signal). EDF+D (discontinuous) and BDF files are refused.
Channels
    Channel names are mapped to canonical leads with
    :func:`~l2g.leads.normalize_lead_name` (``"avr"``, ``"Lead II"``,
    ``"ECG V1"``...). Other channels (respiration, pleth...) are dropped with a
    note and listed in ``meta.other_channels``. Two channels naming the same
    lead, or no ECG lead at all, are errors.
Plausibility
    Odd but possible signals are read with a note in ``meta.notes`` (the lead
    stays recorded; readers never call ``warnings.warn``): a *flat* lead
    (peak-to-peak below :data:`FLAT_MV`, an electrode off), a *saturated* lead (at least
    :data:`SATURATED_FRACTION` of its
    samples in runs at its maximum or minimum, an amplifier at its limit), and
    an *implausible amplitude* (peak-to-peak above :data:`MAX_PLAUSIBLE_MV`,
    typically µV values labelled as mV). A WFDB signal file holding more
    samples than its header declares is read up to the declared length, with
    a note (the header's format or length is probably wrong).
Generated leads
    :func:`write_wfdb` marks generated leads in header comments
    (``L2G: lead status: ...``, ``L2G: generated from: ...``), and
    :func:`read_record` restores their status and provenance from them.
    :func:`write_csv` names a generated lead's column ``<lead>_generated``
    (e.g. ``V1_generated``); the CSV reader maps it back. CSV keeps no
    metadata: use WFDB for a faithful copy. Leading ``# L2G: ...`` lines (the
    CSV export of the CLI, library and dashboard, :func:`l2g.export.write_export`) are read as in WFDB.

Every error is a ``ValueError`` of the form ``"<file>: <problem>; expected <what>"``.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

from ..record import Record
from ._common import (
    _MAX_SAMPLES,
    FLAT_MV,
    FS_RANGE,
    MAX_GAP_S,
    MAX_PLAUSIBLE_MV,
    NAN_POLICIES,
    SATURATED_FRACTION,
    InvalidSampleRate,
    MissingSampleRate,
    MissingSamples,
    RecordTooLong,
    SeveralRecords,
    UnknownFormat,
    check_rate,
    collecting_notes,
    to_mv_factor,
)
from ._dispatch import SNIFF_BYTES, _read_path, formats, ranged_source, read_span, sniff_format
from ._raw import FormatError, RawECG, Reader
from ._registry import reader, readers, register, unregister
from .archive import (
    MAX_UPLOAD_BYTES,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    _as_uploads,
    _read_uploads,
)
from .csvfile import write_csv
from .dicom import write_dicom
from .hdf5 import SPH_FS
from .wfdb import header_comments, write_wfdb

__all__ = [
    "read_record",
    "read_span",
    "ranged_source",
    "RecordTooLong",
    "MissingSampleRate",
    "MissingSamples",
    "InvalidSampleRate",
    "check_rate",
    "FS_RANGE",
    "UnknownFormat",
    "SeveralRecords",
    "FormatError",
    "FORMATS",
    "formats",
    "RawECG",
    "Reader",
    "readers",
    "reader",
    "register",
    "unregister",
    "SNIFF_BYTES",
    "sniff_format",
    "write_wfdb",
    "write_csv",
    "write_dicom",
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


def __getattr__(name: str) -> Any:
    if name == "FORMATS":  # the readers tried by content, derived from the registry each time
        return formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
        :class:`InvalidSampleRate` (a ValueError) for a rate, the file's or
        ``fs``, outside :data:`FS_RANGE`.

    Examples
    --------
    >>> rec = read_record("../shared/data/ludb/data/1.hea")  # doctest: +SKIP
    >>> rec.fs, rec.signal.shape, rec.leads[:3]  # doctest: +SKIP
    (500.0, (12, 5000), ('I', 'II', 'III'))
    """
    if nan_policy not in NAN_POLICIES:
        raise ValueError(f"nan_policy={nan_policy!r} is not valid; expected one of {NAN_POLICIES}")
    if fs is not None:
        fs = check_rate(fs)
    if max_samples is not None and (isinstance(max_samples, bool) or int(max_samples) != max_samples
                                    or max_samples < 1):
        raise ValueError(f"max_samples={max_samples!r} is not valid; expected a positive number of samples")
    token = _MAX_SAMPLES.set(None if max_samples is None else int(max_samples))
    try:
        with collecting_notes():
            uploads = _as_uploads(source)
            if uploads is None:
                return _read_path(Path(os.fspath(source)), fs=fs, nan_policy=nan_policy, name=name)
            return _read_uploads(uploads, _read_path, fs=fs, nan_policy=nan_policy, name=name)
    finally:
        _MAX_SAMPLES.reset(token)
