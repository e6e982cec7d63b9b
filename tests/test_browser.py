"""End to end in a real browser: ``streamlit run app.py`` driven by Playwright with Debian's Chromium.

Upload a real record (LUDB record 1 from ``../shared/data`` when present, else one the
test writes), untick leads, check the generated traces in the Plotly DOM, turn on the
Lead-II delineation, download the WFDB zip, re-read it with ``wfdb.rdrecord`` and open it
again in the app. Screenshots go to ``artifacts/browser/`` (git-ignored).

Every wait is for an element or a state of the page, never for a fixed time.
Skipped, with the reason, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import numpy as np
import pytest

from l2g.io import read_record, write_wfdb
from tests.conftest import shared_data_dir
from tests.ecg_factory import synthetic_record

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

REPO = Path(__file__).resolve().parents[1]
ARTIFACTS = REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000  # per wait; generous for a busy CI machine
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'
GRADE = re.compile(r" · [ABC]\)$")  # the trust grade in a generated lead's label: "V2 (gen · B)"


def GEN_LABEL(lead: str) -> re.Pattern:  # noqa: N802 - reads like the constant it stands for
    """The chart label of a generated lead, with or without its trust grade."""
    return re.compile(rf"^{re.escape(lead)} \(gen( · [ABC])?\)$")

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium (`apt-get install chromium`)",
                allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").sync_playwright


from bench.concurrency import MAIN_UPLOAD, TRACE_DRAWN, free_port, wait_healthy  # noqa: E402 - after the skips


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """``streamlit run app.py`` on a free port; yields (url, seconds from process start to healthy, start time)."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "L2G_DATA_DIR"}
    log_path = tmp_path_factory.mktemp("streamlit") / "server.log"
    log = open(log_path, "wb")  # a file, not a pipe: a full pipe would block the server
    t0 = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port", str(port),
         "--browser.gatherUsageStats", "false"],
        cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        try:
            healthy_s = wait_healthy(proc, port, t0, timeout_s=120)
        except RuntimeError as exc:
            pytest.fail(f"{exc}: {log_path.read_text(errors='replace')[-2000:]}")
        yield f"http://localhost:{port}/", healthy_s, t0
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            proc.kill()
        log.close()


@pytest.fixture(scope="module")
def browser():
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, server):
    context = browser.new_context(viewport={"width": 1400, "height": 900}, accept_downloads=True)
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    context.close()


@pytest.fixture
def record_files(tmp_path) -> list[Path]:
    """LUDB record 1 (.hea + .dat) from the shared data, or a record written here."""
    ludb = shared_data_dir() / "ludb" / "data"
    if (ludb / "1.hea").exists() and (ludb / "1.dat").exists():
        return [ludb / "1.hea", ludb / "1.dat"]
    hea = write_wfdb(synthetic_record(duration_s=10.0, seed=11, name="1", age=51, sex="F"), tmp_path, "1")
    return [hea, hea.with_suffix(".dat")]


def _idle(page) -> None:
    page.wait_for_selector(IDLE)
    assert page.locator('[data-testid="stException"]').count() == 0, page.locator(
        '[data-testid="stException"]').first.inner_text()


# the chart is drawn at the width the browser measured (dashboard/chart.py: the first draw uses a default, the
# measured width then reruns the page); settled = the figure as wide as the main column, to its 20-px steps
CHART = '.st-key-ecg_chart:not([data-stale="true"])'  # the viewer's chart (not the one a rerun is replacing)
_CHART_SETTLED = """(chart) => {
  const gd = document.querySelector(chart + ' .js-plotly-plot');
  const main = document.querySelector('[data-testid="stMainBlockContainer"]');
  if (!gd || !gd._fullLayout || !main) return false;
  const cs = getComputedStyle(main);
  const column = main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight);
  return Math.abs(gd._fullLayout.width - column) <= 25;
}"""


def _viewer_ready(page) -> None:
    """The viewer's chart drawn at its final width and the app idle: an upload now is not raced by the rerun
    the chart's width probe causes on a fresh page."""
    page.locator(TRACE_DRAWN).first.wait_for()
    page.wait_for_function(_CHART_SETTLED, arg=CHART)
    _idle(page)


def _checkbox_label(page, name: str):
    return page.locator("label").filter(has=page.get_by_role("checkbox", name=name, exact=True))


def _shot(target, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / name
    target.screenshot(path=str(path))
    return path


def test_first_page_shows_the_demo_on_an_ecg_grid(page, server) -> None:
    url, healthy_s, t0 = server
    page.goto(url)
    _viewer_ready(page)
    first_chart_s = time.perf_counter() - t0
    page.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for()
    full_chart_s = time.perf_counter() - t0
    page.get_by_text("built-in demo record").first.wait_for()
    _idle(page)
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "recorded (input)" in legend and any(t.startswith("generated (") for t in legend)
    _shot(page, "01_demo_first_page.png")
    print(f"\nserver healthy {healthy_s:.2f} s, first chart {first_chart_s:.2f} s, chart with generated leads "
          f"{full_chart_s:.2f} s after `streamlit run` started")


def test_upload_untick_generate_and_export(page, server, record_files, tmp_path) -> None:
    url, _, _ = server
    page.goto(url)
    _viewer_ready(page)

    # upload the real record (.hea + .dat at once)
    page.locator(MAIN_UPLOAD).set_input_files([str(p) for p in record_files])
    page.get_by_text("upload “1.hea”, “1.dat”").first.wait_for()
    _idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0

    # untick II (V2, V4, V6 and the limb leads are generated by the default preset already)
    _checkbox_label(page, "II").click()
    page.locator(".js-plotly-plot .annotation-text").filter(has_text=GEN_LABEL("II")).first.wait_for()
    _idle(page)
    assert not page.get_by_role("checkbox", name="II", exact=True).is_checked()
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert "real (hidden from the generator)" in legend and any(t.startswith("generated (") for t in legend)
    labels = page.locator(".js-plotly-plot .annotation-text").all_text_contents()
    assert {"II (gen)", "V2 (gen)", "V4 (gen)", "V6 (gen)", "aVR (gen)"} <= {GRADE.sub(")", t) for t in labels}
    assert page.locator(".js-plotly-plot .scatterlayer .trace").count() > 20  # real + generated overlays
    _shot(page, "02_real_record_leads_unticked.png")

    # P/QRS/T on- and offsets on the Lead-II rhythm strip
    page.get_by_text("P/QRS/T on- and offsets on Lead II", exact=True).click()
    page.locator(".js-plotly-plot .legendtext", has_text="QRS on/offset").first.wait_for()
    _idle(page)
    chart = page.locator('[data-testid="stPlotlyChart"]').first
    chart.scroll_into_view_if_needed()
    _shot(chart, "03_generated_traces_on_the_grid.png")

    # agreement and Lead-II morphology tables
    section = page.locator('[data-testid="stHorizontalBlock"]').filter(has_text="Lead II morphology").last
    section.scroll_into_view_if_needed()
    page.get_by_text("HR (bpm)").first.wait_for(state="attached")
    tables = section.locator('[data-testid="stDataFrame"]')
    assert tables.count() == 2
    morph_html = tables.nth(1).inner_html()
    for row in ("HR (bpm)", "PR (ms)", "QRS (ms)", "QT (ms)", "QTc"):
        assert row in morph_html
    _shot(section, "04_agreement_and_morphology.png")

    # the whole-ECG measurements beside the cart's (issue #25 item 3): heading, table and caption in one picture
    heading = page.get_by_role("heading", name="Whole-ECG measurements")
    table = heading.locator("xpath=following::*[@data-testid='stDataFrame'][1]")
    table.scroll_into_view_if_needed()
    page.get_by_text("QTc Bazett").first.wait_for(state="attached")
    head = heading.bounding_box()
    box = table.bounding_box()
    top = head["y"] - 8
    clip = {"x": box["x"] - 8, "y": top, "width": box["width"] + 16, "height": box["y"] + box["height"] + 70 - top}
    out = (REPO / "docs" / "img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else ARTIFACTS) / "measurements.png"
    out.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(out), clip=clip)
    assert out.stat().st_size > 10_000

    # download the WFDB zip and re-read it with wfdb
    button = page.locator('[data-testid="stDownloadButton"]').filter(has_text="WFDB").locator("button")
    button.scroll_into_view_if_needed()
    with page.expect_download() as info:
        button.click()
    zpath = tmp_path / info.value.suggested_filename
    info.value.save_as(zpath)
    assert zpath.name == "1_l2g.zip"
    with zipfile.ZipFile(zpath) as zf:
        zf.extractall(tmp_path / "unzipped")
    import wfdb

    back = wfdb.rdrecord(str(tmp_path / "unzipped" / "1"))
    assert back.fs == 500 and back.sig_len == 5000 and len(back.sig_name) == 12
    comments = " ".join(back.comments)
    assert "L2G" in comments and "generated" in comments
    original = read_record(record_files[0])
    for k, name in enumerate(back.sig_name):
        if name in ("I", "V1", "V3", "V5"):  # recorded leads travel unchanged (within WFDB quantisation)
            assert np.max(np.abs(back.p_signal[:, k] - original.lead(name))) < 2e-3
    reread = read_record(zpath)
    assert set(reread.generated_leads) == {"II", "III", "aVR", "aVL", "aVF", "V2", "V4", "V6"}

    # open the exported zip in the app again: generated leads stay marked as generated
    for path in record_files:
        page.get_by_role("button", name=f"Remove {path.name}").click()
        page.get_by_role("button", name=f"Remove {path.name}").wait_for(state="detached")
        _idle(page)
    assert page.locator('[data-testid="stAlertContentError"]').count() == 0  # removing files reads nothing
    page.locator(MAIN_UPLOAD).set_input_files(str(zpath))
    page.get_by_text("upload “1_l2g.zip”").first.wait_for()
    _idle(page)
    page.get_by_text("generated in the file: II, III, aVR, aVL, aVF, V2, V4, V6").first.wait_for()
    assert page.get_by_role("checkbox", name="V2 (gen)", exact=True).is_disabled()
    page.locator('[data-testid="stMain"]').evaluate("el => el.scrollTo(0, 0)")
    _shot(page, "05_exported_zip_reopened.png")


def test_bad_upload_shows_one_error_and_keeps_the_record(page, server, tmp_path) -> None:
    url, _, _ = server
    page.goto(url)
    _viewer_ready(page)
    bad = tmp_path / "notes.csv"
    bad.write_text("patient,comment\nA,fine\n")
    page.locator(MAIN_UPLOAD).set_input_files(str(bad))
    page.locator('[data-testid="stAlertContentError"]').first.wait_for()
    _idle(page)
    errors = page.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 1 and "notes.csv" in errors.first.inner_text()
    assert page.get_by_text("built-in demo record").count() >= 1
    assert page.locator('[data-testid="stException"]').count() == 0
    _shot(page, "06_bad_upload_error.png")
