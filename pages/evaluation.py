"""Evaluation: the 1…7-available-lead study report (``l2g evaluate``), or a note that it is not built yet."""

import streamlit as st

from l2g import paths

st.title("Evaluation")
reports = paths.reports_dir()
report = reports / "evaluation.md"
figures = sorted(reports.glob("*.png")) if reports.is_dir() else []
if report.is_file():
    st.caption(f"`{report}` — written by `l2g evaluate` (`make evaluate`).")
    st.markdown(report.read_text(encoding="utf-8"))
else:
    st.info(f"The evaluation report is not built yet ({report} is missing). Build it with `make evaluate` "
            "(`l2g evaluate --data ../shared/data --split test --out reports/`).")
if figures:
    st.subheader("Figures")
    cols = st.columns(2)
    for i, png in enumerate(figures):
        cols[i % 2].image(str(png), caption=png.name, width="stretch")
