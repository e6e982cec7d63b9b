"""DICOM ECG waveforms: 12-Lead, General, Ambulatory ECG and Hemodynamic objects (read); 12-Lead
and General ECG (write).

What is read
------------
* SOP classes 12-Lead ECG (``1.2.840.10008.5.1.4.1.1.9.1.1``), General ECG (``...9.1.2``),
  Ambulatory ECG (``...9.1.3``), General 32-bit ECG (``...9.1.4``) and Hemodynamic Waveform
  Storage (``...9.2.1``); anything else is a :class:`FormatError`.
* Channels are sorted by their source (``ChannelSourceSequence``): an ECG lead by its MDC code
  (``2:1`` ... ``2:255``, the ECG-lead block of ISO/IEEE 11073-10101, DICOM CID 3001), its
  SCPECG code (``5.6.3-9-1`` ...) or an ``MDC_ECG_LEAD_*`` reference id, else by a code meaning
  or (when the code is from no scheme the reader knows, or absent) a ``ChannelLabel`` that names
  a lead. Other channels (pressure, flow, respiration, SNOMED/DCM sources ...) and ECG leads
  outside the standard 12 (V4R, -aVR, derived or Frank leads) are left out; a note names the SOP
  class and each channel left out. No standard ECG lead at all is a :class:`FormatError`.
* Multiplex groups: median/representative beat groups are never read as the ECG (a note says
  they were ignored). Of the others, every group that holds ECG leads is read when it shares
  the rate, sample count and time offset of the main one (the ``RHYTHM`` group, else the one
  with the most leads, then the longest), so leads split over groups (Hemodynamic objects allow
  8 channels per group) come together; a group that does not line up is left out with a note.
* Samples are decoded here from ``WaveformData`` (channel-interleaved) with
  ``WaveformBitsAllocated`` and ``WaveformSampleInterpretation`` (SB, UB, SS, US, SL, UL, SV, UV;
  mu-law/A-law are refused), in the byte order of the transfer syntax. Each channel becomes
  ``(sample x ChannelSensitivity x ChannelSensitivityCorrectionFactor + ChannelBaseline)`` in the
  unit of ``ChannelSensitivityUnitsSequence`` (UCUM ``uV``, ``mV``, ``V``, ``nV``), then mV.
* Lead names from ``ChannelSourceSequence``: MDC (``2:1`` ...) and SCPECG (``5.6.3-9-1`` ...)
  code values, else the code meaning (``"Lead I (Einthoven)"`` -> ``I``), else ``ChannelLabel``.
* fs is ``SamplingFrequency`` exactly as written.
* Metadata: ``PatientAge`` (``"042Y"``, ``"018M"`` ...), ``PatientSex``, ``AcquisitionDateTime``
  (ISO 8601; ``AcquisitionDate``/``ContentDate`` with their times as fall-backs), ``Manufacturer``
  + ``ManufacturerModelName`` as the device, the cart's numeric measurements in
  ``WaveformAnnotationSequence`` (``PR Interval``, ``QRS Duration``, ``QT Interval``, ``QTc Interval``,
  ``RR Interval``, ``Ventricular Heart Rate``, the P/QRS/T axes) and its unformatted text
  annotations as the interpretation. ``PatientName``, ``PatientID`` and ``PatientBirthDate`` go to
  :attr:`RawECG.identity` only; they are never logged or put in a note.

Files written by :func:`write_dicom` mark generated leads in the channel label (``"V1 (GENERATED)"``)
and in ``L2G:`` text annotations. :func:`read` returns such a lead under its plain name, lists it
in ``fields["generated"]`` (comma-separated canonical names) and the ``L2G: generated from:`` line's
content in ``fields["provenance"]``; ``L2G:`` annotations are never taken as interpretation, and a
cart statement written beside generated leads loses its "not of generated leads" prefix
(:func:`l2g.interpretation.unlabelled`).

What is written
---------------
See :func:`write_dicom`: one ``RHYTHM`` group of int16 samples at 1 uV per bit.
"""

from __future__ import annotations

import datetime as _dt
import logging
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..interpretation import unlabelled
from ..leads import normalize_lead_name
from ..record import ABSENT, GENERATED, Record
from . import _xml as X
from ._raw import FormatError, RawECG, Reader

__all__ = ["sniff", "read", "write_dicom", "FORMAT", "TWELVE_LEAD_ECG", "GENERAL_ECG", "AMBULATORY_ECG",
           "GENERAL_32BIT_ECG", "HEMODYNAMIC", "GENERATED_MARK", "MAX_12LEAD_SAMPLES", "FS_LIMITS"]

FORMAT = "DICOM ECG waveform"
log = logging.getLogger(__name__)

TWELVE_LEAD_ECG = "1.2.840.10008.5.1.4.1.1.9.1.1"
GENERAL_ECG = "1.2.840.10008.5.1.4.1.1.9.1.2"
AMBULATORY_ECG = "1.2.840.10008.5.1.4.1.1.9.1.3"
GENERAL_32BIT_ECG = "1.2.840.10008.5.1.4.1.1.9.1.4"
HEMODYNAMIC = "1.2.840.10008.5.1.4.1.1.9.2.1"
_SOP_NAMES = {TWELVE_LEAD_ECG: "12-Lead ECG Waveform Storage", GENERAL_ECG: "General ECG Waveform Storage",
              AMBULATORY_ECG: "Ambulatory ECG Waveform Storage",
              GENERAL_32BIT_ECG: "General 32-bit ECG Waveform Storage", HEMODYNAMIC: "Hemodynamic Waveform Storage"}

#: Suffix of the ChannelLabel of a generated lead in files written by :func:`write_dicom`.
GENERATED_MARK = "(GENERATED)"
#: PS3.3 A.34.3.4: at most 16384 samples per channel in a 12-Lead ECG object.
MAX_12LEAD_SAMPLES = 16384
#: PS3.3 A.34.3.4 / A.34.4.4: both ECG IODs allow 200..1000 Hz.
FS_LIMITS = (200.0, 1000.0)
#: The most channels a General ECG multiplex group may hold (A.34.4.4); 12-Lead ECG allows 13.
_MAX_CHANNELS = {TWELVE_LEAD_ECG: 13, GENERAL_ECG: 24}

#: (bits allocated, sample interpretation) -> numpy dtype kind and size.
_DTYPES = {(8, "SB"): "i1", (8, "UB"): "u1", (16, "SS"): "i2", (16, "US"): "u2",
           (32, "SL"): "i4", (32, "UL"): "u4", (64, "SV"): "i8", (64, "UV"): "u8"}
#: Sensitivity unit (UCUM code value or code meaning, lower case) -> factor to mV.
_UNITS = {"uv": 1e-3, "µv": 1e-3, "microvolt": 1e-3, "microvolts": 1e-3,
          "mv": 1.0, "millivolt": 1.0, "millivolts": 1.0,
          "v": 1e3, "volt": 1e3, "volts": 1e3, "nv": 1e-6, "nanovolt": 1e-6, "nanovolts": 1e-6}
#: MDC / SCPECG lead numbers (the code value's last number) -> canonical lead.
_LEAD_NUMBERS = {1: "I", 2: "II", 3: "V1", 4: "V2", 5: "V3", 6: "V4", 7: "V5", 8: "V6",
                 61: "III", 62: "aVR", 63: "aVL", 64: "aVF"}
_MDC_NUMBER = {lead: n for n, lead in _LEAD_NUMBERS.items()}
#: MDC partition 2 term codes 0..255 are ECG leads (MDC_ECG_LEAD_*); 131072 = 2 * 65536 is 2:0.
_MDC_ECG_LEADS = range(256)
#: Coding schemes the reader knows: a code of theirs that is not an ECG lead marks another channel.
_KNOWN_SCHEMES = {"MDC", "SCPECG", "SCT", "SRT", "SNM3", "DCM", "LN", "UCUM"}
#: Annotation concept name (lower case) -> measurement key.
_MEASUREMENTS = {"ventricular heart rate": "HR_bpm", "heart rate": "HR_bpm", "ventricular rate": "HR_bpm",
                 "rr interval": "RR_ms", "p duration": "P_ms", "pr interval": "PR_ms",
                 "qrs duration": "QRS_ms", "qt interval": "QT_ms", "qtc interval": "QTc_ms",
                 "p axis": "P_axis_deg", "qrs axis": "QRS_axis_deg", "t axis": "T_axis_deg"}
_BEAT_GROUP = re.compile(r"MEDIAN|REPRESENTATIVE|AVERAGE|BEAT")
_VRS = {b"AE", b"AS", b"AT", b"CS", b"DA", b"DS", b"DT", b"FL", b"FD", b"IS", b"LO", b"LT", b"OB",
        b"OD", b"OF", b"OL", b"OV", b"OW", b"PN", b"SH", b"SL", b"SQ", b"SS", b"ST", b"SV", b"TM",
        b"UC", b"UI", b"UL", b"UN", b"UR", b"US", b"UT", b"UV"}


def sniff(head: bytes, path: Path) -> bool:
    """True for a DICOM file: ``DICM`` after the 128-byte preamble, or a preamble-less file.

    A preamble-less file must start with an explicit-VR little-endian element of group 0002
    or 0008 (e.g. ``(0002,0000) UL``); implicit-VR files without a preamble are not sniffed.

    Parameters
    ----------
    head : bytes
        First bytes of the file (up to 4096).
    path : Path
        The file (unused: the decision is by content).

    Examples
    --------
    >>> sniff(bytes(128) + b"DICM\\x02\\x00\\x00\\x00UL", Path("x"))
    True
    >>> sniff(b"\\x02\\x00\\x00\\x00UL\\x04\\x00", Path("x.dcm")), sniff(b"<?xml", Path("x.dcm"))
    (True, False)
    """
    if head[128:132] == b"DICM":
        return True
    return len(head) >= 8 and head[:2] in (b"\x02\x00", b"\x08\x00") and head[4:6] in _VRS


# ---------------------------------------------------------------------------------- reading
def _text(ds, keyword: str) -> str:
    """A string attribute, stripped; ``""`` when absent or empty."""
    value = ds.get(keyword)
    return "" if value is None else str(value).strip()


def _number(ds, keyword: str, default: float | None = None) -> float | None:
    value = ds.get(keyword)
    if value is None or str(value).strip() == "":
        return default
    return float(value)


def _code(item) -> tuple[str, str, str]:
    """(code value, scheme, meaning) of a code item."""
    return _text(item, "CodeValue"), _text(item, "CodingSchemeDesignator"), _text(item, "CodeMeaning")


def _first_code(ds, keyword: str) -> tuple[str, str, str] | None:
    seq = ds.get(keyword)
    return _code(seq[0]) if seq else None


@dataclass(frozen=True)
class _Channel:
    """What one channel definition holds."""

    kind: str  # "lead" (one of the 12), "ecg" (another ECG lead: V4R, -aVR, derived ...), "other"
    name: str  # the canonical lead for "lead", else a description for notes
    generated: bool = False  # its label carries GENERATED_MARK (files written by write_dicom)


def _lead_number(value: str, scheme: str) -> int | None:
    """The MDC/SCPECG ECG-lead number of a code (``2:61``, ``131133``, ``5.6.3-9-61`` -> 61), or None."""
    scheme = scheme.upper()
    if scheme == "MDC":
        if m := re.fullmatch(r"2:(\d+)", value):
            return int(m.group(1)) if int(m.group(1)) in _MDC_ECG_LEADS else None
        if value.isdigit() and int(value) - 2 * 65536 in _MDC_ECG_LEADS:
            return int(value) - 2 * 65536
    if scheme == "SCPECG" and (m := re.fullmatch(r"5\.6\.3-9-(\d+)", value)):
        return int(m.group(1))
    return None


def _named_lead(text: str) -> str | None:
    """The canonical lead a free text names; never for an inverted lead (``-aVR``: :func:`normalize_lead_name`)."""
    return normalize_lead_name(text) if text.strip() else None


def _channel(ch, index: int) -> _Channel:
    """Sort a channel definition: one of the 12 leads, another ECG lead, or not an ECG lead."""
    label = _text(ch, "ChannelLabel")
    generated = label.upper().endswith(GENERATED_MARK)
    if generated:
        label = label[: -len(GENERATED_MARK)].strip()
    source = _first_code(ch, "ChannelSourceSequence")
    if source is not None:
        value, scheme, meaning = source
        number = _lead_number(value, scheme)
        if number is not None:
            if number in _LEAD_NUMBERS:
                return _Channel("lead", _LEAD_NUMBERS[number], generated)
            return _Channel("ecg", meaning or label or f"{scheme} {value}", generated)
        if value.upper().startswith("MDC_ECG_LEAD_"):
            lead = _named_lead(value)
            return _Channel("lead", lead, generated) if lead else _Channel("ecg", meaning or value, generated)
        lead = _named_lead(re.sub(r"\(.*?\)", "", meaning))
        if lead:
            return _Channel("lead", lead, generated)
        if scheme.upper() in _KNOWN_SCHEMES:
            return _Channel("other", meaning or label or f"{scheme} {value}", generated)
    lead = _named_lead(label)
    if lead:
        return _Channel("lead", lead, generated)
    return _Channel("other", label or (source[2] if source else "") or f"channel {index + 1}", generated)


def _group_name(seq, i: int) -> str:
    label = _text(seq[i], "MultiplexGroupLabel")
    return f"group {i + 1}" + (f" ({label})" if label else "")


def _timing(group) -> tuple[float | None, int, float]:
    """(SamplingFrequency, NumberOfWaveformSamples, MultiplexGroupTimeOffset in ms) of a group."""
    try:
        fs = _number(group, "SamplingFrequency")
        n = int(_number(group, "NumberOfWaveformSamples", 0) or 0)
        offset = _number(group, "MultiplexGroupTimeOffset", 0.0) or 0.0
    except (TypeError, ValueError):
        return None, 0, 0.0
    return fs, n, offset


def _choose_groups(path: Path, sop_name: str, seq) -> tuple[list[int], dict[int, list[tuple[int, _Channel]]],
                                                             list[str], list[str], list[str]]:
    """Groups to read (the main one first), their lead channels, notes, what was left out (for the
    note) and the names of the channels that are not one of the 12 leads."""
    labels = [_text(g, "MultiplexGroupLabel").upper() for g in seq]
    beats = [i for i, lab in enumerate(labels) if _BEAT_GROUP.search(lab)]
    notes = ["median beats ignored (the rhythm multiplex group is read)"] if beats else []
    candidates = [i for i in range(len(seq)) if i not in beats]
    if not candidates:
        raise FormatError(f"{path}: the WaveformSequence holds only median/representative beat groups "
                          f"({labels}); expected a RHYTHM group")
    skipped: list[str] = []
    not_leads: list[str] = []
    found: dict[int, list[tuple[int, _Channel]]] = {}
    for i in candidates:
        kinds = [_channel(ch, j) for j, ch in enumerate(seq[i].get("ChannelDefinitionSequence") or [])]
        other = [c.name for c in kinds if c.kind == "other"]
        extra = [c.name for c in kinds if c.kind == "ecg"]
        not_leads += other + extra
        if other:
            skipped.append(f"{_group_name(seq, i)}: {len(other)} channel(s) that are not ECG leads "
                           f"({', '.join(other)})")
        if extra:
            skipped.append(f"{_group_name(seq, i)}: ECG lead(s) outside the standard 12 ({', '.join(extra)})")
        if any(c.kind == "lead" for c in kinds):
            found[i] = [(j, c) for j, c in enumerate(kinds) if c.kind == "lead"]
    if not found:
        raise FormatError(f"{path}: the {sop_name} object holds no ECG lead ({'; '.join(skipped) or 'no channels'}); "
                          f"expected channels whose source is an ECG lead (MDC 2:1 Lead I ..., SCPECG 5.6.3-9-1 ...)")
    rhythm = [i for i in found if labels[i] == "RHYTHM"]
    main = rhythm[0] if rhythm else max(found, key=lambda i: (len(found[i]), _timing(seq[i])[1]))
    chosen = [main]
    fs, n, offset = _timing(seq[main])
    if fs is None or not np.isfinite(fs) or fs <= 0:
        raise FormatError(f"{path}: SamplingFrequency missing or not positive; expected e.g. 500")
    for i in found:
        if i == main:
            continue
        if _timing(seq[i]) == (fs, n, offset):
            chosen.append(i)
            continue
        g_fs, g_n, g_offset = _timing(seq[i])
        what = f"{_group_name(seq, i)}: lead(s) {', '.join(c.name for _, c in found[i])}"
        if g_fs is None:
            skipped.append(f"{what} without a readable SamplingFrequency")
        else:
            skipped.append(f"{what} at {g_fs:g} Hz, {g_n} samples, offset {g_offset:g} ms do not line up with "
                           f"{_group_name(seq, main)} ({fs:g} Hz, {n} samples, offset {offset:g} ms)")
    return chosen, found, notes, skipped, not_leads


def _decode_group(path: Path, group, little_endian: bool) -> tuple[np.ndarray, int]:
    """Raw samples, shape (samples, channels), and the channel count."""
    n_ch = int(_number(group, "NumberOfWaveformChannels", 0) or 0)
    n_s = int(_number(group, "NumberOfWaveformSamples", 0) or 0)
    if n_ch <= 0 or n_s <= 0:
        raise FormatError(f"{path}: NumberOfWaveformChannels {n_ch} / NumberOfWaveformSamples {n_s}; "
                          f"expected both positive")
    bits = int(_number(group, "WaveformBitsAllocated", 0) or 0)
    interp = _text(group, "WaveformSampleInterpretation").upper()
    if (bits, interp) not in _DTYPES:
        raise FormatError(f"{path}: WaveformBitsAllocated {bits} with WaveformSampleInterpretation "
                          f"{interp!r} is not supported; expected one of {sorted(_DTYPES)}")
    data = group.get("WaveformData")
    if data is None:
        raise FormatError(f"{path}: the multiplex group has no WaveformData")
    dtype = np.dtype(("<" if little_endian else ">") + _DTYPES[(bits, interp)])
    expected = n_ch * n_s * dtype.itemsize
    if len(data) < expected:
        raise FormatError(f"{path}: WaveformData holds {len(data)} bytes but {n_ch} channels x {n_s} samples "
                          f"x {dtype.itemsize} bytes need {expected}; the file is truncated")
    if len(data) > expected + 1:  # one pad byte keeps an odd 8-bit payload even
        raise FormatError(f"{path}: WaveformData holds {len(data)} bytes but {n_ch} channels x {n_s} samples "
                          f"x {dtype.itemsize} bytes need {expected}")
    raw = np.frombuffer(bytes(data[:expected]), dtype=dtype).reshape(n_s, n_ch)
    return raw, n_ch


def _to_mv(path: Path, ch, lead: str, counts: np.ndarray) -> np.ndarray:
    sens = _number(ch, "ChannelSensitivity")
    if sens is None:
        raise FormatError(f"{path}: channel {lead} has no ChannelSensitivity; its samples have no unit "
                          f"(expected e.g. 1.25 with unit uV)")
    unit = _first_code(ch, "ChannelSensitivityUnitsSequence")
    keys = [u.lower() for u in (unit[0], unit[2])] if unit else []
    factor = next((_UNITS[k] for k in keys if k in _UNITS), None)
    if factor is None:
        found = f"{unit[0]!r} ({unit[2]!r})" if unit else "none"
        raise FormatError(f"{path}: channel {lead}: sensitivity unit {found}; expected a voltage "
                          f"(UCUM uV, mV, V or nV)")
    corr = _number(ch, "ChannelSensitivityCorrectionFactor", 1.0)
    base = _number(ch, "ChannelBaseline", 0.0)
    return (counts.astype(np.float64) * (sens * corr) + base) * factor  # type: ignore[operator]


def _age(text: str) -> float | None:
    m = re.fullmatch(r"(\d{1,3})\s*([DWMY])?", text.upper())
    if m is None:
        return None
    age = X.age_in_years(float(m.group(1)), m.group(2) or "Y")
    return age if age is not None and 0 <= age <= 130 else None


def _iso(date: str, time: str = "") -> str | None:
    d = re.match(r"^(\d{4})(\d{2})(\d{2})", date)
    if d is None:
        return None
    t = re.match(r"^(\d{2})(\d{2})?(\d{2}(?:\.\d+)?)?", time)
    if t is None:
        return X.iso_datetime(*d.groups())
    return X.iso_datetime(*d.groups(), t.group(1), t.group(2) or 0, t.group(3) or 0)


def _acquired(ds) -> str | None:
    dt = _text(ds, "AcquisitionDateTime")
    if dt:
        return _iso(dt[:8], dt[8:])
    for date_kw, time_kw in (("AcquisitionDate", "AcquisitionTime"), ("ContentDate", "ContentTime")):
        if _text(ds, date_kw):
            return _iso(_text(ds, date_kw), _text(ds, time_kw))
    return None


def _annotations(ds) -> tuple[dict[str, float], list[str], list[str]]:
    """(measurements, interpretation lines, L2G lines) from the WaveformAnnotationSequence."""
    measurements: dict[str, float] = {}
    texts: list[str] = []
    l2g: list[str] = []
    for item in ds.get("WaveformAnnotationSequence") or []:
        text = _text(item, "UnformattedTextValue")
        if text:  # a statement of an L2G-ECG export without its "not of generated leads" label
            (l2g if text.startswith("L2G:") else texts).append(unlabelled(text))
            continue
        concept = _first_code(item, "ConceptNameCodeSequence")
        value = _number(item, "NumericValue")
        if concept is None or value is None:
            continue
        key = _MEASUREMENTS.get(concept[2].strip().lower())
        unit = _first_code(item, "MeasurementUnitsCodeSequence")
        if key is None or key in measurements:
            continue
        if key.endswith("_ms") and unit is not None and unit[0] == "s":
            value *= 1000.0
        measurements[key] = value
    return measurements, texts, l2g


def read(path: Path) -> RawECG:
    """Read the ECG leads of a DICOM 12-Lead, General, Ambulatory ECG or Hemodynamic waveform object.

    Parameters
    ----------
    path : Path
        The ``.dcm`` file (with or without the 128-byte preamble).

    Returns
    -------
    RawECG
        The ECG leads in mV (float64, shape (samples,) each) at ``SamplingFrequency``, from the
        rhythm group and the groups that line up with it; channels that are not one of the 12
        leads are left out and named in a note with the SOP class. ``fields["sop_class"]`` names
        the class. Generated leads of files written by :func:`write_dicom` are listed in
        ``fields["generated"]``.

    Raises
    ------
    FormatError
        Not DICOM, another SOP class, no WaveformSequence, only median beats, no ECG lead (e.g.
        a Hemodynamic object with pressure channels only), a truncated or over-long
        WaveformData, a channel count that does not match the channel definitions, an
        unsupported sample encoding, a lead's sensitivity unit that is not a voltage.
    """
    import pydicom
    from pydicom.errors import InvalidDicomError

    path = Path(path)
    with X.decoding_errors(path, FORMAT):
        try:
            ds = pydicom.dcmread(path, force=True)
        except (InvalidDicomError, EOFError, OSError) as e:  # pydicom says OSError for a truncated element
            raise FormatError(f"{path}: not a readable DICOM file, damaged or truncated ({e})") from e
        sop = _text(ds, "SOPClassUID") or _text(getattr(ds, "file_meta", {}), "MediaStorageSOPClassUID")
        if sop not in _SOP_NAMES:
            raise FormatError(f"{path}: SOP class {sop or 'missing'!s} is not an ECG waveform; expected "
                              + " or ".join(f"{n} ({u})" for u, n in _SOP_NAMES.items()))
        seq = ds.get("WaveformSequence")
        if not seq:
            raise FormatError(f"{path}: {_SOP_NAMES[sop]} object without a WaveformSequence; no waveform to read")
        chosen, found, notes, skipped, not_leads = _choose_groups(path, _SOP_NAMES[sop], seq)
        little = getattr(ds, "original_encoding", (None, True))[1]
        fs = float(_timing(seq[chosen[0]])[0] or 0.0)  # positive: checked by _choose_groups
        leads: dict[str, np.ndarray] = {}
        generated: list[str] = []
        for i in chosen:
            group = seq[i]
            log.debug("%s: reading multiplex group %d of %d", path.name, i + 1, len(seq))
            raw, n_ch = _decode_group(path, group, little is not False)
            channels = group.get("ChannelDefinitionSequence") or []
            if len(channels) != n_ch:
                raise FormatError(f"{path}: NumberOfWaveformChannels says {n_ch} but the ChannelDefinitionSequence "
                                  f"defines {len(channels)} channels")
            names = [c.name for _, c in found[i]]
            twice = sorted({x for x in names if names.count(x) > 1})
            if twice:
                raise FormatError(f"{path}: lead {', '.join(twice)} appears twice in the multiplex group")
            again = [c.name for _, c in found[i] if c.name in leads]
            if again:
                skipped.append(f"{_group_name(seq, i)}: lead(s) {', '.join(again)} again (read from "
                               f"{_group_name(seq, chosen[0])})")
            for j, c in found[i]:
                if c.name in leads:
                    continue
                leads[c.name] = _to_mv(path, channels[j], c.name, raw[:, j])
                if c.generated:
                    generated.append(c.name)
        if skipped:
            notes.append(f"{_SOP_NAMES[sop]}: ECG leads read from {', '.join(_group_name(seq, i) for i in chosen)}; "
                         f"left out: {'; '.join(skipped)}")
        measurements, texts, l2g = _annotations(ds)
        fields = {"sop_class": _SOP_NAMES[sop]}
        if generated:
            fields["generated"] = ",".join(generated)
            notes.append(f"lead(s) {', '.join(generated)} are marked GENERATED in the file (not recorded)")
        for line in l2g:
            m = re.match(r"^L2G:\s*generated from:\s*(.*)$", line)
            if m:
                fields["provenance"] = m.group(1).strip()
        identity = {}
        name = _text(ds, "PatientName")
        if name:
            identity["name"] = name
        if pid := _text(ds, "PatientID"):
            identity["id"] = pid
        if dob := _text(ds, "PatientBirthDate"):
            identity["birth_date"] = dob
        device = " ".join(p for p in (_text(ds, "Manufacturer"), _text(ds, "ManufacturerModelName")) if p)
        return RawECG(
            leads=leads, fs=fs, fmt=FORMAT, age=_age(_text(ds, "PatientAge")),
            sex=X.sex_code(_text(ds, "PatientSex")), acquired=_acquired(ds), device=device or None,
            measurements=measurements, interpretation=texts, identity=identity, notes=notes, fields=fields,
            other_channels=not_leads,
        )


# ---------------------------------------------------------------------------------- writing
def _age_string(age: float) -> str:
    """DICOM Age String: ``"063Y"``; months, weeks or days under one year."""
    for unit, per_year in (("Y", 1.0), ("M", 12.0), ("W", 52.1775), ("D", 365.25)):
        n = int(age * per_year)
        if n >= 1 or unit == "D":
            return f"{min(n, 999):03d}{unit}"
    return "000D"


def _code_item(value: str, scheme: str, meaning: str, version: str | None = None):
    from pydicom.dataset import Dataset

    item = Dataset()
    item.CodeValue = value
    item.CodingSchemeDesignator = scheme
    if version:
        item.CodingSchemeVersion = version
    item.CodeMeaning = meaning
    return item


def _identity_value(rec: Record, *keys: str) -> str:
    from ..record import _is_identity_key

    for k, v in rec.meta.fields.items():
        if _is_identity_key(k) and re.sub(r"[\s_\-.'^]+", "", k).lower() in keys:
            return str(v)
    return ""


def _sop_class(rec: Record, n_channels: int) -> str:
    """12-Lead ECG when the standard's limits allow, else General ECG; ValueError when neither does."""
    lo, hi = FS_LIMITS
    if not lo <= rec.fs <= hi:
        raise ValueError(f"{rec.name}: sampling rate {rec.fs:g} Hz; DICOM 12-Lead and General ECG objects allow "
                         f"{lo:g}-{hi:g} Hz (PS3.3 A.34.3.4, A.34.4.4): resample the record first")
    if rec.n_samples <= MAX_12LEAD_SAMPLES and n_channels <= _MAX_CHANNELS[TWELVE_LEAD_ECG]:
        return TWELVE_LEAD_ECG
    if n_channels * rec.n_samples * 2 > 0xFFFFFFFE:
        raise ValueError(f"{rec.name}: {rec.n_samples} samples x {n_channels} channels do not fit one "
                         f"DICOM WaveformData element (at most 4 GiB); crop the record")
    return GENERAL_ECG


def write_dicom(record: Record, path: str | Path, *, deidentify: bool = False) -> Path:
    """Write a record as a DICOM ECG waveform object (``.dcm`` with preamble and file meta).

    * SOP class: 12-Lead ECG Waveform Storage when the record has at most 16384 samples per
      lead (:data:`MAX_12LEAD_SAMPLES`); longer records become General ECG Waveform Storage
      (no sample limit but the 4 GiB of WaveformData). Both classes allow only 200-1000 Hz
      (:data:`FS_LIMITS`): other rates raise ValueError (resample first).
    * One multiplex group labelled ``RHYTHM``: the present leads in canonical order (absent
      leads omitted), int16 (``SS``) at 1 uV per bit (ChannelSensitivity 1, UCUM ``uV``,
      correction factor 1, baseline 0). A lead beyond +-32.767 mV is written with a coarser
      whole-number sensitivity (k uV per bit, the smallest k that fits): rescaled, never
      clipped or refused; that channel's ChannelSensitivity says k.
    * Lead sources: MDC codes (``2:1`` "Lead I" ... CID 3001). Generated leads have the channel
      label ``"<lead> (GENERATED)"``, the group's WaveformOriginality is ``DERIVED``, and text
      annotations (``L2G: lead status ...``, ``L2G: generated leads ...``, ``L2G: generated from:
      <available> by <method> <version>`` and a not-a-recording warning, as in
      :func:`l2g.io.wfdb.provenance_lines`) name them, the model and the leads it was given.
    * The cart's interpretation lines become text annotations, each prefixed with
      :data:`l2g.interpretation.CART_READING` when the record holds generated leads
      (:func:`l2g.interpretation.labelled`; :func:`read` strips the prefix); age (``PatientAge``), sex and
      the acquisition time (``AcquisitionDateTime``, ``ContentDate``/``ContentTime``) are written.
      ``Manufacturer`` is the record's device; ``SoftwareVersions`` names L2G-ECG.
    * New Study, Series and SOP Instance UIDs on every call.

    Parameters
    ----------
    record : Record
    path : str or Path
        The file to write (its folder is created).
    deidentify : bool
        When True, write :meth:`l2g.record.Record.deidentified` of the record with empty
        PatientName and PatientID, no PatientBirthDate, ``PatientIdentityRemoved`` YES and a
        ``DeidentificationMethod``; age and sex are kept. When False, a name / ID / birth date
        found in the record's metadata fields is written.

    Returns
    -------
    Path
        The written file.

    Raises
    ------
    ValueError
        No present lead, a rate outside 200-1000 Hz, a record too long for one WaveformData.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> from l2g.record import Record
    >>> rec = Record(np.zeros((2, 5000)), fs=500.0, leads=("I", "II"))
    >>> with tempfile.TemporaryDirectory() as tmp:
    ...     raw = read(write_dicom(rec, Path(tmp) / "ecg.dcm"))
    >>> sorted(raw.leads), raw.fs, raw.fields["sop_class"]
    (['I', 'II'], 500.0, '12-Lead ECG Waveform Storage')
    """
    import pydicom
    from pydicom.dataset import Dataset, FileMetaDataset
    from pydicom.sequence import Sequence
    from pydicom.uid import PYDICOM_IMPLEMENTATION_UID, ExplicitVRLittleEndian, generate_uid

    from .. import __version__
    from ..interpretation import labelled
    from .wfdb import provenance_lines

    rec = record.deidentified() if deidentify else record
    std = rec.standardize()
    present = [i for i, st in enumerate(std.status) if st != ABSENT]
    if not present:
        raise ValueError(f"{rec.name}: no recorded or generated lead to write; expected at least one")
    sop = _sop_class(std, len(present))
    x_uv = std.signal[present].astype(np.float64) * 1000.0  # (leads, samples) uV
    peak = np.max(np.abs(x_uv), axis=1)
    step = np.maximum(1.0, np.ceil(peak / 32767.0))  # uV per bit; 1 unless a lead exceeds 32.767 mV
    counts = np.round(x_uv / step[:, None]).astype(np.int16)

    now = _dt.datetime.now()
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8
    ds.SOPClassUID = sop
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.InstanceCreationDate, ds.InstanceCreationTime = now.strftime("%Y%m%d"), now.strftime("%H%M%S")
    acquired = _dt.datetime.fromisoformat(std.meta.acquired) if _valid_iso(std.meta.acquired) else None
    when = acquired or now
    ds.StudyDate = ds.ContentDate = when.strftime("%Y%m%d")
    ds.StudyTime = ds.ContentTime = when.strftime("%H%M%S")
    if acquired is not None:
        ds.AcquisitionDateTime = acquired.strftime("%Y%m%d%H%M%S")
    ds.Modality = "ECG"
    ds.Manufacturer = std.meta.device or ""
    ds.SoftwareVersions = f"L2G-ECG {__version__}"
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = ""
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    if deidentify:
        ds.PatientName = ""
        ds.PatientID = ""
        ds.PatientIdentityRemoved = "YES"
        ds.DeidentificationMethod = "L2G-ECG: name, IDs, birth date removed; new UIDs"  # LO: <= 64
    else:
        ds.PatientName = _identity_value(std, "name", "patientname", "patientsname")
        ds.PatientID = _identity_value(std, "id", "patientid", "pid", "mrn")
        dob = re.sub(r"\D", "", _identity_value(std, "dob", "birthdate", "dateofbirth", "patientbirthdate"))
        if len(dob) == 8:
            ds.PatientBirthDate = dob
    if "PatientBirthDate" not in ds:
        ds.PatientBirthDate = ""
    ds.PatientSex = std.meta.sex or ""
    if std.meta.age is not None:
        ds.PatientAge = _age_string(float(std.meta.age))
    ds.AcquisitionContextSequence = Sequence([])

    group = Dataset()
    group.MultiplexGroupTimeOffset = "0"
    group.WaveformOriginality = "DERIVED" if std.generated_leads else "ORIGINAL"
    group.NumberOfWaveformChannels = len(present)
    group.NumberOfWaveformSamples = std.n_samples
    group.SamplingFrequency = f"{std.fs:.10g}"[:16]
    group.MultiplexGroupLabel = "RHYTHM"
    channels = []
    for k, i in enumerate(present):
        lead, generated = std.leads[i], std.status[i] == GENERATED
        ch = Dataset()
        ch.ChannelLabel = f"{lead} {GENERATED_MARK}" if generated else lead
        ch.ChannelSourceSequence = Sequence([_code_item(f"2:{_MDC_NUMBER[lead]}", "MDC", f"Lead {lead}")])
        ch.ChannelSensitivity = f"{step[k]:g}"
        ch.ChannelSensitivityUnitsSequence = Sequence([_code_item("uV", "UCUM", "microvolt", "1.4")])
        ch.ChannelSensitivityCorrectionFactor = "1"
        ch.ChannelBaseline = "0"
        ch.ChannelSampleSkew = "0"
        ch.WaveformBitsStored = 16
        channels.append(ch)
    group.ChannelDefinitionSequence = Sequence(channels)
    group.WaveformBitsAllocated = 16
    group.WaveformSampleInterpretation = "SS"
    group.WaveformData = counts.T.astype("<i2").tobytes()  # channel-interleaved: C1S1, C2S1, ...
    ds.WaveformSequence = Sequence([group])

    texts = labelled(std) + provenance_lines(std)  # the cart's statements marked as its reading of the recording
    notes = []
    for text in texts:
        item = Dataset()
        item.UnformattedTextValue = text[:1024]
        item.ReferencedWaveformChannels = [1, 0]  # group 1, all channels
        item.AnnotationGroupNumber = 0
        notes.append(item)
    if notes:
        ds.WaveformAnnotationSequence = Sequence(notes)

    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = sop
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
    ds.file_meta = meta
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    pydicom.dcmwrite(out, ds, enforce_file_format=True)
    return out


def _valid_iso(text: str | None) -> bool:
    if not text:
        return False
    try:
        _dt.datetime.fromisoformat(text)
    except ValueError:
        return False
    return True


READER = Reader(name="dicom", kind="DICOM", suffixes=(".dcm",), sniff=sniff, read=read,
                companions=(".dicom",), cart=True)
