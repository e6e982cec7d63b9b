"""One answer to "where are the weights, reports and runs?" for the dashboard and the command line (l2g.paths)."""

from __future__ import annotations

import ast
import os
import subprocess
import sys
from pathlib import Path

import pytest

from l2g import paths, reconstruction
from l2g.io import write_wfdb
from tests.ecg_factory import synthetic_record

from .weights import shipped

REPO = Path(__file__).resolve().parents[1]


def test_the_checkout_finds_its_shipped_weights(monkeypatch) -> None:
    monkeypatch.delenv("L2G_WEIGHTS_DIR", raising=False)
    assert paths.source_root() == REPO
    assert paths.weights_dir() == REPO / "weights"
    assert reconstruction.DEFAULT_WEIGHTS == shipped("l2g.pt")
    assert reconstruction.DEFAULT_LINEAR == shipped("linear.pt")
    assert paths.reports_dir() == REPO / "reports" and paths.runs_dir() == REPO / "runs"


def test_the_environment_overrides_are_read_at_every_call(monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("L2G_WEIGHTS_DIR", str(tmp_path / "w"))
    monkeypatch.setenv("L2G_REPORTS_DIR", str(tmp_path / "r"))
    monkeypatch.setenv("L2G_RUNS_DIR", str(tmp_path / "x"))
    assert paths.weights_dir() == tmp_path / "w"
    assert reconstruction.DEFAULT_WEIGHTS == tmp_path / "w" / "l2g.pt"
    assert reconstruction.DEFAULT_LINEAR == shipped("linear.pt")  # none in the folder: the shipped baseline
    (tmp_path / "w").mkdir()
    (tmp_path / "w" / "linear.pt").write_bytes(b"")
    assert reconstruction.DEFAULT_LINEAR == tmp_path / "w" / "linear.pt"
    assert paths.reports_dir() == tmp_path / "r" and paths.runs_dir() == tmp_path / "x"


def test_an_installed_copy_without_weights_says_to_set_the_variable(monkeypatch) -> None:
    monkeypatch.delenv("L2G_WEIGHTS_DIR", raising=False)
    monkeypatch.setattr(paths, "_PACKAGE_PARENT", Path("/nonexistent/site-packages"))
    assert paths.source_root() is None and paths.shipped_weights_dir() is None
    with pytest.raises(paths.WeightsNotFoundError, match="set L2G_WEIGHTS_DIR"):
        paths.weights_dir()
    with pytest.raises(ValueError, match="L2G_WEIGHTS_DIR"):  # what the dashboard and the CLI catch
        reconstruction.load_reconstructor()
    assert paths.reports_dir() == Path("reports") and paths.runs_dir() == Path("runs")


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
def test_the_command_line_reads_the_weights_folder_from_the_environment(tmp_path: Path) -> None:
    folder = tmp_path / "weights"
    folder.mkdir()
    (folder / "l2g.pt").write_bytes(b"not a checkpoint")
    write_wfdb(synthetic_record(duration_s=4.0, seed=3, name="rec"), tmp_path, "rec")
    env = {**os.environ, "L2G_WEIGHTS_DIR": str(folder), "OMP_NUM_THREADS": "1"}
    p = subprocess.run([sys.executable, "-m", "l2g", "reconstruct", str(tmp_path / "rec.hea"), "--available", "I,II",
                        "--out", str(tmp_path / "out")], capture_output=True, text=True, env=env, cwd=REPO,
                       timeout=300)
    assert p.returncode == 0, p.stderr
    assert f"{folder / 'l2g.pt'}: generator weights unusable" in p.stderr  # the folder's file was tried
    assert "(linear: linear.pt@" in p.stdout  # and the shipped baseline used


def test_no_library_module_imports_streamlit() -> None:
    """Streamlit glue lives in dashboard/, beside the pages; l2g stays importable without a server."""
    offenders = []
    for path in sorted((REPO / "l2g").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            names = ([a.name for a in node.names] if isinstance(node, ast.Import)
                     else [node.module or ""] if isinstance(node, ast.ImportFrom) else [])
            offenders += [f"{path.relative_to(REPO)}: {n}" for n in names if n.split(".")[0] == "streamlit"]
    assert not offenders
