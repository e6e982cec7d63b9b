"""What a reader sees: a trial's traces on the ECG grid, every trace drawn alike.

:func:`trial_figure` takes plain arrays and panel labels, never a lead status:
it cannot tell a generated trace from a recorded one, so it cannot draw them
differently. Every trace has the same colour, width, hover template and kind of
name (the panel label); the grid, scale and calibration pulse are those of
:mod:`l2g.plots` (25 mm/s, 10 mm/mV).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import plotly.graph_objects as go

from ..plots import COLORS, MINOR_MV, MINOR_S, ecg_grid

__all__ = ["PAGE_ROWS", "trial_figure"]

#: A 12-lead page: I aVR V1 V4 / II aVL V2 V5 / III aVF V3 V6, 2.5 s per cell, and a Lead-II rhythm strip.
PAGE_ROWS: tuple[tuple[str, ...], ...] = (("I", "aVR", "V1", "V4"), ("II", "aVL", "V2", "V5"),
                                          ("III", "aVF", "V3", "V6"), ("II",))
_TRACE = dict(color=COLORS["recorded"], width=1.1)
_SPACING_MV = 3.0  # baseline to baseline


def trial_figure(panels: Sequence[str], signal: np.ndarray, fs: float, *, width_px: int = 1100) -> go.Figure:
    """The figure of one trial.

    Parameters
    ----------
    panels : sequence of str
        One label per row of ``signal``: ``("A", "B")`` (two traces of one lead,
        each a 10-s strip) or the 12 lead names (a 3x4 page with a Lead-II rhythm strip).
    signal : ndarray, shape (panels, samples)
        Millivolts.
    fs : float
        Sampling rate, Hz.
    width_px : int
        Nominal width used to choose the height (the grid stays square).

    Returns
    -------
    plotly.graph_objects.Figure

    Examples
    --------
    >>> x = np.zeros((2, 5000), dtype=np.float32)
    >>> fig = trial_figure(["A", "B"], x, 500.0)
    >>> [t.name for t in fig.data if t.name in ("A", "B")]
    ['A', 'B']
    """
    sig = np.asarray(signal, dtype=np.float32)
    if sig.ndim != 2 or sig.shape[0] != len(panels):
        raise ValueError(f"trial_figure: {len(panels)} panels for a signal of shape {sig.shape}")
    index = {p: i for i, p in enumerate(panels)}
    n = sig.shape[1]
    window = n / fs
    if set(PAGE_ROWS[0] + PAGE_ROWS[1] + PAGE_ROWS[2]) <= set(panels):
        rows = PAGE_ROWS
    else:
        rows = tuple((p,) for p in panels)
    fig = go.Figure()
    annotations = []
    cal_x: list[float | None] = []
    cal_y: list[float | None] = []
    for r, row in enumerate(rows):
        base = -r * _SPACING_MV
        cell = window / len(row)
        cal_x += [-0.35, -0.3, -0.3, -0.1, -0.1, -0.05, None]
        cal_y += [base, base, base + 1.0, base + 1.0, base, base, None]
        for c, label in enumerate(row):
            i0, i1 = int(round(c * cell * fs)), min(n, int(round((c + 1) * cell * fs)))
            t = np.arange(i0, i1) / fs
            y = sig[index[label], i0:i1]
            fig.add_trace(go.Scatter(x=t, y=y + base, customdata=y, mode="lines", name=label, showlegend=False,
                                     line=_TRACE, hovertemplate=f"{label} %{{x:.2f}} s %{{customdata:.2f}} mV"
                                                                "<extra></extra>"))
            annotations.append(dict(x=c * cell + 0.05, y=base + 1.25, text=f"<b>{label}</b>", showarrow=False,
                                    xanchor="left", font=dict(size=13, color="#111")))
    fig.add_trace(go.Scatter(x=cal_x, y=cal_y, mode="lines", showlegend=False, hoverinfo="skip",
                             line=dict(color=COLORS["calibration"], width=1.3)))
    y_top, y_bottom = 0.62 * _SPACING_MV, -(len(rows) - 1) * _SPACING_MV - 0.45 * _SPACING_MV
    x_range = [-0.4, window + 0.02]
    margin = dict(l=10, r=10, t=20, b=20)
    px_per_mm = (width_px - 20) / ((x_range[1] - x_range[0]) / MINOR_S)
    height = int(round((y_top - y_bottom) / MINOR_MV * px_per_mm)) + 40
    ecg_grid(fig, x_range, (y_bottom, y_top))
    fig.update_layout(annotations=annotations, height=height, margin=margin, paper_bgcolor="white",
                      plot_bgcolor=COLORS["paper"], hovermode="closest", dragmode="zoom", showlegend=False,
                      font=dict(family="Arial, Helvetica, sans-serif", color="#111"))
    return fig
