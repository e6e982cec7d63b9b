"""Agreement metrics: perfect reconstructions score perfectly, wrong ones do not."""

import numpy as np
import pytest

from l2g.metrics import (
    aup,
    jensen_shannon,
    lead_agreement,
    mse,
    mutual_information,
    nmse,
    pearson_r,
    rmse_uv,
    spectral_coherence,
    ssim_1d,
)

from .ecg_factory import synthetic_x8

FS = 500.0


@pytest.fixture
def ecg():
    return synthetic_x8(10.0, FS, seed=7).astype(np.float64)


def test_perfect_reconstruction(ecg):
    assert np.all(mse(ecg, ecg) == 0) and np.all(rmse_uv(ecg, ecg) == 0)
    np.testing.assert_allclose(pearson_r(ecg, ecg), 1.0)
    np.testing.assert_allclose(ssim_1d(ecg, ecg, FS), 1.0)
    np.testing.assert_allclose(jensen_shannon(ecg, ecg), 0.0, atol=1e-12)
    mi, nmi = mutual_information(ecg, ecg)
    np.testing.assert_allclose(nmi, 1.0)
    assert np.all(mi > 2)
    np.testing.assert_allclose(spectral_coherence(ecg, ecg, FS), 1.0, atol=1e-9)


def test_shuffled_reconstruction_scores_badly(ecg):
    rng = np.random.default_rng(0)
    shuffled = ecg[:, rng.permutation(ecg.shape[1])]
    assert np.all(mse(ecg, shuffled) > 0.01)
    assert np.all(np.abs(pearson_r(ecg, shuffled)) < 0.1)
    assert np.all(ssim_1d(ecg, shuffled, FS) < 0.5)
    _, nmi = mutual_information(ecg, shuffled)
    assert np.all(nmi < 0.2)
    assert np.all(spectral_coherence(ecg, shuffled, FS) < 0.3)
    # a shuffle keeps the amplitude distribution: JSD is blind to it by design ...
    np.testing.assert_allclose(jensen_shannon(ecg, shuffled), 0.0, atol=1e-12)
    # ... but sees a flattened (regressed-to-the-mean) trace
    assert np.all(jensen_shannon(ecg, 0.3 * ecg) > 0.05)


def test_scaled_trace_is_correlated_but_not_equal(ecg):
    half = 0.5 * ecg
    np.testing.assert_allclose(pearson_r(ecg, half), 1.0)
    assert np.all(ssim_1d(ecg, half, FS) < 0.99) and np.all(mse(ecg, half) > 0)
    np.testing.assert_allclose(rmse_uv(ecg, ecg + 0.01), 10.0, rtol=1e-9)  # 10 µV offset


def test_nmse_and_aup():
    a = np.zeros((2, 10))
    b = np.ones((2, 10))
    np.testing.assert_allclose(nmse(a, b, 2.0), 0.25)
    with pytest.raises(ValueError):
        nmse(a, b, 0.0)
    assert aup(np.full(12, 0.7)) == pytest.approx(0.7)
    assert aup(np.r_[np.ones(6), np.zeros(6)]) == pytest.approx(0.5)
    with pytest.raises(ValueError):
        aup(np.ones(1))


def test_errors_and_constant_traces():
    with pytest.raises(ValueError, match="shapes differ"):
        mse(np.zeros(10), np.zeros(11))
    with pytest.raises(ValueError, match="shorter than the SSIM window"):
        ssim_1d(np.zeros(10), np.zeros(10), FS)
    assert np.isnan(pearson_r(np.zeros(10), np.arange(10.0)))
    out = lead_agreement(np.ones((3, 500)), np.ones((3, 500)), fs=FS)
    assert set(out) == {"mse", "rmse_uv", "r", "ssim"}
