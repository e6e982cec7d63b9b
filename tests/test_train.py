"""Training: a few steps single-process, resume, and 2-process DDP with identical replicas."""

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from l2g.io import write_wfdb
from l2g.train import load_config, train

from .ecg_factory import synthetic_record

TINY = {
    "epochs": 2, "windows_per_epoch": 32, "batch_size": 8, "adv_start_epoch": 1,
    "val_windows_per_record": 1, "val_masks_per_k": 2, "patience": 5, "threads": 1,
    "data": {"window": 256},
    "generator": {"base_channels": 8, "depth": 2, "dilations": [1, 2]},
    "discriminator": {"channels": 8, "n_layers": 2},
}


@pytest.fixture(scope="module")
def tiny_data(tmp_path_factory):
    root = tmp_path_factory.mktemp("data")
    rows = ["record_id,split"]
    for i in range(6):
        rec = synthetic_record(duration_s=4.0, seed=i, name=f"r{i}")
        write_wfdb(rec, root / "set", name=f"r{i}")
        rows.append(f"set/r{i},{'train' if i < 4 else 'val'}")
    split = root / "split.csv"
    split.write_text("\n".join(rows) + "\n")
    cfg = root / "tiny.json"
    cfg.write_text(json.dumps({**TINY, "data_dir": str(root), "split_csv": str(split)}))
    return root, cfg


def test_train_writes_checkpoint_metrics_and_resumes(tiny_data, tmp_path):
    root, cfg_path = tiny_data
    cfg = load_config(cfg_path)
    out = tmp_path / "w" / "m.pt"
    summary = train(cfg, out, progress=False)
    assert summary["epochs_run"] == 2 and out.exists() and out.with_suffix(".ckpt").exists()
    ckpt = torch.load(out, weights_only=True)  # plain dict, no pickled code
    assert {"state_dict", "model_args", "linear", "fs", "leads_in", "leads_out", "summary", "version"} <= set(ckpt)
    assert ckpt["leads_out"] == ["I", "II", "V1", "V2", "V3", "V4", "V5", "V6"]
    rows = (out.with_suffix(".metrics.csv")).read_text().splitlines()
    assert len(rows) == 3 and "val_mse" in rows[0]
    # resume: two more epochs continue the history instead of restarting
    summary2 = train(load_config(cfg_path, epochs=4), out, progress=False)
    assert summary2["epochs_run"] == 4
    hist = json.loads(out.with_suffix(".metrics.json").read_text())
    assert [h["epoch"] for h in hist] == [0, 1, 2, 3]


def test_unknown_config_key_is_rejected(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{"epochz": 3}')
    with pytest.raises(ValueError, match="unknown training option 'epochz'"):
        load_config(bad)
    bad.write_text('{"generator": {"depthh": 3}}')
    with pytest.raises(ValueError, match="unknown generator option"):
        load_config(bad)


@pytest.mark.slow
def test_ddp_two_cpu_processes_end_identical(tiny_data, tmp_path):
    torchrun = shutil.which("torchrun", path=str(Path(sys.executable).parent)) or shutil.which("torchrun")
    if torchrun is None:
        pytest.skip("torchrun not found next to the Python interpreter")
    root, cfg_path = tiny_data
    out = tmp_path / "ddp.pt"
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [torchrun, "--standalone", "--nproc_per_node", "2", "-m", "l2g", "train", "--data", str(root),
         "--out", str(out), "--config", str(cfg_path), "--no-progress"],
        capture_output=True, text=True, timeout=300, env=env, cwd=Path(__file__).parents[1],
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    rep = json.loads(out.with_suffix(".replicas.json").read_text())
    assert rep["world_size"] == 2
    assert rep["replica_max_abs_diff"] == 0.0
    ckpt = torch.load(out, weights_only=True)
    assert ckpt["summary"]["world_size"] == 2


def test_relative_loss_ema_init_and_relative_selection(tiny_data, tmp_path):
    root, cfg_path = tiny_data
    base = tmp_path / "base.pt"
    train(load_config(cfg_path, adv_weight=0.0), base, progress=False)
    out = tmp_path / "ft.pt"
    cfg = load_config(cfg_path, adv_weight=0.0, loss_norm="linear", ema_decay=0.9, select="relative",
                      init=str(base))
    summary = train(cfg, out, progress=False)
    assert summary["selected_by"] == "val_rel" and summary["init"] == str(base)
    hist = json.loads(out.with_suffix(".metrics.json").read_text())
    best = min(hist, key=lambda r: r["val_rel"])
    assert summary["best_epoch"] == best["epoch"]
    # val_rel is the mean over k of model / linear MSE
    ratios = [best[f"val_mse_k{k}"] / best[f"linear_val_mse_k{k}"] for k in range(1, 8)]
    assert best["val_rel"] == pytest.approx(sum(ratios) / 7)
    # the shipped weights are the moving average, not the last optimiser state
    ckpt = torch.load(out, weights_only=True)
    raw = torch.load(out.with_suffix(".ckpt"), weights_only=True)
    assert any(not torch.equal(raw["g"][k], raw["g_avg"][k]) for k in raw["g"])
    if summary["best_epoch"] == hist[-1]["epoch"]:
        assert all(torch.equal(ckpt["state_dict"][k], raw["g_avg"][k]) for k in raw["g_avg"])


@pytest.mark.parametrize(("option", "value", "match"), [
    ("loss_norm", "huber", "loss_norm='huber' is not one of"),
    ("select", "r", "select='r' is not one of"),
    ("ema_decay", 1.0, "ema_decay must be in"),
    ("loss_norm_power", 0.0, "loss_norm_power must be in"),
    ("init", "no/such.pt", "no such checkpoint"),
])
def test_bad_training_options_are_rejected(option, value, match):
    with pytest.raises(ValueError, match=match):
        load_config(None, **{option: value})


def test_window_weights_favour_windows_the_baseline_already_fits():
    from l2g.dataset import mask_from_leads
    from l2g.train import _window_weights

    torch.manual_seed(0)
    x8 = torch.randn(3, 8, 64)
    mask = torch.from_numpy(mask_from_leads(["I", "II"]))[None].repeat(3, 1)
    valid = torch.ones(3, 64, dtype=torch.bool)
    prior = x8.clone()
    prior[0] += 0.01  # nearly right
    prior[1] += 0.3
    prior[2] += 1.0  # far off
    w = _window_weights(prior, x8, mask, valid)
    assert w.mean().item() == pytest.approx(1.0)
    assert w[0] > w[1] > w[2]
    half = _window_weights(prior, x8, mask, valid, power=0.5)  # halfway: same order, less extreme
    assert half[0] > half[1] > half[2] and half[0] / half[2] < w[0] / w[2]
    assert half[0] / half[2] == pytest.approx(float((w[0] / w[2]) ** 0.5), rel=1e-4)
