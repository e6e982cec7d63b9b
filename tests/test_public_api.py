"""The flat public API keeps working however often it is called (issue: second call raised TypeError)."""

import importlib
import pkgutil

import numpy as np

import l2g
from tests.ecg_factory import synthetic_record


def test_reconstruct_works_in_a_loop():
    for seed in range(3):
        rec = synthetic_record(seed=seed)
        full = l2g.reconstruct(rec, available=["I", "II"], method="linear")
        assert callable(l2g.reconstruct)
        assert {"V1", "V2", "V3", "V4", "V5", "V6"} <= set(full.generated_leads)
        assert full.recorded_leads[:2] == ("I", "II")
        assert np.isfinite(full.signal).all()


def test_no_public_name_is_also_a_submodule():
    submodules = {m.name for m in pkgutil.iter_modules(l2g.__path__)}
    for name in l2g.__all__:
        assert name not in submodules, f"l2g.{name} is both a public name and a submodule"
    for name in submodules:
        importlib.import_module(f"l2g.{name}")
    for name in l2g.__all__:
        value = getattr(l2g, name)
        assert not hasattr(value, "__path__") and type(value).__name__ != "module", name


def test_readme_python_block_runs_verbatim(tmp_path):
    """The README's Python block, as written, from the root of a checkout (the demo record ships in it)."""
    import re
    import shutil
    import subprocess
    import sys
    from pathlib import Path

    repo = Path(__file__).resolve().parents[1]
    block = re.search(r"```python\n(import l2g\n.*?)```", (repo / "README.md").read_text(), re.S).group(1)
    shutil.copytree(repo / "l2g" / "data" / "demo", tmp_path / "l2g" / "data" / "demo")
    done = subprocess.run([sys.executable, "-c", block], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                          env={**__import__("os").environ, "PYTHONPATH": str(repo)})
    assert done.returncode == 0, done.stderr
    assert "Record(name='demo'" in done.stdout and "generated" in done.stdout
    assert done.stdout.count("V1") >= 3  # the loop printed its three reconstructions
    assert (tmp_path / "out" / "demo.hea").is_file()
