"""Which reader reads a file: the formats tried by content (:data:`FORMATS`), WFDB by its files.

Below the package's ``__init__`` (:func:`l2g.io.read_record`) and :mod:`l2g.io.archive` (a zip is
one of the formats, and the record inside it is dispatched here again); imports neither.
"""

from __future__ import annotations

import importlib
import struct
from pathlib import Path
from typing import Any

from ..record import Record
from ._common import (
    _CSV_EXT,
    _EDF_EXT,
    _HDF5_EXT,
    _WFDB_EXT,
    UnknownFormat,
    _check_length,
    _magic,
    from_raw,
)
from ._raw import FormatError
from ._xml import root_name
from .csvfile import _read_csv
from .edf import _read_edf
from .wfdb import _read_wfdb

#: Readers tried in order, each with its ``sniff(head, path)`` on the first :data:`SNIFF_BYTES` bytes
#: of a file (magic bytes; an XML root element and namespace): the first that claims the file
#: reads it. Cart formats come before the generic ones. A module either has ``read(path) ->
#: RawECG`` (turned into a Record by :func:`l2g.io._common.from_raw`) or ``load(path, *, fs,
#: nan_policy, name) -> Record``. WFDB is chosen by its files (``.hea``, or the ``.dat``/``.mat``/
#: record path beside one), not by content.
FORMATS: tuple[str, ...] = (
    "dicom",
    "scp",
    "ishne",
    "aecg",
    "philips",
    "muse",
    "cardiosoft",
    "hdf5",
    "archive",
    "edf",
    "csvfile",
)
#: How many leading bytes the sniffers see.
SNIFF_BYTES: int = 4096
# what each format is called in messages
_KIND = {"scp": "SCP-ECG", "ishne": "ISHNE Holter", "aecg": "HL7 aECG", "philips": "Philips SierraECG",
         "muse": "GE MUSE", "cardiosoft": "GE CardioSoft", "dicom": "DICOM", "hdf5": "HDF5 (SPH)",
         "archive": "zip", "edf": "EDF", "csvfile": "CSV"}
_XML_FORMATS = ("aecg", "philips", "muse", "cardiosoft")


def _module(fmt: str) -> Any:
    return importlib.import_module(f"{__package__}.{fmt}")


def sniff_format(path: Path, head: bytes | None = None) -> str | None:
    """The name (an entry of :data:`FORMATS`) of the reader that claims ``path`` by content, or None.

    Parameters
    ----------
    path : Path
        An existing file.
    head : bytes, optional
        Its first :data:`SNIFF_BYTES` bytes, when already read.

    Returns
    -------
    str or None
    """
    head = _magic(path, SNIFF_BYTES) if head is None else head[:SNIFF_BYTES]
    for fmt in FORMATS:
        try:
            if _module(fmt).sniff(head, path):
                return fmt
        except (ValueError, KeyError, IndexError, struct.error, UnicodeError, OSError):
            continue  # a sniffer that chokes on odd bytes does not claim the file
    return None


def _read_as(fmt: str, path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    """Read ``path`` with the reader ``fmt`` (a cart format through :func:`from_raw`)."""
    mod = _module(fmt)
    if hasattr(mod, "load"):
        return mod.load(path, fs=fs, nan_policy=nan_policy, name=name)
    try:
        raw = mod.read(path)
    except (KeyError, IndexError, struct.error, UnicodeError, OverflowError, ZeroDivisionError) as exc:
        raise FormatError(f"{path}: cannot decode this {_KIND.get(fmt, fmt)} file ({type(exc).__name__}: {exc}); "
                          "expected an intact file") from None
    n = len(next(iter(raw.leads.values()))) if raw.leads else None
    _check_length(str(path), n, float(raw.fs) if raw.fs else None)
    return from_raw(raw, file=str(path), name=name or path.stem, source_format=fmt, fs=fs, nan_policy=nan_policy)


def _read_path(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; expected a record file")
    ext = path.suffix.lower()
    if not path.exists():
        hea = Path(str(path) + ".hea")
        if ext not in (*_WFDB_EXT, *_CSV_EXT, *_HDF5_EXT, *_EDF_EXT, ".zip") and hea.exists():
            return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
        raise ValueError(f"{path}: file not found; expected an existing record file")
    hea = path.with_suffix(".hea")
    if ext == ".hea" or (ext in _WFDB_EXT and hea.exists()):
        return _read_wfdb(hea, fs=fs, nan_policy=nan_policy, name=name)
    head = _magic(path, SNIFF_BYTES)
    fmt = sniff_format(path, head)
    if fmt is not None:
        return _read_as(fmt, path, fs=fs, nan_policy=nan_policy, name=name)
    if ext in _WFDB_EXT:
        raise ValueError(f"{path}: no header {hea.name} beside it; expected a WFDB/Challenge record "
                         "with its .hea file")
    if ext in _EDF_EXT:
        return _read_edf(path, fs=fs, nan_policy=nan_policy, name=name)  # says what is wrong with the header
    if ext in _HDF5_EXT:
        raise ValueError(f"{path}: not an HDF5 file (bad signature); expected an HDF5 file")
    if ext == ".zip":
        raise ValueError(f"{path}: not a zip file (bad signature); expected a .zip archive")
    root = root_name(head)
    if root is not None:
        ns, local = root
        kinds = ", ".join(f"{_KIND[f]} ({_ROOTS[f]})" for f in _XML_FORMATS if f in FORMATS)
        raise UnknownFormat(f"{path}: an XML file with root element {local!r}"
                            f"{f' (namespace {ns})' if ns else ''}, which is none of the ECG kinds looked for: "
                            f"{kinds}; expected one of these exports")
    if ext in _CSV_EXT:
        return _read_csv(path, fs=fs, nan_policy=nan_policy, name=name)  # says why it is not a CSV record
    tried = ", ".join(_KIND.get(f, f) for f in FORMATS)
    raise UnknownFormat(f"{path}: unknown file type: none of the formats tried ({tried}, and WFDB by its .hea) "
                        "recognises its content; expected .hea/.dat/.mat (WFDB), an ECG cart export "
                        "(.xml, .scp, .ecg), .edf, .csv, .h5 or .zip")


# the root element each XML reader expects, for the message about an unknown XML
_ROOTS = {"aecg": "AnnotatedECG", "philips": "restingecgdata", "muse": "RestingECG", "cardiosoft": "CardiologyXML"}
