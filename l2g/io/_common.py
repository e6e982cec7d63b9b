"""What every reader of :mod:`l2g.io` shares: turning channels and samples into a 12-lead
:class:`~l2g.record.Record` (lead names, units, NaN policy, plausibility checks), the length
limit, and the parsing of age, sex, diagnosis codes and ``L2G:`` provenance lines.
"""

from __future__ import annotations

import contextvars
import math
import re
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..leads import LEADS, normalize_lead_name
from ..record import (
    ABSENT,
    GENERATED,
    MEASUREMENT_KEYS,
    RECORDED,
    Diagnosis,
    LeadStatus,
    Metadata,
    Provenance,
    Record,
)
from ..snomed import snomed_name
from ._raw import RawECG

#: Accepted values of ``nan_policy``.
NAN_POLICIES: tuple[str, ...] = ("raise", "absent", "interpolate")
#: Longest gap (seconds) that ``nan_policy="interpolate"`` fills.
MAX_GAP_S: float = 0.2
#: Peak-to-peak range (mV) below which a lead is flat (lead off); the same rule as l2g.dataset.
FLAT_MV: float = 0.02
#: Share of a lead's samples in runs at its maximum or minimum above which it is saturated (clipped).
SATURATED_FRACTION: float = 0.05
#: Peak-to-peak range (mV) above which a lead is implausible for an ECG (the largest seen in the
#: shared archives is ~20 mV; µV labelled as mV gives ~1000 mV).
MAX_PLAUSIBLE_MV: float = 30.0
#: Sampling rates (Hz) a reader accepts, inclusive. ECG amplifiers sample at about 50 Hz to 16 kHz; a
#: rate outside this range (0, negative, NaN, 1e9 Hz) is a damaged header or a wrong argument.
FS_RANGE: tuple[float, float] = (1.0, 100_000.0)
#: The flat and saturated checks run only on records at least this long (seconds) ...
MIN_CHECK_S: float = 1.0
#: ... and with at least this many samples per lead (a few samples are "flat" or "clipped" by chance).
MIN_CHECK_SAMPLES: int = 100
_HDF5_MAGIC = b"\x89HDF\r\n\x1a\n"
_ZIP_MAGIC = b"PK\x03\x04"
_EDF_MAGIC = b"0       "
_UNIT_FACTORS = {"mv": 1.0, "millivolt": 1.0, "millivolts": 1.0, "uv": 1e-3, "µv": 1e-3, "μv": 1e-3,
                 "microvolt": 1e-3, "microvolts": 1e-3, "nv": 1e-6, "v": 1e3, "volt": 1e3, "volts": 1e3}


_MAX_SAMPLES: contextvars.ContextVar[int | None] = contextvars.ContextVar("l2g_max_samples", default=None)


def _check_length(file: str, n_samples: int | None, fs: float | None = None) -> None:
    """Refuse a record whose declared length exceeds read_record's ``max_samples`` (before decoding)."""
    limit = _MAX_SAMPLES.get()
    if limit is None or n_samples is None or n_samples <= limit:
        return
    seconds = n_samples / fs if fs else None
    dur = "" if seconds is None else (f" ({seconds / 3600:.1f} h at {fs:g} Hz)" if seconds >= 3600
                                      else f" ({seconds:g} s at {fs:g} Hz)")
    raise RecordTooLong(f"{file}: {n_samples:,} samples per lead{dur} is longer than the {limit:,} samples "
                        "accepted here (max_samples); the record was not decoded")


class RecordTooLong(ValueError):
    """A record longer than ``read_record``'s ``max_samples``; raised before its signal is decoded."""


class MissingSampleRate(ValueError):
    """A file that does not state its sampling rate (a CSV without a time column) and no ``fs`` given."""


class InvalidSampleRate(ValueError):
    """A sampling rate that is not a finite number within :data:`FS_RANGE` (0, negative, NaN, 1e9 Hz)."""


class UnknownFormat(ValueError):
    """A file that none of the readers recognises; the message lists the formats looked for."""


class SeveralRecords(ValueError):
    """Files read together (an upload, a zip) that hold more than one record; the message names them."""


class MissingSamples(ValueError):
    """A lead partly missing (NaN samples) that ``nan_policy`` does not accept: any under ``"raise"``, a gap
    of :data:`MAX_GAP_S` or more under ``"interpolate"``; the message names the lead, the count and the time."""


def to_mv_factor(unit: str) -> float | None:
    """Factor converting a value in ``unit`` to mV, or None for an unknown unit.

    >>> to_mv_factor("uV"), to_mv_factor("mv"), to_mv_factor("V"), to_mv_factor("mmHg")
    (0.001, 1.0, 1000.0, None)
    """
    return _UNIT_FACTORS.get(str(unit).strip().lower())


@dataclass
class _Info:
    """What a reader found besides the samples (all optional)."""

    age: float | None = None
    sex: str | None = None
    diagnoses: list[Diagnosis] = field(default_factory=list)
    comments: list[str] = field(default_factory=list)
    fields: dict[str, str] = field(default_factory=dict)
    provenance: Provenance | None = None
    generated: set[str] = field(default_factory=set)
    other_channels: list[str] = field(default_factory=list)
    device: str | None = None
    acquired: str | None = None
    measurements: dict[str, float] = field(default_factory=dict)
    interpretation: list[str] = field(default_factory=list)
    derived: dict[str, str] = field(default_factory=dict)


# the notes of the read in progress (set by read_record through collecting_notes)
_NOTES: contextvars.ContextVar[list[str] | None] = contextvars.ContextVar("l2g_read_notes", default=None)


@contextmanager
def collecting_notes() -> Iterator[list[str]]:
    """Collect the notes of the readers called inside the block (a fresh list; nested blocks share it)."""
    if _NOTES.get() is not None:
        yield _NOTES.get()  # type: ignore[misc]
        return
    notes: list[str] = []
    token = _NOTES.set(notes)
    try:
        yield notes
    finally:
        _NOTES.reset(token)


def _note(message: str) -> None:
    """Record an odd-but-readable finding as one sentence of ``Record.meta.notes`` (never a warning)."""
    notes = _NOTES.get()
    text = " ".join(str(message).split())
    if notes is not None and text not in notes:
        notes.append(text)


def check_rate(fs: object, file: str | None = None) -> float:
    """``fs`` as a float in Hz, checked against :data:`FS_RANGE`: the one rate check of every reader.

    Parameters
    ----------
    fs : float
        A rate a file states (``file`` given) or the ``fs`` argument of a caller (``file`` None).
    file : str, optional
        The file that states the rate, named in the message.

    Returns
    -------
    float

    Raises
    ------
    InvalidSampleRate
        For a rate that is not a number, not finite, or outside :data:`FS_RANGE`.

    Examples
    --------
    >>> check_rate("500", "a.hea")
    500.0
    >>> check_rate(0.0, "a.hea")
    Traceback (most recent call last):
    ...
    l2g.io._common.InvalidSampleRate: a.hea: sampling rate 0 Hz in the file; expected a number from 1 to 100000 Hz
    """
    try:
        rate = float(fs)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        rate = math.nan
    lo, hi = FS_RANGE
    if math.isfinite(rate) and lo <= rate <= hi:
        return rate
    shown = f"{rate:g}" if not math.isnan(rate) or isinstance(fs, (int, float, np.number)) else repr(fs)
    where = f"{file}: sampling rate {shown} Hz in the file" if file is not None else f"fs={shown} Hz"
    raise InvalidSampleRate(f"{where}; expected a number from {lo:g} to {hi:g} Hz")


def _check_fs(file: str, file_fs: object, fs: float | None) -> float:
    """The rate ``file`` states, checked (:func:`check_rate`) and compared with the caller's ``fs``."""
    file_fs = check_rate(file_fs, file)
    if fs is not None and not math.isclose(float(fs), float(file_fs), rel_tol=1e-6):
        raise ValueError(
            f"{file}: the file is sampled at {file_fs:g} Hz but fs={fs:g} was given; "
            "expected no fs or the file's rate (resample with l2g.preprocess)"
        )
    return float(file_fs)


def _assemble(
    signal: Sequence[np.ndarray],
    channels: Sequence[str],
    fs: float,
    *,
    file: str,
    name: str,
    nan_policy: str,
    source_format: str,
    units: Sequence[str] | None = None,
    info: _Info | None = None,
) -> Record:
    """Turn one row of samples per channel into a standard 12-lead Record.

    Maps channel names to leads, converts ECG leads to mV from ``units``,
    applies the NaN policy and the statuses found in L2G comments.
    """
    fs = check_rate(fs, file)  # every reader passes here: no rate reaches the checks below unchecked
    info = info or _Info()
    signal = [np.asarray(row, dtype=np.float64) for row in signal]  # rows, not stacked: no copy of a long record
    if len(signal) != len(channels):
        raise ValueError(f"{file}: {len(channels)} channel names for {len(signal)} channels of samples; "
                         "expected one name per channel")
    n_samples = signal[0].shape[0] if signal else 0
    if n_samples == 0:
        raise ValueError(f"{file}: the record has zero samples; expected at least one sample per lead")
    leads: list[str] = []
    rows: list[np.ndarray] = []
    raw_of: dict[str, str] = {}
    other = list(info.other_channels)
    for k, raw in enumerate(channels):
        canon = normalize_lead_name(raw)
        if canon is None:
            other.append(str(raw).strip())
            continue
        if canon in raw_of:
            raise ValueError(
                f"{file}: channels {raw_of[canon]!r} and {raw!r} are both lead {canon}; "
                "expected each lead at most once"
            )
        raw_of[canon] = raw
        row = signal[k]
        if units is not None:
            factor = to_mv_factor(units[k])
            if factor is None:
                raise ValueError(
                    f"{file}: lead {raw!r} has unit {units[k]!r}; expected mV, uV (µV), nV or V"
                )
            row = row * factor if factor != 1.0 else row
        leads.append(canon)
        rows.append(row)
    if other:
        _note(f"{file}: ignoring channel(s) that are not ECG leads: {', '.join(other)}")
    if not leads:
        raise ValueError(
            f"{file}: no ECG lead among the channels {list(channels)}; expected names such as "
            f"{', '.join(LEADS)}"
        )
    status: list[LeadStatus] = []
    for i, (lead, row) in enumerate(zip(leads, rows, strict=True)):
        bad = ~np.isfinite(row)
        if bad.all():
            rows[i] = np.full_like(row, np.nan)
            status.append(ABSENT)
            continue
        if bad.any():
            rows[i] = _apply_nan_policy(row, bad, lead, fs=fs, file=file, nan_policy=nan_policy)
            if nan_policy == "absent":
                status.append(ABSENT)
                continue
        status.append(GENERATED if lead in info.generated else RECORDED)
    _check_plausible(leads, rows, status, file=file, fs=fs)
    meta = Metadata(
        age=info.age,
        sex=info.sex,
        diagnoses=tuple(info.diagnoses),
        comments=tuple(info.comments),
        fields=dict(info.fields),
        other_channels=tuple(other),
        provenance=info.provenance,
        device=info.device,
        acquired=info.acquired,
        measurements=dict(info.measurements),
        interpretation=tuple(info.interpretation),
        derived=dict(info.derived),
        notes=tuple(_NOTES.get() or ()),
    )
    # straight into the 12 canonical rows: one (leads, samples) copy less than Record(...).standardize(),
    # which matters for a 24-hour record
    signal12 = np.full((len(LEADS), n_samples), np.nan, dtype=np.float32)
    status12: list[LeadStatus] = [ABSENT] * len(LEADS)
    for lead, row, st in zip(leads, rows, status, strict=True):
        signal12[LEADS.index(lead)] = row
        status12[LEADS.index(lead)] = st
    return Record(signal=signal12, fs=fs, leads=LEADS, status=tuple(status12), name=name, meta=meta,
                  source_format=source_format)


def _check_plausible(leads: Sequence[str], rows: Sequence[np.ndarray], status: Sequence[LeadStatus], *,
                     file: str, fs: float) -> None:
    """Note flat, saturated and implausibly large leads (one note per kind, naming the leads).

    The flat and saturated checks need at least :data:`MIN_CHECK_S` seconds and
    :data:`MIN_CHECK_SAMPLES` samples: a few samples can be "flat" or "clipped" by chance.
    """
    flat, saturated, huge = [], [], []
    for lead, row, st in zip(leads, rows, status, strict=True):
        if st == ABSENT:
            continue
        long_enough = row.size >= MIN_CHECK_SAMPLES and row.size / fs >= MIN_CHECK_S
        lo, hi = float(row.min()), float(row.max())
        if hi - lo > MAX_PLAUSIBLE_MV:
            huge.append(f"{lead} {hi - lo:.4g} mV")
        if not long_enough:
            continue
        if hi - lo < FLAT_MV:
            flat.append(lead)
            continue
        share = _saturated_share(row, lo, hi)
        if share >= SATURATED_FRACTION:
            saturated.append((lead, share))
    if flat:
        _note(f"{file}: {_leads_are(flat)} flat (peak-to-peak below {FLAT_MV:g} mV over the whole record): "
              "electrode off? Kept as recorded")
    if saturated:
        shares = ", ".join(f"{share:.1%}" for _, share in saturated)
        _note(f"{file}: {_leads_are([lead for lead, _ in saturated])} saturated: {shares} of the samples sit at "
              f"the lead's maximum or minimum (expected under {SATURATED_FRACTION:.0%}); clipped by the amplifier?")
    if huge:
        _note(f"{file}: peak-to-peak amplitude {', '.join(huge)}; expected at most {MAX_PLAUSIBLE_MV:g} mV "
              "for an ECG: values in µV labelled as mV? Check the file's units")


def _leads_are(items: Sequence[str]) -> str:
    return f"lead {items[0]} is" if len(items) == 1 else f"leads {', '.join(items)} are"


def _saturated_share(row: np.ndarray, lo: float, hi: float) -> float:
    """Share of samples in runs of at least 3 equal samples at ``lo`` or ``hi`` (a real ECG never sits still)."""
    stuck = 0
    for level in (lo, hi):
        at = np.concatenate([[False], row == level, [False]])
        edges = np.flatnonzero(at[1:] != at[:-1])
        runs = edges[1::2] - edges[::2]
        stuck += int(runs[runs >= 3].sum())
    return stuck / row.size


def _apply_nan_policy(
    row: np.ndarray, bad: np.ndarray, lead: str, *, fs: float, file: str, nan_policy: str
) -> np.ndarray:
    first = int(np.flatnonzero(bad)[0])
    count = int(bad.sum())
    if nan_policy == "raise":
        raise MissingSamples(
            f"{file}: lead {lead} has {count} missing (NaN) samples, the first at t={first / fs:.3f} s; "
            "expected finite samples (or pass nan_policy='absent' or 'interpolate')"
        )
    if nan_policy == "absent":
        _note(f"{file}: lead {lead} has {count} missing samples (first at t={first / fs:.3f} s); "
              "it is treated as absent")
        return np.full_like(row, np.nan)
    # interpolate: runs of NaN must each be shorter than MAX_GAP_S
    edges = np.diff(np.concatenate([[0], bad.astype(np.int8), [0]]))
    starts, stops = np.flatnonzero(edges == 1), np.flatnonzero(edges == -1)
    lengths = stops - starts
    worst = int(np.argmax(lengths))
    if lengths[worst] / fs >= MAX_GAP_S:
        raise MissingSamples(
            f"{file}: lead {lead} has a gap of {lengths[worst]} missing samples "
            f"({lengths[worst] / fs:.3f} s) at t={starts[worst] / fs:.3f} s; expected gaps shorter than "
            f"{MAX_GAP_S} s for nan_policy='interpolate' (use nan_policy='absent' to drop the lead)"
        )
    idx = np.arange(row.size)
    out = row.copy()
    out[bad] = np.interp(idx[bad], idx[~bad], row[~bad])
    _note(f"{file}: lead {lead}: interpolated {count} missing samples in {lengths.size} gap(s)")
    return out


def _magic(path: Path, n: int) -> bytes:
    try:
        with open(path, "rb") as fh:
            return fh.read(n)
    except OSError:
        return b""


def _parse_age(value: str, file: str) -> float | None:
    m = re.match(r"^\s*(\d+(?:\.\d+)?)", value)
    if m is None:
        return None  # NaN, Unknown, empty...
    age = float(m.group(1))
    if not 0 <= age <= 130:
        # PTB-XL codes ages over 89 as 300; the raw value is kept in meta.fields["Age"]
        _note(f"{file}: age {value!r} is outside 0-130 years; kept only as the field 'Age'")
        return None
    return age


def _parse_sex(value: str) -> str | None:
    v = value.strip().lower()
    if v in ("f", "female", "woman", "w"):
        return "F"
    if v in ("m", "male", "man"):
        return "M"
    return None


def _split_codes(value: str) -> list[str]:
    return [c.strip() for c in re.split(r"[,;]", value) if c.strip()]


def _snomed_diagnoses(value: str) -> list[Diagnosis]:
    out = []
    for code in _split_codes(value):
        if code.isdigit():
            out.append(Diagnosis(code=code, name=snomed_name(code), system="SNOMED-CT"))
        else:
            out.append(Diagnosis(code="", name=code, system="text"))
    return out


def _parse_l2g(value: str, info: _Info) -> bool:
    """Parse one ``L2G: ...`` comment into ``info``; False if it is not one we write."""
    m = re.match(r"^lead status:\s*(.*)$", value)
    if m:
        for item in _split_codes(m.group(1)):
            lead, _, st = item.partition("=")
            canon = normalize_lead_name(lead)
            if canon and st.strip() == GENERATED:
                info.generated.add(canon)
        return True
    m = re.match(r"^generated leads:\s*([^()]*)", value)
    if m:
        info.generated.update(c for c in (normalize_lead_name(x) for x in _split_codes(m.group(1))) if c)
        return True
    m = re.match(r"^generated from:\s*(?P<avail>.*?)\s+by\s+(?P<method>\S+)(?:\s+(?P<version>.*))?$", value)
    if m:
        avail = tuple(c for c in (normalize_lead_name(x) for x in _split_codes(m["avail"])) if c)
        info.provenance = Provenance(method=m["method"], model_version=(m["version"] or "").strip(),
                                     available=avail)
        return True
    return False


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True



def from_raw(raw: RawECG, *, file: str, name: str, source_format: str, fs: float | None = None,
             nan_policy: str = "raise") -> Record:
    """Turn what a reader decoded (:class:`~l2g.io._raw.RawECG`) into a 12-lead Record.

    Lead labels are mapped with :func:`~l2g.leads.normalize_lead_name` (``"MDC_ECG_LEAD_AVR"``,
    ``"aVR"``...); samples are already in mV; the file's own rate is kept exactly (599.88 Hz
    stays 599.88). Leads the file derived exactly from stored ones stay *recorded* and are
    listed in ``meta.derived``; nothing is generated. Age, sex, acquisition time, device,
    measurements and interpretation go to :class:`~l2g.record.Metadata`; the reader's notes
    to ``meta.notes``; channels it left out (``raw.other_channels``) and labels that name no lead
    to ``meta.other_channels``. Patient identity (``raw.identity``) is not carried over.

    Parameters
    ----------
    raw : RawECG
    file : str
        The file, for messages.
    name : str
        Record name.
    source_format : str
        Short format name for ``Record.source_format`` (the reader module's name, e.g. ``"muse"``).
    fs : float, optional
        A rate the caller expects; it must agree with the file's. For a file that states none
        (``raw.fs`` None) it is the rate, else ``raw.default_fs``, else :class:`MissingSampleRate`.
    nan_policy : {"raise", "absent", "interpolate"}

    Returns
    -------
    Record
        Signal of shape (12, samples), float32, mV.

    Raises
    ------
    ValueError
        No lead, leads of different lengths, a non-positive rate, a disagreeing ``fs``, two
        labels naming one lead, or NaN that ``nan_policy`` refuses.

    Examples
    --------
    >>> from l2g.io._raw import RawECG
    >>> beat = np.sin(np.linspace(0, 20, 600))
    >>> raw = RawECG(leads={"MDC_ECG_LEAD_I": beat, "MDC_ECG_LEAD_II": 2 * beat},
    ...              fs=599.88, fmt="HL7 aECG", age=61.0, notes=["median beats ignored"])
    >>> rec = from_raw(raw, file="x.xml", name="x", source_format="aecg")
    >>> rec.fs, rec.present_leads, rec.meta.age, rec.meta.notes
    (599.88, ('I', 'II'), 61.0, ('median beats ignored',))
    """
    if not raw.leads:
        raise ValueError(f"{file}: the {raw.fmt or source_format} file holds no lead; expected ECG leads")
    lengths = {label: np.asarray(x).shape for label, x in raw.leads.items()}
    if len(set(lengths.values())) != 1 or len(next(iter(lengths.values()))) != 1:
        listing = ", ".join(f"{k} {v}" for k, v in lengths.items())
        raise ValueError(f"{file}: leads of different shapes ({listing}); expected one length for all leads")
    if raw.fs is not None:
        rate = _check_fs(file, raw.fs, fs)
    elif fs is not None or raw.default_fs is not None:
        rate = check_rate(fs if fs is not None else raw.default_fs, file)
    else:
        why = raw.rate_missing or "the file states no sampling rate; expected the fs argument"
        raise MissingSampleRate(f"{file}: {why}")
    _check_length(file, len(next(iter(raw.leads.values()))), rate)
    with collecting_notes():  # the caller's list inside read_record, a fresh one otherwise
        for text in raw.notes:
            _note(text)
        labels = list(raw.leads)
        derived: dict[str, str] = {}
        for label, formula in raw.derived.items():
            canon = normalize_lead_name(label)
            if canon is not None:
                derived[canon] = formula
        if derived:
            _note("leads " + ", ".join(f"{k} = {v}" for k, v in derived.items())
                  + ": not stored in the file, computed exactly from the stored leads by the reader; "
                  "kept as recorded (not generated)")
        info = _Info(age=raw.age if raw.age is not None and 0 <= raw.age <= 130 else None,
                     sex=raw.sex if raw.sex in ("M", "F") else None,
                     fields={k: str(v) for k, v in raw.fields.items()},
                     device=raw.device, acquired=raw.acquired,
                     measurements={k: float(v) for k, v in raw.measurements.items() if k in MEASUREMENT_KEYS},
                     interpretation=list(raw.interpretation), derived=derived,
                     other_channels=list(raw.other_channels), diagnoses=list(raw.diagnoses),
                     comments=list(raw.comments), provenance=raw.provenance, generated=set(raw.generated))
        # a file L2G wrote (DICOM export): its generated leads and their provenance come back marked
        if "generated" in info.fields:
            _parse_l2g("generated leads: " + info.fields.pop("generated"), info)
        if "provenance" in info.fields:
            _parse_l2g("generated from: " + info.fields.pop("provenance"), info)
        try:
            return _assemble([raw.leads[k] for k in labels], labels, rate, file=file, name=name,
                             nan_policy=nan_policy, source_format=raw.source_format or source_format,
                             units=raw.units, info=info)
        except MissingSamples as exc:
            if raw.missing_hint:
                raise MissingSamples(f"{exc}; {raw.missing_hint}") from None
            raise


def raw_from_channels(file: str, channels: Sequence[str], signal: Sequence[np.ndarray], fs: float | None, *,
                      fmt: str, info: _Info | None = None, units: Sequence[str] | None = None,
                      **extra: object) -> RawECG:
    """A :class:`RawECG` from one row of samples per channel and what a reader parsed into an ``_Info``.

    For the readers that meet channels by position (WFDB, EDF, CSV, HDF5): a label repeated exactly
    is refused when it names a lead (as two labels naming one lead are, by :func:`from_raw`) and
    listed in ``other_channels`` otherwise. ``extra``: further :class:`RawECG` fields.
    """
    info = info or _Info()
    leads: dict[str, np.ndarray] = {}
    kept_units: list[str] = []
    other = list(info.other_channels)
    for k, label in enumerate(channels):
        if label in leads:
            canon = normalize_lead_name(label)
            if canon is not None:
                raise ValueError(f"{file}: channels {label!r} and {label!r} are both lead {canon}; "
                                 "expected each lead at most once")
            other.append(str(label).strip())
            continue
        leads[label] = signal[k]
        if units is not None:
            kept_units.append(units[k])
    return RawECG(leads=leads, fs=fs, fmt=fmt, age=info.age, sex=info.sex, acquired=info.acquired,
                  device=info.device, measurements=dict(info.measurements),
                  interpretation=list(info.interpretation), fields=dict(info.fields), other_channels=other,
                  units=kept_units if units is not None else None, diagnoses=list(info.diagnoses),
                  comments=list(info.comments), provenance=info.provenance, generated=set(info.generated),
                  **extra)  # type: ignore[arg-type]
