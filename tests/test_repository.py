"""The checkout's own bookkeeping: ``.gitignore`` never names a file the repository tracks (the reports are tracked)."""

import shutil
import subprocess
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def test_no_tracked_file_is_ignored():
    if shutil.which("git") is None or not (REPO / ".git").exists():
        pytest.skip("not a git checkout")
    done = subprocess.run(["git", "ls-files", "--cached", "--ignored", "--exclude-standard"], cwd=REPO,
                          capture_output=True, text=True, check=True)
    assert done.stdout.split() == [], f".gitignore ignores tracked files: {done.stdout.split()}"
