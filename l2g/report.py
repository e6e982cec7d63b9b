"""The printable 12-lead report: one landscape page at true paper scale, as a PDF (no Streamlit here).

One function makes it, :func:`write_report_pdf` (:func:`report_pdf_bytes` for a download); the
command line (``l2g report REC --available ... --out report.pdf``) and the viewer's download
button both call it.

The page
--------
A4 (297 x 210 mm) or Letter (279.4 x 215.9 mm), landscape (:data:`PAPERS`). The figure is the
paper size in inches and its one axes spans the whole page with data units of millimetres, so a
trace is placed at ``x = x0 + t * speed`` and ``y = baseline + v * gain`` mm: 1 s is exactly
25.0 mm at 25 mm/s and 1 mV exactly 10.0 mm at 10 mm/mV (``tests/test_report.py`` measures both
in the PDF's own drawing commands). Printed at 100 % ("actual size", not "fit to page") the
paper says what the footer says.

* Speed 25 or 50 mm/s (:data:`SPEEDS`), gain 5, 10 or 20 mm/mV (:data:`GAINS`); the 1-mm / 5-mm
  grid is the same at every setting (at 25 mm/s and 10 mm/mV one small square is 0.04 s and
  0.1 mV).
* The classic layout (:data:`l2g.plots.LAYOUTS` ``"3x4"``): I II III / aVR aVL aVF / V1-V3 /
  V4-V6, each column a quarter of the window (2.5 s at 25 mm/s), then a Lead-II rhythm strip of
  the whole window (10 s at 25 mm/s, 5 s at 50 mm/s). A 1-mV, 0.2-s calibration pulse opens every
  row; traces are clipped to the grid (tall complexes may reach into the next row, as on a
  cart's print).
* Recorded leads solid black; generated leads dashed blue and labelled ``"<lead> generated"``
  with their trust grade (:func:`l2g.trust.trust_table`), so they stay apart in grey-scale
  print too; optionally the confidence band (``Record.interval``) as a light fill. A legend and
  the disclaimer (:data:`DISCLAIMER`) are in the footer.
* The header: record and patient data (name, identifiers and dates only when not de-identified),
  the cart's measurements and statements when the file has them (the statements labelled as the
  cart's reading of the originally recorded leads, :func:`l2g.interpretation.page_lines`), our
  whole-ECG measurements from the recorded leads (:func:`whole_ecg_measurements`: global PR / QRS / QT,
  axes; as the viewer's measurements table) and our Lead-II measurements (:func:`lead_ii_measurements`,
  as the viewer's morphology table).
* PDF metadata: title ``"L2G-ECG 12-lead report ..."``, producer ``"L2G-ECG <version>"``.

Examples
--------
>>> import l2g, tempfile, pathlib
>>> from l2g.demo import demo_record
>>> full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], method="linear")
>>> with tempfile.TemporaryDirectory() as tmp:
...     path = write_report_pdf(full, pathlib.Path(tmp) / "report.pdf", paper="Letter")
...     path.read_bytes()[:5]
b'%PDF-'
"""

from __future__ import annotations

import io
import math
import os
import textwrap
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from .interpretation import page_lines
from .paper import GAINS, SPEEDS
from .record import GENERATED, RECORDED, Metadata, Record

if TYPE_CHECKING:  # pandas and matplotlib only when a report is made
    import pandas as pd
    from matplotlib.axes import Axes

__all__ = [
    "PAPERS",
    "SPEEDS",
    "GAINS",
    "DEFAULT_FILTER",
    "DISCLAIMER",
    "PageGeometry",
    "page_geometry",
    "cart_measurement_items",
    "lead_ii_measurements",
    "whole_ecg_measurements",
    "report_figure",
    "report_pdf_bytes",
    "write_report_pdf",
]

#: Paper sizes, landscape: name -> (width, height) in mm.
PAPERS: dict[str, tuple[float, float]] = {"A4": (297.0, 210.0), "Letter": (279.4, 215.9)}
#: The display filter of a printed page (a key of :data:`l2g.plots.DISPLAY_FILTERS`), as a cart prints.
DEFAULT_FILTER = "0.05–150 Hz (diagnostic)"
#: Printed on every page.
DISCLAIMER = ("Generated leads are estimates, not recordings; L2G-ECG is research software, "
              "not a medical device.")

_MM_PER_INCH = 25.4
_TRACE_MM = 250.0  # width of the trace area: 10 s at 25 mm/s
_COLUMNS = 4  # columns of the 3x4 layout
_GRID_H_MM = 145.0  # height of the grid: three lead rows and the rhythm strip
_TOP_MM = 6.0  # page edge to the first header line (A4; a taller paper centres the page)
_HEADER_MM = 33.0  # room for the header above the grid
_RIGHT_LINES, _FOOTER_LINES = 9, 5  # cart statements and footer lines, at most (then "…")
_LEFT_CHARS, _RIGHT_CHARS, _FOOTER_CHARS = 100, 80, 175  # wrap widths at 7 pt
_CAL_S, _CAL_MV = 0.2, 1.0  # calibration pulse
_LINE_MM = 3.1  # header / footer line pitch
_TABLE_MM = 2.5  # the header's measurement table: four rows of numbers, a little closer
_SMALL_PT, _TITLE_PT = 7.0, 10.0
_COLOURS = {"grid_minor": "#f4c7c3", "grid_major": "#e08a80", RECORDED: "#000000", GENERATED: "#1f4fbf",
            "band": "#9ec3ff"}
_GENERATED_DASH = (0, (3.0, 1.4))  # points on, off: dashed, so generated leads stay apart in grey-scale
_TRACE_PT = 0.7


@dataclass(frozen=True)
class PageGeometry:
    """Where things go on the page (all in mm from the lower-left corner of the paper).

    Attributes
    ----------
    paper : str
        A key of :data:`PAPERS`.
    width, height : float
        The landscape page.
    speed, gain : float
        mm/s and mm/mV.
    x0 : float
        Left edge of the grid (the calibration pulses sit between it and :attr:`trace_x0`).
    trace_x0 : float
        Where time ``start`` of each row is drawn.
    grid_top, grid_bottom : float
    row_pitch : float
        Height of one of the four rows.
    baselines : tuple of float
        The 0-mV line of the three lead rows and the rhythm strip, top to bottom, on whole mm.
    """

    paper: str
    width: float
    height: float
    speed: float
    gain: float
    x0: float
    trace_x0: float
    grid_top: float
    grid_bottom: float
    row_pitch: float
    baselines: tuple[float, ...]

    @property
    def window_s(self) -> float:
        """Seconds across the trace area (the rhythm strip): 10 s at 25 mm/s."""
        return _TRACE_MM / self.speed

    @property
    def column_s(self) -> float:
        """Seconds per column of the 3x4 layout: 2.5 s at 25 mm/s."""
        return self.window_s / _COLUMNS

    @property
    def x1(self) -> float:
        """Right edge of the grid."""
        return self.trace_x0 + _TRACE_MM


def _choice(name: str, value: float, valid: tuple[float, ...], unit: str) -> float:
    v = float(value)
    if v not in valid:
        raise ValueError(f"write_report_pdf: {name} {v:g} {unit} is not offered; valid: "
                         f"{', '.join(f'{x:g}' for x in valid)}")
    return v


def page_geometry(paper: str = "A4", speed: float = 25.0, gain: float = 10.0) -> PageGeometry:
    """The layout of a report page.

    Parameters
    ----------
    paper : {"A4", "Letter"}
    speed : {25, 50}
        mm/s.
    gain : {5, 10, 20}
        mm/mV.

    Returns
    -------
    PageGeometry

    Raises
    ------
    ValueError
        For a paper, speed or gain not offered (the message names the valid ones).

    Examples
    --------
    >>> g = page_geometry("A4")
    >>> g.width, g.height, g.window_s, g.column_s, g.trace_x0 - g.x0
    (297.0, 210.0, 10.0, 2.5, 10.0)
    """
    if paper not in PAPERS:
        raise ValueError(f"write_report_pdf: paper {paper!r} is not offered; valid: {', '.join(PAPERS)}")
    speed = _choice("speed", speed, SPEEDS, "mm/s")
    gain = _choice("gain", gain, GAINS, "mm/mV")
    width, height = PAPERS[paper]
    gutter = 5.0 * math.ceil((_CAL_S * speed + 4.0) / 5.0)  # room for the pulse, on whole 5-mm squares
    x0 = round((width - gutter - _TRACE_MM) / 2.0, 1)
    top = height - (height - PAPERS["A4"][1]) / 2.0 - _TOP_MM - _HEADER_MM
    pitch = _GRID_H_MM / 4
    baselines = tuple(float(math.floor(top - pitch * (i + 0.5) - 0.12 * pitch)) for i in range(4))
    return PageGeometry(paper, width, height, speed, gain, x0, x0 + gutter, top, top - _GRID_H_MM, pitch, baselines)


# ------------------------------------------------------------------ header text
def _num(value: float | None, fmt: str = "{:.0f}") -> str:
    return "—" if value is None or not np.isfinite(value) else fmt.format(value)


def cart_measurement_items(meta: Metadata) -> list[str]:
    """The cart's own measurements as short items, e.g. ``["HR 72 bpm", "PR 160 ms", "QT/QTc 380/410 ms"]``.

    Heart rate from :func:`l2g.morphology.cart_intervals` (the cart's rate, else from its RR); PR and
    QRS; QT and QTc together; the P/QRS/T axes (``"—"`` for one the cart did not give). Empty when
    the file has no measurements. The viewer's summary shows the same items.

    Examples
    --------
    >>> cart_measurement_items(Metadata(measurements={"RR_ms": 800.0, "QRS_ms": 92.0, "QRS_axis_deg": 45.0}))
    ['HR 75 bpm', 'QRS 92 ms', 'axes P/QRS/T —/45/—°']
    """
    from .morphology import cart_intervals

    m, cart = meta.measurements, cart_intervals(meta)
    items = [f"HR {cart['heart_rate_bpm']:.0f} bpm"] if "heart_rate_bpm" in cart else []
    items += [f"{name} {m[f'{name}_ms']:.0f} ms" for name in ("PR", "QRS") if f"{name}_ms" in m]
    qt = {name: m[f"{name}_ms"] for name in ("QT", "QTc") if f"{name}_ms" in m}
    if qt:
        items.append("/".join(qt) + " " + "/".join(f"{v:.0f}" for v in qt.values()) + " ms")
    axes = [m.get(f"{name}_axis_deg") for name in ("P", "QRS", "T")]
    if any(v is not None for v in axes):
        items.append("axes P/QRS/T " + "/".join(_num(v) for v in axes) + "°")
    return items


def lead_ii_measurements(record: Record) -> dict[str, float]:
    """Our Lead-II measurements of ``record``: :func:`l2g.morphology.intervals` of Lead II alone.

    Lead II is delineated on its own (``context=False``), as the viewer's morphology table does.

    Returns
    -------
    dict of str to float
        The :func:`~l2g.morphology.intervals` keys (``heart_rate_bpm``, ``pr_ms``, ``qrs_ms``,
        ``qt_ms``, ``qtc_ms``, ..., ``n_beats``); empty when the record has no Lead II or it cannot
        be delineated (too short, flat).
    """
    import warnings

    from .morphology import delineate_record, intervals

    if "II" not in record.present_leads:
        return {}
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return intervals(delineate_record(record, "II", context=False))
    except ValueError:
        return {}


def whole_ecg_measurements(record: Record) -> dict[str, str]:
    """Our whole-ECG measurements of ``record`` as printed: :func:`l2g.measurements.ecg_measurements` of its
    recorded leads (generated leads never time an interval or an axis), ``key -> text``.

    A number is whole (``"412"``), followed by ``*`` when read from a flat or noisy lead (unreliable), ``"—"``
    where it does not exist. Keys: ``heart_rate_bpm``, ``pr_ms``, ``qrs_ms``, ``qt_ms``, ``qtc_ms`` (Bazett,
    as the Lead-II row) and ``axes`` (``"P/QRS/T"``, e.g. ``"60/45/40"``); empty when nothing can be measured.
    """
    import warnings

    from .measurements import ecg_measurements

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            table = ecg_measurements(record).set_index("key")
    except ValueError:
        return {}

    def text(key: str) -> str:
        if key not in table.index:
            return "—"
        value, reliable = float(table.at[key, "value"]), bool(table.at[key, "reliable"])
        return _num(value) + ("" if reliable or not np.isfinite(value) else "*")

    out = {key: text(source) for key, source in (("heart_rate_bpm", "heart_rate_bpm"), ("pr_ms", "pr_ms"),
                                                 ("qrs_ms", "qrs_ms"), ("qt_ms", "qt_ms"),
                                                 ("qtc_ms", "qtc_bazett_ms"))}
    out["axes"] = "/".join(text(f"{wave}_axis_deg") for wave in ("p", "qrs", "t"))
    return out


def _identity_lines(record: Record) -> list[str]:
    """The fields and comments that :meth:`Record.deidentified` would remove: name, identifiers, birth date."""
    clean = record.deidentified().meta
    fields = [f"{k}: {v}" for k, v in record.meta.fields.items() if k not in clean.fields]
    comments = [c for c in record.meta.comments if c not in clean.comments]
    return fields + comments


def _grade_text(trust: pd.DataFrame | None) -> dict[str, str]:
    return {} if trust is None else {str(k): str(v) for k, v in trust["grade"].items()}


def _wrapped(lines: list[str], width: int, limit: int) -> list[str]:
    """``lines`` wrapped at ``width`` characters, at most ``limit`` lines (the last one then says how many more)."""
    out = [part for line in lines for part in (textwrap.wrap(line, width, subsequent_indent="   ") or [""])]
    if len(out) <= limit:
        return out
    return out[: limit - 1] + [f"… ({len(out) - limit + 1} more lines not shown: see the file)"]


#: Columns of the header's measurement table: (heading, intervals() key or None for the axes).
_TABLE = (("HR bpm", "heart_rate_bpm"), ("PR ms", "pr_ms"), ("QRS ms", "qrs_ms"), ("QT ms", "qt_ms"),
          ("QTc ms", "qtc_ms"), ("P/QRS/T axes °", None))


def _table(page: Record) -> list[list[str]]:
    """The header's measurement table: a heading row, the cart's row, our whole-ECG row, our Lead-II row
    ("—" where none)."""
    from .morphology import cart_intervals

    cart, ours, whole = cart_intervals(page.meta), lead_ii_measurements(page), whole_ecg_measurements(page)
    unreliable = any(v.endswith("*") or "*/" in v for v in whole.values())
    axes = [page.meta.measurements.get(f"{name}_axis_deg") for name in ("P", "QRS", "T")]
    ii = {RECORDED: "recorded", GENERATED: "generated"}.get(page.status_of("II"), "absent")
    rows = [["", *(head for head, _ in _TABLE)],
            ["Cart, its recorded leads" if cart or any(v is not None for v in axes) else "Cart: none in the file",
             *(_num(cart.get(key)) for _, key in _TABLE[:-1]),
             "/".join(_num(v) for v in axes) if any(v is not None for v in axes) else "—"],
            ["L2G-ECG, whole ECG (* unreliable)" if unreliable else "L2G-ECG, whole ECG, recorded leads",
             *(whole.get(key, "—") for _, key in _TABLE[:-1]), whole.get("axes", "—")],
            [f"L2G-ECG, Lead II ({ii}); QTc Bazett",
             *(_num(ours.get(key)) for _, key in _TABLE[:-1]), "—"]]
    return rows


def _header(page: Record, shown: tuple[float, float], duration: float, deidentify: bool,
            trust: pd.DataFrame | None, trust_note: str) -> tuple[str, list[str], list[list[str]], list[str],
                                                              list[str]]:
    """(title, info lines, measurement table, generated-lead lines, cart statement lines) of the header."""
    meta = page.meta
    title = "12-lead ECG" + ("" if deidentify else f" · {page.name}")
    info = []
    if deidentify:
        info.append("De-identified: no name, identifiers or dates.")
    else:
        ident = _identity_lines(page)
        info.append(" · ".join(ident) if ident else "Patient: no name or identifier in the file.")
    sex = {"M": "male", "F": "female"}.get(meta.sex or "", "—")
    about = [f"Age {meta.age:g} y" if meta.age is not None else "Age —", f"sex {sex}"]
    if meta.acquired and not deidentify:
        about.append(f"acquired {meta.acquired.replace('T', ' ')}")
    if meta.device:
        about.append(f"device {meta.device}")
    info.append(" · ".join(about))
    info.append(f"Shown {shown[0]:.1f}–{shown[1]:.1f} s of {duration:.1f} s · {page.fs:g} Hz · "
                f"{len(page.recorded_leads)} recorded, {len(page.generated_leads)} generated leads")
    generated = []
    if page.generated_leads:
        grades = _grade_text(trust)
        prov = page.meta.provenance
        gen = ", ".join(f"{lead} {grades[lead]}" if lead in grades else lead for lead in page.generated_leads)
        source = f" from {', '.join(prov.available)} by {prov.method} {prov.model_version}" if prov else ""
        if prov is not None and prov.prior:  # personalised mode (l2g.personal): named on the paper too
            source += f"; personalised mode: corrected on the {prov.prior}"
        generated.append(f"Generated (estimates, not recordings; grade after the lead): {gen}{source}."
                         if grades else f"Generated (estimates, not recordings): {gen}{source}. No trust grade: "
                         f"{trust_note}.")
    statements = page_lines(page)  # heading (the cart's reading of the recorded leads), then worst first
    return (title, _wrapped(info, _LEFT_CHARS, 3), _table(page), _wrapped(generated, _LEFT_CHARS, 3),
            _wrapped(statements, _RIGHT_CHARS, _RIGHT_LINES))


def _footer(g: PageGeometry, filter_label: str, trust: pd.DataFrame | None) -> list[str]:
    """Settings, the grades in words (when graded), the disclaimer: the footer lines under the legend."""
    from .grades import grade_legend

    lines = [f"{g.speed:g} mm/s · {g.gain:g} mm/mV · calibration pulse 1 mV × 0.2 s · small square 1 mm = "
             f"{1 / g.speed:.2f} s × {1 / g.gain:.2f} mV · {g.column_s:g} s per column · filter: {filter_label} · "
             f"{g.paper} landscape: print at 100 % (actual size), not fit to page."]
    if trust is not None:
        lines.append("Trust grades: " + grade_legend(trust.attrs.get("grade_rule")).replace("**", "") + ".")
    return _wrapped(lines, _FOOTER_CHARS, _FOOTER_LINES - 1) + [DISCLAIMER]


# ------------------------------------------------------------------ drawing
def _grid(ax: Axes, g: PageGeometry) -> None:
    from matplotlib.collections import LineCollection

    for step, colour, width in ((1.0, _COLOURS["grid_minor"], 0.25), (5.0, _COLOURS["grid_major"], 0.6)):
        xs = g.x0 + step * np.arange(int(round((g.x1 - g.x0) / step)) + 1)
        ys = g.grid_bottom + step * np.arange(int(round(_GRID_H_MM / step)) + 1)
        segs = [((x, g.grid_bottom), (x, g.grid_top)) for x in xs] + [((g.x0, y), (g.x1, y)) for y in ys]
        ax.add_collection(LineCollection(segs, colors=colour, linewidths=width, zorder=1))


def _calibration(ax: Axes, g: PageGeometry, baseline: float) -> None:
    a = g.x0 + 1.5
    w = _CAL_S * g.speed
    h = _CAL_MV * g.gain
    ax.plot([a, a + 1, a + 1, a + 1 + w, a + 1 + w, a + 2 + w], [baseline, baseline, baseline + h, baseline + h,
            baseline, baseline], color="black", lw=_TRACE_PT, zorder=4, solid_joinstyle="miter")


def _trace(ax: Axes, g: PageGeometry, page: Record, lead: str, t0: float, t1: float, x: float, baseline: float,
           band: bool, clip) -> None:
    """Draw ``lead`` between ``t0`` and ``t1`` s of the page starting at ``x`` mm on ``baseline``."""
    status = page.status_of(lead)
    if status not in (RECORDED, GENERATED):
        return
    a, b = int(round(t0 * page.fs)), min(int(round(t1 * page.fs)), page.n_samples)
    if b - a < 2:
        return
    i = page.leads.index(lead)
    xs = x + (np.arange(a, b) / page.fs - t0) * g.speed
    if band and status == GENERATED and page.interval is not None:
        low, high = page.interval[0][i, a:b], page.interval[1][i, a:b]
        if np.isfinite(low).all() and np.isfinite(high).all() and (high - low).max() > 1e-6:  # exact leads: none
            fill = ax.fill_between(xs, baseline + low * g.gain, baseline + high * g.gain, color=_COLOURS["band"],
                                   alpha=0.55, lw=0, zorder=2)
            fill.set_clip_path(clip)
    style = {"linestyle": _GENERATED_DASH} if status == GENERATED else {}
    (line,) = ax.plot(xs, baseline + page.signal[i, a:b] * g.gain, color=_COLOURS[status], lw=_TRACE_PT, zorder=3,
                      solid_joinstyle="round", **style)
    line.set_clip_path(clip)


def _label(ax: Axes, x: float, y: float, lead: str, status: str, grade: str | None, suffix: str = "") -> None:
    text = lead + suffix
    if status == GENERATED:
        text += " generated" + (f" · grade {grade}" if grade else "")
    ax.text(x, y, text, fontsize=_SMALL_PT, va="top", ha="left", zorder=5,
            color=_COLOURS.get(status, "black"), fontweight="bold", style="italic" if status == GENERATED else "normal",
            bbox={"facecolor": "white", "edgecolor": "none", "alpha": 0.85, "pad": 0.6})


def _lines(ax: Axes, x: float, y: float, lines: list[str], **style) -> None:
    for k, line in enumerate(lines):
        ax.text(x, y - k * _LINE_MM, line, fontsize=_SMALL_PT, va="top", ha="left", **style)


def _legend(ax: Axes, g: PageGeometry, y: float, band: bool) -> None:
    x = g.x0
    ax.plot([x, x + 8], [y, y], color=_COLOURS[RECORDED], lw=_TRACE_PT)
    ax.text(x + 9.5, y, "recorded lead", fontsize=_SMALL_PT, va="center")
    x += 34
    ax.plot([x, x + 8], [y, y], color=_COLOURS[GENERATED], lw=_TRACE_PT, linestyle=_GENERATED_DASH)
    ax.text(x + 9.5, y, "generated lead (dashed; an estimate, with its trust grade)", fontsize=_SMALL_PT,
            va="center", color=_COLOURS[GENERATED], style="italic")
    x += 92
    if band:
        ax.fill_between([x, x + 8], [y - 1.2] * 2, [y + 1.2] * 2, color=_COLOURS["band"], alpha=0.55, lw=0)
        ax.text(x + 9.5, y, "confidence band of a generated lead", fontsize=_SMALL_PT, va="center")


def report_figure(full: Record, *, paper: str = "A4", speed: float = 25.0, gain: float = 10.0,
                  start_s: float = 0.0, band: bool = False, deidentify: bool = False,
                  display_filter: str = DEFAULT_FILTER, trust: pd.DataFrame | None = None, model: Any = None):
    """The report page as a matplotlib Figure (paper size in inches; one axes in mm over the whole page).

    Parameters are those of :func:`write_report_pdf`.

    Returns
    -------
    matplotlib.figure.Figure
        ``fig.l2g_title`` holds the title for the PDF metadata.
    """
    from matplotlib.figure import Figure
    from matplotlib.patches import Rectangle

    from . import __version__
    from .plots import DISPLAY_FILTERS, LAYOUTS
    from .plots import display_filter as apply_filter

    g = page_geometry(paper, speed, gain)
    if display_filter not in DISPLAY_FILTERS:
        raise ValueError(f"write_report_pdf: display filter {display_filter!r} is not known; valid: "
                         f"{', '.join(DISPLAY_FILTERS)}")
    if not 0.0 <= start_s < full.duration:
        raise ValueError(f"write_report_pdf: start {start_s:g} s is outside the record (0..{full.duration:.1f} s)")
    if band and full.interval is None:
        raise ValueError(f"write_report_pdf: {full.name} has no band; reconstruct it with interval=0.9 first")
    stop = min(start_s + g.window_s, full.duration)
    page = full.standardize().crop(start_s, stop)
    trust, note = _trust(page, trust, model)
    title, info, table, generated, statements = _header(page, (start_s, stop), full.duration, deidentify, trust,
                                                        note)
    shown, filter_label = apply_filter(page, display_filter)
    grades = _grade_text(trust)

    fig = Figure(figsize=(g.width / _MM_PER_INCH, g.height / _MM_PER_INCH))
    ax = fig.add_axes((0.0, 0.0, 1.0, 1.0))
    ax.set_xlim(0.0, g.width)
    ax.set_ylim(0.0, g.height)
    ax.set_axis_off()
    # header
    y = g.grid_top + _HEADER_MM
    ax.text(g.x0, y, title, fontsize=_TITLE_PT, fontweight="bold", va="top")
    ax.text(g.x1, y, f"L2G-ECG {__version__}", fontsize=_SMALL_PT, va="top", ha="right")
    _lines(ax, g.x0, y - 4.5, info)
    top = y - 4.5 - _LINE_MM * len(info)
    for r, row in enumerate(table):
        for c, cell in enumerate(row):
            ax.text(g.x0 + (0.0 if c == 0 else 56.0 + 13.0 * (c - 1)), top - r * _TABLE_MM, cell, fontsize=_SMALL_PT,
                    va="top", fontweight="bold" if r == 0 else "normal")
    _lines(ax, g.x0, top - _TABLE_MM * len(table), generated)
    _lines(ax, g.x0 + 150.0, y - 4.5, statements)
    # grid, pulses, traces
    _grid(ax, g)
    clip = Rectangle((g.x0, g.grid_bottom), g.x1 - g.x0, _GRID_H_MM, transform=ax.transData)
    rows, _, rhythm = LAYOUTS["3x4"]
    for r, base in enumerate(g.baselines):
        _calibration(ax, g, base)
        label_y = g.grid_top - g.row_pitch * r - 1.0
        leads = rows[r] if r < len(rows) else (rhythm,)
        span = g.column_s if r < len(rows) else g.window_s
        for c, lead in enumerate(leads):
            x = g.trace_x0 + c * span * g.speed
            _trace(ax, g, shown, lead, c * span, (c + 1) * span, x, base, band, clip)
            _label(ax, x + 1.0, label_y, lead, shown.status_of(lead), grades.get(lead),
                   " (rhythm)" if r == len(rows) else "")
            if c:  # the column boundary, as a cart marks it
                ax.plot([x, x], [base - 3, base + 3], color="black", lw=0.5, zorder=4)
    # footer
    y = g.grid_bottom - 3.0
    _legend(ax, g, y, band and full.interval is not None)
    footer = _footer(g, filter_label, trust)
    _lines(ax, g.x0, y - 2.6, footer[:-1])
    ax.text(g.x0, y - 2.6 - _LINE_MM * (len(footer) - 1), footer[-1], fontsize=_SMALL_PT, va="top",
            fontweight="bold")
    fig.l2g_title = "L2G-ECG 12-lead report" + (" (de-identified)" if deidentify else f": {full.name}")
    return fig


def _trust(page: Record, trust: pd.DataFrame | None, model: Any) -> tuple[pd.DataFrame | None, str]:
    """The trust table of the page's generated leads (given, or computed), or None and why not."""
    if not page.generated_leads:
        return None, "no generated lead"
    if trust is not None:
        return (trust.set_index("lead") if "lead" in trust.columns else trust), ""
    from .trust import trust_table

    try:
        return trust_table(page, model=model).set_index("lead"), ""
    except (ValueError, OSError) as exc:  # no calibration, another generator's, no provenance
        return None, " ".join(str(exc).split()).rstrip(".")


def report_pdf_bytes(full: Record, **options: Any) -> bytes:
    """:func:`write_report_pdf` as bytes (for a download); the options are the same."""
    from . import __version__

    fig = report_figure(full, **options)
    buf = io.BytesIO()
    fig.savefig(buf, format="pdf", metadata={"Title": fig.l2g_title, "Producer": f"L2G-ECG {__version__}",
                                             "Creator": f"L2G-ECG {__version__} (matplotlib)"})
    return buf.getvalue()


def write_report_pdf(full: Record, path: str | os.PathLike[str], *, paper: str = "A4", speed: float = 25.0,
                     gain: float = 10.0, start_s: float = 0.0, band: bool = False, deidentify: bool = False,
                     display_filter: str = DEFAULT_FILTER, trust: pd.DataFrame | None = None,
                     model: Any = None) -> Path:
    """Write the one-page 12-lead report of ``full`` as a PDF at true paper scale.

    Parameters
    ----------
    full : Record
        A reconstruction (:func:`l2g.reconstruct`) or any record; its generated leads are drawn
        dashed and labelled, with their trust grade.
    path : str or Path
        The PDF to write; its folder is created.
    paper : {"A4", "Letter"}
        Landscape.
    speed : {25, 50}
        Paper speed, mm/s: the page shows 10 s (25) or 5 s (50).
    gain : {5, 10, 20}
        mm/mV.
    start_s : float
        The first second shown (a longer record shows one window).
    band : bool
        Draw the confidence band of the generated leads (``full.interval``, which must be set).
    deidentify : bool
        No record name, patient name, identifiers or dates anywhere in the PDF (age and sex kept).
    display_filter : str
        A key of :data:`l2g.plots.DISPLAY_FILTERS`, applied to the drawn traces only (the
        measurements and grades are made on the unfiltered page).
    trust : pandas.DataFrame, optional
        :func:`l2g.trust.trust_table` of ``full`` (indexed by lead, or with a ``lead``
        column); None: computed here when ``full`` has generated leads, and when it cannot be
        (no calibration, one for another generator) the page says why instead of a grade.
    model : l2g.reconstruction.Reconstructor, optional
        For the computed trust table (its linear baseline); default the shipped one.

    Returns
    -------
    Path
        ``path``.

    Raises
    ------
    ValueError
        A paper, speed, gain or filter not offered, a start outside the record, ``band`` without
        a band (the messages name the valid choices).
    """
    path = Path(path)
    data = report_pdf_bytes(full, paper=paper, speed=speed, gain=gain, start_s=start_s, band=band,
                            deidentify=deidentify, display_filter=display_filter, trust=trust, model=model)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path
