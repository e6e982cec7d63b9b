"""The feature-matching stage (issue #22): its loss, its encoder, and a shipped config that names one."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from l2g.checkpoint import load_generator_checkpoint
from l2g.fidelity import ClassifierConfig, PlainCNN1d, ResNet1d, build_classifier
from l2g.losses import feature_matching_loss, fourier_resample
from l2g.train import _fm_encoder
from l2g.train_config import TrainConfig, check_files, config_from_dict

from .weights import shipped


def test_shipped_config_reads_from_any_folder(tmp_path, monkeypatch):
    """The shipped checkpoint's train_config names its encoder by a relative path; reading it elsewhere must work
    (it failed `l2g calibrate` from another folder before the file check moved to the training run)."""
    cfg_dict = load_generator_checkpoint(shipped("l2g.pt"))["train_config"]
    monkeypatch.chdir(tmp_path)
    cfg = config_from_dict(cfg_dict)
    assert cfg.fm_weight > 0 and cfg.fm_encoder
    with pytest.raises(ValueError, match="init='weights/l2g.pt': no such checkpoint file"):  # a run stops at once
        check_files(cfg)
    with pytest.raises(ValueError, match="fm_encoder=.*no such classifier file"):
        _fm_encoder(replace(cfg, init=""), torch.device("cpu"))


def test_encoder_must_be_the_other_architecture(tmp_path):
    from l2g.checkpoint import save

    net = ResNet1d(ClassifierConfig())
    save({"kind": "l2g.fidelity.ResNet1d", "config": {"arch": "resnet"},
          "state_dict": net.state_dict()}, tmp_path / "resnet.pt")
    cfg = TrainConfig(fm_weight=0.5, fm_encoder=str(tmp_path / "resnet.pt"))
    assert check_files(cfg) is cfg
    with pytest.raises(ValueError, match="arch 'plain'"):
        _fm_encoder(cfg, torch.device("cpu"))
    with pytest.raises(ValueError, match="fm_weight"):
        config_from_dict({"fm_weight": 0.5, "fm_encoder": ""})


def test_loss_trains_the_generator_not_the_encoder():
    torch.manual_seed(0)
    enc = PlainCNN1d(ClassifierConfig(arch="plain")).eval().requires_grad_(False)
    x8 = torch.randn(2, 8, 1024) * 0.2
    pred = (0.5 * x8).requires_grad_(True)
    valid = torch.ones(2, 1024, dtype=torch.bool)
    loss = feature_matching_loss(enc, pred, x8, valid, 250.0)
    loss.backward()
    assert float(loss) > 0 and pred.grad is not None and float(pred.grad.abs().sum()) > 0
    assert all(p.grad is None for p in enc.parameters())
    assert float(feature_matching_loss(enc, x8, x8, valid, 250.0)) == 0.0
    # samples outside the valid part of a window do not count
    valid[:, 512:] = False
    noisy = x8.clone()
    noisy[..., 512:] += 1.0
    assert float(feature_matching_loss(enc, noisy, x8, valid, 250.0)) == 0.0


def test_fourier_resample_keeps_length_and_amplitude():
    t = torch.arange(1024) / 250.0
    x = torch.sin(2 * torch.pi * (12 * 250.0 / 1024) * t).expand(1, 1, 1024)  # 12 periods: one window is one period
    y = fourier_resample(x, 410)
    assert y.shape == (1, 1, 410)
    assert abs(float(y.abs().max()) - 1.0) < 0.02
    assert torch.equal(fourier_resample(x, 1024), x)


def test_build_classifier_by_arch():
    assert isinstance(build_classifier(ClassifierConfig(arch="plain")), PlainCNN1d)
    assert isinstance(build_classifier(ClassifierConfig()), ResNet1d)
    with pytest.raises(ValueError, match="arch must be one of"):
        ClassifierConfig(arch="transformer")
