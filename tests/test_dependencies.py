"""Required dependencies are imported, never skipped: a broken install must fail the suite.

``pytest.importorskip`` turns a missing package into a skipped test; for a package that
``pyproject.toml`` requires (pydicom, wfdb, streamlit, ...) that hides a broken install behind a
green run. Optional test helpers (Playwright, ecgdatakit) may still be skipped.
"""

from __future__ import annotations

import ast
import importlib
import importlib.metadata
import re
import sys
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


#: Third-party packages l2g imports without requiring them, and what happens without them.
OPTIONAL = {
    "deepfakeecg": "synthetic pretraining only (l2g.synthetic raises a ValueError saying `pip install deepfake-ecg`)",
    "kaleido": "PNG/PDF chart export only (l2g.export raises ImageExportUnavailable, the dashboard says so)",
    "ray": "the Ray engine only (`pip install 'l2g-ecg[scale]'`; pinned in requirements.txt; l2g.scale raises a "
           "ValueError saying so)",
}


def test_every_third_party_import_of_l2g_is_a_declared_dependency() -> None:
    """Each package ``l2g/`` imports (deferred imports too) is in ``[project] dependencies`` and pinned in
    requirements.txt, unless it is one of :data:`OPTIONAL` (matplotlib was used by ``l2g evaluate`` undeclared)."""
    imported = set()
    for path in sorted((REPO / "l2g").rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Import):
                imported |= {alias.name.split(".")[0] for alias in node.names}
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                imported.add(node.module.split(".")[0])
    third_party = sorted(m for m in imported if m not in sys.stdlib_module_names and m != "l2g" and m not in OPTIONAL)
    distributions = importlib.metadata.packages_distributions()
    declared = {name.replace("_", "-") for name in required_modules()}
    pinned = {re.split(r"[\[<>=!~; ]", line, maxsplit=1)[0].strip().lower()
              for line in (REPO / "requirements.txt").read_text().splitlines() if line.strip() and line[0] != "#"}
    missing = []
    for module in third_party:
        names = {d.lower().replace("_", "-") for d in distributions.get(module, [module])}
        if not names & declared or not names & pinned:
            missing.append(f"{module} ({', '.join(sorted(names))})")
    assert not missing, f"imported by l2g/ but not declared in pyproject.toml and requirements.txt: {missing}"
