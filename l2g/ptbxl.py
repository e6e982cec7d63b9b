"""PTB-XL's patient-wise protocol: folds, patients and diagnostic superclasses.

PTB-XL (Wagner et al., 2020) ships a patient-wise stratified fold
``strat_fold`` 1–10 for each of its ECGs; no patient spans two folds. The
benchmark convention, used throughout L2G-ECG:

- folds 1–8: training (generator, linear prior, classifiers),
- fold 9: validation (early stopping of the reference classifiers only; the
  generator is selected on the non-PTB-XL validation records),
- fold 10: test (reported once).

A record of any archive that is a copy of a PTB-XL ECG
(:func:`l2g.catalog.ptbxl_ecg_id`: ``records100/.../nnnnn_lr``,
``ptbxl_cinc2024/nnnnn_hr``, Challenge ``HRnnnnn``) inherits its ECG's fold,
so a fold-9/10 patient never reaches training by another archive's copy.

The diagnostic superclasses of a record are the ``diagnostic_class`` of every
key of its ``scp_codes`` that is a diagnostic statement (likelihood ignored),
as in PTB-XL's benchmarking code.
"""

from __future__ import annotations

import ast
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from .catalog import ptbxl_ecg_id

__all__ = ["SUPERCLASSES", "TRAIN_FOLDS", "VAL_FOLDS", "TEST_FOLDS", "HELD_OUT_FOLDS", "DEFAULT_META",
           "PtbxlMeta", "load_meta", "superclass_matrix", "held_out_filter"]

SUPERCLASSES: tuple[str, ...] = ("NORM", "MI", "STTC", "CD", "HYP")
TRAIN_FOLDS: tuple[int, ...] = (1, 2, 3, 4, 5, 6, 7, 8)
VAL_FOLDS: tuple[int, ...] = (9,)
TEST_FOLDS: tuple[int, ...] = (10,)
HELD_OUT_FOLDS: tuple[int, ...] = VAL_FOLDS + TEST_FOLDS
DEFAULT_META = "../shared/ptbxl/ptbxl_database.csv"


@dataclass(frozen=True)
class PtbxlMeta:
    """PTB-XL's per-record table, indexed by ``ecg_id``.

    Attributes
    ----------
    table : pandas.DataFrame
        Index ``ecg_id`` (int); columns ``patient_id`` (int), ``strat_fold``
        (int 1–10), ``filename_lr`` (str, ``records100/...``), ``labels``
        (tuple of superclass names, possibly empty) and ``recording_date``.
    source : str
        The CSV it was read from.
    """

    table: pd.DataFrame
    source: str

    def fold(self, ecg_id: int) -> int | None:
        """The ``strat_fold`` of one ECG, or None when PTB-XL does not list it."""
        try:
            return int(self.table.at[int(ecg_id), "strat_fold"])
        except KeyError:
            return None

    def ids_in(self, folds: Iterable[int]) -> list[int]:
        """The ``ecg_id`` of every record in ``folds``, ascending."""
        wanted = {int(f) for f in folds}
        return sorted(int(i) for i in self.table.index[self.table["strat_fold"].isin(wanted)])

    def labels(self, ecg_ids: Sequence[int]) -> np.ndarray:
        """Multi-hot superclass labels, shape ``(len(ecg_ids), 5)`` uint8 in :data:`SUPERCLASSES` order."""
        return superclass_matrix([self.table.at[int(i), "labels"] for i in ecg_ids])


def _statement_classes(scp_statements: Path) -> dict[str, str]:
    st = pd.read_csv(scp_statements, index_col=0)
    if "diagnostic" not in st.columns or "diagnostic_class" not in st.columns:
        raise ValueError(f"{scp_statements}: not PTB-XL's scp_statements.csv "
                         "(need columns 'diagnostic' and 'diagnostic_class')")
    diag = st[st["diagnostic"] == 1]
    return {str(code): str(cls) for code, cls in diag["diagnostic_class"].items() if isinstance(cls, str)}


def load_meta(path: str | Path = DEFAULT_META, scp_statements: str | Path | None = None) -> PtbxlMeta:
    """Read PTB-XL's ``ptbxl_database.csv`` (and ``scp_statements.csv`` beside it).

    Parameters
    ----------
    path : path
        ``ptbxl_database.csv`` (v1.0.x).
    scp_statements : path, optional
        ``scp_statements.csv``; default: the file of that name beside ``path``.

    Returns
    -------
    PtbxlMeta

    Raises
    ------
    ValueError
        When a file is missing or lacks PTB-XL's columns.

    Examples
    --------
    >>> import pathlib, tempfile
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = (d / "scp_statements.csv").write_text(",diagnostic,diagnostic_class\\nIMI,1,MI\\nNORM,1,NORM\\nSR,,\\n")
    >>> _ = (d / "ptbxl_database.csv").write_text(
    ...     'ecg_id,patient_id,scp_codes,strat_fold,filename_lr,recording_date\\n'
    ...     '1,7.0,"{\\'IMI\\': 50.0, \\'SR\\': 0.0}",10,records100/00000/00001_lr,1990-01-01\\n')
    >>> meta = load_meta(d / "ptbxl_database.csv")
    >>> meta.fold(1), meta.labels([1]).tolist()
    (10, [[0, 1, 0, 0, 0]])
    """
    path = Path(path)
    scp_path = Path(scp_statements) if scp_statements is not None else path.with_name("scp_statements.csv")
    for p in (path, scp_path):
        if not p.is_file():
            raise ValueError(f"{p}: PTB-XL metadata file not found (need ptbxl_database.csv and "
                             "scp_statements.csv, see ../shared/ptbxl/PROVENANCE.md)")
    db = pd.read_csv(path, index_col="ecg_id")
    missing = [c for c in ("patient_id", "scp_codes", "strat_fold", "filename_lr") if c not in db.columns]
    if missing:
        raise ValueError(f"{path}: not PTB-XL's ptbxl_database.csv (missing columns {missing})")
    classes = _statement_classes(scp_path)

    def labels(codes: str) -> tuple[str, ...]:
        found = {classes[c] for c in ast.literal_eval(codes) if c in classes}
        return tuple(s for s in SUPERCLASSES if s in found)

    table = pd.DataFrame({
        "patient_id": db["patient_id"].astype(int),
        "strat_fold": db["strat_fold"].astype(int),
        "filename_lr": db["filename_lr"].astype(str),
        "labels": db["scp_codes"].map(labels),
        "recording_date": db.get("recording_date", pd.Series("", index=db.index)).astype(str),
    }, index=db.index.astype(int))
    return PtbxlMeta(table, str(path))


def superclass_matrix(label_sets: Sequence[Iterable[str]]) -> np.ndarray:
    """Multi-hot rows in :data:`SUPERCLASSES` order, shape ``(n, 5)`` uint8.

    >>> superclass_matrix([("MI", "CD"), ()]).tolist()
    [[0, 1, 0, 1, 0], [0, 0, 0, 0, 0]]
    """
    out = np.zeros((len(label_sets), len(SUPERCLASSES)), np.uint8)
    for i, labels in enumerate(label_sets):
        for lab in labels:
            out[i, SUPERCLASSES.index(lab)] = 1
    return out


def held_out_filter(meta: PtbxlMeta, record_ids: Sequence[str],
                    allowed_folds: Sequence[int] = TRAIN_FOLDS) -> tuple[list[bool], dict[str, int]]:
    """Which records may be trained on under the patient-wise protocol.

    A record that is no PTB-XL copy is kept. A PTB-XL copy is kept only when
    its ECG's fold is in ``allowed_folds``; a copy of an ECG that PTB-XL's
    table does not list (v1.0.1 records dropped in v1.0.3) is left out too.

    Parameters
    ----------
    meta : PtbxlMeta
    record_ids : sequence of str
        Record ids of any archive (prefixed ids of extra folders allowed).
    allowed_folds : sequence of int
        Folds whose ECGs may be used (default 1–8).

    Returns
    -------
    keep : list of bool
        One flag per record id.
    counts : dict
        ``{"kept_ptbxl": n, "held_out": n, "unlisted": n}``.

    Examples
    --------
    >>> import pandas as pd
    >>> meta = PtbxlMeta(pd.DataFrame({"strat_fold": [3, 10]}, index=[1, 2]), "x")
    >>> held_out_filter(meta, ["ludb/data/1", "r100/00000/00001_lr", "cinc2021/ptb-xl/HR00002", "x/HR00099"])
    ([True, True, False, False], {'kept_ptbxl': 1, 'held_out': 1, 'unlisted': 1})
    """
    allowed = {int(f) for f in allowed_folds}
    keep: list[bool] = []
    counts = {"kept_ptbxl": 0, "held_out": 0, "unlisted": 0}
    for rid in record_ids:
        ecg = ptbxl_ecg_id(rid)
        if ecg is None:
            keep.append(True)
            continue
        fold = meta.fold(ecg)
        if fold is None:
            counts["unlisted"] += 1
            keep.append(False)
        elif fold in allowed:
            counts["kept_ptbxl"] += 1
            keep.append(True)
        else:
            counts["held_out"] += 1
            keep.append(False)
    return keep, counts
