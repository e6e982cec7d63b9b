"""Training data: conversion to independent leads, split loading and caching, windows, masks."""

import warnings

import numpy as np
import pytest
import torch
import wfdb

from l2g.dataset import (
    DataConfig,
    WindowDataset,
    load_split_arrays,
    make_input,
    mask_from_leads,
    sample_available,
    to_independent,
)
from l2g.leads import LEADS, PRESETS, expand_independent
from l2g.record import Record


def _x8(n=5000, fs=500.0, seed=0):
    """Sines well above the 0.5 Hz high-pass, different per lead (mV)."""
    rng = np.random.default_rng(seed)
    t = np.arange(n) / fs
    f = rng.uniform(2, 20, size=(8, 1))
    return (rng.uniform(0.2, 1.0, size=(8, 1)) * np.sin(2 * np.pi * f * t)).astype(np.float32)


def _record(x8, fs=500.0, drop=(), name="r"):
    x12 = expand_independent(x8).astype(np.float32)
    for lead in drop:
        x12[LEADS.index(lead)] = np.nan
    return Record(x12, fs, LEADS, name=name)


# ------------------------------------------------------------ to_independent
def test_to_independent_resamples_and_removes_baseline():
    x8 = _x8()
    rec = _record(x8 + 1.0)  # a 1 mV DC offset the high-pass must remove
    out = to_independent(rec, fs=250.0)
    assert out.shape == (8, 2500) and out.dtype == np.float32
    core = slice(500, 2000)  # away from filter edges
    np.testing.assert_allclose(out[:, core], x8[:, ::2][:, core], atol=0.05)  # high-pass edge transients


def test_to_independent_derives_I_II_from_other_limb_leads():
    x8 = _x8()
    full = to_independent(_record(x8), fs=250.0)
    derived = to_independent(_record(x8, drop=("I", "II", "aVR")), fs=250.0)
    np.testing.assert_allclose(derived, full, atol=1e-4)


@pytest.mark.parametrize("drop,match", [(("V3",), "chest lead"), (("I", "III", "aVR", "aVL", "aVF"), "limb")])
def test_to_independent_rejects_missing_leads(drop, match):
    with pytest.raises(ValueError, match=match):
        to_independent(_record(_x8(), drop=drop))


def test_flat_leads_count_as_missing():
    x8 = _x8()
    full = to_independent(_record(x8), fs=250.0)
    x12 = expand_independent(x8)
    x12[LEADS.index("V4")] = 0.0  # a disconnected electrode stored as zeros
    with pytest.raises(ValueError, match=r"V4 \(flat\)"):
        to_independent(Record(x12, 500.0, LEADS))
    x12 = expand_independent(x8)
    x12[LEADS.index("I")] = 0.0
    np.testing.assert_allclose(to_independent(Record(x12, 500.0, LEADS), fs=250.0), full, atol=1e-4)


# ---------------------------------------------------------- subsets, masks
def test_mask_from_leads():
    m = mask_from_leads("v2, I")
    assert m.dtype == bool and m.shape == (12,)
    assert [LEADS[i] for i in np.flatnonzero(m)] == ["I", "V2"]


def test_sample_available_sizes_order_and_presets():
    rng = np.random.default_rng(0)
    draws = [sample_available(rng) for _ in range(3000)]
    sizes = np.array([len(d) for d in draws])
    assert sizes.min() == 1 and sizes.max() == 7
    assert all(list(d) == sorted(d, key=LEADS.index) for d in draws)
    counts = np.bincount(sizes, minlength=8)[1:]
    assert counts[0] > counts[3] and counts[1] > counts[4]  # extra weight on 1 and 2 leads
    presets = {tuple(v) for v in PRESETS.values() if len(v) <= 7}
    assert ("I", "II", "V1", "V3", "V5") in presets
    frac = np.mean([d in presets for d in draws])
    assert 0.25 < frac < 0.45  # 0.3 from presets plus random draws that happen to be presets
    only_presets = {sample_available(rng, presets_weight=1.0) for _ in range(300)}
    assert only_presets == presets


# ----------------------------------------------------------- WindowDataset
def _arrays():
    rng = np.random.default_rng(3)
    return [rng.normal(size=(8, 3000)).astype(np.float32), rng.normal(size=(8, 500)).astype(np.float32)]


def test_window_dataset_items_and_padding():
    arrays = _arrays()
    ds = WindowDataset(arrays, DataConfig(window=1024, augment=False), windows_per_epoch=64, seed=1)
    assert len(ds) == 64
    seen_short = seen_long = False
    for i in range(64):
        it = ds[i]
        assert it["x8"].shape == (8, 1024) and it["x8"].dtype == torch.float32
        assert it["mask"].shape == (12,) and it["mask"].dtype == torch.bool and 1 <= it["mask"].sum() <= 7
        assert it["valid"].shape == (1024,) and it["valid"].dtype == torch.bool
        x = it["x8"].numpy()
        if it["valid"].all():
            seen_long = True
            src = arrays[0]  # the crop is an exact slice of the long record
            starts = [s for s in range(3000 - 1024 + 1) if np.array_equal(src[:, s: s + 1024], x)]
            assert len(starts) == 1
        else:
            seen_short = True
            assert int(it["valid"].sum()) == 500
            np.testing.assert_array_equal(x[:, :500], arrays[1])
            assert not x[:, 500:].any()
    assert seen_short and seen_long
    with pytest.raises(IndexError):
        ds[64]


def test_window_dataset_is_deterministic_per_seed_epoch_index():
    arrays = _arrays()
    a = WindowDataset(arrays, windows_per_epoch=16, seed=7)
    b = WindowDataset(arrays, windows_per_epoch=16, seed=7)
    for i in (0, 5, 15):
        for k in ("x8", "mask", "valid"):
            assert torch.equal(a[i][k], b[i][k])
    assert not torch.equal(a[0]["x8"], a[1]["x8"])
    first = a[3]["x8"]
    a.set_epoch(1)
    assert not torch.equal(a[3]["x8"], first)
    a.set_epoch(0)
    assert torch.equal(a[3]["x8"], first)
    # switching augmentation off keeps crops and masks (separate random streams)
    plain = WindowDataset(arrays, DataConfig(augment=False), windows_per_epoch=16, seed=7)
    scaled = WindowDataset(arrays, DataConfig(noise_mv=0.0, drift_mv=0.0), windows_per_epoch=16, seed=7)
    assert torch.equal(plain[3]["mask"], a[3]["mask"])
    ratio = scaled[3]["x8"] / plain[3]["x8"]
    torch.testing.assert_close(ratio, torch.full_like(ratio, float(ratio[0, 0])))


def test_window_dataset_augmentations_are_switchable_and_bounded():
    x = np.ones((8, 2048), np.float32)
    base = DataConfig(window=1024, noise_mv=0.0, drift_mv=0.0)
    scaled = WindowDataset([x], base, windows_per_epoch=50)
    factors = np.array([float(scaled[i]["x8"][0, 0]) for i in range(50)])
    assert factors.min() >= 0.8 - 1e-6 and factors.max() <= 1.25 + 1e-6 and factors.std() > 0.05
    assert all(torch.allclose(scaled[i]["x8"], scaled[i]["x8"][0, 0]) for i in range(5))  # same for all leads
    noisy = WindowDataset([x], DataConfig(window=1024, amp_scale=(1.0, 1.0), drift_mv=0.0))
    assert abs(float((noisy[0]["x8"] - 1).std()) - 0.01) < 0.002
    drift = WindowDataset([x], DataConfig(window=1024, amp_scale=(1.0, 1.0), noise_mv=0.0))
    assert float((drift[0]["x8"] - 1).abs().max()) <= 0.05 + 1e-6
    padded = WindowDataset([x[:, :100]], DataConfig(window=256))
    assert not padded[0]["x8"][:, 100:].any()


def test_make_input_expands_and_zeroes():
    rng = np.random.default_rng(0)
    x8 = torch.from_numpy(rng.normal(size=(3, 8, 50)).astype(np.float32))
    mask = torch.from_numpy(np.stack([mask_from_leads(s) for s in (["I"], ["III", "V6"], LEADS)]))
    x12 = make_input(x8, mask)
    assert x12.shape == (3, 12, 50)
    full = torch.from_numpy(expand_independent(x8.numpy()))
    torch.testing.assert_close(x12[2], full[2])
    torch.testing.assert_close(x12[1, LEADS.index("III")], full[1, LEADS.index("III")])
    assert not x12[0, 1:].any() and not x12[1, :2].any()


# -------------------------------------------------------- load_split_arrays
@pytest.fixture()
def tiny_archive(tmp_path):
    root = tmp_path / "data"
    (root / "a").mkdir(parents=True)
    for i in range(3):
        x12 = expand_independent(_x8(n=2500, seed=i)).T.astype(np.float64)
        wfdb.wrsamp(f"r{i}", fs=500, units=["mV"] * 12, sig_name=list(LEADS), p_signal=x12,
                    fmt=["16"] * 12, adc_gain=[1000.0] * 12, baseline=[0] * 12, write_dir=str(root / "a"))
    (root / "a" / "bad.hea").write_text("this is not a header\n")
    csv = tmp_path / "split.csv"
    csv.write_text("record_id,split\na/r0,train\na/r1,train\na/bad,train\na/missing,train\na/r2,val\n")
    return root, csv


def test_load_split_arrays_skips_bad_records_and_caches(tiny_archive, tmp_path, monkeypatch):
    root, csv = tiny_archive
    cache = tmp_path / "cache"
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        out = load_split_arrays(root, csv, "train", fs=250.0, cache_dir=cache, progress=False)
    assert [rid for rid, _ in out] == ["a/r0", "a/r1"]
    assert all(x.shape == (8, 1250) and x.dtype == np.float32 for _, x in out)
    assert sum("bad" in str(w.message) for w in caught) == 1
    assert sum("missing" in str(w.message) for w in caught) == 1
    assert len(list(cache.glob("train_250hz_*.npz"))) == 1

    import l2g.io

    def _fail(*a, **k):
        raise AssertionError("the cache should have been used")

    monkeypatch.setattr(l2g.io, "read_record", _fail)
    again = load_split_arrays(root, csv, "train", fs=250.0, cache_dir=cache, progress=False)
    assert [rid for rid, _ in again] == ["a/r0", "a/r1"]
    for (_, a), (_, b) in zip(out, again, strict=True):
        np.testing.assert_array_equal(a, b)
    with pytest.raises(ValueError, match="no split 'dev'"):
        load_split_arrays(root, csv, "dev", cache_dir=cache, progress=False)


def test_k_weights_choose_the_number_of_available_leads():
    rng = np.random.default_rng(3)
    draws = [sample_available(rng, presets_weight=0.0, k_weights=(0, 0, 0, 0, 0, 0, 1)) for _ in range(50)]
    assert {len(d) for d in draws} == {7}
    draws = [sample_available(rng, presets_weight=0.0, k_weights=(1, 0, 0, 0, 0, 0, 0)) for _ in range(50)]
    assert {len(d) for d in draws} == {1}


@pytest.mark.parametrize("bad", [(1, 1, 1), (1, 1, 1, 1, 1, 1, -1), (0, 0, 0, 0, 0, 0, 0)])
def test_bad_k_weights_are_rejected(bad):
    with pytest.raises(ValueError, match="k_weights must be 7 non-negative"):
        DataConfig(k_weights=bad)


# ------------------------------------------------------- several data folders
def _two_folders(tmp_path):
    """A shared folder with PTB-XL-named copies in every split and a 100-Hz extra folder of the same ECGs."""
    from l2g.io import write_wfdb

    shared, extra = tmp_path / "shared", tmp_path / "records100"
    rows = ["record_id,split"]
    for ecg, part in ((1, "train"), (2, "train"), (6, "test"), (841, "val")):
        write_wfdb(_record(_x8(seed=ecg), name="x"), shared / "ptbxl_cinc2024", name=f"{ecg:05d}_hr")
        rows.append(f"ptbxl_cinc2024/{ecg:05d}_hr,{part}")
    for ecg in (1, 3, 4, 6, 841):
        write_wfdb(_record(_x8(n=1000, fs=100.0, seed=100 + ecg), fs=100.0, name="x"), extra / "00000",
                   name=f"{ecg:05d}_lr")
    split = tmp_path / "split.csv"
    split.write_text("\n".join(rows) + "\n")
    return shared, extra, split


def test_mixed_arrays_never_train_on_held_out_ecgs_and_carry_rates(tmp_path):
    from l2g.dataset import load_mixed_arrays

    shared, extra, split = _two_folders(tmp_path)
    cache = tmp_path / "cache"
    got = load_mixed_arrays([shared, extra], split, "train", fs=250.0, cache_dir=cache, progress=False)
    ids = [rid for rid, _, _ in got]
    # shared train copies first; ecg 6 (test) and 841 (val) excluded, ecg 1 a duplicate of a shared train record
    assert ids == ["ptbxl_cinc2024/00001_hr", "ptbxl_cinc2024/00002_hr", "records100/00000/00003_lr",
                   "records100/00000/00004_lr"]
    assert [rate for _, _, rate in got] == [500.0, 500.0, 100.0, 100.0]
    assert all(x.shape == (8, 2500) and x.dtype == np.float32 for _, x, _ in got)
    # the 100-Hz records are upsampled by the same conversion as every record
    from l2g.io import read_record

    expect = to_independent(read_record(extra / "00000" / "00003_lr.hea"), 250.0)
    np.testing.assert_allclose(got[2][1], expect, atol=1e-6)
    # second call: served from the memory-mapped cache, same values
    files = sorted(p.name for p in cache.iterdir())
    again = load_mixed_arrays([shared, extra], split, "train", fs=250.0, cache_dir=cache, progress=False)
    assert sorted(p.name for p in cache.iterdir()) == files
    assert isinstance(again[2][1].base, np.memmap) or isinstance(again[2][1], np.memmap)
    np.testing.assert_array_equal(again[3][1], got[3][1])
    # val and test come from the shared folder only
    val = load_mixed_arrays([shared, extra], split, "val", fs=250.0, cache_dir=cache, progress=False)
    assert [rid for rid, _, _ in val] == ["ptbxl_cinc2024/00841_hr"]
    # extra_limit caps each extra folder (smoke runs)
    few = load_mixed_arrays([shared, extra], split, "train", fs=250.0, cache_dir=cache, progress=False,
                            extra_limit=1)
    assert [rid for rid, _, _ in few][2:] == ["records100/00000/00003_lr"]


def test_window_items_carry_the_band_of_their_record():
    x = _x8(n=3000, fs=250.0)
    cfg = DataConfig(window=512, augment=False)
    ds = WindowDataset([x, x], cfg, windows_per_epoch=64, rates=[100.0, 500.0], seed=3)
    bands = {float(ds[i]["band_hz"]) for i in range(64)}
    assert bands == {45.0, 125.0}
    plain = WindowDataset([x], cfg, windows_per_epoch=4)
    assert float(plain[0]["band_hz"]) == 125.0
    with pytest.raises(ValueError, match="rates"):
        WindowDataset([x, x], cfg, rates=[100.0])


def test_group_weights_set_the_share_of_windows_per_folder():
    # 2 records in group 0, 20 in group 1 (marked by their constant value)
    arrays = [np.full((8, 1100), 0.0, np.float32)] * 2 + [np.full((8, 1100), 1.0, np.float32)] * 20
    groups = [0, 0] + [1] * 20
    cfg = DataConfig(window=1024, augment=False)

    def share_of_group0(**kw):
        ds = WindowDataset(arrays, cfg, windows_per_epoch=800, seed=3, groups=groups, **kw)
        return np.mean([float(ds[i]["x8"][0, 0]) == 0.0 for i in range(len(ds))])

    assert share_of_group0() < 0.2  # uniform over records: about 2/22
    assert 0.42 < share_of_group0(group_weights=(1, 1)) < 0.58
    assert share_of_group0(group_weights=(0, 1)) == 0.0
    assert share_of_group0(group_weights=(3, 1)) > 0.65
    with pytest.raises(ValueError, match="groups must be"):
        WindowDataset(arrays, cfg, groups=[0] * 21 + [2], group_weights=(1, 1))
    with pytest.raises(ValueError, match="no records"):
        WindowDataset(arrays, cfg, groups=[1] * 22, group_weights=(1, 1))
    with pytest.raises(ValueError, match="non-negative"):
        WindowDataset(arrays, cfg, groups=groups, group_weights=(-1, 1))
