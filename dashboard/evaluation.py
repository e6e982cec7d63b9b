"""The Evaluation page's glue: the written reports read once per file version (the tables: l2g.results).

Files are keyed by their path and modification time, so a report rebuilt by ``make evaluate`` is
read again without restarting the server. The per-lead rows (about 150,000, 60 MB in memory) are a
``st.cache_resource``, shared read-only by every session: the page only filters them.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd
import streamlit as st

from l2g import results

__all__ = ["Reports", "load_reports"]


def _stamp(path: Path) -> float:
    return path.stat().st_mtime if path.is_file() else -1.0


@st.cache_resource(max_entries=2, show_spinner="Reading the evaluation rows…")
def _rows(path: str, _mtime: float) -> pd.DataFrame:
    return results.read_rows(path)


@st.cache_data(max_entries=8, show_spinner=False)
def _json(path: str, _mtime: float) -> dict:
    return results.read_json(path)


@st.cache_data(max_entries=2, show_spinner=False)
def _zip(folder: str, _mtimes: tuple[float, ...]) -> bytes:
    return results.report_zip(folder)


@dataclass(frozen=True)
class Reports:
    """What ``reports/`` holds for the page; absent files are None / empty."""

    folder: Path
    rows: pd.DataFrame | None  # evaluation_rows.csv.gz (read-only, shared)
    summary: dict = field(default_factory=dict)  # evaluation.json
    diagnostic: dict = field(default_factory=dict)  # diagnostic.json
    written: tuple[str, ...] = ()  # the REPORT_FILES present

    def record_ids(self, ptbxl_derived: bool | None) -> list[str] | None:
        """The records of one of :data:`l2g.results.RECORD_SETS` (None: all, or no record list)."""
        records = self.summary.get("records") or []
        if ptbxl_derived is None or not records:
            return None
        return [r["record_id"] for r in records if bool(r.get("ptbxl_derived")) == ptbxl_derived]

    def report_zip(self) -> bytes:
        """The written reports and their figures, zipped (made once per file version)."""
        files = [self.folder / name for name in self.written] + sorted(self.folder.glob("*.png"))
        return _zip(str(self.folder), tuple(_stamp(p) for p in files))


def load_reports(folder: Path) -> Reports:
    """The reports in ``folder`` (``l2g.paths.reports_dir()``), from the caches."""
    rows = folder / results.ROWS_FILE
    summary, diagnostic = folder / "evaluation.json", folder / "diagnostic.json"
    return Reports(folder=folder, rows=_rows(str(rows), _stamp(rows)) if rows.is_file() else None,
                   summary=_json(str(summary), _stamp(summary)) if summary.is_file() else {},
                   diagnostic=_json(str(diagnostic), _stamp(diagnostic)) if diagnostic.is_file() else {},
                   written=tuple(n for n in results.REPORT_FILES if (folder / n).is_file()))
