"""The cart's own interpretation on the viewer page: open, at the top, worst first, marked as the cart's reading.

The order and the levels come from :mod:`l2g.interpretation` (its module notes give the severity
rules); here they are drawn. The statements are the cart's words, shown literally.
"""

from __future__ import annotations

import streamlit as st

from dashboard.text import literal
from l2g.interpretation import SEVERITIES, ranked
from l2g.record import Record

__all__ = ["BADGE", "interpretation_panel", "GENERATED_NOTE"]

#: Badge colour of each level (Streamlit's ``:color-badge[...]``).
BADGE: dict[str, str] = {"critical": "red", "abnormal": "orange", "borderline": "blue", "other": "gray",
                         "normal": "green"}
#: Said beside generated leads when the file holds a cart interpretation.
GENERATED_NOTE = ("The cart interpretation at the top is the cart's reading of the originally recorded leads, "
                  "not of these generated leads.")


def interpretation_panel(record: Record) -> None:
    """Draw the cart's statements of ``record`` (the file as opened) in a bordered box; nothing when it has none.

    One line per statement, worst first (:func:`l2g.interpretation.ranked`), each with a badge naming
    its level; the heading says that the cart read the leads it recorded, not generated ones.
    """
    statements = ranked(record.meta.interpretation)
    if not statements:
        return
    recorded = record.recorded_leads
    leads = "all 12 leads" if len(recorded) == 12 else ", ".join(recorded)
    with st.container(border=True, key="cart_interpretation"):
        st.markdown(f"**Cart interpretation** — the cart's own reading of the originally recorded leads ({leads}); "
                    "it did not see any generated lead. Worst first:")
        st.markdown("\n".join(f"- :{BADGE[s.severity]}-badge[{s.severity}] {literal(s.text)}" for s in statements))
        st.caption(f"Order: {', '.join(SEVERITIES)} (L2G-ECG's keyword rules, docs/DASHBOARD.md); "
                   "the statements are the cart's, unchanged.")
