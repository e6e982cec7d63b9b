"""PTB-XL's patient-wise protocol (issue #22 item 1) and the diagnostic-fidelity instruments."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from l2g import fidelity
from l2g.ptbxl import PtbxlMeta, held_out_filter, load_meta, superclass_matrix
from l2g.train import TrainConfig, _patientwise

SHARED_META = Path(__file__).resolve().parents[1] / ".." / "shared" / "ptbxl" / "ptbxl_database.csv"


def _meta_files(tmp_path: Path) -> Path:
    (tmp_path / "scp_statements.csv").write_text(
        ",diagnostic,diagnostic_class\nIMI,1,MI\nNORM,1,NORM\nLVH,1,HYP\nSR,,\n")
    (tmp_path / "ptbxl_database.csv").write_text(
        "ecg_id,patient_id,scp_codes,strat_fold,filename_lr\n"
        "1,10.0,\"{'NORM': 100.0, 'SR': 0.0}\",1,records100/00000/00001_lr\n"
        "2,11.0,\"{'IMI': 50.0, 'LVH': 0.0}\",9,records100/00000/00002_lr\n"
        "3,12.0,\"{'SR': 0.0}\",10,records100/00000/00003_lr\n")
    return tmp_path / "ptbxl_database.csv"


def test_labels_and_folds(tmp_path):
    meta = load_meta(_meta_files(tmp_path))
    assert [meta.fold(i) for i in (1, 2, 3, 99)] == [1, 9, 10, None]
    assert meta.labels([1, 2, 3]).tolist() == [[1, 0, 0, 0, 0], [0, 1, 0, 0, 1], [0, 0, 0, 0, 0]]
    assert meta.ids_in([9, 10]) == [2, 3]


def test_missing_metadata_is_a_clear_error(tmp_path):
    with pytest.raises(ValueError, match="ptbxl_database.csv.*not found|not found"):
        load_meta(tmp_path / "ptbxl_database.csv")


def test_every_copy_of_a_held_out_ecg_is_left_out(tmp_path):
    meta = load_meta(_meta_files(tmp_path))
    ids = ["ludb/data/1", "records100/00000/00001_lr", "cinc2021/ptb-xl/HR00002", "ptbxl_cinc2024/00003_hr",
           "records100/00000/00004_lr"]
    keep, counts = held_out_filter(meta, ids)
    assert keep == [True, True, False, False, False]
    assert counts == {"kept_ptbxl": 1, "held_out": 2, "unlisted": 1}


def test_training_drops_held_out_patients(tmp_path):
    cfg = TrainConfig(ptbxl_meta=str(_meta_files(tmp_path)))
    items = [("a/HR00001", 0), ("b/HR00002", 1), ("c/other", 2)]
    assert [i[0] for i in _patientwise(cfg, items, "train")] == ["a/HR00001", "c/other"]
    assert _patientwise(TrainConfig(), items, "train") == items  # off without metadata


def test_superclass_matrix_order():
    assert superclass_matrix([("HYP", "NORM")]).tolist() == [[1, 0, 0, 0, 1]]


@pytest.mark.skipif(not SHARED_META.is_file(), reason="needs ../shared/ptbxl (PTB-XL metadata)")
def test_real_metadata_matches_its_provenance():
    meta = load_meta(SHARED_META)
    t = meta.table
    assert len(t) == 21799 and t["patient_id"].nunique() == 18869
    counts = superclass_matrix(t["labels"].tolist()).sum(0).tolist()
    assert counts == [9514, 5469, 5235, 4898, 2649]
    # no patient spans two folds
    assert (t.groupby("patient_id")["strat_fold"].nunique() == 1).all()


def test_roc_auc_matches_sklearn():
    sk = pytest.importorskip("sklearn.metrics")  # optional: scikit-learn comes with neurokit2
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 300)
    s = np.round(rng.normal(size=300) + y, 1)  # ties included
    assert fidelity.roc_auc(y, s) == pytest.approx(sk.roc_auc_score(y, s), abs=1e-12)
    assert np.isnan(fidelity.roc_auc(np.ones(5), np.arange(5)))


def test_bootstrap_interval_contains_the_estimate():
    rng = np.random.default_rng(1)
    y = rng.integers(0, 2, (400, 5))
    p = y * 0.6 + rng.uniform(size=(400, 5)) * 0.8
    ci = fidelity.bootstrap_auc(y, {"m": p}, np.arange(400) // 2, n_boot=200)
    macro = fidelity.macro_auc(y, p)[0]
    assert ci["m"]["macro"][0] < macro < ci["m"]["macro"][1]


def test_classifier_learns_and_resumes(tmp_path, monkeypatch):
    rng = np.random.default_rng(0)
    n = 160
    y = rng.integers(0, 2, (n, 5)).astype(np.uint8)
    x = rng.normal(0, 0.05, (n, 12, 1000)).astype(np.float32)
    x[:, 0] += y[:, :1] * np.sin(np.linspace(0, 60, 1000))[None].astype(np.float32)  # class 0 visible in lead I
    cfg = fidelity.ClassifierConfig(leads=("I",), channels=(8, 8, 16), epochs=3, batch_size=32, patience=5)
    out = tmp_path / "c.pt"
    real_macro = fidelity.macro_auc
    calls = []

    def interrupted(*a, **k):  # the run is killed during epoch 1's validation
        calls.append(1)
        if len(calls) == 2:
            raise KeyboardInterrupt
        return real_macro(*a, **k)

    monkeypatch.setattr(fidelity, "macro_auc", interrupted)
    with pytest.raises(KeyboardInterrupt):
        fidelity.train_classifier(x[:120], y[:120], x[120:], y[120:], cfg, out)
    monkeypatch.setattr(fidelity, "macro_auc", real_macro)
    first_loss = torch.load(out.with_suffix(".ckpt"), weights_only=True)["history"][0]["loss"]
    summary = fidelity.train_classifier(x[:120], y[:120], x[120:], y[120:], cfg, out)
    assert [h["epoch"] for h in summary["history"]] == [0, 1, 2]
    assert summary["history"][0]["loss"] == first_loss  # epoch 0 was not run again
    net, cfg2, summ = fidelity.load_classifier(out)
    assert cfg2 == cfg and summ["best_epoch"] is not None
    p = fidelity.predict_proba(net, x[120:, :1], cfg2)
    assert fidelity.roc_auc(y[120:, 0], p[:, 0]) > 0.9


def test_load_classifier_refuses_other_files(tmp_path):
    torch.save({"state_dict": {}}, tmp_path / "x.pt")
    with pytest.raises(ValueError, match="not a classifier written by l2g.fidelity.train_classifier"):
        fidelity.load_classifier(tmp_path / "x.pt")


def test_ptbxl_meta_is_frozen():
    meta = PtbxlMeta(pd.DataFrame({"strat_fold": [1]}, index=[5]), "x")
    with pytest.raises(AttributeError):
        meta.source = "y"  # type: ignore[misc]


def test_diagnostic_report_names_model_protocol_and_goals():
    """bench/diagnostic.py's report: the generator's digest, whether it followed the protocol, and each goal's
    check, from a result of the shape ``score`` writes."""
    import argparse

    from bench.diagnostic import FIDELITY_SUBSETS, recon_subsets, subset_name, write_report

    auc = {"real": 0.93, "input_only": 0.84, "model": 0.80, "linear": 0.74, "zero": 0.46}
    ci = {m: {"macro": (v - 0.01, v + 0.01), **{c: (0.5, 0.9) for c in ("NORM", "MI", "STTC", "CD", "HYP")}}
          for m, v in auc.items()}
    per = {m: dict(zip(("NORM", "MI", "STTC", "CD", "HYP"), [v] * 5, strict=True)) for m, v in auc.items()}
    rows = {"r": 0.7, "rmse_uv": 120.0, "r_chest": 0.75, "rmse_chest_uv": 110.0, "n_generated": 11, "records": 9}
    names = [subset_name(s) for s in FIDELITY_SUBSETS]
    res = {"model": "pw.pt@730a8173235d", "patientwise": True, "records_fold10": 10, "labelled_fold10": 9,
           "sampled": False, "classifiers": {"reference_12": {"val_macro_auc": 0.931, "best_epoch": 15}},
           "reconstruction": {subset_name(s): {"model": rows, "linear": rows} for s in recon_subsets()},
           "subsets": {n: auc for n in names}, "per_class": {n: per for n in names}, "ci": {n: ci for n in names},
           "shrinkage": {n: {"model": {"V1": (0.2, 0.1, 9)}} for n in names},
           "st": {n: {"model": {"V1": (0.03, 0.09, 0.7, 9)}} for n in names}}
    md = write_report(res, argparse.Namespace(weights="runs/pw.pt", boot=10))
    assert "`pw.pt@730a8173235d`" in md and "trained without any record of a fold-9/10 patient" in md
    assert "- I: (c) − (b) = -0.040" in md and "short 0.100" in md
    assert "| (c) ≥ (b) from I | ≥ 0 | -0.040 | no |" in md and "| (c) ≥ (d) from I | ≥ 0 | +0.060 | yes |" in md
    assert "| mean single-lead r (fold 10) | ≥ 0.80 | 0.700 | no |" in md
    flattered = write_report({**res, "patientwise": False}, argparse.Namespace(weights="x.pt", boot=10))
    assert "saw fold-10 records in training" in flattered


def test_diagnostic_report_shows_the_grade_check_of_this_generator_only(tmp_path):
    """Section 6 of reports/diagnostic.md reads trust_calibrate's summaries; one made for another generator is
    named, never shown as this generator's figure."""
    import json

    from bench.diagnostic import grade_validation

    assert "Not measured for this generator yet" in "\n".join(grade_validation("l2g.pt@aaa", tmp_path))
    summary = {"model": "l2g.pt@aaa", "records": 300, "rows": 9000, "grade_a": 120, "grade_a_with_st": 110,
               "grade_a_st_within": 0.912, "coverage": 0.9, "spearman": 0.6,
               "command": "python -m bench.trust_calibrate report --split ptbxl10"}
    (tmp_path / "trust_calibration_ptbxl10.json").write_text(json.dumps(summary))
    (tmp_path / "trust_calibration_test.json").write_text(json.dumps({**summary, "model": "l2g.pt@bbb"}))
    md = "\n".join(grade_validation("l2g.pt@aaa", tmp_path))
    assert "| PTB-XL fold 10 | 300 | 9000 | 120 | 110 | **0.912** |" in md
    assert "shared test split |" not in md and "made with l2g.pt@bbb, not this generator" in md
