"""A blinded reader study (the Visual Turing Test with people): design, storage, analysis.

A coordinator creates a study from a data folder (:func:`create_study`, ``l2g study create``),
adds readers (:func:`add_reader`), readers answer one trial at a time in the dashboard
(:func:`next_trial`, :func:`submit_answer`), and :func:`study_report` / ``l2g study report``
analyse the answers. Storage: :mod:`l2g.study.store` (SQLAlchemy, Alembic migrations, SQLite
or PostgreSQL); statistics: :mod:`l2g.study.stats`; what a trial shows: :mod:`l2g.study.render`.
See docs/STUDY.md. Names are imported on first use (``l2g study --help`` stays fast).
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "DIAGNOSES": "design", "KINDS": "design", "StudyConfig": "design", "create_study": "design",
    "parse_subsets": "design", "settings_table": "design", "KIND_NAMES": "design",
    "StudyReport": "report", "study_report": "report", "trial_figure": "render",
    **{name: "store" for name in ("StudyError", "TrialView", "add_reader", "answers_frame", "get_study",
                                  "list_studies", "login", "next_trial", "open_db", "progress", "resolve_url",
                                  "submit_answer")},
}
__all__ = list(_LAZY)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    raise AttributeError(f"module 'l2g.study' has no attribute {name!r}")
