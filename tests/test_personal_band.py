"""The band and the grades of the personalised mode (issue #23 item 4): l2g.personal_band, reconstruct, trust_table."""

from __future__ import annotations

import dataclasses
import json
import warnings

import numpy as np
import pytest

import l2g
from l2g.demo import demo_record
from l2g.grades import GradeRule
from l2g.leads import LEADS
from l2g.personal_band import (
    PERSONAL_FILE,
    PersonalBandUnavailable,
    PersonalCalibration,
    load_personal_calibration,
    personal_calibration_for,
)
from l2g.reconstruction import load_reconstructor
from l2g.trust import trust_table
from l2g.uncertainty import CalibrationError, CalibrationMismatch, ModelMismatchWarning, load_calibration

from .weights import SHIPPED, WEIGHTS, shipped


@pytest.fixture(scope="module")
def rc():
    shipped("l2g.pt")
    return load_reconstructor(device="cpu")


@pytest.fixture(scope="module")
def rec():
    return demo_record()


@pytest.fixture(scope="module")
def personal(rc, rec):
    """The demo record from lead I, personalised on itself (the guard lets an identical ECG through)."""
    return l2g.reconstruct(rec, ["I"], model=rc, prior=rec, interval=0.9)


def test_the_shipped_file_names_the_shipped_generator_and_the_scale_it_extends():
    shipped(PERSONAL_FILE)
    raw = json.loads((WEIGHTS / PERSONAL_FILE).read_text())
    assert raw["model"] == SHIPPED  # the generator whose personalised residuals it was fitted on
    base = load_calibration()
    assert (raw["beta"], raw["window_s"]) == (base.beta, base.window_s)
    assert {"I", "II", "I,II", "I,II,V2", "I,II,V1,V3,V5"} <= set(raw["quantiles"])
    assert PERSONAL_FILE in (WEIGHTS / "SHA256SUMS").read_text()  # checked on load like the other weights


def test_a_personalised_result_has_a_band_and_grades(rc, rec, personal):
    assert personal.meta.provenance.prior is not None  # personalised, not refused
    assert personal.interval is not None
    low, high = personal.interval
    gen = [i for i, lead in enumerate(LEADS) if lead != "I"]
    assert np.isnan(low[0]).all() and (high[gen] > low[gen]).all()
    table = trust_table(personal, model=rc)
    assert list(table["lead"]) == [lead for lead in LEADS if lead != "I"]
    assert set(table["grade"]) <= {"A", "B", "C"}
    assert "fold-9 same-patient pairs" in table.attrs["grade_rule"] or table.attrs["grade_rule"].startswith("none")
    # the personalised band is the personalised quantiles on the generic scale, not the generic band
    generic = l2g.reconstruct(rec, ["I"], model=rc, interval=0.9)
    hw_p = (high - low)[gen].mean(axis=1)
    glow, ghigh = generic.interval
    pc = personal_calibration_for(rc.version, ["I"])
    ratio = pc.quantile(0.9, 1)[gen] / load_calibration().quantile(0.9, 1)[gen]
    np.testing.assert_allclose(hw_p, (ghigh - glow)[gen].mean(axis=1) * ratio, rtol=1e-3)


def test_a_refused_prior_keeps_the_generic_band(rc, rec):
    other = rec.replace(signal=-rec.signal[::-1, ::-1].copy())  # another "patient": its lead I is unlike this one
    full = l2g.reconstruct(rec, ["I"], model=rc, prior=other, interval=0.9)
    assert full.meta.provenance.prior is None and "not used" in full.meta.provenance.note
    generic = l2g.reconstruct(rec, ["I"], model=rc, interval=0.9)
    np.testing.assert_array_equal(full.interval[1], generic.interval[1])


def test_a_subset_not_calibrated_has_no_band_and_says_why(rc, rec):
    full = l2g.reconstruct(rec, ["V1", "V4"], model=rc, prior=rec, interval=0.9)
    assert full.meta.provenance.prior is not None and full.interval is None
    assert "no band or grade in personalised mode" in full.meta.provenance.note
    assert "V1,V4" in full.meta.provenance.note
    with pytest.raises(PersonalBandUnavailable, match=r"calibrated from I; II; .*personal_interval.json"):
        personal_calibration_for(rc.version, ["V1", "V4"])


def _file(tmp_path, name: str = PERSONAL_FILE, **change) -> PersonalCalibration:
    pc = dataclasses.replace(load_personal_calibration(), **change)
    path = tmp_path / name
    pc.save(path)
    return load_personal_calibration(path)


def test_a_file_fitted_for_another_generator_is_refused_naming_the_file(rc, rec, tmp_path, monkeypatch):
    other = _file(tmp_path, model="l2g.pt@000000000000")
    with pytest.raises(ValueError, match=rf"{tmp_path}.*{PERSONAL_FILE}: fitted for l2g.pt@000000000000, "
                                         rf"not for {SHIPPED}") as err:
        personal_calibration_for(SHIPPED, ["I"], personal=other)
    assert isinstance(err.value, CalibrationMismatch)
    # reconstruct: a warning, no band, and the note says why
    import l2g.personal_band as pb

    monkeypatch.setattr(pb, "load_personal_calibration", lambda path=None: other)
    with pytest.warns(ModelMismatchWarning, match="fitted for l2g.pt@000000000000"):
        full = l2g.reconstruct(rec, ["I"], model=rc, prior=rec, interval=0.9)
    assert full.interval is None and "l2g.pt@000000000000" in full.meta.provenance.note
    personal = dataclasses.replace(full, interval=None)
    with pytest.raises(CalibrationMismatch):
        trust_table(personal, model=rc)


def test_a_file_on_another_band_scale_or_malformed_is_refused(tmp_path):
    scaled = _file(tmp_path, "scaled.json", beta=3.0)
    with pytest.raises(CalibrationMismatch, match="beta=3"):
        personal_calibration_for(SHIPPED, ["I"], personal=scaled)
    bad = tmp_path / "bad.json"
    d = json.loads((WEIGHTS / PERSONAL_FILE).read_text())
    del d["model"]
    bad.write_text(json.dumps(d))
    with pytest.raises(CalibrationError, match="bad.json"):
        load_personal_calibration(bad)


def test_a_lead_too_uncertain_for_st_never_gets_grade_a(rc, rec, personal, tmp_path, monkeypatch):
    table = trust_table(personal, model=rc)
    assert (table["grade"].eq("A") == table["st_decisions"]).all()  # one rule: st_decisions
    rule = load_personal_calibration().grade_a.get("I")
    if rule is not None:
        wide = (table["st_halfwidth_mv"] > rule.max_st_halfwidth_mv) | (table["predicted_rmse_uv"]
                                                                          > rule.max_predicted_rmse_uv)
        assert not table.loc[wide & ~table["exact"], "grade"].eq("A").any()
    # a rule no generated lead can meet: none is graded A, every one is named too uncertain for ST
    import l2g.personal_band as pb

    strict = _file(tmp_path, grade_a={"I": GradeRule(1000.0, 0.0, {"leads": 0, "share": 1.0})})
    monkeypatch.setattr(pb, "load_personal_calibration", lambda path=None: strict)
    t = trust_table(personal, model=rc)
    assert not t["grade"].eq("A").any() and not t["st_decisions"].any()
    # and one every lead meets (bounds at the limits) grades A exactly where st_decisions says yes
    loose = _file(tmp_path, "loose.json", grade_a={"I": GradeRule(1e6, 0.1, {"leads": 0, "share": 1.0})})
    monkeypatch.setattr(pb, "load_personal_calibration", lambda path=None: loose)
    t = trust_table(personal, model=rc)
    assert (t["grade"].eq("A") == (t["st_halfwidth_mv"] <= 0.1)).all()


def test_inputs_are_not_mutated(rc, rec):
    before = rec.signal.copy()
    with warnings.catch_warnings():
        warnings.simplefilter("error", ModelMismatchWarning)
        l2g.reconstruct(rec, ["I", "II"], model=rc, prior=rec, interval=0.9)
    np.testing.assert_array_equal(rec.signal, before)
