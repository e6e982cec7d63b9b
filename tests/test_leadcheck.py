"""l2g.leadcheck: exact fault transformations, and the check on a real record (skips without ../shared)."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import l2g
from l2g.demo import demo_record
from l2g.leadcheck import CHEST_SWAPS, LIMB_FAULTS, NotEnoughLeadsError, apply_fault, check_leads
from l2g.leads import LEADS
from l2g.record import Record

SHARED = __import__("pathlib").Path(__file__).resolve().parents[1].parent / "shared" / "data"
REAL_TEST_RECORD = "cinc2020_extra/Q1240"  # first record of the test split in splits/split.csv


def _from_electrodes(ra, la, ll, chest) -> Record:
    """12 leads from electrode potentials (mV), by definition."""
    wct = (ra + la + ll) / 3
    limb = [la - ra, ll - ra, ll - la, ra - (la + ll) / 2, la - (ra + ll) / 2, ll - (ra + la) / 2]
    return Record(np.array(limb + [c - wct for c in chest]), fs=500.0, leads=LEADS)


@pytest.mark.parametrize("fault", list(LIMB_FAULTS))
def test_limb_fault_transform_is_the_electrode_swap(fault):
    rng = np.random.default_rng(1)
    ra, la, ll = rng.normal(size=(3, 200))
    chest = list(rng.normal(size=(6, 200)))
    a, b = fault.split("/")
    pot = {"RA": ra, "LA": la, "LL": ll}
    pot[a], pot[b] = pot[b], pot[a]
    swapped = _from_electrodes(pot["RA"], pot["LA"], pot["LL"], chest)
    original = _from_electrodes(ra, la, ll, chest)
    assert np.allclose(apply_fault(original, fault).signal, swapped.signal, atol=1e-5)
    assert apply_fault(apply_fault(original, fault), fault) == original  # a swap undoes itself
    # the chest leads are unchanged: the Wilson terminal is symmetric in the three electrodes
    assert np.allclose(swapped.signal[6:], original.signal[6:], atol=1e-5)


@pytest.mark.parametrize("pair", CHEST_SWAPS)
def test_chest_swap_is_exact(pair):
    rec = demo_record()
    bad = apply_fault(rec, "/".join(pair))
    a, b = (LEADS.index(x) for x in pair)
    assert np.array_equal(bad.signal[a], rec.signal[b]) and np.array_equal(bad.signal[b], rec.signal[a])
    others = [i for i in range(12) if i not in (a, b)]
    assert np.array_equal(bad.signal[others], rec.signal[others])


def test_unknown_fault_and_too_few_leads():
    rec = demo_record()
    with pytest.raises(ValueError, match="unknown fault"):
        apply_fault(rec, "V1/V3")
    with pytest.raises(NotEnoughLeadsError, match="at least 3"):
        check_leads(rec, leads=["I", "V1"])


def test_table_columns_on_a_subset():
    table = check_leads(demo_record(), leads=["I", "II", "V1", "V2", "V3"])
    assert list(table.columns) == ["lead", "r", "rmse_uv", "z", "flag", "reason"]
    assert list(table["lead"]) == ["I", "II", "V1", "V2", "V3"]


@pytest.fixture(scope="module")
def real_record() -> Record:
    from l2g.catalog import record_path

    if not SHARED.is_dir():
        pytest.skip(f"{SHARED} not found: real records are read from ../shared/data")
    path = record_path(SHARED, REAL_TEST_RECORD)
    if path is None:
        pytest.skip(f"{REAL_TEST_RECORD} not under {SHARED}")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return l2g.read_record(path).crop(0.0, 10.0)


def test_real_record_untouched_is_not_flagged(real_record):
    table = check_leads(real_record)
    assert table.attrs["faults"] == [] and not table["flag"].any()
    assert len(table) == 12


@pytest.mark.parametrize("leads", [None, ["I", "II", "V1", "V2", "V3", "V4"]])
def test_real_record_la_ra_reversal_is_flagged(real_record, leads):
    table = check_leads(apply_fault(real_record, "LA/RA"), leads=leads)
    assert table.attrs["faults"] == ["LA/RA"]
    row = table.set_index("lead").loc["I"]
    assert bool(row["flag"]) and "left/right arm" in row["reason"]
    assert not table.set_index("lead").loc["V1", "flag"]


def test_real_record_chest_swap_is_flagged(real_record):
    table = check_leads(apply_fault(real_record, "V2/V3"))
    assert table.attrs["faults"] == ["V2/V3"]
    assert set(table.loc[table["flag"], "lead"]) == {"V2", "V3"}


def test_check_leads_and_trust_table_are_public():
    import l2g
    from l2g.leadcheck import check_leads
    from l2g.trust import trust_table

    assert l2g.check_leads is check_leads and l2g.trust_table is trust_table
    assert {"check_leads", "trust_table"} <= set(l2g.__all__)


def test_decide_follows_the_network_and_holds_la_ll_to_its_stricter_threshold():
    import dataclasses

    from l2g.leadcheck import THRESHOLDS, decide, lead_check_stats

    st = lead_check_stats(demo_record(), detector=False)
    net = dict.fromkeys(["none", *LIMB_FAULTS, *("/".join(p) for p in CHEST_SWAPS)], 0.0)
    below = THRESHOLDS.net_p - 0.01
    assert decide(dataclasses.replace(st, net={**net, "none": 1 - below, "V3/V4": below})) == []
    assert decide(dataclasses.replace(st, net={**net, "none": 0.1, "V3/V4": 0.9})) == ["V3/V4"]
    # a fault with its own threshold (V4/V5: untouched records rarely give it any probability) follows that one
    own = THRESHOLDS.net_threshold("V4/V5")
    assert own < THRESHOLDS.net_p
    assert decide(dataclasses.replace(st, net={**net, "none": 1 - own + 0.01, "V4/V5": own - 0.01})) == []
    assert decide(dataclasses.replace(st, net={**net, "none": 1 - own - 0.01, "V4/V5": own + 0.01})) == ["V4/V5"]
    # LA/LL mimics a leftward axis: a probability that would flag any other fault does not flag it
    la_ll = (THRESHOLDS.net_p + THRESHOLDS.net_p_la_ll) / 2
    assert decide(dataclasses.replace(st, net={**net, "none": 1 - la_ll, "LA/LL": la_ll})) == []
    assert decide(dataclasses.replace(st, net={**net, "LA/LL": 0.999, "none": 0.001})) == ["LA/LL"]
    # without the network, the ratio tests decide
    assert decide(dataclasses.replace(st, limb_ratio={"LA/RA": 10.0}, net={})) == ["LA/RA"]
