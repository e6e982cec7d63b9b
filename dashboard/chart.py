"""The viewer's chart area: its width in the page, speed and gain, and the calipers.

The chart is drawn at the width the browser gives it: a small component
(``st.components.v2``) measures the main column and sends its width back whenever it
changes (a resized window, the sidebar opened or closed), and the page builds the
figure at that width, so that its height keeps a millimetre as many pixels up as
across (:func:`l2g.plots.ecg_figure`). Until the browser has answered (the first run,
AppTest) the chart is built for :data:`DEFAULT_WIDTH_PX`.

Calipers: with *Calipers* on, the chart reports the point clicked (Streamlit's
``on_select="rerun"``, ``selection_mode="points"``); :func:`on_chart_select` turns it into
a leg (:func:`l2g.calipers.point_from_selection`) and keeps the legs in session state,
for the record segment they were set on. The math is :mod:`l2g.calipers`.
"""

from __future__ import annotations

from collections.abc import Sequence

import streamlit as st

from l2g.calipers import CaliperPoint, caliper_reading, next_points, point_from_selection, reading_text
from l2g.paper import GAIN_MM_MV, GAINS, PAPER_SPEED_MM_S, SPEEDS

__all__ = ["DEFAULT_WIDTH_PX", "chart_width", "scale_controls", "calipers", "remember_traces", "on_chart_select",
           "clear_calipers", "caliper_panel", "CHART_KEY"]

#: Width of the chart before the browser has measured it: the main column of a 1400-px window.
DEFAULT_WIDTH_PX = 940
#: The chart's widget key (its selection is the clicked caliper point).
CHART_KEY = "ecg_chart"
_STEP_PX = 20  # widths are sent in steps of 20 px: a resize does not rerun the page for every pixel
# Sends the width of the element it sits in (the main column) when it changes; `data.width` is what the
# page last drew with, so an unchanged width sends nothing (no rerun loop).
_WIDTH_JS = f"""
export default function ({{ parentElement, data, setStateValue }}) {{
  const host = parentElement.host || parentElement;
  let timer = null;
  const send = () => {{
    const w = Math.round(host.getBoundingClientRect().width / {_STEP_PX}) * {_STEP_PX};
    if (w > 0 && w !== (data && data.width)) setStateValue("width", w);
  }};
  const observer = new ResizeObserver(() => {{ clearTimeout(timer); timer = setTimeout(send, 150); }});
  observer.observe(host);
  send();
  return () => {{ observer.disconnect(); clearTimeout(timer); }};
}}
"""


def _ignore() -> None:
    """The width needs no callback of its own: the rerun it causes redraws the chart."""


def chart_width() -> int:
    """The main column's width in pixels as the browser last measured it (:data:`DEFAULT_WIDTH_PX` before)."""
    probe = st.components.v2.component("l2g_chart_width", html="<div></div>", js=_WIDTH_JS, isolate_styles=False)
    known = st.session_state.get("chart_width_px")
    result = probe(key="chart_width_probe", data={"width": known}, default={"width": None},
                   on_width_change=_ignore)
    width = getattr(result, "width", None) if result is not None else None
    if isinstance(width, (int, float)) and width > 100:
        st.session_state["chart_width_px"] = int(width)
    return int(st.session_state.get("chart_width_px") or DEFAULT_WIDTH_PX)


def scale_controls(container) -> tuple[float, float, bool]:
    """Speed, gain and the caliper switch in one row of ``container``: (mm/s, mm/mV, calipers on)."""
    cols = container.columns([2, 3, 2], vertical_alignment="bottom")
    speed = cols[0].segmented_control("Speed", SPEEDS, key="speed", default=PAPER_SPEED_MM_S, required=True,
                                      format_func=lambda v: f"{v:g} mm/s",
                                      help="Paper speed: 25 mm/s shows 10 s (2.5 s per 3×4 column), 50 mm/s 5 s.")
    gain = cols[1].segmented_control("Gain", GAINS, key="gain", default=GAIN_MM_MV, required=True,
                                     format_func=lambda v: f"{v:g} mm/mV",
                                     help="1 mV is this many mm of grid; a trace taller than its row is clipped.")
    on = cols[2].toggle("Calipers", key="caliper_mode",
                        help="Click two points on any lead: the interval (ms), rate (bpm) and, on one lead, the "
                             "voltage difference (mV); the interval is marched along every lead.")
    return float(speed), float(gain), on


def calipers(digest: str) -> tuple[CaliperPoint, ...]:
    """The caliper legs set on this record segment (none once another is opened)."""
    ss = st.session_state
    if ss.get("calipers_digest") != digest:
        ss["calipers_digest"], ss["calipers"] = digest, ()
    return tuple(ss.get("calipers", ()))


def remember_traces(leads: Sequence[str | None]) -> None:
    """The lead of each trace of the chart just drawn (:func:`l2g.plots.trace_leads`): what a click refers to."""
    st.session_state["chart_leads"] = list(leads)


def on_chart_select() -> None:
    """Callback of the chart's selection: the point clicked becomes the next caliper leg."""
    ss = st.session_state
    state = ss.get(CHART_KEY) or {}
    points = (state.get("selection") or {}).get("points") or []
    if not points:  # a click on empty paper, or on the selected point again
        return
    leg = point_from_selection(points[-1], ss.get("chart_leads", []))
    if leg is not None:
        ss["calipers"] = next_points(tuple(ss.get("calipers", ())), leg)


def clear_calipers() -> None:
    st.session_state["calipers"] = ()


def caliper_panel(legs: Sequence[CaliperPoint]) -> None:
    """The reading under the chart, with the button that clears it."""
    cols = st.columns([6, 1], vertical_alignment="center")
    if len(legs) == 2:
        text = f"**Caliper:** {reading_text(caliper_reading(*legs))}"
        text += f" — legs at {legs[0].t_s:.3f} s ({legs[0].lead}) and {legs[1].t_s:.3f} s ({legs[1].lead})"
    elif legs:
        text = (f"**Caliper:** first leg at {legs[0].t_s:.3f} s on {legs[0].lead} "
                f"({legs[0].mv:+.2f} mV); click the second point.")
    else:
        text = "**Calipers:** click a point on any lead, then a second one."
    cols[0].markdown(text)
    cols[1].button("Clear calipers", key="clear_calipers", on_click=clear_calipers, disabled=not legs)
