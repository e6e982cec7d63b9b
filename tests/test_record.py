"""The Record type: validation, immutability, operations."""

import numpy as np
import pytest

from l2g import ABSENT, GENERATED, LEADS, RECORDED, Metadata, Record


def _rec(n_leads=12, n=1000, fs=500.0, **kw):
    rng = np.random.default_rng(0)
    return Record(rng.normal(size=(n_leads, n)), fs, LEADS[:n_leads], **kw)


def test_valid_record_is_float32_readonly_and_infers_status():
    r = _rec()
    assert r.signal.dtype == np.float32
    assert r.status == (RECORDED,) * 12
    assert r.duration == pytest.approx(2.0)
    with pytest.raises(ValueError):
        r.signal[0, 0] = 1.0


def test_input_array_is_copied():
    x = np.zeros((12, 100))
    r = Record(x, 500, LEADS)
    x[0, 0] = 5.0
    assert r.signal[0, 0] == 0.0


@pytest.mark.parametrize("fs", [0, -1, float("nan"), float("inf"), "abc"])
def test_bad_fs(fs):
    with pytest.raises(ValueError, match="fs"):
        _rec(fs=fs)


def test_shape_mismatch():
    with pytest.raises(ValueError, match="3 lead names"):
        Record(np.zeros((2, 10)), 500, ("I", "II", "III"))


@pytest.mark.parametrize("leads,msg", [(("I", "I"), "duplicate"), (("I", "Pleth"), "unknown lead"),
                                        (("I", "avl"), "did you mean 'aVL'")])
def test_bad_lead_names(leads, msg):
    with pytest.raises(ValueError, match=msg):
        Record(np.zeros((2, 10)), 500, leads)


def test_zero_length():
    with pytest.raises(ValueError, match="zero samples"):
        Record(np.zeros((12, 0)), 500, LEADS)


def test_nan_policy_recorded_lead_must_be_finite():
    x = np.zeros((2, 100))
    x[1, 10:20] = np.nan
    with pytest.raises(ValueError, match="lead II has 10 non-finite samples"):
        Record(x, 500, ("I", "II"))
    with pytest.raises(ValueError, match="absent lead"):
        Record(np.zeros((1, 10)), 500, ("I",), status=(ABSENT,))


def test_all_nan_row_is_absent():
    x = np.zeros((2, 100))
    x[1] = np.nan
    assert Record(x, 500, ("I", "II")).status == (RECORDED, ABSENT)


def test_operations_return_new_records_and_never_mutate():
    r = _rec()
    before = r.signal.copy()
    m = r.mask(["I", "II", "V2"])
    assert m.present_leads == ("I", "II", "V2")
    assert np.isnan(m.signal[6]).all() and m.status_of("V1") == ABSENT
    assert np.array_equal(r.signal, before) and r.status == (RECORDED,) * 12
    s = r.select(["V1", "I"])
    assert s.leads == ("V1", "I")
    np.testing.assert_array_equal(s.signal[0], r.signal[6])
    c = r.crop(0.5, 1.0)
    assert c.n_samples == 250
    std = Record(np.ones((2, 10)), 500, ("V1", "I")).standardize()
    assert std.leads == LEADS and std.status_of("V1") == RECORDED and std.status_of("II") == ABSENT


def test_mask_rejects_unknown_and_absent():
    r = _rec().mask(["I"])
    with pytest.raises(ValueError, match="unknown"):
        r.mask(["X9"])
    with pytest.raises(ValueError, match="absent"):
        r.mask(["II"])


def test_lead_access_and_equality():
    r = _rec()
    np.testing.assert_array_equal(r.lead("avl"), r.signal[4])
    with pytest.raises(ValueError, match="absent"):
        r.mask(["I"]).lead("II")
    assert r == r.replace()
    assert r != r.replace(name="other")
    g = r.replace(status=(GENERATED,) + r.status[1:])
    assert g.generated_leads == ("I",) and g != r


@pytest.mark.parametrize("kw", [{"age": -3}, {"age": 200}, {"sex": "X"}])
def test_metadata_validation(kw):
    with pytest.raises(ValueError):
        Metadata(**kw)


def test_metadata_fields_read_only():
    m = Metadata(fields={"a": "1"})
    with pytest.raises(TypeError):
        m.fields["b"] = "2"
