"""Streamlit glue for the dashboard: caches and session state (the only l2g module importing streamlit).

Caches
------
* :func:`reconstructor` - ``st.cache_resource``: one loaded model per method,
  shared by every session (read-only; inference runs under ``torch.no_grad``).
* :func:`reconstruction`, :func:`agreement`, :func:`morphology`, :func:`catalog`,
  :func:`export_files` - ``st.cache_data``, keyed by a record digest (see
  :func:`record_digest`) plus the lead selection and the method. Records are not
  pickled into the cache: the signal and statuses are, and the Record is rebuilt.

Session state
-------------
``record`` (the open :class:`~l2g.record.Record`), ``record_digest``, ``record_origin``
(where it came from, for the page), ``load_messages`` (``[(level, text)]`` from the
last load attempt), ``preset`` and one ``lead_<name>`` checkbox state per lead.
Keys are initialised only when missing.
"""

from __future__ import annotations

import argparse
import dataclasses
import hashlib
import os
import sys
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import streamlit as st

from .leads import LEADS, PRESETS
from .record import ABSENT, GENERATED, RECORDED, Provenance, Record

__all__ = [
    "CUSTOM",
    "DEFAULT_PRESET",
    "lead_key",
    "data_dir",
    "reports_dir",
    "weights_dir",
    "runs_dir",
    "record_digest",
    "init_session",
    "set_record",
    "set_load_error",
    "selection",
    "apply_preset",
    "mark_custom",
    "reconstructor",
    "model_ready",
    "reconstruction",
    "display",
    "agreement",
    "morphology",
    "wave_times",
    "catalog",
    "export_files",
]

CUSTOM = "Custom selection"
#: Preset ticked when a full 12-lead record is opened (two limb + three chest leads, the paper's finding).
DEFAULT_PRESET = "Two limb + three chest (I, II, V1, V3, V5)"
_HIGHPASS_HZ = 0.5  # applied to real and generated before scoring, as in l2g.evaluate
_LOADED: set[str] = set()  # methods whose reconstructor is in the cache_resource cache


def lead_key(lead: str) -> str:
    """Session-state key of a lead's checkbox."""
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


_REPO = Path(__file__).resolve().parents[1]


def reports_dir() -> Path:
    """Where the evaluation report lives: ``reports/`` (env ``L2G_REPORTS_DIR`` overrides)."""
    return Path(os.environ.get("L2G_REPORTS_DIR") or _REPO / "reports")


def weights_dir() -> Path:
    """Where the model card and training logs live: ``weights/`` (env ``L2G_WEIGHTS_DIR`` overrides)."""
    return Path(os.environ.get("L2G_WEIGHTS_DIR") or _REPO / "weights")


def runs_dir() -> Path:
    """Where training runs write their logs: ``runs/`` (env ``L2G_RUNS_DIR`` overrides)."""
    return Path(os.environ.get("L2G_RUNS_DIR") or _REPO / "runs")


# ------------------------------------------------------------------ the open record
def record_digest(record: Record) -> str:
    """A content hash of a record (signal, rate, leads, status, name): the cache key."""
    h = hashlib.sha1(usedforsecurity=False)
    h.update(np.ascontiguousarray(record.signal).tobytes())
    h.update(repr((record.fs, record.leads, record.status, record.name, record.source_format)).encode())
    return h.hexdigest()[:16]


def _default_selection(record: Record) -> tuple[str, ...]:
    recorded = record.recorded_leads
    if len(recorded) == len(LEADS):
        return PRESETS[DEFAULT_PRESET]
    return recorded


def set_record(record: Record, origin: str, messages: list[tuple[str, str]] | None = None) -> None:
    """Make ``record`` the open record and tick its default leads.

    A full 12-lead record opens with :data:`DEFAULT_PRESET` ticked (so the
    other leads are generated and can be compared with the real ones); a
    record with fewer leads opens with all of them ticked.
    """
    record = record.standardize()
    ss = st.session_state
    ss["record"] = record
    ss["record_digest"] = record_digest(record)
    ss["record_origin"] = origin
    ss["load_messages"] = list(messages or [])
    ss["images"] = None
    chosen = set(_default_selection(record))
    for lead in LEADS:
        ss[lead_key(lead)] = lead in chosen and record.status_of(lead) == RECORDED
    ss["preset"] = DEFAULT_PRESET if chosen == set(PRESETS[DEFAULT_PRESET]) else CUSTOM


def set_load_error(message: str) -> None:
    """Report a failed load; the open record stays."""
    st.session_state["load_messages"] = [("error", message)]


def init_session(default_record) -> None:
    """Initialise missing keys; open ``default_record()`` when no record is open."""
    ss = st.session_state
    if "record" not in ss:
        set_record(default_record(), "built-in demo record (synthetic)")
    ss.setdefault("load_messages", [])
    ss.setdefault("images", None)
    ss.setdefault("preset", CUSTOM)
    for lead in LEADS:
        ss.setdefault(lead_key(lead), False)


def selection() -> tuple[str, ...]:
    """The ticked leads, canonical order."""
    rec: Record = st.session_state["record"]
    return tuple(lead for lead in LEADS
                 if st.session_state.get(lead_key(lead)) and rec.status_of(lead) == RECORDED)


def apply_preset() -> None:
    """Callback of the preset box: tick the preset's leads that the record holds."""
    ss = st.session_state
    name = ss.get("preset", CUSTOM)
    if name not in PRESETS:
        return
    rec: Record = ss["record"]
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


@st.cache_resource(show_spinner="Loading the generator…")
def reconstructor(method: str = "model") -> tuple[Any, str]:
    """The loaded :class:`~l2g.reconstruct.Reconstructor` and the fallback warning ('' when none).

    Shared by all sessions and never modified. Sets torch's intra-op thread count
    once (see :func:`_torch_threads`).
    """
    import torch

    from .reconstruct import load_reconstructor

    torch.set_num_threads(_torch_threads())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        rc = load_reconstructor(method=method)
    note = "; ".join(str(w.message) for w in caught if issubclass(w.category, UserWarning))
    _LOADED.add(method)
    return rc, note


def model_ready(method: str = "model") -> bool:
    """Whether :func:`reconstructor` has loaded ``method`` in this server process (no loading here)."""
    return method in _LOADED




@st.cache_data(max_entries=64, show_spinner=False)
def _reconstruct_arrays(digest: str, _record: Record, available: tuple[str, ...],
                        method: str) -> tuple[np.ndarray, tuple[str, ...], tuple[str, str, tuple[str, ...]]]:
    from .reconstruct import reconstruct

    rc, _ = reconstructor(method)
    out = reconstruct(_record, available, model=rc)
    p = out.meta.provenance
    return out.signal, out.status, (p.method, p.model_version, p.available)


def reconstruction(record: Record, digest: str, available: tuple[str, ...], method: str = "model") -> Record:
    """``reconstruct(record, available)`` with the cached model, cached per (digest, selection, method)."""
    signal, status, (m, version, avail) = _reconstruct_arrays(digest, record, tuple(available), method)
    meta = dataclasses.replace(record.meta, provenance=Provenance(method=m, model_version=version, available=avail))
    return record.replace(signal=signal, status=status, meta=meta)


def display(record: Record, filter_name: str) -> tuple[Record, str]:
    """The record through a display filter of :data:`l2g.plots.DISPLAY_FILTERS` (and its label)."""
    from .plots import display_filter

    return display_filter(record, filter_name)


# ------------------------------------------------------------------ comparisons
def compared_leads(record: Record, output: Record) -> tuple[str, ...]:
    """Leads generated in ``output`` whose real trace ``record`` holds."""
    return tuple(lead for lead in output.generated_leads if record.status_of(lead) == RECORDED)


@st.cache_data(max_entries=64, show_spinner=False)
def agreement(digest: str, available: tuple[str, ...], method: str, with_baseline: bool, _record: Record,
              _output: Record, _baseline: Record | None = None) -> pd.DataFrame:
    """Per generated lead with a real trace: r, RMSE (µV) and SSIM (:func:`l2g.metrics.lead_agreement`).

    Both traces are high-passed at 0.5 Hz first (as in ``l2g evaluate``). With
    ``with_baseline`` the linear baseline's r, RMSE and SSIM are added.
    """
    from .metrics import lead_agreement
    from .preprocess import remove_baseline

    leads = compared_leads(_record, _output)
    if not leads:
        return pd.DataFrame()
    real = remove_baseline(_record.select(leads), _HIGHPASS_HZ).signal
    gen = remove_baseline(_output.select(leads), _HIGHPASS_HZ).signal
    scores = lead_agreement(real, gen, fs=_record.fs)
    table = pd.DataFrame({"r": scores["r"], "RMSE (µV)": scores["rmse_uv"], "SSIM": scores["ssim"]},
                         index=pd.Index(leads, name="lead"))
    if with_baseline and _baseline is not None:
        lin = lead_agreement(real, remove_baseline(_baseline.select(leads), _HIGHPASS_HZ).signal, fs=_record.fs)
        table["r (linear)"] = lin["r"]
        table["RMSE (linear, µV)"] = lin["rmse_uv"]
        table["SSIM (linear)"] = lin["ssim"]
    return table


@st.cache_data(max_entries=64, show_spinner=False)
def morphology(digest: str, available: tuple[str, ...], method: str, _record: Record,
               _output: Record) -> pd.DataFrame | None:
    """Lead-II morphology, real vs generated (None when l2g.morphology is not available)."""
    try:
        from .morphology import morphology_table
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return morphology_table(_record, _output, lead="II")


@st.cache_data(max_entries=64, show_spinner=False)
def wave_times(digest: str, available: tuple[str, ...], method: str, _output: Record) -> dict[str, np.ndarray] | None:
    """P/QRS/T on- and offset times (s) of Lead II of ``_output`` (None without l2g.morphology)."""
    try:
        from .morphology import delineation_for_plot
    except ImportError:
        return None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return delineation_for_plot(_output, "II")


# ------------------------------------------------------------------ data folder and exports
@st.cache_data(show_spinner="Scanning the data folder…")
def catalog(root: str) -> pd.DataFrame:
    """:func:`l2g.catalog.scan` of the data folder, readable records only, cached per folder."""
    from .catalog import scan

    table = scan(root, progress=False)
    return table[table["error"] == ""].reset_index(drop=True)


@st.cache_data(max_entries=16, show_spinner=False)
def export_files(digest: str, available: tuple[str, ...], method: str, _output: Record) -> dict[str, bytes]:
    """``{"wfdb": zip bytes, "csv": bytes}`` of the reconstructed record."""
    from .export import csv_bytes, wfdb_zip_bytes

    return {"wfdb": wfdb_zip_bytes(_output), "csv": csv_bytes(_output)}


def status_counts(record: Record) -> dict[str, int]:
    """How many leads are recorded, generated and absent."""
    return {s: sum(1 for x in record.status if x == s) for s in (RECORDED, GENERATED, ABSENT)}
