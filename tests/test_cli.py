"""Tests for the ``l2g`` command line (l2g.cli, python -m l2g)."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from l2g.cli import COMMANDS, command, main

REPO = Path(__file__).resolve().parents[1]


def _write_wfdb(folder: Path, name: str, fs: int = 500) -> None:
    import wfdb

    folder.mkdir(parents=True, exist_ok=True)
    t = np.arange(2 * fs) / fs
    sig = np.stack([np.sin(2 * np.pi * t), np.cos(2 * np.pi * t)], axis=1)
    wfdb.wrsamp(name, fs=fs, units=["mV", "mV"], sig_name=["I", "II"], p_signal=sig, fmt=["16", "16"],
                adc_gain=[1000.0, 1000.0], baseline=[0, 0], comments=["Dx: 426783006"], write_dir=str(folder))


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    root = tmp_path / "data"
    for i in range(5):
        _write_wfdb(root / "ds" / "src", f"R{i}")
    _write_wfdb(root / "other", "S0", fs=250)
    (root / "ds" / "src" / "BAD.hea").write_text("garbage header line\n")
    return root


def test_catalog_prints_summary_and_failures(archive: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["catalog", str(archive), "--no-progress"]) == 0  # broken records are data, not errors
    out, err = capsys.readouterr()
    assert "7 records, 6 read, 1 failed" in out
    assert "src" in out and "other" in out and "250" in out
    assert "ds/src/BAD:" in out  # each failure listed with its reason
    assert err == ""


def test_catalog_writes_catalogue_and_split(archive: Path, tmp_path: Path,
                                           capsys: pytest.CaptureFixture[str]) -> None:
    cat_csv, split_csv = tmp_path / "out" / "catalog.csv", tmp_path / "splits" / "split.csv"
    rc = main(["catalog", str(archive), "--out", str(cat_csv), "--split-out", str(split_csv), "--seed", "s1"])
    assert rc == 0
    table = pd.read_csv(cat_csv, keep_default_na=False)
    assert len(table) == 7 and (table["error"] != "").sum() == 1
    parts = pd.read_csv(split_csv)
    assert list(parts.columns) == ["record_id", "split"]
    assert len(parts) == 6 and "ds/src/BAD" not in set(parts["record_id"])
    out = capsys.readouterr().out
    assert "split (seed 's1')" in out and str(split_csv) in out


def test_missing_dir_is_one_line_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nope"
    assert main(["catalog", str(missing)]) == 2
    out, err = capsys.readouterr()
    assert out == ""
    assert err.strip().splitlines() == [f"l2g: error: {missing}: no such directory"]


def test_usage_errors(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2  # no command: help on stderr
    assert main(["frobnicate"]) == 2
    assert main(["catalog"]) == 2  # DIR missing
    assert main(["--help"]) == 0
    assert "catalog" in capsys.readouterr().out


def test_os_errors_are_reported_without_traceback(capsys: pytest.CaptureFixture[str]) -> None:
    @command("_boom")
    def _boom(sub: argparse._SubParsersAction) -> None:
        p = sub.add_parser("_boom")
        p.set_defaults(func=lambda args: open("/nonexistent/dir/file.csv"))

    try:
        assert main(["_boom"]) == 2
    finally:
        COMMANDS.pop("_boom")
    err = capsys.readouterr().err
    assert err.strip() == "l2g: error: /nonexistent/dir/file.csv: No such file or directory"


def test_registering_twice_is_an_error() -> None:
    with pytest.raises(ValueError, match="twice"):
        command("catalog")(lambda sub: None)


def test_python_dash_m_l2g(archive: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "l2g", "catalog", str(archive)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert "7 records, 6 read, 1 failed" in proc.stdout
    assert "Traceback" not in proc.stderr


def test_python_dash_m_l2g_missing_dir(tmp_path: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "l2g", "catalog", str(tmp_path / "absent")],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode == 2
    assert proc.stderr.strip() == f"l2g: error: {tmp_path / 'absent'}: no such directory"
    assert proc.stdout == ""


# ------------------------------------------------------------------ startup
#: Libraries a command line that only parses its arguments must not import (each costs 0.5-4 s).
HEAVY = ("torch", "scipy.signal", "pandas", "neurokit2", "streamlit", "wfdb", "plotly")


def _modules_after(code: str) -> set[str]:
    """The heavy modules that ``code`` leaves in ``sys.modules`` of a fresh interpreter."""
    probe = f"import sys\n{code}\nprint(' '.join(m for m in {HEAVY!r} if m in sys.modules))"
    proc = subprocess.run([sys.executable, "-c", probe], cwd=REPO, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    return set(proc.stdout.split())


def test_the_probe_sees_a_heavy_import() -> None:
    assert _modules_after("import pandas") == {"pandas"}


@pytest.mark.parametrize("code", [
    "import l2g",
    "import l2g.cli",
    "import l2g.cli; l2g.cli.build_parser().format_help()",
    "import l2g.catalog, l2g.preprocess, l2g.leads, l2g.record, l2g.io",
])
def test_parsing_the_command_line_imports_no_heavy_library(code: str) -> None:
    assert _modules_after(code) == set()


def test_help_imports_no_heavy_library() -> None:
    code = ("import contextlib, io, runpy, sys\nsys.argv = ['l2g', '--help']\n"
            "with contextlib.redirect_stdout(io.StringIO()):\n"
            "    try:\n        runpy.run_module('l2g', run_name='__main__')\n    except SystemExit:\n        pass")
    assert _modules_after(code) == set()


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
def test_python_dash_m_l2g_reconstruct_demo(tmp_path: Path) -> None:
    from tests.weights import shipped

    shipped("l2g.pt")
    proc = subprocess.run(
        [sys.executable, "-m", "l2g", "reconstruct", "l2g/data/demo/demo.hea", "--available", "I,II",
         "--out", str(tmp_path)],
        cwd=REPO, capture_output=True, text=True, timeout=300,
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr
    from l2g.io import read_record

    out = read_record(tmp_path / "demo.hea")
    assert len(out.leads) == 12 and set(out.recorded_leads) >= {"I", "II"}
    assert out.status_of("V1") == "generated"
