"""Names for the SNOMED-CT diagnosis codes used in PhysioNet Challenge headers.

The table ``l2g/data/snomed_ct.csv`` (columns ``code,name,abbreviation``) holds
the 133 codes of the PhysioNet/CinC Challenge 2021 evaluation tables
(``physionetchallenges/evaluation-2021``, BSD-2-Clause; see
``l2g/data/SNOMED_SOURCE.md``). It is read on first use.

Examples
--------
>>> snomed_name("426783006")
'sinus rhythm'
>>> snomed_abbreviation(164889003)
'AF'
>>> snomed_name("1")
''
"""

from __future__ import annotations

import csv
import functools
from pathlib import Path
from typing import Any

__all__ = ["SNOMED_CT", "snomed_name", "snomed_abbreviation"]

#: ``{code: name}`` for every code in the table; built on first access (module ``__getattr__``).
SNOMED_CT: dict[str, str]

_TABLE = Path(__file__).with_name("data") / "snomed_ct.csv"


@functools.cache
def _table() -> dict[str, tuple[str, str]]:
    """``{code: (name, abbreviation)}`` read from the CSV (lines starting with ``#`` skipped)."""
    with open(_TABLE, encoding="utf-8", newline="") as fh:
        rows = csv.DictReader(line for line in fh if not line.startswith("#"))
        return {
            row["code"].strip(): (row["name"].strip(), (row.get("abbreviation") or "").strip())
            for row in rows
        }


@functools.cache
def _names() -> dict[str, str]:
    return {code: pair[0] for code, pair in _table().items()}


def snomed_name(code: str | int) -> str:
    """Readable name of a SNOMED-CT concept id, ``""`` when it is not in the table."""
    return _table().get(str(code).strip(), ("", ""))[0]


def snomed_abbreviation(code: str | int) -> str:
    """Challenge abbreviation of a SNOMED-CT concept id (e.g. ``"AF"``), ``""`` when unknown."""
    return _table().get(str(code).strip(), ("", ""))[1]


def __getattr__(name: str) -> Any:
    # SNOMED_CT is built on first access (PEP 562), so importing l2g.io stays cheap.
    if name == "SNOMED_CT":
        return _names()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
