"""l2g.checkpoint: round trip, typed errors naming the file, atomic save, and the one place that does it."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import torch

from l2g import checkpoint
from l2g.baseline import LinearBaseline
from l2g.checkpoint import CheckpointError
from l2g.model import Generator, GeneratorConfig, model_args

from .weights import shipped

L2G = Path(__file__).resolve().parents[1] / "l2g"


@pytest.fixture(scope="module")
def tiny() -> tuple[Generator, LinearBaseline]:
    torch.manual_seed(0)
    return Generator(GeneratorConfig(base_channels=8, depth=2, dilations=(1,))), LinearBaseline.load(shipped())


def test_generator_checkpoint_round_trip(tmp_path: Path, tiny) -> None:
    g, lin = tiny
    path = tmp_path / "sub" / "m.pt"
    ckpt = checkpoint.generator_checkpoint(g, lin, fs=250.0, window=256, highpass_hz=0.5,
                                           train_config={"epochs": 1}, summary={"best": 0.1})
    checkpoint.save(ckpt, path)
    assert [p.name for p in path.parent.iterdir()] == ["m.pt"]
    g2, lin2, back = checkpoint.load_generator(path)
    assert back["format"] == checkpoint.GENERATOR_FORMAT and back["model_args"] == model_args(g.config)
    assert (back["fs"], back["window"], back["highpass_hz"]) == (250.0, 256, 0.5)
    assert back["train_config"] == {"epochs": 1} and back["summary"] == {"best": 0.1}
    assert not g2.training
    for (k, v), (k2, v2) in zip(g.state_dict().items(), g2.state_dict().items(), strict=True):
        assert k == k2 and torch.equal(v, v2)
    assert torch.equal(torch.as_tensor(lin2.state_dict()["cov"]), torch.as_tensor(lin.state_dict()["cov"]))
    checkpoint.save_linear(lin, tmp_path / "linear.pt")
    assert checkpoint.load_linear(tmp_path / "linear.pt").config == lin.config


@pytest.mark.parametrize("case", ["missing", "garbage", "foreign", "not-a-dict", "wrong-shapes", "checksum"])
def test_unusable_files_raise_a_typed_error_naming_the_file(tmp_path: Path, tiny, case: str) -> None:
    g, lin = tiny
    path = tmp_path / "l2g.pt"
    if case == "garbage":
        path.write_bytes(b"PK\x03\x04 not really a checkpoint")
    elif case == "foreign":
        torch.save({"weights": torch.zeros(3)}, path)
    elif case == "not-a-dict":
        torch.save([torch.zeros(3)], path)
    elif case == "wrong-shapes":
        ckpt = checkpoint.generator_checkpoint(g, lin, fs=250.0, window=256, highpass_hz=0.5)
        checkpoint.save({**ckpt, "model_args": {**ckpt["model_args"], "base_channels": 16}}, path)
    elif case == "checksum":
        checkpoint.save(checkpoint.generator_checkpoint(g, lin, fs=250.0, window=256, highpass_hz=0.5), path)
        (tmp_path / "SHA256SUMS").write_text(f"{'0' * 64}  l2g.pt\n")
    with pytest.raises(CheckpointError, match=re.escape(str(path))) as info:
        checkpoint.load_generator(path)
    assert isinstance(info.value, ValueError) and info.value.path == path and info.value.reason
    if case == "checksum":
        assert "checksum mismatch" in info.value.reason


def test_training_state_needs_its_keys(tmp_path: Path) -> None:
    checkpoint.save({"g": {}}, tmp_path / "m.ckpt")
    with pytest.raises(CheckpointError, match="not an L2G training state"):
        checkpoint.load_training_state(tmp_path / "m.ckpt")


def test_a_failed_save_leaves_no_partial_file_and_keeps_the_old_one(tmp_path: Path, monkeypatch) -> None:
    path = tmp_path / "m.pt"
    checkpoint.save({"v": torch.ones(2)}, path)
    real_save = torch.save

    def half_then_fail(obj, f, *args, **kwargs):
        Path(f).write_bytes(b"PK\x03\x04 half")  # a partial write, then the crash
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_then_fail)
    with pytest.raises(OSError, match="disk full"):
        checkpoint.save({"v": torch.zeros(2)}, path)
    monkeypatch.setattr(torch, "save", real_save)
    assert [p.name for p in tmp_path.iterdir()] == ["m.pt"]  # no temporary file left behind
    assert torch.equal(checkpoint.load(path)["v"], torch.ones(2))  # the earlier file, whole


def test_only_the_checkpoint_module_reads_or_writes_generator_checkpoints() -> None:
    # the lead-check network and the reference classifiers keep their own formats; synthetic.py reads
    # deepfake-ecg's file; baseline.py owns the linear baseline's state (LinearBaseline.save/load)
    own_formats = {"checkpoint.py", "leadnet.py", "fidelity.py", "synthetic.py", "baseline.py"}
    offenders = [f"{p.relative_to(L2G)}:{n}" for p in sorted(L2G.rglob("*.py")) if p.name not in own_formats
                 for n, line in enumerate(p.read_text().splitlines(), 1)
                 if re.search(r"\btorch\.(save|load)\(", line)]
    assert offenders == [], f"torch.save/torch.load outside l2g/checkpoint.py: {offenders}"
