"""Electrode faults simulated exactly: limb-electrode reversals and adjacent precordial swaps.

Each fault is a signed permutation of leads and its own inverse. :mod:`l2g.leadnet` is trained on these
faults and :mod:`l2g.leadcheck` names them; both import them from here (re-exported by
:mod:`l2g.leadcheck`).
"""

from __future__ import annotations

from .leads import CHEST_LEADS, LIMB_LEADS
from .record import Record

__all__ = ["LIMB_FAULTS", "CHEST_SWAPS", "apply_fault"]

#: Limb-electrode reversals as signed permutations of the limb leads:
#: new[lead] = sign * old[source] (each is its own inverse).
LIMB_FAULTS: dict[str, dict[str, tuple[int, str]]] = {
    "LA/RA": {"I": (-1, "I"), "II": (1, "III"), "III": (1, "II"), "aVR": (1, "aVL"), "aVL": (1, "aVR"),
              "aVF": (1, "aVF")},
    "LA/LL": {"I": (1, "II"), "II": (1, "I"), "III": (-1, "III"), "aVR": (1, "aVR"), "aVL": (1, "aVF"),
              "aVF": (1, "aVL")},
    "RA/LL": {"I": (-1, "III"), "II": (-1, "II"), "III": (-1, "I"), "aVR": (1, "aVF"), "aVL": (1, "aVL"),
              "aVF": (1, "aVR")},
}

#: Adjacent precordial swaps.
CHEST_SWAPS: tuple[tuple[str, str], ...] = tuple(zip(CHEST_LEADS[:-1], CHEST_LEADS[1:], strict=True))


def apply_fault(record: Record, fault: str) -> Record:
    """Simulate an electrode fault on a record (exact lead transformation; a swap undoes itself).

    Parameters
    ----------
    record : Record
        Must hold every lead the fault moves (all six limb leads for a limb
        reversal, both chest leads for a swap).
    fault : str
        ``"LA/RA"``, ``"LA/LL"``, ``"RA/LL"`` or ``"V1/V2"`` … ``"V5/V6"``.

    Returns
    -------
    Record

    Raises
    ------
    ValueError
        On an unknown fault or a missing lead.

    Examples
    --------
    >>> import numpy as np
    >>> from l2g.demo import demo_record
    >>> rec = demo_record()
    >>> bad = apply_fault(rec, "LA/RA")
    >>> bool(np.allclose(bad.lead("I"), -rec.lead("I"))), bool(np.allclose(bad.lead("aVF"), rec.lead("aVF")))
    (True, True)
    >>> apply_fault(bad, "LA/RA") == rec
    True
    """
    sig = record.signal.copy()
    if fault in LIMB_FAULTS:
        need = [lead for lead in LIMB_LEADS if lead not in record.leads]
        if need:
            raise ValueError(f"{record.name}: fault {fault} needs all six limb leads; missing {', '.join(need)}")
        for lead, (sign, src) in LIMB_FAULTS[fault].items():
            sig[record.leads.index(lead)] = sign * record.signal[record.leads.index(src)]
    elif fault in {f"{a}/{b}" for a, b in CHEST_SWAPS}:
        a, b = fault.split("/")
        for lead in (a, b):
            if lead not in record.leads:
                raise ValueError(f"{record.name}: fault {fault} needs lead {lead}")
        ia, ib = record.leads.index(a), record.leads.index(b)
        sig[[ia, ib]] = record.signal[[ib, ia]]
    else:
        valid = [*LIMB_FAULTS, *(f"{a}/{b}" for a, b in CHEST_SWAPS)]
        raise ValueError(f"unknown fault {fault!r}; valid: {', '.join(valid)}")
    return record.replace(signal=sig)
