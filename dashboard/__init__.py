"""The dashboard's Streamlit glue, beside its pages (not part of the ``l2g`` library).

``app.py`` is the frame and router, ``pages/`` the views, and :mod:`dashboard.state`
the session store, the caches and the widget callbacks that the pages share. The
``l2g`` package never imports Streamlit; what the dashboard computes comes from it.
"""
