"""Lead names, Einthoven/Goldberger algebra, consistency and presets."""

import itertools

import numpy as np
import pytest

from l2g.leads import (
    CHEST_LEADS,
    LEADS,
    LIMB_LEADS,
    PRESETS,
    complete_limb_leads,
    limb_consistency,
    normalize_lead_name,
    parse_lead_list,
    subsets_of_size,
)


@pytest.mark.parametrize("raw,canon", [
    ("i", "I"), ("ii", "II"), ("III", "III"), ("avr", "aVR"), ("AVL", "aVL"), ("aVF", "aVF"),
    ("v1", "V1"), ("V 2", "V2"), ("Lead II", "II"), ("ECG V6", "V6"), ("C4", "V4"), ("lead_avf", "aVF"),
    ("D II", "II"), ("Resp", None), ("Pleth", None), ("", None), ("V7", None),
])
def test_normalize(raw, canon):
    assert normalize_lead_name(raw) == canon


def test_parse_lead_list():
    assert parse_lead_list("V2, ii ,I") == ("I", "II", "V2")
    with pytest.raises(ValueError, match="unknown lead 'X'"):
        parse_lead_list("I,X")
    with pytest.raises(ValueError, match="twice"):
        parse_lead_list(["II", "ii"])


def _limb(rng, n=500):
    i, ii = rng.normal(size=(2, n))
    return {"I": i, "II": ii, "III": ii - i, "aVR": -(i + ii) / 2, "aVL": i - ii / 2, "aVF": ii - i / 2}


@pytest.mark.parametrize("pair", list(itertools.combinations(LIMB_LEADS, 2)))
def test_any_two_limb_leads_give_all_six(pair):
    truth = _limb(np.random.default_rng(1))
    out = complete_limb_leads({k: truth[k] for k in pair})
    for lead in LIMB_LEADS:
        np.testing.assert_allclose(out[lead], truth[lead], atol=1e-9)


def test_complete_needs_two():
    with pytest.raises(ValueError, match="need two limb leads"):
        complete_limb_leads({"I": np.zeros(3), "V1": np.zeros(3)})


def test_consistency_flags_swaps():
    truth = _limb(np.random.default_rng(2))
    ok = limb_consistency(truth)
    assert ok["consistent"] and ok["score"] > 0.999
    swapped = dict(truth, I=truth["II"], II=truth["I"])  # classic I/II electrode mix-up
    bad = limb_consistency(swapped)
    assert not bad["consistent"] and bad["score"] < 0.5 and bad["suspect"]
    with pytest.raises(ValueError, match="missing"):
        limb_consistency({"I": truth["I"]})


def test_presets_are_valid():
    assert "Leads I + II" in PRESETS
    for name, leads in PRESETS.items():
        assert parse_lead_list(leads) == tuple(leads), name
    assert sum(1 for v in PRESETS.values() if 1 <= len(v) <= 7) >= 7


def test_subsets():
    assert len(subsets_of_size(2)) == 66 and len(subsets_of_size(1, CHEST_LEADS)) == 6
    assert LEADS[:6] == LIMB_LEADS
    with pytest.raises(ValueError):
        subsets_of_size(0)


def test_expand_independent_matches_algebra():
    from l2g.leads import INDEPENDENT_LEADS, expand_independent

    rng = np.random.default_rng(3)
    x8 = rng.normal(size=(2, 8, 50))
    x12 = expand_independent(x8)
    assert x12.shape == (2, 12, 50)
    limb = complete_limb_leads({"I": x8[0, 0], "II": x8[0, 1]})
    for i, lead in enumerate(LEADS):
        expected = limb[lead] if lead in LIMB_LEADS else x8[0, INDEPENDENT_LEADS.index(lead)]
        np.testing.assert_allclose(x12[0, i], expected, atol=1e-6)
    with pytest.raises(ValueError, match="8 independent"):
        expand_independent(np.zeros((12, 5)))
