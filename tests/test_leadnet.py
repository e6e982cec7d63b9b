"""l2g.leadnet: the lead-check network's fault simulation, input, shipped checkpoint and training entry point."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from l2g.demo import demo_record
from l2g.leadcheck import apply_fault, check_leads, lead_check_stats
from l2g.leadnet import CLASSES, LEADNET_FILE, LeadNet, fault_matrix, fault_probabilities, is_testable, load_leadnet
from l2g.leads import EXPAND_8_TO_12, LEADS
from l2g.record import Record

from .weights import shipped

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("fault", CLASSES[1:])
def test_fault_matrix_is_apply_fault_on_independent_leads(fault):
    x8 = np.random.default_rng(0).normal(size=(8, 50)).astype(np.float32)
    rec = Record(EXPAND_8_TO_12 @ x8, fs=100.0, leads=LEADS)
    assert np.allclose(EXPAND_8_TO_12 @ (fault_matrix(fault) @ x8), apply_fault(rec, fault).signal, atol=1e-5)
    assert np.allclose(fault_matrix(fault) @ fault_matrix(fault), np.eye(8))  # a swap undoes itself


def test_testable_needs_the_moved_leads():
    subset = ("I", "II", "V1", "V2", "V3", "V4")
    assert [c for c in CLASSES if not is_testable(c, subset)] == ["V4/V5", "V5/V6"]
    assert not is_testable("LA/RA", ("I", "V1", "V2"))  # one limb lead cannot fix the others
    assert is_testable("LA/RA", ("aVF", "III", "V1"))


def test_untestable_faults_get_no_probability():
    net = LeadNet().eval()
    x = np.random.default_rng(1).normal(size=(12, 1000))
    present = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4"]
    p = fault_probabilities(net, x * np.isin(LEADS, present)[:, None], present)
    assert p["V4/V5"] == 0.0 and p["V5/V6"] == 0.0 and abs(sum(p.values()) - 1) < 1e-9


def test_shipped_checkpoint_is_a_plain_dict_listed_in_sha256sums():
    path = shipped(LEADNET_FILE)
    ckpt = torch.load(path, map_location="cpu", weights_only=True)
    assert tuple(ckpt["classes"]) == CLASSES and {"state_dict", "config", "train", "version"} <= set(ckpt)
    sums = dict(ln.split()[::-1] for ln in (path.parent / "SHA256SUMS").read_text().splitlines() if ln)
    assert sums[LEADNET_FILE] == hashlib.sha256(path.read_bytes()).hexdigest()
    assert sum(p.numel() for p in load_leadnet().parameters()) < 200_000  # tiny: the check must stay fast


@pytest.mark.parametrize("leads", [None, ["I", "II", "V1", "V2", "V3", "V4"]])
def test_shipped_network_flags_the_demo_record_la_ra_reversal(leads):
    shipped(LEADNET_FILE)
    rec = demo_record()
    bad = apply_fault(rec, "LA/RA")
    if leads is not None:
        bad = bad.standardize().mask(leads)
    net = lead_check_stats(bad, detector=load_leadnet()).net
    assert max(net, key=net.get) == "LA/RA"
    assert check_leads(bad).attrs["faults"] == ["LA/RA"]


def test_a_corrupt_checkpoint_is_refused(tmp_path):
    good = shipped(LEADNET_FILE).read_bytes()
    bad = tmp_path / LEADNET_FILE
    bad.write_bytes(good[:-10] + b"0123456789")
    (tmp_path / "SHA256SUMS").write_text(f"{hashlib.sha256(good).hexdigest()}  {LEADNET_FILE}\n")
    with pytest.raises(ValueError, match="checksum mismatch"):
        load_leadnet(bad)


def test_statistics_only_without_the_network():
    st = lead_check_stats(demo_record(), detector=False)
    assert st.net == {} and st.limb_ratio


@pytest.mark.slow
def test_training_entry_point_smoke(tmp_path):
    """``python -m bench.leadcheck_train`` writes a loadable checkpoint (shared + 40 PTB-XL records, 4 + 2 steps)."""
    data = ROOT.parent / "shared" / "data"
    ptbxl = Path(os.environ.get("L2G_PTBXL_DIR", ROOT.parent / "scratch" / "ptbxl" / "Data" / "records100"))
    if not data.is_dir() or not ptbxl.is_dir():
        pytest.skip("needs ../shared/data and PTB-XL")
    out = tmp_path / "lc.pt"
    subprocess.run([sys.executable, "-m", "bench.leadcheck_train", "--steps", "4", "--finetune-steps", "2",
                    "--batch", "8", "--limit", "40", "--eval-every", "2", "--cache", str(tmp_path), "--out", str(out),
                    "--ptbxl", str(ptbxl)], check=True, cwd=ROOT)
    assert isinstance(load_leadnet(out), LeadNet)


def test_weights_dir_override_without_the_network_gets_the_shipped_one(tmp_path, monkeypatch):
    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(tmp_path))  # a folder holding only a generator, say
    assert isinstance(load_leadnet(), LeadNet)
    own = tmp_path / LEADNET_FILE
    own.write_bytes(b"not a checkpoint")
    with pytest.raises(ValueError, match="not a lead-check network checkpoint"):  # its own file is the one read
        load_leadnet()
