"""The linear least-squares baseline: exact recovery, any subset, torch parity, persistence."""

import numpy as np
import pytest
import torch

from l2g.baseline import LinearBaseline, LinearConfig
from l2g.leads import EXPAND_8_TO_12, INDEPENDENT_LEADS, LEADS, expand_independent

from .weights import shipped

LAGS = (*range(-4, 5), 6)  # every delay difference below; taps -6, -5 and 5 stay unused
# per independent lead: gain and delay (samples) of one shared source; I and II share the delay
# so that every limb lead is a non-zero multiple of the same delayed source
_GAIN = np.array([1.0, 1.7, 0.6, -1.1, 0.9, 1.3, -0.7, 0.5])
_DELAY = np.array([0, 0, 1, -1, 2, -2, 1, -1])


def _rank1_records(n_rec=4, n=3000, seed=0):
    """Every lead is a scaled, shifted copy of one white source: any lead predicts any other exactly."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n_rec):
        s = rng.normal(size=n + 20)
        out.append(np.stack([g * s[10 + d: 10 + d + n] for g, d in zip(_GAIN, _DELAY, strict=True)]))
    return [x.astype(np.float32) for x in out]


def _limb_driven_records(n_rec=4, n=3000, seed=1):
    """I and II independent; every chest lead is a lagged linear function of them."""
    rng = np.random.default_rng(seed)
    coef = rng.normal(size=(6, 2, 3))  # chest lead, (I, II), taps at lags -2, 0, +3
    out = []
    for _ in range(n_rec):
        x = np.zeros((8, n))
        x[:2] = rng.normal(size=(2, n))
        for c in range(6):
            for s in range(2):
                for tap, lag in enumerate((-2, 0, 3)):
                    x[2 + c] += coef[c, s, tap] * np.roll(x[s], -lag)  # x(t + lag)
        out.append(x.astype(np.float32))
    return out


def _r(a, b):
    a, b = a - a.mean(), b - b.mean()
    return float((a * b).sum() / np.sqrt((a * a).sum() * (b * b).sum()))


@pytest.fixture(scope="module")
def rank1():
    recs = _rank1_records()
    return LinearBaseline.fit(recs[:3], LinearConfig(lags=LAGS, ridge=1e-6)), recs[3]


@pytest.fixture(scope="module")
def limb_driven():
    recs = _limb_driven_records()
    return LinearBaseline.fit(recs[:3], LinearConfig(lags=LAGS, ridge=1e-6)), recs[3]


SUBSETS = [
    ("I",), ("II",), ("aVL",), ("V1",), ("V6",), ("III", "V2"), ("I", "II"), ("I", "II", "III", "aVR"),
    ("aVR", "aVF", "V3"), ("I", "II", "V1", "V3", "V5"), LEADS[:6], LEADS[6:],
    ("I", "II", "V1", "V2", "V3", "V4", "V5"), LEADS,
]


@pytest.mark.parametrize("available", SUBSETS, ids=lambda s: ",".join(s))
def test_recovers_exact_lagged_map_from_any_subset(rank1, available):
    base, x8 = rank1
    pred = base.predict(expand_independent(x8), available)
    assert pred.shape == (8, x8.shape[1]) and pred.dtype == np.float32
    m = base.config.max_lag
    for j in range(8):  # interior: away from the zero-padded edges
        assert _r(pred[j, m:-m], x8[j, m:-m]) > 0.999, INDEPENDENT_LEADS[j]


@pytest.mark.parametrize(
    "available", [("I", "II"), ("III", "aVL"), ("I", "II", "III", "aVR"), LEADS[:6], ("aVF", "aVR", "V4")]
)
def test_chest_from_two_limb_leads(limb_driven, available):
    base, x8 = limb_driven
    pred = base.predict(expand_independent(x8), available)
    m = base.config.max_lag
    for j in range(8):
        assert _r(pred[j, m:-m], x8[j, m:-m]) > 0.999, INDEPENDENT_LEADS[j]
    # with two limb leads, I and II are exact everywhere (edges included)
    np.testing.assert_allclose(pred[:2], x8[:2], atol=1e-4)


def test_available_leads_pass_through_and_single_limb_lead_is_reproduced(rank1):
    base, x8 = rank1
    x12 = expand_independent(x8)
    pred = base.predict(x12, ["V2", "aVF"])
    np.testing.assert_array_equal(pred[INDEPENDENT_LEADS.index("V2")], x8[INDEPENDENT_LEADS.index("V2")])
    avf = EXPAND_8_TO_12[LEADS.index("aVF"), :2] @ pred[:2]
    np.testing.assert_allclose(avf, x12[LEADS.index("aVF")], atol=1e-5)


def test_weights_shape_zeros_and_cache(rank1):
    base, _ = rank1
    w = base.weights_for("V1, III")
    m = base.config.max_lag
    assert w.shape == (8, 12, 2 * m + 1) and w.dtype == np.float32 and not w.flags.writeable
    unavailable = [i for i, lead in enumerate(LEADS) if lead not in ("V1", "III")]
    assert not w[:, unavailable].any()
    unused_taps = [k for k in range(2 * m + 1) if k - m not in LAGS]
    assert not w[:, :, unused_taps].any()
    assert base.weights_for(["iii", "V1"]) is w  # cached under the canonical subset
    # rank-deficient: only two limb leads carry weight
    w = base.weights_for(LEADS[:6])
    assert (np.abs(w).sum(axis=(0, 2)) > 0).sum() == 2
    with pytest.raises(ValueError, match="no available leads"):
        base.weights_for([])
    with pytest.raises(ValueError, match="unknown lead"):
        base.weights_for(["V7"])


def test_garbage_in_unavailable_rows_is_ignored(rank1):
    base, x8 = rank1
    x12 = expand_independent(x8)
    available = ("II", "V2", "V5")
    dirty = x12.copy()
    rng = np.random.default_rng(5)
    for i, lead in enumerate(LEADS):
        if lead not in available:
            dirty[i] = rng.normal(scale=100, size=dirty.shape[1])
    dirty[LEADS.index("V6"), ::7] = np.nan
    np.testing.assert_array_equal(base.predict(dirty, available), base.predict(x12, available))
    mask = torch.tensor([lead in available for lead in LEADS])
    a = base.predict_torch(torch.from_numpy(dirty)[None], mask[None])
    b = base.predict_torch(torch.from_numpy(x12)[None], mask[None])
    assert torch.isfinite(a).all()
    torch.testing.assert_close(a, b)


def test_predict_torch_matches_predict_per_row(limb_driven):
    base, x8 = limb_driven
    x12 = expand_independent(x8[:, :700])
    subsets = [("I",), ("I", "II", "V3"), LEADS, ("I",), ("aVR", "aVL", "V6"), LEADS[6:]]
    batch = np.stack([x12 * (1 + 0.1 * i) for i in range(len(subsets))])
    mask = torch.tensor([[lead in s for lead in LEADS] for s in subsets])
    out = base.predict_torch(torch.from_numpy(batch), mask)
    assert out.shape == (len(subsets), 8, 700) and out.dtype == torch.float32
    for i, s in enumerate(subsets):
        np.testing.assert_allclose(out[i].numpy(), base.predict(batch[i], s), atol=2e-4, rtol=1e-4)
    # numpy batch dimensions broadcast the same way
    both = base.predict(batch[:2], ("I",))
    np.testing.assert_allclose(both[1], base.predict(batch[1], ("I",)), atol=1e-6)
    with pytest.raises(ValueError, match="no available lead"):
        base.predict_torch(torch.from_numpy(batch[:1]), torch.zeros(1, 12, dtype=torch.bool))


def test_state_round_trip_weights_only(rank1, tmp_path):
    base, x8 = rank1
    base.meta["split"] = "train"
    path = tmp_path / "linear.pt"
    base.save(path)
    state = torch.load(path, weights_only=True)
    assert state["format"] == "l2g-linear-baseline" and state["n_records"] == 3
    loaded = LinearBaseline.load(path)
    assert loaded.config == base.config and loaded.meta == {"split": "train"}
    assert loaded.n_samples == base.n_samples == 9000
    x12 = expand_independent(x8)
    np.testing.assert_array_equal(loaded.predict(x12, ["V4"]), base.predict(x12, ["V4"]))


def test_with_config_reuses_covariance_within_fitted_lag_range():
    recs = _rank1_records(n_rec=2, n=1000)
    wide = LinearBaseline.fit(recs, LinearConfig(lags=(0,)), max_lag=6)
    direct = LinearBaseline.fit(recs, LinearConfig(lags=(-2, 0, 2)), max_lag=6)
    re = wide.with_config(LinearConfig(lags=(-2, 0, 2)))
    np.testing.assert_allclose(re.weights_for(["V1"]), direct.weights_for(["V1"]), atol=1e-6)
    with pytest.raises(ValueError, match="max_lag"):
        wide.with_config(LinearConfig(lags=(-8, 0)))


def test_fit_validates_input():
    with pytest.raises(ValueError, match=r"expected \(8, n\)"):
        LinearBaseline.fit([np.zeros((12, 100))])
    with pytest.raises(ValueError, match="non-finite"):
        LinearBaseline.fit([np.full((8, 100), np.nan)])
    with pytest.raises(ValueError, match="no record"):
        LinearBaseline.fit([np.zeros((8, 3))])
    with pytest.raises(ValueError, match="ridge"):
        LinearConfig(ridge=-1)


def test_shipped_weights_load_safely_with_default_config():
    base = LinearBaseline.load(shipped("linear.pt"))
    assert base.config == LinearConfig() and base.n_records > 100
    w = base.weights_for(["I", "II", "V1", "V3", "V5"])
    assert np.isfinite(w).all()


@pytest.mark.shared_data
def test_shipped_weights_on_a_real_record(shared_data):
    from l2g.dataset import to_independent
    from l2g.io import read_record

    base = LinearBaseline.load(shipped("linear.pt"))
    x8 = to_independent(read_record(shared_data / "ludb" / "data" / "1.hea"), base.config.fs)
    pred = base.predict(expand_independent(x8), ["I", "II", "V1", "V3", "V5"])
    for lead in ("V2", "V4", "V6"):  # interpolated chest leads
        j = INDEPENDENT_LEADS.index(lead)
        assert _r(pred[j], x8[j]) > 0.8, lead
