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
