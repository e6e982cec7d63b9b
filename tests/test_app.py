"""The dashboard, driven with Streamlit's AppTest: every page and every interaction.

Records are built in ``tmp_path`` with the project's own writers (WFDB, CSV), scipy
(Challenge ``.mat``, MATLAB v4) and a minimal EDF writer, then uploaded as a browser would.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from pathlib import Path

import numpy as np
import pytest
import scipy.io
import wfdb
from streamlit.testing.v1 import AppTest

from dashboard import chart, state
from dashboard.state import CUSTOM, DEFAULT_PRESET, data_dir
from l2g.calipers import CaliperPoint
from l2g.demo import demo_record
from l2g.io import write_csv, write_wfdb
from l2g.leads import LEADS, PRESETS
from l2g.reconstruction import file_sha256
from l2g.record import Diagnosis, Record
from tests.ecg_factory import synthetic_record

from .app_helpers import APP, TIMEOUT, add_upload, app_with_weights, load_errors, upload, wfdb_files
from .weights import shipped


# ------------------------------------------------------------------ helpers
def traces(app: AppTest, index: int = 0) -> list[dict]:
    """The Plotly traces of the ``index``-th chart on the page."""
    return json.loads(app.get("plotly_chart")[index].proto.spec)["data"]


def trace_names(app: AppTest) -> set[str]:
    """Names of the traces drawn (not the legend's keys, which list recorded, generated and real always)."""
    return {t.get("name") for t in traces(app) if t.get("name") and t.get("meta") != "legend key"}


def ticked(app: AppTest) -> tuple[str, ...]:
    return tuple(lead for lead in LEADS if app.checkbox(key=f"lead_{lead}").value)


def ecg(name: str = "rec", seed: int = 1, duration_s: float = 10.0, **meta) -> Record:
    """A 12-lead synthetic ECG with P/QRS/T waves (all leads recorded)."""
    return synthetic_record(duration_s=duration_s, seed=seed, name=name, **meta)


def record_title(app: AppTest) -> str:
    return next(m.value for m in app.markdown if m.value.startswith("#### "))


def write_edf(path: Path, signals: dict[str, np.ndarray], fs: int) -> None:
    """A minimal EDF file (16-bit, 1-s data records, mV, physical range ±10 mV)."""
    labels = list(signals)
    n_blocks = next(iter(signals.values())).size // fs

    def f(value: object, width: int) -> bytes:
        return str(value).encode("latin-1")[:width].ljust(width)

    ns = len(labels)
    head = (f("0", 8) + f("X M 01-JAN-1970 X", 80) + f("Startdate X", 80) + f("01.01.20", 8) + f("10.00.00", 8)
            + f(256 * (ns + 1), 8) + f("", 44) + f(n_blocks, 8) + f(1, 8) + f(ns, 4))
    for width, value in ((16, None), (80, ""), (8, "mV"), (8, -10), (8, 10), (8, -32768), (8, 32767), (80, ""),
                         (8, fs), (32, "")):
        head += b"".join(f(lab if value is None else value, width) for lab in labels)
    step = 20.0 / 65535
    digital = [np.clip(np.round((x[: n_blocks * fs] + 10.0) / step - 32768), -32768, 32767).astype("<i2")
               .reshape(n_blocks, fs) for x in signals.values()]
    path.write_bytes(head + np.concatenate(digital, axis=1).tobytes())


# ------------------------------------------------------------------ start and defaults
def test_starts_on_the_demo_record_with_generated_leads(at: AppTest) -> None:
    assert at.header[0].value == "12-lead viewer"
    assert "demo" in record_title(at)
    assert ticked(at) == PRESETS[DEFAULT_PRESET]
    assert at.selectbox(key="preset").value == DEFAULT_PRESET
    names = trace_names(at)
    assert "recorded (input)" in names and "real (hidden from the generator)" in names
    assert any(n.startswith("generated (") for n in names)
    # the agreement table lists every generated lead (all have a real trace in the demo)
    table = at.dataframe[0].value
    assert list(table.index) == [lead for lead in LEADS if lead not in PRESETS[DEFAULT_PRESET]]
    assert list(table.columns) == ["Grade", "Predicted RMSE (µV)", "r", "RMSE (µV)", "SSIM"]  # grades: test_app_trust
    assert ((table["SSIM"] > -1) & (table["SSIM"] <= 1)).all()
    assert any("not a medical device" in c.value for c in at.caption)


def test_the_shipped_generator_is_in_use_without_a_banner(at: AppTest) -> None:
    shipped("l2g.pt")
    assert not [w for w in at.warning if "linear baseline" in w.value or "not available" in w.value]
    assert "generated (model)" in trace_names(at)


@pytest.mark.parametrize("content", [None, b"not a checkpoint"], ids=["empty-folder", "corrupt-l2g.pt"])
def test_banner_and_linear_fallback_when_the_model_weights_are_missing(monkeypatch, tmp_path: Path,
                                                                       content: bytes | None) -> None:
    """``L2G_WEIGHTS_DIR`` names a folder without a usable generator: banner, then the shipped linear baseline."""
    shipped("linear.pt")
    if content is not None:
        (tmp_path / "l2g.pt").write_bytes(content)
    with app_with_weights(monkeypatch, tmp_path) as app:
        banner = [w.value for w in app.warning if "linear baseline" in w.value]
        assert len(banner) == 1 and "Model weights not available" in banner[0]
        assert str(tmp_path / "l2g.pt") in banner[0] and "linear.pt@" in banner[0]
        assert "generated (linear)" in trace_names(app) and "generated (model)" not in trace_names(app)
        assert list(app.dataframe[0].value.columns)[-3:] == ["r", "RMSE (µV)", "SSIM"]  # still scored
        assert not app.error


def test_chart_has_a_true_ecg_grid_and_hover_in_mV(at: AppTest) -> None:
    layout = json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]
    assert layout["yaxis"]["scaleanchor"] == "x" and layout["yaxis"]["scaleratio"] == pytest.approx(0.4)
    assert layout["xaxis"]["dtick"] == pytest.approx(0.2) and layout["xaxis"]["minor"]["dtick"] == pytest.approx(0.04)
    assert layout["yaxis"]["dtick"] == pytest.approx(0.5) and layout["yaxis"]["minor"]["dtick"] == pytest.approx(0.1)
    hover = [t["hovertemplate"] for t in traces(at) if "hovertemplate" in t]
    assert hover and all("s<br>" in h and "mV" in h for h in hover)
    foot = " ".join(a["text"] for a in layout["annotations"])
    assert "25 mm/s" in foot and "10 mm/mV" in foot and "filter: 0.5 Hz high-pass" in foot


def test_speed_gain_and_the_measured_width_set_the_chart(at: AppTest) -> None:
    def layout() -> dict:
        return json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]

    narrow = layout()["height"]
    at.session_state["chart_width_px"] = 2 * chart.DEFAULT_WIDTH_PX  # as the browser reports a wider column
    at.run()
    assert layout()["height"] > 1.8 * (narrow - 80)  # the height follows the width (margins apart)
    at.segmented_control(key="gain").set_value(20.0).run()
    assert not at.exception
    y = layout()["yaxis"]
    assert y["minor"]["dtick"] == pytest.approx(0.05) and y["scaleratio"] == pytest.approx(20 / 25)
    assert any(a["text"].startswith("25 mm/s · 20 mm/mV") for a in layout()["annotations"])
    at.segmented_control(key="speed").set_value(50.0).run()  # 5 s of the 10-s demo: a window slider
    x = layout()["xaxis"]
    assert x["minor"]["dtick"] == pytest.approx(0.02) and x["range"][1] == pytest.approx(5.0 + 0.01)
    at.slider(key="t0").set_value(5.0).run()
    assert layout()["xaxis"]["range"][0] == pytest.approx(5.0 - 0.3)
    assert "window 5–10 s" in layout()["annotations"][-1]["text"]


def test_calipers_read_and_march_and_clear(at: AppTest) -> None:
    at.toggle(key="caliper_mode").set_value(True).run()
    assert not at.exception
    targets = [t for t in traces(at) if t.get("mode") == "markers"]
    assert targets and all(t["meta"] in LEADS for t in targets)  # invisible click targets, one per trace
    assert any("click a point on any lead" in m.value for m in at.markdown)
    at.session_state["calipers"] = (CaliperPoint(1.0, 0.1, "II"), CaliperPoint(1.8, 0.6, "II"))
    at.session_state["calipers_digest"] = at.session_state["record_digest"]
    at.run()
    assert any("Δt 800 ms · 75 bpm · ΔV +0.50 mV (II)" in m.value for m in at.markdown)
    assert {"caliper", "caliper (marched)"} <= {t.get("name") for t in traces(at)}
    at.button(key="clear_calipers").click().run()
    assert not {"caliper", "caliper (marched)"} & {t.get("name") for t in traces(at)}
    at.toggle(key="caliper_mode").set_value(False).run()
    assert not [t for t in traces(at) if t.get("mode") == "markers"]


def test_a_click_on_the_chart_is_the_next_caliper_leg(monkeypatch) -> None:
    session = {"chart_leads": [None, "I", "II"], "calipers": ()}
    monkeypatch.setattr(chart.st, "session_state", session)

    def click(points: list[dict]) -> tuple:
        session[chart.CHART_KEY] = {"selection": {"points": points, "point_indices": [], "box": [], "lasso": []}}
        chart.on_chart_select()
        return session["calipers"]

    first = click([{"curve_number": 2, "point_index": 5, "x": 1.0, "y": -3.0, "customdata": 0.2}])
    assert first == (CaliperPoint(1.0, 0.2, "II"),)
    assert click([{"curve_number": 0, "x": 1.0}]) == first  # a legend key, not a lead: ignored
    assert click([]) == first  # a click on empty paper
    second = click([{"curve_number": 1, "x": 1.4, "customdata": 0.5}])
    assert second == (*first, CaliperPoint(1.4, 0.5, "I"))
    assert click([{"curve_number": 2, "x": 3.0, "customdata": 0.0}]) == (CaliperPoint(3.0, 0.0, "II"),)


# ------------------------------------------------------------------ lead selection
def test_unticking_a_lead_generates_it(at: AppTest) -> None:
    at.checkbox(key="lead_V1").uncheck().run()
    assert not at.exception
    assert "V1" not in ticked(at)
    assert at.selectbox(key="preset").value == CUSTOM
    assert "V1" in at.dataframe[0].value.index
    generated = {a["text"] for a in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]}
    assert any(t.startswith("<b>V1 <i>(gen") for t in generated)  # "(gen · B)": the grade, test_app_trust


def test_presets_tick_their_leads(at: AppTest) -> None:
    for name in ("Leads I + II", "Single lead II", "Chest leads only (V1–V6)", "All 12 leads"):
        at.selectbox(key="preset").set_value(name).run()
        assert not at.exception
        assert ticked(at) == PRESETS[name]
    # all 12 given: nothing generated, nothing to compare
    assert not any(n.startswith("generated") for n in trace_names(at))
    assert any("Nothing to compare" in c.value for c in at.caption)


def test_no_lead_ticked_shows_the_recording(at: AppTest) -> None:
    for lead in ticked(at):
        at.checkbox(key=f"lead_{lead}").uncheck()
    at.run()
    assert not at.exception
    assert any("No lead is ticked" in i.value for i in at.info)
    names = trace_names(at)
    assert "recorded (input)" in names and not any(n.startswith(("generated", "real")) for n in names)


def test_layouts_single_lead_filters_and_wave_marks(at: AppTest) -> None:
    for view in ("6×2", "12×1", "Single lead"):
        at.segmented_control(key="layout").set_value(view).run()
        assert not at.exception
    at.selectbox(key="single_lead").set_value("V2").run()
    labels = [a["text"] for a in json.loads(at.get("plotly_chart")[0].proto.spec)["layout"]["annotations"]]
    assert any(t.startswith("<b>V2 <i>(gen") for t in labels)
    for name in at.selectbox(key="filter").options:
        at.selectbox(key="filter").set_value(name).run()
        assert not at.exception
    at.segmented_control(key="layout").set_value("3×4 + rhythm").run()
    at.toggle(key="waves").set_value(True).run()
    assert not at.exception
    assert {"P on/offset", "QRS on/offset", "T on/offset"} <= trace_names(at)


def test_morphology_table_when_lead_ii_is_generated(at: AppTest) -> None:
    assert any("Lead II is given to the generator" in c.value for c in at.caption)
    at.checkbox(key="lead_II").uncheck().run()
    assert not at.exception
    morph = at.dataframe[1].value
    assert {"HR (bpm)", "PR (ms)", "QRS (ms)", "QT (ms)", "QTc Bazett (ms)"} <= set(morph.index)
    assert {"real", "generated", "difference", "tolerance", "flag"} <= set(morph.columns)
    assert "cart" not in morph.columns  # the demo record has no cart measurements


# ------------------------------------------------------------------ uploads
def test_upload_wfdb_hea_and_dat(at: AppTest, tmp_path: Path) -> None:
    meta = dict(age=63, sex="M", diagnoses=(Diagnosis("164889003", "atrial fibrillation"),))
    upload(at, wfdb_files(ecg("patient7", **meta), tmp_path, "patient7"))
    summary = record_title(at)
    assert "patient7" in summary and "500 Hz" in summary and "10.0 s" in summary and "12 of 12 leads" in summary
    assert "63 y" in summary and "male" in summary and "atrial fibrillation (164889003)" in summary
    assert ticked(at) == PRESETS[DEFAULT_PRESET]
    assert not at.error


def test_a_file_added_to_the_uploader_replaces_the_record(at: AppTest, tmp_path: Path) -> None:
    # issue #24: with the first record still in the uploader, a second one was refused ("several records")
    upload(at, wfdb_files(ecg("first", seed=1), tmp_path, "first"))
    assert "#### first" in record_title(at)
    add_upload(at, wfdb_files(ecg("second", seed=2), tmp_path, "second"))
    assert not load_errors(at), load_errors(at)
    assert "#### second" in record_title(at) and "upload “second.hea”, “second.dat”" in record_title(at)
    write_csv(ecg("third", seed=3), tmp_path / "third.csv")
    add_upload(at, ("third.csv", (tmp_path / "third.csv").read_bytes(), "text/csv"))
    assert not load_errors(at), load_errors(at)
    assert "#### third" in record_title(at) and "upload “third.csv”" in record_title(at)
    assert len(at.file_uploader(key="upload").value) == 5  # all still listed; only the added ones were read
    at.file_uploader(key="upload").set_value(None).run()  # removing files opens nothing
    assert "#### third" in record_title(at)


def test_a_wfdb_header_and_its_signal_file_may_be_added_one_after_the_other(at: AppTest, tmp_path: Path) -> None:
    hea, dat = wfdb_files(ecg("parts"), tmp_path, "parts")
    upload(at, [hea])
    assert len(load_errors(at)) == 1 and "demo" in record_title(at)  # a header alone: refused
    add_upload(at, [dat])  # the .dat is read with the .hea already in the uploader
    assert not load_errors(at), load_errors(at)
    assert "#### parts" in record_title(at) and "upload “parts.hea”, “parts.dat”" in record_title(at)


def test_upload_challenge_mat(at: AppTest, tmp_path: Path) -> None:
    x = ecg("A0001").signal
    val = np.round(x * 1000).astype(np.int16)
    scipy.io.savemat(tmp_path / "A0001.mat", {"val": val}, format="4")
    lines = [f"A0001 12 500 {val.shape[1]}"]
    lines += [f"A0001.mat 16+24 1000/mV 16 0 {int(val[k, 0])} 0 0 {lead}" for k, lead in enumerate(LEADS)]
    lines += ["#Age: 70", "#Sex: Female", "#Dx: 426783006"]
    (tmp_path / "A0001.hea").write_text("\n".join(lines) + "\n")
    files = [(p.name, p.read_bytes(), "application/octet-stream")
             for p in (tmp_path / "A0001.hea", tmp_path / "A0001.mat")]
    upload(at, files)
    summary = record_title(at)
    assert "A0001" in summary and "female" in summary and "sinus rhythm" in summary.lower()
    assert not at.error


def test_upload_zip(at: AppTest, tmp_path: Path) -> None:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        for name, data, _ in wfdb_files(ecg("zipped"), tmp_path, "zipped"):
            zf.writestr(f"folder/{name}", data)
    upload(at, ("zipped.zip", buf.getvalue(), "application/zip"))
    assert "zipped" in record_title(at)


def test_upload_edf_with_a_reduced_lead_set(at: AppTest, tmp_path: Path) -> None:
    rec = ecg("edfrec")
    write_edf(tmp_path / "edfrec.edf", {"ECG I": rec.lead("I"), "ECG II": rec.lead("II"), "V2": rec.lead("V2")}, 500)
    upload(at, ("edfrec.edf", (tmp_path / "edfrec.edf").read_bytes(), "application/octet-stream"))
    assert "edfrec" in record_title(at) and "3 of 12 leads" in record_title(at)
    # a file with fewer leads opens with all of them ticked; absent leads are disabled
    assert ticked(at) == ("I", "II", "V2")
    for lead in LEADS:
        box = at.checkbox(key=f"lead_{lead}")
        assert box.disabled == (lead not in ("I", "II", "V2"))
        assert box.label.endswith("(missing)") == box.disabled
    assert any("Nothing to compare" in c.value for c in at.caption)
    assert "real (hidden from the generator)" not in trace_names(at)


def test_upload_csv_and_preset_with_missing_leads(at: AppTest, tmp_path: Path) -> None:
    rec = ecg("csvrec").select(["I", "II", "V1", "V2", "V3", "V4"])
    write_csv(rec, tmp_path / "csvrec.csv")
    upload(at, ("csvrec.csv", (tmp_path / "csvrec.csv").read_bytes(), "text/csv"))
    assert "csvrec" in record_title(at) and "6 of 12 leads" in record_title(at)
    at.selectbox(key="preset").set_value("Two limb + three chest (I, II, V1, V3, V5)").run()
    assert ticked(at) == ("I", "II", "V1", "V3")
    assert any("V5" in c.value and "not recorded" in c.value for c in at.caption)


def test_reader_warnings_are_shown(at: AppTest, tmp_path: Path) -> None:
    rec = ecg("warn")
    lines = ["time_s,I,II,Resp"] + [f"{i / 500:.4f},{a:.4f},{b:.4f},0.0"
                                     for i, (a, b) in enumerate(zip(rec.lead("I"), rec.lead("II"), strict=True))]
    upload(at, ("warn.csv", ("\n".join(lines) + "\n").encode(), "text/csv"))
    assert "warn" in record_title(at)
    assert any("Resp" in w.value for w in at.warning)
    assert not at.error


CLINICAL = Path(__file__).resolve().parents[1].parent / "shared" / "clinical"
# one real file per cart/PACS format (../shared/clinical/PROVENANCE.md) -> its Record.source_format
CART_FILES = {
    "dicom/waveform_ecg.dcm": "dicom",
    "hl7_aecg/Example.xml": "aecg",
    "philips_xml/129DYPRG.XML": "philips",
    "ge_muse_xml/muse_ecg_deidentified_1.xml": "muse",
    "ge_cardiosoft_xml/ukbb_scrubbed.xml": "cardiosoft",
    "scp_ecg/Example.scp": "scp",
    "ishne/ECG_P28.01.ecg": "ishne",
}


def cart_file(rel: str) -> Path:
    path = CLINICAL / rel
    if not path.is_file():
        pytest.skip(f"{path} not found: real cart files are read from ../shared/clinical")
    return path


def test_every_cart_extension_passes_the_upload_filter(at: AppTest) -> None:
    from streamlit.elements.lib.file_uploader_utils import enforce_filename_restriction

    allowed = list(at.file_uploader(key="upload").proto.type)  # as the page declared them, normalised
    assert ".dcm" in allowed and ".xml" in allowed
    for rel in CART_FILES:  # upper-case .XML too: Streamlit compares extensions case-insensitively
        enforce_filename_restriction(Path(rel).name, allowed)  # raises for a refused extension
    enforce_filename_restriction("carts.zip", allowed)


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
@pytest.mark.parametrize("rel", list(CART_FILES))
def test_upload_cart_file(at: AppTest, rel: str) -> None:
    path = cart_file(rel)
    upload(at, (path.name, path.read_bytes(), "application/octet-stream"))
    # read without error (the lead check may flag the recording itself: ukbb_scrubbed.xml looks LA/RA-reversed)
    assert not load_errors(at), load_errors(at)
    summary = record_title(at)
    assert f"#### {path.stem}" in summary and f"`{CART_FILES[rel]}`" in summary
    assert ticked(at) == PRESETS[DEFAULT_PRESET]  # all 12 leads (8-lead storage: 4 derived exactly)
    assert "real (hidden from the generator)" in trace_names(at)


def test_summary_shows_the_cart_and_the_morphology_table_a_cart_column(at: AppTest) -> None:
    path = cart_file("dicom/waveform_ecg.dcm")
    upload(at, (path.name, path.read_bytes(), "application/dicom"))
    summary = record_title(at)
    assert "Device **Mortara Instrument, Inc. el250**" in summary and "acquired **2013-01-25 10:59:19**" in summary
    assert ("**Cart measurements:** HR 61 bpm · PR 161 ms · QRS 75 ms · QT/QTc 368/370 ms · "
            "axes P/QRS/T 74/52/57°") in summary
    assert interpretation(at) == [("normal", "RITMO SINUSALE"), ("normal", "ECG NORMALE")]
    assert "Derived leads" not in summary  # all 12 stored
    assert any("median beats ignored" in w.value for w in at.warning)  # the reader's notes
    table = at.dataframe[1].value  # II ticked: the recorded Lead II beside the cart
    assert list(table.columns) == ["real", "cart"] and table.loc["QRS (ms)", "cart"] == 75.0
    assert np.isnan(table.loc["R amplitude (mV)", "cart"]) and np.isfinite(table.loc["QRS (ms)", "real"])
    at.checkbox(key="lead_II").uncheck().run()
    table = at.dataframe[1].value
    assert list(table.columns) == ["real", "generated", "cart", "difference", "tolerance", "flag"]
    assert table.loc["HR (bpm)", "cart"] == pytest.approx(60000 / 982) and table.loc["QTc Bazett (ms)", "cart"] == 370
    assert any("QTc formula may differ" in c.value for c in at.caption)


def test_summary_of_an_8_lead_file_names_the_derived_leads(at: AppTest) -> None:
    path = cart_file("ge_muse_xml/muse_ecg_deidentified_1.xml")
    upload(at, (path.name, path.read_bytes(), "text/xml"))
    summary = record_title(at)
    assert "**Derived leads:** III, aVR, aVL, aVF computed from I and II" in summary
    assert "Device **MAC**" in summary and "HR 102 bpm" in summary
    assert interpretation(at) == [  # worst first; the comparison's two lines read as one statement
        ("abnormal", "SINUS TACHYCARDIA WITH ONE VENTRICULAR PREMATURE BEAT"), ("abnormal", "LEFT AXIS DEVIATION"),
        ("abnormal", "OLD ANTEROSEPTAL INFARCT"),
        ("abnormal", "WHEN COMPARED WITH ECG OF 1/21/99 16:22, SINUS TACHYCARDIA HAS APPEARED"),
        ("other", "BASELINE ARTIFACT")]


def interpretation(at: AppTest) -> list[tuple[str, str]]:
    """The cart's statements as the page lists them: ``[(level, text as the cart wrote it)]``, top to bottom."""
    items = next(m.value for m in at.markdown if m.value.startswith("- :") and "-badge[" in m.value)
    out = []
    for line in items.splitlines():
        level, text = re.fullmatch(r"- :\w+-badge\[(\w+)\] (.*)", line).groups()
        out.append((level, re.sub(r"\\(.)", r"\1", text)))  # the page escapes Markdown: undo it
    return out


def test_the_carts_interpretation_is_open_at_the_top_worst_first_as_its_reading_of_the_recording(
        at: AppTest) -> None:
    # issue #24: Philips' ">>> Acute MI <<<" sat in a collapsed "Cart interpretation (5 statements)"
    path = cart_file("philips_xml/129DYPRG.XML")
    upload(at, (path.name, path.read_bytes(), "text/xml"))
    assert not [e for e in at.expander if "interpretation" in e.label.lower()]  # nothing to open
    assert interpretation(at) == [
        ("critical", "Inferior infarct, acute (LCx); ST>0.10mV, II III aVF, STd V1-V3"),
        ("critical", ">>> Acute MI <<<"),
        ("abnormal", "Sinus bradycardia; rate< 50"),
        ("abnormal", "ABNORMAL ECG"),
        ("borderline", "Nonspecific intraventricular conduction delay; QRSd >115mS, not LBBB/RBBB")]
    texts = [m.value for m in at.markdown]
    heading = next(i for i, t in enumerate(texts) if t.startswith("**Cart interpretation**"))
    assert "the cart's own reading of the originally recorded leads (all 12 leads)" in texts[heading]
    assert heading < next(i for i, t in enumerate(texts) if t.startswith("#### "))  # above the summary
    assert ticked(at) == PRESETS[DEFAULT_PRESET]  # so leads are generated: say so beside them
    assert any("cart's reading of the originally recorded leads, not of these generated leads" in c.value
               for c in at.caption)


def test_upload_zip_of_a_cart_file(at: AppTest) -> None:
    path = cart_file("philips_xml/129DYPRG.XML")
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.write(path, f"export/{path.name}")
    upload(at, ("carts.zip", buf.getvalue(), "application/zip"))
    assert not at.error and "`philips`" in record_title(at)


@pytest.mark.parametrize("files, problem", [
    ([("broken.hea", b"this is not a header\n", "text/plain")], "broken.hea"),
    ([("lonely.hea", b"lonely 1 500 1000\nlonely.dat 16 1000/mV 16 0 0 0 0 I\n", "text/plain")], "lonely"),
    ([("garbage.edf", b"\x00" * 300, "application/octet-stream")], "garbage.edf"),
    ([("empty.csv", b"I,II\n", "text/csv")], "empty.csv"),
])
def test_bad_upload_keeps_the_open_record(at: AppTest, tmp_path: Path, files, problem: str) -> None:
    upload(at, wfdb_files(ecg("good"), tmp_path, "good"))
    at.checkbox(key="lead_V2").uncheck().run()
    upload(at, files)
    assert len(at.error) == 1
    message = at.error[0].value
    assert problem in message and "The viewer opens one ECG record at a time" in message and "WFDB" in message
    assert "good" in record_title(at)  # the previous record stays, with its lead selection
    assert "V2" not in ticked(at) and "V1" in ticked(at)
    assert not at.exception


def _two_records(tmp_path: Path) -> list:
    return wfdb_files(ecg("a", seed=4), tmp_path, "a") + wfdb_files(ecg("b", seed=5), tmp_path, "b")


def _cut_dicom(tmp_path: Path) -> list:
    from l2g.export import dicom_bytes

    data = dicom_bytes(ecg("cut", seed=6))
    return [("cut.dcm", data[: len(data) // 2], "application/dicom")]


@pytest.mark.parametrize("files, plain", [
    (lambda tmp: [("invoice.xml", b'<?xml version="1.0"?><invoice><total>3</total></invoice>', "text/xml")],
     "it is not an ECG file this viewer recognises"),
    (_two_records, "the files hold more than one record; add one record at a time"),
    (_cut_dicom, "it is an ECG file of a known kind, but damaged, cut short or of a variant this viewer cannot "
                 "read yet"),
    (lambda tmp: [("lonely.dat", b"\x00" * 4000, "application/octet-stream")], "it could not be read as an ECG "
                                                                                "record"),
], ids=["unknown", "several", "damaged", "other"])
def test_a_refused_file_is_explained_in_plain_words_and_names_the_record_still_shown(
        at: AppTest, tmp_path: Path, files, plain: str) -> None:
    # issue #24: the refusal was the reader's own text ("uploads: several records ...; expected one record per
    # upload") and did not say which record was still on the page
    upload(at, wfdb_files(ecg("good"), tmp_path, "good"))
    upload(at, files(tmp_path))
    message, = load_errors(at)
    lines = message.split("  \n")
    assert lines[0].startswith("**Could not open upload “") and lines[0].endswith(f":** {plain}."), lines
    assert lines[1].startswith("Why: ") and "The viewer opens one ECG record at a time" in lines[2], lines
    assert lines[-1] == "Still showing **good** (upload “good.hea”, “good.dat”).", lines
    assert "#### good" in record_title(at)


def test_long_record_has_a_window_slider(at: AppTest, tmp_path: Path) -> None:
    upload(at, wfdb_files(ecg("long", duration_s=25.0), tmp_path, "long"))
    at.slider(key="t0").set_value(12.5).run()
    assert not at.exception
    xs = [t["x0"] for t in traces(at) if "x0" in t]
    assert min(xs) == pytest.approx(12.5)


# ------------------------------------------------------------------ exports
def test_export_wfdb_zip_and_csv(at: AppTest, downloads: dict[str, bytes], tmp_path: Path) -> None:
    at.checkbox(key="lead_V1").uncheck().run()  # rerun with the spy in place
    assert not at.exception
    with zipfile.ZipFile(io.BytesIO(downloads["demo_l2g.zip"])) as zf:
        assert sorted(zf.namelist()) == ["demo.dat", "demo.hea", "demo_band.dat", "demo_band.hea"]  # the band beside
        zf.extractall(tmp_path)
    back = wfdb.rdrecord(str(tmp_path / "demo"))
    assert back.sig_name == list(LEADS) and back.fs == 500 and back.sig_len == 5000
    comments = " ".join(back.comments)
    assert "L2G" in comments and "generated" in comments
    real = demo_record().signal  # the recorded rows are exported unchanged
    for lead in ticked(at):
        k = LEADS.index(lead)
        assert np.max(np.abs(back.p_signal[:, k] - real[k])) < 2e-3
    csv_lines = downloads["demo_l2g.csv"].decode().splitlines()
    assert csv_lines[0].startswith("# L2G: lead status:")  # provenance first, as comment lines
    first = next(line for line in csv_lines if not line.startswith("#")).split(",")
    assert first[0] == "time_s" and "V1_generated" in first and "I" in first


@pytest.mark.browser
def test_export_png_and_the_report_pdf_only(at: AppTest, downloads: dict[str, bytes]) -> None:
    """The chart image is a PNG; the one PDF offered is the printable report at true scale (issue #25: the
    Kaleido PDF, not to scale, is gone)."""
    from l2g.export import browser_path

    if browser_path() is None:
        assert any("Chromium" in i.value for i in at.info)
        pytest.skip("no Chromium here: the page shows the note instead of the button (checked)")
    at.button(key="render_images").click().run()
    assert not at.exception
    png = next(v for k, v in downloads.items() if k.endswith(".png"))
    assert png.startswith(b"\x89PNG")
    assert [k for k in downloads if k.endswith(".pdf")] == [k for k in downloads if k.endswith("_report.pdf")]


def test_image_export_without_a_browser_shows_a_note(monkeypatch) -> None:
    monkeypatch.setenv("BROWSER_PATH", "/nonexistent/chromium")
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert any("Chromium" in i.value and "not installed" in i.value for i in app.info)
    assert not [b for b in app.button if b.key == "render_images"]


# ------------------------------------------------------------------ data folder and demo
def test_data_folder_search_and_open(monkeypatch, tmp_path: Path) -> None:
    folder = tmp_path / "data"
    write_wfdb(ecg("alpha", age=40), folder / "site_a", "alpha")
    write_wfdb(ecg("beta", seed=2, diagnoses=(Diagnosis("", "left bundle branch block", "text"),)),
               folder / "site_b", "beta")
    monkeypatch.setenv("L2G_DATA_DIR", str(folder))
    assert data_dir([]) == folder
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert "demo" in record_title(app)  # the demo opens first; the folder is listed beside it
    app.text_input(key="folder_query").input("bundle").run()
    box = app.selectbox(key="folder_choice")
    assert box.value == "site_b/beta"
    assert box.options == ["site_b/beta · site_b · 10 s · left bundle branch block"]
    app.button(key="open_folder").click().run()
    assert not app.exception
    assert "beta" in record_title(app) and "left bundle branch block" in record_title(app)
    app.button(key="open_demo").click().run()
    assert "demo" in record_title(app)


def test_data_folder_argument() -> None:
    assert data_dir(["--data-dir", "/some/where"]) == Path("/some/where")
    assert data_dir(["--other", "x"]) is None or data_dir(["--other", "x"]) == data_dir([])


# the Evaluation and Model pages: tests/test_app_evaluation.py


def test_csv_without_a_time_column_is_read_at_the_sidebar_rate(at: AppTest) -> None:
    rec = ecg("notime")
    rows = ["I,II,V2"] + [f"{a:.4f},{b:.4f},{c:.4f}" for a, b, c in zip(rec.lead("I"), rec.lead("II"),
                                                                          rec.lead("V2"), strict=True)]
    at.number_input(key="csv_fs").set_value(250.0).run()
    upload(at, ("notime.csv", ("\n".join(rows) + "\n").encode(), "text/csv"))
    assert not at.error
    assert "250 Hz" in record_title(at) and "20.0 s" in record_title(at)
    assert any("no time column" in w.value and "250 Hz" in w.value for w in at.warning)


# ------------------------------------------------------------------ with a generator loaded
@pytest.fixture
def with_generator(monkeypatch, tmp_path: Path):
    """A generator checkpoint of the shipped architecture (random weights) as weights/l2g.pt."""
    from l2g.baseline import LinearBaseline
    from l2g.checkpoint import generator_checkpoint, save
    from l2g.dataset import DataConfig
    from l2g.model import Generator, GeneratorConfig

    data = DataConfig()
    save(generator_checkpoint(Generator(GeneratorConfig()), LinearBaseline.load(shipped("linear.pt")), fs=data.fs,
                              window=data.window, highpass_hz=0.5), tmp_path / "l2g.pt")
    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(tmp_path))
    state.reset_models()
    yield
    state.reset_models()  # the next tests load the real default again


def test_generator_in_use_with_the_linear_baseline_overlay(with_generator, tmp_path: Path) -> None:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert not [w for w in app.warning if "linear baseline" in w.value]  # no fallback banner
    rc, _ = state.reconstructor("model")
    assert rc.version.startswith("l2g.pt@") and rc.method == "model"
    assert rc.version.split("@")[1] == file_sha256(tmp_path / "l2g.pt")[:12]  # the folder's, not the shipped one
    assert "generated (model)" in trace_names(app)
    app.checkbox(key="compare_linear").check().run()
    assert not app.exception
    assert "linear baseline (comparison)" in trace_names(app)
    table = app.dataframe[0].value
    assert {"r (linear)", "RMSE (linear, µV)", "SSIM (linear)"} <= set(table.columns)


def test_no_model_at_all_shows_the_recording_without_a_traceback(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "l2g.pt").write_bytes(b"not a checkpoint")
    (tmp_path / "linear.pt").write_bytes(b"not a baseline either")
    with app_with_weights(monkeypatch, tmp_path) as app:
        assert len(app.error) == 1 and "No generator available" in app.error[0].value
        names = trace_names(app)
        assert "recorded (input)" in names and not any(n.startswith("generated") for n in names)
        app.switch_page("pages/model.py").run()
        assert not app.exception and "No generator available" in app.error[0].value
