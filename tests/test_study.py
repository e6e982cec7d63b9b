"""The reader study end to end on SQLite (and PostgreSQL when a server can run): create, readers, answers,
resume, no repeats, report numbers, CSV export, migration from the initial revision, blinding of the figure.

The helpers here (:func:`make_data`, :func:`make_study`, :func:`policy`, :func:`answer`) are shared by
tests/test_app_study.py and tests/test_browser_study.py.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import shutil
import subprocess
from pathlib import Path

import pandas as pd
import pytest
from sqlalchemy import inspect, text

from l2g.io import write_wfdb
from l2g.study import cli as study_cli  # noqa: F401 - importable without sqlalchemy work
from l2g.study.design import StudyConfig, create_study
from l2g.study.report import study_report
from l2g.study.store import (
    StudyError,
    add_reader,
    answers_frame,
    get_study,
    login,
    next_trial,
    open_db,
    progress,
    submit_answer,
    upgrade,
)
from tests.ecg_factory import synthetic_record


# ------------------------------------------------------------------ shared helpers
def make_data(folder: Path, n: int = 3) -> Path:
    """``n`` synthetic 12-lead WFDB records (10 s, 500 Hz) in ``folder``."""
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        write_wfdb(synthetic_record(seed=i, name=f"r{i}"), folder, f"r{i}")
    return folder


def make_study(db, data: Path, trials: int = 2, **kw):
    """Open ``db`` and create a small linear-baseline study of every kind; returns (engine, study)."""
    engine = open_db(db)
    cfg = StudyConfig(name=kw.pop("name", "demo"), data=str(data), trials=trials, method="linear", seed="t1", **kw)
    return engine, create_study(engine, cfg)


def policy(view, reader: str):
    """A deterministic reader: (answer, confidence, free text) for a trial view."""
    if view.kind == "pick":
        return ("A" if reader.endswith("1") else "B"), 3, ""
    if view.kind == "real_or_generated":
        return (["V1", "V3"] if reader.endswith("1") else ["V3"]), None, ""
    return view.options[(view.trial_id + len(reader)) % 2], 4, "note"


def answer(engine, reader_id: int, reader: str, n: int | None = None) -> int:
    """Answer up to ``n`` trials (all when None) with :func:`policy`; returns how many were answered."""
    done = 0
    while n is None or done < n:
        view = next_trial(engine, reader_id)
        if view is None:
            break
        a, conf, note = policy(view, reader)
        shown = dt.datetime(2026, 1, 1, 12, 0, 0) + dt.timedelta(minutes=view.position)
        submit_answer(engine, reader_id, view.trial_id, a, confidence=conf, shown_at=shown, free_text=note,
                      answered_at=shown + dt.timedelta(seconds=5 + view.position))
        done += 1
    return done


@pytest.fixture(scope="module")
def data(tmp_path_factory) -> Path:
    return make_data(tmp_path_factory.mktemp("study_data"))


def run_flow(db, data: Path) -> tuple[pd.DataFrame, object]:
    """The whole flow on ``db``: two readers, one stops half-way and resumes; returns (answers, report)."""
    engine, study = make_study(db, data, trials=3)
    assert add_reader(engine, study, "R1") is None
    token = add_reader(engine, study, "R2", token=True)
    r1, r2 = login(engine, study, "R1"), login(engine, study, "R2", token)
    with pytest.raises(StudyError, match="unknown reader code or wrong token"):
        login(engine, study, "R2", "wrong")
    total = next_trial(engine, r1).total
    assert total == 3 + 3 + 4  # diagnosis trials come in pairs: 3 -> 2 records x 2 pages
    assert answer(engine, r1, "R1", n=4) == 4
    engine.dispose()  # "the server stops": reopen and resume
    engine = open_db(db)
    study = get_study(engine, "demo")
    view = next_trial(engine, r1)
    assert view.position == 5  # resumes after the four committed answers
    assert answer(engine, r1, "R1") == total - 4
    assert answer(engine, r2, "R2") == total
    assert next_trial(engine, r1) is None
    first = answers_frame(engine, study)
    with pytest.raises(StudyError, match="already answered"):
        row = first.iloc[0]
        tid = _trial_id(engine, study, int(row["trial"]))
        submit_answer(engine, r1, tid, "A", confidence=1, shown_at=dt.datetime(2026, 1, 1))
    assert progress(engine, study).to_dict("list") == {"reader": ["R1", "R2"], "answered": [total, total],
                                                       "total": [total, total], "token": [False, True]}
    rep = study_report(engine, study)
    engine.dispose()
    return first, rep


def _trial_id(engine, study, number: int) -> int:
    with engine.connect() as c:
        return c.execute(text("select id from trial where study_id = :s and number = :n"),
                         dict(s=study.id, n=number)).scalar_one()


# ------------------------------------------------------------------ SQLite
def test_whole_flow_sqlite(tmp_path, data):
    answers, rep = run_flow(tmp_path / "study.db", data)
    # every trial once per reader, in a different order per reader
    assert not answers.duplicated(["reader", "trial"]).any()
    orders = {r: g.sort_values("answered_at")["trial"].tolist() for r, g in answers.groupby("reader")}
    assert sorted(orders["R1"]) == sorted(orders["R2"]) and orders["R1"] != orders["R2"]
    # the report's numbers, recomputed by hand from the answers
    pick = answers[answers["kind"] == "pick"]
    truth = pick["truth"].map(lambda t: json.loads(t)["generated"])
    said = pick["answer"].map(json.loads)
    r1 = pick["reader"] == "R1"
    row = rep.by_reader.set_index(["reader", "kind"]).loc[("R1", "pick")]
    assert row["trials"] == row["decisions"] == 3 and row["correct"] == int((truth[r1] == said[r1]).sum())
    from l2g.study.stats import binom_p, wilson_interval
    assert (row["ci_low"], row["ci_high"]) == pytest.approx(wilson_interval(int(row["correct"]), 3))
    assert row["p_vs_chance"] == pytest.approx(binom_p(int(row["correct"]), 3))
    rog = rep.by_kind.set_index("kind").loc["real_or_generated"]
    judged = answers[answers["kind"] == "real_or_generated"]["lead"].map(lambda s: len(s.split(","))).sum()
    assert rog["decisions"] == judged  # one per lead that could have been generated
    assert rog["trials"] == (answers["kind"] == "real_or_generated").sum()  # one per page answered
    # R1 marks V1 and V3, R2 only V3: they agree on every lead but V1
    assert rep.fleiss.set_index("kind").loc["pick", "readers"] == 2
    assert rep.cohen["pairs"].tolist() == [2, 2]
    assert rep.times["mean_s"].min() > 5 and (rep.times["mean_s"] == rep.times["mean_s"].round(1)).all()
    assert (rep.fleiss["note"] == "").all() or rep.fleiss["kappa"].isna().any()  # a note only beside a nan
    for name in rep.TABLES:  # on screen: no "None", no "nan"
        shown = rep.readable(name)
        assert not shown.isin(["None", "nan", "NaN"]).any().any(), name
    md = rep.to_markdown()
    assert "Fleiss" in md and "Cohen" in md and "| R1 |" in md


def test_undefined_statistics_say_why() -> None:
    from l2g.study.report import cohen_table, fleiss_table

    decisions = pd.DataFrame({"reader": ["R1", "R1"], "trial": [1, 2], "kind": ["pick", "pick"], "lead": ["V1", "V2"],
                              "k": [1, 1], "choice": ["A", "B"], "correct": [True, False]})
    no_diagnosis = pd.DataFrame(columns=["reader", "trial", "kind", "lead", "answer", "pair", "variant"])
    fleiss = fleiss_table(no_diagnosis, decisions).set_index("kind")
    assert pd.isna(fleiss.loc["pick", "kappa"])
    assert fleiss.loc["pick", "note"] == "needs answers from two or more readers"
    same = json.dumps("Normal ECG")
    diagnosis = pd.DataFrame({"reader": ["R1", "R1"], "trial": [3, 4], "kind": ["diagnosis"] * 2, "lead": ["", ""],
                              "answer": [same, same], "pair": [1, 1], "variant": ["recorded", "reconstructed"]})
    cohen = cohen_table(diagnosis)
    assert cohen.loc[0, "agreement"] == 1.0 and pd.isna(cohen.loc[0, "kappa"])
    assert "κ is undefined" in cohen.loc[0, "note"]


def test_cli_create_report_export(tmp_path, data, capsys):
    from l2g.cli import main

    db = str(tmp_path / "cli.db")
    (tmp_path / "ids.txt").write_text("r0\nr2\n")
    assert main(["study", "create", "--data", str(data), "--db", db, "--trials", "2", "--method", "linear",
                 "--types", "pick,diagnosis", "--subsets", "I;I,II,V2", "--records", str(tmp_path / "ids.txt"),
                 "--require-token"]) == 0
    assert "4 trials" in capsys.readouterr().out
    assert main(["study", "add-reader", db, "R1"]) == 2  # the study requires a token
    assert "requires a token" in capsys.readouterr().err
    assert main(["study", "add-reader", db, "R1", "--token"]) == 0
    token = capsys.readouterr().out.strip().split()[-1]
    engine = open_db(db)
    study = get_study(engine)
    assert set(answers_frame(engine, study)["record"]) <= {"r0", "r2"}
    with engine.connect() as c:
        stored = c.execute(text("select token_hash from reader")).scalar_one()
    assert token not in stored and stored.startswith("scrypt$")
    rid = login(engine, study, "R1", token)
    answer(engine, rid, "R1")
    assert main(["study", "export", db, "--out", str(tmp_path / "answers.csv")]) == 0
    csv = pd.read_csv(tmp_path / "answers.csv")
    assert len(csv) == 4 and {"study", "reader", "trial", "record", "panels", "truth", "answer", "confidence",
                              "seconds"} <= set(csv.columns)
    assert main(["study", "report", db, "--out", str(tmp_path / "rep")]) == 0
    assert "Accuracy per reader" in capsys.readouterr().out
    assert (tmp_path / "rep" / "by_reader.csv").exists()


def test_sqlite_wal_and_foreign_keys(tmp_path):
    engine = open_db(tmp_path / "x.db")
    with engine.connect() as c:
        assert c.execute(text("pragma journal_mode")).scalar() == "wal"
        assert c.execute(text("pragma foreign_keys")).scalar() == 1


def test_upgrade_from_initial_revision(tmp_path):
    """A database made by revision 0001 (no free_text) keeps its answers and gains the column."""
    from sqlalchemy import create_engine

    path = tmp_path / "old.db"
    old = create_engine(f"sqlite:///{path}")
    upgrade(old, "0001")
    with old.begin() as c:
        c.execute(text("insert into study (id, name, config, seed, model_version, created_at) "
                       "values (1, 'old', '{}', 's', 'v', '2026-01-01')"))
        c.execute(text("insert into trial (id, study_id, number, kind, record_id, record_path, lead, subset, variant,"
                       " pair, truth, panels, fs, signal) values (1, 1, 1, 'pick', 'r', '/r', 'V1', 'I', '', '', "
                       "'{\"generated\": \"A\"}', '[\"A\", \"B\"]', 500, x'00')"))
        c.execute(text("insert into reader (id, study_id, code, created_at) values (1, 1, 'R1', '2026-01-01')"))
        c.execute(text("insert into assignment (reader_id, position, trial_id) values (1, 0, 1)"))
        c.execute(text("insert into answer (reader_id, trial_id, answer, confidence, seconds, shown_at, answered_at)"
                       " values (1, 1, '\"A\"', 3, 4.5, '2026-01-01', '2026-01-01')"))
    assert "free_text" not in {c["name"] for c in inspect(old).get_columns("answer")}
    old.dispose()
    engine = open_db(path)
    assert "free_text" in {c["name"] for c in inspect(engine).get_columns("answer")}
    with engine.connect() as c:
        assert c.execute(text("select version_num from alembic_version")).scalar() == "0002"
    df = answers_frame(engine, get_study(engine, "old"))
    assert df[["reader", "answer", "seconds", "free_text"]].values.tolist() == [["R1", '"A"', 4.5, ""]]


def test_trial_view_hides_truth(tmp_path, data):
    engine, study = make_study(tmp_path / "v.db", data, trials=1, kinds=["pick"])
    add_reader(engine, study, "R1")
    view = next_trial(engine, login(engine, study, "R1"))
    fields = set(vars(view))
    assert fields == {"trial_id", "kind", "position", "total", "panels", "signal", "fs", "options"}
    assert view.panels == ("A", "B") and view.signal.shape == (2, 5000)


def test_blinding_figure_differs_only_in_samples(tmp_path, data):
    """Two pick trials' figures: one with the generated trace left, one right. Their JSON (colours, names,
    hover, layout) is the same once the sample values are removed."""
    from l2g.study.render import trial_figure

    engine, study = make_study(tmp_path / "b.db", data, trials=6, kinds=["pick"])
    add_reader(engine, study, "R1")
    rid = login(engine, study, "R1")
    views = []
    while (v := next_trial(engine, rid)) is not None:
        views.append(v)
        submit_answer(engine, rid, v.trial_id, "A", confidence=3, shown_at=dt.datetime(2026, 1, 1))
    truths = answers_frame(engine, study)["truth"].map(lambda t: json.loads(t)["generated"])
    assert set(truths) == {"A", "B"}, "the seed should give both sides"

    def skeleton(view):
        fig = json.loads(trial_figure(view.panels, view.signal, view.fs).to_json())
        for tr in fig["data"]:
            if tr.get("name") in ("A", "B"):
                for key in ("y", "customdata"):
                    tr.pop(key)
        return fig

    a, b = skeleton(views[0]), skeleton(views[1])
    assert a == b
    full = trial_figure(views[0].panels, views[0].signal, views[0].fs).to_json()
    for word in ("generated", "recorded", "real", "model", "#1d4ed8"):
        assert word not in full.lower()


# ------------------------------------------------------------------ PostgreSQL
def _pg_bin() -> Path | None:
    found = shutil.which("pg_ctl")
    if found:
        return Path(found).resolve().parent
    cands = sorted(Path("/usr/lib/postgresql").glob("*/bin/pg_ctl"))
    return cands[-1].parent if cands else None


@pytest.fixture(scope="module")
def postgres_url(tmp_path_factory):
    """``L2G_TEST_POSTGRES_URL``, else a throw-away server started with initdb/pg_ctl; skips when neither works."""
    env = os.environ.get("L2G_TEST_POSTGRES_URL")
    if env:
        yield env
        return
    pg = _pg_bin()
    if pg is None:
        pytest.skip("no PostgreSQL: set L2G_TEST_POSTGRES_URL or install Debian's postgresql (make postgres)")
    root = tmp_path_factory.mktemp("pg")
    as_user: list[str] = []
    if os.geteuid() == 0:  # initdb refuses root: run the server as the postgres user
        if shutil.which("runuser") is None or subprocess.run(["id", "postgres"], capture_output=True).returncode:
            pytest.skip("running as root without a 'postgres' user to start PostgreSQL as")
        shutil.chown(root, "postgres")
        root.chmod(0o755)
        for parent in root.parents:  # the server must be able to reach its folder
            if parent == Path(parent.anchor):
                break
            parent.chmod(parent.stat().st_mode | 0o011)
        as_user = ["runuser", "-u", "postgres", "--"]
    data, sock = root / "data", root
    from bench.concurrency import free_port

    port = free_port()
    init = subprocess.run([*as_user, str(pg / "initdb"), "-D", str(data), "-U", "postgres", "--auth=trust",
                           "-E", "UTF8"], capture_output=True, text=True)
    if init.returncode:
        pytest.skip(f"initdb failed: {init.stderr[-500:]}")
    start = subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-l", str(root / "log"), "-w", "-o",
                            f"-k {sock} -p {port} -c listen_addresses=''", "start"], capture_output=True, text=True)
    if start.returncode:
        pytest.skip(f"pg_ctl start failed: {start.stderr[-500:]} {(root / 'log').read_text()[-500:]}")
    try:
        yield f"postgresql://postgres@/postgres?host={sock}&port={port}"
    finally:
        subprocess.run([*as_user, str(pg / "pg_ctl"), "-D", str(data), "-m", "fast", "stop"], capture_output=True)


@pytest.mark.slow
def test_postgres_gives_the_same_report(tmp_path, data, postgres_url):
    """The same study on SQLite and PostgreSQL: same answers, same report tables."""
    engine = open_db(postgres_url)
    with engine.begin() as c:  # a clean schema
        for table in ("answer", "assignment", "reader", "trial", "study", "alembic_version"):
            c.execute(text(f"drop table if exists {table} cascade"))
    engine.dispose()
    lite_answers, lite = run_flow(tmp_path / "same.db", data)
    pg_answers, pg = run_flow(postgres_url, data)
    cols = ["reader", "trial", "kind", "record", "truth", "answer", "confidence", "seconds"]
    pd.testing.assert_frame_equal(lite_answers[cols].reset_index(drop=True), pg_answers[cols].reset_index(drop=True))
    for name in lite.TABLES:
        pd.testing.assert_frame_equal(getattr(lite, name), getattr(pg, name), check_dtype=False)
    assert lite.to_markdown() == pg.to_markdown()


def test_cli_create_studies_the_weights_it_is_given(tmp_path, data, capsys):
    """``--weights FILE``: the study's model version names that checkpoint (a candidate under review)."""
    import shutil

    from l2g.cli import main
    from tests.weights import shipped

    candidate = tmp_path / "candidate.pt"
    shutil.copy(shipped("l2g.pt"), candidate)
    shutil.copy(shipped("linear.pt"), tmp_path / "linear.pt")
    db = str(tmp_path / "w.db")
    assert main(["study", "create", "--data", str(data), "--db", db, "--trials", "1", "--types", "pick",
                 "--subsets", "I", "--weights", str(candidate)]) == 0
    assert "model candidate.pt@" in capsys.readouterr().out
    assert get_study(open_db(db)).model_version.startswith("candidate.pt@")
