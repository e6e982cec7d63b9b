"""The viewer's whole-ECG measurements beside the cart's (issue #25 item 3): one table, "—", never "None"."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from tests.ecg_factory import vector_record

from .app_helpers import upload, wfdb_files

CLINICAL = Path(__file__).resolve().parents[1].parent / "shared" / "clinical"


def measurements(app: AppTest) -> pd.DataFrame:
    """The whole-ECG table on the page (the one whose rows name the QRS axis)."""
    tables = [d.value for d in app.dataframe if "QRS axis (°)" in getattr(d.value, "index", [])]
    assert len(tables) == 1, "expected one whole-ECG measurements table"
    return tables[0]


def assert_no_none(table: pd.DataFrame) -> None:
    text = table.to_string()
    assert not table.isna().any().any() and "None" not in text and "nan" not in text


def test_viewer_shows_the_whole_ecg_table_beside_the_cart(at: AppTest) -> None:
    path = CLINICAL / "dicom" / "waveform_ecg.dcm"
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    upload(at, (path.name, path.read_bytes(), "application/dicom"))
    table = measurements(at)
    assert list(table.columns) == ["L2G-ECG", "Cart", "From"]
    assert_no_none(table)
    # the cart's own values (HR 61, PR 161, QRS 75, QT/QTc 368/370, axes 74/52/57) on our rows
    assert table.loc["QRS (ms)", "Cart"] == "75" and table.loc["PR (ms)", "Cart"] == "161"
    assert table.loc["QTc Bazett (ms)", "Cart"] == "370" and table.loc["QTc Fridericia (ms)", "Cart"] == "—"
    assert [table.loc[f"{w} axis (°)", "Cart"] for w in ("P", "QRS", "T")] == ["74", "52", "57"]
    assert table.loc["ST J+60 ms V2 (mV)", "Cart"] == "—"
    ours = float(table.loc["QRS (ms)", "L2G-ECG"].split()[0])
    assert abs(ours - 75) <= 30, ours  # our global QRS near the cart's
    assert table.loc["QTc Fridericia (ms)", "From"].startswith("global, ")
    assert any("Fridericia" in c.value and "CSE" in c.value for c in at.caption)


def test_viewer_measures_the_vector_ecg(at: AppTest, tmp_path) -> None:
    upload(at, wfdb_files(vector_record().replace(name="meas1"), tmp_path, "meas1"))
    table = measurements(at)
    assert_no_none(table)
    assert 25 <= float(table.loc["QRS axis (°)", "L2G-ECG"]) <= 35  # the vector ECG's axis is 30 degrees
    assert (table["Cart"] == "—").all()  # no cart measurements in this file


def test_generated_lead_has_its_band_and_unticked_limb_leads_no_axis(at: AppTest, tmp_path) -> None:
    rec = vector_record(seed=2).replace(name="meas2")
    upload(at, wfdb_files(rec, tmp_path, "meas2"))
    for lead in ("I", "II", "III", "aVR", "aVL", "V1"):
        at.checkbox(key=f"lead_{lead}").uncheck()
    for lead in ("aVF", "V2", "V5"):
        at.checkbox(key=f"lead_{lead}").check()
    at.run()
    assert not at.exception, at.exception
    table = measurements(at)
    assert_no_none(table)
    assert table.loc["ST J+60 ms V1 (mV)", "From"] == "generated"
    banded = not any("No confidence band" in i.value for i in at.info)
    assert ("±" in table.loc["ST J+60 ms V1 (mV)", "L2G-ECG"]) == banded
    assert table.loc["QRS axis (°)", "L2G-ECG"] == "—"  # one recorded limb lead (aVF): no axis
    assert table.loc["ST J+60 ms V2 (mV)", "From"] == "recorded" and "±" not in table.loc["ST J+60 ms V2 (mV)",
                                                                                           "L2G-ECG"]
