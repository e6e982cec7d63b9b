"""The viewer's printable report (issue #25 item 1): settings beside a download button whose PDF is made on click.

The button's data is a callable (Streamlit's deferred download): the fixture below keeps what the page
registers, and the test calls it as Streamlit would on a click, then reads the page of the PDF.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from l2g.leads import LEADS
from l2g.record import Metadata
from l2g.report import PAPERS
from tests.ecg_factory import synthetic_record

from .app_helpers import upload, wfdb_files
from .pdf_reader import read_page


@pytest.fixture
def deferred(monkeypatch) -> dict[str, Callable[[], bytes]]:
    """``{file name: callable}`` of every download button whose data is made on click."""
    seen: dict[str, Callable[[], bytes]] = {}
    original = MediaFileManager.add_deferred

    def spy(self, data_callable, mimetype, coordinates, file_name=None, **kwargs):
        seen[file_name] = data_callable
        return original(self, data_callable, mimetype, coordinates, file_name, **kwargs)

    monkeypatch.setattr(MediaFileManager, "add_deferred", spy)
    return seen


def test_viewer_offers_the_printable_report(at: AppTest, deferred: dict[str, Callable[[], bytes]], tmp_path) -> None:
    rec = synthetic_record(duration_s=10.0, seed=6, name="rep1")
    meta = Metadata(age=58, sex="F", fields={"Patient ID": "MRN-5150"})  # a WFDB header keeps the field
    upload(at, wfdb_files(rec.replace(meta=meta), tmp_path, "rep1"))
    for lead in LEADS:  # three leads available, nine generated
        box = at.checkbox(key=f"lead_{lead}")
        box.check() if lead in ("I", "II", "V2") else box.uncheck()
    at.run()
    assert not at.exception
    button = next(b for b in at.get("download_button") if b.proto.label.startswith("Printable report"))
    assert button.proto.label == "Printable report (PDF, A4)"

    page = read_page(deferred["rep1_l2g_report.pdf"]())  # what a click downloads
    assert page.size_mm == pytest.approx(PAPERS["A4"], abs=0.5)
    assert page.info["Title"] == "L2G-ECG 12-lead report (de-identified)"  # the export default
    assert page.info["Producer"].startswith("L2G-ECG ")
    assert "MRN-5150" not in page.text and "rep1" not in page.text
    assert "V1 generated · grade" in page.text and "I" in page.texts

    at.selectbox(key="report_paper").set_value("Letter").run()
    at.selectbox(key="report_speed").set_value(50.0).run()
    at.checkbox(key="deidentify").uncheck().run()
    assert not at.exception
    page = read_page(deferred["rep1_l2g_report.pdf"]())
    assert page.size_mm == pytest.approx(PAPERS["Letter"], abs=0.5)
    assert "50 mm/s · 10 mm/mV" in page.text and "Patient ID: MRN-5150" in page.text
    assert page.info["Title"] == "L2G-ECG 12-lead report: rep1"
