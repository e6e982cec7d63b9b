"""HL7 annotated ECG (aECG, root ``AnnotatedECG`` in namespace ``urn:hl7-org:v3``), the format
the FDA receives thorough-QT trial ECGs in.

What is read
------------
* The first ``component/series`` whose ``code`` is ``RHYTHM``; ``REPRESENTATIVE_BEAT``
  series (median beats, also those under ``derivation/derivedSeries``) are ignored (note).
  Of that series the first ``sequenceSet`` is read; further sets are ignored (note).
* The time sequence (``TIME_ABSOLUTE`` or ``TIME_RELATIVE``, a ``GLIST_TS``/``GLIST_PQ``):
  its ``increment`` (unit ``s`` or ``ms``) gives fs = 1 / increment. A rate within 1e-9 of an
  integer is made that integer (0.002 s -> exactly 500 Hz); otherwise 1 / increment is kept.
* Each lead sequence (``SLIST_PQ``), in any order: ``digits`` (whitespace-separated integers)
  x ``scale`` + ``origin``, each with its unit (``uV``, ``mV``, ``nV``, ``V``). Labels are the
  MDC codes without their prefix (``MDC_ECG_LEAD_AVR`` -> ``aVR``); other codes are kept as
  they are (e.g. ``MDC_ECG_LEAD_V3R`` -> ``V3R``).
* Metadata: ``effectiveTime`` (``center`` or ``low``) -> acquired; subject sex, birth time
  (age computed from it when no "Reported Age" 21612-7 control variable exists); device =
  the rhythm series' ``manufacturerModelName`` (and organisation); annotations:
  ``MDC_ECG_TIME_PD_{P,PR,QRS,QT,QTc,RR}``, ``MDC_ECG_HEART_RATE``,
  ``MDC_ECG_ANGLE_{P,QRS,T}_FRONT``, taking a global annotation (not inside a beat) before
  a per-beat one; interpretation = rhythm annotations (``MDC_ECG_RHY``) and
  ``MDC_ECG_INTERPRETATION*`` statements, display name or text. Subject id, name and birth
  date go to :attr:`RawECG.identity`.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import _xml as X
from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "FORMAT", "HL7_NS"]

FORMAT = "HL7 aECG"
HL7_NS = "urn:hl7-org:v3"

_VOLTS = {"uv": 1e-3, "µv": 1e-3, "mv": 1.0, "nv": 1e-6, "v": 1e3}
_SECONDS = {"s": 1.0, "ms": 1e-3, "us": 1e-6}
_LEAD_NAMES = {"AVR": "aVR", "AVL": "aVL", "AVF": "aVF"}
_MEASUREMENTS = {"MDC_ECG_TIME_PD_P": "P_ms", "MDC_ECG_TIME_PD_PR": "PR_ms", "MDC_ECG_TIME_PD_QRS": "QRS_ms",
                 "MDC_ECG_TIME_PD_QT": "QT_ms", "MDC_ECG_TIME_PD_QTc": "QTc_ms", "MDC_ECG_TIME_PD_RR": "RR_ms",
                 "MDC_ECG_HEART_RATE": "HR_bpm", "MDC_ECG_ANGLE_P_FRONT": "P_axis_deg",
                 "MDC_ECG_ANGLE_QRS_FRONT": "QRS_axis_deg", "MDC_ECG_ANGLE_T_FRONT": "T_axis_deg"}
_INTS = re.compile(r"^[\s\d+\-]*$")


def sniff(head: bytes, path: Path) -> bool:
    """True when the root element is ``AnnotatedECG`` (HL7 v3 namespace, or none).

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?><AnnotatedECG xmlns="urn:hl7-org:v3">', Path("x"))
    True
    >>> sniff(b'<AnnotatedECG xmlns="urn:other">', Path("x"))
    False
    """
    found = X.root_name(head)
    return found is not None and found[1] == "AnnotatedECG" and found[0] in (HL7_NS, "")


def lead_label(code: str) -> str:
    """Plain lead label from an MDC lead code.

    Examples
    --------
    >>> lead_label("MDC_ECG_LEAD_AVR"), lead_label("MDC_ECG_LEAD_V1"), lead_label("MDC_ECG_LEAD_I")
    ('aVR', 'V1', 'I')
    """
    name = code.removeprefix("MDC_ECG_LEAD_")
    return _LEAD_NAMES.get(name.upper(), name)


def _code(el) -> str:
    c = X.child(el, "code")
    return (c.get("code") or "") if c is not None else ""


def _quantity(path: Path, el, what: str, units: dict[str, float]) -> float:
    """value x unit factor of a PQ element; FormatError when absent or the unit is unknown."""
    if el is None:
        raise FormatError(f"{path}: {what} is missing")
    value = X.number(el.get("value"))
    unit = (el.get("unit") or "").strip()
    if value is None:
        raise FormatError(f"{path}: {what} has no numeric value")
    factor = units.get(unit.lower()) if unit else None
    if factor is None:
        raise FormatError(f"{path}: {what} has unit {unit!r}; expected one of {sorted(units)}")
    return value * factor


def _rate(path: Path, increment_s: float) -> float:
    if not increment_s > 0:
        raise FormatError(f"{path}: sampling increment {increment_s} s is not positive")
    fs = 1.0 / increment_s
    nearest = round(fs)
    return float(nearest) if nearest > 0 and abs(fs - nearest) <= 1e-9 * fs else fs


def _rhythm_series(path: Path, root):
    series = X.find_all(root, "component/series")
    codes = [_code(s) for s in series]
    for s, c in zip(series, codes, strict=True):
        if c == "RHYTHM":
            return s, codes
    raise FormatError(f"{path}: no series with code RHYTHM (found: {codes or 'none'}); "
                      f"expected the rhythm waveforms")


def _read_leads(path: Path, series) -> tuple[dict[str, np.ndarray], float, list[str]]:
    notes: list[str] = []
    sets = X.find_all(series, "component/sequenceSet")
    if not sets:
        raise FormatError(f"{path}: the RHYTHM series has no sequenceSet; expected waveform sequences")
    if len(sets) > 1:
        notes.append(f"{len(sets) - 1} further rhythm sequenceSet(s) ignored (the first is read)")
    fs = None
    leads: dict[str, np.ndarray] = {}
    for seq in X.find_all(sets[0], "component/sequence"):
        code = _code(seq)
        value = X.child(seq, "value")
        if code.startswith("TIME_"):
            fs = _rate(path, _quantity(path, X.child(value, "increment"), f"{code} increment", _SECONDS))
            continue
        if value is None:
            raise FormatError(f"{path}: sequence {code} has no value")
        digits = X.child(value, "digits")
        if digits is None:
            continue  # not a sampled lead (e.g. a GLIST of another quantity)
        label = lead_label(code)
        body = digits.text or ""
        if not _INTS.match(body):
            bad = next((t for t in body.split() if not re.fullmatch(r"[+-]?\d+", t)), "?")
            raise FormatError(f"{path}: lead {label}: digit {bad[:20]!r} is not an integer; "
                              f"expected whitespace-separated integers")
        counts = np.array(body.split(), dtype=np.float64)
        if counts.size == 0:
            raise FormatError(f"{path}: lead {label} has no digits")
        scale = _quantity(path, X.child(value, "scale"), f"lead {label} scale", _VOLTS)
        origin_el = X.child(value, "origin")
        origin = 0.0 if origin_el is None else _quantity(path, origin_el, f"lead {label} origin", _VOLTS)
        if label in leads:
            raise FormatError(f"{path}: lead {label} appears twice in the rhythm sequenceSet")
        leads[label] = counts * scale + origin
    if fs is None:
        raise FormatError(f"{path}: the rhythm sequenceSet has no TIME_ABSOLUTE/TIME_RELATIVE sequence; "
                          f"expected one with an increment")
    if not leads:
        raise FormatError(f"{path}: the rhythm sequenceSet holds no lead sequences with digits")
    lengths = {k: v.size for k, v in leads.items()}
    if len(set(lengths.values())) != 1:
        raise FormatError(f"{path}: rhythm leads have different lengths {lengths}; expected equal")
    return leads, fs, notes


def _annotations(root) -> tuple[dict[str, float], list[str]]:
    """Measurements (global before per-beat) and interpretation statements."""
    found: dict[str, tuple[int, float]] = {}
    statements: list[str] = []

    def visit(el, depth: int) -> None:
        for c in el:
            if X.local(c.tag) != "annotation":
                visit(c, depth)
                continue
            code = _code(c)
            value = X.child(c, "value")
            key = _MEASUREMENTS.get(code)
            if key is not None and value is not None:
                x = X.number(value.get("value"))
                unit = (value.get("unit") or "").strip().lower()
                if x is not None:
                    if key.endswith("_ms") and unit == "s":
                        x *= 1000.0
                    if key not in found or depth < found[key][0]:
                        found[key] = (depth, x)
            elif code == "MDC_ECG_RHY" or code.startswith("MDC_ECG_INTERPRETATION"):
                if value is not None:
                    t = value.get("displayName") or X.text(value) or value.get("code")
                    if t and t not in statements:
                        statements.append(t.strip())
            visit(c, depth + 1)

    for aset in root.iter():
        if X.local(aset.tag) == "annotationSet":
            visit(aset, 0)
    return {k: v for k, (_, v) in found.items()}, statements


def read(path: Path) -> RawECG:
    """Read an HL7 aECG file.

    Parameters
    ----------
    path : Path
        The ``.xml`` file.

    Returns
    -------
    RawECG
        The rhythm leads in mV (float64, shape (samples,) each) at 1 / increment Hz.

    Raises
    ------
    FormatError
        Not aECG, no RHYTHM series, no time increment, non-integer digits, leads of different
        lengths, an unknown unit.
    """
    path = Path(path)
    root = X.parse(path, FORMAT)
    if X.local(root.tag) != "AnnotatedECG":
        raise FormatError(f"{path}: root element is <{X.local(root.tag)}>; expected <AnnotatedECG> (HL7 aECG)")
    with X.decoding_errors(path, FORMAT):
        series, codes = _rhythm_series(path, root)
        leads, fs, notes = _read_leads(path, series)
        if "REPRESENTATIVE_BEAT" in codes or X.find(series, "derivation/derivedSeries") is not None:
            notes.append("representative (median) beats ignored (the rhythm series is read)")

        eff = X.child(root, "effectiveTime")
        when = X.child(eff, "center")
        when = when if when is not None else X.child(eff, "low")
        acquired = X.hl7_timestamp(when.get("value")) if when is not None else None
        person = X.find(root, ".//subjectDemographicPerson")
        sex_el = X.child(person, "administrativeGenderCode")
        birth = X.child(person, "birthTime")
        birth_iso = X.hl7_timestamp(birth.get("value")) if birth is not None else None
        age = None
        for rel in X.find_all(root, "controlVariable/relatedObservation"):
            if _code(rel) == "21612-7":
                v = X.child(rel, "value")
                if v is not None:
                    age = X.age_in_years(X.number(v.get("value")), v.get("unit"))
        if age is None and birth_iso and acquired:
            years = (np.datetime64(acquired[:10]) - np.datetime64(birth_iso[:10])).astype(int) / 365.25
            age = float(np.floor(years)) if years >= 0 else None
        dev = X.find(series, "author/seriesAuthor")
        model = X.text(dev, "manufacturedSeriesDevice/manufacturerModelName")
        org = X.text(dev, "manufacturerOrganization/name")
        device = " ".join(p for p in (org, model) if p) or None
        measurements, interpretation = _annotations(root)
        identity = {}
        subject = X.find(root, ".//trialSubject")
        sid = X.child(subject, "id")
        if sid is not None and sid.get("extension"):
            identity["id"] = sid.get("extension")
        if name := X.text(person, "name"):
            identity["name"] = name
        if birth_iso:
            identity["birth_date"] = birth_iso
        return RawECG(leads=leads, fs=fs, fmt=FORMAT, age=age,
                      sex=X.sex_code(sex_el.get("code") if sex_el is not None else None),
                      acquired=acquired, device=device, measurements=measurements,
                      interpretation=interpretation, identity=identity, notes=notes)


READER = Reader(name="aecg", kind="HL7 aECG", suffixes=(".xml",), sniff=sniff, read=read,
                xml_root="AnnotatedECG", cart=True)
