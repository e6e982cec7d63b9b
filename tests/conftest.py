"""Shared pytest fixtures.

Real-data tests read the curated PhysioNet/LUDB copy in place from
``../shared/data`` (next to the repository), or from the directory named by
the environment variable ``L2G_SHARED_DATA``; they are skipped when it is absent.
Files from there are never copied into the project.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from streamlit.runtime.media_file_manager import MediaFileManager
from streamlit.testing.v1 import AppTest

from .app_helpers import APP, TIMEOUT

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path:
    """Where the shared data should be (it may not exist)."""
    env = os.environ.get("L2G_SHARED_DATA")
    return Path(env) if env else REPO_ROOT.parent / "shared" / "data"


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """Path to the shared real-data directory; skips the test when it is not there."""
    path = shared_data_dir()
    if not path.is_dir():
        pytest.skip("../shared/data not found: real-data tests need the shared PhysioNet/LUDB copy")
    return path


@pytest.fixture
def at(monkeypatch) -> AppTest:
    """The app, started on its default page (no data folder)."""
    monkeypatch.delenv("L2G_DATA_DIR", raising=False)
    app = AppTest.from_file(APP, default_timeout=TIMEOUT).run()
    assert not app.exception, app.exception
    return app


@pytest.fixture
def downloads(monkeypatch) -> dict[str, bytes]:
    """``{file name: bytes}`` of every download button the app renders (spied from the media manager)."""
    seen: dict[str, bytes] = {}
    original = MediaFileManager.add

    def spy(self, path_or_data, mimetype, coordinates, file_name=None, is_for_static_download=False):
        if file_name and isinstance(path_or_data, bytes):
            seen[file_name] = path_or_data
        return original(self, path_or_data, mimetype, coordinates, file_name=file_name,
                        is_for_static_download=is_for_static_download)

    monkeypatch.setattr(MediaFileManager, "add", spy)
    return seen
