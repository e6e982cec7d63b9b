"""Plotly figures of ECGs on a true ECG-paper grid (no Streamlit here).

Every ECG figure is one canvas in physical units: the x axis is time in
seconds, the y axis millivolts, and the axes are locked so that the chosen
paper speed and gain hold at any size (25 or 50 mm/s, 5, 10 or 20 mm/mV; at
25 mm/s and 10 mm/mV one 1-mm square is 0.04 s wide and 0.1 mV high). The grid
is drawn with Plotly's major and minor gridlines (5 mm and 1 mm at the chosen
speed and gain), never with shapes, so a 12-lead page costs a handful of
traces. Each trace is clipped to its row; the speed and gain are written on
the grid.

Layouts (:data:`LAYOUTS`)
-------------------------
``"3x4"``
    I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6, each cell 2.5 s of the same
    10-s window (column ``c`` shows seconds ``2.5 c .. 2.5 (c + 1)``), plus a
    10-s Lead-II rhythm strip (at 50 mm/s every time span is halved: 1.25-s cells, a 5-s strip).
``"6x2"``
    I-aVF in the left column, V1-V6 in the right one, 5 s each.
``"12x1"``
    The 12 leads under each other, 10 s each.

A trace's x coordinate is its true time in the record, so hovering gives the
time in seconds; the millivolt value is carried in ``customdata`` (the drawn y
is shifted to the row's baseline).

Colours and lines (:data:`COLORS`, told apart in grey-scale print and by
colour-blind readers by lightness and line style, not hue alone): recorded
leads solid black; generated leads solid blue, wider, with their confidence
band (when the record has one, ``Record.interval``) a light blue fill under the
trace; the real trace of a lead that was hidden from the generator dotted grey;
the linear baseline (comparison) dashed orange; P / QRS / T delineation marks
green / purple / brown; calipers (:mod:`l2g.calipers`) magenta. The legend
lists recorded, generated and real always, in that order (then the band and
baseline when drawn), so it never moves with the lead selection.
"""

from __future__ import annotations

import html
import math
import textwrap
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from .calipers import CaliperPoint, caliper_reading, marching_times, reading_text
from .leads import LEADS
from .paper import GAIN_MM_MV, GAINS, PAPER_SPEED_MM_S, SPEEDS
from .record import ABSENT, GENERATED, RECORDED, Record

__all__ = [
    "PAPER_SPEED_MM_S",
    "GAIN_MM_MV",
    "SPEEDS",
    "GAINS",
    "MINOR_S",
    "MINOR_MV",
    "MAJOR_S",
    "MAJOR_MV",
    "COLORS",
    "LEGEND_ORDER",
    "LAYOUTS",
    "NOTE_CHARS",
    "ecg_grid",
    "DISPLAY_FILTERS",
    "display_filter",
    "layout_rows",
    "window_seconds",
    "trace_leads",
    "ecg_figure",
    "training_curves_figure",
]

MINOR_S = 1.0 / PAPER_SPEED_MM_S  # 0.04 s per mm
MINOR_MV = 1.0 / GAIN_MM_MV  # 0.1 mV per mm
MAJOR_S = 5 * MINOR_S  # 0.2 s
MAJOR_MV = 5 * MINOR_MV  # 0.5 mV

COLORS: dict[str, str] = {
    "recorded": "#000000",
    "real": "#8a8a8a",  # lighter than the blue in grey-scale, and dotted
    "generated": "#1d4ed8",
    "band": "rgba(29, 78, 216, 0.2)",
    "baseline": "#e07000",
    "earlier": "rgba(124, 58, 237, 0.35)",
    "calibration": "#000000",
    "caliper": "#c2185b",
    "minor": "#f7d4d4",
    "major": "#ea9a9a",
    "paper": "#fffafa",
    "P": "#15803d",
    "QRS": "#7e22ce",
    "T": "#92400e",
}

#: Named layouts: (rows of lead names, seconds per cell, rhythm-strip lead or None).
LAYOUTS: dict[str, tuple[tuple[tuple[str, ...], ...], float, str | None]] = {
    "3x4": ((("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"), ("III", "aVF", "V3", "V6")), 2.5, "II"),
    "6x2": ((("I", "V1"), ("II", "V2"), ("III", "V3"), ("aVR", "V4"), ("aVL", "V5"), ("aVF", "V6")), 5.0, None),
    "12x1": (tuple((lead,) for lead in LEADS), 10.0, None),
}

#: Display filters: label -> (high-pass Hz or None, low-pass Hz or None). Applied to every trace alike.
DISPLAY_FILTERS: dict[str, tuple[float | None, float | None]] = {
    "0.5 Hz high-pass (baseline wander)": (0.5, None),
    "0.5–40 Hz (monitor)": (0.5, 40.0),
    "0.05–150 Hz (diagnostic)": (0.05, 150.0),
    "none (as recorded)": (None, None),
}

_LEGEND = {
    "recorded": "recorded (input)",
    "real": "real (hidden from the generator)",
    "baseline": "linear baseline (comparison)",
    "earlier": "earlier ECG of this patient",
}
_WAVES = {"P": ("p_on", "p_off"), "QRS": ("qrs_on", "qrs_off"), "T": ("t_on", "t_off")}
#: Line (width px, dash) of each kind: >= 1.5 px, and recorded / generated / real apart without colour.
_STYLE: dict[str, tuple[float, str]] = {
    "recorded": (1.6, "solid"),
    "generated": (1.9, "solid"),
    "real": (2.0, "dot"),
    "baseline": (1.6, "dash"),
    "earlier": (1.5, "solid"),  # faded (COLORS), drawn under the lead it compares with
    "calibration": (1.6, "solid"),
    "caliper": (1.6, "solid"),
}
#: The legend's entries, always in this order (recorded, generated and real whatever the selection).
LEGEND_ORDER = ("recorded", "generated", "real", "band", "baseline", "earlier")
#: Spacing of the click targets of a caliper chart (s): 8 ms, about a pixel at 25 mm/s on a wide screen.
TARGET_S = 0.008
_ROW_MM = (25.0, 40.0)  # distance between row baselines, mm of paper (then clipped to the row)
_CAL_S = 0.2  # calibration pulse width (s)
_CAL_MV = 1.0  # calibration pulse height (mV)
#: Longest line of an ``ecg_figure`` note before it is wrapped (characters; a 1600-px page holds ~200).
NOTE_CHARS = 160
_NOTE_LINE_PX = 17  # height of one note line (12-px font)
_LEGEND_PX = 28  # one row of the legend above the plot: notes go above it
_LEGEND_ROW_PX = 20  # each further row of a legend wrapped on a narrow page


# ------------------------------------------------------------------ filtering
def display_filter(record: Record, name: str) -> tuple[Record, str]:
    """Apply a display filter from :data:`DISPLAY_FILTERS` to a record.

    Parameters
    ----------
    record : Record
    name : str
        A key of :data:`DISPLAY_FILTERS`.

    Returns
    -------
    (Record, str)
        The filtered record (same rate, length and status) and a label stating
        the filter actually applied (a low-pass at or above Nyquist is left out).
        A band (``record.interval``) keeps its half-width around the filtered
        trace.

    Raises
    ------
    ValueError
        For an unknown filter name.
    """
    from .preprocess import bandlimit

    if name not in DISPLAY_FILTERS:
        raise ValueError(f"display_filter: unknown filter {name!r}; valid: {', '.join(DISPLAY_FILTERS)}")
    low, high = DISPLAY_FILTERS[name]
    if high is not None and high >= 0.5 * record.fs:
        high = None
    if low is None and high is None:
        return record, "no filter"
    label = (f"{low:g}–{high:g} Hz band-pass" if low is not None and high is not None
             else f"{low:g} Hz high-pass" if low is not None else f"{high:g} Hz low-pass")
    out = bandlimit(record, low, high)
    if record.interval is not None:  # the band is a half-width around the trace: keep it around the filtered one
        half = 0.5 * (record.interval[1] - record.interval[0])
        out = out.replace(interval=(out.signal - half, out.signal + half))
    return out, f"{label} (zero-phase, display)"


# ------------------------------------------------------------------ helpers
def layout_rows(layout: str | Sequence[Sequence[str]]) -> tuple[tuple[tuple[str, ...], ...], float, str | None]:
    """Resolve a layout name (or explicit rows of leads) to (rows, cell seconds at 25 mm/s, rhythm lead)."""
    if isinstance(layout, str):
        if layout not in LAYOUTS:
            raise ValueError(f"unknown layout {layout!r}; valid: {', '.join(LAYOUTS)}")
        return LAYOUTS[layout]
    rows = tuple(tuple(r) for r in layout)
    if not rows or not all(rows):
        raise ValueError("a layout needs at least one row with at least one lead")
    return rows, 10.0 / max(len(r) for r in rows), None


def window_seconds(speed: float = PAPER_SPEED_MM_S) -> float:
    """Seconds one ECG page shows at ``speed`` mm/s: 10 s at 25 mm/s, 5 s at 50 (250 mm of paper)."""
    return 10.0 * PAPER_SPEED_MM_S / _checked("speed", speed, SPEEDS, "mm/s")


def _checked(name: str, value: float, valid: tuple[float, ...], unit: str) -> float:
    v = float(value)
    if v not in valid:
        raise ValueError(f"ecg_figure: {name} {v:g} {unit} is not offered; valid: {', '.join(f'{x:g}' for x in valid)}")
    return v


def _span(record: Record, t0: float, t1: float) -> tuple[int, int] | None:
    """Sample range ``[a, b)`` between t0 and t1 seconds, or None when under two samples."""
    a = max(0, int(math.ceil(t0 * record.fs - 1e-9)))
    b = min(record.n_samples, int(math.floor(t1 * record.fs + 1e-9)) + 1)
    return (a, b) if b - a >= 2 else None


def _segment(record: Record, lead: str, t0: float, t1: float) -> tuple[float, np.ndarray] | None:
    """(start time, samples) of ``lead`` between t0 and t1 seconds, or None when absent/empty."""
    span = _span(record, t0, t1)
    if record.status_of(lead) == ABSENT or span is None:
        return None
    a, b = span
    return a / record.fs, record.lead(lead)[a:b]


def _row_spacing(record: Record, leads: Sequence[str], t0: float, t1: float, gain: float = GAIN_MM_MV) -> float:
    """Vertical distance between row baselines (mV): 25..40 mm of paper at ``gain``, in whole 5-mm boxes.

    Tall enough for three rows in four of the traces' peak-to-peak spans; a taller complex is
    clipped to its row (:func:`ecg_figure`).
    """
    spans = []
    for lead in leads:
        seg = _segment(record, lead, t0, t1)
        if seg is not None:
            x = seg[1] - np.median(seg[1])
            spans.append(float(np.percentile(x, 99.5) - np.percentile(x, 0.5)))
    span_mm = (float(np.percentile(spans, 75)) if spans else 2.0) * gain
    row_mm = min(_ROW_MM[1], max(_ROW_MM[0], math.ceil((span_mm + 5.0) / 5.0) * 5.0))
    return row_mm / gain


def _label(method: str) -> str:
    return "generated (model)" if method == "model" else f"generated ({method})"


def trace_leads(fig: go.Figure) -> list[str | None]:
    """The lead each trace of an :func:`ecg_figure` draws (None for the others: grid keys, band, marks)."""
    return [t.meta if isinstance(t.meta, str) and t.meta in LEADS else None for t in fig.data]


def _line(kind: str) -> dict:
    width, dash = _STYLE[kind]
    return dict(color=COLORS[kind], width=width, dash=dash)


def _legend_keys(fig: go.Figure, names: Mapping[str, str]) -> None:
    """One legend entry per kind, in :data:`LEGEND_ORDER` whatever is drawn (the traces themselves show none).

    Each key is an empty trace of the kind's legend group, so a click on it still hides the kind.
    """
    for rank, kind in enumerate(LEGEND_ORDER):
        if kind not in names:
            continue
        line = dict(color=COLORS["band"], width=10) if kind == "band" else _line(kind)
        fig.add_trace(go.Scatter(x=[None], y=[None], mode="lines", name=names[kind], legendgroup=kind,
                                 legendrank=rank + 1, showlegend=True, line=line, hoverinfo="skip",
                                 meta="legend key"))


def _legend_rows(names: Sequence[str], width_px: float) -> int:
    """Rows a horizontal legend of these entries takes at ``width_px`` (12-px font: ~6.5 px a character)."""
    rows, used = 1, 0.0
    for name in names:
        w = 40 + 6.5 * len(name)  # symbol, gap and text
        if used and used + w > width_px - 20:
            rows, used = rows + 1, 0.0
        used += w
    return rows


def _calibration(offsets: Sequence[float], t0: float, speed: float) -> tuple[list, list]:
    """x, y of a 1 mV x 0.2 s pulse at the start of each row (1.25 mm lead-in and -out at ``speed``)."""
    edge = 1.25 / speed
    left = _CAL_S + 4 * edge
    xs: list[float | None] = []
    ys: list[float | None] = []
    for offset in offsets:
        rise = t0 - left + 2 * edge
        xs += [t0 - left + edge, rise, rise, rise + _CAL_S, rise + _CAL_S, t0 - edge, None]
        ys += [offset, offset, offset + _CAL_MV, offset + _CAL_MV, offset, offset, None]
    return xs, ys


def _add_calipers(fig: go.Figure, cells: Sequence[tuple[str, float, float, float]],
                  calipers: Sequence[CaliperPoint], half: float, window: tuple[float, float]) -> str | None:
    """The caliper's legs on every row, its interval marched along every row, its bar on the clicked lead.

    Returns the reading (:func:`l2g.calipers.reading_text`) for two legs, else None.
    """
    legs = [p.t_s for p in calipers[:2]]
    marks = marching_times(legs[0], legs[1], *window) if len(legs) == 2 else np.empty(0)
    leg_x: list[float | None] = []
    leg_y: list[float | None] = []
    march_x: list[float | None] = []
    march_y: list[float | None] = []
    bar_x: list[float | None] = []
    bar_y: list[float | None] = []
    for lead, offset, a, b in cells:
        lo, hi = offset - 0.9 * half, offset + 0.9 * half
        for t in legs:
            if a <= t <= b:
                leg_x += [t, t, None]
                leg_y += [lo, hi, None]
        for t in marks:
            if a <= t <= b and min(abs(t - leg) for leg in legs) > 1e-9:
                march_x += [float(t), float(t), None]
                march_y += [offset - 0.5 * half, offset + 0.5 * half, None]
        if len(legs) == 2 and lead in {p.lead for p in calipers[:2]} and a <= min(legs) and max(legs) <= b:
            bar_x += [min(legs), max(legs), None]
            bar_y += [offset + 0.8 * half] * 2 + [None]
    style = dict(mode="lines", legendgroup="caliper", showlegend=False, hoverinfo="skip")
    fig.add_trace(go.Scatter(x=leg_x, y=leg_y, name="caliper", line=_line("caliper"), **style))
    if march_x:
        fig.add_trace(go.Scatter(x=march_x, y=march_y, name="caliper (marched)",
                                 line=dict(color=COLORS["caliper"], width=1.5, dash="dot"), **style))
    if bar_x:
        fig.add_trace(go.Scatter(x=bar_x, y=bar_y, name="caliper", line=_line("caliper"), **style))
    return reading_text(caliper_reading(*calipers[:2])) if len(legs) == 2 else None


# ------------------------------------------------------------------ the ECG figure

def ecg_grid(fig: go.Figure, x_range: Sequence[float], y_range: Sequence[float], *,
             speed: float = PAPER_SPEED_MM_S, gain: float = GAIN_MM_MV) -> None:
    """Draw ECG paper on ``fig``'s axes: 1-mm minor and 5-mm major lines, 1 mm of time = 1 mm of voltage.

    Minor lines every ``1 / speed`` s and ``1 / gain`` mV (0.04 s and 0.1 mV at 25 mm/s and
    10 mm/mV: :data:`MINOR_S`, :data:`MINOR_MV`), major every five, no tick labels; the y axis
    is locked to the x axis so that the grid squares stay square at any size. Changes ``fig``
    in place (a figure under construction, not a Record).

    Parameters
    ----------
    fig : plotly.graph_objects.Figure
    x_range : (float, float)
        Time axis range, s.
    y_range : (float, float)
        Voltage axis range (bottom, top), mV.
    speed : float
        Paper speed, mm/s.
    gain : float
        Gain, mm/mV.
    """
    minor_s, minor_mv = 1.0 / speed, 1.0 / gain
    grid = dict(showgrid=True, zeroline=False, showticklabels=False, ticks="", showline=False,
                gridcolor=COLORS["major"], gridwidth=1,
                minor=dict(showgrid=True, gridcolor=COLORS["minor"], gridwidth=0.6))
    fig.update_xaxes(range=list(x_range), tick0=0.0, dtick=5 * minor_s, minor_dtick=minor_s, minor_tick0=0.0,
                     constrain="domain", **grid)
    fig.update_yaxes(range=list(y_range), tick0=0.0, dtick=5 * minor_mv, minor_dtick=minor_mv, minor_tick0=0.0,
                     scaleanchor="x", scaleratio=minor_s / minor_mv, constrain="domain", constraintoward="top",
                     **grid)


def ecg_figure(
    record: Record,
    *,
    layout: str | Sequence[Sequence[str]] = "3x4",
    reference: Record | None = None,
    baseline: Record | None = None,
    start_s: float = 0.0,
    waves: Mapping[str, np.ndarray] | None = None,
    filter_label: str = "",
    title: str | None = None,
    width_px: int = 1100,
    height: int | None = None,
    band: bool = True,
    band_name: str = "confidence band",
    grades: Mapping[str, str] | None = None,
    notes: Sequence[str] = (),
    earlier: Record | None = None,
    speed: float = PAPER_SPEED_MM_S,
    gain: float = GAIN_MM_MV,
    calipers: Sequence[CaliperPoint] = (),
    click_targets: bool = False,
) -> go.Figure:
    """An ECG page on a true grid: 25 or 50 mm/s, 5, 10 or 20 mm/mV.

    Parameters
    ----------
    record : Record
        What to draw: recorded leads in black, generated leads in blue.
    layout : str or rows of lead names
        ``"3x4"`` (with a Lead-II rhythm strip), ``"6x2"``, ``"12x1"``, or
        explicit rows, e.g. ``[["V2"]]`` for a single-lead view of 10 s.
    reference : Record, optional
        The real recording. For every lead that is *generated* in ``record``
        and *recorded* in ``reference``, the real trace is drawn under it (grey, dotted).
    baseline : Record, optional
        A second reconstruction (the linear baseline) drawn dashed for the
        generated leads.
    start_s : float
        Start of the window shown (s); the window is :func:`window_seconds` long
        (10 s at 25 mm/s, 5 s at 50).
    waves : mapping, optional
        Delineation times in seconds (``p_on``, ``p_off``, ``qrs_on``, ...,
        as returned by :func:`l2g.morphology.delineation_for_plot`), drawn as
        markers on the rhythm strip (or on Lead II in a layout without one).
    filter_label : str
        The display filter, stated under the chart.
    title : str, optional
    width_px : int
        The plot's width in pixels (the page's, measured by the viewer): the height
        follows from it, so that a millimetre is as many pixels across as up.
    height : int, optional
        Figure height in pixels (default: from ``width_px``).
    band : bool
        Draw the band of ``record`` (``record.interval``, when it has one) as a
        light fill under each generated trace (one ``fill="toself"`` trace per
        cell, legend ``band_name``).
    band_name : str
        Legend entry of the band, e.g. ``"90 % confidence band"``.
    grades : mapping of str to str, optional
        A trust grade per generated lead (:func:`l2g.trust.trust_table`),
        shown in its label: ``V1 (gen · B)``.
    notes : sequence of str
        Lines of text printed above the chart, under the title, as they are (wrapped at
        :data:`NOTE_CHARS` characters), e.g. the cart's interpretation labelled as its reading
        of the recorded leads (:func:`l2g.interpretation.page_lines`). The top margin grows to
        hold them; without notes the figure is as before.
    earlier : Record, optional
        An earlier ECG of the same patient (personalised mode, :mod:`l2g.personal`): each of its
        leads is drawn faded under the same lead, from the same time in its own recording (at
        ``record``'s rate). The chart names the personalised mode when ``record``'s provenance does.
    speed : float
        Paper speed, mm/s (:data:`SPEEDS`): 1 mm is ``1 / speed`` s.
    gain : float
        Gain, mm/mV (:data:`GAINS`): 1 mm is ``1 / gain`` mV. Rows are 25-40 mm apart and
        each trace is clipped to its row (hover still gives the value).
    calipers : sequence of CaliperPoint
        Up to two caliper legs (:mod:`l2g.calipers`): each leg a vertical line on every
        row where its time is shown; with two, the interval marched along every row
        (dotted), a bar on the clicked lead and the reading over the grid.
    click_targets : bool
        Make the traces clickable point by point (for calipers): Plotly selects points of
        markers, not of lines, so each recorded or generated trace gets an invisible marker
        every :data:`TARGET_S` s (its lead in ``meta``, its value in mV in ``customdata``);
        the marker clicked is shown as a dot.

    Returns
    -------
    plotly.graph_objects.Figure
        Each trace of a lead carries the lead's name in ``meta`` (:func:`trace_leads`).

    Examples
    --------
    >>> import l2g
    >>> from l2g.demo import demo_record
    >>> full = l2g.reconstruct(demo_record(), ["I", "II", "V1"], method="linear", interval=0.9)
    >>> fills = lambda f: sum(t.fill == "toself" for t in f.data)
    >>> fills(ecg_figure(full)), fills(ecg_figure(full, band=False))  # V2-V6; the limb leads are exact
    (5, 0)
    """
    speed = _checked("speed", speed, SPEEDS, "mm/s")
    gain = _checked("gain", gain, GAINS, "mm/mV")
    rows, cell_s, rhythm = layout_rows(layout)
    cell_s *= PAPER_SPEED_MM_S / speed
    window_s = cell_s * max(len(r) for r in rows)
    t0 = float(start_s)
    t1 = t0 + window_s
    bands: list[tuple[tuple[str, ...], float]] = [(r, cell_s) for r in rows]
    if rhythm is not None:
        bands.append(((rhythm,), window_s))
    spacing = _row_spacing(record, [lead for r, _ in bands for lead in r], t0, t1, gain)
    half = 0.5 * spacing  # a trace is clipped to its row: baseline +- half
    method = record.meta.provenance.method if record.meta.provenance else "model"
    names = {"recorded": _LEGEND["recorded"], "generated": _label(method), "real": _LEGEND["real"]}
    if band and record.interval is not None and record.generated_leads:
        names["band"] = band_name
    if baseline is not None and record.generated_leads:
        names["baseline"] = _LEGEND["baseline"]
    if earlier is not None:
        names["earlier"] = _LEGEND["earlier"]

    if earlier is not None and earlier.fs != record.fs:
        from .preprocess import resample

        earlier = resample(earlier, record.fs)
    fig = go.Figure()
    _legend_keys(fig, names)
    annotations: list[dict] = []
    sep_x: list[float | None] = []
    sep_y: list[float | None] = []
    cells: list[tuple[str, float, float, float]] = []  # (lead, baseline, t_start, t_end) of every cell
    clipped = 0
    mark_band: tuple[float, float, float] | None = None  # (baseline, t_start, t_end) of the marked cell

    def place(y: np.ndarray, offset: float, ref_level: float) -> np.ndarray:
        nonlocal clipped
        v = y - ref_level
        clipped += int(np.count_nonzero(np.abs(v) > half))
        return (np.clip(v, -half, half) + offset).astype(np.float32)

    def add_band(lead: str, t_a: float, t_b: float, offset: float, ref_level: float) -> None:
        span = _span(record, t_a, t_b)
        if span is None:
            return
        a, b = span
        k = record.leads.index(lead)
        lo, hi = record.interval[0][k, a:b], record.interval[1][k, a:b]
        if not (np.isfinite(lo).all() and np.isfinite(hi).all()) or float(np.max(hi - lo)) <= 0.0:
            return  # no band, or an exact lead (Einthoven, Goldberger): nothing to draw
        t = np.arange(a, b) / record.fs
        y = np.clip(np.concatenate([hi, lo[::-1]]) - ref_level, -half, half) + offset
        fig.add_trace(go.Scatter(  # one closed outline: upper edge forward, lower edge back
            x=np.concatenate([t, t[::-1]]), y=y.astype(np.float32),
            mode="lines", fill="toself", fillcolor=COLORS["band"], line=dict(width=0, color=COLORS["band"]),
            name=band_name, legendgroup="band", showlegend=False, hoverinfo="skip",
        ))

    def add(kind: str, lead: str, seg: tuple[float, np.ndarray], offset: float, ref_level: float) -> None:
        start, y = seg
        name = names[kind] if kind in names else _LEGEND[kind]
        hover = f"<b>{lead}</b> {name}<br>t = %{{x:.3f}} s<br>%{{customdata:.3f}} mV<extra></extra>"
        targeted = click_targets and kind in ("recorded", "generated")
        fig.add_trace(go.Scatter(
            x0=start, dx=1.0 / record.fs, y=place(y, offset, ref_level),
            customdata=y.astype(np.float32), mode="lines", name=name, legendgroup=kind, showlegend=False,
            meta=lead, line=_line(kind),
            # with click targets the hover (and so the click) goes to them: Plotly selects markers only
            **(dict(hoverinfo="skip") if targeted else dict(hovertemplate=hover)),
        ))
        if targeted:
            step = max(1, round(TARGET_S * record.fs))
            fig.add_trace(go.Scatter(
                x0=start, dx=step / record.fs, y=place(y[::step], offset, ref_level),
                customdata=y[::step].astype(np.float32), mode="markers", name=name, legendgroup=kind,
                showlegend=False, meta=lead, marker=dict(size=2, opacity=0, color=COLORS["caliper"]),
                # small: Plotly measures from the marker's edge, and a wide one would tie with its neighbours
                selected=dict(marker=dict(opacity=1, size=9)), unselected=dict(marker=dict(opacity=0)),
                hovertemplate=hover,
            ))

    for r, (leads, cell) in enumerate(bands):
        offset = -r * spacing
        for c, lead in enumerate(leads):
            a, b = t0 + c * cell, t0 + (c + 1) * cell
            cells.append((lead, offset, a, b))
            if c > 0:
                sep_x += [a, a, None]
                sep_y += [offset - 0.3 * half, offset + 0.3 * half, None]
            status = record.status_of(lead)
            seg = _segment(record, lead, a, b)
            grade = (grades or {}).get(lead)
            text = lead if status != GENERATED else f"{lead} <i>(gen{f' · {grade}' if grade else ''})</i>"
            annotations.append(dict(
                x=a + 1.5 / speed, y=offset + spacing * 0.42, text=f"<b>{text}</b>", showarrow=False,
                xanchor="left", yanchor="middle", font=dict(size=13, color=COLORS[
                    "generated" if status == GENERATED else "recorded"]),
            ))
            if seg is None:
                annotations.append(dict(x=(a + b) / 2, y=offset, text="absent", showarrow=False,
                                        font=dict(size=11, color="#888")))
                continue
            level = float(np.median(seg[1]))
            if earlier is not None and earlier.status_of(lead) != ABSENT:
                eseg = _segment(earlier, lead, a, b)
                if eseg is not None:
                    add("earlier", lead, eseg, offset, float(np.median(eseg[1])))
            if status == GENERATED:
                if reference is not None and reference.status_of(lead) == RECORDED:
                    rseg = _segment(reference, lead, a, b)
                    if rseg is not None:
                        add("real", lead, rseg, offset, float(np.median(rseg[1])))
                if baseline is not None and baseline.status_of(lead) != ABSENT:
                    bseg = _segment(baseline, lead, a, b)
                    if bseg is not None:
                        add("baseline", lead, bseg, offset, float(np.median(bseg[1])))
                if band and record.interval is not None:
                    add_band(lead, a, b, offset, level)
                add("generated", lead, seg, offset, level)
            else:
                add("recorded", lead, seg, offset, level)
            if waves is not None and lead == "II" and (len(leads) == 1 or rhythm is None) and mark_band is None:
                mark_band = (offset, a, b)

    cal_x, cal_y = _calibration([-r * spacing for r in range(len(bands))], t0, speed)
    fig.add_trace(go.Scatter(x=cal_x, y=cal_y, mode="lines", name="1 mV calibration", showlegend=False,
                             line=_line("calibration"), hoverinfo="skip"))
    if sep_x:
        fig.add_trace(go.Scatter(x=sep_x, y=sep_y, mode="lines", showlegend=False, hoverinfo="skip",
                                 line=dict(color="#000", width=1.5)))
    if waves is not None and mark_band is not None:
        _add_wave_marks(fig, waves, *mark_band, spacing)
    reading = _add_calipers(fig, cells, calipers, half, (t0, t1)) if calipers else None

    n_bands = len(bands)
    y_top = spacing * 0.62
    y_bottom = -(n_bands - 1) * spacing - half - 0.5 / gain
    x_range = [t0 - _CAL_S - 5.0 / speed, t1 + 0.5 / speed]
    x_mm = (x_range[1] - x_range[0]) * speed
    y_mm = (y_top - y_bottom) * gain
    note_lines = [part for note in notes for part in (textwrap.wrap(note, NOTE_CHARS) or [""])]
    note_px = _NOTE_LINE_PX * len(note_lines) + 6 if note_lines else 0
    extra_rows = _legend_rows([t.name for t in fig.data if t.showlegend is not False and t.name], width_px) - 1
    margin = dict(l=10, r=10, t=(70 if title else 40) + note_px + extra_rows * _LEGEND_ROW_PX, b=40)
    if height is None:
        px_per_mm = (width_px - margin["l"] - margin["r"]) / x_mm
        height = int(round(y_mm * px_per_mm + margin["t"] + margin["b"]))
    ecg_grid(fig, x_range, (y_bottom, y_top), speed=speed, gain=gain)
    scale = f"{speed:g} mm/s · {gain:g} mm/mV"
    annotations.append(dict(  # the chosen speed and gain, on the grid itself
        xref="x domain", yref="y domain", x=1, y=1, xanchor="right", yanchor="top", showarrow=False,
        text=scale + (f"<br><span style='color:{COLORS['caliper']}'>caliper: {reading}</span>" if reading else ""),
        align="right", bgcolor="rgba(255,255,255,0.85)", font=dict(size=13, color="#111", weight="bold")))
    foot = f"{scale} · {record.fs:g} Hz · filter: {filter_label or 'none stated'} · window {t0:g}–{t1:g} s"
    if clipped:
        foot += " · taller complexes clipped to their row (hover gives the value)"
    if record.meta.provenance is not None and record.generated_leads:
        p = record.meta.provenance
        foot += f" · generated from {', '.join(p.available)} by {p.method} ({p.model_version})"
        if p.prior:
            foot += f" · personalised mode: corrected on the {p.prior}"
    annotations.append(dict(xref="x domain", yref="y domain", x=0, y=0, yshift=-4, xanchor="left", yanchor="top",
                            text=foot, showarrow=False, font=dict(size=11, color="#444")))
    if note_lines:  # above the legend, which sits just over the plot
        annotations.append(dict(xref="paper", yref="paper", x=0, y=1, xanchor="left", yanchor="bottom",
                                yshift=_LEGEND_PX + extra_rows * _LEGEND_ROW_PX, align="left", showarrow=False,
                                font=dict(size=12, color="#111"),
                                text="<br>".join(html.escape(line) for line in note_lines)))
    fig.update_layout(
        annotations=annotations,
        height=height,
        margin=margin,
        title=(dict(text=title, x=0.0, xanchor="left", font=dict(size=15))
               | (dict(y=1.0, yref="container", yanchor="top", pad=dict(t=10)) if note_lines else {})
               if title else None),
        paper_bgcolor="white",
        plot_bgcolor=COLORS["paper"],
        hovermode="closest",
        dragmode="zoom",
        showlegend=True,  # even with one kind drawn: the legend never comes and goes with the selection
        legend=dict(orientation="h", yanchor="bottom", y=1.0, xanchor="left", x=0.0, font=dict(size=12),
                    bgcolor="rgba(255,255,255,0.8)", traceorder="normal"),
        font=dict(family="Arial, Helvetica, sans-serif", color="#111"),
    )
    return fig


def _add_wave_marks(fig: go.Figure, waves: Mapping[str, np.ndarray], offset: float, t0: float, t1: float,
                    spacing: float) -> None:
    """On- and offset ticks of P, QRS and T on one band (one trace per wave, toggled by the legend)."""
    lo, hi = offset - spacing * 0.35, offset + spacing * 0.35
    for wave, keys in _WAVES.items():
        xs: list[float | None] = []
        ys: list[float | None] = []
        for key in keys:
            for t in np.asarray(waves.get(key, ()), dtype=float):
                if np.isfinite(t) and t0 <= t <= t1:
                    xs += [float(t), float(t), None]
                    ys += [lo, hi, None]
        if xs:
            fig.add_trace(go.Scatter(
                x=xs, y=ys, mode="lines", name=f"{wave} on/offset", legendgroup=f"wave-{wave}",
                line=dict(color=COLORS[wave], width=1.5, dash="dashdot"),
                hovertemplate=f"{wave} on/offset<br>t = %{{x:.3f}} s<extra></extra>",
            ))


# ------------------------------------------------------------------ training curves
def training_curves_figure(history: pd.DataFrame, title: str = "") -> go.Figure:
    """Loss and correlation per epoch from a ``*.metrics.csv`` training log.

    Columns ending in ``mse`` go to the left panel (log scale), columns ending
    in ``_r`` to the right panel; ``linear_*`` columns (the baseline) are
    dashed. The x axis is the ``epoch`` column (or the row number).
    """
    from plotly.subplots import make_subplots

    x = history["epoch"] if "epoch" in history else pd.Series(range(len(history)), name="epoch")
    fig = make_subplots(rows=1, cols=2, subplot_titles=("MSE (mV²)", "Pearson r"), horizontal_spacing=0.08)
    for col in history.columns:
        if not pd.api.types.is_numeric_dtype(history[col]):
            continue
        panel = 1 if col.endswith("mse") else 2 if col.endswith("_r") else None
        if panel is None:
            continue
        dash = "dash" if col.startswith("linear") else "solid"
        fig.add_trace(go.Scatter(x=x, y=history[col], mode="lines+markers", name=col, line=dict(dash=dash)),
                      row=1, col=panel)
    fig.update_yaxes(type="log", row=1, col=1)
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=380, margin=dict(l=10, r=10, t=60 if title else 40, b=10),
                      title=dict(text=title) if title else None, legend=dict(orientation="h", y=-0.2))
    return fig
