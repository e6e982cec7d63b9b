"""Streamlit glue of the reader-study pages (pages/study_*.py): the database, the reader's session, callbacks.

The study itself lives in :mod:`l2g.study` (no Streamlit there). Here:

* :func:`engine` - ``st.cache_resource``: one SQLAlchemy engine per database URL, shared by all
  sessions (engines are thread-safe; every call opens its own short session).
* :func:`db_url` - the database of this page: the ``study_db`` box, else ``L2G_STUDY_DB``, else ``study.db``.
* Reader state in ``st.session_state``: ``study_reader`` (``(study name, reader id, code)`` after
  :func:`start_reader`), ``study_shown`` (trial id -> when it was first drawn, for the seconds),
  ``study_conf`` (the confidence chosen), ``study_note`` (a message for the next run).
* :func:`submit` - the answer buttons' callback: it commits the answer (:func:`l2g.study.submit_answer`)
  before the script reruns and asks for the next trial, so a closed tab or a killed server loses at
  most the trial on screen.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import streamlit as st

from l2g.study import store

__all__ = ["db_url", "engine", "reader", "start_reader", "sign_out", "shown_at", "submit", "set_confidence"]


def db_url() -> str:
    """The study database of this session (URL or SQLite path)."""
    return st.session_state.get("study_db") or store.resolve_url()


@st.cache_resource(show_spinner=False)
def _engine(url: str):
    return store.open_db(url)


def engine(url: str | None = None):
    """The cached engine of ``url`` (default :func:`db_url`); raises :class:`l2g.study.StudyError` when unreachable."""
    return _engine(store.resolve_url(url or db_url()))


def reader() -> tuple[str, int, str] | None:
    """``(study name, reader id, code)`` of the reader signed in in this session, or None."""
    return st.session_state.get("study_reader")


def start_reader() -> None:
    """Callback of *Start*: check the code (and token) and remember the reader; a failure goes to ``study_note``.

    Reads the boxes ``study_pick``, ``study_code`` and ``study_token`` when clicked (not values bound at drawing).
    """
    ss = st.session_state
    study_name, code, token = ss.get("study_pick"), ss.get("study_code") or "", ss.get("study_token") or ""
    try:
        eng = engine()
        study = store.get_study(eng, study_name)
        rid = store.login(eng, study, code, token)
    except store.StudyError as exc:
        ss["study_note"] = ("error", str(exc))
        return
    ss["study_reader"] = (study.name, rid, code.strip())
    ss["study_shown"] = {}
    ss["study_note"] = None
    ss.pop("study_token", None)


def sign_out() -> None:
    """Callback of *Stop for now*: forget the reader (their answers are all stored)."""
    for key in ("study_reader", "study_shown", "study_conf"):
        st.session_state.pop(key, None)


def shown_at(trial_id: int) -> dt.datetime:
    """When ``trial_id`` was first drawn in this session (UTC, naive)."""
    shown = st.session_state.setdefault("study_shown", {})
    return shown.setdefault(trial_id, dt.datetime.now(dt.UTC).replace(tzinfo=None))


def set_confidence(value: int) -> None:
    """Callback of a confidence button."""
    st.session_state["study_conf"] = value


def submit(trial_id: int, answer: Any, kind: str, text_key: str | None = None, marks_key: str | None = None) -> None:
    """Callback of an answer button: commit the answer, then the rerun shows the next trial.

    ``marks_key``: the answer is the list of leads picked in that widget (read when clicked).
    """
    ss = st.session_state
    if marks_key is not None:
        from l2g.leads import LEADS

        answer = [lead for lead in LEADS if lead in (ss.get(marks_key) or [])]
    who = reader()
    if who is None:
        return
    confidence = ss.get("study_conf", 3) if kind in ("pick", "diagnosis") else None
    free = str(ss.get(text_key, "") or "") if text_key else ""
    try:
        store.submit_answer(engine(), who[1], trial_id, answer, confidence=confidence, shown_at=shown_at(trial_id),
                            free_text=free)
        ss["study_note"] = None
    except store.StudyError as exc:  # answered in another tab: the first answer stands
        ss["study_note"] = ("warning", f"{exc}; showing the next trial.")
    ss["study_conf"] = 3
