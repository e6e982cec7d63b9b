"""Streamlit glue for the dashboard: caches, session state and widget callbacks.

It lives beside the pages, not in ``l2g`` (which never imports Streamlit): what it
caches is computed by the library (:func:`l2g.reconstruct`, :func:`l2g.metrics.compare`,
:meth:`l2g.Record.digest`, :meth:`l2g.Record.segment`, ...); the folders come from
:mod:`l2g.paths`, as for the command line.

Caches
------
* :func:`reconstructor` - ``st.cache_resource``: one loaded model per method and
  weights folder (:func:`l2g.paths.weights_dir`), shared by every session (read-only;
  inference runs under ``torch.no_grad``); each load is counted (:func:`load_count`) and logged.
* :func:`reconstruction` (with the :data:`BAND_LEVEL` band), :func:`agreement`,
  :func:`trust`, :func:`lead_check`, :func:`morphology`, :func:`catalog`,
  :func:`export_files` - ``st.cache_data``, keyed by a record digest
  (:meth:`l2g.Record.digest`) plus the lead selection and the method. Records are not
  pickled into the cache: the signal and statuses are, and the Record is rebuilt.
  Entries derived from a record expire after :data:`CACHE_TTL_S` (one hour); only a
  session holding the same content can reach them.

Session state
-------------
The open :class:`~l2g.record.Record` (:func:`current_record`) is kept in a
session-scoped ``st.cache_resource``, which Streamlit clears the moment the browser
disconnects: a closed tab releases the patient's record at once, not when
Streamlit eventually drops the session (``server.disconnectedSessionTTL``, and
later). ``st.session_state`` holds the small rest: ``record_digest``,
``record_origin`` (where it came from, for the page), ``load_messages``
(``[(level, text)]`` from the last load attempt), ``preset`` and one
``lead_<name>`` checkbox state per lead. Keys are initialised only when missing.

Limits
------
:data:`MAX_INTERACTIVE_S` - the longest stretch of a record that is computed and
shown at once; a longer record is shown in segments of that length
(:func:`segment`). :data:`MAX_RECORD_SAMPLES` - the longest record the dashboard
keeps open (a session holds its record as 12 float32 rows). Uploads are decoded
one at a time per server (:func:`read_lock`), so their transient memory does
not add up across sessions. Measured figures: ``docs/RELIABILITY.md``.
"""

from __future__ import annotations

import argparse
import dataclasses
import logging
import os
import sys
import threading
import warnings
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st
from streamlit.logger import get_logger

from l2g import paths
from l2g.leads import LEADS, PRESETS
from l2g.record import RECORDED, Provenance, Record

__all__ = [
    "CUSTOM",
    "DEFAULT_PRESET",
    "MAX_INTERACTIVE_S",
    "MAX_RECORD_SAMPLES",
    "LONG_RECORD_HINT",
    "CACHE_TTL_S",
    "lead_key",
    "data_dir",
    "current_record",
    "init_session",
    "set_record",
    "set_load_error",
    "selection",
    "apply_preset",
    "mark_custom",
    "read_lock",
    "too_long",
    "segment",
    "reconstructor",
    "model_ready",
    "load_count",
    "reset_models",
    "reconstruction",
    "BAND_LEVEL",
    "trust",
    "lead_check",
    "agreement",
    "morphology",
    "wave_times",
    "catalog",
    "export_files",
]

CUSTOM = "Custom selection"
#: Preset ticked when a full 12-lead record is opened (two limb + three chest leads, the paper's finding).
DEFAULT_PRESET = "Two limb + three chest (I, II, V1, V3, V5)"
#: Longest stretch of a record (seconds) computed and shown at once: reconstruction, agreement,
#: morphology and exports run on one segment of this length, chosen on the page.
MAX_INTERACTIVE_S: float = 300.0
#: Longest record (samples per lead) the dashboard keeps open: 24 h at 500 Hz, 2.1 GB as 12 float32
#: rows. Longer records are refused with a pointer to ``l2g reconstruct``.
MAX_RECORD_SAMPLES: int = 24 * 3600 * 500
#: What to do with a record beyond MAX_RECORD_SAMPLES (shown with the error).
LONG_RECORD_HINT: str = ("The dashboard keeps records up to 24 h at 500 Hz open; reconstruct longer ones with "
                         "`l2g reconstruct FILE --available LEADS --out DIR`.")
#: Seconds a result derived from a patient's record (reconstruction, tables, export bytes) stays in the
#: shared caches; together with their ``max_entries`` this bounds what outlives a session.
CACHE_TTL_S: float = 3600.0
#: Coverage of the confidence band computed around every generated lead (:func:`l2g.reconstruct` ``interval``).
BAND_LEVEL: float = 0.9
_LOADED: set[tuple[str, str]] = set()  # (method, weights folder) whose reconstructor is in the cache
_LOADS: Counter[tuple[str, str]] = Counter()  # how often each was loaded in this process
_READ_LOCK = threading.Lock()
log = get_logger(__name__)  # Streamlit's handler and level: lines reach the server log
# wfdb reads through fsspec, which logs every file it opens at DEBUG: an upload's name may be a patient's
logging.getLogger("fsspec").setLevel(logging.INFO)


def lead_key(lead: str) -> str:
    """Session-state key of a lead's checkbox (a widget key: it stays with the dashboard)."""
    return f"lead_{lead}"


# ------------------------------------------------------------------ configuration
def data_dir(argv: list[str] | None = None) -> Path | None:
    """The data folder: ``streamlit run app.py -- --data-dir DIR`` or the env ``L2G_DATA_DIR``.

    Returns None when neither is given; an existing-folder check is left to the page.
    """
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--data-dir", default=None)
    args, _ = parser.parse_known_args(sys.argv[1:] if argv is None else argv)
    value = args.data_dir or os.environ.get("L2G_DATA_DIR")
    return Path(value).expanduser() if value else None


def _default_selection(record: Record) -> tuple[str, ...]:
    recorded = record.recorded_leads
    if len(recorded) == len(LEADS):
        return PRESETS[DEFAULT_PRESET]
    return recorded


def _release(store: dict[str, Any]) -> None:
    """Drop what a session held: called by Streamlit when the session disconnects (or its cache is cleared)."""
    if store.pop("record", None) is not None:
        log.info("l2g: a session ended; its record was released")
    store.clear()


@st.cache_resource(scope="session", on_release=_release, show_spinner=False)
def _session_store() -> dict[str, Any]:
    """This session's patient data (the open record): released on disconnect, see :func:`_release`."""
    return {}


def current_record() -> Record | None:
    """The record open in this session (None before the first :func:`set_record`, or after a disconnect)."""
    return _session_store().get("record")


def current_prior() -> tuple[Record, str] | None:
    """The earlier ECG of this patient opened beside the record (personalised mode) and its digest, or None."""
    return _session_store().get("prior")


def set_prior(record: Record | None, message: tuple[str, str] | None = None) -> None:
    """Open (or with None, close) the earlier ECG of this patient; ``message`` ``(level, text)`` is shown under
    its uploader. Kept in this session's store, released with the record when the browser closes."""
    _session_store()["prior"] = (record, record.digest()) if record is not None else None
    st.session_state["prior_message"] = message


@st.cache_data(max_entries=16, ttl=CACHE_TTL_S, show_spinner=False)
def _personal_arrays(digest: str, prior_digest: str, _record: Record, _prior: Record, available: tuple[str, ...],
                     interval: float | None) -> tuple[np.ndarray, tuple[str, ...], Provenance,
                                                      tuple[np.ndarray, np.ndarray] | None]:
    import warnings

    from l2g.reconstruction import reconstruct
    from l2g.uncertainty import CalibrationError, ModelMismatchWarning

    rc, _ = reconstructor("model")
    try:
        with warnings.catch_warnings():  # a mismatched calibration: no band, the page says why
            warnings.simplefilter("ignore", ModelMismatchWarning)
            out = reconstruct(_record, available, model=rc, prior=_prior, interval=interval)
    except CalibrationError:  # the guard refused it and the generic calibration is unusable: the page shows why
        out = reconstruct(_record, available, model=rc, prior=_prior)
    if out.meta.provenance.prior is None:  # refused: the page shows the generic result with its own band
        return out.signal, out.status, out.meta.provenance, None
    return out.signal, out.status, out.meta.provenance, out.interval


def personal_reconstruction(record: Record, digest: str, prior: Record, prior_digest: str,
                            available: tuple[str, ...], interval: float | None = BAND_LEVEL) -> Record:
    """``reconstruct(record, available, prior=prior, interval=interval)`` with the cached model, cached per
    both digests.

    The result is personalised (``meta.provenance.prior`` set) with the band of the personalised mode
    (:mod:`l2g.personal_band`; none for a subset that mode was not calibrated on, :func:`personal_band_missing`
    says why) or, when the guard refused the earlier ECG, the generic one with ``meta.provenance.note`` saying
    why and no band (the page shows the generic result and band from :func:`reconstruction`).

    Raises
    ------
    l2g.personal.PriorError
        When the earlier ECG lacks a lead or is shorter than 8 s.
    """
    signal, status, prov, band = _personal_arrays(digest, prior_digest, record, prior, tuple(available), interval)
    meta = dataclasses.replace(record.meta, provenance=prov)
    return record.replace(signal=signal, status=status, meta=meta, interval=band)


def personal_band_missing(available: tuple[str, ...]) -> str | None:
    """Why a personalised reconstruction from ``available`` has no band and no grade, or None when it has them.

    :func:`l2g.personal_band.personal_calibration_for`'s refusal (a subset not calibrated for the personalised
    mode, a file missing or fitted for another generator), as one sentence.
    """
    from l2g.personal_band import personal_calibration_for
    from l2g.uncertainty import CalibrationError

    rc, _ = reconstructor("model")
    try:
        personal_calibration_for(rc.version, available, method=rc.method)
    except CalibrationError as exc:
        return str(exc).rstrip(".")
    return None


def set_record(record: Record, origin: str, messages: list[tuple[str, str]] | None = None) -> None:
    """Make ``record`` the open record and tick its default leads.

    A full 12-lead record opens with :data:`DEFAULT_PRESET` ticked (so the
    other leads are generated and can be compared with the real ones); a
    record with fewer leads opens with all of them ticked. ``messages``
    (``[(level, text)]``, level ``"error"``, ``"warning"`` or ``"info"``) and then the
    record's own notes (``record.meta.notes``, as warnings) are shown above the summary.
    """
    record = record.standardize()
    ss = st.session_state
    _session_store()["record"] = record
    ss["record_digest"] = record.digest()
    ss["record_origin"] = origin
    ss["load_messages"] = list(messages or []) + [("warning", note) for note in record.meta.notes]
    ss["images"] = None
    for key in ("segment", "t0"):  # the new record starts at its beginning
        ss.pop(key, None)
    chosen = set(_default_selection(record))
    for lead in LEADS:
        ss[lead_key(lead)] = lead in chosen and record.status_of(lead) == RECORDED
    ss["preset"] = DEFAULT_PRESET if chosen == set(PRESETS[DEFAULT_PRESET]) else CUSTOM


def read_lock() -> threading.Lock:
    """The lock every record read of the dashboard holds: one decode at a time per server process.

    Reading a long upload briefly needs several times the record's final size
    (a 24-h two-lead WFDB record: ~6 GB while decoding, 2.1 GB once open), so
    concurrent uploads wait for each other instead of adding up.
    """
    return _READ_LOCK


def too_long(record: Record) -> str:
    """Why the dashboard will not keep ``record`` open ('' when it will): more than :data:`MAX_RECORD_SAMPLES`."""
    if record.n_samples <= MAX_RECORD_SAMPLES:
        return ""
    return (f"{record.n_samples:,} samples per lead ({record.duration / 3600:.1f} h at {record.fs:g} Hz) is longer "
            f"than the dashboard keeps open ({MAX_RECORD_SAMPLES:,} samples). {LONG_RECORD_HINT}")


def set_load_error(message: str) -> None:
    """Report a failed load; the open record stays, and the message ends by naming it.

    ``message`` (Markdown) gets a last line ``Still showing **<record name>** (<where it came from>).``
    """
    ss = st.session_state
    rec = current_record()
    if rec is not None:
        message = f"{message.rstrip()}  \nStill showing **{rec.name}** ({ss.get('record_origin', 'opened earlier')})."
    ss["load_messages"] = [("error", message)]


def init_session(default_record) -> None:
    """Initialise missing keys; open ``default_record()`` when no record is open.

    After a disconnect (the record was released) the page reconnects to the demo record and says why.
    """
    ss = st.session_state
    if current_record() is None or "record_digest" not in ss:
        released = "record_digest" in ss and ss.get("record_origin") != "built-in demo record (synthetic)"
        set_record(default_record(), "built-in demo record (synthetic)")
        if released:
            ss["load_messages"] = [("warning", "The connection to the browser was lost, so the record you had "
                                               "open was closed (patient data is not kept for a disconnected "
                                               "session). Open it again.")]
    ss.setdefault("load_messages", [])
    ss.setdefault("images", None)
    ss.setdefault("preset", CUSTOM)
    for lead in LEADS:
        ss.setdefault(lead_key(lead), False)


def selection() -> tuple[str, ...]:
    """The ticked leads, canonical order."""
    rec = current_record()
    return tuple(lead for lead in LEADS
                 if st.session_state.get(lead_key(lead)) and rec.status_of(lead) == RECORDED)


def apply_preset() -> None:
    """Callback of the preset box: tick the preset's leads that the record holds."""
    ss = st.session_state
    name = ss.get("preset", CUSTOM)
    if name not in PRESETS:
        return
    rec = current_record()
    wanted = set(PRESETS[name])
    for lead in LEADS:
        ss[lead_key(lead)] = lead in wanted and rec.status_of(lead) == RECORDED
    missing = sorted(wanted - set(rec.recorded_leads), key=LEADS.index)
    ss["preset_note"] = (f"Preset “{name}” needs {', '.join(missing)}, not recorded in this file: "
                         "those leads are generated instead.") if missing else ""


def mark_custom() -> None:
    """Callback of a lead checkbox: the selection no longer follows a preset."""
    st.session_state["preset"] = CUSTOM
    st.session_state["preset_note"] = ""


# ------------------------------------------------------------------ long records
def segment(record: Record, digest: str, k: int) -> tuple[Record, str]:
    """Segment ``k`` of ``record`` (:meth:`l2g.Record.segment`, :data:`MAX_INTERACTIVE_S` long) and its cache key.

    The record itself and ``digest`` when it is short enough to be shown whole.
    """
    part = record.segment(k, MAX_INTERACTIVE_S)
    if part is record:
        return record, digest
    return part, f"{digest}@{record.segment_bounds(MAX_INTERACTIVE_S)[k][0]:g}"


# ------------------------------------------------------------------ model and reconstruction
def _torch_threads() -> int:
    """Intra-op threads for inference: env ``L2G_TORCH_THREADS``, else half the CPUs (1..4).

    A dashboard serves short records to several sessions at once; oversubscribed
    threads cost far more than they give (on a busy 2-CPU machine a 10-s record
    took ~2 s with 2 threads and ~30 ms with 1).
    """
    env = os.environ.get("L2G_TORCH_THREADS", "")
    if env.isdigit() and int(env) > 0:
        return int(env)
    return max(1, min(4, (os.cpu_count() or 2) // 2))


def _weights_folder() -> str:
    """:func:`l2g.paths.weights_dir` as a cache key ('' when no folder is known: the load then says why)."""
    try:
        return str(paths.weights_dir())
    except paths.WeightsNotFoundError:
        return ""


@st.cache_resource(show_spinner="Loading the generator…")
def _reconstructor(method: str, folder: str) -> tuple[Any, str]:
    import torch

    from l2g.reconstruction import load_reconstructor

    torch.set_num_threads(_torch_threads())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = load_reconstructor(Path(folder) / "l2g.pt" if folder else None, method=method)
    note = "; ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    _LOADED.add((method, folder))
    _LOADS[(method, folder)] += 1
    log.info("l2g: loaded the %s reconstructor %s (load %d in this process)%s", method, rc.version,
             sum(_LOADS.values()), f"; {note}" if note else "")
    return rc, note


def reconstructor(method: str = "model") -> tuple[Any, str]:
    """The loaded :class:`~l2g.reconstruction.Reconstructor` and the fallback warning ('' when none).

    ``st.cache_resource``: loaded once per method and weights folder
    (:func:`l2g.paths.weights_dir`: ``L2G_WEIGHTS_DIR``, else ``weights/``), shared by all
    sessions and never modified. Sets
    torch's intra-op thread count (see :func:`_torch_threads`). When the generator
    is missing, corrupt or fails its checksum, the linear baseline is returned and
    the note says why.

    Raises
    ------
    ValueError
        When neither the generator nor the linear baseline can be loaded, or no
        weights folder is known (:class:`l2g.paths.WeightsNotFoundError`).
    """
    return _reconstructor(method, _weights_folder())


def model_ready(method: str = "model") -> bool:
    """Whether :func:`reconstructor` has loaded ``method`` in this server process (no loading here)."""
    return (method, _weights_folder()) in _LOADED


def load_count() -> int:
    """How many times a reconstructor was loaded in this process (one per method and folder when caching works)."""
    return sum(_LOADS.values())


def reset_models() -> None:
    """Forget the loaded reconstructors and the reconstructions made with them (tests, a weights change)."""
    _reconstructor.clear()
    _reconstruct_arrays.clear()
    _personal_arrays.clear()
    trust.clear()
    lead_check.clear()
    _LOADED.clear()


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def _reconstruct_arrays(digest: str, _record: Record, available: tuple[str, ...], method: str,
                        interval: float | None) -> tuple[np.ndarray, tuple[str, ...],
                                                         tuple[str, str, tuple[str, ...]],
                                                         tuple[np.ndarray, np.ndarray] | None]:
    from l2g.reconstruction import reconstruct

    rc, _ = reconstructor(method)
    out = reconstruct(_record, available, model=rc, interval=interval)
    p = out.meta.provenance
    return out.signal, out.status, (p.method, p.model_version, p.available), out.interval


def reconstruction(record: Record, digest: str, available: tuple[str, ...], method: str = "model",
                   interval: float | None = BAND_LEVEL) -> Record:
    """``reconstruct(record, available, interval=interval)`` with the cached model.

    Cached per (digest, selection, method, interval). The result carries the
    band of coverage ``interval`` (default :data:`BAND_LEVEL`) as ``Record.interval``;
    ``interval=None``: no band.

    Raises
    ------
    l2g.uncertainty.CalibrationError
        With ``interval``, when the calibration is missing or was fitted for another
        generator (:class:`~l2g.uncertainty.CalibrationMismatch`, naming both): the page
        asks again without a band and says why, as the CLI refuses ``--interval``.
    """
    if interval is not None:
        from l2g.uncertainty import calibration_for

        rc, _ = reconstructor(method)
        calibration_for(rc.version, rc.method)
    signal, status, (m, version, avail), band = _reconstruct_arrays(digest, record, tuple(available), method,
                                                                    interval)
    meta = dataclasses.replace(record.meta, provenance=Provenance(method=m, model_version=version, available=avail))
    return record.replace(signal=signal, status=status, meta=meta, interval=band)


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def trust(digest: str, available: tuple[str, ...], method: str, _output: Record) -> pd.DataFrame:
    """:func:`l2g.trust.trust_table` of a reconstruction, indexed by generated lead.

    Columns ``predicted_rmse_uv``, ``grade``, ``meaning``, ``band_halfwidth_uv``, ``st_halfwidth_mv``,
    ``st_decisions``, ``exact``; ``attrs["grade_rule"]``. The grade and the page's ST warning both come
    from ``st_decisions``. The ST segment is timed on the Lead-II delineation the wave markers and the
    morphology table use (:func:`_lead_ii`), else on R peaks of Lead II.
    """
    from l2g.trust import trust_table

    rc, _ = reconstructor(method)
    try:
        delineation = _lead_ii(digest, available, method, _output)
    except ValueError:  # Lead II could not be delineated: R peaks in trust_table
        delineation = None
    return trust_table(_output, model=rc, delineation=delineation).set_index("lead")


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def lead_check(digest: str, _record: Record) -> tuple[pd.DataFrame | None, list[str], str]:
    """:func:`l2g.leadcheck.check_leads` on every recorded lead of the record, once per digest.

    Returns ``(table indexed by lead, suspected faults, "")``, e.g. ``faults == ["LA/RA"]``,
    or ``(None, [], why)`` when the check cannot run (fewer than three recorded
    leads, no baseline loaded).
    """
    from l2g.leadcheck import check_leads

    try:
        rc, _ = reconstructor("model")
        table = check_leads(_record, model=rc)
    except ValueError as exc:  # NotEnoughLeadsError, or no weights at all
        return None, [], str(exc).rstrip(".")
    return table.set_index("lead"), list(table.attrs.get("faults", [])), ""


# ------------------------------------------------------------------ comparisons
@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def agreement(digest: str, available: tuple[str, ...], method: str, with_baseline: bool, _record: Record,
              _output: Record, _baseline: Record | None = None) -> pd.DataFrame:
    """The agreement table: :func:`l2g.metrics.compare` of the generated leads, indexed by lead.

    Columns ``r``, ``RMSE (µV)`` and ``SSIM``; with ``with_baseline`` the linear
    baseline's ``r (linear)``, ``RMSE (linear, µV)`` and ``SSIM (linear)``. Empty
    when no generated lead has a real trace.
    """
    from l2g.metrics import compare

    names = {"r": "r", "rmse_uv": "RMSE (µV)", "ssim": "SSIM"}
    scores = compare(_record, _output, available)
    if scores.empty:
        return pd.DataFrame()
    table = scores.set_index("lead")[list(names)].rename(columns=names)
    if with_baseline and _baseline is not None:
        lin = compare(_record, _baseline, available).set_index("lead")
        table["r (linear)"] = lin["r"]
        table["RMSE (linear, µV)"] = lin["rmse_uv"]
        table["SSIM (linear)"] = lin["ssim"]
    return table


@st.cache_data(max_entries=128, ttl=CACHE_TTL_S, show_spinner=False)
def _lead_ii(digest: str, available: tuple[str, ...], method: str, _trace_of: Record) -> Any:
    """Lead II of ``_trace_of`` delineated alone, once per view (``l2g.morphology.Delineation``).

    The morphology table and the wave markers both use it, so Lead II is cleaned, its R peaks
    found and its waves delineated once. Keyed by the record digest, ``available`` and
    ``method`` (``available=()``, ``method="recorded"`` for the real record).
    """
    from l2g.morphology import delineate_record

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return delineate_record(_trace_of, "II", context=False)


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def morphology(digest: str, available: tuple[str, ...], method: str, _record: Record,
               _output: Record) -> pd.DataFrame | None:
    """Lead-II morphology, real vs generated (None when l2g.morphology is not available)."""
    try:
        from l2g.morphology import morphology_table
    except ImportError:
        return None
    delineations = (_lead_ii(digest, (), "recorded", _record), _lead_ii(digest, available, method, _output))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return morphology_table(_record, _output, lead="II", delineations=delineations)


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def wave_times(digest: str, available: tuple[str, ...], method: str, _output: Record) -> dict[str, np.ndarray] | None:
    """P/QRS/T on- and offset times (s) of Lead II of ``_output`` (None without l2g.morphology)."""
    try:
        from l2g.morphology import delineation_for_plot
    except ImportError:
        return None
    try:
        d = _lead_ii(digest, available, method, _output)
    except ValueError:  # no Lead II: delineation_for_plot gives empty markers
        d = None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return delineation_for_plot(_output, "II", delineation=d)


# ------------------------------------------------------------------ data folder and exports
@st.cache_data(show_spinner="Scanning the data folder…")
def catalog(root: str) -> pd.DataFrame:
    """:func:`l2g.catalog.scan` of the data folder, readable records only, cached per folder."""
    from l2g.catalog import scan

    table = scan(root, progress=False)
    return table[table["error"] == ""].reset_index(drop=True)


@st.cache_data(max_entries=16, ttl=CACHE_TTL_S, show_spinner=False)
def export_files(digest: str, available: tuple[str, ...], method: str, deidentify: bool,
                 _output: Record) -> dict[str, bytes | str]:
    """``{"wfdb": zip bytes, "csv": bytes, "dicom": bytes or why not}`` of the reconstructed record.

    A band (``_output.interval``) goes beside the signal: the companion record
    ``<name>_band`` in the WFDB zip, ``<lead>_low``/``<lead>_high`` columns in the CSV
    (DICOM: the signal only).

    The bytes come from :func:`l2g.export.export_record` (through :func:`l2g.export.wfdb_zip_bytes`,
    :func:`~l2g.export.csv_bytes`, :func:`~l2g.export.dicom_bytes`), the export path of the CLI and
    the library too: the same record and options give the same files. ``deidentify`` is passed to
    every writer and is part of the cache key.
    ``"dicom"`` is the writer's one-line reason (a str) when DICOM cannot hold the record
    (a rate outside 200-1000 Hz, see :data:`l2g.io.dicom.FS_LIMITS`).
    """
    from l2g.export import csv_bytes, dicom_bytes, wfdb_zip_bytes

    try:
        dicom: bytes | str = dicom_bytes(_output, deidentify=deidentify)
    except ValueError as exc:
        dicom = str(exc).rstrip(".")
    return {"wfdb": wfdb_zip_bytes(_output, deidentify=deidentify),
            "csv": csv_bytes(_output, deidentify=deidentify, band=True), "dicom": dicom}


@st.cache_data(ttl=CACHE_TTL_S, show_spinner=False)
def _findings(path: str, mtime: float) -> dict | None:
    from l2g.fidelity import load_findings

    return load_findings(path)


def diagnostic_findings(available: tuple[str, ...], model_version: str) -> list[str]:
    """:func:`l2g.fidelity.findings_for` the ticked leads, from ``reports/diagnostic.json`` (re-read when it changes);
    a damaged file gives one line saying so, never a crash."""
    from l2g.fidelity import FINDINGS_FILE, findings_for

    try:
        data = _findings(str(FINDINGS_FILE), FINDINGS_FILE.stat().st_mtime if FINDINGS_FILE.is_file() else 0.0)
    except ValueError as exc:
        return [f"The diagnostic evaluation could not be read ({exc})."]
    return findings_for(available, data, model_version)
