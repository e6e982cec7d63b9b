"""The viewer's printable report: paper, speed and gain, and the PDF download (the page itself: l2g.report).

The PDF is made only when the button is clicked (Streamlit's deferred download data), by
:func:`l2g.report.report_pdf_bytes`, the function behind ``l2g report`` too: the same record and
options give the same page. The callable runs outside the script run, so it holds everything it
needs (the reconstructed segment, its trust table, the options) and calls no Streamlit command.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from l2g.record import Record
from l2g.report import GAINS, PAPERS, SPEEDS, report_pdf_bytes

__all__ = ["report_download"]


def report_download(output: Record, *, file_name: str, start_s: float, band: bool, deidentify: bool,
                    display_filter: str, trust: pd.DataFrame | None, model: Any) -> None:
    """Draw the report's settings (paper, speed, gain) and its download button in one row.

    Parameters
    ----------
    output : Record
        The reconstruction shown (this segment of a long record).
    file_name : str
        The download's name (``.pdf``).
    start_s : float
        The first second on the page (the chart's window start).
    band : bool
        Draw the confidence band (when ``output`` has one).
    deidentify : bool
        No record name, patient name, identifiers or dates in the PDF.
    display_filter : str
        The chart's display filter, so the page looks like the screen.
    trust : pandas.DataFrame or None
        The trust table the page shows (None: the report computes it, or says why it cannot).
    model : Reconstructor or None
        For that computation.
    """
    row = st.columns([1, 1, 1, 2], vertical_alignment="bottom")
    paper = row[0].selectbox("Report paper", list(PAPERS), key="report_paper",
                             help="Landscape. Print at 100 % (actual size), not 'fit to page'.")
    speed = row[1].selectbox("Speed", SPEEDS, index=SPEEDS.index(25.0), key="report_speed",
                             format_func=lambda v: f"{v:g} mm/s", help="25 mm/s: 10 s per page; 50 mm/s: 5 s.")
    gain = row[2].selectbox("Gain", GAINS, index=GAINS.index(10.0), key="report_gain",
                            format_func=lambda v: f"{v:g} mm/mV")
    options = {"paper": paper, "speed": speed, "gain": gain, "start_s": start_s,
               "band": band and output.interval is not None, "deidentify": deidentify,
               "display_filter": display_filter, "trust": trust, "model": model}

    def pdf() -> bytes:
        return report_pdf_bytes(output, **options)

    row[3].download_button(
        f"Printable report (PDF, {paper})", data=pdf, file_name=file_name, mime="application/pdf", key="dl_report",
        on_click="ignore", icon=":material/print:", type="primary",
        help="One landscape page at true scale: 3×4 + Lead-II rhythm strip, calibration pulses, the cart's "
             "measurements and statements, our Lead-II measurements, generated leads dashed and labelled with "
             "their grade" + (", de-identified" if deidentify else "") + ". The same page as `l2g report`.")
