"""ECG-grid figures: true paper scale, colours, layouts, overlays, markers, filters."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from l2g import plots
from l2g.calipers import CaliperPoint
from l2g.leads import LEADS
from l2g.reconstruction import load_reconstructor, reconstruct
from tests.ecg_factory import synthetic_record

AVAILABLE = ("I", "II", "V1", "V3", "V5")


@pytest.fixture(scope="module")
def real():
    return synthetic_record(duration_s=10.0, seed=3, name="r")


@pytest.fixture(scope="module")
def out(real):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # the linear fallback warns while the model weights are missing
        model = load_reconstructor()
    return reconstruct(real, AVAILABLE, model=model)


def by_kind(fig, prefix: str) -> list:
    """The drawn traces of one kind (not its legend key)."""
    return [t for t in fig.data if t.legendgroup == prefix and t.meta != "legend key"]


def lightness(color: str) -> float:
    """CIE L* (0 black .. 100 white) of a ``#rrggbb`` colour: how it prints in grey-scale."""
    rgb = np.array([int(color[i:i + 2], 16) / 255 for i in (1, 3, 5)])
    linear = np.where(rgb <= 0.04045, rgb / 12.92, ((rgb + 0.055) / 1.055) ** 2.4)
    y = float(linear @ [0.2126, 0.7152, 0.0722])
    return 116 * y ** (1 / 3) - 16 if y > 216 / 24389 else 24389 / 27 * y


def test_grid_is_true_ecg_paper(real) -> None:
    fig = plots.ecg_figure(real, width_px=1000)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    # 1 mm = 0.04 s = 0.1 mV, major every 5 mm
    assert (x.dtick, x.minor.dtick, y.dtick, y.minor.dtick) == pytest.approx((0.2, 0.04, 0.5, 0.1))
    assert y.scaleanchor == "x" and y.scaleratio == pytest.approx(0.04 / 0.1)
    # the chosen height gives the same number of pixels per mm on both axes
    m = fig.layout.margin
    x_mm = (x.range[1] - x.range[0]) / 0.04
    y_mm = (y.range[1] - y.range[0]) / 0.1
    px_x = (1000 - m.l - m.r) / x_mm
    px_y = (fig.layout.height - m.t - m.b) / y_mm
    assert px_y == pytest.approx(px_x, rel=0.01)
    assert 2.5 < px_x < 6  # legible: a 1-mm square is a few pixels wide
    assert x.showticklabels is False and y.showticklabels is False


def test_3x4_layout_cells_rhythm_strip_and_labels(real) -> None:
    fig = plots.ecg_figure(real, layout="3x4")
    recorded = by_kind(fig, "recorded")
    assert len(recorded) == 13  # 12 cells of 2.5 s + the 10-s Lead-II rhythm strip
    labels = [a.text for a in fig.layout.annotations if a.text.startswith("<b>")]
    assert labels == [f"<b>{lead}</b>" for lead in ("I", "aVR", "V1", "V4", "II", "aVL", "V2", "V5",
                                                     "III", "aVF", "V3", "V6", "II")]
    # column c shows seconds 2.5c .. 2.5(c+1) of the record, at its true time
    starts = sorted({round(t.x0, 3) for t in recorded})
    assert starts == [0.0, 2.5, 5.0, 7.5]
    rhythm = max(recorded, key=lambda t: len(t.y))
    assert len(rhythm.y) == 5000 and rhythm.dx == pytest.approx(1 / 500)
    for t in recorded:
        assert t.line.color == plots.COLORS["recorded"]
        # hover gives the true mV value; y is shifted to the row baseline, or clipped at the row's edge
        offset = np.asarray(t.y) - np.asarray(t.customdata)
        shifted = np.abs(offset - np.median(offset)) < 1e-4
        assert shifted.mean() > 0.95
        edge = np.abs(np.asarray(t.y)[~shifted] - np.median(np.asarray(t.y)))
        assert np.all(edge > 0.5)  # a clipped sample sits at its row's edge, far from the baseline
    # a calibration pulse of 1 mV x 0.2 s at the start of each of the 4 rows
    cal = next(t for t in fig.data if t.name == "1 mV calibration")
    xs = np.array([v for v in cal.x if v is not None], float)
    ys = np.array([v for v in cal.y if v is not None], float)
    assert np.sum([v is None for v in cal.x]) == 4
    assert np.ptp(ys[:6]) == pytest.approx(1.0)
    assert xs[3] - xs[1] == pytest.approx(0.2)
    foot = fig.layout.annotations[-1].text
    assert "25 mm/s" in foot and "10 mm/mV" in foot and "500 Hz" in foot


def test_generated_leads_overlaid_on_the_real_ones(real, out) -> None:
    fig = plots.ecg_figure(out, reference=real, baseline=out)
    gen = by_kind(fig, "generated")
    ref = by_kind(fig, "real")
    base = by_kind(fig, "baseline")
    n_generated_cells = sum(1 for row in plots.LAYOUTS["3x4"][0] for lead in row if lead not in AVAILABLE)
    assert len(gen) == len(ref) == len(base) == n_generated_cells
    assert {t.line.color for t in gen} == {plots.COLORS["generated"]}
    assert {t.line.color for t in ref} == {plots.COLORS["real"]}
    assert {t.line.dash for t in base} == {"dash"}
    assert gen[0].name.startswith("generated (") and ref[0].name == "real (hidden from the generator)"
    # one legend entry per kind
    legend = [t.name for t in fig.data if t.showlegend is not False and t.name]
    assert len(legend) == len(set(legend))
    assert "(gen)" in " ".join(a.text for a in fig.layout.annotations)
    assert "generated from I, II, V1, V3, V5" in fig.layout.annotations[-1].text


@pytest.mark.parametrize("layout, cells, window", [("6x2", 12, 10.0), ("12x1", 12, 10.0), ([["V2"]], 1, 10.0)])
def test_other_layouts(real, layout, cells, window) -> None:
    fig = plots.ecg_figure(real, layout=layout)
    assert len(by_kind(fig, "recorded")) == cells
    assert fig.layout.xaxis.range[1] == pytest.approx(window + 0.02)


def test_unknown_layout_is_an_error(real) -> None:
    with pytest.raises(ValueError, match="unknown layout"):
        plots.ecg_figure(real, layout="4x3")


def test_window_start_and_absent_leads(real) -> None:
    long = synthetic_record(duration_s=25.0, seed=4).mask(["I", "II", "V2"])
    fig = plots.ecg_figure(long, start_s=12.0)
    assert min(t.x0 for t in by_kind(fig, "recorded")) == pytest.approx(12.0)
    assert fig.layout.xaxis.range[0] == pytest.approx(12.0 - 0.4)
    assert sum(a.text == "absent" for a in fig.layout.annotations) == 12 - 3  # the 9 cells without a trace


def test_wave_marks_on_the_rhythm_strip_only(real) -> None:
    waves = {"p_on": np.array([1.0, 3.0, 11.0]), "p_off": np.array([1.1]), "qrs_on": np.array([1.2]),
             "qrs_off": np.array([1.3]), "t_on": np.array([]), "t_off": np.array([1.6])}
    fig = plots.ecg_figure(real, waves=waves)
    marks = {t.name: t for t in fig.data if t.name and "on/offset" in t.name}
    assert set(marks) == {"P on/offset", "QRS on/offset", "T on/offset"}
    p_x = [v for v in marks["P on/offset"].x if v is not None]
    assert sorted(set(p_x)) == [1.0, 1.1, 3.0]  # 11 s is outside the window
    rhythm_y = -3 * plots._row_spacing(real, LEADS, 0, 10)  # the fourth band
    assert all(abs(v - rhythm_y) < 2.0 for v in marks["P on/offset"].y if v is not None)


def test_display_filters(real) -> None:
    for name in plots.DISPLAY_FILTERS:
        rec, label = plots.display_filter(real, name)
        assert rec.signal.shape == real.signal.shape and label
    assert plots.display_filter(real, "none (as recorded)") == (real, "no filter")
    low_rate = real.replace(fs=250.0)
    _, label = plots.display_filter(low_rate, "0.05–150 Hz (diagnostic)")
    assert label.startswith("0.05 Hz high-pass")  # 150 Hz is above Nyquist at 250 Hz: left out, and said so
    with pytest.raises(ValueError, match="unknown filter"):
        plots.display_filter(real, "1-2 Hz")


def test_training_curves_figure() -> None:
    history = pd.DataFrame({"epoch": [0, 1, 2], "train_mse": [0.03, 0.02, 0.015], "val_mse": [0.03, 0.025, 0.02],
                            "linear_val_mse": [0.029] * 3, "val_r": [0.78, 0.8, 0.81], "lr": [1e-3] * 3,
                            "adversarial": [False] * 3})
    fig = plots.training_curves_figure(history, title="run")
    names = {t.name: t for t in fig.data}
    assert set(names) == {"train_mse", "val_mse", "linear_val_mse", "val_r"}
    assert names["linear_val_mse"].line.dash == "dash"
    assert names["val_r"].xaxis == "x2"


def test_a_generated_reference_trace_is_never_drawn_as_real(out) -> None:
    fig = plots.ecg_figure(out, reference=out)  # e.g. a re-opened export: its generated leads are not real
    assert not by_kind(fig, "real") and by_kind(fig, "generated")


def test_notes_are_printed_above_the_chart_and_make_room_for_themselves(real) -> None:
    plain = plots.ecg_figure(real, title="t")
    long = "CRITICAL: " + "word " * 60  # wrapped at NOTE_CHARS
    fig = plots.ecg_figure(real, title="t", notes=["Cart interpretation (worst first):", ">>> Acute MI <<<", long])
    note, = [a for a in fig.layout.annotations if a.text.startswith("Cart interpretation")]
    lines = note.text.split("<br>")
    assert lines[:2] == ["Cart interpretation (worst first):", "&gt;&gt;&gt; Acute MI &lt;&lt;&lt;"]  # as text
    assert len(lines) == 4 and all(len(line) <= plots.NOTE_CHARS for line in lines)
    assert note.yanchor == "bottom" and note.y == 1 and note.yshift > 0  # above the plot and its legend
    assert fig.layout.margin.t == plain.layout.margin.t + 4 * 17 + 6
    assert fig.layout.height - plain.layout.height == fig.layout.margin.t - plain.layout.margin.t  # grid unchanged
    assert fig.layout.title.yanchor == "top" and plain.layout.title.yanchor is None  # no notes: as before


@pytest.mark.parametrize("speed", plots.SPEEDS)
@pytest.mark.parametrize("gain", plots.GAINS)
def test_the_grid_stays_true_at_every_speed_and_gain(real, speed, gain) -> None:
    fig = plots.ecg_figure(real, width_px=1400, speed=speed, gain=gain)
    x, y = fig.layout.xaxis, fig.layout.yaxis
    # 1-mm boxes, 5-mm bold lines, at the chosen speed and gain
    assert (x.minor.dtick, x.dtick) == pytest.approx((1 / speed, 5 / speed))
    assert (y.minor.dtick, y.dtick) == pytest.approx((1 / gain, 5 / gain))
    assert y.scaleanchor == "x" and y.scaleratio == pytest.approx(gain / speed)
    m = fig.layout.margin
    px_x = (1400 - m.l - m.r) / ((x.range[1] - x.range[0]) * speed)
    px_y = (fig.layout.height - m.t - m.b) / ((y.range[1] - y.range[0]) * gain)
    assert px_y == pytest.approx(px_x, rel=0.01)
    # a page is 250 mm of paper: 10 s at 25 mm/s, 5 s at 50; the 3x4 cells a quarter of it
    window = plots.window_seconds(speed)
    assert window == pytest.approx(250 / speed)
    assert sorted({round(t.x0, 4) for t in by_kind(fig, "recorded")}) == pytest.approx(
        [k * window / 4 for k in range(4)])
    # the calibration pulse is 1 mV high (gain mm on paper) and 0.2 s wide
    cal = next(t for t in fig.data if t.name == "1 mV calibration")
    xs = np.array([v for v in cal.x if v is not None], float)
    ys = np.array([v for v in cal.y if v is not None], float)
    assert np.ptp(ys[:6]) == pytest.approx(1.0) and xs[3] - xs[1] == pytest.approx(0.2)
    assert xs.min() >= x.range[0]
    # written on the grid and in the footer
    label = f"{speed:g} mm/s · {gain:g} mm/mV"
    assert any(a.text.startswith(label) and a.xref == "x domain" and a.y == 1 for a in fig.layout.annotations)
    assert fig.layout.annotations[-1].text.startswith(label)


@pytest.mark.parametrize("gain", plots.GAINS)
def test_rows_are_spaced_by_gain_and_traces_clipped_to_their_row(real, out, gain) -> None:
    fig = plots.ecg_figure(out, reference=real, gain=gain)
    spacing = plots._row_spacing(out, LEADS, 0, 10, gain)
    assert 25 <= spacing * gain <= 40 and (spacing * gain) % 5 == pytest.approx(0)
    for t in fig.data:
        if t.meta in LEADS:
            drawn = np.asarray(t.y, float)
            row = np.round(np.median(drawn) / spacing) * spacing  # this trace's baseline
            assert np.all(np.abs(drawn - row) <= spacing / 2 + 1e-4), t.meta  # never into the next row
    loud = real.replace(signal=real.signal * 10)  # 10x the amplitude: complexes taller than any row
    fig = plots.ecg_figure(loud, gain=gain)
    assert "clipped to their row" in fig.layout.annotations[-1].text
    rhythm = max(by_kind(fig, "recorded"), key=lambda t: len(t.y))
    assert np.ptp(np.asarray(rhythm.customdata)) > np.ptp(np.asarray(rhythm.y)) + 1  # hover keeps the value
    assert "clipped" not in plots.ecg_figure(real, gain=5).layout.annotations[-1].text


def test_speed_and_gain_not_offered_are_errors(real) -> None:
    with pytest.raises(ValueError, match="speed 30 mm/s is not offered; valid: 25, 50"):
        plots.ecg_figure(real, speed=30)
    with pytest.raises(ValueError, match="gain 40 mm/mV is not offered; valid: 5, 10, 20"):
        plots.ecg_figure(real, gain=40)


def test_recorded_generated_and_real_apart_in_grey_scale_and_line_style(real, out) -> None:
    fig = plots.ecg_figure(out, reference=real, baseline=out)
    style = {}
    for kind in ("recorded", "generated", "real", "baseline"):
        traces = by_kind(fig, kind)
        assert traces and {t.line.width for t in traces} == {traces[0].line.width} and traces[0].line.width >= 1.5
        style[kind] = (lightness(traces[0].line.color), traces[0].line.dash or "solid", traces[0].line.width)
    kinds = ("recorded", "generated", "real")
    for i, a in enumerate(kinds):  # black, blue and grey print as three greys at least 15 L* apart
        for b in kinds[i + 1:]:
            assert abs(style[a][0] - style[b][0]) >= 15, (a, b, style)
    assert style["recorded"][1] == style["generated"][1] == "solid" and style["real"][1] == "dot"
    assert style["generated"][2] > style["recorded"][2]  # and the generated line is the wider
    assert len({style[k][1] for k in ("real", "baseline")}) == 2  # the two overlays differ by their dashes
    assert all(t.line.width >= 1.5 for t in fig.data if t.meta in LEADS)


def test_the_legend_is_always_shown_in_the_same_order(real, out) -> None:
    def legend(fig):
        assert fig.layout.showlegend is True
        keys = [t for t in fig.data if t.showlegend]
        assert [t.legendrank for t in keys] == sorted(t.legendrank for t in keys)
        return [t.name for t in keys]

    nothing_generated = legend(plots.ecg_figure(real))
    generated = legend(plots.ecg_figure(out, reference=real))
    assert nothing_generated == ["recorded (input)", "generated (model)", "real (hidden from the generator)"]
    assert generated[0] == "recorded (input)" and generated[1].startswith("generated (")
    assert generated[2] == "real (hidden from the generator)"
    assert legend(plots.ecg_figure(out, reference=real, baseline=out))[:4] == generated[:3] + [
        "linear baseline (comparison)"]
    # the legend keys toggle their kind: same legend group as the traces, and no data of their own
    for t in plots.ecg_figure(out, reference=real).data:
        if t.showlegend:
            assert t.meta == "legend key" and list(t.y) == [None]


def test_calipers_on_every_row_marched_and_read(real) -> None:
    a, b = CaliperPoint(1.0, 0.2, "II"), CaliperPoint(1.8, 1.1, "II")
    fig = plots.ecg_figure(real, calipers=[a, b])
    legs = next(t for t in fig.data if t.name == "caliper" and t.line.dash == "solid")
    xs = [v for v in legs.x if v is not None]
    # 1.0 s and 1.8 s are in the first column (I, II, III) and on the rhythm strip: 4 rows, 2 legs each
    assert sorted(set(xs)) == [1.0, 1.8] and len(xs) == 2 * 2 * 4
    marched = next(t for t in fig.data if t.name == "caliper (marched)")
    ticks = sorted({round(v, 6) for v in marched.x if v is not None})
    assert ticks == pytest.approx([0.2, 2.6, 3.4, 4.2, 5.0, 5.8, 6.6, 7.4, 8.2, 9.0, 9.8])  # every 0.8 s
    legs_trace, bar = [t for t in fig.data if t.name == "caliper"]  # the bar on the clicked lead: II, rhythm strip
    assert list(bar.x) == [1.0, 1.8, None, 1.0, 1.8, None]
    assert all(t.legendgroup == "caliper" and t.hoverinfo == "skip" for t in fig.data if "caliper" in (t.name or ""))
    scale = next(a.text for a in fig.layout.annotations if a.text.startswith("25 mm/s · 10 mm/mV"))
    assert "caliper: Δt 800 ms · 75 bpm · ΔV +0.90 mV (II)" in scale
    one = plots.ecg_figure(real, calipers=[a])  # the first leg alone: a line on each row, no reading
    assert not any(t.name == "caliper (marched)" for t in one.data)
    assert not any("caliper:" in a.text for a in one.layout.annotations)
    assert plots.trace_leads(one).count("II") == 2 and plots.trace_leads(one)[0] is None  # II cell + rhythm strip
