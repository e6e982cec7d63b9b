"""AppTest of the three study pages: set-up creates a study and a reader, the reader answers every kind of
trial (resuming in a new session), the analysis page shows the numbers and offers the CSV."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from l2g.study.store import answers_frame, get_study, open_db
from tests.app_helpers import APP, TIMEOUT
from tests.test_study import make_data


@pytest.fixture
def env(tmp_path, monkeypatch):
    db = tmp_path / "app.db"
    monkeypatch.setenv("L2G_STUDY_DB", str(db))
    monkeypatch.delenv("L2G_DATA_DIR", raising=False)
    return db, make_data(tmp_path / "data", n=2)


def page(name: str) -> AppTest:
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    app.switch_page(f"pages/{name}.py").run()
    assert not app.exception, app.exception
    return app


@pytest.mark.slow
def test_setup_creates_study_and_reader(env, downloads):
    db, data = env
    app = page("study_setup")
    app.text_input(key="study_name").set_value("s1")
    app.text_input(key="study_data").set_value(str(data))
    app.number_input(key="study_trials").set_value(2)
    app.selectbox(key="study_method").set_value("linear")
    app.button[0].click().run()  # the form's submit button
    assert not app.exception, app.exception
    assert any("created" in s.value for s in app.success), [e.value for e in app.error]
    # the overview above the forms is drawn after them: the new study is listed in the same run
    assert len(app.expander) == 1 and app.expander[0].label.startswith("s1 · model ")
    assert app.expander[0].label.endswith("0 reader(s) · 0 trial(s) answered")
    settings = app.dataframe[0].value.set_index("setting")["value"]
    assert settings["Trials per type"] == "2" and settings["Generator"].startswith("linear")
    app.text_input(key="study_reader_code").set_value("R1")
    app.checkbox(key="study_give_token").check()
    [b for b in app.button if b.label == "Add reader"][0].click().run()
    assert not app.exception, app.exception
    token_msg = [w.value for w in app.warning if "Token for R1" in w.value]
    assert token_msg
    token = token_msg[0].split("`")[1]
    assert "1 reader(s)" in app.expander[0].label  # counted in the run that added the reader
    assert app.dataframe[1].value["reader"].tolist() == ["R1"]

    # the reader: wrong token refused, right token answers all trials of each kind
    r = page("study_reader")
    r.text_input(key="study_code").set_value("R1")
    r.text_input(key="study_token").set_value("nope")
    r.button(key="study_start").click().run()
    assert any("wrong token" in e.value for e in r.error)
    r.text_input(key="study_token").set_value(token)
    r.button(key="study_start").click().run()
    kinds_seen = set()
    for _ in range(2):  # two trials, then a new session resumes
        kinds_seen.add(_answer_one(r))
    engine = open_db(db)
    study = get_study(engine, "s1")
    assert len(answers_frame(engine, study)) == 2

    r2 = page("study_reader")  # a new session (a reopened tab): sign in again, continue at trial 3
    r2.text_input(key="study_code").set_value("R1")
    r2.text_input(key="study_token").set_value(token)
    r2.button(key="study_start").click().run()
    header = " ".join(m.value for m in r2.markdown)
    assert "trial **3 of 6**" in header, header
    while "all trials answered" not in " ".join(s.value for s in r2.success):
        kinds_seen.add(_answer_one(r2))
    assert kinds_seen == {"pick", "real_or_generated", "diagnosis"}
    df = answers_frame(engine, study)
    assert len(df) == 6 and not df.duplicated("trial").any()
    assert set(df[df["kind"] == "diagnosis"]["free_text"]) == {"looks fine"}

    a = page("study_analysis")
    assert not a.exception, a.exception
    assert "s1_answers.csv" in downloads and downloads["s1_answers.csv"].count(b"\n") == 7
    assert any("Fleiss" in h.value for h in a.subheader)
    for table in a.dataframe:  # one reader: Fleiss' kappa undefined, said in words
        assert not table.value.isin(["None", "nan", "NaN"]).any().any()
    fleiss = next(t.value for t in a.dataframe if "note" in t.value and "readers" in t.value)
    assert set(fleiss["kappa"]) == {"–"} and set(fleiss["note"]) == {"needs answers from two or more readers"}
    by_kind = a.dataframe[0].value.set_index("kind")
    assert by_kind["trials"].astype(int).sum() == 4 and by_kind["decisions"].astype(int).sum() >= 4  # pick + r/g


def _answer_one(app: AppTest) -> str:
    text = " ".join(m.value for m in app.markdown)
    if "Which one is generated" in text:
        app.button(key="study_conf_5").click().run()
        app.button(key="study_pick_B").click().run()
        kind = "pick"
    elif "Mark the leads" in text:
        pills = [w for w in app.get("button_group")]
        pills[0].set_value(["V1", "V4"]).run()
        app.button(key="study_submit").click().run()
        kind = "real_or_generated"
    else:
        assert "give your diagnosis" in text, (text, [e.value for e in app.error], [w.value for w in app.warning])
        [t for t in app.text_input if t.key.startswith("study_text_")][0].set_value("looks fine")
        app.button(key="study_dx_0").click().run()
        kind = "diagnosis"
    assert not app.exception, app.exception
    return kind


def test_pages_without_a_study(env):
    for name in ("study_reader", "study_analysis"):
        app = page(name)
        assert any("No study" in i.value for i in app.info)
