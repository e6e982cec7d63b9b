"""The Evaluation and Model pages in a real browser (Playwright + Debian's Chromium).

Every figure of the Evaluation page is drawn (three Plotly charts, no image that failed to load) and
both pages are short: the Evaluation page was 21,000 px of tables with three broken images, the Model
page 12,600 px of notes. Screenshots go to ``artifacts/browser/`` (git-ignored), or to ``docs/img/``
with ``L2G_WRITE_DOC_IMAGES=1`` (``docs/img/evaluation.png`` and ``docs/img/model_card.png``, shown in
docs/DASHBOARD.md).

Every wait is for an element or a state of the page, never for a fixed time.
"""

from __future__ import annotations

import os

import pytest

from tests.test_browser import ARTIFACTS, IDLE, REPO, _idle, browser, page, server  # noqa: F401 - fixtures

pytestmark = [pytest.mark.browser, pytest.mark.slow]

IMG = REPO / "docs" / "img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else ARTIFACTS
BROKEN_IMAGES = "Array.from(document.images).filter(i => i.complete && i.naturalWidth === 0).map(i => i.src)"
HEIGHT = "document.querySelector('[data-testid=\"stMain\"]').scrollHeight"


def _open(pg, url: str, title: str) -> None:
    pg.goto(url)
    # exact: before app.py's first run the sidebar lists pages/ by file name ("evaluation"), without the frame
    pg.get_by_role("link", name=title, exact=True).click()
    pg.get_by_role("heading", name=title).first.wait_for()
    _idle(pg)


def _shot(pg, name: str) -> None:
    """The whole page: Streamlit scrolls inside its own container, so the window is made as tall as it."""
    IMG.mkdir(parents=True, exist_ok=True)
    pg.set_viewport_size({"width": 1400, "height": pg.evaluate(HEIGHT) + 60})
    pg.wait_for_selector(IDLE)
    pg.screenshot(path=str(IMG / name), full_page=True)
    assert (IMG / name).stat().st_size > 10_000


def test_evaluation_page_draws_every_figure(page, server) -> None:  # noqa: F811 - fixtures
    url, _, _ = server
    _open(page, url, "Evaluation")
    plots = page.locator(".js-plotly-plot")
    plots.nth(2).wait_for()
    assert plots.count() == 3
    for i in range(3):  # each chart has drawn its data (boxes, heat-map cells)
        plots.nth(i).locator("g.trace, g.hm").first.wait_for()
    page.get_by_text("Does a generated lead keep the diagnosis?").wait_for()
    page.get_by_role("button", name="Full report").wait_for()
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.evaluate(HEIGHT) < 4000
    _shot(page, "evaluation.png")


def test_model_page_is_one_card(page, server) -> None:  # noqa: F811 - fixtures
    url, _, _ = server
    _open(page, url, "Model")
    page.get_by_text("What it is.").wait_for()
    page.get_by_text("Engineering detail").wait_for()
    page.get_by_text("Model card — Known limits").wait_for()
    page.wait_for_function("Array.from(document.images).every(i => i.complete)")
    assert page.evaluate(BROKEN_IMAGES) == []
    assert page.evaluate(HEIGHT) < 3500
    _shot(page, "model_card.png")
