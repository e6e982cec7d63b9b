"""L2G-ECG dashboard: frame and router.

Run with ``streamlit run app.py`` (or ``make run``); browse a folder of records with
``streamlit run app.py -- --data-dir DIR`` (or the environment variable ``L2G_DATA_DIR``).
Pages live in ``pages/`` and are listed explicitly; they are thin views over the ``l2g`` library.
"""

import streamlit as st

st.set_page_config(page_title="L2G-ECG", page_icon="🫀", layout="wide")

pages = [
    st.Page("pages/viewer.py", title="ECG viewer", icon=":material/monitor_heart:", default=True),
    st.Page("pages/evaluation.py", title="Evaluation", icon=":material/analytics:"),
    st.Page("pages/model.py", title="Model", icon=":material/memory:"),
    st.Page("pages/study_setup.py", title="Study set-up", icon=":material/assignment:"),
    st.Page("pages/study_reader.py", title="Reader study", icon=":material/visibility:"),
    st.Page("pages/study_analysis.py", title="Study analysis", icon=":material/query_stats:"),
]
page = st.navigation(pages)
# a little less empty space above the page title, so the ECG chart fits a 1400 x 900 window
st.html("<style>[data-testid='stMainBlockContainer']{padding-top:2.2rem}</style>")
st.sidebar.caption("L2G-ECG — research and decision-support software, **not a medical device**. "
                   "Generated leads are estimates, never recordings.")
page.run()
