"""Calipers: interval, rate and amplitude from two points; the interval marched along the strip."""

from __future__ import annotations

import math

import numpy as np
import pytest

from l2g.calipers import (
    CaliperPoint,
    caliper_reading,
    marching_times,
    next_points,
    point_from_selection,
    reading_text,
)


def test_reading_of_two_points_on_one_lead_in_either_order() -> None:
    a, b = CaliperPoint(2.0, -0.2, "V2"), CaliperPoint(2.6, 1.3, "V2")
    for p, q in ((a, b), (b, a)):
        r = caliper_reading(p, q)
        assert (r.a, r.b) == (a, b)  # time order
        assert r.dt_ms == pytest.approx(600.0) and r.rate_bpm == pytest.approx(100.0)
        assert r.dmv == pytest.approx(1.5)
    assert reading_text(caliper_reading(a, b)) == "Δt 600 ms · 100 bpm · ΔV +1.50 mV (V2)"


def test_two_leads_give_an_interval_but_no_voltage_difference() -> None:
    r = caliper_reading(CaliperPoint(1.0, 0.5, "II"), CaliperPoint(1.25, 0.0, "V5"))
    assert r.dt_ms == pytest.approx(250.0) and r.rate_bpm == pytest.approx(240.0) and r.dmv is None
    assert reading_text(r) == "Δt 250 ms · 240 bpm · ΔV — (II to V5: two leads)"


def test_one_point_twice_is_a_zero_interval_without_a_rate() -> None:
    p = CaliperPoint(1.0, 0.5, "II")
    r = caliper_reading(p, p)
    assert r.dt_ms == 0 and math.isinf(r.rate_bpm) and "— bpm" in reading_text(r)
    assert marching_times(1.0, 1.0, 0.0, 10.0).size == 0


def test_marching_steps_the_interval_both_ways_within_the_window() -> None:
    times = marching_times(3.3, 4.1, 0.0, 10.0)
    assert np.allclose(np.diff(times), 0.8)
    assert times[0] == pytest.approx(0.1) and times[-1] == pytest.approx(9.7)
    assert np.isclose(times, 3.3).any() and np.isclose(times, 4.1).any()
    assert np.allclose(marching_times(4.1, 3.3, 0.0, 10.0), times)  # legs in either order
    assert np.allclose(marching_times(0.0, 2.5, 0.0, 10.0), [0.0, 2.5, 5.0, 7.5, 10.0])  # ends included


def test_points_from_a_plotly_selection() -> None:
    leads = [None, "I", "II"]  # e.g. a legend key, then two leads' traces
    p = point_from_selection({"curve_number": 2, "point_index": 10, "x": 1.5, "y": -3.2, "customdata": 0.8}, leads)
    assert p == CaliperPoint(1.5, 0.8, "II")
    listed = {"curve_number": 1, "x": 0.2, "customdata": [0.3]}  # customdata as a list
    assert point_from_selection(listed, leads) == CaliperPoint(0.2, 0.3, "I")
    for bad in ({"curve_number": 0, "x": 1.0}, {"curve_number": 7, "x": 1.0}, {"x": 1.0}, {"curve_number": 1}):
        assert point_from_selection(bad, leads) is None  # not a lead's trace, or not a point
    assert math.isnan(point_from_selection({"curve_number": 1, "x": 0.2}, leads).mv)


def test_clicks_set_the_first_leg_then_the_second_then_start_again() -> None:
    p, q, r = (CaliperPoint(t, 0.0, "II") for t in (1.0, 2.0, 3.0))
    assert next_points((), p) == (p,)
    assert next_points((p,), q) == (p, q)
    assert next_points((p, q), r) == (r,)
