"""The printable report (l2g.report, ``l2g report``): its scale measured in the PDF's own drawing commands.

The PDF is read by ``tests/pdf_reader.py`` (page size, metadata, every stroked path and text string, in
points on the page): the grid, the traces and the calibration pulses must land on paper at the speed and
gain the footer prints, on A4 and Letter.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from matplotlib.backends.backend_agg import FigureCanvasAgg

import l2g
from l2g.demo import DEMO_PATH, demo_record
from l2g.interpretation import CART_READING
from l2g.leads import LEADS
from l2g.measurements import ecg_measurements
from l2g.record import GENERATED, Metadata, Provenance, Record
from l2g.report import DISCLAIMER, PAPERS, page_geometry, report_figure, report_pdf_bytes, write_report_pdf
from tests.ecg_factory import synthetic_record

from .pdf_reader import MM, Page, read_page

AS_RECORDED = "none (as recorded)"
GRID_MAJOR = (0.878, 0.541, 0.502)  # l2g.report's grid colours (#e08a80, #f4c7c3) as PDF RGB
GRID_MINOR = (0.957, 0.780, 0.765)
BAND = (0.620, 0.765, 1.0)  # #9ec3ff


def _pulse_record(fs: float = 500.0) -> Record:
    """12 recorded leads; Lead II is 0 mV with a 1-mV, 0.1-s pulse starting at every t = k + 0.5 s."""
    t = np.arange(int(10 * fs)) / fs
    x = np.zeros((12, t.size), np.float32)
    x[LEADS.index("II")] = ((t - 0.5) % 1.0 < 0.1).astype(np.float32)
    return Record(x, fs, LEADS, name="pulses")


def _page(record: Record, **options) -> Page:
    return read_page(report_pdf_bytes(record, **options))


def _colour_is(path, rgb: tuple[float, ...]) -> bool:
    return np.allclose(path.colour, rgb, atol=0.01)


def _grid_spacing_mm(page: Page, rgb: tuple[float, ...]) -> tuple[np.ndarray, np.ndarray]:
    """Spacing (mm) of the vertical and of the horizontal grid lines of one colour."""
    lines = [p.points for p in page.paths if p.paint == "S" and _colour_is(p, rgb) and len(p.points) == 2]
    xs = sorted({round(float(q[0, 0]), 4) for q in lines if abs(q[0, 0] - q[1, 0]) < 1e-6})
    ys = sorted({round(float(q[0, 1]), 4) for q in lines if abs(q[0, 1] - q[1, 1]) < 1e-6})
    return np.diff(xs) * MM, np.diff(ys) * MM


def _rhythm_strip(page: Page) -> np.ndarray:
    """Points (mm) of the solid black trace with the most vertices: the Lead-II rhythm strip."""
    traces = [p for p in page.paths if p.paint == "S" and not p.dash and _colour_is(p, (0, 0, 0))]
    return max(traces, key=lambda p: len(p.points)).points * MM


def _onsets(strip: np.ndarray) -> np.ndarray:
    """x (mm) where the trace first rises through half its height, per pulse (linear between vertices)."""
    x, y = strip[:, 0], strip[:, 1]
    half = (y.min() + y.max()) / 2.0
    i = np.flatnonzero((y[:-1] < half) & (y[1:] >= half))
    return x[i] + (half - y[i]) / (y[i + 1] - y[i]) * (x[i + 1] - x[i])


def measure(page: Page) -> dict[str, np.ndarray]:
    """What lands on paper (mm): grid spacings, 1 s and 1 mV of the rhythm strip, the calibration pulses."""
    strip = _rhythm_strip(page)
    dy = np.diff(strip[:, 1])
    rising = np.flatnonzero(dy > 2.0)  # the pulses' rising edges (1 mV is 5..20 mm)
    pulses = [p.points * MM for p in page.paths
              if p.paint == "S" and _colour_is(p, (0, 0, 0)) and len(p.points) == 6]
    major_x, major_y = _grid_spacing_mm(page, GRID_MAJOR)
    minor_x, minor_y = _grid_spacing_mm(page, GRID_MINOR)
    return {
        "major_x": major_x, "major_y": major_y, "minor_x": minor_x, "minor_y": minor_y,
        "second": np.diff(_onsets(strip)),  # 1 s between successive pulse onsets
        "millivolt": dy[rising],  # the 1-mV step of each pulse
        "cal_height": np.array([p[2, 1] - p[1, 1] for p in pulses]),
        "cal_width": np.array([p[3, 0] - p[2, 0] for p in pulses]),
        "page": np.array(page.size_mm),
    }


@pytest.mark.parametrize("paper", list(PAPERS))
def test_page_is_the_paper_in_landscape(paper: str) -> None:
    page = _page(demo_record(), paper=paper)
    assert page.size_mm == pytest.approx(PAPERS[paper], abs=0.5)
    assert page.size_mm[0] > page.size_mm[1]  # landscape


@pytest.mark.parametrize(("paper", "speed", "gain"), [
    ("A4", 25.0, 10.0), ("Letter", 25.0, 10.0), ("A4", 50.0, 10.0), ("Letter", 50.0, 20.0), ("A4", 25.0, 5.0),
    ("A4", 25.0, 20.0)])
def test_one_second_and_one_millivolt_on_paper(paper: str, speed: float, gain: float) -> None:
    m = measure(_page(_pulse_record(), paper=paper, speed=speed, gain=gain, display_filter=AS_RECORDED))
    # the grid: 5-mm and 1-mm squares at every speed and gain
    for key, mm in (("major_x", 5.0), ("major_y", 5.0), ("minor_x", 1.0), ("minor_y", 1.0)):
        assert m[key].size > 20 and m[key] == pytest.approx(mm, rel=0.01), key
    # the trace: pulses 1 s apart are `speed` mm apart, a 1-mV step is `gain` mm high
    window = 10.0 if speed == 25.0 else 5.0
    assert m["second"].size == window - 1
    assert m["second"] == pytest.approx(speed, rel=0.01)
    assert m["millivolt"].size == window and m["millivolt"] == pytest.approx(gain, rel=0.01)
    # one 1-mV, 0.2-s calibration pulse per row
    assert m["cal_height"].size == 4 and m["cal_height"] == pytest.approx(gain, rel=0.01)
    assert m["cal_width"] == pytest.approx(0.2 * speed, rel=0.01)


def test_the_display_filter_keeps_the_scale() -> None:
    # the default diagnostic 0.05-150 Hz band smooths the step a little but moves nothing in time or gain
    strip = _rhythm_strip(_page(_pulse_record()))
    seconds = np.diff(_onsets(strip))
    assert seconds.size == 9 and seconds == pytest.approx(25.0, rel=0.01)
    y = strip[:, 1]
    high = y > (y.min() + y.max()) / 2.0
    assert np.median(y[high]) - np.median(y[~high]) == pytest.approx(10.0, rel=0.02)  # plateau above baseline


def test_generated_leads_are_dashed_labelled_graded_and_banded() -> None:
    full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], method="linear", interval=0.9)
    page = _page(full, band=True)
    generated = full.generated_leads
    trust = l2g.trust_table(full.crop(0.0, 10.0)).set_index("lead")
    for lead in generated:  # the label says generated, with the lead's grade
        assert f"{lead} generated · grade {trust.loc[lead, 'grade']}" in page.texts
    for lead in ("I", "V2"):
        assert lead in page.texts
    dashed = [p for p in page.paths if p.paint == "S" and p.dash]
    assert len(dashed) == len(generated) + 1  # one trace per generated lead, and the legend's sample
    assert all(not p.dash for p in page.paths if p.paint == "S" and _colour_is(p, (0, 0, 0)))
    band = [p for p in page.paths if p.paint == "f" and np.allclose(p.fill, BAND, atol=0.01)]
    assert len(band) == len(generated) - 4 + 1  # the chest leads (limb leads from I and II are exact) + legend
    text = page.text
    assert "generated lead (dashed; an estimate, with its trust grade)" in text
    assert "confidence band of a generated lead" in text
    assert "Trust grades: A ST-level decisions possible" in text
    assert DISCLAIMER in page.texts
    assert "25 mm/s · 10 mm/mV" in text and "print at 100 %" in text
    assert "by linear linear.pt@" in text  # where the generated leads came from


def test_no_grade_when_the_calibration_belongs_to_another_generator() -> None:
    full = l2g.reconstruct(demo_record(), ["I", "II"], method="linear")
    other = full.replace(meta=Metadata(provenance=Provenance("model", "l2g.pt@000000000000", ("I", "II"))))
    text = _page(other).text
    assert "No trust grade:" in text and "000000000000" in text
    assert "grade A" not in text and "V1 generated" in text


def test_cart_measurements_statements_and_our_lead_ii_measurements() -> None:
    statements = ("Sinus rhythm", ">>> Acute MI <<<")
    meta = Metadata(measurements={"HR_bpm": 71.0, "PR_ms": 158.0, "QRS_ms": 94.0, "QT_ms": 382.0, "QTc_ms": 411.0,
                                  "QRS_axis_deg": 33.0}, interpretation=statements, device="GE MAC 5500")
    rec = synthetic_record(duration_s=10.0, seed=2, name="cart").replace(meta=meta)
    full = l2g.reconstruct(rec, ["I", "II", "V2"], method="linear")
    page = _page(full)
    assert f"{CART_READING} (worst first):" in page.flat  # the cart read the recorded leads, not ours
    assert page.texts.index("CRITICAL: >>> Acute MI <<<") < page.texts.index("NORMAL: Sinus rhythm")
    assert "Cart, its recorded leads" in page.texts
    for value in ("71", "158", "94", "382", "411", "—/33/—"):
        assert value in page.texts
    ours = page.texts[page.texts.index("L2G-ECG, Lead II (recorded); QTc Bazett") + 1:][:5]
    assert 50 <= float(ours[0]) <= 100 and 60 <= float(ours[2]) <= 140  # HR and QRS of the synthetic Lead II
    # the whole-ECG row: l2g.measurements on the recorded leads of the printed window, as the viewer shows them
    whole = page.texts[page.texts.index("L2G-ECG, whole ECG, recorded leads") + 1:][:6]
    table = ecg_measurements(full.standardize().crop(0.0, 10.0)).set_index("key")["value"]
    for text, key in zip(whole, ("heart_rate_bpm", "pr_ms", "qrs_ms", "qt_ms", "qtc_bazett_ms"), strict=False):
        assert text == f"{table[key]:.0f}"
    assert whole[5] == "/".join(f"{table[f'{w}_axis_deg']:.0f}" for w in ("p", "qrs", "t"))
    assert "device GE MAC 5500" in page.text


IDENTITY = {"Name": "Doe^Jane", "Patient ID": "MRN-991", "DOB": "1961-02-03"}


def _identified() -> Record:
    rec = synthetic_record(duration_s=10.0, seed=4, name="doejane_mrn991")
    meta = Metadata(age=63, sex="F", fields={**IDENTITY, "Site": "B"}, comments=("MRN: 4455",),
                    acquired="2019-03-02T10:14:05")
    return l2g.reconstruct(rec.replace(meta=meta), ["I", "II"], method="linear")


def test_identity_is_printed_only_when_not_deidentified() -> None:
    full = _identified()
    secrets = [*IDENTITY.values(), "4455", "2019-03-02", "doejane_mrn991"]
    data = report_pdf_bytes(full)
    page = read_page(data)
    for secret in secrets:  # the reader finds each one when it is printed
        assert secret in page.text or secret in page.info["Title"], secret
    assert page.info["Title"] == "L2G-ECG 12-lead report: doejane_mrn991"

    data = report_pdf_bytes(full, deidentify=True)
    page = read_page(data)
    for secret in secrets:
        assert secret not in page.text, secret
        assert secret.encode() not in data, secret
        assert all(secret not in value for value in page.info.values()), secret
    assert "De-identified: no name, identifiers or dates." in page.texts
    assert "Age 63 y · sex female" in page.text  # age and sex kept
    assert page.info["Title"] == "L2G-ECG 12-lead report (de-identified)"


def test_pdf_metadata() -> None:
    info = _page(demo_record()).info
    assert info["Title"] == "L2G-ECG 12-lead report: demo"
    assert info["Producer"] == f"L2G-ECG {l2g.__version__}"


@pytest.mark.parametrize(("paper", "speed"), [("A4", 25.0), ("Letter", 50.0)])
def test_everything_printed_lies_inside_printable_margins(paper: str, speed: float) -> None:
    meta = Metadata(interpretation=tuple(f"Statement number {i} " * 5 for i in range(14)),
                    measurements={"HR_bpm": 60.0}, fields={"Name": "A very long patient name " * 4})
    full = l2g.reconstruct(synthetic_record(name="long " * 10).replace(meta=meta), ["I"], method="linear",
                           interval=0.9)
    fig = report_figure(full, paper=paper, speed=speed, band=True)
    renderer = FigureCanvasAgg(fig).get_renderer()
    width, height = PAPERS[paper]
    boxes = [t.get_window_extent(renderer) for t in fig.axes[0].texts]
    mm = 25.4 / fig.dpi
    assert len(boxes) > 40
    for box in boxes:
        assert box.x0 * mm >= 5.0 and box.x1 * mm <= width - 5.0 and box.y0 * mm >= 5.0 and box.y1 * mm <= height - 5.0
    g = page_geometry(paper, speed)
    assert g.x0 >= 5.0 and g.x1 <= width - 5.0 and g.grid_bottom >= 15.0


def test_the_header_stays_above_the_grid() -> None:
    """Three info lines, the four-row measurement table and three generated-lead lines fit the header."""
    meta = Metadata(measurements={"HR_bpm": 60.0}, fields={"Name": "Doe^Jane"},
                    provenance=Provenance("model", "l2g.pt@000000000000", ("I",)))
    full = l2g.reconstruct(synthetic_record(name="hdr"), ["I"], method="linear").replace(meta=meta)
    fig = report_figure(full)
    renderer = FigureCanvasAgg(fig).get_renderer()
    mm = 25.4 / fig.dpi
    top = page_geometry().grid_top
    header = [t for t in fig.axes[0].texts if t.get_position()[1] > top]
    assert any(t.get_text().startswith("Generated (estimates") for t in header)
    assert any(t.get_text() == "L2G-ECG, whole ECG, recorded leads" for t in header)
    assert min(t.get_window_extent(renderer).y0 * mm for t in header) >= top


@pytest.mark.parametrize(("options", "message"), [
    ({"paper": "A3"}, "paper 'A3' is not offered; valid: A4, Letter"),
    ({"speed": 30}, "speed 30 mm/s is not offered; valid: 25, 50"),
    ({"gain": 7.5}, "gain 7.5 mm/mV is not offered; valid: 5, 10, 20"),
    ({"display_filter": "none"}, "display filter 'none' is not known; valid: "),
    ({"start_s": 10.0}, "start 10 s is outside the record"),
    ({"band": True}, "has no band; reconstruct it with interval=0.9 first"),
])
def test_options_are_checked(options: dict, message: str, tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="^write_report_pdf: .*" + message.replace("(", r"\(").replace(".", r"\.")):
        write_report_pdf(demo_record(), tmp_path / "r.pdf", **options)
    assert not (tmp_path / "r.pdf").exists()


def test_a_long_record_prints_the_window_asked_for() -> None:
    rec = synthetic_record(duration_s=30.0, seed=1, name="long")
    page = _page(rec, start_s=12.0, speed=50.0)
    assert "Shown 12.0–17.0 s of 30.0 s · 500 Hz · 12 recorded, 0 generated leads" in page.texts


# ------------------------------------------------------------------ the command line
def test_cli_report_writes_the_pdf(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from l2g.cli import main

    out = tmp_path / "sub" / "report.pdf"
    assert main(["report", str(DEMO_PATH), "--available", "I,II,V2", "--out", str(out), "--paper", "Letter",
                 "--speed", "50", "--gain", "20", "--interval", "0.9", "--deidentify"]) == 0
    printed = capsys.readouterr()
    assert printed.out.strip() == f"{DEMO_PATH} -> {out} (Letter, 50 mm/s, 20 mm/mV; model: {_model_version()})"
    assert printed.err == ""
    page = read_page(out.read_bytes())
    assert page.size_mm == pytest.approx(PAPERS["Letter"], abs=0.5)
    assert page.info["Title"] == "L2G-ECG 12-lead report (de-identified)" and "demo" not in page.text
    assert "50 mm/s · 20 mm/mV" in page.text and "V1 generated · grade" in page.text
    assert any(p.paint == "f" and np.allclose(p.fill, BAND, atol=0.01) for p in page.paths)  # the band


def _model_version() -> str:
    from l2g.reconstruction import load_reconstructor

    return load_reconstructor().version


@pytest.mark.parametrize(("args", "error"), [
    (["--available", "I,XX"], "unknown lead 'XX'; valid leads are I, II, III"),
    (["--available", ""], "--available '': give at least one lead"),
    (["--speed", "30"], "write_report_pdf: speed 30 mm/s is not offered; valid: 25, 50"),
    (["--gain", "1"], "write_report_pdf: gain 1 mm/mV is not offered; valid: 5, 10, 20"),
    (["--paper", "A5"], "write_report_pdf: paper 'A5' is not offered; valid: A4, Letter"),
    (["--start", "60"], "write_report_pdf: start 60 s is outside the record (0..10.0 s)"),
    (["--out", "report.png"], "--out report.png: the report is a PDF; give a file name ending in .pdf"),
    (["--record", "absent.hea"], "absent.hea: no such file"),
    (["--record", "."], ".: a folder; l2g report prints one record"),
])
def test_cli_report_bad_input_is_one_line(args: list[str], error: str, tmp_path: Path, monkeypatch,
                                          capsys: pytest.CaptureFixture[str]) -> None:
    from l2g.cli import main

    monkeypatch.chdir(tmp_path)
    options = {"--available": "I,II", "--out": "report.pdf", "--record": str(DEMO_PATH)}
    options.update(zip(args[::2], args[1::2], strict=True))
    record = options.pop("--record")
    argv = ["report", record, "--method", "linear", *[x for kv in options.items() for x in kv]]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("l2g: error: ") and error in err, err
    assert not list(tmp_path.glob("*.pdf")) and not list(tmp_path.glob("*.png"))


def test_a_record_with_generated_leads_in_the_file_is_printed_as_such(tmp_path: Path) -> None:
    full = l2g.reconstruct(demo_record(), ["I", "II"], method="linear")
    l2g.write_wfdb(full, tmp_path, "back")
    back = l2g.read_record(tmp_path / "back.hea")
    assert back.status_of("V1") == GENERATED
    assert "V1 generated" in " ".join(_page(back).texts)


# ------------------------------------------------------------------ the picture in docs/DASHBOARD.md
def test_report_page_image() -> None:
    """The demo's report (I, II, V2 given; the shipped generator; band on) as a PNG at 150 dpi: docs/img/ with
    ``L2G_WRITE_DOC_IMAGES=1``, else artifacts/report/ (git-ignored). It is the report's figure drawn by
    matplotlib's Agg, the renderer beside the PDF one, not a rasterised PDF."""
    import os

    repo = Path(__file__).resolve().parents[1]
    folder = repo / ("docs/img" if os.environ.get("L2G_WRITE_DOC_IMAGES") == "1" else "artifacts/report")
    folder.mkdir(parents=True, exist_ok=True)
    full = l2g.reconstruct(demo_record(), ["I", "II", "V2"], interval=0.9)
    report_figure(full, band=True).savefig(folder / "report_a4.png", dpi=150)
    from PIL import Image

    with Image.open(folder / "report_a4.png") as image:
        assert image.size == pytest.approx((297 / 25.4 * 150, 210 / 25.4 * 150), abs=1.0)  # 1 px = 0.17 mm
