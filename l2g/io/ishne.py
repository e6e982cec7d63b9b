"""ISHNE Holter 1.0 reader (the International Society for Holter and Noninvasive
Electrocardiology standard output format).

Layout: the magic ``"ISHNE1.0"`` (8 bytes), a CRC-CCITT of the header (2 bytes), a fixed
header of 512 bytes (little-endian; lead count, lead codes, lead quality, resolution per lead
in nV, sampling rate, patient and recording dates, recorder), a variable-length block, then
the samples: int16, interleaved by lead (sample 0 of every lead, then sample 1...).

Decisions
---------
* Files are read with :func:`numpy.memmap` and scaled lead by lead (no Python loop over
  samples); a 24-h, 12-lead, 1000-Hz file yields 8 GB of float64 leads, so memory is the limit.
  :func:`read_span` decodes a range only (``extent`` / ``read_span`` of the reader: the archive
  pipeline streams a long file, :mod:`l2g.stream`); its notes count the invalid samples of the range.
* Header CRC mismatch is a :class:`FormatError` (the resolution and the lead layout live in the
  header). A stored CRC of 0 means "not computed" for several writers (the ISHNE annotation
  file shipped with our test ECG has one): accepted with a note.
* -32768 is not an ECG value: samples at the end where every lead is -32768 (a writer's
  padding) are cropped, and any other -32768 becomes NaN, left to the dispatcher's
  ``nan_policy``; a note counts them.
* Leads whose quality code is -9 ("absent") are left out, with a note.
* A data block longer than the header's sample count is read up to that count (note); a
  shorter one is a truncated file (error). A sample count of 0 or less (some writers) is
  taken from the file size (note).
* ISHNE annotation files (magic ``"ANN  1.0"``, same header) are not ECGs: ``sniff`` says
  False and ``read`` refuses them.
"""

from __future__ import annotations

import datetime as _dt
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from l2g.io.scp import crc_ccitt

from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "extent", "read_span", "LEAD_NAMES", "MAGIC", "ANNOTATION_MAGIC"]

MAGIC = b"ISHNE1.0"
ANNOTATION_MAGIC = b"ANN  1.0"
_FIXED = 512
_PREAMBLE = 10  # magic + CRC
_PAD = -32768
_MAX_LEADS = 12

#: ISHNE lead specification codes -> plain lead names (0 and 1 get a channel number appended).
LEAD_NAMES: dict[int, str] = {
    0: "unknown", 1: "bipolar", 2: "X", 3: "Y", 4: "Z", 5: "I", 6: "II", 7: "III",
    8: "aVR", 9: "aVL", 10: "aVF", 11: "V1", 12: "V2", 13: "V3", 14: "V4", 15: "V5", 16: "V6",
    17: "ES", 18: "AS", 19: "AI",
}

@dataclass
class _Layout:
    """What the header of an ISHNE file says, checked, and where its samples end."""

    ecg_offset: int
    nsamples: int  # samples per lead in the data block (header count, or from the file size)
    end: int  # samples per lead before trailing pad rows
    names: list[str]
    quality: tuple
    resolution: tuple  # nV per unit, per lead
    fs: float
    notes: list[str]
    meta: tuple  # sex, record date, birth date, start time, recorder, first, last name, id, version, ...


# Fixed header: var block size, samples per lead, var block offset, ECG offset, version,
# first name, last name, id, sex, race, birth date, record date, file date, start time,
# lead count, lead codes, lead quality, resolution (nV), pacemaker, recorder, sampling rate.
_HEADER = struct.Struct("<iiiih40s40s20shh3h3h3h3hh12h12h12hh40sh80s80s88s")
assert _HEADER.size == _FIXED


def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` starts an ISHNE Holter ECG file (magic ``"ISHNE1.0"``).

    An ISHNE annotation file (``"ANN  1.0"``) is not an ECG: False.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (up to 4096).
    path : Path
        The file (not used: the content decides).

    Returns
    -------
    bool

    Examples
    --------
    >>> from pathlib import Path
    >>> sniff(b"ISHNE1.0" + bytes(520), Path("a.bin")), sniff(b"ANN  1.0" + bytes(520), Path("a.ecg"))
    (True, False)
    """
    return head[:8] == MAGIC


def _date(day: int, month: int, year: int) -> _dt.date | None:
    try:
        return _dt.date(year, month, day)
    except ValueError:  # -9 (unknown) or out of range
        return None


def _text(value: bytes) -> str:
    return value.split(b"\x00", 1)[0].decode("latin-1").strip()


def read(path: Path) -> RawECG:
    """Decode an ISHNE Holter 1.0 ECG file.

    Parameters
    ----------
    path : Path
        The ``.ecg`` file.

    Returns
    -------
    RawECG
        ``leads``: lead name (``"I"``, ``"V1"``, ``"X"``, ``"bipolar 2"``...) -> mV, float64,
        shape (samples,); ``fs`` from the header (Hz); sex, age at recording (from the birth
        date), acquisition date-time, recorder; pad values handled as described in the
        module docstring.

    Raises
    ------
    FormatError
        Naming the file and the problem: wrong magic (or an annotation file), header CRC
        mismatch, 0 or more than 12 leads, non-positive rate or resolution, truncated data.

    Examples
    --------
    >>> import tempfile
    >>> p = Path(tempfile.mkdtemp()) / "x.ecg"
    >>> _ = p.write_bytes(b"ANN  1.0" + bytes(600))
    >>> try:
    ...     read(p)
    ... except FormatError as e:
    ...     print("annotation file" in str(e))
    True
    """
    return _guarded(Path(path), _read)


def _guarded(path: Path, func):
    """``func(path)`` with what a damaged file raises turned into a :class:`FormatError` naming it."""
    try:
        return func(path)
    except FormatError:
        raise
    except OSError as e:
        raise FormatError(f"{path}: ISHNE: cannot read the file ({e.strerror or e})") from e
    except (struct.error, IndexError, KeyError, ValueError, OverflowError) as e:
        raise FormatError(f"{path}: ISHNE: damaged file ({type(e).__name__}: {e})") from e


def _layout(path: Path) -> _Layout:
    """The checked header of the ISHNE file ``path`` and where its samples end (trailing pad cropped)."""
    def fail(problem: str) -> FormatError:
        return FormatError(f"{path}: ISHNE: {problem}")

    size = path.stat().st_size
    with path.open("rb") as f:
        head = f.read(_PREAMBLE + _FIXED)
        magic = head[:8]
        if magic == ANNOTATION_MAGIC:
            raise fail("this is an ISHNE annotation file (magic 'ANN  1.0'), not an ECG; read the .ecg file")
        if magic != MAGIC:
            raise fail(f"magic {magic!r}; expected {MAGIC!r}")
        if len(head) < _PREAMBLE + _FIXED:
            raise fail(f"file of {size} bytes is shorter than the {_PREAMBLE + _FIXED}-byte ISHNE header: "
                       "truncated")
        (var_size, nsamples, var_offset, ecg_offset, version, first, last, pid, sex, _race,
         *rest) = _HEADER.unpack_from(head, _PREAMBLE)
        birth, recorded, _filed, start = rest[0:3], rest[3:6], rest[6:9], rest[9:12]
        nleads = rest[12]
        codes, quality, resolution = rest[13:25], rest[25:37], rest[37:49]
        pacemaker, recorder, fs = rest[49], rest[50], rest[51]
        if not 0 <= var_size <= size or ecg_offset < _PREAMBLE + _FIXED or ecg_offset > size:
            raise fail(f"ECG block offset {ecg_offset} (variable block {var_size} bytes) does not fit the "
                       f"{size}-byte file; expected {_PREAMBLE + _FIXED} + variable block size")
        f.seek(_PREAMBLE)
        header = f.read(ecg_offset - _PREAMBLE)
        stored_crc = int.from_bytes(head[8:10], "little")

    notes: list[str] = []
    computed = crc_ccitt(header)
    if stored_crc == 0 and computed != 0:
        notes.append("the header CRC is 0 (not computed by the writer); not checked")
    elif computed != stored_crc:
        raise fail(f"header CRC mismatch (stored 0x{stored_crc:04X}, computed 0x{computed:04X}); "
                   "the header is damaged")
    if not 1 <= nleads <= _MAX_LEADS:
        raise fail(f"{nleads} leads in the header; expected 1 to {_MAX_LEADS}")
    if fs <= 0:
        raise fail(f"sampling rate {fs} Hz in the header; expected a positive rate")
    for k in range(nleads):
        if resolution[k] <= 0:
            raise fail(f"lead {k + 1}: resolution {resolution[k]} nV; expected a positive value")

    available = (size - ecg_offset) // (2 * nleads)
    if nsamples <= 0:
        notes.append(f"the header's sample count is {nsamples}; {available} samples per lead taken from the "
                     "file size")
        nsamples = available
    elif nsamples > available:
        raise fail(f"truncated: the header declares {nsamples} samples per lead ({nleads} leads), the file "
                   f"holds {available}")
    elif nsamples < available:
        notes.append(f"{available - nsamples} samples per lead after the header's count ignored")
    if nsamples == 0:
        raise fail("no ECG samples in the file")

    names: list[str] = []
    for k in range(nleads):
        code = codes[k]
        name = LEAD_NAMES.get(code, f"ISHNE lead code {code}")
        if code in (0, 1):
            name = f"{name} {k + 1}"
        if name in names:
            raise fail(f"lead {k + 1} repeats lead {name} (code {code}); expected each lead once")
        names.append(name)

    data = np.memmap(path, dtype="<i2", mode="r", offset=ecg_offset, shape=(nsamples, nleads))
    try:
        end = _data_end(data)
    finally:
        del data
    if end == 0:
        raise fail("every sample is the pad value -32768; no ECG in the file")
    if end < nsamples:
        notes.append(f"{nsamples - end} trailing samples of pad value -32768 cropped")
    return _Layout(ecg_offset=ecg_offset, nsamples=nsamples, end=end, names=names, quality=quality,
                   resolution=resolution, fs=float(fs), notes=notes,
                   meta=(sex, recorded, birth, start, recorder, first, last, pid, version, var_size, pacemaker))


def _data_end(data: np.ndarray) -> int:
    """Samples before the trailing rows in which every lead is the pad value (scanned from the end in blocks)."""
    end = len(data)
    while end > 0:
        lo = max(0, end - (1 << 16))
        rows = (data[lo:end] == _PAD).all(axis=1)
        if not rows.all():
            return lo + len(rows) - int(np.argmin(rows[::-1]))
        end = lo
    return 0


def _read(path: Path, span: tuple[int, int] | None = None) -> RawECG:
    """The whole file (``span`` None) or samples ``span[0]:span[1]`` of it."""
    lay = _layout(path)
    start, stop = (0, lay.end) if span is None else span
    if not 0 <= start < stop <= lay.end:
        raise FormatError(f"{path}: ISHNE: samples {start}:{stop} requested; expected 0 <= start < stop <= {lay.end}")
    notes = list(lay.notes)
    sex, recorded, birth, start_time, recorder, first, last, pid, version, var_size, pacemaker = lay.meta
    data = np.memmap(path, dtype="<i2", mode="r", offset=lay.ecg_offset, shape=(lay.nsamples, len(lay.names)))
    try:
        block = data[start:stop]
        pad = block == _PAD
        inside = int(pad.sum())
        if inside:
            notes.append(f"{inside} samples of invalid value -32768 set to NaN")
        leads: dict[str, np.ndarray] = {}
        for k, name in enumerate(lay.names):
            if lay.quality[k] == -9:
                notes.append(f"lead {name} marked absent (quality -9) left out")
                continue
            values = block[:, k].astype(np.float64) * (lay.resolution[k] * 1e-6)
            if inside:
                values[pad[:, k]] = np.nan
            leads[name] = values
    finally:
        del data, block
    if not leads:
        raise FormatError(f"{path}: ISHNE: every lead is marked absent (quality -9)")

    ecg = RawECG(leads=leads, fs=lay.fs, fmt="ISHNE Holter 1.0", notes=notes)
    ecg.sex = {1: "M", 2: "F"}.get(sex)
    day = _date(*recorded)
    born = _date(*birth)
    if day is not None:
        ecg.acquired = day.isoformat()
        hour, minute, second = start_time
        if 0 <= hour < 24 and 0 <= minute < 60 and 0 <= second < 60:
            ecg.acquired = _dt.datetime(day.year, day.month, day.day, hour, minute, second).isoformat()
        if born is not None and day >= born:
            ecg.age = float(day.year - born.year - ((day.month, day.day) < (born.month, born.day)))
    ecg.device = _text(recorder) or None
    name = " ".join(p for p in (_text(first), _text(last)) if p and p.lower() != "none")
    if name:
        ecg.identity["name"] = name
    if _text(pid):
        ecg.identity["id"] = _text(pid)
    if born is not None:
        ecg.identity["birth_date"] = born.isoformat()
    ecg.fields = {"ishne_file_version": str(version), "variable_block_bytes": str(var_size),
                  "pacemaker_code": str(pacemaker),
                  "resolution_nV": ",".join(str(r) for r in lay.resolution[:len(lay.names)])}
    return ecg


def extent(path: Path) -> tuple[int, float]:
    """``(samples per lead, rate in Hz)`` of the ISHNE file ``path``: from its header, trailing pad cropped."""
    lay = _guarded(path, _layout)
    return lay.end, lay.fs


def read_span(path: Path, start: int, stop: int) -> RawECG:
    """:func:`read` of samples ``start:stop`` only (the file's data block is memory-mapped; only the range is
    decoded). Reader notes count the invalid samples of the range.

    Raises
    ------
    FormatError
        As :func:`read`, and for a range outside ``0 <= start < stop <=`` :func:`extent`.
    """
    return _guarded(path, lambda p: _read(p, (start, stop)))


READER = Reader(name="ishne", kind="ISHNE Holter", suffixes=(".ecg",), sniff=sniff, read=read,
                cart=True, extent=extent, read_span=read_span)
