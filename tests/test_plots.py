"""ECG-grid figures: true paper scale, colours, layouts, overlays, markers, filters."""

from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest

from l2g import plots
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
    return [t for t in fig.data if t.legendgroup == prefix]


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
        # hover gives the true mV value; y is shifted to the row baseline only
        offset = np.asarray(t.y) - np.asarray(t.customdata)
        assert np.ptp(offset) < 1e-4
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
