"""The personalised mode of issue #23 in a real browser: the earlier ECG uploaded beside the record.

``streamlit run app.py`` driven by Playwright with Debian's Chromium (the fixtures of
tests/test_browser.py). A real same-patient pair of PTB-XL fold 10 (patient 390: ECG 15001 of
1995-09-15, ECG 16975 of 1996-09-30; ``../scratch/ptbxl/Data/records100``, 100 Hz) is opened: the
later ECG as the record, from the default leads I, II, V1, V3, V5; the earlier one, written as
DICOM at 500 Hz with its recording date, as the earlier ECG. Without the PTB-XL files, two
synthetic recordings of one heart stand in.
With ``L2G_WRITE_DOC_IMAGES=1`` the page is written to ``docs/img/personal_earlier_ecg.png``;
otherwise to ``artifacts/browser/``.
"""

from __future__ import annotations

import dataclasses

import pytest

from l2g.io import read_record, write_dicom, write_wfdb
from l2g.preprocess import resample
from l2g.record import Record
from tests.ecg_factory import synthetic_record
from tests.test_browser import REPO, _idle
from tests.test_browser_trust import _first_page, _page_shot, browser, page, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

RECORDS100 = REPO.parent / "scratch" / "ptbxl" / "Data" / "records100"
LATER, EARLIER = ("16000/16975_lr", "1996-09-30"), ("15000/15001_lr", "1995-09-15")


def _pair() -> tuple[Record, Record]:
    """(the later record, the earlier one with its acquisition date)."""
    if (RECORDS100 / f"{LATER[0]}.hea").exists() and (RECORDS100 / f"{EARLIER[0]}.hea").exists():
        later = read_record(RECORDS100 / f"{LATER[0]}.hea")
        earlier = read_record(RECORDS100 / f"{EARLIER[0]}.hea")
    else:
        later, earlier = synthetic_record(10.0, seed=3, name="later"), synthetic_record(10.0, seed=3, name="earlier")
    earlier = earlier.replace(meta=dataclasses.replace(earlier.meta, acquired=f"{EARLIER[1]}T10:00:00"))
    return later.replace(name="later"), earlier


def test_earlier_ecg_drawn_faded_and_personalised(page, server, tmp_path) -> None:  # noqa: F811 - fixtures
    later, earlier = _pair()
    url, _, _ = server
    _first_page(page, url)
    hea = write_wfdb(later, tmp_path, "later")
    uploaders = page.locator('[data-testid="stFileUploader"] input[type=file]')
    uploaders.nth(0).set_input_files([str(hea), str(hea.with_suffix(".dat"))])
    page.get_by_text("upload “later.hea”, “later.dat”").first.wait_for()
    _idle(page)
    dcm = write_dicom(resample(earlier, 500.0), tmp_path / "earlier.dcm")  # DICOM keeps the date
    uploaders.nth(1).set_input_files([str(dcm)])
    page.get_by_text("Personalised mode:").first.wait_for()
    _idle(page)
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "earlier ECG of this patient" in legend
    title = page.locator(".js-plotly-plot .gtitle").all_text_contents()
    assert any(f"earlier ECG of this patient acquired {EARLIER[1]}" in t for t in title), title
    _page_shot(page, "personal_earlier_ecg.png")
