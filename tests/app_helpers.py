"""Helpers shared by the AppTest suites (test_app, test_limits, test_safety).

The ``at`` and ``downloads`` fixtures built on these live in ``conftest.py``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

from streamlit.testing.v1 import AppTest

from l2g.io import write_wfdb
from l2g.record import Record

APP = str(Path(__file__).resolve().parents[1] / "app.py")
TIMEOUT = 180  # seconds per script run (the first one imports torch; CI machines may be busy)


def wfdb_files(rec: Record, directory: Path, name: str) -> list[tuple[str, bytes, str]]:
    """``rec`` written as WFDB into ``directory``, as the uploader's ``(name, bytes, mime)`` triples."""
    hea = write_wfdb(rec, directory, name)
    return [(p.name, p.read_bytes(), "application/octet-stream") for p in (hea, hea.with_suffix(".dat"))]


def upload(app: AppTest, files) -> AppTest:
    """Upload ``files`` on the viewer page and rerun; the script must not raise."""
    app.file_uploader(key="upload").set_value(files)
    app.run()
    assert not app.exception, app.exception
    return app


def add_upload(app: AppTest, files) -> AppTest:
    """Add ``files`` to the uploader while the files already in it stay there, and rerun.

    What a second pick (or drop) does in a browser: the uploader's value becomes the earlier files,
    with their ids, plus the new ones. AppTest's ``upload()`` starts from an empty list on a fresh
    element tree, so the earlier files are taken from the widget as AppTest itself re-sends them.
    """
    box = app.file_uploader(key="upload")
    kept = box._get_files_to_register()  # (file_id, name, bytes, mime) of the files in the uploader now
    box.set_value(files)
    box._files = kept + box._files
    app.run()
    assert not app.exception, app.exception
    return app


def load_errors(app: AppTest) -> list[str]:
    """The page's error messages, without the lead-check panel's verdict (it judges the open record's
    electrodes, not whether a file could be read)."""
    return [e.value for e in app.error if not e.value.startswith("**Lead check")]


@contextlib.contextmanager
def app_with_weights(monkeypatch, folder: Path) -> Iterator[AppTest]:
    """The app on its default page with ``L2G_WEIGHTS_DIR=folder`` and no data folder, after one clean run.

    The dashboard's loaded models are dropped before and after, so this folder's files are the ones read and
    the next tests load the shipped ones again.
    """
    from dashboard import state

    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(folder))
    monkeypatch.delenv("L2G_DATA_DIR", raising=False)
    state.reset_models()
    try:
        app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
        assert not app.exception, app.exception
        yield app
    finally:
        state.reset_models()
