"""L2G-ECG dashboard: frame and router.

Run with ``streamlit run app.py`` (or ``make run``). Pages live in ``pages/``
and are listed explicitly; they are thin views over the ``l2g`` library.
"""

import streamlit as st

st.set_page_config(page_title="L2G-ECG", page_icon="🫀", layout="wide")

pages = [
    st.Page("pages/home.py", title="Home", icon="🏠", default=True),
]
st.navigation(pages).run()
