"""Split a catalogue into train / val / test, and the split files.

:func:`split` assigns every readable record of a catalogue (:func:`l2g.catalog.scan`) to ``train``,
``val`` or ``test``. The assignment is deterministic and depends only on the seed and the record
ids. It is stratified by source, so every hospital or database is present in every part.
:func:`save_split` writes only ``record_id,split``, never a signal, and :func:`load_split` reads it
back; :func:`split_extra` adds the records of further folders. :mod:`l2g.catalog` re-exports these
names.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pandas (~0.5 s to import) only where a table is built or read
    import pandas as pd

__all__ = ["SPLITS", "DEFAULT_SEED", "DEFAULT_FRACTIONS", "split", "save_split", "load_split", "split_extra",
           "ptbxl_ecg_id"]

SPLITS: tuple[str, ...] = ("train", "val", "test")
DEFAULT_SEED = "l2g-v1"
DEFAULT_FRACTIONS: tuple[float, float, float] = (0.7, 0.15, 0.15)


def _record_suffixes() -> tuple[str, ...]:
    from .io._registry import record_suffixes  # imported here: io pulls in the format readers

    return record_suffixes()


# ------------------------------------------------------------------ splitting
def _half_up(x: float) -> int:
    return int(math.floor(x + 0.5 + 1e-9))


def _counts(n: int, fractions: tuple[float, float, float]) -> tuple[int, int, int]:
    """(train, val, test) sizes for a stratum of ``n`` records (rule in :func:`split`)."""
    _, f_val, f_test = fractions
    if n < 3:
        return n, 0, 0
    n_test = _half_up(n * f_test)
    if f_test > 0:
        n_test = max(1, n_test)
    n_val = _half_up(n * f_val)
    while n_val + n_test > n - 1:  # train keeps at least one record
        if n_val > 0:
            n_val -= 1
        else:
            n_test -= 1
    return n - n_val - n_test, n_val, n_test


def _order_key(seed: str, record_id: str) -> str:
    return hashlib.sha256((seed + record_id).encode("utf-8")).hexdigest()


def split(
    catalog: pd.DataFrame,
    fractions: Sequence[float] = DEFAULT_FRACTIONS,
    seed: str = DEFAULT_SEED,
) -> pd.DataFrame:
    """Assign each readable record to train, val or test, deterministically.

    The rule, applied independently to each stratum (one ``(dataset, source)``
    pair) of the records whose ``error`` is empty:

    1. Sort the stratum's ids by ``sha256((seed + record_id).encode("utf-8"))``
       as a hex string (ties, which never happen in practice, by id).
    2. With ``n`` records: if ``n < 3``, all go to train. Otherwise
       ``n_test = round_half_up(n * f_test)``, at least 1 when ``f_test > 0``,
       and ``n_val = round_half_up(n * f_val)``. Then, while
       ``n_val + n_test > n - 1``, ``n_val`` (or ``n_test`` once ``n_val`` is 0)
       drops by one, so train keeps at least one record.
    3. The first ``n_test`` ids in hash order go to test, the next ``n_val`` to
       val, and the rest to train.

    A record's place depends only on the seed, its id and the size of its
    stratum. It does not depend on the order of the catalogue, on the machine,
    or on records in other strata. When records are added to a source, the
    existing ones keep their hash order, so only records near the cut points
    can move.

    Parameters
    ----------
    catalog : pandas.DataFrame
        The output of :func:`scan`, or that table read back from CSV. It must
        have the columns ``record_id``, ``dataset``, ``source`` and ``error``.
    fractions : sequence of 3 floats
        Train, val and test shares. They must be non-negative, sum to 1, and
        train must be positive.
    seed : str
        Any string. Change it to draw a different split.

    Returns
    -------
    pandas.DataFrame
        Columns ``record_id``, ``dataset``, ``source`` and ``split`` (one of
        :data:`SPLITS`), sorted by ``record_id``. Records with an error are
        left out.

    Raises
    ------
    ValueError
        For bad fractions, missing columns or duplicate record ids.
    """
    fr = tuple(float(f) for f in fractions)
    if len(fr) != 3 or any(not math.isfinite(f) or f < 0 for f in fr) or abs(sum(fr) - 1) > 1e-6 or fr[0] <= 0:
        raise ValueError(
            f"split: fractions must be 3 non-negative numbers (train, val, test) summing to 1 "
            f"with train > 0, got {tuple(fractions)}"
        )
    missing = [c for c in ("record_id", "dataset", "source", "error") if c not in catalog.columns]
    if missing:
        raise ValueError(f"split: the catalogue lacks column(s) {missing}")
    dup = catalog["record_id"][catalog["record_id"].duplicated()].unique().tolist()
    if dup:
        raise ValueError(f"split: duplicate record ids in the catalogue, e.g. {dup[:3]}")
    ok = catalog[catalog["error"].fillna("").astype(str) == ""]
    rows: list[tuple[str, str, str, str]] = []
    for (dataset, source), group in ok.groupby(["dataset", "source"], sort=True):
        ids = sorted(group["record_id"].astype(str), key=lambda rid: (_order_key(str(seed), rid), rid))
        _, n_val, n_test = _counts(len(ids), fr)  # type: ignore[arg-type]
        for i, rid in enumerate(ids):
            part = "test" if i < n_test else "val" if i < n_test + n_val else "train"
            rows.append((rid, str(dataset), str(source), part))
    import pandas as pd

    out = pd.DataFrame(rows, columns=["record_id", "dataset", "source", "split"])
    return out.sort_values("record_id", ignore_index=True)


def save_split(split_df: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a split as ``record_id,split`` CSV, sorted by id (ids only, no signals).

    Parent folders are created. The file uses ``\\n`` line ends, so it is
    byte-identical across platforms for the same split.

    Returns
    -------
    Path
        The path written.

    Raises
    ------
    ValueError
        If columns are missing, ids repeat or a split name is unknown.
    """
    _check_split(split_df, str(path))
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    out = split_df[["record_id", "split"]].astype(str).sort_values("record_id", ignore_index=True)
    out.to_csv(path, index=False, lineterminator="\n")
    return path


def load_split(path: str | os.PathLike[str]) -> pd.DataFrame:
    """Read a split written by :func:`save_split`.

    Returns
    -------
    pandas.DataFrame
        Columns ``record_id`` and ``split`` (str), in file order.

    Raises
    ------
    ValueError
        If the file is not a valid split (columns, duplicate ids, unknown
        split names).
    OSError
        If it cannot be read.
    """
    import pandas as pd

    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise ValueError(f"{path}: not a split CSV ({' '.join(str(exc).split())})") from None
    _check_split(table, str(path))
    return table[["record_id", "split"]].reset_index(drop=True)


def _check_split(table: pd.DataFrame, where: str) -> None:
    missing = [c for c in ("record_id", "split") if c not in table.columns]
    if missing:
        raise ValueError(f"{where}: a split needs columns record_id,split; missing {missing}")
    dup = table["record_id"][table["record_id"].duplicated()].unique().tolist()
    if dup:
        raise ValueError(f"{where}: duplicate record ids, e.g. {dup[:3]}")
    bad = sorted(set(table["split"].astype(str)) - set(SPLITS))
    if bad:
        raise ValueError(f"{where}: unknown split name(s) {bad}; valid: {', '.join(SPLITS)}")


_PTBXL_NAME = re.compile(r"(?:HR(?P<hr>\d{5})|(?P<file>\d{5})_(?:hr|lr))", re.IGNORECASE)


def ptbxl_ecg_id(record_id: str) -> int | None:
    """The PTB-XL ``ecg_id`` a record id refers to, from its file name; None for other records.

    The one mapping between the copies of PTB-XL ECGs: PTB-XL's own files
    ``records100/.../nnnnn_lr`` (100 Hz) and ``records500/.../nnnnn_hr``
    (500 Hz, also the Challenge 2024 copies in ``ptbxl_cinc2024``), and the
    Challenge 2020/2021 copies ``HRnnnnn``, all name the same ECG ``nnnnn``.
    A suffix kept in the id (``.hea``) is ignored.

    Examples
    --------
    >>> [ptbxl_ecg_id(r) for r in ("cinc2021/ptb-xl/HR00006", "ptbxl_cinc2024/00841_hr",
    ...                            "records100/00000/00841_lr", "records100/00000/00841_lr.hea", "ludb/data/8")]
    [6, 841, 841, 841, None]
    """
    name = record_id.rsplit("/", 1)[-1]
    stem, dot, suffix = name.rpartition(".")
    if dot and suffix.lower() in {s.lstrip(".") for s in _record_suffixes()}:
        name = stem
    m = _PTBXL_NAME.fullmatch(name)
    if m is None:
        return None
    return int(m["hr"] or m["file"])


def split_extra(split_df: pd.DataFrame, extra_ids: Sequence[str]) -> pd.DataFrame:
    """Place the records of extra folders: all in train, except copies of shared records.

    The rule, per extra id with a PTB-XL ``ecg_id`` (:func:`ptbxl_ecg_id`)
    equal to that of a record of the shared split:

    - shared record in ``val`` or ``test``: **excluded** (never trained on,
      so the validation and test figures stay clean);
    - shared record in ``train``: **duplicate**, dropped (the shared copy,
      at its higher rate, is trained on already).

    Every other extra id goes to ``train``. PTB-XL's 100-Hz files carry no
    patient ids, so repeat ECGs of a shared test patient cannot be found:
    keep PTB-XL-derived records out of headline test figures.

    Parameters
    ----------
    split_df : pandas.DataFrame
        The shared split (columns ``record_id``, ``split``).
    extra_ids : sequence of str
        Record ids of the extra folders (prefixed, see :func:`scan_roots`).

    Returns
    -------
    pandas.DataFrame
        Columns ``record_id``, ``ecg_id`` (Int64, NA when not PTB-XL),
        ``split`` (``"train"`` or ``""`` when left out) and ``reason``
        (``""``, ``"excluded: <shared id> in val"``, ``"excluded: <shared id>
        in test"`` or ``"duplicate: <shared id> in train"``), in the order of
        ``extra_ids``.

    Examples
    --------
    >>> import pandas as pd
    >>> shared = pd.DataFrame({"record_id": ["cinc2021/ptb-xl/HR00006", "ptbxl_cinc2024/00841_hr", "x/HR00002"],
    ...                        "split": ["test", "val", "train"]})
    >>> out = split_extra(shared, ["r100/00000/00006_lr", "r100/00000/00841_lr", "r100/00000/00002_lr",
    ...                            "r100/00000/00003_lr"])
    >>> out["split"].tolist()
    ['', '', '', 'train']
    >>> for reason in out["reason"][:3]:
    ...     print(reason)
    excluded: cinc2021/ptb-xl/HR00006 in test
    excluded: ptbxl_cinc2024/00841_hr in val
    duplicate: x/HR00002 in train
    """
    import pandas as pd

    _check_split(split_df, "split_extra")
    # the strictest placement wins when one ecg_id has copies in several splits (test > val > train)
    rank = {"test": 0, "val": 1, "train": 2}
    shared: dict[int, tuple[str, str]] = {}
    for rid, part in zip(split_df["record_id"].astype(str), split_df["split"].astype(str), strict=True):
        ecg = ptbxl_ecg_id(rid)
        if ecg is not None and (ecg not in shared or rank[part] < rank[shared[ecg][1]]):
            shared[ecg] = (rid, part)
    rows = []
    for rid in extra_ids:
        ecg = ptbxl_ecg_id(rid)
        hit = shared.get(ecg) if ecg is not None else None
        if hit is None:
            rows.append((rid, ecg, "train", ""))
        elif hit[1] == "train":
            rows.append((rid, ecg, "", f"duplicate: {hit[0]} in train"))
        else:
            rows.append((rid, ecg, "", f"excluded: {hit[0]} in {hit[1]}"))
    out = pd.DataFrame(rows, columns=["record_id", "ecg_id", "split", "reason"])
    out["ecg_id"] = out["ecg_id"].astype("Int64")
    return out
