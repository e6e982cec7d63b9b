"""Read ECG records from files and uploads; write them as WFDB or CSV.

One entry point, :func:`read_record`, reads

* WFDB records (``.hea`` + ``.dat``, any format ``wfdb`` reads), including the
  PhysioNet Challenge layout ``.hea`` + ``.mat`` (MATLAB v4, read by ``wfdb``;
  MATLAB v5 files are read with :func:`scipy.io.loadmat` and scaled with the
  header's gain and baseline),
* EDF / EDF+ (continuous) files,
* CSV files (first row: lead names),
* SPH-style HDF5 files (dataset ``ecg``, shape (12, N), mV),
* ECG cart and PACS exports, recognised by content (:data:`FORMATS`): DICOM waveforms, SCP-ECG, ISHNE Holter,
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
    ``"raise"`` (default) raises a ValueError naming the lead, the number of
    missing samples and the first time; ``"absent"`` drops the lead (a note);
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

import importlib
import os
import struct
from pathlib import Path
from typing import Any

from ..record import Record
from ._common import (
    _CSV_EXT,
    _EDF_EXT,
    _HDF5_EXT,
    _MAX_SAMPLES,
    _WFDB_EXT,
    FLAT_MV,
    FS_RANGE,
    MAX_GAP_S,
    MAX_PLAUSIBLE_MV,
    NAN_POLICIES,
    SATURATED_FRACTION,
    InvalidSampleRate,
    MissingSampleRate,
    RecordTooLong,
    SeveralRecords,
    UnknownFormat,
    _check_length,
    _magic,
    check_rate,
    collecting_notes,
    from_raw,
    to_mv_factor,
)
from ._raw import FormatError
from ._xml import root_name
from .archive import (
    MAX_UPLOAD_BYTES,
    MAX_ZIP_ENTRIES,
    MAX_ZIP_RATIO,
    _as_uploads,
    _read_uploads,
)
from .csvfile import _read_csv, write_csv
from .dicom import write_dicom
from .edf import _read_edf
from .hdf5 import SPH_FS
from .wfdb import _read_wfdb, header_comments, write_wfdb

__all__ = [
    "read_record",
    "RecordTooLong",
    "MissingSampleRate",
    "InvalidSampleRate",
    "check_rate",
    "FS_RANGE",
    "UnknownFormat",
    "SeveralRecords",
    "FormatError",
    "FORMATS",
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




#: Readers tried in order, each with its ``sniff(head, path)`` on the first :data:`SNIFF_BYTES` bytes
#: of a file (magic bytes; an XML root element and namespace): the first that claims the file
#: reads it. Cart formats come before the generic ones. A module either has ``read(path) ->
#: RawECG`` (turned into a Record by :func:`l2g.io._common.from_raw`) or ``load(path, *, fs,
#: nan_policy, name) -> Record``. WFDB is chosen by its files (``.hea``, or the ``.dat``/``.mat``/
#: record path beside one), not by content.
FORMATS: tuple[str, ...] = (
    "dicom",
    "scp",
    "ishne",
    "aecg",
    "philips",
    "muse",
    "cardiosoft",
    "hdf5",
    "archive",
    "edf",
    "csvfile",
)
#: How many leading bytes the sniffers see.
SNIFF_BYTES: int = 4096
# what each format is called in messages
_KIND = {"scp": "SCP-ECG", "ishne": "ISHNE Holter", "aecg": "HL7 aECG", "philips": "Philips SierraECG",
         "muse": "GE MUSE", "cardiosoft": "GE CardioSoft", "dicom": "DICOM", "hdf5": "HDF5 (SPH)",
         "archive": "zip", "edf": "EDF", "csvfile": "CSV"}
_XML_FORMATS = ("aecg", "philips", "muse", "cardiosoft")


def _module(fmt: str) -> Any:
    return importlib.import_module(f"{__name__}.{fmt}")


def sniff_format(path: Path, head: bytes | None = None) -> str | None:
    """The name (an entry of :data:`FORMATS`) of the reader that claims ``path`` by content, or None.

    Parameters
    ----------
    path : Path
        An existing file.
    head : bytes, optional
        Its first :data:`SNIFF_BYTES` bytes, when already read.

    Returns
    -------
    str or None
    """
    head = _magic(path, SNIFF_BYTES) if head is None else head[:SNIFF_BYTES]
    for fmt in FORMATS:
        try:
            if _module(fmt).sniff(head, path):
                return fmt
        except (ValueError, KeyError, IndexError, struct.error, UnicodeError, OSError):
            continue  # a sniffer that chokes on odd bytes does not claim the file
    return None


def _read_as(fmt: str, path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    """Read ``path`` with the reader ``fmt`` (a cart format through :func:`from_raw`)."""
    mod = _module(fmt)
    if hasattr(mod, "load"):
        return mod.load(path, fs=fs, nan_policy=nan_policy, name=name)
    try:
        raw = mod.read(path)
    except (KeyError, IndexError, struct.error, UnicodeError, OverflowError, ZeroDivisionError) as exc:
        raise FormatError(f"{path}: cannot decode this {_KIND.get(fmt, fmt)} file ({type(exc).__name__}: {exc}); "
                          "expected an intact file") from None
    n = len(next(iter(raw.leads.values()))) if raw.leads else None
    _check_length(str(path), n, float(raw.fs) if raw.fs else None)
    return from_raw(raw, file=str(path), name=name or path.stem, source_format=fmt, fs=fs, nan_policy=nan_policy)


def _read_path(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; expected a record file")
    ext = path.suffix.lower()
    if not path.exists():
        hea = Path(str(path) + ".hea")
        if ext not in (*_WFDB_EXT, *_CSV_EXT, *_HDF5_EXT, *_EDF_EXT, ".zip") and hea.exists():
            return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
        raise ValueError(f"{path}: file not found; expected an existing record file")
    hea = path.with_suffix(".hea")
    if ext == ".hea" or (ext in _WFDB_EXT and hea.exists()):
        return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
    head = _magic(path, SNIFF_BYTES)
    fmt = sniff_format(path, head)
    if fmt is not None:
        return _read_as(fmt, path, fs=fs, nan_policy=nan_policy, name=name)
    if ext in _WFDB_EXT:
        raise ValueError(f"{path}: no header {hea.name} beside it; expected a WFDB/Challenge record "
                         "with its .hea file")
    if ext in _EDF_EXT:
        return _read_edf(path, fs=fs, nan_policy=nan_policy, name=name)  # says what is wrong with the header
    if ext in _HDF5_EXT:
        raise ValueError(f"{path}: not an HDF5 file (bad signature); expected an HDF5 file")
    if ext == ".zip":
        raise ValueError(f"{path}: not a zip file (bad signature); expected a .zip archive")
    root = root_name(head)
    if root is not None:
        ns, local = root
        kinds = ", ".join(f"{_KIND[f]} ({_ROOTS[f]})" for f in _XML_FORMATS if f in FORMATS)
        raise UnknownFormat(f"{path}: an XML file with root element {local!r}"
                            f"{f' (namespace {ns})' if ns else ''}, which is none of the ECG kinds looked for: "
                            f"{kinds}; expected one of these exports")
    if ext in _CSV_EXT:
        return _read_csv(path, fs=fs, nan_policy=nan_policy, name=name)  # says why it is not a CSV record
    tried = ", ".join(_KIND.get(f, f) for f in FORMATS)
    raise UnknownFormat(f"{path}: unknown file type: none of the formats tried ({tried}, and WFDB by its .hea) "
                        "recognises its content; expected .hea/.dat/.mat (WFDB), an ECG cart export "
                        "(.xml, .scp, .ecg), .edf, .csv, .h5 or .zip")


# the root element each XML reader expects, for the message about an unknown XML
_ROOTS = {"aecg": "AnnotatedECG", "philips": "restingecgdata", "muse": "RestingECG", "cardiosoft": "CardiologyXML"}
