"""ECG paper: the speeds and gains offered, for the screen chart (l2g.plots) and the printed page (l2g.report).

A helper both need, below both (no import of either).
"""

from __future__ import annotations

__all__ = ["PAPER_SPEED_MM_S", "GAIN_MM_MV", "SPEEDS", "GAINS"]

#: The standard paper speed (mm/s) and gain (mm/mV): 1 mm = 0.04 s = 0.1 mV.
PAPER_SPEED_MM_S = 25.0
GAIN_MM_MV = 10.0
#: Paper speeds offered (mm/s).
SPEEDS: tuple[float, ...] = (25.0, 50.0)
#: Gains offered (mm/mV).
GAINS: tuple[float, ...] = (5.0, 10.0, 20.0)
