"""DICOM waveform objects outside the 12-lead SOP class: Hemodynamic, General, Ambulatory ECG.

Every object is built here with pydicom, as PS3.3 lays them out: multiplex groups of
channel-interleaved samples, a ``ChannelSourceSequence`` code per channel (ECG leads: MDC
``2:N``, DICOM CID 3001, or SCPECG ``5.6.3-9-N``; pressure: SNOMED CT, CID 3003), sensitivity and
unit per channel. pydicom is the reference: ``Dataset.waveform_array`` decodes each group on its
own, and the reader's leads must equal it (and the mV that were encoded).
"""

from __future__ import annotations

import numpy as np
import pydicom
import pytest
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

from l2g.io import dicom, read_record
from l2g.io._raw import FormatError
from l2g.leads import LEADS, expand_independent

from .ecg_factory import synthetic_x8

# SOP class UIDs (PS3.4 B.5)
HEMODYNAMIC = "1.2.840.10008.5.1.4.1.1.9.2.1"
GENERAL_ECG = "1.2.840.10008.5.1.4.1.1.9.1.2"
AMBULATORY_ECG = "1.2.840.10008.5.1.4.1.1.9.1.3"
GENERAL_32BIT_ECG = "1.2.840.10008.5.1.4.1.1.9.1.4"
RESPIRATORY = "1.2.840.10008.5.1.4.1.1.9.6.1"
MDC = {"I": 1, "II": 2, "V1": 3, "V2": 4, "V3": 5, "V4": 6, "V5": 7, "V6": 8,
       "III": 61, "aVR": 62, "aVL": 63, "aVF": 64}
AORTIC = ("128444004", "SCT", "Aortic pressure waveform")
LEFT_VENTRICLE = ("128438003", "SCT", "Left ventricle pressure waveform")
MMHG = ("mm[Hg]", "millimeter of mercury")
MV, UV = ("mV", "millivolt"), ("uV", "microvolt")


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def lead_source(lead: str, scheme: str = "MDC") -> tuple[str, str, str]:
    if scheme == "SCPECG":
        return f"5.6.3-9-{MDC[lead]}", "SCPECG", f"Lead {lead}"
    return f"2:{MDC[lead]}", "MDC", f"Lead {lead}"


def channel(source: tuple[str, str, str] | None, counts: np.ndarray, *, label: str = "",
            sensitivity: float = 0.005, unit: tuple[str, str] = MV, baseline: float = 0.0) -> dict:
    """One channel: its source code (or None), counts (samples,), and how counts become its unit."""
    return {"source": source, "counts": np.asarray(counts), "label": label, "sensitivity": sensitivity,
            "unit": unit, "baseline": baseline}


def group(label: str, fs: float, channels: list[dict], *, offset: float = 0.0, bits: int = 16) -> Dataset:
    g = Dataset()
    g.MultiplexGroupTimeOffset = f"{offset:g}"
    g.WaveformOriginality = "ORIGINAL"
    g.NumberOfWaveformChannels = len(channels)
    g.NumberOfWaveformSamples = len(channels[0]["counts"])
    g.SamplingFrequency = f"{fs:g}"
    g.MultiplexGroupLabel = label
    defs = []
    for ch in channels:
        d = Dataset()
        if ch["label"]:
            d.ChannelLabel = ch["label"]
        if ch["source"] is not None:
            d.ChannelSourceSequence = Sequence([_code(*ch["source"])])
        d.ChannelSensitivity = f"{ch['sensitivity']:g}"
        d.ChannelSensitivityUnitsSequence = Sequence([_code(ch["unit"][0], "UCUM", ch["unit"][1])])
        d.ChannelSensitivityCorrectionFactor = "1"
        d.ChannelBaseline = f"{ch['baseline']:g}"
        d.WaveformBitsStored = bits
        defs.append(d)
    g.ChannelDefinitionSequence = Sequence(defs)
    g.WaveformBitsAllocated = bits
    g.WaveformSampleInterpretation = {8: "SB", 16: "SS", 32: "SL"}[bits]
    data = np.stack([ch["counts"] for ch in channels], axis=1).astype(f"<i{bits // 8}")  # interleaved
    g.WaveformData = data.tobytes()
    return g


def waveform_file(path, sop: str, groups: list[Dataset]):
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"  # UTF-8: MDC 2:65 is "\u2212aVR"
    ds.SOPClassUID, ds.SOPInstanceUID = sop, generate_uid()
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.Modality = "HD" if sop == HEMODYNAMIC else "ECG"
    ds.Manufacturer, ds.ManufacturerModelName = "Cath Lab Co", "Recorder 9"
    ds.PatientName, ds.PatientID, ds.PatientSex, ds.PatientAge = "Doe^John", "H-1", "M", "071Y"
    ds.ContentDate, ds.ContentTime = "20210304", "101112"
    ds.WaveformSequence = Sequence(groups)
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    ds.save_as(path, enforce_file_format=True)
    return path


def twelve_lead_counts(n: int, fs: float, mv_per_count: float = 0.005) -> dict[str, np.ndarray]:
    """Counts of the 12 leads (Einthoven/Goldberger hold in mV before rounding)."""
    x12 = expand_independent(synthetic_x8(duration_s=n / fs, fs=fs, seed=5))[:, :n]
    return {lead: np.round(x12[k] / mv_per_count).astype(np.int64) for k, lead in enumerate(LEADS)}


def pressure_counts(n: int, fs: float, mean: float, swing: float) -> np.ndarray:
    t = np.arange(n) / fs
    return np.round((mean + swing * np.sin(2 * np.pi * 1.2 * t)) / 0.1).astype(np.int64)  # 0.1 mmHg/count


# ---------------------------------------------------------------------------------------------
# 12 leads at 240 Hz in mV beside a pressure group, in every ECG-capable class
# ---------------------------------------------------------------------------------------------

@pytest.mark.parametrize("sop, name, bits", [
    (HEMODYNAMIC, "Hemodynamic Waveform Storage", 16),
    (GENERAL_ECG, "General ECG Waveform Storage", 16),
    (AMBULATORY_ECG, "Ambulatory ECG Waveform Storage", 16),
    (GENERAL_32BIT_ECG, "General 32-bit ECG Waveform Storage", 32),
])
def test_twelve_leads_beside_a_pressure_group(tmp_path, sop, name, bits):
    """Fails on the reader before: "SOP class ... is not an ECG waveform" (General ECG: no note)."""
    fs, n = 240.0, 2400
    counts = twelve_lead_counts(n, fs)
    ecg = group("ECG", fs, [channel(lead_source(k), v) for k, v in counts.items()], bits=bits)
    pressure = group("PRESSURE", fs, [channel(AORTIC, pressure_counts(n, fs, 95, 25), sensitivity=0.1, unit=MMHG),
                                      channel(LEFT_VENTRICLE, pressure_counts(n, fs, 60, 55), sensitivity=0.1,
                                              unit=MMHG)], bits=bits)
    path = waveform_file(tmp_path / "cath.dcm", sop, [ecg, pressure])

    raw = dicom.read(path)
    assert raw.fs == 240.0 and list(raw.leads) == list(LEADS) and raw.fields["sop_class"] == name
    reference = pydicom.dcmread(path).waveform_array(0)  # (samples, channels) in mV
    for j, lead in enumerate(LEADS):
        np.testing.assert_allclose(raw.leads[lead], reference[:, j], rtol=0, atol=1e-12, err_msg=lead)
        np.testing.assert_allclose(raw.leads[lead], counts[lead] * 0.005, rtol=0, atol=1e-12, err_msg=lead)
    note = next(x for x in raw.notes if "left out" in x)
    assert note.startswith(f"{name}: ECG leads read from group 1 (ECG)")
    assert ("group 2 (PRESSURE): 2 channel(s) that are not ECG leads "
            "(Aortic pressure waveform, Left ventricle pressure waveform)") in note

    rec = read_record(path)
    assert rec.fs == 240.0 and rec.leads == LEADS and rec.status == ("recorded",) * 12
    np.testing.assert_allclose(rec.signal, np.stack([counts[k] * 0.005 for k in LEADS]), rtol=0, atol=1e-6)
    assert any(name in x and "Aortic pressure waveform" in x for x in rec.meta.notes)
    assert rec.meta.other_channels == ("Aortic pressure waveform", "Left ventricle pressure waveform")
    assert rec.meta.age == 71.0 and rec.meta.sex == "M" and rec.meta.device == "Cath Lab Co Recorder 9"


def test_leads_split_over_groups_come_together(tmp_path):
    """Hemodynamic groups hold at most 8 channels: 7 limb/chest leads + a pressure in one, V2-V6 in
    another (SCPECG codes, one lead named only by its label), pressure at another rate in a third."""
    fs, n = 240.0, 1200
    counts = twelve_lead_counts(n, fs)
    first = [channel(lead_source(k), counts[k]) for k in ("I", "II", "III", "aVR", "aVL", "aVF")]
    first += [channel(None, counts["V1"], label="V1"), channel(AORTIC, pressure_counts(n, fs, 90, 20),
                                                                sensitivity=0.1, unit=MMHG)]
    second = [channel(lead_source(k, "SCPECG"), counts[k], sensitivity=5.0, unit=UV) for k in
              ("V2", "V3", "V4", "V5", "V6")]
    slow = [channel(LEFT_VENTRICLE, pressure_counts(n // 2, fs / 2, 60, 50), sensitivity=0.1, unit=MMHG)]
    path = waveform_file(tmp_path / "split.dcm", HEMODYNAMIC,
                         [group("ECG 1", fs, first), group("ECG 2", fs, second), group("LV", fs / 2, slow)])
    raw = dicom.read(path)
    assert sorted(raw.leads) == sorted(LEADS) and raw.fs == 240.0
    ds = pydicom.dcmread(path)
    np.testing.assert_allclose(raw.leads["V1"], ds.waveform_array(0)[:, 6], rtol=0, atol=1e-12)
    np.testing.assert_allclose(raw.leads["V4"], ds.waveform_array(1)[:, 2] / 1000.0, rtol=0, atol=1e-12)  # uV
    for lead in LEADS:
        np.testing.assert_allclose(raw.leads[lead], counts[lead] * 0.005, rtol=0, atol=1e-12, err_msg=lead)
    note = next(x for x in raw.notes if "left out" in x)
    assert "read from group 1 (ECG 1), group 2 (ECG 2)" in note
    assert "group 1 (ECG 1): 1 channel(s) that are not ECG leads (Aortic pressure waveform)" in note
    assert "group 3 (LV): 1 channel(s) that are not ECG leads (Left ventricle pressure waveform)" in note


def test_group_that_does_not_line_up_is_left_out(tmp_path):
    fs, n = 500.0, 2500
    counts = twelve_lead_counts(n, fs)
    limb = group("RHYTHM", fs, [channel(lead_source(k), counts[k]) for k in ("I", "II")])
    late = group("CHEST", fs, [channel(lead_source(k), counts[k]) for k in ("V1", "V2")], offset=250.0)
    path = waveform_file(tmp_path / "late.dcm", GENERAL_ECG, [limb, late])
    raw = dicom.read(path)
    assert list(raw.leads) == ["I", "II"]
    assert any("group 2 (CHEST): lead(s) V1, V2 at 500 Hz, 2500 samples, offset 250 ms do not line up with "
               "group 1 (RHYTHM) (500 Hz, 2500 samples, offset 0 ms)" in x for x in raw.notes)


def test_ambulatory_leads_outside_the_twelve_are_named(tmp_path):
    """A Holter object (8-bit SB at 128 Hz): II and V5 read; a CM5-type lead and -aVR left out, never as aVR."""
    fs, n = 128.0, 1280
    counts = {k: np.clip(v // 8, -127, 127) for k, v in twelve_lead_counts(n, fs).items()}
    chans = [channel(lead_source("II"), counts["II"], sensitivity=0.04),
             channel(lead_source("V5"), counts["V5"], sensitivity=0.04),
             channel(("2:96", "MDC", "Modified chest lead per V5 placement"), counts["V5"], label="CM5",
                     sensitivity=0.04),
             channel(("2:65", "MDC", "\u2212aVR"), -counts["aVR"], label="-aVR", sensitivity=0.04)]
    path = waveform_file(tmp_path / "holter.dcm", AMBULATORY_ECG, [group("HOLTER", fs, chans, bits=8)])
    raw = dicom.read(path)
    assert list(raw.leads) == ["II", "V5"]
    np.testing.assert_allclose(raw.leads["V5"], pydicom.dcmread(path).waveform_array(0)[:, 1], atol=1e-12)
    assert any("Ambulatory ECG Waveform Storage" in x and "ECG lead(s) outside the standard 12 "
               "(Modified chest lead per V5 placement, \u2212aVR)" in x for x in raw.notes)
    rec = read_record(path)
    assert rec.present_leads == ("II", "V5") and rec.status_of("aVR") == "absent"
    assert rec.meta.other_channels == ("Modified chest lead per V5 placement", "\u2212aVR")


# ---------------------------------------------------------------------------------------------
# no ECG lead: a clear refusal naming the file
# ---------------------------------------------------------------------------------------------

def test_pressure_only_is_refused(tmp_path):
    fs, n = 240.0, 1200
    pressure = group("PRESSURE", fs, [channel(AORTIC, pressure_counts(n, fs, 95, 25), sensitivity=0.1, unit=MMHG),
                                      channel(None, pressure_counts(n, fs, 8, 4), label="CVP", sensitivity=0.1,
                                              unit=MMHG)])
    path = waveform_file(tmp_path / "pressure.dcm", HEMODYNAMIC, [pressure])
    with pytest.raises(FormatError) as info:
        dicom.read(path)
    message = str(info.value)
    assert str(path) in message
    assert "the Hemodynamic Waveform Storage object holds no ECG lead" in message
    assert "Aortic pressure waveform, CVP" in message
    with pytest.raises(ValueError, match="pressure.dcm.*holds no ECG lead"):
        read_record(path)


def test_other_waveform_classes_still_refused(tmp_path):
    """Respiratory waveforms are not ECG objects: refused by class, the message lists the ECG classes."""
    path = waveform_file(tmp_path / "resp.dcm", RESPIRATORY,
                         [group("RESP", 100.0, [channel(None, np.zeros(100), label="Resp", unit=UV)])])
    with pytest.raises(FormatError, match=r"resp\.dcm: SOP class 1\.2\.840\.10008\.5\.1\.4\.1\.1\.9\.6\.1 is not an "
                                          r"ECG waveform; expected .*Hemodynamic Waveform Storage"):
        dicom.read(path)
