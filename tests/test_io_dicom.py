"""The DICOM ECG waveform reader and writer (l2g.io.dicom), de-identification, ``--format dicom``.

The real file (Mortara ELI250, ../shared/clinical/dicom/waveform_ecg.dcm) is read in place; tests
that need it skip when it is absent. Malformed variants are written by the test from a file
:func:`write_dicom` made, into a temporary directory.

(a) the shared file against pydicom's own decode (``Dataset.waveform_array``) and ecgdatakit;
(b) Record -> write_dicom -> pydicom.dcmread / dicom.read round trip, generated marks;
(c) de-identification: nothing of the identity in the file or the log;
(d) malformed files -> one FormatError each, never a KeyError/IndexError/AttributeError;
(e) the CLI writes a .dcm that pydicom reads.
"""

from __future__ import annotations

import logging
import subprocess
import sys
from pathlib import Path

import numpy as np
import pydicom
import pytest

from l2g.io import dicom
from l2g.io._raw import FormatError
from l2g.leads import LEADS
from l2g.record import DEIDENTIFIED_NOTE, Metadata, Provenance, Record

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "clinical" / "dicom" / "waveform_ecg.dcm"
NAME, PID, DOB = "Doe^Jane", "ID-314159", "1961-02-03"


def shared_file() -> Path:
    if not SHARED.is_file():
        pytest.skip(f"{SHARED} not found: real cart files are read from ../shared/clinical")
    return SHARED


def _record(n: int = 5000, fs: float = 500.0) -> Record:
    """I, II recorded; aVR absent; the rest generated; identity in the header fields."""
    rng = np.random.default_rng(1)
    sig = rng.normal(0.0, 0.6, (12, n))
    status = ["recorded", "recorded"] + ["generated"] * 10
    sig[3], status[3] = np.nan, "absent"
    meta = Metadata(age=63, sex="F", acquired="2020-01-02T03:04:05", device="GE MAC 5500",
                    interpretation=("Sinus rhythm", "Normal ECG"),
                    fields={"Name": NAME, "ID": PID, "DOB": DOB, "Site": "ward 3"},
                    comments=(f"Patient ID: {PID}", "paced"),
                    provenance=Provenance(method="model", model_version="l2g-test-1", available=("I", "II")))
    return Record(sig, fs, LEADS, tuple(status), name="case", meta=meta)


# ------------------------------------------------------------------------- (a) real file
def test_shared_file_matches_pydicom_waveform_array():
    path = shared_file()
    raw = dicom.read(path)
    ds = pydicom.dcmread(path)
    rhythm = [i for i, g in enumerate(ds.WaveformSequence) if g.MultiplexGroupLabel == "RHYTHM"]
    assert rhythm == [0]
    ref = ds.waveform_array(0)  # (samples, channels) in uV, sensitivity applied by pydicom
    assert list(raw.leads) == list(LEADS)  # this file stores the 12 leads in canonical order
    for j, lead in enumerate(LEADS):
        np.testing.assert_allclose(raw.leads[lead], ref[:, j] / 1000.0, rtol=0, atol=1e-12)
    assert raw.fs == 1000.0
    assert {v.size for v in raw.leads.values()} == {10000}  # 10 s, not the 1200-sample median beat
    assert raw.derived == {}
    assert any("median" in n for n in raw.notes)


def test_shared_file_metadata_and_identity_kept_apart():
    raw = dicom.read(shared_file())
    assert raw.age == 42.0 and raw.sex == "F"  # PatientAge "042Y"
    assert raw.acquired == "2013-01-25T10:59:19"
    assert raw.device == "Mortara Instrument, Inc. el250"
    assert raw.measurements == {"RR_ms": 982.0, "PR_ms": 161.0, "QRS_ms": 75.0, "QT_ms": 368.0, "QTc_ms": 370.0,
                                "P_axis_deg": 74.0, "QRS_axis_deg": 52.0, "T_axis_deg": 57.0}
    assert raw.interpretation == ["RITMO SINUSALE", "ECG NORMALE"]
    assert set(raw.identity) == {"name", "id", "birth_date"}
    blob = repr((raw.notes, raw.interpretation, raw.device, raw.acquired, dict(raw.fields)))
    for value in raw.identity.values():
        assert value not in blob


def test_shared_file_ecgdatakit_agrees():
    """ecgdatakit 2.0.3 decodes the same samples (no NaN here); it reports no QTc for this file."""
    pytest.importorskip("ecgdatakit")
    from ecgdatakit import FileParser

    raw = dicom.read(shared_file())
    theirs = FileParser().parse(str(SHARED))
    assert [lead.label for lead in theirs.leads] == list(LEADS)
    for lead in theirs.leads:
        samples = np.asarray(lead.samples, dtype=float)
        assert lead.sampling_rate == 1000 and lead.units == "mV"
        assert not np.isnan(samples).any()
        np.testing.assert_allclose(samples, raw.leads[lead.label], rtol=0, atol=1e-9)
    assert theirs.measurements.qtc_bazett is None and raw.measurements["QTc_ms"] == 370.0


def test_sniff():
    assert dicom.sniff(shared_file().read_bytes()[:4096], SHARED)
    assert not dicom.sniff(b"<?xml version='1.0'?><RestingECG>", Path("a.dcm"))
    assert not dicom.sniff(bytes(200), Path("a.dcm"))


# ------------------------------------------------------------------------- (b) round trip
def test_round_trip_marks_generated_leads(tmp_path):
    rec = _record()
    path = dicom.write_dicom(rec, tmp_path / "out.dcm")
    ds = pydicom.dcmread(path)
    assert ds.SOPClassUID == dicom.TWELVE_LEAD_ECG
    assert ds.file_meta.MediaStorageSOPClassUID == dicom.TWELVE_LEAD_ECG
    assert ds.preamble is not None and path.read_bytes()[128:132] == b"DICM"
    group = ds.WaveformSequence[0]
    assert group.MultiplexGroupLabel == "RHYTHM" and group.WaveformOriginality == "DERIVED"
    labels = [c.ChannelLabel for c in group.ChannelDefinitionSequence]
    expected = ["I", "II"] + [f"{lead} (GENERATED)" for lead in LEADS[2:] if lead != "aVR"]
    assert labels == expected  # aVR (absent) omitted
    texts = [a.UnformattedTextValue for a in ds.WaveformAnnotationSequence]
    cart = "Cart interpretation of the originally recorded leads; not of generated leads: "  # beside generated leads
    assert texts[:2] == [f"{cart}Sinus rhythm", f"{cart}Normal ECG"]
    assert "L2G: generated leads: III,aVL,aVF,V1,V2,V3,V4,V5,V6 (not recorded)" in texts
    assert "L2G: generated from: I,II by model l2g-test-1" in texts
    ref = ds.waveform_array(0) / 1000.0  # pydicom, mV
    present = [i for i, lead in enumerate(LEADS) if lead != "aVR"]
    assert np.abs(ref - rec.signal[present].T).max() <= 0.5e-3 + 1e-6  # within 1 uV (half a bit)

    raw = dicom.read(path)
    assert raw.fs == 500.0 and list(raw.leads) == [LEADS[i] for i in present]
    for i in present:
        np.testing.assert_allclose(raw.leads[LEADS[i]], rec.signal[i], rtol=0, atol=1e-3)
    assert raw.fields["generated"] == "III,aVL,aVF,V1,V2,V3,V4,V5,V6"
    assert raw.fields["provenance"] == "I,II by model l2g-test-1"
    assert raw.interpretation == ["Sinus rhythm", "Normal ECG"]  # L2G lines are not interpretation; label gone
    assert raw.age == 63.0 and raw.sex == "F" and raw.acquired == "2020-01-02T03:04:05"
    assert raw.device == "GE MAC 5500"
    assert raw.identity == {"name": NAME, "id": PID, "birth_date": "19610203"}


def test_large_amplitude_is_rescaled_not_clipped(tmp_path):
    rec = _record()
    sig = rec.signal.copy()
    sig[0, 100] = 50.0  # 50 mV spike on lead I: beyond int16 at 1 uV/bit
    raw = dicom.read(dicom.write_dicom(rec.replace(signal=sig), tmp_path / "big.dcm"))
    assert raw.leads["I"][100] == pytest.approx(50.0, abs=1e-3)
    np.testing.assert_allclose(raw.leads["II"], sig[1], atol=0.5e-3 + 1e-6)  # other leads keep 1 uV


def test_sop_class_and_limits(tmp_path):
    long = _record(n=20000)  # 40 s at 500 Hz: 20000 > 16384 samples
    ds = pydicom.dcmread(dicom.write_dicom(long, tmp_path / "long.dcm"))
    assert ds.SOPClassUID == dicom.GENERAL_ECG
    assert dicom.read(tmp_path / "long.dcm").leads["I"].size == 20000
    with pytest.raises(ValueError, match="200-1000 Hz"):
        dicom.write_dicom(_record(n=1000, fs=100.0), tmp_path / "slow.dcm")


def test_dicom_bytes_reads_back(tmp_path):
    from l2g.export import dicom_bytes

    data = dicom_bytes(_record(), deidentify=True)
    assert data[128:132] == b"DICM"
    (tmp_path / "x.dcm").write_bytes(data)
    assert dicom.read(tmp_path / "x.dcm").identity == {}


# ------------------------------------------------------------------------- (c) de-identification
def test_deidentified_record_drops_identity():
    rec = _record()
    clean = rec.deidentified()
    assert dict(clean.meta.fields) == {"Site": "ward 3"}
    assert clean.meta.comments == ("paced", DEIDENTIFIED_NOTE)
    assert clean.meta.age == 63 and clean.meta.sex == "F"
    assert dict(rec.meta.fields)["Name"] == NAME  # input unchanged
    assert clean.deidentified().meta.comments.count(DEIDENTIFIED_NOTE) == 1


def test_deidentify_writes_no_identity(tmp_path, caplog):
    caplog.set_level(logging.DEBUG)
    rec = _record()
    plain = dicom.write_dicom(rec, tmp_path / "plain.dcm")
    assert NAME.encode() in plain.read_bytes()  # the test can fail: identity is written when not asked
    path = dicom.write_dicom(rec, tmp_path / "anon.dcm", deidentify=True)
    data = path.read_bytes()
    for secret in (NAME, PID, "19610203", DOB):
        assert secret.encode() not in data
    ds = pydicom.dcmread(path)
    assert not ds.get("PatientName") and not ds.get("PatientID") and not ds.get("PatientBirthDate")
    assert ds.PatientIdentityRemoved == "YES" and ds.DeidentificationMethod
    assert ds.PatientAge == "063Y" and ds.PatientSex == "F"
    raw = dicom.read(path)
    assert raw.identity == {} and raw.age == 63.0
    dicom.read(plain)
    if SHARED.is_file():
        dicom.read(SHARED)
    for secret in (NAME, PID, "19610203", "642341", "19710123"):
        assert secret not in caplog.text


# ------------------------------------------------------------------------- (d) malformed files
def _variant(tmp_path: Path, edit, name: str) -> Path:
    src = dicom.write_dicom(_record(), tmp_path / "src.dcm")
    ds = pydicom.dcmread(src)
    edit(ds)
    out = tmp_path / name
    ds.save_as(out, enforce_file_format=True)
    return out


def _truncate(ds):
    ds.WaveformSequence[0].WaveformData = ds.WaveformSequence[0].WaveformData[:-2000]


def _no_waveform(ds):
    del ds.WaveformSequence


def _ct_image(ds):
    ds.SOPClassUID = ds.file_meta.MediaStorageSOPClassUID = "1.2.840.10008.5.1.4.1.1.2"


def _drop_channel(ds):
    del ds.WaveformSequence[0].ChannelDefinitionSequence[-1]


def _pressure_unit(ds):
    unit = ds.WaveformSequence[0].ChannelDefinitionSequence[2].ChannelSensitivityUnitsSequence[0]
    unit.CodeValue, unit.CodeMeaning = "mm[Hg]", "millimeter of mercury"


def _median_only(ds):
    ds.WaveformSequence[0].MultiplexGroupLabel = "MEDIAN BEAT"


def _bad_interpretation(ds):
    ds.WaveformSequence[0].WaveformSampleInterpretation = "MB"


@pytest.mark.parametrize("edit, match", [
    (_truncate, "truncated"),
    (_no_waveform, "without a WaveformSequence"),
    (_ct_image, "not an ECG waveform"),
    (_drop_channel, "ChannelDefinitionSequence defines 10"),
    (_pressure_unit, "mm\\[Hg\\].*expected a voltage"),
    (_median_only, "only median"),
    (_bad_interpretation, "'MB' is not supported"),
])
def test_malformed_file_is_one_format_error(tmp_path, edit, match):
    path = _variant(tmp_path, edit, f"{edit.__name__.strip('_')}.dcm")
    with pytest.raises(FormatError, match=match) as info:
        dicom.read(path)
    assert str(path) in str(info.value)


def test_not_dicom_and_empty_files(tmp_path):
    for name, data in (("noise.dcm", bytes(range(256)) * 4), ("empty.dcm", b""),
                       ("cut.dcm", bytes(128) + b"DICM\x02\x00\x00\x00UL\x04")):
        (tmp_path / name).write_bytes(data)
        with pytest.raises(FormatError, match=name):
            dicom.read(tmp_path / name)


# ------------------------------------------------------------------------- (e) CLI
@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
def test_cli_reconstruct_format_dicom_deidentify(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "l2g", "reconstruct", str(REPO / "l2g/data/demo/demo.hea"), "--available",
         "I,II,V2", "--method", "linear", "--out", str(tmp_path), "--format", "dicom", "--deidentify"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    ds = pydicom.dcmread(tmp_path / "demo.dcm")
    assert ds.SOPClassUID == dicom.TWELVE_LEAD_ECG and ds.PatientIdentityRemoved == "YES"
    labels = [c.ChannelLabel for c in ds.WaveformSequence[0].ChannelDefinitionSequence]
    assert labels[:3] == ["I", "II", "III (GENERATED)"] and "V2" in labels and "V1 (GENERATED)" in labels
    assert ds.waveform_array(0).shape == (5000, 12)


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
@pytest.mark.parametrize("fmt", ["wfdb", "csv"])
def test_cli_deidentify_says_so_in_wfdb_and_csv(tmp_path, fmt):
    """``--deidentify`` is stated in every export format (WFDB header comment, CSV ``# L2G:`` line)."""
    proc = subprocess.run(
        [sys.executable, "-m", "l2g", "reconstruct", str(REPO / "l2g/data/demo/demo.hea"), "--available",
         "I,II", "--method", "linear", "--out", str(tmp_path), "--format", fmt, "--deidentify"],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    text = (tmp_path / ("demo.hea" if fmt == "wfdb" else "demo.csv")).read_text()
    assert "de-identified by L2G-ECG" in text
