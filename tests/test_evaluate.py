"""The 1..7-lead study: scoring is right at the extremes, and the report is complete."""

import json

import numpy as np
import pytest

from l2g.evaluate import StudyConfig, run_study, score_reconstruction, subset_plan, write_report
from l2g.io import write_wfdb
from l2g.leads import LEADS
from l2g.reconstruction import load_reconstructor

from .ecg_factory import synthetic_record
from .weights import shipped


def test_perfect_reconstruction_scores_perfectly():
    real = synthetic_record(seed=1)
    scores, prof = score_reconstruction(real, real, ["I"])
    assert len(scores) == 11
    for s in scores:
        assert s["mse"] == 0 and s["nmse"] == 0
        assert s["r"] == pytest.approx(1.0) and s["ssim"] == pytest.approx(1.0)
        assert s["jsd"] == pytest.approx(0.0, abs=1e-12) and s["nmi"] == pytest.approx(1.0)
    assert prof["aup_s"] == pytest.approx(1.0) and prof["aup_m"] == 0.0


def test_shuffled_reconstruction_does_not():
    real = synthetic_record(seed=1)
    rng = np.random.default_rng(0)
    shuffled = real.replace(signal=real.signal[:, rng.permutation(real.n_samples)])
    scores, prof = score_reconstruction(real, shuffled, ["I"])
    assert all(s["mse"] > 0 and abs(s["r"]) < 0.1 and s["ssim"] < 0.5 for s in scores)
    assert prof["aup_s"] < 0.6 and prof["aup_m"] > 0


def test_subset_plan_is_deterministic_and_complete():
    plan = subset_plan(StudyConfig(subsets_per_k=5))
    assert plan == subset_plan(StudyConfig(subsets_per_k=5))
    assert len(plan[1]) == 12 and all(len(s) == k for k, v in plan.items() for s in v)
    assert ("I", "II", "V1", "V3", "V5") in plan[5]  # the paper's claim is always evaluated
    assert all(len(set(v)) == len(v) for v in plan.values())
    with pytest.raises(ValueError):
        subset_plan(StudyConfig(k_values=(12,)))


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
def test_end_to_end_report(tmp_path):
    shipped("linear.pt")
    linear = load_reconstructor(method="linear")
    records = [(f"set/r{i}", "set", synthetic_record(seed=i, name=f"r{i}", age=50, sex="F")) for i in range(3)]
    cfg = StudyConfig(subsets_per_k=1, k_values=(1, 2, 5, 7))

    def features(sig, fs, r_peaks=None):  # a stand-in delineator: peak-to-peak and a constant
        return {"qrs_ms": 90.0, "r_amp_mv": float(np.ptp(sig))}

    result = run_study(records, {"linear": linear}, cfg, progress=False, morphology=features)
    assert set(result.rows["k"]) == {1, 2, 5, 7}
    assert set(result.rows["lead"]) == set(LEADS)
    assert len(result.profiles) == 3 * sum(len(v) for v in subset_plan(cfg).values())
    assert len(result.amplitude) and len(result.morphology)
    payload = write_report(result, tmp_path, cfg, {"split": "test", "versions": {"linear": linear.version},
                                                   "seconds": 1.0})
    md = (tmp_path / "evaluation.md").read_text()
    for heading in ("k = 1…7", "Per generated lead", "Per data source", "Best evaluated subset",
                    "Two limb + three chest", "Amplitude tracking", "Lead-II morphology", "Caveats"):
        assert heading in md, heading
    for png in ("metric_vs_k.png", "per_lead_heatmap.png", "bland_altman.png"):
        assert (tmp_path / png).stat().st_size > 1000
    saved = json.loads((tmp_path / "evaluation.json").read_text())
    assert saved["by_k"] == json.loads(json.dumps(payload["by_k"]))
    assert {row["k"] for row in saved["by_k"]} == {1, 2, 5, 7}
    # the linear baseline on a clean synthetic ECG is far better with 7 leads than with 1
    by_k = {row["k"]: row for row in saved["by_k"]}
    assert by_k[7]["r"] > by_k[1]["r"] and by_k[7]["mse"] < by_k[1]["mse"]


@pytest.mark.slow
def test_cli_evaluate_on_a_tiny_split(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    shipped("linear.pt")
    rows = ["record_id,split"]
    for i in range(2):
        write_wfdb(synthetic_record(seed=i, name=f"r{i}"), tmp_path / "data" / "set", name=f"r{i}")
        rows.append(f"set/r{i},test")
    (tmp_path / "split.csv").write_text("\n".join(rows) + "\n")
    p = subprocess.run([sys.executable, "-m", "l2g", "evaluate", "--data", str(tmp_path / "data"), "--split-csv",
                        str(tmp_path / "split.csv"), "--out", str(tmp_path / "rep"), "--subsets-per-k", "1",
                        "--no-progress", "--weights", str(tmp_path / "none.pt")],
                       capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1])
    assert p.returncode == 0, p.stderr[-2000:]
    assert "falling back to the linear baseline" in p.stderr
    assert (tmp_path / "rep" / "evaluation.md").exists()


@pytest.mark.slow
def test_report_headlines_records_not_derived_from_ptbxl(tmp_path):
    shipped("linear.pt")
    linear = load_reconstructor(method="linear")
    names = ["ludb/data/1", "ludb/data/2", "sph/A0002", "sph/A0003", "ptbxl_cinc2024/00009_hr"]
    records = [(rid, rid.rsplit("/", 1)[0], synthetic_record(seed=i, name=rid.rsplit("/", 1)[1]))
               for i, rid in enumerate(names)]
    claim = (("I", "II", "V1", "V3", "V5"), ("I", "II", "V2", "V4", "V6"))
    cfg = StudyConfig(subsets_per_k=1, k_values=(1, 2, 5, 7), leadcheck=False, claim_subsets=claim)
    result = run_study(records, {"model": linear, "linear": linear}, cfg, progress=False)
    assert result.records.set_index("record_id")["ptbxl_derived"].to_dict() == {
        **dict.fromkeys(names[:4], False), "ptbxl_cinc2024/00009_hr": True}
    assert set(result.claim["subset"]) == {",".join(s) for s in claim}
    assert result.claim["record_id"].nunique() == 5
    payload = write_report(result, tmp_path, cfg, {"split": "test", "seconds": 1.0})
    md = (tmp_path / "evaluation.md").read_text()
    assert "## Headline: k = 1…7 on the 4 test records not derived from PTB-XL" in md
    assert "## k = 1…7 on the 1 test records derived from PTB-XL (reported apart)" in md
    assert payload["headline"]["records"] == 4 and payload["ptbxl_derived"]["records"] == 1
    # the same method twice: never strictly better, and the report says so
    assert "`model` beats `linear` on both MSE and r in **0 of" in md
    assert "Single lead I (smartwatch)" in md
    targets = {t["target"]: t for t in payload["headline"]["targets"]}
    assert set(targets) == {"r from lead I", "r from I + II", "QRS spread ratio from I",
                            "QRS amplitude correlation from I"}
    # headline numbers come from the two non-PTB-XL records only
    rows = result.rows[(result.rows["method"] == "model") & (result.rows["subset"] == "I")]
    own = rows[rows["record_id"] != "ptbxl_cinc2024/00009_hr"].groupby("record_id")["r"].mean().mean()
    assert targets["r from lead I"]["model"] == pytest.approx(own)
    ranked = [c["subset"] for c in payload["headline"]["five_lead_claim"] if c["method"] == "model"]
    assert sorted(ranked) == sorted(",".join(s) for s in claim)
    assert "ranks" in md


def test_cli_evaluate_previous_must_exist(tmp_path):
    import subprocess
    import sys
    from pathlib import Path

    (tmp_path / "data").mkdir()
    p = subprocess.run([sys.executable, "-m", "l2g", "evaluate", "--data", str(tmp_path / "data"),
                        "--previous", str(tmp_path / "old.pt"), "--out", str(tmp_path / "rep")],
                       capture_output=True, text=True, timeout=600, cwd=Path(__file__).parents[1])
    assert p.returncode == 2
    assert "--previous" in p.stderr and "old.pt: no such file" in p.stderr
