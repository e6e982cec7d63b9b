"""The Streamlit app starts and renders its pages without exceptions."""

from pathlib import Path

from streamlit.testing.v1 import AppTest

APP = str(Path(__file__).parents[1] / "app.py")


def test_app_starts_on_home():
    at = AppTest.from_file(APP, default_timeout=60).run()
    assert not at.exception
    assert at.title[0].value == "L2G-ECG"
    assert any("not a medical device" in m.value for m in at.markdown)
