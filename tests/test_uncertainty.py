"""The calibrated band (l2g.uncertainty), Record.interval, the trust grade and the band exports."""

from __future__ import annotations

import dataclasses
import re

import numpy as np
import pytest

import l2g
from l2g.demo import demo_record
from l2g.leads import LEADS
from l2g.record import Record
from l2g.trust import trust_table
from l2g.uncertainty import (
    DEFAULT_GRADE_TERMS,
    ST_LIMIT_MV,
    ST_SHARE,
    CalibrationError,
    CalibrationMismatch,
    GradeRule,
    IntervalCalibration,
    conformal_quantile,
    exact_leads,
    grade_of,
    load_calibration,
    st_halfwidth,
)
from tests.weights import PREVIOUS, SHIPPED


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


def test_chest_only_factor_scales_the_band_only_without_a_limb_lead(rec):
    """Subsets of chest leads alone get their own per-lead factor (fitted on validation); others do not."""
    from dataclasses import replace

    from l2g.reconstruction import load_reconstructor
    from l2g.uncertainty import interval_for

    cal = load_calibration()
    assert cal.chest_only_factor is not None and 0.5 < cal.chest_only_factor.min() <= cal.chest_only_factor.max() < 1.5
    plain = replace(cal, chest_only_factor=None)
    double = replace(cal, chest_only_factor=np.full(12, 2.0))
    lin = load_reconstructor(method="linear").linear
    i = LEADS.index("aVF")
    for available, factor in ((["V1", "V4"], 2.0), (["I", "V4"], 1.0)):
        full = l2g.reconstruct(rec, available, method="linear")
        lo_p, hi_p = interval_for(full, available, 0.9, lin, plain)
        lo_d, hi_d = interval_for(full, available, 0.9, lin, double)
        width_p, width_d = hi_p[i] - lo_p[i], hi_d[i] - lo_d[i]
        assert width_p.min() > 0
        np.testing.assert_allclose(width_d, factor * width_p, rtol=1e-4)


def test_calibration_round_trip_and_bad_chest_only_factor():
    from l2g.uncertainty import CalibrationError, IntervalCalibration

    cal = load_calibration()
    back = IntervalCalibration.from_dict(cal.to_dict())
    np.testing.assert_allclose(back.chest_only_factor, cal.chest_only_factor, atol=1e-5)
    d = cal.to_dict()
    d.pop("chest_only_factor")
    assert IntervalCalibration.from_dict(d).chest_only_factor is None  # older files: factor 1
    d["chest_only_factor"] = [1.0] * 11
    with pytest.raises(CalibrationError, match="chest_only_factor needs 12 positive numbers"):
        IntervalCalibration.from_dict(d, "x.json")


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
    assert 0.9 in cal.levels and cal.beta > 0 and len(cal.grade_coef["model"]) == len(cal.terms("model"))
    # the grade-A rule belongs to the shipped generator and was validated on ST errors (issue #22 item 6)
    assert cal.model == l2g.load_reconstructor().version
    assert cal.grade_a is not None and cal.grade_a.max_st_halfwidth_mv <= ST_LIMIT_MV
    assert cal.grade_a.validation["share"] >= ST_SHARE and cal.grade_a.validation["split"] == "val"


def test_trust_table_and_grades(rec):
    one = trust_table(_model_band(rec, ["I"]))
    many = trust_table(_model_band(rec, ["I", "II", "V1", "V3", "V5"]))
    assert list(one["lead"]) == [lead for lead in LEADS if lead != "I"]
    v4 = lambda t: float(t.loc[t["lead"] == "V4", "predicted_rmse_uv"].iloc[0])  # noqa: E731
    assert v4(one) > v4(many) > 0
    assert bool(many.loc[many["lead"] == "aVF", "exact"].iloc[0])
    assert grade_of(10.0, st_possible=True)[0] == "A" and grade_of(10.0)[0] == "B" and grade_of(1e4)[0] == "C"
    for table in (one, many):  # grade A exactly where ST decisions are possible, never with a wide ST band
        assert ((table["grade"] == "A") == table["st_decisions"]).all()
        assert (table.loc[table["grade"] == "A", "st_halfwidth_mv"] <= ST_LIMIT_MV).all()
    assert many.loc[many["exact"], "st_decisions"].all()  # fixed by Einthoven/Goldberger: as good as recorded
    with pytest.raises(ValueError, match="provenance"):
        trust_table(rec)


def test_trust_table_st_band_is_the_pages_st_halfwidth(rec):
    full = _model_band(rec, ["I", "II", "V2"])
    table = trust_table(full).set_index("lead")
    band = st_halfwidth(full)
    assert np.allclose(table["st_halfwidth_mv"], band.reindex(table.index), atol=1e-4)


def test_grade_a_needs_a_validated_rule_for_this_generator(rec):
    """Older interval.json files (no grade_a), another generator's file and a linear reconstruction: no lead is
    graded A unless fixed exactly; a rule for this generator grades A exactly where st_decisions says so."""
    cal = load_calibration()
    full = _model_band(rec, ["II"])
    permissive = GradeRule(max_predicted_rmse_uv=1e9, max_st_halfwidth_mv=ST_LIMIT_MV, validation={})
    wide = trust_table(full, calibration=dataclasses.replace(cal, grade_a=permissive))
    assert ((wide["grade"] == "A") == (wide["st_halfwidth_mv"] <= ST_LIMIT_MV)).all()
    table = trust_table(full, calibration=dataclasses.replace(cal, grade_a=None))
    assert not (table["grade"] == "A").any() and "no validated grade-A rule" in table.attrs["grade_rule"]
    assert (table["predicted_rmse_uv"] == wide["predicted_rmse_uv"]).all()  # only the rule differs
    # a file fitted for another generator gives no grade at all (issue #24: calibration bound to its model)
    with pytest.raises(CalibrationMismatch, match="l2g.pt@000000000000"):
        trust_table(full, calibration=dataclasses.replace(cal, grade_a=permissive, model="l2g.pt@000000000000"))
    lin = trust_table(l2g.reconstruct(rec, ["I", "II", "V2"], method="linear"),
                      calibration=dataclasses.replace(cal, grade_a=permissive))
    assert set(lin.loc[lin["grade"] == "A", "lead"]) == set(exact_leads(["I", "II", "V2"])) - {"I", "II", "V2"}


def test_older_interval_file_loads_without_terms_rule_or_model(tmp_path):
    d = load_calibration().to_dict()
    for key in ("grade_terms", "grade_a", "model"):
        d.pop(key, None)
    d["grade_coef"] = {"model": [0.1, 0.6, 0.2, 0.4], "linear": [-0.5, 1.0]}  # the 4 + 2 terms of version 2
    old = IntervalCalibration.from_dict(d)
    assert old.grade_a is None and old.model is None and old.terms("model") == DEFAULT_GRADE_TERMS["model"]
    assert old.rule_for(SHIPPED, "model")[0] is None
    with pytest.raises(CalibrationError, match="coefficients"):
        IntervalCalibration.from_dict({**d, "grade_coef": {"model": [0.1], "linear": [0.1, 1.0]}})
    with pytest.raises(CalibrationError, match="unknown grade term"):
        IntervalCalibration.from_dict({**d, "grade_terms": {"model": ["1", "log_s", "log_gen", "log_qt"],
                                                            "linear": ["1", "log_s"]}})
    with pytest.raises(CalibrationError, match="grade_a"):
        IntervalCalibration.from_dict({**d, "grade_a": {"max_predicted_rmse_uv": 50.0, "max_st_halfwidth_mv": 0.3}})


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


# ------------------------------------------------------------------ band exports, ST width, chart (issue #14)
def test_csv_bytes_with_band_columns_reads_back_the_same_signal(rec, tmp_path):
    from l2g.export import csv_bytes

    full = _band(rec, ["I", "II", "V2"])
    plain, banded = csv_bytes(full), csv_bytes(full, band=True)
    header = lambda data: next(x for x in data.decode().splitlines() if x.startswith("time_s")).split(",")  # noqa: E731
    assert not [c for c in header(plain) if c.endswith(("_low", "_high"))]
    cols = header(banded)
    assert cols[: len(header(plain))] == header(plain)  # the signal columns first, unchanged
    assert cols[len(header(plain)):] == [f"{lead}{s}" for lead in LEADS if lead not in ("I", "II", "V2")
                                         for s in ("_low", "_high")]
    assert "# L2G: band: columns <lead>_low and <lead>_high" in banded.decode()
    back = l2g.read_record([("export.csv", banded)])
    ref = l2g.read_record([("export.csv", plain)])
    assert back.leads == ref.leads and back.status == ref.status and back.interval is None
    assert np.array_equal(back.signal, ref.signal, equal_nan=True)  # never mixed into the signal
    assert not [n for n in back.meta.notes if "_low" in n]  # not reported as unknown channels either
    assert csv_bytes(rec, band=True) == csv_bytes(rec)  # no band: nothing added


def test_write_csv_refuses_an_extra_column_named_like_a_lead(rec, tmp_path):
    with pytest.raises(ValueError, match="not a lead"):
        l2g.write_csv(rec, tmp_path / "x.csv", columns={"V1": rec.lead("V1")})
    with pytest.raises(ValueError, match="shape"):
        l2g.write_csv(rec, tmp_path / "x.csv", columns={"V1_low": rec.lead("V1")[:10]})


def test_wfdb_zip_holds_the_band_record_and_reads_back_the_signal(rec):
    import io
    import zipfile

    from l2g.export import wfdb_zip_bytes

    full = _band(rec, ["I", "II", "V2"])
    data = wfdb_zip_bytes(full, "demo")
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert sorted(zf.namelist()) == ["demo.dat", "demo.hea", "demo_band.dat", "demo_band.hea"]
        assert "L2G: band of record demo" in zf.read("demo_band.hea").decode()
    back = l2g.read_record([("export.zip", data)])  # the signal record, not the band
    assert back.leads == LEADS and back.status == full.status
    assert np.max(np.abs(back.signal - full.signal)) < 1e-3
    with zipfile.ZipFile(io.BytesIO(wfdb_zip_bytes(full, "demo", band=False))) as zf:
        assert sorted(zf.namelist()) == ["demo.dat", "demo.hea"]
    with zipfile.ZipFile(io.BytesIO(wfdb_zip_bytes(rec, "demo"))) as zf:  # no band: the signal only
        assert sorted(zf.namelist()) == ["demo.dat", "demo.hea"]


def test_st_halfwidth_one_lead_vs_five_and_with_a_delineation(rec):
    from l2g.morphology import delineate_record
    from l2g.uncertainty import ST_LIMIT_MV, st_halfwidth

    one = st_halfwidth(_model_band(rec, ["I"]))
    five_rec = _model_band(rec, ["I", "II", "V1", "V3", "V5"])
    five = st_halfwidth(five_rec)
    assert list(one.index) == [lead for lead in LEADS if lead != "I"]
    assert (one[["V2", "V4", "V6"]] > five[["V2", "V4", "V6"]]).all()
    assert (five[["III", "aVR", "aVL", "aVF"]] == 0).all()  # exact from I and II
    assert one.max() > ST_LIMIT_MV  # from one lead some band is too wide for ST decisions
    d = delineate_record(five_rec, "II", context=False)
    by_qrs = st_halfwidth(five_rec, delineation=d)
    assert list(by_qrs.index) == list(five.index) and np.allclose(by_qrs, five, rtol=0.5)
    with pytest.raises(ValueError, match="no band"):
        st_halfwidth(rec)


def test_ecg_figure_band_fill_toggle_and_grade_labels(rec):
    from l2g.plots import display_filter, ecg_figure

    full = _band(rec, ["I", "II", "V1"])
    fills = lambda f: [t for t in f.data if t.fill == "toself"]  # noqa: E731
    on = ecg_figure(full, band_name="90 % confidence band", grades={"V2": "B"})
    assert len(fills(on)) == 5 and not fills(ecg_figure(full, band=False))  # V2-V6; the limb leads are exact
    assert {t.name for t in fills(on)} == {"90 % confidence band"}
    order = [t.fill == "toself" or t.name for t in on.data]
    assert all(order[i + 1] == "generated (linear)" for i, x in enumerate(order) if x is True)  # under its trace
    texts = [a.text for a in on.layout.annotations]
    assert "<b>V2 <i>(gen · B)</i></b>" in texts and "<b>V3 <i>(gen)</i></b>" in texts
    shown, _ = display_filter(full, "0.5–40 Hz (monitor)")  # the band keeps its half-width around the trace
    i = LEADS.index("V4")
    assert np.allclose(shown.interval[1][i] - shown.interval[0][i], full.interval[1][i] - full.interval[0][i],
                       atol=1e-5)
    assert np.allclose(0.5 * (shown.interval[1][i] + shown.interval[0][i]), shown.signal[i], atol=1e-5)


@pytest.mark.parametrize("fmt, expect", [("wfdb", ["demo.dat", "demo.hea", "demo_band.dat", "demo_band.hea"]),
                                         ("csv", ["demo.csv"])])
def test_cli_reconstruct_interval_writes_the_band_beside(rec, tmp_path, fmt, expect):
    from l2g.cli import main

    hea = l2g.write_wfdb(rec, tmp_path / "in", "demo")
    out = tmp_path / "out"
    assert main(["reconstruct", str(hea), "--available", "I,II,V2", "--out", str(out), "--method", "linear",
                 "--format", fmt, "--interval", "0.9"]) == 0
    assert sorted(p.name for p in out.iterdir()) == expect
    if fmt == "csv":
        lines = (out / "demo.csv").read_text().splitlines()
        header = next(line for line in lines if not line.startswith("# ")).split(",")  # after the # L2G: lines
        assert "V4_low" in header and "V4_high" in header and lines[0].startswith("# L2G: lead status:")
        back = l2g.read_record(out / "demo.csv")
        assert back.leads == LEADS and back.interval is None


def test_a_folder_of_cli_outputs_lists_the_records_not_their_bands(rec, tmp_path):
    from l2g.catalog import find_records
    from l2g.cli import main

    hea = l2g.write_wfdb(rec, tmp_path / "in", "demo")
    out = tmp_path / "out"
    assert main(["reconstruct", str(hea), "--available", "I,II,V2", "--out", str(out), "--method", "linear",
                 "--interval", "0.9"]) == 0
    assert (out / "demo_band.hea").exists()
    assert find_records(out) == [out / "demo.hea"]  # demo_band.hea is the band beside it, not a record
    assert l2g.read_record([(p.name, p.read_bytes()) for p in sorted(out.iterdir())]).leads == LEADS


# ------------------------------------------------------------------ bound to its generator (issue #24, item 4)


@pytest.fixture(scope="module")
def previous():
    from l2g.reconstruction import load_reconstructor
    from tests.weights import WEIGHTS

    return load_reconstructor(WEIGHTS / "previous" / "l2g.pt", device="cpu")


def test_the_shipped_calibration_names_the_shipped_generator():
    from l2g import paths
    from l2g.reconstruction import load_reconstructor, weights_version

    cal = load_calibration()
    assert cal.model == weights_version(paths.weights_file("l2g.pt")) == load_reconstructor(device="cpu").version
    assert cal.model == SHIPPED


def test_reconstruct_warns_and_makes_no_band_for_another_generator(rec, previous):
    from l2g.uncertainty import ModelMismatchWarning

    assert previous.version == PREVIOUS != SHIPPED
    with pytest.warns(ModelMismatchWarning) as caught:
        full = l2g.reconstruct(rec, ["I", "II"], model=previous, interval=0.9)
    assert len(caught) == 1
    message = str(caught[0].message)
    assert f"fitted for {SHIPPED}, not for {PREVIOUS}" in message and "no band" in message
    assert full.interval is None and full.generated_leads  # the leads are generated; only the band is refused
    assert full.meta.provenance.model_version == previous.version


def test_trust_table_refuses_a_reconstruction_of_another_generator(rec, previous):
    from l2g.uncertainty import CalibrationMismatch

    full = l2g.reconstruct(rec, ["I", "II"], model=previous)
    with pytest.raises(CalibrationMismatch, match=f"fitted for {re.escape(SHIPPED)}, not for {re.escape(PREVIOUS)}"):
        trust_table(full, model=previous)


def test_a_calibration_naming_no_generator_or_a_copy_of_the_right_one(rec, tmp_path):
    import dataclasses
    import json

    from l2g.reconstruction import load_reconstructor
    from l2g.uncertainty import CalibrationError, CalibrationMismatch, IntervalCalibration, calibration_for

    cal, model = load_calibration(), load_reconstructor(device="cpu")
    unnamed = dataclasses.replace(cal, model=None)
    assert "model" not in unnamed.to_dict()
    with pytest.raises(CalibrationMismatch, match=f"fitted for an unnamed generator .*, not for {re.escape(SHIPPED)}"):
        calibration_for(model.version, calibration=unnamed)
    assert calibration_for("renamed.pt@" + SHIPPED.split("@")[1]) is cal  # the content, not the file name
    assert calibration_for("linear.pt@61c19f59d401", "linear") is cal  # a linear band is not checked
    path = tmp_path / "interval.json"
    cal.save(path)
    assert json.loads(path.read_text())["model"] == SHIPPED
    assert load_calibration(path).model == cal.model  # round trip
    with pytest.raises(CalibrationError, match="model 'l2g.pt'; expected the generator it was fitted for"):
        IntervalCalibration.from_dict({**cal.to_dict(), "model": "l2g.pt"})


def test_cli_refuses_the_band_of_another_generator(rec, tmp_path, capsys):
    from l2g.cli import main
    from tests.weights import WEIGHTS

    hea = l2g.write_wfdb(rec, tmp_path / "in", "demo")
    for source in (hea, hea.parent):  # a file, and a folder (refused before the walk)
        out = tmp_path / f"out_{source.name}"
        rc = main(["reconstruct", str(source), "--available", "I,II", "--out", str(out), "--no-progress",
                   "--weights", str(WEIGHTS / "previous" / "l2g.pt"), "--interval", "0.9"])
        stdout, stderr = capsys.readouterr()
        assert rc == 2 and stdout == "" and not out.exists()
        assert stderr.splitlines() == [
            f"l2g: error: the band calibration was fitted for {SHIPPED}, not for {PREVIOUS}; "
            "refit it for this generator (bench/trust_calibrate.py cache, fit)"], stderr
    out = tmp_path / "out_previous_no_band"  # without --interval the previous generator still reconstructs
    assert main(["reconstruct", str(hea), "--available", "I,II", "--out", str(out),
                 "--weights", str(WEIGHTS / "previous" / "l2g.pt")]) == 0
    assert PREVIOUS in capsys.readouterr().out
