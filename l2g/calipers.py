"""ECG calipers: two points on a trace give an interval, a rate and an amplitude difference.

As on paper, a caliper is set on two points of one lead; its interval can then be "marched"
along the strip (the same interval stepped forward and back) and carried to the other leads,
to see whether the rhythm is regular or where a wave begins in another lead.
No Streamlit here: the viewer keeps the clicked points in its session state and calls these.

Examples
--------
>>> a, b = CaliperPoint(1.00, 0.10, "II"), CaliperPoint(1.80, 1.25, "II")
>>> r = caliper_reading(a, b)
>>> round(r.dt_ms), round(r.rate_bpm), round(r.dmv, 2)
(800, 75, 1.15)
>>> reading_text(r)
'Δt 800 ms · 75 bpm · ΔV +1.15 mV (II)'
>>> marching_times(a.t_s, b.t_s, 0.0, 4.0).round(2).tolist()
[0.2, 1.0, 1.8, 2.6, 3.4]
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["CaliperPoint", "CaliperReading", "caliper_reading", "marching_times", "reading_text",
           "point_from_selection", "next_points"]


@dataclass(frozen=True)
class CaliperPoint:
    """One caliper leg: a time in the record (s), the trace's value there (mV) and its lead."""

    t_s: float
    mv: float
    lead: str


@dataclass(frozen=True)
class CaliperReading:
    """What two caliper legs read.

    Attributes
    ----------
    a, b : CaliperPoint
        The legs, in time order (``a`` first).
    dt_ms : float
        Interval ``b - a`` in milliseconds (never negative).
    rate_bpm : float
        ``60000 / dt_ms``: the rate if the interval is one cycle (inf for zero).
    dmv : float or None
        ``b.mv - a.mv`` in mV when both legs are on the same lead, else None (a voltage
        difference between two leads means nothing).
    """

    a: CaliperPoint
    b: CaliperPoint
    dt_ms: float
    rate_bpm: float
    dmv: float | None


def caliper_reading(p: CaliperPoint, q: CaliperPoint) -> CaliperReading:
    """Δt (ms), rate (bpm) and ΔV (mV, same lead only) between two points, in either order."""
    a, b = sorted((p, q), key=lambda point: point.t_s)
    dt_ms = 1000.0 * (b.t_s - a.t_s)
    rate = 60000.0 / dt_ms if dt_ms > 0 else math.inf
    return CaliperReading(a, b, dt_ms, rate, b.mv - a.mv if a.lead == b.lead else None)


def marching_times(t_a: float, t_b: float, start_s: float, stop_s: float) -> np.ndarray:
    """Every ``t_a + k (t_b - t_a)`` (integer k, both signs) within ``[start_s, stop_s]``, ascending.

    The interval marched along the strip; ``t_a`` and ``t_b`` are among them when inside.
    Empty for a zero interval.
    """
    dt = abs(t_b - t_a)
    t0 = min(t_a, t_b)
    if dt <= 0 or stop_s < start_s:
        return np.empty(0)
    k = np.arange(math.ceil((start_s - t0) / dt - 1e-9), math.floor((stop_s - t0) / dt + 1e-9) + 1)
    return t0 + k * dt


def reading_text(r: CaliperReading) -> str:
    """One line: ``Δt 800 ms · 75 bpm · ΔV +1.15 mV (II)`` (ΔV only for two legs on one lead)."""
    rate = f"{r.rate_bpm:.0f} bpm" if math.isfinite(r.rate_bpm) else "— bpm"
    volts = (f" · ΔV {r.dmv:+.2f} mV ({r.a.lead})" if r.dmv is not None
             else f" · ΔV — ({r.a.lead} to {r.b.lead}: two leads)")
    return f"Δt {r.dt_ms:.0f} ms · {rate}{volts}"


def point_from_selection(point: Mapping, curve_leads: Sequence[str | None]) -> CaliperPoint | None:
    """A caliper leg from one clicked Plotly point, or None when it is not on a lead's trace.

    Parameters
    ----------
    point : mapping
        One point of a Plotly selection as Streamlit returns it (``x``, ``curve_number``,
        ``customdata``: the trace's value in mV, as :func:`l2g.plots.ecg_figure` stores it).
    curve_leads : sequence
        The lead of each trace of the figure clicked (None for traces that are not a lead's:
        calibration, band, marks), e.g. ``[t.meta for t in fig.data]``.
    """
    k = point.get("curve_number")
    x = point.get("x")
    if not isinstance(k, int) or not 0 <= k < len(curve_leads) or curve_leads[k] is None or x is None:
        return None
    mv = point.get("customdata")
    if isinstance(mv, (list, tuple)):
        mv = mv[0] if mv else None
    return CaliperPoint(float(x), float(mv) if mv is not None else math.nan, str(curve_leads[k]))


def next_points(points: Sequence[CaliperPoint], new: CaliperPoint) -> tuple[CaliperPoint, ...]:
    """The legs after a click: a first leg, then the second; a third click starts a new caliper."""
    return (*points, new) if len(points) == 1 else (new,)
