"""The chart of issue #25 item 2 in a real browser: page width, speed and gain, calipers.

``streamlit run app.py`` driven by Playwright with Debian's Chromium (the fixtures of
tests/test_browser.py), as a new user would see it: a 1600×1000 window, then 1100×1000.
Checked in the page itself (Plotly's own axes): the chart fills the main column and
scales with the window, keeps 1 mm as many pixels across as up, draws traces at least
1.5 px wide; 20 mm/mV is labelled on the grid; two clicks on the Lead-II rhythm strip
read the interval, rate and voltage difference, marched along every row.

With ``L2G_WRITE_DOC_IMAGES=1`` the screenshots go to ``docs/img/chart_*.png``; otherwise
to ``artifacts/browser/``. Every wait is for an element or a state of the page.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from tests.test_browser import (  # noqa: F401 - fixtures
    ARTIFACTS,
    CHART,
    REPO,
    TIMEOUT_MS,
    _idle,
    browser,
    server,
)

pytestmark = [pytest.mark.browser, pytest.mark.slow]  # a Streamlit server and Chromium per test

MODEL_LOAD_MS = 600_000  # the first page of a fresh server loads torch and the generator
# Plotly's axes of the ECG chart: plot-area size and position, ranges, and the main column's width
_GEOMETRY = """(chart) => {
  const gd = document.querySelector(chart + ' .js-plotly-plot');
  if (!gd || !gd._fullLayout || !gd._fullLayout.xaxis) return null;  // between two reruns
  const xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const main = document.querySelector('[data-testid="stMainBlockContainer"]') ||
               document.querySelector('[data-testid="stMain"]');
  const cs = getComputedStyle(main);
  const fl = gd._fullLayout;
  return {x_px: xa._length, y_px: ya._length, x_range: xa.range, y_range: ya.range,
          x_dtick: xa.minor.dtick, y_dtick: ya.minor.dtick, figure_px: fl.width,
          x_room: fl._size.w, y_room: fl._size.h,  // the plot area left by the margins, the legend's included
          column_px: main.clientWidth - parseFloat(cs.paddingLeft) - parseFloat(cs.paddingRight),
          widths: Array.from(gd.querySelectorAll('.scatterlayer .trace path.js-line'))
                      .map(p => parseFloat(getComputedStyle(p).strokeWidth))};
}"""
# the rhythm strip's Lead-II click targets (the longest Lead-II marker trace) and a point's time and screen position
_STRIP_II = """
  const gd = document.querySelector(chart + ' .js-plotly-plot');
  const k = gd.data.map((t, i) => [t, i]).filter(([t]) => t.mode === 'markers' && t.meta === 'II')
              .sort((a, b) => gd.calcdata[b[1]].length - gd.calcdata[a[1]].length)[0][1];
  const cd = gd.calcdata[k], xa = gd._fullLayout.xaxis, ya = gd._fullLayout.yaxis;
  const box = gd.querySelector('.main-svg').getBoundingClientRect();
  const screen = p => ({t: p.x, x: box.left + xa._offset + xa.l2p(p.x), y: box.top + ya._offset + ya.l2p(p.y)});
"""
# the next R peak after time t0 on the rhythm strip (its time and screen position): the first target after
# t0 + 0.45 s (past the T wave) at least 55 % as high over the row's median as the strip's highest point, then
# up to its top
_NEXT_PEAK = "([chart, t0]) => {" + _STRIP_II + """
  const ys = cd.map(p => p.y).sort((a, b) => a - b), base = ys[Math.floor(ys.length / 2)];
  const top = ys[ys.length - 1] - base;
  let i = cd.findIndex(p => p.x > t0 + 0.45 && p.y - base >= 0.55 * top);
  while (i + 1 < cd.length && cd[i + 1].y >= cd[i].y) i += 1;
  return screen(cd[i]);
}"""
# the R peak nearest each time (s) on the rhythm strip: the highest target within 0.25 s of it
_TARGETS = "([chart, times]) => {" + _STRIP_II + """
  return times.map(t => screen(cd.filter(p => Math.abs(p.x - t) < 0.25).reduce((a, b) => (b.y > a.y ? b : a))));
}"""


@pytest.fixture
def page(browser, server):  # noqa: F811 - the fixtures imported above
    context = browser.new_context(viewport={"width": 1600, "height": 1000})
    pg = context.new_page()
    pg.set_default_timeout(TIMEOUT_MS)
    yield pg
    context.close()


def _shot(pg, name: str) -> Path:
    """The chart area: docs/img/ with L2G_WRITE_DOC_IMAGES=1, else artifacts/browser/."""
    out = (REPO / "docs" / "img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else ARTIFACTS) / name
    out.parent.mkdir(parents=True, exist_ok=True)
    _center(pg)
    pg.screenshot(path=str(out))
    assert out.stat().st_size > 10_000
    return out


def _center(pg) -> None:
    """Scroll the chart to the middle of the window (all of it in view: it is shorter than the window)."""
    pg.locator(CHART).evaluate("el => el.scrollIntoView({block: 'center'})")


def _geometry(pg) -> dict:
    return pg.evaluate(_GEOMETRY, CHART)


def _wait_width(pg, column_px_max: float | None = None) -> dict:
    """Wait until the chart is drawn for the main column's width (the browser measured it, the page redrew).

    Plotly stretches the figure to the column at once; the height follows only when the page has
    redrawn it for the measured width: then both axes fill their room (the grid square at that size).
    """
    pg.wait_for_function(f"""() => {{
      const g = ({_GEOMETRY})({CHART!r});
      return g !== null && Math.abs(g.figure_px - g.column_px) < 30 && g.column_px < {column_px_max or 1e9}
             && Math.abs(g.x_px - g.x_room) < 3 && Math.abs(g.y_px - g.y_room) < 3;
    }}""")
    _idle(pg)
    return _geometry(pg)


def _check_true_grid(g: dict, speed: float, gain: float) -> float:
    """Pixels per mm across and up (equal: the grid squares are square), returned."""
    px_mm_x = g["x_px"] / ((g["x_range"][1] - g["x_range"][0]) * speed)
    px_mm_y = g["y_px"] / ((g["y_range"][1] - g["y_range"][0]) * gain)
    assert px_mm_y == pytest.approx(px_mm_x, rel=0.01)
    assert g["x_dtick"] == pytest.approx(1 / speed) and g["y_dtick"] == pytest.approx(1 / gain)
    return px_mm_x


def test_chart_fills_the_page_scales_gains_and_calipers(page, server) -> None:  # noqa: F811
    url, _, _ = server
    page.goto(url)
    page.locator(".js-plotly-plot .annotation-text").filter(has_text="(gen").first.wait_for(timeout=MODEL_LOAD_MS)
    wide = _wait_width(page)
    # the page's width: the plot area spans the main column (less the figure's 20-px margins)
    assert wide["column_px"] > 1100 and wide["x_px"] > wide["column_px"] - 40
    wide_mm = _check_true_grid(wide, 25, 10)
    assert min(w for w in wide["widths"] if w > 0) >= 1.5  # every line drawn (the band fills have no outline)
    legend = page.locator(".js-plotly-plot .legendtext").all_text_contents()
    assert legend[:3] == ["recorded (input)", "generated (model)", "real (hidden from the generator)"]
    page.get_by_text("25 mm/s · 10 mm/mV", exact=True).first.wait_for()
    _shot(page, "chart_1600.png")

    # a narrower window: the chart follows it, the grid stays true
    page.set_viewport_size({"width": 1100, "height": 1000})
    narrow = _wait_width(page, column_px_max=wide["column_px"] - 200)
    assert narrow["x_px"] > narrow["column_px"] - 40
    assert _check_true_grid(narrow, 25, 10) < wide_mm * 0.8
    _shot(page, "chart_1100.png")
    page.set_viewport_size({"width": 1600, "height": 1000})
    _wait_width(page)

    # gain 20 mm/mV: labelled on the grid, 1-mm boxes of 0.05 mV
    page.locator(".st-key-gain").get_by_role("radio", name="20 mm/mV").click()
    page.get_by_text("25 mm/s · 20 mm/mV", exact=True).first.wait_for()
    _idle(page)
    _check_true_grid(_geometry(page), 25, 20)
    _shot(page, "chart_gain20.png")
    page.locator(".st-key-gain").get_by_role("radio", name="10 mm/mV").click()
    page.get_by_text("25 mm/s · 10 mm/mV", exact=True).first.wait_for()
    _idle(page)

    # calipers: two R peaks of the Lead-II rhythm strip
    page.get_by_text("Calipers", exact=True).click()
    page.get_by_text("click a point on any lead").first.wait_for()
    _idle(page)
    _center(page)
    first, = page.evaluate(_TARGETS, [CHART, [1.0]])
    page.mouse.move(first["x"], first["y"])
    page.mouse.click(first["x"], first["y"])
    page.get_by_text("first leg at").first.wait_for()
    _idle(page)
    _center(page)
    second = page.evaluate(_NEXT_PEAK, [CHART, first["t"]])  # one cycle: the next R peak (on the redrawn chart)
    page.mouse.move(second["x"], second["y"])
    page.mouse.click(second["x"], second["y"])
    reading = page.get_by_text(re.compile(r"Caliper: Δt \d+ ms")).first
    reading.wait_for()
    _idle(page)
    text = reading.inner_text()
    dt_ms = float(re.search(r"Δt (\d+) ms", text).group(1))
    legs = [float(t) for t in re.findall(r"([\d.]+) s \(II\)", text)]  # "legs at 1.184 s (II) and 2.248 s (II)"
    assert len(legs) == 2 and dt_ms == pytest.approx(1000 * (legs[1] - legs[0]), abs=1)
    # each leg where it was clicked: Plotly picks the target nearest the pointer (8 ms apart)
    assert legs == pytest.approx(sorted([first["t"], second["t"]]), abs=0.05)
    assert f"{60000 / dt_ms:.0f} bpm" in text and "mV (II)" in text
    assert 300 < dt_ms < 1500  # one cardiac cycle of the demo
    marched = page.evaluate("""(chart) => document.querySelector(chart + ' .js-plotly-plot').data
        .filter(t => t.name === 'caliper (marched)').length""", CHART)
    assert marched == 1
    page.locator(".js-plotly-plot .annotation-text").filter(has_text="caliper: Δt").first.wait_for()
    _shot(page, "chart_calipers.png")
