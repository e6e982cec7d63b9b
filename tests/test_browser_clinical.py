"""Every cart/PACS file of ``../shared/clinical`` opens in a real browser and gets leads generated.

``streamlit run app.py`` driven by Playwright with Debian's Chromium (the fixtures of
tests/test_browser.py): upload the file as a clinician would, check the summary (format, device,
the cart's own measurements), untick two ticked recorded leads and wait for them to be drawn as generated.
The DICOM and GE MUSE pages are also written to ``docs/img/`` as the screenshots of issue #13 when
``L2G_WRITE_DOC_IMAGES=1``; otherwise every screenshot goes to ``artifacts/browser/`` (git-ignored).

Skipped, with the reason, without Chromium/Playwright or without ``../shared/clinical``.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.test_browser import (  # noqa: F401 - fixtures
    GEN_LABEL,
    GRADE,
    IDLE,
    MAIN_UPLOAD,
    REPO,
    _checkbox_label,
    _idle,
    _shot,
    _viewer_ready,
    browser,
    page,
    server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

CLINICAL = REPO.parent / "shared" / "clinical"
# file, lead ticks to remove, what the summary must show
FILES = {
    "dicom": ("dicom/waveform_ecg.dcm", ["II", "V3"], "DICOM"),
    "muse": ("ge_muse_xml/muse_ecg_deidentified_1.xml", ["II", "V3"], "MUSE"),
    "aecg": ("hl7_aecg/Example.xml", ["II", "V3"], "aECG"),
    "philips": ("philips_xml/129DYPRG.XML", ["II"], "Philips"),
    "cardiosoft": ("ge_cardiosoft_xml/ukbb_scrubbed.xml", ["II", "V3"], "CardioSoft"),
    "scp": ("scp_ecg/Example.scp", ["II", "V3"], "SCP"),
    "ishne": ("ishne/ECG_P28.01.ecg", ["II", "V3"], "ISHNE"),
}
DOC_IMAGES = {"dicom": "clinical_dicom.png", "muse": "clinical_muse.png"}
DOC_IMAGE_HEIGHT_PX = 2150


@pytest.mark.parametrize("kind", list(FILES))
def test_cart_file_opens_and_leads_are_generated(page, server, kind) -> None:  # noqa: F811 - fixtures
    rel, untick, fmt = FILES[kind]
    path = CLINICAL / rel
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    url, _, _ = server
    page.goto(url)
    _viewer_ready(page)
    page.locator(MAIN_UPLOAD).set_input_files([str(path)])
    page.get_by_text(f"upload “{path.name}”").first.wait_for()
    _idle(page)
    # read without error (the lead check may flag the recording itself: ukbb_scrubbed.xml looks LA/RA-reversed)
    errors = page.locator('[data-testid="stAlertContentError"]').filter(has_not_text="Lead check")
    assert errors.count() == 0, errors.first.inner_text()
    summary = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text=f"upload “{path.name}”").first
    text = summary.inner_text()
    assert fmt.lower() in text.lower()
    if kind == "dicom":  # the cart's device and its own measurements
        assert "Mortara Instrument, Inc. el250" in text and "QT/QTc 368/370 ms" in text, text
    for lead in untick:  # leads of the default preset (I, II, V1, V3, V5), so ticked now and recorded
        assert page.get_by_role("checkbox", name=lead, exact=True).is_checked(), lead
        assert not [t for t in page.locator(".js-plotly-plot .annotation-text").all_text_contents()
                    if GEN_LABEL(lead).match(t)]
        _checkbox_label(page, lead).click()
        page.locator(".js-plotly-plot .annotation-text").filter(
            has_text=GEN_LABEL(lead)).first.wait_for()
        _idle(page)
    labels = {GRADE.sub(")", t) for t in page.locator(".js-plotly-plot .annotation-text").all_text_contents()}
    assert {f"{lead} (gen)" for lead in untick} <= labels
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "real (hidden from the generator)" in legend and any(t.startswith("generated (") for t in legend)
    page.wait_for_selector(IDLE)
    _shot(page, f"clinical_{kind}.png")
    if kind in DOC_IMAGES and os.environ.get("L2G_WRITE_DOC_IMAGES") == "1":
        out = REPO / "docs" / "img" / DOC_IMAGES[kind]
        out.parent.mkdir(parents=True, exist_ok=True)
        # Streamlit scrolls inside its own container (full_page sees one window): a tall window shows
        # the summary, the chart, the morphology table with its cart column and the exports at once
        page.set_viewport_size({"width": 1400, "height": DOC_IMAGE_HEIGHT_PX})
        page.get_by_text("De-identify exports").first.wait_for()
        page.wait_for_selector(IDLE)
        page.screenshot(path=str(out), full_page=True)
        assert Path(out).stat().st_size > 10_000


def test_two_cart_files_uploaded_one_after_the_other(page, server) -> None:  # noqa: F811 - fixtures
    """Issue #24: the uploader keeps the first file; the second pick must open the second file, not fail.

    And the Philips file's ">>> Acute MI <<<" is on the first screen, open, above the chart.
    """
    first, second = CLINICAL / FILES["dicom"][0], CLINICAL / FILES["philips"][0]
    if not (first.is_file() and second.is_file()):
        pytest.skip(f"{CLINICAL} not found: real cart files are read from ../shared/clinical")
    url, _, _ = server
    page.goto(url)
    _viewer_ready(page)
    uploader = page.locator(MAIN_UPLOAD)
    for path, fmt in ((first, "dicom"), (second, "philips")):
        uploader.set_input_files([str(path)])
        summary = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text=f"upload “{path.name}”")
        errors = page.locator('[data-testid="stAlertContentError"]').filter(has_not_text="Lead check")
        summary.first.or_(errors.first).wait_for()  # the new record's summary, or the refusal
        _idle(page)
        assert errors.count() == 0, errors.first.inner_text()
        text = summary.first.inner_text()
        assert path.stem in text.splitlines()[0] and fmt in text, text  # the title line names the file
    # both files are listed in the uploader; the second one is the record shown
    names = page.locator('[data-testid="stFileChipName"]').all_text_contents()
    assert first.name in names and second.name in names, names
    # the cart's own "Acute MI", open without a click, in the first screen, above the chart (issue #24 item 7)
    page.locator('[data-testid="stMain"]').evaluate("el => el.scrollTo(0, 0)")
    acute = page.locator(".st-key-cart_interpretation li").filter(has_text=">>> Acute MI <<<").first
    assert acute.is_visible()
    box, chart = acute.bounding_box(), page.locator('[data-testid="stPlotlyChart"]').first.bounding_box()
    assert box["y"] + box["height"] <= 900 and box["y"] < chart["y"], (box, chart)
    panel = page.locator(".st-key-cart_interpretation").first.inner_text()
    assert "originally recorded leads" in panel and panel.index("Acute MI") < panel.index("Sinus bradycardia")
    _shot(page, "clinical_two_uploads.png")
