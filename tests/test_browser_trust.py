"""The trust features of issue #14 in a real browser: confidence bands, grades, the ST warning and the lead check.

``streamlit run app.py`` driven by Playwright with Debian's Chromium (the fixtures of
tests/test_browser.py). A real test-split record (``../shared/data``, else the demo record
written here) is uploaded and drawn from five leads (narrow bands) and from one lead (wide
bands, low grades, the ST warning); the same record with the left and right arm electrodes
reversed (:func:`l2g.leadcheck.apply_fault`, written to a temporary WFDB record) is flagged
on open, above the chart. With ``L2G_WRITE_DOC_IMAGES=1`` the three pages are written to
``docs/img/trust_*.png`` (the screenshots of issue #14); otherwise to ``artifacts/browser/``.
"""

from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from l2g.demo import demo_record
from l2g.io import read_record, write_wfdb
from l2g.leadcheck import apply_fault, check_leads
from l2g.record import Record
from tests.conftest import shared_data_dir
from tests.test_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    GEN_LABEL,
    IDLE,
    MAIN_UPLOAD,
    REPO,
    _checkbox_label,
    _idle,
    _viewer_ready,
    browser,
    page,
    server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

#: A 10-s, 500-Hz record of the test split (splits/split.csv) whose LA/RA reversal check_leads flags.
REAL_RECORD = "ptbxl_cinc2024/02132_hr"
DOC_HEIGHT_PX = 1900  # a tall window: lead check, chart, ST warning and the agreement table at once
BAND = "90 % confidence band"
#: The first page of a fresh server imports torch and loads the generator: on a machine busy with the
#: rest of the suite that alone can take minutes, so this one wait has its own budget, not the page's.
MODEL_LOAD_MS = 600_000


def _record() -> Record:
    path = shared_data_dir() / f"{REAL_RECORD}.hea"
    if not path.exists():
        return demo_record()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return read_record(path).crop(0.0, 10.0)


def _upload(pg, rec: Record, directory: Path, name: str) -> None:
    hea = write_wfdb(rec, directory, name)
    pg.locator(MAIN_UPLOAD).set_input_files(
        [str(hea), str(hea.with_suffix(".dat"))])
    pg.get_by_text(f"upload “{name}.hea”, “{name}.dat”").first.wait_for()
    _idle(pg)


def _page_shot(pg, name: str) -> Path:
    """The whole page in a tall window: docs/img/ with L2G_WRITE_DOC_IMAGES=1, else artifacts/browser/."""
    out = (REPO / "docs" / "img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else ARTIFACTS) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    pg.set_viewport_size({"width": 1400, "height": DOC_HEIGHT_PX})
    pg.locator('[data-testid="stMain"]').evaluate("el => el.scrollTo(0, 0)")
    pg.wait_for_selector(IDLE)
    pg.screenshot(path=str(out), full_page=True)
    assert out.stat().st_size > 10_000
    return out


def _labels(pg) -> list[str]:
    return pg.locator(".js-plotly-plot .annotation-text").all_text_contents()


def _first_page(pg, url: str) -> None:
    """Open the app and wait until the demo is drawn with generated leads (the generator is loaded)."""
    pg.goto(url)
    pg.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for(timeout=MODEL_LOAD_MS)
    _viewer_ready(pg)  # and drawn at its final width: an upload is not raced by the width probe's rerun


def _untick(pg, lead: str) -> None:
    """Untick a recorded lead and wait until the chart draws *that* lead generated.

    The label is matched whole (``GEN_LABEL``): a substring wait for ``"I (gen · "`` was already
    met by ``"III (gen · A)"`` before the click took effect, so the next click landed in a rerun.
    """
    drawn = pg.locator(".js-plotly-plot .annotation-text").filter(has_text=GEN_LABEL(lead))
    assert drawn.count() == 0, f"{lead} is drawn generated before it is unticked"
    _checkbox_label(pg, lead).click()
    drawn.first.wait_for()
    _idle(pg)


def test_five_leads_then_one_lead(page, server, tmp_path) -> None:  # noqa: F811 - fixtures
    url, _, _ = server
    _first_page(page, url)
    _upload(page, _record(), tmp_path, "trust")

    # five leads (the default preset I, II, V1, V3, V5): narrow bands, the lead check passes
    page.locator(".js-plotly-plot .legendtext").filter(has_text=BAND).first.wait_for()
    page.get_by_text("Lead check: the 12 recorded leads agree").first.wait_for()
    assert any(t.startswith("V2 (gen · ") for t in _labels(page))
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0
    _page_shot(page, "trust_five_leads.png")

    # one lead (II): wide bands, low grades, the ST warning
    page.set_viewport_size({"width": 1400, "height": 900})
    for lead in ("I", "V1", "V3", "V5"):  # one at a time: each click is a rerun
        _untick(page, lead)
    page.get_by_text("Too uncertain for ST decisions").first.wait_for()
    grades = {t.split(" ")[0]: t.split("· ")[1].rstrip(")") for t in _labels(page) if "(gen · " in t}
    chest = [grades[f"V{i}"] for i in range(1, 7)]
    assert "A" not in chest and "C" in chest, grades  # the chest leads from Lead II alone: low grades
    _page_shot(page, "trust_one_lead.png")


def test_la_ra_reversal_is_flagged_on_open(page, server, tmp_path) -> None:  # noqa: F811 - fixtures
    bad = apply_fault(_record(), "LA/RA")
    assert check_leads(bad).attrs["faults"] == ["LA/RA"]  # the library flags it: the page must say so
    url, _, _ = server
    _first_page(page, url)
    _upload(page, bad, tmp_path, "lara")
    alert = page.locator('[data-testid="stAlertContentError"]').filter(has_text="Lead check")
    alert.first.wait_for()
    text = alert.first.inner_text()
    assert "LA/RA" in text and "left/right arm electrodes reversed" in text
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    assert alert.first.bounding_box()["y"] < chart.bounding_box()["y"]  # above the chart
    _page_shot(page, "trust_lara_reversed.png")


def test_trust_panel_from_lead_one(page, server) -> None:  # noqa: F811 - fixtures
    """Issue #22 item 7: from lead I alone the page says what the diagnostic evaluation found for that lead set
    (or that none applies to this generator), next to the chart; the screenshot is the issue's must-show when made
    with the evaluated generator (``L2G_WEIGHTS_DIR``) and ``L2G_WRITE_DOC_IMAGES=1``."""
    url, _, _ = server
    _first_page(page, url)
    for lead in ("II", "V1", "V3", "V5"):  # the default preset is I, II, V1, V3, V5
        _untick(page, lead)
    panel = page.locator('[data-testid="stAlert"]').filter(has_text="What the evaluation found for these leads")
    panel.first.wait_for()
    text = panel.first.inner_text()
    assert ("macro-AUC" in text) or ("No diagnostic evaluation" in text) or ("another generator" in text), text
    _page_shot(page, "trust_panel_lead_I.png")
