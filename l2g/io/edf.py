"""EDF / EDF+C files."""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from ..leads import LEADS, normalize_lead_name
from ._common import (
    _EDF_MAGIC,
    _check_length,
    _Info,
    _parse_sex,
    raw_from_channels,
)
from ._raw import RawECG, Reader


# =================================================================== EDF
@dataclass
class _EdfHeader:
    """What an EDF header says, checked: the ECG signals' indices, scaling and layout."""

    header_bytes: int
    n_records: int
    duration: float
    labels: list[str]
    units: list[str]
    pmin: np.ndarray
    pmax: np.ndarray
    dmin: np.ndarray
    dmax: np.ndarray
    nsamp: np.ndarray
    ecg: list[int]
    other: list[str]
    info: _Info

    @property
    def spr(self) -> int:
        """Samples of each ECG signal per data record."""
        return int(self.nsamp[self.ecg[0]])


def _parse(path: Path) -> _EdfHeader:
    """Read and check the header of an EDF / EDF+C file (nothing of the signal is decoded)."""
    file = str(path)
    raw_size = path.stat().st_size
    with open(path, "rb") as fh:
        fixed = fh.read(256)
        if len(fixed) < 256:
            raise ValueError(f"{file}: {len(fixed)} bytes, too short for an EDF header; expected 256 + 256 per signal")
        if fixed[:8] != _EDF_MAGIC:
            what = "a BDF (24-bit) file" if fixed[1:8] == b"BIOSEMI" else f"version {fixed[:8]!r}"
            raise ValueError(f"{file}: {what} is not supported; expected EDF (version '0')")

        def field_(block: bytes, start: int, width: int, label: str, conv: Any = str) -> Any:
            text = block[start:start + width].decode("latin-1").strip()
            try:
                return conv(text)
            except ValueError:
                raise ValueError(f"{file}: EDF header field '{label}' (bytes {start}-{start + width}) is "
                                 f"{text!r}; expected a {conv.__name__}") from None

        patient = field_(fixed, 8, 80, "patient")
        recording = field_(fixed, 88, 80, "recording")
        header_bytes = field_(fixed, 184, 8, "header bytes", int)
        reserved = field_(fixed, 192, 44, "reserved")
        n_records = field_(fixed, 236, 8, "number of data records", int)
        duration = field_(fixed, 244, 8, "duration of a data record", float)
        ns = field_(fixed, 252, 4, "number of signals", int)
        if reserved.startswith("EDF+D"):
            raise ValueError(f"{file}: EDF+D (interrupted recording) is not supported; expected EDF or EDF+C")
        if ns < 1 or header_bytes != 256 * (ns + 1):
            raise ValueError(f"{file}: header declares {ns} signals and {header_bytes} header bytes; "
                             f"expected 256 * (signals + 1) bytes")
        if not duration > 0:  # NaN too
            raise ValueError(f"{file}: data record duration {duration}; expected a positive number of seconds")
        sh = fh.read(256 * ns)
        if len(sh) < 256 * ns:
            raise ValueError(f"{file}: truncated header; expected {header_bytes} bytes")

    def column(offset: int, width: int, label: str, conv: Any = str) -> list[Any]:
        base = offset * ns
        return [field_(sh, base + i * width, width, label, conv) for i in range(ns)]

    labels = column(0, 16, "label")
    units = column(16 + 80, 8, "physical dimension")
    pmin = np.array(column(16 + 80 + 8, 8, "physical minimum", float))
    pmax = np.array(column(16 + 80 + 16, 8, "physical maximum", float))
    dmin = np.array(column(16 + 80 + 24, 8, "digital minimum", float))
    dmax = np.array(column(16 + 80 + 32, 8, "digital maximum", float))
    nsamp = np.array(column(16 + 80 + 40 + 80, 8, "samples per data record", int))
    if (nsamp < 1).any():
        raise ValueError(f"{file}: samples per data record {nsamp.tolist()}; expected positive numbers")
    record_bytes = 2 * int(nsamp.sum())
    complete = (raw_size - header_bytes) // record_bytes if record_bytes else 0
    if n_records == -1:
        n_records = complete
    if complete < n_records:
        raise ValueError(f"{file}: truncated: holds {complete} complete data records but the header promises "
                         f"{n_records}; expected {header_bytes + n_records * record_bytes} bytes")
    _check_length(file, n_records * int(nsamp.max()), float(nsamp.max()) / duration)
    keep = [i for i in range(ns) if labels[i] != "EDF Annotations"]
    ecg = [i for i in keep if normalize_lead_name(labels[i]) is not None]
    rates = {labels[i]: nsamp[i] / duration for i in ecg}
    if len(set(rates.values())) > 1:
        listing = ", ".join(f"{k} {v:g} Hz" for k, v in rates.items())
        raise ValueError(f"{file}: ECG leads sampled at different rates ({listing}); expected one rate")
    if not ecg:
        raise ValueError(f"{file}: no ECG lead among the signals {labels}; expected names such as "
                         f"{', '.join(LEADS)}")
    for i in ecg:
        if dmax[i] == dmin[i] or pmax[i] == pmin[i]:
            raise ValueError(f"{file}: signal {labels[i]!r} has an empty digital or physical range; "
                             "expected minimum < maximum")
    info = _edf_info(patient, recording, reserved)
    info.other_channels = [labels[i] for i in keep if i not in ecg]
    return _EdfHeader(header_bytes=header_bytes, n_records=n_records, duration=duration, labels=labels,
                      units=units, pmin=pmin, pmax=pmax, dmin=dmin, dmax=dmax, nsamp=nsamp, ecg=ecg,
                      other=info.other_channels, info=info)


def _decode(path: Path, h: _EdfHeader, first: int, stop: int) -> np.ndarray:
    """The ECG signals of data records ``first:stop`` in physical units, shape (ECG signals, records x spr)."""
    per_record = int(h.nsamp.sum())
    data = np.fromfile(path, dtype="<i2", count=(stop - first) * per_record,
                       offset=h.header_bytes + 2 * first * per_record).reshape(stop - first, per_record)
    starts = np.concatenate([[0], np.cumsum(h.nsamp)])
    signal = np.empty((len(h.ecg), (stop - first) * h.spr))
    for row, i in enumerate(h.ecg):
        digital = data[:, starts[i]:starts[i + 1]].reshape(-1).astype(np.float64)
        signal[row] = h.pmin[i] + (digital - h.dmin[i]) * (h.pmax[i] - h.pmin[i]) / (h.dmax[i] - h.dmin[i])
    return signal


def _raw(path: Path, h: _EdfHeader, signal: np.ndarray) -> RawECG:
    return raw_from_channels(str(path), [h.labels[i] for i in h.ecg], signal, float(h.spr / h.duration), fmt="EDF",
                             info=h.info, units=[h.units[i] for i in h.ecg])


def read(path: Path) -> RawECG:
    """Read EDF / EDF+C (16-bit) per the EDF specification.

    Written here rather than with ``wfdb.io.convert.edf.read_edf`` because
    that (wfdb 4.3) truncates the baseline to an integer plus one (an offset
    of up to one quantisation step), prints to stdout on EDF+ annotation
    channels, averages mixed-rate channels wrongly and fails cryptically on
    truncated files.
    """
    h = _parse(path)
    return _raw(path, h, _decode(path, h, 0, h.n_records))


def extent(path: Path) -> tuple[int, float]:
    """``(samples per ECG lead, rate in Hz)`` of the EDF file ``path``, from its header (data records x samples
    per record)."""
    h = _parse(path)
    return h.n_records * h.spr, float(h.spr / h.duration)


def read_span(path: Path, start: int, stop: int) -> RawECG:
    """:func:`read` of samples ``start:stop`` of every ECG lead: only the data records that hold them are read.

    Raises
    ------
    ValueError
        For a range outside ``0 <= start < stop <=`` :func:`extent`; the message names the file.
    """
    h = _parse(path)
    n = h.n_records * h.spr
    if not 0 <= start < stop <= n:
        raise ValueError(f"{path}: samples {start}:{stop} requested; expected 0 <= start < stop <= {n}")
    first, last = start // h.spr, -(-stop // h.spr)
    signal = _decode(path, h, first, last)
    return _raw(path, h, signal[:, start - first * h.spr: stop - first * h.spr])


def _edf_info(patient: str, recording: str, reserved: str) -> _Info:
    """Sex and age from the EDF+ patient/recording fields ('code sex birthdate name', 'Startdate dd-MMM-yyyy')."""
    info = _Info()
    if not reserved.startswith("EDF+"):
        return info  # plain EDF: the patient field is free text (often a name); not kept
    parts = patient.split()
    if len(parts) >= 2:
        info.sex = _parse_sex(parts[1])
    rec_parts = recording.split()
    if len(parts) >= 3 and len(rec_parts) >= 2 and rec_parts[0] == "Startdate":
        try:
            born = _dt.datetime.strptime(parts[2].title(), "%d-%b-%Y").date()
            start = _dt.datetime.strptime(rec_parts[1].title(), "%d-%b-%Y").date()
        except ValueError:
            return info
        age = (start - born).days / 365.25
        if 0 <= age <= 130:
            info.age = float(int(age))
    return info




def sniff(head: bytes, path: Path) -> bool:
    """Whether ``head`` starts an EDF file (version field ``"0"`` padded to 8 bytes)."""
    return head[:8] == _EDF_MAGIC


READER = Reader(name="edf", kind="EDF", suffixes=(".edf",), sniff=sniff, read=read, extent=extent,
                read_span=read_span)
