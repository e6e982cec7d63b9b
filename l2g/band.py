"""How a record's band is named in files: the names readers and writers agree on (nothing else here).

The band (``record.interval``, :mod:`l2g.uncertainty`) is written beside the signal, never into it
(:mod:`l2g.export`): a CSV gets two columns per generated lead, ``<lead>_low`` and ``<lead>_high``
(:data:`BAND_SUFFIXES`); WFDB and DICOM exports get a companion WFDB record ``<name>_band``
(:data:`BAND_RECORD_SUFFIX`). The readers (:mod:`l2g.io`) and folder scans (:mod:`l2g.catalog`) use these
names to leave the band out. This module sits below both ``io`` and ``export`` and imports neither.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

__all__ = ["BAND_SUFFIXES", "BAND_RECORD_SUFFIX", "is_band_record"]

#: Column / signal-name suffixes of the band's lower and upper edges (``V1_low``, ``V1_high``).
BAND_SUFFIXES: tuple[str, str] = ("_low", "_high")
#: Suffix of the companion WFDB record holding the band (``demo_band.hea`` beside ``demo.hea``).
BAND_RECORD_SUFFIX: str = "_band"


def is_band_record(path: str | os.PathLike[str], exists: Callable[[Path], bool] | None = None) -> bool:
    """Whether ``path`` is a ``<name>_band.hea`` (:func:`l2g.export.write_band_wfdb`) beside a ``<name>.hea``.

    Readers and folder scans skip such a header: the band is not a record of its own. ``exists`` says
    whether a file is there (default :meth:`pathlib.Path.exists`; an archive on object storage passes
    its listing, :mod:`l2g.remote`).

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     band = Path(tmp) / "demo_band.hea"
    ...     _ = band.write_text("")
    ...     alone = is_band_record(band)  # no demo.hea beside it yet
    ...     _ = (Path(tmp) / "demo.hea").write_text("")
    ...     alone, is_band_record(band), is_band_record(Path(tmp) / "demo.hea")
    (False, True, False)
    """
    p = Path(path)
    return (p.suffix.lower() == ".hea" and p.stem.endswith(BAND_RECORD_SUFFIX)
            and (exists or Path.exists)(p.with_name(p.stem[: -len(BAND_RECORD_SUFFIX)] + p.suffix)))
