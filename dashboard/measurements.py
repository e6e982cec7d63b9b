"""The whole-ECG measurements on the viewer page, beside the cart's own (issue #25 item 3).

Computed by :func:`l2g.measurements.ecg_measurements` (cached here per record digest, lead
selection and band) and shown as one text table from :func:`l2g.measurements.beside_cart`:
"—" where a value does not exist, never None.
"""

from __future__ import annotations

import warnings

import pandas as pd
import streamlit as st

from dashboard.state import CACHE_TTL_S
from l2g.record import Metadata, Record

__all__ = ["whole_ecg", "measurements_panel"]


@st.cache_data(max_entries=64, ttl=CACHE_TTL_S, show_spinner=False)
def whole_ecg(digest: str, available: tuple[str, ...], method: str, banded: bool, _output: Record) -> pd.DataFrame:
    """:func:`l2g.measurements.ecg_measurements` of ``_output`` (keyed by digest, selection, method, band)."""
    from l2g.measurements import ecg_measurements

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return ecg_measurements(_output)


def measurements_panel(output: Record, cart_meta: Metadata, digest: str, available: tuple[str, ...],
                       method: str) -> None:
    """Draw the whole-ECG table of ``output`` beside the cart's measurements in ``cart_meta`` (the file's)."""
    from l2g.measurements import FLAT_QRS_MV, NOISY_ST_MV, beside_cart

    st.subheader("Whole-ECG measurements")
    table = whole_ecg(digest, tuple(available), method, output.interval is not None, output)
    shown = beside_cart(table, cart_meta)
    shown.index = [f"{label} ({unit})" for label, unit in zip(shown.index, table["unit"], strict=True)]
    st.dataframe(shown, key="measurements_table", height=35 * (len(shown) + 1) + 3)
    recorded = output.recorded_leads
    st.caption(
        f"L2G-ECG: intervals and axes from the recorded leads only ({', '.join(recorded) or 'none'}); global "
        "intervals are the earliest onset and latest offset across them (CSE convention), medians over beats; "
        "QTc by Bazett and by Fridericia; axes from the net areas in leads I and II (needs two recorded limb "
        "leads). ST: level at J + 60 ms against the PR segment; a generated lead shows ± the half-width of "
        "its confidence band there. Unreliable: a near-flat lead (QRS under "
        f"{FLAT_QRS_MV:g} mV) or a noisy one (ST varying over {NOISY_ST_MV:g} mV from beat to beat). "
        "Cart: the file's own measurements over all its leads (its QTc formula may not be Bazett's); "
        "—: no such value. Method: docs and l2g/measurements.py.")
