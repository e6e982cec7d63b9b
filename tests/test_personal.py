"""Personalised reconstruction (issue #23): the fit, the guard, the reconstruct hook, provenance in exports."""

import numpy as np
import pytest

import l2g
from l2g.io import read_record, write_dicom, write_wfdb
from l2g.leads import LEADS
from l2g.personal import (
    PriorError,
    apply_correction,
    fit_correction,
    guard_score,
    guard_threshold,
)
from l2g.preprocess import resample
from l2g.reconstruction import load_reconstructor, reconstruct

from .ecg_factory import synthetic_record, vector_record
from .weights import shipped


@pytest.fixture(scope="module")
def linear_model():
    shipped("linear.pt")
    return load_reconstructor(method="linear")


def _rmse(a: l2g.Record, b: l2g.Record, leads) -> float:
    return float(np.mean([np.sqrt(np.mean((a.lead(x) - b.lead(x)) ** 2)) for x in leads]))


def test_fit_recovers_a_patient_gain_and_infinite_penalty_is_generic():
    rng = np.random.default_rng(1)
    real = rng.normal(size=(12, 2000))
    gen = real.copy()
    gen[6:] *= 0.6  # the population guess: chest leads too small for this patient
    exact = apply_correction(fit_correction(real, gen, ["I"], 250.0, penalty=1e-8), real, gen)
    assert np.abs(exact[6:] - real[6:]).max() < 1e-3
    assert np.array_equal(apply_correction(fit_correction(real, gen, ["I"], 250.0, penalty=np.inf), real, gen), gen)
    with pytest.raises(ValueError, match="penalty"):
        fit_correction(real, gen, ["I"], 250.0, penalty=-1.0)
    with pytest.raises(ValueError, match=r"\(12, samples\)"):
        fit_correction(real[:8], gen[:8], ["I"], 250.0)


def test_limb_leads_stay_consistent_and_available_leads_unchanged():
    rng = np.random.default_rng(2)
    real = rng.normal(size=(12, 1500))
    gen = real * 0.5
    out = apply_correction(fit_correction(real, gen, ["I"], 100.0), real, gen)
    np.testing.assert_allclose(out[0], gen[0])  # lead I is available: never changed
    # the correction moves III, aVR, aVL, aVF with I and II (Einthoven / Goldberger on the change)
    np.testing.assert_allclose((out[2] - gen[2]), (out[1] - gen[1]) - (out[0] - gen[0]), atol=1e-9)
    np.testing.assert_allclose((out[5] - gen[5]), (out[1] - gen[1]) - 0.5 * (out[0] - gen[0]), atol=1e-9)


def test_same_patient_earlier_ecg_is_used_and_lowers_the_error(linear_model):
    rec = synthetic_record(12.0, seed=3, acquired="2026-01-05T10:00:00")
    earlier = synthetic_record(10.0, seed=3, name="earlier", acquired="2024-03-02T09:14:00")
    before = rec.signal.copy()
    generic = reconstruct(rec, ["I"], model=linear_model)
    personal = reconstruct(rec, ["I"], model=linear_model, prior=earlier)
    assert np.array_equal(rec.signal, before)  # inputs never mutated
    prov = personal.meta.provenance
    assert prov.prior == "earlier ECG of this patient acquired 2024-03-02"
    assert "used" in prov.note and generic.meta.provenance.prior is None
    assert personal.recorded_leads == ("I",) and np.array_equal(personal.lead("I"), rec.lead("I"))
    others = [lead for lead in LEADS if lead != "I"]
    assert _rmse(personal, rec, others) < 0.6 * _rmse(generic, rec, others)
    assert personal.interval is None  # no band unless asked (interval=0.9: tests/test_personal_band.py)


def test_prior_at_another_rate_and_calibration_strip(linear_model):
    rec = synthetic_record(30.0, seed=4)
    earlier = resample(synthetic_record(10.0, seed=4, name="earlier"), 250.0)
    out = reconstruct(rec, ["I", "II", "V2"], model=linear_model, prior=earlier)
    assert out.fs == rec.fs and out.meta.provenance.prior is not None
    strip = rec.segment(0, 10.0)
    out = reconstruct(rec, ["I"], model=linear_model, prior=strip)
    assert out.meta.provenance.prior == "calibration strip of this record"


def test_another_patient_is_refused_with_a_note(linear_model):
    rec = synthetic_record(10.0, seed=5)
    other = synthetic_record(10.0, seed=9, name="other")
    stranger = other.replace(signal=-other.signal)  # another patient, QRS complexes of the opposite sign
    generic = reconstruct(rec, ["I", "II"], model=linear_model)
    out = reconstruct(rec, ["I", "II"], model=linear_model, prior=stranger)
    assert out.meta.provenance.prior is None
    assert out.meta.provenance.note.startswith("earlier ECG not used")
    np.testing.assert_array_equal(out.signal, generic.signal)
    assert out.meta.provenance.model_version == generic.meta.provenance.model_version


def test_guard_score_separates_same_from_other():
    a = synthetic_record(10.0, seed=6).signal[:2]
    b = synthetic_record(12.0, seed=6).signal[:2]  # the same heart, another recording
    c = vector_record(10.0).signal[:2]  # another heart
    assert guard_score(a, b, 500.0) < 0.1 < 0.5 < guard_score(a, c, 500.0)
    assert guard_score(a, b, 500.0) < guard_threshold(("I", "II")) < guard_score(a, -a, 500.0)
    assert guard_score(a, np.zeros_like(a), 500.0) == float("inf")  # no beats: never trusted


def test_unusable_prior_raises_typed_errors(linear_model):
    rec = synthetic_record(10.0, seed=7)
    with pytest.raises(PriorError, match="12 leads"):
        reconstruct(rec, ["I"], model=linear_model, prior=rec.select(["I", "II", "V1"]))
    with pytest.raises(PriorError, match="at least 8 s"):
        reconstruct(rec, ["I"], model=linear_model, prior=synthetic_record(5.0, seed=7))
    with pytest.raises(l2g.PriorError):
        reconstruct(rec, ["I"], model=linear_model, prior=rec.signal)
    assert issubclass(l2g.PriorError, ValueError)


def test_export_names_the_personalised_mode_and_date_only(linear_model, tmp_path):
    rec = synthetic_record(10.0, seed=8, name="today")
    earlier = synthetic_record(10.0, seed=8, name="Jane_Doe_2024", acquired="2024-03-02T09:14:00")
    out = reconstruct(rec, ["I"], model=linear_model, prior=earlier)
    write_wfdb(out, tmp_path)
    header = (tmp_path / "today.hea").read_text()
    assert "L2G: personalised mode: generated leads corrected on the earlier ECG of this patient " \
           "acquired 2024-03-02" in header
    assert "Jane" not in header and "09:14" not in header
    back = read_record(tmp_path / "today.hea")
    assert back.generated_leads == out.generated_leads


def _write(rec: l2g.Record, folder, name: str):
    folder.mkdir(parents=True, exist_ok=True)
    write_wfdb(rec.replace(name=name), folder, name)
    return folder / f"{name}.hea"


def test_cli_prior_and_prior_map(tmp_path, capsys):
    from l2g.cli import main

    shipped("linear.pt")
    today = _write(synthetic_record(10.0, seed=10, name="t"), tmp_path / "in", "today")
    (tmp_path / "old").mkdir()
    earlier = write_dicom(synthetic_record(10.0, seed=10, name="e", acquired="2023-05-06T08:00:00"),
                          tmp_path / "old" / "earlier.dcm")  # any readable format; DICOM keeps the date
    assert main(["reconstruct", str(today), "--available", "I", "--method", "linear", "--out",
                 str(tmp_path / "o1"), "--prior", str(earlier)]) == 0
    io = capsys.readouterr()
    assert "personalised" in io.out and "earlier ECG of this patient acquired 2023-05-06" in io.err
    assert "L2G: personalised mode" in (tmp_path / "o1" / "today.hea").read_text()
    other = _write(synthetic_record(10.0, seed=11, name="x"), tmp_path / "in", "other")
    (tmp_path / "map.csv").write_text("record,earlier\nin/today,old/earlier.dcm\n")
    assert main(["reconstruct", str(tmp_path / "in"), "--available", "I", "--method", "linear", "--workers", "1",
                 "--no-progress", "--out", str(tmp_path / "o2"), "--prior-map", str(tmp_path / "map.csv")]) == 0
    assert "L2G: personalised mode" in (tmp_path / "o2" / "today.hea").read_text()
    assert "personalised" not in (tmp_path / "o2" / other.name).read_text()
    assert main(["reconstruct", str(tmp_path / "in"), "--available", "I", "--method", "linear",
                 "--out", str(tmp_path / "o3"), "--prior", str(earlier)]) == 2
    assert "--prior-map" in capsys.readouterr().err


def test_cli_report_with_prior_names_the_personalised_mode(tmp_path, capsys):
    """``l2g report --prior``: the printed page says the generated leads were personalised, and on what."""
    from l2g.cli import main
    from tests.pdf_reader import read_page

    shipped("linear.pt")
    today = _write(synthetic_record(10.0, seed=10, name="t"), tmp_path / "in", "today")
    earlier = write_dicom(synthetic_record(10.0, seed=10, name="e", acquired="2023-05-06T08:00:00"),
                          tmp_path / "earlier.dcm")
    out = tmp_path / "report.pdf"
    assert main(["report", str(today), "--available", "I", "--method", "linear", "--out", str(out),
                 "--prior", str(earlier)]) == 0
    assert "earlier ECG of this patient acquired 2023-05-06" in capsys.readouterr().err
    text = " ".join(read_page(out.read_bytes()).text.split())
    assert "personalised mode: corrected on the earlier ECG of this patient acquired 2023-05-06" in text


def test_chart_draws_the_earlier_ecg_faded_and_names_the_mode(linear_model):
    from l2g.plots import COLORS, ecg_figure

    rec = synthetic_record(10.0, seed=12)
    earlier = resample(synthetic_record(10.0, seed=12, name="e", acquired="2022-01-02T03:04:05"), 250.0)
    out = reconstruct(rec, ["I"], model=linear_model, prior=earlier)
    fig = ecg_figure(out, earlier=earlier)
    faded = [t for t in fig.data if t.name == "earlier ECG of this patient" and t.x0 is not None]
    assert len(faded) == 13 and all(t.line.color == COLORS["earlier"] for t in faded)  # 12 cells + rhythm strip
    assert faded[0].dx == 1.0 / rec.fs  # drawn at the record's rate
    assert [t.name for t in fig.data if t.showlegend][-1] == "earlier ECG of this patient"  # one legend key, last
    foot = fig.layout.annotations[-1].text
    assert "personalised mode: corrected on the earlier ECG of this patient acquired 2022-01-02" in foot
    assert not [t for t in ecg_figure(out).data if t.name == "earlier ECG of this patient"]


def test_correction_in_blocks_equals_one_pass(monkeypatch):
    import l2g.personal as personal

    rng = np.random.default_rng(3)
    real = rng.normal(size=(12, 3000))
    gen = real * 0.5
    for available in (["I"], ["V2"], ["I", "II", "V2"]):
        corr = fit_correction(real, gen, available, 100.0)
        whole = apply_correction(corr, real, gen)
        monkeypatch.setattr(personal, "_BLOCK", 700)  # a long record's blocks: features joined across them
        np.testing.assert_array_equal(apply_correction(corr, real, gen), whole)
        monkeypatch.undo()
