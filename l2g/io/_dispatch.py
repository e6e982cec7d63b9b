"""Which reader reads a file: the formats tried by content (:data:`FORMATS`, from the registry
:mod:`l2g.io._registry`), WFDB by its files.

Below the package's ``__init__`` (:func:`l2g.io.read_record`) and :mod:`l2g.io.archive` (a zip is
one of the formats, and the record inside it is dispatched here again); imports neither.
"""

from __future__ import annotations

import struct
from pathlib import Path
from typing import Any

from ..record import Record
from ._common import (
    UnknownFormat,
    _magic,
    from_raw,
)
from ._raw import FormatError
from ._registry import cart_suffixes, reader, readers
from ._xml import root_name

#: How many leading bytes the sniffers see.
SNIFF_BYTES: int = 4096


def formats() -> tuple[str, ...]:
    """Names of the readers tried by content, in order (:func:`l2g.io._registry.readers`, those with a
    ``sniff``): the first that claims a file reads it. Cart formats come before the generic ones; WFDB
    is chosen by its files (``.hea``, or the ``.dat``/``.mat``/record path beside one), not by content.
    """
    return tuple(r.name for r in readers() if r.sniff is not None)


def __getattr__(name: str) -> Any:
    if name == "FORMATS":  # derived from the registry each time: a registered reader is in it
        return formats()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


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
    for r in readers():
        if r.sniff is None:
            continue
        try:
            if r.sniff(head, path):
                return r.name
        except (ValueError, KeyError, IndexError, struct.error, UnicodeError, OSError):
            continue  # a sniffer that chokes on odd bytes does not claim the file
    return None


def _read_as(fmt: str, path: Path, *, fs: float | None, nan_policy: str, name: str | None,
             span: tuple[int, int] | None = None) -> Record:
    """Read ``path`` with the reader ``fmt``: its ``read`` (or ``read_span`` of samples ``span``) gives a
    RawECG, :func:`from_raw` the Record."""
    r = reader(fmt)
    if r.read is None:  # a container (zip): opens the record inside through this dispatcher
        return r.open(path, fs=fs, nan_policy=nan_policy, name=name)
    try:
        raw = r.read(path) if span is None else r.read_span(path, *span)
    except (KeyError, IndexError, struct.error, UnicodeError, OverflowError, ZeroDivisionError) as exc:
        raise FormatError(f"{path}: cannot decode this {r.kind} file ({type(exc).__name__}: {exc}); "
                          "expected an intact file") from None
    return from_raw(raw, file=str(path), name=name or path.stem, source_format=r.name, fs=fs, nan_policy=nan_policy)


def _read_path(path: Path, *, fs: float | None, nan_policy: str, name: str | None) -> Record:
    if path.is_dir():
        raise ValueError(f"{path}: is a directory; expected a record file")
    ext = path.suffix.lower()
    wfdb = reader("wfdb").all_suffixes
    if not path.exists():
        hea = Path(str(path) + ".hea")
        generic = {s for r in readers() if not r.cart for s in r.all_suffixes}
        if ext not in generic and hea.exists():
            return _read_as("wfdb", hea, fs=fs, nan_policy=nan_policy, name=name)
        raise ValueError(f"{path}: file not found; expected an existing record file")
    hea = path.with_suffix(".hea")
    if ext == ".hea" or (ext in wfdb and hea.exists()):
        return _read_as("wfdb", hea, fs=fs, nan_policy=nan_policy, name=name)
    head = _magic(path, SNIFF_BYTES)
    fmt = sniff_format(path, head)
    if fmt is not None:
        return _read_as(fmt, path, fs=fs, nan_policy=nan_policy, name=name)
    if ext in wfdb:
        raise ValueError(f"{path}: no header {hea.name} beside it; expected a WFDB/Challenge record "
                         "with its .hea file")
    if ext in reader("edf").all_suffixes:  # its reader says what is wrong with the header
        return _read_as("edf", path, fs=fs, nan_policy=nan_policy, name=name)
    if ext in reader("hdf5").all_suffixes:
        raise ValueError(f"{path}: not an HDF5 file (bad signature); expected an HDF5 file")
    if ext in reader("archive").all_suffixes:
        raise ValueError(f"{path}: not a zip file (bad signature); expected a .zip archive")
    root = root_name(head)
    if root is not None:
        ns, local = root
        kinds = ", ".join(f"{r.kind} ({r.xml_root})" for r in readers() if r.xml_root)
        raise UnknownFormat(f"{path}: an XML file with root element {local!r}"
                            f"{f' (namespace {ns})' if ns else ''}, which is none of the ECG kinds looked for: "
                            f"{kinds}; expected one of these exports")
    if ext in reader("csv").all_suffixes:  # its reader says why it is not a CSV record
        return _read_as("csv", path, fs=fs, nan_policy=nan_policy, name=name)
    tried = ", ".join(r.kind for r in readers() if r.sniff is not None)
    raise UnknownFormat(f"{path}: unknown file type: none of the formats tried ({tried}, and WFDB by its .hea) "
                        "recognises its content; expected .hea/.dat/.mat (WFDB), an ECG cart export "
                        f"({', '.join(cart_suffixes())}), .edf, .csv, .h5 or .zip")


def ranged_source(path: Path) -> tuple[str, Path, int, float | None] | None:
    """For a record that can be read in ranges: ``(reader name, the file it reads, samples per lead, rate in Hz
    or None)``; else None.

    The reader is chosen as :func:`l2g.io.read_record` chooses it (WFDB by its ``.hea``, the others
    by content); its ``extent`` gives the length from the header without decoding the signal. None
    for a format without ranged reads (:attr:`l2g.io.Reader.read_span`), or a file of a ranged
    format that cannot be read so (a WFDB ``.mat`` record).

    Raises
    ------
    ValueError
        From the reader's header checks, naming the file.
    """
    ext = path.suffix.lower()
    hea = path.with_suffix(".hea")
    if ext == ".hea" or (ext in reader("wfdb").all_suffixes and hea.exists()):
        r, file = reader("wfdb"), hea
    elif path.is_file() and (fmt := sniff_format(path)) is not None:
        r, file = reader(fmt), path
    else:
        return None
    if r.extent is None or r.read_span is None:
        return None
    size = r.extent(file)
    return None if size is None else (r.name, file, int(size[0]), None if size[1] is None else float(size[1]))


def read_span(path: Path, start: int, stop: int, *, fs: float | None = None, nan_policy: str = "raise",
              name: str | None = None) -> Record:
    """Samples ``start:stop`` of the record at ``path`` as a Record (the same values :func:`l2g.io.read_record`
    gives there; reader notes and the NaN policy apply to the range).

    Parameters
    ----------
    path : Path
        A record :func:`ranged_source` accepts.
    start, stop : int
        Samples per lead, ``0 <= start < stop <=`` its length.
    fs, nan_policy, name
        As for :func:`l2g.io.read_record`.

    Raises
    ------
    ValueError
        When the record cannot be read in ranges, or the range is outside it.
    """
    from ._common import collecting_notes

    source = ranged_source(path)
    if source is None:
        raise ValueError(f"{path}: cannot be read in ranges; expected a format whose reader has read_span "
                         f"({', '.join(r.name for r in readers() if r.read_span is not None)})")
    fmt, file = source[:2]
    with collecting_notes():
        return _read_as(fmt, file, fs=fs, nan_policy=nan_policy, name=name, span=(start, stop))
