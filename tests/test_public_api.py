"""The flat public API keeps working however often it is called (issue: second call raised TypeError)."""

import importlib
import pkgutil

import numpy as np
import pytest

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


def test_every_typed_error_of_the_library_is_exported_from_l2g():
    """Each public exception or warning class defined in an l2g module is ``l2g.<name>`` and in ``__all__``,
    derived from the classes themselves (a new error cannot be forgotten)."""
    import inspect

    from l2g.devtools import import_graph

    defined = {}
    for module_name in sorted(import_graph()):
        if ".migrations" in module_name:  # alembic's env.py runs migrations when imported
            continue
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module_name
                    and not name.startswith("_")):
                defined[name] = value
    assert {"MissingSamples", "FormatError", "CalibrationMismatch", "WeightsNotFoundError"} <= set(defined)
    for name, cls in defined.items():
        assert name in l2g.__all__, f"{cls.__module__}.{name} is not exported from l2g"
        assert getattr(l2g, name) is cls, name
    assert issubclass(l2g.MissingSamples, ValueError) and issubclass(l2g.ModelMismatchWarning, UserWarning)


def test_a_partly_missing_lead_is_caught_by_type(tmp_path):
    """``l2g.MissingSamples`` (a ValueError, as before) for NaN the policy does not accept; wfdb's hint keeps it."""
    import pytest

    rows = [f"{i / 500:.3f},{'' if 100 <= i < 110 else f'{np.sin(i / 20):.4f}'}" for i in range(1000)]
    path = tmp_path / "gap.csv"
    path.write_text("time,II\n" + "\n".join(rows) + "\n")
    with pytest.raises(l2g.MissingSamples, match="lead II has 10 missing"):
        l2g.read_record(path)
    assert l2g.read_record(path, nan_policy="interpolate").present_leads == ("II",)
    hea = l2g.write_wfdb(synthetic_record(duration_s=4.0, name="f"), tmp_path, "f")
    hea.write_text(hea.read_text().replace("f.dat 16", "f.dat 212"))  # 16-bit samples read as 212: NaN codes
    with pytest.raises(l2g.MissingSamples, match="format code in f.hea is probably wrong"):
        l2g.read_record(hea)


@pytest.mark.slow  # > 2.5 s: out of the quick loop (make test-quick), in make test
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
