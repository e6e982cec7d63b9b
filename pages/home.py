"""Home page (placeholder until the dashboard issue lands)."""

import streamlit as st

import l2g

st.title("L2G-ECG")
st.markdown(
    "Generate the missing leads of a 12-lead ECG from the leads that could be placed.  \n"
    "**Research and decision-support software — not a medical device.**"
)
st.caption(f"l2g {l2g.__version__} · canonical leads: {', '.join(l2g.LEADS)}")
st.info("The clinician dashboard (open a record, choose available leads, compare on an ECG grid) is being built.")
