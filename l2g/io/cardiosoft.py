"""GE CardioSoft XML (root ``CardiologyXML``), the resting-ECG format of the UK Biobank.

What is read
------------
* ``StripData``: one ``WaveformData lead="..."`` per lead, comma-separated integer text,
  scaled by ``Resolution`` (units ``uVperLsb``; ``mVperLsb`` is also accepted) at
  ``SampleRate`` Hz. ``ChannelSampleCountTotal`` and ``NumberOfLeads`` must agree with the data.
* ``MedianSamples`` (one averaged beat) and ``VectorLoops`` are ignored (a note says so).
* ``FullDisclosure`` is **not** read, even when ``StripData`` is absent: its
  ``FullDisclosureData`` is one text block of 12 interleaved channels whose chunking we have
  seen in a single file only, so a file without ``StripData`` is refused with a clear error
  rather than decoded by guesswork.
* Metadata: ``PatientInfo`` (``Age`` with its ``units``, ``Gender``), ``ObservationDateTime``,
  ``ClinicalInfo/DeviceInfo`` (``Desc`` + ``SoftwareVer``), ``RestingECGMeasurements``
  (``VentricularRate``, ``PQInterval`` or ``PRInterval``, ``PDuration``, ``QRSDuration``,
  ``QTInterval``, ``QTCInterval``, ``RRInterval``, ``PAxis``/``RAxis``/``TAxis``) and the
  ``Interpretation/Diagnosis/DiagnosisText`` lines (``Conclusion`` when there is no
  ``Diagnosis``; ``---`` separators dropped). Name, PID and birth date go to
  :attr:`RawECG.identity` only.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np

from . import _xml as X
from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "FORMAT"]

FORMAT = "GE CardioSoft XML"

_MEASUREMENTS = (("VentricularRate", "HR_bpm"), ("PQInterval", "PR_ms"), ("PRInterval", "PR_ms"),
                 ("PDuration", "P_ms"), ("QRSDuration", "QRS_ms"), ("QTInterval", "QT_ms"),
                 ("QTCInterval", "QTc_ms"), ("RRInterval", "RR_ms"), ("PAxis", "P_axis_deg"),
                 ("RAxis", "QRS_axis_deg"), ("TAxis", "T_axis_deg"))

_RESOLUTION_UNITS = {"uvperlsb": 1e-3, "µvperlsb": 1e-3, "mvperlsb": 1.0, "nvperlsb": 1e-6}
_INT_LIST = re.compile(r"^\s*-?\d+(?:\s*,\s*-?\d+)*\s*,?\s*$")


def sniff(head: bytes, path: Path) -> bool:
    """True when the file's root element is ``CardiologyXML``.

    Examples
    --------
    >>> sniff(b'<?xml version="1.0" encoding="ISO-8859-1" ?>\\n<CardiologyXML>', Path("x"))
    True
    >>> sniff(b"<RestingECG>", Path("x"))
    False
    """
    found = X.root_name(head)
    return found is not None and found[1] == "CardiologyXML"


def _ints(path: Path, label: str, body: str | None) -> np.ndarray:
    if body is None or not body.strip():
        raise FormatError(f"{path}: StripData lead {label} holds no samples; expected comma-separated integers")
    if not _INT_LIST.match(body):
        bad = next((t for t in body.split(",") if not re.fullmatch(r"\s*-?\d+\s*", t) and t.strip()), "?")
        raise FormatError(f"{path}: StripData lead {label}: {bad.strip()[:20]!r} is not an integer sample; "
                          f"expected comma-separated integers")
    return np.array([int(t) for t in body.split(",") if t.strip()], dtype=np.float64)


def _measurements(meas) -> dict[str, float]:
    out: dict[str, float] = {}
    for tag, key in _MEASUREMENTS:
        el = X.child(meas, tag)
        value = X.number(X.text(el))
        if value is None or key in out:
            continue
        unit = (el.get("units") or "").strip().lower() if el is not None else ""
        if key.endswith("_ms") and unit == "s":
            value *= 1000.0
        out[key] = value
    return out


def read(path: Path) -> RawECG:
    """Read a GE CardioSoft XML resting ECG (the UK Biobank format).

    Parameters
    ----------
    path : Path
        The ``.xml`` file.

    Returns
    -------
    RawECG
        The ``StripData`` leads in mV (float64, shape (samples,) each) at ``SampleRate``.

    Raises
    ------
    FormatError
        Not CardioSoft XML, no ``StripData``, a non-integer sample, leads of different lengths,
        a count that disagrees with ``ChannelSampleCountTotal``/``NumberOfLeads``, an unknown
        resolution unit.
    """
    path = Path(path)
    root = X.parse(path, FORMAT)
    if X.local(root.tag) != "CardiologyXML":
        raise FormatError(f"{path}: root element is <{X.local(root.tag)}>; expected <CardiologyXML> "
                          f"(GE CardioSoft XML)")
    with X.decoding_errors(path, FORMAT):
        strip = X.child(root, "StripData")
        if strip is None:
            extra = " (FullDisclosure is present but not read)" if X.child(root, "FullDisclosure") is not None else ""
            raise FormatError(f"{path}: no StripData element{extra}; expected the 10-s StripData waveforms")
        fs = X.number(X.text(strip, "SampleRate"))
        if fs is None or fs <= 0:
            raise FormatError(f"{path}: StripData SampleRate missing or not positive; expected e.g. 500")
        res_el = X.child(strip, "Resolution")
        res = X.number(X.text(res_el))
        unit = ((res_el.get("units") if res_el is not None else None) or "uVperLsb").strip().lower()
        if res is None or res <= 0:
            raise FormatError(f"{path}: StripData Resolution missing or not positive; expected e.g. 5 (uVperLsb)")
        if unit not in _RESOLUTION_UNITS:
            raise FormatError(f"{path}: StripData Resolution units {unit!r}; expected one of "
                              f"{sorted(_RESOLUTION_UNITS)}")
        scale = res * _RESOLUTION_UNITS[unit]
        leads: dict[str, np.ndarray] = {}
        for wd in X.children(strip, "WaveformData"):
            label = (wd.get("lead") or "").strip()
            if not label:
                raise FormatError(f"{path}: a StripData WaveformData has no lead attribute")
            if label in leads:
                raise FormatError(f"{path}: StripData lead {label} appears twice")
            leads[label] = _ints(path, label, wd.text) * scale
        if not leads:
            raise FormatError(f"{path}: StripData holds no WaveformData")
        lengths = {k: v.size for k, v in leads.items()}
        if len(set(lengths.values())) != 1:
            raise FormatError(f"{path}: StripData leads have different lengths {lengths}; expected equal")
        n = next(iter(lengths.values()))
        declared = X.number(X.text(strip, "ChannelSampleCountTotal"))
        if declared is not None and int(declared) != n:
            raise FormatError(f"{path}: ChannelSampleCountTotal says {int(declared)} samples per lead "
                              f"but the leads hold {n}")
        n_leads = X.number(X.text(strip, "NumberOfLeads"))
        if n_leads is not None and int(n_leads) != len(leads):
            raise FormatError(f"{path}: NumberOfLeads says {int(n_leads)} but {len(leads)} leads found")

        notes = []
        meas = X.child(root, "RestingECGMeasurements")
        if X.child(meas, "MedianSamples") is not None:
            notes.append("median beats ignored (StripData is read)")
        if X.child(root, "FullDisclosure") is not None:
            notes.append("FullDisclosure recording ignored (StripData is read)")
        interp = X.child(root, "Interpretation")
        texts = [X.text(t) for t in X.find_all(interp, "Diagnosis/DiagnosisText")]
        if not any(texts):
            texts = [X.text(t) for t in X.find_all(interp, "Conclusion/ConclusionText")]
        interpretation = [t for t in texts if t and t.strip("- ")]
        odt = X.child(root, "ObservationDateTime")
        acquired = X.iso_datetime(X.text(odt, "Year"), X.text(odt, "Month"), X.text(odt, "Day"),
                                  X.text(odt, "Hour"), X.text(odt, "Minute"), X.text(odt, "Second"))
        pinfo = X.child(root, "PatientInfo")
        age_el = X.child(pinfo, "Age")
        age = X.age_in_years(X.number(X.text(age_el)), age_el.get("units") if age_el is not None else None)
        dev = X.find(root, "ClinicalInfo/DeviceInfo")
        device = " ".join(p for p in (X.text(dev, "Desc"), X.text(dev, "SoftwareVer")) if p) or None
        identity = {}
        name = ", ".join(p for p in (X.text(pinfo, "Name/FamilyName"), X.text(pinfo, "Name/GivenName")) if p)
        if name:
            identity["name"] = name
        if pid := X.text(pinfo, "PID"):
            identity["id"] = pid
        bd = X.child(pinfo, "BirthDateTime")
        if birth := X.iso_datetime(X.text(bd, "Year"), X.text(bd, "Month"), X.text(bd, "Day")):
            identity["birth_date"] = birth
        return RawECG(leads=leads, fs=float(fs), fmt=FORMAT, age=age, sex=X.sex_code(X.text(pinfo, "Gender")),
                      acquired=acquired, device=device, measurements=_measurements(meas),
                      interpretation=interpretation, identity=identity, notes=notes,
                      fields={"analysis": X.text(dev, "AnalysisVer") or ""})


READER = Reader(name="cardiosoft", kind="GE CardioSoft", suffixes=(".xml",), sniff=sniff, read=read,
                xml_root="CardiologyXML", cart=True)
