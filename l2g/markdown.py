"""Markdown for the reports: one table writer, used by the study report, the reader study and the benches.

Examples
--------
>>> import pandas as pd
>>> print(md_table(pd.DataFrame({"lead": ["V1", "V2"], "mse": [0.01234, float("nan")]}), {"mse": ".4f"}))
| lead | mse |
|---|---|
| V1 | 0.0123 |
| V2 | – |
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

__all__ = ["md_table", "format_number"]


def format_number(x: float, spec: str = ".3f") -> str:
    """``x`` formatted with ``spec``; ``"–"`` for None or a non-finite value; a ``"d"`` spec rounds first.

    Examples
    --------
    >>> format_number(0.12345), format_number(12.0, "d"), format_number(float("inf"))
    ('0.123', '12', '–')
    """
    if x is None or (isinstance(x, float) and not np.isfinite(x)):
        return "–"
    return format(int(round(x)), spec) if spec.endswith("d") else format(x, spec)  # counts held as floats


def md_table(df: pd.DataFrame, formats: Mapping[str, str] | None = None) -> str:
    """A Markdown table of ``df``: one row per row, floats by ``formats[column]`` (default ``".3f"``).

    Parameters
    ----------
    df : DataFrame
        Its columns are the header; its index is not written.
    formats : mapping of str to str, optional
        Format spec per column for float cells (:func:`format_number`); other cells are ``str()``.

    Returns
    -------
    str
        The table, lines joined by newlines, no trailing newline.
    """
    formats = formats or {}
    cols = list(df.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in df.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            cells.append(format_number(float(v), formats.get(c, ".3f")) if isinstance(v, (float, np.floating))
                         else str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)
