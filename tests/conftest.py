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
