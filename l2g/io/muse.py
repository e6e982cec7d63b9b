"""GE MUSE XML (root ``RestingECG``), as exported by the MUSE ECG management system.

What is read
------------
* The ``Waveform`` whose ``WaveformType`` is ``Rhythm`` (the 10-s recording); the ``Median``
  beats are ignored (a note says so).
* Each ``LeadData``: ``WaveFormData`` is Base64 of little-endian int16 samples
  (``LeadSampleSize`` 2), scaled by ``LeadAmplitudeUnitsPerBit`` in ``LeadAmplitudeUnits``
  (``MICROVOLTS``, ``MILLIVOLTS`` or ``NANOVOLTS``). ``LeadSampleCountTotal`` and
  ``LeadByteCountTotal`` must agree with the decoded bytes, and ``LeadDataCRC32`` (when present)
  with :func:`zlib.crc32` of them.
* fs = ``SampleBase`` x 10^``SampleExponent`` (240 Hz and 500 Hz exist; never assumed).
* MUSE usually stores 8 leads (I, II, V1-V6). III, aVR, aVL, aVF are then computed exactly:
  III = II - I, aVR = -(I + II)/2, aVL = I - II/2, aVF = II - I/2, and listed in
  :attr:`RawECG.derived`. Stored limb leads are never replaced.
* Metadata: ``PatientDemographics`` (age with ``AgeUnits``, gender), ``TestDemographics``
  (``AcquisitionDate`` MM-DD-YYYY + ``AcquisitionTime``, ``AcquisitionDevice``/``MachineID``),
  ``RestingECGMeasurements`` and the ``Diagnosis`` statements (fragments joined into lines
  at each ``ENDSLINE`` flag; ``OriginalDiagnosis`` when there is no ``Diagnosis``). Name,
  patient id and date of birth go to :attr:`RawECG.identity` only.

The ``<!DOCTYPE RestingECG SYSTEM "restecg.dtd">`` line is allowed; the DTD is never read or
fetched (see :func:`l2g.io._xml.parse`).
"""

from __future__ import annotations

import base64
import binascii
import re
import zlib
from pathlib import Path

import numpy as np

from . import _xml as X
from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "FORMAT"]

FORMAT = "GE MUSE XML"

#: Unit word -> factor to mV.
_UNITS = {"MICROVOLTS": 1e-3, "MILLIVOLTS": 1.0, "NANOVOLTS": 1e-6, "UV": 1e-3, "MV": 1.0}

_MEASUREMENTS = {"VentricularRate": "HR_bpm", "PRInterval": "PR_ms", "QRSDuration": "QRS_ms",
                 "QTInterval": "QT_ms", "QTCorrected": "QTc_ms", "PAxis": "P_axis_deg",
                 "RAxis": "QRS_axis_deg", "TAxis": "T_axis_deg"}

#: Limb leads computed from I and II (exact for 8-lead storage), in mV.
DERIVED = {"III": "II - I", "aVR": "-(I + II) / 2", "aVL": "I - II / 2", "aVF": "II - I / 2"}


def sniff(head: bytes, path: Path) -> bool:
    """True when the file's root element is a MUSE ``RestingECG`` (no namespace).

    Parameters
    ----------
    head : bytes
        First bytes of the file (up to 4096).
    path : Path
        The file (unused: the decision is by content).

    Examples
    --------
    >>> sniff(b'<?xml version="1.0"?><!DOCTYPE RestingECG SYSTEM "restecg.dtd"><RestingECG>', Path("x"))
    True
    >>> sniff(b"<restingecgdata>", Path("x.xml"))
    False
    """
    found = X.root_name(head)
    return found is not None and found[1] == "RestingECG"


def _decode_lead(path: Path, ld, index: int) -> tuple[str, np.ndarray]:
    label = X.text(ld, "LeadID") or ""
    if not label:
        raise FormatError(f"{path}: Rhythm LeadData #{index + 1} has no LeadID; expected I, II, V1...")
    b64 = X.text(ld, "WaveFormData")
    if b64 is None:
        raise FormatError(f"{path}: lead {label} has no WaveFormData; expected Base64 int16 samples")
    try:
        raw = base64.b64decode(re.sub(r"\s+", "", b64), validate=True)
    except (binascii.Error, ValueError) as e:
        raise FormatError(f"{path}: lead {label}: WaveFormData is not valid Base64 ({e})") from e
    size = int(X.number(X.text(ld, "LeadSampleSize")) or 2)
    if size != 2:
        raise FormatError(f"{path}: lead {label}: LeadSampleSize {size}; only 2 (int16) is supported")
    if len(raw) % 2:
        raise FormatError(f"{path}: lead {label}: {len(raw)} bytes of samples, not a whole number "
                          f"of int16 samples")
    n_bytes = X.number(X.text(ld, "LeadByteCountTotal"))
    if n_bytes is not None and int(n_bytes) != len(raw):
        raise FormatError(f"{path}: lead {label}: LeadByteCountTotal says {int(n_bytes)} bytes but "
                          f"WaveFormData holds {len(raw)}")
    n_samples = X.number(X.text(ld, "LeadSampleCountTotal"))
    if n_samples is not None and int(n_samples) != len(raw) // 2:
        raise FormatError(f"{path}: lead {label}: LeadSampleCountTotal says {int(n_samples)} samples "
                          f"but WaveFormData holds {len(raw) // 2}")
    crc = X.number(X.text(ld, "LeadDataCRC32"))
    if crc is not None and int(crc) != zlib.crc32(raw):
        raise FormatError(f"{path}: lead {label}: LeadDataCRC32 {int(crc)} does not match the samples "
                          f"(crc32 {zlib.crc32(raw)}); the waveform is damaged")
    per_bit = X.number(X.text(ld, "LeadAmplitudeUnitsPerBit"))
    if per_bit is None or per_bit <= 0:
        raise FormatError(f"{path}: lead {label}: LeadAmplitudeUnitsPerBit missing or not positive; "
                          f"expected e.g. 4.88")
    unit = (X.text(ld, "LeadAmplitudeUnits") or "MICROVOLTS").upper()
    if unit not in _UNITS:
        raise FormatError(f"{path}: lead {label}: LeadAmplitudeUnits {unit!r}; expected one of "
                          f"{sorted(_UNITS)}")
    counts = np.frombuffer(raw, dtype="<i2").astype(np.float64)
    return label, counts * (per_bit * _UNITS[unit])


def _interpretation(root) -> list[str]:
    diag = X.child(root, "Diagnosis")
    if diag is None or not X.children(diag, "DiagnosisStatement"):
        diag = X.child(root, "OriginalDiagnosis")
    lines: list[str] = []
    current: list[str] = []
    for st in X.children(diag, "DiagnosisStatement"):
        t = X.text(st, "StmtText")
        if t:
            current.append(t)
        flags = {(f.text or "").strip().upper() for f in X.children(st, "StmtFlag")}
        if "ENDSLINE" in flags and current:
            lines.append(" ".join(current))
            current = []
    if current:
        lines.append(" ".join(current))
    return lines


def _acquired(demo) -> str | None:
    date = X.text(demo, "AcquisitionDate")
    if not date:
        return None
    m = re.match(r"^(\d{1,2})-(\d{1,2})-(\d{4})$", date)
    if m is None:
        return None
    mo, d, y = m.groups()
    tm = X.text(demo, "AcquisitionTime")
    hms = re.match(r"^(\d{1,2}):(\d{2})(?::(\d{2}))?", tm or "")
    if hms is None:
        return X.iso_datetime(y, mo, d)
    return X.iso_datetime(y, mo, d, hms.group(1), hms.group(2), hms.group(3) or 0)


def read(path: Path) -> RawECG:
    """Read a GE MUSE XML resting ECG.

    Parameters
    ----------
    path : Path
        The ``.xml`` file.

    Returns
    -------
    RawECG
        Leads in mV (float64, shape (samples,) each) at the file's rate; for 8-lead storage
        III, aVR, aVL, aVF are computed and listed in ``derived``.

    Raises
    ------
    FormatError
        Not a MUSE file, no Rhythm waveform, bad Base64, a sample count or CRC that does not
        match, leads of different lengths, an unknown amplitude unit.
    """
    path = Path(path)
    root = X.parse(path, FORMAT)
    if X.local(root.tag) != "RestingECG":
        raise FormatError(f"{path}: root element is <{X.local(root.tag)}>; expected <RestingECG> (GE MUSE XML)")
    with X.decoding_errors(path, FORMAT):
        waveforms = X.children(root, "Waveform")
        kinds = [X.text(w, "WaveformType") or "?" for w in waveforms]
        rhythm = [w for w, k in zip(waveforms, kinds, strict=True) if k.lower() == "rhythm"]
        if not rhythm:
            raise FormatError(f"{path}: no Waveform with WaveformType Rhythm (found: {kinds or 'none'}); "
                              f"expected the 10-s rhythm recording")
        wf = rhythm[0]
        base = X.number(X.text(wf, "SampleBase"))
        exponent = X.number(X.text(wf, "SampleExponent")) or 0.0
        if base is None or base <= 0:
            raise FormatError(f"{path}: Rhythm SampleBase missing or not positive; expected e.g. 500")
        fs = float(base * 10 ** exponent)
        leads: dict[str, np.ndarray] = {}
        for i, ld in enumerate(X.children(wf, "LeadData")):
            label, samples = _decode_lead(path, ld, i)
            if label in leads:
                raise FormatError(f"{path}: lead {label} appears twice in the Rhythm waveform")
            leads[label] = samples
        if not leads:
            raise FormatError(f"{path}: the Rhythm waveform holds no LeadData")
        lengths = {k: v.size for k, v in leads.items()}
        if len(set(lengths.values())) != 1:
            raise FormatError(f"{path}: Rhythm leads have different lengths {lengths}; expected equal")
        declared = X.number(X.text(wf, "NumberofLeads"))
        notes = []
        if declared is not None and int(declared) != len(leads):
            raise FormatError(f"{path}: NumberofLeads says {int(declared)} but {len(leads)} LeadData found")
        if any(k.lower() == "median" for k in kinds):
            notes.append("median beats ignored (the rhythm waveform is read)")
        derived: dict[str, str] = {}
        if "I" in leads and "II" in leads:
            lead_i, lead_ii = leads["I"], leads["II"]
            formulas = {"III": lead_ii - lead_i, "aVR": -(lead_i + lead_ii) / 2,
                        "aVL": lead_i - lead_ii / 2, "aVF": lead_ii - lead_i / 2}
            for name, value in formulas.items():
                if name not in leads:
                    leads[name] = value
                    derived[name] = DERIVED[name]

        demo = X.child(root, "PatientDemographics")
        test = X.child(root, "TestDemographics")
        meas = X.child(root, "RestingECGMeasurements")
        measurements = {key: v for tag, key in _MEASUREMENTS.items()
                        if (v := X.number(X.text(meas, tag))) is not None}
        identity = {}
        last, first = X.text(demo, "PatientLastName"), X.text(demo, "PatientFirstName")
        if last or first:
            identity["name"] = ", ".join(p for p in (last, first) if p)
        if pid := X.text(demo, "PatientID"):
            identity["id"] = pid
        if dob := X.text(demo, "DateofBirth"):
            identity["birth_date"] = dob
        device = X.text(test, "AcquisitionDevice") or X.text(test, "MachineID")
        return RawECG(
            leads=leads, fs=fs, fmt=FORMAT, derived=derived,
            age=X.age_in_years(X.number(X.text(demo, "PatientAge")), X.text(demo, "AgeUnits")),
            sex=X.sex_code(X.text(demo, "Gender")),
            acquired=_acquired(test), device=device, measurements=measurements,
            interpretation=_interpretation(root), identity=identity, notes=notes,
            fields={"muse_version": X.text(root, "MuseInfo/MuseVersion") or ""},
        )


READER = Reader(name="muse", kind="GE MUSE", suffixes=(".xml",), sniff=sniff, read=read,
                xml_root="RestingECG", cart=True)
