"""Opening a record in the viewer: uploads, the data folder, the demo (the page's error boundary).

* :func:`on_upload` - the uploader's callback. The uploader keeps every file it was given, so
  a second pick arrives as the old files *plus* the new ones; only the files just added are read
  (:func:`files_to_read`), and they replace the open record. A WFDB header and its signal file may
  be added one after the other: the part added second is read with the part already there.
* :func:`open_record` - read, check the dashboard's limits, and either open the record
  (:func:`dashboard.state.set_record`) or keep the open one and say why
  (:func:`refusal`, then :func:`dashboard.state.set_load_error`, which adds the record still
  shown). Never a traceback.
* :func:`open_folder_record`, :func:`open_demo` - the other two ways in.
"""

from __future__ import annotations

import logging
import traceback
from collections.abc import Sequence
from pathlib import PurePath
from typing import Any

import streamlit as st

from dashboard import state
from l2g.catalog import READ_ERRORS
from l2g.demo import demo_record
from l2g.io import (
    FormatError,
    MissingSampleRate,
    RecordTooLong,
    SeveralRecords,
    UnknownFormat,
    read_record,
    reader,
)
from l2g.io._registry import upload_suffixes
from l2g.record import Record

__all__ = [
    "ACCEPTED",
    "UPLOAD_TYPES",  # noqa: F822 (module __getattr__)
    "upload_types",
    "DEFAULT_CSV_FS",
    "files_to_read",
    "refusal",
    "on_upload",
    "open_record",
    "open_folder_record",
    "open_demo",
]

log = logging.getLogger(__name__)

#: What the viewer opens, in a user's words (the uploader's help and every refusal).
ACCEPTED = ("one ECG record at a time: an ECG cart or PACS export — DICOM waveform (.dcm), HL7 aECG, Philips "
            "SierraECG, GE MUSE or GE CardioSoft XML (.xml), SCP-ECG (.scp) or ISHNE Holter (.ecg); a WFDB record "
            "(its .hea together with its .dat or .mat); EDF (.edf); CSV (.csv with a header row of lead names); "
            "SPH HDF5 (.h5); or a .zip holding one of these (a DICOM file without an extension: zip it or name "
            "it .dcm)")
#: Why a file was refused, in a user's words, by the reader's exception type (the first that matches);
#: any other read error: :data:`UNREADABLE`.
REFUSED: tuple[tuple[type[BaseException], str], ...] = (
    (SeveralRecords, "the files hold more than one record; add one record at a time"),
    (UnknownFormat, "it is not an ECG file this viewer recognises"),
    (FormatError, "it is an ECG file of a known kind, but damaged, cut short or of a variant this viewer "
                  "cannot read yet"),
    (RecordTooLong, "the record is longer than the viewer keeps open"),
    (MissingSampleRate, "the file does not state its sampling rate"),
)
UNREADABLE = "it could not be read as an ECG record"
REFUSED_TOO_LONG = dict(REFUSED)[RecordTooLong]  # a record over the dashboard's own limit too


def upload_types() -> list[str]:
    """The extensions the uploader's file dialog offers (case-insensitively), without the dot: every
    reader's (:func:`l2g.io.readers`). The reader goes by content; these only filter the dialog."""
    return [s.lstrip(".") for s in upload_suffixes()]


def __getattr__(name: str) -> object:
    if name == "UPLOAD_TYPES":  # the same list, derived each time
        return upload_types()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


CSV_SUFFIXES = reader("csv").all_suffixes
#: Rate (Hz) of a CSV upload without a time column, unless the sidebar's ``csv_fs`` box says otherwise.
DEFAULT_CSV_FS = 500.0
#: The files of one WFDB record, which may be added to the uploader one after the other.
WFDB_PARTS = reader("wfdb").all_suffixes


def _read(source) -> tuple[Record, list[tuple[str, str]]]:
    """read_record and what to say about it; a CSV upload without a time column is read again at the sidebar's rate."""
    try:
        return read_record(source, max_samples=state.MAX_RECORD_SAMPLES), []
    except MissingSampleRate:
        names = [f.name.lower() for f in source] if isinstance(source, list) else []
        if not names or not all(n.endswith(CSV_SUFFIXES) for n in names):
            raise  # any other file is reported as it is, not hidden behind a retry at the sidebar rate
        fs = float(st.session_state.get("csv_fs", DEFAULT_CSV_FS))
        record = read_record(source, fs=fs, max_samples=state.MAX_RECORD_SAMPLES)
        return record, [("warning", f"{', '.join(names)}: no time column; read at {fs:g} Hz "
                                    "(the CSV rate set in the sidebar)")]


def refusal(origin: str, problem: BaseException | str) -> str:
    """The message for a file the viewer did not open: what happened in plain words, why, what opens.

    Parameters
    ----------
    origin : str
        Where the file came from, e.g. ``upload “a.xml”``.
    problem : exception or str
        The reader's exception (its type picks the plain words, :data:`REFUSED`; its text is the
        detail), or the dashboard's own reason (a record over :data:`dashboard.state.MAX_RECORD_SAMPLES`).

    Returns
    -------
    str
        Markdown: ``**Could not open <origin>:** <plain words>.``, then ``Why: <detail>.`` and what
        would open (:data:`ACCEPTED`; for a record too long, ``l2g reconstruct``).
    """
    if isinstance(problem, str):  # the dashboard's own limit (state.too_long, which names l2g reconstruct)
        plain, detail, after = REFUSED_TOO_LONG, problem, ""
    elif isinstance(problem, READ_ERRORS):
        plain = next((words for kind, words in REFUSED if isinstance(problem, kind)), UNREADABLE)
        detail = str(problem)
        after = state.LONG_RECORD_HINT if isinstance(problem, RecordTooLong) else f"The viewer opens {ACCEPTED}."
    else:
        plain, detail = "reading it failed unexpectedly", f"{type(problem).__name__}: {problem}"
        after = f"The viewer opens {ACCEPTED}."
    return f"**Could not open {origin}:** {plain}.  \nWhy: {detail.rstrip('.')}." + (f"  \n{after}" if after else "")


def open_record(source, origin: str) -> None:
    """Read a record; on failure keep the open one and say what went wrong (never a traceback).

    One read at a time per server (``state.read_lock``). Nothing about the file goes to the
    server log: an unexpected error is logged by type and code location only (its message
    and the origin may hold a patient's name).
    """
    try:
        with state.read_lock():
            record, messages = _read(source)
    except READ_ERRORS as exc:
        state.set_load_error(refusal(origin, exc))
        return
    except Exception as exc:  # noqa: BLE001 - the page must never show a traceback
        log.error("unexpected %s while reading a record (message withheld from the log):\n%s",
                  type(exc).__name__, "".join(traceback.format_tb(exc.__traceback__)))
        state.set_load_error(refusal(origin, exc))
        return
    why = state.too_long(record)
    if why:
        state.set_load_error(refusal(origin, why))
        return
    state.set_record(record, origin, messages)  # the record's notes are shown too (state.set_record)


def files_to_read(files: Sequence[Any], seen: set[str]) -> list[Any]:
    """The uploaded files that a change of the uploader should read (none when files were only removed).

    Parameters
    ----------
    files : sequence of UploadedFile
        Everything in the uploader now (``.name``, ``.file_id``), in its order.
    seen : set of str
        The ``file_id`` of every file that was in it before this change.

    Returns
    -------
    list of UploadedFile
        The files just added, in the uploader's order, together with any earlier WFDB part of the
        same record (same stem, another name): a ``.dat`` added after its ``.hea`` is read with it.
        Earlier files of other records are left out, so the new files replace the open record.
    """
    added = [f for f in files if f.file_id not in seen]
    if not added:
        return []
    names = {f.name for f in added}
    stems = {PurePath(f.name).stem for f in added if PurePath(f.name).suffix.lower() in WFDB_PARTS}
    return [f for f in files if f.file_id not in seen or (
        f.name not in names and PurePath(f.name).suffix.lower() in WFDB_PARTS and PurePath(f.name).stem in stems)]


def on_upload() -> None:
    """Callback of the uploader (key ``upload``): open the files just added (:func:`files_to_read`)."""
    files = st.session_state.get("upload") or []
    seen = st.session_state.get("upload_ids", set())
    st.session_state["upload_ids"] = {f.file_id for f in files}
    chosen = files_to_read(files, seen)
    if chosen:
        open_record(chosen, "upload " + ", ".join(f"“{f.name}”" for f in chosen))


def open_folder_record(path: str, record_id: str) -> None:
    """Callback of the data folder's *Open this record* button."""
    open_record(path, f"“{record_id}” from the data folder")


def open_demo() -> None:
    """Callback of *Open the demo record*."""
    state.set_record(demo_record(), "built-in demo record (synthetic)")


def on_prior_upload() -> None:
    """Callback of the *Earlier ECG of this patient* uploader (key ``prior_upload``): open it beside the record.

    The earlier ECG must hold all 12 leads and last at least 8 s (:func:`l2g.personal.check_prior`); otherwise
    it is not kept and the message says why. Removing the files closes it.
    """
    from l2g.personal import PriorError, check_prior

    files = st.session_state.get("prior_upload") or []
    if not files:
        state.set_prior(None)
        return
    origin = "earlier ECG " + ", ".join(f"“{f.name}”" for f in files)
    try:
        with state.read_lock():
            record, _ = _read(list(files))
        check_prior(record)
    except PriorError as exc:
        state.set_prior(None, ("error", f"**Could not use the {origin}:** {str(exc).rstrip('.')}."))
        return
    except READ_ERRORS as exc:
        state.set_prior(None, ("error", refusal(origin, exc)))
        return
    when = f", acquired {record.meta.acquired[:10]}" if record.meta.acquired else ""
    state.set_prior(record, ("info", f"Opened the {origin}{when}: {record.duration:.1f} s at {record.fs:g} Hz."))
