"""The calibrated band (l2g.uncertainty), Record.interval, the trust grade and the band exports."""

from __future__ import annotations

import numpy as np
import pytest

import l2g
from l2g.demo import demo_record
from l2g.leads import LEADS
from l2g.record import Record
from l2g.uncertainty import conformal_quantile, exact_leads, grade_of, load_calibration, trust_table


@pytest.fixture(scope="module")
def rec() -> Record:
    return demo_record()


def _band(rec: Record, available, level=0.9) -> Record:
    return l2g.reconstruct(rec, available, method="linear", interval=level)


def test_band_shape_dtype_and_nan_on_recorded(rec):
    full = _band(rec, ["I", "V2"])
    low, high = full.interval
    assert low.shape == high.shape == full.signal.shape
    assert low.dtype == high.dtype == np.float32
    for i, lead in enumerate(LEADS):
        if lead in ("I", "V2"):
            assert np.isnan(low[i]).all() and np.isnan(high[i]).all()
        else:
            assert np.isfinite(low[i]).all() and (high[i] > low[i]).all()
            assert np.allclose((low[i] + high[i]) / 2, full.signal[i], atol=1e-5)  # centred on the trace
    assert not low.flags.writeable and not high.flags.writeable


def _model_band(rec: Record, available) -> Record:
    return l2g.reconstruct(rec, available, interval=0.9)  # the shipped generator, as the calibration


def test_band_is_wider_with_fewer_leads(rec):
    """Same record, same lead: from one lead the band is wider than from seven (it was not, with the
    local-RMS of the generated trace as the scale: that trace shrinks towards the average)."""
    few = _model_band(rec, ["I"])
    many = _model_band(rec, ["I", "II", "V1", "V2", "V3", "V5", "V6"])
    for lead in ("V4", "aVF"):
        i = LEADS.index(lead)
        width_few = float(np.mean(few.interval[1][i] - few.interval[0][i]))
        width_many = float(np.mean(many.interval[1][i] - many.interval[0][i]))
        assert width_few > 1.5 * width_many, lead


def test_band_wider_at_higher_level_and_adapts_in_time(rec):
    a, b = _band(rec, ["I"], 0.8), _band(rec, ["I"], 0.95)
    i = LEADS.index("V3")
    wa, wb = a.interval[1][i] - a.interval[0][i], b.interval[1][i] - b.interval[0][i]
    assert (wb > wa).all()
    assert wa.max() > 1.5 * wa.min()  # not one constant width: wider where the available lead moves (QRS)
    qrs = np.argmax(np.abs(rec.lead("I") - np.median(rec.lead("I"))))  # a sample in a QRS of lead I
    assert wa[qrs] > np.median(wa)
    with pytest.raises(ValueError, match="interval level"):
        _band(rec, ["I"], 1.5)


def test_exact_limb_leads_have_zero_width(rec):
    full = _band(rec, ["I", "II", "V2"])
    assert set(exact_leads(["I", "II", "V2"])) >= {"III", "aVR", "aVL", "aVF"}
    i = LEADS.index("aVF")
    assert np.array_equal(full.interval[0][i], full.signal[i])
    assert np.array_equal(full.interval[1][i], full.signal[i])


def test_record_interval_is_carried_and_dropped(rec):
    full = _band(rec, ["I"])
    part = full.crop(1.0, 3.0)
    assert part.interval[0].shape == part.signal.shape
    assert np.array_equal(part.interval[0], full.interval[0][:, 500:1500], equal_nan=True)
    sel = full.select(["V1", "I"])
    assert np.array_equal(sel.interval[1][0], full.interval[1][LEADS.index("V1")])
    masked = full.mask(["I", "II"])  # II is generated and kept: its band stays; V1 becomes absent: no band
    assert np.array_equal(masked.interval[0][LEADS.index("II")], full.interval[0][LEADS.index("II")])
    assert np.isnan(masked.interval[0][LEADS.index("V1")]).all()
    assert full.replace(signal=full.signal * 2).interval is None  # a new signal no longer matches its band
    assert full.replace(name="x").interval is not None
    assert full == full.replace(name=full.name)
    assert full != full.replace(interval=None)
    with pytest.raises(ValueError, match="shaped like the signal"):
        full.replace(interval=(full.interval[0][:, :10], full.interval[1][:, :10]))


def test_conformal_coverage_on_synthetic_truth():
    """Heteroscedastic Gaussian errors with a known scale: the adaptive band covers 90 % in every stratum."""
    rng = np.random.default_rng(0)
    s_cal, s_test = rng.uniform(0.05, 0.5, 20000), rng.uniform(0.05, 0.5, 20000)
    e_cal, e_test = rng.normal(0, s_cal), rng.normal(0, s_test)
    q = conformal_quantile(np.abs(e_cal) / s_cal, 0.9)
    assert q == pytest.approx(1.645, abs=0.05)  # the Gaussian 90 % two-sided point
    covered = np.abs(e_test) <= q * s_test
    assert covered.mean() == pytest.approx(0.9, abs=0.01)
    for lo, hi in ((0.05, 0.2), (0.35, 0.5)):
        sel = (s_test >= lo) & (s_test < hi)
        assert covered[sel].mean() == pytest.approx(0.9, abs=0.02)
    q_const = conformal_quantile(np.abs(e_cal), 0.9)  # a constant band: right on average, wrong per stratum
    const = np.abs(e_test) <= q_const
    assert const[s_test > 0.35].mean() < 0.8 and const[s_test < 0.2].mean() > 0.97


def test_calibration_file_is_listed_and_sane():
    from l2g import paths
    from l2g.reconstruction import verify_checksum

    path = paths.weights_file("interval.json")
    assert verify_checksum(path) is not None  # listed in SHA256SUMS
    cal = load_calibration(path)
    q = cal.quantile(0.9, 1)
    assert q.shape == (12,) and np.all(np.isfinite(q[[LEADS.index("V1")]]))
    assert 0.9 in cal.levels and cal.beta > 0 and len(cal.grade_coef["model"]) == 4


def test_trust_table_and_grades(rec):
    one = trust_table(_model_band(rec, ["I"]))
    many = trust_table(_model_band(rec, ["I", "II", "V1", "V3", "V5"]))
    assert list(one["lead"]) == [lead for lead in LEADS if lead != "I"]
    v4 = lambda t: float(t.loc[t["lead"] == "V4", "predicted_rmse_uv"].iloc[0])  # noqa: E731
    assert v4(one) > v4(many) > 0
    assert bool(many.loc[many["lead"] == "aVF", "exact"].iloc[0])
    assert grade_of(10.0)[0] == "A" and grade_of(100.0)[0] == "B" and grade_of(1e4)[0] == "C"
    with pytest.raises(ValueError, match="provenance"):
        trust_table(rec)


def test_band_wfdb_companion_and_csv_columns(rec, tmp_path):
    import pandas as pd
    import wfdb

    from l2g.export import band_columns, write_band_wfdb

    full = _band(rec, ["I", "II", "V2"])
    hea = write_band_wfdb(full, tmp_path, "demo")
    assert hea.name == "demo_band.hea"
    back = wfdb.rdrecord(str(hea.with_suffix("")))
    gen = [lead for lead in LEADS if lead not in ("I", "II", "V2")]
    assert back.sig_name[:2] == [f"{gen[0]}_low", f"{gen[0]}_high"] and len(back.sig_name) == 2 * len(gen)
    i = LEADS.index("V4")
    j = back.sig_name.index("V4_high")
    assert np.max(np.abs(back.p_signal[:, j] - full.interval[1][i])) < 1e-3
    # CSV: the signal file plus the band columns reads back as the same signal
    path = l2g.write_csv(full, tmp_path / "demo.csv")
    table = pd.read_csv(path)
    cols = band_columns(full)
    assert set(cols) == {f"{lead}{s}" for lead in gen for s in ("_low", "_high")}
    table = pd.concat([table, pd.DataFrame(cols)], axis=1)
    table.to_csv(tmp_path / "with_band.csv", index=False, float_format="%.6f")
    plain, banded = l2g.read_record(path), l2g.read_record(tmp_path / "with_band.csv")
    assert banded.leads == plain.leads and banded.status == plain.status
    assert np.allclose(banded.signal, plain.signal, equal_nan=True)
    with pytest.raises(ValueError, match="no band"):
        band_columns(rec)
