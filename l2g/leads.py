"""Canonical lead names, their aliases, Einthoven/Goldberger algebra and presets.

The standard 12-lead ECG has only 8 independent leads: I, II and V1–V6.
The other four limb leads follow exactly from Einthoven's and Goldberger's
laws::

    III = II - I        aVR = -(I + II) / 2
    aVL = I - II / 2    aVF = II - I / 2

so any two limb leads determine all six.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np

__all__ = [
    "LEADS",
    "LIMB_LEADS",
    "CHEST_LEADS",
    "INDEPENDENT_LEADS",
    "PRESETS",
    "subsets_of_size",
    "EXPAND_8_TO_12",
    "expand_independent",
    "normalize_lead_name",
    "parse_lead_list",
    "limb_basis",
    "complete_limb_leads",
    "limb_consistency",
]

#: The 12 standard leads in canonical order.
LEADS: tuple[str, ...] = (
    "I", "II", "III", "aVR", "aVL", "aVF",
    "V1", "V2", "V3", "V4", "V5", "V6",
)
LIMB_LEADS: tuple[str, ...] = LEADS[:6]
CHEST_LEADS: tuple[str, ...] = LEADS[6:]
#: The 8 leads that carry all the information of a 12-lead ECG.
INDEPENDENT_LEADS: tuple[str, ...] = ("I", "II", *CHEST_LEADS)

# Each limb lead as a linear combination (a, b) of (I, II): lead = a*I + b*II.
_LIMB_COEF: dict[str, tuple[float, float]] = {
    "I": (1.0, 0.0),
    "II": (0.0, 1.0),
    "III": (-1.0, 1.0),
    "aVR": (-0.5, -0.5),
    "aVL": (1.0, -0.5),
    "aVF": (-0.5, 1.0),
}

_CANON_UPPER = {name.upper(): name for name in LEADS}
# Spellings seen in real archives (after upper-casing and removing spaces,
# dashes, underscores and dots), mapped to canonical names.
_ALIASES: dict[str, str] = {
    "LEADI": "I", "LEADII": "II", "LEADIII": "III",
    "1": "I", "2": "II", "3": "III",
    "DI": "I", "DII": "II", "DIII": "III",
    "ECGI": "I", "ECGII": "II", "ECGIII": "III",
    "AVR": "aVR", "AVL": "aVL", "AVF": "aVF",
    "LEADAVR": "aVR", "LEADAVL": "aVL", "LEADAVF": "aVF",
    "ECGAVR": "aVR", "ECGAVL": "aVL", "ECGAVF": "aVF",
}
_ALIASES.update({f"C{_i}": f"V{_i}" for _i in range(1, 7)})  # European chest naming
# a minus sign (hyphen, U+2212, en dash) before the lead name, after an optional "ECG " / "Lead ": an inverted lead
_INVERTED = re.compile(r"\s*(?:(?:ECG|LEAD)\s+)?[-\u2212\u2013]", re.IGNORECASE)

#: Named sets of available leads, in the order clinicians meet them.
PRESETS: dict[str, tuple[str, ...]] = {
    "Single lead I (smartwatch)": ("I",),
    "Single lead II": ("II",),
    "Leads I + II": ("I", "II"),
    "Limb leads only (I, II, III, aVR, aVL, aVF)": LIMB_LEADS,
    "Two limb + three chest (I, II, V1, V3, V5)": ("I", "II", "V1", "V3", "V5"),
    "I, II, V2, V5": ("I", "II", "V2", "V5"),
    "I, II, V2, V4 (EASI-like)": ("I", "II", "V2", "V4"),
    "I, II, V3 (three-lead patch)": ("I", "II", "V3"),
    "Seven leads (I, II, V1–V5)": ("I", "II", "V1", "V2", "V3", "V4", "V5"),
    "Chest leads only (V1–V6)": CHEST_LEADS,
    "All 12 leads": LEADS,
}


def normalize_lead_name(name: str) -> str | None:
    """Map a lead name as spelled in an archive to its canonical form.

    Parameters
    ----------
    name : str
        A channel name such as ``"ii"``, ``"Lead II"``, ``"AVR"``, ``"V 1"``,
        ``"ECG V1"`` or an ISO/IEEE 11073 code as HL7 aECG and DICOM name leads
        (``"MDC_ECG_LEAD_AVR"``).

    Returns
    -------
    str or None
        The canonical name (one of :data:`LEADS`), or ``None`` when the name
        is not a standard ECG lead (for example ``"Resp"`` or ``"Pleth"``).

    Examples
    --------
    >>> normalize_lead_name("avl"), normalize_lead_name("Lead II"), normalize_lead_name("C3")
    ('aVL', 'II', 'V3')
    >>> normalize_lead_name("MDC_ECG_LEAD_AVF"), normalize_lead_name("MDC_ECG_LEAD_V2")
    ('aVF', 'V2')
    >>> normalize_lead_name("Pleth") is None
    True

    A minus sign in front of the lead (``"-aVR"``, ``"Lead -aVR"``, ``"\u2212aVR"``) names the inverted lead
    (Cabrera's -aVR), which is not a standard lead: readers leave it out as another channel.

    >>> normalize_lead_name("-aVR") is None, normalize_lead_name("ECG-II")
    (True, 'II')
    """
    if _INVERTED.match(str(name)):
        return None
    key = re.sub(r"[\s_\-.:]+", "", str(name)).upper()
    if key.startswith("MDCECGLEAD"):  # MDC_ECG_LEAD_I ... MDC_ECG_LEAD_V6 (ISO/IEEE 11073-10101)
        key = key[len("MDCECGLEAD"):]
    if not key:
        return None
    if key in _CANON_UPPER:
        return _CANON_UPPER[key]
    if key.startswith("ECG") and key[3:] in _CANON_UPPER:
        return _CANON_UPPER[key[3:]]
    if key.startswith("LEAD") and key[4:] in _CANON_UPPER:
        return _CANON_UPPER[key[4:]]
    return _ALIASES.get(key)


def parse_lead_list(leads: str | Iterable[str]) -> tuple[str, ...]:
    """Parse a set of lead names into canonical names in canonical order.

    Parameters
    ----------
    leads : str or iterable of str
        ``"I,II,V2"`` (comma separated) or a sequence of names.

    Returns
    -------
    tuple of str
        Canonical names, unique, ordered as in :data:`LEADS`.

    Raises
    ------
    ValueError
        If a name is not a standard lead or appears twice.
    """
    items = [s for s in leads.split(",")] if isinstance(leads, str) else list(leads)
    items = [str(s).strip() for s in items if str(s).strip()]
    out: list[str] = []
    for raw in items:
        canon = normalize_lead_name(raw)
        if canon is None:
            raise ValueError(f"unknown lead {raw!r}; valid leads are {', '.join(LEADS)}")
        if canon in out:
            raise ValueError(f"lead {raw!r} given twice (as {canon})")
        out.append(canon)
    return tuple(sorted(out, key=LEADS.index))


def limb_basis(available: Iterable[str]) -> tuple[str, str] | None:
    """Pick two available limb leads that determine all six.

    Any two distinct limb leads are linearly independent in the (I, II) plane,
    so any pair works; leads I and II are preferred when present.

    Returns
    -------
    tuple of str or None
        Two canonical limb lead names, or ``None`` with fewer than two.
    """
    limb = [lead for lead in LIMB_LEADS if lead in set(available)]
    if len(limb) < 2:
        return None
    return limb[0], limb[1]


def _to_I_II(a: str, b: str, xa: np.ndarray, xb: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    m = np.array([_LIMB_COEF[a], _LIMB_COEF[b]], dtype=np.float64)  # rows: (I, II) coefs
    inv = np.linalg.inv(m)
    lead_i = inv[0, 0] * xa + inv[0, 1] * xb
    lead_ii = inv[1, 0] * xa + inv[1, 1] * xb
    return lead_i, lead_ii


def complete_limb_leads(signals: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Derive all six limb leads from any two of them.

    Parameters
    ----------
    signals : dict of str to ndarray
        At least two limb leads, canonical names as keys, each of shape
        ``(..., samples)`` in mV. Other keys are ignored.

    Returns
    -------
    dict of str to ndarray
        All six limb leads (I, II, III, aVR, aVL, aVF), shape as given, mV.

    Raises
    ------
    ValueError
        If fewer than two limb leads are given.

    Examples
    --------
    >>> import numpy as np
    >>> out = complete_limb_leads({"I": np.array([1.0]), "aVF": np.array([0.5])})
    >>> float(out["II"][0]), float(out["III"][0])
    (1.0, 0.0)
    """
    basis = limb_basis(signals)
    if basis is None:
        raise ValueError(
            f"need two limb leads to derive the others, got {sorted(signals)}; "
            f"limb leads are {', '.join(LIMB_LEADS)}"
        )
    a, b = basis
    lead_i, lead_ii = _to_I_II(a, b, np.asarray(signals[a], np.float64), np.asarray(signals[b], np.float64))
    dtype = np.result_type(np.asarray(signals[a]).dtype, np.float32)
    return {
        name: (ca * lead_i + cb * lead_ii).astype(dtype, copy=False)
        for name, (ca, cb) in _LIMB_COEF.items()
    }


def limb_consistency(signals: dict[str, np.ndarray]) -> dict[str, object]:
    """Score how well six limb leads obey Einthoven's and Goldberger's laws.

    For a correctly labelled record, III, aVR, aVL and aVF equal their
    derivation from I and II up to quantisation and filtering noise. A swapped
    or mislabelled limb lead breaks one or more of these identities.

    Parameters
    ----------
    signals : dict of str to ndarray
        The six limb leads, shape ``(samples,)`` each, mV.

    Returns
    -------
    dict
        ``"score"``: float in [0, 1], 1 for a perfectly consistent record
        (1 minus the worst relative residual, clipped at 0);
        ``"residuals"``: per derived lead, the RMS of (recorded - derived)
        divided by the RMS of the recorded lead;
        ``"consistent"``: bool, True when every relative residual is below
        0.1; ``"suspect"``: leads whose relative residual is at least 0.1.

    Raises
    ------
    ValueError
        If any of the six limb leads is missing.
    """
    missing = [lead for lead in LIMB_LEADS if lead not in signals]
    if missing:
        raise ValueError(f"limb_consistency needs all six limb leads; missing {missing}")
    lead_i = np.asarray(signals["I"], np.float64)
    lead_ii = np.asarray(signals["II"], np.float64)
    residuals: dict[str, float] = {}
    for name in ("III", "aVR", "aVL", "aVF"):
        ca, cb = _LIMB_COEF[name]
        rec = np.asarray(signals[name], np.float64)
        derived = ca * lead_i + cb * lead_ii
        denom = max(float(np.sqrt(np.mean(rec**2))), 1e-3)
        residuals[name] = float(np.sqrt(np.mean((rec - derived) ** 2)) / denom)
    worst = max(residuals.values())
    suspect = [k for k, v in residuals.items() if v >= 0.1]
    return {
        "score": float(max(0.0, 1.0 - worst)),
        "residuals": residuals,
        "consistent": not suspect,
        "suspect": suspect,
    }


def subsets_of_size(k: int, pool: Sequence[str] = LEADS) -> list[tuple[str, ...]]:
    """All subsets of ``pool`` with ``k`` leads, in canonical order."""
    from itertools import combinations

    if not 1 <= k <= len(pool):
        raise ValueError(f"k must be in 1..{len(pool)}, got {k}")
    return [tuple(c) for c in combinations(pool, k)]


def _expand_matrix() -> np.ndarray:
    m = np.zeros((len(LEADS), len(INDEPENDENT_LEADS)), dtype=np.float32)
    for r, lead in enumerate(LEADS):
        if lead in _LIMB_COEF:
            m[r, 0], m[r, 1] = _LIMB_COEF[lead]
        else:
            m[r, INDEPENDENT_LEADS.index(lead)] = 1.0
    m.setflags(write=False)
    return m


#: Matrix of shape (12, 8) mapping the independent leads (I, II, V1-V6) to all 12 leads
#: in canonical order: ``x12 = EXPAND_8_TO_12 @ x8``.
EXPAND_8_TO_12: np.ndarray = _expand_matrix()


def expand_independent(x8: np.ndarray) -> np.ndarray:
    """All 12 leads from the 8 independent ones.

    Parameters
    ----------
    x8 : ndarray, shape (..., 8, samples)
        Leads I, II, V1-V6 in that order, mV.

    Returns
    -------
    ndarray, shape (..., 12, samples)
        The 12 leads in canonical order, mV.
    """
    x8 = np.asarray(x8)
    if x8.shape[-2] != len(INDEPENDENT_LEADS):
        raise ValueError(f"expected 8 independent leads on axis -2, got shape {x8.shape}")
    return np.einsum("ij,...jt->...it", EXPAND_8_TO_12, x8).astype(np.result_type(x8.dtype, np.float32))

