"""Tests for l2g.preprocess: resampling, filters, the default chain and windows."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

from l2g.leads import LEADS
from l2g.preprocess import (
    PreprocessConfig,
    bandlimit,
    notch,
    preprocess,
    remove_baseline,
    resample,
    sliding_windows,
)
from l2g.record import ABSENT, GENERATED, RECORDED, Diagnosis, Metadata, Record


def _sines(fs: float, seconds: float, freqs_amps: list[tuple[float, float]], n_leads: int = 1) -> np.ndarray:
    t = np.arange(int(round(fs * seconds))) / fs
    x = sum(a * np.sin(2 * np.pi * f * t + 0.3) for f, a in freqs_amps)
    return np.tile(x, (n_leads, 1))


def _record(signal: np.ndarray, fs: float, leads: tuple[str, ...] = ("II",), **kw) -> Record:
    return Record(signal=signal, fs=fs, leads=leads, name="t", **kw)


def _rms(x: np.ndarray) -> float:
    return float(np.sqrt(np.mean(np.asarray(x, np.float64) ** 2)))


def _mixed_record(fs: float = 500.0, seconds: float = 10.0) -> Record:
    """12 leads: one absent, one generated, with metadata."""
    rng = np.random.default_rng(1)
    n = int(fs * seconds)
    sig = rng.normal(scale=0.2, size=(12, n)) + _sines(fs, seconds, [(1.2, 1.0), (50.0, 0.1)], 12)
    sig[LEADS.index("V3")] = np.nan
    status = [RECORDED] * 12
    status[LEADS.index("V3")] = ABSENT
    status[LEADS.index("V5")] = GENERATED
    meta = Metadata(age=60, sex="F", diagnoses=(Diagnosis("426783006", "sinus rhythm"),))
    return Record(signal=sig, fs=fs, leads=LEADS, status=tuple(status), name="mixed", meta=meta)


# ---------------------------------------------------------------- resample
@pytest.mark.parametrize(
    ("fs", "fs_out"), [(500, 1000), (1000, 500), (128, 500), (257, 500), (360, 500), (500, 257), (500, 500)]
)
@pytest.mark.parametrize("n", [1, 2, 7, 1000, 5001])
def test_resample_length_rule(fs: float, fs_out: float, n: int) -> None:
    rec = _record(np.ones((1, n)), fs)
    out = resample(rec, fs_out)
    assert out.fs == fs_out
    assert out.n_samples == max(1, round(n * fs_out / fs))
    assert np.isfinite(out.signal).all()


@pytest.mark.parametrize("fs", [128, 257, 360, 1000])
def test_resample_to_500_keeps_band_limited_signal(fs: float) -> None:
    parts = [(1.0, 1.0), (7.0, 0.5), (23.0, 0.2)]
    rec = _record(_sines(fs, 10, parts) + 0.3, fs)  # with a baseline offset
    out = resample(rec, 500)
    expected = _sines(500, 10, parts)[0] + 0.3
    err = out.signal[0] - expected
    core = slice(250, -250)  # polyphase filters ring for a few samples at the edges
    assert np.max(np.abs(err[core])) < 5e-3
    assert _rms(err) < 0.02  # edges included: the line extension keeps them small


def test_resample_round_trip_500_1000_500() -> None:
    rec = _record(_sines(500, 10, [(1.0, 1.0), (15.0, 0.4), (40.0, 0.1)], 2), 500, ("I", "II"))
    back = resample(resample(rec, 1000), 500)
    assert back.n_samples == rec.n_samples and back.fs == 500
    err = back.signal - rec.signal
    assert np.max(np.abs(err[:, 100:-100])) < 2e-3
    assert _rms(err) < 0.01


def test_resample_same_rate_is_identity() -> None:
    rec = _record(np.ones((1, 10)), 500)
    assert resample(rec, 500) is rec


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf"), "x"])
def test_resample_rejects_bad_rate(bad: object) -> None:
    with pytest.raises(ValueError, match="fs_out"):
        resample(_record(np.ones((1, 10)), 500), bad)  # type: ignore[arg-type]


def test_resample_rejects_unrepresentable_ratio() -> None:
    # 1/1001 would need a denominator above 1000; its best fraction 0/1 is refused
    with pytest.raises(ValueError, match="cannot resample"):
        resample(_record(np.ones((1, 2000)), 1001 * 500), 500)


# ------------------------------------------------------------------ filters
def test_remove_baseline_kills_slow_wave_keeps_10hz() -> None:
    fs = 500
    wander = _sines(fs, 20, [(0.2, 1.0)])
    ecg_like = _sines(fs, 20, [(10.0, 0.5)])
    out = remove_baseline(_record(wander + ecg_like, fs), 0.5)
    residual = out.signal[0] - ecg_like[0]
    core = slice(2 * fs, -2 * fs)
    assert _rms(residual[core]) < 0.01 * _rms(wander)  # 0.2 Hz: down by > 40 dB
    assert _rms(out.signal[0][core]) == pytest.approx(_rms(ecg_like[0][core]), rel=0.01)
    # the slow wave alone is almost gone everywhere, edges included
    alone = remove_baseline(_record(wander, fs), 0.5)
    assert _rms(alone.signal) < 0.02 * _rms(wander)


def test_remove_baseline_removes_offset() -> None:
    rec = _record(_sines(500, 10, [(5.0, 1.0)]) + 2.0, 500)
    out = remove_baseline(rec)
    assert abs(float(np.mean(out.signal[0, 500:-500]))) < 1e-2


def test_notch_kills_mains_keeps_the_rest() -> None:
    fs = 500
    mains = _sines(fs, 10, [(50.0, 0.5)])
    wanted = _sines(fs, 10, [(10.0, 1.0), (30.0, 0.3)])
    out = notch(_record(mains + wanted, fs), 50.0, 30)
    core = slice(fs, -fs)
    assert _rms((out.signal[0] - wanted[0])[core]) < 0.02 * _rms(mains)
    assert np.max(np.abs(out.signal[0] - wanted[0])) < 0.5  # edges stay bounded
    out60 = notch(_record(_sines(fs, 10, [(60.0, 0.5)]), fs), 60.0)
    assert _rms(out60.signal[0][core]) < 0.01


def test_notch_at_or_above_nyquist_is_an_error() -> None:
    rec = _record(np.ones((1, 1000)), 100)
    with pytest.raises(ValueError, match="Nyquist"):
        notch(rec, 50.0)
    with pytest.raises(ValueError, match="Nyquist"):
        notch(rec, 60.0)
    with pytest.raises(ValueError, match="positive"):
        notch(_record(np.ones((1, 1000)), 500), 0.0)
    with pytest.raises(ValueError, match="quality"):
        notch(_record(np.ones((1, 1000)), 500), 50.0, quality=0)


def test_bandlimit_modes_and_errors() -> None:
    fs = 500
    x = _sines(fs, 10, [(2.0, 1.0), (150.0, 1.0)])
    low = bandlimit(_record(x, fs), None, 40.0)
    core = slice(fs, -fs)
    assert _rms(low.signal[0][core] - _sines(fs, 10, [(2.0, 1.0)])[0][core]) < 0.01
    rec = _record(x, fs)
    assert bandlimit(rec, None, None) is rec
    with pytest.raises(ValueError, match="below high_hz"):
        bandlimit(rec, 50.0, 10.0)
    with pytest.raises(ValueError, match="Nyquist"):
        bandlimit(rec, 0.5, 250.0)
    with pytest.raises(ValueError, match="order"):
        bandlimit(rec, 0.5, 100.0, order=0)


@pytest.mark.parametrize("n", [1, 2, 3, 10, 50])
def test_short_records_do_not_crash(n: int) -> None:
    rec = _record(np.linspace(0, 1, n)[None, :], 500)
    for out in (remove_baseline(rec), notch(rec), bandlimit(rec), preprocess(rec)):
        assert out.n_samples == n
        assert np.isfinite(out.signal).all()


# ------------------------------------------------ purity, status, metadata
@pytest.mark.parametrize(
    "func",
    [
        lambda r: resample(r, 360),
        lambda r: resample(r, 1000),
        remove_baseline,
        notch,
        bandlimit,
        preprocess,
        lambda r: preprocess(r, PreprocessConfig(fs=250, lowpass_hz=40, notch_hz=None)),
    ],
)
def test_functions_are_pure_and_keep_status(func) -> None:
    rec = _mixed_record()
    before = rec.signal.copy()
    out = func(rec)
    assert out is not rec
    np.testing.assert_array_equal(rec.signal, before)  # input untouched
    assert out.leads == rec.leads
    assert out.status == rec.status
    assert out.meta == rec.meta and out.name == rec.name
    v3 = LEADS.index("V3")
    assert np.isnan(out.signal[v3]).all()
    present = [i for i in range(12) if i != v3]
    assert np.isfinite(out.signal[present]).all()
    assert out.signal.dtype == np.float32


def test_preprocess_defaults_and_rate() -> None:
    cfg = PreprocessConfig()
    assert (cfg.fs, cfg.highpass_hz, cfg.lowpass_hz, cfg.notch_hz, cfg.notch_quality) == (
        500.0, 0.5, 100.0, 50.0, 30.0,
    )
    rec = _record(_sines(1000, 10, [(0.1, 1.0), (8.0, 1.0), (50.0, 0.3), (180.0, 0.3)]), 1000)
    out = preprocess(rec)
    assert out.fs == 500 and out.n_samples == 5000
    core = slice(1000, -1000)
    assert _rms(out.signal[0][core] - _sines(500, 10, [(8.0, 1.0)])[0][core]) < 0.02


def test_preprocess_low_rate_record() -> None:
    rec = _record(_sines(128, 10, [(5.0, 1.0)]), 128)
    out = preprocess(rec)
    assert out.fs == 500 and out.n_samples == 5000
    with pytest.raises(ValueError, match="Nyquist"):
        preprocess(rec, PreprocessConfig(fs=None))  # 100 Hz low-pass at 128 Hz


@pytest.mark.parametrize(
    "kwargs",
    [
        {"fs": 0},
        {"highpass_hz": -1},
        {"highpass_hz": 100, "lowpass_hz": 50},
        {"lowpass_hz": 300},
        {"notch_hz": 250},
        {"notch_quality": 0},
        {"filter_order": 0},
    ],
)
def test_config_validation(kwargs: dict) -> None:
    with pytest.raises(ValueError, match="PreprocessConfig"):
        PreprocessConfig(**kwargs)


def test_config_is_frozen() -> None:
    with pytest.raises(AttributeError):
        PreprocessConfig().fs = 250  # type: ignore[misc]


# ------------------------------------------------------------------ windows
@pytest.mark.parametrize(
    ("n", "window", "hop", "expected"),
    [
        (5000, 2000, 1000, [0, 1000, 2000, 3000]),
        (5500, 2000, 1000, [0, 1000, 2000, 3000, 3500]),
        (2000, 2000, 500, [0]),
        (1200, 2000, 1000, [0]),
        (10, 3, 3, [0, 3, 6, 7]),
        (1, 1, 1, [0]),
    ],
)
def test_sliding_windows_examples(n: int, window: int, hop: int, expected: list[int]) -> None:
    assert sliding_windows(n, window, hop).tolist() == expected


@pytest.mark.parametrize("n", range(1, 60))
@pytest.mark.parametrize(("window", "hop"), [(7, 3), (8, 8), (5, 1), (20, 7)])
def test_sliding_windows_cover_everything(n: int, window: int, hop: int) -> None:
    starts = sliding_windows(n, window, hop)
    assert starts[0] == 0 and np.all(np.diff(starts) > 0) and np.all(np.diff(starts) <= hop)
    covered = np.zeros(n, bool)
    for s in starts:
        covered[s : s + window] = True
    assert covered.all()
    if n >= window:
        assert starts[-1] + window == n  # never runs past the end


@pytest.mark.parametrize(("n", "window", "hop"), [(0, 5, 1), (10, 0, 1), (10, 5, 0), (10, 5, 6), (10.5, 5, 1)])
def test_sliding_windows_errors(n: float, window: int, hop: int) -> None:
    with pytest.raises(ValueError, match="sliding_windows"):
        sliding_windows(n, window, hop)  # type: ignore[arg-type]


# ------------------------------------------------------------------ array functions
def test_record_functions_are_the_array_functions_on_present_rows() -> None:
    from l2g.preprocess import bandpass_array, highpass_array, notch_array, resample_array

    rec = _mixed_record(fs=360.0, seconds=6.0)
    rows = [i for i, st in enumerate(rec.status) if st != ABSENT]
    x = rec.signal[rows].astype(np.float64)
    before = x.copy()
    n_out = int(round(rec.n_samples * 500 / 360))
    pairs = [
        (resample(rec, 500), resample_array(x, 360, 500, n_out=n_out)),
        (bandlimit(rec, 0.5, 40.0), bandpass_array(x, 360, 0.5, 40.0)),
        (remove_baseline(rec, 0.7), highpass_array(x, 360, 0.7)),
        (notch(rec, 60.0, 20.0), notch_array(x, 360, 60.0, 20.0)),
    ]
    for out, arr in pairs:
        assert np.array_equal(out.signal[rows], arr.astype(np.float32))
        assert np.isnan(out.signal[LEADS.index("V3")]).all()
    assert np.array_equal(x, before)  # inputs are not changed


def test_array_functions_scipy_padding_and_length_match_scipy() -> None:
    from scipy import signal as sps

    from l2g.preprocess import highpass_array, notch_array, resample_array

    x = np.random.default_rng(3).normal(size=3001)
    assert np.array_equal(resample_array(x, 360, 500, padtype="constant"), sps.resample_poly(x, 25, 18))
    sos = sps.butter(2, 0.5, "highpass", fs=360, output="sos")
    assert np.array_equal(highpass_array(x, 360, 0.5, order=2, padding="scipy"), sps.sosfiltfilt(sos, x))
    b, a = sps.iirnotch(50.0, 30.0, fs=360)
    assert np.array_equal(notch_array(x, 360, 50.0, padding="scipy"), sps.filtfilt(b, a, x))
    # the period padding is longer than scipy's default, so the edges differ
    assert not np.array_equal(highpass_array(x, 360, 0.5, order=2), sps.sosfiltfilt(sos, x))


def test_array_function_errors() -> None:
    from l2g.preprocess import bandpass_array, highpass_array, notch_array, resample_array

    x = np.zeros(100)
    with pytest.raises(ValueError, match="padding"):
        highpass_array(x, 500, 0.5, padding="mirror")
    with pytest.raises(ValueError, match="Nyquist"):
        bandpass_array(x, 100, 0.5, 50.0)
    with pytest.raises(ValueError, match="below high_hz"):
        bandpass_array(x, 500, 40.0, 10.0)
    with pytest.raises(ValueError, match="quality"):
        notch_array(x, 500, 50.0, 0.0)
    with pytest.raises(ValueError, match="fs_in"):
        resample_array(x, 0, 500)
    with pytest.raises(ValueError, match="cannot resample"):
        resample_array(x, 1001 * 500, 500)
    assert np.array_equal(resample_array(x + 1, 500, 500), x + 1)


def test_resample_array_approximate_ratio_only_when_asked() -> None:
    from l2g.preprocess import resample_array

    x = np.random.default_rng(4).normal(size=4000)
    with pytest.raises(ValueError, match="cannot resample"):
        resample_array(x, 1999, 500)  # 500/1999 needs a denominator above 1000
    from scipy.signal import resample_poly

    # morphology's historical behaviour: the best fraction (1/4) whatever its error
    assert np.array_equal(resample_array(x, 1999, 500, padtype="constant", max_ratio_error=None),
                          resample_poly(x, 1, 4))


# ------------------------------------------------------------------ one constant for the baseline high-pass
def test_one_highpass_constant_is_every_default() -> None:
    import inspect

    from l2g import dataset, evaluate, metrics, preprocess, synthetic

    assert preprocess.HIGHPASS_HZ == 0.5 and metrics.HIGHPASS_HZ is preprocess.HIGHPASS_HZ
    defaults = [dataset.DataConfig().highpass_hz, evaluate.StudyConfig().highpass_hz,
                preprocess.PreprocessConfig().highpass_hz,
                inspect.signature(preprocess.remove_baseline).parameters["cutoff_hz"].default,
                inspect.signature(metrics.compare).parameters["highpass_hz"].default,
                inspect.signature(evaluate.band_coverage).parameters["highpass_hz"].default,
                inspect.signature(synthetic.synthetic_arrays).parameters["highpass_hz"].default]
    assert defaults == [preprocess.HIGHPASS_HZ] * len(defaults)
    # nowhere re-typed: a high-pass of 0.5 is HIGHPASS_HZ (morphology's order-2 amplitude trace is its own filter)
    typed = re.compile(r"(highpass_hz\s*[:=][^,)]*\b0\.5\b|remove_baseline\([^)]*\b0\.5\b|cutoff_hz[^,)]*=\s*0\.5\b)")
    root = Path(preprocess.__file__).parent
    found = [f"{p.relative_to(root)}:{n}" for p in sorted(root.rglob("*.py"))
             for n, line in enumerate(p.read_text().splitlines(), 1)
             if typed.search(line) and ">>>" not in line]
    assert found == []


def test_band_coverage_high_passes_the_generated_record_as_the_study_config_says(monkeypatch) -> None:
    from l2g import evaluate_compute as evaluate  # band_coverage's home (l2g.evaluate re-exports it)

    class Stop(Exception):
        pass

    seen = []

    def spy(record, cutoff_hz):
        seen.append(cutoff_hz)
        raise Stop

    monkeypatch.setattr(evaluate, "remove_baseline", spy)
    with pytest.raises(Stop):
        evaluate.band_coverage(None, None, ["I"], None, highpass_hz=0.67)
    assert seen == [0.67]
