"""The reader study in a real browser (Playwright + Debian's Chromium): two readers answer at once in two
browser contexts with the keyboard shortcuts; the server is killed mid-study and restarted, and every
committed answer is still there; the chart data of a trial with the generated trace left and one with it
right differ only in sample values. Screenshots of every page go to artifacts/browser/study_*.png
(git-ignored), or to docs/img/ with ``L2G_WRITE_DOC_IMAGES=1`` (the images docs/STUDY.md shows).

Every wait is for an element or a state of the page, never for a fixed time.
Skipped, with the reason, when /usr/bin/chromium or Playwright is missing.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from l2g.study.store import add_reader, answers_frame, get_study, open_db
from tests.test_study import make_data, make_study

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

REPO = Path(__file__).resolve().parents[1]
IMG = REPO / "docs" / "img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else REPO / "artifacts" / "browser"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run"]
TIMEOUT_MS = 120_000  # per wait; generous for a busy CI machine (the analysis page once took > 60 s in a fresh clone)
IDLE = '[data-testid="stApp"][data-test-script-state="notRunning"]'

if not CHROMIUM.exists():
    pytest.skip(f"{CHROMIUM} not found: the browser tests need Debian's chromium (`apt-get install chromium`)",
                allow_module_level=True)
sync_playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed").sync_playwright

from bench.concurrency import free_port, wait_healthy  # noqa: E402 - after the skips


class Server:
    """``streamlit run app.py`` with ``L2G_STUDY_DB`` set; :meth:`kill` is SIGKILL (no clean shutdown)."""

    def __init__(self, db: Path, log: Path):
        self.db, self.log_path, self.port = db, log, free_port()
        self.proc: subprocess.Popen | None = None

    def start(self) -> str:
        env = {k: v for k, v in os.environ.items() if k != "L2G_DATA_DIR"}
        env["L2G_STUDY_DB"] = str(self.db)
        self.log = open(self.log_path, "ab")
        t0 = time.perf_counter()
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
             str(self.port), "--browser.gatherUsageStats", "false"], cwd=REPO, env=env, stdout=self.log,
            stderr=subprocess.STDOUT)
        wait_healthy(self.proc, self.port, t0, timeout_s=120)
        return f"http://localhost:{self.port}/"

    def kill(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(timeout=30)
        self.log.close()


def _idle(page) -> None:
    page.wait_for_selector(IDLE)
    assert page.locator('[data-testid="stException"]').count() == 0


def _open(page, url: str, title: str) -> None:
    page.goto(url)
    page.get_by_role("link", name=title).first.click()
    page.get_by_role("heading", name=title).first.wait_for()
    _idle(page)


def _sign_in(page, url: str, code: str) -> None:
    _open(page, url, "Reader study")
    page.get_by_label("Reader code").fill(code)
    page.get_by_role("button", name="Start").click()
    page.get_by_text(f"Reader {code}").first.wait_for()
    _idle(page)


def _position(page) -> tuple[int, int] | None:
    text = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="trial").first.inner_text()
    if "of" not in text:
        return None
    a, b = text.split("trial")[1].split("of")
    return int(a), int(b)


def _answer(page) -> str:
    """Answer the trial on screen with the keyboard; wait for the next one. Returns the kind."""
    before = page.locator('[data-testid="stMarkdownContainer"]').filter(has_text="trial").first.inner_text()
    body = page.locator('[data-testid="stMain"]').inner_text()
    page.locator(".js-plotly-plot").first.wait_for()
    page.get_by_role("heading", name="Reader study").first.click()  # focus the page, not an input
    if "Which one is generated" in body:
        page.keyboard.press("4")
        _idle(page)
        page.keyboard.press("b")
        kind = "pick"
    elif "Mark the leads" in body:
        page.get_by_role("button", name="V2", exact=True).click()
        _idle(page)
        page.get_by_role("button", name="Submit").click()
        kind = "real_or_generated"
    else:
        page.keyboard.press("f")
        kind = "diagnosis"
    page.wait_for_function("([sel, old]) => { const e = [...document.querySelectorAll(sel)]"
                           ".find(x => x.innerText.includes('trial') || x.innerText.includes('all trials'));"
                           " return e && e.innerText !== old; }",
                           arg=['[data-testid="stMarkdownContainer"], [data-testid="stAlertContentSuccess"]',
                                before])
    _idle(page)
    return kind


def _chart_skeleton(page) -> tuple[dict, str]:
    """The trial chart's Plotly data and layout without the sample values, and the page's HTML."""
    fig = page.evaluate("() => { const d = document.querySelector('.js-plotly-plot');"
                        " return JSON.stringify({data: d.data, layout: d.layout}); }")
    fig = json.loads(fig)
    for tr in fig["data"]:
        if tr.get("name") in ("A", "B"):
            tr.pop("y", None)
            tr.pop("customdata", None)
    fig["layout"].pop("height", None)
    return fig, page.locator('[data-testid="stMain"]').inner_html()


def test_two_readers_kill_restart_blinding_screenshots(tmp_path):
    data = make_data(tmp_path / "data", n=3)
    db = tmp_path / "study.db"
    engine, study = make_study(db, data, trials=4, name="demo")
    add_reader(engine, study, "R1")
    add_reader(engine, study, "R2")
    engine.dispose()
    IMG.mkdir(parents=True, exist_ok=True)
    server = Server(db, tmp_path / "server.log")
    url = server.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
            ctx = [browser.new_context(viewport={"width": 1400, "height": 1000}) for _ in range(2)]
            pages = [c.new_page() for c in ctx]
            for pg in pages:
                pg.set_default_timeout(TIMEOUT_MS)
            for pg, code in zip(pages, ("R1", "R2"), strict=True):
                _sign_in(pg, url, code)
            # both readers answer in turn, each in their own context (the server serves both sessions at once)
            shots: dict[str, bool] = {}
            picks: list[tuple[dict, str]] = []
            for _ in range(5):
                for pg in pages:
                    body = pg.locator('[data-testid="stMain"]').inner_text()
                    kind = ("pick" if "Which one is generated" in body else
                            "real_or_generated" if "Mark the leads" in body else "diagnosis")
                    if kind == "pick" and pg is pages[0]:
                        picks.append(_chart_skeleton(pg))
                    if not shots.get(kind):
                        pg.screenshot(path=str(IMG / f"study_trial_{kind}.png"), full_page=True)
                        shots[kind] = True
                    _answer(pg)
            engine = open_db(db)
            before = answers_frame(engine, get_study(engine, "demo"))
            engine.dispose()
            assert len(before) == 10 and set(before["reader"]) == {"R1", "R2"}
            server.kill()  # mid-study, no clean shutdown
            url = server.start()
            for pg, code in zip(pages, ("R1", "R2"), strict=True):
                _sign_in(pg, url, code)
                assert _position(pg)[0] == 6  # resumes after the five committed answers
            engine = open_db(db)
            after = answers_frame(engine, get_study(engine, "demo"))
            cols = ["reader", "trial", "answer", "seconds"]
            assert after[cols].equals(before[cols]), "a committed answer was lost or changed"
            # finish R1 and R2; each trial once
            for pg in pages:
                while "all trials answered" not in pg.locator('[data-testid="stMain"]').inner_text():
                    body = pg.locator('[data-testid="stMain"]').inner_text()
                    if "Which one is generated" in body and pg is pages[0]:
                        picks.append(_chart_skeleton(pg))
                    _answer(pg)
            final = answers_frame(engine, get_study(engine, "demo"))
            total = int(final.groupby("reader").size().iloc[0])
            assert final.groupby("reader").size().tolist() == [total, total]
            assert not final.duplicated(["reader", "trial"]).any()
            # blinding: a pick trial with the generated trace as A and one with it as B look the same but for values
            r1 = final[(final["reader"] == "R1") & (final["kind"] == "pick")].sort_values("answered_at")
            sides = r1["truth"].map(lambda t: json.loads(t)["generated"]).tolist()
            assert len(picks) == len(sides) and {"A", "B"} <= set(sides)
            left, right = picks[sides.index("A")], picks[sides.index("B")]
            assert left[0] == right[0]
            for html in (left[1], right[1]):
                for word in ("generated (", "recorded (", "real (", "#1d4ed8", "(gen)"):
                    assert word not in html
            # screenshots of the coordinator's set-up and the analysis of this finished study
            setup = browser.new_context(viewport={"width": 1400, "height": 1000}).new_page()
            setup.set_default_timeout(TIMEOUT_MS)
            _open(setup, url, "Study set-up")
            setup.get_by_label("Study name").wait_for()  # the form, not its loading placeholders
            setup.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
            setup.wait_for_selector(IDLE)
            setup.screenshot(path=str(IMG / "study_setup.png"), full_page=True)
            _open(setup, url, "Study analysis")
            setup.locator(".js-plotly-plot").first.wait_for()
            setup.locator('[data-testid="stDataFrame"] canvas').first.wait_for()
            setup.wait_for_selector(IDLE)
            setup.screenshot(path=str(IMG / "study_analysis.png"), full_page=True)
            browser.close()
    finally:
        server.kill()
