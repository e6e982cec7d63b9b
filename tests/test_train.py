"""Training: a few steps single-process, resume, and 2-process DDP with identical replicas."""

import json
import os
import shutil
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from l2g import checkpoint
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
    ckpt = torch.load(out, weights_only=True)  # the format's promise: a plain dict, no pickled code
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
    ckpt = checkpoint.load_generator_checkpoint(out)
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
    ckpt = checkpoint.load_generator_checkpoint(out)
    raw = checkpoint.load_training_state(out.with_suffix(".ckpt"))
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
    from l2g.losses import window_weights

    torch.manual_seed(0)
    x8 = torch.randn(3, 8, 64)
    mask = torch.from_numpy(mask_from_leads(["I", "II"]))[None].repeat(3, 1)
    valid = torch.ones(3, 64, dtype=torch.bool)
    prior = x8.clone()
    prior[0] += 0.01  # nearly right
    prior[1] += 0.3
    prior[2] += 1.0  # far off
    w = window_weights(prior, x8, mask, valid)
    assert w.mean().item() == pytest.approx(1.0)
    assert w[0] > w[1] > w[2]
    half = window_weights(prior, x8, mask, valid, power=0.5)  # halfway: same order, less extreme
    assert half[0] > half[1] > half[2] and half[0] / half[2] < w[0] / w[2]
    assert half[0] / half[2] == pytest.approx(float((w[0] / w[2]) ** 0.5), rel=1e-4)


def _randomised_generator(seed: int = 0):
    """A small generator whose residual head is not zero (an untrained one equals the prior)."""
    from l2g.model import Generator, GeneratorConfig

    torch.manual_seed(seed)
    g = Generator(GeneratorConfig(base_channels=8, depth=2, dilations=(1,)))
    torch.nn.init.normal_(g.head.weight, std=0.05)
    return g.eval()


def _tiny_val(tiny_data):
    from l2g.dataset import load_split_arrays
    from l2g.train import validation_set

    root, cfg_path = tiny_data
    cfg = load_config(cfg_path, val_masks_per_k=4)
    arrays = load_split_arrays(cfg.data_dir, cfg.split_csv, "train", fs=cfg.data.fs, progress=False)
    return arrays, validation_set(arrays, cfg), cfg


@pytest.mark.parametrize("k", [1, 4, 7])
def test_calibrated_residual_scale_minimises_mse_per_k(tiny_data, k):
    from dataclasses import replace

    from l2g.baseline import LinearBaseline
    from l2g.model import Generator
    from l2g.train import calibrate_residual, evaluate_windows

    arrays, val, cfg = _tiny_val(tiny_data)
    linear = LinearBaseline.fit([x for _, x in arrays], replace(cfg.linear, fs=cfg.data.fs))
    g = _randomised_generator()
    scale = calibrate_residual(g, linear, val)
    assert len(scale) == 7 and all(0 <= s <= 2 for s in scale)

    def mse_k(factor: float) -> float:
        s = list(scale)
        s[k - 1] = factor
        gs = Generator(replace(g.config, residual_scale=tuple(s)))
        gs.load_state_dict(g.state_dict())
        return evaluate_windows(gs.eval(), linear, val)["mse_k"][k]

    best = mse_k(scale[k - 1])
    for other in (0.0, 0.5 * scale[k - 1], min(2.0, 1.5 * scale[k - 1] + 0.05), 1.0):
        if abs(other - scale[k - 1]) > 1e-6:
            assert best <= mse_k(other) + 1e-9


def test_residual_scale_zero_gives_the_linear_prior_and_one_the_plain_generator():
    from dataclasses import replace

    from l2g.dataset import mask_from_leads
    from l2g.model import Generator, enforce_available

    g = _randomised_generator(1)
    x12 = torch.randn(2, 12, 64)
    mask = torch.from_numpy(mask_from_leads(["I", "V2"]))[None].repeat(2, 1)
    prior = torch.randn(2, 8, 64)
    plain = g(x12, mask, prior)

    def scaled(s):
        gs = Generator(replace(g.config, residual_scale=s)).eval()
        gs.load_state_dict(g.state_dict())
        return gs(x12, mask, prior)

    assert torch.allclose(scaled((1.0,) * 7), plain)
    zero_k2 = scaled((1.0, 0.0, 1.0, 1.0, 1.0, 1.0, 1.0))  # two leads available: k = 2 is zeroed
    assert torch.allclose(zero_k2, enforce_available(prior, x12, mask), atol=1e-6)
    assert not torch.allclose(zero_k2, plain)
    half = scaled((0.5,) * 7)
    assert torch.allclose(half, 0.5 * (plain + zero_k2), atol=1e-6)  # the projection onto the inputs is affine


@pytest.mark.parametrize("bad", [(0.5,) * 6, (0.5,) * 6 + (-0.1,), (0.5,) * 6 + (float("nan"),)])
def test_bad_residual_scale_is_rejected(bad):
    from l2g.model import GeneratorConfig

    with pytest.raises(ValueError, match="residual_scale must be"):
        GeneratorConfig(residual_scale=bad)
    with pytest.raises(ValueError, match="needs linear_prior"):
        GeneratorConfig(residual_scale=(0.5,) * 7, linear_prior=False)


@pytest.mark.slow
def test_calibrate_cli_writes_factors_that_reconstruct_uses(tiny_data, tmp_path):
    from l2g.reconstruction import load_reconstructor

    root, cfg_path = tiny_data
    out = tmp_path / "m.pt"
    train(load_config(cfg_path, adv_weight=0.0), out, progress=False)
    cal = tmp_path / "cal.pt"
    proc = subprocess.run([sys.executable, "-m", "l2g", "calibrate", str(out), "--out", str(cal)],
                          capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "residual scale k=1..7" in proc.stdout
    ckpt = checkpoint.load_generator_checkpoint(cal)
    scale = ckpt["model_args"]["residual_scale"]
    assert len(scale) == 7 and ckpt["summary"]["calibration"]["residual_scale"] == scale
    assert checkpoint.load_generator_checkpoint(out)["model_args"]["residual_scale"] == []  # --out: input untouched
    assert load_reconstructor(cal).generator.config.residual_scale == tuple(scale)
    # training with "calibrate": true ends with the same step, in place
    out2 = tmp_path / "m2.pt"
    summary = train(load_config(cfg_path, adv_weight=0.0, calibrate=True), out2, progress=False)
    assert checkpoint.load_generator_checkpoint(out2)["model_args"]["residual_scale"] == summary["calibration"][
        "residual_scale"]
    bad = subprocess.run([sys.executable, "-m", "l2g", "calibrate", str(tmp_path / "none.pt")],
                         capture_output=True, text=True, cwd=Path(__file__).parents[1])
    assert bad.returncode == 2 and bad.stderr.count("l2g: error:") == 1 and "none.pt" in bad.stderr


def test_band_limited_loss_ignores_content_above_45_hz_only_for_100_hz_windows():
    import math

    from l2g.dataset import band_hz
    from l2g.train import TrainConfig, band_limited_recon_loss

    cfg = TrainConfig(grad_weight=0.5, amp_weight=0.0)
    fs, n = cfg.data.fs, 1000
    t = torch.arange(n) / fs
    gen = torch.Generator().manual_seed(0)
    target = torch.randn(1, 8, n, generator=gen).cumsum(-1) * 0.01
    from l2g.losses import band_limit

    target = band_limit(target, torch.tensor([30.0]), fs).expand(2, 8, n).clone()
    mask = torch.zeros(2, 12, dtype=torch.bool)
    mask[:, 0] = True
    valid = torch.ones(2, n, dtype=torch.bool)
    bands = torch.tensor([band_hz(100.0, fs), band_hz(500.0, fs)])  # 45 Hz, 125 Hz

    def loss(pred):
        return [band_limited_recon_loss(pred[i: i + 1], target[i: i + 1], mask[i: i + 1], valid[i: i + 1],
                                        bands[i: i + 1], cfg)[0].item() for i in range(2)]

    assert loss(target) == pytest.approx([0.0, 0.0], abs=1e-9)
    high = target + 0.2 * torch.sin(2 * math.pi * 60.0 * t)  # 60 Hz: above a 100-Hz record's band (bin-exact)
    lo_100, lo_500 = loss(high)
    assert lo_100 < 1e-9 and lo_500 > 1e-3
    low = target + 0.2 * torch.sin(2 * math.pi * 20.0 * t)  # 20 Hz: inside both bands, both see it
    l100, l500 = loss(low)
    assert l100 > 1e-3 and l100 == pytest.approx(l500, rel=1e-4)


def test_train_on_two_folders_adds_extra_records_but_never_held_out_ones(tmp_path):
    root = tmp_path / "shared"
    rows = ["record_id,split"]
    for i in range(6):
        name = f"{i + 1:05d}_hr"
        write_wfdb(synthetic_record(duration_s=4.0, seed=i, name=name), root / "ptbxl_cinc2024", name=name)
        rows.append(f"ptbxl_cinc2024/{name},{'train' if i < 4 else 'val'}")
    (tmp_path / "split.csv").write_text("\n".join(rows) + "\n")
    extra = tmp_path / "records100"
    for ecg in (5, 6, 7, 8):  # 5 and 6 are the shared val records
        write_wfdb(synthetic_record(duration_s=10.0, fs=100.0, seed=20 + ecg, name="x"), extra / "00000",
                   name=f"{ecg:05d}_lr")
    cfg = load_config(None, **{**TINY, "data_dirs": [str(root), str(extra)], "split_csv": str(tmp_path / "split.csv"),
                               "epochs": 1})
    assert cfg.data_dir == str(root)
    summary = train(cfg, tmp_path / "m.pt", progress=False)
    assert summary["n_train_records"] == 4 + 2 and summary["n_val_records"] == 2
    from l2g.train import _ids_digest

    expected = [f"ptbxl_cinc2024/{i:05d}_hr" for i in range(1, 5)] + ["records100/00000/00007_lr",
                                                                     "records100/00000/00008_lr"]
    assert summary["train_ids_sha"] == _ids_digest(expected)


def test_folder_weights_group_windows_by_data_folder(tmp_path):
    from l2g.train import _window_sources

    shared, extra = tmp_path / "shared", tmp_path / "records100"
    (shared / "ludb").mkdir(parents=True)
    extra.mkdir()
    with pytest.raises(ValueError, match="one per data folder"):
        load_config(None, data_dirs=[str(shared), str(extra)], folder_weights=[1.0])
    cfg = load_config(None, data_dirs=[str(shared), str(extra)], folder_weights=[0, 1], windows_per_epoch=64)
    x = np.zeros((8, 2000), np.float32)
    mixed = [("ludb/1", x, 500.0), ("ludb/2", x + 1, 500.0)] + [(f"records100/00000/{i:05d}_lr", x + 2, 100.0)
                                                                   for i in range(5)]
    data, _ = _window_sources(cfg, mixed, progress=False)
    data.config = replace(data.config, augment=False)
    assert {float(data[i]["x8"][0, 0]) for i in range(64)} == {2.0}  # only the second folder's records
    cfg = replace(cfg, folder_weights=(1.0, 0.0))
    data, _ = _window_sources(cfg, mixed, progress=False)
    data.config = replace(data.config, augment=False)
    assert {float(data[i]["x8"][0, 0]) for i in range(64)} == {0.0, 1.0}


def test_val_exclude_ptbxl_drops_ptbxl_derived_validation_records(monkeypatch):
    import l2g.train as tr

    x = np.zeros((8, 100), np.float32)
    ids = ["ludb/data/7", "cinc2021/ptb-xl/HR00006", "ptbxl_cinc2024/00841_hr", "cinc2021/ptb/S0001"]
    monkeypatch.setattr(tr, "load_split_arrays", lambda *a, **k: [(i, x) for i in ids])
    assert [i for i, _ in tr._val_arrays(load_config(None), progress=False)] == ids
    kept = [i for i, _ in tr._val_arrays(load_config(None, val_exclude_ptbxl=True), progress=False)]
    assert kept == ["ludb/data/7", "cinc2021/ptb/S0001"]


def test_fit_linear_mixes_folders_by_their_weights(tmp_path):
    from l2g.baseline import LinearBaseline
    from l2g.train import fit_linear

    shared, extra = tmp_path / "shared", tmp_path / "records100"
    shared.mkdir()
    extra.mkdir()
    rng = np.random.default_rng(0)
    mixed = ([(f"ludb/{i}", rng.normal(size=(8, 600)).astype(np.float32), 500.0) for i in range(2)]
             + [(f"records100/{i}", 3 * rng.normal(size=(8, 600)).astype(np.float32), 100.0) for i in range(6)])
    dirs = [str(shared), str(extra)]
    plain = fit_linear(mixed, load_config(None, data_dirs=dirs), cache_dir=tmp_path / "c")
    half = fit_linear(mixed, load_config(None, data_dirs=dirs, folder_weights=[1, 1]), cache_dir=tmp_path / "c")
    only_shared = fit_linear(mixed, load_config(None, data_dirs=dirs, folder_weights=[1, 0]), cache_dir=tmp_path / "c")
    cfg = load_config(None)
    a = LinearBaseline.fit([x for _, x, _ in mixed[:2]], replace(cfg.linear, fs=cfg.data.fs))
    b = LinearBaseline.fit([x for _, x, _ in mixed[2:]], replace(cfg.linear, fs=cfg.data.fs))
    cov = {name: lb.state_dict()["cov"] for name, lb in
           (("plain", plain), ("half", half), ("shared", only_shared), ("a", a), ("b", b))}
    assert torch.allclose(cov["plain"], (2 * cov["a"] + 6 * cov["b"]) / 8)  # every record alike
    assert torch.allclose(cov["half"], (cov["a"] + cov["b"]) / 2)  # every folder alike
    assert torch.allclose(cov["shared"], cov["a"])
    with pytest.raises(ValueError, match="weights must be non-negative"):
        LinearBaseline.mix([(a, -1.0), (b, 1.0)])
