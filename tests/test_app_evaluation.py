"""The Evaluation and Model pages, driven with Streamlit's AppTest on the committed reports and weights.

Each page is run on its own (``AppTest.from_file("pages/...")``): neither needs the viewer's record.
"""

from __future__ import annotations

import base64
import io
import json
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from l2g import results

from .app_helpers import TIMEOUT

REPO = Path(__file__).resolve().parents[1]
EVALUATION = str(REPO / "pages" / "evaluation.py")
MODEL = str(REPO / "pages" / "model.py")


def charts(app: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in app.get("plotly_chart")]


def values(field) -> np.ndarray:
    """A trace's numbers: Plotly's JSON holds them as a list or as ``{"bdata": base64, "dtype": ...}``."""
    if isinstance(field, dict):
        return np.frombuffer(base64.b64decode(field["bdata"]), dtype=field["dtype"])
    return np.asarray(field)


def titles(app: AppTest) -> list[str]:
    return [c["layout"]["title"]["text"].split("<br>")[0] for c in charts(app)]


def shown_text(app: AppTest) -> str:
    return " ".join(e.value for kind in ("markdown", "caption", "info", "warning", "success") for e in app.get(kind))


@pytest.fixture
def evaluation(monkeypatch, downloads) -> AppTest:
    monkeypatch.delenv("L2G_REPORTS_DIR", raising=False)  # the committed reports/
    app = AppTest.from_file(EVALUATION, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    return app


def test_evaluation_page_without_a_report_says_how_to_build_it(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("L2G_REPORTS_DIR", str(tmp_path))
    app = AppTest.from_file(EVALUATION, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert not app.get("plotly_chart") and not app.get("download_button")
    assert "make evaluate" in shown_text(app) and "make diagnostic" in shown_text(app)


def test_evaluation_page_draws_every_figure_of_the_committed_report(evaluation: AppTest) -> None:
    app = evaluation
    assert not app.get("imagelist") and not app.get("image")  # no PNG (and so no broken image) on the page
    assert titles(app) == ["Pearson r against k — one point per record (57 records)",
                           "Per generated lead, model, k = 2: per subset", "Per data source, k = 2"]
    vs_k, heat, sources = charts(app)
    assert {t["name"] for t in vs_k["data"]} == {"model", "linear"}
    assert all(t["type"] == "box" and t["boxpoints"] == "all" for t in vs_k["data"])  # every record a point
    assert sorted(set(vs_k["data"][0]["x"]), key=int) == [str(k) for k in range(1, 8)]
    assert heat["data"][0]["type"] == "heatmap" and len(heat["data"][0]["y"]) == 13  # the k = 2 subsets
    assert {t["name"] for t in sources["data"]} == {"model", "linear"}
    assert "/" + REPO.parts[1] not in shown_text(app)  # no absolute path


def test_evaluation_page_choices_redraw_the_figures(evaluation: AppTest) -> None:
    app = evaluation
    app.select_slider(key="eval_k").set_value(5).run()
    app.selectbox(key="eval_subset_5").set_value("I,II,V1,V3,V5").run()
    app.selectbox(key="eval_lead").set_value("V2").run()
    app.selectbox(key="eval_metric").set_value("rmse_uv").run()
    app.selectbox(key="eval_records").set_value("all").run()
    app.selectbox(key="eval_source").set_value("ludb").run()
    app.multiselect(key="eval_methods").set_value(["model", "linear", "previous"]).run()
    assert not app.exception, app.exception
    assert titles(app) == ["RMSE (µV) against k — one point per record (30 records)",
                           "Per generated lead, model, k = 5, inputs I,II,V1,V3,V5, ludb: per record",
                           "Per data source, k = 5, inputs I,II,V1,V3,V5, lead V2"]
    vs_k, heat, sources = charts(app)
    assert {t["name"] for t in vs_k["data"]} == {"model", "linear", "previous"}
    assert len(heat["data"][0]["y"]) == 30 and heat["data"][0]["x"] == ["III", "aVR", "aVL", "aVF", "V2", "V4",
                                                                          "V6"]
    assert "lower is better" in vs_k["layout"]["title"]["text"]
    # the values are the report's: the per-record mean over generated leads, averaged over records
    rows = results.read_rows(REPO / "reports" / results.ROWS_FILE)
    ludb = rows[(rows["source"] == "ludb") & (rows["method"] == "model") & (rows["k"] == 5)
                & (rows["subset"] == "I,II,V1,V3,V5") & (rows["lead"] == "V2")]
    box = next(t for t in sources["data"] if t["name"] == "model")
    on_ludb = np.asarray(box["x"]) == "ludb (30)"  # every source is drawn, LUDB's 30 records among them
    assert sorted(values(box["y"])[on_ludb]) == pytest.approx(sorted(ludb["rmse_uv"]))


def test_diagnostic_fidelity_table_and_the_full_report_download(evaluation: AppTest, downloads) -> None:
    table = evaluation.dataframe[0].value
    assert list(table["input leads"]) == list(json.loads((REPO / "reports" / "diagnostic.json").read_text())
                                              ["subsets"])
    assert not table.isna().any().any() and not table.astype(str).isin(["None", "nan"]).any().any()
    data = downloads["l2g_evaluation_report.zip"]
    with zipfile.ZipFile(io.BytesIO(data)) as z:
        names = set(z.namelist())
    assert {"evaluation.md", "diagnostic.md", "metric_vs_k.png", "per_lead_heatmap.png", "bland_altman.png"} <= names


def test_report_zip_holds_the_figures_its_markdown_links(tmp_path: Path) -> None:
    (tmp_path / "evaluation.md").write_text("# Study\n\n![curve](curve.png)\n")
    for name in ("curve.png", "unlinked.png"):
        (tmp_path / name).write_bytes(b"png")
    with zipfile.ZipFile(io.BytesIO(results.report_zip(tmp_path))) as z:
        assert sorted(z.namelist()) == ["curve.png", "evaluation.md"]


def test_diagnostic_table_without_a_report_is_empty() -> None:
    assert results.diagnostic_table({}).empty and list(results.diagnostic_table({}).columns)[0] == "input leads"


# ------------------------------------------------------------------ model page
def test_model_page_is_a_card_with_the_detail_folded_below(monkeypatch) -> None:
    for name in ("L2G_WEIGHTS_DIR", "L2G_REPORTS_DIR"):
        monkeypatch.delenv(name, raising=False)
    app = AppTest.from_file(MODEL, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    text = shown_text(app)
    assert "not a medical device" in text and "**What it is.**" in text and "**Limits.**" in text
    headline = app.dataframe[0].value
    assert list(headline["k"]) == list(range(1, 8))
    by_k = {(r["method"], r["k"]): r for r in json.loads((REPO / "reports" / "evaluation.json").read_text())
            ["headline"]["by_k"]}
    assert headline.loc[0, "model r"] == pytest.approx(by_k[("model", 1)]["r"])
    labels = [e.label for e in app.expander]
    assert "Model card — Known limits" in labels and "Training curves" in labels and len(labels) > 8
    assert not any(e.proto.expanded for e in app.expander)  # folded
    assert "/" + REPO.parts[1] not in text


def test_model_page_card_and_curves_from_another_weights_folder(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(tmp_path))
    monkeypatch.setenv("L2G_RUNS_DIR", str(tmp_path / "no-runs"))
    monkeypatch.setenv("L2G_REPORTS_DIR", str(tmp_path / "no-reports"))
    app = AppTest.from_file(MODEL, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert any("No model card" in i.value for i in app.info)
    assert any("No evaluation report yet" in i.value for i in app.info)
    (tmp_path / "MODEL_CARD.md").write_text("# L2G generator\n\nTrained on CinC 2021.\n\n## Data\n\nPTB-XL.\n")
    pd.DataFrame({"epoch": [0, 1], "train_mse": [0.02, 0.015], "val_mse": [0.03, 0.025],
                  "linear_val_mse": [0.03, 0.03], "val_r": [0.78, 0.81], "linear_val_r": [0.77, 0.77]}
                 ).to_csv(tmp_path / "l2g.metrics.csv", index=False)
    app.run()
    assert not app.exception
    assert [e.label for e in app.expander][-3:] == ["Model card — intended use", "Model card — Data",
                                                    "Training curves"]
    assert any("Trained on CinC 2021" in m.value for m in app.markdown)
    names = {t["name"] for t in charts(app)[0]["data"]}
    assert {"train_mse", "val_mse", "val_r", "linear_val_r"} <= names


def test_model_page_shows_training_runs_when_no_log_is_shipped(monkeypatch, tmp_path: Path) -> None:
    (tmp_path / "runs" / "a").mkdir(parents=True)
    (tmp_path / "runs" / "a" / "a.metrics.csv").write_text("epoch,val_mse,val_r\n0,0.03,0.78\n1,0.02,0.8\n")
    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(tmp_path / "weights"))
    monkeypatch.setenv("L2G_RUNS_DIR", str(tmp_path / "runs"))
    app = AppTest.from_file(MODEL, default_timeout=TIMEOUT).run()
    assert not app.exception
    assert any("in progress" in c.value for c in app.caption)
    assert {t["name"] for t in charts(app)[0]["data"]} == {"val_mse", "val_r"}
