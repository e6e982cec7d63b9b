"""The viewer's trust features (issue #14), driven with AppTest: the confidence band and its toggle, the
trust grades, the ST warning, the lead-check panel and the band in the exports."""

from __future__ import annotations

import base64
import io
import json
import zipfile

import numpy as np
from streamlit.testing.v1 import AppTest

from l2g.demo import demo_record
from l2g.io import read_record
from l2g.leadcheck import apply_fault, check_leads
from l2g.leads import LEADS, PRESETS

from .app_helpers import app_with_weights, upload, wfdb_files
from .weights import PREVIOUS, SHIPPED

BAND = "90 % confidence band"


def chart(app: AppTest) -> dict:
    return json.loads(app.get("plotly_chart")[0].proto.spec)


def fills(app: AppTest) -> list[dict]:
    return [t for t in chart(app)["data"] if t.get("fill") == "toself"]


def ys(trace: dict) -> np.ndarray:
    """A trace's y values (Plotly writes numpy arrays as typed ``{"dtype", "bdata"}`` objects)."""
    y = trace["y"]
    if isinstance(y, dict):
        return np.frombuffer(base64.b64decode(y["bdata"]), dtype=np.dtype(y["dtype"]))
    return np.asarray(y, dtype=float)


def tick_only(app: AppTest, leads) -> AppTest:
    for lead in LEADS:
        box = app.checkbox(key=f"lead_{lead}")
        box.check() if lead in leads else box.uncheck()
    app.run()
    assert not app.exception, app.exception
    return app


def test_band_toggle_draws_and_removes_the_fill(at: AppTest) -> None:
    bands = fills(at)
    assert bands and {t["name"] for t in bands} == {BAND}  # on by default, one legend entry
    generated = [lead for lead in LEADS if lead not in PRESETS[at.selectbox(key="preset").value]]
    assert len(bands) >= len([g for g in generated if g.startswith("V")])  # the chest leads are never exact
    assert any("Light blue: the 90 % confidence band" in c.value for c in at.caption)
    at.toggle(key="band").set_value(False).run()
    assert not at.exception
    assert not fills(at)
    assert any(t.get("name") == "generated (model)" for t in chart(at)["data"])  # the traces stay


def test_grades_in_the_agreement_table_and_on_the_chart_labels(at: AppTest) -> None:
    table = at.dataframe[0].value
    assert list(table.columns)[:2] == ["Grade", "Predicted RMSE (µV)"]
    assert set(table["Grade"]) <= {"A", "B", "C"} and table["Grade"].notna().all()
    labels = [a["text"] for a in chart(at)["layout"]["annotations"]]
    for lead in table.index:
        assert f"<b>{lead} <i>(gen · {table.loc[lead, 'Grade']})</i></b>" in labels
    assert any("**C** > 150 µV: do not use" in c.value for c in at.caption)


def test_one_lead_gives_wide_bands_low_grades_and_the_st_warning(at: AppTest) -> None:
    one = tick_only(at, ["II"])
    table = one.dataframe[0].value
    # from II alone no chest lead may be trusted for ST, some not at all; aVR and aVF, mostly II itself,
    # may reach A (demo record, shipped weights: predicted 49 / 50 µV, actual 45 / 48 µV)
    chest = [lead for lead in table.index if lead.startswith("V")]
    assert len(chest) == 6 and (table.loc[chest, "Grade"] != "A").all() and (table["Grade"] == "C").any()
    assert (table.loc[["I", "III", "aVL"], "Grade"] != "A").all()
    warning = [w.value for w in one.warning if "Too uncertain for ST decisions" in w.value]
    assert len(warning) == 1 and "V2 (grade " in warning[0] and "band at ST ±" in warning[0]
    assert sorted(st_warning_leads(one)) == sorted(table.index[table["Grade"] != "A"])  # the grades' own rule
    one_width = sum(float(np.ptp(ys(t))) for t in fills(one))
    five = tick_only(one, ["I", "II", "V1", "V3", "V5"])
    assert sum(float(np.ptp(ys(t))) for t in fills(five)) < one_width  # fewer, narrower bands
    five_table = five.dataframe[0].value
    assert (five_table["Predicted RMSE (µV)"] < table["Predicted RMSE (µV)"].reindex(five_table.index)).all()


def test_lead_check_success_on_the_untouched_record(at: AppTest) -> None:
    ok = [s.value for s in at.success if s.value.startswith("Lead check")]
    assert len(ok) == 1 and "12 recorded leads agree" in ok[0]
    assert not [e for e in at.error if "Lead check" in e.value]


def test_lead_check_flags_a_la_ra_reversal_above_the_chart(at: AppTest, tmp_path) -> None:
    bad = apply_fault(demo_record(), "LA/RA")
    assert check_leads(bad).attrs["faults"] == ["LA/RA"]  # the library flags it: the page must say so
    upload(at, wfdb_files(bad, tmp_path, "lara"))
    errors = [e for e in at.error if "Lead check" in e.value]
    assert len(errors) == 1 and "LA/RA" in errors[0].value and "left/right arm electrodes reversed" in errors[0].value
    assert not [s for s in at.success if s.value.startswith("Lead check")]
    # above the chart: the error comes first in the page's element order
    order = [type(el).__name__ if not hasattr(el, "proto") or type(el).__name__ != "UnknownElement"
             else el.type for el in at.main]
    assert "Error" in order and order.index("Error") < order.index("plotly_chart"), order
    flagged = next(d.value for d in at.dataframe if "flag" in d.value.columns)
    assert bool(flagged.loc["I", "flag"]) and not bool(flagged.loc["V1", "flag"])


def test_exports_hold_the_band_beside_the_signal(at: AppTest, downloads: dict[str, bytes], tmp_path) -> None:
    at.checkbox(key="lead_V1").uncheck().run()  # rerun with the spy in place
    assert not at.exception
    data = downloads["demo_l2g.zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["demo.dat", "demo.hea", "demo_band.dat", "demo_band.hea"]
    back = read_record([("demo_l2g.zip", data)])
    assert back.leads == LEADS and "V1" in back.generated_leads
    csv = downloads["demo_l2g.csv"].decode()
    header = next(line for line in csv.splitlines() if line.startswith("time_s")).split(",")
    assert "V1_generated" in header and "V1_low" in header and "V1_high" in header
    assert "I_low" not in header  # recorded leads have no band
    reread = read_record([("demo_l2g.csv", downloads["demo_l2g.csv"])])
    assert reread.leads == LEADS and np.allclose(reread.signal, back.signal, atol=2e-3)
    assert any("`<name>_band`" in c.value for c in at.caption)


def test_a_weights_folder_whose_band_was_fitted_for_another_generator(monkeypatch, tmp_path) -> None:
    """``L2G_WEIGHTS_DIR`` holds the previous generator beside the shipped interval.json (fitted for the
    current one): the leads are generated, with no band and no grade, and the page says why, naming both
    generators (issue #24: the band was drawn without a word)."""
    import shutil

    from .weights import WEIGHTS

    for name in ("linear.pt", "leadcheck.pt", "interval.json"):
        shutil.copy(WEIGHTS / name, tmp_path / name)
    shutil.copy(WEIGHTS / "previous" / "l2g.pt", tmp_path / "l2g.pt")
    with app_with_weights(monkeypatch, tmp_path) as app:
        notes = [i.value for i in app.info if "No confidence band or trust grade" in i.value]
        assert len(notes) == 1, [i.value for i in app.info]
        assert f"fitted for {SHIPPED}, not for {PREVIOUS}" in notes[0]
        assert not fills(app) and any(t.get("name") == "generated (model)" for t in chart(app)["data"])
        assert "Grade" not in app.dataframe[0].value.columns


def test_trust_panel_says_what_the_diagnostic_evaluation_found(at: AppTest, tmp_path, monkeypatch) -> None:
    """Issue #22 item 7: for the ticked leads, the panel reads the fidelity table the evaluation writes, for this
    generator only; without a table it says that nothing was measured."""
    import l2g.fidelity as fidelity
    from dashboard import state

    version = state.reconstructor("model")[0].version
    table = {"model": version, "subsets": {"I": {"real": 0.93, "input_only": 0.83, "model": 0.79, "linear": 0.78,
                                                 "zero": 0.55}},
             "per_class": {"I": {"real": {"MI": 0.92}, "model": {"MI": 0.69}}},
             "reconstruction": {"I": {"model": {"r": 0.70, "rmse_uv": 130.0}}}}
    path = tmp_path / "diagnostic.json"
    path.write_text(json.dumps(table))
    monkeypatch.setattr(fidelity, "FINDINGS_FILE", path)
    tick_only(at, ["I"])
    panel = [i.value for i in at.info if "What the evaluation found" in i.value]
    assert len(panel) == 1
    assert "macro-AUC **0.79** from the generated 12-lead, 0.93 from twelve recorded leads" in panel[0]
    assert "cannot rule out an infarct" in panel[0] and "less** diagnostic information" in panel[0]
    tick_only(at, ["I", "II", "V2"])  # not evaluated: said so, with what it holds
    panel = [i.value for i in at.info if "What the evaluation found" in i.value][0]
    assert "not part of the diagnostic evaluation" in panel and "It holds I" in panel
    table["model"] = "l2g.pt@000000000000"
    path.write_text(json.dumps(table))
    tick_only(at, ["I"])
    panel = [i.value for i in at.info if "What the evaluation found" in i.value][0]
    assert "made for another generator" in panel and "cannot rule out" not in panel
    table["patientwise"] = True  # a patient-wise retraining's findings: shown, saying whose they are
    path.write_text(json.dumps(table))
    tick_only(at, ["II"])
    tick_only(at, ["I"])
    panel = [i.value for i in at.info if "What the evaluation found" in i.value][0]
    assert "Not measured on this generator" in panel and "l2g.pt@000000000000" in panel
    assert "cannot rule out an infarct" in panel
    path.unlink()
    tick_only(at, ["II"])
    panel = [i.value for i in at.info if "What the evaluation found" in i.value][0]
    assert "No diagnostic evaluation is available" in panel


def st_warning_leads(app: AppTest) -> list[str]:
    """The generated leads the page's ST warning names (``"… in aVR (…), V2 (…)"``); [] without a warning."""
    import re

    text = [w.value for w in app.warning if "Too uncertain for ST decisions" in w.value]
    assert len(text) <= 1, text
    return re.findall(r"\b(I{1,3}|aV[RLF]|V[1-6]) \(", text[0]) if text else []


def test_no_lead_is_graded_a_and_named_too_uncertain_for_st(at: AppTest) -> None:
    # issue #22 item 6: from lead I on the demo record aVR and aVL were graded A ("ST-level decisions possible")
    # while the ST warning under the chart listed them as too uncertain; grade A and the warning now come from
    # one decision (l2g.uncertainty.st_decision), so the warning names exactly the generated leads not graded A
    one = tick_only(at, ["I"])
    grades = one.dataframe[0].value["Grade"]
    warned = st_warning_leads(one)
    assert len(grades) == 11 and warned, (grades.to_dict(), warned)
    assert not [lead for lead in warned if grades[lead] == "A"], (grades.to_dict(), warned)
    assert sorted(warned) == sorted(grades.index[grades != "A"])
