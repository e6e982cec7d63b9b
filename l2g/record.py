"""The one ECG record type that flows through L2G-ECG.

A :class:`Record` holds a multi-lead ECG in millivolts, its sampling rate, the
canonical lead names, and for every lead whether it was *recorded*,
*generated* by a model, or is *absent*. Records are frozen: every operation
returns a new Record and never changes its input.

NaN policy
----------
An *absent* lead is stored as a row of NaN. A *recorded* or *generated* lead
must be finite everywhere. Readers decide what to do with gaps in a file (see
``nan_policy`` in :func:`l2g.io.read_record`); a Record never holds a partly
missing lead.
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

import numpy as np

from .leads import LEADS, normalize_lead_name

__all__ = [
    "RECORDED",
    "GENERATED",
    "ABSENT",
    "MEASUREMENT_KEYS",
    "IDENTITY_KEYS",
    "DEIDENTIFIED_NOTE",
    "LeadStatus",
    "Diagnosis",
    "Metadata",
    "Provenance",
    "Record",
]

LeadStatus = Literal["recorded", "generated", "absent"]
RECORDED: LeadStatus = "recorded"
GENERATED: LeadStatus = "generated"
ABSENT: LeadStatus = "absent"
_STATUSES = (RECORDED, GENERATED, ABSENT)

#: Keys of :attr:`Metadata.measurements` (the cart's own measurements), with units in the name.
MEASUREMENT_KEYS = ("HR_bpm", "RR_ms", "P_ms", "PR_ms", "QRS_ms", "QT_ms", "QTc_ms",
                    "P_axis_deg", "QRS_axis_deg", "T_axis_deg")


#: Comment added by :meth:`Record.deidentified`.
DEIDENTIFIED_NOTE = "de-identified by L2G-ECG"
#: Metadata field keys (lower case, without spaces, ``_``, ``-``, ``.``) that hold patient identity.
IDENTITY_KEYS = frozenset({
    "name", "patient", "patientname", "patientsname", "firstname", "lastname", "surname", "givenname",
    "familyname", "id", "patientid", "pid", "mrn", "medicalrecordnumber", "otherpatientids", "ssn",
    "socialsecuritynumber", "nhsnumber", "insurancenumber", "dob", "birthdate", "dateofbirth",
    "patientbirthdate", "patientsbirthdate", "birthday", "born", "address", "patientaddress", "phone",
    "telephone", "email",
})
_COMMENT_KEY = re.compile(r"^\s*<?([A-Za-z][\w .\-']{0,40}?)>?\s*[:=]")


def _is_identity_key(key: str) -> bool:
    """True when a metadata key names patient identity (see :data:`IDENTITY_KEYS`)."""
    return re.sub(r"[\s_\-.'^]+", "", key).lower() in IDENTITY_KEYS


@dataclass(frozen=True)
class Diagnosis:
    """One diagnostic statement.

    Attributes
    ----------
    code : str
        The code as found in the source (a SNOMED-CT concept id for PhysioNet
        Challenge data), or ``""`` for free-text statements.
    name : str
        Human-readable name; ``""`` when the code is not in our table.
    system : str
        ``"SNOMED-CT"``, ``"AHA"``, ``"PTB-XL"`` or ``"text"``.
    """

    code: str
    name: str = ""
    system: str = "SNOMED-CT"

    def label(self) -> str:
        """``"name (code)"``, the code alone when unnamed, or the name alone."""
        if self.code and self.name:
            return f"{self.name} ({self.code})"
        return self.name or self.code


@dataclass(frozen=True)
class Provenance:
    """How the generated leads of a record were made.

    Attributes
    ----------
    method : str
        ``"model"`` or ``"linear"`` (or ``"algebra"`` when only limb-lead
        derivation was used).
    model_version : str
        Version string of the weights / baseline used.
    available : tuple of str
        The leads given to the generator.
    prior : str or None
        Set when the generated leads were personalised on an earlier ECG of the same
        patient (:mod:`l2g.personal`): what it was and when acquired, e.g.
        ``"earlier ECG of this patient acquired 2019-03-02"`` or ``"calibration strip of this record"``.
    note : str or None
        Why an earlier ECG given was used or not (the guard's sentence).
    """

    method: str
    model_version: str
    available: tuple[str, ...]
    prior: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class Metadata:
    """Patient and record information carried alongside the signal.

    Attributes
    ----------
    age : float or None
        Age in years.
    sex : {"M", "F"} or None
    diagnoses : tuple of Diagnosis
    comments : tuple of str
        Free comments (header comment lines not parsed into fields).
    fields : Mapping of str to str
        Other key/value pairs found in the header (read only).
    other_channels : tuple of str
        Channels in the source file that are not standard ECG leads; they are
        kept out of the 12-lead view.
    provenance : Provenance or None
        Set when some leads were generated.
    device : str or None
        The acquiring device as the file names it (e.g. ``"GE MAC 5500"``).
    acquired : str or None
        Acquisition date and time as found in the file, ISO 8601 where it could be
        parsed (``"2019-03-02T10:14:05"``).
    measurements : Mapping of str to float
        The cart's own measurements, when the file has them. Keys are
        :data:`MEASUREMENT_KEYS` (``"PR_ms"``, ``"QRS_ms"``, ``"QT_ms"``, ``"QTc_ms"``,
        ``"HR_bpm"``, ``"P_axis_deg"``, ``"QRS_axis_deg"``, ``"T_axis_deg"``, ...).
    interpretation : tuple of str
        The cart's interpretation statements, in file order.
    derived : Mapping of str to str
        Leads that the file did not store but that were computed exactly from stored
        ones (8-lead storage), lead name -> formula, e.g. ``{"III": "II - I"}``. Such
        leads have status ``recorded``: they are exact, never generated.
    notes : tuple of str
        What the reader noticed and worked around (one plain sentence each), e.g. a
        flat lead or a signal file longer than its header. Readers return these
        instead of raising warnings; the CLI prints them and the dashboard shows them.
    """

    age: float | None = None
    sex: str | None = None
    diagnoses: tuple[Diagnosis, ...] = ()
    comments: tuple[str, ...] = ()
    fields: Mapping[str, str] = field(default_factory=dict)
    other_channels: tuple[str, ...] = ()
    provenance: Provenance | None = None
    device: str | None = None
    acquired: str | None = None
    measurements: Mapping[str, float] = field(default_factory=dict)
    interpretation: tuple[str, ...] = ()
    derived: Mapping[str, str] = field(default_factory=dict)
    notes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        if self.age is not None and not (0 <= float(self.age) <= 130):
            raise ValueError(f"age must be between 0 and 130 years or None, got {self.age!r}")
        if self.sex not in (None, "M", "F"):
            raise ValueError(f"sex must be 'M', 'F' or None, got {self.sex!r}")
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))
        object.__setattr__(self, "diagnoses", tuple(self.diagnoses))
        object.__setattr__(self, "comments", tuple(self.comments))
        object.__setattr__(self, "other_channels", tuple(self.other_channels))
        unknown = set(self.measurements) - set(MEASUREMENT_KEYS)
        if unknown:
            raise ValueError(f"unknown measurement keys {sorted(unknown)}; valid keys are {list(MEASUREMENT_KEYS)}")
        object.__setattr__(self, "measurements",
                           MappingProxyType({k: float(v) for k, v in self.measurements.items()}))
        object.__setattr__(self, "interpretation", tuple(self.interpretation))
        object.__setattr__(self, "derived", MappingProxyType(dict(self.derived)))
        object.__setattr__(self, "notes", tuple(self.notes))


@dataclass(frozen=True, eq=False)
class Record:
    """A multi-lead ECG in millivolts.

    Attributes
    ----------
    signal : ndarray of float32, shape (leads, samples)
        Voltages in mV. Rows of absent leads are all NaN; other rows are finite.
        The array is read-only.
    fs : float
        Sampling rate in Hz (> 0).
    leads : tuple of str
        Canonical lead names (see :data:`l2g.leads.LEADS`), unique.
    status : tuple of {"recorded", "generated", "absent"}
        One per lead.
    name : str
        Record name (file stem, or what the user called it).
    meta : Metadata
    source_format : str
        ``"wfdb"``, ``"wfdb-mat"``, ``"edf"``, ``"csv"``, ``"hdf5"``,
        ``"generated"``, ... .
    interval : tuple of two ndarray or None
        Optional ``(low, high)`` band around the generated leads (mV, float32,
        each shaped like ``signal``, read-only; NaN on leads without a band),
        set by ``l2g.reconstruct(..., interval=0.9)`` (see
        :mod:`l2g.uncertainty`). Carried by :meth:`standardize`, :meth:`select`,
        :meth:`mask`, :meth:`crop` and :meth:`segment`; dropped by
        :meth:`replace` when the signal changes and no new interval is given
        (a filtered or resampled signal no longer matches its band).

    Raises
    ------
    ValueError
        On any inconsistency: non-positive fs, shape mismatch, unknown or
        duplicate lead names, NaN in a recorded lead, zero samples.
    """

    signal: np.ndarray
    fs: float
    leads: tuple[str, ...]
    status: tuple[LeadStatus, ...] | None = None
    name: str = "record"
    meta: Metadata = field(default_factory=Metadata)
    source_format: str = "unknown"
    interval: tuple[np.ndarray, np.ndarray] | None = None

    def __post_init__(self) -> None:
        sig = np.array(self.signal, dtype=np.float32, copy=True)
        if sig.ndim == 1:
            sig = sig[None, :]
        if sig.ndim != 2:
            raise ValueError(f"{self.name}: signal must be 2-D (leads, samples), got shape {sig.shape}")
        try:
            fs = float(self.fs)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: fs must be a positive number in Hz, got {self.fs!r}") from None
        if not np.isfinite(fs) or fs <= 0:
            raise ValueError(f"{self.name}: fs must be a positive number in Hz, got {self.fs!r}")
        leads = tuple(self.leads)
        if len(leads) != sig.shape[0]:
            raise ValueError(
                f"{self.name}: {len(leads)} lead names for a signal with {sig.shape[0]} rows"
            )
        for lead in leads:
            if lead not in LEADS:
                hint = normalize_lead_name(lead)
                extra = f" (did you mean {hint!r}?)" if hint else ""
                raise ValueError(f"{self.name}: unknown lead {lead!r}{extra}; valid: {', '.join(LEADS)}")
        dup = sorted({lead for lead in leads if leads.count(lead) > 1})
        if dup:
            raise ValueError(f"{self.name}: duplicate lead names {dup}")
        if sig.shape[1] == 0:
            raise ValueError(f"{self.name}: the signal has zero samples")
        status = tuple(self.status) if self.status is not None else tuple(
            ABSENT if np.isnan(row).all() else RECORDED for row in sig
        )
        if len(status) != len(leads):
            raise ValueError(f"{self.name}: {len(status)} statuses for {len(leads)} leads")
        for lead, st, row in zip(leads, status, sig, strict=True):
            if st not in _STATUSES:
                raise ValueError(f"{self.name}: lead {lead} has status {st!r}; valid: {_STATUSES}")
            if st == ABSENT:
                if not np.isnan(row).all():
                    raise ValueError(f"{self.name}: absent lead {lead} must be all NaN")
            elif not np.isfinite(row).all():
                bad = np.flatnonzero(~np.isfinite(row))
                raise ValueError(
                    f"{self.name}: {st} lead {lead} has {bad.size} non-finite samples "
                    f"(first at sample {bad[0]}, t={bad[0] / fs:.3f} s); "
                    "a lead must be finite everywhere or marked absent"
                )
        sig.setflags(write=False)
        if self.interval is not None:
            if len(self.interval) != 2:
                raise ValueError(f"{self.name}: interval must be a (low, high) pair of arrays")
            pair = []
            for part in self.interval:
                arr = np.array(part, dtype=np.float32, copy=True)
                if arr.shape != sig.shape:
                    raise ValueError(
                        f"{self.name}: interval arrays must be shaped like the signal {sig.shape}, got {arr.shape}"
                    )
                arr.setflags(write=False)
                pair.append(arr)
            object.__setattr__(self, "interval", tuple(pair))
        object.__setattr__(self, "signal", sig)
        object.__setattr__(self, "fs", fs)
        object.__setattr__(self, "leads", leads)
        object.__setattr__(self, "status", status)
        object.__setattr__(self, "name", str(self.name))

    # ------------------------------------------------------------------ views
    @property
    def n_samples(self) -> int:
        """Number of samples per lead."""
        return int(self.signal.shape[1])

    @property
    def duration(self) -> float:
        """Duration in seconds."""
        return self.n_samples / self.fs

    @property
    def time(self) -> np.ndarray:
        """Sample times in seconds, shape (samples,)."""
        return np.arange(self.n_samples) / self.fs

    def leads_with(self, *statuses: LeadStatus) -> tuple[str, ...]:
        """Lead names whose status is one of ``statuses``."""
        return tuple(lead for lead, st in zip(self.leads, self.status, strict=True) if st in statuses)

    @property
    def recorded_leads(self) -> tuple[str, ...]:
        return self.leads_with(RECORDED)

    @property
    def generated_leads(self) -> tuple[str, ...]:
        return self.leads_with(GENERATED)

    @property
    def present_leads(self) -> tuple[str, ...]:
        """Leads that hold a trace (recorded or generated)."""
        return self.leads_with(RECORDED, GENERATED)

    def status_of(self, lead: str) -> LeadStatus:
        """Status of ``lead``; ``"absent"`` if the record does not hold it."""
        return self.status[self.leads.index(lead)] if lead in self.leads else ABSENT

    def lead(self, name: str) -> np.ndarray:
        """One lead's trace in mV, shape (samples,), read-only.

        Raises
        ------
        ValueError
            If the record has no such lead or it is absent.
        """
        canon = normalize_lead_name(name) or name
        if canon not in self.leads or self.status_of(canon) == ABSENT:
            raise ValueError(f"{self.name}: lead {name!r} is absent; present: {', '.join(self.present_leads)}")
        return self.signal[self.leads.index(canon)]

    def as_dict(self, statuses: Iterable[LeadStatus] = (RECORDED, GENERATED)) -> dict[str, np.ndarray]:
        """Leads whose status is in ``statuses`` as ``{name: trace}`` (mV)."""
        wanted = set(statuses)
        return {
            lead: self.signal[i] for i, (lead, st) in enumerate(zip(self.leads, self.status, strict=True))
            if st in wanted
        }

    # ------------------------------------------------------------- operations
    def replace(self, **changes: object) -> Record:
        """A new Record with some fields changed (validated again).

        A new ``signal`` without a new ``interval`` drops the band.
        """
        if "signal" in changes and "interval" not in changes:
            changes["interval"] = None
        return dataclasses.replace(self, **changes)

    def _interval_rows(self, rows: Iterable[int | None]) -> tuple[np.ndarray, np.ndarray] | None:
        """The band restricted / reordered to ``rows`` (None = a NaN row)."""
        if self.interval is None:
            return None
        rows = list(rows)
        out = []
        for part in self.interval:
            arr = np.full((len(rows), self.n_samples), np.nan, np.float32)
            for i, r in enumerate(rows):
                if r is not None:
                    arr[i] = part[r]
            out.append(arr)
        return out[0], out[1]

    def standardize(self) -> Record:
        """The same record with exactly the 12 canonical leads in canonical order.

        Leads the record does not hold become absent (NaN rows).
        """
        if self.leads == LEADS:
            return self
        sig = np.full((len(LEADS), self.n_samples), np.nan, dtype=np.float32)
        status: list[LeadStatus] = []
        for i, lead in enumerate(LEADS):
            if lead in self.leads:
                j = self.leads.index(lead)
                sig[i] = self.signal[j]
                status.append(self.status[j])
            else:
                status.append(ABSENT)
        rows = [self.leads.index(lead) if lead in self.leads else None for lead in LEADS]
        return self.replace(signal=sig, leads=LEADS, status=tuple(status), interval=self._interval_rows(rows))

    def select(self, leads: Iterable[str]) -> Record:
        """A record holding only ``leads`` (canonical names), in the order given."""
        names = [normalize_lead_name(lead) or lead for lead in leads]
        missing = [n for n in names if n not in self.leads]
        if missing:
            raise ValueError(f"{self.name}: no lead(s) {missing}; the record has {', '.join(self.leads)}")
        idx = [self.leads.index(n) for n in names]
        return self.replace(
            signal=self.signal[idx], leads=tuple(names), status=tuple(self.status[i] for i in idx),
            interval=self._interval_rows(idx),
        )

    def mask(self, available: Iterable[str]) -> Record:
        """Hide every lead not in ``available``: those become absent.

        This is how a reduced-lead acquisition is simulated from a full record.
        """
        keep = set(normalize_lead_name(lead) or lead for lead in available)
        unknown = keep - set(LEADS)
        if unknown:
            raise ValueError(f"unknown lead(s) {sorted(unknown)}; valid: {', '.join(LEADS)}")
        absent_asked = [lead for lead in keep if self.status_of(lead) == ABSENT]
        if absent_asked:
            raise ValueError(f"{self.name}: lead(s) {sorted(absent_asked)} are absent from the record")
        sig = self.signal.copy()
        status = list(self.status)
        for i, lead in enumerate(self.leads):
            if lead not in keep:
                sig[i] = np.nan
                status[i] = ABSENT
        rows = [i if lead in keep else None for i, lead in enumerate(self.leads)]
        return self.replace(signal=sig, status=tuple(status), interval=self._interval_rows(rows))

    def crop(self, start_s: float = 0.0, stop_s: float | None = None) -> Record:
        """The part of the record between ``start_s`` and ``stop_s`` seconds."""
        a = int(round(start_s * self.fs))
        b = self.n_samples if stop_s is None else int(round(stop_s * self.fs))
        if not 0 <= a < b <= self.n_samples:
            raise ValueError(
                f"{self.name}: crop [{start_s}, {stop_s}] s is outside 0..{self.duration:.3f} s or empty"
            )
        band = None if self.interval is None else (self.interval[0][:, a:b], self.interval[1][:, a:b])
        return self.replace(signal=self.signal[:, a:b], interval=band)

    def segment_bounds(self, max_s: float) -> tuple[tuple[float, float], ...]:
        """Start and end (s) of the segments of at most ``max_s`` seconds that cover the record.

        One segment ``(0, duration)`` when the record is no longer than ``max_s``;
        otherwise ``ceil(duration / max_s)`` segments of exactly ``max_s``, the last
        one ending with the record (so it overlaps the one before).

        Examples
        --------
        >>> import numpy as np
        >>> rec = Record(np.zeros((1, 7200)), fs=10.0, leads=("II",))  # 720 s
        >>> rec.segment_bounds(300.0)
        ((0.0, 300.0), (300.0, 600.0), (420.0, 720.0))
        >>> rec.segment_bounds(1000.0)
        ((0.0, 720.0),)
        """
        if not max_s > 0:
            raise ValueError(f"{self.name}: segment length must be positive, got {max_s!r} s")
        count = max(1, int(np.ceil(self.duration / max_s - 1e-9)))
        if count == 1:
            return ((0.0, self.duration),)
        starts = (min(k * max_s, self.duration - max_s) for k in range(count))
        return tuple((float(start), float(start + max_s)) for start in starts)

    def segment(self, k: int, max_s: float) -> Record:
        """Segment ``k`` of :meth:`segment_bounds` (the record itself when it has one segment).

        The segment keeps the name and metadata; ``meta.fields["Segment"]`` says which
        seconds of the record it holds (written to a WFDB header on export).

        Raises
        ------
        ValueError
            When ``k`` is not a segment index.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Record(np.zeros((1, 7200)), fs=10.0, leads=("II",), name="long")
        >>> part = rec.segment(2, 300.0)
        >>> part.duration, part.meta.fields["Segment"]
        (300.0, '420-720 s of long (720 s)')
        """
        bounds = self.segment_bounds(max_s)
        if not 0 <= k < len(bounds):
            raise ValueError(f"{self.name}: segment {k!r} does not exist; valid: 0..{len(bounds) - 1}")
        if len(bounds) == 1:
            return self
        start, stop = bounds[k]
        fields = {**self.meta.fields, "Segment": f"{start:g}-{stop:g} s of {self.name} ({self.duration:g} s)"}
        return self.crop(start, stop).replace(meta=dataclasses.replace(self.meta, fields=fields))

    def deidentified(self) -> Record:
        """A copy without the patient's name, identifiers and birth date; age and sex kept.

        Removes :attr:`Metadata.fields` whose key names an identity item (``Name``,
        ``Patient``, ``ID``, ``Patient ID``, ``MRN``, ``DOB``, ``Birth date``, ``Address``,
        ``Phone`` ..., see :data:`IDENTITY_KEYS`) and comments that start with such a key
        (``"Name: ..."``, ``"DOB = ..."``), then adds the comment :data:`DEIDENTIFIED_NOTE`
        (once). The signal, leads, statuses, age, sex, diagnoses, measurements and the
        record name are unchanged (a record name that is itself an identifier must be
        replaced by the caller). Exports call this when asked to de-identify.

        Examples
        --------
        >>> import numpy as np
        >>> meta = Metadata(age=63, fields={"Name": "Doe^Jane", "DOB": "1961-02-03", "Site": "A"},
        ...                 comments=("ID: 12345", "paced"))
        >>> clean = Record(np.zeros((1, 10)), fs=500.0, leads=("II",), meta=meta).deidentified()
        >>> dict(clean.meta.fields), clean.meta.comments, clean.meta.age
        ({'Site': 'A'}, ('paced', 'de-identified by L2G-ECG'), 63)
        """
        meta = self.meta
        fields = {k: v for k, v in meta.fields.items() if not _is_identity_key(k)}
        comments = [c for c in meta.comments
                    if not ((m := _COMMENT_KEY.match(c)) and _is_identity_key(m.group(1)))]
        if DEIDENTIFIED_NOTE not in comments:
            comments.append(DEIDENTIFIED_NOTE)
        return self.replace(meta=dataclasses.replace(meta, fields=fields, comments=tuple(comments)))

    def status_counts(self) -> dict[LeadStatus, int]:
        """How many leads are recorded, generated and absent.

        Examples
        --------
        >>> import numpy as np
        >>> Record(np.zeros((12, 10)), fs=500.0, leads=LEADS).mask(["I", "II"]).status_counts()
        {'recorded': 2, 'generated': 0, 'absent': 10}
        """
        return {s: self.status.count(s) for s in _STATUSES}

    def digest(self) -> str:
        """A content hash (16 hex digits) of the signal, rate, leads, status, name and format.

        Equal records have equal digests; used as a cache key (the signal is hashed in
        place, without a copy). Not a security checksum.

        Examples
        --------
        >>> import numpy as np
        >>> rec = Record(np.zeros((1, 10)), fs=500.0, leads=("II",))
        >>> rec.digest() == rec.replace().digest(), rec.digest() == rec.replace(name="other").digest()
        (True, False)
        """
        import hashlib

        h = hashlib.sha1(usedforsecurity=False)
        h.update(np.ascontiguousarray(self.signal).data)
        h.update(repr((self.fs, self.leads, self.status, self.name, self.source_format)).encode())
        return h.hexdigest()[:16]

    def __repr__(self) -> str:
        present = ",".join(self.present_leads)
        return (
            f"Record(name={self.name!r}, fs={self.fs:g} Hz, duration={self.duration:.2f} s, "
            f"leads=[{present}], generated={list(self.generated_leads)}, format={self.source_format!r})"
        )

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (
            self.fs == other.fs
            and self.leads == other.leads
            and self.status == other.status
            and self.name == other.name
            and self.meta == other.meta
            and self.source_format == other.source_format
            and self.signal.shape == other.signal.shape
            and bool(np.array_equal(self.signal, other.signal, equal_nan=True))
            and (self.interval is None) == (other.interval is None)
            and (self.interval is None or all(
                np.array_equal(x, y, equal_nan=True) for x, y in zip(self.interval, other.interval, strict=True)))
        )

    __hash__ = None  # type: ignore[assignment]
