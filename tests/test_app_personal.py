"""The viewer's personalised mode (issue #23): an earlier ECG of the patient beside the record (AppTest)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import pydicom
from streamlit.testing.v1 import AppTest

from l2g.io import write_dicom

from .app_helpers import upload, wfdb_files
from .ecg_factory import synthetic_record


def _upload_prior(at: AppTest, files) -> AppTest:
    at.file_uploader(key="prior_upload").set_value(files)
    at.run()
    assert not at.exception, at.exception
    return at


def test_earlier_ecg_personalises_the_chart_and_every_export(at: AppTest, downloads: dict[str, bytes],
                                                             tmp_path: Path) -> None:
    upload(at, wfdb_files(synthetic_record(10.0, seed=3, name="today"), tmp_path, "today"))
    earlier = write_dicom(synthetic_record(10.0, seed=3, name="Jane Doe", acquired="2024-03-02T09:14:00"),
                          tmp_path / "earlier.dcm")
    _upload_prior(at, [("earlier.dcm", earlier.read_bytes(), "application/dicom")])
    mode = [i.value for i in at.info if i.value.startswith("**Personalised mode:**")]
    # the default leads (I, II, V1, V3, V5) are a calibrated subset: the band and grades of the personalised mode
    assert len(mode) == 1 and "Band and trust grades are those calibrated for this mode" in mode[0]
    assert "No confidence band" not in mode[0]
    table = at.dataframe[0].value
    assert list(table.columns)[:2] == ["Grade", "Predicted RMSE (µV)"] and table["Grade"].notna().all()
    assert any(t.get("fill") == "toself" for t in _chart(at)["data"])  # the band
    found = [i.value for i in at.info if i.value.startswith("**What the evaluation found")]
    assert len(found) == 1 and "Measured on the generic reconstruction, without an earlier ECG" in found[0]
    chart = at.get("plotly_chart")[0].proto.spec
    assert "Personalised mode: corrected on the earlier ECG of this patient acquired 2024-03-02" in chart
    assert "earlier ECG of this patient" in chart  # the faded earlier tracing's legend entry
    marked = "personalised mode: generated leads corrected on the earlier ECG of this patient acquired 2024-03-02"
    hea = zipfile.ZipFile(io.BytesIO(downloads["today_l2g.zip"])).read("today.hea").decode()
    assert marked in hea and "Jane" not in hea
    assert marked in downloads["today_l2g.csv"].decode()
    ds = pydicom.dcmread(io.BytesIO(downloads["today_l2g.dcm"]))
    texts = " ".join(str(a.UnformattedTextValue) for a in ds.WaveformAnnotationSequence
                     if "UnformattedTextValue" in a)
    assert marked in texts and "Jane" not in str(ds.PatientName)


def test_a_subset_without_a_personalised_calibration_says_why(at: AppTest, tmp_path: Path) -> None:
    upload(at, wfdb_files(synthetic_record(10.0, seed=3, name="today"), tmp_path, "today"))
    for lead in ("I", "II", "V3", "V5"):  # V1 alone: not a subset the personalised band was calibrated on
        at.checkbox(key=f"lead_{lead}").uncheck().run()
    assert not at.exception, at.exception
    earlier = write_dicom(synthetic_record(10.0, seed=3, name="e", acquired="2024-03-02T09:14:00"),
                          tmp_path / "earlier.dcm")
    _upload_prior(at, [("earlier.dcm", earlier.read_bytes(), "application/dicom")])
    mode = [i.value for i in at.info if i.value.startswith("**Personalised mode:**")]
    assert len(mode) == 1 and "No confidence band or trust grade" in mode[0] and "no personalised band" in mode[0]
    assert "Grade" not in at.dataframe[0].value.columns


def _chart(at: AppTest) -> dict:
    import json

    return json.loads(at.get("plotly_chart")[0].proto.spec)


def test_an_earlier_ecg_of_another_patient_stays_generic_with_the_reason(at: AppTest, tmp_path: Path) -> None:
    upload(at, wfdb_files(synthetic_record(10.0, seed=4, name="today"), tmp_path, "today"))
    other = synthetic_record(10.0, seed=9, name="other")
    stranger = write_dicom(other.replace(signal=-other.signal), tmp_path / "other.dcm")
    _upload_prior(at, [("other.dcm", stranger.read_bytes(), "application/dicom")])
    assert any(w.value.startswith("**Generic mode:** earlier ECG not used") for w in at.warning)
    assert not any(i.value.startswith("**Personalised mode:**") for i in at.info)


def test_an_earlier_ecg_without_12_leads_is_refused(at: AppTest, tmp_path: Path) -> None:
    upload(at, wfdb_files(synthetic_record(10.0, seed=5, name="today"), tmp_path, "today"))
    three = synthetic_record(10.0, seed=5, name="three").select(["I", "II", "V1"])
    _upload_prior(at, wfdb_files(three, tmp_path, "three"))
    assert any("Could not use the earlier ECG" in e.value and "12 leads" in e.value for e in at.error)
