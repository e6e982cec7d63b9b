"""Required dependencies are imported, never skipped: a broken install must fail the suite.

``pytest.importorskip`` turns a missing package into a skipped test; for a package that
``pyproject.toml`` requires (pydicom, wfdb, streamlit, ...) that hides a broken install behind a
green run. Optional test helpers (Playwright, ecgdatakit) may still be skipped.
"""

from __future__ import annotations

import importlib
import re
import tomllib
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]


def required_modules() -> list[str]:
    """Import names of ``[project] dependencies`` (``psycopg[binary]>=3.1`` -> ``psycopg``)."""
    deps = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["dependencies"]
    return [re.split(r"[\[<>=!~; ]", d, maxsplit=1)[0].strip().lower().replace("-", "_") for d in deps]


@pytest.mark.parametrize("module", required_modules())
def test_every_required_dependency_imports(module: str) -> None:
    importlib.import_module(module)


def test_no_test_skips_when_a_required_dependency_is_missing() -> None:
    required = set(required_modules())
    skipped = []
    for path in sorted((REPO / "tests").glob("*.py")):
        for number, line in enumerate(path.read_text().splitlines(), 1):
            for name in re.findall(r"importorskip\(\s*[\"']([\w.]+)", line):
                if name.split(".")[0] in required:
                    skipped.append(f"{path.name}:{number}: {name}")
    assert not skipped, f"import these directly (a required dependency): {skipped}"
